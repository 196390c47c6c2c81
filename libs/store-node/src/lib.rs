//! The gridcase event-store service: the only process that opens sled.
//!
//! - Serves the store's NATS request-reply API (`gridcase.v1.store.<shard>.*`, see
//!   `gridcase_bus::wire`) and announces its head after every group commit.
//! - Relays every committed event, in position order, to the JetStream stream
//!   `GRIDCASE_EVENTS` with `Nats-Msg-Id` = event id, keeping a durable "published up to"
//!   checkpoint: after a crash between commit and publish it resumes from the checkpoint, and
//!   JetStream's duplicate window drops what was already published.
//! - Offers a gRPC admin API (stats, verify) with health and reflection.

mod admin;
mod relay;
mod requests;

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use gridcase_auth::TokenTable;
use gridcase_eventstore::{SledStore, SledStoreConfig, StoreError};
use tokio::net::TcpListener;

pub use relay::{RelayMode, OUTBOX_CHECKPOINT};

/// How to run the store service.
#[derive(Debug, Clone)]
pub struct StoreServiceConfig {
    /// Directory of the sled database.
    pub data_dir: PathBuf,
    /// The shard this store serves.
    pub shard: String,
    /// Whether and how the outbox relay runs.
    pub relay: RelayMode,
    /// Most JetStream publishes the relay keeps waiting for their ack.
    pub relay_window: usize,
    /// Callers of the gRPC admin API (admins and supervisors); none by default.
    pub tokens: Arc<TokenTable>,
}

impl StoreServiceConfig {
    /// Defaults for a store in `data_dir`: shard 0, relay on.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            shard: gridcase_bus::subjects::DEFAULT_SHARD.to_owned(),
            relay: RelayMode::On,
            relay_window: 512,
            tokens: Arc::default(),
        }
    }
}

/// Why the service stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The sled store could not be opened.
    #[error("event store: {0}")]
    Store(#[from] StoreError),
    /// NATS refused a subscription or the JetStream stream.
    #[error("nats: {0}")]
    Nats(String),
    /// The gRPC server failed.
    #[error("grpc: {0}")]
    Grpc(#[from] tonic::transport::Error),
}

/// Runs the store service until `shutdown` resolves: NATS API, relay and gRPC admin on
/// `grpc_listener`.
pub async fn run(
    config: StoreServiceConfig,
    nats: async_nats::Client,
    grpc_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let store = SledStore::open(SledStoreConfig::new(&config.data_dir))?;
    let head = *gridcase_eventstore::EventStore::watch_head(&store).borrow();
    tracing::info!(data = %config.data_dir.display(), shard = %config.shard, head, "store opened");
    let published = Arc::new(AtomicU64::new(
        store.checkpoint(OUTBOX_CHECKPOINT)?.unwrap_or(0),
    ));

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let api = tokio::spawn(requests::serve(
        store.clone(),
        nats.clone(),
        config.shard.clone(),
        stop_rx.clone(),
    ));
    let announcer = tokio::spawn(requests::announce_head(
        store.clone(),
        nats.clone(),
        config.shard.clone(),
        stop_rx.clone(),
    ));
    let relay = tokio::spawn(relay::run(
        store.clone(),
        nats.clone(),
        config.relay,
        config.relay_window,
        published.clone(),
        stop_rx.clone(),
    ));

    let admin = admin::routes(store.clone(), published, Arc::clone(&config.tokens));
    let grpc_addr = grpc_listener.local_addr().ok();
    tracing::info!(grpc = ?grpc_addr, "store admin serving");
    let mut grpc_stop = stop_rx.clone();
    // Serving means answering over NATS: the probe asks this store its head, through NATS.
    let readiness = gridcase_bus::health::watch_dependencies(
        nats.clone(),
        Some(gridcase_bus::StoreClient::new(nats.clone(), &config.shard)),
    );
    let mut grpc = tokio::spawn(gridcase_grpc::serve_grpc(
        grpc_listener,
        admin,
        &[admin::SERVICE_NAME],
        readiness,
        async move {
            let _ = grpc_stop.wait_for(|stop| *stop).await;
        },
    ));

    // A request loop or gRPC server that fails stops the service at once, not at shutdown.
    let mut api = api;
    tokio::select! {
        _ = shutdown => tracing::info!("store shutting down"),
        _ = &mut api => tracing::error!("the store's request loop stopped; shutting down"),
        _ = &mut grpc => tracing::error!("the store's gRPC server stopped; shutting down"),
    }
    let _ = stop_tx.send(true);
    let api_result = api.await;
    let _ = announcer.await;
    let _ = relay.await;
    let grpc_result = grpc.await;
    // A NATS server that is already gone must not hold the shutdown up.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), nats.flush()).await;
    drop(store);
    match api_result {
        Ok(Err(e)) => return Err(e),
        Err(e) => return Err(ServiceError::Nats(format!("request loop panicked: {e}"))),
        Ok(Ok(())) => {}
    }
    match grpc_result {
        Ok(result) => result.map_err(ServiceError::from),
        Err(e) => Err(ServiceError::Nats(format!("grpc task panicked: {e}"))),
    }
}
