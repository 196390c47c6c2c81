//! `gridcase-triage`: runs the triage service as its own process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use gridcase_server::auth::TokenTable;
use gridcase_triage::TriageConfig;

/// The gridcase triage service.
#[derive(Debug, Parser)]
#[command(name = "gridcase-triage", version)]
struct Args {
    /// NATS server URL.
    #[arg(
        long,
        env = "GRIDCASE_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    nats: String,
    /// Address of the triage gRPC API.
    #[arg(long, env = "GRIDCASE_TRIAGE_GRPC", default_value = "127.0.0.1:7103")]
    grpc: SocketAddr,
    /// Directory of the reference data.
    #[arg(long, env = "GRIDCASE_CONFIG", default_value = "deploy/config")]
    config: PathBuf,
    /// The bearer-token file (`[[token]]` entries); `GRIDCASE_TOKENS` (`token=role:id,…`) adds
    /// to it.
    #[arg(
        long,
        env = "GRIDCASE_TOKENS_FILE",
        default_value = "deploy/config/tokens.toml"
    )]
    tokens: PathBuf,
    /// The store shard cases are kept in.
    #[arg(long, env = "GRIDCASE_STORE_SHARD", default_value = "0")]
    shard: String,
    /// How far back a new report may repeat an open case, in hours.
    #[arg(long, env = "GRIDCASE_DUPLICATE_WINDOW_HOURS", default_value_t = 24)]
    duplicate_window_hours: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gridcase_server::init_tracing();
    let args = Args::parse();
    let tokens = TokenTable::load_with_env(&args.tokens).context("loading the bearer tokens")?;
    let nats = gridcase_bus::connect(&args.nats)
        .await
        .with_context(|| format!("connecting to NATS at {}", args.nats))?;
    let listener = tokio::net::TcpListener::bind(args.grpc)
        .await
        .with_context(|| format!("binding the gRPC address {}", args.grpc))?;
    let config = TriageConfig {
        shard: args.shard,
        duplicate_window: Duration::from_secs(args.duplicate_window_hours.saturating_mul(3600)),
        ..TriageConfig::new(args.config, tokens)
    };
    gridcase_triage::run(config, nats, listener, gridcase_server::shutdown_signal()).await?;
    Ok(())
}
