//! Storing events as bytes.
//!
//! Each payload is written with postcard under its type name and a schema
//! version. postcard carries no field names, so bytes only decode with the
//! exact struct that wrote them: a stored shape is therefore never changed
//! in place. A new shape gets a new schema version, the old struct moves to
//! [`legacy`], and [`decode`] upcasts old versions to the current shape.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::event::{self, CaseEscalated, CaseReported, CaseTriaged, Event, SatisfactionRecorded};

/// An event ready for the store: its type key, schema version and payload bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedEvent {
    /// The event type name, e.g. `"CaseReported"`.
    pub event_type: &'static str,
    /// The schema version the payload was written with.
    pub schema_version: u16,
    /// The postcard bytes of the payload struct.
    pub payload: Vec<u8>,
}

/// Why stored bytes could not be turned back into an [`Event`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The type name is not one this crate knows.
    #[error("unknown event type {event_type:?}")]
    UnknownType {
        /// The type name as stored.
        event_type: String,
    },
    /// The type is known but this schema version is not (written by a newer build?).
    #[error("{event_type}: unknown schema version {schema_version}")]
    UnknownSchemaVersion {
        /// The event type.
        event_type: &'static str,
        /// The version as stored.
        schema_version: u16,
    },
    /// The bytes do not decode as that type and version.
    #[error("{event_type} v{schema_version}: bad payload: {message}")]
    BadPayload {
        /// The event type.
        event_type: &'static str,
        /// The schema version.
        schema_version: u16,
        /// What postcard (or the length check) said.
        message: String,
    },
}

pub mod legacy;

/// The schema version [`encode`] writes for an event type, or `None` if unknown.
pub fn current_schema_version(event_type: &str) -> Option<u16> {
    match event_type {
        "SatisfactionRecorded" | "CaseTriaged" | "CaseReported" | "CaseEscalated" => Some(2),
        known if event::stage_of(known).is_some() => Some(1),
        _ => None,
    }
}

/// Encodes an event's payload at its current schema version.
pub fn encode(event: &Event) -> EncodedEvent {
    let payload = match event {
        Event::CaseReported(payload) => to_bytes(payload),
        Event::CaseTriaged(payload) => to_bytes(payload),
        Event::CaseMerged(payload) => to_bytes(payload),
        Event::CaseRejected(payload) => to_bytes(payload),
        Event::CaseDispatched(payload) => to_bytes(payload),
        Event::DispatchAccepted(payload) => to_bytes(payload),
        Event::DispatchReturned(payload) => to_bytes(payload),
        Event::ProgressReported(payload) => to_bytes(payload),
        Event::PostponementRequested(payload) => to_bytes(payload),
        Event::PostponementApproved(payload) => to_bytes(payload),
        Event::PostponementRefused(payload) => to_bytes(payload),
        Event::CaseResolved(payload) => to_bytes(payload),
        Event::CaseVerified(payload) => to_bytes(payload),
        Event::VerificationFailed(payload) => to_bytes(payload),
        Event::SatisfactionRecorded(payload) => to_bytes(payload),
        Event::CaseClosed(payload) => to_bytes(payload),
        Event::CaseReopened(payload) => to_bytes(payload),
        Event::DeadlineWarned(payload) => to_bytes(payload),
        Event::DeadlineBreached(payload) => to_bytes(payload),
        Event::CaseEscalated(payload) => to_bytes(payload),
        Event::CaseUrged(payload) => to_bytes(payload),
        Event::DangerFlagged(payload) => to_bytes(payload),
        Event::CaseReferred(payload) => to_bytes(payload),
        Event::WhistleBlown(payload) => to_bytes(payload),
        Event::ReportInCalled(payload) => to_bytes(payload),
        Event::DepartmentReportedIn(payload) => to_bytes(payload),
        Event::QueuedForOperator(payload) => to_bytes(payload),
        Event::DepartmentRated(payload) => to_bytes(payload),
    };
    let event_type = event.type_name();
    EncodedEvent {
        event_type,
        schema_version: current_schema_version(event_type).unwrap_or(1),
        payload,
    }
}

