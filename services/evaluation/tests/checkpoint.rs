//! The indicator model's checkpoint across a kill -9: the evaluation service runs as its own
//! process with its model in a directory, is killed with SIGKILL while case events keep
//! arriving, and is started again on the same model. It must resume from its checkpoint (not
//! position 0) and then answer every period exactly as the in-process service beside it, which
//! folded the same log in one go without a kill: an event applied twice or skipped would change
//! a count. A model rebuilt from position 0 with `--rebuild` must answer the same too.

use std::sync::Arc;
use std::time::Duration;

use gridcase_config::ReferenceData;
use gridcase_evaluation::EvaluationConfig;
use gridcase_eventstore::{EventStore, ExpectedVersion, NewEvent, RecordedEvent};
use gridcase_proto::evaluation::v1::evaluation_client::EvaluationClient;
use gridcase_proto::evaluation::v1::DepartmentIndicatorsRequest;
use gridcase_testkit::histories::{random_log, HOUR_MS};
use gridcase_testkit::{sample_config_dir, AuthedChannel, ServiceHarness, ServiceProcess};

const EVALUATION_BIN: &str = env!("CARGO_BIN_EXE_gridcase-evaluation");
const CALLER: (&str, &str) = ("supervisor", "supervisor:sup-1");

type Client = EvaluationClient<AuthedChannel>;

async fn harness() -> ServiceHarness {
    ServiceHarness::start("evaluation", |nats, listener, stop| {
        gridcase_evaluation::run(
            EvaluationConfig::new(
                sample_config_dir(),
                gridcase_testkit::token_table(&[CALLER]),
            ),
            nats,
            listener,
            stop,
        )
    })
    .await
}

async fn spawn(h: &ServiceHarness, model: &std::path::Path, rebuild: bool) -> ServiceProcess {
    let args: &[&str] = if rebuild { &["--rebuild"] } else { &[] };
    let config = sample_config_dir();
    ServiceProcess::spawn(h.sandbox(), EVALUATION_BIN, &config, model, CALLER, args).await
}

fn client(process: &ServiceProcess) -> Client {
    EvaluationClient::with_interceptor(process.channel(), gridcase_testkit::bearer(CALLER.0))
}

/// Appends `records` one event per append, as the services append a case's steps.
async fn append(store: &impl EventStore, records: &[RecordedEvent]) {
    for record in records {
        let event = NewEvent {
            event_id: record.event_id,
            event_type: record.event_type.clone(),
            schema_version: record.schema_version,
            metadata: record.metadata.clone(),
            payload: record.payload.clone(),
        };
        store
            .append(&record.stream_id, ExpectedVersion::Any, vec![event])
            .await
            .unwrap();
    }
}

/// The periods asked about: everything, whole hours, and periods cutting hours at both ends.
fn periods(now_ms: i64) -> Vec<(i64, i64)> {
    vec![
        (now_ms - 1_000 * HOUR_MS, now_ms + HOUR_MS),
        (
            now_ms - now_ms % HOUR_MS - 2 * HOUR_MS,
            now_ms - now_ms % HOUR_MS,
        ),
        (now_ms - 30 * 60_000, now_ms + 7_000),
    ]
}

/// Each period's rows (rounded: hours to close may be summed in another order) and the number
/// of events counted.
async fn answers(client: &mut Client, now_ms: i64) -> Vec<String> {
    let mut out = Vec::new();
    for (from_ms, to_ms) in periods(now_ms) {
        let reply = client
            .department_indicators(DepartmentIndicatorsRequest { from_ms, to_ms })
            .await
            .unwrap()
            .into_inner();
        out.push(format!("{reply:.6?}"));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkpoint_survives_kill_9_and_the_model_answers_as_a_fold_from_scratch() {
    let h = harness().await;
    let reference = Arc::new(ReferenceData::load(&sample_config_dir()).unwrap());
    let now_ms = gridcase_runtime::now().as_millis();
    let log = random_log(0xE7A1, 240, &reference, now_ms);
    let (first, rest) = log.split_at(log.len() / 3);
    append(h.store(), first).await;

    let model = h.sandbox().path("evaluation-model");
    let mut process = spawn(&h, &model, false).await;
    let line = process.log_line("the indicator model is built").await;
    assert!(line.contains("new"), "{line}");
    answers(&mut client(&process), now_ms).await;

    // Events keep arriving; the process is killed in the middle of them.
    let (during, after) = rest.split_at(rest.len() / 2);
    let arriving = {
        let store = h.store().clone();
        let during = during.to_vec();
        tokio::spawn(async move { append(&store, &during).await })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    process.kill();
    let head_at_kill = h.store().stats().await.unwrap().events;
    arriving.await.unwrap();
    append(h.store(), after).await;

    let process = spawn(&h, &model, false).await;
    let line = process
        .log_line("the indicator model resumes from its checkpoint")
        .await;
    let start: u64 = line
        .split("start=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok())
        .unwrap_or_else(|| panic!("no start position in {line:?}"));
    assert!(
        start > 0 && start <= head_at_kill,
        "resumed at {start}, the log held {head_at_kill} at the kill"
    );

    let expected = answers(&mut h.client_as("supervisor"), now_ms).await;
    assert!(
        expected.iter().any(|a| a.contains("department")),
        "the histories must reach departments: {expected:?}"
    );
    assert_eq!(answers(&mut client(&process), now_ms).await, expected);
    drop(process);

    let rebuilt = spawn(&h, &model, true).await;
    let line = rebuilt.log_line("the indicator model is built").await;
    assert!(line.contains("asked to rebuild"), "{line}");
    assert_eq!(answers(&mut client(&rebuilt), now_ms).await, expected);
}
