//! The triage model's checkpoint across a kill -9: the triage service runs as its own process
//! with its case model in a directory, is killed with SIGKILL while cases keep arriving, and is
//! started again on the same model. It must resume from the checkpoint (not from position 0)
//! with the open cases and the manual queue read back from disk, decide every case exactly
//! once, and hold the same records as a cache folded from the log from scratch — and so must a
//! model rebuilt with `--rebuild`.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gridcase_config::ReferenceData;
use gridcase_domain::{
    CaseId, Channel, Command, Contact, Coordinates, Description, Event, GridCode, Location,
    TrackingCode,
};
use gridcase_eventstore::{EventStore, ReadModelConfig};
use gridcase_proto::triage::v1::triage_client::TriageClient;
use gridcase_proto::triage::v1::ListManualQueueRequest;
use gridcase_testkit::{
    sample_config_dir, wait_until, AuthedChannel, Sandbox, ServiceHarness, ServiceProcess,
};
use gridcase_triage::cache::{CachedCase, CaseCache};
use gridcase_triage::worker::ACTOR;
use gridcase_triage::{Classifier, ClassifierSlot, TriageConfig};

const TRIAGE_BIN: &str = env!("CARGO_BIN_EXE_gridcase-triage");

/// How long a process may take to start (it learns its category model from the corpus) and to
/// decide what it is given.
const WAIT: Duration = Duration::from_secs(60);

/// Grids of the sample city (deploy/config/grid.toml).
const GRID_WITH_WORKERS: &str = "330102-001-001-001";
const MICRO_GRID: &str = "330102-001-001-001-01";
const OTHER_MICRO_GRID: &str = "330102-001-001-002-01";

/// What the rules route, and where.
const ROUTED: &[(&str, &str)] = &[
    (MICRO_GRID, "路灯不亮"),
    (GRID_WITH_WORKERS, "楼下垃圾满了没人管"),
    (OTHER_MICRO_GRID, "楼下餐馆油烟很大，窗户都不敢开"),
];

type Client = TriageClient<AuthedChannel>;

/// The store running in this process; the triage service runs as a child process.
struct Harness {
    service: ServiceHarness,
}

gridcase_testkit::derefs_to_service_harness!(Harness, service);

impl Harness {
    async fn start() -> Self {
        // The in-process service is never started: the child process is the triage service.
        let service =
            ServiceHarness::stopped_in(Sandbox::start(), "triage", |nats, listener, stop| {
                let tokens = gridcase_testkit::token_table(&[("operator", "operator:op-7")]);
                gridcase_triage::run(
                    TriageConfig::new(sample_config_dir(), tokens),
                    nats,
                    listener,
                    stop,
                )
            })
            .await;
        Self { service }
    }

    /// Reports case `id` in `grid` (at `coordinates`), as intake would.
    async fn report(
        &self,
        id: u128,
        grid: &str,
        coordinates: Option<Coordinates>,
        description: &str,
    ) -> CaseId {
        let case = CaseId::from_u128(id);
        let command = Command::Report {
            case_id: case,
            tracking_code: TrackingCode::from_u64(id as u64),
            channel: Channel::Hotline,
            reporter: Contact::Anonymous,
            location: Location::new(Some(GridCode::parse(grid).unwrap()), None, coordinates)
                .unwrap(),
            description: Description::parse(description).unwrap(),
            category: None,
            media: Vec::new(),
            reported_at: gridcase_runtime::now(),
        };
        self.record_as(case, "intake:test", command).await;
        case
    }

    /// The rules' decisions recorded for `case`: its events recorded by triage.
    async fn decisions(&self, case: CaseId) -> Vec<Event> {
        self.load(case)
            .await
            .timeline
            .into_iter()
            .filter(|entry| entry.actor.as_deref() == Some(ACTOR))
            .map(|entry| entry.event)
            .collect()
    }

    /// Waits until the rules have decided every one of `cases`.
    async fn wait_decided(&self, cases: &[CaseId]) {
        for case in cases {
            wait_until(&format!("case {case} to be decided"), WAIT, || async {
                (!self.decisions(*case).await.is_empty()).then_some(())
            })
            .await;
        }
    }

