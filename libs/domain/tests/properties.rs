//! Properties of the case state machine over random command sequences.
//!
//! Each sequence is a list of steps drawn from small pools of realistic values (a few
//! departments, grid workers and grids of one street, residents' own words), so that many
//! commands are accepted and a case walks far along the loop. A step either names its actor
//! from a pool or says "whoever the case is assigned to", which the runner fills in from the
//! current state; the rest is left to chance, and refusals are as welcome as acceptances.
//!
//! For every sequence: `decide` never panics; every accepted command's events apply, one event
//! per command (none for a repeated deadline notice); folding all events from scratch gives the
//! incremental state; every event survives the codec; and the state survives postcard, which
//! read models keep it in.

use gridcase_domain::event::ModelVerdict;
use gridcase_domain::{
    apply, codec, decide, Address, Assignee, CaseId, CaseState, CaseStatus, CategoryCode, Channel,
    Command, Contact, Coordinates, Danger, DeadlineStage, DepartmentCode, Description, DomainError,
    Event, GridCode, GridLevel, Location, Note, PersonName, Phone, Priority, RatingScore,
    ReportInWindow, Reporter, Route, Timestamp, TrackingCode, Url, Whistler, WorkerId,
};
use proptest::prelude::*;
use proptest::sample::select;

const REPORTED_AT: i64 = 1_717_200_000_000;
const HOUR: i64 = 3_600_000;
const CASE: u128 = 0x0190_0a2b_3c4d_7e5f_8a9b_0c1d_2e3f_4a5b;

const DEPARTMENTS: &[&str] = &["water", "roads", "gas", "power", "housing", "urban_mgmt"];
const WORKERS: &[&str] = &[
    "li-si",
    "wang-fang",
    "zhang-wei",
    "inspector-02",
    "supervisor-1",
];
const GRIDS: &[&str] = &[
    "330102-001-002-003",
    "330102-001-002",
    "330102-001",
    "330102",
    "330102-001-003",
    "330102-001-002-003-01",
    "330106",
];
const CATEGORIES: &[&str] = &["SJ-05-03", "BJ-01-02", "BJ-01-07", "SJ-02-01", "SJ-11-04"];
const DESCRIPTIONS: &[&str] = &[
    "小区门口水管爆裂，水流到马路上了",
    "楼道里的灯坏了一个多星期，晚上上楼看不见",
    "路边井盖不见了，小孩子放学要经过这里",
    "隔壁饭店油烟很大，窗户都不敢开",
    "电梯里面好像有人被困，按铃没人应",
    "The street light outside No. 12 has been flickering for days",
];
const NOTES: &[&str] = &[
    "已到现场查看",
    "已更换水管，恢复供水",
    "不属于本部门职责，建议转燃气公司",
    "等待配件到货",
    "居民反映问题仍在",
    "请尽快处理，居民多次来电",
    "仍在漏水",
    "太慢了，等了三天",
    "处理得很好，谢谢",
    "not ours: the pipe belongs to the housing estate",
];
const NAMES: &[&str] = &["王五", "李阿姨", "陈先生", "Zhao Min"];
const PHONES: &[&str] = &["13812345678", "0571-87001234", "15900001111"];
const ADDRESSES: &[&str] = &["文三路 90 号", "涌金社区 7 幢 2 单元", "清河坊南口"];
const URLS: &[&str] = &[
    "https://oss.example.cn/before.jpg",
    "https://oss.example.cn/after.jpg",
    "http://media.example.cn/clip.mp4",
];

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

fn at(hours: i64) -> Timestamp {
    Timestamp::from_millis(REPORTED_AT + hours * HOUR)
}

fn departments() -> impl Strategy<Value = DepartmentCode> {
    select(DEPARTMENTS).prop_map(department)
}

fn workers() -> impl Strategy<Value = WorkerId> {
    select(WORKERS).prop_map(worker)
}

fn notes() -> impl Strategy<Value = Note> {
    select(NOTES).prop_map(note)
}

fn grids() -> impl Strategy<Value = GridCode> {
    select(GRIDS).prop_map(grid)
}

