//! `gridcase chaos`: the whole system, each service its own process, under a steady load of
//! residents' hotline reports, while service processes are killed with SIGKILL one after
//! another (every service at least twice in 20 rounds, the store among them while it commits
//! groups) and nats-server is restarted twice — or, with `--nats-nodes 3`, NATS runs as a
//! cluster of three nodes with every stream at three replicas and each restart round instead
//! kills one node with SIGKILL, keeps it down while the load goes on, and starts it again. Clients retry a refused report with the same
//! request id, as the hotline's software does. Deadlines run on a compressed clock, so
//! supervision breaches deadlines during the run.
//!
//! Afterwards it reports and checks: acknowledged reports lost (0), cases created twice (0),
//! every dispatch reaching its department's work-order stream exactly once as seen by event id,
//! every breach recorded once, and the query service's projections equal to a fresh rebuild
//! from position 0 at the position they reached. A failed check fails the command.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use gridcase::processes::ProcessOptions;
use gridcase::rng::Rng;
use gridcase::system::{config_dir, Service, System, SystemOptions};
use gridcase_auth::TokenTable;
use gridcase_config::{Corpus, ReferenceData, Split};
use gridcase_domain::CaseId;
use gridcase_eventstore::EventStore;
use gridcase_proto::intake::v1::intake_client::IntakeClient;

mod check;
mod lane;

use check::{compare_projections, report, settle_and_check};
use lane::Lane;

/// Settings of `gridcase chaos`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ChaosArgs {
    /// Kill rounds; each kills one service process with SIGKILL and starts it again. From 16
    /// rounds every service is hit at least twice, from 8 at least once.
    #[arg(long, default_value_t = 20)]
    pub(crate) rounds: usize,
    /// Restarts of nats-server, spread over the rounds; on a cluster, losses of one node
    /// (the nodes in turn).
    #[arg(long, default_value_t = 2)]
    pub(crate) nats_restarts: usize,
    /// nats-server nodes: 1 for a single server; 3 for a cluster whose streams have three
    /// replicas, which the system must ride out the loss of one node of.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=5))]
    pub(crate) nats_nodes: u16,
    /// How long a lost node of a cluster stays down, milliseconds.
    #[arg(long, default_value_t = 4_000)]
    pub(crate) node_down_ms: u64,
    /// Replicas of each stage service (intake, triage, dispatch, supervision, evaluation,
    /// query); a round kills one replica of its service (the replicas in turn) while the
    /// others go on, and the hotline lines move to another intake replica when theirs fails.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=4))]
    pub(crate) replicas: u16,
    /// Time between rounds, milliseconds.
    #[arg(long, default_value_t = 1_500)]
    pub(crate) pause_ms: u64,
    /// Hotline lines reporting at once, each one report after another.
    #[arg(long, default_value_t = 3)]
    pub(crate) lanes: usize,
    /// Seed of the kill order and of the reports.
    #[arg(long, default_value_t = 7)]
    pub(crate) seed: u64,
    /// One hour of SLA lasts this many milliseconds, so deadlines break during the run.
    #[arg(long, default_value_t = 2_000)]
    pub(crate) hour_ms: u64,
    /// How long the system may take to settle after the last round, seconds.
    #[arg(long, default_value_t = 120)]
    pub(crate) settle_s: u64,
    /// The data directory (kept afterwards); a temporary one by default.
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// Directory of the reference data and its corpus; as `gridcase up` finds it by default.
    #[arg(long, env = "GRIDCASE_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// The bearer-token file the services read (mode 0600); `<config>/tokens.toml` by default.
    #[arg(long)]
    pub(crate) tokens: Option<PathBuf>,
    /// The operator token the hotline reports with.
    #[arg(
        long,
        env = "GRIDCASE_CHAOS_TOKEN",
        default_value = "dev-operator-token-op-001"
    )]
    pub(crate) operator_token: String,
}

/// A report acknowledged by intake.
#[derive(Debug, Clone)]
pub(super) struct Acknowledged {
    pub(super) request_id: String,
    pub(super) case: CaseId,
}

