//! The timer table: every case's state folded from the store's global log, followed from
//! position 0 at start and kept live by a catch-up subscription. Timers are derived from these
//! states (see [`gridcase_rules::deadlines`]), so following the log again after a restart is what makes them
//! durable: a deadline that passed while the service was down is found due at the first tick.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, RwLock};

use gridcase_casestore::decode;
use gridcase_config::ReferenceData;
use gridcase_domain::{apply, CaseId, CaseState, Timestamp};
use gridcase_eventstore::{EventStore, RecordedEvent};
use gridcase_rules::deadlines::next_due;

/// Every case's folded state and when each next needs the ticker, shared between the follower
/// and the ticker.
#[derive(Debug)]
pub struct CaseTable {
    reference: Arc<ReferenceData>,
    cases: RwLock<Cases>,
    next_position: RwLock<u64>,
}

#[derive(Debug, Default)]
struct Cases {
    states: HashMap<CaseId, CaseState>,
    /// (next due instant in ms, case) for every case a timer will ask something of.
    schedule: BTreeSet<(i64, CaseId)>,
    /// Each scheduled case's entry in `schedule`.
    due_at: HashMap<CaseId, i64>,
}

impl CaseTable {
    /// An empty table, deriving timers with the SLA policies of `reference`.
    pub fn new(reference: Arc<ReferenceData>) -> Self {
        Self {
            reference,
            cases: RwLock::default(),
            next_position: RwLock::default(),
        }
    }

    /// The position of the next event to fold.
    pub fn next_position(&self) -> u64 {
        *self.next_position.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Copies of the states of the cases a timer asks something of at `now` (or earlier and
    /// not yet recorded), earliest first.
    pub fn due_by(&self, now: Timestamp) -> Vec<(CaseId, CaseState)> {
        let cases = self.cases.read().unwrap_or_else(|e| e.into_inner());
        cases
            .schedule
            .range(..=(now.as_millis(), CaseId::from_u128(u128::MAX)))
            .filter_map(|(_, case)| cases.states.get(case).map(|state| (*case, state.clone())))
            .collect()
    }

    /// How many cases have a timer that will ask for something.
    pub fn scheduled(&self) -> usize {
        self.cases
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .schedule
            .len()
    }

    /// Folds one recorded event; other streams and unknown event types are skipped.
    pub fn fold(&self, record: &RecordedEvent) {
        if let Ok(case) = CaseId::parse(&record.stream_id) {
            match decode(case, record) {
                Ok(event) => {
                    let mut cases = self.cases.write().unwrap_or_else(|e| e.into_inner());
                    let state = cases.states.entry(case).or_default();
                    *state = apply(std::mem::take(state), &event);
                    let due = next_due(state, &self.reference).map(|t| t.as_millis());
                    let Cases {
                        schedule, due_at, ..
                    } = &mut *cases;
                    if let Some(previous) = due_at.remove(&case) {
                        schedule.remove(&(previous, case));
                    }
                    if let Some(due) = due {
                        schedule.insert((due, case));
                        due_at.insert(case, due);
                    }
                    metrics::gauge!("supervision_open_timers").set(schedule.len() as f64);
                }
                Err(error) => {
                    tracing::debug!(%error, event_type = %record.event_type, "not folded");
                }
            }
        }
        let mut next = self
            .next_position
            .write()
            .unwrap_or_else(|e| e.into_inner());
        *next = (*next).max(record.position + 1);
    }
}

/// Folds the store's log into `table` from its next position until `shutdown`, retrying with
/// backoff while the store is unreachable.
pub async fn follow<S: EventStore>(
    store: S,
    table: Arc<CaseTable>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut subscription = store.subscribe_all(table.next_position());
    while let Some(events) = gridcase_bus::retry::next_batch_until(
        &mut subscription,
        &mut shutdown,
        "the supervision table",
    )
    .await
    {
        for event in &events {
            table.fold(event);
        }
    }
    tracing::debug!("log follower stopped");
}
