//! The case state machine.
//!
//! [`decide`] checks a command against the current state and returns the
//! events it causes, or refuses it. [`apply`] folds an event into the state;
//! it never fails because stored events were decided already, and replaying
//! history must not depend on today's rules.

use crate::error::{DomainError, Result};
use crate::event::{
    CaseClosed, CaseDispatched, CaseEscalated, CaseMerged, CaseRejected, CaseReopened,
    CaseReported, CaseResolved, CaseTriaged, CaseUrged, CaseVerified, DeadlineBreached,
    DeadlineStage, DeadlineWarned, DispatchAccepted, DispatchReturned, Event, PostponementApproved,
    PostponementRefused, PostponementRequested, ProgressReported, Route, SatisfactionRecorded,
    VerificationFailed,
};
use crate::values::{
    Assignee, CaseId, CategoryCode, Channel, DepartmentCode, Description, GridCode, Location, Note,
    Priority, Reporter, Timestamp, TrackingCode, Url, ValidationError, WorkerId,
};

/// Re-exported so `case::CaseStatus`, where it was first defined, still names it.
pub use crate::values::CaseStatus;

/// The resident's rating of the current verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rating {
    /// Whether the resident says the problem is gone.
    pub resolved: bool,
    /// Whether the resident is satisfied.
    pub satisfied: bool,
    /// 1 to 5.
    pub score: u8,
}

/// A postponement request awaiting a supervisor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPostponement {
    /// The assignee who asked.
    pub by: Assignee,
    /// The requested resolve deadline.
    pub until: Timestamp,
}

/// What the decider knows about a case, built by folding its events.
///
/// `Default` is "no case yet": the state before `CaseReported`.
#[derive(Clone, Debug, Default, PartialEq)]
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
    /// The priority set at triage.
    pub priority: Option<Priority>,
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
    /// How often on-site verification failed and sent the case back.
    pub rework_count: u32,
    /// How often the case was reopened.
    pub reopen_count: u32,
    /// How often the case was escalated.
    pub escalation_level: u8,
    /// The grid the case was last escalated to.
    pub escalated_to: Option<GridCode>,
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
    }
}

/// Something someone wants to do to a case. Arguments are already-validated
/// value types; `decide` checks the rules that depend on the case.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Open a new case.
    Report {
        /// The id minted by the caller.
        case_id: CaseId,
        /// The tracking code minted by the caller.
        tracking_code: TrackingCode,
        /// How it reached the centre.
        channel: Channel,
        /// Who reported it.
        reporter: Reporter,
        /// Where the problem is.
        location: Location,
        /// What is wrong.
        description: Description,
        /// The category, if the reporter chose one.
        category: Option<CategoryCode>,
        /// Photos or videos.
        media: Vec<Url>,
        /// When it was reported.
        reported_at: Timestamp,
    },
    /// Classify and route a reported case.
    Triage {
        /// The confirmed category.
        category: CategoryCode,
        /// How pressing it is.
        priority: Priority,
        /// Who handles it.
        route: Route,
        /// The operator, if a person triaged.
        triaged_by: Option<WorkerId>,
    },
    /// Fold a reported case into another case about the same problem.
    Merge {
        /// The case that carries on.
        into: CaseId,
    },
    /// Decline a reported case.
    Reject {
        /// Why, as told to the reporter.
        reason: Note,
    },
    /// Send a triaged case along its route.
    Dispatch {
        /// Must match the route.
        assignee: Assignee,
        /// Must match the route's participants (in any order).
        participants: Vec<DepartmentCode>,
        /// When the assignee must accept.
        accept_deadline: Option<Timestamp>,
        /// When the assignee must resolve.
        resolve_deadline: Option<Timestamp>,
    },
    /// The assignee accepts the dispatch.
    Accept {
        /// Must be the assignee.
        by: Assignee,
    },
    /// The assignee sends the case back to triage as not theirs.
    Return {
        /// Must be the assignee.
        by: Assignee,
        /// Why it is not theirs.
        reason: Note,
    },
    /// The assignee reports progress.
    ReportProgress {
        /// Must be the assignee.
        by: Assignee,
        /// What happened.
        note: Note,
    },
    /// The assignee asks for a later resolve deadline.
    RequestPostponement {
        /// Must be the assignee.
        by: Assignee,
        /// The requested resolve deadline.
        until: Timestamp,
        /// Why.
        reason: Note,
    },
    /// A supervisor grants the pending postponement.
    ApprovePostponement {
        /// The supervisor.
        by: WorkerId,
    },
    /// A supervisor refuses the pending postponement.
    RefusePostponement {
        /// The supervisor.
        by: WorkerId,
        /// Why.
        reason: Note,
    },
    /// The assignee says the problem is fixed.
    Resolve {
        /// Must be the assignee.
        by: Assignee,
        /// What was done.
        note: Note,
        /// Photos of the result.
        evidence: Vec<Url>,
    },
    /// Confirm on site that the problem is fixed.
    Verify {
        /// The verifier.
        by: WorkerId,
        /// Remarks.
        note: Option<Note>,
    },
    /// Report on site that the problem is still there.
    FailVerification {
        /// The verifier.
        by: WorkerId,
        /// What is still wrong.
        reason: Note,
    },
    /// Record the resident's rating.
    RecordSatisfaction {
        /// Whether the problem is gone, in the resident's words.
        resolved: bool,
        /// Whether the resident is satisfied.
        satisfied: bool,
        /// 1 to 5.
        score: u8,
        /// What the resident said.
        comment: Option<Note>,
    },
    /// Finish a verified case.
    Close {
        /// The operator, or `None` when closed automatically.
        by: Option<WorkerId>,
    },
    /// Send a case back to triage because the problem persists.
    Reopen {
        /// Why.
        reason: Note,
    },
    /// Note that a deadline is close.
    WarnDeadline {
        /// Which deadline.
        stage: DeadlineStage,
        /// The deadline.
        deadline: Timestamp,
    },
    /// Note that a deadline has passed.
    BreachDeadline {
        /// Which deadline.
        stage: DeadlineStage,
        /// The deadline.
        deadline: Timestamp,
    },
    /// Raise the case up the grid hierarchy.
    Escalate {
        /// Must be above the case's grid, if it has one.
        to: GridCode,
    },
    /// Press the assignee.
    Urge {
        /// The supervisor.
        by: WorkerId,
        /// What was said.
        note: Note,
    },
}

