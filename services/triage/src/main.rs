//! `gridcase-triage`: runs the triage service as its own process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use gridcase_runtime::cli::{ModelArgs, StageArgs};
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
    /// The trained category model (`gridcase train` writes `triage-model.bin` in the data
    /// directory); without it, or while it does not exist, a model is learnt from the corpus
    /// beside the reference data.
    #[arg(long, env = "GRIDCASE_TRIAGE_MODEL")]
    category_model: Option<PathBuf>,
    /// The model routes a case when its best category reaches this probability; below it the
    /// case waits for an operator with suggestions.
    #[arg(long, env = "GRIDCASE_TRIAGE_CONFIDENCE", default_value_t = gridcase_triage::DEFAULT_CONFIDENCE,
          value_parser = gridcase_triage::parse_confidence)]
    confidence: f64,
    // The case cache's model: `--model` (default `data/triage`), `--rebuild`, `--cache-mib`.
    #[command(flatten)]
    model: ModelArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let duplicate_window = Duration::from_secs(args.duplicate_window_hours.saturating_mul(3600));
    let model = args.model.config(gridcase_triage::SERVICE);
    args.stage
        .serve(args.grpc, |stage, nats, listener, shutdown| {
            let config = TriageConfig {
                duplicate_window,
                model_file: args.category_model.clone(),
                confidence: args.confidence,
                model: model.clone(),
                ..TriageConfig::with_stage(stage)
            };
            gridcase_triage::run(config, nats, listener, shutdown)
        })
        .await?;
    Ok(())
}
