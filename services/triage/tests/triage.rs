//! The triage service against a real nats-server and a real sled store (in-process): cases are
//! reported straight into the store, the service decides them from the event feed, and
//! operators work the manual queue through the generated gRPC client.

use std::path::PathBuf;
use std::time::Duration;

use gridcase_auth::{BearerToken, Secret, TokenTable};
use gridcase_domain::{
    Assignee, CaseId, CaseState, CaseStatus, Channel, Command, Contact, Coordinates,
    DepartmentCode, Description, GridCode, Location, Note, Route, Timestamp, TrackingCode,
    WorkerId,
};
use gridcase_proto::common::v1 as common;
use gridcase_proto::triage::v1::triage_case_request::Route as PbRoute;
use gridcase_proto::triage::v1::triage_client::TriageClient;
use gridcase_proto::triage::v1::{
    JointRoute, ListManualQueueRequest, RejectCaseRequest, TriageCaseRequest,
};
use gridcase_testkit::{wait_until, ServiceHarness};
use gridcase_triage::TriageConfig;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;
use tonic::Code;

/// How long a test waits for the service to decide a case.
const DECISION_TIMEOUT: Duration = Duration::from_secs(30);

/// Grids of the sample city (deploy/config/grid.toml).
const GRID_WITH_WORKERS: &str = "330102-001-001-001";
const MICRO_GRID: &str = "330102-001-001-001-01";
const OTHER_MICRO_GRID: &str = "330102-001-001-002-01";

const OPERATOR_TOKEN: &str = "test-operator-token-0001";
const DEPARTMENT_TOKEN: &str = "test-department-token-0001";

fn tokens() -> TokenTable {
    TokenTable::from_env_value(&format!(
        "{OPERATOR_TOKEN}=operator:op-7,{DEPARTMENT_TOKEN}=department:urban_mgmt:clerk-01"
    ))
    .unwrap()
}

fn operator_token() -> BearerToken {
    BearerToken::new(&Secret::new(OPERATOR_TOKEN.to_owned())).unwrap()
}

/// The store and the triage service running in this process.
struct Harness {
    service: ServiceHarness,
}

gridcase_testkit::derefs_to_service_harness!(Harness, service);

impl Harness {
    async fn start() -> Self {
        let config_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config");
        let service = ServiceHarness::start("triage", move |nats, listener, stop| {
            let config = TriageConfig::new(config_dir.clone(), tokens());
            gridcase_triage::run(config, nats, listener, stop)
        })
        .await;
        Self { service }
    }

    fn client(&self) -> TriageClient<InterceptedService<GrpcChannel, BearerToken>> {
        TriageClient::with_interceptor(self.channel(), operator_token())
    }

    fn triage_channel(&self) -> GrpcChannel {
        self.channel()
    }

    /// Reports case `id` through the case store, as intake would.
    async fn report(&self, id: u128, grid: &str, description: &str) -> CaseId {
        self.report_at(id, grid, None, description).await
    }

    async fn report_at(
        &self,
        id: u128,
        grid: &str,
        coordinates: Option<Coordinates>,
        description: &str,
    ) -> CaseId {
        let case = CaseId::from_u128(id);
        let command = Command::Report {
            case_id: case,
            tracking_code: TrackingCode::from_u64(id as u64),
            channel: Channel::Hotline,
            reporter: Contact::Anonymous,
            location: Location::new(Some(GridCode::parse(grid).unwrap()), None, coordinates)
                .unwrap(),
            description: Description::parse(description).unwrap(),
            category: None,
            media: Vec::new(),
            reported_at: now(),
        };
        self.act(case, "intake:test", command).await;
        case
    }

    /// Carries out `command` on `case` as `actor`.
    async fn act(&self, case: CaseId, actor: &str, command: Command) {
        self.record_as(case, actor, command).await;
    }

    /// Polls the case until `done` holds, failing after [`DECISION_TIMEOUT`].
    async fn wait_for(&self, case: CaseId, done: impl Fn(&CaseState) -> bool) -> CaseState {
        wait_until(
            &format!("case {case} to be decided"),
            DECISION_TIMEOUT,
            || async {
                let state = self.state(case).await;
                done(&state).then_some(state)
            },
        )
        .await
    }

    async fn wait_for_status(&self, case: CaseId, status: CaseStatus) -> CaseState {
        self.wait_for(case, |state| state.status == Some(status))
            .await
    }

