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
    /// Runs at the street office with this street code, on the office's NATS leaf node:
    /// reports are kept at the office and answered with tracking codes the centre reserved for
    /// it, so the office goes on taking reports while its link to the centre is down.
    #[arg(long, env = "GRIDCASE_OFFICE", conflicts_with = "office_sources")]
    office: Option<String>,
    /// At the centre: the street offices (street codes, comma-separated) whose reports this
    /// intake records as cases, from the stream that sources each office's.
    #[arg(long, env = "GRIDCASE_OFFICE_SOURCES", value_delimiter = ',')]
    office_sources: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let options = gridcase_intake::IntakeOptions {
        office: args.office,
        office_sources: args.office_sources,
    };
    args.stage
        .serve(args.grpc, |config, nats, listener, shutdown| {
            gridcase_intake::run_with(config, options, nats, listener, shutdown)
        })
        .await?;
    Ok(())
}
