//! `gridcase demo`: a realistic day of the case loop, driven through the system's public APIs.
//!
//! By default it starts a system of its own (nats-server and the seven services, in a fresh data
//! directory, on free ports) with a copy of the reference data whose deadlines run on a
//! compressed clock — one hour of SLA lasts `--hour-ms` milliseconds, a second by default — so a
//! department that runs late really is warned, breached and escalated while the demo runs.
//! `--attach` drives a running `gridcase up` instead, where the real deadlines apply.
//!
//! The day: hotline operators and grid workers report a few hundred cases in Chinese, some with
//! a category code and most described in words for triage to classify, with a few repeats of
//! one problem, a few vague calls and a few questions outside the grid's remit for the manual
//! queue. Each department's system is simulated as a reader of its durable JetStream consumer:
//! it decodes the protobuf work orders and accepts, reports progress and resolves with a note
//! and a photo, and — by its own temperament — sometimes returns a case that is not its
//! business, asks for a postponement or runs late. Grid workers settle the small matters routed
//! to them and check resolved cases on site; callback operators ask residents for a rating; a
//! supervisor urges overdue cases. At the end it prints the board, the department ranking and a
//! summary of the day, read back from the query and evaluation services.
//!
//! Every random choice comes from the seed, keyed by the report and the step, so the same seed
//! plays the same day (timing on a busy machine may still move a duplicate past its original).

mod behaviour;
mod clock;
mod plan;
mod tables;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use gridcase::rng::Rng;
use gridcase::system::{config_dir, Addresses, Service, System, SystemOptions};
use gridcase::table::Table;
use gridcase_config::ReferenceData;
use gridcase_domain::{GridCode, WorkerId};
use gridcase_proto::dispatch::v1::dispatch_client::DispatchClient;
use gridcase_proto::dispatch::v1::{self as dispatch_pb, WorkOrder};
use gridcase_proto::evaluation::v1 as evaluation_pb;
use gridcase_proto::evaluation::v1::evaluation_client::EvaluationClient;
use gridcase_proto::intake::v1 as intake_pb;
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::query::v1 as query_pb;
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::store::v1::store_admin_client::StoreAdminClient;
use gridcase_proto::store::v1::StatsRequest;
use gridcase_proto::supervision::v1 as supervision_pb;
use gridcase_proto::supervision::v1::supervision_client::SupervisionClient;
use gridcase_proto::triage::v1 as triage_pb;
use gridcase_proto::triage::v1::triage_client::TriageClient;
use gridcase_server::auth::{BearerToken, Caller, Secret, TokenTable};
use prost::Message as _;
use tokio::task::JoinSet;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};

use self::behaviour::{
    resolve_note, Temperament, NOT_RESOLVED, POSTPONE_REASONS, PROGRESS_NOTES, RATING_COMMENTS,
    RETURN_REASONS, REWORK_NOTES, UNRESOLVED_COMMENTS, WORKER_SLOPPY,
};
use self::clock::{write_compressed_config, Clock};
use self::plan::{plan_day, Kind, PlannedReport};
use self::tables::{board_table, ranking_table};

/// How `demo` runs its day.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How many cases the day brings.
    #[arg(long, default_value_t = 300)]
    cases: usize,
    /// Seed of the day's randomness: the same seed plays the same day.
    #[arg(long, default_value_t = 20_250_611)]
    seed: u64,
    /// Milliseconds one hour of SLA lasts on the demo's compressed clock (its own system only).
    #[arg(long, default_value_t = 1000)]
    hour_ms: u64,
    /// Seconds to wait for the day's cases to finish before printing what there is and failing.
    #[arg(long, default_value_t = 240)]
    time_limit: u64,
    /// Data directory of the demo's own system (kept afterwards, e.g. for `gridcase verify`);
    /// by default a temporary directory, removed at the end.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Directory of the reference data; by default `deploy/config` here, else the one of the
    /// source tree it was built from.
    #[arg(long, env = "GRIDCASE_CONFIG")]
    config: Option<PathBuf>,
    /// Drive a running `gridcase up` on the standard addresses instead of starting a system:
    /// the real deadlines apply, so nothing runs late within the demo. `gridcase up` must know
    /// the demo's callers (see `--print-tokens`).
    #[arg(long)]
    attach: bool,
    /// NATS of the running system, with `--attach`.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// The token file `gridcase up` was started with, with `--attach`; by default `tokens.toml`
    /// in the reference data directory. `GRIDCASE_TOKENS` adds to it, as for `up`.
    #[arg(long, env = "GRIDCASE_TOKENS_FILE")]
    tokens: Option<PathBuf>,
    /// Print the demo's callers as a `GRIDCASE_TOKENS` value (for `gridcase up` before
    /// `demo --attach`) and exit.
    #[arg(long)]
    print_tokens: bool,
}

/// Logs on stderr as `RUST_LOG` says, by default warnings only: the demo's own lines on stdout
/// tell the day, and the services' info lines for every case would drown them.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the demo: prints the tokens, or plays a day on its own system or an attached one.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let source = config_dir(args.config.clone());
    let reference = ReferenceData::load(&source)
        .with_context(|| format!("loading the reference data in {}", source.display()))?;
    let cast = Cast::new(&reference)?;
    if args.print_tokens {
        println!("{}", cast.env_value());
        return Ok(());
    }
    anyhow::ensure!(args.cases > 0, "--cases must be at least 1");
    anyhow::ensure!(args.hour_ms > 0, "--hour-ms must be at least 1");
    if args.attach {
        attach(args, source, reference, cast).await
    } else {
        own_system(args, source, reference, cast).await
    }
}

/// Starts a system with the compressed clock, plays the day on it and stops it.
async fn own_system(
    args: DemoArgs,
    source: PathBuf,
    reference: ReferenceData,
    cast: Cast,
) -> anyhow::Result<()> {
    let temporary;
    let data = match &args.data {
        Some(data) => data.clone(),
        None => {
            temporary = tempfile::tempdir().context("creating a temporary data directory")?;
            temporary.path().to_owned()
        }
    };
    let config = data.join("config");
    let compressed = write_compressed_config(&source, &reference, &config, args.hour_ms)?;
    println!(
        "gridcase demo: {} cases, seed {}, its own system in {}",
        args.cases,
        args.seed,
        data.display()
    );
    println!(
        "  compressed clock: 1 h of SLA = {} ms (reference data rewritten in {})",
        args.hour_ms,
        config.display()
    );
    let tokens = TokenTable::from_env_value(&cast.env_value())?;
    let mut system = System::start(SystemOptions {
        data,
        config,
        tokens,
        nats_port: 0,
        addresses: Addresses::any_free(),
    })
    .await?;
    let endpoints = Service::ALL.map(|service| system.endpoint(service));
    let nats_url = system.nats_url().to_owned();
    let clock = Clock {
        hour_ms: args.hour_ms,
        compressed: true,
    };
    let outcome = tokio::select! {
        outcome = play(&args, compressed, cast, clock, &endpoints, &nats_url) => outcome,
        failure = system.stopped_by_itself() => Err(failure),
        _ = gridcase_server::shutdown_signal() => Err(anyhow::anyhow!("interrupted")),
    };
    println!("stopping the system");
    let stopped = system.shut_down().await;
    outcome?;
    stopped
}

