//! [`decide`] and the checks its rules share. The rules themselves are in one
//! file per loop stage:
//!
//! - `report`: the first command of a case;
//! - `triage`: classify and route, merge or reject a reported case;
//! - `dispatch`: send a triaged case to its assignee, who accepts or returns it;
//! - `resolve`: the assignee's progress, postponements and resolution;
//! - `evaluate`: on-site verification, the resident's rating, close and reopen, the grid's
//!   rating of the departments;
//! - `supervise`: deadline warnings and breaches, escalation and urging.

mod dispatch;
mod evaluate;
mod report;
mod resolve;
mod supervise;
mod triage;

use crate::case::{CaseState, Command};
use crate::error::{DomainError, Result};
use crate::event::Event;
use crate::values::{Assignee, CaseStatus};

/// Checks `command` against `state` and returns the events it causes.
///
/// Every accepted command yields one event, except a repeated deadline
/// warning or breach, which yields none so deadline watchers may re-run.
pub fn decide(state: &CaseState, command: Command) -> Result<Vec<Event>> {
    let Some(status) = state.status else {
        return report::open(command).map(|reported| vec![reported.into()]);
    };
    let case = Case {
        state,
        status,
        action: command.action(),
    };
    use crate::event::{CaseTriaged, DepartmentRated};
    let event: Event = match command {
        Command::Report { .. } => return Err(DomainError::CaseAlreadyExists { status }),

        Command::Triage {
            category,
            priority,
            route,
            triaged_by,
            model,
            priority_reason,
        } => triage::triage(
            &case,
            CaseTriaged {
                category,
                priority,
                route,
                triaged_by,
                model,
                priority_reason,
            },
        )?
        .into(),
        Command::FlagDanger {
            danger,
            reason,
            triage_by,
        } => triage::flag_danger(&case, danger, reason, triage_by)?.into(),
        Command::QueueForOperator { reason, triage_by } => {
            triage::queue_for_operator(&case, reason, triage_by)?.into()
        }
        Command::Merge { into } => triage::merge(&case, into)?.into(),
        Command::Reject { reason } => triage::reject(&case, reason)?.into(),

        Command::Dispatch {
            assignee,
            participants,
            accept_deadline,
            resolve_deadline,
            report_in,
        } => {
            let dispatched = dispatch::dispatch(
                &case,
                assignee,
                participants,
                accept_deadline,
                resolve_deadline,
            )?;
            let called = dispatch::call_report_in(&dispatched, report_in)?;
            let mut events = vec![Event::from(dispatched)];
            events.extend(called.map(Event::from));
            return Ok(events);
        }
        Command::Accept { by } => dispatch::accept(&case, by)?.into(),
        Command::Return { by, reason } => dispatch::return_to_triage(&case, by, reason)?.into(),
        Command::Refer { by, route, reason } => dispatch::refer(&case, by, route, reason)?.into(),
        Command::Whistle {
            by,
            lead,
            participants,
            report_in_minutes,
            reason,
        } => dispatch::whistle(&case, by, lead, participants, report_in_minutes, reason)?.into(),
        Command::ReportIn {
            department,
            opinion,
            at,
        } => dispatch::report_in(&case, department, opinion, at)?.into(),

        Command::ReportProgress { by, note } => resolve::report_progress(&case, by, note)?.into(),
        Command::RequestPostponement { by, until, reason } => {
            resolve::request_postponement(&case, by, until, reason)?.into()
        }
        Command::ApprovePostponement { by } => resolve::approve_postponement(&case, by)?.into(),
        Command::RefusePostponement { by, reason } => {
            resolve::refuse_postponement(&case, by, reason)?.into()
        }
        Command::Resolve { by, note, evidence } => {
            resolve::resolve(&case, by, note, evidence)?.into()
        }

        Command::Verify { by, note } => evaluate::verify(&case, by, note)?.into(),
        Command::FailVerification { by, reason } => {
            evaluate::fail_verification(&case, by, reason)?.into()
        }
        Command::RecordSatisfaction {
            resolved,
            satisfied,
            score,
            comment,
        } => evaluate::record_satisfaction(&case, resolved, satisfied, score, comment)?.into(),
        Command::Close { by } => evaluate::close(&case, by)?.into(),
        Command::RateDepartment {
            by,
            grid,
            department,
            timeliness,
            attitude,
            result,
            note,
            at,
        } => evaluate::rate_department(
            &case,
            grid,
            DepartmentRated {
                by,
                department,
                timeliness,
                attitude,
                result,
                note,
                at,
            },
        )?
        .into(),
        Command::Reopen { reason } => evaluate::reopen(&case, reason)?.into(),

        // A deadline already warned of or breached yields no event.
        Command::WarnDeadline { stage, deadline } => {
            let warned = supervise::warn_deadline(&case, stage, deadline)?;
            return Ok(warned.into_iter().map(Event::from).collect());
        }
        Command::BreachDeadline { stage, deadline } => {
            let breached = supervise::breach_deadline(&case, stage, deadline)?;
            return Ok(breached.into_iter().map(Event::from).collect());
        }
        Command::Escalate { to, at } => supervise::escalate(&case, to, at)?.into(),
        Command::Urge { by, note } => supervise::urge(&case, by, note)?.into(),
    };
    Ok(vec![event])
}

