//! The dispatch service against a real nats-server and a real sled store (in-process): cases are
//! reported and triaged through the case store, the service dispatches them and publishes work
//! orders to JetStream, departments pull them with their durable consumers and answer over gRPC.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use gridcase_auth::TokenTable;
use gridcase_casestore::LoadedCase;
use gridcase_config::ReferenceData;
use gridcase_dispatch::DispatchConfig;
use gridcase_domain::{
    Address, Assignee, CaseId, CaseStatus, CategoryCode, Channel, Command, Coordinates,
    DepartmentCode, Description, Event, GridCode, Location, Note, Phone, Priority, Reporter, Route,
    Timestamp, TrackingCode, Url, WorkerId,
};
use gridcase_proto::common::v1 as common;
use gridcase_proto::dispatch::v1::dispatch_client::DispatchClient;
use gridcase_proto::dispatch::v1::{
    AcceptRequest, Actor, RequestPostponementRequest, ResolveRequest, ReturnRequest, WorkOrder,
};
use gridcase_proto::dispatch::v1::{Priority as PbPriority, ReportProgressRequest};
use gridcase_testkit::sample_config_dir as config_dir;
use gridcase_testkit::{AuthedChannel, ServiceHarness, WAIT};
use prost::Message;
use tonic::Code;

const GRID: &str = "330102-001-001-001";
/// 燃气井盖 (gas manhole cover), owned by the gas company, urgent, natural hours: accept 2h, resolve 24h.
const GAS_CATEGORY: &str = "BJ-01-05";
const HOUR_MS: i64 = 3_600_000;

type Client = DispatchClient<AuthedChannel>;

/// Who the tests act as: departments gas and water, grid worker lin-ming.
const CALLERS: &[(&str, &str)] = &[
    ("gas", "department:gas:clerk-1"),
    ("water", "department:water:clerk-1"),
    ("lin-ming", "grid_worker:lin-ming"),
];

fn tokens() -> TokenTable {
    gridcase_testkit::token_table(CALLERS)
}

fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Timestamp::from_millis(i64::try_from(millis).unwrap())
}

fn department(code: &str) -> DepartmentCode {
    DepartmentCode::parse(code).unwrap()
}

fn worker(id: &str) -> WorkerId {
    WorkerId::parse(id).unwrap()
}

/// The store and the dispatch service running in this process, with the sample city.
struct Harness {
    service: ServiceHarness,
    jetstream: jetstream::Context,
    reference: ReferenceData,
    next_case: u128,
}

gridcase_testkit::derefs_to_service_harness!(Harness, service);

impl Harness {
    async fn start(salt: u128) -> Self {
        let service = ServiceHarness::start("dispatch", |nats, listener, stop| {
            gridcase_dispatch::run(
                DispatchConfig::new(config_dir(), tokens()),
                nats,
                listener,
                stop,
            )
        })
        .await;
        let jetstream = jetstream::new(service.sandbox().connect().await);
        Self {
            service,
            jetstream,
            reference: ReferenceData::load(&config_dir()).unwrap(),
            next_case: salt << 64,
        }
    }

    /// A client authenticated as the gas department.
    fn client(&self) -> Client {
        self.client_as("gas")
    }

    /// A client authenticated as `who`: a department code or a grid worker id.
    fn client_as(&self, who: &str) -> Client {
        self.service.client_as(who)
    }

    async fn shut_down(self) {
        self.service.shut_down().await;
    }

    /// Reports a new case with a reporter phone, an address, coordinates and a photo.
    async fn report(&mut self) -> (CaseId, Timestamp) {
        self.next_case += 1;
        let case = CaseId::from_u128(self.next_case);
        let reported_at = now();
        self.record(
            case,
            Command::Report {
                case_id: case,
                tracking_code: TrackingCode::from_u64(self.next_case as u64),
                channel: Channel::Hotline,
                reporter: Reporter {
                    name: None,
                    phone: Some(Phone::parse("13812345678").unwrap()),
                },
                location: Location::new(
                    Some(GridCode::parse(GRID).unwrap()),
                    Some(Address::parse("涌金路 12 号门口").unwrap()),
                    Some(Coordinates::new(30.2533, 120.1622).unwrap()),
                )
                .unwrap(),
                description: Description::parse("井盖缺失，有人掉进去的危险").unwrap(),
                category: None,
                media: vec![Url::parse("https://media.example.cn/a.jpg").unwrap()],
                reported_at,
            },
        )
        .await;
        (case, reported_at)
    }

