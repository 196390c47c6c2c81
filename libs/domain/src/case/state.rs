//! What the decider knows about a case, and [`apply`], which builds it by
//! folding the case's events.

use serde::{Deserialize, Serialize};

use crate::event::{DeadlineStage, Event, Route};
use crate::values::{
    Assignee, CaseId, CaseStatus, CategoryCode, Danger, DepartmentCode, GridCode, Location,
    Priority, Timestamp, TrackingCode,
};

/// The resident's rating of the current verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// Whether the resident says the problem is gone.
    pub resolved: bool,
    /// Whether the resident is satisfied.
    pub satisfied: bool,
    /// 1 to 5.
    pub score: u8,
}

/// The departments called to report in (吹哨报到) on the current joint dispatch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportIn {
    /// Every department called, the lead first.
    pub departments: Vec<DepartmentCode>,
    /// When they were called.
    pub called_at: Timestamp,
    /// When each must have reported in.
    pub deadline: Timestamp,
    /// Those that reported in, and when.
    pub reported: Vec<(DepartmentCode, Timestamp)>,
}

impl ReportIn {
    /// The departments called that have not reported in yet.
    pub fn pending(&self) -> impl Iterator<Item = &DepartmentCode> {
        self.departments
            .iter()
            .filter(|d| !self.reported.iter().any(|(r, _)| r == *d))
    }
}

/// A postponement request awaiting a supervisor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPostponement {
    /// The assignee who asked.
    pub by: Assignee,
    /// The requested resolve deadline.
    pub until: Timestamp,
}

/// What the decider knows about a case, built by folding its events.
///
/// `Default` is "no case yet": the state before `CaseReported`. Read models keep it (postcard)
/// and rebuild when its shape changes; the log never holds it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseState {
    /// `None` until the case is reported.
    pub status: Option<CaseStatus>,
    /// The case id from the report.
    pub case_id: Option<CaseId>,
    /// The tracking code from the report.
    pub tracking_code: Option<TrackingCode>,
    /// Where the problem is; its grid bounds escalation.
    pub location: Option<Location>,
    /// When the case was reported; deadlines must come after it.
    pub reported_at: Option<Timestamp>,
    /// The category, from the report and then from triage.
    pub category: Option<CategoryCode>,
    /// The priority set at triage (or emergency, once a danger is flagged).
    pub priority: Option<Priority>,
    /// The last danger to people recognised in the case.
    pub danger: Option<Danger>,
    /// When an operator must triage a case flagged as an emergency; cleared at triage.
    pub triage_deadline: Option<Timestamp>,
    /// The current route; cleared on return and reopen so triage decides afresh.
    pub route: Option<Route>,
    /// Who the case is dispatched to, while dispatched.
    pub assignee: Option<Assignee>,
    /// Departments consulted in a joint dispatch.
    pub participants: Vec<DepartmentCode>,
    /// When the assignee must accept.
    pub accept_deadline: Option<Timestamp>,
    /// When the assignee must resolve (moved by approved postponements).
    pub resolve_deadline: Option<Timestamp>,
    /// Everyone who sent the case back, so triage avoids them; kept across reopens.
    pub returned_by: Vec<Assignee>,
    /// A postponement request awaiting a supervisor.
    pub pending_postponement: Option<PendingPostponement>,
    /// The rating of the current verification, if given.
    pub rating: Option<Rating>,
    /// The departments the grid has rated on this case (网格评部门), in order; kept across
    /// reopens, as each department is rated once per case.
    pub departments_rated: Vec<DepartmentCode>,
    /// How often on-site verification failed and sent the case back.
    pub rework_count: u32,
    /// How often the case was reopened.
    pub reopen_count: u32,
    /// How often the case was escalated.
    pub escalation_level: u8,
    /// The grid the case was last escalated to.
    pub escalated_to: Option<GridCode>,
    /// When the case reached its current rung, if recorded (see [`crate::event::CaseEscalated::at`]).
    pub escalated_at: Option<Timestamp>,
    /// The departments called to report in on the current joint dispatch, if any.
    pub report_in: Option<ReportIn>,
    /// How often a supervisor urged the assignee.
    pub urge_count: u32,
    /// The case this one was merged into.
    pub merged_into: Option<CaseId>,
    /// Deadline warnings already given, so a watcher re-running is harmless.
    pub deadline_warnings: Vec<(DeadlineStage, Timestamp)>,
    /// Deadline breaches already recorded, for the same reason.
    pub deadline_breaches: Vec<(DeadlineStage, Timestamp)>,
    /// How many events have been applied (the stream version).
    pub version: u64,
}

impl CaseState {
    /// Replays a case's events from the start.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        events.into_iter().fold(Self::default(), apply)
    }

    /// True once the case has been reported.
    pub fn exists(&self) -> bool {
        self.status.is_some()
    }

    /// True if the case exists and is not closed, merged or rejected.
    pub fn is_open(&self) -> bool {
        self.status.is_some_and(CaseStatus::is_open)
    }

    /// Forgets the current routing, for when the case goes back to triage.
    fn clear_assignment(&mut self) {
        self.route = None;
        self.assignee = None;
        self.participants.clear();
        self.accept_deadline = None;
        self.resolve_deadline = None;
        self.pending_postponement = None;
        self.report_in = None;
    }
}

