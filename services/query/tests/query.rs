//! The query service against a real nats-server and a real sled store (in-process): cases are
//! reported, triaged and dispatched through the case store, and the service's projections are
//! read over gRPC — before and after a restart, and for cases written while it runs.

use gridcase_auth::TokenTable;
use gridcase_domain::{
    Address, Assignee, CaseId, CategoryCode, Channel, Command, DepartmentCode, Description,
    GridCode, Location, Note, Phone, Priority, Reporter, Route, Timestamp, TrackingCode, Url,
    WorkerId,
};
use gridcase_proto::common::v1 as common;
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::query::v1::{
    BoardReply, BoardRequest, GetCaseReply, GetCaseRequest, ListCasesReply, ListCasesRequest,
    PublicBoardRequest, PublicCasesRequest, PublicState,
};
use gridcase_query::QueryConfig;
use gridcase_testkit::sample_config_dir as config_dir;
use gridcase_testkit::{wait_until, AuthedChannel, Sandbox, ServiceHarness, WAIT};
use tonic::Code;

const PHONE: &str = "13812345678";
/// 燃气井盖 (gas manhole cover), owned by the gas company.
const GAS_CATEGORY: &str = "BJ-01-05";
/// 上水井盖 (water manhole cover), owned by the water company.
const WATER_CATEGORY: &str = "BJ-01-01";
/// Two grids in street 330102-001 (different communities) and one in street 330102-002.
const GRID_A: &str = "330102-001-001-001";
const GRID_B: &str = "330102-001-002-001";
const GRID_C: &str = "330102-002-001-001";
const HOUR_MS: i64 = 3_600_000;

type Client = QueryClient<AuthedChannel>;

const CALLERS: &[(&str, &str)] = &[
    ("sup", "supervisor:sup-1"),
    ("admin", "admin:root-1"),
    ("operator", "operator:op-1"),
    ("gas", "department:gas:clerk-1"),
    ("gateway", "gateway:qr-web"),
];

fn tokens() -> TokenTable {
    gridcase_testkit::token_table(CALLERS)
}

fn department(code: &str) -> DepartmentCode {
    DepartmentCode::parse(code).unwrap()
}

/// The store running in this process, and the query service once the test starts it.
struct Harness {
    service: ServiceHarness,
    next_case: u128,
    base: Timestamp,
}

gridcase_testkit::derefs_to_service_harness!(Harness, service);

impl Harness {
    async fn start(salt: u128) -> Self {
        let service =
            ServiceHarness::stopped_in(Sandbox::start(), "query", |nats, listener, stop| {
                gridcase_query::run(
                    QueryConfig::new(config_dir(), tokens()),
                    nats,
                    listener,
                    stop,
                )
            })
            .await;
        Self {
            service,
            next_case: salt << 64,
            base: gridcase_runtime::now().plus_millis(-HOUR_MS),
        }
    }

    fn client_as(&self, who: &str) -> Client {
        self.service.client_as(who)
    }

    async fn shut_down(self) {
        self.service.shut_down().await;
    }

    /// Waits until the service reflects every event the store holds now.
    async fn wait_caught_up(&self) {
        let head = self.events().await;
        let client = self.client_as("sup");
        wait_until(
            &format!("the query service to catch up to event {head}"),
            WAIT,
            || {
                let mut client = client.clone();
                async move {
                    let reply = client.board(BoardRequest {}).await.unwrap().into_inner();
                    (reply.caught_up_to >= head).then_some(())
                }
            },
        )
        .await;
    }

    async fn record(&mut self, case: CaseId, actor: &str, command: Command) {
        self.record_as(case, actor, command).await;
    }

    /// A case reported in `grid`, each one a minute after the previous.
    async fn reported(&mut self, grid: &str) -> CaseId {
        self.next_case += 1;
        let case = CaseId::from_u128(self.next_case);
        let minutes = i64::try_from(self.next_case & 0xffff).unwrap();
        let reported_at = self.base.plus_millis(minutes * 60_000);
        self.record(
            case,
            "operator:op-7",
            Command::Report {
                case_id: case,
                tracking_code: TrackingCode::from_u64(self.next_case as u64),
                channel: Channel::Hotline,
                reporter: Reporter {
                    name: None,
                    phone: Some(Phone::parse(PHONE).unwrap()),
                },
                location: Location::new(
                    Some(GridCode::parse(grid).unwrap()),
                    Some(Address::parse("涌金路 12 号门口").unwrap()),
                    None,
                )
                .unwrap(),
                description: Description::parse("井盖缺失，有人掉进去的危险").unwrap(),
                category: None,
                media: vec![],
                reported_at,
            },
        )
        .await;
        case
    }

