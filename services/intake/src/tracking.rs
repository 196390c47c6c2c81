//! Tracking codes: short codes reserved in the store, one stream per code.
//!
//! A code is taken by appending one `TrackingCodeReserved` event (payload: the 16 case-id
//! bytes) to `tracking-<code>` with `ExpectedVersion::NoStream`, so two cases can never hold
//! the same code, and a status lookup by code is one stream read. The reservation comes before
//! the case's `CaseReported`, so the report carries its final code.

use gridcase_domain::{CaseId, TrackingCode};
use gridcase_eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent, StoreError};

use crate::error::IntakeError;
use crate::ids::{reservation_event_id, tracking_candidate};

/// The event type of a reservation.
pub const RESERVATION_EVENT_TYPE: &str = "TrackingCodeReserved";

/// Schema version of the reservation payload (the 16 big-endian case-id bytes).
const RESERVATION_SCHEMA: u16 = 1;

/// Candidates tried before giving up; with 31^8 codes, eight collisions in a row mean
/// something is wrong, not that the space is full.
pub const MAX_CANDIDATES: u32 = 8;

/// The stream that reserves `code`: `tracking-` and the eight symbols without the dash.
pub fn reservation_stream(code: TrackingCode) -> String {
    format!("tracking-{}", code.to_string().replace('-', ""))
}

/// Reserves a tracking code for `case`: the first candidate that is free or already reserved
/// for this case (a retry finds its own reservation).
pub async fn reserve<S: EventStore>(
    store: &S,
    case: CaseId,
    actor: &str,
    correlation_id: u128,
) -> Result<TrackingCode, IntakeError> {
    for attempt in 0..MAX_CANDIDATES {
        let code = tracking_candidate(case, attempt);
        let stream = reservation_stream(code);
        let event = NewEvent {
            event_id: reservation_event_id(case, code),
            event_type: RESERVATION_EVENT_TYPE.to_owned(),
            schema_version: RESERVATION_SCHEMA,
            metadata: Metadata {
                correlation_id: Some(correlation_id),
                causation_id: None,
                actor: Some(actor.to_owned()),
            },
            payload: case.to_bytes().to_vec(),
        };
        match store
            .append(&stream, ExpectedVersion::NoStream, vec![event])
            .await
        {
            // A duplicate is this case's own reservation from an earlier try.
            Ok(_) => return Ok(code),
            Err(StoreError::WrongExpectedVersion { .. }) => {
                if owner(store, code).await? == Some(case) {
                    return Ok(code);
                }
                tracing::debug!(case = %case, %code, attempt, "tracking code taken; trying the next");
            }
            Err(e) => return Err(e.into()),
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
    let stream = reservation_stream(code);
    let records = store.read_stream(&stream, 0, 1).await?;
    let Some(record) = records.first() else {
        return Ok(None);
    };
    let bytes: [u8; 16] =
        record
            .payload
            .as_slice()
            .try_into()
            .map_err(|_| IntakeError::BadReservation {
                stream: stream.clone(),
                reason: format!("payload is {} bytes, expected 16", record.payload.len()),
            })?;
    if record.event_type != RESERVATION_EVENT_TYPE {
        return Err(IntakeError::BadReservation {
            stream,
            reason: format!("first event is a {}", record.event_type),
        });
    }
    Ok(Some(CaseId::from_bytes(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_eventstore::MemoryStore;

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
                    schema_version: RESERVATION_SCHEMA,
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
