//! `gridcase up`: nats-server as a child process and the services in this process, sharing one
//! data directory, until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use gridcase_bus::{NatsServer, StoreClient};
use gridcase_dispatch::DispatchConfig;
use gridcase_evaluation::EvaluationConfig;
use gridcase_eventstore::EventStore;
use gridcase_intake::IntakeConfig;
use gridcase_query::QueryConfig;
use gridcase_server::auth::TokenTable;
use gridcase_store::StoreServiceConfig;
use gridcase_supervision::SupervisionConfig;
use gridcase_triage::TriageConfig;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A stage service running in this process.
struct Running {
    name: &'static str,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

/// Binds `addr` and runs a service on it with a stop signal of its own.
async fn start<F, Fut, E>(name: &'static str, addr: SocketAddr, run: F) -> anyhow::Result<Running>
where
    F: FnOnce(tokio::net::TcpListener, oneshot::Receiver<()>) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: Into<anyhow::Error>,
{
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {name} gRPC address {addr}"))?;
    let (stop, stopped) = oneshot::channel();
    let service = run(listener, stopped);
    let task = tokio::spawn(async move { service.await.map_err(Into::into) });
    Ok(Running { name, stop, task })
}

/// Where `up` keeps its data and listens.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Data directory: `nats/` for JetStream, `store/` for the event log.
    #[arg(long, env = "GRIDCASE_DATA", default_value = "data")]
    data: PathBuf,
    /// Port of the nats-server it starts.
    #[arg(long, env = "GRIDCASE_NATS_PORT", default_value_t = 4222)]
    nats_port: u16,
    /// Address of the store's gRPC admin API.
    #[arg(long, env = "GRIDCASE_STORE_GRPC", default_value = "127.0.0.1:7101")]
    store_grpc: SocketAddr,
    /// Address of the intake gRPC API.
    #[arg(long, env = "GRIDCASE_INTAKE_GRPC", default_value = "127.0.0.1:7102")]
    intake_grpc: SocketAddr,
    /// Address of the triage gRPC API (the manual triage queue).
    #[arg(long, env = "GRIDCASE_TRIAGE_GRPC", default_value = "127.0.0.1:7103")]
    triage_grpc: SocketAddr,
    /// Address of the dispatch gRPC API (departments answer work orders here).
    #[arg(long, env = "GRIDCASE_DISPATCH_GRPC", default_value = "127.0.0.1:7104")]
    dispatch_grpc: SocketAddr,
    /// Address of the supervision gRPC API (urging, postponements, case colours).
    #[arg(
        long,
        env = "GRIDCASE_SUPERVISION_GRPC",
        default_value = "127.0.0.1:7105"
    )]
    supervision_grpc: SocketAddr,
    /// Address of the evaluation gRPC API (verification, ratings, indicators).
    #[arg(
        long,
        env = "GRIDCASE_EVALUATION_GRPC",
        default_value = "127.0.0.1:7106"
    )]
    evaluation_grpc: SocketAddr,
    /// Address of the query gRPC API (case timelines, lists, boards).
    #[arg(long, env = "GRIDCASE_QUERY_GRPC", default_value = "127.0.0.1:7107")]
    query_grpc: SocketAddr,
    /// Directory of the reference data (grid hierarchy, categories, …); by default
    /// `deploy/config` in the current directory, else the one of the source tree it was built
    /// from.
    #[arg(long, env = "GRIDCASE_CONFIG")]
    config: Option<PathBuf>,
    /// The bearer-token file (`[[token]]` entries); by default `tokens.toml` in the reference
    /// data directory. `GRIDCASE_TOKENS` (`token=role:id,…`) adds to it.
    #[arg(long, env = "GRIDCASE_TOKENS_FILE")]
    tokens: Option<PathBuf>,
}

