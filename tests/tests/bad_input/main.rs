//! Bad input to every RPC of the running system: one table of requests that must be refused,
//! each with the gRPC code and a piece of the message that names the field or the rule broken.
//! The rows of each service are in its own module; the RPCs they must cover are read from the
//! proto descriptor set, so a new RPC without rows fails the test.
//!
//! The whole system runs (a real nats-server, the sled store and the seven services). A few
//! real cases are set up first — one dispatched to a department and waiting, one accepted, one
//! waiting in the manual triage queue, one rejected — so wrong-state requests have something
//! to be wrong about. Then the store's event count is recorded, and after every row it must
//! be the same: a refused request writes nothing.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use gridcase::system::Service;
use gridcase_bus::StoreClient;
use gridcase_eventstore::EventStore;
use gridcase_proto::common::v1::{Coordinates, Location};
use gridcase_proto::dispatch::v1::dispatch_client::DispatchClient;
use gridcase_proto::dispatch::v1::{
    AcceptRequest, Actor, ReferRequest, ReportInRequest, ReportProgressRequest,
    RequestPostponementRequest, ResolveRequest, ReturnRequest, WhistleRequest,
};
use gridcase_proto::evaluation::v1::evaluation_client::EvaluationClient;
use gridcase_proto::evaluation::v1::{
    CloseCaseRequest, DepartmentIndicatorsRequest, RateDepartmentRequest, RecordRatingRequest,
    VerifyCaseRequest,
};
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::intake::v1::{
    Channel as ReportChannel, GetCaseStatusRequest, ReportCaseRequest, Reporter,
};
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::query::v1::{
    BoardRequest, GetCaseRequest, GetReporterContactRequest, ListCasesRequest, ListInboxRequest,
    PeriodRequest, PublicBoardRequest, PublicCasesRequest, SettlementIndicatorsRequest,
};
use gridcase_proto::store::v1::store_admin_client::StoreAdminClient;
use gridcase_proto::store::v1::{StatsRequest, VerifyRequest};
use gridcase_proto::supervision::v1::supervision_client::SupervisionClient;
use gridcase_proto::supervision::v1::{
    ApprovePostponementRequest, GetCaseColourRequest, RefusePostponementRequest, UrgeCaseRequest,
};
use gridcase_proto::triage::v1::triage_case_request::Route;
use gridcase_proto::triage::v1::triage_client::TriageClient;
use gridcase_proto::triage::v1::{
    JointRoute, ListManualQueueRequest, RejectCaseRequest, TriageCaseRequest,
};
use gridcase_testkit::{token_of, token_table, wait_until};
use gridcase_tests::{City, CityOptions};
use prost::Message;
use prost_types::FileDescriptorSet;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

const WAIT: Duration = Duration::from_secs(60);

/// Everyone the table calls as: `(who, role:id)`. `ghost-worker` holds a valid token for a
/// grid worker the reference data does not know.
const CALLERS: &[(&str, &str)] = &[
    ("operator", "operator:op-1"),
    ("supervisor", "supervisor:sup-1"),
    ("admin", "admin:admin-1"),
    ("gateway", "gateway:qr-1"),
    ("lin-ming", "grid_worker:lin-ming"),
    ("ghost", "grid_worker:ghost-worker"),
    ("gas", "department:gas:clerk-1"),
    ("water", "department:water:clerk-1"),
    ("chen-lijuan", "grid_worker:chen-lijuan"),
    ("yongjin", "community:330102-001-001:secretary-1"),
    ("qingbo", "community:330102-001-002:secretary-1"),
    ("liulang", "street:330102-001:office-1"),
    ("ecology_env", "department:ecology_env:clerk-1"),
    ("wang-yan", "grid_leader:330102-001-001-001:wang-yan"),
    ("zhao-lei", "member:sf-zhao-lei"),
    ("ghost-member", "member:ghost-member"),
];