impl Command {
    /// The action in words, as used in refusal messages (`"cannot {action}: ..."`).
    pub const fn action(&self) -> &'static str {
        match self {
            Command::Report { .. } => "report",
            Command::Triage { .. } => "triage",
            Command::Merge { .. } => "merge",
            Command::Reject { .. } => "reject",
            Command::Dispatch { .. } => "dispatch",
            Command::Accept { .. } => "accept",
            Command::Return { .. } => "return",
            Command::ReportProgress { .. } => "report progress",
            Command::RequestPostponement { .. } => "request postponement",
            Command::ApprovePostponement { .. } => "approve postponement",
            Command::RefusePostponement { .. } => "refuse postponement",
            Command::Resolve { .. } => "resolve",
            Command::Verify { .. } => "verify",
            Command::FailVerification { .. } => "fail verification",
            Command::RecordSatisfaction { .. } => "record satisfaction",
            Command::Close { .. } => "close",
            Command::Reopen { .. } => "reopen",
            Command::WarnDeadline { .. } => "warn deadline",
            Command::BreachDeadline { .. } => "breach deadline",
            Command::Escalate { .. } => "escalate",
            Command::Urge { .. } => "urge",
        }
    }
}

/// Checks `command` against `state` and returns the events it causes.
///
/// Every accepted command yields one event, except a repeated deadline
/// warning or breach, which yields none so deadline watchers may re-run.
pub fn decide(state: &CaseState, command: Command) -> Result<Vec<Event>> {
    use CaseStatus::*;

    let Some(status) = state.status else {
        return match command {
            Command::Report {
                case_id,
                tracking_code,
                channel,
                reporter,
                location,
                description,
                category,
                media,
                reported_at,
            } => Ok(vec![CaseReported {
                case_id,
                tracking_code,
                channel,
                reporter,
                location,
                description,
                category,
                media,
                reported_at,
            }
            .into()]),
            _ => Err(DomainError::CaseDoesNotExist),
        };
    };

    let action = command.action();
    let event: Event = match command {
        Command::Report { .. } => return Err(DomainError::CaseAlreadyExists { status }),

        Command::Triage {
            category,
            priority,
            route,
            triaged_by,
        } => {
            require(status, action, &[Reported], "reported")?;
            route.validate()?;
            let assignee = route.assignee();
            if state.returned_by.contains(&assignee) {
                return Err(DomainError::AlreadyReturned { assignee });
            }
            CaseTriaged {
                category,
                priority,
                route,
                triaged_by,
            }
            .into()
        }

        Command::Merge { into } => {
            require(status, action, &[Reported], "reported")?;
            if state.case_id == Some(into) {
                return Err(DomainError::MergeIntoItself);
            }
            CaseMerged { into }.into()
        }

        Command::Reject { reason } => {
            require(status, action, &[Reported], "reported")?;
            CaseRejected { reason }.into()
        }

        Command::Dispatch {
            assignee,
            participants,
            accept_deadline,
            resolve_deadline,
        } => {
            require(status, action, &[Triaged], "triaged")?;
            let route = state.route.as_ref().ok_or(DomainError::Inconsistent {
                action,
                missing: "route",
            })?;
            check_dispatch_matches_route(route, &assignee, &participants)?;
            check_deadlines(state.reported_at, accept_deadline, resolve_deadline)?;
            CaseDispatched {
                assignee,
                participants,
                accept_deadline,
                resolve_deadline,
            }
            .into()
        }

        Command::Accept { by } => {
            if let (Accepted, Some(assignee)) = (status, &state.assignee) {
                return Err(DomainError::AlreadyAccepted {
                    by: assignee.clone(),
                });
            }
            require(status, action, &[Dispatched], "dispatched")?;
            require_assignee(state, action, &by)?;
            DispatchAccepted { by }.into()
        }

        Command::Return { by, reason } => {
            require(
                status,
                action,
                &[Dispatched, Accepted],
                "dispatched or accepted",
            )?;
            require_assignee(state, action, &by)?;
            DispatchReturned { by, reason }.into()
        }

        Command::ReportProgress { by, note } => {
            require(status, action, &[Accepted], "accepted")?;
            require_assignee(state, action, &by)?;
            ProgressReported { by, note }.into()
        }

        Command::RequestPostponement { by, until, reason } => {
            require(status, action, &[Accepted], "accepted")?;
            require_assignee(state, action, &by)?;
            if let Some(pending) = &state.pending_postponement {
                return Err(DomainError::PostponementPending {
                    until: pending.until,
                });
            }
            if let Some(deadline) = state.resolve_deadline {
                if until <= deadline {
                    return Err(DomainError::PostponementNotLater { until, deadline });
                }
            }
            PostponementRequested { by, until, reason }.into()
        }

        Command::ApprovePostponement { by } => {
            let pending = state
                .pending_postponement
                .as_ref()
                .ok_or(DomainError::NoPostponementPending { action })?;
            // A self-handling grid worker must not extend their own deadline.
            if pending.by == Assignee::Worker(by.clone()) {
                return Err(DomainError::SelfApproval { worker: by });
            }
            PostponementApproved {
                by,
                until: pending.until,
            }
            .into()
        }

        Command::RefusePostponement { by, reason } => {
            if state.pending_postponement.is_none() {
                return Err(DomainError::NoPostponementPending { action });
            }
            PostponementRefused { by, reason }.into()
        }

        Command::Resolve { by, note, evidence } => {
            require(status, action, &[Accepted], "accepted")?;
            require_assignee(state, action, &by)?;
            CaseResolved { by, note, evidence }.into()
        }

        Command::Verify { by, note } => {
            require(status, action, &[Resolved], "resolved")?;
            CaseVerified { by, note }.into()
        }

        Command::FailVerification { by, reason } => {
            require(status, action, &[Resolved], "resolved")?;
            VerificationFailed { by, reason }.into()
        }

        Command::RecordSatisfaction {
            resolved,
            satisfied,
            score,
            comment,
        } => {
            require(status, action, &[Verified], "verified")?;
            if state.rating.is_some() {
                return Err(DomainError::AlreadyRated);
            }
            if !(1..=5).contains(&score) {
                return Err(
                    ValidationError::new("score", format!("must be 1 to 5, got {score}")).into(),
                );
            }
            SatisfactionRecorded {
                resolved,
                satisfied,
                score,
                comment,
            }
            .into()
        }

        Command::Close { by } => {
            require(status, action, &[Verified], "verified")?;
            if state.rating.is_some_and(|rating| !rating.resolved) {
                return Err(DomainError::RatedUnresolved);
            }
            CaseClosed { by }.into()
        }

        Command::Reopen { reason } => {
            match status {
                Closed => {}
                Verified if state.rating.is_some_and(|rating| !rating.resolved) => {}
                Verified => return Err(DomainError::ReopenNeedsUnresolvedRating),
                _ => {
                    return Err(DomainError::WrongStatus {
                        action,
                        status,
                        expected: "verified or closed",
                    })
                }
            }
            CaseReopened { reason }.into()
        }

        Command::WarnDeadline { stage, deadline } => {
            require_open(status, action)?;
            if state.deadline_warnings.contains(&(stage, deadline)) {
                return Ok(Vec::new());
            }
            DeadlineWarned { stage, deadline }.into()
        }

        Command::BreachDeadline { stage, deadline } => {
            require_open(status, action)?;
            if state.deadline_breaches.contains(&(stage, deadline)) {
                return Ok(Vec::new());
            }
            DeadlineBreached { stage, deadline }.into()
        }

        Command::Escalate { to } => {
            require_open(status, action)?;
            if let Some(grid) = state.location.as_ref().and_then(Location::grid) {
                if !grid.is_strictly_within(&to) {
                    return Err(DomainError::EscalationNotUpward { to, grid });
                }
            }
            let current = state.escalation_level;
            let level = current
                .checked_add(1)
                .ok_or(DomainError::EscalationLimit { level: current })?;
            CaseEscalated { level, to }.into()
        }

        Command::Urge { by, note } => {
            require_open(status, action)?;
            CaseUrged { by, note }.into()
        }
    };
    Ok(vec![event])
}

