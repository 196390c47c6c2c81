//! What the rules make of a case awaiting triage: merge it into an earlier open case, triage it
//! (category, priority, route), or leave it to an operator with a reason. Pure: the caller
//! passes the case, the reference data and the open cases it knows of.

use gridcase_config::ReferenceData;
use gridcase_domain::event::CaseReported;
use gridcase_domain::{CaseState, CategoryCode, Channel, Command, Priority, Route, WorkerId};
use gridcase_rules::{CandidateCase, Classification, OpenCase};

/// Most suggested categories offered to an operator.
pub const MAX_SUGGESTIONS: usize = 5;

/// The rules' verdict on one case awaiting triage.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The case repeats an earlier open case.
    Merge {
        /// The earlier case.
        into: gridcase_domain::CaseId,
    },
    /// The rules classified and routed the case.
    Triage {
        /// The category.
        category: CategoryCode,
        /// The priority.
        priority: Priority,
        /// Who handles it.
        route: Route,
        /// Why this route, in words.
        reason: String,
    },
    /// The rules cannot decide: an operator must.
    Manual {
        /// Why, e.g. `no confident category`.
        reason: String,
        /// Categories whose keywords matched, best first.
        suggestions: Vec<CategoryCode>,
    },
}

impl Decision {
    /// The command that records this decision, `None` for a manual case.
    pub fn command(&self) -> Option<Command> {
        match self {
            Decision::Merge { into } => Some(Command::Merge { into: *into }),
            Decision::Triage {
                category,
                priority,
                route,
                ..
            } => Some(Command::Triage {
                category: *category,
                priority: *priority,
                route: route.clone(),
                triaged_by: None,
            }),
            Decision::Manual { .. } => None,
        }
    }
}

/// A case as the rules see it: its folded state, the reporter's words, and the grid worker
/// who reported it.
#[derive(Debug, Clone, Copy)]
pub struct CaseView<'a> {
    /// The case's state (its category is the reporter's or the last triage's).
    pub state: &'a CaseState,
    /// What the reporter said.
    pub description: &'a str,
    /// The grid worker who reported it on patrol: the first choice to settle it on the spot.
    pub reported_by_worker: Option<&'a WorkerId>,
}

/// The grid worker who reported a case, from its `CaseReported` event and the actor recorded
/// with it. The event does not name the worker, but intake lets a grid worker report only as
/// themselves, so on the grid-worker channel the actor `grid_worker:<id>` is the reporter.
pub fn reporting_worker(reported: &CaseReported, actor: Option<&str>) -> Option<WorkerId> {
    if reported.channel != Channel::GridWorker {
        return None;
    }
    let id = actor?.strip_prefix("grid_worker:")?;
    WorkerId::parse(id).ok()
}

/// Decides `case`. Duplicates are looked for among `open_cases` only when `check_duplicates`
/// (a first triage: a returned or reopened case is not merged away); `window_ms` bounds how far
/// back a duplicate may have been reported.
pub fn decide<'a>(
    refdata: &ReferenceData,
    case: CaseView<'_>,
    open_cases: impl IntoIterator<Item = &'a OpenCase>,
    check_duplicates: bool,
    window_ms: i64,
) -> Decision {
    let state = case.state;
    let classification =
        gridcase_rules::classify(refdata, state.category.as_ref(), case.description);
    let Some(category) = classification.code() else {
        return Decision::Manual {
            reason: "no confident category".to_owned(),
            suggestions: gridcase_rules::suggest(refdata, case.description, MAX_SUGGESTIONS),
        };
    };
    if check_duplicates {
        let mut with_category = state.clone();
        with_category.category = Some(category);
        if let Some(candidate) = CandidateCase::from_state(&with_category) {
            if let Some(into) = gridcase_rules::find_duplicate(&candidate, open_cases, window_ms) {
                return Decision::Merge { into };
            }
        }
    }
    let priority = gridcase_rules::priority(refdata, Some(&category), case.description).priority;
    let grid = state.location.as_ref().and_then(|location| location.grid());
    let route = gridcase_rules::route(
        refdata,
        &category,
        grid.as_ref(),
        &state.returned_by,
        case.reported_by_worker,
    );
    match route {
        Ok(decision) => Decision::Triage {
            category,
            priority,
            route: decision.route,
            reason: decision.reason,
        },
        Err(error) => Decision::Manual {
            reason: error.to_string(),
            suggestions: vec![category],
        },
    }
}

/// The category the rules would give a case right now, if any: for duplicate detection among
/// cases still awaiting triage.
pub fn category_of(refdata: &ReferenceData, case: CaseView<'_>) -> Option<CategoryCode> {
    match gridcase_rules::classify(refdata, case.state.category.as_ref(), case.description) {
        Classification::Manual => None,
        classification => classification.code(),
    }
}