/// An existing case a command is decided on, with what every rule needs.
struct Case<'a> {
    state: &'a CaseState,
    /// The status from `state`, present because the case exists.
    status: CaseStatus,
    /// The command's action in words, for refusal messages.
    action: &'static str,
}

impl Case<'_> {
    /// Refuses unless the case is in one of the `allowed` statuses, which
    /// `expected` names in the refusal.
    fn require(&self, allowed: &[CaseStatus], expected: &'static str) -> Result<()> {
        if allowed.contains(&self.status) {
            Ok(())
        } else {
            Err(DomainError::WrongStatus {
                action: self.action,
                status: self.status,
                expected,
            })
        }
    }

    /// Refuses unless the case is still open (not closed, merged or rejected).
    fn require_open(&self) -> Result<()> {
        if self.status.is_open() {
            Ok(())
        } else {
            Err(DomainError::WrongStatus {
                action: self.action,
                status: self.status,
                expected: "open",
            })
        }
    }

    /// Refuses unless `by` is who the case is dispatched to.
    fn require_assignee(&self, by: &Assignee) -> Result<()> {
        match &self.state.assignee {
            Some(assignee) if assignee == by => Ok(()),
            Some(assignee) => Err(DomainError::NotAssignee {
                action: self.action,
                by: by.clone(),
                assignee: assignee.clone(),
            }),
            None => Err(DomainError::Inconsistent {
                action: self.action,
                missing: "assignee",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::fixtures::*;
    use crate::event::{DeadlineStage, Route};
    use crate::values::CaseId;

    #[test]
    fn self_handled_case_runs_the_whole_loop() {
        let state = run([
            report(),
            triage(Route::SelfHandle {
                worker: worker("li-si"),
            }),
            dispatch(grid_worker(), vec![]),
            accept(grid_worker()),
            resolve(grid_worker()),
            verify(),
            rate(true),
            close(),
        ]);
        assert_eq!(state.status, Some(CaseStatus::Closed));
        assert_eq!(state.assignee, Some(grid_worker()));
        assert_eq!(state.version, 8);
        assert!(!state.is_open());
    }

    #[test]
    fn actions_on_a_closed_case_are_refused() {
        let state = closed();
        assert_eq!(
            refusal(
                &state,
                Command::Urge {
                    by: worker("supervisor"),
                    note: note("x")
                }
            )
            .to_string(),
            "cannot urge: case is closed, not open"
        );
        assert!(matches!(
            refusal(
                &state,
                Command::Escalate {
                    to: grid("330102"),
                    at: at_hours(3)
                }
            ),
            DomainError::WrongStatus { .. }
        ));
        assert!(matches!(
            refusal(
                &state,
                Command::WarnDeadline {
                    stage: DeadlineStage::Close,
                    deadline: at_hours(100)
                }
            ),
            DomainError::WrongStatus { .. }
        ));
        assert!(matches!(
            refusal(&state, triage(to_department("roads"))),
            DomainError::WrongStatus { .. }
        ));
        assert!(matches!(
            refusal(&state, close()),
            DomainError::WrongStatus { .. }
        ));
    }

    #[test]
    fn merged_and_rejected_cases_are_final() {
        let merged = step(
            reported(),
            Command::Merge {
                into: CaseId::from_u128(9),
            },
        );
        let rejected = step(reported(), Command::Reject { reason: note("x") });
        for state in [merged, rejected] {
            assert!(decide(&state, triage(to_department("water"))).is_err());
            assert!(decide(&state, Command::Reopen { reason: note("x") }).is_err());
            assert!(decide(
                &state,
                Command::BreachDeadline {
                    stage: DeadlineStage::Accept,
                    deadline: at_hours(1)
                }
            )
            .is_err());
        }
    }
}
