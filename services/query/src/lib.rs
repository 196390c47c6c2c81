//! The gridcase query service: read-only projections of every case, rebuilt from the store's
//! global log and kept live.
//!
//! A follower reads the log from position 0 (the history, then live events as they commit)
//! and folds every case stream into a view: the case's state, its reporter's masked phone and
//! a timeline of its events with stage, actor, time and a one-line summary. Other streams are
//! skipped. Because the projections live in memory, a restart rebuilds them from the log, with
//! progress logged every 10 000 events. Operators, supervisors and administrators read them
//! over the gRPC service `gridcase.query.v1.Query`; every reply carries `caught_up_to`, the
//! log position below which every event is reflected.

/// The service's name: in the ids of the commands it decides, and in its metrics.
pub const SERVICE: &str = "query";

pub mod index;
pub mod projection;
mod public;
pub mod service;

use std::future::Future;
use std::sync::Arc;

use gridcase_bus::StoreClient;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use gridcase_runtime::{ServiceError, StageConfig};
pub use projection::Projections;
pub use service::{QueryApi, SERVICE_NAME};

/// How to run the query service: the settings every stage service takes.
pub type QueryConfig = StageConfig;

/// Runs the query service — the log follower and the gRPC API on `listener` — until
/// `shutdown` resolves, reading cases from the store reached over `nats`.
pub async fn run(
    config: QueryConfig,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let reference = config.load_reference(SERVICE)?;
    let store = StoreClient::new(nats, &config.shard);
    let projections = Arc::new(Projections::new(Arc::clone(&reference)));
    let (stop, mut stopped) = watch::channel(false);
    let follower = tokio::spawn(projection::follow(
        store,
        Arc::clone(&projections),
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        },
    ));
    let routes = service::routes(projections, reference, Arc::clone(&config.tokens));
    tracing::info!(
        grpc = ?listener.local_addr().ok(),
        shard = %config.shard,
        "query serving"
    );
    let stop_all = stop.clone();
    let grpc = gridcase_grpc::serve_grpc(listener, routes, &[SERVICE_NAME], async move {
        shutdown.await;
        let _ = stop_all.send(true);
    })
    .await;
    // The gRPC server ended (on shutdown or failure): stop the follower too.
    let _ = stop.send(true);
    let _ = follower.await;
    tracing::info!("query stopped");
    Ok(grpc?)
}
