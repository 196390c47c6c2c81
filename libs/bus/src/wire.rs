//! The event store's wire protocol: request bodies and replies, all postcard.
//!
//! Every reply is a [`Reply<T>`]: the store's own `Result`, so a remote caller gets exactly the
//! error the store produced (a version conflict still carries the current version).

use gridcase_eventstore::{ExpectedVersion, NewEvent, StoreError};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// What every store request gets back.
pub type Reply<T> = Result<T, StoreError>;

/// Smallest cap on a read reply, in bytes: it fits nats-server's default `max_payload` (1 MiB).
/// The store uses a larger cap when the server allows larger messages (gridcase's config: 8 MiB).
pub const MAX_REPLY_BYTES: usize = 900 * 1024;

/// Append events to a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppendRequest {
    /// The stream.
    pub stream: String,
    /// The version the caller decided on.
    pub expected: ExpectedVersion,
    /// The events, appended atomically.
    pub events: Vec<NewEvent>,
}

/// Independent appends sent together: a client coalesces what its tasks append while an
/// earlier message is in flight, so NATS carries one message for many appends. Each append
/// succeeds or fails on its own; the reply holds one outcome per append, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppendBatchRequest {
    /// The appends.
    pub appends: Vec<AppendRequest>,
}

/// Most appends one batch message may carry.
pub const MAX_APPENDS_PER_BATCH: usize = 1_024;

/// A stored record as the store holds it: position and the record bytes (format byte, CRC,
/// body). Reads ship these unchanged and the reader decodes them straight from the reply
/// buffer, so the store does not decode and re-encode every event it serves, and the checksum
/// is checked end to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRecordRef<'a> {
    /// Global position.
    pub position: u64,
    /// The record bytes.
    #[serde(borrow, with = "serde_bytes_borrowed")]
    pub bytes: &'a [u8],
}

/// Encodes a committed event for the JetStream feed: its position and the stored record bytes,
/// so consumers check the store's CRC end to end.
pub fn encode_feed(position: u64, record: &[u8]) -> bytes::Bytes {
    encode(&RawRecordRef {
        position,
        bytes: record,
    })
}

/// Decodes a message of the JetStream feed (`gridcase.v1.events.>`) into the recorded event.
pub fn decode_feed(payload: &[u8]) -> Result<gridcase_eventstore::RecordedEvent, StoreError> {
    let raw: RawRecordRef<'_> = postcard::from_bytes(payload).map_err(|e| {
        StoreError::InvalidRequest(format!("feed message: not a stored record: {e}"))
    })?;
    gridcase_eventstore::decode_record(raw.position, raw.bytes)
}

/// Byte slices as one length-prefixed blob rather than a sequence of numbers.
mod serde_bytes_borrowed {
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<&'de [u8], D::Error> {
        serde::Deserialize::deserialize(deserializer)
    }
}

/// Read a stream forward from a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadStreamRequest {
    /// The stream.
    pub stream: String,
    /// First version to return.
    pub from_version: u64,
    /// Most events to return.
    pub max: u32,
}

/// The reply to `read_stream_part` (a [`ReadStreamRequest`]): records as stored, and whether
/// they reach the stream's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPartReply<'a> {
    /// The records, in version order.
    #[serde(borrow)]
    pub records: Vec<RawRecordRef<'a>>,
    /// True if no record of the stream follows the last one.
    pub at_end: bool,
}

/// Read the global log forward from a position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadAllRequest {
    /// First position to return.
    pub from_position: u64,
    /// Most events to return; the reply may hold fewer to stay under [`MAX_REPLY_BYTES`].
    pub max: u32,
}

/// Ask for the last version of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamVersionRequest {
    /// The stream.
    pub stream: String,
}

/// Encodes a request or reply body.
pub fn encode<T: Serialize>(value: &T) -> bytes::Bytes {
    postcard::to_stdvec(value)
        .expect("postcard serialises plain data into a Vec")
        .into()
}

/// Decodes a request body; a malformed one is an invalid request naming what was expected.
pub fn decode_request<T: DeserializeOwned>(what: &str, body: &[u8]) -> Reply<T> {
    postcard::from_bytes(body)
        .map_err(|e| StoreError::InvalidRequest(format!("request body: not a {what}: {e}")))
}

/// Decodes a reply body; the result may borrow from it.
pub fn decode_reply<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Reply<T> {
    postcard::from_bytes::<Reply<T>>(body).unwrap_or_else(|e| {
        Err(StoreError::Unavailable(format!(
            "the store sent an undecodable reply: {e}"
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_records_round_trip_as_one_blob() {
        let written: Reply<Vec<RawRecordRef<'_>>> = Ok(vec![RawRecordRef {
            position: 9,
            bytes: &[1, 2, 3],
        }]);
        let body = encode(&written);
        // Tag, length, position, then the bytes with a one-byte length prefix.
        assert_eq!(body.len(), 1 + 1 + 1 + 1 + 3);
        let read: Reply<Vec<RawRecordRef<'_>>> = decode_reply(&body);
        assert_eq!(read, written);
    }

    #[test]
    fn garbage_request_is_an_invalid_request_naming_the_body() {
        let error =
            decode_request::<AppendRequest>("append request", &[0xff, 0xff, 0xff]).unwrap_err();
        assert!(matches!(&error, StoreError::InvalidRequest(m) if m.contains("request body")));
    }

    #[test]
    fn replies_round_trip_errors() {
        let reply: Reply<u64> = Err(StoreError::WrongExpectedVersion {
            stream: "s".into(),
            expected: ExpectedVersion::Exact(1),
            current: Some(4),
        });
        assert_eq!(decode_reply::<u64>(&encode(&reply)), reply);
    }
}
