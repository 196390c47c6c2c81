//! Bad input to every RPC of the running system: one table of requests that must be refused,
//! each with the gRPC code and a piece of the message that names the field or the rule broken.
//!
//! The whole system runs (a real nats-server, the sled store and the seven services). A few
//! real cases are set up first — one dispatched to a department and waiting, one accepted, one
//! waiting in the manual triage queue, one rejected — so wrong-state requests have something
//! to be wrong about. Then the store's event count is recorded, and after every row it must
//! be the same: a refused request writes nothing.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use gridcase::system::{Addresses, Service, System, SystemOptions};
use gridcase_bus::StoreClient;
use gridcase_eventstore::EventStore;
use gridcase_proto::common::v1::{Coordinates, Location};
use gridcase_proto::dispatch::v1::dispatch_client::DispatchClient;
use gridcase_proto::dispatch::v1::{
    AcceptRequest, Actor, ReportProgressRequest, RequestPostponementRequest, ResolveRequest,
    ReturnRequest,
};
use gridcase_proto::evaluation::v1::evaluation_client::EvaluationClient;
use gridcase_proto::evaluation::v1::{
    CloseCaseRequest, DepartmentIndicatorsRequest, RecordRatingRequest, VerifyCaseRequest,
};
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::intake::v1::{
    Channel as ReportChannel, GetCaseStatusRequest, ReportCaseRequest, Reporter,
};
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::query::v1::{BoardRequest, GetCaseRequest, ListCasesRequest};
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
use gridcase_testkit::{token_of, token_table};
use tonic::transport::{Channel, Endpoint};
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
const GAS: Auth = Auth::As("gas");
const WATER: Auth = Auth::As("water");
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
    fn of(system: &System) -> Self {
        let channel = |service| {
            Endpoint::from_shared(system.endpoint(service))
                .unwrap()
                .connect_lazy()
        };
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
    let started = Instant::now();
    loop {
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
        match &seen {
            Ok(now) if *now == status => return,
            _ => {}
        }
        assert!(
            started.elapsed() < WAIT,
            "case {case} did not become {status} within {WAIT:?}, last seen {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the manual triage queue until `case` waits in it.
async fn wait_in_manual_queue(channels: &Channels, case: &str) {
    let started = Instant::now();
    loop {
        let queue = TriageClient::new(channels.triage.clone())
            .list_manual_queue(request(ListManualQueueRequest::default(), OPERATOR))
            .await
            .map(|reply| reply.into_inner().cases);
        if let Ok(cases) = &queue {
            if cases.iter().any(|queued| queued.case_id == case) {
                return;
            }
        }
        assert!(
            started.elapsed() < WAIT,
            "case {case} did not reach the manual queue within {WAIT:?}: {queue:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    wait_for_status(channels, &manual, "reported").await;
    wait_in_manual_queue(channels, &manual).await;
    Cases {
        dispatched,
        accepted,
        manual,
        rejected,
    }
}

/// The store's event count once it has stopped moving: the same for a second and a half.
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

#[rustfmt::skip]
fn intake_rows(t: &mut Table, ch: &Channels) {
    use Code::{InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let report_case =
        |auth, message| call!(IntakeClient, ch.intake, report_case, auth, message);
    let status = |auth, code: &str| {
        let message = GetCaseStatusRequest {
            tracking_code: code.to_owned(),
        };
        call!(IntakeClient, ch.intake, get_case_status, auth, message)
    };
    let rpc = "intake.ReportCase";
    let bad = |change: fn(&mut ReportCaseRequest)| {
        let mut message = report("bad-input/report");
        change(&mut message);
        message
    };
    t.row(rpc, "empty client_request_id", InvalidArgument, "client_request_id: must not be empty",
        report_case(OPERATOR, bad(|r| r.client_request_id.clear())));
    t.row(rpc, "client_request_id of 129 characters", InvalidArgument,
        "client_request_id: 129 characters, at most 128",
        report_case(OPERATOR, bad(|r| r.client_request_id = "r".repeat(129))));
    t.row(rpc, "channel unspecified", InvalidArgument, "channel: must be set",
        report_case(OPERATOR, bad(|r| r.channel = ReportChannel::Unspecified as i32)));
    t.row(rpc, "channel out of the enum", InvalidArgument, "channel: 42 is not a known channel",
        report_case(OPERATOR, bad(|r| r.channel = 42)));
    t.row(rpc, "location missing", InvalidArgument, "location: required",
        report_case(OPERATOR, bad(|r| r.location = None)));
    t.row(rpc, "location empty", InvalidArgument,
        "location: needs a grid code, an address or coordinates",
        report_case(OPERATOR, bad(|r| r.location = Some(Location::default()))));
    t.row(rpc, "malformed grid code", InvalidArgument, "location.grid_code: district must be",
        report_case(OPERATOR, bad(|r| location(r).grid_code = "33-01".into())));
    t.row(rpc, "unknown grid", InvalidArgument,
        "location.grid_code: 330102-009-001-001 is not a known grid",
        report_case(OPERATOR, bad(|r| location(r).grid_code = UNKNOWN_GRID.into())));
    t.row(rpc, "latitude out of range", InvalidArgument,
        "location.coordinates: latitude 91 is outside -90 to 90",
        report_case(OPERATOR, bad(|r| location(r).coordinates = Some(point(91.0, 120.16)))));
    t.row(rpc, "address of 201 characters", InvalidArgument,
        "location.address: 201 characters, at most 200",
        report_case(OPERATOR, bad(|r| location(r).address = chars(201))));
    t.row(rpc, "blank description", InvalidArgument, "description: must not be empty",
        report_case(OPERATOR, bad(|r| r.description = "  ".into())));
    t.row(rpc, "description of 2001 characters", InvalidArgument,
        "description: 2001 characters, at most 2000",
        report_case(OPERATOR, bad(|r| r.description = chars(2001))));
    t.row(rpc, "reporter name of 51 characters", InvalidArgument,
        "reporter.name: 51 characters, at most 50",
        report_case(OPERATOR, bad(|r| r.reporter.as_mut().unwrap().name = chars(51))));
    t.row(rpc, "malformed phone", InvalidArgument, "reporter.phone:",
        report_case(OPERATOR, bad(|r| r.reporter.as_mut().unwrap().phone = "12345".into())));
    t.row(rpc, "malformed category", InvalidArgument, "category_code: must look like BJ-01-02",
        report_case(OPERATOR, bad(|r| r.category_code = "XX-1".into())));
    t.row(rpc, "unknown category", InvalidArgument,
        "category_code: BJ-99-99 is not in the category catalogue",
        report_case(OPERATOR, bad(|r| r.category_code = UNKNOWN_CATEGORY.into())));
    t.row(rpc, "media link not http", InvalidArgument,
        "media_urls[1]: must start with http:// or https://",
        report_case(OPERATOR, bad(|r| r.media_urls = vec![PHOTO.into(), "ftp://a.cn/b".into()])));
    t.row(rpc, "21 media links", InvalidArgument, "media_urls: 21 links, at most 20",
        report_case(OPERATOR, bad(|r| r.media_urls = vec![PHOTO.into(); 21])));
    t.row(rpc, "grid-worker channel without the worker", InvalidArgument,
        "reported_by_worker: required for the grid_worker channel",
        report_case(LIN_MING, bad(|r| r.channel = ReportChannel::GridWorker as i32)));
    t.row(rpc, "malformed worker id", InvalidArgument, "reported_by_worker:",
        report_case(OPERATOR, bad(|r| r.reported_by_worker = "Bad Id".into())));
    t.row(rpc, "unknown grid worker", InvalidArgument,
        "reported_by_worker: nobody-here is not a known grid worker",
        report_case(OPERATOR, bad(|r| r.reported_by_worker = "nobody-here".into())));
    t.row(rpc, "grid worker reporting as another", PermissionDenied,
        "reported_by_worker: grid worker lin-ming may not report as chen-lijuan",
        report_case(LIN_MING, bad(|r| {
            r.channel = ReportChannel::GridWorker as i32;
            r.reported_by_worker = "chen-lijuan".into();
        })));
    t.row(rpc, "department role", PermissionDenied, "role department may not call ReportCase",
        report_case(GAS, bad(|_| {})));
    t.row(rpc, "supervisor role", PermissionDenied, "role supervisor may not call ReportCase",
        report_case(SUPERVISOR, bad(|_| {})));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        report_case(Auth::NoToken, bad(|_| {})));
    t.row(rpc, "unknown token", Unauthenticated, "unknown bearer token",
        report_case(UNKNOWN_TOKEN, bad(|_| {})));
    t.row(rpc, "not a bearer header", Unauthenticated, "malformed authorization header",
        report_case(NOT_BEARER, bad(|_| {})));

    let rpc = "intake.GetCaseStatus";
    t.row(rpc, "empty tracking code", InvalidArgument, "tracking_code: must be 8 symbols",
        status(OPERATOR, ""));
    t.row(rpc, "symbol outside the alphabet", InvalidArgument,
        "tracking_code: '0' is not a tracking code symbol",
        status(OPERATOR, "ABCD-EFG0"));
    t.row(rpc, "unknown tracking code", NotFound, "tracking_code: no case has code 2345-6789",
        status(GATEWAY, UNKNOWN_TRACKING_CODE));
    t.row(rpc, "department role", PermissionDenied, "role department may not call GetCaseStatus",
        status(WATER, UNKNOWN_TRACKING_CODE));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        status(Auth::NoToken, UNKNOWN_TRACKING_CODE));
}

#[rustfmt::skip]
fn triage_rows(t: &mut Table, ch: &Channels, cases: &Cases) {
    use Code::{FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let list = |auth, grid_code: &str, limit| {
        let message = ListManualQueueRequest {
            grid_code: grid_code.to_owned(),
            limit,
        };
        call!(TriageClient, ch.triage, list_manual_queue, auth, message)
    };
    let triage = |auth, message| call!(TriageClient, ch.triage, triage_case, auth, message);
    let reject = |auth, case: &str, reason: String, request_id: &str| {
        let message = RejectCaseRequest {
            case_id: case.to_owned(),
            reason,
            request_id: request_id.to_owned(),
        };
        call!(TriageClient, ch.triage, reject_case, auth, message)
    };
    let manual = |category: &str, route: Option<Route>| TriageCaseRequest {
        case_id: cases.manual.clone(),
        category_code: category.to_owned(),
        route,
        request_id: "bad-input-triage".into(),
        ..Default::default()
    };
    let gas = || manual(GAS_CATEGORY, None);
    let department = |code: &str| Some(Route::Department(code.to_owned()));
    let self_handle = |worker: &str| Some(Route::SelfHandleWorker(worker.to_owned()));
    let joint = |lead: &str, participants: &[&str]| {
        Some(Route::Joint(JointRoute {
            lead: lead.to_owned(),
            participants: participants.iter().map(|p| (*p).to_owned()).collect(),
        }))
    };

    let rpc = "triage.ListManualQueue";
    t.row(rpc, "limit 501", InvalidArgument, "limit: must be 1 to 500, got 501",
        list(OPERATOR, "", 501));
    t.row(rpc, "malformed grid code", InvalidArgument, "grid_code: district must be",
        list(OPERATOR, "33-01", 0));
    t.row(rpc, "unknown grid", InvalidArgument, "grid_code: 330102-009 is not a known grid",
        list(SUPERVISOR, "330102-009", 0));
    t.row(rpc, "department role", PermissionDenied, "role department may not call ListManualQueue",
        list(GAS, "", 0));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        list(Auth::NoToken, "", 0));

    let rpc = "triage.TriageCase";
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        triage(OPERATOR, TriageCaseRequest { case_id: "case-7".into(), ..gas() }));
    t.row(rpc, "missing case id", InvalidArgument, "case_id: must be 32 hex digits, got 0",
        triage(OPERATOR, TriageCaseRequest { case_id: String::new(), ..gas() }));
    t.row(rpc, "missing category", InvalidArgument, "category_code: must look like BJ-01-02",
        triage(OPERATOR, manual("", None)));
    t.row(rpc, "unknown category", InvalidArgument,
        "category_code: BJ-99-99 is not in the catalogue",
        triage(OPERATOR, manual(UNKNOWN_CATEGORY, None)));
    t.row(rpc, "unknown priority", InvalidArgument, "priority: \"critical\" is not one of",
        triage(OPERATOR, TriageCaseRequest { priority: "critical".into(), ..gas() }));
    t.row(rpc, "unknown department", InvalidArgument, "route.department: no department nobody",
        triage(OPERATOR, manual(GAS_CATEGORY, department("nobody"))));
    t.row(rpc, "malformed department", InvalidArgument,
        "route.department: must start with a lowercase letter",
        triage(OPERATOR, manual(GAS_CATEGORY, department("Gas"))));
    t.row(rpc, "unknown self-handling worker", InvalidArgument,
        "route.self_handle_worker: no grid worker nobody-here",
        triage(OPERATOR, manual(SELF_HANDLE_CATEGORY, self_handle("nobody-here"))));
    t.row(rpc, "self-handling a category that forbids it", InvalidArgument,
        "route.self_handle_worker: category BJ-01-05 may not be self-handled",
        triage(OPERATOR, manual(GAS_CATEGORY, self_handle("lin-ming"))));
    t.row(rpc, "joint route without participants", InvalidArgument,
        "route.joint.participants: a joint route needs at least one participant",
        triage(OPERATOR, manual(GAS_CATEGORY, joint("gas", &[]))));
    t.row(rpc, "joint lead also a participant", InvalidArgument,
        "route.joint.participants: lead department gas must not also be a participant",
        triage(OPERATOR, manual(GAS_CATEGORY, joint("gas", &["water", "gas"]))));
    t.row(rpc, "joint unknown lead", InvalidArgument, "route.joint.lead: no department nobody",
        triage(OPERATOR, manual(GAS_CATEGORY, joint("nobody", &["water"]))));
    t.row(rpc, "joint unknown participant", InvalidArgument,
        "route.joint.participants: no department nobody",
        triage(OPERATOR, manual(GAS_CATEGORY, joint("gas", &["nobody"]))));
    t.row(rpc, "missing request id", InvalidArgument,
        "request_id: must not be empty",
        triage(OPERATOR, TriageCaseRequest { request_id: String::new(), ..gas() }));
    t.row(rpc, "unknown case", NotFound, "case_id: no case 0123456789abcdef",
        triage(OPERATOR, TriageCaseRequest { case_id: UNKNOWN_CASE.into(), ..gas() }));
    t.row(rpc, "case already dispatched", FailedPrecondition,
        "cannot triage: case is dispatched, not reported",
        triage(OPERATOR, TriageCaseRequest { case_id: cases.dispatched.clone(), ..gas() }));
    t.row(rpc, "case rejected", FailedPrecondition, "cannot triage: case is rejected, not reported",
        triage(ADMIN, TriageCaseRequest { case_id: cases.rejected.clone(), ..gas() }));
    t.row(rpc, "supervisor role", PermissionDenied, "role supervisor may not call TriageCase",
        triage(SUPERVISOR, gas()));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call TriageCase",
        triage(LIN_MING, gas()));
    t.row(rpc, "unknown token", Unauthenticated, "unknown bearer token",
        triage(UNKNOWN_TOKEN, gas()));

    let rpc = "triage.RejectCase";
    let reason = || "不属于受理范围".to_owned();
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        reject(OPERATOR, "12345", reason(), "bad-input-reject"));
    t.row(rpc, "blank reason", InvalidArgument, "reason: must not be empty",
        reject(OPERATOR, &cases.manual, " ".into(), "bad-input-reject"));
    t.row(rpc, "reason of 1001 characters", InvalidArgument,
        "reason: 1001 characters, at most 1000",
        reject(OPERATOR, &cases.manual, chars(1001), "bad-input-reject"));
    t.row(rpc, "request id of 129 characters", InvalidArgument,
        "request_id: 129 characters, at most 128",
        reject(OPERATOR, &cases.manual, reason(), &"r".repeat(129)));
    t.row(rpc, "unknown case", NotFound, "case_id: no case 0123456789abcdef",
        reject(OPERATOR, UNKNOWN_CASE, reason(), "bad-input-reject"));
    t.row(rpc, "case already accepted", FailedPrecondition,
        "cannot reject: case is accepted, not reported",
        reject(OPERATOR, &cases.accepted, reason(), "bad-input-reject"));
    t.row(rpc, "gateway role", PermissionDenied, "role gateway may not call RejectCase",
        reject(GATEWAY, &cases.manual, reason(), "bad-input-reject"));
    t.row(rpc, "not a bearer header", Unauthenticated, "malformed authorization header",
        reject(NOT_BEARER, &cases.manual, reason(), "bad-input-reject"));
}

#[rustfmt::skip]
fn dispatch_rows(t: &mut Table, ch: &Channels, cases: &Cases) {
    use Code::{FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let accept = |auth, actor| {
        call!(DispatchClient, ch.dispatch, accept, auth, AcceptRequest { actor })
    };
    let give_back = |auth, actor, reason: String| {
        let message = ReturnRequest { actor, reason };
        call!(DispatchClient, ch.dispatch, r#return, auth, message)
    };
    let progress = |auth, actor, note: String| {
        let message = ReportProgressRequest { actor, note };
        call!(DispatchClient, ch.dispatch, report_progress, auth, message)
    };
    let postpone = |auth, actor, until_ms, reason: String| {
        let message = RequestPostponementRequest {
            actor,
            until_ms,
            reason,
        };
        call!(DispatchClient, ch.dispatch, request_postponement, auth, message)
    };
    let resolve = |auth, actor, note: String, evidence_urls: Vec<String>| {
        let message = ResolveRequest {
            actor,
            note,
            evidence_urls,
        };
        call!(DispatchClient, ch.dispatch, resolve, auth, message)
    };
    let gas_case = cases.dispatched.as_str();
    let water_case = cases.accepted.as_str();
    let a_month_later = || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        i64::try_from(now).unwrap() + 30 * 24 * 3_600_000
    };
    let note = || "已派人到现场处理".to_owned();

    let rpc = "dispatch.Accept";
    t.row(rpc, "actor missing", InvalidArgument, "actor: is required",
        accept(GAS, None));
    t.row(rpc, "malformed case id", InvalidArgument, "actor.case_id: must be 32 hex digits",
        accept(GAS, by("gas", "not-a-case")));
    t.row(rpc, "neither department nor worker", InvalidArgument,
        "actor: needs a department or a grid_worker",
        accept(GAS, actor(gas_case, "", "", "bad-input-request")));
    t.row(rpc, "both department and worker", InvalidArgument,
        "actor: give a department or a grid_worker, not both",
        accept(GAS, actor(gas_case, "gas", "lin-ming", "bad-input-request")));
    t.row(rpc, "malformed department", InvalidArgument,
        "actor.department: must start with a lowercase letter",
        accept(GAS, by("Gas", gas_case)));
    t.row(rpc, "unknown department", InvalidArgument,
        "actor.department: nobody is not a known department",
        accept(GAS, by("nobody", gas_case)));
    t.row(rpc, "unknown grid worker", InvalidArgument,
        "actor.grid_worker: ghost-worker is not a known grid worker",
        accept(GHOST, actor(gas_case, "", "ghost-worker", "bad-input-request")));
    t.row(rpc, "missing request id", InvalidArgument,
        "actor.request_id: must not be empty",
        accept(GAS, actor(gas_case, "gas", "", "")));
    t.row(rpc, "request id of 129 characters", InvalidArgument,
        "actor.request_id: 129 characters, at most 128",
        accept(GAS, actor(gas_case, "gas", "", &"r".repeat(129))));
    t.row(rpc, "department acting for another", PermissionDenied,
        "actor: department:gas:clerk-1 may not act for department:water",
        accept(GAS, by("water", water_case)));
    t.row(rpc, "grid worker acting for a department", PermissionDenied,
        "actor: grid_worker:lin-ming may not act for department:gas",
        accept(LIN_MING, by("gas", gas_case)));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        accept(GAS, by("gas", UNKNOWN_CASE)));
    t.row(rpc, "case dispatched to someone else", PermissionDenied,
        "cannot accept: department water is not the assignee (department gas is)",
        accept(WATER, by("water", gas_case)));
    t.row(rpc, "case not dispatched at all", FailedPrecondition,
        "cannot accept: case is reported, not dispatched",
        accept(GAS, by("gas", &cases.manual)));
    t.row(rpc, "case already accepted", FailedPrecondition,
        "cannot accept: case already accepted by department water",
        accept(WATER, by("water", water_case)));
    t.row(rpc, "case rejected", FailedPrecondition,
        "cannot accept: case is rejected, not dispatched",
        accept(GAS, by("gas", &cases.rejected)));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call Accept",
        accept(OPERATOR, by("gas", gas_case)));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        accept(Auth::NoToken, by("gas", gas_case)));

    let rpc = "dispatch.Return";
    let reason = || "不属于本单位职责".to_owned();
    t.row(rpc, "actor missing", InvalidArgument, "actor: is required",
        give_back(GAS, None, reason()));
    t.row(rpc, "blank reason", InvalidArgument, "reason: must not be empty",
        give_back(GAS, by("gas", gas_case), "\n".into()));
    t.row(rpc, "reason of 1001 characters", InvalidArgument,
        "reason: 1001 characters, at most 1000",
        give_back(GAS, by("gas", gas_case), chars(1001)));
    t.row(rpc, "case dispatched to someone else", PermissionDenied,
        "cannot return: department water is not the assignee",
        give_back(WATER, by("water", gas_case), reason()));
    t.row(rpc, "case awaiting triage", FailedPrecondition,
        "cannot return: case is reported, not dispatched or accepted",
        give_back(GAS, by("gas", &cases.manual), reason()));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        give_back(GAS, by("gas", UNKNOWN_CASE), reason()));
    t.row(rpc, "supervisor role", PermissionDenied, "role supervisor may not call Return",
        give_back(SUPERVISOR, by("gas", gas_case), reason()));
    t.row(rpc, "unknown token", Unauthenticated, "unknown bearer token",
        give_back(UNKNOWN_TOKEN, by("gas", gas_case), reason()));

    let rpc = "dispatch.ReportProgress";
    t.row(rpc, "blank note", InvalidArgument, "note: must not be empty",
        progress(WATER, by("water", water_case), String::new()));
    t.row(rpc, "note of 1001 characters", InvalidArgument, "note: 1001 characters, at most 1000",
        progress(WATER, by("water", water_case), chars(1001)));
    t.row(rpc, "before accepting", FailedPrecondition,
        "cannot report progress: case is dispatched, not accepted",
        progress(GAS, by("gas", gas_case), note()));
    t.row(rpc, "case accepted by someone else", PermissionDenied,
        "cannot report progress: department gas is not the assignee (department water is)",
        progress(GAS, by("gas", water_case), note()));
    t.row(rpc, "admin role", PermissionDenied, "role admin may not call ReportProgress",
        progress(ADMIN, by("water", water_case), note()));

    let rpc = "dispatch.RequestPostponement";
    t.row(rpc, "until_ms missing", InvalidArgument, "until_ms: must be a time after the Unix epoch",
        postpone(WATER, by("water", water_case), 0, reason()));
    t.row(rpc, "until_ms negative", InvalidArgument,
        "until_ms: must be a time after the Unix epoch",
        postpone(WATER, by("water", water_case), -86_400_000, reason()));
    t.row(rpc, "blank reason", InvalidArgument, "reason: must not be empty",
        postpone(WATER, by("water", water_case), a_month_later(), String::new()));
    t.row(rpc, "reason of 1001 characters", InvalidArgument,
        "reason: 1001 characters, at most 1000",
        postpone(WATER, by("water", water_case), a_month_later(), chars(1001)));
    t.row(rpc, "until not after the resolve deadline", FailedPrecondition,
        "is not after the resolve deadline",
        postpone(WATER, by("water", water_case), 1_000, reason()));
    t.row(rpc, "before accepting", FailedPrecondition,
        "cannot request postponement: case is dispatched, not accepted",
        postpone(GAS, by("gas", gas_case), a_month_later(), reason()));
    t.row(rpc, "gateway role", PermissionDenied, "role gateway may not call RequestPostponement",
        postpone(GATEWAY, by("water", water_case), a_month_later(), reason()));

    let rpc = "dispatch.Resolve";
    let photo = || vec!["https://media.example.cn/done.jpg".to_owned()];
    t.row(rpc, "actor missing", InvalidArgument, "actor: is required",
        resolve(WATER, None, note(), photo()));
    t.row(rpc, "blank note", InvalidArgument, "note: must not be empty",
        resolve(WATER, by("water", water_case), " ".into(), photo()));
    t.row(rpc, "note of 1001 characters", InvalidArgument, "note: 1001 characters, at most 1000",
        resolve(WATER, by("water", water_case), chars(1001), photo()));
    t.row(rpc, "evidence link not http", InvalidArgument,
        "evidence_urls[0]: must start with http:// or https://",
        resolve(WATER, by("water", water_case), note(), vec!["file:///tmp/done.jpg".into()]));
    t.row(rpc, "21 evidence links", InvalidArgument, "evidence_urls: at most 20 links, got 21",
        resolve(WATER, by("water", water_case), note(), vec![photo().remove(0); 21]));
    t.row(rpc, "before accepting", FailedPrecondition,
        "cannot resolve: case is dispatched, not accepted",
        resolve(GAS, by("gas", gas_case), note(), photo()));
    t.row(rpc, "case awaiting triage", FailedPrecondition,
        "cannot resolve: case is reported, not accepted",
        resolve(WATER, by("water", &cases.manual), note(), photo()));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        resolve(WATER, by("water", UNKNOWN_CASE), note(), photo()));
    t.row(rpc, "not a bearer header", Unauthenticated, "malformed authorization header",
        resolve(NOT_BEARER, by("water", water_case), note(), photo()));
}

