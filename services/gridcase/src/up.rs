//! `gridcase up`: nats-server as a child process and the services in this process, sharing one
//! data directory, until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use gridcase::processes::ProcessOptions;
use gridcase::system::{config_dir, Addresses, Service, System, SystemOptions};
use gridcase_auth::TokenTable;

/// Where `up` keeps its data and listens.
#[derive(Debug, clap::Args)]
pub(crate) struct UpArgs {
    /// Data directory: `nats/` for JetStream, `store/` for the event log.
    #[arg(long, env = "GRIDCASE_DATA", default_value = "data")]
    data: PathBuf,
    /// Port of the nats-server it starts (of the first node of a cluster; the others listen
    /// on the ports after it).
    #[arg(long, env = "GRIDCASE_NATS_PORT", default_value_t = 4222)]
    nats_port: u16,
    /// Runs nats-server as a cluster of this many nodes on loopback (routes between them,
    /// JetStream on each, every stream at 3 replicas), to try losing a node: the services
    /// connect with every node's URL and ride out the loss of one. 1 runs a single server.
    #[arg(long, env = "GRIDCASE_NATS_CLUSTER", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=5))]
    cluster: u16,
    /// Runs this many replicas of each stage service (intake, triage, dispatch, supervision,
    /// evaluation, query), sharing the event feed by partition; the first on the addresses
    /// above, the others on free ports (printed).
    #[arg(long, env = "GRIDCASE_REPLICAS", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=8))]
    replicas: u16,
    /// Splits the store into this many shards, each a store process of its own with its log
    /// in `<data>/store-<n>` (shard 0's in `<data>/store`); a case is kept in its district's
    /// shard. A city's shard count is set when it first starts: ids made before carry none.
    #[arg(long, env = "GRIDCASE_STORE_SHARDS", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    shards: u16,
    /// Which area's cases each shard keeps, as `<area>=<shard>,…` with districts or streets
    /// (`330102-001=0,330102-002=1`); a grid in no listed area goes by a hash of its
    /// district's code.
    #[arg(long, env = "GRIDCASE_SHARD_AREAS", default_value = "")]
    shard_areas: String,
    /// Lets street offices' NATS leaf nodes connect on this port (as the user `leaf`, its
    /// password in `<data>/nats-logins`); a single nats-server only.
    #[arg(long, env = "GRIDCASE_LEAF_PORT", conflicts_with = "cluster")]
    leaf_port: Option<u16>,
    /// The street offices (street codes, comma-separated) whose reports intake records as
    /// cases: each runs a leaf node and `gridcase-intake --office <street>`.
    #[arg(long, env = "GRIDCASE_OFFICE_SOURCES", value_delimiter = ',')]
    office_sources: Vec<String>,
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
    /// Address of the HTTP gateway (QR pages, Open311, posters, community boards).
    #[arg(long, env = "GRIDCASE_GATEWAY_HTTP", default_value = "127.0.0.1:8080")]
    gateway_http: SocketAddr,
    /// The address residents' phones reach the gateway at (QR codes and links are built on
    /// it); by default the gateway's own address.
    #[arg(long, env = "GRIDCASE_PUBLIC_BASE_URL")]
    public_base_url: Option<String>,
    /// Address of the Prometheus metrics of every service in the process
    /// (`http://<addr>/metrics`, each series labelled with its service).
    #[arg(long, env = "GRIDCASE_METRICS", default_value = gridcase_runtime::DEFAULT_METRICS_ADDR)]
    metrics: SocketAddr,
    /// Directory of the reference data (grid hierarchy, categories, …); by default
    /// `deploy/config` in the current directory, else the one of the source tree it was built
    /// from.
    #[arg(long, env = "GRIDCASE_CONFIG")]
    config: Option<PathBuf>,
    /// The bearer-token file (`[[token]]` entries); by default `tokens.toml` in the reference
    /// data directory. `GRIDCASE_TOKENS` (`token=role:id,…`) adds to it.
    #[arg(long, env = "GRIDCASE_TOKENS_FILE")]
    tokens: Option<PathBuf>,
    /// Runs nats-server without logins, so any local process can read every work order and
    /// the event feed: for development only. By default each service and each department logs
    /// in as its own user, with passwords generated into `<data>/nats-logins`.
    #[arg(long)]
    nats_no_auth: bool,
    /// Runs each service as its own OS process (`gridcase-store`, `gridcase-intake`, … beside
    /// this binary), as a deployment does, logging to `<data>/logs/<service>.log`; by default
    /// every service runs in this process.
    #[arg(long)]
    processes: bool,
}

