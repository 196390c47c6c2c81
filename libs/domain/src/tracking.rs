//! Tracking-code reservations.
//!
//! A tracking code is reserved for a case before the case's `CaseReported`
//! is written, so the report carries its final code and no two cases hold
//! the same one. The reservation is not a case [`Event`](crate::Event): it
//! is kept in a stream of its own, one per code, and no stage reacts to it.
//! Its payload is the case id's 16 big-endian bytes rather than postcard;
//! reservations have been stored that way from the start.

use crate::codec::EncodedEvent;
use crate::values::CaseId;

/// A tracking code was given to a case. The code itself is not in the
/// payload: the stream the reservation is stored in names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackingCodeReserved {
    /// The case that holds the code.
    pub case_id: CaseId,
}

impl TrackingCodeReserved {
    /// The event type a reservation is stored under.
    pub const EVENT_TYPE: &'static str = "TrackingCodeReserved";

    /// The schema version reservations are written with; there has only
    /// ever been this one.
    pub const SCHEMA_VERSION: u16 = 1;

    /// Bytes in a stored payload: one case id.
    pub const PAYLOAD_LEN: usize = 16;

    /// The reservation as the store keeps it.
    pub fn encode(&self) -> EncodedEvent {
        EncodedEvent {
            event_type: Self::EVENT_TYPE,
            schema_version: Self::SCHEMA_VERSION,
            payload: self.case_id.to_bytes().to_vec(),
        }
    }

    /// Reads a stored payload; `None` unless it is exactly [`Self::PAYLOAD_LEN`] bytes.
    pub fn from_payload(payload: &[u8]) -> Option<Self> {
        let bytes: [u8; Self::PAYLOAD_LEN] = payload.try_into().ok()?;
        Some(Self {
            case_id: CaseId::from_bytes(bytes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_is_the_type_version_1_and_the_case_id_bytes() {
        let reserved = TrackingCodeReserved {
            case_id: CaseId::from_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10),
        };
        let encoded = reserved.encode();
        assert_eq!(encoded.event_type, "TrackingCodeReserved");
        assert_eq!(encoded.schema_version, 1);
        assert_eq!(encoded.payload, (1..=16).collect::<Vec<u8>>());
        assert_eq!(
            TrackingCodeReserved::from_payload(&encoded.payload),
            Some(reserved)
        );
    }

    #[test]
    fn a_payload_of_another_length_is_not_a_reservation() {
        assert_eq!(TrackingCodeReserved::from_payload(&[]), None);
        assert_eq!(TrackingCodeReserved::from_payload(&[0; 15]), None);
        assert_eq!(TrackingCodeReserved::from_payload(&[0; 17]), None);
    }
}
