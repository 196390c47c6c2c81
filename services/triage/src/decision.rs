//! What the rules make of a case awaiting triage: merge it into an earlier open case, triage it
//! (category, priority, route), or leave it to an operator with a reason, suggestions and any
//! danger to people recognised in it. Pure: the caller passes the case, the reference data, the
//! classifier and the open cases it knows of.

use gridcase_config::ReferenceData;
use gridcase_domain::event::{CaseReported, ModelVerdict};
use gridcase_domain::{
    CaseState, CategoryCode, Channel, Command, Danger, Note, Priority, Route, WorkerId,
};
use gridcase_rules::{CandidateCase, OpenCase, Recognised};

use crate::classifier::{Classifier, Suggestion, Verdict};

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
        /// The text model that chose the category, if one did (not an explicit code).
        model: Option<ModelVerdict>,
        /// Why the priority is above the category's default, e.g. `火情：冒黑烟`.
        priority_reason: Option<String>,
        /// The danger to people that raised it, if one did.
        danger: Option<Danger>,
    },
    /// The rules cannot decide: an operator must.
    Manual {
        /// Why, e.g. `no confident category (best 41%, routing needs 85%)`.
        reason: String,
        /// The likeliest categories, best first.
        suggestions: Vec<Suggestion>,
        /// The words that drove the best guess.
        because: Vec<String>,
        /// A danger to people in the report: the case is an emergency and must not wait.
        danger: Option<Recognised>,
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
                model,
                priority_reason,
                ..
            } => Some(Command::Triage {
                category: *category,
                priority: *priority,
                route: route.clone(),
                triaged_by: None,
                model: model.clone(),
                priority_reason: priority_reason
                    .as_deref()
                    .and_then(|text| Note::parse(text).ok()),
            }),
            Decision::Manual { .. } => None,
        }
    }

    /// The emergency this decision is about, if any: a danger that made a routed case an
    /// emergency, or one recognised in a case left to an operator.
    pub fn emergency(&self) -> Option<Danger> {
        match self {
            Decision::Triage {
                priority: Priority::Emergency,
                danger,
                ..
            } => *danger,
            Decision::Manual {
                danger: Some(recognised),
                ..
            } if recognised.priority() == Priority::Emergency => Some(recognised.danger),
            _ => None,
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

/// Decides `case` with `classifier`. Duplicates are looked for among `open_cases` only when
/// `check_duplicates` (a first triage: a returned or reopened case is not merged away);
/// `window_ms` bounds how far back a duplicate may have been reported. `open_cases` may be
/// every open case or only those near the case (as [`gridcase_rules::OpenCaseIndex::nearby`]
/// gives them): the cases farther away are never its duplicate's original.
pub fn decide<'a>(
    refdata: &ReferenceData,
    classifier: &Classifier,
    case: CaseView<'_>,
    open_cases: impl IntoIterator<Item = &'a OpenCase>,
    check_duplicates: bool,
    window_ms: i64,
) -> Decision {
    let verdict = classifier.classify(refdata, case.state.category.as_ref(), case.description);
    decide_on(
        refdata,
        classifier.version(),
        verdict,
        case,
        open_cases,
        check_duplicates,
        window_ms,
    )
}

/// [`decide`] on a `verdict` the classifier called `version` already gave, so a caller that
/// needed the category first (to pick the open cases) does not classify twice.
pub fn decide_on<'a>(
    refdata: &ReferenceData,
    version: &str,
    verdict: Verdict,
    case: CaseView<'_>,
    open_cases: impl IntoIterator<Item = &'a OpenCase>,
    check_duplicates: bool,
    window_ms: i64,
) -> Decision {
    let state = case.state;
    let (category, model) = match verdict {
        Verdict::Explicit(category) => (category, None),
        Verdict::Confident {
            category,
            confidence,
            ..
        } => (
            category,
            Some(ModelVerdict {
                version: version.to_owned(),
                confidence: thousandths(confidence),
            }),
        ),
        Verdict::Unsure {
            reason,
            suggestions,
            because,
        } => {
            return Decision::Manual {
                reason,
                suggestions,
                because,
                danger: gridcase_rules::recognise(case.description),
            }
        }
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
    let priority = gridcase_rules::priority(refdata, Some(&category), case.description);
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
            priority: priority.priority,
            route: decision.route,
            reason: decision.reason,
            model,
            priority_reason: priority.reason(),
            danger: priority.danger,
        },
        Err(error) => Decision::Manual {
            reason: error.to_string(),
            suggestions: vec![Suggestion {
                category,
                confidence: model
                    .as_ref()
                    .map_or(1.0, |model| f64::from(model.confidence) / 1000.0),
            }],
            because: Vec::new(),
            danger: gridcase_rules::recognise(case.description),
        },
    }
}

/// A probability in thousandths, as recorded.
fn thousandths(probability: f64) -> u16 {
    // Clamped to 0..=1000 first, so the cast cannot truncate.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let value = (probability.clamp(0.0, 1.0) * 1000.0).round() as u16;
    value
}

/// The category the classifier would give a case right now, if any: for duplicate detection
/// among cases still awaiting triage.
pub fn category_of(
    refdata: &ReferenceData,
    classifier: &Classifier,
    case: CaseView<'_>,
) -> Option<CategoryCode> {
    classifier
        .classify(refdata, case.state.category.as_ref(), case.description)
        .category()
}