/// Plays the day on a running `gridcase up` with the standard addresses.
async fn attach(
    args: DemoArgs,
    source: PathBuf,
    reference: ReferenceData,
    cast: Cast,
) -> anyhow::Result<()> {
    let tokens_file = args
        .tokens
        .clone()
        .unwrap_or_else(|| source.join("tokens.toml"));
    let table = TokenTable::load_with_env(&tokens_file).context("loading the bearer tokens")?;
    let missing = cast.missing_from(&table);
    if !missing.is_empty() {
        anyhow::bail!(
            "the bearer tokens in {} and GRIDCASE_TOKENS lack {} of the demo's {} callers \
             (e.g. {}): start `gridcase up` with GRIDCASE_TOKENS=\"$(gridcase demo \
             --print-tokens)\" and run the demo with the same environment",
            tokens_file.display(),
            missing.len(),
            cast.len(),
            missing[0]
        );
    }
    let addresses = Addresses::standard();
    let endpoints = Service::ALL.map(|service| format!("http://{}", addresses.get(service)));
    println!(
        "gridcase demo: {} cases, seed {}, attached to {} and the standard gRPC addresses",
        args.cases, args.seed, args.nats_url
    );
    println!("  the real deadlines apply: nobody runs late within the demo");
    let clock = Clock {
        hour_ms: 3_600_000,
        compressed: false,
    };
    tokio::select! {
        outcome = play(&args, reference, cast, clock, &endpoints, &args.nats_url) => outcome,
        _ = gridcase_server::shutdown_signal() => Err(anyhow::anyhow!("interrupted")),
    }
}

// --- the demo's callers -------------------------------------------------------------------

/// Everyone the demo acts as, with a bearer token each: the hotline operator (who also calls
/// residents back), the supervisor, an administrator (for the store's figures), every
/// department's desk and every grid worker.
#[derive(Debug)]
struct Cast {
    /// Who → (token, caller as `role:id`).
    callers: BTreeMap<String, (String, String)>,
    bearers: HashMap<String, BearerToken>,
    /// A token no service knows, for a caller the demo did not make.
    stranger: BearerToken,
}

const OPERATOR: &str = "operator";
const SUPERVISOR: &str = "supervisor";
const ADMIN: &str = "admin";

fn department_key(code: &str) -> String {
    format!("department-{code}")
}

fn worker_key(id: &str) -> String {
    format!("worker-{id}")
}

impl Cast {
    fn new(reference: &ReferenceData) -> anyhow::Result<Self> {
        let mut specs = vec![
            (OPERATOR.to_owned(), "operator:demo-hotline".to_owned()),
            (SUPERVISOR.to_owned(), "supervisor:demo-command".to_owned()),
            (ADMIN.to_owned(), "admin:demo-admin".to_owned()),
        ];
        for department in reference.departments() {
            let code = department.code.as_str();
            specs.push((department_key(code), format!("department:{code}:demo-desk")));
        }
        for area in reference.grids() {
            for worker in &area.workers {
                let id = worker.id.as_str();
                specs.push((worker_key(id), format!("grid_worker:{id}")));
            }
        }
        let mut callers = BTreeMap::new();
        let mut bearers = HashMap::new();
        for (who, spec) in specs {
            // Not secret: these callers exist for the demo only.
            let token = format!("demo-{who}-token");
            bearers.insert(who.clone(), BearerToken::new(&Secret::new(token.clone()))?);
            callers.insert(who, (token, spec));
        }
        let stranger = BearerToken::new(&Secret::new("demo-unknown-caller-token"))?;
        Ok(Self {
            callers,
            bearers,
            stranger,
        })
    }

    fn len(&self) -> usize {
        self.callers.len()
    }

    /// `token=role:id,…`, the format of `GRIDCASE_TOKENS`.
    fn env_value(&self) -> String {
        let entries: Vec<String> = self
            .callers
            .values()
            .map(|(token, spec)| format!("{token}={spec}"))
            .collect();
        entries.join(",")
    }

    /// The callers `table` does not hold with the demo's token.
    fn missing_from(&self, table: &TokenTable) -> Vec<String> {
        self.callers
            .values()
            .filter(|(token, spec)| {
                let expected = Caller::parse(spec).map(|caller| caller.actor()).ok();
                table.caller(token).map(Caller::actor) != expected
            })
            .map(|(_, spec)| spec.clone())
            .collect()
    }

    /// The token of `who`; a caller the demo did not make (a grid worker missing from the
    /// reference data) gets one the services refuse, and the demo reports the refusal.
    fn bearer(&self, who: &str) -> BearerToken {
        self.bearers.get(who).unwrap_or(&self.stranger).clone()
    }
}

// --- the demo's record of its cases ---------------------------------------------------------

/// How a case of the day ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    Closed,
    Merged,
    Rejected,
}

/// What the demo knows of one of its cases.
#[derive(Debug, Clone)]
struct Tracked {
    index: usize,
    case_id: String,
    tracking_code: String,
    kind: Kind,
    category: String,
    grid: String,
    by_worker: bool,
    anonymous: bool,
    reported_at_ms: i64,
    /// Work orders seen for the case (any assignee).
    orders: u32,
    /// Resolutions made, for keys of the checks after them.
    resolutions: u32,
    /// Departments that returned it.
    returned_by: Vec<String>,
    /// A failed check was recorded: the next work order is the rework.
    rework_pending: bool,
    reworked: bool,
    reopened: bool,
    urged: bool,
    /// When an operator last acted on it from the manual queue.
    triaged_by_hand: Option<Instant>,
    finished: Option<Finish>,
}

/// Counts of what happened, for the progress lines.
#[derive(Debug, Default, Clone)]
struct Counts {
    reported: usize,
    accepted: usize,
    resolved: usize,
    self_handled: usize,
    returned: usize,
    reworked: usize,
    reopened: usize,
    postponements: usize,
    late: usize,
    slow: usize,
    urged: usize,
    manual: usize,
    closed: usize,
    merged: usize,
    rejected: usize,
}

#[derive(Debug, Default)]
struct LedgerInner {
    cases: HashMap<String, Tracked>,
    order: Vec<String>,
    counts: Counts,
}

/// The demo's cases, shared by its actors.
#[derive(Debug, Default)]
struct Ledger(Mutex<LedgerInner>);

impl Ledger {
    fn lock(&self) -> MutexGuard<'_, LedgerInner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, case_id: &str) -> Option<Tracked> {
        self.lock().cases.get(case_id).cloned()
    }

    fn update<T>(&self, case_id: &str, f: impl FnOnce(&mut Tracked) -> T) -> Option<T> {
        self.lock().cases.get_mut(case_id).map(f)
    }

    fn count(&self, f: impl FnOnce(&mut Counts)) {
        f(&mut self.lock().counts);
    }

    fn counts(&self) -> Counts {
        self.lock().counts.clone()
    }

    fn finish(&self, case_id: &str, finish: Finish) {
        let mut inner = self.lock();
        let LedgerInner { cases, counts, .. } = &mut *inner;
        if let Some(case) = cases.get_mut(case_id) {
            if case.finished.is_none() {
                case.finished = Some(finish);
                match finish {
                    Finish::Closed => counts.closed += 1,
                    Finish::Merged => counts.merged += 1,
                    Finish::Rejected => counts.rejected += 1,
                }
            }
        }
    }

    fn open(&self) -> usize {
        self.lock()
            .cases
            .values()
            .filter(|case| case.finished.is_none())
            .count()
    }

    fn all(&self) -> Vec<Tracked> {
        let inner = self.lock();
        inner
            .order
            .iter()
            .filter_map(|id| inner.cases.get(id).cloned())
            .collect()
    }
}

// --- calling the services -------------------------------------------------------------------

type Authed = InterceptedService<Channel, BearerToken>;

/// A channel to each service and the callers' tokens.
#[derive(Debug, Clone)]
struct Api {
    channels: HashMap<&'static str, Channel>,
    cast: Arc<Cast>,
}