/// Decodes a stored payload, upcasting old schema versions to the current shape.
///
/// Never panics: any byte input yields an event or a [`CodecError`].
pub fn decode(event_type: &str, schema_version: u16, payload: &[u8]) -> Result<Event, CodecError> {
    let Some(&event_type) = event::EVENT_TYPES
        .iter()
        .find(|&&known| known == event_type)
    else {
        return Err(CodecError::UnknownType {
            event_type: event_type.to_owned(),
        });
    };
    let bytes = Payload {
        event_type,
        schema_version,
        bytes: payload,
    };
    match (event_type, schema_version) {
        ("CaseReported", 1) => bytes
            .read::<legacy::CaseReportedV1>()
            .map(|v1| Event::CaseReported(CaseReported::from(v1))),
        ("CaseReported", 2) => bytes.read().map(Event::CaseReported),
        ("CaseTriaged", 1) => bytes
            .read::<legacy::CaseTriagedV1>()
            .map(|v1| Event::CaseTriaged(CaseTriaged::from(v1))),
        ("CaseTriaged", 2) => bytes.read().map(Event::CaseTriaged),
        ("CaseMerged", 1) => bytes.read().map(Event::CaseMerged),
        ("CaseRejected", 1) => bytes.read().map(Event::CaseRejected),
        ("CaseDispatched", 1) => bytes.read().map(Event::CaseDispatched),
        ("DispatchAccepted", 1) => bytes.read().map(Event::DispatchAccepted),
        ("DispatchReturned", 1) => bytes.read().map(Event::DispatchReturned),
        ("ProgressReported", 1) => bytes.read().map(Event::ProgressReported),
        ("PostponementRequested", 1) => bytes.read().map(Event::PostponementRequested),
        ("PostponementApproved", 1) => bytes.read().map(Event::PostponementApproved),
        ("PostponementRefused", 1) => bytes.read().map(Event::PostponementRefused),
        ("CaseResolved", 1) => bytes.read().map(Event::CaseResolved),
        ("CaseVerified", 1) => bytes.read().map(Event::CaseVerified),
        ("VerificationFailed", 1) => bytes.read().map(Event::VerificationFailed),
        ("SatisfactionRecorded", 1) => bytes
            .read::<legacy::SatisfactionRecordedV1>()
            .map(|v1| Event::SatisfactionRecorded(SatisfactionRecorded::from(v1))),
        ("SatisfactionRecorded", 2) => bytes.read().map(Event::SatisfactionRecorded),
        ("CaseClosed", 1) => bytes.read().map(Event::CaseClosed),
        ("CaseReopened", 1) => bytes.read().map(Event::CaseReopened),
        ("DeadlineWarned", 1) => bytes.read().map(Event::DeadlineWarned),
        ("DeadlineBreached", 1) => bytes.read().map(Event::DeadlineBreached),
        ("CaseEscalated", 1) => bytes
            .read::<legacy::CaseEscalatedV1>()
            .map(|v1| Event::CaseEscalated(CaseEscalated::from(v1))),
        ("CaseEscalated", 2) => bytes.read().map(Event::CaseEscalated),
        ("CaseUrged", 1) => bytes.read().map(Event::CaseUrged),
        ("DangerFlagged", 1) => bytes.read().map(Event::DangerFlagged),
        ("CaseReferred", 1) => bytes.read().map(Event::CaseReferred),
        ("WhistleBlown", 1) => bytes.read().map(Event::WhistleBlown),
        ("ReportInCalled", 1) => bytes.read().map(Event::ReportInCalled),
        ("DepartmentReportedIn", 1) => bytes.read().map(Event::DepartmentReportedIn),
        ("QueuedForOperator", 1) => bytes.read().map(Event::QueuedForOperator),
        ("DepartmentRated", 1) => bytes.read().map(Event::DepartmentRated),
        _ => Err(CodecError::UnknownSchemaVersion {
            event_type,
            schema_version,
        }),
    }
}

pub(crate) fn to_bytes<T: Serialize>(payload: &T) -> Vec<u8> {
    // Payloads hold only sized sequences and plain values, the only things
    // postcard can fail on being unsized sequences and out-of-memory.
    postcard::to_allocvec(payload).expect("postcard serialises every event payload")
}

/// Stored bytes together with the key they were stored under, for error messages.
pub(crate) struct Payload<'a> {
    pub(crate) event_type: &'static str,
    pub(crate) schema_version: u16,
    pub(crate) bytes: &'a [u8],
}

impl Payload<'_> {
    pub(crate) fn read<T: DeserializeOwned>(&self) -> Result<T, CodecError> {
        let bad = |message: String| CodecError::BadPayload {
            event_type: self.event_type,
            schema_version: self.schema_version,
            message,
        };
        let (value, rest) =
            postcard::take_from_bytes::<T>(self.bytes).map_err(|error| bad(error.to_string()))?;
        // Leftover bytes mean the payload was written with a different shape,
        // which a lenient read would silently misinterpret.
        if !rest.is_empty() {
            return Err(bad(format!("{} trailing bytes", rest.len())));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests;
