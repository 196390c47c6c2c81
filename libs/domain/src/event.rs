//! Events: the facts a case's timeline is made of.
//!
//! Each event type has its own payload struct so the codec can version
//! types independently (see [`crate::codec`]). Payloads carry what a reader
//! of the timeline needs without replaying earlier events.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::values::{
    CaseId, CategoryCode, Channel, Contact, Danger, DepartmentCode, Description, GridCode,
    GridLevel, Location, Note, Priority, RatingScore, Timestamp, TrackingCode, Url,
    ValidationError, WorkerId,
};

/// Re-exported so `event::Assignee`, where it was first defined, still names it.
pub use crate::values::Assignee;

/// The decision about who handles a case: triage's, or the handler's own when it passes the
/// case on ([`CaseReferred`]).
///
/// Variant order is part of the postcard format; append new variants only.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// The grid worker fixes it on the spot (就地解决).
    SelfHandle {
        /// The worker.
        worker: WorkerId,
    },
    /// One department handles it.
    Department {
        /// The department.
        department: DepartmentCode,
    },
    /// Several departments consult, one leads and owns the outcome (联合会商).
    Joint {
        /// The department that owns the case.
        lead: DepartmentCode,
        /// The other departments involved; non-empty, no duplicates, not the lead.
        participants: Vec<DepartmentCode>,
    },
    /// The community office handles it (大事不出社区): a matter its grid could not settle, or
    /// one whose ownership is unclear and needs the community to consult.
    Community {
        /// The community, a grid code at community level.
        community: GridCode,
    },
    /// The street office handles it: a matter its community could not settle.
    Street {
        /// The street, a grid code at street level.
        street: GridCode,
    },
}

impl Route {
    /// Builds a joint route, checking the participant rules.
    pub fn joint(
        lead: DepartmentCode,
        participants: Vec<DepartmentCode>,
    ) -> Result<Self, ValidationError> {
        let route = Route::Joint { lead, participants };
        route.validate()?;
        Ok(route)
    }

    /// Checks the joint-route rules and that an office route names a code of its level; the
    /// variants' fields are public, so [`crate::decide`] calls this rather than trusting
    /// construction.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let (lead, participants) = match self {
            Route::Joint { lead, participants } => (lead, participants),
            Route::Community { community: code } | Route::Street { street: code } => {
                let (field, level) = match self {
                    Route::Community { .. } => ("community", GridLevel::Community),
                    _ => ("street", GridLevel::Street),
                };
                if code.level() != level {
                    return Err(ValidationError::new(
                        field,
                        format!("{code} is a {} code, not a {level} code", code.level()),
                    ));
                }
                return Ok(());
            }
            Route::SelfHandle { .. } | Route::Department { .. } => return Ok(()),
        };
        if participants.is_empty() {
            return Err(ValidationError::new(
                "participants",
                "a joint route needs at least one participant",
            ));
        }
        if participants.contains(lead) {
            return Err(ValidationError::new(
                "participants",
                format!("lead department {lead} must not also be a participant"),
            ));
        }
        for (index, participant) in participants.iter().enumerate() {
            if participants[..index].contains(participant) {
                return Err(ValidationError::new(
                    "participants",
                    format!("department {participant} is listed twice"),
                ));
            }
        }
        Ok(())
    }

    /// Who a dispatch along this route must go to.
    pub fn assignee(&self) -> Assignee {
        match self {
            Route::SelfHandle { worker } => Assignee::Worker(worker.clone()),
            Route::Department { department } => Assignee::Department(department.clone()),
            Route::Joint { lead, .. } => Assignee::Department(lead.clone()),
            Route::Community { community } => Assignee::Community(*community),
            Route::Street { street } => Assignee::Street(*street),
        }
    }

    /// The departments consulted besides the assignee (empty unless joint).
    pub fn participants(&self) -> &[DepartmentCode] {
        match self {
            Route::Joint { participants, .. } => participants,
            _ => &[],
        }
    }
}

