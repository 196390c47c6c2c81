//! `gridcase-store`: runs the event-store service as its own process.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use gridcase_store_node::{RelayMode, StoreServiceConfig};

/// The gridcase event-store service.
#[derive(Debug, Parser)]
#[command(name = "gridcase-store", version)]
struct Args {
    /// Directory of the sled database.
    #[arg(long, env = "GRIDCASE_STORE_DATA")]
    data: PathBuf,
    /// NATS server URL; a cluster's nodes separated by commas.
    #[arg(
        long,
        env = "GRIDCASE_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    nats: String,
    /// Replicas of the event feed's JetStream stream: 1 on a single nats-server, 3 on a
    /// cluster of three or more nodes.
    #[arg(
        long,
        env = "GRIDCASE_STREAM_REPLICAS",
        default_value_t = gridcase_bus::streams::DEFAULT_REPLICAS
    )]
    stream_replicas: usize,
    /// Address of the gRPC admin API.
    #[arg(long, env = "GRIDCASE_STORE_GRPC", default_value = "127.0.0.1:7101")]
    grpc: SocketAddr,
    /// The shard this store serves.
    #[arg(long, env = "GRIDCASE_STORE_SHARD", default_value = "0")]
    shard: String,
    /// The key vault's directory (residents' contacts are sealed with its keys); by default
    /// `keys` in the data directory, served by shard 0 only.
    #[arg(long, env = "GRIDCASE_STORE_KEYS")]
    keys: Option<PathBuf>,
    /// The bearer-token file for the admin API; `GRIDCASE_TOKENS` (`token=role:id,…`) adds to
    /// it.
    #[arg(
        long,
        env = "GRIDCASE_TOKENS_FILE",
        default_value = "deploy/config/tokens.toml"
    )]
    tokens: PathBuf,
    /// Outbox relay: on. (Its fault modes `off` and `no-checkpoint` exist only in test builds.)
    #[arg(long, env = "GRIDCASE_STORE_RELAY", default_value = "on")]
    relay: RelayMode,
    /// Address to serve Prometheus metrics on (`http://<addr>/metrics`); none when unset.
    #[arg(long, env = "GRIDCASE_METRICS")]
    metrics: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gridcase_runtime::init_tracing();
    let args = Args::parse();
    gridcase_bus::streams::set_replicas(args.stream_replicas).map_err(anyhow::Error::msg)?;
    if let Some(addr) = args.metrics {
        let addr = gridcase_runtime::install_metrics(addr)?;
        tracing::info!(%addr, "serving metrics at http://{addr}/metrics");
    }
    let tokens = gridcase_auth::TokenTable::load_with_env(&args.tokens)
        .context("loading the bearer tokens")?;
    let nats = gridcase_bus::connect(&args.nats).await.with_context(|| {
        format!(
            "connecting to NATS at {}",
            gridcase_bus::redact_url(&args.nats)
        )
    })?;
    let listener = tokio::net::TcpListener::bind(args.grpc)
        .await
        .with_context(|| format!("binding the gRPC admin address {}", args.grpc))?;
    let default_keys = (args.shard == gridcase_bus::subjects::DEFAULT_SHARD)
        .then(|| gridcase_store_node::default_keys_dir(&args.data));
    let config = StoreServiceConfig {
        keys_dir: args.keys.or(default_keys),
        shard: args.shard,
        relay: args.relay,
        tokens: std::sync::Arc::new(tokens),
        ..StoreServiceConfig::new(args.data)
    };
    gridcase_store_node::run(config, nats, listener, gridcase_runtime::shutdown_signal()).await?;
    Ok(())
}
