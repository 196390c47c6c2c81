//! `gridcase-evaluation`: runs the evaluation service as its own process.

use std::net::SocketAddr;

use clap::Parser;
use gridcase_evaluation::EvaluationConfig;
use gridcase_runtime::cli::StageArgs;

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gridcase_runtime::init_tracing();
    let args = Args::parse();
    let started = args.stage.start(args.grpc).await?;
    let config = EvaluationConfig {
        shard: args.stage.shard,
        ..EvaluationConfig::new(args.stage.config, started.tokens)
    };
    gridcase_evaluation::run(
        config,
        started.nats,
        started.listener,
        gridcase_runtime::shutdown_signal(),
    )
    .await?;
    Ok(())
}
