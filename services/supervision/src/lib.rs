//! The gridcase supervision service: durable SLA timers, warnings, breaches and escalation up
//! the grid hierarchy, urging and postponement decisions.
//!
//! A follower folds the store's global log into a table of case states kept in the service's
//! own read model on disk ([`table`]; nothing per case stays in memory), with the log position
//! it reflects; the deadline timers are derived from those states by
//! `gridcase_rules::deadlines` (accept while dispatched; resolve while dispatched or accepted,
//! moved by approved postponements; close from dispatch through resolution and verification
//! until the case is closed; none while a case is in triage — reported, returned or reopened —
//! or closed, merged or rejected), and the table schedules each case by its next due instant.
//! Each batch of the log is written with the position it reaches, so a restart resumes from
//! that checkpoint; a model that is new, of another format or asked to be rebuilt (`--rebuild`)
//! is built from position 0, and gives the same schedule. Once the table has caught up with the
//! log, a ticker records `DeadlineWarned` at the timer's warning point (`(1 − warn_at)` of
//! the stage's duration before the deadline, on the deadline's clock)
//! and, at the deadline, `DeadlineBreached`, each only if the deadline still runs in the case's
//! freshly read state. A breached open case climbs the escalation ladder (`escalation.toml`)
//! one rung at a time (`CaseEscalated`, to the leader's area at the rung's grid level: the
//! case's own grid leader first, then always higher), each when its `after_breach` has passed
//! since the first breach and the ladder's gap since the rung before was reached
//! (`gridcase_rules::deadlines::next_rung_at`), up to the district; dispatch turns every rung
//! into a notice to that leader. Because the schedule is on disk, timers survive a restart, and those
//! that fell due meanwhile fire at the first tick after catching up; command ids derived from
//! the case, stage, deadline and kind (or the rung) keep every action recorded once. A model
//! that cannot be written stops the service with the error. Supervisors act over the gRPC
//! service `gridcase.supervision.v1.Supervision`.

/// The service's name: in the ids of the commands it decides, and in its metrics.
pub const SERVICE: &str = "supervision";

pub mod care;
pub mod service;
pub mod table;
pub mod ticker;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gridcase_eventstore::ReadModelConfig;
use tokio::net::TcpListener;

use gridcase_runtime::Stop;
pub use gridcase_runtime::{ServiceError, StageConfig};
pub use service::{SupervisionApi, SERVICE_NAME};

/// How to run the supervision service.
#[derive(Debug, Clone)]
pub struct SupervisionConfig {
    /// The settings every stage service takes.
    pub stage: StageConfig,
    /// How often the ticker looks for due timers.
    pub tick: Duration,
    /// Where and how the timer table is kept.
    pub model: ReadModelConfig,
}

impl SupervisionConfig {
    /// Defaults for reference data in `config_dir` and callers in `tokens`: shard 0, a
    /// `tick` of [`DEFAULT_TICK`], a temporary model.
    pub fn new(
        config_dir: impl Into<std::path::PathBuf>,
        tokens: gridcase_auth::TokenTable,
    ) -> Self {
        Self::with_stage(StageConfig::new(config_dir, tokens))
    }

    /// The defaults for a service started with `stage`, with a temporary model (rebuilt at
    /// every start).
    pub fn with_stage(stage: StageConfig) -> Self {
        Self {
            stage,
            tick: DEFAULT_TICK,
            model: ReadModelConfig::new(None),
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
    let store = config.stage.store(nats);
    let readiness =
        gridcase_bus::health::watch_dependencies(store.nats().clone(), Some(store.clone()));
    let table = CaseTable::open(&config.model, Arc::clone(&reference))
        .map_err(|e| ServiceError::stopped("the supervision model", e))?;
    let table = Arc::new(table);
    let stop = Stop::new();
    let follower = stop.spawn_essential(
        "the supervision model",
        table::follow(store.shards().to_vec(), Arc::clone(&table), stop.signal()),
    );
    let ticker = Ticker::new(store.clone(), Arc::clone(&reference), Arc::clone(&table));
    let ticker = tokio::spawn(ticker.run(config.tick, stop.signal()));
    let routes = service::routes(store, reference, Arc::clone(&config.stage.tokens));
    tracing::info!(
        grpc = ?listener.local_addr().ok(),
        shards = config.stage.shards.count(),
        tick = ?config.tick,
        "supervision serving"
    );
    let grpc = gridcase_grpc::serve_grpc(
        listener,
        routes,
        &[SERVICE_NAME],
        readiness,
        stop.or(shutdown),
    )
    .await;
    // The gRPC server ended (on shutdown or failure): stop the follower and the ticker too.
    stop.stop();
    let followed = follower
        .await
        .map_err(|e| ServiceError::stopped("the timer table", e))?;
    let _ = ticker.await;
    tracing::info!("supervision stopped");
    grpc?;
    followed.map_err(|e| ServiceError::stopped("the timer table", e))
}