/// The route in words, e.g. `department urban_mgmt`, `joint water with gas, power` or
/// `community 330102-001-002`.
impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::SelfHandle { worker } => write!(f, "self-handle {worker}"),
            Route::Department { department } => write!(f, "department {department}"),
            Route::Joint { lead, participants } => {
                write!(f, "joint {lead} with ")?;
                for (index, participant) in participants.iter().enumerate() {
                    let separator = if index == 0 { "" } else { ", " };
                    write!(f, "{separator}{participant}")?;
                }
                Ok(())
            }
            Route::Community { community } => write!(f, "community {community}"),
            Route::Street { street } => write!(f, "street {street}"),
        }
    }
}

/// Which deadline a warning or breach is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStage {
    /// The assignee must accept (签收) the dispatch.
    Accept,
    /// The assignee must resolve (办结) the case.
    Resolve,
    /// The centre must verify, rate and close (结案) the case.
    Close,
    /// The centre must triage a case flagged as an emergency (appended: postcard order).
    Triage,
    /// The departments a whistle names must report in (报到) (appended: postcard order).
    ReportIn,
}

impl DeadlineStage {
    /// Stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeadlineStage::Accept => "accept",
            DeadlineStage::Resolve => "resolve",
            DeadlineStage::Close => "close",
            DeadlineStage::Triage => "triage",
            DeadlineStage::ReportIn => "report_in",
        }
    }
}

impl fmt::Display for DeadlineStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resident or worker reported a problem; the case begins.
///
/// Schema version 2: the reporter is a [`Contact`], sealed with the person's key, where
/// version 1 ([`crate::codec::legacy::CaseReportedV1`]) held name and phone in clear.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseReported {
    /// The new case.
    pub case_id: CaseId,
    /// The code the reporter can quote on the phone.
    pub tracking_code: TrackingCode,
    /// How it reached the centre.
    pub channel: Channel,
    /// Who reported it: anonymous, or sealed with their key (in clear only in events of
    /// schema version 1).
    pub reporter: Contact,
    /// Where the problem is.
    pub location: Location,
    /// What is wrong, in the reporter's words.
    pub description: Description,
    /// The catalogue category, if the reporter (usually a grid worker) chose one.
    pub category: Option<CategoryCode>,
    /// Photos or videos.
    pub media: Vec<Url>,
    /// When it was reported.
    pub reported_at: Timestamp,
}

/// What the text model said of a case it classified: which model, how sure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelVerdict {
    /// The model's version, e.g. `corpus-1a2b3c4d` or `v3-5e6f7a8b`.
    pub version: String,
    /// Its probability for the category, in thousandths (0 to 1000).
    pub confidence: u16,
}

/// The centre classified the case and decided who handles it.
///
/// Schema version 2: adds `model` and `priority_reason` to version 1
/// ([`crate::codec::legacy::CaseTriagedV1`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseTriaged {
    /// The confirmed catalogue category.
    pub category: CategoryCode,
    /// How pressing it is.
    pub priority: Priority,
    /// Who handles it.
    pub route: Route,
    /// The operator who triaged, if a person did.
    pub triaged_by: Option<WorkerId>,
    /// The text model that chose the category, when no person or explicit code did.
    pub model: Option<ModelVerdict>,
    /// Why the priority is above the category's default, e.g. `火情：冒黑烟`.
    pub priority_reason: Option<Note>,
}

/// Triage recognised a danger to people in a case it could not route by itself: the case is an
/// emergency, waits at the top of the manual queue, and must be triaged by `triage_by`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DangerFlagged {
    /// The danger.
    pub danger: Danger,
    /// Why, in words, e.g. `火情：冒黑烟`.
    pub reason: Note,
    /// When an operator must have triaged it.
    pub triage_by: Timestamp,
}