    async fn triaged(&mut self, grid: &str, category: &str, to: &str) -> CaseId {
        let case = self.reported(grid).await;
        self.record(
            case,
            "operator:op-8",
            Command::Triage {
                category: CategoryCode::parse(category).unwrap(),
                priority: Priority::Urgent,
                route: Route::Department {
                    department: department(to),
                },
                triaged_by: None,
                model: None,
                priority_reason: None,
            },
        )
        .await;
        case
    }

    async fn dispatched(&mut self, grid: &str, category: &str, to: &str) -> CaseId {
        self.dispatched_due(grid, category, to, HOUR_MS).await
    }

    /// A case dispatched to `to` that must be accepted `accept_in_ms` from now (negative: the
    /// deadline has passed).
    async fn dispatched_due(
        &mut self,
        grid: &str,
        category: &str,
        to: &str,
        accept_in_ms: i64,
    ) -> CaseId {
        let case = self.triaged(grid, category, to).await;
        let now = gridcase_runtime::now();
        self.record(
            case,
            "dispatcher:auto",
            Command::Dispatch {
                assignee: Assignee::Department(department(to)),
                participants: vec![],
                accept_deadline: Some(now.plus_millis(accept_in_ms)),
                resolve_deadline: Some(now.plus_millis(accept_in_ms.max(0) + 10 * HOUR_MS)),
            },
        )
        .await;
        case
    }
}

