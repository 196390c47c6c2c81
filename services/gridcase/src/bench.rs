//! `gridcase bench store`: durable appends and read-all through the store service over NATS,
//! against a real nats-server and a real sled store in a temp dir.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::Context;
use gridcase::table::{Align, Columns, Table};

use crate::bench_postgres;
use gridcase_auth::{BearerToken, Secret, TokenTable, TOKENS_ENV};
use gridcase_bus::{NatsServer, StoreClient};
use gridcase_eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent};
use gridcase_proto::store::v1::store_admin_client::StoreAdminClient;
use gridcase_proto::store::v1::StatsRequest;
use gridcase_store_node::StoreServiceConfig;
use hdrhistogram::Histogram;

/// The token the benchmark reads the store's figures with (a throwaway admin of its own store).
const BENCH_TOKEN: &str = "benchmark-admin-token-0001";

fn bench_caller() -> String {
    format!("{BENCH_TOKEN}=admin:bench")
}

/// The benchmarks.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Which {
    /// Durable appends/s and latency at several writer counts, then read-all events/s.
    Store(StoreBench),
    /// Cases/s from ReportCase to the work order on the department's subject, and latency,
    /// through the whole system, at rising offered rates.
    Pipeline(crate::bench_pipeline::PipelineBench),
    /// Supervisors' reads, intake's rate, memory and a restart with many cases in the system.
    Scale(crate::bench_scale::ScaleBench),
    /// The HTTP gateway with a city of cases behind it: QR form posts end to end at an offered
    /// rate, and Open311 request lists.
    Gateway(crate::bench_gateway::GatewayBench),
    /// The text classifier: loading jieba, learning from the corpus, and the time to predict
    /// one report's category (mean, p50, p99).
    Classify(ClassifyBench),
}

/// Settings of the classifier benchmark.
#[derive(Debug, clap::Args)]
pub(crate) struct ClassifyBench {
    /// Directory of the reference data and its `corpus/`; by default `deploy/config` here,
    /// else the sample city of the source tree.
    #[arg(long, env = "GRIDCASE_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Passes of predictions over all the corpus's reports.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
}

/// Settings of the store benchmark.
#[derive(Debug, clap::Args)]
pub(crate) struct StoreBench {
    /// Concurrent writers per level, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,128")]
    writers: Vec<usize>,
    /// Seconds each level runs.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Payload bytes of each event (one event per append).
    #[arg(long, default_value_t = 300)]
    event_bytes: usize,
    /// NATS connections (store clients) the writers share, as one service process would.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Read-all requests kept in flight.
    #[arg(long, default_value_t = 4)]
    read_window: usize,
    /// Also measure the sled store in this process without NATS, to show where the time goes.
    #[arg(long)]
    direct: bool,
    /// Run the store as its own process (the `gridcase-store` binary beside this one), as in
    /// production, instead of inside the benchmark's process.
    #[arg(long)]
    store_process: bool,
    /// Run the outbox relay during the benchmark, as in production; `off` shows its cost and
    /// needs a build with `--features fault-injection`.
    #[arg(long, default_value = "on")]
    relay: gridcase_store_node::RelayMode,
    /// Also run every level against PostgreSQL as an event store (one INSERT per append in
    /// its own transaction, synchronous commit) at this URL, e.g.
    /// `postgres://bench:bench@127.0.0.1/bench`, and print both side by side. The benchmark
    /// creates a table of its own and drops it at the end.
    #[arg(long, value_name = "URL")]
    compare_postgres: Option<String>,
    /// Most PostgreSQL connections the writers share (one per writer up to this many); keep
    /// it under the server's `max_connections`.
    #[arg(long, default_value_t = 64)]
    postgres_connections: usize,
}

pub(crate) async fn run(which: Which) -> anyhow::Result<()> {
    match which {
        Which::Store(args) => store(args).await,
        Which::Pipeline(args) => crate::bench_pipeline::run(args).await,
        Which::Gateway(args) => crate::bench_gateway::run(args).await,
        Which::Scale(args) => crate::bench_scale::run(args).await,
        Which::Classify(args) => tokio::task::block_in_place(|| classify(&args)),
    }
}