/// Hours around the report: a few before it (to be refused), most after.
fn times() -> impl Strategy<Value = Timestamp> {
    (-6i64..240).prop_map(at)
}

fn categories() -> impl Strategy<Value = CategoryCode> {
    select(CATEGORIES).prop_map(|code| CategoryCode::parse(code).unwrap())
}

fn assignees() -> impl Strategy<Value = Assignee> {
    prop_oneof![
        3 => departments().prop_map(Assignee::Department),
        1 => workers().prop_map(Assignee::Worker),
        1 => grids().prop_map(|grid| Assignee::Community(at_level(grid, GridLevel::Community))),
        1 => grids().prop_map(|grid| Assignee::Street(at_level(grid, GridLevel::Street))),
    ]
}

/// Who acts: the case's assignee (filled in by the runner) or someone from the pools.
#[derive(Clone, Debug)]
enum Who {
    Assignee,
    Given(Assignee),
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        4 => Just(Who::Assignee),
        1 => assignees().prop_map(Who::Given),
    ]
}

/// `grid` cut to `level`, or kept whole when it lies above it (a wrong level on purpose).
fn at_level(grid: GridCode, level: GridLevel) -> GridCode {
    grid.at_level(level).unwrap_or(grid)
}

fn routes() -> impl Strategy<Value = Route> {
    prop_oneof![
        1 => grids().prop_map(|grid| Route::Community { community: at_level(grid, GridLevel::Community) }),
        1 => grids().prop_map(|grid| Route::Street { street: at_level(grid, GridLevel::Street) }),
        2 => departments().prop_map(|department| Route::Department { department }),
        1 => workers().prop_map(|worker| Route::SelfHandle { worker }),
        // Unchecked on purpose: decide must refuse bad joint routes, not panic.
        1 => (departments(), prop::collection::vec(departments(), 0..3))
            .prop_map(|(lead, participants)| Route::Joint { lead, participants }),
    ]
}

fn reports() -> impl Strategy<Value = Command> {
    let reporter = (
        prop::option::of(select(NAMES)),
        prop::option::of(select(PHONES)),
    )
        .prop_map(|(name, phone)| Reporter {
            name: name.map(|name| PersonName::parse(name).unwrap()),
            phone: phone.map(|phone| Phone::parse(phone).unwrap()),
        });
    let location = prop_oneof![
        3 => grids().prop_map(|grid| Location::new(Some(grid), None, None).unwrap()),
        1 => (select(ADDRESSES), prop::option::of((30.2f64..30.4, 120.0f64..120.3))).prop_map(
            |(address, point)| {
                Location::new(
                    None,
                    Some(Address::parse(address).unwrap()),
                    point.map(|(lat, lon)| Coordinates::new(lat, lon).unwrap()),
                )
                .unwrap()
            }
        ),
    ];
    (
        select(
            &[
                Channel::Hotline,
                Channel::QrCode,
                Channel::GridWorker,
                Channel::SpecialMember,
                Channel::Web,
            ][..],
        ),
        reporter,
        location,
        select(DESCRIPTIONS),
        prop::option::of(categories()),
        prop::collection::vec(select(URLS), 0..3),
        1u64..1_000_000_000,
    )
        .prop_map(
            |(channel, reporter, location, description, category, media, tracking)| {
                Command::Report {
                    case_id: CaseId::from_u128(CASE),
                    tracking_code: TrackingCode::from_u64(tracking),
                    channel,
                    reporter: Contact::clear(reporter),
                    location,
                    description: Description::parse(description).unwrap(),
                    category,
                    media: media
                        .into_iter()
                        .map(|url| Url::parse(url).unwrap())
                        .collect(),
                    reported_at: at(0),
                }
            },
        )
}