async fn get(client: &mut Client, case: CaseId) -> GetCaseReply {
    client
        .get_case(GetCaseRequest {
            case_id: case.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn list(client: &mut Client, request: ListCasesRequest) -> ListCasesReply {
    client.list_cases(request).await.unwrap().into_inner()
}

fn ids(reply: &ListCasesReply) -> Vec<String> {
    reply.cases.iter().map(|c| c.case_id.clone()).collect()
}

fn counts(board: &BoardReply, street: bool, grid: &str) -> (u64, Vec<(String, u64)>) {
    let areas = if street {
        &board.streets
    } else {
        &board.communities
    };
    let area = areas
        .iter()
        .find(|a| a.grid_code == grid)
        .unwrap_or_else(|| panic!("no area {grid} on the board: {board:?}"));
    let mut by_status: Vec<(String, u64)> = area
        .by_status
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    by_status.sort();
    (area.total, by_status)
}

fn strip(mut board: BoardReply) -> BoardReply {
    board.caught_up_to = 0;
    board
}

#[tokio::test(flavor = "multi_thread")]
async fn projections_answer_lists_boards_and_timelines_live_and_after_a_restart() {
    let mut h = Harness::start(1).await;
    let a = h.dispatched(GRID_A, GAS_CATEGORY, "gas").await;
    let b = h.triaged(GRID_B, WATER_CATEGORY, "water").await;
    let c = h.reported(GRID_C).await;
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("sup");

    // The timeline, in order, with actors; the phone masked.
    let reply = get(&mut client, a).await;
    let summary = reply.case.clone().unwrap();
    assert_eq!(summary.status(), common::CaseStatus::Dispatched);
    assert_eq!(summary.category, GAS_CATEGORY);
    assert_eq!(summary.grid_code, GRID_A);
    assert_eq!(summary.assignee, "department gas");
    assert!(summary.accept_deadline_ms > 0 && summary.resolve_deadline_ms > 0);
    assert!(!summary.overdue);
    assert_eq!(summary.reporter_phone_masked, "138****5678");
    assert!(!format!("{reply:?}").contains(PHONE));
    let timeline: Vec<(&str, &str, &str)> = reply
        .timeline
        .iter()
        .map(|e| (e.event_type.as_str(), e.stage.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        timeline,
        [
            ("CaseReported", "intake", "operator:op-7"),
            ("CaseTriaged", "triage", "operator:op-8"),
            ("CaseDispatched", "dispatch", "dispatcher:auto"),
        ]
    );
    assert!(reply
        .timeline
        .windows(2)
        .all(|w| w[0].position < w[1].position && w[0].recorded_at_ms <= w[1].recorded_at_ms));
    assert!(reply.timeline.iter().all(|e| !e.summary.is_empty()));

    // Lists: newest first, filtered, paged.
    let all = list(&mut client, ListCasesRequest::default()).await;
    assert_eq!(ids(&all), [c.to_string(), b.to_string(), a.to_string()]);
    assert_eq!(all.total, 3);
    assert!(all.next_page_token.is_empty());
    let dispatched = list(
        &mut client,
        ListCasesRequest {
            status: common::CaseStatus::Dispatched as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&dispatched), [a.to_string()]);
    let street = list(
        &mut client,
        ListCasesRequest {
            grid_code: "330102-001".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&street), [b.to_string(), a.to_string()]);
    let water = list(
        &mut client,
        ListCasesRequest {
            department: "water".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&water), [b.to_string()]);
    let mut paged = Vec::new();
    let mut token = String::new();
    for _ in 0..3 {
        let page = list(
            &mut client,
            ListCasesRequest {
                page_size: 1,
                page_token: token.clone(),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(page.cases.len(), 1);
        paged.extend(ids(&page));
        token = page.next_page_token;
    }
    assert!(token.is_empty());
    assert_eq!(paged, ids(&all));

    // Board: per street and per community.
    let board = client.board(BoardRequest {}).await.unwrap().into_inner();
    assert_eq!(
        counts(&board, true, "330102-001"),
        (2, vec![("dispatched".into(), 1), ("triaged".into(), 1)])
    );
    assert_eq!(
        counts(&board, true, "330102-002"),
        (1, vec![("reported".into(), 1)])
    );
    assert_eq!(
        counts(&board, false, "330102-001-001"),
        (1, vec![("dispatched".into(), 1)])
    );
    assert_eq!(board.communities.len(), 3);

    // A case written while the service runs appears.
    let d = h.dispatched(GRID_C, GAS_CATEGORY, "gas").await;
    h.wait_caught_up().await;
    assert_eq!(
        get(&mut client, d).await.case.unwrap().status(),
        common::CaseStatus::Dispatched
    );
    let gas = list(
        &mut client,
        ListCasesRequest {
            department: "gas".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&gas), [d.to_string(), a.to_string()]);

    // A restart rebuilds the same answers from the log.
    let before_case = get(&mut client, a).await;
    let before_board = strip(client.board(BoardRequest {}).await.unwrap().into_inner());
    h.stop_service().await;
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("admin");
    assert_eq!(get(&mut client, a).await.timeline, before_case.timeline);
    assert_eq!(
        get(&mut client, a).await.case.map(|s| s.case_id),
        before_case.case.map(|s| s.case_id)
    );
    assert_eq!(
        strip(client.board(BoardRequest {}).await.unwrap().into_inner()),
        before_board
    );
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn colours_stages_and_department_indicators_follow_the_log() {
    let mut h = Harness::start(2).await;
    // Reported up to an hour ago: accepting a minute from now is past the warning point.
    let late = h.dispatched_due(GRID_A, GAS_CATEGORY, "gas", -60_000).await;
    let near = h.dispatched_due(GRID_A, GAS_CATEGORY, "gas", 60_000).await;
    let far = h
        .dispatched_due(GRID_B, WATER_CATEGORY, "water", 100 * HOUR_MS)
        .await;
    let waiting = h.reported(GRID_C).await;
    h.record(
        far,
        "department:water:clerk-1",
        Command::Accept {
            by: Assignee::Department(department("water")),
        },
    )
    .await;
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("sup");

    let colour_and_stage = |reply: GetCaseReply| {
        let summary = reply.case.unwrap();
        (summary.colour, summary.stage)
    };
    assert_eq!(
        colour_and_stage(get(&mut client, late).await),
        ("red".to_owned(), "resolve".to_owned())
    );
    assert_eq!(
        colour_and_stage(get(&mut client, near).await),
        ("yellow".to_owned(), "resolve".to_owned())
    );
    assert_eq!(
        colour_and_stage(get(&mut client, far).await),
        ("green".to_owned(), "resolve".to_owned())
    );
    assert_eq!(
        colour_and_stage(get(&mut client, waiting).await),
        ("green".to_owned(), "triage".to_owned())
    );
    let red = list(
        &mut client,
        ListCasesRequest {
            colour: "red".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&red), [late.to_string()]);
    let refused = client
        .list_cases(ListCasesRequest {
            colour: "purple".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("colour"), "{refused:?}");

    let board = client.board(BoardRequest {}).await.unwrap().into_inner();
    let street = board
        .streets
        .iter()
        .find(|a| a.grid_code == "330102-001")
        .unwrap();
    let sorted = |map: &std::collections::HashMap<String, u64>| {
        let mut pairs: Vec<(String, u64)> = map.iter().map(|(k, v)| (k.clone(), *v)).collect();
        pairs.sort();
        pairs
    };
    assert_eq!(sorted(&street.by_stage), [("resolve".to_owned(), 3)]);
    assert_eq!(
        sorted(&street.by_colour),
        [
            ("green".to_owned(), 1),
            ("red".to_owned(), 1),
            ("yellow".to_owned(), 1)
        ]
    );

    // Indicators: water accepted its one dispatch in time, gas none of its two.
    let period = gridcase_proto::evaluation::v1::DepartmentIndicatorsRequest {
        from_ms: h.base.as_millis() - HOUR_MS,
        to_ms: gridcase_runtime::now().as_millis() + HOUR_MS,
    };
    let reply = client
        .department_indicators(period)
        .await
        .unwrap()
        .into_inner();
    let rows: Vec<(&str, u64, u64, Option<f64>, u32)> = reply
        .departments
        .iter()
        .map(|d| {
            (
                d.department.as_str(),
                d.dispatched,
                d.accepted_on_time,
                d.response_rate,
                d.rank,
            )
        })
        .collect();
    assert_eq!(
        rows,
        // Best score first; too few cases due for either to be ranked.
        [("water", 1, 1, Some(1.0), 0), ("gas", 2, 0, Some(0.0), 0)]
    );
    assert_eq!(
        reply.events_read, 11,
        "4 reports, 3 triages, 3 dispatches, 1 acceptance"
    );
    let empty = client
        .department_indicators(
            gridcase_proto::evaluation::v1::DepartmentIndicatorsRequest {
                from_ms: period.to_ms,
                to_ms: period.to_ms,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert!(empty.message().starts_with("to_ms:"), "{empty:?}");
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_unknown_cases_and_department_callers_are_refused() {
    let mut h = Harness::start(2).await;
    h.reported(GRID_A).await;
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("operator");

    let status = client
        .get_case(GetCaseRequest {
            case_id: "not-a-case".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("case_id"), "{status:?}");

    let status = client
        .get_case(GetCaseRequest {
            case_id: CaseId::from_u128(999).to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    for (request, field) in [
        (
            ListCasesRequest {
                page_size: 500,
                ..Default::default()
            },
            "page_size",
        ),
        (
            ListCasesRequest {
                grid_code: "33-01".into(),
                ..Default::default()
            },
            "grid_code",
        ),
        (
            ListCasesRequest {
                grid_code: "330102-009".into(),
                ..Default::default()
            },
            "grid_code",
        ),
        (
            ListCasesRequest {
                colour: "purple".into(),
                ..Default::default()
            },
            "colour",
        ),
        (
            ListCasesRequest {
                status: 99,
                ..Default::default()
            },
            "status",
        ),
        (
            ListCasesRequest {
                department: "no_such_department".into(),
                ..Default::default()
            },
            "department",
        ),
        (
            ListCasesRequest {
                page_token: "garbage".into(),
                ..Default::default()
            },
            "page_token",
        ),
    ] {
        let status = client.list_cases(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with(field), "{field}: {status:?}");
    }

    let mut gas = h.client_as("gas");
    let status = gas.board(BoardRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = gas
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn public_cases_and_boards_show_no_personal_data_and_follow_the_log() {
    let mut h = Harness::start(4).await;
    let open = h.dispatched(GRID_A, GAS_CATEGORY, "gas").await;
    let closed = h.dispatched(GRID_A, WATER_CATEGORY, "water").await;
    let elsewhere = h.reported(GRID_C).await;
    let water = Assignee::Department(department("water"));
    let checker = WorkerId::parse("lin-ming").unwrap();
    for command in [
        Command::Accept { by: water.clone() },
        Command::Resolve {
            by: water,
            note: Note::parse("已更换新井盖并加固").unwrap(),
            evidence: vec![Url::parse("https://gw.example.cn/media/ab12.jpg").unwrap()],
        },
        Command::Verify {
            by: checker,
            note: None,
        },
        Command::RecordSatisfaction {
            resolved: true,
            satisfied: true,
            score: 5,
            comment: None,
        },
        Command::Close { by: None },
    ] {
        h.record(closed, "department:water:clerk-2", command).await;
    }
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("gateway");
    let codes = |reply: &gridcase_proto::query::v1::PublicCasesReply| -> Vec<String> {
        reply.cases.iter().map(|c| c.case_id.clone()).collect()
    };

    // Newest first, by state, without the reporter's phone.
    let all = client
        .public_cases(PublicCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        codes(&all),
        [elsewhere.to_string(), closed.to_string(), open.to_string()]
    );
    assert_eq!((all.total, all.more), (3, false));
    assert!(!format!("{all:?}").contains(PHONE));
    assert!(!format!("{all:?}").contains("5678"));
    let only_closed = client
        .public_cases(PublicCasesRequest {
            state: PublicState::Closed as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(codes(&only_closed), [closed.to_string()]);
    let limited = client
        .public_cases(PublicCasesRequest {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (limited.cases.len(), limited.total, limited.more),
        (1, 1, true),
        "the scan stops at the limit"
    );
    let counted = client
        .public_cases(PublicCasesRequest {
            limit: 1,
            count_all: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (counted.cases.len(), counted.total, counted.more),
        (1, 3, true)
    );

    // By tracking code (lowercase, no dash): the resolution, evidence and the stages.
    let tracking = TrackingCode::from_u64(closed.as_u128() as u64).to_string();
    let by_code = client
        .public_cases(PublicCasesRequest {
            tracking_codes: vec![tracking.replace('-', "").to_lowercase(), "ZZZZ-ZZZZ".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_code.cases.len(), 1, "{by_code:?}");
    let case = &by_code.cases[0];
    assert_eq!(case.tracking_code, tracking);
    assert_eq!(case.status(), common::CaseStatus::Closed);
    assert_eq!(case.state(), PublicState::Closed);
    assert_eq!(case.department, "water");
    assert_eq!(case.resolution_note, "已更换新井盖并加固");
    assert_eq!(case.evidence_urls, ["https://gw.example.cn/media/ab12.jpg"]);
    assert_eq!(case.address, "涌金路 12 号门口");
    assert_eq!(case.channel, "hotline");
    assert_eq!(case.rating_score, 5);
    assert_eq!(case.expected_at_ms, 0, "a closed case expects nothing");
    let stages: Vec<common::CaseStatus> = case.stages.iter().map(|s| s.status()).collect();
    assert_eq!(
        stages,
        [
            common::CaseStatus::Reported,
            common::CaseStatus::Triaged,
            common::CaseStatus::Dispatched,
            common::CaseStatus::Accepted,
            common::CaseStatus::Resolved,
            common::CaseStatus::Verified,
            common::CaseStatus::Closed,
        ]
    );
    assert!(case.updated_at_ms >= case.reported_at_ms);

    // The board of street 330102-001: its two communities, one with both cases.
    let now = gridcase_runtime::now().as_millis();
    let board = client
        .public_board(PublicBoardRequest {
            area_code: "330102-001".into(),
            from_ms: now - 30 * 24 * HOUR_MS,
            to_ms: now + HOUR_MS,
        })
        .await
        .unwrap()
        .into_inner();
    let rows: Vec<&str> = board
        .communities
        .iter()
        .map(|c| c.community_code.as_str())
        .collect();
    assert_eq!(rows, ["330102-001-001", "330102-001-002"]);
    let row = &board.communities[0];
    assert_eq!(
        (
            row.reported,
            row.closed,
            row.closed_on_time,
            row.ratings,
            row.satisfied
        ),
        (2, 1, 1, 1, 1)
    );
    let top: Vec<(&str, u64)> = row
        .top_categories
        .iter()
        .map(|c| (c.category.as_str(), c.cases))
        .collect();
    assert_eq!(
        top,
        [(WATER_CATEGORY, 1), (GAS_CATEGORY, 1)],
        "ties by code"
    );
    let departments: Vec<(&str, u64, u64)> = row
        .departments
        .iter()
        .map(|d| (d.department.as_str(), d.due, d.on_time))
        .collect();
    assert_eq!(departments, [("water", 1, 1)]);
    assert_eq!(board.communities[1].reported, 0);

    // The gateway reads only what is public.
    let refused = client
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    h.shut_down().await;
}

/// All cases' ids of a list, page after page of `size`.
async fn all_pages(client: &mut Client, request: ListCasesRequest, size: u32) -> Vec<String> {
    let mut ids_seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(
            client,
            ListCasesRequest {
                page_size: size,
                page_token: token.clone(),
                ..request.clone()
            },
        )
        .await;
        ids_seen.extend(ids(&page));
        if page.next_page_token.is_empty() {
            return ids_seen;
        }
        token = page.next_page_token;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keyset_pages_neither_skip_nor_repeat_while_cases_arrive() {
    let mut h = Harness::start(5).await;
    let mut first = Vec::new();
    for grid in [GRID_A, GRID_B, GRID_C, GRID_A, GRID_B, GRID_C, GRID_A] {
        first.push(h.reported(grid).await.to_string());
    }
    first.reverse(); // newest first
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("sup");
    let page = |token: String| ListCasesRequest {
        page_size: 3,
        page_token: token,
        ..Default::default()
    };
    let one = list(&mut client, page(String::new())).await;
    assert_eq!(one.total, 7);
    // New reports arrive between the pages: newer than every case listed so far.
    h.reported(GRID_B).await;
    h.reported(GRID_C).await;
    h.wait_caught_up().await;
    let two = list(&mut client, page(one.next_page_token.clone())).await;
    h.reported(GRID_A).await;
    h.wait_caught_up().await;
    let three = list(&mut client, page(two.next_page_token.clone())).await;
    assert!(three.next_page_token.is_empty(), "{three:?}");
    let seen: Vec<String> = [ids(&one), ids(&two), ids(&three)].concat();
    assert_eq!(seen, first, "every case once, newest first, none skipped");
    assert_eq!(three.total, 10, "the total follows the arrivals");
    h.shut_down().await;
}

/// A deterministic xorshift, so a failure can be replayed.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn indexed_lists_agree_with_a_full_scan_on_random_cases() {
    let mut h = Harness::start(6).await;
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let grids = [GRID_A, GRID_B, GRID_C];
    let categories = [(GAS_CATEGORY, "gas"), (WATER_CATEGORY, "water")];
    for _ in 0..48 {
        let grid = grids[random.below(3)];
        let (category, department) = categories[random.below(2)];
        match random.below(3) {
            0 => h.reported(grid).await,
            1 => h.triaged(grid, category, department).await,
            _ => h.dispatched(grid, category, department).await,
        };
    }
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("sup");
    let everything = list(
        &mut client,
        ListCasesRequest {
            page_size: 200,
            ..Default::default()
        },
    )
    .await
    .cases;
    assert_eq!(everything.len(), 48);
    let statuses = [
        common::CaseStatus::Unspecified,
        common::CaseStatus::Reported,
        common::CaseStatus::Triaged,
        common::CaseStatus::Dispatched,
    ];
    let areas = ["", "330102-001", "330102-001-002", GRID_A, "330102"];
    let departments = ["", "gas", "water"];
    let category_filters = ["", GAS_CATEGORY, WATER_CATEGORY];
    for status in statuses {
        for area in areas {
            for department in departments {
                for category in category_filters {
                    let request = ListCasesRequest {
                        status: status as i32,
                        grid_code: area.into(),
                        department: department.into(),
                        category: category.into(),
                        ..Default::default()
                    };
                    let expected: Vec<String> = everything
                        .iter()
                        .filter(|c| {
                            status == common::CaseStatus::Unspecified || c.status() == status
                        })
                        .filter(|c| {
                            area.is_empty()
                                || c.grid_code == area
                                || c.grid_code.starts_with(&format!("{area}-"))
                        })
                        .filter(|c| {
                            let named = format!("department {department}");
                            department.is_empty() || c.route == named || c.assignee == named
                        })
                        .filter(|c| category.is_empty() || c.category == category)
                        .map(|c| c.case_id.clone())
                        .collect();
                    let paged = all_pages(&mut client, request.clone(), 4).await;
                    assert_eq!(paged, expected, "{request:?}");
                    let total = list(&mut client, request.clone()).await.total;
                    assert_eq!(total, expected.len() as u64, "total of {request:?}");
                }
            }
        }
    }
    h.shut_down().await;
}