/// Times loading jieba, training (plain and calibrated, as in production) and `predict` on
/// every report of the corpus, `rounds` times over.
fn classify(args: &ClassifyBench) -> anyhow::Result<()> {
    use gridcase_config::{Corpus, ReferenceData, Split};
    use gridcase_rules::textmodel::{self, Label, Settings, TextModel, DEFAULT_FOLDS};

    let dir = gridcase::system::config_dir(args.config.clone());
    let reference = ReferenceData::load(&dir)
        .with_context(|| format!("loading the reference data in {}", dir.display()))?;
    let corpus = Corpus::load(&dir, &reference).context("loading the corpus")?;
    let started = Instant::now();
    textmodel::load_segmenter();
    let jieba = started.elapsed();
    let train: Vec<(Label, &str)> = corpus
        .split(Split::Train)
        .map(|report| (report.category, report.text.as_str()))
        .collect();
    let catalogue = textmodel::catalogue_examples(&reference);
    let catalogue: Vec<(Label, &str)> = catalogue
        .iter()
        .map(|(label, text)| (*label, text.as_str()))
        .collect();
    let settings = Settings::default();
    let started = Instant::now();
    let plain = TextModel::train_with(&settings, train.iter().chain(&catalogue).copied());
    let training = started.elapsed();
    let started = Instant::now();
    let model = TextModel::from_corpus(&reference, &corpus);
    let calibrated = started.elapsed();
    drop(plain);
    // Every report of the corpus, both splits: only timed here, nothing is learnt from them.
    let reports: Vec<&str> = [Split::Train, Split::HeldOut]
        .into_iter()
        .flat_map(|split| corpus.split(split))
        .map(|report| report.text.as_str())
        .collect();
    anyhow::ensure!(!reports.is_empty(), "the corpus has no reports");
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
        .expect("valid bounds and significant figures");
    let mut routed = 0_usize;
    let started = Instant::now();
    for _ in 0..args.rounds.max(1) {
        for text in &reports {
            let one = Instant::now();
            let prediction = model.predict(text);
            latencies
                .saturating_record(u64::try_from(one.elapsed().as_nanos()).unwrap_or(u64::MAX));
            routed += usize::from(prediction.is_some());
        }
    }
    let total = started.elapsed();
    let us = |nanos: u64| nanos as f64 / 1_000.0;
    println!("classifier: {}", model.describe());
    println!(
        "jieba dictionary loaded in {:.1} ms",
        jieba.as_secs_f64() * 1e3
    );
    println!(
        "training on {} reports: {:.0} ms; calibrated as in production ({DEFAULT_FOLDS}-fold): \
         {:.0} ms",
        model.documents(),
        training.as_secs_f64() * 1e3,
        calibrated.as_secs_f64() * 1e3
    );
    println!(
        "predict: {} predictions of {} reports in {:.2} s, {:.0} reports/s on one thread; per \
         report: mean {:.1} µs, p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        routed,
        reports.len(),
        total.as_secs_f64(),
        routed as f64 / total.as_secs_f64(),
        latencies.mean() / 1_000.0,
        us(latencies.value_at_quantile(0.5)),
        us(latencies.value_at_quantile(0.99)),
        us(latencies.max())
    );
    Ok(())
}

/// What one level of appends measured.
pub(crate) struct Level {
    pub(crate) writers: usize,
    pub(crate) elapsed: Duration,
    /// Microseconds each append took.
    pub(crate) latencies: Histogram<u64>,
    pub(crate) flushes: u64,
}

impl Level {
    fn appends_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// The longest latency a histogram tells apart, in microseconds: an hour.
const LONGEST_US: u64 = 3_600_000_000;

/// An empty record of latencies in microseconds, to three significant figures.
/// The writers' latencies added up, once every writer is done.
pub(crate) async fn gather(
    writers: Vec<tokio::task::JoinHandle<anyhow::Result<Histogram<u64>>>>,
) -> anyhow::Result<Histogram<u64>> {
    let mut all = histogram();
    for writer in writers {
        all.add(writer.await??)
            .context("adding up the writers' latencies")?;
    }
    Ok(all)
}

pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LONGEST_US, 3).expect("valid bounds and significant figures")
}

