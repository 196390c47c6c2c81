//! What every stage service process is started with, declared once: the NATS URL, the
//! reference data, the bearer tokens, the store shard and where to serve metrics, each also
//! from a `GRIDCASE_` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::future::Future;
use std::pin::Pin;

use tokio::net::TcpListener;

use gridcase_auth::{AuthError, TokenTable};
use gridcase_eventstore::ReadModelConfig;

use crate::stage::{ServiceError, StageConfig};

/// Command-line settings shared by the stage services (flatten into a service's `Args`).
#[derive(Debug, Clone, clap::Args)]
pub struct StageArgs {
    /// NATS server URL; a cluster's nodes separated by commas
    /// (`nats://u:p@10.0.0.1:4222,nats://u:p@10.0.0.2:4222,nats://u:p@10.0.0.3:4222`).
    #[arg(
        long,
        env = "GRIDCASE_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats: String,
    /// Replicas of the JetStream streams the service creates (the event feed, work orders,
    /// alerts): 1 on a single nats-server, 3 on a cluster of three or more nodes.
    #[arg(
        long,
        env = "GRIDCASE_STREAM_REPLICAS",
        default_value_t = gridcase_bus::streams::DEFAULT_REPLICAS
    )]
    pub stream_replicas: usize,
    /// Directory of the reference data.
    #[arg(long, env = "GRIDCASE_CONFIG", default_value = "deploy/config")]
    pub config: PathBuf,
    /// The bearer-token file (`[[token]]` entries); `GRIDCASE_TOKENS` (`token=role:id,…`) adds
    /// to it.
    #[arg(
        long,
        env = "GRIDCASE_TOKENS_FILE",
        default_value = "deploy/config/tokens.toml"
    )]
    pub tokens: PathBuf,
    /// How many store shards the city's log is kept in (named `0` … `<shards> - 1`); a
    /// case's shard is fixed when it is reported (see `--district-shards`).
    #[arg(long, env = "GRIDCASE_STORE_SHARDS", default_value_t = 1)]
    pub shards: usize,
    /// Which area's cases each shard keeps, as `<area>=<shard>,…` with districts or streets
    /// (`330102=0,330105=1`); a case goes to the nearest listed area its grid lies in, else
    /// by a hash of its district's code, and a report naming no grid by a hash of its request
    /// id. The same on every service.
    #[arg(long, env = "GRIDCASE_SHARD_AREAS", default_value = "")]
    pub shard_areas: String,
    /// Address to serve Prometheus metrics on (`http://<addr>/metrics`); none when unset.
    #[arg(long, env = "GRIDCASE_METRICS")]
    pub metrics: Option<SocketAddr>,
    /// This process is one of several replicas of the service: it follows the event feed in
    /// partitions, one event at a time per partition across all replicas, so each case's
    /// events are handled in order by one replica at a time. Every replica of a service must
    /// be started with it (or none).
    #[arg(long, env = "GRIDCASE_REPLICATED")]
    pub replicated: bool,
}

/// Command-line settings of a service that keeps a read model on disk (flatten into its
/// `Args`): where, whether to rebuild it, and how much of it to keep in memory.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// Directory of the service's read model (its projections and checkpoint); default
    /// `data/<service>`.
    #[arg(long, env = "GRIDCASE_MODEL")]
    pub model: Option<PathBuf>,
    /// Empty the model and rebuild it from the start of the log.
    #[arg(long)]
    pub rebuild: bool,
    /// MiB of the model kept in memory; the rest is read from disk.
    #[arg(long, env = "GRIDCASE_MODEL_CACHE_MIB", default_value_t = 64)]
    pub cache_mib: u64,
}

impl ModelArgs {
    /// The model of `service` these settings describe.
    pub fn config(&self, service: &str) -> ReadModelConfig {
        let path = self
            .model
            .clone()
            .unwrap_or_else(|| PathBuf::from("data").join(service));
        ReadModelConfig {
            rebuild: self.rebuild,
            cache_capacity_bytes: self.cache_mib.saturating_mul(1024 * 1024),
            ..ReadModelConfig::new(Some(path))
        }
    }
}

/// What a stage service process needs before it runs.
#[derive(Debug)]
pub struct Started {
    /// The NATS connection.
    pub nats: async_nats::Client,
    /// The bound gRPC listener.
    pub listener: TcpListener,
    /// Its reference data, shard and callers.
    pub config: StageConfig,
}

/// Why a stage service process ended with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// It could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The service failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The stop signal handed to a service: Ctrl-C or SIGTERM.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Why a stage service process could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The token file or `GRIDCASE_TOKENS` is unusable.
    #[error("loading the bearer tokens: {0}")]
    Tokens(#[from] AuthError),
    /// NATS did not answer.
    #[error("connecting to NATS at {url}: {source}")]
    Nats {
        /// The URL tried, its password replaced by `***`.
        url: String,
        /// Why it failed.
        source: async_nats::ConnectError,
    },
    /// The metrics exporter could not be started.
    #[error(transparent)]
    Metrics(#[from] crate::MetricsError),
    /// A setting is out of range.
    #[error("{0}")]
    Setting(String),
    /// The gRPC address could not be bound.
    #[error("binding the gRPC address {addr}: {source}")]
    Bind {
        /// The address tried.
        addr: SocketAddr,
        /// Why it failed.
        source: std::io::Error,
    },
}

impl StageArgs {
    /// Runs a stage service process: sets up logging, [`StageArgs::start`]s, and hands the
    /// service `run` its configuration, NATS, the bound listener and the stop signal.
    pub async fn serve<F, Fut>(&self, grpc: SocketAddr, run: F) -> Result<(), RunError>
    where
        F: FnOnce(StageConfig, async_nats::Client, TcpListener, Shutdown) -> Fut,
        Fut: Future<Output = Result<(), ServiceError>>,
    {
        crate::init_tracing();
        let started = self.start(grpc).await?;
        let shutdown: Shutdown = Box::pin(crate::shutdown_signal());
        run(started.config, started.nats, started.listener, shutdown).await?;
        Ok(())
    }

    /// Loads the tokens, serves metrics if asked to, connects to NATS and binds `grpc`.
    pub async fn start(&self, grpc: SocketAddr) -> Result<Started, StartError> {
        let tokens = TokenTable::load_with_env(&self.tokens)?;
        gridcase_bus::streams::set_replicas(self.stream_replicas).map_err(StartError::Setting)?;
        let shards = gridcase_bus::ShardMap::new(self.shards, &self.shard_areas)
            .map_err(StartError::Setting)?;
        if let Some(addr) = self.metrics {
            let addr = crate::install_metrics(addr)?;
            tracing::info!(%addr, "serving metrics at http://{addr}/metrics");
        }
        let nats = gridcase_bus::connect(&self.nats)
            .await
            .map_err(|source| StartError::Nats {
                url: gridcase_bus::redact_url(&self.nats),
                source,
            })?;
        let listener = TcpListener::bind(grpc)
            .await
            .map_err(|source| StartError::Bind { addr: grpc, source })?;
        Ok(Started {
            nats,
            listener,
            config: StageConfig {
                shards,
                replicated: self.replicated,
                ..StageConfig::new(&self.config, tokens)
            },
        })
    }
}
