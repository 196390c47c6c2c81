//! The whole system in one process: a nats-server child, the seven services and the HTTP
//! gateway, sharing one data directory. `gridcase up` and `gridcase demo` run it;
//! cross-service tests and the pipeline benchmark start it on free ports and stop or restart
//! single services.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gridcase_auth::{RoleKind, TokenTable};
use gridcase_bus::logins::{service_user, ADMIN_USER};
use gridcase_bus::{Logins, NatsCluster, ShardMap, StoreClient};
use gridcase_dispatch::{nats_auth, DispatchConfig};
use gridcase_evaluation::EvaluationConfig;
use gridcase_eventstore::{EventStore, ReadModelConfig, StoreStats};
use gridcase_gateway::GatewayConfig;
use gridcase_intake::IntakeConfig;
use gridcase_query::QueryConfig;
use gridcase_store_node::StoreServiceConfig;
use gridcase_supervision::SupervisionConfig;
use gridcase_triage::TriageConfig;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::processes::{Launch, ProcessOptions};

mod service;

pub use service::{Addresses, Service};

/// How to start the system.
#[derive(Debug, Clone)]
pub struct SystemOptions {
    /// Data directory: `nats/` for JetStream, `store/` for the event log (`store-<n>/` for
    /// shard `n` from 1 on).
    pub data: PathBuf,
    /// Directory of the reference data.
    pub config: PathBuf,
    /// Bearer tokens and the callers holding them.
    pub tokens: TokenTable,
    /// Port of the nats-server (of the first node of a cluster, the others on the next
    /// ports); 0 lets it pick one.
    pub nats_port: u16,
    /// nats-server nodes: 1 for a single server, 3 (or more) for a cluster on loopback with
    /// every JetStream stream at 3 replicas, which rides out the loss of any one node.
    pub nats_nodes: usize,
    /// Where the gRPC APIs and the gateway listen.
    pub addresses: Addresses,
    /// The address residents' phones reach the gateway at; `None` for the address it is bound
    /// to (right on one machine; behind a proxy, give the public name).
    pub public_base_url: Option<String>,
    /// nats-server with logins (the administrator, each service, each department: see
    /// [`gridcase_bus::authorization`]), their passwords generated into [`LOGINS_FILE`] in
    /// the data directory; `false` lets any local client in (development only).
    pub nats_logins: bool,
    /// Each service as its own OS process (the binaries and the token file they read), or
    /// `None` for every service in this process.
    pub processes: Option<ProcessOptions>,
    /// Replicas of each stage service ([`Service::STAGES`]). From 2 on, every replica follows
    /// the event feed partitioned (`--replicated`), and replica `r` (from 0) beyond the first
    /// listens on a free port and keeps its read model in `<data>/<service>-<r+1>`.
    pub replicas: usize,
    /// Lets street offices' leaf nodes connect on 127.0.0.1 at this port (0: a free one), as
    /// the user [`LEAF_USER`] with its password from the logins; `None`: no leaf nodes. On a
    /// single nats-server only.
    pub leaf_port: Option<u16>,
    /// The street offices whose reports the centre's intake records (see
    /// `gridcase_intake::office`).
    pub office_sources: Vec<String>,
    /// Store shards: a store process of its own for each, shard `n`'s log in
    /// `<data>/store-<n>` (shard 0's in `<data>/store`), every service routing by the
    /// case's shard (see [`gridcase_bus::shards`]).
    pub shards: usize,
    /// Which area's (district's or street's) cases each shard keeps (`<area>=<shard>,…`);
    /// others by a hash of their district's code.
    pub shard_areas: String,
}

/// The user street offices' leaf nodes log in to the centre as.
pub const LEAF_USER: &str = "leaf";

/// The file in the data directory that keeps the NATS logins (mode 0600).
pub const LOGINS_FILE: &str = "nats-logins";