/// A route in words, e.g. `department urban_mgmt`.
pub fn route_words(route: &Route) -> String {
    route.to_string()
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::OnceLock;

    use gridcase_domain::{
        Assignee, CaseId, CaseStatus, Contact, DepartmentCode, Description, GridCode, Location,
        Timestamp, TrackingCode, WorkerId,
    };

    use super::*;
    use crate::classifier::Classifier;
    use gridcase_domain::CategoryCode;

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
        let decision = decide(sample(), &Classifier::keywords(), view, [], true, WINDOW);
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
        let Decision::Triage { route, .. } =
            decide(sample(), &Classifier::keywords(), view, [], true, WINDOW)
        else {
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
        let Decision::Triage { route, .. } =
            decide(sample(), &Classifier::keywords(), view, [], true, WINDOW)
        else {
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
            reporter: Contact::Anonymous,
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
            decide(
                sample(),
                &Classifier::keywords(),
                view,
                [&open],
                true,
                WINDOW
            ),
            Decision::Merge {
                into: CaseId::from_u128(1)
            }
        );
        assert!(matches!(
            decide(
                sample(),
                &Classifier::keywords(),
                view,
                [&open],
                false,
                WINDOW
            ),
            Decision::Triage { .. }
        ));
        assert!(matches!(
            decide(sample(), &Classifier::keywords(), view, [&open], true, 500),
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
            danger,
            ..
        } = decide(sample(), &Classifier::keywords(), view, [], true, WINDOW)
        else {
            panic!("not manual")
        };
        assert_eq!(reason, "no confident category");
        assert!(suggestions.len() >= 2, "{suggestions:?}");
        assert_eq!(danger, None);
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
        let decision = decide(sample(), &Classifier::keywords(), view, [], false, WINDOW);
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

    #[test]
    fn a_danger_in_an_unclassifiable_report_makes_it_an_emergency() {
        let state = state(1, "330102-001-001-001-01", 1_000);
        let view = CaseView {
            state: &state,
            description: "对面楼顶冒黑烟了，好像有东西烧起来了",
            reported_by_worker: None,
        };
        let decision = decide(sample(), &Classifier::keywords(), view, [], true, WINDOW);
        let Decision::Manual { danger, .. } = &decision else {
            panic!("{decision:?}")
        };
        assert_eq!(danger.as_ref().unwrap().reason(), "火情：冒黑烟");
        assert_eq!(decision.emergency(), Some(Danger::Fire));
        assert_eq!(decision.command(), None);
    }

    #[test]
    fn a_routed_emergency_records_why_and_a_fire_lane_raises_to_urgent() {
        let mut lift = state(1, "330102-001-001-001-01", 1_000);
        lift.category = Some(CategoryCode::parse("SJ-06-04").unwrap());
        let view = CaseView {
            state: &lift,
            description: "我们楼的电梯卡在两层中间了，里面好像有人",
            reported_by_worker: None,
        };
        let decision = decide(sample(), &Classifier::keywords(), view, [], true, WINDOW);
        let Decision::Triage {
            priority,
            priority_reason,
            model,
            ..
        } = &decision
        else {
            panic!("{decision:?}")
        };
        assert_eq!(*priority, Priority::Emergency);
        assert_eq!(
            priority_reason.as_deref(),
            Some("人员被困：电梯、里面好像有人")
        );
        assert_eq!(
            *model, None,
            "an explicit code, not a model, chose the category"
        );
        assert_eq!(decision.emergency(), Some(Danger::Trapped));
        let Some(Command::Triage {
            priority_reason: Some(recorded),
            ..
        }) = decision.command()
        else {
            panic!("no reason recorded")
        };
        assert_eq!(recorded.as_str(), "人员被困：电梯、里面好像有人");

        let mut clutter = state(2, "330102-001-001-001-01", 1_000);
        clutter.category = Some(CategoryCode::parse("SJ-01-04").unwrap());
        let view = CaseView {
            state: &clutter,
            description: "楼下消防通道被人堆满了纸箱和旧家具",
            reported_by_worker: None,
        };
        let decision = decide(sample(), &Classifier::keywords(), view, [], true, WINDOW);
        let Decision::Triage {
            priority, danger, ..
        } = &decision
        else {
            panic!("{decision:?}")
        };
        assert_eq!(
            (*priority, *danger),
            (Priority::Urgent, Some(Danger::FireLane))
        );
        assert_eq!(decision.emergency(), None, "urgent, not an emergency");
    }

    #[test]
    fn the_corpus_model_routes_with_its_version_or_suggests_three() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config");
        let classifier = Classifier::from_corpus(&dir, sample(), crate::DEFAULT_CONFIDENCE)
            .unwrap()
            .expect("the sample city has a corpus");
        assert!(classifier.version().starts_with("corpus-"));
        let state = state(1, "330102-001-001-001-01", 1_000);
        let mut routed = 0;
        for description in [
            "河坊街那一排路灯晚上全黑了，走路都看不清",
            "楼下饭店的油烟天天往我家窗户里灌",
            "小区电梯又坏了，老人爬不动楼",
        ] {
            let view = CaseView {
                state: &state,
                description,
                reported_by_worker: None,
            };
            match decide(sample(), &classifier, view, [], true, WINDOW) {
                Decision::Triage { model, .. } => {
                    let model = model.expect("the model chose it");
                    assert_eq!(model.version, classifier.version());
                    assert!(f64::from(model.confidence) / 1000.0 >= classifier.threshold());
                    routed += 1;
                }
                Decision::Manual { suggestions, .. } => {
                    assert!(
                        !suggestions.is_empty() && suggestions.len() <= 3,
                        "{description}"
                    );
                    assert!(suggestions
                        .windows(2)
                        .all(|w| w[0].confidence >= w[1].confidence));
                }
                Decision::Merge { .. } => panic!("nothing to merge into"),
            }
        }
        assert!(
            routed >= 2,
            "plain reports in residents' words are routed: {routed} of 3"
        );
    }
}
