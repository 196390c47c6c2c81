//! Validated value types.
//!
//! Every type here can only hold a valid value: constructors and `parse`
//! check the rules, and deserialisation goes through the same checks, so a
//! decoded event can never smuggle in a value that `parse` would reject.
//! `Display` output always parses back to the same value.
//!
//! This is the bottom layer of the crate: nothing here uses the events, the
//! case state machine or [`crate::DomainError`].

mod assignee;
mod codes;
mod contact;
mod grid;
mod ids;
mod labels;
mod place;
mod score;
mod status;
mod text;
mod time;
mod validation;

pub use assignee::Assignee;
pub use codes::{
    CategoryCode, CategoryKind, DepartmentCode, MemberId, ServiceCode, WorkerId,
    COMMUNITY_SUBJECT_TOKEN, LEADER_SUBJECT_TOKEN, RESERVED_SUBJECT_TOKENS, STREET_SUBJECT_TOKEN,
    WORKER_SUBJECT_TOKEN,
};
pub use contact::{Contact, Phone, Reporter, SealedContact};
pub use grid::{GridCode, GridLevel};
pub use ids::{CaseId, EventId, HouseholdId, OrderId, TrackingCode};
pub use labels::{Channel, Danger, Priority};
pub use place::{Coordinates, Location};
pub use score::RatingScore;
pub use status::CaseStatus;
pub use text::{Address, Description, Note, PersonName, Url};
pub use time::Timestamp;
pub use validation::ValidationError;