/// The rules could not classify or route the case (or it came back to triage, returned or
/// reopened, and the rules have nobody left for it): it waits in the manual queue (综合研判)
/// and an operator must triage it by `triage_by`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedForOperator {
    /// Why the rules left it, in words.
    pub reason: Note,
    /// When an operator must have triaged it.
    pub triage_by: Timestamp,
}

/// The case duplicates another and was folded into it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseMerged {
    /// The case that carries on.
    pub into: CaseId,
}

/// The centre will not handle the case (not actionable, not its remit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRejected {
    /// Why, as told to the reporter.
    pub reason: Note,
}

/// The case was sent to its assignee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDispatched {
    /// Who owns the case now.
    pub assignee: Assignee,
    /// Departments consulted in a joint route.
    pub participants: Vec<DepartmentCode>,
    /// When the assignee must have accepted.
    pub accept_deadline: Option<Timestamp>,
    /// When the assignee must have resolved.
    pub resolve_deadline: Option<Timestamp>,
}

/// The assignee accepted the dispatch (签收).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchAccepted {
    /// The assignee.
    pub by: Assignee,
}

/// The assignee sent the case back as not theirs (退回); it goes back to triage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchReturned {
    /// The assignee that returned it.
    pub by: Assignee,
    /// Why it is not theirs.
    pub reason: Note,
}

/// A handler of the grid hierarchy passed the case on by its own call: the grid worker pushed
/// it point-to-point to a department (直通) or asked the community to take it or consult on
/// it; the community or street handed it up or to a department. The case waits for dispatch
/// along the new route, and the new assignee gets fresh deadlines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseReferred {
    /// The assignee that passed it on: a grid worker, a community or a street.
    pub by: Assignee,
    /// Who handles it now.
    pub route: Route,
    /// Why, in the handler's words.
    pub reason: Note,
}

/// Who blows the whistle (吹哨).
///
/// Variant order is part of the postcard format; append new variants only.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Whistler {
    /// The community office the case waits on.
    Community(GridCode),
    /// The street office the case waits on.
    Street(GridCode),
    /// The leader (网格长) of the grid whose worker the case waits on.
    GridLeader(GridCode),
}

impl Whistler {
    /// `community:<code>`, `street:<code>` or `grid_leader:<code>`, as work orders name it.
    pub fn actor_name(&self) -> String {
        match self {
            Whistler::Community(code) => format!("community:{code}"),
            Whistler::Street(code) => format!("street:{code}"),
            Whistler::GridLeader(code) => format!("grid_leader:{code}"),
        }
    }
}

impl fmt::Display for Whistler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Whistler::Community(code) => write!(f, "community {code}"),
            Whistler::Street(code) => write!(f, "street {code}"),
            Whistler::GridLeader(code) => write!(f, "the grid leader of {code}"),
        }
    }
}

/// A community or street blew the whistle on a case waiting on it, or a grid leader on a case
/// waiting on a worker of their grid (社区吹哨、部门报到): the departments named must report
/// in, and the case goes to them as a joint consultation, `lead` answering for it (首接负责)
/// and the others taking part with tasks of their own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhistleBlown {
    /// Who blew it.
    pub by: Whistler,
    /// The department that leads and owns the outcome.
    pub lead: DepartmentCode,
    /// The other departments; non-empty, no duplicates, not the lead.
    pub participants: Vec<DepartmentCode>,
    /// How long the departments have to report in, in minutes, when the whistler named it;
    /// `None` for the policy's time (`sla.toml` `[report_in]`).
    pub report_in_minutes: Option<u32>,
    /// What the matter is and why the departments are called, in the whistler's words.
    pub reason: Note,
}

/// The departments of a joint dispatch are called to report in (报到) by `deadline`: a whistle's
/// departments, or a joint group's from the catalogue (a whistle blown automatically).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportInCalled {
    /// Every department called: the lead first, then the participants.
    pub departments: Vec<DepartmentCode>,
    /// When they were called.
    pub called_at: Timestamp,
    /// When each must have reported in.
    pub deadline: Timestamp,
}