    /// The log from position 0 up to `end` (exclusive).
    async fn log_to(&self, end: u64) -> Vec<gridcase_eventstore::RecordedEvent> {
        let mut log = Vec::new();
        while (log.len() as u64) < end {
            let part = self
                .store()
                .read_all(log.len() as u64, 1_000)
                .await
                .unwrap();
            assert!(!part.is_empty(), "the log ends before {end}");
            log.extend(part);
        }
        log.truncate(usize::try_from(end).unwrap());
        log
    }
}

/// The triage service as a child process; killed with SIGKILL when dropped.
struct TriageProcess {
    process: ServiceProcess,
    client: Client,
}

impl TriageProcess {
    async fn spawn(h: &Harness, model: &Path, rebuild: bool) -> Self {
        let args: &[&str] = if rebuild { &["--rebuild"] } else { &[] };
        let caller = ("operator", "operator:op-7");
        let config = sample_config_dir();
        let process =
            ServiceProcess::spawn(h.sandbox(), TRIAGE_BIN, &config, model, caller, args).await;
        let client =
            TriageClient::with_interceptor(process.channel(), gridcase_testkit::bearer("operator"));
        Self { process, client }
    }

    fn kill(&mut self) {
        self.process.kill();
    }

    /// What the process has logged so far.
    fn log(&self) -> String {
        self.process.log()
    }

    /// The ids of the cases in the manual queue.
    async fn queue(&mut self) -> Vec<String> {
        let reply = self
            .client
            .list_manual_queue(ListManualQueueRequest::default())
            .await
            .unwrap()
            .into_inner();
        reply.cases.into_iter().map(|item| item.case_id).collect()
    }