#[rustfmt::skip]
fn supervision_rows(t: &mut Table, ch: &Channels, cases: &Cases) {
    use Code::{FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let urge = |auth, case: &str, note: String, request_id: &str| {
        let message = UrgeCaseRequest {
            case_id: case.to_owned(),
            note,
            request_id: request_id.to_owned(),
        };
        call!(SupervisionClient, ch.supervision, urge_case, auth, message)
    };
    let approve = |auth, case: &str, request_id: &str| {
        let message = ApprovePostponementRequest {
            case_id: case.to_owned(),
            request_id: request_id.to_owned(),
        };
        call!(SupervisionClient, ch.supervision, approve_postponement, auth, message)
    };
    let refuse = |auth, case: &str, reason: String, request_id: &str| {
        let message = RefusePostponementRequest {
            case_id: case.to_owned(),
            reason,
            request_id: request_id.to_owned(),
        };
        call!(SupervisionClient, ch.supervision, refuse_postponement, auth, message)
    };
    let colour = |auth, case: &str| {
        let message = GetCaseColourRequest {
            case_id: case.to_owned(),
        };
        call!(SupervisionClient, ch.supervision, get_case_colour, auth, message)
    };
    let note = || "请尽快处理".to_owned();
    let id = "bad-input-supervision";

    let rpc = "supervision.UrgeCase";
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        urge(SUPERVISOR, "abc", note(), id));
    t.row(rpc, "blank note", InvalidArgument, "note: must not be empty",
        urge(SUPERVISOR, &cases.dispatched, "  ".into(), id));
    t.row(rpc, "note of 1001 characters", InvalidArgument, "note: 1001 characters, at most 1000",
        urge(SUPERVISOR, &cases.dispatched, chars(1001), id));
    t.row(rpc, "missing request id", InvalidArgument,
        "request_id: must not be empty",
        urge(SUPERVISOR, &cases.dispatched, note(), ""));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        urge(SUPERVISOR, UNKNOWN_CASE, note(), id));
    t.row(rpc, "case rejected", FailedPrecondition, "cannot urge: case is rejected, not open",
        urge(ADMIN, &cases.rejected, note(), id));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call UrgeCase",
        urge(OPERATOR, &cases.dispatched, note(), id));
    t.row(rpc, "department role", PermissionDenied, "role department may not call UrgeCase",
        urge(GAS, &cases.dispatched, note(), id));

    let rpc = "supervision.ApprovePostponement";
    t.row(rpc, "missing case id", InvalidArgument, "case_id: must be 32 hex digits, got 0",
        approve(SUPERVISOR, "", id));
    t.row(rpc, "request id of 129 characters", InvalidArgument,
        "request_id: 129 characters, at most 128",
        approve(SUPERVISOR, &cases.accepted, &"r".repeat(129)));
    t.row(rpc, "never requested (accepted case)", FailedPrecondition,
        "cannot approve postponement: no postponement request is pending",
        approve(SUPERVISOR, &cases.accepted, id));
    t.row(rpc, "never requested (dispatched case)", FailedPrecondition,
        "cannot approve postponement: no postponement request is pending",
        approve(ADMIN, &cases.dispatched, id));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        approve(SUPERVISOR, UNKNOWN_CASE, id));
    t.row(rpc, "department role", PermissionDenied,
        "role department may not call ApprovePostponement",
        approve(WATER, &cases.accepted, id));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        approve(Auth::NoToken, &cases.accepted, id));

    let rpc = "supervision.RefusePostponement";
    let reason = || "理由不充分".to_owned();
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits, found 'g'",
        refuse(SUPERVISOR, &"g".repeat(32), reason(), id));
    t.row(rpc, "blank reason", InvalidArgument, "reason: must not be empty",
        refuse(SUPERVISOR, &cases.accepted, String::new(), id));
    t.row(rpc, "reason of 1001 characters", InvalidArgument,
        "reason: 1001 characters, at most 1000",
        refuse(SUPERVISOR, &cases.accepted, chars(1001), id));
    t.row(rpc, "missing request id", InvalidArgument,
        "request_id: must not be empty",
        refuse(SUPERVISOR, &cases.accepted, reason(), ""));
    t.row(rpc, "never requested", FailedPrecondition,
        "cannot refuse postponement: no postponement request is pending",
        refuse(SUPERVISOR, &cases.accepted, reason(), id));
    t.row(rpc, "grid worker role", PermissionDenied,
        "role grid_worker may not call RefusePostponement",
        refuse(LIN_MING, &cases.accepted, reason(), id));

    let rpc = "supervision.GetCaseColour";
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        colour(OPERATOR, "0123-4567"));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        colour(SUPERVISOR, UNKNOWN_CASE));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call GetCaseColour",
        colour(LIN_MING, &cases.dispatched));
    t.row(rpc, "department role", PermissionDenied, "role department may not call GetCaseColour",
        colour(GAS, &cases.dispatched));
    t.row(rpc, "unknown token", Unauthenticated, "unknown bearer token",
        colour(UNKNOWN_TOKEN, &cases.dispatched));
}

