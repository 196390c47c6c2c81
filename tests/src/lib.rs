//! The whole system running for cross-service tests: [`City`] starts a nats-server child and
//! the seven services with `gridcase::system::System` on free ports, a sled store in a temp dir
//! and reference data the test provides, and calls the gRPC APIs as hotline consoles,
//! grid-worker apps, departments and supervisors do. Department systems (and grid-worker apps)
//! are [`Inbox`]es: JetStream consumers of their work-order subjects that decode the protobuf
//! `WorkOrder`, as a department's own system written in any language would; a department's
//! inbox logs in to NATS with the login file `gridcase nats-login` writes for it.

pub mod browser;
pub mod link;

use std::path::Path;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use gridcase::system::{Service, System, SystemOptions};
use gridcase_auth::{BearerToken, RoleKind, TokenTable};
use gridcase_bus::logins::DepartmentLogin;
use gridcase_bus::subjects::{department_consumer, DISPATCH_STREAM};
use gridcase_bus::StoreClient;
use gridcase_config::ReferenceData;
use gridcase_dispatch::workorder::subject_for;
use gridcase_domain::{codec, Assignee, Event, WorkerId};
use gridcase_eventstore::EventStore;
use gridcase_proto::common::v1::CaseReply;
use gridcase_proto::dispatch::v1::dispatch_client::DispatchClient;
use gridcase_proto::dispatch::v1::{
    AcceptRequest, Actor, Notice, ReferRequest, ResolveRequest, WorkOrder,
};
use gridcase_proto::evaluation::v1::evaluation_client::EvaluationClient;
use gridcase_proto::evaluation::v1::{RecordRatingRequest, VerifyCaseRequest};
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::intake::v1::{
    GetCaseStatusRequest, GetCaseStatusResponse, ReportCaseRequest, ReportCaseResponse,
};
use gridcase_proto::people::v1::care_client::CareClient;
use gridcase_proto::people::v1::people_client::PeopleClient;
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::query::v1::{GetCaseReply, GetCaseRequest, ListInboxReply, ListInboxRequest};
use gridcase_proto::supervision::v1::supervision_client::SupervisionClient;
use gridcase_proto::supervision::v1::{CaseColourReply, GetCaseColourRequest};
use gridcase_proto::triage::v1::triage_client::TriageClient;
use gridcase_testkit::wait_until;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

/// How long anything the system does on its own may take before a test gives up.
pub const WAIT: Duration = Duration::from_secs(45);

/// A channel whose calls carry a caller's bearer token.
pub type Authed = InterceptedService<Channel, BearerToken>;

/// How the city is started: who may call it, and the callers a [`City`] calls as where it does
/// not say.
#[derive(Debug)]
pub struct CityOptions<'a> {
    /// The tokens the services accept.
    pub tokens: TokenTable,
    /// Who looks up case statuses in intake (see [`token_of`](gridcase_testkit::token_of)).
    pub operator: &'a str,
    /// Who reads the query service and case colours.
    pub supervisor: &'a str,
}

/// The running system — a nats-server child and the seven services on free ports, a sled store
/// in a temp dir — the copy of reference data it reads, and its callers.
pub struct City {
    /// The running system.
    pub system: System,
    operator: String,
    supervisor: String,
    _data: tempfile::TempDir,
    _config: tempfile::TempDir,
}

impl std::fmt::Debug for City {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("City")
            .field("nats", &self.system.nats_url())
            .finish_non_exhaustive()
    }
}

impl City {
    /// Starts the system on reference data that `config` writes into an empty dir (e.g.
    /// [`copy_sample_config`](gridcase_testkit::copy_sample_config)).
    pub async fn start(options: CityOptions<'_>, config: impl FnOnce(&Path)) -> Self {
        Self::start_adjusted(options, config, |_| {}).await
    }

