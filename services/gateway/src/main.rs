//! `gridcase-gateway`: the HTTP gateway on its own, calling intake, query and evaluation over
//! gRPC.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use gridcase_auth::Secret;
use gridcase_gateway::{Endpoints, GatewayConfig};

/// The gridcase HTTP gateway: QR pages, Open311, posters and community boards.
#[derive(Debug, Parser)]
#[command(name = "gridcase-gateway", version)]
struct Args {
    /// Address to serve HTTP on.
    #[arg(long, env = "GRIDCASE_GATEWAY_HTTP", default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// Directory of the reference data and `gateway.toml`.
    #[arg(long, env = "GRIDCASE_CONFIG", default_value = "deploy/config")]
    config: PathBuf,
    /// Where photos and the signing secret are kept.
    #[arg(long, env = "GRIDCASE_GATEWAY_DATA", default_value = "data")]
    data: PathBuf,
    /// The intake gRPC API.
    #[arg(
        long,
        env = "GRIDCASE_INTAKE_URL",
        default_value = "http://127.0.0.1:7102"
    )]
    intake: String,
    /// The query gRPC API.
    #[arg(
        long,
        env = "GRIDCASE_QUERY_URL",
        default_value = "http://127.0.0.1:7107"
    )]
    query: String,
    /// The evaluation gRPC API.
    #[arg(
        long,
        env = "GRIDCASE_EVALUATION_URL",
        default_value = "http://127.0.0.1:7106"
    )]
    evaluation: String,
    /// A bearer token of the `gateway` role.
    #[arg(long, env = "GRIDCASE_GATEWAY_TOKEN", hide_env_values = true)]
    token: String,
    /// The bearer-token file of the services: staff holding a department, grid worker,
    /// operator or admin token may upload photos. `GRIDCASE_TOKENS` adds to it.
    #[arg(
        long,
        env = "GRIDCASE_TOKENS_FILE",
        default_value = "deploy/config/tokens.toml"
    )]
    tokens: PathBuf,
    /// Overrides `public_base_url` of gateway.toml.
    #[arg(long, env = "GRIDCASE_PUBLIC_BASE_URL")]
    public_base_url: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gridcase_runtime::init_tracing();
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.http).await?;
    let config = GatewayConfig {
        config_dir: args.config,
        data_dir: args.data,
        endpoints: Endpoints {
            intake: args.intake,
            query: args.query,
            evaluation: args.evaluation,
            token: Secret::new(args.token),
        },
        public_base_url: args.public_base_url,
        staff: std::sync::Arc::new(gridcase_auth::TokenTable::load_with_env(&args.tokens)?),
    };
    gridcase_gateway::run(config, listener, gridcase_runtime::shutdown_signal()).await?;
    Ok(())
}
