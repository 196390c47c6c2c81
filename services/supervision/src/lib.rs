//! The gridcase supervision service: durable SLA timers, warnings, breaches and escalation up
//! the grid hierarchy, urging and postponement decisions.
//!
//! A follower folds the store's global log from position 0 into a table of case states; the
//! deadline timers are derived from those states by `gridcase_rules::deadlines` (accept while
//! dispatched; resolve while dispatched or accepted, moved by approved postponements; close
//! from dispatch through resolution and verification until the case is closed; none while a
//! case is in triage — reported, returned or reopened — or closed, merged or rejected), and the
//! table schedules each case by its next due instant. Once it has caught up with the log, a
//! ticker records `DeadlineWarned` at `reported_at + warn_at × (deadline − reported_at)` and,
//! at the deadline, `DeadlineBreached`, each only if the deadline still runs in the case's
//! freshly read state. A breached open case climbs the escalation ladder
//! (`escalation.toml`): one rung (`CaseEscalated`, to the leader's area at the rung's grid
//! level, always higher than the last) per breach, and each rung whose `after_breach` has
//! passed since the first breach, up to the district. Because the table is rebuilt from the
//! log, timers survive a restart, and those that fell due meanwhile fire at the first tick;
//! command ids derived from the case, stage, deadline and kind (or the rung) keep every action
//! recorded once. Supervisors act over the gRPC service `gridcase.supervision.v1.Supervision`.

/// The service's name: in the ids of the commands it decides, and in its metrics.
pub const SERVICE: &str = "supervision";

pub mod service;
pub mod table;
pub mod ticker;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gridcase_bus::StoreClient;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use gridcase_runtime::{ServiceError, StageConfig};
pub use service::{SupervisionApi, SERVICE_NAME};

/// How to run the supervision service.
#[derive(Debug, Clone)]
pub struct SupervisionConfig {
    /// The settings every stage service takes.
    pub stage: StageConfig,
    /// How often the ticker looks for due timers.
    pub tick: Duration,
}

impl SupervisionConfig {
    /// Defaults for reference data in `config_dir` and callers in `tokens`: shard 0, a
    /// `tick` of [`DEFAULT_TICK`].
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
            tick: DEFAULT_TICK,
        }
    }
}
pub use table::CaseTable;
pub use ticker::{Ticker, TIMER_ACTOR};

/// How often the ticker looks for due timers unless configured otherwise.
pub const DEFAULT_TICK: Duration = Duration::from_millis(200);

/// Runs the supervision service — the log follower, the ticker and the gRPC API on
/// `listener` — until `shutdown` resolves, keeping cases in the store reached over `nats`.
pub async fn run(
    config: SupervisionConfig,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let reference = config.stage.load_reference(SERVICE)?;
    let store = StoreClient::new(nats, &config.stage.shard);
    let table = Arc::new(CaseTable::new(Arc::clone(&reference)));
    let (stop, stopped) = watch::channel(false);
    let stopped_signal = |mut receiver: watch::Receiver<bool>| async move {
        let _ = receiver.wait_for(|stop| *stop).await;
    };
    let follower = tokio::spawn(table::follow(
        store.clone(),
        Arc::clone(&table),
        stopped_signal(stopped.clone()),
    ));
    let ticker = Ticker::new(store.clone(), Arc::clone(&reference), Arc::clone(&table));
    let ticker = tokio::spawn(ticker.run(config.tick, stopped_signal(stopped.clone())));
    let routes = service::routes(store, reference, Arc::clone(&config.stage.tokens));
    tracing::info!(
        grpc = ?listener.local_addr().ok(),
        shard = %config.stage.shard,
        tick = ?config.tick,
        "supervision serving"
    );
    let stop_all = stop.clone();
    let grpc = gridcase_grpc::serve_grpc(listener, routes, &[SERVICE_NAME], async move {
        shutdown.await;
        let _ = stop_all.send(true);
    })
    .await;
    // The gRPC server ended (on shutdown or failure): stop the follower and the ticker too.
    let _ = stop.send(true);
    let _ = follower.await;
    let _ = ticker.await;
    tracing::info!("supervision stopped");
    Ok(grpc?)
}