/// A department called by a whistle reported in (报到) with its opinion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentReportedIn {
    /// The department.
    pub department: DepartmentCode,
    /// What it says about the matter and what it will do.
    pub opinion: Note,
    /// When it reported in.
    pub at: Timestamp,
}

/// The assignee reported progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressReported {
    /// The assignee.
    pub by: Assignee,
    /// What happened.
    pub note: Note,
}

/// The assignee asked for more time (延期申请).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostponementRequested {
    /// The assignee.
    pub by: Assignee,
    /// The requested new resolve deadline.
    pub until: Timestamp,
    /// Why more time is needed.
    pub reason: Note,
}

/// A supervisor granted the postponement; the resolve deadline moves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostponementApproved {
    /// The supervisor.
    pub by: WorkerId,
    /// The new resolve deadline.
    pub until: Timestamp,
}

/// A supervisor refused the postponement; the deadline stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostponementRefused {
    /// The supervisor.
    pub by: WorkerId,
    /// Why.
    pub reason: Note,
}

/// The assignee says the problem is fixed (办结).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResolved {
    /// The assignee.
    pub by: Assignee,
    /// What was done.
    pub note: Note,
    /// Photos of the result.
    pub evidence: Vec<Url>,
}

/// Someone checked on site that the problem is fixed (核查).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseVerified {
    /// The verifying grid worker or inspector.
    pub by: WorkerId,
    /// Remarks, if any.
    pub note: Option<Note>,
}

/// The on-site check found the problem still there; back to the assignee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationFailed {
    /// The verifying grid worker or inspector.
    pub by: WorkerId,
    /// What is still wrong.
    pub reason: Note,
}

/// The resident's rating of the handling (回访).
///
/// Schema version 2; version 1 lacked `resolved` and `comment` (see
/// [`crate::codec::legacy`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SatisfactionRecorded {
    /// Whether the resident says the problem is actually gone.
    pub resolved: bool,
    /// Whether the resident is satisfied with the handling.
    pub satisfied: bool,
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub score: u8,
    /// What the resident said, if anything.
    pub comment: Option<Note>,
}

/// The case is finished (结案).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseClosed {
    /// The operator who closed it; `None` when closed automatically.
    pub by: Option<WorkerId>,
}

/// A grid worker of the case's grid rated how a department handled the closed case
/// (网格评部门, seed 004: "建立健全…'网格评部门'…考评问责、激励表彰机制"): the grid sees
/// the department's work on site, beside the resident who rates it (回访). Each department
/// that handled the case is rated once per case; the ratings enter the department's
/// indicators (`grid_rating_rate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentRated {
    /// The grid worker who rated.
    pub by: WorkerId,
    /// The department rated: the one the case was routed to, or the lead or a participant of
    /// its joint consultation.
    pub department: DepartmentCode,
    /// How quickly the department acted (及时).
    pub timeliness: RatingScore,
    /// How it dealt with the residents and the grid (态度).
    pub attitude: RatingScore,
    /// Whether the problem is really fixed (效果).
    pub result: RatingScore,
    /// What the grid worker adds, if anything.
    pub note: Option<Note>,
    /// When the grid worker rated.
    pub at: Timestamp,
}

impl DepartmentRated {
    /// The most [`DepartmentRated::points`] a rating can have: 4 for each of the three marks.
    pub const MAX_POINTS: u64 = 3 * (RatingScore::MAX - RatingScore::MIN) as u64;