/// Records `elapsed` in `latencies` in microseconds (an hour, if longer).
pub(crate) fn record(latencies: &mut Histogram<u64>, elapsed: Duration) {
    latencies.saturating_record(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
}

/// The `quantile` (0 to 1) of microseconds recorded in `latencies`, in milliseconds; 0 when
/// nothing was recorded.
pub(crate) fn ms_at(latencies: &Histogram<u64>, quantile: f64) -> f64 {
    latencies.value_at_quantile(quantile) as f64 / 1_000.0
}

/// The columns of a level's figures, printed as each level ends.
fn level_columns() -> Columns {
    Columns::new(&[
        ("writers", 7, Align::Right),
        ("appends", 8, Align::Right),
        ("appends/s", 10, Align::Right),
        ("p50 ms", 7, Align::Right),
        ("p99 ms", 7, Align::Right),
        ("max ms", 7, Align::Right),
        ("appends/flush", 0, Align::Right),
    ])
}

async fn store(args: StoreBench) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let nats_server =
        tokio::task::block_in_place(|| NatsServer::start(&dir.path().join("nats"), 0))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let grpc = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = StoreServiceConfig {
        relay: args.relay,
        tokens: std::sync::Arc::new(TokenTable::from_env_value(&bench_caller())?),
        ..StoreServiceConfig::new(dir.path().join("store"))
    };
    let mut store_process = None;
    let service = if args.store_process {
        drop(listener);
        store_process = Some(spawn_store_process(&config, &nats_server.url(), grpc)?);
        tokio::spawn(async move {
            let _ = stopped.await;
            Ok(())
        })
    } else {
        let nats = gridcase_bus::connect(&nats_server.url()).await?;
        tokio::spawn(gridcase_store_node::run(
            config,
            nats,
            listener,
            async move {
                let _ = stopped.await;
            },
        ))
    };
    let mut clients = Vec::new();
    for _ in 0..args.connections.max(1) {
        clients.push(StoreClient::new(
            gridcase_bus::connect(&nats_server.url()).await?,
            "0",
        ));
    }
    while clients[0].head().await.is_err() {
        anyhow::ensure!(!service.is_finished(), "the store service stopped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc}"))?
        .connect()
        .await?;
    let mut admin =
        StoreAdminClient::with_interceptor(channel, BearerToken::new(&Secret::new(BENCH_TOKEN))?);

    println!(
        "store benchmark: {} cores, one {}-byte event per append, {} s per level, through the store service over NATS",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.event_bytes,
        args.seconds
    );
    let round_trip = round_trip(&clients[0]).await?;
    println!(
        "a request to the store over NATS and back, no store work (head): p50 {:.3} ms, p99 {:.3} ms",
        ms_at(&round_trip, 0.50),
        ms_at(&round_trip, 0.99)
    );
    let postgres = match &args.compare_postgres {
        Some(url) => {
            let pool = args
                .postgres_connections
                .min(args.writers.iter().copied().max().unwrap_or(1));
            let postgres = bench_postgres::PostgresEventStore::open(url, pool).await?;
            println!(
                "PostgreSQL: {pool} connections, one INSERT per append in its own transaction, synchronous_commit on; each level runs right after the store's"
            );
            Some(std::sync::Arc::new(postgres))
        }
        None => None,
    };
    let columns = level_columns();
    print!("{}", columns.header());
    let mut next_id = 0u128;
    let mut side_by_side = Vec::new();
    let levels = async {
        for (level_index, &writers) in args.writers.iter().enumerate() {
            let flushes_before = admin.stats(StatsRequest {}).await?.into_inner().flushes;
            let level = run_level(&clients, writers, &args, level_index, &mut next_id).await?;
            let flushes = admin.stats(StatsRequest {}).await?.into_inner().flushes - flushes_before;
            let level = Level { flushes, ..level };
            print_level(&columns, &level);
            if let Some(postgres) = &postgres {
                let compared = postgres
                    .run_level(writers, args.seconds, args.event_bytes, level_index)
                    .await
                    .context("the PostgreSQL level")?;
                side_by_side.push((level, compared));
            }
        }
        anyhow::Ok(())
    }
    .await;
    // The table goes whether or not the levels went through.
    if let Some(postgres) = &postgres {
        postgres.drop_table().await;
    }
    levels?;
    if postgres.is_some() {
        print_side_by_side(&side_by_side);
    }

    if args.direct {
        let store = gridcase_eventstore::SledStore::open_path(dir.path().join("direct"))?;
        println!("the same, directly on a sled store in this process (no NATS, no relay):");
        for (level_index, &writers) in args.writers.iter().enumerate() {
            let flushes_before = store.flush_count();
            let flush_time_before = store.flush_time();
            let stores = std::slice::from_ref(&store);
            let level =
                run_level(stores, writers, &args, 1_000 + level_index, &mut next_id).await?;
            let level = Level {
                flushes: store.flush_count() - flushes_before,
                ..level
            };
            print_level(&columns, &level);
            println!(
                "    sled flush: mean {:.3} ms",
                (store.flush_time() - flush_time_before).as_secs_f64() * 1e3
                    / level.flushes.max(1) as f64
            );
        }
    }

    // Let the relay finish publishing the backlog so the read is measured on its own.
    let head = clients[0].head().await?;
    let catch_up = Instant::now();
    while args.relay == gridcase_store_node::RelayMode::On
        && admin
            .stats(StatsRequest {})
            .await?
            .into_inner()
            .published_up_to
            < head
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "relay: published the backlog {:.1} s after the last append",
        catch_up.elapsed().as_secs_f64()
    );
    let mut rates = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let read = read_all(&clients[0], head, args.read_window.max(1)).await?;
        anyhow::ensure!(read == head, "read {read} events of {head}");
        rates.push(read as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "read-all: {head} events, median of 5 passes {:.0} events/s (min {:.0}, max {:.0}; {} requests in flight, events decoded)",
        rates[2],
        rates[0],
        rates[4],
        args.read_window.max(1)
    );
    let stats = admin.stats(StatsRequest {}).await?.into_inner();
    println!(
        "store: {} events, {} streams, {:.1} MiB on disk; relay published up to {}",
        stats.events,
        stats.streams,
        stats.disk_bytes as f64 / 1_048_576.0,
        stats.published_up_to
    );

    let _ = stop.send(());
    service.await?.context("the store service")?;
    if let Some(mut process) = store_process {
        let _ = process.kill();
        let _ = process.wait();
    }
    drop(nats_server);
    Ok(())
}

