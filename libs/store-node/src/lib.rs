//! The gridcase event-store service: the only process that opens sled.
//!
//! - Serves the store's NATS request-reply API (`gridcase.v1.store.<shard>.*`, see
//!   `gridcase_bus::wire`) and announces its head after every group commit.
//! - Relays every committed event, in position order, to the JetStream stream
//!   `GRIDCASE_EVENTS` with `Nats-Msg-Id` = event id, keeping a durable "published up to"
//!   checkpoint: after a crash between commit and publish it resumes from the checkpoint, and
//!   JetStream's duplicate window drops what was already published.
//! - Offers a gRPC admin API (stats, verify) with health and reflection.
//! - Serves the key vault residents' contacts are sealed with (`gridcase_privacy`), from a
//!   directory in the database's, unless it is told not to (a shard other than the first).

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
    /// The key vault's directory; `None` serves no vault.
    pub keys_dir: Option<PathBuf>,
}

impl StoreServiceConfig {
    /// Defaults for a store in `data_dir`: shard 0, relay on.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            keys_dir: Some(default_keys_dir(&data_dir)),
            data_dir,
            shard: gridcase_bus::subjects::DEFAULT_SHARD.to_owned(),
            relay: RelayMode::On,
            relay_window: 512,
            tokens: Arc::default(),
        }
    }
}

/// Where a store in `data_dir` keeps the key vault by default: its directory `keys`.
pub fn default_keys_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("keys")
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
    /// The key vault could not be opened.
    #[error(transparent)]
    Keys(#[from] gridcase_privacy::VaultError),
}

/// How often a store closed after a failed write checks whether its disk takes writes again.
const REOPEN_POLL: std::time::Duration = std::time::Duration::from_secs(1);
/// Bytes written (and synced, then removed) to decide that the disk takes writes again.
const WRITE_PROBE_BYTES: usize = 4 << 20;

