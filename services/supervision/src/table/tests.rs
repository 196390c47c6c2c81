//! The table on disk against a fold from scratch: random case histories (warned, breached,
//! escalated, returned, postponed, closed and reopened, merged, rejected), interleaved as a
//! real log interleaves them and folded in random batches, must leave every case's state and
//! the schedule exactly as folding every event in memory gives them — whether the table was
//! closed and reopened part way, reopened at the end, rebuilt with `rebuild: true`, rebuilt
//! because its format changed, or rescheduled because the timer policies changed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use gridcase_config::ReferenceData;
use gridcase_domain::{
    apply, decide, Address, Assignee, CaseId, CaseState, Channel, Command, Contact, Danger,
    Description, Event, GridCode, GridLevel, Location, Note, Phone, Priority, Reporter, Route,
    Timestamp, TrackingCode, WorkerId,
};
use gridcase_eventstore::{Metadata, ReadModelConfig, RecordedEvent};
use gridcase_rules::deadlines::{escalation_target, next_due, running};

use super::{CaseTable, FORMAT};

const HOUR_MS: i64 = 3_600_000;

/// A small deterministic generator (xorshift), so a failure replays.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn hours(&mut self, from: i64, to: i64) -> i64 {
        let span = usize::try_from(to - from).unwrap();
        (from + i64::try_from(self.below(span)).unwrap()) * HOUR_MS
    }
}

fn sample() -> Arc<ReferenceData> {
    Arc::new(ReferenceData::load(&gridcase_testkit::sample_config_dir()).unwrap())
}

/// The sample reference data with a shorter escalation ladder and later warnings.
fn changed_policies(dir: &Path) -> Arc<ReferenceData> {
    gridcase_testkit::copy_sample_config(dir);
    let edit = |file: &str, from: &str, to: &str| {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} holds {from}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    };
    edit(
        "escalation.toml",
        "after_breach = \"24h\"",
        "after_breach = \"2h\"",
    );
    edit("sla.toml", "warn_at = 0.75", "warn_at = 0.9");
    Arc::new(ReferenceData::load(dir).unwrap())
}

fn assignee_of(route: &Route) -> (Assignee, Vec<gridcase_domain::DepartmentCode>) {
    (route.assignee(), route.participants().to_vec())
}