/// One step of a sequence: a command, or a command whose actor or route the runner fills in.
#[derive(Clone, Debug)]
enum Step {
    Command(Command),
    /// Dispatch along the case's route, with deadlines `accept` and `resolve` hours on.
    DispatchAlongRoute {
        accept: Option<Timestamp>,
        resolve: Option<Timestamp>,
        report_in: Option<Timestamp>,
    },
    Accept(Who),
    Return(Who, Note),
    Refer(Who, Route, Note),
    Whistle(Who, DepartmentCode, Vec<DepartmentCode>, Option<u32>, Note),
    /// A department reports in: the given one, or the first of those called still to.
    ReportIn(Option<DepartmentCode>, Note, Timestamp),
    Progress(Who, Note),
    Postpone(Who, Timestamp, Note),
    Resolve(Who, Note, Vec<Url>),
    /// A grid worker rates a department (网格评部门): the given one, or the case's (the route's
    /// department or joint lead); from the given grid, or the case's own.
    RateDepartment {
        by: WorkerId,
        grid: Option<GridCode>,
        department: Option<DepartmentCode>,
        marks: [RatingScore; 3],
        note: Option<Note>,
        at: Timestamp,
    },
    /// The loop's next step from the case's status; `yes` decides the rating and the reopen.
    Next(bool),
}

fn steps() -> impl Strategy<Value = Step> {
    let danger = select(
        &[
            Danger::Fire,
            Danger::Gas,
            Danger::Collapse,
            Danger::OpenHole,
            Danger::Trapped,
            Danger::DeepWater,
            Danger::LiveWire,
            Danger::NotSeen,
            Danger::Injured,
            Danger::FireLane,
        ][..],
    );
    let priority = select(
        &[
            Priority::Emergency,
            Priority::Urgent,
            Priority::Normal,
            Priority::Low,
        ][..],
    );
    let stage = select(
        &[
            DeadlineStage::Accept,
            DeadlineStage::Resolve,
            DeadlineStage::Close,
            DeadlineStage::Triage,
        ][..],
    );
    let model = prop::option::of(
        (select(&["corpus-1a2b3c4d", "v3-5e6f7a8b"][..]), 0u16..1100).prop_map(
            |(version, confidence)| ModelVerdict {
                version: version.to_owned(),
                confidence,
            },
        ),
    );
    let urls = prop::collection::vec(select(URLS).prop_map(|url| Url::parse(url).unwrap()), 0..3);
    prop_oneof![
        8 => any::<bool>().prop_map(Step::Next),
        1 => reports().prop_map(Step::Command),
        6 => (categories(), priority, routes(), prop::option::of(workers()), model, prop::option::of(notes()))
            .prop_map(|(category, priority, route, triaged_by, model, priority_reason)| {
                Step::Command(Command::Triage { category, priority, route, triaged_by, model, priority_reason })
            }),
        1 => (danger, notes(), times()).prop_map(|(danger, reason, triage_by)| {
            Step::Command(Command::FlagDanger { danger, reason, triage_by })
        }),
        1 => (notes(), times()).prop_map(|(reason, triage_by)| {
            Step::Command(Command::QueueForOperator { reason, triage_by })
        }),
        1 => prop_oneof![Just(CASE), 1u128..1000].prop_map(|into| {
            Step::Command(Command::Merge { into: CaseId::from_u128(into) })
        }),
        1 => notes().prop_map(|reason| Step::Command(Command::Reject { reason })),
        5 => (prop::option::of(times()), prop::option::of(times()), prop::option::of(times()))
            .prop_map(|(accept, resolve, report_in)| Step::DispatchAlongRoute { accept, resolve, report_in }),
        1 => (assignees(), prop::collection::vec(departments(), 0..3), prop::option::of(times()), prop::option::of(times()))
            .prop_map(|(assignee, participants, accept_deadline, resolve_deadline)| {
                Step::Command(Command::Dispatch { assignee, participants, accept_deadline, resolve_deadline, report_in: None })
            }),
        5 => who().prop_map(Step::Accept),
        2 => (who(), notes()).prop_map(|(by, reason)| Step::Return(by, reason)),
        1 => (who(), routes(), notes()).prop_map(|(by, route, reason)| Step::Refer(by, route, reason)),
        3 => (who(), departments(), prop::collection::vec(departments(), 0..3), prop::option::of(1u32..300), notes())
            .prop_map(|(by, lead, participants, minutes, reason)| Step::Whistle(by, lead, participants, minutes, reason)),
        3 => (prop::option::weighted(0.2, departments()), notes(), times())
            .prop_map(|(department, opinion, at)| Step::ReportIn(department, opinion, at)),
        2 => (who(), notes()).prop_map(|(by, note)| Step::Progress(by, note)),
        3 => (who(), times(), notes()).prop_map(|(by, until, reason)| Step::Postpone(by, until, reason)),
        3 => workers().prop_map(|by| Step::Command(Command::ApprovePostponement { by })),
        2 => (workers(), notes()).prop_map(|(by, reason)| Step::Command(Command::RefusePostponement { by, reason })),
        5 => (who(), notes(), urls).prop_map(|(by, note, evidence)| Step::Resolve(by, note, evidence)),
        4 => (workers(), prop::option::of(notes())).prop_map(|(by, note)| Step::Command(Command::Verify { by, note })),
        2 => (workers(), notes()).prop_map(|(by, reason)| Step::Command(Command::FailVerification { by, reason })),
        4 => (any::<bool>(), any::<bool>(), 0u8..7, prop::option::of(notes())).prop_map(
            |(resolved, satisfied, score, comment)| {
                Step::Command(Command::RecordSatisfaction { resolved, satisfied, score, comment })
            }
        ),
        3 => prop::option::of(workers()).prop_map(|by| Step::Command(Command::Close { by })),
        2 => notes().prop_map(|reason| Step::Command(Command::Reopen { reason })),
        2 => (stage.clone(), times()).prop_map(|(stage, deadline)| Step::Command(Command::WarnDeadline { stage, deadline })),
        2 => (stage, times()).prop_map(|(stage, deadline)| Step::Command(Command::BreachDeadline { stage, deadline })),
        2 => (grids(), times()).prop_map(|(to, at)| Step::Command(Command::Escalate { to, at })),
        1 => (workers(), notes()).prop_map(|(by, note)| Step::Command(Command::Urge { by, note })),
        3 => (
            workers(),
            prop::option::weighted(0.2, grids()),
            prop::option::weighted(0.2, departments()),
            [marks(), marks(), marks()],
            prop::option::of(notes()),
            times(),
        )
            .prop_map(|(by, grid, department, marks, note, at)| {
                Step::RateDepartment { by, grid, department, marks, note, at }
            }),
    ]
}

