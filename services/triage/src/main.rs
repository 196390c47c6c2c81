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
    let args = Args::parse();
    let duplicate_window = Duration::from_secs(args.duplicate_window_hours.saturating_mul(3600));
    args.stage
        .serve(args.grpc, |stage, nats, listener, shutdown| {
            let config = TriageConfig {
                duplicate_window,
                ..TriageConfig::with_stage(stage)
            };
            gridcase_triage::run(config, nats, listener, shutdown)
        })
        .await?;
    Ok(())
}
