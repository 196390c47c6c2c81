//! One stage service running against a sandboxed store, for the service's own tests: the
//! sandbox, the store in-process, the service started (and restarted) the way the test says,
//! clients authenticated as a caller, and direct access to the case store to set up state and
//! read back what was recorded.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use gridcase_auth::BearerToken;
use gridcase_bus::StoreClient;
use gridcase_casestore::ids::command_id;
use gridcase_casestore::{CaseStore, CommandContext, LoadedCase};
use gridcase_domain::{CaseId, CaseState, Command, Event};
use gridcase_eventstore::EventStore;
use gridcase_store_node::RelayMode;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::{InProcessStore, RunningService, Sandbox, StopSignal};

/// A channel to a service whose calls carry a caller's bearer token.
pub type AuthedChannel = InterceptedService<Channel, BearerToken>;

/// A generated gRPC client that can be built on an [`AuthedChannel`].
pub trait ServiceClient {
    /// The client calling through `channel`.
    fn over(channel: AuthedChannel) -> Self;
}

macro_rules! service_clients {
    ($($client:path),* $(,)?) => {
        $(impl ServiceClient for $client {
            fn over(channel: AuthedChannel) -> Self {
                Self::new(channel)
            }
        })*
    };
}

service_clients!(
    gridcase_proto::intake::v1::intake_client::IntakeClient<AuthedChannel>,
    gridcase_proto::triage::v1::triage_client::TriageClient<AuthedChannel>,
    gridcase_proto::dispatch::v1::dispatch_client::DispatchClient<AuthedChannel>,
    gridcase_proto::supervision::v1::supervision_client::SupervisionClient<AuthedChannel>,
    gridcase_proto::evaluation::v1::evaluation_client::EvaluationClient<AuthedChannel>,
    gridcase_proto::query::v1::query_client::QueryClient<AuthedChannel>,
    gridcase_proto::store::v1::store_admin_client::StoreAdminClient<AuthedChannel>,
);

type ServiceFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type Launch =
    Box<dyn Fn(async_nats::Client, TcpListener, StopSignal) -> ServiceFuture + Send + Sync>;

/// A sandbox, the store running in-process on it, and one stage service started by a launch
/// function: `|nats, listener, stop| gridcase_x::run(config, nats, listener, stop)`. The
/// launch function runs again on every [`restart`](Self::restart).
pub struct ServiceHarness {
    name: String,
    sandbox: Sandbox,
    store: Option<InProcessStore>,
    service: Option<RunningService>,
    launch: Launch,
    /// The case store on the sandbox's store, as the services use it.
    pub cases: CaseStore<StoreClient>,
    commands: AtomicU64,
}

impl std::fmt::Debug for ServiceHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHarness")
            .field("name", &self.name)
            .field("sandbox", &self.sandbox)
            .field("running", &self.service.is_some())
            .finish_non_exhaustive()
    }
}