#[rustfmt::skip]
fn evaluation_rows(t: &mut Table, ch: &Channels, cases: &Cases) {
    use Code::{FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let verify = |auth, case: &str, passed, note: String, request_id: &str| {
        let message = VerifyCaseRequest {
            case_id: case.to_owned(),
            passed,
            note,
            request_id: request_id.to_owned(),
        };
        call!(EvaluationClient, ch.evaluation, verify_case, auth, message)
    };
    let rate = |auth, message| call!(EvaluationClient, ch.evaluation, record_rating, auth, message);
    let close = |auth, case: &str, request_id: &str| {
        let message = CloseCaseRequest {
            case_id: case.to_owned(),
            request_id: request_id.to_owned(),
        };
        call!(EvaluationClient, ch.evaluation, close_case, auth, message)
    };
    let indicators = |auth, from_ms, to_ms| {
        let message = DepartmentIndicatorsRequest { from_ms, to_ms };
        call!(EvaluationClient, ch.evaluation, department_indicators, auth, message)
    };
    let rating = |case: &str| RecordRatingRequest {
        case_id: case.to_owned(),
        resolved: true,
        satisfied: true,
        score: 5,
        comment: "处理得很及时".into(),
        request_id: "bad-input-rating".into(),
    };
    let id = "bad-input-evaluation";
    let accepted = cases.accepted.as_str();
    let dispatched = cases.dispatched.as_str();
    let remark = || "井盖已更换".to_owned();

    let rpc = "evaluation.VerifyCase";
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        verify(LIN_MING, "xyz", true, remark(), id));
    t.row(rpc, "missing request id", InvalidArgument,
        "request_id: must not be empty",
        verify(LIN_MING, &cases.accepted, true, remark(), ""));
    t.row(rpc, "failed without saying what is wrong", InvalidArgument, "note: must not be empty",
        verify(LIN_MING, &cases.accepted, false, String::new(), id));
    t.row(rpc, "note of 1001 characters", InvalidArgument, "note: 1001 characters, at most 1000",
        verify(LIN_MING, &cases.accepted, true, chars(1001), id));
    t.row(rpc, "case not resolved", FailedPrecondition,
        "cannot verify: case is accepted, not resolved",
        verify(LIN_MING, &cases.accepted, true, remark(), id));
    t.row(rpc, "failing a case not resolved", FailedPrecondition,
        "cannot fail verification: case is dispatched, not resolved",
        verify(LIN_MING, &cases.dispatched, false, "井盖仍然缺失".into(), id));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        verify(LIN_MING, UNKNOWN_CASE, true, remark(), id));
    t.row(rpc, "grid worker the city does not know", PermissionDenied,
        "ghost-worker is not a known grid worker",
        verify(GHOST, &cases.accepted, true, remark(), id));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call VerifyCase",
        verify(OPERATOR, &cases.accepted, true, remark(), id));
    t.row(rpc, "department role", PermissionDenied, "role department may not call VerifyCase",
        verify(WATER, &cases.accepted, true, remark(), id));

    let rpc = "evaluation.RecordRating";
    t.row(rpc, "score 0", InvalidArgument, "score: must be 1 to 5, got 0",
        rate(GATEWAY, RecordRatingRequest { score: 0, ..rating(accepted) }));
    t.row(rpc, "score 6", InvalidArgument, "score: must be 1 to 5, got 6",
        rate(GATEWAY, RecordRatingRequest { score: 6, ..rating(accepted) }));
    t.row(rpc, "score 256 (does not fit a byte)", InvalidArgument, "score: must be 1 to 5, got 256",
        rate(GATEWAY, RecordRatingRequest { score: 256, ..rating(accepted) }));
    t.row(rpc, "comment of 1001 characters", InvalidArgument,
        "comment: 1001 characters, at most 1000",
        rate(OPERATOR, RecordRatingRequest { comment: chars(1001), ..rating(accepted) }));
    t.row(rpc, "missing request id", InvalidArgument,
        "request_id: must not be empty",
        rate(GATEWAY, RecordRatingRequest { request_id: String::new(), ..rating(accepted) }));
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        rate(GATEWAY, rating("K7M4-2QXP")));
    t.row(rpc, "case not verified", FailedPrecondition,
        "cannot record satisfaction: case is accepted, not verified",
        rate(GATEWAY, rating(accepted)));
    t.row(rpc, "unresolved rating of a case not verified", FailedPrecondition,
        "cannot record satisfaction: case is dispatched, not verified",
        rate(OPERATOR, RecordRatingRequest { resolved: false, score: 1, ..rating(dispatched) }));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        rate(GATEWAY, rating(UNKNOWN_CASE)));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call RecordRating",
        rate(LIN_MING, rating(accepted)));
    t.row(rpc, "department role", PermissionDenied, "role department may not call RecordRating",
        rate(WATER, rating(accepted)));

    let rpc = "evaluation.CloseCase";
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        close(OPERATOR, "closed", id));
    t.row(rpc, "request id of 129 characters", InvalidArgument,
        "request_id: 129 characters, at most 128",
        close(OPERATOR, &cases.accepted, &"r".repeat(129)));
    t.row(rpc, "case not verified", FailedPrecondition,
        "cannot close: case is accepted, not verified",
        close(OPERATOR, &cases.accepted, id));
    t.row(rpc, "case rejected", FailedPrecondition, "cannot close: case is rejected, not verified",
        close(SUPERVISOR, &cases.rejected, id));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        close(ADMIN, UNKNOWN_CASE, id));
    t.row(rpc, "department role", PermissionDenied, "role department may not call CloseCase",
        close(GAS, &cases.dispatched, id));
    t.row(rpc, "gateway role", PermissionDenied, "role gateway may not call CloseCase",
        close(GATEWAY, &cases.accepted, id));

    let rpc = "evaluation.DepartmentIndicators";
    let day_ms = 86_400_000;
    t.row(rpc, "empty period", InvalidArgument, "to_ms: must be after from_ms",
        indicators(SUPERVISOR, day_ms, day_ms));
    t.row(rpc, "period ending before it starts", InvalidArgument, "to_ms: must be after from_ms",
        indicators(ADMIN, 2 * day_ms, day_ms));
    t.row(rpc, "no period given", InvalidArgument, "to_ms: must be after from_ms",
        indicators(SUPERVISOR, 0, 0));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call DepartmentIndicators",
        indicators(OPERATOR, 0, day_ms));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        indicators(Auth::NoToken, 0, day_ms));
}