/// Runs `gridcase chaos`.
pub(crate) async fn run(args: ChaosArgs) -> anyhow::Result<()> {
    ensure!(args.lanes > 0, "--lanes must be at least 1");
    ensure!(args.hour_ms > 0, "--hour-ms must be at least 1");
    let source = config_dir(args.config.clone());
    let reference = ReferenceData::load(&source)
        .with_context(|| format!("loading the reference data in {}", source.display()))?;
    let corpus = Corpus::load(&source, &reference).context("loading the corpus")?;
    let tokens_file = args
        .tokens
        .clone()
        .unwrap_or_else(|| source.join("tokens.toml"));
    let tokens = TokenTable::load(&tokens_file)
        .with_context(|| format!("loading {}", tokens_file.display()))?;
    let (data, _temporary) = crate::demo::data_dir_or_temporary(args.data.as_ref())?;
    let config = data.join("config");
    crate::demo::clock::write_compressed_config(&source, &reference, &config, args.hour_ms)?;
    // The services run on the compressed policies: the fresh projection compared with theirs
    // must work out its colours (warning points, deadlines) from the same ones.
    let running_reference = ReferenceData::load(&config).with_context(|| {
        format!(
            "loading the compressed reference data in {}",
            config.display()
        )
    })?;
    // Triage learns its category model at start unless the data directory holds one: learnt
    // once here, every triage restart loads it instead of learning again.
    write_category_model(&reference, &corpus, &data)?;
    let options = SystemOptions {
        processes: Some(ProcessOptions::beside_this_executable(tokens_file)?),
        nats_nodes: usize::from(args.nats_nodes),
        replicas: usize::from(args.replicas),
        ..SystemOptions::on_free_ports(data.clone(), config, tokens)
    };
    let nats_faults = if args.nats_nodes > 1 {
        format!(
            "a cluster of {} nats-server nodes, one lost {} times",
            args.nats_nodes, args.nats_restarts
        )
    } else {
        format!("{} nats-server restarts", args.nats_restarts)
    };
    println!(
        "gridcase chaos: {} rounds, {nats_faults}, {} replica(s) of each stage service, {} hotline lines, seed {}, data in {}",
        args.rounds,
        args.replicas,
        args.lanes,
        args.seed,
        data.display()
    );
    let mut system = System::start(options).await?;

    // The load: residents' own words from the training corpus, in the city's grids.
    let texts: Vec<(String, String)> = corpus
        .split(Split::Train)
        .filter_map(|r| Some((r.category.as_ref()?.to_string(), r.text.clone())))
        .collect();
    ensure!(
        !texts.is_empty(),
        "the corpus has no labelled training report"
    );
    let grids: Vec<String> = reference
        .grids()
        .filter(|g| !g.workers.is_empty())
        .map(|g| g.code.to_string())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::<Acknowledged>::new()));
    let retries = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let intakes = (0..system.replicas_of(Service::Intake))
        .map(|replica| {
            Ok(tonic::transport::Endpoint::from_shared(
                system.replica_endpoint(Service::Intake, replica),
            )?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(15)))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let lanes: Vec<_> = (0..args.lanes)
        .map(|lane| {
            // Each lane starts on its own intake replica and moves on when it fails.
            let clients = (0..intakes.len())
                .map(|k| IntakeClient::new(intakes[(lane + k) % intakes.len()].connect_lazy()))
                .collect();
            let lane = Lane {
                clients,
                token: args.operator_token.clone(),
                texts: texts.clone(),
                grids: grids.clone(),
                seed: args.seed,
                stop: stop.clone(),
                acknowledged: acknowledged.clone(),
                retries: retries.clone(),
                next: next.clone(),
            };
            tokio::spawn(lane.run())
        })
        .collect();

    let admin = gridcase::backup::connect_admin(&data, &system.nats_address()).await?;
    let store = gridcase_bus::StoreClient::new(admin, "0");
    first_dispatch(&store).await?;
    println!(
        "  the loop runs: a first case dispatched after {} reports",
        acknowledged.lock().map(|a| a.len()).unwrap_or(0)
    );

    // The kill order: every service as often as the rounds allow, shuffled; a service's
    // replicas in turn.
    let mut rng = Rng::keyed(args.seed, "chaos");
    let mut order: Vec<Service> = Service::ALL
        .iter()
        .copied()
        .cycle()
        .take(args.rounds.min(2 * Service::ALL.len()))
        .collect();
    while order.len() < args.rounds {
        order.push(*rng.pick(&Service::ALL));
    }
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let nats_rounds: BTreeSet<usize> = (1..=args.nats_restarts)
        .map(|k| k * args.rounds.max(1) / (args.nats_restarts + 1))
        .collect();
    let pause = Duration::from_millis(args.pause_ms);
    let started = Instant::now();
    let mut with_a_node_down = 0;
    let mut nats_round = 0;
    let mut kills: HashMap<Service, usize> = HashMap::new();
    for (round, service) in order.iter().enumerate() {
        tokio::time::sleep(pause).await;
        let before = acknowledged.lock().map(|a| a.len()).unwrap_or(0);
        let killed = kills.entry(*service).or_default();
        let replica = *killed % system.replicas_of(*service);
        *killed += 1;
        let name = match replica {
            0 => service.name().to_owned(),
            _ => format!("{}-{}", service.name(), replica + 1),
        };
        let pid = system.kill_replica(*service, replica).await?;
        let killed_at = Instant::now();
        tokio::time::sleep(pause / 3).await;
        system
            .start_replica(*service, replica)
            .await
            .with_context(|| format!("starting {name} again"))?;
        println!(
            "  round {:>2}: killed {name} (pid {pid}) with {before} reports acknowledged; running again after {:.1} s",
            round + 1,
            killed_at.elapsed().as_secs_f64()
        );
        if nats_rounds.contains(&round) {
            tokio::time::sleep(pause).await;
            if system.nats_nodes() > 1 {
                let node = nats_round % system.nats_nodes();
                let count = || acknowledged.lock().map(|a| a.len()).unwrap_or(0);
                let before = count();
                system.kill_nats_node(node);
                tokio::time::sleep(Duration::from_millis(args.node_down_ms)).await;
                let during = count() - before;
                with_a_node_down += during;
                system.start_nats_node(node)?;
                println!(
                    "  round {:>2}: lost nats node {} for {:.1} s; {during} reports acknowledged meanwhile",
                    round + 1,
                    node + 1,
                    args.node_down_ms as f64 / 1000.0
                );
            } else {
                system.stop_nats();
                tokio::time::sleep(pause / 3).await;
                system.start_nats()?;
                println!("  round {:>2}: restarted nats-server", round + 1);
            }
            nats_round += 1;
        }
    }
    tokio::time::sleep(pause).await;
    stop.store(true, Ordering::Relaxed);
    for lane in lanes {
        lane.await.context("a hotline lane panicked")??;
    }
    let acknowledged = std::mem::take(&mut *acknowledged.lock().expect("no lane panicked"));
    println!(
        "  load stopped after {:.0} s: {} reports acknowledged, {} retries",
        started.elapsed().as_secs_f64(),
        acknowledged.len(),
        retries.load(Ordering::Relaxed)
    );

    let findings = settle_and_check(&mut system, &data, &acknowledged, &args).await;
    let query_models: Vec<PathBuf> = (0..system.replicas_of(Service::Query))
        .map(|replica| system.model_dir(Service::Query, replica))
        .collect();
    let stopped = system.shut_down().await;
    let mut findings = findings?;
    stopped?;
    findings.acknowledged = acknowledged.len();
    findings.acknowledged_with_a_node_down = with_a_node_down;
    findings.retries = retries.load(Ordering::Relaxed);
    compare_projections(
        &data,
        &query_models,
        Arc::new(running_reference),
        &acknowledged,
        &mut findings,
    )
    .await?;
    report(&findings)
}