impl ServiceHarness {
    /// A new sandbox with the store and the service `name` running.
    pub async fn start<F, Fut, E>(name: &str, launch: F) -> Self
    where
        F: Fn(async_nats::Client, TcpListener, StopSignal) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        Self::start_in(Sandbox::start(), name, launch).await
    }

    /// The store and the service `name` running on `sandbox` (prepared by the test, e.g. with
    /// reference data of its own in it).
    pub async fn start_in<F, Fut, E>(sandbox: Sandbox, name: &str, launch: F) -> Self
    where
        F: Fn(async_nats::Client, TcpListener, StopSignal) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let mut harness = Self::stopped_in(sandbox, name, launch).await;
        harness.start_service().await;
        harness
    }

    /// The store running on `sandbox` and the service `name` not started yet: the test records
    /// state first and then calls [`start_service`](Self::start_service).
    pub async fn stopped_in<F, Fut, E>(sandbox: Sandbox, name: &str, launch: F) -> Self
    where
        F: Fn(async_nats::Client, TcpListener, StopSignal) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let store = sandbox
            .start_store(&sandbox.path("store"), RelayMode::On)
            .await;
        let cases = CaseStore::new(sandbox.store_client().await);
        let launch: Launch = Box::new(move |nats, listener, stop| {
            let service = launch(nats, listener, stop);
            Box::pin(async move { service.await.map_err(|e| e.to_string()) })
        });
        Self {
            name: name.to_owned(),
            sandbox,
            store: Some(store),
            service: None,
            launch,
            cases,
            commands: AtomicU64::new(0),
        }
    }

    /// The sandbox the store and the service run on.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// The store's client.
    pub fn store(&self) -> &StoreClient {
        self.cases.store()
    }

    /// Starts the service; panics if it is running.
    pub async fn start_service(&mut self) {
        assert!(
            self.service.is_none(),
            "the {} service is running",
            self.name
        );
        let nats = self.sandbox.connect().await;
        let launch = &self.launch;
        self.service = Some(
            RunningService::start(&self.name, |listener, stop| launch(nats, listener, stop)).await,
        );
    }

    /// Stops the service and waits until it has; panics if it is not running or failed.
    pub async fn stop_service(&mut self) {
        self.service
            .take()
            .unwrap_or_else(|| panic!("the {} service is not running", self.name))
            .stop()
            .await;
    }

    /// Stops the service and starts it again on the same store.
    pub async fn restart(&mut self) {
        self.stop_service().await;
        self.start_service().await;
    }

    /// Stops the store (gracefully) while the service runs on, as an outage of the store would
    /// look to it.
    pub async fn stop_store(&mut self) {
        self.store
            .take()
            .expect("the store is running")
            .stop()
            .await;
    }

    /// A connected channel to the running service, without credentials.
    pub fn channel(&self) -> Channel {
        self.service
            .as_ref()
            .unwrap_or_else(|| panic!("the {} service is not running", self.name))
            .channel
            .clone()
    }

    /// A channel to the running service whose calls carry the token of `who` (see
    /// [`token_table`](crate::token_table)).
    pub fn channel_as(&self, who: &str) -> AuthedChannel {
        InterceptedService::new(self.channel(), crate::bearer(who))
    }

    /// A generated client of the running service calling as `who`.
    pub fn client_as<C: ServiceClient>(&self, who: &str) -> C {
        C::over(self.channel_as(who))
    }

    /// How many events the store holds.
    pub async fn events(&self) -> u64 {
        self.store().stats().await.unwrap().events
    }

    /// A case as the store holds it now.
    pub async fn load(&self, case: CaseId) -> LoadedCase {
        self.cases
            .load(case)
            .await
            .unwrap_or_else(|e| panic!("loading case {case}: {e}"))
    }

    /// The state of a case now.
    pub async fn state(&self, case: CaseId) -> CaseState {
        self.load(case).await.state
    }

    /// The events of a case, read from its stream in the store and decoded.
    pub async fn events_of(&self, case: CaseId) -> Vec<Event> {
        let stream = gridcase_casestore::stream_name(case);
        let mut events = Vec::new();
        let mut from = 0;
        loop {
            let part = self
                .store()
                .read_stream_part(&stream, from, 1000)
                .await
                .unwrap_or_else(|e| panic!("reading {stream}: {e}"));
            for record in &part.events {
                from = record.stream_version + 1;
                events.push(
                    gridcase_casestore::decode(case, record)
                        .unwrap_or_else(|e| panic!("decoding an event of {stream}: {e}")),
                );
            }
            if part.at_end || part.events.is_empty() {
                return events;
            }
        }
    }

    /// Records `command` on `case` as the operator `operator:test`, straight through the case
    /// store as another service would, and returns the case's state after it.
    pub async fn record(&self, case: CaseId, command: Command) -> CaseState {
        self.record_as(case, "operator:test", command).await
    }

    /// Records `command` on `case` as `actor`, straight through the case store; each call is a
    /// new command.
    pub async fn record_as(&self, case: CaseId, actor: &str, command: Command) -> CaseState {
        let n = self.commands.fetch_add(1, Ordering::Relaxed);
        let command_id = command_id("test", &[&case.to_bytes(), &n.to_be_bytes()]);
        let context = CommandContext {
            correlation_id: None,
            ..CommandContext::new(command_id, actor)
        };
        self.cases
            .execute(case, &context, |_| Ok(command.clone()))
            .await
            .unwrap_or_else(|e| panic!("{actor} on {case}: {e}"))
            .state
    }

    /// Waits until `case` satisfies `done`, failing (naming `what` and the case's state) after
    /// [`WAIT`](crate::WAIT).
    pub async fn wait_for_case(
        &self,
        case: CaseId,
        what: &str,
        done: impl Fn(&LoadedCase) -> bool,
    ) -> LoadedCase {
        let what = format!("case {case}: {what}");
        crate::wait_until(&what, crate::WAIT, || async {
            let loaded = self.load(case).await;
            done(&loaded).then_some(loaded)
        })
        .await
    }

    /// Stops the service if it runs, then the store.
    pub async fn shut_down(mut self) {
        if self.service.is_some() {
            self.stop_service().await;
        }
        if let Some(store) = self.store.take() {
            store.stop().await;
        }
    }
}

/// Lets a test's own harness struct, which wraps a [`ServiceHarness`] in the field `$field`
/// next to state of its own, be used as the harness itself: `derefs_to_service_harness!(Harness,
/// service);`.
#[macro_export]
macro_rules! derefs_to_service_harness {
    ($harness:ty, $field:ident) => {
        impl ::std::ops::Deref for $harness {
            type Target = $crate::ServiceHarness;

            fn deref(&self) -> &$crate::ServiceHarness {
                &self.$field
            }
        }

        impl ::std::ops::DerefMut for $harness {
            fn deref_mut(&mut self) -> &mut $crate::ServiceHarness {
                &mut self.$field
            }
        }
    };
}
