//! The event store's wire protocol: request bodies and replies, all postcard.
//!
//! Every reply is a [`Reply<T>`]: the store's own `Result`, so a remote caller gets exactly the
//! error the store produced (a version conflict still carries the current version).

use gridcase_eventstore::{ExpectedVersion, NewEvent, StoreError};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// What every store request gets back.
pub type Reply<T> = Result<T, StoreError>;

/// Largest read-all or read-stream reply the store builds, in bytes; keeps replies under the
/// server's `max_payload` (8 MiB in gridcase's nats-server config, 1 MiB by default).
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

/// Decodes a reply body.
pub fn decode_reply<T: DeserializeOwned>(body: &[u8]) -> Reply<T> {
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
