//! The gridcase evaluation service: on-site verification, residents' ratings, closing and
//! reopening cases, and indicators per department, over the gRPC service
//! `gridcase.evaluation.v1.Evaluation`.
//!
//! A grid worker reports the on-site check of a resolved case: passed → `CaseVerified`,
//! failed → `VerificationFailed` (rework; the dispatch service sends the new work order). A
//! resident's rating (QR gateway or callback operator) is recorded, then the case is closed if
//! the resident says it is resolved, or reopened (back to triage) if not. Indicators come from
//! a tally of every case event (`gridcase_rules::indicators`) kept live by following the
//! store's log from position 0; a request waits until the tally has reached the log's head.

/// The service's name: in the ids of the commands it decides, and in its metrics.
pub const SERVICE: &str = "evaluation";

pub mod indicators;
pub mod service;

use std::future::Future;
use std::sync::Arc;

use gridcase_bus::StoreClient;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::indicators::LiveIndicators;

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
    let indicators = Arc::new(LiveIndicators::new());
    let (stop, mut stopped) = watch::channel(false);
    let follower = {
        let indicators = Arc::clone(&indicators);
        let fold = move |events: &[gridcase_eventstore::RecordedEvent]| {
            indicators.fold(events);
            Ok::<(), std::convert::Infallible>(())
        };
        tokio::spawn(gridcase_bus::follow::follow_log(
            store.clone(),
            "the indicators",
            0,
            fold,
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        ))
    };
    let routes = service::routes(store, reference, indicators, Arc::clone(&config.tokens));
    tracing::info!(
        grpc = ?listener.local_addr().ok(),
        shard = %config.shard,
        "evaluation serving"
    );
    let served = gridcase_grpc::serve_grpc(listener, routes, &[SERVICE_NAME], shutdown).await;
    let _ = stop.send(true);
    let _ = follower.await;
    tracing::info!("evaluation stopped");
    Ok(served?)
}