    /// How far the three marks are above the lowest: the sum of each mark less 1, from 0 to
    /// [`DepartmentRated::MAX_POINTS`]. `points / MAX_POINTS` is the rating on a 0 to 1 scale,
    /// the mean of the three marks mapped from 1..=5 as `(mean - 1) / 4`; as whole numbers,
    /// points add up and subtract exactly across cases.
    pub fn points(&self) -> u64 {
        [self.timeliness, self.attitude, self.result]
            .iter()
            .map(|mark| u64::from(mark.get() - RatingScore::MIN))
            .sum()
    }
}

/// A verified or closed case came back: the problem persists or recurred.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseReopened {
    /// Why.
    pub reason: Note,
}

/// A deadline is close (预警).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineWarned {
    /// Which deadline.
    pub stage: DeadlineStage,
    /// The deadline itself.
    pub deadline: Timestamp,
}

/// A deadline passed (超时).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineBreached {
    /// Which deadline.
    pub stage: DeadlineStage,
    /// The deadline itself.
    pub deadline: Timestamp,
}

/// The case was raised one rung up the escalation ladder (升级): the leader of `to` now
/// watches it.
///
/// Schema version 2; version 1 lacked `at` (see [`crate::codec::legacy`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEscalated {
    /// How many times the case has been escalated, this one included: the rung it stands on.
    pub level: u8,
    /// The area whose leader now watches the case: the case's own grid (网格长) at the first
    /// rung, then ever higher.
    pub to: GridCode,
    /// When the rung was reached, by which the next rung's pace is counted; `None` for an
    /// escalation recorded before schema version 2.
    pub at: Option<Timestamp>,
}

/// A supervisor pressed the assignee (督办/催办).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseUrged {
    /// The supervisor.
    pub by: WorkerId,
    /// What was said.
    pub note: Note,
}

/// Defines [`Event`] and its name/stage tables from one list, so the type
/// names and NATS stage tokens cannot drift apart.
macro_rules! events {
    ($($(#[$doc:meta])* $variant:ident => $stage:literal,)*) => {
        /// Everything that can happen to a case, one variant per event type.
        ///
        /// Store events through [`crate::codec`], which keys payloads by type
        /// name and schema version; serde on this enum is for text formats
        /// (JSON), where variants are named.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub enum Event {
            $($(#[$doc])* $variant($variant),)*
        }

        impl Event {
            /// The variant name, e.g. `"CaseReported"`; the codec's type key.
            pub const fn type_name(&self) -> &'static str {
                match self {
                    $(Event::$variant(_) => stringify!($variant),)*
                }
            }

            /// The loop stage: `intake`, `triage`, `dispatch`, `supervision`
            /// or `evaluation`; used as a NATS subject token.
            pub const fn stage(&self) -> &'static str {
                match self {
                    $(Event::$variant(_) => $stage,)*
                }
            }
        }

        /// Every event type name, in declaration order.
        pub const EVENT_TYPES: &[&str] = &[$(stringify!($variant),)*];

        /// The stage of an event type given by name, or `None` if unknown.
        pub fn stage_of(type_name: &str) -> Option<&'static str> {
            match type_name {
                $(stringify!($variant) => Some($stage),)*
                _ => None,
            }
        }

        $(
            impl From<$variant> for Event {
                fn from(payload: $variant) -> Self {
                    Event::$variant(payload)
                }
            }
        )*
    };
}

