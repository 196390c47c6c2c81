//! [`Command`]: what someone asks of a case.

use crate::event::{DeadlineStage, ModelVerdict, Route, Whistler};
use crate::values::{
    Assignee, CaseId, CategoryCode, Channel, Contact, Danger, DepartmentCode, Description,
    GridCode, Location, Note, Priority, RatingScore, Timestamp, TrackingCode, Url, WorkerId,
};

/// When the departments of a joint dispatch are called to report in, and by when they must.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportInWindow {
    /// When they are called: the dispatch.
    pub from: Timestamp,
    /// When each must have reported in.
    pub until: Timestamp,
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
        /// Who reported it: anonymous, or sealed with their key.
        reporter: Contact,
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
        /// The text model that chose the category, if one did.
        model: Option<ModelVerdict>,
        /// Why the priority is above the category's default.
        priority_reason: Option<Note>,
    },
    /// Mark a case awaiting triage as an emergency: a danger to people was recognised in it.
    FlagDanger {
        /// The danger.
        danger: Danger,
        /// Why, in words.
        reason: Note,
        /// When an operator must have triaged it.
        triage_by: Timestamp,
    },
    /// Leave a case the rules cannot decide to an operator, with a deadline.
    QueueForOperator {
        /// Why the rules left it.
        reason: Note,
        /// When an operator must have triaged it.
        triage_by: Timestamp,
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
        /// For a joint route: when its departments are called and must have reported in
        /// (吹哨报到); ignored for any other route.
        report_in: Option<ReportInWindow>,
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
    /// A grid worker, community or street passes the case on by its own call: to a
    /// department (直通), to a joint consultation, or up one tier (grid → community →
    /// street).
    Refer {
        /// Must be the assignee, and a handler of the grid hierarchy.
        by: Assignee,
        /// Who handles it next.
        route: Route,
        /// Why.
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
    /// A grid worker rates how a department handled a closed case of their grid (网格评部门).
    RateDepartment {
        /// The grid worker.
        by: WorkerId,
        /// The grid or micro-grid the worker works in (from the reference data): the case must
        /// lie in it.
        grid: GridCode,
        /// The department rated; it must have handled the case.
        department: DepartmentCode,
        /// How quickly it acted.
        timeliness: RatingScore,
        /// How it dealt with the residents and the grid.
        attitude: RatingScore,
        /// Whether the problem is really fixed.
        result: RatingScore,
        /// What the worker adds.
        note: Option<Note>,
        /// When.
        at: Timestamp,
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
    /// Raise the case one rung up the escalation ladder.
    Escalate {
        /// The area whose leader watches the case now: the case's grid or an area containing
        /// it, above where the case was escalated to before.
        to: GridCode,
        /// When (the next rung's pace counts from it).
        at: Timestamp,
    },
    /// Blow the whistle on a case waiting on a community or street (社区吹哨): the named
    /// departments must report in, and the case goes to them as a joint consultation.
    Whistle {
        /// The community or street the case waits on, or the leader of the grid whose worker
        /// it waits on.
        by: Whistler,
        /// The department that leads (首接负责).
        lead: DepartmentCode,
        /// The other departments called; at least one.
        participants: Vec<DepartmentCode>,
        /// The time to report in, in minutes, if not the policy's.
        report_in_minutes: Option<u32>,
        /// Why.
        reason: Note,
    },
    /// A department called by a whistle reports in (部门报到).
    ReportIn {
        /// The department.
        department: DepartmentCode,
        /// Its opinion.
        opinion: Note,
        /// When.
        at: Timestamp,
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
            Command::FlagDanger { .. } => "flag danger",
            Command::QueueForOperator { .. } => "queue for an operator",
            Command::Merge { .. } => "merge",
            Command::Reject { .. } => "reject",
            Command::Dispatch { .. } => "dispatch",
            Command::Accept { .. } => "accept",
            Command::Return { .. } => "return",
            Command::Refer { .. } => "refer",
            Command::Whistle { .. } => "blow the whistle",
            Command::ReportIn { .. } => "report in",
            Command::ReportProgress { .. } => "report progress",
            Command::RequestPostponement { .. } => "request postponement",
            Command::ApprovePostponement { .. } => "approve postponement",
            Command::RefusePostponement { .. } => "refuse postponement",
            Command::Resolve { .. } => "resolve",
            Command::Verify { .. } => "verify",
            Command::FailVerification { .. } => "fail verification",
            Command::RecordSatisfaction { .. } => "record satisfaction",
            Command::Close { .. } => "close",
            Command::RateDepartment { .. } => "rate the department",
            Command::Reopen { .. } => "reopen",
            Command::WarnDeadline { .. } => "warn deadline",
            Command::BreachDeadline { .. } => "breach deadline",
            Command::Escalate { .. } => "escalate",
            Command::Urge { .. } => "urge",
        }
    }
}
