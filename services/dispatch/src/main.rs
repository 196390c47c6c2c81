//! `gridcase-dispatch`: runs the dispatch service as its own process.

use std::net::SocketAddr;

use clap::Parser;
use gridcase_dispatch::DispatchConfig;
use gridcase_runtime::cli::StageArgs;

/// The gridcase dispatch service.
#[derive(Debug, Parser)]
#[command(name = "gridcase-dispatch", version)]
struct Args {
    #[command(flatten)]
    stage: StageArgs,
    /// Address of the dispatch gRPC API.
    #[arg(long, env = "GRIDCASE_DISPATCH_GRPC", default_value = "127.0.0.1:7104")]
    grpc: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gridcase_runtime::init_tracing();
    let args = Args::parse();
    let started = args.stage.start(args.grpc).await?;
    let config = DispatchConfig {
        shard: args.stage.shard,
        ..DispatchConfig::new(args.stage.config, started.tokens)
    };
    gridcase_dispatch::run(
        config,
        started.nats,
        started.listener,
        gridcase_runtime::shutdown_signal(),
    )
    .await?;
    Ok(())
}