pub(crate) async fn run(args: UpArgs) -> anyhow::Result<()> {
    let config = config_dir(args.config);
    let tokens_file = args.tokens.unwrap_or_else(|| config.join("tokens.toml"));
    let tokens = TokenTable::load_with_env(&tokens_file).context("loading the bearer tokens")?;
    let token_count = tokens.len();
    let mut addresses = Addresses::standard();
    for (service, addr) in [
        (Service::Store, args.store_grpc),
        (Service::Intake, args.intake_grpc),
        (Service::Triage, args.triage_grpc),
        (Service::Dispatch, args.dispatch_grpc),
        (Service::Supervision, args.supervision_grpc),
        (Service::Evaluation, args.evaluation_grpc),
        (Service::Query, args.query_grpc),
        (Service::Gateway, args.gateway_http),
    ] {
        addresses.set(service, addr);
    }
    // One exporter for the whole process, before anything records. A metrics port that is
    // taken (another system on this machine) costs the metrics, not the system. Service
    // processes serve their own only when given `--metrics`.
    let metrics = if args.processes {
        "off with --processes (each service binary serves its own with --metrics)".to_owned()
    } else {
        match gridcase_runtime::install_metrics(args.metrics) {
            Ok(addr) => format!("http://{addr}/metrics"),
            Err(error) => {
                tracing::warn!(%error, "running without metrics");
                format!("off ({error})")
            }
        }
    };
    let processes = if args.processes {
        Some(ProcessOptions::beside_this_executable(tokens_file.clone())?)
    } else {
        None
    };
    let mut system = System::start(SystemOptions {
        data: args.data.clone(),
        config: config.clone(),
        tokens,
        nats_port: args.nats_port,
        nats_nodes: usize::from(args.cluster),
        replicas: usize::from(args.replicas),
        leaf_port: args.leaf_port,
        office_sources: args.office_sources,
        shards: usize::from(args.shards),
        shard_areas: args.shard_areas,
        addresses,
        public_base_url: args.public_base_url,
        nats_logins: !args.nats_no_auth,
        processes,
    })
    .await?;
    print_banner(&system);
    println!("  metrics         {metrics}");
    println!(
        "  auth            {token_count} bearer tokens from {}{}",
        tokens_file.display(),
        if std::env::var_os(gridcase_auth::TOKENS_ENV).is_some() {
            " and GRIDCASE_TOKENS"
        } else {
            ""
        }
    );
    if system.options().processes.is_some() {
        println!(
            "  processes       each service its own process, logs in {}",
            args.data.join("logs").display()
        );
    }
    println!("press Ctrl-C to stop");

    let failed = tokio::select! {
        _ = gridcase_runtime::shutdown_signal() => None,
        failure = system.stopped_by_itself() => Some(failure),
    };
    println!("stopping");
    let stopped = system.shut_down().await;
    match failed {
        Some(failure) => Err(failure),
        None => stopped,
    }
}

/// Prints where everything listens.
pub(crate) fn print_banner(system: &System) {
    let options = system.options();
    let stats = system.store_stats_at_start();
    println!("gridcase is up (data in {})", options.data.display());
    if system.nats_nodes() > 1 {
        println!(
            "  nats            cluster of {} nodes {}  (JetStream in {}/node-*, streams at {} replicas)",
            system.nats_nodes(),
            system.nats_address(),
            system.nats_dir().display(),
            gridcase_bus::streams::replicas()
        );
    } else {
        println!(
            "  nats            {}  (JetStream in {})",
            system.nats_address(),
            system.nats_dir().display()
        );
    }
    match system.logins() {
        Some(logins) => println!(
            "  nats logins     {}  (admin, a user per service and per department; \
`gridcase nats-login --department <code>` writes a department's file)",
            logins.path().display()
        ),
        None => println!(
            "  nats logins     OFF (--nats-no-auth): any local process can read every work order \
and the event feed; for development only"
        ),
    }
    let notes = [
        (
            Service::Store,
            match system.replicas_of(Service::Store) {
                1 => format!(
                    "nats gridcase.v1.store.0.*  ({} events in {} streams)",
                    stats.events, stats.streams
                ),
                shards => format!(
                    "shard 0 of {shards}, nats gridcase.v1.store.<shard>.*  ({} events in {} streams in all shards)",
                    stats.events, stats.streams
                ),
            },
        ),
        (
            Service::Intake,
            format!("(reference data in {})", options.config.display()),
        ),
        (
            Service::Triage,
            "manual triage queue; the model routes the rest, emergencies on gridcase.v1.alerts.>"
                .to_owned(),
        ),
        (
            Service::Dispatch,
            "work orders on JetStream gridcase.v1.dispatch.<department>".to_owned(),
        ),
        (
            Service::Supervision,
            "deadlines warned, breached and escalated up the grid".to_owned(),
        ),
        (
            Service::Evaluation,
            "on-site checks, ratings, department indicators".to_owned(),
        ),
        (
            Service::Query,
            "case timelines, lists and boards".to_owned(),
        ),
    ];
    for (service, note) in notes {
        println!(
            "  {:<16}grpc://{}  {note}",
            service.name(),
            system.addr(service)
        );
    }
    for service in Service::STAGES {
        let others: Vec<String> = (1..system.replicas_of(service))
            .map(|replica| format!("grpc://{}", system.replica_addr(service, replica)))
            .collect();
        if !others.is_empty() {
            println!(
                "  {:<16}more replicas {}  (the feed shared by partition)",
                service.name(),
                others.join(" ")
            );
        }
    }
    for shard in 1..system.replicas_of(Service::Store) {
        println!(
            "  {:<16}grpc://{}  shard {shard}, log in {}",
            "store",
            system.replica_addr(Service::Store, shard),
            system.store_dir(shard).display()
        );
    }
    if let Some(url) = system.leaf_url() {
        let port = url.rsplit(':').next().unwrap_or_default();
        let offices = &system.options().office_sources;
        println!(
            "  street offices  leaf nodes connect at nats-leaf://127.0.0.1:{port} as `leaf`; reports recorded from {}",
            if offices.is_empty() { "none yet (--office-sources)".to_owned() } else { offices.join(", ") }
        );
    }
    let public = system.public_base_url();
    println!(
        "  {:<16}http://{}  QR pages {public}/q/<grid code>, Open311 {public}/open311/v2/, \
posters {public}/posters/<grid code>.svg, boards {public}/board/<street or community>",
        Service::Gateway.name(),
        system.addr(Service::Gateway)
    );
    println!("  event feed      JetStream stream GRIDCASE_EVENTS, subjects gridcase.v1.events.>");
    if let Some(cert) = std::env::var_os(gridcase_grpc::TLS_CERT_ENV) {
        println!(
            "  tls             every gRPC API over TLS only (certificate {})",
            std::path::Path::new(&cert).display()
        );
    }
}