impl Api {
    async fn connect(endpoints: &[String; 7], cast: Cast) -> anyhow::Result<Self> {
        let mut channels = HashMap::new();
        for (service, endpoint) in Service::ALL.iter().zip(endpoints) {
            let channel = tonic::transport::Endpoint::from_shared(endpoint.clone())?
                .connect()
                .await
                .with_context(|| {
                    format!(
                        "connecting to the {} service at {endpoint} (is it running?)",
                        service.name()
                    )
                })?;
            channels.insert(service.name(), channel);
        }
        Ok(Self {
            channels,
            cast: Arc::new(cast),
        })
    }

    fn channel(&self, service: Service) -> Channel {
        self.channels[service.name()].clone()
    }

    fn intake(&self, who: &str) -> IntakeClient<Authed> {
        IntakeClient::with_interceptor(self.channel(Service::Intake), self.cast.bearer(who))
    }

    fn triage(&self) -> TriageClient<Authed> {
        TriageClient::with_interceptor(self.channel(Service::Triage), self.cast.bearer(OPERATOR))
    }

    fn dispatch(&self, who: &str) -> DispatchClient<Authed> {
        DispatchClient::with_interceptor(self.channel(Service::Dispatch), self.cast.bearer(who))
    }

    fn supervision(&self) -> SupervisionClient<Authed> {
        SupervisionClient::with_interceptor(
            self.channel(Service::Supervision),
            self.cast.bearer(SUPERVISOR),
        )
    }

    fn evaluation(&self, who: &str) -> EvaluationClient<Authed> {
        EvaluationClient::with_interceptor(self.channel(Service::Evaluation), self.cast.bearer(who))
    }

    fn query(&self) -> QueryClient<Authed> {
        QueryClient::with_interceptor(self.channel(Service::Query), self.cast.bearer(SUPERVISOR))
    }

    fn store_admin(&self) -> StoreAdminClient<Authed> {
        StoreAdminClient::with_interceptor(self.channel(Service::Store), self.cast.bearer(ADMIN))
    }
}

// --- the day ----------------------------------------------------------------------------------

/// Work orders come this close to a deadline before a late or slow department waits for it:
/// further off (real deadlines), it works on time.
const LATE_HORIZON_MS: i64 = 15_000;
/// Errors after which the day stops early.
const MAX_FAILURES: usize = 20;
/// Failed pulls of work orders in a row that make an error.
const MAX_FAILED_PULLS: u32 = 10;

