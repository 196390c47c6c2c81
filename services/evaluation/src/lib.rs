//! The gridcase evaluation service: on-site verification, residents' ratings, closing and
//! reopening cases, and indicators per department, over the gRPC service
//! `gridcase.evaluation.v1.Evaluation`.
//!
//! A grid worker reports the on-site check of a resolved case: passed → `CaseVerified`,
//! failed → `VerificationFailed` (rework; the dispatch service sends the new work order). A
//! resident's rating (QR gateway or callback operator) is recorded, then the case is closed if
//! the resident says it is resolved, or reopened (back to triage) if not. Indicators come from
//! the service's own model on disk ([`indicators::IndicatorModel`]: each case's events folded
//! for the indicators and hourly buckets of each department's totals), kept live by following
//! the store's log from the model's checkpoint; a request waits until the model has reached
//! the log's head, and adds up the buckets of the period's hours.

/// The service's name: in the ids of the commands it decides, and in its metrics.
pub const SERVICE: &str = "evaluation";

pub mod indicators;
pub mod people;
pub mod service;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use gridcase_bus::FeedConsumer;
use tokio::net::TcpListener;

use gridcase_auth::TokenTable;
use gridcase_eventstore::ReadModelConfig;

use crate::indicators::IndicatorModel;

use gridcase_runtime::Stop;
pub use gridcase_runtime::{ServiceError, StageConfig};
pub use service::{EvaluationApi, SERVICE_NAME};

/// How to run the evaluation service.
#[derive(Debug, Clone)]
pub struct EvaluationConfig {
    /// The settings every stage service takes.
    pub stage: StageConfig,
    /// Where and how the indicator model is kept.
    pub model: ReadModelConfig,
}

impl EvaluationConfig {
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

/// Runs the evaluation gRPC API on `listener` until `shutdown` resolves, keeping cases in the
/// store reached over `nats`.
pub async fn run(
    config: EvaluationConfig,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let stage = &config.stage;
    let reference = stage.load_reference(SERVICE)?;
    let store = stage.store(nats);
    let readiness =
        gridcase_bus::health::watch_dependencies(store.nats().clone(), Some(store.clone()));
    let indicators = IndicatorModel::open(&config.model)
        .map_err(|e| ServiceError::stopped("the indicator model", e))?;
    let indicators = Arc::new(indicators);
    let stop = Stop::new();
    match indicators.rebuilt() {
        Some(why) => tracing::info!(
            why,
            "the indicator model is built from the start of the log"
        ),
        None => tracing::info!(
            start = indicators.folded(),
            shards = ?indicators.positions(store.shards().len()),
            "the indicator model resumes from its checkpoint"
        ),
    }
    metrics::gauge!("evaluation_model_position").set(indicators.folded() as f64);
    let follower = stop.spawn_essential("the indicator model", {
        let indicators = Arc::clone(&indicators);
        let shards = store.shards().to_vec();
        let stopped = stop.signal();
        async move {
            gridcase_bus::follow::follow_log(
                &shards,
                "the indicators",
                |shard| indicators.position(shard),
                |shard, events| indicators.fold(shard, events),
                || Ok(()),
                stopped,
            )
            .await
        }
    });
    let credits = gridcase_bus::retry::setting_up("the points feed", || {
        FeedConsumer::shared(
            store.nats().clone(),
            people::credit::DURABLE,
            gridcase_bus::subjects::EVENTS_ALL,
            gridcase_bus::feed::ACK_WAIT,
            gridcase_bus::feed::FeedSharing::for_replicas(stage.replicated),
        )
    })
    .await
    .map_err(|e| ServiceError::stopped("the points feed", e))?;
    let crediter = people::credit::Crediter::new(store.clone(), Arc::clone(&reference));
    let crediting = stop.spawn_essential("the points feed", {
        let stopped = stop.signal();
        async move {
            tokio::select! {
                () = stopped => Ok(()),
                outcome = crediter.run(credits) => match outcome {
                    Ok(()) => Err(ServiceError::stopped("the points feed", "closed")),
                    Err(e) => Err(ServiceError::stopped("the points feed", e)),
                },
            }
        }
    });
    let vault = gridcase_privacy::Vault::Remote(store.nats().clone());
    let routes = service::routes(
        store.clone(),
        Arc::clone(&reference),
        Arc::clone(&indicators),
        Arc::clone(&stage.tokens),
    )
    .add_service(people::server(
        store,
        reference,
        indicators,
        vault,
        Arc::clone(&stage.tokens),
    ));
    tracing::info!(
        grpc = ?listener.local_addr().ok(),
        shards = stage.shards.count(),
        "evaluation serving"
    );
    let served = gridcase_grpc::serve_grpc(
        listener,
        routes,
        &[SERVICE_NAME, people::SERVICE_NAME],
        readiness,
        stop.or(shutdown),
    )
    .await;
    stop.stop();
    let followed = follower
        .await
        .map_err(|e| ServiceError::stopped("the indicator model", e))?;
    let credited = crediting
        .await
        .map_err(|e| ServiceError::stopped("the points feed", e))?;
    tracing::info!("evaluation stopped");
    served?;
    credited?;
    followed.map_err(|e| ServiceError::stopped("the indicator model", e))
}
