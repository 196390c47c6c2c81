//! The two error types of the domain: a command the case refused
//! ([`DomainError`]), and a value that failed validation
//! ([`ValidationError`], defined with the values that return it).
//!
//! This module uses only the values, so the events and the case state
//! machine can both depend on it without a cycle.

use crate::values::{Assignee, CaseStatus, DepartmentCode, GridCode, Timestamp, WorkerId};

pub use crate::values::ValidationError;

/// The crate-wide result type; most functions fail with [`DomainError`].
pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// Why [`crate::decide`] refused a command.
///
/// Messages name the rule and, where status matters, the current status, so
/// that an operator reading a log line knows what to do next.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// An argument of the command failed validation.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// Only `Report` may be the first command of a case.
    #[error("case does not exist")]
    CaseDoesNotExist,
    /// A case is reported once; its id is taken.
    #[error("cannot report: case already exists and is {status}")]
    CaseAlreadyExists {
        /// The status of the existing case.
        status: CaseStatus,
    },
    /// The command is not allowed in the current status.
    #[error("cannot {action}: case is {status}, not {expected}")]
    WrongStatus {
        /// The refused action, e.g. `"resolve"`.
        action: &'static str,
        /// The status the case is in.
        status: CaseStatus,
        /// The status (or statuses) the action needs.
        expected: &'static str,
    },
    /// Only the current assignee may act on a dispatched case.
    #[error("cannot {action}: {by} is not the assignee ({assignee} is)")]
    NotAssignee {
        /// The refused action.
        action: &'static str,
        /// Who tried to act.
        by: Assignee,
        /// Who the case is dispatched to.
        assignee: Assignee,
    },
    /// Only the handlers of the grid hierarchy refer a case on; a department that does not own
    /// a case returns it (退单).
    #[error("cannot refer: {by} is a department; a department returns a case that is not its own")]
    DepartmentCannotRefer {
        /// The department.
        by: Assignee,
    },
    /// A grid leader blows the whistle on a case waiting on a grid worker of their own grid.
    #[error("cannot blow the whistle: the case is not waiting on a grid worker of grid {grid}")]
    NotLeadersCase {
        /// The leader's grid.
        grid: GridCode,
    },
    /// Only a department a whistle called reports in, on the case's current dispatch.
    #[error("cannot report in: {department} is not called to report in on this case")]
    NotCalledToReportIn {
        /// The department.
        department: DepartmentCode,
    },
    /// A department reports in once.
    #[error("cannot report in: {department} already reported in")]
    AlreadyReportedIn {
        /// The department.
        department: DepartmentCode,
    },
    /// A referral goes out to departments or one tier up the hierarchy, to the case's own
    /// community or street.
    #[error("cannot refer: {by} may not refer the case to {to}: {rule}")]
    ReferralNotAllowed {
        /// Who referred.
        by: Assignee,
        /// Where to.
        to: Assignee,
        /// The rule, in words.
        rule: &'static str,
    },
    /// Nobody checks their own work: a grid worker does not verify a case they settled.
    #[error(
        "cannot {action}: worker {by} settled this case and may not check it; the community or \
         the grid leader checks it"
    )]
    OwnSettlement {
        /// The refused action.
        action: &'static str,
        /// The worker who settled the case.
        by: WorkerId,
    },
    /// A second acceptance is a client retry or a mix-up, never a new fact.
    #[error("cannot accept: case already accepted by {by}")]
    AlreadyAccepted {
        /// Who accepted it.
        by: Assignee,
    },
    /// Triage must not push a case back to whoever already said it is not theirs.
    #[error("cannot triage: {assignee} already returned this case")]
    AlreadyReturned {
        /// The department or worker that returned the case before.
        assignee: Assignee,
    },
    /// A case already flagged as an emergency keeps its first triage deadline.
    #[error("cannot flag danger: case is already flagged, to be triaged by {deadline}")]
    AlreadyFlagged {
        /// The triage deadline set when it was flagged.
        deadline: crate::values::Timestamp,
    },
    /// A case waiting for an operator keeps its first triage deadline.
    #[error("cannot queue for an operator: case already waits, to be triaged by {deadline}")]
    AlreadyQueued {
        /// The triage deadline it already has.
        deadline: crate::values::Timestamp,
    },
    /// Merging a case into itself would lose it.
    #[error("cannot merge: a case cannot be merged into itself")]
    MergeIntoItself,
    /// The dispatch goes somewhere the triage did not decide.
    #[error(
        "cannot dispatch: assignee {assignee} does not match the route, which expects {expected}"
    )]
    AssigneeDoesNotMatchRoute {
        /// The assignee in the command.
        assignee: Assignee,
        /// The assignee the route calls for.
        expected: Assignee,
    },
    /// The joint participants differ from the triage decision.
    #[error("cannot dispatch: participants [{}] do not match the route, which expects [{}]", join(.participants), join(.expected))]
    ParticipantsDoNotMatchRoute {
        /// The participants in the command.
        participants: Vec<DepartmentCode>,
        /// The participants the route calls for.
        expected: Vec<DepartmentCode>,
    },
    /// An accept deadline after the resolve deadline cannot both be met.
    #[error("cannot dispatch: accept_deadline {accept} is after resolve_deadline {resolve}")]
    DeadlinesOutOfOrder {
        /// The accept deadline.
        accept: Timestamp,
        /// The resolve deadline.
        resolve: Timestamp,
    },
    /// A deadline before the report usually means seconds were passed as milliseconds.
    #[error("cannot dispatch: {field} {deadline} is not after reported_at {reported_at}")]
    DeadlineBeforeReport {
        /// `"accept_deadline"` or `"resolve_deadline"`.
        field: &'static str,
        /// The deadline given.
        deadline: Timestamp,
        /// When the case was reported.
        reported_at: Timestamp,
    },
    /// The departments get some time to report in.
    #[error("cannot dispatch: report-in deadline {deadline} is not after the call {called_at}")]
    ReportInBeforeCall {
        /// The deadline given.
        deadline: Timestamp,
        /// When the departments are called.
        called_at: Timestamp,
    },
    /// One postponement request at a time, so the supervisor decides on a clear question.
    #[error("cannot request postponement: a request until {until} is already pending")]
    PostponementPending {
        /// The pending request's new deadline.
        until: Timestamp,
    },
    /// A postponement that does not move the deadline later is not a postponement.
    #[error(
        "cannot request postponement: until {until} is not after the resolve deadline {deadline}"
    )]
    PostponementNotLater {
        /// The requested deadline.
        until: Timestamp,
        /// The current resolve deadline.
        deadline: Timestamp,
    },
    /// Approve and refuse answer a pending request.
    #[error("cannot {action}: no postponement request is pending")]
    NoPostponementPending {
        /// `"approve postponement"` or `"refuse postponement"`.
        action: &'static str,
    },
    /// Whoever asked for more time cannot grant it to themselves.
    #[error("cannot approve postponement: worker {worker} asked for it and cannot approve it")]
    SelfApproval {
        /// The worker who requested and tried to approve.
        worker: WorkerId,
    },
    /// The resident rates each verification once.
    #[error("cannot record satisfaction: already recorded for this verification")]
    AlreadyRated,
    /// Closing over a resident who says the problem persists would hide it.
    #[error("cannot close: the rating says the problem is not resolved, reopen instead")]
    RatedUnresolved,
    /// A verified case is reopened only on the resident's word that it is not resolved.
    #[error(
        "cannot reopen: case is verified and has no rating saying the problem is not resolved"
    )]
    ReopenNeedsUnresolvedRating,
    /// A grid worker rates the departments on the cases of their own grid (网格评部门): the
    /// grid that saw the problem judges the handling.
    #[error(
        "cannot rate the department: the case is {}, not in grid {grid} where worker {by} \
         works; a grid worker rates the departments on cases of their own grid",
        case_grid_in_words(.case_grid)
    )]
    NotRatersGrid {
        /// The worker.
        by: WorkerId,
        /// The grid or micro-grid the worker works in.
        grid: GridCode,
        /// The grid the case is in, if it was placed in one.
        case_grid: Option<GridCode>,
    },
    /// Only a department that handled the case is rated on it: the one it was routed to, or the
    /// lead or a participant of its joint consultation.
    #[error(
        "cannot rate the department: {department} did not handle this case{}",
        handlers_in_words(.handlers)
    )]
    NotHandledBy {
        /// The department named.
        department: DepartmentCode,
        /// The departments that did handle it, lead first; empty when the grid worker, the
        /// community or the street settled it.
        handlers: Vec<DepartmentCode>,
    },
    /// The grid rates each department once per case, so one case weighs once in its
    /// indicators.
    #[error(
        "cannot rate the department: {department} is already rated on this case; the grid rates \
         each department once per case"
    )]
    DepartmentAlreadyRated {
        /// The department.
        department: DepartmentCode,
    },
    /// Escalation goes up the grid hierarchy, never sideways or down: the case's own grid's
    /// leader or one above it.
    #[error("cannot escalate: {to} does not contain the case grid {grid}")]
    EscalationNotUpward {
        /// The requested target.
        to: GridCode,
        /// The grid the case is located in.
        grid: GridCode,
    },
    /// Every rung goes higher than the one before.
    #[error("cannot escalate: {to} is not above {last}, where the case was escalated to before")]
    EscalationNotHigher {
        /// The requested target.
        to: GridCode,
        /// The area of the rung before.
        last: GridCode,
    },
    /// The state lacks something `apply` always sets; only a hand-built state gets here.
    #[error("cannot {action}: case state has no {missing}")]
    Inconsistent {
        /// The refused action.
        action: &'static str,
        /// What is missing, e.g. `"assignee"`.
        missing: &'static str,
    },
    /// The escalation counter is a `u8`; running out means something loops.
    #[error("cannot escalate: escalation level is already {level}, the maximum")]
    EscalationLimit {
        /// The current level.
        level: u8,
    },
}

