//! Tracking codes: short codes reserved in the store, one stream per code.
//!
//! A code is taken by the case store's [`TrackingCodes`], which appends one
//! [`TrackingCodeReserved`] to the code's stream only if the stream is new, so two cases can
//! never hold the same code, and a status lookup by code is one stream read. Intake picks the
//! candidates and tries them in turn. The reservation comes before the case's `CaseReported`,
//! so the report carries its final code.

use gridcase_casestore::{Reservation, TrackingCodes, TrackingError};
use gridcase_domain::{CaseId, TrackingCode, TrackingCodeReserved};
use gridcase_eventstore::EventStore;

use crate::error::IntakeError;
use crate::ids::tracking_candidate;

pub use gridcase_casestore::reservation_stream;

/// The event type of a reservation.
pub const RESERVATION_EVENT_TYPE: &str = TrackingCodeReserved::EVENT_TYPE;

/// Candidates tried before giving up; with 31^8 codes, eight collisions in a row mean
/// something is wrong, not that the space is full.
pub const MAX_CANDIDATES: u32 = 8;

/// Reserves a tracking code for `case`: the first candidate that is free or already reserved
/// for this case (a retry finds its own reservation).
pub async fn reserve<S: EventStore>(
    store: &S,
    case: CaseId,
    actor: &str,
    correlation_id: u128,
) -> Result<TrackingCode, IntakeError> {
    let codes = TrackingCodes::new(store.clone());
    for attempt in 0..MAX_CANDIDATES {
        let code = tracking_candidate(case, attempt);
        match codes.reserve(case, code, actor, correlation_id).await? {
            Reservation::Held => return Ok(code),
            Reservation::Taken => {
                tracing::debug!(case = %case, %code, attempt, "tracking code taken; trying the next");
            }
        }
    }
    Err(IntakeError::NoFreeTrackingCode {
        attempts: MAX_CANDIDATES,
    })
}

/// The case that holds `code`, if any.
pub async fn owner<S: EventStore>(
    store: &S,
    code: TrackingCode,
) -> Result<Option<CaseId>, IntakeError> {
    Ok(TrackingCodes::new(store.clone()).owner(code).await?)
}

impl From<TrackingError> for IntakeError {
    fn from(error: TrackingError) -> Self {
        match error {
            TrackingError::Store(e) => IntakeError::Store(e),
            TrackingError::BadReservation { stream, reason } => {
                IntakeError::BadReservation { stream, reason }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_eventstore::{ExpectedVersion, MemoryStore, Metadata, NewEvent};

    #[test]
    fn streams_are_named_by_the_code_without_its_dash() {
        let code = TrackingCode::parse("ab2c-d3e4").unwrap();
        assert_eq!(reservation_stream(code), "tracking-AB2CD3E4");
    }

    #[tokio::test]
    async fn a_taken_code_moves_on_and_a_retry_keeps_its_code() {
        let store = MemoryStore::new();
        let first = CaseId::from_u128(1);
        let second = CaseId::from_u128(2);
        // Someone else holds the second case's first candidate.
        let squatted = tracking_candidate(second, 0);
        store
            .append(
                &reservation_stream(squatted),
                ExpectedVersion::NoStream,
                vec![NewEvent {
                    event_id: 77,
                    event_type: RESERVATION_EVENT_TYPE.to_owned(),
                    schema_version: TrackingCodeReserved::SCHEMA_VERSION,
                    metadata: Metadata::default(),
                    payload: first.to_bytes().to_vec(),
                }],
            )
            .await
            .unwrap();
        let code = reserve(&store, second, "intake:web", 9).await.unwrap();
        assert_eq!(code, tracking_candidate(second, 1));
        assert_eq!(owner(&store, code).await.unwrap(), Some(second));
        assert_eq!(owner(&store, squatted).await.unwrap(), Some(first));

        let events = store.stats().await.unwrap().events;
        assert_eq!(
            reserve(&store, second, "intake:web", 9).await.unwrap(),
            code
        );
        assert_eq!(store.stats().await.unwrap().events, events);
        let free = TrackingCode::from_u64(5);
        assert_eq!(owner(&store, free).await.unwrap(), None);
    }
}
