//! The gridcase dispatch service: work orders to departments and the API they answer with.
//!
//! A feed worker follows the committed-event feed with the durable consumer `dispatch`. A
//! triaged case is dispatched along its route (`CaseDispatched`, with accept and resolve
//! deadlines from the SLA policy of its priority and category, counted in natural or working
//! hours from the report). Each `CaseDispatched`, and each `VerificationFailed` that sends a
//! case back for rework, becomes a protobuf `WorkOrder` published to the JetStream stream
//! `GRIDCASE_DISPATCH` on `gridcase.v1.dispatch.<department>` (or
//! `gridcase.v1.dispatch.worker.<worker id>` for a self-handled case), where every department
//! has its own durable consumer `dept-<code>`. Departments answer over the gRPC service
//! `gridcase.dispatch.v1.Dispatch`. The feed worker also turns supervision's decisions —
//! urges, postponement decisions, deadline warnings and breaches, escalations — into protobuf
//! `Notice`s ([`notice`]) on the handler's subject and, for an escalation, on the rung's
//! leader's `gridcase.v1.dispatch.leader.<person id>` (durable consumer `leader-<id>`).

/// The service's name: in the ids of the commands it decides, and in its metrics.
pub const SERVICE: &str = "dispatch";

pub mod feed;
pub mod nats_auth;
pub mod notice;
pub mod service;
pub mod workorder;

use std::future::Future;
use std::sync::Arc;

use gridcase_bus::FeedConsumer;
use tokio::net::TcpListener;

pub use feed::{FeedWorker, FEED_CONSUMER};
pub use gridcase_runtime::{ServiceError, StageConfig};
pub use service::{DispatchApi, SERVICE_NAME};

/// How to run the dispatch service: the settings every stage service takes.
pub type DispatchConfig = StageConfig;
pub use workorder::WorkOrderError;

/// Runs the dispatch service — the feed worker and the gRPC API on `listener` — until
/// `shutdown` resolves, keeping cases in the store reached over `nats`.
pub async fn run(
    config: DispatchConfig,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let reference = config.load_reference(SERVICE)?;
    let jetstream = async_nats::jetstream::new(nats.clone());
    gridcase_bus::retry::setting_up("the work-order stream", || {
        workorder::ensure_stream(&jetstream, &reference)
    })
    .await
    .map_err(|e| ServiceError::stopped("work-order stream", e))?;
    let store = config.store(nats.clone());
    let readiness =
        gridcase_bus::health::watch_dependencies(store.nats().clone(), Some(store.clone()));
    let feed = gridcase_bus::retry::setting_up("the event feed", || {
        FeedConsumer::shared(
            nats.clone(),
            FEED_CONSUMER,
            gridcase_bus::subjects::EVENTS_ALL,
            feed::FEED_ACK_WAIT,
            gridcase_bus::feed::FeedSharing::for_replicas(config.replicated),
        )
    })
    .await
    .map_err(|e| ServiceError::stopped("event feed", e))?;
    let vault = gridcase_privacy::Vault::Remote(nats.clone());
    let worker = FeedWorker::new(store.clone(), Arc::clone(&reference), jetstream, vault);
    let routes = service::routes(store, reference, Arc::clone(&config.tokens));
    tracing::info!(
        grpc = ?listener.local_addr().ok(),
        shards = config.shards.count(),
        stream = gridcase_bus::subjects::DISPATCH_STREAM,
        "dispatch serving"
    );
    let (stop_grpc, grpc_stopped) = tokio::sync::oneshot::channel::<()>();
    let grpc =
        gridcase_grpc::serve_grpc(listener, routes, &[SERVICE_NAME], readiness, async move {
            let _ = grpc_stopped.await;
        });
    let feed_side = async move {
        let outcome = tokio::select! {
            () = shutdown => Ok(()),
            result = worker.run(feed) => match result {
                Ok(()) => Err(ServiceError::stopped("event feed", "closed")),
                Err(e) => Err(ServiceError::stopped("event feed", e)),
            },
        };
        // The API stops with the feed worker, letting calls in flight finish.
        let _ = stop_grpc.send(());
        outcome
    };
    tokio::pin!(grpc);
    let outcome = tokio::select! {
        result = &mut grpc => result.map_err(ServiceError::from),
        outcome = feed_side => {
            grpc.await?;
            outcome
        }
    };
    // Acknowledgements and work orders given so far reach the server before the connection goes.
    if let Err(error) = gridcase_bus::flush(&nats).await {
        tracing::warn!(%error, "flushing to NATS at stop failed");
    }
    tracing::info!("dispatch stopped");
    outcome
}
