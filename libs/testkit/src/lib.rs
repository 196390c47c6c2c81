//! A sandbox for tests that start real things: a real `nats-server` on a free port with its own
//! temp dir, the store service in-process or as a child process (which tests can kill -9), and
//! clients wired to them. Everything is torn down when the values drop.
//!
//! [`ServiceHarness`] runs one stage service on such a sandbox for that service's own tests,
//! and [`wait_until`] is how tests wait for something to happen: polling it with a deadline.
//!
//! When nats-server is missing the sandbox panics with the command that installs it: a test that
//! needs NATS fails loudly, it never skips.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gridcase_auth::{BearerToken, Secret, TokenTable};
use gridcase_bus::{NatsServer, StoreClient};
use gridcase_proto::store::v1::store_admin_client::StoreAdminClient;
use gridcase_store_node::{RelayMode, StoreServiceConfig};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

mod harness;
mod wait;
mod work_orders;

pub mod histories;
mod process;

pub use harness::{AuthedChannel, ServiceClient, ServiceHarness};
pub use process::ServiceProcess;
pub use wait::{wait_until, Outcome, WAIT};
pub use work_orders::{pull_notices, pull_work_orders};

/// The bearer token of the administrator every sandboxed store accepts.
pub const ADMIN_TOKEN: &str = "sandbox-admin-token-0001";

/// The tokens a sandboxed store accepts: one administrator.
pub fn admin_tokens() -> TokenTable {
    TokenTable::from_env_value(&format!("{ADMIN_TOKEN}=admin:sandbox"))
        .expect("the sandbox token is well formed")
}

/// A client of a store's gRPC admin API at `addr`, authenticated as the sandbox administrator.
pub async fn store_admin(
    addr: SocketAddr,
) -> StoreAdminClient<InterceptedService<Channel, BearerToken>> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("a valid endpoint")
        .connect()
        .await
        .expect("connecting to the store's admin API");
    let token = BearerToken::new(&Secret::new(ADMIN_TOKEN)).expect("an ASCII token");
    StoreAdminClient::with_interceptor(channel, token)
}

/// The sample city's reference data shipped in `deploy/config`.
pub fn sample_config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config")
}

/// Copies the sample city's reference data (`*.toml`) into `dir`, for a test that changes a
/// file of it.
pub fn copy_sample_config(dir: &Path) {
    for entry in std::fs::read_dir(sample_config_dir()).expect("reading the sample config") {
        let path = entry.expect("a directory entry").path();
        if let (Some(name), true) = (
            path.file_name(),
            path.extension().is_some_and(|ext| ext == "toml"),
        ) {
            std::fs::copy(&path, dir.join(name)).expect("copying the sample config");
        }
    }
}

/// Copies the sample reference data and its corpus of residents' reports into `dir`, so
/// triage learns its category model as in production (without the corpus it classifies by
/// the catalogue's keywords).
pub fn copy_sample_config_with_corpus(dir: &Path) {
    copy_sample_config(dir);
    gridcase_config::Corpus::copy_files(&sample_config_dir(), dir).expect("copying the corpus");
}