/// 燃气井盖 (gas manhole cover): the gas company's, never self-handled.
const GAS_CATEGORY: &str = "BJ-01-05";
/// 上水井盖 (water manhole cover): the water company's.
const WATER_CATEGORY: &str = "BJ-01-01";
/// 暴露垃圾 (exposed rubbish): urban management's, a grid worker may settle it on the spot.
const SELF_HANDLE_CATEGORY: &str = "SJ-01-01";
// Three grids of the sample city, so no setup case looks like a duplicate of another.
const GRID_A: &str = "330102-001-001-001";
const GRID_B: &str = "330102-001-001-002";
const GRID_C: &str = "330102-001-001-003";
/// Well formed, but no grid of the sample city.
const UNKNOWN_GRID: &str = "330102-009-001-001";
/// Well formed, but no category of the catalogue.
const UNKNOWN_CATEGORY: &str = "BJ-99-99";
/// Well formed, and no case has it.
const UNKNOWN_CASE: &str = "0123456789abcdef0123456789abcdef";
/// Well formed, and no case has it.
const UNKNOWN_TRACKING_CODE: &str = "2345-6789";

/// How a row's request authenticates.
#[derive(Debug, Clone, Copy)]
enum Auth {
    /// With the token of a caller of [`CALLERS`].
    As(&'static str),
    /// Without an `authorization` header.
    NoToken,
    /// With this `authorization` header, verbatim.
    Header(&'static str),
}

const OPERATOR: Auth = Auth::As("operator");
const SUPERVISOR: Auth = Auth::As("supervisor");
const ADMIN: Auth = Auth::As("admin");
const GATEWAY: Auth = Auth::As("gateway");
const LIN_MING: Auth = Auth::As("lin-ming");
const GHOST: Auth = Auth::As("ghost");
const CHEN_LIJUAN: Auth = Auth::As("chen-lijuan");
const YONGJIN: Auth = Auth::As("yongjin");
const QINGBO: Auth = Auth::As("qingbo");
const LIULANG: Auth = Auth::As("liulang");
const GAS: Auth = Auth::As("gas");
const ECOLOGY: Auth = Auth::As("ecology_env");
const WANG_YAN: Auth = Auth::As("wang-yan");
const WATER: Auth = Auth::As("water");
const ZHAO_LEI: Auth = Auth::As("zhao-lei");
const GHOST_MEMBER: Auth = Auth::As("ghost-member");
const UNKNOWN_TOKEN: Auth = Auth::Header("Bearer no-such-token-0000000000");
const NOT_BEARER: Auth = Auth::Header("Basic b3BlcmF0b3I6c2VjcmV0");

fn request<T>(message: T, auth: Auth) -> Request<T> {
    let mut request = Request::new(message);
    let header = match auth {
        Auth::As(who) => Some(format!("Bearer {}", token_of(who))),
        Auth::NoToken => None,
        Auth::Header(header) => Some(header.to_owned()),
    };
    if let Some(header) = header {
        request
            .metadata_mut()
            .insert("authorization", header.parse().unwrap());
    }
    request
}

/// One RPC call, not yet sent; only its status matters.
type Call = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

/// `client.method(message)` on a new client of `channel`, as `auth`.
macro_rules! call {
    ($client:ident, $channel:expr, $method:ident, $auth:expr, $message:expr) => {{
        let mut client = $client::new($channel.clone());
        let request = request($message, $auth);
        let call: Call = Box::pin(async move { client.$method(request).await.map(drop) });
        call
    }};
}

mod care;
mod dispatch;
mod evaluation;
mod intake;
mod people;
mod query;
mod store;
mod supervision;
mod triage;

/// A request that must be refused.
struct Row {
    /// `service.Rpc`.
    rpc: &'static str,
    /// What is wrong with it.
    what: &'static str,
    call: Call,
    code: Code,
    /// A piece of the status message naming the field or the rule.
    message: &'static str,
}

/// The rows, built by one function per service. Those functions skip rustfmt: a row per
/// request, two or three lines each, reads as a table; one line per argument would not.
#[derive(Default)]
struct Table(Vec<Row>);

impl Table {
    fn row(
        &mut self,
        rpc: &'static str,
        what: &'static str,
        code: Code,
        message: &'static str,
        call: Call,
    ) {
        self.0.push(Row {
            rpc,
            what,
            call,
            code,
            message,
        });
    }
}

/// A gRPC channel to each service.
struct Channels {
    intake: Channel,
    triage: Channel,
    dispatch: Channel,
    supervision: Channel,
    evaluation: Channel,
    query: Channel,
    store: Channel,
}

impl Channels {
    fn of(city: &City) -> Self {
        let channel = |service| city.channel(service);
        Self {
            intake: channel(Service::Intake),
            triage: channel(Service::Triage),
            dispatch: channel(Service::Dispatch),
            supervision: channel(Service::Supervision),
            evaluation: channel(Service::Evaluation),
            query: channel(Service::Query),
            store: channel(Service::Store),
        }
    }
}

/// The setup cases, by id.
struct Cases {
    /// Dispatched to the gas company, not yet accepted.
    dispatched: String,
    /// Dispatched to the water company and accepted by it; no postponement asked for.
    accepted: String,
    /// Waiting in the manual triage queue (status reported).
    manual: String,
    /// Rejected by an operator.
    rejected: String,
    /// Waiting on lin-ming's call (dispatched to the grid worker, not yet accepted).
    with_worker: String,
    /// A joint consultation (the lampblack joint group: a whistle blown automatically) led by
    /// ecology_env, which has reported in.
    joint: String,
}

/// `n` characters (each one CJK character, three bytes).
fn chars(n: usize) -> String {
    "很".repeat(n)
}

/// A photo link for media and evidence.
const PHOTO: &str = "https://media.example.cn/a.jpg";

/// A valid hotline report by a named resident, at a grid, uncategorised.
fn report(client_request_id: &str) -> ReportCaseRequest {
    ReportCaseRequest {
        client_request_id: client_request_id.to_owned(),
        channel: ReportChannel::Hotline as i32,
        reporter: Some(Reporter {
            name: "王芳".into(),
            phone: "13812345678".into(),
        }),
        location: Some(Location {
            grid_code: GRID_A.into(),
            address: "涌金路 12 号".into(),
            coordinates: None,
        }),
        description: "路边燃气井盖缺失".into(),
        ..Default::default()
    }
}

/// The report's location, which [`report`] always sets.
fn location(report: &mut ReportCaseRequest) -> &mut Location {
    report.location.as_mut().unwrap()
}

fn point(lat: f64, lon: f64) -> Coordinates {
    Coordinates { lat, lon }
}

fn actor(case: &str, department: &str, grid_worker: &str, request_id: &str) -> Option<Actor> {
    Some(Actor {
        case_id: case.to_owned(),
        department: department.to_owned(),
        grid_worker: grid_worker.to_owned(),
        request_id: request_id.to_owned(),
        ..Default::default()
    })
}

/// `department` acting on `case` with a fresh request id.
fn by(department: &str, case: &str) -> Option<Actor> {
    actor(case, department, "", "bad-input-request")
}

async fn report_case(channels: &Channels, message: ReportCaseRequest) -> String {
    IntakeClient::new(channels.intake.clone())
        .report_case(request(message, OPERATOR))
        .await
        .unwrap_or_else(|e| panic!("reporting a setup case: {e}"))
        .into_inner()
        .case_id
}

/// Polls the query service until `case` has `status`.
async fn wait_for_status(channels: &Channels, case: &str, status: &str) {
    wait_until(&format!("case {case} to become {status}"), WAIT, || async {
        let seen = QueryClient::new(channels.query.clone())
            .get_case(request(
                GetCaseRequest {
                    case_id: case.to_owned(),
                },
                SUPERVISOR,
            ))
            .await
            .map(|reply| {
                let status = reply.into_inner().case.unwrap_or_default().status;
                gridcase_proto::convert::status_name(status)
            });
        matches!(&seen, Ok(now) if *now == status).then_some(())
    })
    .await;
}

/// Polls the manual triage queue until `case` waits in it.
async fn wait_in_manual_queue(channels: &Channels, case: &str) {
    wait_until(
        &format!("case {case} to reach the manual queue"),
        WAIT,
        || async {
            let queue = TriageClient::new(channels.triage.clone())
                .list_manual_queue(request(ListManualQueueRequest::default(), OPERATOR))
                .await
                .map(|reply| reply.into_inner().cases);
            queue
                .is_ok_and(|cases| cases.iter().any(|queued| queued.case_id == case))
                .then_some(())
        },
    )
    .await;
}

/// Reports the setup cases through intake and moves each to its state through the services.
async fn set_up_cases(channels: &Channels) -> Cases {
    let dispatched = report_case(
        channels,
        ReportCaseRequest {
            category_code: GAS_CATEGORY.into(),
            ..report("bad-input/dispatched")
        },
    )
    .await;
    let accepted = report_case(
        channels,
        ReportCaseRequest {
            location: Some(Location {
                grid_code: GRID_B.into(),
                ..Default::default()
            }),
            description: "上水井盖松动，车辆经过时响声很大".into(),
            category_code: WATER_CATEGORY.into(),
            ..report("bad-input/accepted")
        },
    )
    .await;
    let manual = report_case(
        channels,
        ReportCaseRequest {
            location: Some(Location {
                grid_code: GRID_C.into(),
                ..Default::default()
            }),
            description: "有件事想请社区来看看".into(),
            ..report("bad-input/manual")
        },
    )
    .await;
    let rejected = report_case(
        channels,
        ReportCaseRequest {
            location: Some(Location {
                address: "清波街 3 号".into(),
                ..Default::default()
            }),
            description: "想咨询一下明年的入学政策".into(),
            reporter: None,
            ..report("bad-input/rejected")
        },
    )
    .await;

    let with_worker = report_case(
        channels,
        ReportCaseRequest {
            description: "巷子口垃圾桶满了好几天，垃圾堆到路边".into(),
            category_code: SELF_HANDLE_CATEGORY.into(),
            ..report("bad-input/with-worker")
        },
    )
    .await;

    // 餐饮油烟: the lampblack joint group, ecology_env leading.
    let joint = report_case(
        channels,
        ReportCaseRequest {
            location: Some(Location {
                grid_code: GRID_C.into(),
                ..Default::default()
            }),
            description: "楼下烧烤店的油烟直往楼上窗户里灌，晚上根本不敢开窗".into(),
            category_code: "SJ-01-07".into(),
            ..report("bad-input/joint")
        },
    )
    .await;

    wait_for_status(channels, &accepted, "dispatched").await;
    DispatchClient::new(channels.dispatch.clone())
        .accept(request(
            AcceptRequest {
                actor: actor(&accepted, "water", "", "setup-accept"),
            },
            WATER,
        ))
        .await
        .unwrap_or_else(|e| panic!("the water company accepting its case: {e}"));
    wait_in_manual_queue(channels, &rejected).await;
    TriageClient::new(channels.triage.clone())
        .reject_case(request(
            RejectCaseRequest {
                case_id: rejected.clone(),
                reason: "不属于网格事项，已告知拨打教育局电话".into(),
                request_id: "setup-reject".into(),
            },
            OPERATOR,
        ))
        .await
        .unwrap_or_else(|e| panic!("rejecting a setup case: {e}"));

    wait_for_status(channels, &dispatched, "dispatched").await;
    wait_for_status(channels, &accepted, "accepted").await;
    wait_for_status(channels, &rejected, "rejected").await;
    wait_for_status(channels, &with_worker, "dispatched").await;
    wait_for_status(channels, &joint, "dispatched").await;
    DispatchClient::new(channels.dispatch.clone())
        .report_in(request(
            ReportInRequest {
                actor: actor(&joint, "ecology_env", "", "setup-report-in"),
                opinion: "生态环境局已报到，明天上午到店检测".into(),
            },
            ECOLOGY,
        ))
        .await
        .unwrap_or_else(|e| panic!("ecology_env reporting in on the joint case: {e}"));
    wait_for_status(channels, &manual, "reported").await;
    wait_in_manual_queue(channels, &manual).await;
    Cases {
        dispatched,
        accepted,
        manual,
        rejected,
        with_worker,
        joint,
    }
}

/// The store's event count once it has stopped moving: the same for a second and a half. Its
/// pauses are the condition itself (nothing written for a while), not a wait for something to
/// happen.
async fn settled_event_count(store: &StoreClient) -> u64 {
    let started = Instant::now();
    let mut count = store.stats().await.unwrap().events;
    let mut since = Instant::now();
    while since.elapsed() < Duration::from_millis(1500) {
        assert!(
            started.elapsed() < WAIT,
            "the store's event count did not settle within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = store.stats().await.unwrap().events;
        if now != count {
            count = now;
            since = Instant::now();
        }
    }
    count
}

/// Every RPC of every gridcase service, as `service.Method` (`gridcase.intake.v1.Intake`'s
/// `ReportCase` is `intake.ReportCase`), read from the proto descriptor set the services are
/// built from; the table must refuse something of each.
fn every_rpc() -> Vec<String> {
    let set = FileDescriptorSet::decode(gridcase_proto::FILE_DESCRIPTOR_SET)
        .expect("the proto descriptor set decodes");
    let mut rpcs = Vec::new();
    for file in &set.file {
        let Some(service) = file
            .package()
            .strip_prefix("gridcase.")
            .and_then(|rest| rest.split('.').next())
        else {
            continue;
        };
        for method in file.service.iter().flat_map(|s| &s.method) {
            rpcs.push(format!("{service}.{}", method.name()));
        }
    }
    assert!(!rpcs.is_empty(), "the descriptor set has no gridcase RPC");
    rpcs
}

/// RPCs whose request has no fields: only the token can be wrong.
const TAKES_NO_INPUT: &[&str] = &[
    "query.Board",
    "store.Stats",
    "store.Verify",
    "people.ListShopItems",
    "people.ListServices",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_refuses_bad_input_and_writes_nothing() {
    let city = City::start(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: "operator",
            supervisor: "supervisor",
        },
        gridcase_testkit::copy_sample_config,
    )
    .await;
    let channels = Channels::of(&city);
    let cases = set_up_cases(&channels).await;

    let mut table = Table::default();
    intake::rows(&mut table, &channels);
    triage::rows(&mut table, &channels, &cases);
    dispatch::rows(&mut table, &channels, &cases);
    supervision::rows(&mut table, &channels, &cases);
    evaluation::rows(&mut table, &channels, &cases);
    people::rows(&mut table, &channels);
    care::rows(&mut table, &channels);
    query::rows(&mut table, &channels, &cases);
    store::rows(&mut table, &channels);
    let every_rpc = every_rpc();
    let missing: Vec<&String> = every_rpc
        .iter()
        .filter(|rpc| !table.0.iter().any(|row| row.rpc == rpc.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "RPCs of the proto without a bad-input row: {missing:?}"
    );
    for rpc in &every_rpc {
        let rpc = rpc.as_str();
        let rows: Vec<&Row> = table.0.iter().filter(|row| row.rpc == rpc).collect();
        assert!(
            rows.iter()
                .any(|row| matches!(row.code, Code::Unauthenticated | Code::PermissionDenied)),
            "{rpc}: the table has no row for a missing token or a wrong role"
        );
        assert!(
            rows.iter()
                .any(|row| !matches!(row.code, Code::Unauthenticated | Code::PermissionDenied))
                || TAKES_NO_INPUT.contains(&rpc),
            "{rpc}: the table has no row for bad input"
        );
    }
    assert!(
        table
            .0
            .iter()
            .all(|row| every_rpc.iter().any(|rpc| rpc == row.rpc)),
        "a row names an RPC the proto does not have"
    );

    let store = city.store_client().await;
    let before = settled_event_count(&store).await;
    let rows = table.0.len();
    let mut failures = Vec::new();
    let mut events = before;
    for row in table.0 {
        let name = format!("{} / {}", row.rpc, row.what);
        match row.call.await {
            Ok(()) => failures.push(format!(
                "{name}: expected {:?} with a message containing {:?}, got OK",
                row.code, row.message
            )),
            Err(status) if status.code() != row.code || !status.message().contains(row.message) => {
                failures.push(format!(
                    "{name}: expected {:?} with a message containing {:?}, got {:?}: {:?}",
                    row.code,
                    row.message,
                    status.code(),
                    status.message()
                ))
            }
            Err(_) => {}
        }
        let now = store.stats().await.unwrap().events;
        if now != events {
            failures.push(format!(
                "{name}: the store went from {events} to {now} events; a refusal must write nothing"
            ));
            events = now;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {rows} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        settled_event_count(&store).await,
        before,
        "the store's event count moved after the table ran"
    );
    city.shut_down().await;
}