    /// Waits until the manual queue lists `case`.
    async fn wait_queued(&self, case: CaseId) {
        wait_until(
            &format!("case {case} to be queued"),
            DECISION_TIMEOUT,
            || async {
                let queue = self
                    .client()
                    .list_manual_queue(ListManualQueueRequest::default())
                    .await
                    .unwrap()
                    .into_inner();
                queue
                    .cases
                    .iter()
                    .any(|item| item.case_id == case.to_string())
                    .then_some(())
            },
        )
        .await;
    }

    async fn shut_down(self) {
        self.service.shut_down().await;
    }
}

fn now() -> Timestamp {
    gridcase_runtime::now()
}

fn department(code: &str) -> DepartmentCode {
    DepartmentCode::parse(code).unwrap()
}

fn triaged(state: &CaseState) -> bool {
    state.status == Some(CaseStatus::Triaged)
}

#[tokio::test]
async fn rules_route_to_department_grid_worker_or_joint_group() {
    let harness = Harness::start().await;
    let lamp = harness
        .report(1, MICRO_GRID, "河坊街路灯不亮好几天了")
        .await;
    let rubbish = harness
        .report(2, GRID_WITH_WORKERS, "楼下垃圾满了没人管")
        .await;
    let lampblack = harness
        .report(3, OTHER_MICRO_GRID, "楼下餐馆油烟很大，窗户都不敢开")
        .await;

    let state = harness.wait_for(lamp, triaged).await;
    assert_eq!(state.category.unwrap().to_string(), "BJ-01-07");
    assert_eq!(
        state.route,
        Some(Route::Department {
            department: department("urban_mgmt")
        })
    );

    let state = harness.wait_for(rubbish, triaged).await;
    assert_eq!(state.category.unwrap().to_string(), "SJ-01-01");
    assert_eq!(
        state.route,
        Some(Route::SelfHandle {
            worker: WorkerId::parse("lin-ming").unwrap()
        })
    );

    let state = harness.wait_for(lampblack, triaged).await;
    let Some(Route::Joint { lead, participants }) = state.route else {
        panic!("not a joint route: {state:?}")
    };
    assert_eq!(lead, department("ecology_env"));
    assert_eq!(
        participants,
        vec![department("urban_mgmt"), department("market_supervision")]
    );

    let loaded = harness.cases.load(lamp).await.unwrap();
    assert_eq!(
        loaded.timeline.last().unwrap().actor.as_deref(),
        Some("triage:rules")
    );
    harness.shut_down().await;
}

#[tokio::test]
async fn a_repeat_in_the_same_place_is_merged_into_the_first() {
    let harness = Harness::start().await;
    let first = harness.report(10, MICRO_GRID, "路灯不亮").await;
    harness.wait_for(first, triaged).await;
    // Same micro-grid, same category.
    let repeat = harness.report(11, MICRO_GRID, "小区门口路灯坏了").await;
    let state = harness.wait_for_status(repeat, CaseStatus::Merged).await;
    assert_eq!(state.merged_into, Some(first));
    // Within 50 m but reported in another micro-grid.
    let here = Coordinates::new(30.2533, 120.1622).unwrap();
    let near = Coordinates::new(30.2535, 120.1622).unwrap();
    let placed = harness
        .report_at(12, OTHER_MICRO_GRID, Some(here), "红绿灯坏了")
        .await;
    harness.wait_for(placed, triaged).await;
    let nearby = harness
        .report_at(13, MICRO_GRID, Some(near), "路口信号灯不亮")
        .await;
    let state = harness.wait_for_status(nearby, CaseStatus::Merged).await;
    assert_eq!(state.merged_into, Some(placed));
    // The first case is untouched.
    assert_eq!(harness.state(first).await.status, Some(CaseStatus::Triaged));
    harness.shut_down().await;
}

