//! `gridcase-dispatch`: runs the dispatch service as its own process.

use std::net::SocketAddr;

use clap::Parser;
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
    let args = Args::parse();
    args.stage.serve(args.grpc, gridcase_dispatch::run).await?;
    Ok(())
}