impl SystemOptions {
    /// A system of its own on ports nobody else uses: nats-server's and every gRPC API's picked
    /// free, as the demo and the pipeline benchmark start one.
    pub fn on_free_ports(data: PathBuf, config: PathBuf, tokens: TokenTable) -> Self {
        Self {
            data,
            config,
            tokens,
            nats_port: 0,
            nats_nodes: 1,
            addresses: Addresses::any_free(),
            public_base_url: None,
            nats_logins: true,
            processes: None,
            replicas: 1,
            leaf_port: None,
            office_sources: Vec::new(),
            shards: 1,
            shard_areas: String::new(),
        }
    }

    /// The map of the store's shards the services route by.
    pub fn shard_map(&self) -> anyhow::Result<ShardMap> {
        ShardMap::new(self.shards.max(1), &self.shard_areas).map_err(anyhow::Error::msg)
    }
}

/// A service running, as a task of this process or a process of its own: a stop signal and
/// what it ended with.
pub(crate) struct Running {
    pub(crate) stop: oneshot::Sender<()>,
    pub(crate) task: JoinHandle<anyhow::Result<()>>,
    /// The process id, when the service runs as a process of its own.
    pub(crate) pid: Option<u32>,
}

/// nats-server and the services, running.
pub struct System {
    options: SystemOptions,
    nats: NatsCluster,
    nats_url: String,
    logins: Option<Logins>,
    bound: Addresses,
    /// Where street offices' leaf nodes connect.
    leaf_port: Option<u16>,
    /// Where replicas beyond the first listen, by [`System::slot`].
    replica_addrs: Vec<SocketAddr>,
    /// What runs, by [`System::slot`].
    running: Vec<Option<Running>>,
    /// Each shard's statistics when its store last started.
    started_with: Vec<StoreStats>,
}

impl std::fmt::Debug for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("System")
            .field("nats", &self.nats.url())
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

/// Runs `service` as a task with a stop signal of its own.
fn spawn<Fut, E>(run: impl FnOnce(oneshot::Receiver<()>) -> Fut) -> Running
where
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<anyhow::Error>,
{
    let (stop, stopped) = oneshot::channel();
    let service = run(stopped);
    let task = tokio::spawn(async move { service.await.map_err(Into::into) });
    Running {
        stop,
        task,
        pid: None,
    }
}

async fn stop_signal(stopped: oneshot::Receiver<()>) {
    let _ = stopped.await;
}