/// Runs the store service until `shutdown` resolves: NATS API, relay and gRPC admin on
/// `grpc_listener`.
///
/// When a write to the store's disk fails (a full disk, an I/O error), the store refuses every
/// append from then on. The service then closes it, answers every request with the reason
/// (health says NOT_SERVING), and once a probe file can be written and synced in the data
/// directory, opens the store again — which recovers the log as after a crash — and serves on.
pub async fn run(
    config: StoreServiceConfig,
    nats: async_nats::Client,
    grpc_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let mut store = SledStore::open(SledStoreConfig::new(&config.data_dir))?;
    let head = *gridcase_eventstore::EventStore::watch_head(&store).borrow();
    tracing::info!(data = %config.data_dir.display(), shard = %config.shard, head, "store opened");
    let published = Arc::new(AtomicU64::new(
        store.checkpoint(OUTBOX_CHECKPOINT)?.unwrap_or(0),
    ));

    let vault = match &config.keys_dir {
        Some(dir) => {
            let vault = Arc::new(gridcase_privacy::KeyVault::open(dir)?);
            Some(tokio::spawn(gridcase_privacy::serve(nats.clone(), vault)))
        }
        None => None,
    };
    // Subscribed before the health probe starts, so its first probe finds the store answering.
    let mut subscribed = Some(requests::subscribe(&nats, &config.shard).await?);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (current_tx, current_rx) = tokio::sync::watch::channel(Some(store.clone()));
    let admin = admin::routes(current_rx, published.clone(), Arc::clone(&config.tokens));
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
    tokio::pin!(shutdown);

    let api_result = loop {
        let (ended, api_result) = serve_store(
            &config,
            &nats,
            store,
            subscribed.take(),
            &published,
            &mut shutdown,
            &mut grpc,
        )
        .await;
        let Ended::Failed(refusal) = ended else {
            break api_result;
        };
        current_tx.send_replace(None);
        tracing::error!(
            reason = %refusal,
            "the store refuses writes; it answers every request with the reason until its disk takes writes again"
        );
        let (refuse_stop, refuse_stopped) = tokio::sync::watch::channel(false);
        let refusing = tokio::spawn(requests::refuse(
            nats.clone(),
            config.shard.clone(),
            refusal,
            refuse_stopped,
        ));
        let reopened = loop {
            tokio::select! {
                _ = &mut shutdown => break None,
                _ = tokio::time::sleep(REOPEN_POLL) => {}
            }
            if !disk_takes_writes(&config.data_dir).await {
                continue;
            }
            match SledStore::open(SledStoreConfig::new(&config.data_dir)) {
                Ok(reopened) => break Some(reopened),
                Err(e) => tracing::warn!(error = %e, "reopening the store failed; trying again"),
            }
        };
        let _ = refuse_stop.send(true);
        let _ = refusing.await;
        match reopened {
            Some(reopened) => {
                let head = *gridcase_eventstore::EventStore::watch_head(&reopened).borrow();
                tracing::warn!(head, "the store's disk takes writes again; store reopened");
                published.store(
                    reopened.checkpoint(OUTBOX_CHECKPOINT)?.unwrap_or(0),
                    std::sync::atomic::Ordering::Release,
                );
                current_tx.send_replace(Some(reopened.clone()));
                store = reopened;
            }
            None => break Ok(Ok(())),
        }
    };
    current_tx.send_replace(None);
    if let Some(vault) = vault {
        vault.abort();
    }
    let _ = stop_tx.send(true);
    let grpc_result = grpc.await;
    // A NATS server that is already gone must not hold the shutdown up.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), nats.flush()).await;
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

/// Why [`serve_store`] returned.
enum Ended {
    /// Shutdown was asked for, or the request loop or the gRPC server stopped.
    Stopped,
    /// A write to the disk failed: the store refuses writes, with this reason.
    Failed(String),
}

type TaskResult = Result<Result<(), ServiceError>, tokio::task::JoinError>;

/// Serves `store` (NATS API, head announcements, relay) until shutdown, until the request loop
/// or the gRPC server stops, or until the store refuses writes after a failed one; then stops
/// its tasks and closes it.
async fn serve_store(
    config: &StoreServiceConfig,
    nats: &async_nats::Client,
    store: SledStore,
    subscribed: Option<async_nats::Subscriber>,
    published: &Arc<AtomicU64>,
    shutdown: &mut (impl Future<Output = ()> + Unpin),
    grpc: &mut tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
) -> (Ended, TaskResult) {
    let requests = match subscribed {
        Some(requests) => requests,
        None => match requests::subscribe(nats, &config.shard).await {
            Ok(requests) => requests,
            Err(e) => return (Ended::Stopped, Ok(Err(e))),
        },
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut api = tokio::spawn(requests::serve(
        store.clone(),
        nats.clone(),
        config.shard.clone(),
        requests,
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
    let failed = {
        let store = store.clone();
        async move {
            loop {
                if let Some(refusal) = store.failure() {
                    return refusal;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    };
    // A request loop or gRPC server that fails stops the service at once, not at shutdown.
    let ended = tokio::select! {
        _ = shutdown => {
            tracing::info!("store shutting down");
            Ended::Stopped
        }
        _ = &mut api => {
            tracing::error!("the store's request loop stopped; shutting down");
            Ended::Stopped
        }
        _ = &mut *grpc => {
            tracing::error!("the store's gRPC server stopped; shutting down");
            Ended::Stopped
        }
        refusal = failed => Ended::Failed(refusal),
    };
    let _ = stop_tx.send(true);
    let api_result = api.await;
    let _ = announcer.await;
    let _ = relay.await;
    drop(store);
    (ended, api_result)
}

/// True when a probe file of [`WRITE_PROBE_BYTES`] can be written and synced in `dir`.
async fn disk_takes_writes(dir: &std::path::Path) -> bool {
    let probe = dir.join(".write-probe");
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let written = std::fs::File::create(&probe).and_then(|mut file| {
            file.write_all(&vec![0u8; WRITE_PROBE_BYTES])?;
            file.sync_all()
        });
        let _ = std::fs::remove_file(&probe);
        written.is_ok()
    })
    .await
    .unwrap_or(false)
}
