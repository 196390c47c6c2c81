//! The gridcase evaluation service: on-site verification, residents' ratings, closing and
//! reopening cases, and indicators per department, over the gRPC service
//! `gridcase.evaluation.v1.Evaluation`.
//!
//! A grid worker reports the on-site check of a resolved case: passed → `CaseVerified`,
//! failed → `VerificationFailed` (rework; the dispatch service sends the new work order). A
//! resident's rating (QR gateway or callback operator) is recorded, then the case is closed if
//! the resident says it is resolved, or reopened (back to triage) if not. Indicators are
//! computed at request time by folding the whole store log (see [`indicators`]).

/// The service's name: in the ids of the commands it decides, and in its metrics.
pub const SERVICE: &str = "evaluation";

pub mod service;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use gridcase_auth::TokenTable;
use gridcase_bus::StoreClient;
use gridcase_config::{ConfigError, ReferenceData};
use tokio::net::TcpListener;

pub use service::{EvaluationApi, SERVICE_NAME};

/// How to run the evaluation service.
#[derive(Debug, Clone)]
pub struct EvaluationConfig {
    /// Directory of the reference data (`grid.toml`, `indicators.toml`, …).
    pub config_dir: PathBuf,
    /// The store shard cases are kept in.
    pub shard: String,
    /// Bearer tokens and the callers holding them.
    pub tokens: Arc<TokenTable>,
}

impl EvaluationConfig {
    /// Defaults for reference data in `config_dir` and callers in `tokens`: shard 0.
    pub fn new(config_dir: impl Into<PathBuf>, tokens: TokenTable) -> Self {
        Self {
            tokens: Arc::new(tokens),
            config_dir: config_dir.into(),
            shard: gridcase_bus::subjects::DEFAULT_SHARD.to_owned(),
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

/// Runs the evaluation gRPC API on `listener` until `shutdown` resolves, keeping cases in the
/// store reached over `nats`.
pub async fn run(
    config: EvaluationConfig,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let reference = Arc::new(ReferenceData::load(&config.config_dir)?);
    tracing::info!(
        config = %config.config_dir.display(),
        departments = reference.departments().count(),
        "reference data loaded"
    );
    let store = StoreClient::new(nats, &config.shard);
    let routes = service::routes(store, reference, Arc::clone(&config.tokens));
    tracing::info!(
        grpc = ?listener.local_addr().ok(),
        shard = %config.shard,
        "evaluation serving"
    );
    gridcase_grpc::serve_grpc(listener, routes, &[SERVICE_NAME], shutdown).await?;
    tracing::info!("evaluation stopped");
    Ok(())
}
