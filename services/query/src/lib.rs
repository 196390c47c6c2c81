//! The gridcase query service: read-only projections of every case, kept in the service's own
//! model on disk and followed from the store's global log.
//!
//! A follower reads the log from the model's checkpoint (the history, then live events as they
//! commit) and folds every case stream into a view: the case's state, its reporter's contact
//! (sealed with their key, opened through the key vault only when a reply shows it) and a
//! timeline of its events with stage, actor, time and a one-line summary; with the
//! index entries and counters lists and boards are answered from, and hourly indicator
//! buckets. Other streams are skipped. Each batch is written with the position it reaches, so a
//! restart resumes where the model stands; a model that is new, of an older format or asked to
//! be rebuilt is built from position 0, with progress logged every 10 000 events. Operators,
//! supervisors and administrators read it over the gRPC service `gridcase.query.v1.Query`;
//! every reply carries `caught_up_to`, the log position below which every event is reflected.

/// The service's name: in the ids of the commands it decides, and in its metrics.
pub const SERVICE: &str = "query";

pub mod index;
pub mod model;
pub mod projection;
mod public;
pub mod service;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use gridcase_auth::TokenTable;
use gridcase_eventstore::ReadModelConfig;

use tokio::net::TcpListener;

use gridcase_runtime::Stop;
pub use gridcase_runtime::{ServiceError, StageConfig};
pub use projection::Projections;
pub use public::{board_area, PublicFilters};
pub use service::{QueryApi, SERVICE_NAME};

/// How to run the query service.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// The settings every stage service takes.
    pub stage: StageConfig,
    /// Where and how the model is kept.
    pub model: ReadModelConfig,
}

impl QueryConfig {
    /// Reference data in `config_dir`, callers in `tokens`, shard 0, a temporary model.
    pub fn new(config_dir: impl Into<PathBuf>, tokens: TokenTable) -> Self {
        Self::with_stage(StageConfig::new(config_dir, tokens))
    }

    /// `stage`'s settings with a temporary model (rebuilt at every start).
    pub fn with_stage(stage: StageConfig) -> Self {
        Self {
            stage,
            model: ReadModelConfig::new(None),
        }
    }
}

/// Runs the query service — the log follower and the gRPC API on `listener` — until
/// `shutdown` resolves, reading cases from the store reached over `nats`.
pub async fn run(
    config: QueryConfig,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let stage = &config.stage;
    let reference = stage.load_reference(SERVICE)?;
    let store = stage.store(nats.clone());
    let audit_store = store.clone();
    let readiness =
        gridcase_bus::health::watch_dependencies(store.nats().clone(), Some(store.clone()));
    let projections = Projections::open(&config.model, Arc::clone(&reference))
        .map_err(|e| ServiceError::stopped("the query model", e))?;
    let projections = Arc::new(projections);
    let stop = Stop::new();
    let follower = stop.spawn_essential(
        "the query model",
        projection::follow(
            store.shards().to_vec(),
            Arc::clone(&projections),
            stop.signal(),
        ),
    );
    let vault = gridcase_privacy::Vault::Remote(nats.clone());
    let routes = service::routes(
        projections,
        reference,
        audit_store,
        vault,
        Arc::clone(&stage.tokens),
    );
    tracing::info!(
        grpc = ?listener.local_addr().ok(),
        shards = stage.shards.count(),
        "query serving"
    );
    let grpc = gridcase_grpc::serve_grpc(
        listener,
        routes,
        &[SERVICE_NAME],
        readiness,
        stop.or(shutdown),
    )
    .await;
    // The gRPC server ended (on shutdown or failure): stop the follower too.
    stop.stop();
    let followed = follower
        .await
        .map_err(|e| ServiceError::stopped("the projections", e))?;
    tracing::info!("query stopped");
    grpc?;
    followed.map_err(|e| ServiceError::stopped("the projections", e))
}
