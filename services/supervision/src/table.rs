//! The timer table: every case's state folded from the store's global log, kept in the
//! service's own read model on disk ([`ReadModelStore`]) with the log position it reflects, and
//! the schedule of the cases a timer will ask something of. Timers are derived from the states
//! (see [`gridcase_rules::deadlines`]), so the schedule survives a restart with them: a deadline
//! that passed while the service was down is found due at the first tick.
//!
//! On disk, in the model's tree:
//! - `c` + case id (16 bytes, big-endian) → the case's [`CaseState`] and the instant it is
//!   scheduled at, if any (postcard). Closed, merged and rejected cases keep theirs: a closed
//!   case can be reopened, and its timers run again from its state.
//! - `d` + due instant (ms, big-endian with the sign bit flipped, so the keys sort by time) +
//!   case id → nothing: one entry per case a timer will ask something of, at
//!   [`next_due`]. The ticker reads the range of entries up to now.
//! - `p` → a fingerprint of the SLA policies and the escalation ladder the schedule was worked
//!   out with. When they change between two starts, every stored case is rescheduled from its
//!   stored state before the table is used, as a table folded afresh would schedule it.
//!
//! A batch of the log is folded into the cases it touches in memory, then written — states,
//! schedule changes and the new checkpoint — in one atomic sled batch, so after a crash the
//! table resumes at a batch boundary with no event applied twice or skipped. A model that is
//! new, asked to be rebuilt or written in another [`FORMAT`] is built from position 0.
//!
//! Memory holds nothing per case, open or closed: besides the batch being folded, only the
//! number of scheduled cases; everything else is read from the model (through sled's bounded
//! page cache).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gridcase_casestore::decode;
use gridcase_config::ReferenceData;
use gridcase_domain::{apply, CaseId, CaseState, Priority, Timestamp};
use gridcase_eventstore::{
    EventStore, ReadModelConfig, ReadModelStore, RecordedEvent, Result, StoreError,
};
use gridcase_rules::deadlines::next_due;
use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// The shape of the model's records; raise it when one changes — [`CaseState`]'s included —
/// and models written before are rebuilt from the log.
///
/// 2: a case's state keeps when it reached its rung of the escalation ladder and who is called
///    to report in.
/// 3: households under care and their visit warnings (`h…`, `v…`, see [`crate::care`]); a
///    case's state keeps the departments the grid rated (网格评部门).
pub const FORMAT: u32 = 3;

const CASE: u8 = b'c';
const DUE: u8 = b'd';
const POLICIES: &[u8] = b"p";

/// One case as the model keeps it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stored {
    /// Where the case stands in the schedule (ms), if a timer will ask something of it.
    due_ms: Option<i64>,
    /// Its state folded from its events.
    state: CaseState,
}

fn case_key(case: CaseId) -> [u8; 17] {
    let mut key = [CASE; 17];
    key[1..].copy_from_slice(&case.to_bytes());
    key
}

fn due_key(due_ms: i64, case: CaseId) -> [u8; 25] {
    let mut key = [DUE; 25];
    // Flipping the sign bit makes the big-endian bytes sort as the signed instants do.
    key[1..9].copy_from_slice(&(due_ms.cast_unsigned() ^ (1 << 63)).to_be_bytes());
    key[9..].copy_from_slice(&case.to_bytes());
    key
}

fn read_due_key(key: &[u8]) -> Option<(i64, CaseId)> {
    let (&DUE, rest) = key.split_first()? else {
        return None;
    };
    let due = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?) ^ (1 << 63);
    let case = CaseId::from_bytes(rest.get(8..)?.try_into().ok()?);
    Some((due.cast_signed(), case))
}

fn read_case_key(key: &[u8]) -> Option<CaseId> {
    let (&CASE, rest) = key.split_first()? else {
        return None;
    };
    Some(CaseId::from_bytes(rest.try_into().ok()?))
}

fn storage(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("supervision model: {e}"))
}

/// What the schedule is worked out from besides the states: the SLA policies of every
/// priority and category, the danger, manual-queue and report-in policies, the calendar and
/// the escalation ladder, as a 64-bit FNV-1a hash of their description.
fn timer_policies(reference: &ReferenceData) -> u64 {
    let mut text = format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n",
        reference.escalation_ladder(),
        reference.danger_policy(),
        reference.manual_policy(),
        reference.report_in_policy(),
        reference.calendar()
    );
    for priority in Priority::ALL {
        text.push_str(&format!("{:?}\n", reference.sla_for(priority, None)));
        for category in reference.categories() {
            let policy = reference.sla_for(priority, Some(&category.code));
            text.push_str(&format!("{} {:?}\n", category.code, policy));
        }
    }
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Every case's folded state and when each next needs the ticker, on disk; shared between the
/// follower, which writes it, and the ticker, which reads it.
#[derive(Debug)]
pub struct CaseTable {
    reference: Arc<ReferenceData>,
    store: ReadModelStore,
    /// How many cases are scheduled.
    scheduled: AtomicU64,
    /// One writer at a time.
    writer: Mutex<()>,
}

