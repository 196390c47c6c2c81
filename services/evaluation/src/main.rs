//! `gridcase-evaluation`: runs the evaluation service as its own process.

use std::net::SocketAddr;

use clap::Parser;
use gridcase_evaluation::EvaluationConfig;
use gridcase_runtime::cli::{ModelArgs, StageArgs};

/// The gridcase evaluation service.
#[derive(Debug, Parser)]
#[command(name = "gridcase-evaluation", version)]
struct Args {
    #[command(flatten)]
    stage: StageArgs,
    /// Address of the evaluation gRPC API.
    #[arg(
        long,
        env = "GRIDCASE_EVALUATION_GRPC",
        default_value = "127.0.0.1:7106"
    )]
    grpc: SocketAddr,
    #[command(flatten)]
    model: ModelArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let model = args.model.config(gridcase_evaluation::SERVICE);
    args.stage
        .serve(args.grpc, move |stage, nats, listener, shutdown| {
            let config = EvaluationConfig {
                model,
                ..EvaluationConfig::with_stage(stage)
            };
            gridcase_evaluation::run(config, nats, listener, shutdown)
        })
        .await?;
    Ok(())
}
