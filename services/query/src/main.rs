//! `gridcase-query`: runs the query service as its own process.

use std::net::SocketAddr;

use clap::Parser;
use gridcase_query::QueryConfig;
use gridcase_runtime::cli::{ModelArgs, StageArgs};

/// The gridcase query service.
#[derive(Debug, Parser)]
#[command(name = "gridcase-query", version)]
struct Args {
    #[command(flatten)]
    stage: StageArgs,
    /// Address of the query gRPC API.
    #[arg(long, env = "GRIDCASE_QUERY_GRPC", default_value = "127.0.0.1:7107")]
    grpc: SocketAddr,
    #[command(flatten)]
    model: ModelArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let model = args.model.config(gridcase_query::SERVICE);
    args.stage
        .serve(args.grpc, move |stage, nats, listener, shutdown| {
            let config = QueryConfig {
                model,
                ..QueryConfig::with_stage(stage)
            };
            gridcase_query::run(config, nats, listener, shutdown)
        })
        .await?;
    Ok(())
}