impl CaseTable {
    /// Opens (or creates) the table in the model `config` describes, deriving timers with the
    /// SLA policies and the escalation ladder of `reference`; a model written with other
    /// policies is rescheduled first.
    pub fn open(config: &ReadModelConfig, reference: Arc<ReferenceData>) -> Result<Self> {
        Self::open_format(config, reference, FORMAT)
    }

    fn open_format(
        config: &ReadModelConfig,
        reference: Arc<ReferenceData>,
        format: u32,
    ) -> Result<Self> {
        let store = ReadModelStore::open(config, format)?;
        let table = Self {
            reference,
            store,
            scheduled: AtomicU64::new(0),
            writer: Mutex::new(()),
        };
        let policies = timer_policies(&table.reference);
        let written_with = table
            .store
            .tree()
            .get(POLICIES)
            .map_err(storage)?
            .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
            .map(u64::from_be_bytes);
        if written_with != Some(policies) {
            let moved = table.reschedule(policies)?;
            if written_with.is_some() {
                tracing::info!(
                    moved,
                    "the timer policies changed since the table was written: rescheduled"
                );
            }
        }
        let scheduled = table.store.tree().scan_prefix([DUE]).keys().count();
        table.scheduled.store(scheduled as u64, Ordering::Release);
        metrics::gauge!("supervision_open_timers").set(scheduled as f64);
        Ok(table)
    }