    async fn triage(&self, case: CaseId, category: &str, priority: Priority, route: Route) {
        self.record(
            case,
            Command::Triage {
                category: CategoryCode::parse(category).unwrap(),
                priority,
                route,
                triaged_by: None,
            },
        )
        .await;
    }

    /// A new urgent gas case triaged to the gas company.
    async fn gas_case(&mut self) -> (CaseId, Timestamp) {
        let (case, reported_at) = self.report().await;
        self.triage(
            case,
            GAS_CATEGORY,
            Priority::Urgent,
            Route::Department {
                department: department("gas"),
            },
        )
        .await;
        (case, reported_at)
    }

    /// Waits until the case satisfies `done`.
    async fn wait_for(
        &self,
        case: CaseId,
        what: &str,
        done: impl Fn(&LoadedCase) -> bool,
    ) -> LoadedCase {
        self.wait_for_case(case, what, done).await
    }

    async fn wait_status(&self, case: CaseId, status: CaseStatus) -> LoadedCase {
        self.wait_for(case, status.as_str(), |loaded| {
            loaded.state.status == Some(status)
        })
        .await
    }

    /// Pulls `count` work orders with the durable consumer `durable`, acknowledging them.
    async fn pull(&self, durable: &str, count: usize) -> Vec<WorkOrder> {
        let stream = self
            .jetstream
            .get_stream(gridcase_dispatch::DISPATCH_STREAM)
            .await
            .unwrap();
        let consumer: jetstream::consumer::Consumer<pull::Config> =
            stream.get_consumer(durable).await.unwrap();
        pull_from(&consumer, count).await
    }

