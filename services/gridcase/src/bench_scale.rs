//! `gridcase bench scale`: what supervisors' screens and intake cost once the system holds many
//! cases. The whole system runs in this process (nats-server, the seven services, the gateway,
//! sled in a temp dir). Intake's rate is measured on the empty system; then `--cases` cases go
//! in — by default as whole generated histories appended through the store API, years of a
//! city's cases, mostly closed (`--fill intake` reports them one by one through intake
//! instead) — and each read is timed one call after another, `--samples` times: `GetCase`,
//! `ListCases` (first and tenth page of 50, per filter), `Board`, a month's department
//! indicators from query and from evaluation; then intake's rate on the full system, the
//! process's resident memory per case, how long query takes to serve again after a restart,
//! and how fast a query model is rebuilt from position 0.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gridcase::system::{config_dir, Service, System, SystemOptions};
use gridcase_auth::{BearerToken, Secret, TokenTable};
use gridcase_config::ReferenceData;
use gridcase_proto::evaluation::v1::evaluation_client::EvaluationClient;
use gridcase_proto::evaluation::v1::DepartmentIndicatorsRequest;
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::query::v1::{BoardRequest, GetCaseRequest, ListCasesRequest};
use hdrhistogram::Histogram;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::bench::{histogram, ms_at, record};
use crate::bench_fill::fill;
use crate::bench_seed::{seed, seed_from};
use gridcase_bus::StoreClient;
use gridcase_eventstore::EventStore;

const OPERATOR_TOKEN: &str = "scale-bench-operator-00001";
const SUPERVISOR_TOKEN: &str = "scale-bench-supervisor-0001";
/// Cases reported to measure intake's rate, on the empty system and on the full one.
const RATE_SAMPLE: u64 = 10_000;
const DAY_MS: i64 = 86_400_000;

/// Settings of the scale benchmark.
#[derive(Debug, clap::Args)]
pub(crate) struct ScaleBench {
    /// Cases in the system when the reads are measured.
    #[arg(long, default_value_t = 100_000)]
    cases: u64,
    /// Calls of each read.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Directory of the reference data; by default `deploy/config` here, else the sample city
    /// of the source tree.
    #[arg(long)]
    config: Option<PathBuf>,
    /// How the cases go in: `store` (generated histories appended through the store API) or
    /// `intake` (hotline reports through intake, triage and dispatch).
    #[arg(long, default_value = "store")]
    fill: Fill,
    /// Years the generated cases are reported over (with `--fill store`).
    #[arg(long, default_value_t = 5.0)]
    years: f64,
}

/// How the benchmark's cases go in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Fill {
    /// Generated histories through the store API.
    Store,
    /// Reports through intake.
    Intake,
}

type Authed = InterceptedService<Channel, BearerToken>;

/// The resident memory of this process, in bytes (Linux), if it can be read.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time this process has used, in seconds (Linux: user and system, at 100 ticks a second).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which ends with the last ')'): utime is the 12th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Waits until every service has folded what it was catching up on: until the process uses
/// less than a third of one core over a second (the clocks and tickers take little), for at
/// most `patience`; returns how long that took.
async fn settle(patience: Duration) -> Duration {
    let started = Instant::now();
    let mut before = cpu_seconds().unwrap_or_default();
    while started.elapsed() < patience {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = cpu_seconds().unwrap_or_default();
        if now - before < 0.33 {
            break;
        }
        before = now;
    }
    started.elapsed()
}

pub(crate) async fn run(args: ScaleBench) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.cases > RATE_SAMPLE,
        "--cases must be above {RATE_SAMPLE}"
    );
    let config = config_dir(args.config.clone());
    let reference = ReferenceData::load(&config)?;
    let dir = tempfile::tempdir()?;
    let tokens = TokenTable::from_env_value(&format!(
        "{OPERATOR_TOKEN}=operator:scale-bench,{SUPERVISOR_TOKEN}=supervisor:scale-bench,\
         scale-bench-gateway-000001=gateway:scale-bench"
    ))?;
    let mut system = System::start(SystemOptions::on_free_ports(
        dir.path().to_owned(),
        config,
        tokens,
    ))
    .await?;
    let outcome = run_on(&mut system, &args, &reference).await;
    let stopped = system.shut_down().await;
    outcome?;
    stopped
}

