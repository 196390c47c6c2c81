//! Care visits (敲门行动): households under care — elderly people living alone, disabled
//! people, low-income (低保/五保) households, left-behind children — visited by their grid's
//! worker (or a volunteer) at a frequency set per kind.
//!
//! A household is kept with the least personal data that lets a grid worker find it: its kind,
//! its grid, and a name and phone sealed with the person's key exactly like a reporter's
//! contact, so that erasing the person destroys them for good and every role sees them masked
//! as it sees reporters. Each visit carries the deadline it answered and, when the visit found a
//! problem, the case reported from it.

use serde::{Deserialize, Serialize};

use super::{PeopleError, PeopleEvent};
use crate::values::{CaseId, GridCode, MemberId, Note, SealedContact, Timestamp, WorkerId};

/// Why a household is under care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CareKind {
    /// 独居老人.
    ElderlyAlone,
    /// 残疾人.
    Disabled,
    /// 低保/五保户.
    LowIncome,
    /// 留守儿童.
    LeftBehindChild,
}

impl CareKind {
    /// Every kind, in the order of the proto enum.
    pub const ALL: [CareKind; 4] = [
        Self::ElderlyAlone,
        Self::Disabled,
        Self::LowIncome,
        Self::LeftBehindChild,
    ];

    /// The snake_case name used in files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ElderlyAlone => "elderly_alone",
            Self::Disabled => "disabled",
            Self::LowIncome => "low_income",
            Self::LeftBehindChild => "left_behind_child",
        }
    }

    /// The name a community uses.
    pub const fn label(self) -> &'static str {
        match self {
            Self::ElderlyAlone => "独居老人",
            Self::Disabled => "残疾人",
            Self::LowIncome => "低保五保户",
            Self::LeftBehindChild => "留守儿童",
        }
    }

    /// The kind named `name` ([`CareKind::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// Who made a visit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Visitor {
    /// The grid's worker.
    Worker(WorkerId),
    /// A volunteer or party member of the grid.
    Member(MemberId),
}

impl std::fmt::Display for Visitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Worker(worker) => write!(f, "grid_worker:{worker}"),
            Self::Member(member) => write!(f, "member:{member}"),
        }
    }
}

/// A household was put under care.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdEnrolled {
    /// Why.
    pub kind: CareKind,
    /// Its grid (or micro-grid).
    pub grid: GridCode,
    /// The person's name and phone, sealed with their key.
    pub person: SealedContact,
    /// The last visit before the household came into the system (from the community's paper
    /// ledger, 台账), if any: the first visit is due from it.
    pub last_visited: Option<Timestamp>,
    /// When.
    pub at: Timestamp,
}

/// A household was visited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdVisited {
    /// Who visited.
    pub visitor: Visitor,
    /// What the visitor found, in their words.
    pub note: Note,
    /// The case reported from the visit, when it found a problem.
    pub case: Option<CaseId>,
    /// When this visit was due.
    pub due: Timestamp,
    /// When.
    pub at: Timestamp,
}

impl HouseholdVisited {
    /// True when the visit was made by its due time.
    pub fn on_time(&self) -> bool {
        self.at <= self.due
    }
}

/// How near a visit's due time is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VisitWarning {
    /// It falls due within the warning time.
    DueSoon,
    /// It is past due and no visit was made.
    Overdue,
}

impl VisitWarning {
    /// The snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DueSoon => "due_soon",
            Self::Overdue => "overdue",
        }
    }
}

/// Supervision warned that a household's visit is due soon or overdue: once per due time and
/// kind of warning, like a case's deadline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitWarned {
    /// Which warning.
    pub warning: VisitWarning,
    /// The due time warned of.
    pub due: Timestamp,
    /// When.
    pub at: Timestamp,
}

/// A household left care (moved away, passed away, no longer eligible).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdReleased {
    /// Why.
    pub reason: Note,
    /// When.
    pub at: Timestamp,
}

/// A household folded from its stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    /// How it was enrolled.
    pub enrolled: HouseholdEnrolled,
    /// Its last visit.
    pub last_visit: Option<HouseholdVisited>,
    /// Visits made.
    pub visits: u32,
    /// Visits made by their due time.
    pub visits_on_time: u32,
    /// Set when it left care.
    pub released: Option<HouseholdReleased>,
    /// The warnings given for the current due time.
    pub warned: Vec<VisitWarned>,
}

/// What may be asked of a household.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CareCommand {
    /// Put it under care.
    Enrol(HouseholdEnrolled),
    /// Record a visit; due is worked out from the frequency of its kind.
    Visit {
        /// Who visited.
        visitor: Visitor,
        /// What they found.
        note: Note,
        /// The case reported from it.
        case: Option<CaseId>,
        /// Days between visits for the household's kind.
        every_days: u32,
        /// When.
        at: Timestamp,
    },
    /// Warn that the next visit is due soon or overdue.
    Warn {
        /// Which warning.
        warning: VisitWarning,
        /// Days between visits for the household's kind.
        every_days: u32,
        /// Hours before the due time that "due soon" may be warned.
        warn_before_hours: u32,
        /// When.
        at: Timestamp,
    },
    /// Take it out of care.
    Release {
        /// Why.
        reason: Note,
        /// When.
        at: Timestamp,
    },
}