#[rustfmt::skip]
fn query_rows(t: &mut Table, ch: &Channels, cases: &Cases) {
    use Code::{InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let get = |auth, case: &str| {
        let message = GetCaseRequest {
            case_id: case.to_owned(),
        };
        call!(QueryClient, ch.query, get_case, auth, message)
    };
    let list = |auth, message| call!(QueryClient, ch.query, list_cases, auth, message);
    let board = |auth| call!(QueryClient, ch.query, board, auth, BoardRequest {});
    let indicators = |auth, from_ms, to_ms| {
        let message = DepartmentIndicatorsRequest { from_ms, to_ms };
        call!(QueryClient, ch.query, department_indicators, auth, message)
    };
    let day_ms = 86_400_000;

    let rpc = "query.GetCase";
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        get(SUPERVISOR, "case-1"));
    t.row(rpc, "missing case id", InvalidArgument, "case_id: must be 32 hex digits, got 0",
        get(OPERATOR, ""));
    t.row(rpc, "unknown case", NotFound, "case 0123456789abcdef0123456789abcdef is not known",
        get(SUPERVISOR, UNKNOWN_CASE));
    t.row(rpc, "department role", PermissionDenied, "role department may not call GetCase",
        get(GAS, &cases.dispatched));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call GetCase",
        get(LIN_MING, &cases.dispatched));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        get(Auth::NoToken, &cases.dispatched));

    let rpc = "query.ListCases";
    t.row(rpc, "page size 201", InvalidArgument, "page_size: must be 1 to 200",
        list(SUPERVISOR, ListCasesRequest { page_size: 201, ..Default::default() }));
    t.row(rpc, "page size u32::MAX", InvalidArgument, "page_size: must be 1 to 200",
        list(SUPERVISOR, ListCasesRequest { page_size: u32::MAX, ..Default::default() }));
    t.row(rpc, "page token not from a reply", InvalidArgument,
        "page_token: not a token from a previous reply",
        list(OPERATOR, ListCasesRequest { page_token: "page-2".into(), ..Default::default() }));
    t.row(rpc, "unknown status", InvalidArgument, "status: unknown case status 42",
        list(OPERATOR, ListCasesRequest { status: 42, ..Default::default() }));
    t.row(rpc, "malformed grid code", InvalidArgument, "grid_code: district must be",
        list(SUPERVISOR, ListCasesRequest { grid_code: "33-01".into(), ..Default::default() }));
    t.row(rpc, "unknown grid", InvalidArgument, "grid_code: \"330102-009\" is not a known grid",
        list(SUPERVISOR, ListCasesRequest { grid_code: "330102-009".into(), ..Default::default() }));
    t.row(rpc, "unknown colour", InvalidArgument, "colour: \"purple\" is not green, yellow or red",
        list(SUPERVISOR, ListCasesRequest { colour: "purple".into(), ..Default::default() }));
    t.row(rpc, "unknown department", InvalidArgument,
        "department: \"nobody\" is not a known department",
        list(SUPERVISOR, ListCasesRequest { department: "nobody".into(), ..Default::default() }));
    t.row(rpc, "malformed department", InvalidArgument,
        "department: must start with a lowercase letter",
        list(SUPERVISOR, ListCasesRequest { department: "Gas".into(), ..Default::default() }));
    t.row(rpc, "unknown category", InvalidArgument,
        "category: \"BJ-99-99\" is not a known category",
        list(ADMIN, ListCasesRequest { category: UNKNOWN_CATEGORY.into(), ..Default::default() }));
    t.row(rpc, "malformed category", InvalidArgument, "category: must look like BJ-01-02",
        list(ADMIN, ListCasesRequest { category: "BJ-1".into(), ..Default::default() }));
    t.row(rpc, "gateway role", PermissionDenied, "role gateway may not call ListCases",
        list(GATEWAY, ListCasesRequest::default()));
    t.row(rpc, "unknown token", Unauthenticated, "unknown bearer token",
        list(UNKNOWN_TOKEN, ListCasesRequest::default()));

    let rpc = "query.Board";
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call Board",
        board(LIN_MING));
    t.row(rpc, "department role", PermissionDenied, "role department may not call Board",
        board(WATER));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        board(Auth::NoToken));
    t.row(rpc, "not a bearer header", Unauthenticated, "malformed authorization header",
        board(NOT_BEARER));

    let rpc = "query.DepartmentIndicators";
    t.row(rpc, "empty period", InvalidArgument, "to_ms: must be after from_ms",
        indicators(SUPERVISOR, day_ms, day_ms));
    t.row(rpc, "reversed period", InvalidArgument, "to_ms: must be after from_ms",
        indicators(SUPERVISOR, day_ms, 0));
    t.row(rpc, "operator role", PermissionDenied,
        "role operator may not call DepartmentIndicators", indicators(OPERATOR, 0, day_ms));
    t.row(rpc, "department role", PermissionDenied,
        "role department may not call DepartmentIndicators", indicators(GAS, 0, day_ms));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        indicators(Auth::NoToken, 0, day_ms));
}