fn now_ms() -> i64 {
    gridcase_server::now().as_millis()
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

async fn sleep_until_ms(at_ms: i64) {
    let wait = at_ms.saturating_sub(now_ms());
    if wait > 0 {
        sleep_ms(wait.unsigned_abs()).await;
    }
}

/// Everything the day's actors share.
#[derive(Debug)]
struct Day {
    api: Api,
    reference: ReferenceData,
    ledger: Ledger,
    seed: u64,
    /// Distinguishes this run's request ids from an earlier run's on the same system.
    run: u64,
    started: Instant,
    clock: Clock,
    failures: Mutex<Vec<String>>,
    closing: AtomicBool,
    tasks: Mutex<JoinSet<()>>,
    /// Reports answered, or failed.
    reports_settled: AtomicUsize,
}

impl Day {
    fn spawn(self: &Arc<Self>, task: impl Future<Output = ()> + Send + 'static) {
        if !self.closing.load(Ordering::Relaxed) {
            self.tasks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .spawn(task);
        }
    }

    fn say(&self, line: impl std::fmt::Display) {
        println!("[{:>6.1}s] {line}", self.started.elapsed().as_secs_f64());
    }

    /// Records something that went wrong (ignored once the day is closing).
    fn fail(&self, what: impl std::fmt::Display) {
        if self.closing.load(Ordering::Relaxed) {
            return;
        }
        let line = what.to_string();
        self.say(format_args!("error: {line}"));
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    }

    /// Stops every actor; errors from now on are the day closing, not failures.
    fn stop_actors(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .abort_all();
    }

    fn failure_count(&self) -> usize {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    fn request_id(&self, case: &Tracked, step: &str) -> String {
        format!("demo-{}-{}-{step}", self.run, case.index)
    }

    fn rng(&self, case: &Tracked, step: &str) -> Rng {
        Rng::keyed(self.seed, &format!("{}-{step}", case.index))
    }

    fn category_name(&self, code: &str) -> String {
        gridcase_domain::CategoryCode::parse(code)
            .ok()
            .and_then(|code| self.reference.category(&code))
            .map_or_else(|| code.to_owned(), |category| category.name.clone())
    }

    fn area_name(&self, code: &str) -> String {
        GridCode::parse(code)
            .ok()
            .and_then(|code| self.reference.grid(&code))
            .map_or_else(|| code.to_owned(), |area| area.name.clone())
    }
}

/// Stops the day's actors when dropped.
#[derive(Debug)]
struct StopActors(Arc<Day>);

impl Drop for StopActors {
    fn drop(&mut self) {
        self.0.stop_actors();
    }
}

/// Plays the day against the services at `endpoints` and prints the tables.
async fn play(
    args: &DemoArgs,
    reference: ReferenceData,
    cast: Cast,
    clock: Clock,
    endpoints: &[String; 7],
    nats_url: &str,
) -> anyhow::Result<()> {
    let api = Api::connect(endpoints, cast).await?;
    let nats = gridcase_bus::connect(nats_url)
        .await
        .with_context(|| format!("connecting to NATS at {nats_url}"))?;
    let js = jetstream::new(nats);
    let run = u64::try_from(now_ms()).unwrap_or_default();
    let day = Arc::new(Day {
        api,
        reference,
        ledger: Ledger::default(),
        seed: args.seed,
        run,
        started: Instant::now(),
        clock,
        failures: Mutex::new(Vec::new()),
        closing: AtomicBool::new(false),
        tasks: Mutex::new(JoinSet::new()),
        reports_settled: AtomicUsize::new(0),
    });
    // However `play` ends (an error, Ctrl-C), the actors stop with it.
    let _stop_actors = StopActors(Arc::clone(&day));
    let day_start_ms = now_ms();
    let window = Duration::from_millis((args.cases as u64 * 80).max(2_000));
    let plan = plan_day(&day.reference, args.cases, args.seed, run, window);
    let planned = plan.len();
    let explicit = plan.iter().filter(|r| r.explicit_category).count();
    let by_worker = plan.iter().filter(|r| r.worker.is_some()).count();
    let by_hand = plan
        .iter()
        .filter(|r| matches!(r.kind, Kind::Vague | Kind::OutOfScope))
        .count();
    println!(
        "the day: {planned} reports over {:.0} s — {} by hotline, {by_worker} by grid workers; \
         {explicit} name a category code, {} leave it to triage's keywords, {by_hand} are for \
         the operators",
        window.as_secs_f64(),
        planned - by_worker,
        planned - explicit - by_hand
    );

    // Department systems and the grid workers' app read their work orders first.
    let stream = wait_for_stream(&js).await?;
    for department in day.reference.departments() {
        let code = department.code.to_string();
        let durable = gridcase_dispatch::workorder::department_consumer(&code);
        let consumer = wait_for_consumer(&stream, &durable).await?;
        let desk = Arc::clone(&day);
        day.spawn(async move { desk.read_work_orders(consumer, Some(code)).await });
    }
    let workers_app: jetstream::consumer::Consumer<pull::Config> = stream
        .get_or_create_consumer(
            "grid-worker-app",
            pull::Config {
                durable_name: Some("grid-worker-app".to_owned()),
                filter_subject: gridcase_bus::subjects::dispatch("worker.>"),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating the grid workers' consumer: {e}"))?;
    let app = Arc::clone(&day);
    day.spawn(async move { app.read_work_orders(workers_app, None).await });
    let operator = Arc::clone(&day);
    day.spawn(async move { operator.operator_desk().await });
    let supervisor = Arc::clone(&day);
    let most_urges = (args.cases / 60).max(2);
    day.spawn(async move { supervisor.supervisor_desk(most_urges).await });
    let watcher = Arc::clone(&day);
    day.spawn(async move { watcher.watch_merges(day_start_ms).await });

    let reporter = Arc::clone(&day);
    day.spawn(async move { reporter.report_all(plan).await });
    let limit = Duration::from_secs(args.time_limit);
    let mut last_progress = Instant::now();
    let mut reports_done = false;
    let timed_out = loop {
        sleep_ms(200).await;
        if !reports_done && day.reports_settled.load(Ordering::Relaxed) >= planned {
            reports_done = true;
            day.say(format_args!(
                "all {} reports are in; waiting for the day's work to finish",
                day.ledger.counts().reported
            ));
        }
        if last_progress.elapsed() >= Duration::from_secs(3) {
            last_progress = Instant::now();
            day.print_progress(planned);
        }
        if reports_done && day.ledger.open() == 0 {
            break false;
        }
        if day.failure_count() >= MAX_FAILURES {
            day.say("too many errors, stopping the day");
            break false;
        }
        if day.started.elapsed() >= limit {
            break true;
        }
    };
    day.stop_actors();
    day.print_progress(planned);
    day.say(format_args!(
        "the day is over after {:.1} s",
        day.started.elapsed().as_secs_f64()
    ));

    let results = day.print_results(day_start_ms, !timed_out).await;
    let failures = day
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    results?;
    if timed_out {
        anyhow::bail!(
            "{} of the day's cases were still open after the time limit of {} s",
            day.ledger.open(),
            args.time_limit
        );
    }
    if !failures.is_empty() {
        anyhow::bail!(
            "{} unexpected errors, the first: {}",
            failures.len(),
            failures[0]
        );
    }
    Ok(())
}

async fn wait_for_stream(js: &jetstream::Context) -> anyhow::Result<jetstream::stream::Stream> {
    let started = Instant::now();
    loop {
        match js.get_stream(gridcase_dispatch::DISPATCH_STREAM).await {
            Ok(stream) => return Ok(stream),
            Err(e) if started.elapsed() > Duration::from_secs(30) => {
                anyhow::bail!(
                    "the work-order stream {} did not appear: {e}",
                    gridcase_dispatch::DISPATCH_STREAM
                )
            }
            Err(_) => sleep_ms(100).await,
        }
    }
}

async fn wait_for_consumer(
    stream: &jetstream::stream::Stream,
    durable: &str,
) -> anyhow::Result<jetstream::consumer::Consumer<pull::Config>> {
    let started = Instant::now();
    loop {
        match stream.get_consumer(durable).await {
            Ok(consumer) => return Ok(consumer),
            Err(e) if started.elapsed() > Duration::from_secs(30) => {
                anyhow::bail!("the work-order consumer {durable} did not appear: {e}")
            }
            Err(_) => sleep_ms(100).await,
        }
    }
}

/// Who a work order was for.
#[derive(Debug, Clone)]
enum Handler {
    Department(String),
    Worker(String),
}

impl Handler {
    fn actor(&self, case_id: &str, request_id: String) -> dispatch_pb::Actor {
        let (department, grid_worker) = match self {
            Handler::Department(code) => (code.clone(), String::new()),
            Handler::Worker(id) => (String::new(), id.clone()),
        };
        dispatch_pb::Actor {
            case_id: case_id.to_owned(),
            department,
            grid_worker,
            request_id,
        }
    }

    fn who(&self) -> String {
        match self {
            Handler::Department(code) => department_key(code),
            Handler::Worker(id) => worker_key(id),
        }
    }
}

/// How a department paces a first dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    OnTime,
    /// Signs for it after the warning point, before the deadline.
    Slow,
    /// Signs for it after the accept deadline.
    LateAccept,
    /// Resolves it after the resolve deadline.
    LateResolve,
}

impl Day {
    // --- reporting ---

    async fn report_all(self: Arc<Self>, plan: Vec<PlannedReport>) {
        let started = Instant::now();
        let total = plan.len();
        let shown = (total / 8).max(1);
        for report in plan {
            let wait = report.at.saturating_sub(started.elapsed());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let show = report.index < 3 || report.index % shown == 0;
            let day = Arc::clone(&self);
            // Each call on its own task, so a slow reply does not hold up the next caller.
            self.spawn(async move { day.report(report, show, total).await });
        }
    }

    async fn report(self: Arc<Self>, report: PlannedReport, show: bool, total: usize) {
        self.report_one(report, show, total).await;
        self.reports_settled.fetch_add(1, Ordering::Relaxed);
    }

    async fn report_one(&self, report: PlannedReport, show: bool, total: usize) {
        let (channel, who) = match &report.worker {
            Some(id) => (intake_pb::Channel::GridWorker, worker_key(id)),
            None => (intake_pb::Channel::Hotline, OPERATOR.to_owned()),
        };
        let request = intake_pb::ReportCaseRequest {
            client_request_id: format!("demo-{}-{}", self.run, report.index),
            channel: channel as i32,
            reporter: report
                .reporter
                .clone()
                .map(|(name, phone)| intake_pb::Reporter { name, phone }),
            location: Some(intake_pb::Location {
                grid_code: report.grid.clone(),
                address: report.address.clone(),
                coordinates: report
                    .coordinates
                    .map(|(lat, lon)| intake_pb::Coordinates { lat, lon }),
            }),
            description: report.description.clone(),
            category_code: if report.explicit_category {
                report.category.clone()
            } else {
                String::new()
            },
            media_urls: report.media.clone(),
            reported_by_worker: report.worker.clone().unwrap_or_default(),
        };
        let reply = match self.api.intake(&who).report_case(request).await {
            Ok(reply) => reply.into_inner(),
            Err(status) => {
                return self.fail(format_args!(
                    "reporting case #{}: {}",
                    report.index,
                    status_text(&status)
                ))
            }
        };
        let tracked = Tracked {
            index: report.index,
            case_id: reply.case_id.clone(),
            tracking_code: reply.tracking_code.clone(),
            kind: report.kind,
            category: report.category.clone(),
            grid: report.grid.clone(),
            by_worker: report.worker.is_some(),
            anonymous: report.reporter.is_none(),
            reported_at_ms: now_ms(),
            orders: 0,
            resolutions: 0,
            returned_by: Vec::new(),
            rework_pending: false,
            reworked: false,
            reopened: false,
            urged: false,
            triaged_by_hand: None,
            finished: None,
        };
        let count = {
            let mut inner = self.ledger.lock();
            inner.order.push(reply.case_id.clone());
            inner.cases.insert(reply.case_id.clone(), tracked);
            inner.counts.reported += 1;
            inner.counts.reported
        };
        if show {
            let channel = if report.worker.is_some() {
                "grid worker"
            } else {
                "hotline"
            };
            self.say(format_args!(
                "report {count:>3}/{total}  {channel:<11} {}  {}  {}",
                reply.tracking_code,
                self.area_name(&report.grid),
                clip(&report.description, 36)
            ));
        }
    }

    // --- work orders ---

    /// Reads work orders from `consumer` for a department (or, for `None`, for the grid
    /// workers' app) and handles each on a task of its own.
    async fn read_work_orders(
        self: Arc<Self>,
        consumer: jetstream::consumer::Consumer<pull::Config>,
        department: Option<String>,
    ) {
        let reader = department.as_deref().unwrap_or("grid workers");
        let mut seen: HashSet<String> = HashSet::new();
        // A pull can time out on a busy machine and the next one succeeds: only a run of
        // failures is an error.
        let mut failed_pulls = 0;
        loop {
            let batch = consumer
                .fetch()
                .max_messages(64)
                .expires(Duration::from_millis(500))
                .messages()
                .await;
            let mut batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    failed_pulls += 1;
                    if failed_pulls == MAX_FAILED_PULLS {
                        self.fail(format_args!("{reader}: fetching work orders: {e}"));
                    }
                    sleep_ms(500).await;
                    continue;
                }
            };
            while let Some(message) = batch.next().await {
                let message = match message {
                    Ok(message) => {
                        failed_pulls = 0;
                        message
                    }
                    Err(e) => {
                        failed_pulls += 1;
                        if failed_pulls == MAX_FAILED_PULLS {
                            self.fail(format_args!("{reader}: receiving work orders: {e}"));
                        }
                        break;
                    }
                };
                let order = WorkOrder::decode(message.payload.as_ref());
                if let Err(e) = message.ack().await {
                    self.fail(format_args!("{reader}: acknowledging a work order: {e}"));
                }
                let order = match order {
                    Ok(order) => order,
                    Err(e) => {
                        self.fail(format_args!("{reader}: undecodable work order: {e}"));
                        continue;
                    }
                };
                // A redelivered copy carries the same id; a participant's copy of a joint
                // case is for the consultation: the lead acts.
                if !seen.insert(order.work_order_id.clone()) || order.for_consultation {
                    continue;
                }
                let handler = match &department {
                    Some(code) => Handler::Department(code.clone()),
                    None => Handler::Worker(order.grid_worker.clone()),
                };
                let day = Arc::clone(&self);
                self.spawn(async move { day.handle_order(handler, order).await });
            }
        }
    }

    async fn handle_order(self: Arc<Self>, handler: Handler, order: WorkOrder) {
        // The report's reply may still be on its way when a quick work order arrives.
        let mut case = None;
        for _ in 0..100 {
            case = self.ledger.update(&order.case_id, |case| {
                case.orders += 1;
                let rework = std::mem::take(&mut case.rework_pending);
                (case.clone(), rework)
            });
            if case.is_some() {
                break;
            }
            sleep_ms(50).await;
        }
        // Not one of the day's cases (an earlier run's, on an attached system): left alone.
        let Some((case, rework)) = case else { return };
        let step = format!("order{}", case.orders);
        let mut rng = self.rng(&case, &step);
        let dispatch = self.api.dispatch(&handler.who());
        let who = match &handler {
            Handler::Department(code) => code.clone(),
            Handler::Worker(id) => format!("grid worker {id}"),
        };
        let act = |name: &str| {
            handler.actor(
                &case.case_id,
                self.request_id(&case, &format!("{step}-{name}")),
            )
        };

        if rework {
            sleep_ms(rng.millis(300, 1200)).await;
            let note = format!("{}（返工）", self.resolution_note(&handler, &order));
            self.resolve(&handler, &case, &order, act("resolve"), note)
                .await;
            return;
        }
        let first = case.returned_by.is_empty() && !case.reopened;
        let temperament = match &handler {
            Handler::Department(code) => Temperament::of(code),
            Handler::Worker(_) => Temperament::of("grid worker"),
        };
        if let Handler::Department(code) = &handler {
            if first && rng.chance(temperament.returns) {
                sleep_ms(rng.millis(200, 800)).await;
                let request = dispatch_pb::ReturnRequest {
                    actor: Some(act("return")),
                    reason: rng.pick(RETURN_REASONS).to_string(),
                };
                // Noted before the call: the operator may meet the case in the manual queue
                // before the reply arrives, and must not send it back here.
                self.ledger
                    .update(&case.case_id, |c| c.returned_by.push(code.clone()));
                match dispatch.clone().r#return(request).await {
                    Ok(_) => {
                        self.ledger.count(|c| c.returned += 1);
                        self.say(format_args!(
                            "returned   {} {} by {code}: not its business (退单)",
                            case.tracking_code, order.category_name
                        ));
                    }
                    Err(status) => {
                        self.ledger.update(&case.case_id, |c| {
                            c.returned_by.retain(|returned| returned != code);
                        });
                        self.fail(format_args!(
                            "{who} returning {}: {}",
                            case.tracking_code,
                            status_text(&status)
                        ));
                    }
                }
                return;
            }
        }

        let now = now_ms();
        let pace = if first && matches!(handler, Handler::Department(_)) {
            choose_pace(&mut rng, &temperament, &order, now)
        } else {
            Pace::OnTime
        };
        let accept_at = match pace {
            Pace::LateAccept => order.accept_deadline_ms + rng.millis(300, 1000) as i64,
            Pace::Slow => {
                case.reported_at_ms
                    + ((order.accept_deadline_ms - case.reported_at_ms) as f64 * 0.9) as i64
            }
            Pace::OnTime | Pace::LateResolve => {
                now + capped(rng.millis(150, 700), order.accept_deadline_ms - now, 0.5)
            }
        };
        match pace {
            Pace::LateAccept | Pace::LateResolve => self.ledger.count(|c| c.late += 1),
            Pace::Slow => self.ledger.count(|c| c.slow += 1),
            Pace::OnTime => {}
        }
        if pace == Pace::LateAccept {
            self.say(format_args!(
                "late       {} {}: {who} lets the accept deadline pass",
                case.tracking_code, order.category_name
            ));
        }
        sleep_until_ms(accept_at).await;
        let accepted = dispatch
            .clone()
            .accept(dispatch_pb::AcceptRequest {
                actor: Some(act("accept")),
            })
            .await;
        if let Err(status) = accepted {
            return self.fail(format_args!(
                "{who} accepting {}: {}",
                case.tracking_code,
                status_text(&status)
            ));
        }
        self.ledger.count(|c| c.accepted += 1);
        if matches!(handler, Handler::Worker(_)) {
            self.ledger.count(|c| c.self_handled += 1);
        }

        if rng.chance(0.6) {
            sleep_ms(rng.millis(100, 400)).await;
            let request = dispatch_pb::ReportProgressRequest {
                actor: Some(act("progress")),
                note: rng.pick(PROGRESS_NOTES).to_string(),
            };
            if let Err(status) = dispatch.clone().report_progress(request).await {
                return self.fail(format_args!(
                    "{who} reporting progress on {}: {}",
                    case.tracking_code,
                    status_text(&status)
                ));
            }
        }

        let mut resolve_deadline = order.resolve_deadline_ms;
        if first
            && matches!(handler, Handler::Department(_))
            && pace == Pace::OnTime
            && resolve_deadline > now_ms()
            && rng.chance(temperament.postpones)
        {
            if let Some(until) = self.postpone(&handler, &case, &order, &mut rng).await {
                resolve_deadline = until;
            }
        }
        let now = now_ms();
        let resolve_at = if pace == Pace::LateResolve {
            self.say(format_args!(
                "late       {} {}: {who} lets the resolve deadline pass",
                case.tracking_code, order.category_name
            ));
            resolve_deadline + rng.millis(300, 1000) as i64
        } else {
            now + capped(rng.millis(300, 1500), resolve_deadline - now, 0.6)
        };
        sleep_until_ms(resolve_at).await;
        let note = self.resolution_note(&handler, &order);
        self.resolve(&handler, &case, &order, act("resolve"), note)
            .await;
    }

    fn resolution_note(&self, handler: &Handler, order: &WorkOrder) -> String {
        match handler {
            Handler::Department(code) => resolve_note(code, &order.category_name),
            Handler::Worker(_) => format!("{}：网格员已现场处置，已整改到位", order.category_name),
        }
    }

    /// Asks for more time and has the supervisor decide; the new deadline if approved.
    async fn postpone(
        &self,
        handler: &Handler,
        case: &Tracked,
        order: &WorkOrder,
        rng: &mut Rng,
    ) -> Option<i64> {
        let span = (order.resolve_deadline_ms - case.reported_at_ms).max(1000);
        let until = order.resolve_deadline_ms + span / 2;
        let request = dispatch_pb::RequestPostponementRequest {
            actor: Some(handler.actor(&case.case_id, self.request_id(case, "postpone"))),
            until_ms: until,
            reason: rng.pick(POSTPONE_REASONS).to_string(),
        };
        if let Err(status) = self
            .api
            .dispatch(&handler.who())
            .request_postponement(request)
            .await
        {
            self.fail(format_args!(
                "asking to postpone {}: {}",
                case.tracking_code,
                status_text(&status)
            ));
            return None;
        }
        self.ledger.count(|c| c.postponements += 1);
        sleep_ms(rng.millis(200, 600)).await;
        let approve = rng.chance(0.75);
        let mut supervision = self.api.supervision();
        let decided = if approve {
            supervision
                .approve_postponement(supervision_pb::ApprovePostponementRequest {
                    case_id: case.case_id.clone(),
                    request_id: self.request_id(case, "approve"),
                })
                .await
        } else {
            supervision
                .refuse_postponement(supervision_pb::RefusePostponementRequest {
                    case_id: case.case_id.clone(),
                    reason: "延期理由不充分，请按原时限办结".to_owned(),
                    request_id: self.request_id(case, "refuse"),
                })
                .await
        };
        match decided {
            Ok(_) => {
                self.say(format_args!(
                    "postponed  {} {}: the supervisor {} (延期)",
                    case.tracking_code,
                    order.category_name,
                    if approve { "approves" } else { "refuses" }
                ));
                approve.then_some(until)
            }
            Err(status) => {
                self.fail(format_args!(
                    "deciding the postponement of {}: {}",
                    case.tracking_code,
                    status_text(&status)
                ));
                None
            }
        }
    }

    async fn resolve(
        self: &Arc<Self>,
        handler: &Handler,
        case: &Tracked,
        order: &WorkOrder,
        actor: dispatch_pb::Actor,
        note: String,
    ) {
        let request = dispatch_pb::ResolveRequest {
            actor: Some(actor),
            note,
            evidence_urls: vec![format!(
                "https://media.example.cn/evidence/{}/{}.jpg",
                self.run, order.work_order_id
            )],
        };
        if let Err(status) = self.api.dispatch(&handler.who()).resolve(request).await {
            return self.fail(format_args!(
                "resolving {}: {}",
                case.tracking_code,
                status_text(&status)
            ));
        }
        self.ledger.count(|c| c.resolved += 1);
        let day = Arc::clone(self);
        let handler = handler.clone();
        let case_id = case.case_id.clone();
        self.spawn(async move { day.verify(case_id, handler).await });
    }

    // --- on-site checks and ratings ---

    async fn verify(self: Arc<Self>, case_id: String, handler: Handler) {
        let Some(case) = self.ledger.update(&case_id, |case| {
            case.resolutions += 1;
            case.clone()
        }) else {
            return;
        };
        let mut rng = self.rng(&case, &format!("check{}", case.resolutions));
        sleep_ms(rng.millis(300, 1000)).await;
        let Some(verifier) = self.verifier(&case, &handler) else {
            return self.fail(format_args!(
                "no grid worker to check {}",
                case.tracking_code
            ));
        };
        let sloppy = match &handler {
            Handler::Department(code) => Temperament::of(code).sloppy,
            Handler::Worker(_) => WORKER_SLOPPY,
        };
        let passed = case.reworked || !rng.chance(sloppy);
        if !passed {
            self.ledger.update(&case_id, |case| {
                case.rework_pending = true;
                case.reworked = true;
            });
        }
        let request = evaluation_pb::VerifyCaseRequest {
            case_id: case_id.clone(),
            passed,
            note: if passed {
                "现场核查：已整改到位".to_owned()
            } else {
                rng.pick(REWORK_NOTES).to_string()
            },
            request_id: self.request_id(&case, &format!("check{}", case.resolutions)),
        };
        let checked = self
            .api
            .evaluation(&worker_key(&verifier))
            .verify_case(request)
            .await;
        match checked {
            Ok(_) if passed => {
                let day = Arc::clone(&self);
                self.spawn(async move { day.rate(case_id).await });
            }
            Ok(_) => {
                self.ledger.count(|c| c.reworked += 1);
                self.say(format_args!(
                    "rework     {} {}: {verifier} finds it not fixed on site (返工)",
                    case.tracking_code,
                    self.category_name(&case.category)
                ));
            }
            Err(status) => {
                if !passed {
                    self.ledger
                        .update(&case_id, |case| case.rework_pending = false);
                }
                self.fail(format_args!(
                    "checking {} on site: {}",
                    case.tracking_code,
                    status_text(&status)
                ));
            }
        }
    }

    /// A grid worker of the case's grid, another than the one who settled it if there is one.
    fn verifier(&self, case: &Tracked, handler: &Handler) -> Option<String> {
        let grid = GridCode::parse(&case.grid).ok()?;
        let workers = self.reference.workers_of(&grid);
        let settled_by = match handler {
            Handler::Worker(id) => WorkerId::parse(id).ok(),
            Handler::Department(_) => None,
        };
        workers
            .iter()
            .find(|worker| Some(&worker.id) != settled_by.as_ref())
            .or_else(|| workers.first())
            .map(|worker| worker.id.to_string())
    }

    async fn rate(self: Arc<Self>, case_id: String) {
        let Some(case) = self.ledger.get(&case_id) else {
            return;
        };
        let mut rng = self.rng(&case, &format!("rating{}", case.resolutions));
        sleep_ms(rng.millis(300, 1000)).await;
        let mut evaluation = self.api.evaluation(OPERATOR);
        // Nobody to call back for an anonymous call or a grid worker's own find.
        if case.anonymous || case.by_worker {
            let closed = evaluation
                .close_case(evaluation_pb::CloseCaseRequest {
                    case_id: case_id.clone(),
                    request_id: self.request_id(&case, "close"),
                })
                .await;
            return match closed {
                Ok(_) => self.ledger.finish(&case_id, Finish::Closed),
                Err(status) => self.fail(format_args!(
                    "closing {}: {}",
                    case.tracking_code,
                    status_text(&status)
                )),
            };
        }
        let resolved = case.reopened || !rng.chance(NOT_RESOLVED);
        let satisfied = resolved && rng.chance(0.9);
        let score = match (resolved, satisfied) {
            (true, true) => 4 + rng.below(2) as u32,
            (true, false) => 3,
            _ => 1 + rng.below(2) as u32,
        };
        let comment = if resolved {
            rng.pick(RATING_COMMENTS)
        } else {
            rng.pick(UNRESOLVED_COMMENTS)
        };
        let request = evaluation_pb::RecordRatingRequest {
            case_id: case_id.clone(),
            resolved,
            satisfied,
            score,
            comment: comment.to_string(),
            request_id: self.request_id(&case, &format!("rating{}", case.resolutions)),
        };
        match evaluation.record_rating(request).await {
            Ok(reply) if reply.get_ref().status == "closed" => {
                self.ledger.finish(&case_id, Finish::Closed);
            }
            Ok(_) => {
                self.ledger.update(&case_id, |case| case.reopened = true);
                self.ledger.count(|c| c.reopened += 1);
                self.say(format_args!(
                    "reopened   {} {}: the resident says \"{comment}\" (重办)",
                    case.tracking_code,
                    self.category_name(&case.category)
                ));
            }
            Err(status) => self.fail(format_args!(
                "rating {}: {}",
                case.tracking_code,
                status_text(&status)
            )),
        }
    }

    // --- the manual queue and the supervisor ---

    /// The hotline operator works the manual triage queue: classifies the vague calls,
    /// re-routes cases every department returned and rejects questions outside the remit.
    async fn operator_desk(self: Arc<Self>) {
        loop {
            sleep_ms(400).await;
            let listed = self
                .api
                .triage()
                .list_manual_queue(triage_pb::ListManualQueueRequest {
                    grid_code: String::new(),
                    limit: 200,
                })
                .await;
            let queue = match listed {
                Ok(reply) => reply.into_inner().cases,
                Err(status) => {
                    self.fail(format_args!(
                        "listing the manual queue: {}",
                        status_text(&status)
                    ));
                    continue;
                }
            };
            for queued in queue {
                let fresh = self.ledger.update(&queued.case_id, |case| {
                    let recent = case
                        .triaged_by_hand
                        .is_some_and(|at| at.elapsed() < Duration::from_secs(3));
                    if recent || case.finished.is_some() {
                        None
                    } else {
                        case.triaged_by_hand = Some(Instant::now());
                        Some(case.clone())
                    }
                });
                if let Some(Some(case)) = fresh {
                    self.triage_by_hand(&case, &queued).await;
                }
            }
        }
    }

    async fn triage_by_hand(&self, case: &Tracked, queued: &triage_pb::QueuedCase) {
        let mut triage = self.api.triage();
        let step = format!("manual{}", case.orders);
        if case.kind == Kind::OutOfScope {
            let rejected = triage
                .reject_case(triage_pb::RejectCaseRequest {
                    case_id: case.case_id.clone(),
                    reason: "非网格事项，已告知来电人向相关服务热线咨询".to_owned(),
                    request_id: self.request_id(case, &step),
                })
                .await;
            return match rejected {
                Ok(_) => {
                    self.ledger.finish(&case.case_id, Finish::Rejected);
                    self.say(format_args!(
                        "rejected   {} by the operator: outside the grid's remit",
                        case.tracking_code
                    ));
                }
                Err(status) => self.fail(format_args!(
                    "rejecting {}: {}",
                    case.tracking_code,
                    status_text(&status)
                )),
            };
        }
        let category = if case.category.is_empty() {
            queued
                .suggested_categories
                .first()
                .cloned()
                .unwrap_or_default()
        } else {
            case.category.clone()
        };
        // The rules route a case they could not classify; a case every owner returned goes to
        // a department that has not returned it.
        let route = if queued.reason.starts_with("no confident category") {
            None
        } else {
            ["urban_mgmt", "housing", "public_security", "civil_affairs"]
                .into_iter()
                .filter(|code| {
                    gridcase_domain::DepartmentCode::parse(code)
                        .is_ok_and(|parsed| self.reference.department(&parsed).is_some())
                })
                .find(|code| !case.returned_by.iter().any(|returned| returned == code))
                .map(|code| triage_pb::triage_case_request::Route::Department(code.to_owned()))
        };
        let routed_by_hand = route.is_some();
        let request = triage_pb::TriageCaseRequest {
            case_id: case.case_id.clone(),
            category_code: category.clone(),
            priority: String::new(),
            route,
            request_id: self.request_id(case, &step),
        };
        match triage.triage_case(request).await {
            Ok(reply) => {
                self.ledger.count(|c| c.manual += 1);
                let reply = reply.into_inner();
                self.say(format_args!(
                    "by hand    {} {} → {} ({})",
                    case.tracking_code,
                    self.category_name(&category),
                    reply.route,
                    if routed_by_hand {
                        "every owner returned it"
                    } else {
                        "too vague for the rules"
                    }
                ));
            }
            Err(status) => self.fail(format_args!(
                "triaging {} by hand: {}",
                case.tracking_code,
                status_text(&status)
            )),
        }
    }

    /// The supervisor looks at the overdue list and urges a few of the day's cases (督办).
    async fn supervisor_desk(self: Arc<Self>, most: usize) {
        let mut urged = 0;
        while urged < most {
            sleep_ms(1500).await;
            let listed = self
                .api
                .query()
                .list_cases(query_pb::ListCasesRequest {
                    overdue_only: true,
                    page_size: 100,
                    ..Default::default()
                })
                .await;
            let overdue = match listed {
                Ok(reply) => reply.into_inner().cases,
                Err(status) => {
                    self.fail(format_args!(
                        "listing overdue cases: {}",
                        status_text(&status)
                    ));
                    continue;
                }
            };
            for summary in overdue {
                if urged >= most {
                    break;
                }
                let case = self.ledger.update(&summary.case_id, |case| {
                    (!case.urged && case.finished.is_none()).then(|| {
                        case.urged = true;
                        case.clone()
                    })
                });
                let Some(Some(case)) = case else { continue };
                let request = supervision_pb::UrgeCaseRequest {
                    case_id: case.case_id.clone(),
                    note: "请立即处置并反馈，逾期将通报".to_owned(),
                    request_id: self.request_id(&case, "urge"),
                };
                match self.api.supervision().urge_case(request).await {
                    Ok(_) => {
                        urged += 1;
                        self.ledger.count(|c| c.urged += 1);
                        self.say(format_args!(
                            "urged      {} {} at {} by the supervisor (督办)",
                            case.tracking_code,
                            self.category_name(&case.category),
                            summary.assignee
                        ));
                    }
                    // It moved on (resolved, closed) between the list and the urge.
                    Err(status) if status.code() == Code::FailedPrecondition => {}
                    Err(status) => self.fail(format_args!(
                        "urging {}: {}",
                        case.tracking_code,
                        status_text(&status)
                    )),
                }
            }
        }
    }

    /// Notes the day's cases triage merged into an earlier report.
    async fn watch_merges(self: Arc<Self>, since_ms: i64) {
        loop {
            sleep_ms(1000).await;
            let mut page_token = String::new();
            loop {
                let listed = self
                    .api
                    .query()
                    .list_cases(query_pb::ListCasesRequest {
                        status: "merged".to_owned(),
                        page_size: 200,
                        page_token: page_token.clone(),
                        ..Default::default()
                    })
                    .await;
                let reply = match listed {
                    Ok(reply) => reply.into_inner(),
                    Err(status) => {
                        self.fail(format_args!(
                            "listing merged cases: {}",
                            status_text(&status)
                        ));
                        break;
                    }
                };
                let mut older = false;
                for summary in &reply.cases {
                    older |= summary.reported_at_ms < since_ms;
                    let open = self
                        .ledger
                        .get(&summary.case_id)
                        .is_some_and(|case| case.finished.is_none());
                    if open {
                        self.ledger.finish(&summary.case_id, Finish::Merged);
                    }
                }
                // Newest first: once older cases show, the day's are all seen.
                if older || reply.next_page_token.is_empty() {
                    break;
                }
                page_token = reply.next_page_token;
            }
        }
    }

    fn print_progress(&self, planned: usize) {
        let c = self.ledger.counts();
        self.say(format_args!(
            "reported {}/{planned} · open {} · closed {} · merged {} · rejected {} · \
             returned {} · reworked {} · reopened {} · late {} · urged {}",
            c.reported,
            self.ledger.open(),
            c.closed,
            c.merged,
            c.rejected,
            c.returned,
            c.reworked,
            c.reopened,
            c.late,
            c.urged
        ));
    }

    // --- the results ---

    /// Prints the board, the department ranking and the summary, once the query service has
    /// caught up with the store. `finished`: every case of the day came to an end, so the
    /// demo's own count of closed cases must match the system's.
    async fn print_results(&self, day_start_ms: i64, finished: bool) -> anyhow::Result<()> {
        let head = self
            .api
            .store_admin()
            .stats(StatsRequest {})
            .await
            .map_err(|s| anyhow::anyhow!("reading the store's figures: {}", status_text(&s)))?
            .into_inner()
            .events;
        let started = Instant::now();
        let board = loop {
            let board = self
                .api
                .query()
                .board(query_pb::BoardRequest {})
                .await
                .map_err(|s| anyhow::anyhow!("reading the board: {}", status_text(&s)))?
                .into_inner();
            if board.caught_up_to >= head || started.elapsed() > Duration::from_secs(10) {
                break board;
            }
            sleep_ms(100).await;
        };
        println!();
        println!("the board — cases per street and community, by stage, status and colour");
        println!("{}", board_table(&self.reference, &board).render());

        let indicators = self
            .api
            .evaluation(SUPERVISOR)
            .department_indicators(evaluation_pb::DepartmentIndicatorsRequest {
                from_ms: day_start_ms,
                to_ms: now_ms() + 1,
            })
            .await
            .map_err(|s| anyhow::anyhow!("reading the indicators: {}", status_text(&s)))?
            .into_inner();
        println!();
        println!(
            "the department ranking — indicators of the day's cases ({} events read)",
            indicators.events_read
        );
        println!(
            "{}",
            ranking_table(&self.reference, &indicators.departments, self.clock).render()
        );
        println!(
            "  ranked: departments with at least {} cases due; the others are listed unranked (—)",
            self.reference.indicator_settings().min_cases_for_ranking
        );
        if self.clock.compressed {
            println!(
                "  times to close in hours on the demo's clock (1 h = {} ms); — where nothing \
                 counts towards a rate",
                self.clock.hour_ms
            );
        } else {
            println!("  times to close in minutes; — where nothing counts towards a rate");
        }

        println!();
        println!("the day in figures");
        let summary = self.summary(finished).await?;
        print!("{summary}");
        Ok(())
    }

    /// The day told from the cases' timelines in the query service.
    async fn summary(&self, finished: bool) -> anyhow::Result<String> {
        let cases = self.ledger.all();
        let query = self.api.query();
        let timelines: Vec<Result<query_pb::GetCaseReply, Status>> =
            futures::stream::iter(cases.iter().map(|case| {
                let mut query = query.clone();
                let case_id = case.case_id.clone();
                async move {
                    query
                        .get_case(query_pb::GetCaseRequest { case_id })
                        .await
                        .map(tonic::Response::into_inner)
                }
            }))
            .buffered(8)
            .collect()
            .await;
        let mut events: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        let mut self_handled = 0;
        for (case, reply) in cases.iter().zip(timelines) {
            let reply = reply.map_err(|s| {
                anyhow::anyhow!("reading case {}: {}", case.tracking_code, status_text(&s))
            })?;
            if let Some(summary) = &reply.case {
                *statuses.entry(summary.status.clone()).or_default() += 1;
            }
            let mut seen: HashSet<&str> = HashSet::new();
            for entry in &reply.timeline {
                let counts = events.entry(entry.event_type.clone()).or_default();
                counts.1 += 1;
                if seen.insert(&entry.event_type) {
                    counts.0 += 1;
                }
            }
            if reply
                .timeline
                .iter()
                .any(|entry| entry.summary.starts_with("dispatched to worker"))
            {
                self_handled += 1;
            }
        }
        let ours = self.ledger.counts();
        let closed = statuses.get("closed").copied().unwrap_or_default();
        anyhow::ensure!(
            !finished || closed == ours.closed,
            "the query service shows {closed} closed cases, the demo closed {}",
            ours.closed
        );
        let cases_with = |event: &str| events.get(event).copied().unwrap_or_default();
        let by_worker = cases.iter().filter(|case| case.by_worker).count();
        let still_open = cases.len()
            - closed
            - statuses.get("merged").copied().unwrap_or_default()
            - statuses.get("rejected").copied().unwrap_or_default();
        let mut table = Table::new(&["", "cases", "events", ""]);
        let mut line = |what: &str, (cases, events): (usize, usize), note: String| {
            table.row(vec![
                what.to_owned(),
                cases.to_string(),
                if events == 0 {
                    String::new()
                } else {
                    events.to_string()
                },
                note,
            ]);
        };
        line(
            "reported",
            (cases.len(), 0),
            format!(
                "{} by hotline, {by_worker} by grid workers",
                cases.len() - by_worker
            ),
        );
        line(
            "merged as repeats",
            cases_with("CaseMerged"),
            "same problem, same place (重复件)".to_owned(),
        );
        line(
            "triaged by hand",
            (ours.manual, 0),
            "vague calls and cases every owner returned".to_owned(),
        );
        line(
            "rejected",
            cases_with("CaseRejected"),
            "outside the grid's remit".to_owned(),
        );
        line(
            "self-handled",
            (self_handled, 0),
            "settled on the spot by grid workers (自办自结)".to_owned(),
        );
        line(
            "returned",
            cases_with("DispatchReturned"),
            "not the department's business (退单)".to_owned(),
        );
        line(
            "postponed",
            cases_with("PostponementApproved"),
            format!(
                "approved of {} asked (延期)",
                cases_with("PostponementRequested").1
            ),
        );
        line(
            "reworked",
            cases_with("VerificationFailed"),
            "failed the on-site check (返工)".to_owned(),
        );
        line(
            "reopened",
            cases_with("CaseReopened"),
            "the resident said not resolved (重办)".to_owned(),
        );
        line(
            "warned",
            cases_with("DeadlineWarned"),
            "past a warning point (黄灯预警)".to_owned(),
        );
        line(
            "breached",
            cases_with("DeadlineBreached"),
            "past a deadline (红灯超时)".to_owned(),
        );
        line(
            "escalated",
            cases_with("CaseEscalated"),
            "up the grid hierarchy (逐级督办)".to_owned(),
        );
        line(
            "urged",
            cases_with("CaseUrged"),
            "by the supervisor (督办)".to_owned(),
        );
        line("closed", (closed, 0), "结案".to_owned());
        line("still open", (still_open, 0), String::new());
        Ok(table.render())
    }
}

