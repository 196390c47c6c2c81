//! The day: everything its actors share, and the play that starts them, waits for the day's
//! cases to finish and prints what came of them.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream::{self, consumer::pull};
use gridcase::rng::Rng;
use gridcase_config::ReferenceData;
use gridcase_domain::GridCode;
use tokio::task::JoinSet;
use tonic::Status;

use super::api::Api;
use super::cast::Cast;
use super::clock::Clock;
use super::ledger::{Ledger, Tracked};
use super::plan::{plan_day, Kind};
use super::DemoArgs;

/// Errors after which the day stops early.
const MAX_FAILURES: usize = 20;

pub(super) fn now_ms() -> i64 {
    gridcase_runtime::now().as_millis()
}

pub(super) async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

pub(super) async fn sleep_until_ms(at_ms: i64) {
    let wait = at_ms.saturating_sub(now_ms());
    if wait > 0 {
        sleep_ms(wait.unsigned_abs()).await;
    }
}

/// Everything the day's actors share.
#[derive(Debug)]
pub(super) struct Day {
    pub(super) api: Api,
    pub(super) reference: ReferenceData,
    pub(super) ledger: Ledger,
    seed: u64,
    /// Distinguishes this run's request ids from an earlier run's on the same system.
    pub(super) run: u64,
    started: Instant,
    pub(super) clock: Clock,
    failures: Mutex<Vec<String>>,
    closing: AtomicBool,
    tasks: Mutex<JoinSet<()>>,
    /// Reports answered, or failed.
    pub(super) reports_settled: AtomicUsize,
    /// Notices received, by kind and whether a leader got them (the rest went to handlers).
    pub(super) notices: Mutex<std::collections::BTreeMap<(i32, bool), usize>>,
}

impl Day {
    pub(super) fn spawn(self: &Arc<Self>, task: impl Future<Output = ()> + Send + 'static) {
        if !self.closing.load(Ordering::Relaxed) {
            self.tasks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .spawn(task);
        }
    }

    pub(super) fn say(&self, line: impl std::fmt::Display) {
        println!("[{:>6.1}s] {line}", self.started.elapsed().as_secs_f64());
    }

    /// Records something that went wrong (ignored once the day is closing).
    pub(super) fn fail(&self, what: impl std::fmt::Display) {
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

    /// Records a call a service refused or failed: what the demo was doing, and the status.
    pub(super) fn failed(&self, doing: impl std::fmt::Display, status: &Status) {
        self.fail(format_args!("{doing}: {}", status_text(status)));
    }

    /// The reply of a call, or `None` with its failure recorded.
    pub(super) fn reply<T>(
        &self,
        doing: impl std::fmt::Display,
        result: Result<tonic::Response<T>, Status>,
    ) -> Option<T> {
        match result {
            Ok(reply) => Some(reply.into_inner()),
            Err(status) => {
                self.failed(doing, &status);
                None
            }
        }
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

    pub(super) fn request_id(&self, case: &Tracked, step: &str) -> String {
        format!("demo-{}-{}-{step}", self.run, case.index)
    }

    pub(super) fn rng(&self, case: &Tracked, step: &str) -> Rng {
        Rng::keyed(self.seed, &format!("{}-{step}", case.index))
    }

    pub(super) fn category_name(&self, code: &str) -> String {
        gridcase_domain::CategoryCode::parse(code)
            .ok()
            .and_then(|code| self.reference.category(&code))
            .map_or_else(|| code.to_owned(), |category| category.name.clone())
    }

    pub(super) fn area_name(&self, code: &str) -> String {
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
pub(super) async fn play(
    args: &DemoArgs,
    reference: ReferenceData,
    classifier: &gridcase_triage::Classifier,
    cast: Cast,
    clock: Clock,
    endpoints: &[String; 8],
    nats_url: &str,
) -> anyhow::Result<()> {
    // The outside app of the Open311 reports holds the first key of the gateway's settings.
    let settings =
        gridcase_gateway::GatewaySettings::load(&gridcase::system::config_dir(args.config.clone()));
    let open311_key = settings
        .ok()
        .and_then(|s| s.open311_keys.first().map(|k| k.key.clone()));
    let api = Api::connect(endpoints, cast, open311_key).await?;
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
        notices: Mutex::default(),
    });
    // However `play` ends (an error, Ctrl-C), the actors stop with it.
    let _stop_actors = StopActors(Arc::clone(&day));
    let day_start_ms = now_ms();
    let window = Duration::from_millis((args.cases as u64 * 80).max(2_000));
    let plan = plan_day(
        &day.reference,
        classifier,
        args.cases,
        args.seed,
        run,
        window,
    );
    let planned = plan.len();
    let explicit = plan.iter().filter(|r| r.explicit_category).count();
    let by_worker = plan.iter().filter(|r| r.worker.is_some()).count();
    let by_member = plan.iter().filter(|r| r.member.is_some()).count();
    let by_hand = plan
        .iter()
        .filter(|r| matches!(r.kind, Kind::Vague | Kind::OutOfScope))
        .count();
    println!(
        "the day: {planned} reports over {:.0} s — {} by hotline, {by_worker} by grid workers, \
         {by_member} by special grid members; \
         {explicit} name a category code, {} are left to triage's model ({}), {by_hand} are \
         for the operators",
        window.as_secs_f64(),
        planned - by_worker - by_member,
        planned - explicit - by_hand,
        classifier.version()
    );

    // Department systems, the grid workers' app and the community and street offices' app
    // read their work orders first.
    let stream = wait_for_stream(&js).await?;
    for department in day.reference.departments() {
        let code = department.code.to_string();
        let durable = gridcase_bus::subjects::department_consumer(&code);
        let consumer = wait_for_consumer(&stream, &durable).await?;
        let desk = Arc::clone(&day);
        day.spawn(async move { desk.read_work_orders(consumer, code).await });
    }
    for (durable, tokens, reader) in [
        ("grid-worker-app", "worker.>", "grid workers"),
        ("community-office-app", "community.>", "community offices"),
        ("street-office-app", "street.>", "street offices"),
        ("leaders-app", "leader.>", "leaders"),
    ] {
        let consumer: jetstream::consumer::Consumer<pull::Config> = stream
            .get_or_create_consumer(
                durable,
                pull::Config {
                    durable_name: Some(durable.to_owned()),
                    filter_subject: gridcase_bus::subjects::dispatch(tokens),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("creating the consumer of the {reader}: {e}"))?;
        let app = Arc::clone(&day);
        day.spawn(async move { app.read_work_orders(consumer, reader.to_owned()).await });
    }
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

    super::points::wait_for_points(&js).await;
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
        match js.get_stream(gridcase_bus::subjects::DISPATCH_STREAM).await {
            Ok(stream) => return Ok(stream),
            Err(e) if started.elapsed() > Duration::from_secs(30) => {
                anyhow::bail!(
                    "the work-order stream {} did not appear: {e}",
                    gridcase_bus::subjects::DISPATCH_STREAM
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

/// The error of a call a service refused or failed: what the demo was doing, and the status.
pub(super) fn status_error(doing: impl std::fmt::Display, status: &Status) -> anyhow::Error {
    anyhow::anyhow!("{doing}: {}", status_text(status))
}

fn status_text(status: &Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}