async fn run_on(
    system: &mut System,
    args: &ScaleBench,
    reference: &ReferenceData,
) -> anyhow::Result<()> {
    println!(
        "scale benchmark: {} cores, the whole system in one process, {} cases",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.cases
    );
    let operator = Secret::new(OPERATOR_TOKEN);
    let supervisor = Secret::new(SUPERVISOR_TOKEN);
    let base_memory = resident_bytes().unwrap_or_default();
    let mut half_memory: Vec<(u64, u64)> = Vec::new();
    let empty = seed(system, RATE_SAMPLE, reference, &operator, &supervisor).await?;
    let rest = args.cases - RATE_SAMPLE;
    match args.fill {
        Fill::Intake => {
            seed_from(system, RATE_SAMPLE, rest, reference, &operator, &supervisor).await?;
        }
        Fill::Store => {
            // In two halves, each projected before the next: the memory the second half adds
            // is the cost per case beyond what the first half already filled (caches).
            let store = StoreClient::new(gridcase_bus::connect(system.nats_url()).await?, "0");
            let config = config_dir(args.config.clone());
            let middle = RATE_SAMPLE + rest / 2;
            for half in [RATE_SAMPLE..middle, middle..args.cases] {
                let count = half.end - half.start;
                let filled = fill(&store, reference, &config, half, args.cases, args.years).await?;
                println!(
                    "filled the store with {count} cases over {} years: {} events in {:.1} s ({:.0} events/s)",
                    args.years,
                    filled.events,
                    filled.seconds,
                    filled.events as f64 / filled.seconds
                );
                let caught_up = wait_for_query(system, &supervisor, &store).await?;
                println!(
                    "query projected them live {:.1} s after the fill ended",
                    caught_up.as_secs_f64()
                );
                let settled = settle(Duration::from_secs(1_800)).await;
                println!(
                    "every service settled {:.1} s after query caught up",
                    settled.as_secs_f64()
                );
                let memory = resident_bytes().unwrap_or_default();
                println!("memory: {:.0} MiB resident", memory as f64 / 1_048_576.0);
                half_memory.push((count, memory));
            }
        }
    }
    let memory = resident_bytes().unwrap_or_default();
    let full = seed_from(
        system,
        args.cases,
        RATE_SAMPLE,
        reference,
        &operator,
        &supervisor,
    )
    .await?;
    println!(
        "intake: {:.0} cases/s on the empty system, {:.0} cases/s with {} cases ({:+.0}%)",
        empty.rate,
        full.rate,
        args.cases,
        (full.rate / empty.rate - 1.0) * 100.0
    );
    println!(
        "memory: {:.0} MiB resident with {} cases, {:.0} MiB before: {:.2} KiB per case",
        memory as f64 / 1_048_576.0,
        args.cases,
        base_memory as f64 / 1_048_576.0,
        memory.saturating_sub(base_memory) as f64 / 1024.0 / args.cases as f64
    );
    if let [(_, first), (cases, second)] = half_memory[..] {
        println!(
            "memory the second half of the fill added: {:.0} MiB for {cases} cases: {:.2} KiB per case",
            second.saturating_sub(first) as f64 / 1_048_576.0,
            second.saturating_sub(first) as f64 / 1024.0 / cases as f64
        );
    }

    let bearer = BearerToken::new(&supervisor)?;
    let channel = tonic::transport::Endpoint::from_shared(system.endpoint(Service::Query))?
        .connect()
        .await?;
    let mut query: QueryClient<Authed> = QueryClient::with_interceptor(channel, bearer.clone());
    let channel = tonic::transport::Endpoint::from_shared(system.endpoint(Service::Evaluation))?
        .connect()
        .await?;
    let mut evaluation: EvaluationClient<Authed> =
        EvaluationClient::with_interceptor(channel, bearer);
    println!(
        "{:<52} {:>8} {:>8} {:>8}",
        "read", "p50 ms", "p99 ms", "max ms"
    );

    // Case ids to look up, spread over the list.
    let mut ids = Vec::new();
    let mut token = String::new();
    while ids.len() < args.samples {
        let page = query
            .list_cases(ListCasesRequest {
                page_size: 200,
                page_token: token.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        ids.extend(page.cases.into_iter().map(|c| c.case_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut latencies = histogram();
    for id in ids.iter().cycle().take(args.samples) {
        let sent = Instant::now();
        query
            .get_case(GetCaseRequest {
                case_id: id.clone(),
            })
            .await?;
        record(&mut latencies, sent.elapsed());
    }
    print_row("GetCase", &latencies);

    let street = reference
        .grids()
        .find(|a| a.level() == gridcase_domain::GridLevel::Street)
        .map(|a| a.code.to_string())
        .unwrap_or_default();
    let filters = [
        ("ListCases, no filter", ListCasesRequest::default()),
        (
            "ListCases, status dispatched",
            ListCasesRequest {
                status: gridcase_proto::common::v1::CaseStatus::Dispatched as i32,
                ..Default::default()
            },
        ),
        (
            "ListCases, a street",
            ListCasesRequest {
                grid_code: street.clone(),
                ..Default::default()
            },
        ),
        (
            "ListCases, department urban_mgmt",
            ListCasesRequest {
                department: "urban_mgmt".into(),
                ..Default::default()
            },
        ),
        (
            "ListCases, category BJ-01-07",
            ListCasesRequest {
                category: "BJ-01-07".into(),
                ..Default::default()
            },
        ),
        (
            "ListCases, colour red",
            ListCasesRequest {
                colour: "red".into(),
                ..Default::default()
            },
        ),
        (
            "ListCases, status dispatched in a street",
            ListCasesRequest {
                status: gridcase_proto::common::v1::CaseStatus::Dispatched as i32,
                grid_code: street.clone(),
                ..Default::default()
            },
        ),
    ];
    for (name, request) in filters {
        for tenth in [false, true] {
            let mut request = ListCasesRequest {
                page_size: 50,
                ..request.clone()
            };
            if tenth {
                for _ in 0..9 {
                    let page = query.list_cases(request.clone()).await?.into_inner();
                    request.page_token = page.next_page_token;
                }
            }
            let mut latencies = histogram();
            for _ in 0..args.samples {
                let sent = Instant::now();
                query.list_cases(request.clone()).await?;
                record(&mut latencies, sent.elapsed());
            }
            let page = if tenth { "tenth page" } else { "first page" };
            print_row(&format!("{name}, {page}"), &latencies);
        }
    }

    let mut latencies = histogram();
    for _ in 0..args.samples {
        let sent = Instant::now();
        query.board(BoardRequest {}).await?;
        record(&mut latencies, sent.elapsed());
    }
    print_row("Board", &latencies);

    let now = gridcase_runtime::now().as_millis();
    let month = DepartmentIndicatorsRequest {
        from_ms: now - 30 * DAY_MS,
        to_ms: now + DAY_MS,
    };
    let mut latencies = histogram();
    for _ in 0..args.samples {
        let sent = Instant::now();
        query.department_indicators(month).await?;
        record(&mut latencies, sent.elapsed());
    }
    print_row("Query.DepartmentIndicators, a month", &latencies);
    let mut latencies = histogram();
    for _ in 0..args.samples {
        let sent = Instant::now();
        evaluation.department_indicators(month).await?;
        record(&mut latencies, sent.elapsed());
    }
    print_row("Evaluation.DepartmentIndicators, a month", &latencies);

    // Restarts of query: from start to serving with every event of the log projected. sled
    // 0.34 writes its snapshot only when it opens a database, so the first restart scans
    // everything the model wrote since it was opened (the whole fill) and the second only
    // what the first wrote.
    let head = query
        .board(BoardRequest {})
        .await?
        .into_inner()
        .caught_up_to;
    for which in [
        "first restart, after the fill",
        "second restart, right after",
    ] {
        system.stop_service(Service::Query).await?;
        let restarted = Instant::now();
        system.start_service(Service::Query).await?;
        loop {
            if let Ok(reply) = query.board(BoardRequest {}).await {
                if reply.into_inner().caught_up_to >= head {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let took = restarted.elapsed().as_secs_f64();
        println!("query {which}: serving all {head} events (from its checkpoint) in {took:.2} s");
    }
    rebuild(system, reference).await
}

/// Waits until query reflects every event the store holds; how long that took.
async fn wait_for_query(
    system: &System,
    supervisor: &Secret,
    store: &StoreClient,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let head = store.stats().await?.events;
    let channel = tonic::transport::Endpoint::from_shared(system.endpoint(Service::Query))?
        .connect()
        .await?;
    let mut query = QueryClient::with_interceptor(channel, BearerToken::new(supervisor)?);
    loop {
        let at = query
            .board(BoardRequest {})
            .await?
            .into_inner()
            .caught_up_to;
        eprint!("\rquery has projected {at}/{head} events  ");
        if at >= head {
            eprintln!();
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Builds the query and evaluation models from position 0 in a temp dir, one after the
/// other, and prints each one's events/s overall and for the fold alone.
async fn rebuild(system: &System, reference: &ReferenceData) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let model = |name: &str| gridcase_eventstore::ReadModelConfig::new(Some(dir.path().join(name)));
    let query =
        gridcase_query::Projections::open(&model("query"), std::sync::Arc::new(reference.clone()))?;
    rebuild_one(system, "query", |batch| query.fold(0, batch)).await?;
    query.model().flush()?;
    println!(
        "  query model: {:.0} MiB on disk",
        mib(query.model().size_on_disk())
    );
    drop(query);
    let evaluation = gridcase_evaluation::indicators::IndicatorModel::open(&model("evaluation"))?;
    rebuild_one(system, "evaluation", |batch| evaluation.fold(0, batch)).await?;
    println!(
        "  evaluation model: {:.0} MiB on disk",
        mib(evaluation.size_on_disk())
    );
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// Folds the whole log into one model with `fold`, the log read through the store service a
/// batch ahead of the fold.
async fn rebuild_one(
    system: &System,
    name: &str,
    mut fold: impl FnMut(&[gridcase_eventstore::RecordedEvent]) -> gridcase_eventstore::Result<()>,
) -> anyhow::Result<()> {
    const BATCH: usize = 2_000;
    let store = StoreClient::new(gridcase_bus::connect(system.nats_url()).await?, "0");
    let head = store.stats().await?.events;
    let (batches, mut receive) = tokio::sync::mpsc::channel(8);
    let reader = tokio::spawn(async move {
        let mut from = 0;
        while from < head {
            let events = store.read_all(from, BATCH).await?;
            let Some(last) = events.last() else { break };
            from = last.position + 1;
            if batches.send(events).await.is_err() {
                break;
            }
        }
        anyhow::Ok(())
    });
    let started = Instant::now();
    let mut folding = Duration::ZERO;
    let mut events = 0u64;
    while let Some(batch) = receive.recv().await {
        let folded = Instant::now();
        fold(&batch)?;
        folding += folded.elapsed();
        events += batch.len() as u64;
    }
    reader.await??;
    let took = started.elapsed().as_secs_f64();
    println!(
        "{name} model rebuilt from position 0: {events} events in {took:.1} s ({:.0} events/s; the fold alone {:.0} events/s)",
        events as f64 / took,
        events as f64 / folding.as_secs_f64(),
    );
    Ok(())
}

fn print_row(name: &str, latencies: &Histogram<u64>) {
    println!(
        "{name:<52} {:>8.2} {:>8.2} {:>8.2}",
        ms_at(latencies, 0.5),
        ms_at(latencies, 0.99),
        ms_at(latencies, 1.0)
    );
}
