//! The status of a case: where it is in the loop, with stable snake_case
//! names. It sits with the values so that refusals ([`crate::DomainError`])
//! can name a status without depending on the state machine.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::validation::ValidationError;

/// Where a case is in the loop.
///
/// Variant order is part of the postcard format; append new variants only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Awaiting triage (also after a return or a reopen).
    Reported,
    /// Classified and routed, awaiting dispatch.
    Triaged,
    /// Sent to the assignee, awaiting acceptance.
    Dispatched,
    /// The assignee is working on it.
    Accepted,
    /// The assignee says it is fixed, awaiting on-site verification.
    Resolved,
    /// Verified on site, awaiting the resident's rating and closing.
    Verified,
    /// Finished; can still be reopened.
    Closed,
    /// Folded into another case; final.
    Merged,
    /// Not handled by the centre; final.
    Rejected,
}

impl CaseStatus {
    /// Every status, in loop order.
    pub const ALL: [CaseStatus; 9] = [
        CaseStatus::Reported,
        CaseStatus::Triaged,
        CaseStatus::Dispatched,
        CaseStatus::Accepted,
        CaseStatus::Resolved,
        CaseStatus::Verified,
        CaseStatus::Closed,
        CaseStatus::Merged,
        CaseStatus::Rejected,
    ];

    /// Stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Reported => "reported",
            CaseStatus::Triaged => "triaged",
            CaseStatus::Dispatched => "dispatched",
            CaseStatus::Accepted => "accepted",
            CaseStatus::Resolved => "resolved",
            CaseStatus::Verified => "verified",
            CaseStatus::Closed => "closed",
            CaseStatus::Merged => "merged",
            CaseStatus::Rejected => "rejected",
        }
    }

    /// The loop stage a case of this status waits in: `triage` (reported, returned or
    /// reopened), `dispatch` (triaged), `resolve` (with the assignee), `evaluate` (awaiting
    /// the on-site check or the rating) or `done` (closed, merged or rejected).
    pub const fn waiting_stage(self) -> &'static str {
        match self {
            CaseStatus::Reported => "triage",
            CaseStatus::Triaged => "dispatch",
            CaseStatus::Dispatched | CaseStatus::Accepted => "resolve",
            CaseStatus::Resolved | CaseStatus::Verified => "evaluate",
            CaseStatus::Closed | CaseStatus::Merged | CaseStatus::Rejected => "done",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| ValidationError::new("status", format!("{s:?} is not a case status")))
    }

    /// True while the case still needs work or watching (not closed, merged or rejected).
    pub const fn is_open(self) -> bool {
        !matches!(
            self,
            CaseStatus::Closed | CaseStatus::Merged | CaseStatus::Rejected
        )
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_stable() {
        for status in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(status.as_str()), Ok(status));
        }
        assert_eq!(CaseStatus::Verified.to_string(), "verified");
        let open: Vec<_> = CaseStatus::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .collect();
        assert_eq!(open.len(), 6);
    }
}
