//! The intake service against a real nats-server and a real sled store (in-process), called
//! through the generated gRPC client.

use std::path::PathBuf;

use gridcase_auth::TokenTable;
use gridcase_bus::StoreClient;
use gridcase_casestore::CaseStore;
use gridcase_domain::{CaseId, CaseStatus, Channel as DomainChannel, Contact, Event, TrackingCode};
use gridcase_eventstore::EventStore;
use gridcase_intake::{tracking, IntakeConfig};
use gridcase_privacy::Vault;
use gridcase_proto::common::v1::{self as common, Coordinates, Location};
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::intake::v1::{Channel, GetCaseStatusRequest, ReportCaseRequest, Reporter};
use gridcase_testkit::ServiceHarness;
use tonic::transport::Channel as GrpcChannel;
use tonic::{Code, Request};

const OPERATOR: &str = "test-operator-token-01";
const LIN_MING: &str = "test-worker-token-lin-ming";
const DEPARTMENT: &str = "test-department-token-urban";
const GATEWAY: &str = "test-gateway-token-qr-web";
const SUPERVISOR: &str = "test-supervisor-token-01";

/// The callers the tests call as.
fn tokens() -> TokenTable {
    TokenTable::from_env_value(&format!(
        "{OPERATOR}=operator:op-001,{LIN_MING}=grid_worker:lin-ming,\
         {DEPARTMENT}=department:urban_mgmt:clerk-01,{GATEWAY}=gateway:qr-web,\
         {SUPERVISOR}=supervisor:sup-001"
    ))
    .unwrap()
}

/// `message` sent with `authorization: Bearer <token>`.
fn with_token<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

fn as_operator<T>(message: T) -> Request<T> {
    with_token(OPERATOR, message)
}

/// The store and the intake service running in this process.
struct Harness {
    service: ServiceHarness,
    client: IntakeClient<GrpcChannel>,
}

gridcase_testkit::derefs_to_service_harness!(Harness, service);

impl Harness {
    async fn start() -> Self {
        let config_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config");
        let service = ServiceHarness::start("intake", move |nats, listener, stop| {
            let config = IntakeConfig::new(config_dir.clone(), tokens());
            gridcase_intake::run(config, nats, listener, stop)
        })
        .await;
        let client = IntakeClient::new(service.channel());
        Self { service, client }
    }

    fn store_client(&self) -> StoreClient {
        self.store().clone()
    }

    async fn shut_down(self) {
        self.service.shut_down().await;
    }
}

fn hotline_report(request_id: &str) -> ReportCaseRequest {
    ReportCaseRequest {
        client_request_id: request_id.into(),
        channel: Channel::Hotline as i32,
        reporter: Some(Reporter {
            name: "王芳".into(),
            phone: "138 1234 5678".into(),
        }),
        location: Some(Location {
            grid_code: "330102-001-001-001".into(),
            address: "涌金路 12 号门口".into(),
            coordinates: Some(Coordinates {
                lat: 30.2533,
                lon: 120.1622,
            }),
        }),
        description: "井盖缺失，有人掉进去的危险".into(),
        category_code: "BJ-01-05".into(),
        media_urls: vec!["https://media.example.cn/a.jpg".into()],
        reported_by_worker: String::new(),
        member_id: String::new(),
    }
}

