//! The gridcase triage service (综合研判): decides what every reported case is and who handles
//! it.
//!
//! A durable JetStream consumer of the committed-event feed brings each case that needs triage
//! — newly reported, returned by a department (退单), or reopened. The service loads the case
//! from the store, classifies it (explicit category, else Chinese keywords), sets its
//! priority, merges it into an earlier open case it repeats, or routes it (self-handle,
//! department, joint consultation; never back to whoever returned it), and records the
//! decision through the case store with a command id derived from the triggering event, so a
//! redelivered message never decides twice. What the rules cannot decide waits in the manual
//! queue that operators work through `gridcase.triage.v1.Triage` over gRPC. An in-memory
//! cache of every case, rebuilt from the store's log at start, serves duplicate detection and
//! the queue.

/// The service's name: in the ids of the commands it decides, and in its metrics.
pub const SERVICE: &str = "triage";

pub mod cache;
pub mod decision;
pub mod service;
pub mod worker;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gridcase_bus::StoreClient;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use cache::CaseCache;
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
}

impl TriageConfig {
    /// Defaults for reference data in `config_dir` and callers in `tokens`: shard 0, a
    /// `duplicate_window` of [`DEFAULT_DUPLICATE_WINDOW`].
    pub fn new(
        config_dir: impl Into<std::path::PathBuf>,
        tokens: gridcase_auth::TokenTable,
    ) -> Self {
        Self::with_stage(StageConfig::new(config_dir, tokens))
    }

    /// The defaults for a service started with `stage`.
    pub fn with_stage(stage: StageConfig) -> Self {
        Self {
            stage,
            duplicate_window: DEFAULT_DUPLICATE_WINDOW,
        }
    }
}
pub use worker::Worker;

/// How far back a new report may repeat an open case, by default.
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Runs the triage service until `shutdown` resolves: the case cache follower, the feed worker
/// and the gRPC API on `listener`, with cases kept in the store reached over `nats`.
pub async fn run(
    config: TriageConfig,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let refdata = config.stage.load_reference(SERVICE)?;
    let store = StoreClient::new(nats.clone(), &config.stage.shard);
    let cache = Arc::new(CaseCache::new(Arc::clone(&refdata)));
    let (stop, stopped) = watch::channel(false);
    let stop_signal = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };

    let follower = tokio::spawn(cache::follow(
        store.clone(),
        Arc::clone(&cache),
        stop_signal(),
    ));
    let worker = Worker::new(
        store.clone(),
        Arc::clone(&refdata),
        Arc::clone(&cache),
        config.duplicate_window,
    );
    let worker_stop = stop_signal();
    let worker_nats = nats.clone();
    let worker = tokio::spawn(async move { worker.run(worker_nats, worker_stop).await });

    let routes = service::routes(store, refdata, cache, Arc::clone(&config.stage.tokens));
    tracing::info!(
        grpc = ?listener.local_addr().ok(),
        shard = %config.stage.shard,
        duplicate_window = ?config.duplicate_window,
        "triage serving"
    );
    let stop = Arc::new(stop);
    let stop_on_shutdown = Arc::clone(&stop);
    let served = gridcase_grpc::serve_grpc(listener, routes, &[SERVICE_NAME], async move {
        shutdown.await;
        let _ = stop_on_shutdown.send(true);
    })
    .await;
    // The server may also end on its own (an error): stop the background tasks either way.
    let _ = stop.send(true);
    let _ = follower.await;
    let _ = worker.await;
    // Acknowledgements given so far reach the server before the connection goes.
    if let Err(error) = gridcase_bus::flush(&nats).await {
        tracing::warn!(%error, "flushing to NATS at stop failed");
    }
    served?;
    tracing::info!("triage stopped");
    Ok(())
}
