//! The gridcase triage service (综合研判): decides what every reported case is and who handles
//! it.
//!
//! A durable JetStream consumer of the committed-event feed brings each case that needs triage
//! — newly reported, returned by a department (退单), or reopened. The service loads the case
//! from the store, classifies it (explicit category, else the text model learnt from residents'
//! reports, routing only above a confidence), sets its priority (raised for a danger to people
//! recognised in the words), merges it into an earlier open case it repeats, or routes it
//! (self-handle, department, joint consultation; never back to whoever returned it), and
//! records the decision — with the model version and its confidence — through the case store
//! with a command id derived from the triggering event, so a redelivered message never decides
//! twice. What the rules cannot decide waits in the manual queue that operators work through
//! `gridcase.triage.v1.Triage` over gRPC, with the model's three best suggestions; an emergency
//! among them is flagged (a triage deadline in minutes), put first, and announced to the
//! supervisors on `gridcase.v1.alerts.emergency.<case>`. A cache of every case, folded from
//! the store's log into the service's own model on disk with the position it reflects (a
//! restart resumes from there), serves duplicate detection and the queue from memory: the
//! open cases by category and place, and the cases awaiting triage by grid; closed ones stay
//! on disk only ([`cache`]). A category model written by `gridcase train` is loaded at start
//! and again whenever `gridcase.v1.triage.model` announces a new one.

/// The service's name: in the ids of the commands it decides, and in its metrics.
pub const SERVICE: &str = "triage";

pub mod alert;
pub mod cache;
pub mod classifier;
pub mod decision;
pub mod model;
pub mod service;
pub mod training;
pub mod worker;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gridcase_eventstore::ReadModelConfig;
use gridcase_runtime::Stop;
use tokio::net::TcpListener;

pub use cache::CaseCache;
pub use classifier::{Classifier, ClassifierSlot};
pub use decision::Decision;
pub use gridcase_runtime::{ServiceError, StageConfig};
pub use service::{TriageApi, SERVICE_NAME};

/// How to run the triage service.
#[derive(Debug, Clone)]
pub struct TriageConfig {
    /// The settings every stage service takes.
    pub stage: StageConfig,
    /// How far back a new report may repeat an open case.
    pub duplicate_window: Duration,
    /// The model file `gridcase train` writes; when it exists it is used instead of a model
    /// learnt from the corpus at start.
    pub model_file: Option<std::path::PathBuf>,
    /// The confidence at or above which the model's category routes a case; below it the case
    /// waits for an operator with suggestions.
    pub confidence: f64,
    /// Where and how the case cache's model is kept.
    pub model: ReadModelConfig,
}

impl TriageConfig {
    /// Defaults for reference data in `config_dir` and callers in `tokens`: shard 0, a
    /// `duplicate_window` of [`DEFAULT_DUPLICATE_WINDOW`], a temporary case model.
    pub fn new(
        config_dir: impl Into<std::path::PathBuf>,
        tokens: gridcase_auth::TokenTable,
    ) -> Self {
        Self::with_stage(StageConfig::new(config_dir, tokens))
    }

    /// The defaults for a service started with `stage`; the case model is temporary (rebuilt
    /// at every start).
    pub fn with_stage(stage: StageConfig) -> Self {
        Self {
            stage,
            duplicate_window: DEFAULT_DUPLICATE_WINDOW,
            model_file: None,
            confidence: DEFAULT_CONFIDENCE,
            model: ReadModelConfig::new(None),
        }
    }
}
pub use worker::Worker;

/// The confidence at which the text model routes, by default: chosen by cross-validation on
/// the corpus's training split.
pub const DEFAULT_CONFIDENCE: f64 = gridcase_rules::textmodel::DEFAULT_THRESHOLD;

/// Reads a routing confidence from the command line: a probability, 0 to 1.
pub fn parse_confidence(text: &str) -> Result<f64, String> {
    let value: f64 = text.parse().map_err(|e| format!("{text:?}: {e}"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0 and 1"))
    }
}

/// How far back a new report may repeat an open case, by default.
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Runs the triage service until `shutdown` resolves: the case cache follower, the feed worker
/// and the gRPC API on `listener`, with cases kept in the store reached over `nats`. Stops
/// with the error if the case model cannot be opened or written.
pub async fn run(
    config: TriageConfig,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let refdata = config.stage.load_reference(SERVICE)?;
    let store = config.stage.store(nats.clone());
    let readiness =
        gridcase_bus::health::watch_dependencies(store.nats().clone(), Some(store.clone()));
    let classifier = Arc::new(ClassifierSlot::new(model::initial(&config, &refdata)?));
    let cache = CaseCache::open(&config.model, Arc::clone(&refdata), Arc::clone(&classifier))
        .map_err(|e| ServiceError::stopped("the triage model", e))?;
    let cache = Arc::new(cache);
    let stop = Stop::new();
    let follower = stop.spawn_essential(
        "the triage model",
        cache::follow(store.shards().to_vec(), Arc::clone(&cache), stop.signal()),
    );
    let reloader = tokio::spawn(model::follow_reloads(
        nats.clone(),
        config.clone(),
        Arc::clone(&refdata),
        Arc::clone(&classifier),
        stop.signal(),
    ));
    let worker = Worker::new(
        store.clone(),
        Arc::clone(&refdata),
        Arc::clone(&classifier),
        Arc::clone(&cache),
        config.duplicate_window,
        nats.clone(),
        config.stage.shards.clone(),
    );
    let worker_stop = stop.signal();
    let worker_nats = nats.clone();
    let sharing = gridcase_bus::feed::FeedSharing::for_replicas(config.stage.replicated);
    let worker = tokio::spawn(async move { worker.run(worker_nats, sharing, worker_stop).await });

    let routes = service::routes(
        store,
        refdata,
        Arc::clone(&classifier),
        cache,
        Arc::clone(&config.stage.tokens),
    );
    tracing::info!(
        grpc = ?listener.local_addr().ok(),
        shards = config.stage.shards.count(),
        duplicate_window = ?config.duplicate_window,
        classifier = classifier.current().version(),
        confidence = config.confidence,
        "triage serving"
    );
    let served = gridcase_grpc::serve_grpc(
        listener,
        routes,
        &[SERVICE_NAME],
        readiness,
        stop.or(shutdown),
    )
    .await;
    // The server may also end on its own (an error): stop the background tasks either way.
    stop.stop();
    let followed = follower
        .await
        .map_err(|e| ServiceError::stopped("the case cache", e))?;
    let _ = worker.await;
    let _ = reloader.await;
    // Acknowledgements given so far reach the server before the connection goes.
    if let Err(error) = gridcase_bus::flush(&nats).await {
        tracing::warn!(%error, "flushing to NATS at stop failed");
    }
    served?;
    followed.map_err(|e| ServiceError::stopped("the case cache", e))?;
    tracing::info!("triage stopped");
    Ok(())
}