fn require(
    status: CaseStatus,
    action: &'static str,
    allowed: &[CaseStatus],
    expected: &'static str,
) -> Result<()> {
    if allowed.contains(&status) {
        Ok(())
    } else {
        Err(DomainError::WrongStatus {
            action,
            status,
            expected,
        })
    }
}

fn require_open(status: CaseStatus, action: &'static str) -> Result<()> {
    if status.is_open() {
        Ok(())
    } else {
        Err(DomainError::WrongStatus {
            action,
            status,
            expected: "open",
        })
    }
}

fn require_assignee(state: &CaseState, action: &'static str, by: &Assignee) -> Result<()> {
    match &state.assignee {
        Some(assignee) if assignee == by => Ok(()),
        Some(assignee) => Err(DomainError::NotAssignee {
            action,
            by: by.clone(),
            assignee: assignee.clone(),
        }),
        None => Err(DomainError::Inconsistent {
            action,
            missing: "assignee",
        }),
    }
}

fn check_dispatch_matches_route(
    route: &Route,
    assignee: &Assignee,
    participants: &[DepartmentCode],
) -> Result<()> {
    let expected = route.assignee();
    if *assignee != expected {
        return Err(DomainError::AssigneeDoesNotMatchRoute {
            assignee: assignee.clone(),
            expected,
        });
    }
    // Order carries no meaning, duplicates do: compare sorted lists.
    let mut given = participants.to_vec();
    let mut wanted = route.participants().to_vec();
    given.sort();
    wanted.sort();
    if given != wanted {
        return Err(DomainError::ParticipantsDoNotMatchRoute {
            participants: participants.to_vec(),
            expected: route.participants().to_vec(),
        });
    }
    Ok(())
}