    /// Pulls `count` work orders for a self-handling grid worker, with a consumer created on
    /// demand as the worker app would.
    async fn pull_worker(&self, worker: &str, count: usize) -> Vec<WorkOrder> {
        let stream = self
            .jetstream
            .get_stream(gridcase_dispatch::DISPATCH_STREAM)
            .await
            .unwrap();
        let durable = format!("worker-{worker}");
        let consumer = stream
            .get_or_create_consumer(
                &durable,
                pull::Config {
                    durable_name: Some(durable.clone()),
                    filter_subject: format!("gridcase.v1.dispatch.worker.{worker}"),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        pull_from(&consumer, count).await
    }

    async fn accept(
        &self,
        case: CaseId,
        dept: &str,
        request_id: &str,
    ) -> Result<String, tonic::Status> {
        self.client_as(dept)
            .accept(AcceptRequest {
                actor: Some(actor(case, dept, request_id)),
            })
            .await
            .map(|reply| gridcase_proto::convert::status_name(reply.into_inner().status).to_owned())
    }
}

async fn pull_from(
    consumer: &jetstream::consumer::Consumer<pull::Config>,
    count: usize,
) -> Vec<WorkOrder> {
    let started = Instant::now();
    let mut orders = Vec::new();
    while orders.len() < count {
        assert!(
            started.elapsed() < WAIT,
            "only {} of {count} work orders arrived",
            orders.len()
        );
        let mut batch = consumer
            .fetch()
            .max_messages(count - orders.len())
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .unwrap();
        while let Some(message) = batch.next().await {
            let message = message.unwrap();
            orders.push(WorkOrder::decode(message.payload.as_ref()).unwrap());
            message.ack().await.unwrap();
        }
    }
    orders
}

fn actor(case: CaseId, dept: &str, request_id: &str) -> Actor {
    Actor {
        case_id: case.to_string(),
        department: dept.into(),
        grid_worker: String::new(),
        request_id: request_id.into(),
    }
}

fn dispatched_version(loaded: &LoadedCase) -> u64 {
    loaded
        .timeline
        .iter()
        .rev()
        .find(|entry| matches!(entry.event, Event::CaseDispatched(_)))
        .expect("a dispatch")
        .version
}

#[tokio::test(flavor = "multi_thread")]
async fn a_triaged_case_is_dispatched_with_sla_deadlines_and_a_work_order() {
    let mut harness = Harness::start(1).await;
    let (case, reported_at) = harness.gas_case().await;
    let loaded = harness.wait_status(case, CaseStatus::Dispatched).await;
    let state = &loaded.state;
    assert_eq!(
        state.assignee,
        Some(Assignee::Department(department("gas")))
    );
    // Urgent counts natural hours: accept within 2 h, resolve within 24 h of the report.
    let policy = harness.reference.sla_for(
        Priority::Urgent,
        Some(&CategoryCode::parse(GAS_CATEGORY).unwrap()),
    );
    assert_eq!(policy.accept, Duration::from_secs(2 * 3600));
    assert_eq!(
        state.accept_deadline,
        Some(reported_at.plus_millis(2 * HOUR_MS))
    );
    assert_eq!(
        state.resolve_deadline,
        Some(reported_at.plus_millis(24 * HOUR_MS))
    );
    let dispatch_entry = loaded
        .timeline
        .iter()
        .find(|entry| matches!(entry.event, Event::CaseDispatched(_)))
        .unwrap();
    assert_eq!(dispatch_entry.actor.as_deref(), Some("service:dispatch"));

    let orders = harness.pull("dept-gas", 1).await;
    let order = &orders[0];
    let expected = WorkOrder {
        work_order_id: format!("{case}-{}", dispatch_entry.version),
        case_id: case.to_string(),
        tracking_code: state.tracking_code.unwrap().to_string(),
        category_code: GAS_CATEGORY.into(),
        category_name: harness
            .reference
            .category(&CategoryCode::parse(GAS_CATEGORY).unwrap())
            .unwrap()
            .name
            .clone(),
        priority: PbPriority::Urgent as i32,
        description: "井盖缺失，有人掉进去的危险".into(),
        location: Some(common::Location {
            grid_code: GRID.into(),
            address: "涌金路 12 号门口".into(),
            coordinates: Some(common::Coordinates {
                lat: 30.2533,
                lon: 120.1622,
            }),
        }),
        media_urls: vec!["https://media.example.cn/a.jpg".into()],
        department: "gas".into(),
        grid_worker: String::new(),
        participants: vec![],
        accept_deadline_ms: reported_at.as_millis() + 2 * HOUR_MS,
        resolve_deadline_ms: reported_at.as_millis() + 24 * HOUR_MS,
        dispatched_at_ms: dispatch_entry.recorded_at_ms,
        rework_count: 0,
        reporter_phone_masked: "138****5678".into(),
        recipient: "gas".into(),
        for_consultation: false,
    };
    assert_eq!(order, &expected);
    assert_eq!(order.category_name, "燃气井盖");
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_department_that_connects_late_gets_every_work_order() {
    let mut harness = Harness::start(2).await;
    let mut cases = Vec::new();
    for _ in 0..4 {
        let (case, _) = harness.gas_case().await;
        cases.push(case);
    }
    for case in &cases {
        harness.wait_status(*case, CaseStatus::Dispatched).await;
    }
    // The gas company's system connects for the first time only now.
    let orders = harness.pull("dept-gas", 4).await;
    let mut got: Vec<String> = orders.iter().map(|order| order.case_id.clone()).collect();
    got.sort();
    let mut want: Vec<String> = cases.iter().map(ToString::to_string).collect();
    want.sort();
    assert_eq!(got, want);
    // Nothing went to another department's consumer.
    let water = harness
        .jetstream
        .get_stream(gridcase_dispatch::DISPATCH_STREAM)
        .await
        .unwrap()
        .consumer_info("dept-water")
        .await
        .unwrap()
        .num_pending;
    assert_eq!(water, 0);
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn accept_progress_and_resolve_then_rework_sends_a_second_work_order() {
    let mut harness = Harness::start(3).await;
    let (case, _) = harness.gas_case().await;
    harness.wait_status(case, CaseStatus::Dispatched).await;
    let first = harness.pull("dept-gas", 1).await.remove(0);

    assert_eq!(
        harness.accept(case, "gas", "acc-1").await.unwrap(),
        "accepted"
    );
    // The same request again is recorded once.
    let events = harness.events().await;
    let again = harness
        .client()
        .accept(AcceptRequest {
            actor: Some(actor(case, "gas", "acc-1")),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(again.repeated);
    assert_eq!(harness.events().await, events);

    let progress = harness
        .client()
        .report_progress(ReportProgressRequest {
            actor: Some(actor(case, "gas", "prog-1")),
            note: "已到现场，正在更换井盖".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(progress.status(), common::CaseStatus::Accepted);
    let resolved = harness
        .client()
        .resolve(ResolveRequest {
            actor: Some(actor(case, "gas", "res-1")),
            note: "井盖已更换".into(),
            evidence_urls: vec!["https://media.example.cn/done.jpg".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.status(), common::CaseStatus::Resolved);
    let loaded = harness.cases.load(case).await.unwrap();
    assert_eq!(loaded.state.status, Some(CaseStatus::Resolved));
    assert_eq!(resolved.version, loaded.version.unwrap());
    assert_eq!(
        loaded.timeline.last().unwrap().actor.as_deref(),
        Some("department:gas:clerk-1")
    );

    // The on-site check fails: the case comes back to the gas company for rework.
    harness
        .record(
            case,
            Command::FailVerification {
                by: worker("lin-ming"),
                reason: Note::parse("井盖仍然松动").unwrap(),
            },
        )
        .await;
    let loaded = harness.cases.load(case).await.unwrap();
    let failed_version = loaded.version.unwrap();
    let second = harness.pull("dept-gas", 1).await.remove(0);
    assert_eq!(second.work_order_id, format!("{case}-{failed_version}"));
    assert_ne!(second.work_order_id, first.work_order_id);
    assert_eq!(second.rework_count, 1);
    assert_eq!(second.department, "gas");
    assert_eq!(second.case_id, first.case_id);
    assert_eq!(second.accept_deadline_ms, first.accept_deadline_ms);
    assert_eq!(loaded.state.status, Some(CaseStatus::Accepted));
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_return_sends_the_case_back_to_triage() {
    let mut harness = Harness::start(4).await;
    let (case, _) = harness.gas_case().await;
    harness.wait_status(case, CaseStatus::Dispatched).await;
    let reply = harness
        .client()
        .r#return(ReturnRequest {
            actor: Some(actor(case, "gas", "ret-1")),
            reason: "不是燃气井盖，属于市政".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status(), common::CaseStatus::Reported);
    let state = harness.cases.load(case).await.unwrap().state;
    assert_eq!(state.status, Some(CaseStatus::Reported));
    assert_eq!(
        state.returned_by,
        vec![Assignee::Department(department("gas"))]
    );
    assert_eq!(state.assignee, None);
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postponement_is_requested_for_a_later_deadline() {
    let mut harness = Harness::start(5).await;
    let (case, _) = harness.gas_case().await;
    let loaded = harness.wait_status(case, CaseStatus::Dispatched).await;
    let deadline = loaded.state.resolve_deadline.unwrap();
    harness.accept(case, "gas", "acc-1").await.unwrap();
    let request = |until_ms: i64, request_id: &str| RequestPostponementRequest {
        actor: Some(actor(case, "gas", request_id)),
        until_ms,
        reason: "需要更换整段管道".into(),
    };
    let events = harness.events().await;
    let early = harness
        .client()
        .request_postponement(request(deadline.as_millis(), "post-0"))
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition, "{early:?}");
    assert_eq!(harness.events().await, events);

    let until = deadline.plus_millis(48 * HOUR_MS);
    let reply = harness
        .client()
        .request_postponement(request(until.as_millis(), "post-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status(), common::CaseStatus::Accepted);
    let state = harness.cases.load(case).await.unwrap().state;
    let pending = state.pending_postponement.unwrap();
    assert_eq!(pending.until, until);
    assert_eq!(pending.by, Assignee::Department(department("gas")));
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn self_handled_and_joint_cases_go_to_their_subjects() {
    let mut harness = Harness::start(6).await;
    let (own, _) = harness.report().await;
    harness
        .triage(
            own,
            "BJ-01-07",
            Priority::Normal,
            Route::SelfHandle {
                worker: worker("lin-ming"),
            },
        )
        .await;
    let (joint, _) = harness.report().await;
    harness
        .triage(
            joint,
            "BJ-01-01",
            Priority::Urgent,
            Route::joint(
                department("water"),
                vec![department("urban_mgmt"), department("transport")],
            )
            .unwrap(),
        )
        .await;
    let loaded = harness.wait_status(own, CaseStatus::Dispatched).await;
    let order = harness.pull_worker("lin-ming", 1).await.remove(0);
    assert_eq!(order.case_id, own.to_string());
    assert_eq!(order.grid_worker, "lin-ming");
    assert_eq!(order.department, "");
    assert_eq!(
        order.work_order_id,
        format!("{own}-{}", dispatched_version(&loaded))
    );
    // Working hours: the deadlines come from the calendar walk.
    let state = &loaded.state;
    let policy = harness
        .reference
        .sla_for(Priority::Normal, state.category.as_ref());
    let (accept, resolve) = gridcase_rules::sla::dispatch_deadlines(
        harness.reference.calendar(),
        &policy,
        state.reported_at.unwrap(),
    );
    assert_eq!(state.accept_deadline, accept);
    assert_eq!(state.resolve_deadline, resolve);
    assert_eq!(order.accept_deadline_ms, accept.unwrap().as_millis());

    // The grid worker answers as a grid worker.
    let reply = harness
        .client_as("lin-ming")
        .accept(AcceptRequest {
            actor: Some(Actor {
                case_id: own.to_string(),
                department: String::new(),
                grid_worker: "lin-ming".into(),
                request_id: "w-acc-1".into(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status(), common::CaseStatus::Accepted);

    harness.wait_status(joint, CaseStatus::Dispatched).await;
    let order = harness.pull("dept-water", 1).await.remove(0);
    assert_eq!(order.case_id, joint.to_string());
    assert_eq!(order.department, "water");
    assert_eq!(order.participants, vec!["urban_mgmt", "transport"]);
    assert!(!order.for_consultation);
    // Each participant gets a copy for the consultation, with an id of its own.
    for participant in ["urban_mgmt", "transport"] {
        let copy = harness
            .pull(&format!("dept-{participant}"), 1)
            .await
            .remove(0);
        assert_eq!(copy.case_id, joint.to_string());
        assert_eq!(copy.recipient, participant);
        assert!(copy.for_consultation);
        assert_eq!(copy.department, "water");
        assert_eq!(
            copy.work_order_id,
            format!("{}-{participant}", order.work_order_id)
        );
    }
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_refused_and_write_nothing() {
    let mut harness = Harness::start(7).await;
    let (case, _) = harness.gas_case().await;
    harness.wait_status(case, CaseStatus::Dispatched).await;
    harness.accept(case, "gas", "acc-1").await.unwrap();
    let (other, _) = harness.gas_case().await;
    harness.wait_status(other, CaseStatus::Dispatched).await;
    let events = harness.events().await;
    let client = harness.client();
    let id = case.to_string();
    let with = |department: &str, grid_worker: &str, request_id: &str, case_id: &str| Actor {
        case_id: case_id.into(),
        department: department.into(),
        grid_worker: grid_worker.into(),
        request_id: request_id.into(),
    };
    let water = harness.client_as("water");
    let accept = |actor: Actor| {
        let mut client = client.clone();
        async move {
            client
                .accept(AcceptRequest { actor: Some(actor) })
                .await
                .unwrap_err()
        }
    };
    let checks: Vec<(&str, tonic::Status, Code, &str)> = vec![
        (
            "bad case id",
            accept(with("gas", "", "r", "not-a-case")).await,
            Code::InvalidArgument,
            "actor.case_id",
        ),
        (
            "both actors",
            accept(with("gas", "lin-ming", "r", &id)).await,
            Code::InvalidArgument,
            "actor",
        ),
        (
            "no actor",
            accept(with("", "", "r", &id)).await,
            Code::InvalidArgument,
            "actor",
        ),
        (
            "unknown department",
            accept(with("no_such_dept", "", "r", &id)).await,
            Code::InvalidArgument,
            "actor.department",
        ),
        (
            "unknown worker",
            accept(with("", "nobody-here", "r", &id)).await,
            Code::InvalidArgument,
            "actor.grid_worker",
        ),
        (
            "empty request id",
            accept(with("gas", "", "", &id)).await,
            Code::InvalidArgument,
            "actor.request_id",
        ),
        (
            "accepting twice",
            accept(with("gas", "", "acc-2", &id)).await,
            Code::FailedPrecondition,
            "cannot accept",
        ),
        (
            "another department",
            water
                .clone()
                .accept(AcceptRequest {
                    actor: Some(with("water", "", "r", &other.to_string())),
                })
                .await
                .unwrap_err(),
            Code::PermissionDenied,
            "not the assignee",
        ),
        (
            "acting for another department",
            accept(with("water", "", "r", &other.to_string())).await,
            Code::PermissionDenied,
            "may not act for department:water",
        ),
        (
            "unknown case",
            accept(with("gas", "", "r", &CaseId::from_u128(99).to_string())).await,
            Code::NotFound,
            "does not exist",
        ),
        (
            "empty reason",
            client
                .clone()
                .r#return(ReturnRequest {
                    actor: Some(with("gas", "", "r", &id)),
                    reason: String::new(),
                })
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "reason:",
        ),
        (
            "oversize note",
            client
                .clone()
                .report_progress(ReportProgressRequest {
                    actor: Some(with("gas", "", "r", &id)),
                    note: "长".repeat(1001),
                })
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "note:",
        ),
        (
            "bad evidence url",
            client
                .clone()
                .resolve(ResolveRequest {
                    actor: Some(with("gas", "", "r", &id)),
                    note: "修好了".into(),
                    evidence_urls: vec!["https://ok.example.cn/a.jpg".into(), "ftp://x".into()],
                })
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "evidence_urls[1]",
        ),
        (
            "resolving before accepting",
            client
                .clone()
                .resolve(ResolveRequest {
                    actor: Some(with("gas", "", "r", &other.to_string())),
                    note: "修好了".into(),
                    evidence_urls: vec![],
                })
                .await
                .unwrap_err(),
            Code::FailedPrecondition,
            "cannot resolve",
        ),
    ];
    for (what, status, code, message) in checks {
        assert_eq!(status.code(), code, "{what}: {status:?}");
        assert!(
            status.message().contains(message),
            "{what}: {:?}",
            status.message()
        );
    }
    let long_id = accept(with("gas", "", &"x".repeat(129), &id)).await;
    assert_eq!(long_id.code(), Code::InvalidArgument);
    assert_eq!(harness.events().await, events);
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_service_picks_up_where_it_stopped() {
    let mut harness = Harness::start(8).await;
    let (before, _) = harness.gas_case().await;
    harness.wait_status(before, CaseStatus::Dispatched).await;
    let first = harness.pull("dept-gas", 1).await;
    assert_eq!(first[0].case_id, before.to_string());
    harness.stop_service().await;

    // Cases triaged while the service is down wait for it.
    let mut while_down = Vec::new();
    for _ in 0..3 {
        let (case, _) = harness.gas_case().await;
        while_down.push(case);
    }
    for case in &while_down {
        let state = harness.cases.load(*case).await.unwrap().state;
        assert_eq!(state.status, Some(CaseStatus::Triaged));
    }
    harness.start_service().await;
    for case in &while_down {
        let loaded = harness.wait_status(*case, CaseStatus::Dispatched).await;
        // Dispatched once, not once per delivery.
        let dispatches = loaded
            .timeline
            .iter()
            .filter(|entry| matches!(entry.event, Event::CaseDispatched(_)))
            .count();
        assert_eq!(dispatches, 1);
    }
    let orders = harness.pull("dept-gas", 3).await;
    let mut got: Vec<String> = orders.iter().map(|order| order.case_id.clone()).collect();
    got.sort();
    let mut want: Vec<String> = while_down.iter().map(ToString::to_string).collect();
    want.sort();
    assert_eq!(got, want, "each case's work order exactly once");
    let pending = harness
        .jetstream
        .get_stream(gridcase_dispatch::DISPATCH_STREAM)
        .await
        .unwrap()
        .consumer_info("dept-gas")
        .await
        .unwrap()
        .num_pending;
    assert_eq!(pending, 0);
    harness.shut_down().await;
}
