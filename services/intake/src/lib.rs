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

pub mod care;
pub mod ids;
pub mod report;
pub mod service;
pub mod tracking;

use std::future::Future;
use std::sync::Arc;

use gridcase_bus::StoreClient;
use tokio::net::TcpListener;

pub use gridcase_runtime::{ServiceError, StageConfig};
pub use report::{InvalidInput, NewReport};
pub use service::{IntakeApi, GET_CASE_STATUS_ROLES, REPORT_CASE_ROLES, SERVICE_NAME};

/// How to run the intake service: the settings every stage service takes.
pub type IntakeConfig = StageConfig;

/// Runs the intake service on `listener` until `shutdown` resolves, keeping cases in the store
/// reached over `nats`.
pub async fn run(
    config: IntakeConfig,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let reference = config.load_reference(SERVICE)?;
    let store = StoreClient::new(nats, &config.shard);
    let readiness =
        gridcase_bus::health::watch_dependencies(store.nats().clone(), Some(store.clone()));
    let vault = gridcase_privacy::Vault::Remote(store.nats().clone());
    let routes = service::routes(store, reference, vault, Arc::clone(&config.tokens));
    tracing::info!(
        grpc = ?listener.local_addr().ok(),
        shard = %config.shard,
        tokens = config.tokens.len(),
        "intake serving"
    );
    gridcase_grpc::serve_grpc(
        listener,
        routes,
        &[SERVICE_NAME, care::CARE_SERVICE_NAME],
        readiness,
        shutdown,
    )
    .await?;
    tracing::info!("intake stopped");
    Ok(())
}