/// Folds one event into the state. Never fails: stored events are facts.
pub fn apply(mut state: CaseState, event: &Event) -> CaseState {
    state.version += 1;
    match event {
        Event::CaseReported(reported) => {
            state.status = Some(CaseStatus::Reported);
            state.case_id = Some(reported.case_id);
            state.tracking_code = Some(reported.tracking_code);
            state.location = Some(reported.location.clone());
            state.reported_at = Some(reported.reported_at);
            state.category = reported.category;
        }
        Event::CaseTriaged(triaged) => {
            state.status = Some(CaseStatus::Triaged);
            state.category = Some(triaged.category);
            state.priority = Some(triaged.priority);
            state.route = Some(triaged.route.clone());
            state.triage_deadline = None;
        }
        Event::QueuedForOperator(queued) => {
            state.triage_deadline = Some(queued.triage_by);
        }
        Event::DangerFlagged(flagged) => {
            state.priority = Some(Priority::Emergency);
            state.danger = Some(flagged.danger);
            state.triage_deadline = Some(flagged.triage_by);
        }
        Event::CaseMerged(merged) => {
            state.status = Some(CaseStatus::Merged);
            state.merged_into = Some(merged.into);
        }
        Event::CaseRejected(_) => state.status = Some(CaseStatus::Rejected),
        Event::CaseDispatched(dispatched) => {
            state.status = Some(CaseStatus::Dispatched);
            state.assignee = Some(dispatched.assignee.clone());
            state.participants.clone_from(&dispatched.participants);
            state.accept_deadline = dispatched.accept_deadline;
            state.resolve_deadline = dispatched.resolve_deadline;
            state.pending_postponement = None;
        }
        Event::DispatchAccepted(_) => state.status = Some(CaseStatus::Accepted),
        Event::DispatchReturned(returned) => {
            state.status = Some(CaseStatus::Reported);
            if !state.returned_by.contains(&returned.by) {
                state.returned_by.push(returned.by.clone());
            }
            state.clear_assignment();
        }
        Event::CaseReferred(referred) => {
            state.status = Some(CaseStatus::Triaged);
            state.clear_assignment();
            state.route = Some(referred.route.clone());
        }
        Event::WhistleBlown(whistle) => {
            state.status = Some(CaseStatus::Triaged);
            state.clear_assignment();
            state.route = Some(Route::Joint {
                lead: whistle.lead.clone(),
                participants: whistle.participants.clone(),
            });
        }
        Event::ReportInCalled(called) => {
            state.report_in = Some(ReportIn {
                departments: called.departments.clone(),
                called_at: called.called_at,
                deadline: called.deadline,
                reported: Vec::new(),
            });
        }
        Event::DepartmentReportedIn(reported) => {
            if let Some(report_in) = &mut state.report_in {
                report_in
                    .reported
                    .push((reported.department.clone(), reported.at));
            }
        }
        Event::ProgressReported(_) => {}
        Event::PostponementRequested(requested) => {
            state.pending_postponement = Some(PendingPostponement {
                by: requested.by.clone(),
                until: requested.until,
            });
        }
        Event::PostponementApproved(approved) => {
            state.resolve_deadline = Some(approved.until);
            state.pending_postponement = None;
        }
        Event::PostponementRefused(_) => state.pending_postponement = None,
        Event::CaseResolved(_) => {
            state.status = Some(CaseStatus::Resolved);
            // Resolving answers the question a pending postponement asked.
            state.pending_postponement = None;
        }
        Event::CaseVerified(_) => {
            state.status = Some(CaseStatus::Verified);
            state.rating = None;
        }
        Event::VerificationFailed(_) => {
            state.status = Some(CaseStatus::Accepted);
            state.rework_count = state.rework_count.saturating_add(1);
        }
        Event::SatisfactionRecorded(recorded) => {
            state.rating = Some(Rating {
                resolved: recorded.resolved,
                satisfied: recorded.satisfied,
                score: recorded.score,
            });
        }
        Event::CaseClosed(_) => state.status = Some(CaseStatus::Closed),
        Event::DepartmentRated(rated) => {
            if !state.departments_rated.contains(&rated.department) {
                state.departments_rated.push(rated.department.clone());
            }
        }
        Event::CaseReopened(_) => {
            state.status = Some(CaseStatus::Reported);
            state.reopen_count = state.reopen_count.saturating_add(1);
            state.rating = None;
            state.clear_assignment();
        }
        Event::DeadlineWarned(warned) => {
            state
                .deadline_warnings
                .push((warned.stage, warned.deadline));
        }
        Event::DeadlineBreached(breached) => {
            state
                .deadline_breaches
                .push((breached.stage, breached.deadline));
        }
        Event::CaseEscalated(escalated) => {
            state.escalation_level = escalated.level;
            state.escalated_to = Some(escalated.to);
            state.escalated_at = escalated.at;
        }
        Event::CaseUrged(_) => state.urge_count = state.urge_count.saturating_add(1),
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::fixtures::*;
    use crate::case::{decide, Command};

    #[test]
    fn replay_matches_stepwise_state() {
        let commands = [
            report(),
            triage(to_department("water")),
            dispatch(water(), vec![]),
            accept(water()),
            postpone(at_hours(100)),
            Command::ApprovePostponement {
                by: worker("supervisor"),
            },
            resolve(water()),
            verify(),
            rate(true),
            close(),
        ];
        let mut state = CaseState::default();
        let mut history = Vec::new();
        for command in commands {
            let events = decide(&state, command).unwrap();
            state = events.iter().fold(state, apply);
            history.extend(events);
        }
        assert_eq!(CaseState::from_events(&history), state);
        assert_eq!(state.version, history.len() as u64);
    }
}
