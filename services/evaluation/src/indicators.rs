//! The department indicators' fold of every case event, kept live by following the store's
//! log, so a request reads a tally instead of the whole log.

use std::sync::RwLock;
use std::time::Duration;

use gridcase_casestore::decode;
use gridcase_config::IndicatorWeights;
use gridcase_domain::CaseId;
use gridcase_eventstore::RecordedEvent;
use gridcase_rules::indicators::{DepartmentIndicators, Tally};
use tokio::sync::watch;

/// The indicator tally and the log position it reflects.
#[derive(Debug)]
pub struct LiveIndicators {
    tally: RwLock<Tally>,
    next_position: watch::Sender<u64>,
}

impl Default for LiveIndicators {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveIndicators {
    /// An empty tally at position 0.
    pub fn new() -> Self {
        Self {
            tally: RwLock::new(Tally::new()),
            next_position: watch::Sender::new(0),
        }
    }

    /// Folds a batch of the log; other streams and undecodable events only move the position.
    pub fn fold(&self, events: &[RecordedEvent]) {
        let mut tally = self.tally.write().unwrap_or_else(|e| e.into_inner());
        let mut next = *self.next_position.borrow();
        for record in events {
            if let Ok(case) = CaseId::parse(&record.stream_id) {
                match decode(case, record) {
                    Ok(event) => tally.apply(case, record.recorded_at_ms, &event),
                    Err(error) => tracing::warn!(%error, position = record.position, "not counted"),
                }
            }
            next = next.max(record.position + 1);
        }
        drop(tally);
        self.next_position.send_replace(next);
    }

    /// Waits until every event below `position` is folded; false if `patience` ran out first.
    pub async fn wait_for(&self, position: u64, patience: Duration) -> bool {
        let mut receiver = self.next_position.subscribe();
        tokio::time::timeout(patience, receiver.wait_for(|next| *next >= position))
            .await
            .is_ok_and(|waited| waited.is_ok())
    }

    /// The indicators of the cases reported in `from_ms..to_ms`, and how many events the tally
    /// has counted.
    pub fn report(
        &self,
        from_ms: i64,
        to_ms: i64,
        weights: &IndicatorWeights,
    ) -> (Vec<DepartmentIndicators>, u64) {
        let tally = self.tally.read().unwrap_or_else(|e| e.into_inner());
        (tally.indicators(from_ms, to_ms, weights), tally.events())
    }
}
