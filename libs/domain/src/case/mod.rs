//! The case state machine.
//!
//! [`decide`] checks a command against the current state and returns the
//! events it causes, or refuses it. [`apply`] folds an event into the state;
//! it never fails because stored events were decided already, and replaying
//! history must not depend on today's rules.
//!
//! The [`Command`] enum is in `command`, [`CaseState`] and [`apply`] in
//! `state`, and the rules of [`decide`] in `decide`, one file per loop stage.

mod command;
mod decide;
#[cfg(test)]
mod fixtures;
mod state;

pub use command::{Command, ReportInWindow};
pub use decide::decide;
pub use state::{apply, CaseState, PendingPostponement, Rating, ReportIn};

/// Re-exported so `case::CaseStatus`, where it was first defined, still names it.
pub use crate::values::CaseStatus;