/// The reference data directory: the one given, else `deploy/config` here or in the source tree.
fn config_dir(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        let here = PathBuf::from("deploy/config");
        let built_from = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/config"));
        if !here.is_dir() && built_from.is_dir() {
            built_from
        } else {
            here
        }
    })
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    // Refuse bad reference data before starting anything, rather than after "is up".
    let config = config_dir(args.config);
    gridcase_config::ReferenceData::load(&config)
        .with_context(|| format!("loading the reference data in {}", config.display()))?;
    let tokens_file = args.tokens.unwrap_or_else(|| config.join("tokens.toml"));
    let tokens = TokenTable::load_with_env(&tokens_file).context("loading the bearer tokens")?;
    let token_count = tokens.len();
    let nats_dir = args.data.join("nats");
    std::fs::create_dir_all(&nats_dir)
        .with_context(|| format!("creating {}", nats_dir.display()))?;
    let nats_server = tokio::task::block_in_place(|| NatsServer::start(&nats_dir, args.nats_port))?;
    let nats_url = nats_server.url();

    let listener = tokio::net::TcpListener::bind(args.store_grpc)
        .await
        .with_context(|| format!("binding the store's gRPC address {}", args.store_grpc))?;
    let nats = gridcase_bus::connect(&nats_url).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let store = tokio::spawn(gridcase_store::run(
        StoreServiceConfig {
            tokens: std::sync::Arc::new(tokens.clone()),
            ..StoreServiceConfig::new(args.data.join("store"))
        },
        nats,
        listener,
        async move {
            let _ = stopped.await;
        },
    ));

    let client = StoreClient::new(gridcase_bus::connect(&nats_url).await?, "0");
    let stats = loop {
        match client.stats().await {
            Ok(stats) => break stats,
            Err(_) if !store.is_finished() => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            Err(e) => {
                let outcome = store.await;
                anyhow::bail!("the store did not start: {e} ({outcome:?})");
            }
        }
    };

    let mut services = Vec::new();
    let nats = gridcase_bus::connect(&nats_url).await?;
    let intake_config = IntakeConfig::new(&config, tokens.clone());
    services.push(
        start("intake", args.intake_grpc, |listener, stopped| {
            gridcase_intake::run(intake_config, nats, listener, async move {
                let _ = stopped.await;
            })
        })
        .await?,
    );
    let nats = gridcase_bus::connect(&nats_url).await?;
    let triage_config = TriageConfig::new(&config, tokens.clone());
    services.push(
        start("triage", args.triage_grpc, |listener, stopped| {
            gridcase_triage::run(triage_config, nats, listener, async move {
                let _ = stopped.await;
            })
        })
        .await?,
    );

    let nats = gridcase_bus::connect(&nats_url).await?;
    let dispatch_config = DispatchConfig::new(&config, tokens.clone());
    services.push(
        start("dispatch", args.dispatch_grpc, |listener, stopped| {
            gridcase_dispatch::run(dispatch_config, nats, listener, async move {
                let _ = stopped.await;
            })
        })
        .await?,
    );

    let nats = gridcase_bus::connect(&nats_url).await?;
    let supervision_config = SupervisionConfig::new(&config, tokens.clone());
    services.push(
        start("supervision", args.supervision_grpc, |listener, stopped| {
            gridcase_supervision::run(supervision_config, nats, listener, async move {
                let _ = stopped.await;
            })
        })
        .await?,
    );

    let nats = gridcase_bus::connect(&nats_url).await?;
    let evaluation_config = EvaluationConfig::new(&config, tokens.clone());
    services.push(
        start("evaluation", args.evaluation_grpc, |listener, stopped| {
            gridcase_evaluation::run(evaluation_config, nats, listener, async move {
                let _ = stopped.await;
            })
        })
        .await?,
    );

    let nats = gridcase_bus::connect(&nats_url).await?;
    let query_config = QueryConfig::new(&config, tokens);
    services.push(
        start("query", args.query_grpc, |listener, stopped| {
            gridcase_query::run(query_config, nats, listener, async move {
                let _ = stopped.await;
            })
        })
        .await?,
    );

    println!("gridcase is up (data in {})", args.data.display());
    println!(
        "  nats            {nats_url}  (JetStream in {})",
        nats_dir.display()
    );
    println!(
        "  store           grpc://{}  nats gridcase.v1.store.0.*  ({} events in {} streams)",
        args.store_grpc, stats.events, stats.streams
    );
    println!(
        "  intake          grpc://{}  (reference data in {})",
        args.intake_grpc,
        config.display()
    );
    println!(
        "  triage          grpc://{}  (manual triage queue; rules decide the rest)",
        args.triage_grpc
    );
    println!(
        "  dispatch        grpc://{}  work orders on JetStream gridcase.v1.dispatch.<department>",
        args.dispatch_grpc
    );
    println!(
        "  supervision     grpc://{}  deadlines warned, breached and escalated up the grid",
        args.supervision_grpc
    );
    println!(
        "  evaluation      grpc://{}  on-site checks, ratings, department indicators",
        args.evaluation_grpc
    );
    println!(
        "  query           grpc://{}  case timelines, lists and boards",
        args.query_grpc
    );
    println!(
        "  auth            {token_count} bearer tokens from {}{}",
        tokens_file.display(),
        if std::env::var_os(gridcase_server::auth::TOKENS_ENV).is_some() {
            " and GRIDCASE_TOKENS"
        } else {
            ""
        }
    );
    println!("  event feed      JetStream stream GRIDCASE_EVENTS, subjects gridcase.v1.events.>");
    println!("press Ctrl-C to stop");

    let stopped_early = tokio::select! {
        _ = gridcase_server::shutdown_signal() => None,
        (outcome, index, _) = futures::future::select_all(
            services.iter_mut().map(|service| &mut service.task),
        ) => Some((services[index].name, outcome)),
    };
    println!("stopping");
    let mut failure = None;
    for service in services {
        let _ = service.stop.send(());
        if !service.task.is_finished() || stopped_early.is_none() {
            if let Ok(Err(e)) = service.task.await {
                failure.get_or_insert(e.context(format!("the {} service failed", service.name)));
            }
        }
    }
    let _ = stop.send(());
    store.await??;
    drop(nats_server);
    if let Some((name, outcome)) = stopped_early {
        return Err(match outcome {
            Ok(Ok(())) => anyhow::anyhow!("the {name} service stopped"),
            Ok(Err(e)) => e.context(format!("the {name} service failed")),
            Err(e) => anyhow::anyhow!("the {name} service panicked: {e}"),
        });
    }
    failure.map_or(Ok(()), Err)
}
