//! `gridcase-supervision`: runs the supervision service as its own process.

use std::net::SocketAddr;

use clap::Parser;
use gridcase_runtime::cli::{ModelArgs, StageArgs};
use gridcase_supervision::SupervisionConfig;

/// The gridcase supervision service.
#[derive(Debug, Parser)]
#[command(name = "gridcase-supervision", version)]
struct Args {
    #[command(flatten)]
    stage: StageArgs,
    /// Address of the supervision gRPC API.
    #[arg(
        long,
        env = "GRIDCASE_SUPERVISION_GRPC",
        default_value = "127.0.0.1:7105"
    )]
    grpc: SocketAddr,
    /// How often to look for due deadline timers, in milliseconds.
    #[arg(long, env = "GRIDCASE_SUPERVISION_TICK_MS", default_value_t = 200)]
    tick_ms: u64,
    #[command(flatten)]
    model: ModelArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tick = std::time::Duration::from_millis(args.tick_ms.max(1));
    let model = args.model.config(gridcase_supervision::SERVICE);
    args.stage
        .serve(args.grpc, move |stage, nats, listener, shutdown| {
            let config = SupervisionConfig {
                tick,
                model,
                ..SupervisionConfig::with_stage(stage)
            };
            gridcase_supervision::run(config, nats, listener, shutdown)
        })
        .await?;
    Ok(())
}