    /// Works out every stored case's place in the schedule afresh and notes the `policies` it
    /// was worked out with, in one batch; how many cases moved.
    fn reschedule(&self, policies: u64) -> Result<usize> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut batch = sled::Batch::default();
        let mut moved = 0;
        for entry in self.store.tree().scan_prefix([CASE]) {
            let (key, value) = entry.map_err(storage)?;
            let case = read_case_key(&key).ok_or_else(|| storage("a case key without its id"))?;
            let mut stored: Stored = decode_record(&value)?;
            let due = next_due(&stored.state, &self.reference).map(|t| t.as_millis());
            if due != stored.due_ms {
                schedule_change(&mut batch, case, stored.due_ms, due);
                stored.due_ms = due;
                batch.insert(&key, encode_record(&stored)?);
                moved += 1;
            }
        }
        batch.insert(POLICIES, &policies.to_be_bytes());
        self.store.apply(batch)?;
        Ok(moved)
    }

    /// Why the table starts from position 0, when it does (see [`ReadModelStore::rebuilt`]).
    pub fn rebuilt(&self) -> Option<&'static str> {
        self.store.rebuilt()
    }

    /// The position in shard `shard`'s log of the next event to fold: every event below it
    /// is in the table.
    pub fn position(&self, shard: usize) -> u64 {
        self.store.position(shard)
    }

    /// How many events of the log (every shard's) the table has folded; with one shard, the
    /// position of the next event to fold.
    pub fn next_position(&self) -> u64 {
        self.store.folded()
    }

    /// Writes everything folded so far to disk.
    pub fn flush(&self) -> Result<()> {
        self.store.flush()
    }

    fn stored(&self, case: CaseId) -> Result<Option<Stored>> {
        match self.store.tree().get(case_key(case)).map_err(storage)? {
            Some(bytes) => decode_record(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// One case's folded state, if the case is known.
    pub fn state(&self, case: CaseId) -> Result<Option<CaseState>> {
        Ok(self.stored(case)?.map(|stored| stored.state))
    }

    /// The states of the cases a timer asks something of at `now` (or earlier and not yet
    /// recorded), earliest first.
    pub fn due_by(&self, now: Timestamp) -> Result<Vec<(CaseId, CaseState)>> {
        let start = [DUE];
        let end = due_key(now.as_millis().saturating_add(1), CaseId::from_u128(0));
        let mut due = Vec::new();
        for entry in self.store.tree().range(start.as_slice()..end.as_slice()) {
            let (key, _) = entry.map_err(storage)?;
            let (_, case) =
                read_due_key(&key).ok_or_else(|| storage("a schedule key without its case"))?;
            // The follower may have moved the case on since the range was read: its newer
            // state is as good (the ticker reads the case afresh before recording anything).
            if let Some(stored) = self.stored(case)? {
                due.push((case, stored.state));
            }
        }
        Ok(due)
    }

    /// The households with a visit warning due by `now`.
    pub fn households_due_by(
        &self,
        now: Timestamp,
    ) -> Result<
        Vec<(
            gridcase_domain::HouseholdId,
            gridcase_domain::people::Household,
        )>,
    > {
        crate::care::due_by(self.store.tree(), now)
    }

    /// The whole schedule: (due instant in ms, case), earliest first.
    pub fn schedule(&self) -> Result<Vec<(i64, CaseId)>> {
        self.store
            .tree()
            .scan_prefix([DUE])
            .keys()
            .map(|key| {
                let key = key.map_err(storage)?;
                read_due_key(&key).ok_or_else(|| storage("a schedule key without its case"))
            })
            .collect()
    }

    /// How many cases have a timer that will ask for something.
    pub fn scheduled(&self) -> usize {
        usize::try_from(self.scheduled.load(Ordering::Acquire)).unwrap_or(usize::MAX)
    }

    /// Folds a batch of shard `shard`'s log and moves that shard's checkpoint past it,
    /// atomically; other streams and unknown event types only move the checkpoint.
    pub fn fold(&self, shard: usize, records: &[RecordedEvent]) -> Result<()> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let start = self.store.position(shard);
        let mut next_position = start;
        // Each touched case: where it stood in the schedule at the batch's start, and its state.
        let mut touched: HashMap<CaseId, (Option<i64>, CaseState)> = HashMap::new();
        let mut care = crate::care::CareChanges::default();
        for record in records {
            if record.position < start {
                // Already in the table (the subscription starts at the checkpoint).
                continue;
            }
            next_position = next_position.max(record.position + 1);
            let Ok(case) = CaseId::parse(&record.stream_id) else {
                care.take(self.store.tree(), record)?;
                continue;
            };
            let event = match decode(case, record) {
                Ok(event) => event,
                Err(error) => {
                    tracing::debug!(%error, event_type = %record.event_type, "not folded");
                    continue;
                }
            };
            let (_, state) = match touched.entry(case) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    let stored = self.stored(case)?.unwrap_or_default();
                    entry.insert((stored.due_ms, stored.state))
                }
            };
            *state = apply(std::mem::take(state), &event);
        }
        let mut batch = sled::Batch::default();
        let mut scheduled = i64::try_from(self.scheduled.load(Ordering::Acquire)).unwrap_or(0);
        for (case, (was, state)) in touched {
            let due = next_due(&state, &self.reference).map(|t| t.as_millis());
            if due != was {
                schedule_change(&mut batch, case, was, due);
                scheduled += i64::from(due.is_some()) - i64::from(was.is_some());
            }
            let stored = Stored { due_ms: due, state };
            batch.insert(&case_key(case), encode_record(&stored)?);
        }
        care.write(&self.reference, &mut batch)?;
        self.store.commit(batch, shard, next_position)?;
        let scheduled = u64::try_from(scheduled).unwrap_or(0);
        self.scheduled.store(scheduled, Ordering::Release);
        metrics::gauge!("supervision_open_timers").set(scheduled as f64);
        Ok(())
    }
}

/// Moves `case` in the schedule from `was` to `due` (either may be none).
fn schedule_change(batch: &mut sled::Batch, case: CaseId, was: Option<i64>, due: Option<i64>) {
    if let Some(was) = was {
        batch.remove(&due_key(was, case));
    }
    if let Some(due) = due {
        batch.insert(&due_key(due, case), &[]);
    }
}

fn encode_record<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(value).map_err(storage)
}

fn decode_record<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| storage(format!("a record does not decode: {e}")))
}

/// Folds the log of every shard in `shards` (shard 0, 1, …) into `table` from its checkpoints
/// until `shutdown`, logging progress while catching up and retrying with backoff while a
/// store is unreachable. Ends with the model's error if it cannot be written: no batch is
/// skipped.
pub async fn follow<S: EventStore + 'static>(
    shards: Vec<S>,
    table: Arc<CaseTable>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    match table.rebuilt() {
        Some(why) => tracing::info!(why, "the timer table is built from the start of the log"),
        None => tracing::info!(
            start = table.next_position(),
            shards = ?table.store.positions(shards.len()),
            "the timer table resumes from its checkpoint"
        ),
    }
    metrics::gauge!("supervision_table_position").set(table.next_position() as f64);
    let fold = |shard: usize, events: &[RecordedEvent]| {
        table.fold(shard, events)?;
        metrics::gauge!("supervision_table_position").set(table.next_position() as f64);
        Ok::<(), StoreError>(())
    };
    let outcome = gridcase_bus::follow::follow_log(
        &shards,
        "the timer table",
        |shard| table.position(shard),
        fold,
        || Ok(()),
        shutdown,
    )
    .await;
    table.flush()?;
    outcome
}
