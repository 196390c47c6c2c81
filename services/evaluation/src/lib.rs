//! The gridcase evaluation service: on-site verification, residents' ratings, closing and
//! reopening cases, and indicators per department, over the gRPC service
//! `gridcase.evaluation.v1.Evaluation`.
//!
//! A grid worker reports the on-site check of a resolved case: passed → `CaseVerified`,
//! failed → `VerificationFailed` (rework; the dispatch service sends the new work order). A
//! resident's rating (QR gateway or callback operator) is recorded, then the case is closed if
//! the resident says it is resolved, or reopened (back to triage) if not. Indicators are
//! computed at request time by folding the whole store log (`gridcase_rules::indicators`).

/// The service's name: in the ids of the commands it decides, and in its metrics.
pub const SERVICE: &str = "evaluation";

pub mod service;

use std::future::Future;
use std::sync::Arc;

use gridcase_bus::StoreClient;
use tokio::net::TcpListener;

pub use gridcase_runtime::{ServiceError, StageConfig};
pub use service::{EvaluationApi, SERVICE_NAME};

/// How to run the evaluation service: the settings every stage service takes.
pub type EvaluationConfig = StageConfig;

/// Runs the evaluation gRPC API on `listener` until `shutdown` resolves, keeping cases in the
/// store reached over `nats`.
pub async fn run(
    config: EvaluationConfig,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let reference = config.load_reference(SERVICE)?;
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
