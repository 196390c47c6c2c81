//! `gridcase-evaluation`: runs the evaluation service as its own process.

use std::net::SocketAddr;

use clap::Parser;
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
    let args = Args::parse();
    args.stage
        .serve(args.grpc, gridcase_evaluation::run)
        .await?;
    Ok(())
}
