//! The gridcase intake service: the front door for new cases.
//!
//! Hotline consoles, grid-worker apps and the QR web gateway call `gridcase.intake.v1.Intake`
//! over gRPC. A report is validated field by field and against the reference data (known
//! grids, categories, grid workers), then recorded as a `CaseReported` event through the case
//! store. Retries are safe without a cache: the case id is a stable hash of the caller's
//! `client_request_id`, so a repeat lands on the same stream and gets the same case back. Each
//! case gets a short tracking code, reserved in its own store stream before the report is
//! written, so residents can ask about their case by code. Callers authenticate with a bearer
//! token whose role decides what they may call; the caller (`role:id`) is the actor of the
//! events it causes.

/// The service's name: in the ids of the commands it decides, and in its metrics.
pub const SERVICE: &str = "intake";

pub mod ids;
pub mod report;
pub mod service;
pub mod tracking;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use gridcase_auth::TokenTable;
use gridcase_bus::StoreClient;
use gridcase_config::{ConfigError, ReferenceData};
use tokio::net::TcpListener;

pub use report::{InvalidInput, NewReport};
pub use service::{IntakeApi, GET_CASE_STATUS_ROLES, REPORT_CASE_ROLES, SERVICE_NAME};

/// How to run the intake service.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// Directory of the reference data (`grid.toml`, `categories.toml`, …).
    pub config_dir: PathBuf,
    /// The store shard cases are kept in.
    pub shard: String,
    /// Bearer tokens and the callers holding them.
    pub tokens: Arc<TokenTable>,
}

impl IntakeConfig {
    /// Defaults for reference data in `config_dir` and callers in `tokens`: shard 0.
    pub fn new(config_dir: impl Into<PathBuf>, tokens: TokenTable) -> Self {
        Self {
            config_dir: config_dir.into(),
            shard: gridcase_bus::subjects::DEFAULT_SHARD.to_owned(),
            tokens: Arc::new(tokens),
        }
    }
}

/// Why the service stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The reference data could not be loaded.
    #[error("reference data: {0}")]
    Config(#[from] ConfigError),
    /// The gRPC server failed.
    #[error("grpc: {0}")]
    Grpc(#[from] tonic::transport::Error),
}

/// Runs the intake service on `listener` until `shutdown` resolves, keeping cases in the store
/// reached over `nats`.
pub async fn run(
    config: IntakeConfig,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let reference = Arc::new(ReferenceData::load(&config.config_dir)?);
    tracing::info!(
        config = %config.config_dir.display(),
        grids = reference.grids().count(),
        categories = reference.categories().count(),
        "reference data loaded"
    );
    if config.tokens.is_empty() {
        tracing::warn!("no bearer tokens: every call will be refused");
    }
    let store = StoreClient::new(nats, &config.shard);
    let routes = service::routes(store, reference, Arc::clone(&config.tokens));
    tracing::info!(
        grpc = ?listener.local_addr().ok(),
        shard = %config.shard,
        tokens = config.tokens.len(),
        "intake serving"
    );
    gridcase_grpc::serve_grpc(listener, routes, &[SERVICE_NAME], shutdown).await?;
    tracing::info!("intake stopped");
    Ok(())
}