    /// [`City::start`] with `adjust` applied to the system's options (a NATS cluster,
    /// replicas, leaf nodes).
    pub async fn start_adjusted(
        options: CityOptions<'_>,
        config: impl FnOnce(&Path),
        adjust: impl FnOnce(&mut SystemOptions),
    ) -> Self {
        let data = tempfile::tempdir().unwrap();
        let config_dir = tempfile::tempdir().unwrap();
        config(config_dir.path());
        let mut tokens = options.tokens;
        if tokens.token_for(RoleKind::Gateway).is_none() {
            // The HTTP gateway calls the services as the gateway role.
            let gateway = TokenTable::from_env_value(&format!(
                "{}=gateway:qr-web",
                gridcase_testkit::token_of("gateway")
            ))
            .unwrap();
            tokens.merge(gateway, "the test gateway").unwrap();
        }
        let mut system_options = SystemOptions::on_free_ports(
            data.path().to_path_buf(),
            config_dir.path().to_path_buf(),
            tokens,
        );
        adjust(&mut system_options);
        let system = System::start(system_options).await.unwrap();
        Self {
            system,
            operator: options.operator.to_owned(),
            supervisor: options.supervisor.to_owned(),
            _data: data,
            _config: config_dir,
        }
    }

    /// Stops every service and the nats-server.
    pub async fn shut_down(self) {
        self.system.shut_down().await.unwrap();
    }

