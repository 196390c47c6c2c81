//! The timer table's checkpoint across a kill -9: the supervision service runs as its own
//! process with its model in a directory, is killed with SIGKILL while cases keep arriving and
//! its timers fire, and is started again on the same model. It must resume from its checkpoint
//! (not position 0), and every accept deadline must end up warned, breached and escalated
//! exactly once — a table that applied an event twice would climb a rung too many, one that
//! skipped events would miss deadlines — and the model it leaves must hold, up to its
//! checkpoint, exactly every case's state and the schedule that folding the log gives.
//! Deadlines that passed while it was down are breached after the restart without a warning,
//! as the ticker does. A table rebuilt from position 0 with `--rebuild` then finds nothing
//! left to record.

use std::path::Path;

use std::collections::BTreeMap;
use std::sync::Arc;

use gridcase_config::ReferenceData;
use gridcase_domain::{apply, CaseState};
use gridcase_eventstore::{EventStore, ReadModelConfig};
use gridcase_rules::deadlines::next_due;
use gridcase_supervision::CaseTable;
use gridcase_testkit::ServiceProcess;

use super::*;

const SUPERVISION_BIN: &str = env!("CARGO_BIN_EXE_gridcase-supervision");

/// From report to accept deadline of the cases made while the service runs or is briefly down,
/// as the gas policy of this test says: their warning point comes half way, so the five
/// seconds before the deadline are enough for the warning to be recorded even when a restart
/// falls in them.
const SPAN_MS: i64 = 10_000;

/// The supervision service as a child process (ticking every 50 ms); killed with SIGKILL when
/// dropped.
struct SupervisionProcess(ServiceProcess);

impl SupervisionProcess {
    async fn spawn(h: &Harness, model: &Path, rebuild: bool) -> Self {
        let mut args = vec!["--tick-ms", "50"];
        if rebuild {
            args.push("--rebuild");
        }
        let config = h.sandbox().path("config");
        let caller = ("sup", "supervisor:sup-1");
        let process =
            ServiceProcess::spawn(h.sandbox(), SUPERVISION_BIN, &config, model, caller, &args)
                .await;
        Self(process)
    }

    fn kill(&mut self) {
        self.0.kill();
    }

    /// The first line of the process's log that holds `text`, once it does.
    async fn log_line(&self, text: &str) -> String {
        plain(&self.0.log_line(text).await)
    }
}

