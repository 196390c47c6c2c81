//! `gridcase-intake`: runs the intake service as its own process.

use std::net::SocketAddr;

use clap::Parser;
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
    let args = Args::parse();
    args.stage.serve(args.grpc, gridcase_intake::run).await?;
    Ok(())
}