    /// The gRPC address of `service`, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self, service: Service) -> String {
        self.system.endpoint(service)
    }

    /// A fresh connection to `service` (so a restarted service is reached on its new server).
    pub fn channel(&self, service: Service) -> Channel {
        Endpoint::from_shared(self.system.endpoint(service))
            .unwrap()
            .connect_lazy()
    }

    /// An intake client calling as `who`.
    pub fn intake(&self, who: &str) -> IntakeClient<Authed> {
        IntakeClient::with_interceptor(self.channel(Service::Intake), token(who))
    }

    /// A triage client calling as `who`.
    pub fn triage(&self, who: &str) -> TriageClient<Authed> {
        TriageClient::with_interceptor(self.channel(Service::Triage), token(who))
    }

    /// A dispatch client calling as `who`.
    pub fn dispatch(&self, who: &str) -> DispatchClient<Authed> {
        DispatchClient::with_interceptor(self.channel(Service::Dispatch), token(who))
    }

    /// An evaluation client calling as `who`.
    pub fn evaluation(&self, who: &str) -> EvaluationClient<Authed> {
        EvaluationClient::with_interceptor(self.channel(Service::Evaluation), token(who))
    }

    /// A People client (members and points, served by evaluation) calling as `who`.
    pub fn people(&self, who: &str) -> PeopleClient<Authed> {
        PeopleClient::with_interceptor(self.channel(Service::Evaluation), token(who))
    }

    /// A Care client (敲门行动, served by intake) calling as `who`.
    pub fn care(&self, who: &str) -> CareClient<Authed> {
        CareClient::with_interceptor(self.channel(Service::Intake), token(who))
    }

    /// A supervision client calling as `who`.
    pub fn supervision(&self, who: &str) -> SupervisionClient<Authed> {
        SupervisionClient::with_interceptor(self.channel(Service::Supervision), token(who))
    }

    /// A query client calling as the city's supervisor.
    pub fn query(&self) -> QueryClient<Authed> {
        QueryClient::with_interceptor(self.channel(Service::Query), token(&self.supervisor))
    }

    /// A query client calling as `who`.
    pub fn query_as(&self, who: &str) -> QueryClient<Authed> {
        QueryClient::with_interceptor(self.channel(Service::Query), token(who))
    }

    /// The cases waiting on `who`'s own inbox (the handler's call), read as `who`.
    pub async fn inbox(&self, who: Who<'_>) -> ListInboxReply {
        self.query_as(who.name())
            .list_inbox(ListInboxRequest::default())
            .await
            .unwrap()
            .into_inner()
    }

    /// A department's own system, reading the durable consumer the dispatch service keeps for
    /// it (created, with the stream, as dispatch starts: the system waits until it exists).
    pub async fn department_inbox(&self, department: &str) -> Inbox {
        let nats = self.department_login(department).connect().await.unwrap();
        durable_inbox(nats, department_consumer(department)).await
    }

    /// The NATS login file `gridcase nats-login` writes for `department`, read back: its
    /// system connects with it, as a department's own system would.
    pub fn department_login(&self, department: &str) -> DepartmentLogin {
        let options = self.system.options();
        let reference = ReferenceData::load(&options.config).unwrap();
        let path = gridcase::nats_login::write_department_login(
            &options.data,
            &reference,
            department,
            &self.system.nats_address(),
            None,
        )
        .unwrap();
        DepartmentLogin::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// A grid worker's app, creating its durable consumer on its own subject once the
    /// work-order stream exists.
    pub async fn worker_inbox(&self, worker: &str) -> Inbox {
        let nats = gridcase_bus::connect(self.system.nats_url()).await.unwrap();
        let jetstream = jetstream::new(nats.clone());
        let stream = wait_until(&format!("the stream {DISPATCH_STREAM}"), WAIT, || async {
            jetstream.get_stream(DISPATCH_STREAM).await.ok()
        })
        .await;
        let durable = format!("worker-{worker}");
        let consumer = stream
            .get_or_create_consumer(
                &durable,
                pull::Config {
                    durable_name: Some(durable.clone()),
                    filter_subject: subject_for(&Assignee::Worker(
                        WorkerId::parse(worker).unwrap(),
                    )),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        Inbox {
            name: durable,
            consumer,
            _nats: nats,
        }
    }

    /// A community or street office's own system (`token` is `community` or `street`),
    /// reading the durable consumer the dispatch service keeps for it.
    pub async fn office_inbox(&self, token: &str, code: &str) -> Inbox {
        let nats = gridcase_bus::connect(self.system.nats_url()).await.unwrap();
        durable_inbox(nats, gridcase_bus::subjects::office_consumer(token, code)).await
    }

    /// A leader's app (a grid's 网格长, or a community's, street's or district's leader),
    /// reading the durable consumer the dispatch service keeps for `person`.
    pub async fn leader_inbox(&self, person: &str) -> Inbox {
        let nats = gridcase_bus::connect(self.system.nats_url()).await.unwrap();
        durable_inbox(nats, gridcase_bus::subjects::leader_consumer(person)).await
    }

    /// Refers `case` on for `who` (a grid worker, community or street): to `department`, or up
    /// one tier when `department` is empty; panics if dispatch refuses.
    pub async fn refer(
        &self,
        case: &str,
        who: Who<'_>,
        department: &str,
        reason: &str,
        request_id: &str,
    ) -> CaseReply {
        self.dispatch(who.name())
            .refer(ReferRequest {
                actor: Some(who.actor(case, request_id)),
                department: department.to_owned(),
                participants: vec![],
                up: department.is_empty(),
                reason: reason.to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// Reports `request` as `who`; panics if intake refuses it.
    pub async fn report(&self, who: &str, request: ReportCaseRequest) -> ReportCaseResponse {
        self.intake(who)
            .report_case(request)
            .await
            .unwrap()
            .into_inner()
    }

    /// The status of the case with `tracking_code`, asked as the operator.
    pub async fn status(&self, tracking_code: &str) -> GetCaseStatusResponse {
        self.intake(&self.operator)
            .get_case_status(GetCaseStatusRequest {
                tracking_code: tracking_code.to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// Polls the query service until the case satisfies `done`.
    pub async fn wait_case(
        &self,
        case: &str,
        what: &str,
        done: impl Fn(&GetCaseReply) -> bool,
    ) -> GetCaseReply {
        wait_until(&format!("case {case}: {what}"), WAIT, || async {
            let request = GetCaseRequest {
                case_id: case.to_owned(),
            };
            match self.query().get_case(request).await {
                Ok(reply) => {
                    let reply = reply.into_inner();
                    if done(&reply) {
                        Ok(reply)
                    } else {
                        Err(format!("{} {:?}", case_status(&reply), event_types(&reply)))
                    }
                }
                Err(status) if status.code() == Code::NotFound => {
                    Err("not projected yet".to_owned())
                }
                Err(status) => panic!("GetCase {case}: {status}"),
            }
        })
        .await
    }

    /// Waits until query shows `case` with the status named `wanted` (e.g. `closed`).
    pub async fn wait_status(&self, case: &str, wanted: &str) -> GetCaseReply {
        self.wait_case(case, &format!("status {wanted}"), |reply| {
            case_status(reply) == wanted
        })
        .await
    }

    /// Waits until the projection holds the event a service wrote at `stream_version`. Replies
    /// give the 0-based stream version of the last event written; the summary counts events.
    pub async fn wait_written(&self, case: &str, stream_version: u64) -> GetCaseReply {
        let what = format!("the event at stream version {stream_version}");
        self.wait_case(case, &what, |reply| {
            reply
                .case
                .as_ref()
                .is_some_and(|c| c.version > stream_version)
        })
        .await
    }

    /// The case as the projection holds it now.
    pub async fn case(&self, case: &str) -> GetCaseReply {
        self.wait_case(case, "the case is projected", |_| true)
            .await
    }

    /// The colour and deadlines of `case`, asked as the supervisor.
    pub async fn colour(&self, case: &str) -> CaseColourReply {
        self.supervision(&self.supervisor)
            .get_case_colour(GetCaseColourRequest {
                case_id: case.to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// The department (or self-handling worker) `who` accepts the case.
    pub async fn accept(&self, case: &str, who: Who<'_>, request_id: &str) -> CaseReply {
        self.dispatch(who.name())
            .accept(AcceptRequest {
                actor: Some(who.actor(case, request_id)),
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// Resolves `case` for `who`; panics if dispatch refuses.
    pub async fn resolve(&self, case: &str, who: Who<'_>, request_id: &str) -> CaseReply {
        self.dispatch(who.name())
            .resolve(ResolveRequest {
                actor: Some(who.actor(case, request_id)),
                note: "已处理完毕，现场恢复".to_owned(),
                evidence_urls: vec!["https://media.example.cn/after.jpg".to_owned()],
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// Records grid worker `worker`'s on-site check of `case`; panics if evaluation refuses.
    pub async fn verify(
        &self,
        case: &str,
        worker: &str,
        passed: bool,
        request_id: &str,
    ) -> CaseReply {
        let note = if passed {
            String::new()
        } else {
            "现场复核：问题仍然存在".to_owned()
        };
        self.evaluation(worker)
            .verify_case(VerifyCaseRequest {
                case_id: case.to_owned(),
                passed,
                note,
                request_id: request_id.to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// Records the reporter's rating of `case`, taken by `who`; panics if evaluation refuses.
    pub async fn rate(&self, case: &str, who: &str, resolved: bool, request_id: &str) -> CaseReply {
        self.evaluation(who)
            .record_rating(RecordRatingRequest {
                case_id: case.to_owned(),
                resolved,
                satisfied: resolved,
                score: if resolved { 5 } else { 2 },
                comment: if resolved { "" } else { "问题还在" }.to_owned(),
                request_id: request_id.to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// A client of the store (every shard) on its NATS API.
    pub async fn store_client(&self) -> StoreClient {
        let nats = gridcase_bus::connect(self.system.nats_url()).await.unwrap();
        self.system.store_client(nats)
    }

    /// The store's own record of a case, decoded: what the query projection is built from.
    pub async fn stored_events(&self, case: &str) -> Vec<Event> {
        self.store_client()
            .await
            .read_stream(case, 0, 1000)
            .await
            .unwrap()
            .iter()
            .map(|r| codec::decode(&r.event_type, r.schema_version, &r.payload).unwrap())
            .collect()
    }
}

fn token(who: &str) -> BearerToken {
    gridcase_testkit::bearer(who)
}

/// Who answers a work order.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    /// A department, by code.
    Department(&'a str),
    /// A grid worker making the call on a case in their inbox, by id.
    Worker(&'a str),
    /// A community office, by grid code.
    Community(&'a str),
    /// A street office, by grid code.
    Street(&'a str),
}

impl Who<'_> {
    /// The department code, worker id or office code: also the caller's test token name.
    pub fn name(&self) -> &str {
        match self {
            Who::Department(name)
            | Who::Worker(name)
            | Who::Community(name)
            | Who::Street(name) => name,
        }
    }

    /// The `Actor` of a dispatch request on `case` by this handler.
    pub fn actor(&self, case: &str, request_id: &str) -> Actor {
        let mut actor = Actor {
            case_id: case.to_owned(),
            request_id: format!("{request_id}-{case}"),
            ..Actor::default()
        };
        let field = match self {
            Who::Department(_) => &mut actor.department,
            Who::Worker(_) => &mut actor.grid_worker,
            Who::Community(_) => &mut actor.community,
            Who::Street(_) => &mut actor.street,
        };
        *field = self.name().to_owned();
        actor
    }
}

/// A department system's (or a grid worker app's) view of its work-order subject.
#[allow(missing_debug_implementations)]
pub struct Inbox {
    name: String,
    consumer: jetstream::consumer::Consumer<pull::Config>,
    _nats: async_nats::Client,
}

impl Inbox {
    /// Pulls exactly `count` work orders, decoding and acknowledging each.
    pub async fn take(&self, count: usize) -> Vec<WorkOrder> {
        gridcase_testkit::pull_work_orders(&self.consumer, count, &self.name, WAIT).await
    }

    /// Pulls exactly `count` notices, decoding and acknowledging each (and any work order in
    /// between, which is passed over).
    pub async fn notices(&self, count: usize) -> Vec<Notice> {
        gridcase_testkit::pull_notices(&self.consumer, count, &self.name, WAIT).await
    }

    /// The next work order in the inbox, acknowledged; panics if none comes in time.
    pub async fn take_one(&self) -> WorkOrder {
        self.take(1).await.remove(0)
    }

    /// Work orders on the subject not yet acknowledged by this consumer.
    pub async fn waiting(&self) -> u64 {
        let info = self.consumer.get_info().await.unwrap();
        info.num_pending + u64::try_from(info.num_ack_pending).unwrap()
    }
}

/// The inbox of the durable consumer `durable` the dispatch service keeps, read over `nats`
/// once it exists (created, with the stream, as dispatch starts).
async fn durable_inbox(nats: async_nats::Client, durable: String) -> Inbox {
    let jetstream = jetstream::new(nats.clone());
    let consumer = wait_until(&format!("the consumer {durable}"), WAIT, || async {
        jetstream
            .get_stream(DISPATCH_STREAM)
            .await
            .ok()?
            .get_consumer(&durable)
            .await
            .ok()
    })
    .await;
    Inbox {
        name: durable,
        consumer,
        _nats: nats,
    }
}

/// The status of the case in a query reply.
pub fn case_status(reply: &GetCaseReply) -> &str {
    reply
        .case
        .as_ref()
        .map_or("", |c| gridcase_proto::convert::status_name(c.status))
}

/// The types of the case's events in a query reply, oldest first.
pub fn event_types(reply: &GetCaseReply) -> Vec<&str> {
    reply
        .timeline
        .iter()
        .map(|e| e.event_type.as_str())
        .collect()
}

/// Polls `url` until it answers with a success status.
async fn wait_until_ready(http: &reqwest::Client, url: &str) {
    wait_until(&format!("{url} to answer"), WAIT, || async {
        let reply = http.get(url).send().await.ok()?;
        reply.status().is_success().then_some(())
    })
    .await;
}
