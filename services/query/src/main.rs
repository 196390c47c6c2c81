//! `gridcase-query`: runs the query service as its own process.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Directory of the query model (its projections and checkpoint).
    #[arg(long, env = "GRIDCASE_QUERY_MODEL", default_value = "data/query")]
    model: PathBuf,
    /// Empty the model and rebuild it from the start of the log.
    #[arg(long)]
    rebuild: bool,
    /// MiB of the model kept in memory; the rest is read from disk.
    #[arg(long, env = "GRIDCASE_QUERY_CACHE_MIB", default_value_t = 64)]
    cache_mib: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (model, rebuild, cache_mib) = (args.model, args.rebuild, args.cache_mib);
    args.stage
        .serve(args.grpc, move |stage, nats, listener, shutdown| {
            let config = QueryConfig {
                model_dir: Some(model),
                rebuild,
                cache_capacity_bytes: cache_mib * 1024 * 1024,
                ..QueryConfig::with_stage(stage)
            };
            gridcase_query::run(config, nats, listener, shutdown)
        })
        .await?;
    Ok(())
}
