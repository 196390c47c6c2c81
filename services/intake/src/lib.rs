//! The gridcase intake service: the front door for new cases.
//!
//! Hotline consoles, grid-worker apps and the QR web gateway call `gridcase.intake.v1.Intake`
//! over gRPC. A report is validated field by field and against the reference data (known
//! grids, categories, grid workers), then recorded as a `CaseReported` event through the case
//! store. Retries are safe without a cache: the case id is a stable hash of the caller's
//! `client_request_id`, so a repeat lands on the same stream and gets the same case back. Each
//! case gets a short tracking code, reserved in its own store stream before the report is
//! written, so residents can ask about their case by code. Callers authenticate with a bearer
//! token whose role decides what they may call; the caller (`role:id`) is the actor of the
//! events it causes.

/// The service's name: in the ids of the commands it decides, and in its metrics.
pub const SERVICE: &str = "intake";

pub mod care;
pub mod ids;
pub mod office;
pub mod report;
pub mod service;
pub mod tracking;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use gridcase_runtime::{ServiceError, StageConfig};
pub use report::{InvalidInput, NewReport};
pub use service::{IntakeApi, GET_CASE_STATUS_ROLES, REPORT_CASE_ROLES, SERVICE_NAME};

/// How to run the intake service: the settings every stage service takes.
pub type IntakeConfig = StageConfig;

/// Where an intake runs, beyond the settings every stage service takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntakeOptions {
    /// At a street office (its street code): reports go to the office's own stream on its
    /// leaf node, answered with codes the centre reserved for the office (see [`office`]).
    pub office: Option<String>,
    /// At the centre: the street offices whose reports it records as cases.
    pub office_sources: Vec<String>,
}

/// Runs the intake service on `listener` until `shutdown` resolves, keeping cases in the store
/// reached over `nats`.
pub async fn run(
    config: IntakeConfig,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    run_with(config, IntakeOptions::default(), nats, listener, shutdown).await
}

/// [`run`] at a street office or at a centre that records offices' reports, as `options` say.
/// Every centre intake answers the offices' requests for tracking codes.
pub async fn run_with(
    config: IntakeConfig,
    options: IntakeOptions,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let reference = config.load_reference(SERVICE)?;
    let store = config.store(nats.clone());
    let vault = gridcase_privacy::Vault::Remote(store.nats().clone());
    let mut api = IntakeApi::new(store.clone(), Arc::clone(&reference), vault)
        .with_shards(config.shards.clone());
    let stop = gridcase_runtime::Stop::new();
    let mut tasks = Vec::new();
    // An office takes reports while the centre (its store) is out of reach: its readiness
    // is its own NATS, not the store's.
    let readiness = match &options.office {
        Some(street) => {
            let desk = gridcase_bus::retry::setting_up("the street office's desk", || {
                let shards = config.shards.clone();
                office::desk::Desk::open(nats.clone(), street, Arc::clone(&reference), shards)
            })
            .await
            .map_err(|e| ServiceError::stopped("the street office's desk", e))?;
            let topping = desk.clone();
            let stopped = stop.signal();
            tasks.push(tokio::spawn(async move {
                topping.keep_topped_up(stopped).await;
            }));
            api = api.at_office(desk);
            gridcase_bus::health::watch_dependencies(nats.clone(), None)
        }
        None => {
            tasks.push(tokio::spawn(office::centre::serve_codes(
                nats.clone(),
                api.clone(),
            )));
            if !options.office_sources.is_empty() {
                let (nats, api, streets) =
                    (nats.clone(), api.clone(), options.office_sources.clone());
                let stopped = stop.signal();
                tasks.push(tokio::spawn(async move {
                    office::centre::follow_inbox(nats, api, streets, stopped).await;
                }));
            }
            gridcase_bus::health::watch_dependencies(store.nats().clone(), Some(store.clone()))
        }
    };
    let routes = service::routes_of(api, Arc::clone(&config.tokens));
    tracing::info!(
        grpc = ?listener.local_addr().ok(),
        shards = config.shards.count(),
        tokens = config.tokens.len(),
        office = options.office.as_deref().unwrap_or("-"),
        offices = options.office_sources.len(),
        "intake serving"
    );
    let served = gridcase_grpc::serve_grpc(
        listener,
        routes,
        &[SERVICE_NAME, care::CARE_SERVICE_NAME],
        readiness,
        stop.or(shutdown),
    )
    .await;
    stop.stop();
    for task in tasks {
        task.abort();
    }
    served?;
    tracing::info!("intake stopped");
    Ok(())
}
