//! The timer table: every case's state folded from the store's global log, followed from
//! position 0 at start and kept live by a catch-up subscription. Timers are derived from these
//! states (see [`gridcase_rules::deadlines`]), so following the log again after a restart is what makes them
//! durable: a deadline that passed while the service was down is found due at the first tick.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use gridcase_casestore::decode;
use gridcase_domain::{apply, CaseId, CaseState};
use gridcase_eventstore::{EventStore, RecordedEvent};

/// Longest pause between attempts to read the log while the store is unreachable.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// Every case's folded state, shared between the follower and the ticker.
#[derive(Debug, Default)]
pub struct CaseTable {
    cases: RwLock<HashMap<CaseId, CaseState>>,
    next_position: RwLock<u64>,
}

impl CaseTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The position of the next event to fold.
    pub fn next_position(&self) -> u64 {
        *self.next_position.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Copies of the states of the cases that may have running deadlines.
    pub fn with_deadlines(&self) -> Vec<(CaseId, CaseState)> {
        self.cases
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, state)| {
                state.accept_deadline.is_some() || state.resolve_deadline.is_some()
            })
            .map(|(case, state)| (*case, state.clone()))
            .collect()
    }

    /// Folds one recorded event; other streams and unknown event types are skipped.
    pub fn fold(&self, record: &RecordedEvent) {
        if let Ok(case) = CaseId::parse(&record.stream_id) {
            match decode(case, record) {
                Ok(event) => {
                    let mut cases = self.cases.write().unwrap_or_else(|e| e.into_inner());
                    let state = cases.entry(case).or_default();
                    *state = apply(std::mem::take(state), &event);
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
    let mut delay = Duration::from_millis(50);
    loop {
        let batch = tokio::select! {
            () = &mut shutdown => break,
            batch = subscription.next_batch() => batch,
        };
        match batch {
            Ok(events) => {
                delay = Duration::from_millis(50);
                for event in &events {
                    table.fold(event);
                }
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?delay, "reading the store log");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(MAX_RETRY_DELAY);
            }
        }
    }
    tracing::debug!("log follower stopped");
}
