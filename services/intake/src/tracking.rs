//! Tracking codes: short codes reserved in the store, one stream per code.
//!
//! A code is taken by the case store's [`TrackingCodes`], which appends one
//! [`TrackingCodeReserved`] to the code's stream only if the stream is new, so two cases can
//! never hold the same code, and a status lookup by code is one stream read. Intake picks the
//! candidates and tries them in turn. The reservation comes before the case's `CaseReported`,
//! so the report carries its final code.

use gridcase_bus::ShardMap;
use gridcase_casestore::{Reservation, TrackingCodes};
use gridcase_domain::{CaseId, TrackingCode, TrackingCodeReserved};
use gridcase_eventstore::EventStore;

use crate::ids::tracking_candidate;
use gridcase_grpc::ApiError;

pub use gridcase_casestore::reservation_stream;

/// The event type of a reservation.
pub const RESERVATION_EVENT_TYPE: &str = TrackingCodeReserved::EVENT_TYPE;

/// Candidates tried before giving up; with 31^8 codes, eight collisions in a row mean
/// something is wrong, not that the space is full.
pub const MAX_CANDIDATES: u32 = 8;

/// Reserves a tracking code for `case`, in the case's shard of `shards`: the first candidate
/// that is free or already reserved for this case (a retry finds its own reservation).
pub async fn reserve<S: EventStore>(
    store: &S,
    shards: &ShardMap,
    case: CaseId,
    actor: &str,
    correlation_id: u128,
) -> Result<TrackingCode, ApiError> {
    let codes = TrackingCodes::new(store.clone());
    for attempt in 0..MAX_CANDIDATES {
        let code = tracking_candidate(shards, case, attempt);
        match codes.reserve(case, code, actor, correlation_id).await? {
            Reservation::Held => return Ok(code),
            Reservation::Taken => {
                tracing::debug!(case = %case, %code, attempt, "tracking code taken; trying the next");
            }
        }
    }
    Err(ApiError::Aborted(format!(
        "tracking_code: no free code after {MAX_CANDIDATES} candidates"
    )))
}

/// The case that holds `code`, if any.
pub async fn owner<S: EventStore>(
    store: &S,
    code: TrackingCode,
) -> Result<Option<CaseId>, ApiError> {
    Ok(TrackingCodes::new(store.clone()).owner(code).await?)
}
