//! The evaluation service against a real nats-server and a real sled store (in-process): cases
//! are driven to `resolved` through the case store, then verified, rated, closed and measured
//! over gRPC.

use gridcase_auth::TokenTable;
use gridcase_domain::{
    Assignee, CaseId, CaseStatus, CategoryCode, Channel, Command, Contact, DepartmentCode,
    Description, GridCode, Location, Note, Priority, Route, Timestamp, TrackingCode,
};
use gridcase_evaluation::EvaluationConfig;
use gridcase_proto::common::v1::{self as common, CaseReply};
use gridcase_proto::evaluation::v1::evaluation_client::EvaluationClient;
use gridcase_proto::evaluation::v1::{
    CloseCaseRequest, DepartmentIndicatorsRequest, RateDepartmentRequest, RecordRatingRequest,
    VerifyCaseRequest,
};
use gridcase_testkit::sample_config_dir as config_dir;
use gridcase_testkit::{AuthedChannel, ServiceHarness};
use tonic::Code;

const GRID: &str = "330102-001-001-001";
/// 燃气井盖 (gas manhole cover), owned by the gas company.
const GAS_CATEGORY: &str = "BJ-01-05";
const HOUR_MS: i64 = 3_600_000;

type Client = EvaluationClient<AuthedChannel>;

const CALLERS: &[(&str, &str)] = &[
    ("lin-ming", "grid_worker:lin-ming"),
    ("chen-lijuan", "grid_worker:chen-lijuan"),
    // A worker of 涌金社区第二网格, the grid next to the cases'.
    ("yu-gang", "grid_worker:yu-gang"),
    ("ghost-worker", "grid_worker:ghost-worker"),
    ("gateway", "gateway:qr-web"),
    ("operator", "operator:op-1"),
    ("supervisor", "supervisor:sup-1"),
    ("gas", "department:gas:clerk-1"),
];

fn tokens() -> TokenTable {
    gridcase_testkit::token_table(CALLERS)
}

fn now_ms() -> i64 {
    gridcase_runtime::now().as_millis()
}

fn department(code: &str) -> Assignee {
    Assignee::Department(DepartmentCode::parse(code).unwrap())
}

/// The store and the evaluation service running in this process.
struct Harness {
    service: ServiceHarness,
    next_case: u128,
}

gridcase_testkit::derefs_to_service_harness!(Harness, service);

impl Harness {
    async fn start(salt: u128) -> Self {
        let service = ServiceHarness::start("evaluation", |nats, listener, stop| {
            gridcase_evaluation::run(
                EvaluationConfig::new(config_dir(), tokens()),
                nats,
                listener,
                stop,
            )
        })
        .await;
        Self {
            service,
            next_case: salt << 64,
        }
    }

    fn client_as(&self, who: &str) -> Client {
        self.service.client_as(who)
    }

    async fn shut_down(self) {
        self.service.shut_down().await;
    }

    /// A case reported at `reported_at`, dispatched to `dept` with the given deadlines,
    /// accepted and resolved.
    async fn resolved_case(
        &mut self,
        dept: &str,
        reported_at: i64,
        accept_deadline: i64,
        resolve_deadline: i64,
    ) -> CaseId {
        self.next_case += 1;
        let case = CaseId::from_u128(self.next_case);
        self.record(
            case,
            Command::Report {
                case_id: case,
                tracking_code: TrackingCode::from_u64(self.next_case as u64),
                channel: Channel::Hotline,
                reporter: Contact::Anonymous,
                location: Location::new(Some(GridCode::parse(GRID).unwrap()), None, None).unwrap(),
                description: Description::parse("井盖缺失").unwrap(),
                category: None,
                media: vec![],
                reported_at: Timestamp::from_millis(reported_at),
            },
        )
        .await;
        self.record(
            case,
            Command::Triage {
                category: CategoryCode::parse(GAS_CATEGORY).unwrap(),
                priority: Priority::Urgent,
                route: Route::Department {
                    department: DepartmentCode::parse(dept).unwrap(),
                },
                triaged_by: None,
                model: None,
                priority_reason: None,
            },
        )
        .await;
        self.record(
            case,
            Command::Dispatch {
                assignee: department(dept),
                participants: vec![],
                accept_deadline: Some(Timestamp::from_millis(accept_deadline)),
                resolve_deadline: Some(Timestamp::from_millis(resolve_deadline)),
                report_in: None,
            },
        )
        .await;
        self.record(
            case,
            Command::Accept {
                by: department(dept),
            },
        )
        .await;
        self.resolve(case, dept).await;
        case
    }