    /// Waits until the manual queue lists `case`.
    async fn wait_queued(&mut self, case: CaseId) {
        let started = std::time::Instant::now();
        while !self.queue().await.contains(&case.to_string()) {
            assert!(started.elapsed() < WAIT, "case {case} was not queued");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the log holds `line`.
    async fn wait_logged(&self, line: &str) {
        let started = std::time::Instant::now();
        while !self.log().contains(line) {
            assert!(
                started.elapsed() < WAIT,
                "{line:?} not logged:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn reference() -> Arc<ReferenceData> {
    Arc::new(ReferenceData::load(&sample_config_dir()).unwrap())
}

/// The classifier the process uses: the model learnt from the sample corpus (learnt once).
fn corpus_classifier(reference: &ReferenceData) -> Arc<ClassifierSlot> {
    static LEARNT: OnceLock<Classifier> = OnceLock::new();
    let classifier = LEARNT.get_or_init(|| {
        Classifier::from_corpus(
            &sample_config_dir(),
            reference,
            gridcase_triage::DEFAULT_CONFIDENCE,
        )
        .unwrap()
        .expect("a corpus beside the sample reference data")
    });
    Arc::new(ClassifierSlot::new(classifier.clone()))
}

/// The model in `dir`, opened as a process would (it must not be rebuilt); reading it does not
/// classify.
fn open_model(dir: &Path) -> CaseCache {
    let config = ReadModelConfig::new(Some(dir.to_owned()));
    let classifier = Arc::new(ClassifierSlot::new(Classifier::keywords()));
    let cache = CaseCache::open(&config, reference(), classifier).unwrap();
    assert_eq!(cache.rebuilt(), None, "the model was kept");
    cache
}

/// The records of the model a process left in `dir`, and those of a cache folded from
/// scratch to the same position and gone live, as the process had.
async fn records_and_from_scratch(
    h: &Harness,
    dir: &Path,
) -> (Vec<(CaseId, CachedCase)>, Vec<(CaseId, CachedCase)>) {
    let (position, records) = {
        let model = open_model(dir);
        (model.next_position(), model.stored().unwrap())
    };
    let reference = reference();
    let scratch = CaseCache::open(
        &ReadModelConfig::new(None),
        Arc::clone(&reference),
        corpus_classifier(&reference),
    )
    .unwrap();
    scratch.fold(0, &h.log_to(position).await).unwrap();
    scratch.go_live().unwrap();
    assert_eq!(scratch.next_position(), position);
    (records, scratch.stored().unwrap())
}

/// Long enough for sled to write what was committed to disk (it flushes every 500 ms).
async fn let_the_model_flush() {
    tokio::time::sleep(Duration::from_millis(1_500)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkpoint_survives_kill_9_and_every_case_is_decided_once() {
    let h = Harness::start().await;
    let model = h.sandbox().path("triage-model");
    let here = Coordinates::new(30.2533, 120.1622).unwrap();
    let near = Coordinates::new(30.2535, 120.1622).unwrap();
    let mut next_id = 0x7e_0000_u128;
    let mut routed = Vec::new();
    for (grid, words) in ROUTED.iter().cycle().take(9) {
        next_id += 1;
        routed.push(h.report(next_id, grid, None, words).await);
    }
    // An original for a duplicate reported after the restart, and a case the rules leave to an
    // operator.
    let original = h
        .report(0x7e_a001, OTHER_MICRO_GRID, Some(here), "红绿灯坏了")
        .await;
    let waiting = h
        .report(
            0x7e_a002,
            MICRO_GRID,
            None,
            "小区里那个转腰的健身器材轴承坏了，转起来咯吱咯吱响",
        )
        .await;

    let mut triage = TriageProcess::spawn(&h, &model, false).await;
    triage.wait_logged("built from the start of the log").await;
    h.wait_decided(&routed).await;
    h.wait_decided(&[original]).await;
    triage.wait_queued(waiting).await;
    let original_decided_at = h
        .store()
        .read_stream(&gridcase_casestore::stream_name(original), 0, 100)
        .await
        .unwrap()
        .last()
        .unwrap()
        .position;
    let_the_model_flush().await;

    // Cases keep arriving; the process is killed part way and misses the rest.
    for round in 0..30 {
        let (grid, words) = ROUTED[round % ROUTED.len()];
        next_id += 1;
        routed.push(h.report(next_id, grid, None, words).await);
        if round == 12 {
            triage.kill();
            // What it left on disk: a checkpoint past the original's decision, the original
            // among the open cases and the waiting case in the queue's index.
            let left = open_model(&model);
            assert!(
                left.next_position() > original_decided_at,
                "checkpoint {} not past {original_decided_at}",
                left.next_position()
            );
            assert!(left.in_memory(original));
            let queued: Vec<Option<CaseId>> = left
                .awaiting_triage(None)
                .iter()
                .map(|cached| cached.state.case_id)
                .collect();
            assert!(queued.contains(&Some(waiting)), "{queued:?}");
        }
    }

    let mut triage = TriageProcess::spawn(&h, &model, false).await;
    triage
        .wait_logged("the triage model resumes from its checkpoint")
        .await;
    assert!(
        !triage.log().contains("built from the start of the log"),
        "{}",
        triage.log()
    );
    h.wait_decided(&routed).await;
    // The original comes back from disk: a repeat of it nearby is merged into it.
    let repeat = h
        .report(0x7e_a003, MICRO_GRID, Some(near), "路口信号灯不亮")
        .await;
    h.wait_decided(&[repeat]).await;
    assert_eq!(h.state(repeat).await.merged_into, Some(original));
    assert!(triage.queue().await.contains(&waiting.to_string()));

    // Every case decided exactly once; the one left to an operator queued once, with its
    // deadline, across the kill.
    for case in routed.iter().chain([&original, &repeat]) {
        let decisions = h.decisions(*case).await;
        assert_eq!(decisions.len(), 1, "case {case}: {decisions:?}");
        assert!(
            matches!(decisions[0], Event::CaseTriaged(_) | Event::CaseMerged(_)),
            "case {case}: {decisions:?}"
        );
    }
    let queued_once = h.decisions(waiting).await;
    assert!(
        matches!(queued_once.as_slice(), [Event::QueuedForOperator(_)]),
        "{queued_once:?}"
    );

    // The resumed model holds what folding the log from scratch gives.
    let_the_model_flush().await;
    triage.kill();
    let (resumed, scratch) = records_and_from_scratch(&h, &model).await;
    assert_eq!(resumed.len(), routed.len() + 3);
    assert_eq!(resumed, scratch);

    // And so does a model rebuilt from position 0.
    let mut rebuilt = TriageProcess::spawn(&h, &model, true).await;
    rebuilt.wait_logged("built from the start of the log").await;
    assert!(
        rebuilt.log().contains("asked to rebuild"),
        "{}",
        rebuilt.log()
    );
    rebuilt.wait_logged("case cache caught up").await;
    rebuilt.wait_queued(waiting).await;
    let_the_model_flush().await;
    rebuilt.kill();
    let (records, scratch) = records_and_from_scratch(&h, &model).await;
    assert_eq!(records, scratch);
    assert_eq!(records, resumed);
    h.service.shut_down().await;
}