/// `text` without ANSI colour sequences.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of the field `name` in a log line (`name=value`).
fn field(line: &str, name: &str) -> Option<u64> {
    let at = line.find(&format!("{name}="))? + name.len() + 1;
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// (warnings, breaches, escalations) of `case`'s accept deadline in the store.
async fn actions(h: &Harness, case: CaseId) -> (usize, usize, usize) {
    let loaded = h.cases.load(case).await.unwrap();
    (
        count(&loaded, is_warned),
        count(&loaded, is_breached),
        count(&loaded, is_escalated),
    )
}

/// The model in `model`, opened in this process (the service process is gone).
fn open_model(h: &Harness, model: &Path) -> CaseTable {
    let reference = ReferenceData::load(&h.sandbox().path("config")).unwrap();
    let config = ReadModelConfig::new(Some(model.to_owned()));
    let table = CaseTable::open(&config, Arc::new(reference)).unwrap();
    assert_eq!(table.rebuilt(), None, "the model resumes");
    table
}

/// Every case's state and the schedule, folded in memory from the log below `position`.
async fn fold_from_scratch(
    h: &Harness,
    position: u64,
    table: &CaseTable,
) -> (BTreeMap<CaseId, CaseState>, Vec<(i64, CaseId)>) {
    let reference = ReferenceData::load(&h.sandbox().path("config")).unwrap();
    let mut states: BTreeMap<CaseId, CaseState> = BTreeMap::new();
    let mut read = 0;
    while read < position {
        let events = h.store().read_all(read, 1_000).await.unwrap();
        assert!(!events.is_empty(), "the log holds position {read}");
        for record in events.iter().filter(|r| r.position < position) {
            let Ok(case) = CaseId::parse(&record.stream_id) else {
                continue;
            };
            if let Ok(event) = gridcase_casestore::decode(case, record) {
                let state = states.entry(case).or_default();
                *state = apply(std::mem::take(state), &event);
            }
        }
        read = events.last().unwrap().position + 1;
    }
    let mut schedule: Vec<(i64, CaseId)> = states
        .iter()
        .filter_map(|(case, state)| Some((next_due(state, &reference)?.as_millis(), *case)))
        .collect();
    schedule.sort();
    assert_eq!(table.scheduled(), schedule.len());
    (states, schedule)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkpoint_survives_kill_9_and_every_deadline_is_acted_on_once() {
    // Warnings half way to the deadline, for room on either side of a restart.
    let mut h = Harness::stopped_with(6, |config| set_gas_policy(config, "10s", 0.5)).await;
    let model = h.sandbox().path("supervision-model");
    let mut process = SupervisionProcess::spawn(&h, &model, false).await;
    let line = process.log_line("the timer table is built").await;
    assert!(line.contains("new"), "{line}");

    // (case, whether a running service will have seen its warning point)
    let mut cases: Vec<(CaseId, bool)> = Vec::new();
    // Cases arrive while the process runs; it is killed once it has recorded warnings (and
    // folded them), in the middle of the arrivals, which go on while it is down.
    let killed_at = loop {
        cases.push((h.dispatched_case(SPAN_MS, 10 * HOUR_MS).await, true));
        if cases.len() >= 12 && actions(&h, cases[0].0).await.0 == 1 {
            process.kill();
            break h.events().await;
        }
        assert!(cases.len() < 100, "the first case was never warned");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };

    // While it is down: cases whose warning point and deadline both pass before it is back.
    let mut passed = Vec::new();
    for n in 0..5 {
        passed.push(h.dispatched_case(300 + 100 * n, 10 * HOUR_MS).await);
    }
    cases.push((h.dispatched_case(SPAN_MS, 10 * HOUR_MS).await, true));
    let last_deadline = h.state(passed[4]).await.accept_deadline.unwrap();
    wait_until("the deadlines to pass while it is down", WAIT, || async {
        (now() > last_deadline.plus_millis(200)).then_some(())
    })
    .await;
    cases.extend(passed.iter().map(|case| (*case, false)));

    let process = SupervisionProcess::spawn(&h, &model, false).await;
    let line = process
        .log_line("the timer table resumes from its checkpoint")
        .await;
    let start = field(&line, "start").unwrap_or_else(|| panic!("a start in {line}"));
    assert!(
        start > 0 && start <= killed_at,
        "resumed at {start}, killed with {killed_at} events in the store: {line}"
    );
    for _ in 0..4 {
        cases.push((h.dispatched_case(SPAN_MS, 10 * HOUR_MS).await, true));
    }

    for (case, _) in &cases {
        h.wait_for(*case, "a breach and an escalation", |l| {
            count(l, is_breached) >= 1 && count(l, is_escalated) >= 1
        })
        .await;
    }
    // Several ticks after the last deadline: nothing is recorded twice. There is no condition
    // to wait on when the point is that nothing more happens.
    tokio::time::sleep(Duration::from_millis(600)).await;
    for (case, warned) in &cases {
        let expected = (usize::from(*warned), 1, 1);
        assert_eq!(
            actions(&h, *case).await,
            expected,
            "case {case}: (warnings, breaches, escalations), warning expected: {warned}"
        );
        assert_eq!(h.state(*case).await.escalation_level, 1, "case {case}");
    }
    drop(process);

    // The model it leaves holds, up to its checkpoint, exactly what folding the log gives.
    let table = open_model(&h, &model);
    let position = table.next_position();
    assert!(position > start, "folded on after resuming at {start}");
    let (states, schedule) = fold_from_scratch(&h, position, &table).await;
    assert!(states.len() >= cases.len());
    for (case, state) in &states {
        assert_eq!(
            table.state(*case).unwrap().as_ref(),
            Some(state),
            "case {case}"
        );
    }
    assert_eq!(table.schedule().unwrap(), schedule);
    drop(table);

    // Rebuilt from position 0, the table schedules nothing that is not already recorded.
    let events = h.events().await;
    let rebuilt = SupervisionProcess::spawn(&h, &model, true).await;
    let line = rebuilt.log_line("the timer table is built").await;
    assert!(line.contains("asked to rebuild"), "{line}");
    let line = rebuilt.log_line("timer table caught up; ticking").await;
    assert!(
        field(&line, "head").is_some_and(|head| head >= events),
        "{line}"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.events().await, events, "nothing recorded again");
    drop(rebuilt);
    h.shut_down().await;
}