    async fn resolve(&self, case: CaseId, dept: &str) {
        let state = self
            .record(
                case,
                Command::Resolve {
                    by: department(dept),
                    note: Note::parse("已修复").unwrap(),
                    evidence: vec![],
                },
            )
            .await;
        assert_eq!(state.status, Some(CaseStatus::Resolved));
    }

    async fn simple_case(&mut self) -> CaseId {
        let now = now_ms();
        self.resolved_case("gas", now - HOUR_MS, now + HOUR_MS, now + 24 * HOUR_MS)
            .await
    }

    async fn verify(&self, case: CaseId, passed: bool, note: &str) -> CaseReply {
        self.client_as("lin-ming")
            .verify_case(VerifyCaseRequest {
                case_id: case.to_string(),
                passed,
                note: note.into(),
                request_id: format!("verify-{case}-{passed}-{note}"),
            })
            .await
            .unwrap()
            .into_inner()
    }
}

fn rating(case: CaseId, resolved: bool, satisfied: bool, score: u32) -> RecordRatingRequest {
    RecordRatingRequest {
        case_id: case.to_string(),
        resolved,
        satisfied,
        score,
        comment: "挺好".into(),
        request_id: format!("rate-{case}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_and_rated_resolved_is_closed() {
    let mut h = Harness::start(1).await;
    let case = h.simple_case().await;
    let reply = h.verify(case, true, "现场已修复").await;
    assert_eq!(reply.status(), common::CaseStatus::Verified);
    assert!(!reply.repeated);
    let reply = h
        .client_as("gateway")
        .record_rating(rating(case, true, true, 5))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status(), common::CaseStatus::Closed);
    let state = h.state(case).await;
    assert_eq!(state.status, Some(CaseStatus::Closed));
    assert_eq!(
        state.rating.map(|r| (r.resolved, r.satisfied, r.score)),
        Some((true, true, 5))
    );

    // A retry with the same request id writes nothing.
    let before = h.events().await;
    let again = h
        .client_as("gateway")
        .record_rating(rating(case, true, true, 5))
        .await
        .unwrap()
        .into_inner();
    assert!(again.repeated);
    assert_eq!(again.status(), common::CaseStatus::Closed);
    assert_eq!(h.events().await, before);
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_verification_sends_the_case_back() {
    let mut h = Harness::start(2).await;
    let case = h.simple_case().await;
    let reply = h.verify(case, false, "井盖仍然缺失").await;
    assert_eq!(reply.status(), common::CaseStatus::Accepted);
    let state = h.state(case).await;
    assert_eq!(state.status, Some(CaseStatus::Accepted));
    assert_eq!(state.rework_count, 1);
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_resolved_rating_reopens_and_early_rating_is_refused() {
    let mut h = Harness::start(3).await;
    let case = h.simple_case().await;
    // Rating before verification: refused, nothing written.
    let before = h.events().await;
    let status = h
        .client_as("operator")
        .record_rating(rating(case, true, true, 4))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(h.events().await, before);

    h.verify(case, true, "").await;
    let reply = h
        .client_as("operator")
        .record_rating(RecordRatingRequest {
            request_id: "callback-1".into(),
            ..rating(case, false, false, 2)
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status(), common::CaseStatus::Reported);
    let state = h.state(case).await;
    assert_eq!(state.status, Some(CaseStatus::Reported));
    assert_eq!(state.reopen_count, 1);
    assert_eq!(state.rating, None);
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_case_closes_without_a_rating() {
    let mut h = Harness::start(4).await;
    let case = h.simple_case().await;
    h.verify(case, true, "").await;
    let reply = h
        .client_as("supervisor")
        .close_case(CloseCaseRequest {
            case_id: case.to_string(),
            request_id: "close-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status(), common::CaseStatus::Closed);
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_and_write_nothing() {
    let mut h = Harness::start(5).await;
    let case = h.simple_case().await;
    h.verify(case, true, "").await;
    let before = h.events().await;
    let unknown = CaseId::from_u128(0xdead).to_string();
    let cases: Vec<(&str, RecordRatingRequest, Code, &str)> = vec![
        (
            "gateway",
            RecordRatingRequest {
                case_id: "not-a-case".into(),
                ..rating(case, true, true, 5)
            },
            Code::InvalidArgument,
            "case_id:",
        ),
        (
            "gateway",
            rating(case, true, true, 0),
            Code::InvalidArgument,
            "score: must be 1 to 5",
        ),
        (
            "gateway",
            rating(case, true, true, 6),
            Code::InvalidArgument,
            "score: must be 1 to 5",
        ),
        (
            "gateway",
            RecordRatingRequest {
                comment: "长".repeat(1001),
                ..rating(case, true, true, 5)
            },
            Code::InvalidArgument,
            "comment:",
        ),
        (
            "gateway",
            RecordRatingRequest {
                case_id: unknown,
                ..rating(case, true, true, 5)
            },
            Code::NotFound,
            "",
        ),
        (
            "gas",
            rating(case, true, true, 5),
            Code::PermissionDenied,
            "",
        ),
    ];
    for (who, request, code, message) in cases {
        let status = h.client_as(who).record_rating(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().starts_with(message), "{status:?}");
    }
    // A failed verification needs a note.
    let status = h
        .client_as("lin-ming")
        .verify_case(VerifyCaseRequest {
            case_id: case.to_string(),
            passed: false,
            note: String::new(),
            request_id: "v-empty".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("note:"), "{status:?}");
    assert_eq!(h.events().await, before);
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn department_indicators_are_exact() {
    let mut h = Harness::start(6).await;
    let now = now_ms();
    let reported = now - 10 * HOUR_MS;
    // A: gas, accepted on time, verified, rated satisfied and resolved: closed on time.
    let a = h
        .resolved_case("gas", reported, now + HOUR_MS, now + 10 * HOUR_MS)
        .await;
    h.verify(a, true, "").await;
    h.client_as("gateway")
        .record_rating(rating(a, true, true, 5))
        .await
        .unwrap();
    // B: gas, accepted late, one failed verification, rated resolved but not satisfied:
    // closed after its resolve deadline.
    let b = h
        .resolved_case("gas", reported, now - 9 * HOUR_MS, now - HOUR_MS)
        .await;
    h.verify(b, false, "还在漏").await;
    h.resolve(b, "gas").await;
    h.verify(b, true, "").await;
    h.client_as("gateway")
        .record_rating(rating(b, true, false, 3))
        .await
        .unwrap();
    // C: water, accepted on time, resolved, not yet verified.
    h.resolved_case("water", reported, now + HOUR_MS, now + 10 * HOUR_MS)
        .await;

    let reply = h
        .client_as("supervisor")
        .department_indicators(DepartmentIndicatorsRequest {
            from_ms: now - 11 * HOUR_MS,
            to_ms: now + HOUR_MS,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.events_read, h.events().await);
    let rows = reply.departments;
    assert_eq!(rows.len(), 2);
    let gas = &rows[0];
    // Fewer cases due than the sample's ranking minimum (10): reported, not ranked.
    assert_eq!((gas.department.as_str(), gas.rank), ("gas", 0));
    assert_eq!((gas.dispatched, gas.accepted_on_time), (2, 1));
    assert_eq!(gas.response_rate, Some(0.5));
    assert_eq!((gas.resolved, gas.verifications_failed), (3, 1));
    assert_eq!(gas.rework_rate, Some(1.0 / 3.0));
    assert_eq!(
        (gas.due, gas.deferred, gas.closed, gas.closed_on_time),
        (2, 0, 2, 1)
    );
    assert_eq!(gas.closure_rate, Some(1.0));
    assert_eq!(gas.on_time_closure_rate, Some(0.5));
    assert_eq!(
        (gas.ratings, gas.satisfied, gas.resolved_answers),
        (2, 1, 2)
    );
    assert_eq!(gas.satisfaction_rate, Some(0.5));
    assert_eq!(gas.resolution_rate, Some(1.0));
    let mean = gas.mean_hours_to_close.unwrap();
    assert!((10.0..10.5).contains(&mean), "{mean}");
    let p90 = gas.p90_hours_to_close.unwrap();
    assert!((10.0..10.5).contains(&p90), "{p90}");
    // No grid worker rated gas (网格评部门): that rate is absent and adds nothing.
    assert_eq!((gas.grid_ratings, gas.grid_rating_rate), (0, None));
    let expected = 0.15 * 0.5 + 0.25 * 0.5 + 0.15 + 0.15 * 0.5 + 0.20 - 0.10 / 3.0;
    assert!((gas.score - expected).abs() < 1e-9, "{}", gas.score);

    let water = &rows[1];
    assert_eq!((water.department.as_str(), water.rank), ("water", 0));
    assert_eq!((water.dispatched, water.accepted_on_time), (1, 1));
    assert_eq!(water.response_rate, Some(1.0));
    assert_eq!((water.resolved, water.verifications_failed), (1, 0));
    assert_eq!(water.rework_rate, Some(0.0));
    assert_eq!((water.due, water.closed, water.closed_on_time), (1, 0, 0));
    assert_eq!(water.closure_rate, Some(0.0));
    assert_eq!(water.ratings, 0);
    assert_eq!(water.satisfaction_rate, None);
    assert_eq!(water.resolution_rate, None);
    assert_eq!(water.mean_hours_to_close, None);
    assert!((water.score - 0.15).abs() < 1e-9, "{}", water.score);

    // A period with no reports: nothing to rank.
    let empty = h
        .client_as("supervisor")
        .department_indicators(DepartmentIndicatorsRequest {
            from_ms: now + HOUR_MS,
            to_ms: now + 2 * HOUR_MS,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(empty.departments.is_empty());
    // Only supervisors and admins; a backwards period is refused.
    let denied = h
        .client_as("gas")
        .department_indicators(DepartmentIndicatorsRequest {
            from_ms: 0,
            to_ms: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let backwards = h
        .client_as("supervisor")
        .department_indicators(DepartmentIndicatorsRequest {
            from_ms: 10,
            to_ms: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(backwards.code(), Code::InvalidArgument);
    assert!(backwards.message().starts_with("to_ms:"));
    h.shut_down().await;
}

/// lin-ming's rating of the gas company's handling of `case`: 5, 4, 3.
fn department_rating(case: CaseId, request_id: &str) -> RateDepartmentRequest {
    RateDepartmentRequest {
        request_id: request_id.to_owned(),
        case_id: case.to_string(),
        department_code: "gas".to_owned(),
        timeliness: 5,
        attitude: 4,
        result: 3,
        note: "回复及时，处理彻底，居民认可".to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grid_rates_the_department_of_a_closed_case_once() {
    let mut h = Harness::start(7).await;
    let now = now_ms();
    let case = h.simple_case().await;
    h.verify(case, true, "").await;
    let rate = |who: &str, request: RateDepartmentRequest| {
        let mut client = h.client_as(who);
        async move { client.rate_department(request).await }
    };
    let refusal = |result: Result<tonic::Response<CaseReply>, tonic::Status>| {
        let status = result.unwrap_err();
        (status.code(), status.message().to_owned())
    };
    let before = h.events().await;
    assert_eq!(
        refusal(rate("lin-ming", department_rating(case, "early")).await),
        (
            Code::FailedPrecondition,
            "cannot rate the department: case is verified, not closed".to_owned()
        )
    );
    h.client_as("gateway")
        .record_rating(rating(case, true, true, 5))
        .await
        .unwrap();

    let rated = rate("lin-ming", department_rating(case, "rate-gas"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rated.status(), common::CaseStatus::Closed);
    assert!(!rated.repeated);
    let events = h.events_of(case).await;
    let Some(gridcase_domain::Event::DepartmentRated(event)) = events.last() else {
        panic!("no rating last: {events:?}")
    };
    assert_eq!(
        (event.by.as_str(), event.department.as_str()),
        ("lin-ming", "gas")
    );
    assert_eq!(
        (
            event.timeliness.get(),
            event.attitude.get(),
            event.result.get()
        ),
        (5, 4, 3)
    );
    assert_eq!(
        event.note.as_ref().map(Note::as_str),
        Some("回复及时，处理彻底，居民认可")
    );
    assert!(event.at.as_millis() >= now);
    // The app retrying after a lost reply gets the same answer; nothing more is written.
    let written = h.events().await;
    let again = rate("lin-ming", department_rating(case, "rate-gas"))
        .await
        .unwrap()
        .into_inner();
    assert!(again.repeated);
    assert_eq!(again.version, rated.version);
    assert_eq!(h.events().await, written);

    // The rules, each refused with FAILED_PRECONDITION and nothing written.
    let refusals = [
        (
            "lin-ming",
            department_rating(case, "rate-gas-twice"),
            "cannot rate the department: gas is already rated on this case",
        ),
        (
            "chen-lijuan",
            department_rating(case, "chen-rates-gas"),
            "cannot rate the department: gas is already rated on this case",
        ),
        (
            "yu-gang",
            department_rating(case, "yu-rates-gas"),
            "cannot rate the department: the case is in grid 330102-001-001-001, not in grid \
             330102-001-001-002 where worker yu-gang works",
        ),
        (
            "lin-ming",
            RateDepartmentRequest {
                department_code: "water".into(),
                ..department_rating(case, "rate-water")
            },
            "cannot rate the department: water did not handle this case; it was handled by gas",
        ),
    ];
    for (who, request, message) in refusals {
        let (code, text) = refusal(rate(who, request).await);
        assert_eq!(code, Code::FailedPrecondition, "{who}: {text}");
        assert!(text.starts_with(message), "{who}: {text}");
    }
    // Bad fields are named; the wrong roles and strangers are turned away.
    let bad = [
        (
            "lin-ming",
            RateDepartmentRequest {
                timeliness: 0,
                ..department_rating(case, "bad-1")
            },
            Code::InvalidArgument,
            "timeliness: must be 1 to 5, got 0",
        ),
        (
            "lin-ming",
            RateDepartmentRequest {
                department_code: "gas_works".into(),
                ..department_rating(case, "bad-2")
            },
            Code::InvalidArgument,
            "department_code: gas_works is not a known department",
        ),
        (
            "lin-ming",
            RateDepartmentRequest {
                case_id: CaseId::from_u128(0xdead).to_string(),
                ..department_rating(case, "bad-3")
            },
            Code::NotFound,
            "case does not exist",
        ),
        (
            "ghost-worker",
            department_rating(case, "bad-4"),
            Code::PermissionDenied,
            "ghost-worker is not a known grid worker",
        ),
        (
            "supervisor",
            department_rating(case, "bad-5"),
            Code::PermissionDenied,
            "role supervisor may not call RateDepartment",
        ),
    ];
    for (who, request, code, message) in bad {
        let status = rate(who, request).await.unwrap_err();
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().contains(message), "{status:?}");
    }
    assert_eq!(h.state(case).await.departments_rated.len(), 1);
    assert_eq!(h.events().await, written);
    assert_eq!(
        written,
        before + 3,
        "the rating, closing and the grid's rating"
    );

    // (5 + 4 + 3 - 3) / 12 = 0.75 in gas's indicators, weighed 0.10 in its score.
    let reply = h
        .client_as("supervisor")
        .department_indicators(DepartmentIndicatorsRequest {
            from_ms: now - 2 * HOUR_MS,
            to_ms: now + HOUR_MS,
        })
        .await
        .unwrap()
        .into_inner();
    let gas = &reply.departments[0];
    assert_eq!(gas.department, "gas");
    assert_eq!((gas.grid_ratings, gas.grid_rating_rate), (1, Some(0.75)));
    // Accepted, closed on time, satisfied and resolved, no rework.
    let expected = 0.15 + 0.25 + 0.15 + 0.15 + 0.20 + 0.10 * 0.75;
    assert!((gas.score - expected).abs() < 1e-9, "{}", gas.score);
    h.shut_down().await;
}
