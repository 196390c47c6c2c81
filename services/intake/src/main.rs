//! `gridcase-intake`: runs the intake service as its own process.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use gridcase_intake::IntakeConfig;
use gridcase_server::auth::TokenTable;

/// The gridcase intake service.
#[derive(Debug, Parser)]
#[command(name = "gridcase-intake", version)]
struct Args {
    /// NATS server URL.
    #[arg(
        long,
        env = "GRIDCASE_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    nats: String,
    /// Address of the intake gRPC API.
    #[arg(long, env = "GRIDCASE_INTAKE_GRPC", default_value = "127.0.0.1:7102")]
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
    let config = IntakeConfig {
        shard: args.shard,
        ..IntakeConfig::new(args.config, tokens)
    };
    gridcase_intake::run(config, nats, listener, gridcase_server::shutdown_signal()).await?;
    Ok(())
}