/// A command for `state`, drawn from what the case could be asked next (the domain refuses
/// those that do not fit, and another is drawn).
fn next_command(
    dice: &mut Dice,
    reference: &ReferenceData,
    case: CaseId,
    state: &CaseState,
    now_ms: i64,
) -> Command {
    let note = || Note::parse("已处理").unwrap();
    let worker = || WorkerId::parse("wang-li").unwrap();
    let Some(reported_at) = state.reported_at else {
        let grids: Vec<GridCode> = reference
            .grids()
            .filter(|g| matches!(g.code.level(), GridLevel::Grid | GridLevel::MicroGrid))
            .map(|g| g.code)
            .collect();
        return Command::Report {
            case_id: case,
            tracking_code: TrackingCode::from_u64(case.as_u128() as u64),
            channel: Channel::Hotline,
            reporter: Contact::clear(Reporter {
                name: None,
                phone: Phone::parse("13812345678").ok(),
            }),
            location: Location::new(
                Some(grids[dice.below(grids.len())]),
                Some(Address::parse("解放路 3 号楼下").unwrap()),
                None,
            )
            .unwrap(),
            description: Description::parse("楼下井盖松了，踩上去晃得厉害").unwrap(),
            category: None,
            media: vec![],
            reported_at: Timestamp::from_millis(now_ms - dice.hours(1, 96)),
        };
    };
    let mut candidates = Vec::new();
    let categories: Vec<_> = reference
        .categories()
        .filter_map(|c| Some((c.code, reference.default_route(&c.code)?)))
        .collect();
    for _ in 0..3 {
        let (category, route) = categories[dice.below(categories.len())].clone();
        candidates.push(Command::Triage {
            category,
            priority: Priority::ALL[dice.below(Priority::ALL.len())],
            route,
            triaged_by: None,
            model: None,
            priority_reason: None,
        });
    }
    candidates.push(Command::FlagDanger {
        danger: Danger::Gas,
        reason: Note::parse("闻到煤气味").unwrap(),
        triage_by: reported_at.plus_millis(dice.hours(0, 3) + 600_000),
    });
    candidates.push(Command::Reject {
        reason: Note::parse("不属于受理范围").unwrap(),
    });
    candidates.push(Command::Merge {
        into: CaseId::from_u128(case.as_u128() ^ 1),
    });
    if let Some(route) = &state.route {
        let (assignee, participants) = assignee_of(route);
        for _ in 0..3 {
            let accept = now_ms + dice.hours(-30, 30);
            candidates.push(Command::Dispatch {
                assignee: assignee.clone(),
                participants: participants.clone(),
                accept_deadline: Some(Timestamp::from_millis(accept)),
                resolve_deadline: Some(Timestamp::from_millis(accept + dice.hours(1, 48))),
                report_in: None,
            });
        }
    }
    if let Some(by) = state.assignee.clone() {
        for _ in 0..3 {
            candidates.push(Command::Accept { by: by.clone() });
            candidates.push(Command::Resolve {
                by: by.clone(),
                note: note(),
                evidence: vec![],
            });
        }
        candidates.push(Command::Return {
            by: by.clone(),
            reason: Note::parse("不属于我们").unwrap(),
        });
        if let Some(resolve) = state.resolve_deadline {
            candidates.push(Command::RequestPostponement {
                by,
                until: resolve.plus_millis(dice.hours(1, 48)),
                reason: Note::parse("需要调配设备").unwrap(),
            });
        }
    }
    if state.pending_postponement.is_some() {
        for _ in 0..3 {
            candidates.push(Command::ApprovePostponement { by: worker() });
        }
    }
    for _ in 0..3 {
        candidates.push(Command::Verify {
            by: worker(),
            note: None,
        });
        candidates.push(Command::RecordSatisfaction {
            resolved: true,
            satisfied: true,
            score: 4,
            comment: None,
        });
        candidates.push(Command::Close { by: None });
        candidates.push(Command::Reopen {
            reason: Note::parse("问题还在").unwrap(),
        });
    }
    candidates.push(Command::FailVerification {
        by: worker(),
        reason: Note::parse("井盖仍然松动").unwrap(),
    });
    // The supervisor's own actions: what the ticker records.
    for timer in running(state, reference) {
        candidates.push(Command::WarnDeadline {
            stage: timer.stage,
            deadline: timer.deadline,
        });
        candidates.push(Command::BreachDeadline {
            stage: timer.stage,
            deadline: timer.deadline,
        });
    }
    candidates.extend(
        escalation_target(state, reference).map(|to| Command::Escalate {
            to,
            at: Timestamp::from_millis(now_ms + dice.hours(-48, 0)),
        }),
    );
    candidates.swap_remove(dice.below(candidates.len()))
}

/// `cases` random case histories interleaved into one log, with events of other streams
/// among them.
fn random_log(seed: u64, cases: u64, reference: &ReferenceData, now_ms: i64) -> Vec<RecordedEvent> {
    let mut dice = Dice(seed);
    let mut lives: Vec<(CaseId, CaseState, usize)> = (0..cases)
        .map(|n| {
            let steps = 1 + dice.below(24);
            (
                CaseId::from_u128(u128::from(n) + 1),
                CaseState::default(),
                steps,
            )
        })
        .collect();
    let mut log = Vec::new();
    while !lives.is_empty() {
        let at = dice.below(lives.len());
        let (case, state, steps) = &mut lives[at];
        if *steps == 0 {
            lives.swap_remove(at);
            continue;
        }
        // A few tries to find a command the case takes; a step is spent either way.
        *steps -= 1;
        for _ in 0..20 {
            let command = next_command(&mut dice, reference, *case, state, now_ms);
            let Ok(events) = decide(state, command) else {
                continue;
            };
            for event in events {
                *state = apply(std::mem::take(state), &event);
                let position = log.len() as u64;
                log.push(record(*case, state.version, position, &event, now_ms));
            }
            break;
        }
        // Now and then an event of another stream, or of a type this build does not know.
        let stream_id = match dice.below(20) {
            0 => "tracking-codes".to_owned(),
            1 => gridcase_casestore::stream_name(*case),
            _ => continue,
        };
        let position = log.len() as u64;
        log.push(RecordedEvent {
            position,
            stream_id,
            stream_version: state.version,
            event_id: u128::from(position) + 1,
            event_type: "SomethingNew".to_owned(),
            schema_version: 1,
            recorded_at_ms: now_ms,
            metadata: Metadata::default(),
            payload: vec![1, 2, 3],
        });
    }
    log
}

