//! Tracking codes on the event store.
//!
//! Each code has its own stream, whose first event is the
//! [`TrackingCodeReserved`] that gave the code to a case. The reservation is
//! appended with [`ExpectedVersion::NoStream`], so the store decides which
//! case gets a contested code, and finding the case behind a code is one
//! stream read.

use gridcase_domain::{CaseId, TrackingCode, TrackingCodeReserved};
use gridcase_eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent, StoreError};

use crate::fnv1a_128;

/// Why a tracking code could not be reserved or looked up.
#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A reservation stream holds something other than a reservation.
    #[error("tracking code reservation {stream}: {reason}")]
    BadReservation {
        /// The reservation stream.
        stream: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// What reserving a code for a case came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The code is the case's: reserved now, or by an earlier try for the same case.
    Held,
    /// Another case holds the code; try another.
    Taken,
}

/// The stream that reserves `code`: `tracking-` and the eight symbols without the dash.
pub fn reservation_stream(code: TrackingCode) -> String {
    format!("tracking-{}", code.to_string().replace('-', ""))
}

/// The id of the event that reserves `code` for `case`: a retry re-appends the same id, which
/// the store recognises and does not write again. The `intake-` prefix is part of ids already
/// stored, so it stays.
pub fn reservation_event_id(case: CaseId, code: TrackingCode) -> u128 {
    fnv1a_128(&[
        b"intake-reservation:",
        &case.to_bytes(),
        &code.as_u64().to_be_bytes(),
    ])
}

/// Tracking-code reservations on an [`EventStore`].
#[derive(Debug, Clone)]
pub struct TrackingCodes<S> {
    store: S,
}

impl<S: EventStore> TrackingCodes<S> {
    /// Reservations kept in `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// Reserves `code` for `case`, recording `actor` and `correlation_id` (the request that
    /// asked) with the reservation. A code this case reserved before counts as held, so a
    /// retried request keeps its code.
    pub async fn reserve(
        &self,
        case: CaseId,
        code: TrackingCode,
        actor: &str,
        correlation_id: u128,
    ) -> Result<Reservation, TrackingError> {
        let encoded = TrackingCodeReserved { case_id: case }.encode();
        let event = NewEvent {
            event_id: reservation_event_id(case, code),
            event_type: encoded.event_type.to_owned(),
            schema_version: encoded.schema_version,
            metadata: Metadata {
                correlation_id: Some(correlation_id),
                causation_id: None,
                actor: Some(actor.to_owned()),
            },
            payload: encoded.payload,
        };
        match self
            .store
            .append(
                &reservation_stream(code),
                ExpectedVersion::NoStream,
                vec![event],
            )
            .await
        {
            // A duplicate is this case's own reservation from an earlier try.
            Ok(_) => Ok(Reservation::Held),
            Err(StoreError::WrongExpectedVersion { .. }) => {
                if self.owner(code).await? == Some(case) {
                    Ok(Reservation::Held)
                } else {
                    Ok(Reservation::Taken)
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The case that holds `code`, if any.
    pub async fn owner(&self, code: TrackingCode) -> Result<Option<CaseId>, TrackingError> {
        let stream = reservation_stream(code);
        let records = self.store.read_stream(&stream, 0, 1).await?;
        let Some(record) = records.first() else {
            return Ok(None);
        };
        let reserved = TrackingCodeReserved::from_payload(&record.payload).ok_or_else(|| {
            TrackingError::BadReservation {
                stream: stream.clone(),
                reason: format!(
                    "payload is {} bytes, expected {}",
                    record.payload.len(),
                    TrackingCodeReserved::PAYLOAD_LEN
                ),
            }
        })?;
        if record.event_type != TrackingCodeReserved::EVENT_TYPE {
            return Err(TrackingError::BadReservation {
                stream,
                reason: format!("first event is a {}", record.event_type),
            });
        }
        Ok(Some(reserved.case_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_eventstore::MemoryStore;

    fn codes() -> TrackingCodes<MemoryStore> {
        TrackingCodes::new(MemoryStore::new())
    }

    #[test]
    fn streams_and_event_ids_keep_their_stored_form() {
        let code = TrackingCode::parse("ab2c-d3e4").unwrap();
        assert_eq!(reservation_stream(code), "tracking-AB2CD3E4");
        assert_eq!(
            reservation_event_id(CaseId::from_u128(0xdead_beef), TrackingCode::from_u64(5)),
            0x1406_d419_85f6_e2a0_fcc6_8d0c_7600_41bd
        );
    }

    #[tokio::test]
    async fn a_reservation_is_stored_as_before() {
        let codes = codes();
        let case = CaseId::from_u128(7);
        let code = TrackingCode::from_u64(42);
        assert_eq!(
            codes.reserve(case, code, "intake:web", 9).await.unwrap(),
            Reservation::Held
        );
        let records = codes
            .store
            .read_stream(&reservation_stream(code), 0, 10)
            .await
            .unwrap();
        assert_eq!(records.len(), 1);
        let record = &records[0];
        assert_eq!(record.event_id, reservation_event_id(case, code));
        assert_eq!(record.event_type, "TrackingCodeReserved");
        assert_eq!(record.schema_version, 1);
        assert_eq!(record.payload, case.to_bytes());
        assert_eq!(record.metadata.actor.as_deref(), Some("intake:web"));
        assert_eq!(record.metadata.correlation_id, Some(9));
        assert_eq!(record.metadata.causation_id, None);
        assert_eq!(codes.owner(code).await.unwrap(), Some(case));
    }

    #[tokio::test]
    async fn a_retry_holds_its_code_and_another_case_finds_it_taken() {
        let codes = codes();
        let code = TrackingCode::from_u64(42);
        let first = CaseId::from_u128(1);
        let second = CaseId::from_u128(2);
        codes.reserve(first, code, "intake:web", 1).await.unwrap();
        // The same request again, under another correlation id: still held, nothing written.
        assert_eq!(
            codes.reserve(first, code, "intake:web", 2).await.unwrap(),
            Reservation::Held
        );
        assert_eq!(codes.store.stats().await.unwrap().events, 1);
        assert_eq!(
            codes.reserve(second, code, "intake:web", 3).await.unwrap(),
            Reservation::Taken
        );
        assert_eq!(codes.owner(code).await.unwrap(), Some(first));
        assert_eq!(codes.owner(TrackingCode::from_u64(5)).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_stream_without_a_reservation_is_reported() {
        let codes = codes();
        let append = |code: u64, event_type: &str, payload: Vec<u8>| {
            let store = codes.store.clone();
            let event = NewEvent {
                event_id: u128::from(code),
                event_type: event_type.to_owned(),
                schema_version: 1,
                metadata: Metadata::default(),
                payload,
            };
            async move {
                store
                    .append(
                        &reservation_stream(TrackingCode::from_u64(code)),
                        ExpectedVersion::NoStream,
                        vec![event],
                    )
                    .await
                    .unwrap();
            }
        };
        append(1, "TrackingCodeReserved", vec![0; 3]).await;
        append(2, "CaseReported", vec![0; 16]).await;
        let error = codes.owner(TrackingCode::from_u64(1)).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "tracking code reservation tracking-22222223: payload is 3 bytes, expected 16"
        );
        let error = codes.owner(TrackingCode::from_u64(2)).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "tracking code reservation tracking-22222224: first event is a CaseReported"
        );
    }
}