fn spawn_store_process(
    config: &StoreServiceConfig,
    nats_url: &str,
    grpc: std::net::SocketAddr,
) -> anyhow::Result<std::process::Child> {
    let binary = std::env::current_exe()?.with_file_name("gridcase-store");
    anyhow::ensure!(
        binary.is_file(),
        "{} not found: build it with `cargo build --release -p gridcase-store`",
        binary.display()
    );
    let relay = config.relay.as_str();
    std::process::Command::new(&binary)
        .arg("--data")
        .arg(&config.data_dir)
        .args([
            "--nats",
            nats_url,
            "--grpc",
            &grpc.to_string(),
            "--relay",
            relay,
        ])
        .arg("--tokens")
        .arg(config.data_dir.with_file_name("no-token-file.toml"))
        .env(TOKENS_ENV, bench_caller())
        .env("RUST_LOG", "warn")
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))
}

/// Head requests one at a time for a second: the round trip through NATS to the store and
/// back with next to no work in the store, the floor under an append's latency.
async fn round_trip(client: &StoreClient) -> anyhow::Result<Histogram<u64>> {
    let mut latencies = histogram();
    let until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < until {
        let sent = Instant::now();
        client.head().await?;
        record(&mut latencies, sent.elapsed());
    }
    Ok(latencies)
}

