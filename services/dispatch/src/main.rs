//! `gridcase-dispatch`: runs the dispatch service as its own process.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use gridcase_dispatch::DispatchConfig;
use gridcase_server::auth::TokenTable;

/// The gridcase dispatch service.
#[derive(Debug, Parser)]
#[command(name = "gridcase-dispatch", version)]
struct Args {
    /// NATS server URL.
    #[arg(
        long,
        env = "GRIDCASE_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    nats: String,
    /// Address of the dispatch gRPC API.
    #[arg(long, env = "GRIDCASE_DISPATCH_GRPC", default_value = "127.0.0.1:7104")]
    grpc: SocketAddr,
    /// Directory of the reference data.
    #[arg(long, env = "GRIDCASE_CONFIG", default_value = "deploy/config")]
    config: PathBuf,
    /// The store shard cases are kept in.
    #[arg(long, env = "GRIDCASE_STORE_SHARD", default_value = "0")]
    shard: String,
    /// The bearer-token file (`[[token]]` entries); `GRIDCASE_TOKENS` (`token=role:id,…`) adds
    /// to it.
    #[arg(
        long,
        env = "GRIDCASE_TOKENS_FILE",
        default_value = "deploy/config/tokens.toml"
    )]
    tokens: PathBuf,
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
    let config = DispatchConfig {
        shard: args.shard,
        ..DispatchConfig::new(args.config, tokens)
    };
    gridcase_dispatch::run(config, nats, listener, gridcase_server::shutdown_signal()).await?;
    Ok(())
}