fn worker_report(request_id: &str) -> ReportCaseRequest {
    ReportCaseRequest {
        client_request_id: request_id.into(),
        channel: Channel::GridWorker as i32,
        reporter: None,
        location: Some(Location {
            grid_code: "330102-001-001-001".into(),
            ..Default::default()
        }),
        description: "垃圾桶满溢".into(),
        category_code: String::new(),
        media_urls: Vec::new(),
        reported_by_worker: "lin-ming".into(),
        member_id: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_recorded_once_and_found_by_tracking_code() {
    let mut harness = Harness::start().await;
    let cases = CaseStore::new(harness.store_client());

    // (a) Hotline and grid-worker reports become cases with tracking codes.
    let hotline = harness
        .client
        .report_case(as_operator(hotline_report("console-7/0001")))
        .await
        .unwrap()
        .into_inner();
    assert!(!hotline.already_reported);
    let hotline_id = CaseId::parse(&hotline.case_id).unwrap();
    let hotline_code = TrackingCode::parse(&hotline.tracking_code).unwrap();
    let loaded = cases.load(hotline_id).await.unwrap();
    assert_eq!(loaded.state.status, Some(CaseStatus::Reported));
    assert_eq!(loaded.state.tracking_code, Some(hotline_code));
    assert_eq!(loaded.timeline.len(), 1);
    assert_eq!(loaded.timeline[0].actor.as_deref(), Some("operator:op-001"));
    let Event::CaseReported(reported) = &loaded.timeline[0].event else {
        panic!("expected CaseReported, got {:?}", loaded.timeline[0].event);
    };
    assert_eq!(reported.channel, DomainChannel::Hotline);
    // The log holds the contact sealed with the person's key; the vault opens it.
    assert!(matches!(reported.reporter, Contact::Sealed(_)));
    let stored = harness
        .store_client()
        .read_stream(&gridcase_casestore::stream_name(hotline_id), 0, 1)
        .await
        .unwrap();
    let raw = String::from_utf8_lossy(&stored[0].payload).into_owned();
    assert!(
        !raw.contains("13812345678") && !raw.contains("王芳"),
        "{raw}"
    );
    let vault = Vault::Remote(harness.store_client().nats().clone());
    let opened = vault.open_one(&reported.reporter).await.unwrap();
    let reporter = opened.reporter().expect("a reporter");
    assert_eq!(reporter.phone.as_ref().unwrap().as_str(), "13812345678");
    assert_eq!(reporter.name.as_ref().unwrap().as_str(), "王芳");

    let worker = harness
        .client
        .report_case(with_token(LIN_MING, worker_report("app-lin-ming/0001")))
        .await
        .unwrap()
        .into_inner();
    assert!(!worker.already_reported);
    assert_ne!(worker.case_id, hotline.case_id);
    assert_ne!(worker.tracking_code, hotline.tracking_code);
    let loaded = cases
        .load(CaseId::parse(&worker.case_id).unwrap())
        .await
        .unwrap();
    assert_eq!(
        loaded.timeline[0].actor.as_deref(),
        Some("grid_worker:lin-ming")
    );
    let Event::CaseReported(reported) = &loaded.timeline[0].event else {
        panic!("expected CaseReported");
    };
    assert_eq!(reported.channel, DomainChannel::GridWorker);
    assert!(reported.reporter.is_anonymous());

    // (b) The same request id again: the same case and code, nothing written.
    let before = harness.events().await;
    let mut changed = hotline_report("console-7/0001");
    changed.description = "a retry whose text differs still names the first case".into();
    let again = harness
        .client
        .report_case(as_operator(changed))
        .await
        .unwrap()
        .into_inner();
    assert!(again.already_reported);
    assert_eq!(again.case_id, hotline.case_id);
    assert_eq!(again.tracking_code, hotline.tracking_code);
    assert_eq!(harness.events().await, before);
    assert_eq!(cases.load(hotline_id).await.unwrap().timeline.len(), 1);

    // (c) Status by tracking code, however the resident types it.
    let compact_lower = hotline.tracking_code.replace('-', "").to_lowercase();
    for typed in [hotline.tracking_code.clone(), compact_lower] {
        let status = harness
            .client
            .get_case_status(with_token(
                GATEWAY,
                GetCaseStatusRequest {
                    tracking_code: typed,
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(status.status(), common::CaseStatus::Reported);
        assert_eq!(status.case_id, hotline.case_id);
        assert_eq!(status.tracking_code, hotline.tracking_code);
        assert_eq!(status.category_code, "BJ-01-05");
        assert!(status.reported_at_ms > 1_700_000_000_000);
        assert!(status.last_update_ms >= status.reported_at_ms);
    }
    let unknown = (0..u64::MAX)
        .map(TrackingCode::from_u64)
        .find(|code| {
            code.to_string() != hotline.tracking_code && code.to_string() != worker.tracking_code
        })
        .unwrap();
    let missing = harness
        .client
        .get_case_status(as_operator(GetCaseStatusRequest {
            tracking_code: unknown.to_string(),
        }))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    assert!(missing.message().contains("tracking_code"), "{missing:?}");
    // A code reserved by a report that never landed is not a case.
    let orphan = CaseId::from_u128(0xdead_beef);
    let one_shard = gridcase_bus::ShardMap::one("0");
    let orphan_code =
        tracking::reserve(&harness.store_client(), &one_shard, orphan, "intake:web", 1)
            .await
            .unwrap();
    let missing = harness
        .client
        .get_case_status(as_operator(GetCaseStatusRequest {
            tracking_code: orphan_code.to_string(),
        }))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    for malformed in ["", "ABC", "0000-1111", "ABCD-EFGH-J"] {
        let refused = harness
            .client
            .get_case_status(as_operator(GetCaseStatusRequest {
                tracking_code: malformed.into(),
            }))
            .await
            .unwrap_err();
        assert_eq!(
            refused.code(),
            Code::InvalidArgument,
            "{malformed}: {refused:?}"
        );
        assert!(
            refused.message().starts_with("tracking_code: "),
            "{malformed}: {refused:?}"
        );
    }

    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_of_one_request_make_one_case() {
    let harness = Harness::start().await;
    let before = harness.events().await;
    let attempts = (0..4).map(|_| {
        let mut client = harness.client.clone();
        async move {
            client
                .report_case(as_operator(hotline_report("console-9/race")))
                .await
                .map(tonic::Response::into_inner)
        }
    });
    let outcomes: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(outcomes.iter().all(|o| o.case_id == outcomes[0].case_id));
    assert!(outcomes
        .iter()
        .all(|o| o.tracking_code == outcomes[0].tracking_code));
    assert_eq!(outcomes.iter().filter(|o| !o.already_reported).count(), 1);
    // One reservation and one report.
    assert_eq!(harness.events().await, before + 2);

    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_naming_the_field_and_writes_nothing() {
    let mut harness = Harness::start().await;
    let before = harness.events().await;

    type Change = Box<dyn FnOnce(&mut ReportCaseRequest)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "client_request_id",
            Box::new(|r| r.client_request_id.clear()),
        ),
        (
            "channel",
            Box::new(|r| r.channel = Channel::Unspecified as i32),
        ),
        ("description", Box::new(|r| r.description.clear())),
        (
            "description",
            Box::new(|r| r.description = "水".repeat(2001)),
        ),
        ("location", Box::new(|r| r.location = None)),
        (
            "location.grid_code",
            Box::new(|r| r.location.as_mut().unwrap().grid_code = "330102-1".into()),
        ),
        (
            "location.grid_code",
            Box::new(|r| r.location.as_mut().unwrap().grid_code = "330102-009-001".into()),
        ),
        (
            "category_code",
            Box::new(|r| r.category_code = "BJ-99-99".into()),
        ),
        (
            "reporter.phone",
            Box::new(|r| r.reporter.as_mut().unwrap().phone = "call me maybe".into()),
        ),
        (
            "location.coordinates",
            Box::new(|r| {
                r.location.as_mut().unwrap().coordinates = Some(Coordinates {
                    lat: 91.0,
                    lon: 120.0,
                })
            }),
        ),
        (
            "media_urls[0]",
            Box::new(|r| r.media_urls = vec!["file:///etc/passwd".into()]),
        ),
        (
            "reported_by_worker",
            Box::new(|r| {
                r.channel = Channel::GridWorker as i32;
                r.reported_by_worker = "no-such-worker".into();
            }),
        ),
    ];
    for (index, (field, change)) in cases.into_iter().enumerate() {
        let mut request = hotline_report(&format!("bad-{index}"));
        change(&mut request);
        let refused = harness
            .client
            .report_case(as_operator(request))
            .await
            .unwrap_err();
        assert_eq!(
            refused.code(),
            Code::InvalidArgument,
            "{field}: {refused:?}"
        );
        assert!(
            refused.message().starts_with(&format!("{field}: ")),
            "{field}: {refused:?}"
        );
    }
    let oversize = {
        let mut request = hotline_report("bad-oversize");
        request.description = "水".repeat(2417);
        harness
            .client
            .report_case(as_operator(request))
            .await
            .unwrap_err()
    };
    assert_eq!(
        oversize.message(),
        "description: 2417 characters, at most 2000"
    );
    let unknown_grid = {
        let mut request = hotline_report("bad-grid");
        request.location.as_mut().unwrap().grid_code = "330102-009-001-001".into();
        harness
            .client
            .report_case(as_operator(request))
            .await
            .unwrap_err()
    };
    assert_eq!(
        unknown_grid.message(),
        "location.grid_code: 330102-009-001-001 is not a known grid"
    );
    assert_eq!(harness.events().await, before);

    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_store_makes_intake_unavailable() {
    let mut harness = Harness::start().await;
    harness.stop_store().await;

    let refused = harness
        .client
        .report_case(as_operator(hotline_report("while-down")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    let refused = harness
        .client
        .get_case_status(as_operator(GetCaseStatusRequest {
            tracking_code: "ABCD-EFGH".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");

    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_need_a_token_and_a_role_allowed_for_the_rpc() {
    let mut harness = Harness::start().await;
    let before = harness.events().await;
    let status_request = || GetCaseStatusRequest {
        tracking_code: "ABCD-EFGH".into(),
    };

    // No token, or one nobody holds: UNAUTHENTICATED, before anything else is looked at.
    let refused = harness
        .client
        .report_case(hotline_report("no-token"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert_eq!(refused.message(), "missing bearer token");
    let refused = harness
        .client
        .get_case_status(status_request())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let refused = harness
        .client
        .report_case(with_token(
            "not-a-token-anyone-holds",
            hotline_report("bad-token"),
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert_eq!(refused.message(), "unknown bearer token");

    // A role the RPC does not allow: PERMISSION_DENIED naming the role and the RPC.
    let refused = harness
        .client
        .report_case(with_token(DEPARTMENT, hotline_report("by-department")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert_eq!(refused.message(), "role department may not call ReportCase");
    let refused = harness
        .client
        .get_case_status(with_token(DEPARTMENT, status_request()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert_eq!(
        refused.message(),
        "role department may not call GetCaseStatus"
    );
    let refused = harness
        .client
        .report_case(with_token(SUPERVISOR, hotline_report("by-supervisor")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    // A grid worker reports only as itself.
    let mut as_someone_else = worker_report("app-lin-ming/impostor");
    as_someone_else.reported_by_worker = "chen-lijuan".into();
    let refused = harness
        .client
        .report_case(with_token(LIN_MING, as_someone_else))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert_eq!(
        refused.message(),
        "reported_by_worker: grid worker lin-ming may not report as chen-lijuan"
    );
    assert_eq!(harness.events().await, before);

    // Health stays open: probes carry no token.
    let mut health = tonic_health::pb::health_client::HealthClient::new(harness.channel());
    let serving = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: gridcase_intake::SERVICE_NAME.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        serving.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    // Allowed callers get through, and are the actor of what they write.
    let reported = harness
        .client
        .report_case(with_token(GATEWAY, hotline_report("qr/0001")))
        .await
        .unwrap()
        .into_inner();
    let loaded = CaseStore::new(harness.store_client())
        .load(CaseId::parse(&reported.case_id).unwrap())
        .await
        .unwrap();
    assert_eq!(loaded.timeline[0].actor.as_deref(), Some("gateway:qr-web"));
    for token in [SUPERVISOR, LIN_MING, OPERATOR, GATEWAY] {
        let status = harness
            .client
            .get_case_status(with_token(
                token,
                GetCaseStatusRequest {
                    tracking_code: reported.tracking_code.clone(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(status.case_id, reported.case_id, "{token}");
    }

    harness.shut_down().await;
}