impl System {
    /// Loads the reference data (refusing bad data before starting anything), starts
    /// nats-server, then the store — waiting until it answers — and the other six services.
    pub async fn start(options: SystemOptions) -> anyhow::Result<System> {
        let reference =
            gridcase_config::ReferenceData::load(&options.config).with_context(|| {
                format!("loading the reference data in {}", options.config.display())
            })?;
        let nats_dir = options.data.join("nats");
        std::fs::create_dir_all(&nats_dir)
            .with_context(|| format!("creating {}", nats_dir.display()))?;
        let logins = if options.nats_logins {
            let path = options.data.join(LOGINS_FILE);
            let users = nats_auth::users(&reference)
                .into_iter()
                .chain([LEAF_USER.to_owned()]);
            Some(Logins::load_or_create(&path, users)?)
        } else {
            tracing::warn!(
                "nats-server runs without logins: any local process can read every work order \
                 and the event feed (development only)"
            );
            None
        };
        let mut authorization = logins.as_ref().map_or_else(String::new, |logins| {
            nats_auth::authorization(&reference, |user| logins.quoted_password(user))
        });
        let nodes = options.nats_nodes.max(1);
        let leaf_port = match options.leaf_port {
            Some(_) if nodes > 1 => {
                anyhow::bail!("leaf nodes connect to a single nats-server here")
            }
            Some(0) => Some(gridcase_bus::natsd::free_port()?),
            other => other,
        };
        if let Some(port) = leaf_port {
            let login = match &logins {
                Some(logins) => format!(
                    "\n  authorization {{ user: \"{LEAF_USER}\", password: {} }}",
                    logins.quoted_password(LEAF_USER)
                ),
                None => String::new(),
            };
            authorization.push_str(&format!(
                "leafnodes {{\n  listen: 127.0.0.1:{port}{login}\n}}\n"
            ));
        }
        // Three copies of every stream on a cluster (fewer nodes than that hold fewer).
        gridcase_bus::streams::set_replicas(nodes.min(3)).map_err(anyhow::Error::msg)?;
        let nats = tokio::task::block_in_place(|| {
            NatsCluster::start(&nats_dir, nodes, options.nats_port, &authorization)
        })?;
        let nats_url = match logins.as_ref().and_then(|l| l.login(ADMIN_USER)) {
            Some(admin) => nats.url_as(admin.user(), admin.password()),
            None => nats.url(),
        };
        if nodes > 1 {
            // The nodes elect a JetStream leader before any stream can be made.
            gridcase_bus::natsd::wait_for_jetstream(&nats_url, Duration::from_secs(30)).await?;
        }
        options.shard_map()?;
        let slots = Service::ALL.len() * options.replicas.max(options.shards).max(1);
        let mut system = System {
            leaf_port,
            bound: options.addresses,
            options,
            nats,
            nats_url,
            logins,
            replica_addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0)); slots],
            running: (0..slots).map(|_| None).collect(),
            started_with: Vec::new(),
        };
        for service in Service::ALL {
            for replica in 0..system.replicas_of(service) {
                system.start_replica(service, replica).await?;
            }
        }
        Ok(system)
    }

    /// The NATS URL the administrator's tools connect with: with the `admin` login's password
    /// in it when the server has logins, so keep it out of logs (show [`System::nats_address`]).
    pub fn nats_url(&self) -> &str {
        &self.nats_url
    }

    /// Stops nats-server, every node of a cluster (the services stay up, without NATS), as a
    /// crash of it would.
    pub fn stop_nats(&mut self) {
        self.nats.kill_all();
    }

    /// Starts nats-server again on the same ports and JetStream directories after
    /// [`System::stop_nats`]; the services' connections find it again by themselves.
    pub fn start_nats(&mut self) -> anyhow::Result<()> {
        let nats = &mut self.nats;
        tokio::task::block_in_place(|| nats.start_all())?;
        Ok(())
    }

    /// The URL a street office's leaf node connects to the centre with (the leaf login's
    /// password in it), if leaf nodes may connect.
    pub fn leaf_url(&self) -> Option<String> {
        let port = self.leaf_port?;
        Some(
            match self.logins.as_ref().and_then(|l| l.login(LEAF_USER)) {
                Some(login) => format!(
                    "nats-leaf://{}:{}@127.0.0.1:{port}",
                    login.user(),
                    login.password()
                ),
                None => format!("nats-leaf://127.0.0.1:{port}"),
            },
        )
    }

    /// The number of nats-server nodes.
    pub fn nats_nodes(&self) -> usize {
        self.nats.len()
    }

    /// Kills node `node` of the cluster (SIGKILL), as the loss of its machine would.
    pub fn kill_nats_node(&mut self, node: usize) {
        self.nats.kill(node);
    }

    /// Starts node `node` again after [`System::kill_nats_node`]; it rejoins the cluster.
    pub fn start_nats_node(&mut self, node: usize) -> anyhow::Result<()> {
        let nats = &mut self.nats;
        tokio::task::block_in_place(|| nats.start_node(node))?;
        Ok(())
    }

    /// The NATS URL without credentials, to show: every node's, comma-separated.
    pub fn nats_address(&self) -> String {
        self.nats.url()
    }

    /// The NATS logins, unless the server runs without them.
    pub fn logins(&self) -> Option<&Logins> {
        self.logins.as_ref()
    }

    /// A NATS connection as `service`'s own user (the administrator's without logins).
    async fn connect_service(&self, service: Service) -> anyhow::Result<async_nats::Client> {
        let login = self
            .logins
            .as_ref()
            .and_then(|logins| logins.login(&service_user(service.name())));
        let connected = match login {
            Some(login) => gridcase_bus::connect_as(&self.nats_address(), &login).await,
            None => gridcase_bus::connect(&self.nats_url).await,
        };
        connected.with_context(|| format!("the {} service connecting to NATS", service.name()))
    }

    /// The JetStream directory.
    pub fn nats_dir(&self) -> PathBuf {
        self.options.data.join("nats")
    }

    /// The options the system was started with.
    pub fn options(&self) -> &SystemOptions {
        &self.options
    }

    /// Where `service`'s gRPC API listens (its first replica's).
    pub fn addr(&self, service: Service) -> SocketAddr {
        self.bound.get(service)
    }

    /// How many replicas of `service` the system runs: [`SystemOptions::replicas`] of a stage
    /// service, one of the gateway, and of the store one per shard (replica `n` is shard `n`).
    pub fn replicas_of(&self, service: Service) -> usize {
        match service {
            Service::Store => self.options.shards.max(1),
            _ if service.is_stage() => self.options.replicas.max(1),
            _ => 1,
        }
    }

    /// Where replica `replica` (from 0) of `service` listens.
    pub fn replica_addr(&self, service: Service, replica: usize) -> SocketAddr {
        if replica == 0 {
            self.bound.get(service)
        } else {
            self.replica_addrs[self.slot(service, replica)]
        }
    }

    /// `http://<addr>` of replica `replica` of `service`.
    pub fn replica_endpoint(&self, service: Service, replica: usize) -> String {
        format!("http://{}", self.replica_addr(service, replica))
    }

    /// The place of replica `replica` of `service` in [`System::running`].
    fn slot(&self, service: Service, replica: usize) -> usize {
        replica * Service::ALL.len() + service.index()
    }

    /// The directory of the read model of replica `replica` of `service`: `<data>/<service>`
    /// for the first, `<data>/<service>-<replica + 1>` for the others.
    pub fn model_dir(&self, service: Service, replica: usize) -> PathBuf {
        match replica {
            0 => self.options.data.join(service.name()),
            _ => self
                .options
                .data
                .join(format!("{}-{}", service.name(), replica + 1)),
        }
    }

    /// `http://<addr>` of `service`'s gRPC API, for a tonic channel.
    pub fn endpoint(&self, service: Service) -> String {
        format!("http://{}", self.addr(service))
    }

    /// The address residents' phones reach the gateway at.
    pub fn public_base_url(&self) -> String {
        self.options
            .public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr(Service::Gateway)))
    }

    /// The store's statistics when it last started: every shard's, summed.
    pub fn store_stats_at_start(&self) -> StoreStats {
        self.started_with.iter().sum::<StoreStats>()
    }

    /// The map of the store's shards.
    pub fn shard_map(&self) -> ShardMap {
        self.options
            .shard_map()
            .expect("the shard map was checked when the system started")
    }

    /// A client of the store (every shard) over `nats`.
    pub fn store_client(&self, nats: async_nats::Client) -> StoreClient {
        StoreClient::sharded(nats, self.shard_map())
    }

    /// The directory of store shard `shard`'s log: `<data>/store`, `<data>/store-<n>`.
    pub fn store_dir(&self, shard: usize) -> PathBuf {
        match shard {
            0 => self.options.data.join("store"),
            n => self.options.data.join(format!("store-{n}")),
        }
    }

    /// Starts `service` (its first replica) again on the address it had; a no-op if it runs.
    pub async fn start_service(&mut self, service: Service) -> anyhow::Result<()> {
        self.start_replica(service, 0).await
    }

    /// Starts replica `replica` (from 0) of `service` (again) on the address it had; a no-op
    /// if it runs.
    pub async fn start_replica(&mut self, service: Service, replica: usize) -> anyhow::Result<()> {
        anyhow::ensure!(
            replica < self.replicas_of(service),
            "the {} service runs {} replica(s), not a replica {}",
            service.name(),
            self.replicas_of(service),
            replica + 1
        );
        let slot = self.slot(service, replica);
        if self.running[slot].is_some() {
            return Ok(());
        }
        let addr = self.replica_addr(service, replica);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the {} gRPC address {addr}", service.name()))?;
        let bound = listener.local_addr()?;
        if replica == 0 {
            self.bound.set(service, bound);
        } else {
            self.replica_addrs[slot] = bound;
        }
        if let Some(processes) = self.options.processes.clone() {
            // The process binds the address itself.
            drop(listener);
            let running = self.start_process(service, replica, &processes).await?;
            self.running[slot] = Some(running);
            return self.wait_for_store(service, replica).await;
        }
        let config = self.options.config.clone();
        let tokens = self.options.tokens.clone();
        let replicated = service.is_stage() && self.options.replicas > 1;
        let shards = self.shard_map();
        let stage = |config: PathBuf, tokens: TokenTable| gridcase_runtime::StageConfig {
            replicated,
            shards: shards.clone(),
            ..gridcase_runtime::StageConfig::new(config, tokens)
        };
        // The gateway calls the other services over gRPC and has no NATS login.
        let nats = match service {
            Service::Gateway => None,
            _ => Some(self.connect_service(service).await?),
        };
        let running = match (service, nats) {
            (Service::Store, Some(nats)) => {
                let mut config = StoreServiceConfig {
                    tokens: Arc::new(tokens),
                    shard: replica.to_string(),
                    ..StoreServiceConfig::new(self.store_dir(replica))
                };
                if replica > 0 {
                    // The key vault is shard 0's; one vault serves the city.
                    config.keys_dir = None;
                }
                spawn(|stopped| {
                    gridcase_store_node::run(config, nats, listener, stop_signal(stopped))
                })
            }
            (Service::Intake, Some(nats)) => {
                let config: IntakeConfig = stage(config, tokens);
                let options = gridcase_intake::IntakeOptions {
                    office: None,
                    office_sources: self.options.office_sources.clone(),
                };
                spawn(|stopped| {
                    gridcase_intake::run_with(config, options, nats, listener, stop_signal(stopped))
                })
            }
            (Service::Triage, Some(nats)) => {
                let config = TriageConfig {
                    model_file: Some(self.options.data.join(gridcase_triage::model::MODEL_FILE)),
                    model: ReadModelConfig::new(Some(self.model_dir(service, replica))),
                    stage: stage(config.clone(), tokens.clone()),
                    ..TriageConfig::new(config, tokens)
                };
                spawn(|stopped| gridcase_triage::run(config, nats, listener, stop_signal(stopped)))
            }
            (Service::Dispatch, Some(nats)) => {
                let config: DispatchConfig = stage(config, tokens);
                spawn(|stopped| {
                    gridcase_dispatch::run(config, nats, listener, stop_signal(stopped))
                })
            }
            (Service::Supervision, Some(nats)) => {
                let config = SupervisionConfig {
                    model: ReadModelConfig::new(Some(self.model_dir(service, replica))),
                    stage: stage(config.clone(), tokens.clone()),
                    ..SupervisionConfig::new(config, tokens)
                };
                spawn(|stopped| {
                    gridcase_supervision::run(config, nats, listener, stop_signal(stopped))
                })
            }
            (Service::Evaluation, Some(nats)) => {
                let config = EvaluationConfig {
                    model: ReadModelConfig::new(Some(self.model_dir(service, replica))),
                    stage: stage(config, tokens),
                };
                spawn(|stopped| {
                    gridcase_evaluation::run(config, nats, listener, stop_signal(stopped))
                })
            }
            (Service::Query, Some(nats)) => {
                let config = QueryConfig {
                    model: ReadModelConfig::new(Some(self.model_dir(service, replica))),
                    stage: stage(config, tokens),
                };
                spawn(|stopped| gridcase_query::run(config, nats, listener, stop_signal(stopped)))
            }
            (Service::Gateway, _) => {
                let token = tokens.token_for(RoleKind::Gateway).with_context(|| {
                    "the gateway needs a token of the gateway role in the token table"
                })?;
                let config = GatewayConfig {
                    config_dir: config,
                    data_dir: self.options.data.clone(),
                    endpoints: gridcase_gateway::Endpoints {
                        intake: self.endpoint(Service::Intake),
                        query: self.endpoint(Service::Query),
                        evaluation: self.endpoint(Service::Evaluation),
                        token,
                    },
                    public_base_url: Some(self.public_base_url()),
                    staff: Arc::new(tokens),
                };
                spawn(|stopped| gridcase_gateway::run(config, listener, stop_signal(stopped)))
            }
            (service, None) => unreachable!("{} connected to NATS above", service.name()),
        };
        self.running[slot] = Some(running);
        self.wait_for_store(service, replica).await
    }

    /// After starting a store shard, waits until it answers (and keeps its statistics); a
    /// no-op for the other services.
    async fn wait_for_store(&mut self, service: Service, shard: usize) -> anyhow::Result<()> {
        let Some(running) = self.running[self.slot(service, shard)].as_ref() else {
            return Ok(());
        };
        if service == Service::Store {
            let nats = gridcase_bus::connect(&self.nats_url).await?;
            let client = StoreClient::new(nats, &shard.to_string());
            let stats = loop {
                match client.stats().await {
                    Ok(stats) => break stats,
                    Err(_) if !running.task.is_finished() => {
                        tokio::time::sleep(Duration::from_millis(50)).await
                    }
                    Err(e) => {
                        let outcome = self.stop_replica(Service::Store, shard).await;
                        anyhow::bail!("store shard {shard} did not start: {e} ({outcome:?})");
                    }
                }
            };
            if self.started_with.len() <= shard {
                self.started_with.resize(shard + 1, StoreStats::default());
            }
            self.started_with[shard] = stats;
        }
        Ok(())
    }

    /// Starts `service` as its own process (see [`crate::processes`]).
    async fn start_process(
        &self,
        service: Service,
        replica: usize,
        processes: &ProcessOptions,
    ) -> anyhow::Result<Running> {
        let data = &self.options.data;
        let addr = self.replica_addr(service, replica);
        let replicated = service.is_stage() && self.options.replicas > 1;
        let nats_url = match self
            .logins
            .as_ref()
            .and_then(|logins| logins.login(&service_user(service.name())))
        {
            Some(login) => self.nats.url_as(login.user(), login.password()),
            None => self.nats_address(),
        };
        let replicas = gridcase_bus::streams::replicas().to_string();
        let binary = processes.binary(service)?;
        let stage = |launch: Launch| {
            launch
                .arg("--config", &self.options.config)
                .arg("--tokens", &processes.tokens_file)
                .arg("--grpc", addr.to_string())
                .env("GRIDCASE_NATS_URL", nats_url.clone())
                .env("GRIDCASE_STREAM_REPLICAS", &replicas)
                .env("GRIDCASE_REPLICATED", replicated.to_string())
                .env(
                    "GRIDCASE_STORE_SHARDS",
                    self.options.shards.max(1).to_string(),
                )
                .env("GRIDCASE_SHARD_AREAS", &self.options.shard_areas)
        };
        let launch = Launch::new(binary);
        let launch = match service {
            Service::Store => launch
                .arg("--data", self.store_dir(replica))
                .arg("--shard", replica.to_string())
                .arg("--tokens", &processes.tokens_file)
                .arg("--grpc", addr.to_string())
                .env("GRIDCASE_NATS_URL", nats_url.clone())
                .env("GRIDCASE_STREAM_REPLICAS", &replicas),
            Service::Intake if !self.options.office_sources.is_empty() => {
                stage(launch).arg("--office-sources", self.options.office_sources.join(","))
            }
            Service::Intake | Service::Dispatch => stage(launch),
            Service::Triage => stage(launch)
                .arg("--model", self.model_dir(service, replica))
                .arg(
                    "--category-model",
                    data.join(gridcase_triage::model::MODEL_FILE),
                ),
            Service::Supervision | Service::Evaluation | Service::Query => {
                stage(launch).arg("--model", self.model_dir(service, replica))
            }
            Service::Gateway => {
                let token =
                    self.options.tokens.token_for(RoleKind::Gateway).context(
                        "the gateway needs a token of the gateway role in the token table",
                    )?;
                launch
                    .arg("--http", addr.to_string())
                    .arg("--config", &self.options.config)
                    .arg("--data", data)
                    .arg("--tokens", &processes.tokens_file)
                    .arg("--intake", self.endpoint(Service::Intake))
                    .arg("--query", self.endpoint(Service::Query))
                    .arg("--evaluation", self.endpoint(Service::Evaluation))
                    .arg("--public-base-url", self.public_base_url())
                    .env("GRIDCASE_GATEWAY_TOKEN", token.expose())
            }
        };
        let logs = data.join("logs");
        std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
        let log = match (service, replica) {
            (_, 0) => format!("{}.log", service.name()),
            // A store's replicas are shards, named by their number.
            (Service::Store, shard) => format!("store-{shard}.log"),
            _ => format!("{}-{}.log", service.name(), replica + 1),
        };
        crate::processes::start(service, launch, addr, &logs.join(log)).await
    }

    /// Stops `service` and waits for it; its error if it failed. A no-op if it is stopped.
    pub async fn stop_service(&mut self, service: Service) -> anyhow::Result<()> {
        self.stop_replica(service, 0).await
    }

    /// Stops replica `replica` of `service` and waits for it; its error if it failed. A no-op
    /// if it is stopped.
    pub async fn stop_replica(&mut self, service: Service, replica: usize) -> anyhow::Result<()> {
        let slot = self.slot(service, replica);
        let Some(running) = self.running.get_mut(slot).and_then(Option::take) else {
            return Ok(());
        };
        let _ = running.stop.send(());
        match running.task.await {
            Ok(outcome) => outcome.with_context(|| format!("the {} service", service.name())),
            Err(e) => Err(anyhow::anyhow!(
                "the {} service panicked: {e}",
                service.name()
            )),
        }
    }

    /// Kills the process of `service` with SIGKILL, as a crash would, and waits until it is
    /// gone; its pid. Only for a system whose services run as processes.
    pub async fn kill_service(&mut self, service: Service) -> anyhow::Result<u32> {
        self.kill_replica(service, 0).await
    }

    /// [`System::kill_service`] for replica `replica` of `service`.
    pub async fn kill_replica(&mut self, service: Service, replica: usize) -> anyhow::Result<u32> {
        let slot = self.slot(service, replica);
        let running = self
            .running
            .get_mut(slot)
            .and_then(Option::take)
            .with_context(|| format!("the {} service is not running", service.name()))?;
        let Some(pid) = running.pid else {
            self.running[slot] = Some(running);
            anyhow::bail!(
                "the {} service runs as a task, not a process",
                service.name()
            );
        };
        crate::processes::kill(pid);
        // Its task ends when the process is gone, with the error a crash gives.
        let _ = running.task.await;
        Ok(pid)
    }

    /// Waits until a running service stops by itself (a failure: services only stop when
    /// asked) and says which and why.
    pub async fn stopped_by_itself(&mut self) -> anyhow::Error {
        let tasks = self
            .running
            .iter_mut()
            .enumerate()
            .filter_map(|(index, running)| running.as_mut().map(|r| (index, &mut r.task)));
        let (indexes, tasks): (Vec<usize>, Vec<_>) = tasks.unzip();
        if tasks.is_empty() {
            return std::future::pending().await;
        }
        let (outcome, position, _) = futures::future::select_all(tasks).await;
        let service = Service::ALL[indexes[position] % Service::ALL.len()];
        self.running[indexes[position]] = None;
        let name = service.name();
        match outcome {
            Ok(Ok(())) => anyhow::anyhow!("the {name} service stopped"),
            Ok(Err(e)) => e.context(format!("the {name} service failed")),
            Err(e) => anyhow::anyhow!("the {name} service panicked: {e}"),
        }
    }

    /// Stops every service (the store last) and nats-server; the first failure, if any.
    pub async fn shut_down(mut self) -> anyhow::Result<()> {
        let mut failure = None;
        for service in Service::ALL.into_iter().rev() {
            for replica in (0..self.replicas_of(service)).rev() {
                if let Err(e) = self.stop_replica(service, replica).await {
                    failure.get_or_insert(e);
                }
            }
        }
        self.nats.kill_all();
        failure.map_or(Ok(()), Err)
    }
}

/// The reference data directory: the one given, else `deploy/config` here or in the source tree.
pub fn config_dir(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        let here = PathBuf::from("deploy/config");
        if !here.is_dir() && sample_config_dir().is_dir() {
            sample_config_dir()
        } else {
            here
        }
    })
}

/// The sample city's reference data in the source tree this was built from.
pub fn sample_config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config")
}
