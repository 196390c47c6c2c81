//! `gridcase-triage`: runs the triage service as its own process.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use gridcase_runtime::cli::StageArgs;
use gridcase_triage::TriageConfig;

/// The gridcase triage service.
#[derive(Debug, Parser)]
#[command(name = "gridcase-triage", version)]
struct Args {
    #[command(flatten)]
    stage: StageArgs,
    /// Address of the triage gRPC API.
    #[arg(long, env = "GRIDCASE_TRIAGE_GRPC", default_value = "127.0.0.1:7103")]
    grpc: SocketAddr,
    /// How far back a new report may repeat an open case, in hours.
    #[arg(long, env = "GRIDCASE_DUPLICATE_WINDOW_HOURS", default_value_t = 24)]
    duplicate_window_hours: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gridcase_runtime::init_tracing();
    let args = Args::parse();
    let started = args.stage.start(args.grpc).await?;
    let config = TriageConfig {
        shard: args.stage.shard,
        duplicate_window: Duration::from_secs(args.duplicate_window_hours.saturating_mul(3600)),
        ..TriageConfig::new(args.stage.config, started.tokens)
    };
    gridcase_triage::run(
        config,
        started.nats,
        started.listener,
        gridcase_runtime::shutdown_signal(),
    )
    .await?;
    Ok(())
}