/// How a department paces a first dispatch, by its temperament and the deadlines in reach.
fn choose_pace(rng: &mut Rng, temperament: &Temperament, order: &WorkOrder, now: i64) -> Pace {
    let in_reach = |deadline: i64| deadline > now && deadline - now < LATE_HORIZON_MS;
    let draw = rng.unit();
    if draw < temperament.late {
        if in_reach(order.resolve_deadline_ms) && rng.chance(0.5) {
            return Pace::LateResolve;
        }
        if in_reach(order.accept_deadline_ms) {
            return Pace::LateAccept;
        }
        if in_reach(order.resolve_deadline_ms) {
            return Pace::LateResolve;
        }
    } else if draw < temperament.late + temperament.slow && in_reach(order.accept_deadline_ms) {
        return Pace::Slow;
    }
    Pace::OnTime
}

/// `wanted` milliseconds, but at most `fraction` of `left` (when `left` is positive).
fn capped(wanted: u64, left: i64, fraction: f64) -> i64 {
    let wanted = i64::try_from(wanted).unwrap_or(i64::MAX);
    if left > 0 {
        wanted.min((left as f64 * fraction) as i64)
    } else {
        wanted
    }
}

fn status_text(status: &Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// The first `chars` characters of `text`, with … if cut.
fn clip(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        let mut clipped: String = text.chars().take(chars).collect();
        clipped.push('…');
        clipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ReferenceData {
        ReferenceData::load(&gridcase::system::sample_config_dir()).unwrap()
    }

    #[test]
    fn the_cast_checks_against_a_token_table() {
        let reference = sample();
        let cast = Cast::new(&reference).unwrap();
        let table = TokenTable::from_env_value(&cast.env_value()).unwrap();
        assert_eq!(table.len(), cast.len());
        assert!(cast.missing_from(&table).is_empty());
        assert_eq!(cast.missing_from(&TokenTable::new()).len(), cast.len());
    }
}