fn record(case: CaseId, version: u64, position: u64, event: &Event, now_ms: i64) -> RecordedEvent {
    let encoded = gridcase_domain::encode(event);
    RecordedEvent {
        position,
        stream_id: gridcase_casestore::stream_name(case),
        stream_version: version.saturating_sub(1),
        event_id: u128::from(position) + 1,
        event_type: encoded.event_type.to_owned(),
        schema_version: encoded.schema_version,
        recorded_at_ms: now_ms - 1_000_000 + i64::try_from(position).unwrap(),
        metadata: Metadata::default(),
        payload: encoded.payload,
    }
}

/// Every case's state and the schedule, folded from the whole log in memory.
struct Scratch {
    states: BTreeMap<CaseId, CaseState>,
    schedule: Vec<(i64, CaseId)>,
}

impl Scratch {
    fn fold(log: &[RecordedEvent], reference: &ReferenceData) -> Self {
        let mut states: BTreeMap<CaseId, CaseState> = BTreeMap::new();
        for record in log {
            let Ok(case) = CaseId::parse(&record.stream_id) else {
                continue;
            };
            let Ok(event) = gridcase_casestore::decode(case, record) else {
                continue;
            };
            let state = states.entry(case).or_default();
            *state = apply(std::mem::take(state), &event);
        }
        let mut schedule: Vec<(i64, CaseId)> = states
            .iter()
            .filter_map(|(case, state)| Some((next_due(state, reference)?.as_millis(), *case)))
            .collect();
        schedule.sort();
        Self { states, schedule }
    }

    /// Panics unless `table` holds exactly this, up to the end of `log`.
    fn check(&self, table: &CaseTable, log: &[RecordedEvent], now: Timestamp, what: &str) {
        assert_eq!(table.next_position(), log.len() as u64, "{what}: position");
        assert_eq!(table.schedule().unwrap(), self.schedule, "{what}: schedule");
        assert_eq!(table.scheduled(), self.schedule.len(), "{what}: scheduled");
        for (case, state) in &self.states {
            assert_eq!(
                table.state(*case).unwrap().as_ref(),
                Some(state),
                "{what}: case {case}"
            );
        }
        let due: Vec<(CaseId, CaseState)> = self
            .schedule
            .iter()
            .filter(|(at, _)| *at <= now.as_millis())
            .map(|(_, case)| (*case, self.states[case].clone()))
            .collect();
        assert_eq!(table.due_by(now).unwrap(), due, "{what}: due now");
    }
}

fn config(dir: &Path) -> ReadModelConfig {
    ReadModelConfig::new(Some(dir.to_owned()))
}

/// Folds `log` into `table` in batches of random sizes.
fn fold_in_batches(table: &CaseTable, log: &[RecordedEvent], dice: &mut Dice) {
    let mut rest = log;
    while !rest.is_empty() {
        let size = (1 + dice.below(40)).min(rest.len());
        let (batch, after) = rest.split_at(size);
        table.fold(0, batch).unwrap();
        rest = after;
    }
}

