//! `gridcase-query`: runs the query service as its own process.

use std::net::SocketAddr;

use clap::Parser;
use gridcase_runtime::cli::StageArgs;

/// The gridcase query service.
#[derive(Debug, Parser)]
#[command(name = "gridcase-query", version)]
struct Args {
    #[command(flatten)]
    stage: StageArgs,
    /// Address of the query gRPC API.
    #[arg(long, env = "GRIDCASE_QUERY_GRPC", default_value = "127.0.0.1:7107")]
    grpc: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    args.stage.serve(args.grpc, gridcase_query::run).await?;
    Ok(())
}