const DAY_MS: i64 = 86_400_000;

impl Household {
    /// The household after `events`, `None` when none of them enrolled it.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a PeopleEvent>) -> Option<Self> {
        let mut household = None;
        for event in events {
            Self::fold(&mut household, event);
        }
        household
    }

    /// Folds one event into `household`; events of other streams change nothing.
    pub fn fold(household: &mut Option<Self>, event: &PeopleEvent) {
        match (household.as_mut(), event) {
            (_, PeopleEvent::HouseholdEnrolled(enrolled)) => {
                *household = Some(Self {
                    enrolled: enrolled.clone(),
                    last_visit: None,
                    visits: 0,
                    visits_on_time: 0,
                    released: None,
                    warned: Vec::new(),
                });
            }
            (Some(household), PeopleEvent::HouseholdVisited(visit)) => {
                household.visits += 1;
                household.visits_on_time += u32::from(visit.on_time());
                household.last_visit = Some(visit.clone());
                household.warned.clear();
            }
            (Some(household), PeopleEvent::VisitWarned(warned)) => {
                household.warned.push(warned.clone());
            }
            (Some(household), PeopleEvent::HouseholdReleased(released)) => {
                household.released = Some(released.clone());
            }
            _ => {}
        }
    }

    /// When the next visit is due: `every_days` after the last visit (recorded, or from the
    /// ledger), or after enrolment.
    pub fn next_due(&self, every_days: u32) -> Timestamp {
        let from = self.last_visit.as_ref().map_or(
            self.enrolled.last_visited.unwrap_or(self.enrolled.at),
            |visit| visit.at,
        );
        from.plus_millis(i64::from(every_days) * DAY_MS)
    }

    /// When supervision next has a warning to give: `warn_before_hours` before the next visit
    /// falls due ("due soon"), then just after it ("overdue"); `None` once both were given for
    /// the current due time (or an overdue one alone), or once the household left care.
    pub fn next_warning(&self, every_days: u32, warn_before_hours: u32) -> Option<Timestamp> {
        if self.released.is_some() {
            return None;
        }
        let due = self.next_due(every_days);
        let warned = |warning| {
            self.warned
                .iter()
                .any(|w| w.warning == warning && w.due == due)
        };
        if warned(VisitWarning::Overdue) {
            None
        } else if warned(VisitWarning::DueSoon) {
            Some(due.plus_millis(1))
        } else {
            Some(due.plus_millis(-i64::from(warn_before_hours) * 3_600_000))
        }
    }

    /// The warning a household found due at `now` gets: overdue once its due time passed.
    pub fn warning_at(&self, every_days: u32, now: Timestamp) -> VisitWarning {
        if now > self.next_due(every_days) {
            VisitWarning::Overdue
        } else {
            VisitWarning::DueSoon
        }
    }

    /// True when a visit was due before `now` and none has been made since.
    pub fn overdue(&self, every_days: u32, now: Timestamp) -> bool {
        self.released.is_none() && self.next_due(every_days) < now
    }

    /// The events `command` leads to on `household` (`None`: not enrolled), or why it is
    /// refused.
    pub fn decide(
        household: Option<&Self>,
        command: CareCommand,
    ) -> Result<Vec<PeopleEvent>, PeopleError> {
        match (household, command) {
            (None, CareCommand::Enrol(enrolled)) => {
                Ok(vec![PeopleEvent::HouseholdEnrolled(enrolled)])
            }
            (Some(_), CareCommand::Enrol(_)) => Err(PeopleError::HouseholdState {
                rule: "it is already under care",
            }),
            (None, _) => Err(PeopleError::NoHousehold),
            (Some(household), _) if household.released.is_some() => {
                Err(PeopleError::HouseholdState {
                    rule: "it has left care",
                })
            }
            (
                Some(household),
                CareCommand::Visit {
                    visitor,
                    note,
                    case,
                    every_days,
                    at,
                },
            ) => Ok(vec![PeopleEvent::HouseholdVisited(HouseholdVisited {
                visitor,
                note,
                case,
                due: household.next_due(every_days),
                at,
            })]),
            (
                Some(household),
                CareCommand::Warn {
                    warning,
                    every_days,
                    warn_before_hours,
                    at,
                },
            ) => {
                let due = household.next_due(every_days);
                let from = match warning {
                    VisitWarning::DueSoon => {
                        due.plus_millis(-i64::from(warn_before_hours) * 3_600_000)
                    }
                    VisitWarning::Overdue => due.plus_millis(1),
                };
                if at < from {
                    return Err(PeopleError::HouseholdState {
                        rule: "its visit is not yet due for that warning",
                    });
                }
                if household
                    .warned
                    .iter()
                    .any(|w| w.warning == warning && w.due == due)
                {
                    return Err(PeopleError::HouseholdState {
                        rule: "that warning was given for this visit",
                    });
                }
                Ok(vec![PeopleEvent::VisitWarned(VisitWarned {
                    warning,
                    due,
                    at,
                })])
            }
            (Some(_), CareCommand::Release { reason, at }) => {
                Ok(vec![PeopleEvent::HouseholdReleased(HouseholdReleased {
                    reason,
                    at,
                })])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: i64) -> Timestamp {
        Timestamp::from_millis(n * DAY_MS)
    }

    fn run(household: &mut Option<Household>, command: CareCommand) -> Result<(), PeopleError> {
        for event in Household::decide(household.as_ref(), command)? {
            Household::fold(household, &event);
        }
        Ok(())
    }

    fn visit(at: i64) -> CareCommand {
        CareCommand::Visit {
            visitor: Visitor::Worker(WorkerId::parse("gw-chen-jing").unwrap()),
            note: Note::parse("老人精神不错，血压药还有半瓶，叮嘱天冷关好煤气").unwrap(),
            case: None,
            every_days: 7,
            at: day(at),
        }
    }

    #[test]
    fn a_household_from_the_ledger_is_due_from_its_last_visit_there() {
        let mut household = None;
        let enrolled = HouseholdEnrolled {
            kind: CareKind::LowIncome,
            grid: GridCode::parse("330102-001-001-002").unwrap(),
            person: SealedContact {
                key_id: 6,
                nonce: [0; 12],
                ciphertext: vec![4],
            },
            last_visited: Some(day(-25)),
            at: day(0),
        };
        run(&mut household, CareCommand::Enrol(enrolled)).unwrap();
        let h = household.unwrap();
        assert_eq!(h.next_due(30), day(5));
        assert_eq!(h.next_due(14), day(-11));
        assert!(h.overdue(14, day(0)));
    }

    #[test]
    fn visits_are_due_every_so_many_days_and_late_ones_count_as_late() {
        let mut household = None;
        assert_eq!(run(&mut household, visit(1)), Err(PeopleError::NoHousehold));
        let enrolled = HouseholdEnrolled {
            kind: CareKind::ElderlyAlone,
            grid: GridCode::parse("330102-001-001-001").unwrap(),
            person: SealedContact {
                key_id: 5,
                nonce: [0; 12],
                ciphertext: vec![1, 2, 3],
            },
            last_visited: None,
            at: day(0),
        };
        run(&mut household, CareCommand::Enrol(enrolled.clone())).unwrap();
        assert_eq!(
            run(&mut household, CareCommand::Enrol(enrolled))
                .unwrap_err()
                .to_string(),
            "household: it is already under care"
        );
        let h = household.clone().unwrap();
        assert_eq!(h.next_due(7), day(7));
        assert_eq!(h.next_warning(7, 24), Some(day(6)));
        assert_eq!(h.warning_at(7, day(6)), VisitWarning::DueSoon);
        assert_eq!(h.warning_at(7, day(8)), VisitWarning::Overdue);
        assert!(!h.overdue(7, day(7)));
        assert!(h.overdue(7, day(8)));
        let warn = |warning, at| CareCommand::Warn {
            warning,
            every_days: 7,
            warn_before_hours: 24,
            at: day(at),
        };
        assert_eq!(
            run(&mut household, warn(VisitWarning::DueSoon, 5))
                .unwrap_err()
                .to_string(),
            "household: its visit is not yet due for that warning"
        );
        run(&mut household, warn(VisitWarning::DueSoon, 6)).unwrap();
        assert_eq!(
            household.as_ref().unwrap().next_warning(7, 24),
            Some(day(7).plus_millis(1))
        );
        assert_eq!(
            run(&mut household, warn(VisitWarning::DueSoon, 6))
                .unwrap_err()
                .to_string(),
            "household: that warning was given for this visit"
        );
        run(&mut household, visit(6)).unwrap();
        assert!(household.as_ref().unwrap().warned.is_empty());
        run(&mut household, warn(VisitWarning::Overdue, 14)).unwrap();
        assert_eq!(household.as_ref().unwrap().next_warning(7, 24), None);
        run(&mut household, visit(15)).unwrap();
        let h = household.clone().unwrap();
        assert_eq!((h.visits, h.visits_on_time), (2, 1));
        assert_eq!(h.last_visit.as_ref().unwrap().due, day(13));
        assert_eq!(h.next_due(7), day(22));
        run(
            &mut household,
            CareCommand::Release {
                reason: Note::parse("老人搬去女儿家住了").unwrap(),
                at: day(16),
            },
        )
        .unwrap();
        let h = household.clone().unwrap();
        assert!(!h.overdue(7, day(40)));
        assert_eq!(
            run(&mut household, visit(20)).unwrap_err().to_string(),
            "household: it has left care"
        );
    }
}