fn marks() -> impl Strategy<Value = RatingScore> {
    (1u32..=5).prop_map(|mark| RatingScore::new("score", mark).unwrap())
}

/// A sequence: usually a report first, then any steps.
fn sequences() -> impl Strategy<Value = Vec<Step>> {
    (
        prop::bool::weighted(0.9),
        reports(),
        prop::collection::vec(steps(), 0..40),
    )
        .prop_map(|(report_first, report, mut steps)| {
            if report_first {
                steps.insert(0, Step::Command(report));
            }
            steps
        })
}

/// The command a step stands for on `state`.
fn command(state: &CaseState, step: Step) -> Command {
    let by = |who: Who| match who {
        Who::Given(assignee) => assignee,
        // No assignee yet: someone who surely is not, so the command is refused.
        Who::Assignee => state
            .assignee
            .clone()
            .unwrap_or_else(|| Assignee::Department(department("housing"))),
    };
    match step {
        Step::Command(command) => command,
        Step::DispatchAlongRoute {
            accept,
            resolve,
            report_in,
        } => {
            let route = state.route.clone().unwrap_or(Route::Department {
                department: department("water"),
            });
            Command::Dispatch {
                assignee: route.assignee(),
                participants: route.participants().iter().rev().cloned().collect(),
                accept_deadline: accept,
                resolve_deadline: resolve,
                report_in: report_in.map(|until| ReportInWindow {
                    from: state.reported_at.unwrap_or(until),
                    until,
                }),
            }
        }
        Step::Accept(who) => Command::Accept { by: by(who) },
        Step::Return(who, reason) => Command::Return {
            by: by(who),
            reason,
        },
        Step::Refer(who, route, reason) => Command::Refer {
            by: by(who),
            route,
            reason,
        },
        Step::ReportIn(given, opinion, at) => Command::ReportIn {
            department: given
                .or_else(|| {
                    let called = state.report_in.as_ref()?;
                    called.pending().next().cloned()
                })
                .unwrap_or_else(|| department("water")),
            opinion,
            at,
        },
        Step::Whistle(who, lead, participants, report_in_minutes, reason) => Command::Whistle {
            by: match by(who) {
                Assignee::Community(code) => Whistler::Community(code),
                Assignee::Street(code) => Whistler::Street(code),
                // The leader of the case's grid (or of the first grid, for a case without one).
                Assignee::Worker(_) | Assignee::Department(_) => Whistler::GridLeader(
                    state
                        .location
                        .as_ref()
                        .and_then(Location::grid)
                        .and_then(|grid| grid.at_level(GridLevel::Grid))
                        .unwrap_or_else(|| GridCode::parse("330102-001-001-001").unwrap()),
                ),
            },
            lead,
            participants,
            report_in_minutes,
            reason,
        },
        Step::Progress(who, note) => Command::ReportProgress { by: by(who), note },
        Step::Postpone(who, until, reason) => Command::RequestPostponement {
            by: by(who),
            until,
            reason,
        },
        Step::Resolve(who, note, evidence) => Command::Resolve {
            by: by(who),
            note,
            evidence,
        },
        Step::RateDepartment {
            by,
            grid,
            department: given,
            marks: [timeliness, attitude, result],
            note,
            at,
        } => Command::RateDepartment {
            by,
            grid: grid
                .or_else(|| state.location.as_ref().and_then(Location::grid))
                .unwrap_or_else(|| GridCode::parse("330102-001-001-001").unwrap()),
            department: given
                .or_else(|| match state.route.as_ref()? {
                    Route::Department { department } => Some(department.clone()),
                    Route::Joint { lead, .. } => Some(lead.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| department("water")),
            timeliness,
            attitude,
            result,
            note,
            at,
        },
        Step::Next(yes) => next(state, yes),
    }
}

/// The command that takes a case one step further along the loop.
fn next(state: &CaseState, yes: bool) -> Command {
    let assignee = state
        .assignee
        .clone()
        .unwrap_or_else(|| Assignee::Department(department("water")));
    match state.status {
        None | Some(CaseStatus::Merged | CaseStatus::Rejected) => Command::Urge {
            by: worker("supervisor-1"),
            note: note("请尽快处理，居民多次来电"),
        },
        Some(CaseStatus::Reported) => Command::Triage {
            category: CategoryCode::parse("BJ-01-02").unwrap(),
            priority: Priority::Normal,
            route: if yes {
                Route::Department {
                    department: department("roads"),
                }
            } else {
                Route::SelfHandle {
                    worker: worker("li-si"),
                }
            },
            triaged_by: Some(worker("operator-1")),
            model: None,
            priority_reason: None,
        },
        Some(CaseStatus::Triaged) => command(
            state,
            Step::DispatchAlongRoute {
                accept: Some(at(2)),
                resolve: Some(at(72)),
                report_in: Some(at(1)),
            },
        ),
        Some(CaseStatus::Dispatched) => Command::Accept { by: assignee },
        Some(CaseStatus::Accepted) => Command::Resolve {
            by: assignee,
            note: note("已更换水管，恢复供水"),
            evidence: vec![],
        },
        Some(CaseStatus::Resolved) => Command::Verify {
            by: worker("inspector-02"),
            note: None,
        },
        Some(CaseStatus::Verified) => match state.rating {
            None => Command::RecordSatisfaction {
                resolved: yes,
                satisfied: yes,
                score: if yes { 5 } else { 2 },
                comment: None,
            },
            Some(rating) if rating.resolved => Command::Close { by: None },
            Some(_) => Command::Reopen {
                reason: note("居民反映问题仍在"),
            },
        },
        Some(CaseStatus::Closed) => Command::Reopen {
            reason: note("居民反映问题仍在"),
        },
    }
}

/// What a run of a sequence gave.
struct Run {
    state: CaseState,
    history: Vec<Event>,
    accepted: usize,
}

/// Runs `steps` from no case, checking each accepted command's events as they apply.
fn run(steps: Vec<Step>) -> Result<Run, TestCaseError> {
    let mut state = CaseState::default();
    let mut history = Vec::new();
    let mut accepted = 0;
    for step in steps {
        let command = command(&state, step);
        let is_deadline_notice = matches!(
            command,
            Command::WarnDeadline { .. } | Command::BreachDeadline { .. }
        );
        let is_report = matches!(command, Command::Report { .. });
        let is_dispatch = matches!(command, Command::Dispatch { .. });
        let existed = state.exists();
        match decide(&state, command.clone()) {
            Ok(events) => {
                accepted += 1;
                if is_deadline_notice {
                    prop_assert!(events.len() <= 1, "{command:?} gave {events:?}");
                } else if is_dispatch {
                    // A joint dispatch calls its departments to report in with it.
                    prop_assert!(
                        (1..=2).contains(&events.len()),
                        "{command:?} gave {events:?}"
                    );
                } else {
                    prop_assert_eq!(events.len(), 1, "{:?} gave {:?}", command, events);
                }
                for event in events {
                    let before = state.version;
                    state = apply(state, &event);
                    prop_assert_eq!(state.version, before + 1);
                    prop_assert!(state.exists());
                    history.push(event);
                }
            }
            Err(error) => {
                // Refusals say why in words, and only a report opens a case.
                prop_assert!(!error.to_string().is_empty());
                if !existed && !is_report {
                    prop_assert_eq!(&error, &DomainError::CaseDoesNotExist);
                }
                if existed && is_report {
                    let refused_as_existing =
                        matches!(error, DomainError::CaseAlreadyExists { .. });
                    prop_assert!(refused_as_existing);
                }
            }
        }
    }
    Ok(Run {
        state,
        history,
        accepted,
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        ..ProptestConfig::default()
    })]

    /// Random sequences never panic, and every accepted command's events apply.
    #[test]
    fn accepted_commands_apply(steps in sequences()) {
        let run = run(steps)?;
        prop_assert_eq!(run.state.version, run.history.len() as u64);
        // A deadline notice may record nothing, a joint dispatch records its call to report in.
        prop_assert!(run.history.len() <= 2 * run.accepted);
    }

    /// Folding the events again from scratch gives the incremental state.
    #[test]
    fn folding_again_gives_the_same_state(steps in sequences()) {
        let run = run(steps)?;
        prop_assert_eq!(CaseState::from_events(&run.history), run.state);
    }

    /// Every produced event round-trips through the codec, and the decoded history folds to
    /// the same state.
    #[test]
    fn events_round_trip_through_the_codec(steps in sequences()) {
        let run = run(steps)?;
        let mut decoded = Vec::with_capacity(run.history.len());
        for event in &run.history {
            let encoded = codec::encode(event);
            prop_assert_eq!(encoded.event_type, event.type_name());
            let back = codec::decode(encoded.event_type, encoded.schema_version, &encoded.payload);
            prop_assert_eq!(back.as_ref(), Ok(event));
            decoded.push(back.unwrap());
        }
        prop_assert_eq!(CaseState::from_events(&decoded), run.state);
    }

    /// The state survives postcard, as read models keep it.
    #[test]
    fn state_round_trips_through_postcard(steps in sequences()) {
        let run = run(steps)?;
        let bytes = postcard::to_allocvec(&run.state).unwrap();
        let back: CaseState = postcard::from_bytes(&bytes).unwrap();
        prop_assert_eq!(back, run.state);
    }
}

/// The generator reaches far along the loop: most of the loop's commands are accepted in some
/// sequence of a fixed sample.
#[test]
fn sequences_walk_the_whole_loop() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use std::collections::BTreeSet;

    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let mut seen = BTreeSet::new();
    for _ in 0..1000 {
        let steps = sequences().new_tree(&mut runner).unwrap().current();
        for event in run(steps).unwrap().history {
            seen.insert(event.type_name());
        }
    }
    let missing: Vec<&str> = gridcase_domain::EVENT_TYPES
        .iter()
        .copied()
        .filter(|name| !seen.contains(name))
        .collect();
    assert!(missing.is_empty(), "never produced: {missing:?}");
}
