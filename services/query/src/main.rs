//! `gridcase-query`: runs the query service as its own process.

use std::net::SocketAddr;

use clap::Parser;
use gridcase_query::QueryConfig;
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
    gridcase_runtime::init_tracing();
    let args = Args::parse();
    let started = args.stage.start(args.grpc).await?;
    let config = QueryConfig {
        shard: args.stage.shard,
        ..QueryConfig::new(args.stage.config, started.tokens)
    };
    gridcase_query::run(
        config,
        started.nats,
        started.listener,
        gridcase_runtime::shutdown_signal(),
    )
    .await?;
    Ok(())
}
