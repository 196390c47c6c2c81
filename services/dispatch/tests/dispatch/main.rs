//! The dispatch service against a real nats-server and a real sled store (in-process): cases are
//! reported and triaged through the case store, the service dispatches them and publishes work
//! orders to JetStream, departments pull them with their durable consumers and answer over gRPC.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use gridcase_auth::TokenTable;
use gridcase_casestore::LoadedCase;
use gridcase_config::ReferenceData;
use gridcase_dispatch::DispatchConfig;
use gridcase_domain::{
    Address, Assignee, CaseId, CaseStatus, CategoryCode, Channel, Command, Contact, Coordinates,
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
    gridcase_runtime::now()
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
                reporter: Contact::clear(Reporter {
                    name: None,
                    phone: Some(Phone::parse("13812345678").unwrap()),
                }),
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
                model: None,
                priority_reason: None,
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
            .get_stream(gridcase_bus::subjects::DISPATCH_STREAM)
            .await
            .unwrap();
        let consumer: jetstream::consumer::Consumer<pull::Config> =
            stream.get_consumer(durable).await.unwrap();
        gridcase_testkit::pull_work_orders(&consumer, count, "the department", WAIT).await
    }

    /// Pulls `count` work orders for a self-handling grid worker, with a consumer created on
    /// demand as the worker app would.
    async fn pull_worker(&self, worker: &str, count: usize) -> Vec<WorkOrder> {
        let stream = self
            .jetstream
            .get_stream(gridcase_bus::subjects::DISPATCH_STREAM)
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
        gridcase_testkit::pull_work_orders(&consumer, count, "the department", WAIT).await
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

fn actor(case: CaseId, dept: &str, request_id: &str) -> Actor {
    Actor {
        case_id: case.to_string(),
        department: dept.into(),
        grid_worker: String::new(),
        request_id: request_id.into(),
        ..Default::default()
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

mod answers;
mod work_orders;
