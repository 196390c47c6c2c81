//! `gridcase up`: nats-server as a child process and the services in this process, sharing one
//! data directory, until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use gridcase_bus::{NatsServer, StoreClient};
use gridcase_eventstore::EventStore;
use gridcase_intake::IntakeConfig;
use gridcase_server::auth::TokenTable;
use gridcase_store::StoreServiceConfig;

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
        StoreServiceConfig::new(args.data.join("store")),
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

    let intake_listener = tokio::net::TcpListener::bind(args.intake_grpc)
        .await
        .with_context(|| format!("binding the intake gRPC address {}", args.intake_grpc))?;
    let (stop_intake, intake_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut intake = tokio::spawn(gridcase_intake::run(
        IntakeConfig::new(&config, tokens),
        gridcase_bus::connect(&nats_url).await?,
        intake_listener,
        async move {
            let _ = intake_stopped.await;
        },
    ));

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

    tokio::select! {
        _ = gridcase_server::shutdown_signal() => {}
        outcome = &mut intake => {
            let _ = stop.send(());
            store.await??;
            outcome??;
            anyhow::bail!("the intake service stopped");
        }
    }
    println!("stopping");
    let _ = stop_intake.send(());
    intake.await??;
    let _ = stop.send(());
    store.await??;
    drop(nats_server);
    Ok(())
}