/// A test certificate authority and a server certificate it signed for `localhost` and
/// 127.0.0.1 (PEM paths: CA, server certificate, server key), valid until 2126.
pub fn tls_files() -> (PathBuf, PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tls");
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// The bearer token a test gives the caller it calls `who`.
pub fn token_of(who: &str) -> String {
    format!("test-token-for-{who}-0001")
}

/// The bearer token interceptor for a client calling as `who` (see [`token_of`]).
pub fn bearer(who: &str) -> gridcase_auth::BearerToken {
    gridcase_auth::BearerToken::new(&gridcase_auth::Secret::new(token_of(who)))
        .expect("test tokens are valid header values")
}

/// A token table with one caller per `(who, "role:id")` pair, each holding [`token_of`]`(who)`.
pub fn token_table(callers: &[(&str, &str)]) -> TokenTable {
    let entries: Vec<String> = callers
        .iter()
        .map(|(who, caller)| format!("{}={caller}", token_of(who)))
        .collect();
    TokenTable::from_env_value(&entries.join(",")).expect("test callers are well formed")
}

/// A real nats-server in a temp dir.
#[derive(Debug)]
pub struct Sandbox {
    nats: NatsServer,
    dir: tempfile::TempDir,
}

impl Sandbox {
    /// Starts nats-server (JetStream on) on a free port. Panics, naming the install command,
    /// if nats-server is not installed.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("creating the sandbox temp dir");
        let nats_dir = dir.path().join("nats");
        std::fs::create_dir_all(&nats_dir).expect("creating the nats dir");
        let nats = NatsServer::start(&nats_dir, 0)
            .unwrap_or_else(|e| panic!("the test sandbox needs a real nats-server: {e}"));
        Self { nats, dir }
    }

    /// The NATS client URL.
    pub fn nats_url(&self) -> String {
        self.nats.url()
    }

    /// A path inside the sandbox's temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A new NATS connection to the sandbox's server.
    pub async fn connect(&self) -> async_nats::Client {
        gridcase_bus::connect(&self.nats_url())
            .await
            .expect("connecting to the sandbox nats-server")
    }

    /// A store client on shard 0.
    pub async fn store_client(&self) -> StoreClient {
        StoreClient::new(self.connect().await, gridcase_bus::subjects::DEFAULT_SHARD)
    }

    /// Runs the store service in this process with its data in `data_dir`, and waits until it
    /// answers.
    pub async fn start_store(&self, data_dir: &Path, relay: RelayMode) -> InProcessStore {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a gRPC port");
        let grpc_addr = listener.local_addr().expect("a bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        let config = StoreServiceConfig {
            relay,
            tokens: std::sync::Arc::new(admin_tokens()),
            ..StoreServiceConfig::new(data_dir)
        };
        let nats = self.connect().await;
        let mut task = tokio::spawn(async move {
            gridcase_store_node::run(config, nats, listener, async move {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| e.to_string())
        });
        let client = self.store_client().await;
        let started = Instant::now();
        while let Err(e) = client.head().await {
            if task.is_finished() {
                let outcome = (&mut task).await;
                panic!("the store service stopped while starting: {outcome:?}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the store did not answer within 30 s: {e}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        InProcessStore {
            stop: Some(stop),
            task: Some(task),
            grpc_addr,
            client,
        }
    }

    /// Runs the store service binary `binary` as a child process (so a test can kill it with
    /// SIGKILL), with its data in `data_dir`, and waits until it answers.
    pub async fn spawn_store_process(
        &self,
        binary: &Path,
        data_dir: &Path,
        relay: &str,
    ) -> StoreProcess {
        let grpc_port = gridcase_bus::natsd::free_port().expect("a free port");
        let log_path = self.path(&format!(
            "store-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let log = std::fs::File::create(&log_path).expect("creating the store log");
        let child = Command::new(binary)
            .arg("--data")
            .arg(data_dir)
            .arg("--nats")
            .arg(self.nats_url())
            .arg("--grpc")
            .arg(format!("127.0.0.1:{grpc_port}"))
            .arg("--relay")
            .arg(relay)
            .arg("--tokens")
            .arg(self.path("no-token-file.toml"))
            .env(
                gridcase_auth::TOKENS_ENV,
                format!("{ADMIN_TOKEN}=admin:sandbox"),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloning the log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", binary.display()));
        let mut process = StoreProcess {
            child,
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], grpc_port)),
            log_path,
        };
        let client = self.store_client().await;
        let started = Instant::now();
        while client.head().await.is_err() {
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!("the store process exited with {status}: {}", process.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the store process did not answer within 30 s: {}",
                process.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        process
    }
}

/// The store service running in the test's process.
#[derive(Debug)]
pub struct InProcessStore {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), String>>>,
    /// Where its gRPC admin API listens.
    pub grpc_addr: SocketAddr,
    /// A client of it.
    pub client: StoreClient,
}

impl InProcessStore {
    /// Shuts it down gracefully and waits until it has closed its store.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let outcome = task.await.expect("the store service task did not panic");
            outcome.unwrap_or_else(|e| panic!("the store service failed: {e}"));
        }
    }
}

impl Drop for InProcessStore {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The store service running as a child process; killed when dropped.
#[derive(Debug)]
pub struct StoreProcess {
    child: Child,
    /// Where its gRPC admin API listens.
    pub grpc_addr: SocketAddr,
    log_path: PathBuf,
}

impl StoreProcess {
    /// Kills it with SIGKILL, as a crash would, and waits for it to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for StoreProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Resolves when the test stops the service it was given to: the `shutdown` argument of a
/// service's `run`.
#[derive(Debug)]
pub struct StopSignal(oneshot::Receiver<()>);

impl std::future::Future for StopSignal {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

/// A stage service running in this process for a test, on a free port, with a channel to it.
#[derive(Debug)]
pub struct RunningService {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), String>>,
    /// A connected channel to its gRPC API.
    pub channel: Channel,
}

impl RunningService {
    /// Runs `run(listener, stop)` — a service's `run` with its config and NATS connection —
    /// on a free loopback port, and connects to it.
    pub async fn start<F, Fut, E>(name: &str, run: F) -> Self
    where
        F: FnOnce(tokio::net::TcpListener, StopSignal) -> Fut,
        Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a gRPC port");
        let addr = listener.local_addr().expect("a bound address");
        let (stop, stopped) = oneshot::channel();
        let service = run(listener, StopSignal(stopped));
        let task = tokio::spawn(async move { service.await.map_err(|e| e.to_string()) });
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("a valid endpoint")
            .connect()
            .await
            .unwrap_or_else(|e| panic!("connecting to the {name} service: {e}"));
        Self {
            stop,
            task,
            channel,
        }
    }

    /// Stops the service and waits for it; panics if it failed.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task
            .await
            .expect("the service task finished")
            .expect("the service stopped cleanly");
    }
}
