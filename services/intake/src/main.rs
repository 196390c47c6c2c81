//! `gridcase-intake`: runs the intake service as its own process.

use std::net::SocketAddr;

use clap::Parser;
use gridcase_intake::IntakeConfig;
use gridcase_runtime::cli::StageArgs;

/// The gridcase intake service.
#[derive(Debug, Parser)]
#[command(name = "gridcase-intake", version)]
struct Args {
    #[command(flatten)]
    stage: StageArgs,
    /// Address of the intake gRPC API.
    #[arg(long, env = "GRIDCASE_INTAKE_GRPC", default_value = "127.0.0.1:7102")]
    grpc: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gridcase_runtime::init_tracing();
    let args = Args::parse();
    let started = args.stage.start(args.grpc).await?;
    let config = IntakeConfig {
        shard: args.stage.shard,
        ..IntakeConfig::new(args.stage.config, started.tokens)
    };
    gridcase_intake::run(
        config,
        started.nats,
        started.listener,
        gridcase_runtime::shutdown_signal(),
    )
    .await?;
    Ok(())
}
