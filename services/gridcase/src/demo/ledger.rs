//! The demo's record of its cases: what it knows of each, how each ended, and counts of what
//! happened for the progress lines.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::plan::Kind;

/// How a case of the day ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Finish {
    Closed,
    Merged,
    Rejected,
}

/// What the demo knows of one of its cases.
#[derive(Debug, Clone)]
pub(super) struct Tracked {
    pub(super) index: usize,
    pub(super) case_id: String,
    pub(super) tracking_code: String,
    pub(super) kind: Kind,
    pub(super) category: String,
    pub(super) by_worker: bool,
    /// Reported by a special grid member on their own channel.
    pub(super) by_member: bool,
    pub(super) anonymous: bool,
    pub(super) reported_at_ms: i64,
    /// Work orders seen for the case (any assignee).
    pub(super) orders: u32,
    /// Resolutions made, for keys of the checks after them.
    pub(super) resolutions: u32,
    /// Departments that returned it.
    pub(super) returned_by: Vec<String>,
    /// A failed check was recorded: the next work order is the rework.
    pub(super) rework_pending: bool,
    pub(super) reworked: bool,
    pub(super) reopened: bool,
    pub(super) urged: bool,
    /// When an operator last acted on it from the manual queue.
    pub(super) triaged_by_hand: Option<Instant>,
    pub(super) finished: Option<Finish>,
}

/// Counts of what happened, for the progress lines.
#[derive(Debug, Default, Clone)]
pub(super) struct Counts {
    pub(super) reported: usize,
    pub(super) accepted: usize,
    pub(super) resolved: usize,
    pub(super) self_handled: usize,
    /// Settled by a community or street office.
    pub(super) settled_by_offices: usize,
    /// Pushed to a department or handed up by a grid worker, community or street.
    pub(super) referred: usize,
    /// Whistles blown by a community or street (社区吹哨).
    pub(super) whistles: usize,
    /// Departments that reported in (部门报到), and of them after the deadline.
    pub(super) reported_in: usize,
    pub(super) reported_in_late: usize,
    pub(super) returned: usize,
    pub(super) reworked: usize,
    pub(super) reopened: usize,
    pub(super) postponements: usize,
    pub(super) late: usize,
    pub(super) slow: usize,
    pub(super) urged: usize,
    pub(super) manual: usize,
    pub(super) closed: usize,
    pub(super) merged: usize,
    pub(super) rejected: usize,
}

#[derive(Debug, Default)]
struct LedgerInner {
    cases: HashMap<String, Tracked>,
    order: Vec<String>,
    counts: Counts,
}

/// The demo's cases, shared by its actors.
#[derive(Debug, Default)]
pub(super) struct Ledger(Mutex<LedgerInner>);

impl Ledger {
    fn lock(&self) -> MutexGuard<'_, LedgerInner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes a case the day reported; how many it has reported so far.
    pub(super) fn add(&self, case: Tracked) -> usize {
        let mut inner = self.lock();
        inner.order.push(case.case_id.clone());
        inner.cases.insert(case.case_id.clone(), case);
        inner.counts.reported += 1;
        inner.counts.reported
    }

    pub(super) fn get(&self, case_id: &str) -> Option<Tracked> {
        self.lock().cases.get(case_id).cloned()
    }

    pub(super) fn update<T>(&self, case_id: &str, f: impl FnOnce(&mut Tracked) -> T) -> Option<T> {
        self.lock().cases.get_mut(case_id).map(f)
    }

    pub(super) fn count(&self, f: impl FnOnce(&mut Counts)) {
        f(&mut self.lock().counts);
    }

    pub(super) fn counts(&self) -> Counts {
        self.lock().counts.clone()
    }

    pub(super) fn finish(&self, case_id: &str, finish: Finish) {
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

    pub(super) fn open(&self) -> usize {
        self.lock()
            .cases
            .values()
            .filter(|case| case.finished.is_none())
            .count()
    }

    pub(super) fn all(&self) -> Vec<Tracked> {
        let inner = self.lock();
        inner
            .order
            .iter()
            .filter_map(|id| inner.cases.get(id).cloned())
            .collect()
    }
}
