//! The store's request side of its wire protocol: a body sent to any store operation decodes
//! to its request or an invalid-request error, and what decodes goes through the checks the
//! store applies before anything is written (`validate_append`, the batch limit, the read
//! limits); a decoded request encodes back to the same request.
#![no_main]

use gridcase_bus::wire::{
    decode_request, encode, AppendBatchRequest, AppendRequest, ReadAllRequest, ReadStreamRequest,
    StreamVersionRequest, MAX_APPENDS_PER_BATCH,
};
use gridcase_eventstore::{validate_append, validate_stream_id, StoreError};
use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};

/// Decodes `body` as a `T`, checking that an accepted request round-trips.
fn decoded<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(
    what: &str,
    body: &[u8],
) -> Option<T> {
    match decode_request::<T>(what, body) {
        Ok(request) => {
            let again: T = decode_request(what, &encode(&request)).expect("re-encoded request");
            assert_eq!(again, request);
            Some(request)
        }
        Err(StoreError::InvalidRequest(message)) => {
            assert!(message.starts_with("request body: not a"), "{message}");
            None
        }
        Err(other) => panic!("a bad body is an invalid request, not {other:?}"),
    }
}

fn check_append(request: &AppendRequest) {
    if validate_append(&request.stream, &request.events).is_ok() {
        assert!(!request.events.is_empty());
        assert!(validate_stream_id(&request.stream).is_ok());
    }
}

fuzz_target!(|data: &[u8]| {
    let (operation, body) = gridcase_fuzz::split(data);
    match operation % 5 {
        0 => {
            if let Some(request) = decoded::<AppendRequest>("append request", body) {
                check_append(&request);
            }
        }
        1 => {
            if let Some(batch) = decoded::<AppendBatchRequest>("append-batch request", body) {
                if batch.appends.len() <= MAX_APPENDS_PER_BATCH {
                    batch.appends.iter().for_each(check_append);
                }
            }
        }
        2 => {
            let _ = decoded::<ReadAllRequest>("read-all request", body);
        }
        3 => {
            if let Some(request) = decoded::<ReadStreamRequest>("read-stream request", body) {
                let _ = validate_stream_id(&request.stream);
            }
        }
        _ => {
            if let Some(request) = decoded::<StreamVersionRequest>("stream-version request", body) {
                let _ = validate_stream_id(&request.stream);
            }
        }
    }
});