/// A route in words, e.g. `department urban_mgmt`.
pub fn route_words(route: &Route) -> String {
    match route {
        Route::SelfHandle { worker } => format!("self-handle {worker}"),
        Route::Department { department } => format!("department {department}"),
        Route::Joint { lead, participants } => {
            let others: Vec<&str> = participants.iter().map(|d| d.as_str()).collect();
            format!("joint {lead} with {}", others.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::OnceLock;

    use gridcase_domain::{
        Assignee, CaseId, CaseStatus, DepartmentCode, Description, GridCode, Location, Reporter,
        Timestamp, TrackingCode, WorkerId,
    };

    use super::*;

    fn sample() -> &'static ReferenceData {
        static SAMPLE: OnceLock<ReferenceData> = OnceLock::new();
        SAMPLE.get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config");
            ReferenceData::load(&dir).unwrap()
        })
    }

    fn state(id: u128, grid: &str, at_ms: i64) -> CaseState {
        CaseState {
            status: Some(CaseStatus::Reported),
            case_id: Some(CaseId::from_u128(id)),
            location: Some(
                Location::new(Some(GridCode::parse(grid).unwrap()), None, None).unwrap(),
            ),
            reported_at: Some(Timestamp::from_millis(at_ms)),
            ..CaseState::default()
        }
    }

    fn department(code: &str) -> DepartmentCode {
        DepartmentCode::parse(code).unwrap()
    }

    const WINDOW: i64 = 24 * 3_600_000;

    #[test]
    fn keywords_route_to_the_categorys_department() {
        let state = state(1, "330102-001-001-001-01", 1_000);
        let view = CaseView {
            state: &state,
            description: "河坊街路灯不亮好几天了",
            reported_by_worker: None,
        };
        let decision = decide(sample(), view, [], true, WINDOW);
        let Decision::Triage {
            category, route, ..
        } = decision
        else {
            panic!("{decision:?}")
        };
        assert_eq!(category.to_string(), "BJ-01-07");
        assert_eq!(
            route,
            Route::Department {
                department: department("urban_mgmt")
            }
        );
    }

    #[test]
    fn a_self_handle_category_goes_to_the_grids_worker() {
        let state = state(1, "330102-001-001-001", 1_000);
        let view = CaseView {
            state: &state,
            description: "楼下垃圾满了没人管",
            reported_by_worker: None,
        };
        let Decision::Triage { route, .. } = decide(sample(), view, [], true, WINDOW) else {
            panic!("not triaged")
        };
        assert_eq!(
            route,
            Route::SelfHandle {
                worker: WorkerId::parse("lin-ming").unwrap()
            }
        );
    }

    #[test]
    fn the_worker_who_reported_it_on_patrol_settles_it() {
        let state = state(1, "330102-001-001-001", 1_000);
        let reporter = WorkerId::parse("chen-lijuan").unwrap();
        let view = CaseView {
            state: &state,
            description: "楼下垃圾满了没人管",
            reported_by_worker: Some(&reporter),
        };
        let Decision::Triage { route, .. } = decide(sample(), view, [], true, WINDOW) else {
            panic!("not triaged")
        };
        assert_eq!(route, Route::SelfHandle { worker: reporter });
    }

    #[test]
    fn the_reporting_worker_is_the_grid_worker_actor_on_the_grid_worker_channel() {
        let reported = |channel| CaseReported {
            case_id: CaseId::from_u128(1),
            tracking_code: TrackingCode::from_u64(1),
            channel,
            reporter: Reporter::anonymous(),
            location: Location::new(
                Some(GridCode::parse("330102-001-001-001").unwrap()),
                None,
                None,
            )
            .unwrap(),
            description: Description::parse("楼下垃圾满了没人管").unwrap(),
            category: None,
            media: Vec::new(),
            reported_at: Timestamp::from_millis(1_000),
        };
        let on_patrol = reported(Channel::GridWorker);
        assert_eq!(
            reporting_worker(&on_patrol, Some("grid_worker:chen-lijuan")),
            Some(WorkerId::parse("chen-lijuan").unwrap())
        );
        assert_eq!(reporting_worker(&on_patrol, Some("admin:root")), None);
        assert_eq!(reporting_worker(&on_patrol, None), None);
        let by_phone = reported(Channel::Hotline);
        assert_eq!(
            reporting_worker(&by_phone, Some("grid_worker:chen-lijuan")),
            None
        );
    }

    #[test]
    fn a_repeat_is_merged_and_a_returned_case_is_not() {
        let mut earlier = state(1, "330102-001-001-001-01", 1_000);
        earlier.category = Some(CategoryCode::parse("BJ-01-07").unwrap());
        let open = OpenCase::from_state(&earlier).unwrap();
        let later = state(2, "330102-001-001-001-01", 2_000);
        let view = CaseView {
            state: &later,
            description: "路灯不亮",
            reported_by_worker: None,
        };
        assert_eq!(
            decide(sample(), view, [&open], true, WINDOW),
            Decision::Merge {
                into: CaseId::from_u128(1)
            }
        );
        assert!(matches!(
            decide(sample(), view, [&open], false, WINDOW),
            Decision::Triage { .. }
        ));
        assert!(matches!(
            decide(sample(), view, [&open], true, 500),
            Decision::Triage { .. }
        ));
    }

    #[test]
    fn ambiguous_text_waits_with_suggestions() {
        let state = state(1, "330102-001-001-001-01", 1_000);
        let view = CaseView {
            state: &state,
            description: "门口有人摆摊，还有违停",
            reported_by_worker: None,
        };
        let Decision::Manual {
            reason,
            suggestions,
        } = decide(sample(), view, [], true, WINDOW)
        else {
            panic!("not manual")
        };
        assert_eq!(reason, "no confident category");
        assert!(suggestions.len() >= 2, "{suggestions:?}");
    }

    #[test]
    fn routing_never_returns_to_whoever_returned_it() {
        let mut state = state(1, "330102-001-001-001-01", 1_000);
        state.returned_by = vec![Assignee::Department(department("urban_mgmt"))];
        let view = CaseView {
            state: &state,
            description: "路灯不亮",
            reported_by_worker: None,
        };
        let decision = decide(sample(), view, [], false, WINDOW);
        let Decision::Triage { route, .. } = &decision else {
            panic!("{decision:?}")
        };
        assert_ne!(
            route.assignee(),
            Assignee::Department(department("urban_mgmt"))
        );
    }

    #[test]
    fn routes_read_as_words() {
        let route =
            Route::joint(department("ecology_env"), vec![department("urban_mgmt")]).unwrap();
        assert_eq!(route_words(&route), "joint ecology_env with urban_mgmt");
    }
}
