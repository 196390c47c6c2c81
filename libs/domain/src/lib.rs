//! The pure case domain of gridcase, the case loop of a city hotline
//! centre's grid governance (网格化管理): collect → triage → dispatch →
//! resolve → evaluate. It holds the validated value types, the case events
//! and their versioned byte codec, and the case state machine (`decide`
//! turns a command into events, `apply` folds events into state). It does
//! no I/O and reads no clock or random source: time and ids come in as
//! values, so the event store and services built on top can replay and
//! test it deterministically.

pub mod case;
pub mod codec;
pub mod error;
pub mod event;
pub mod people;
pub mod tracking;
pub mod values;

pub use case::{
    apply, decide, CaseState, Command, PendingPostponement, Rating, ReportIn, ReportInWindow,
};
pub use codec::{decode, encode, CodecError, EncodedEvent};
pub use error::{DomainError, Result};
pub use event::{stage_of, DeadlineStage, Event, Route, Whistler, EVENT_TYPES};
pub use tracking::TrackingCodeReserved;
pub use values::*;