#[tokio::test]
async fn an_ambiguous_case_waits_for_an_operator() {
    let harness = Harness::start().await;
    let case = harness
        .report(
            20,
            MICRO_GRID,
            "小区里那个转腰的健身器材轴承坏了，转起来咯吱咯吱响",
        )
        .await;
    harness.wait_queued(case).await;
    let queue = harness
        .client()
        .list_manual_queue(ListManualQueueRequest {
            grid_code: "330102-001".into(),
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let item = queue
        .cases
        .iter()
        .find(|item| item.case_id == case.to_string())
        .expect("queued under its street");
    assert!(
        item.reason.starts_with("no confident category (best "),
        "{item:?}"
    );
    assert_eq!(item.suggested_categories.len(), 3, "{item:?}");
    assert_eq!(item.suggestions.len(), 3, "{item:?}");
    assert!(item.model_version.starts_with("corpus-"), "{item:?}");
    assert_eq!(item.danger, "");
    assert_eq!(item.grid_code, MICRO_GRID);
    // Another street's queue does not show it.
    let elsewhere = harness
        .client()
        .list_manual_queue(ListManualQueueRequest {
            grid_code: "330102-002".into(),
            limit: 10,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(elsewhere.cases.is_empty());
    assert_eq!(harness.state(case).await.status, Some(CaseStatus::Reported));

    let request = TriageCaseRequest {
        case_id: case.to_string(),
        category_code: item.suggested_categories[0].clone(),
        priority: String::new(),
        route: None,
        request_id: "op-req-1".into(),
    };
    let response = harness
        .client()
        .triage_case(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.status(), common::CaseStatus::Triaged);
    assert!(!response.route.is_empty());
    let state = harness.state(case).await;
    assert!(triaged(&state));
    assert_eq!(
        state.category.unwrap().to_string(),
        item.suggested_categories[0]
    );
    // The decision records the authenticated operator.
    let timeline = harness.cases.load(case).await.unwrap().timeline;
    assert_eq!(
        timeline.last().unwrap().actor.as_deref(),
        Some("operator:op-7")
    );
    // A retry of the same request writes nothing more.
    let events = harness.events().await;
    let again = harness
        .client()
        .triage_case(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.status(), common::CaseStatus::Triaged);
    assert_eq!(harness.events().await, events);
    // And the queue no longer lists it.
    let queue = harness
        .client()
        .list_manual_queue(ListManualQueueRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(queue
        .cases
        .iter()
        .all(|item| item.case_id != case.to_string()));
    harness.shut_down().await;
}

#[tokio::test]
async fn a_returned_case_is_triaged_again_elsewhere() {
    let harness = Harness::start().await;
    let case = harness.report(30, MICRO_GRID, "路灯不亮").await;
    let state = harness.wait_for(case, triaged).await;
    let urban = Assignee::Department(department("urban_mgmt"));
    assert_eq!(state.route.as_ref().unwrap().assignee(), urban);
    harness
        .act(
            case,
            "dispatch:test",
            Command::Dispatch {
                assignee: urban.clone(),
                participants: Vec::new(),
                accept_deadline: None,
                resolve_deadline: None,
                report_in: None,
            },
        )
        .await;
    harness
        .act(
            case,
            "department:urban_mgmt",
            Command::Return {
                by: urban.clone(),
                reason: Note::parse("不属于我们").unwrap(),
            },
        )
        .await;
    let state = harness.wait_for(case, triaged).await;
    assert_eq!(state.returned_by, vec![urban.clone()]);
    let route = state.route.unwrap();
    assert_ne!(route.assignee(), urban);
    harness.shut_down().await;
}

#[tokio::test]
async fn bad_requests_are_refused_naming_the_field_and_write_nothing() {
    let harness = Harness::start().await;
    let waiting = harness
        .report(40, MICRO_GRID, "我想咨询一下社保怎么交")
        .await;
    harness.wait_queued(waiting).await;
    let decided = harness.report(41, OTHER_MICRO_GRID, "路灯不亮").await;
    harness.wait_for(decided, triaged).await;
    let events = harness.events().await;

    let good = || TriageCaseRequest {
        case_id: waiting.to_string(),
        category_code: "BJ-01-07".into(),
        priority: String::new(),
        route: None,
        request_id: "bad-1".into(),
    };
    let joint = |lead: &str, participants: &[&str]| {
        Some(PbRoute::Joint(JointRoute {
            lead: lead.into(),
            participants: participants.iter().map(|p| (*p).to_owned()).collect(),
        }))
    };
    #[rustfmt::skip]
    let table: Vec<(&str, TriageCaseRequest, Code, &str)> = vec![
        ("bad case id", TriageCaseRequest { case_id: "xyz".into(), ..good() },
            Code::InvalidArgument, "case_id: "),
        ("unknown case", TriageCaseRequest { case_id: CaseId::from_u128(999).to_string(), ..good() },
            Code::NotFound, "case_id: "),
        ("unknown category", TriageCaseRequest { category_code: "BJ-99-99".into(), ..good() },
            Code::InvalidArgument, "category_code: BJ-99-99 is not in the catalogue"),
        ("malformed category", TriageCaseRequest { category_code: "lamp".into(), ..good() },
            Code::InvalidArgument, "category_code: "),
        ("bad priority", TriageCaseRequest { priority: "soon".into(), ..good() },
            Code::InvalidArgument, "priority: "),
        ("unknown department", TriageCaseRequest { route: Some(PbRoute::Department("nobody".into())), ..good() },
            Code::InvalidArgument, "route.department: "),
        ("unknown worker", TriageCaseRequest { route: Some(PbRoute::SelfHandleWorker("no-one".into())), ..good() },
            Code::InvalidArgument, "route.self_handle_worker: "),
        ("lead among participants", TriageCaseRequest { route: joint("water", &["water", "gas"]), ..good() },
            Code::InvalidArgument, "route.joint.participants: "),
        ("no participants", TriageCaseRequest { route: joint("water", &[]), ..good() },
            Code::InvalidArgument, "route.joint.participants: "),
        ("unknown lead", TriageCaseRequest { route: joint("nobody", &["gas"]), ..good() },
            Code::InvalidArgument, "route.joint.lead: "),
        ("no request id", TriageCaseRequest { request_id: String::new(), ..good() },
            Code::InvalidArgument, "request_id: "),
        ("not awaiting triage", TriageCaseRequest { case_id: decided.to_string(), ..good() },
            Code::FailedPrecondition, "cannot triage: case is triaged"),
    ];
    for (name, request, code, message) in table {
        let status = harness.client().triage_case(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{name}: {status:?}");
        assert!(
            status.message().starts_with(message),
            "{name}: {:?} does not start with {message:?}",
            status.message()
        );
        assert_eq!(harness.events().await, events, "{name} wrote something");
    }

    let reject = |case: CaseId, reason: &str| RejectCaseRequest {
        case_id: case.to_string(),
        reason: reason.into(),
        request_id: "reject-1".into(),
    };
    #[rustfmt::skip]
    let table: Vec<(&str, RejectCaseRequest, Code, &str)> = vec![
        ("empty reason", reject(waiting, ""), Code::InvalidArgument, "reason: "),
        ("bad case id", RejectCaseRequest { case_id: "42".into(), ..reject(waiting, "不属于本系统") },
            Code::InvalidArgument, "case_id: "),
        ("not awaiting triage", reject(decided, "不属于本系统"),
            Code::FailedPrecondition, "cannot reject: case is triaged"),
    ];
    for (name, request, code, message) in table {
        let status = harness.client().reject_case(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{name}: {status:?}");
        assert!(
            status.message().starts_with(message),
            "{name}: {:?} does not start with {message:?}",
            status.message()
        );
        assert_eq!(harness.events().await, events, "{name} wrote something");
    }
    let status = harness
        .client()
        .list_manual_queue(ListManualQueueRequest {
            grid_code: String::new(),
            limit: 501,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("limit: "), "{status:?}");

    // The waiting case can still be rejected properly.
    let response = harness
        .client()
        .reject_case(reject(waiting, "不属于本系统受理范围"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.status(), common::CaseStatus::Rejected);
    assert_eq!(harness.events().await, events + 1);
    harness.shut_down().await;
}

#[tokio::test]
async fn cases_reported_while_triage_is_down_are_decided_when_it_returns() {
    let mut harness = Harness::start().await;
    let before = harness.report(50, MICRO_GRID, "路灯不亮").await;
    harness.wait_for(before, triaged).await;
    harness.stop_service().await;

    let during = harness
        .report(51, OTHER_MICRO_GRID, "楼下餐馆油烟很大")
        .await;
    assert_eq!(
        harness.state(during).await.status,
        Some(CaseStatus::Reported)
    );

    harness.start_service().await;
    let state = harness.wait_for(during, triaged).await;
    assert!(matches!(state.route, Some(Route::Joint { .. })));
    // The case decided before the restart was not decided again.
    let loaded = harness.cases.load(before).await.unwrap();
    assert_eq!(loaded.timeline.len(), 2);
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_need_a_token_and_an_operator_role() {
    let harness = Harness::start().await;
    let channel = harness.triage_channel();
    let mut anonymous = TriageClient::new(channel.clone());
    let status = anonymous
        .list_manual_queue(ListManualQueueRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let department = BearerToken::new(&Secret::new(DEPARTMENT_TOKEN.to_owned())).unwrap();
    let mut department = TriageClient::with_interceptor(channel, department);
    let status = department
        .list_manual_queue(ListManualQueueRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("ListManualQueue"), "{status:?}");
    harness
        .client()
        .list_manual_queue(ListManualQueueRequest::default())
        .await
        .unwrap();
}