fn check_deadlines(
    reported_at: Option<Timestamp>,
    accept_deadline: Option<Timestamp>,
    resolve_deadline: Option<Timestamp>,
) -> Result<()> {
    if let (Some(accept), Some(resolve)) = (accept_deadline, resolve_deadline) {
        if accept > resolve {
            return Err(DomainError::DeadlinesOutOfOrder { accept, resolve });
        }
    }
    let Some(reported_at) = reported_at else {
        return Ok(());
    };
    for (field, deadline) in [
        ("accept_deadline", accept_deadline),
        ("resolve_deadline", resolve_deadline),
    ] {
        if let Some(deadline) = deadline.filter(|&deadline| deadline <= reported_at) {
            return Err(DomainError::DeadlineBeforeReport {
                field,
                deadline,
                reported_at,
            });
        }
    }
    Ok(())
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
        }
        Event::CaseUrged(_) => state.urge_count = state.urge_count.saturating_add(1),
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{Address, PersonName, Phone};

    const REPORTED_AT: Timestamp = Timestamp::from_millis(1_700_000_000_000);
    const HOUR: i64 = 3_600_000;
    const CASE: CaseId = CaseId::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);

    fn department(code: &str) -> DepartmentCode {
        DepartmentCode::parse(code).unwrap()
    }

    fn worker(id: &str) -> WorkerId {
        WorkerId::parse(id).unwrap()
    }

    fn note(text: &str) -> Note {
        Note::parse(text).unwrap()
    }

    fn grid(code: &str) -> GridCode {
        GridCode::parse(code).unwrap()
    }

    fn water() -> Assignee {
        Assignee::Department(department("water"))
    }

    fn roads() -> Assignee {
        Assignee::Department(department("roads"))
    }

    fn grid_worker() -> Assignee {
        Assignee::Worker(worker("li-si"))
    }

    fn at_hours(hours: i64) -> Timestamp {
        REPORTED_AT.plus_millis(hours * HOUR)
    }

    fn report() -> Command {
        Command::Report {
            case_id: CASE,
            tracking_code: TrackingCode::from_u64(424_242),
            channel: Channel::Hotline,
            reporter: Reporter {
                name: Some(PersonName::parse("王五").unwrap()),
                phone: Some(Phone::parse("13812345678").unwrap()),
            },
            location: Location::new(Some(grid("330102-001-002-003")), None, None).unwrap(),
            description: Description::parse("小区门口水管爆裂").unwrap(),
            category: None,
            media: vec![],
            reported_at: REPORTED_AT,
        }
    }

    fn triage(route: Route) -> Command {
        Command::Triage {
            category: CategoryCode::parse("SJ-05-03").unwrap(),
            priority: Priority::Urgent,
            route,
            triaged_by: Some(worker("operator-1")),
        }
    }

    fn to_department(code: &str) -> Route {
        Route::Department {
            department: department(code),
        }
    }

    fn dispatch(assignee: Assignee, participants: Vec<DepartmentCode>) -> Command {
        Command::Dispatch {
            assignee,
            participants,
            accept_deadline: Some(at_hours(2)),
            resolve_deadline: Some(at_hours(72)),
        }
    }

    fn accept(by: Assignee) -> Command {
        Command::Accept { by }
    }

    fn resolve(by: Assignee) -> Command {
        Command::Resolve {
            by,
            note: note("已更换水管"),
            evidence: vec![Url::parse("https://oss.example.cn/after.jpg").unwrap()],
        }
    }

    fn verify() -> Command {
        Command::Verify {
            by: worker("inspector"),
            note: None,
        }
    }

    fn rate(resolved: bool) -> Command {
        Command::RecordSatisfaction {
            resolved,
            satisfied: resolved,
            score: if resolved { 5 } else { 1 },
            comment: None,
        }
    }

    fn close() -> Command {
        Command::Close {
            by: Some(worker("operator-1")),
        }
    }

    fn postpone(until: Timestamp) -> Command {
        Command::RequestPostponement {
            by: water(),
            until,
            reason: note("等待配件"),
        }
    }

    /// Applies a command, panicking with the refusal if there is one.
    fn step(state: CaseState, command: Command) -> CaseState {
        let events = decide(&state, command.clone())
            .unwrap_or_else(|error| panic!("{command:?} refused: {error}"));
        events.iter().fold(state, apply)
    }

    fn run(commands: impl IntoIterator<Item = Command>) -> CaseState {
        commands.into_iter().fold(CaseState::default(), step)
    }

    fn refusal(state: &CaseState, command: Command) -> DomainError {
        decide(state, command).expect_err("command should be refused")
    }

    fn reported() -> CaseState {
        run([report()])
    }

    fn triaged() -> CaseState {
        step(reported(), triage(to_department("water")))
    }

    fn dispatched() -> CaseState {
        step(triaged(), dispatch(water(), vec![]))
    }

    fn accepted() -> CaseState {
        step(dispatched(), accept(water()))
    }

    fn resolved() -> CaseState {
        step(accepted(), resolve(water()))
    }

    fn verified() -> CaseState {
        step(resolved(), verify())
    }

    fn closed() -> CaseState {
        step(step(verified(), rate(true)), close())
    }

    // ---- allowed transitions ----

    #[test]
    fn report_opens_the_case() {
        let events = decide(&CaseState::default(), report()).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].type_name(), "CaseReported");
        let state = CaseState::from_events(&events);
        assert_eq!(state.status, Some(CaseStatus::Reported));
        assert_eq!(state.case_id, Some(CASE));
        assert_eq!(state.reported_at, Some(REPORTED_AT));
        assert_eq!(state.version, 1);
        assert!(state.is_open());
    }

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
    fn department_case_is_dispatched_accepted_and_resolved() {
        let state = dispatched();
        assert_eq!(state.status, Some(CaseStatus::Dispatched));
        assert_eq!(state.assignee, Some(water()));
        assert_eq!(state.accept_deadline, Some(at_hours(2)));
        assert_eq!(state.resolve_deadline, Some(at_hours(72)));
        let state = step(state, accept(water()));
        assert_eq!(state.status, Some(CaseStatus::Accepted));
        let state = step(state, resolve(water()));
        assert_eq!(state.status, Some(CaseStatus::Resolved));
    }

    #[test]
    fn joint_case_goes_to_the_lead_with_participants() {
        let route = Route::joint(
            department("water"),
            vec![department("power"), department("gas")],
        )
        .unwrap();
        let state = run([
            report(),
            triage(route),
            // Participants in a different order still match the route.
            dispatch(water(), vec![department("gas"), department("power")]),
            accept(water()),
        ]);
        assert_eq!(state.status, Some(CaseStatus::Accepted));
        assert_eq!(state.assignee, Some(water()));
        assert_eq!(
            state.participants,
            vec![department("gas"), department("power")]
        );
    }

    #[test]
    fn progress_is_reported_by_the_assignee() {
        let state = step(
            accepted(),
            Command::ReportProgress {
                by: water(),
                note: note("已到现场"),
            },
        );
        assert_eq!(state.status, Some(CaseStatus::Accepted));
    }

    #[test]
    fn returned_case_goes_back_to_triage_and_elsewhere() {
        let state = step(
            dispatched(),
            Command::Return {
                by: water(),
                reason: note("不属于本部门职责"),
            },
        );
        assert_eq!(state.status, Some(CaseStatus::Reported));
        assert_eq!(state.assignee, None);
        assert_eq!(state.route, None);
        assert_eq!(state.accept_deadline, None);
        assert_eq!(state.returned_by, vec![water()]);
        let state = step(state, triage(to_department("roads")));
        let state = step(state, dispatch(roads(), vec![]));
        assert_eq!(state.assignee, Some(roads()));
    }

    #[test]
    fn accepted_case_can_still_be_returned() {
        let state = step(
            accepted(),
            Command::Return {
                by: water(),
                reason: note("实为燃气问题"),
            },
        );
        assert_eq!(state.status, Some(CaseStatus::Reported));
        assert_eq!(state.returned_by, vec![water()]);
    }

    #[test]
    fn failed_verification_sends_the_case_back_for_rework() {
        let state = step(
            resolved(),
            Command::FailVerification {
                by: worker("inspector"),
                reason: note("仍在漏水"),
            },
        );
        assert_eq!(state.status, Some(CaseStatus::Accepted));
        assert_eq!(state.assignee, Some(water()));
        assert_eq!(state.rework_count, 1);
        let state = step(step(state, resolve(water())), verify());
        assert_eq!(state.status, Some(CaseStatus::Verified));
    }

    #[test]
    fn unresolved_rating_leads_to_reopen() {
        let state = step(verified(), rate(false));
        assert_eq!(
            state.rating,
            Some(Rating {
                resolved: false,
                satisfied: false,
                score: 1
            })
        );
        let state = step(
            state,
            Command::Reopen {
                reason: note("居民反映问题仍在"),
            },
        );
        assert_eq!(state.status, Some(CaseStatus::Reported));
        assert_eq!(state.reopen_count, 1);
        assert_eq!(state.rating, None);
        assert_eq!(state.route, None);
        // The second round may go to the same department: it did not return the case.
        let state = step(state, triage(to_department("water")));
        assert_eq!(state.status, Some(CaseStatus::Triaged));
    }

    #[test]
    fn closed_case_can_be_reopened_and_keeps_returns() {
        let state = run([
            report(),
            triage(to_department("roads")),
            dispatch(roads(), vec![]),
            Command::Return {
                by: roads(),
                reason: note("not roads"),
            },
            triage(to_department("water")),
            dispatch(water(), vec![]),
            accept(water()),
            resolve(water()),
            verify(),
            close(),
            Command::Reopen {
                reason: note("又坏了"),
            },
        ]);
        assert_eq!(state.status, Some(CaseStatus::Reported));
        assert_eq!(state.reopen_count, 1);
        assert_eq!(state.returned_by, vec![roads()]);
    }

    #[test]
    fn verified_case_can_be_closed_without_a_rating() {
        let state = step(verified(), Command::Close { by: None });
        assert_eq!(state.status, Some(CaseStatus::Closed));
    }

    #[test]
    fn resolved_but_unsatisfied_case_can_still_close() {
        let state = step(
            verified(),
            Command::RecordSatisfaction {
                resolved: true,
                satisfied: false,
                score: 2,
                comment: Some(note("太慢")),
            },
        );
        assert_eq!(step(state, close()).status, Some(CaseStatus::Closed));
    }

    #[test]
    fn duplicate_case_is_merged() {
        let other = CaseId::from_u128(77);
        let state = step(reported(), Command::Merge { into: other });
        assert_eq!(state.status, Some(CaseStatus::Merged));
        assert_eq!(state.merged_into, Some(other));
        assert!(!state.is_open());
    }

    #[test]
    fn out_of_remit_case_is_rejected() {
        let state = step(
            reported(),
            Command::Reject {
                reason: note("属于司法程序"),
            },
        );
        assert_eq!(state.status, Some(CaseStatus::Rejected));
    }

    #[test]
    fn approved_postponement_moves_the_resolve_deadline() {
        let state = step(accepted(), postpone(at_hours(120)));
        assert_eq!(
            state.pending_postponement,
            Some(PendingPostponement {
                by: water(),
                until: at_hours(120)
            })
        );
        let events = decide(
            &state,
            Command::ApprovePostponement {
                by: worker("supervisor"),
            },
        )
        .unwrap();
        assert_eq!(
            events,
            vec![Event::PostponementApproved(PostponementApproved {
                by: worker("supervisor"),
                until: at_hours(120),
            })]
        );
        let state = events.iter().fold(state, apply);
        assert_eq!(state.resolve_deadline, Some(at_hours(120)));
        assert_eq!(state.pending_postponement, None);
        // A further request must go beyond the new deadline.
        assert!(decide(&state, postpone(at_hours(121))).is_ok());
    }

    #[test]
    fn refused_postponement_keeps_the_deadline() {
        let state = step(
            step(accepted(), postpone(at_hours(120))),
            Command::RefusePostponement {
                by: worker("supervisor"),
                reason: note("不予延期"),
            },
        );
        assert_eq!(state.resolve_deadline, Some(at_hours(72)));
        assert_eq!(state.pending_postponement, None);
    }

    #[test]
    fn resolving_drops_a_pending_postponement() {
        let state = step(step(accepted(), postpone(at_hours(120))), resolve(water()));
        assert_eq!(state.pending_postponement, None);
    }

    #[test]
    fn deadlines_are_warned_and_breached_once() {
        let warn = Command::WarnDeadline {
            stage: DeadlineStage::Accept,
            deadline: at_hours(2),
        };
        let breach = Command::BreachDeadline {
            stage: DeadlineStage::Accept,
            deadline: at_hours(2),
        };
        let state = step(step(dispatched(), warn.clone()), breach.clone());
        assert_eq!(
            state.deadline_warnings,
            vec![(DeadlineStage::Accept, at_hours(2))]
        );
        assert_eq!(
            state.deadline_breaches,
            vec![(DeadlineStage::Accept, at_hours(2))]
        );
        assert_eq!(decide(&state, warn), Ok(vec![]));
        assert_eq!(decide(&state, breach), Ok(vec![]));
        let later = Command::BreachDeadline {
            stage: DeadlineStage::Resolve,
            deadline: at_hours(72),
        };
        assert_eq!(decide(&state, later).unwrap().len(), 1);
    }

    #[test]
    fn escalation_climbs_the_grid() {
        let state = step(
            dispatched(),
            Command::Escalate {
                to: grid("330102-001-002"),
            },
        );
        assert_eq!(state.escalation_level, 1);
        assert_eq!(state.escalated_to, Some(grid("330102-001-002")));
        let events = decide(&state, Command::Escalate { to: grid("330102") }).unwrap();
        assert_eq!(
            events,
            vec![Event::CaseEscalated(CaseEscalated {
                level: 2,
                to: grid("330102"),
            })]
        );
    }

    #[test]
    fn case_without_grid_escalates_anywhere() {
        let mut command = report();
        if let Command::Report { location, .. } = &mut command {
            *location =
                Location::new(None, Some(Address::parse("文三路 1 号").unwrap()), None).unwrap();
        }
        let state = step(run([command]), Command::Escalate { to: grid("330106") });
        assert_eq!(state.escalation_level, 1);
    }

    #[test]
    fn open_case_can_be_urged() {
        let state = step(
            accepted(),
            Command::Urge {
                by: worker("supervisor"),
                note: note("请尽快处理"),
            },
        );
        assert_eq!(state.urge_count, 1);
        assert_eq!(state.status, Some(CaseStatus::Accepted));
    }

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

    // ---- refused transitions ----

    #[test]
    fn nothing_but_report_before_the_case_exists() {
        let error = refusal(&CaseState::default(), accept(water()));
        assert_eq!(error, DomainError::CaseDoesNotExist);
        assert_eq!(error.to_string(), "case does not exist");
    }

    #[test]
    fn reporting_twice_is_refused() {
        assert_eq!(
            refusal(&reported(), report()).to_string(),
            "cannot report: case already exists and is reported"
        );
    }

    #[test]
    fn triage_only_from_reported() {
        assert_eq!(
            refusal(&dispatched(), triage(to_department("roads"))).to_string(),
            "cannot triage: case is dispatched, not reported"
        );
    }

    #[test]
    fn triage_back_to_a_department_that_returned_is_refused() {
        let state = step(
            dispatched(),
            Command::Return {
                by: water(),
                reason: note("not ours"),
            },
        );
        assert_eq!(
            refusal(&state, triage(to_department("water"))).to_string(),
            "cannot triage: department water already returned this case"
        );
        let joint = Route::Joint {
            lead: department("water"),
            participants: vec![department("roads")],
        };
        assert!(matches!(
            refusal(&state, triage(joint)),
            DomainError::AlreadyReturned { .. }
        ));
    }

    #[test]
    fn invalid_joint_routes_are_refused() {
        let empty = Route::Joint {
            lead: department("water"),
            participants: vec![],
        };
        assert_eq!(
            refusal(&reported(), triage(empty)).to_string(),
            "participants: a joint route needs at least one participant"
        );
        let lead_inside = Route::Joint {
            lead: department("water"),
            participants: vec![department("water")],
        };
        assert!(matches!(
            refusal(&reported(), triage(lead_inside)),
            DomainError::Validation(_)
        ));
        let duplicated = Route::Joint {
            lead: department("water"),
            participants: vec![department("gas"), department("gas")],
        };
        assert!(matches!(
            refusal(&reported(), triage(duplicated)),
            DomainError::Validation(_)
        ));
    }

    #[test]
    fn merging_into_itself_is_refused() {
        assert_eq!(
            refusal(&reported(), Command::Merge { into: CASE }).to_string(),
            "cannot merge: a case cannot be merged into itself"
        );
    }

    #[test]
    fn merge_and_reject_only_before_triage_completes() {
        let into = CaseId::from_u128(5);
        assert_eq!(
            refusal(&triaged(), Command::Merge { into }).to_string(),
            "cannot merge: case is triaged, not reported"
        );
        assert!(matches!(
            refusal(&accepted(), Command::Reject { reason: note("no") }),
            DomainError::WrongStatus { .. }
        ));
    }

    #[test]
    fn dispatch_must_follow_the_route() {
        assert_eq!(
            refusal(&triaged(), dispatch(roads(), vec![])).to_string(),
            "cannot dispatch: assignee department roads does not match the route, which expects department water"
        );
        assert!(matches!(
            refusal(&triaged(), dispatch(water(), vec![department("gas")])),
            DomainError::ParticipantsDoNotMatchRoute { .. }
        ));
        let joint = step(
            reported(),
            triage(Route::joint(department("water"), vec![department("gas")]).unwrap()),
        );
        assert!(matches!(
            refusal(&joint, dispatch(water(), vec![])),
            DomainError::ParticipantsDoNotMatchRoute { .. }
        ));
        assert!(matches!(
            refusal(
                &joint,
                dispatch(water(), vec![department("gas"), department("gas")])
            ),
            DomainError::ParticipantsDoNotMatchRoute { .. }
        ));
        let self_handled = step(
            reported(),
            triage(Route::SelfHandle {
                worker: worker("li-si"),
            }),
        );
        assert!(matches!(
            refusal(&self_handled, dispatch(water(), vec![])),
            DomainError::AssigneeDoesNotMatchRoute { .. }
        ));
    }

    #[test]
    fn dispatch_before_triage_is_refused() {
        assert_eq!(
            refusal(&reported(), dispatch(water(), vec![])).to_string(),
            "cannot dispatch: case is reported, not triaged"
        );
    }

    #[test]
    fn dispatch_deadlines_must_make_sense() {
        let out_of_order = Command::Dispatch {
            assignee: water(),
            participants: vec![],
            accept_deadline: Some(at_hours(10)),
            resolve_deadline: Some(at_hours(5)),
        };
        assert!(matches!(
            refusal(&triaged(), out_of_order),
            DomainError::DeadlinesOutOfOrder { .. }
        ));
        // Seconds passed where milliseconds are expected land in 1970.
        let seconds = Command::Dispatch {
            assignee: water(),
            participants: vec![],
            accept_deadline: None,
            resolve_deadline: Some(Timestamp::from_millis(1_700_000_000)),
        };
        assert_eq!(
            refusal(&triaged(), seconds).to_string(),
            "cannot dispatch: resolve_deadline 1700000000 is not after reported_at 1700000000000"
        );
    }

    #[test]
    fn accepting_twice_is_refused() {
        assert_eq!(
            refusal(&accepted(), accept(water())).to_string(),
            "cannot accept: case already accepted by department water"
        );
    }

    #[test]
    fn accept_by_another_department_is_refused() {
        assert_eq!(
            refusal(&dispatched(), accept(roads())).to_string(),
            "cannot accept: department roads is not the assignee (department water is)"
        );
    }

    #[test]
    fn accept_before_dispatch_is_refused() {
        assert_eq!(
            refusal(&triaged(), accept(water())).to_string(),
            "cannot accept: case is triaged, not dispatched"
        );
    }

    #[test]
    fn return_only_by_the_assignee_while_dispatched_or_accepted() {
        let by_roads = Command::Return {
            by: roads(),
            reason: note("x"),
        };
        assert!(matches!(
            refusal(&dispatched(), by_roads),
            DomainError::NotAssignee { .. }
        ));
        let by_water = Command::Return {
            by: water(),
            reason: note("x"),
        };
        assert_eq!(
            refusal(&resolved(), by_water).to_string(),
            "cannot return: case is resolved, not dispatched or accepted"
        );
    }

    #[test]
    fn progress_before_acceptance_is_refused() {
        let progress = Command::ReportProgress {
            by: water(),
            note: note("x"),
        };
        assert_eq!(
            refusal(&dispatched(), progress).to_string(),
            "cannot report progress: case is dispatched, not accepted"
        );
    }

    #[test]
    fn resolving_a_case_never_accepted_is_refused() {
        assert_eq!(
            refusal(&dispatched(), resolve(water())).to_string(),
            "cannot resolve: case is dispatched, not accepted"
        );
    }

    #[test]
    fn resolving_by_someone_else_is_refused() {
        assert!(matches!(
            refusal(&accepted(), resolve(roads())),
            DomainError::NotAssignee {
                action: "resolve",
                ..
            }
        ));
    }

    #[test]
    fn postponement_rules() {
        let pending = step(accepted(), postpone(at_hours(120)));
        assert_eq!(
            refusal(&pending, postpone(at_hours(150))).to_string(),
            format!(
                "cannot request postponement: a request until {} is already pending",
                at_hours(120)
            )
        );
        assert!(matches!(
            refusal(&accepted(), postpone(at_hours(72))),
            DomainError::PostponementNotLater { .. }
        ));
        assert!(matches!(
            refusal(&dispatched(), postpone(at_hours(120))),
            DomainError::WrongStatus { .. }
        ));
        let by_other = Command::RequestPostponement {
            by: roads(),
            until: at_hours(120),
            reason: note("x"),
        };
        assert!(matches!(
            refusal(&accepted(), by_other),
            DomainError::NotAssignee { .. }
        ));
    }

    #[test]
    fn approving_or_refusing_without_a_request_is_refused() {
        assert_eq!(
            refusal(
                &accepted(),
                Command::ApprovePostponement {
                    by: worker("supervisor")
                }
            )
            .to_string(),
            "cannot approve postponement: no postponement request is pending"
        );
        assert!(matches!(
            refusal(
                &accepted(),
                Command::RefusePostponement {
                    by: worker("supervisor"),
                    reason: note("x")
                }
            ),
            DomainError::NoPostponementPending { .. }
        ));
    }

    #[test]
    fn a_worker_cannot_approve_their_own_postponement() {
        let state = run([
            report(),
            triage(Route::SelfHandle {
                worker: worker("li-si"),
            }),
            dispatch(grid_worker(), vec![]),
            accept(grid_worker()),
            Command::RequestPostponement {
                by: grid_worker(),
                until: at_hours(100),
                reason: note("x"),
            },
        ]);
        assert_eq!(
            refusal(
                &state,
                Command::ApprovePostponement {
                    by: worker("li-si")
                }
            )
            .to_string(),
            "cannot approve postponement: worker li-si asked for it and cannot approve it"
        );
        let state = step(
            state,
            Command::ApprovePostponement {
                by: worker("supervisor"),
            },
        );
        assert_eq!(state.resolve_deadline, Some(at_hours(100)));
    }

    #[test]
    fn verification_only_after_resolution() {
        assert_eq!(
            refusal(&accepted(), verify()).to_string(),
            "cannot verify: case is accepted, not resolved"
        );
        let fail = Command::FailVerification {
            by: worker("inspector"),
            reason: note("x"),
        };
        assert!(matches!(
            refusal(&verified(), fail),
            DomainError::WrongStatus { .. }
        ));
    }

    #[test]
    fn rating_before_resolution_is_refused() {
        assert_eq!(
            refusal(&accepted(), rate(true)).to_string(),
            "cannot record satisfaction: case is accepted, not verified"
        );
        assert!(matches!(
            refusal(&resolved(), rate(true)),
            DomainError::WrongStatus { .. }
        ));
    }

    #[test]
    fn rating_twice_is_refused() {
        let state = step(verified(), rate(true));
        assert_eq!(
            refusal(&state, rate(false)).to_string(),
            "cannot record satisfaction: already recorded for this verification"
        );
    }

    #[test]
    fn score_must_be_one_to_five() {
        for score in [0, 6, 255] {
            let command = Command::RecordSatisfaction {
                resolved: true,
                satisfied: true,
                score,
                comment: None,
            };
            let error = refusal(&verified(), command);
            assert_eq!(
                error.to_string(),
                format!("score: must be 1 to 5, got {score}")
            );
        }
    }

    #[test]
    fn closing_over_an_unresolved_rating_is_refused() {
        let state = step(verified(), rate(false));
        assert_eq!(
            refusal(&state, close()).to_string(),
            "cannot close: the rating says the problem is not resolved, reopen instead"
        );
    }

    #[test]
    fn closing_before_verification_is_refused() {
        assert_eq!(
            refusal(&resolved(), close()).to_string(),
            "cannot close: case is resolved, not verified"
        );
    }

    #[test]
    fn reopening_needs_an_unresolved_rating_or_a_closed_case() {
        let reopen = Command::Reopen { reason: note("x") };
        assert_eq!(
            refusal(&verified(), reopen.clone()),
            DomainError::ReopenNeedsUnresolvedRating
        );
        assert_eq!(
            refusal(&step(verified(), rate(true)), reopen.clone()),
            DomainError::ReopenNeedsUnresolvedRating
        );
        assert_eq!(
            refusal(&accepted(), reopen).to_string(),
            "cannot reopen: case is accepted, not verified or closed"
        );
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
            refusal(&state, Command::Escalate { to: grid("330102") }),
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

    #[test]
    fn escalation_must_go_up_the_case_grid() {
        let state = dispatched();
        assert_eq!(
            refusal(
                &state,
                Command::Escalate {
                    to: grid("330102-001-003")
                }
            )
            .to_string(),
            "cannot escalate: 330102-001-003 is not above the case grid 330102-001-002-003"
        );
        assert!(matches!(
            refusal(
                &state,
                Command::Escalate {
                    to: grid("330102-001-002-003")
                }
            ),
            DomainError::EscalationNotUpward { .. }
        ));
        assert!(matches!(
            refusal(
                &state,
                Command::Escalate {
                    to: grid("330102-001-002-003-01")
                }
            ),
            DomainError::EscalationNotUpward { .. }
        ));
    }

    #[test]
    fn escalation_level_cannot_overflow() {
        let state = CaseState {
            escalation_level: u8::MAX,
            ..dispatched()
        };
        assert_eq!(
            refusal(&state, Command::Escalate { to: grid("330102") }),
            DomainError::EscalationLimit { level: u8::MAX }
        );
    }
}