#[rustfmt::skip]
fn store_rows(t: &mut Table, ch: &Channels) {
    use Code::{PermissionDenied, Unauthenticated};
    let stats = |auth| call!(StoreAdminClient, ch.store, stats, auth, StatsRequest {});
    let verify = |auth| call!(StoreAdminClient, ch.store, verify, auth, VerifyRequest {});

    let rpc = "store.Stats";
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call Stats",
        stats(OPERATOR));
    t.row(rpc, "department role", PermissionDenied, "role department may not call Stats",
        stats(GAS));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        stats(Auth::NoToken));
    t.row(rpc, "unknown token", Unauthenticated, "unknown bearer token",
        stats(UNKNOWN_TOKEN));

    let rpc = "store.Verify";
    t.row(rpc, "department role", PermissionDenied, "role department may not call Verify",
        verify(WATER));
    t.row(rpc, "gateway role", PermissionDenied, "role gateway may not call Verify",
        verify(GATEWAY));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call Verify",
        verify(LIN_MING));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        verify(Auth::NoToken));
    t.row(rpc, "not a bearer header", Unauthenticated, "malformed authorization header",
        verify(NOT_BEARER));
}

/// Every RPC of every service; the table must refuse something of each.
const EVERY_RPC: &[&str] = &[
    "intake.ReportCase",
    "intake.GetCaseStatus",
    "triage.ListManualQueue",
    "triage.TriageCase",
    "triage.RejectCase",
    "dispatch.Accept",
    "dispatch.Return",
    "dispatch.ReportProgress",
    "dispatch.RequestPostponement",
    "dispatch.Resolve",
    "supervision.UrgeCase",
    "supervision.ApprovePostponement",
    "supervision.RefusePostponement",
    "supervision.GetCaseColour",
    "evaluation.VerifyCase",
    "evaluation.RecordRating",
    "evaluation.CloseCase",
    "evaluation.DepartmentIndicators",
    "query.GetCase",
    "query.ListCases",
    "query.Board",
    "query.DepartmentIndicators",
    "store.Stats",
    "store.Verify",
];