#[test]
fn a_table_reopened_resumed_or_rebuilt_holds_what_a_fold_from_scratch_gives() {
    let reference = sample();
    let now = gridcase_runtime::now();
    let log = random_log(0x5eed_0001, 300, &reference, now.as_millis());
    let scratch = Scratch::fold(&log, &reference);
    assert!(
        scratch.schedule.len() > 20 && scratch.schedule.len() < scratch.states.len(),
        "the histories leave some cases scheduled and some not: {} of {}",
        scratch.schedule.len(),
        scratch.states.len()
    );
    let types: Vec<&str> = log
        .iter()
        .filter_map(|r| {
            let case = CaseId::parse(&r.stream_id).ok()?;
            gridcase_casestore::decode(case, r).ok()
        })
        .map(|e| e.type_name())
        .collect();
    for kind in [
        "DeadlineWarned",
        "DeadlineBreached",
        "CaseEscalated",
        "PostponementApproved",
        "CaseClosed",
        "CaseReopened",
        "CaseMerged",
        "CaseRejected",
    ] {
        assert!(types.contains(&kind), "the histories hold {kind}");
    }

    let dir = tempfile::tempdir().unwrap();
    let mut dice = Dice(7);
    let half = log.len() / 2;
    {
        let table = CaseTable::open(&config(dir.path()), Arc::clone(&reference)).unwrap();
        assert_eq!(table.rebuilt(), Some("new"));
        fold_in_batches(&table, &log[..half], &mut dice);
    }
    // Closed part way and reopened: it resumes from its checkpoint.
    let table = CaseTable::open(&config(dir.path()), Arc::clone(&reference)).unwrap();
    assert_eq!(table.rebuilt(), None);
    assert_eq!(table.next_position(), half as u64);
    fold_in_batches(&table, &log[half..], &mut dice);
    scratch.check(&table, &log, now, "resumed half way");
    // A batch below the checkpoint is already in the table.
    table.fold(0, &log[..half]).unwrap();
    scratch.check(&table, &log, now, "a batch seen before");
    drop(table);

    let table = CaseTable::open(&config(dir.path()), Arc::clone(&reference)).unwrap();
    assert_eq!(table.rebuilt(), None);
    scratch.check(&table, &log, now, "reopened");
    drop(table);

    let rebuild = ReadModelConfig {
        rebuild: true,
        ..config(dir.path())
    };
    let table = CaseTable::open(&rebuild, Arc::clone(&reference)).unwrap();
    assert_eq!(table.rebuilt(), Some("asked to rebuild"));
    assert_eq!((table.next_position(), table.scheduled()), (0, 0));
    assert!(table.schedule().unwrap().is_empty());
    table.fold(0, &log).unwrap();
    scratch.check(&table, &log, now, "rebuilt in one batch");
    drop(table);

    let table =
        CaseTable::open_format(&config(dir.path()), Arc::clone(&reference), FORMAT + 1).unwrap();
    assert_eq!(table.rebuilt(), Some("written in another format"));
    assert_eq!((table.next_position(), table.scheduled()), (0, 0));
    assert!(table.state(CaseId::from_u128(1)).unwrap().is_none());
    fold_in_batches(&table, &log, &mut dice);
    scratch.check(&table, &log, now, "rebuilt in another format");
}

#[test]
fn a_table_written_with_other_timer_policies_is_rescheduled_from_its_states() {
    let reference = sample();
    let policies = tempfile::tempdir().unwrap();
    let changed = changed_policies(policies.path());
    let now = gridcase_runtime::now();
    let log = random_log(0x5eed_0002, 300, &reference, now.as_millis());
    let before = Scratch::fold(&log, &reference);
    let after = Scratch::fold(&log, &changed);
    assert_ne!(before.schedule, after.schedule, "the policies move timers");

    let dir = tempfile::tempdir().unwrap();
    let mut dice = Dice(11);
    {
        let table = CaseTable::open(&config(dir.path()), Arc::clone(&reference)).unwrap();
        fold_in_batches(&table, &log, &mut dice);
        before.check(&table, &log, now, "the sample policies");
    }
    let table = CaseTable::open(&config(dir.path()), Arc::clone(&changed)).unwrap();
    assert_eq!(table.rebuilt(), None, "resumed, not rebuilt");
    after.check(&table, &log, now, "rescheduled for the changed policies");
    drop(table);
    let table = CaseTable::open(&config(dir.path()), Arc::clone(&reference)).unwrap();
    before.check(&table, &log, now, "rescheduled back");
}

#[test]
fn schedule_keys_sort_as_their_instants() {
    let case = CaseId::from_u128(42);
    let instants = [i64::MIN, -HOUR_MS, -1, 0, 1, HOUR_MS, i64::MAX];
    for pair in instants.windows(2) {
        assert!(super::due_key(pair[0], case) < super::due_key(pair[1], case));
    }
    for at in instants {
        assert_eq!(
            super::read_due_key(&super::due_key(at, case)),
            Some((at, case))
        );
    }
    assert_eq!(super::read_case_key(&super::case_key(case)), Some(case));
}