/// The store's levels beside PostgreSQL's, and the ratio of their rates.
fn print_side_by_side(levels: &[(Level, Level)]) {
    let mut table = Table::new(&[
        "writers",
        "store appends/s",
        "p50 ms",
        "p99 ms",
        "PostgreSQL appends/s",
        "p50 ms",
        "p99 ms",
        "store ÷ PostgreSQL",
    ]);
    for (store, postgres) in levels {
        table.row(vec![
            store.writers.to_string(),
            format!("{:.0}", store.appends_per_second()),
            format!("{:.2}", ms_at(&store.latencies, 0.50)),
            format!("{:.2}", ms_at(&store.latencies, 0.99)),
            format!("{:.0}", postgres.appends_per_second()),
            format!("{:.2}", ms_at(&postgres.latencies, 0.50)),
            format!("{:.2}", ms_at(&postgres.latencies, 0.99)),
            format!(
                "{:.2}",
                store.appends_per_second() / postgres.appends_per_second().max(f64::MIN_POSITIVE)
            ),
        ]);
    }
    println!("side by side, each PostgreSQL level right after the store's:");
    print!("{}", table.render());
}

fn print_level(columns: &Columns, level: &Level) {
    let appends = level.latencies.len();
    print!(
        "{}",
        columns.line(&[
            level.writers.to_string(),
            appends.to_string(),
            format!("{:.0}", level.appends_per_second()),
            format!("{:.2}", ms_at(&level.latencies, 0.50)),
            format!("{:.2}", ms_at(&level.latencies, 0.99)),
            format!("{:.2}", ms_at(&level.latencies, 1.0)),
            format!("{:.1}", appends as f64 / level.flushes.max(1) as f64),
        ])
    );
}

async fn run_level<S: EventStore>(
    clients: &[S],
    writers: usize,
    args: &StoreBench,
    level_index: usize,
    next_id: &mut u128,
) -> anyhow::Result<Level> {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(writers);
    for writer in 0..writers {
        let client = clients[writer % clients.len()].clone();
        // Each writer owns a stream and appends with the exact version it expects, as a
        // service deciding on a case would.
        let stream = format!("bench-{level_index}-{writer}");
        let id_base = *next_id + ((writer as u128) << 40);
        let payload = vec![0x5a; args.event_bytes];
        tasks.push(tokio::spawn(async move {
            let mut latencies = histogram();
            let mut version: Option<u64> = None;
            let mut i = 0u128;
            while Instant::now() < deadline {
                let event = NewEvent {
                    event_id: id_base + i,
                    event_type: "BenchmarkEvent".into(),
                    schema_version: 1,
                    metadata: Metadata::default(),
                    payload: payload.clone(),
                };
                let sent = Instant::now();
                let result = client
                    .append(&stream, ExpectedVersion::from_current(version), vec![event])
                    .await?;
                record(&mut latencies, sent.elapsed());
                version = Some(result.stream_version);
                i += 1;
            }
            anyhow::Ok(latencies)
        }));
    }
    let all = gather(tasks).await?;
    *next_id += (writers as u128 + 1) << 40;
    Ok(Level {
        writers,
        elapsed: started.elapsed(),
        latencies: all,
        flushes: 0,
    })
}

/// Reads positions `0..head` with `window` range requests in flight; positions are dense, so
/// the ranges can be asked for before earlier replies arrive.
async fn read_all(client: &StoreClient, head: u64, window: usize) -> anyhow::Result<u64> {
    const RANGE: u64 = 16_384;
    let mut pending = VecDeque::new();
    let mut next_range = 0u64;
    let mut read = 0u64;
    loop {
        while pending.len() < window && next_range < head {
            let from = next_range;
            let count = RANGE.min(head - from);
            let client = client.clone();
            pending.push_back(tokio::spawn(async move {
                let mut events = client.read_all(from, count as usize).await?;
                // A reply capped by the payload limit is completed by follow-up reads.
                while (events.len() as u64) < count {
                    let more = client
                        .read_all(from + events.len() as u64, (count as usize) - events.len())
                        .await?;
                    anyhow::ensure!(!more.is_empty(), "the log ended before {head}");
                    events.extend(more);
                }
                anyhow::ensure!(
                    events.first().map(|e| e.position) == Some(from),
                    "range from {from} came back out of place"
                );
                anyhow::Ok(events.len() as u64)
            }));
            next_range += count;
        }
        let Some(task) = pending.pop_front() else {
            break;
        };
        read += task.await??;
    }
    Ok(read)
}