/// RPCs whose request has no fields: only the token can be wrong.
const TAKES_NO_INPUT: &[&str] = &["query.Board", "store.Stats", "store.Verify"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_refuses_bad_input_and_writes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let system = System::start(SystemOptions {
        data: data.path().to_owned(),
        config: gridcase_testkit::sample_config_dir(),
        tokens: token_table(CALLERS),
        nats_port: 0,
        addresses: Addresses::any_free(),
    })
    .await
    .unwrap();
    let channels = Channels::of(&system);
    let cases = set_up_cases(&channels).await;

    let mut table = Table::default();
    intake_rows(&mut table, &channels);
    triage_rows(&mut table, &channels, &cases);
    dispatch_rows(&mut table, &channels, &cases);
    supervision_rows(&mut table, &channels, &cases);
    evaluation_rows(&mut table, &channels, &cases);
    query_rows(&mut table, &channels, &cases);
    store_rows(&mut table, &channels);
    for rpc in EVERY_RPC {
        let rows: Vec<&Row> = table.0.iter().filter(|row| row.rpc == *rpc).collect();
        assert!(
            rows.iter()
                .any(|row| matches!(row.code, Code::Unauthenticated | Code::PermissionDenied)),
            "{rpc}: the table has no row for a missing token or a wrong role"
        );
        assert!(
            rows.iter()
                .any(|row| !matches!(row.code, Code::Unauthenticated | Code::PermissionDenied))
                || TAKES_NO_INPUT.contains(rpc),
            "{rpc}: the table has no row for bad input"
        );
    }
    assert!(
        table.0.iter().all(|row| EVERY_RPC.contains(&row.rpc)),
        "a row names an RPC missing from EVERY_RPC"
    );

    let store = StoreClient::new(
        gridcase_bus::connect(system.nats_url()).await.unwrap(),
        gridcase_bus::subjects::DEFAULT_SHARD,
    );
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
    system.shut_down().await.unwrap();
}