/// Writes the category model triage learns from the corpus into `data`.
fn write_category_model(
    reference: &ReferenceData,
    corpus: &Corpus,
    data: &std::path::Path,
) -> anyhow::Result<()> {
    use gridcase_triage::model::{ModelFile, MODEL_FILE};
    let confidence = gridcase_triage::DEFAULT_CONFIDENCE;
    let trained = gridcase_triage::training::train(reference, corpus, &[], confidence);
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let file = ModelFile {
        version: format!("corpus-{:08x}", trained.digest),
        trained_at_ms: gridcase_runtime::now().as_millis(),
        up_to_position: 0,
        corpus_examples: trained.corpus_examples,
        operator_examples: trained.operator_examples,
        held_out: trained.held_out,
        model: trained.model,
    };
    file.save(&data.join(MODEL_FILE))?;
    Ok(())
}

/// Waits until the log holds a first dispatch: the loop runs end to end.
async fn first_dispatch(store: &gridcase_bus::StoreClient) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut position = 0;
    loop {
        let batch = store.read_all(position, 10_000).await.unwrap_or_default();
        if batch.iter().any(|e| e.event_type == "CaseDispatched") {
            return Ok(());
        }
        if let Some(last) = batch.last() {
            position = last.position + 1;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(180),
            "no case was dispatched within 3 minutes of the load starting"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