/// `in grid <code>` or `placed without a grid`.
fn case_grid_in_words(grid: &Option<GridCode>) -> String {
    match grid {
        Some(grid) => format!("in grid {grid}"),
        None => "placed without a grid".to_owned(),
    }
}

/// `; no department did` or `; it was handled by water, power`.
fn handlers_in_words(handlers: &[DepartmentCode]) -> String {
    if handlers.is_empty() {
        "; no department did".to_owned()
    } else {
        format!("; it was handled by {}", join(handlers))
    }
}

fn join(codes: &[DepartmentCode]) -> String {
    codes
        .iter()
        .map(DepartmentCode::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_error_names_the_field() {
        let error = ValidationError::new("description", "must not be empty");
        assert_eq!(error.to_string(), "description: must not be empty");
        assert_eq!(
            DomainError::from(error).to_string(),
            "description: must not be empty"
        );
    }

    #[test]
    fn wrong_status_names_status_and_expectation() {
        let error = DomainError::WrongStatus {
            action: "resolve",
            status: CaseStatus::Dispatched,
            expected: "accepted",
        };
        assert_eq!(
            error.to_string(),
            "cannot resolve: case is dispatched, not accepted"
        );
    }

    #[test]
    fn participant_mismatch_lists_departments() {
        let code = |s| DepartmentCode::parse(s).unwrap();
        let error = DomainError::ParticipantsDoNotMatchRoute {
            participants: vec![code("water")],
            expected: vec![code("water"), code("power")],
        };
        assert_eq!(
            error.to_string(),
            "cannot dispatch: participants [water] do not match the route, which expects [water, power]"
        );
    }
}