events! {
    /// See [`CaseReported`].
    CaseReported => "intake",
    /// See [`CaseTriaged`].
    CaseTriaged => "triage",
    /// See [`CaseMerged`].
    CaseMerged => "triage",
    /// See [`CaseRejected`].
    CaseRejected => "triage",
    /// See [`CaseDispatched`].
    CaseDispatched => "dispatch",
    /// See [`DispatchAccepted`].
    DispatchAccepted => "dispatch",
    /// See [`DispatchReturned`].
    DispatchReturned => "dispatch",
    /// See [`ProgressReported`].
    ProgressReported => "dispatch",
    /// See [`PostponementRequested`].
    PostponementRequested => "dispatch",
    /// See [`PostponementApproved`].
    PostponementApproved => "dispatch",
    /// See [`PostponementRefused`].
    PostponementRefused => "dispatch",
    /// See [`CaseResolved`].
    CaseResolved => "dispatch",
    /// See [`CaseVerified`].
    CaseVerified => "evaluation",
    /// See [`VerificationFailed`].
    VerificationFailed => "evaluation",
    /// See [`SatisfactionRecorded`].
    SatisfactionRecorded => "evaluation",
    /// See [`CaseClosed`].
    CaseClosed => "evaluation",
    /// See [`CaseReopened`].
    CaseReopened => "evaluation",
    /// See [`DeadlineWarned`].
    DeadlineWarned => "supervision",
    /// See [`DeadlineBreached`].
    DeadlineBreached => "supervision",
    /// See [`CaseEscalated`].
    CaseEscalated => "supervision",
    /// See [`CaseUrged`].
    CaseUrged => "supervision",
    /// See [`DangerFlagged`].
    DangerFlagged => "triage",
    /// See [`CaseReferred`].
    CaseReferred => "dispatch",
    /// See [`WhistleBlown`].
    WhistleBlown => "dispatch",
    /// See [`ReportInCalled`].
    ReportInCalled => "dispatch",
    /// See [`DepartmentReportedIn`].
    DepartmentReportedIn => "dispatch",
    /// See [`QueuedForOperator`].
    QueuedForOperator => "triage",
    /// See [`DepartmentRated`].
    DepartmentRated => "evaluation",
}

#[cfg(test)]
mod tests {
    use super::*;

    fn department(code: &str) -> DepartmentCode {
        DepartmentCode::parse(code).unwrap()
    }

    #[test]
    fn stage_of_covers_every_type_and_nothing_else() {
        assert_eq!(EVENT_TYPES.len(), 28);
        for name in EVENT_TYPES {
            let stage = stage_of(name).unwrap();
            assert!(
                ["intake", "triage", "dispatch", "supervision", "evaluation"].contains(&stage),
                "{name}: {stage}"
            );
        }
        assert_eq!(stage_of("CaseReported"), Some("intake"));
        assert_eq!(stage_of("CaseEscalated"), Some("supervision"));
        assert_eq!(stage_of("caseReported"), None);
        assert_eq!(stage_of("DepartmentRated"), Some("evaluation"));
        assert_eq!(stage_of("DepartmentPraised"), None);
    }

    #[test]
    fn type_name_and_stage_agree_with_the_table() {
        let event = Event::from(CaseMerged {
            into: CaseId::from_u128(7),
        });
        assert_eq!(event.type_name(), "CaseMerged");
        assert_eq!(event.stage(), "triage");
        assert_eq!(stage_of(event.type_name()), Some(event.stage()));
    }

    #[test]
    fn joint_route_rules() {
        assert!(Route::joint(department("water"), vec![department("power")]).is_ok());
        assert_eq!(
            Route::joint(department("water"), vec![])
                .unwrap_err()
                .to_string(),
            "participants: a joint route needs at least one participant"
        );
        assert_eq!(
            Route::joint(department("water"), vec![department("water")])
                .unwrap_err()
                .to_string(),
            "participants: lead department water must not also be a participant"
        );
        assert_eq!(
            Route::joint(
                department("water"),
                vec![department("power"), department("gas"), department("power")]
            )
            .unwrap_err()
            .to_string(),
            "participants: department power is listed twice"
        );
    }

    #[test]
    fn route_names_its_assignee() {
        let route = Route::joint(department("water"), vec![department("power")]).unwrap();
        assert_eq!(route.assignee(), Assignee::Department(department("water")));
        assert_eq!(route.participants(), &[department("power")]);
        let route = Route::SelfHandle {
            worker: WorkerId::parse("li-si").unwrap(),
        };
        assert_eq!(route.assignee().to_string(), "worker li-si");
        assert!(route.participants().is_empty());
    }
}
