//! The open-case cache: every case's state folded from the store's global log, rebuilt from
//! position 0 at start and kept live by a catch-up subscription. It answers duplicate
//! detection and the manual queue; decisions themselves are made on state freshly loaded from
//! the case's stream, so a stale cache can only miss a duplicate, never decide twice.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use gridcase_casestore::decode;
use gridcase_config::ReferenceData;
use gridcase_domain::{
    apply, CaseId, CaseState, CaseStatus, CategoryCode, Event, Location, WorkerId,
};
use gridcase_eventstore::{EventStore, RecordedEvent};
use gridcase_rules::{OpenCase, OpenCaseIndex};
use tokio::sync::watch;

use crate::classifier::ClassifierSlot;
use crate::decision::{category_of, reporting_worker, CaseView};

/// One case as the cache keeps it.
#[derive(Debug, Clone, Default)]
pub struct CachedCase {
    /// The folded state.
    pub state: CaseState,
    /// What the reporter said.
    pub description: String,
    /// The category for duplicate detection: the case's own, else the classifier's.
    pub category: Option<CategoryCode>,
    /// The grid worker who reported it on patrol, if one did.
    pub reported_by_worker: Option<WorkerId>,
}

impl CachedCase {
    /// The case as the rules see it.
    pub fn view(&self) -> CaseView<'_> {
        CaseView {
            state: &self.state,
            description: &self.description,
            reported_by_worker: self.reported_by_worker.as_ref(),
        }
    }

    /// The case as a possible original of a new report, if it has a place in time and a
    /// category.
    pub fn open_case(&self) -> Option<OpenCase> {
        let mut state = self.state.clone();
        state.category = self.category;
        OpenCase::from_state(&state)
    }
}

/// Every case folded from the log, shared between the follower, the worker and the API.
#[derive(Debug)]
pub struct CaseCache {
    refdata: Arc<ReferenceData>,
    classifier: Arc<ClassifierSlot>,
    cases: RwLock<HashMap<CaseId, CachedCase>>,
    /// The open cases as duplicate detection takes them, filed by category and place and kept
    /// as events fold, so a decision reads those near its case in place: its cost does not
    /// grow with the number of open cases.
    open: RwLock<OpenCaseIndex>,
    /// The position of the next event to fold: everything before it is in the map.
    next_position: watch::Sender<u64>,
    /// Set once the log read at start is folded: from then on a new report's category is
    /// guessed as it folds. Before, most reports are triaged a few events later, so guessing
    /// each would only slow the start; [`CaseCache::go_live`] guesses for those still waiting.
    live: AtomicBool,
}

impl CaseCache {
    /// An empty cache classifying with `classifier` over `refdata`.
    pub fn new(refdata: Arc<ReferenceData>, classifier: Arc<ClassifierSlot>) -> Self {
        Self {
            refdata,
            classifier,
            cases: RwLock::new(HashMap::new()),
            open: RwLock::new(OpenCaseIndex::new()),
            next_position: watch::Sender::new(0),
            live: AtomicBool::new(false),
        }
    }

    /// The position of the next event the cache will fold.
    pub fn next_position(&self) -> u64 {
        *self.next_position.borrow()
    }

    /// Waits until the event at `position` has been folded.
    pub async fn wait_past(&self, position: u64) {
        let mut receiver = self.next_position.subscribe();
        // The sender lives as long as `self`, so this only ends once the position is passed.
        let _ = receiver.wait_for(|next| *next > position).await;
    }

    /// A copy of one case.
    pub fn get(&self, case: CaseId) -> Option<CachedCase> {
        self.read().get(&case).cloned()
    }

    /// Copies of the cases `keep` selects.
    pub fn select(&self, keep: impl Fn(&CachedCase) -> bool) -> Vec<CachedCase> {
        self.read()
            .values()
            .filter(|case| keep(case))
            .cloned()
            .collect()
    }

    /// Runs `f` over the open cases of `category` (none for `None`) that may be at the same
    /// place as a report at `location` (none without one): each open case a duplicate of
    /// such a report could repeat, once, with a few more nearby. In place, under a read lock:
    /// keep `f` short and free of waiting.
    pub fn with_open_cases_near<T>(
        &self,
        category: Option<&CategoryCode>,
        location: Option<&Location>,
        f: impl FnOnce(&mut dyn Iterator<Item = &OpenCase>) -> T,
    ) -> T {
        let open = self.open.read().unwrap_or_else(|e| e.into_inner());
        match (category, location) {
            (Some(category), Some(location)) => f(&mut open.nearby(
                category,
                location.grid().as_ref(),
                location.coordinates().as_ref(),
            )),
            _ => f(&mut std::iter::empty()),
        }
    }

    /// Folds one recorded event; other streams and unknown event types are skipped.
    pub fn fold(&self, record: &RecordedEvent) {
        if let Ok(case) = CaseId::parse(&record.stream_id) {
            match decode(case, record) {
                Ok(event) => self.fold_event(case, &event, record.metadata.actor.as_deref()),
                Err(error) => {
                    tracing::debug!(%error, event_type = %record.event_type, "not folded");
                }
            }
        }
        self.next_position.send_if_modified(|next| {
            let modified = record.position + 1 > *next;
            *next = (*next).max(record.position + 1);
            modified
        });
    }

    fn fold_event(&self, case: CaseId, event: &Event, actor: Option<&str>) {
        let mut cases = self.cases.write().unwrap_or_else(|e| e.into_inner());
        let entry = cases.entry(case).or_default();
        if let Event::CaseReported(reported) = event {
            entry.description = reported.description.as_str().to_owned();
            entry.reported_by_worker = reporting_worker(reported, actor);
        }
        entry.state = apply(std::mem::take(&mut entry.state), event);
        entry.category = entry.state.category.or_else(|| {
            // Only a case still awaiting triage needs a guess: fold it once, at its report.
            (matches!(event, Event::CaseReported(_)) && self.live.load(Ordering::Acquire))
                .then(|| category_of(&self.refdata, &self.classifier.current(), entry.view()))
                .flatten()
                .or(entry.category)
        });
        self.index_open(case, entry);
    }

    /// Guesses, from now on, the category of every report as it folds, and now that of every
    /// case folded before that still awaits triage without one.
    pub fn go_live(&self) {
        if self.live.swap(true, Ordering::AcqRel) {
            return;
        }
        let classifier = self.classifier.current();
        let mut cases = self.cases.write().unwrap_or_else(|e| e.into_inner());
        let mut guessed = 0;
        for (case, entry) in cases.iter_mut() {
            if entry.category.is_none() && entry.state.status == Some(CaseStatus::Reported) {
                entry.category = category_of(&self.refdata, &classifier, entry.view());
                guessed += 1;
                self.index_open(*case, entry);
            }
        }
        tracing::debug!(guessed, "categories guessed for the cases awaiting triage");
    }

    /// Files `case` among the open cases of its category and place, or takes it out if it is
    /// not open (closed, merged, rejected); its category may have changed (triage confirms or
    /// corrects the classifier's guess), and the index moves it to its new cells.
    fn index_open(&self, case: CaseId, entry: &CachedCase) {
        let open_case = entry.state.is_open().then(|| entry.open_case()).flatten();
        let mut open = self.open.write().unwrap_or_else(|e| e.into_inner());
        open.remove(case);
        if let Some(open_case) = open_case {
            open.insert(open_case);
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<CaseId, CachedCase>> {
        self.cases.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Folds the store's log into `cache` from position 0 until `shutdown`, retrying with backoff
/// while the store is unreachable; logs once it has caught up with the head seen at start.
pub async fn follow<S: EventStore>(
    store: S,
    cache: Arc<CaseCache>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut subscription = store.subscribe_all(cache.next_position());
    // The log's length when we start: once folded that far, the cache has caught up.
    let mut catch_up_to: Option<u64> = None;
    loop {
        if catch_up_to.is_none() {
            catch_up_to = store.stats().await.ok().map(|stats| stats.events);
        }
        if let Some(target) = catch_up_to.filter(|target| cache.next_position() >= *target) {
            cache.go_live();
            tracing::info!(
                position = cache.next_position(),
                target,
                "case cache caught up"
            );
            catch_up_to = Some(u64::MAX);
        }
        let Some(events) = gridcase_bus::retry::next_batch_until(
            &mut subscription,
            &mut shutdown,
            "the case cache",
        )
        .await
        else {
            break;
        };
        for event in &events {
            cache.fold(event);
        }
    }
    tracing::debug!("case cache stopped");
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use gridcase_domain::event::{CaseMerged, CaseReported, CaseTriaged};
    use gridcase_domain::{
        Channel, Coordinates, DepartmentCode, Description, GridCode, Priority, Reporter, Route,
        Timestamp, TrackingCode,
    };

    use super::*;
    use crate::classifier::Classifier;

    fn cache() -> CaseCache {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config");
        CaseCache::new(
            Arc::new(ReferenceData::load(&dir).unwrap()),
            Arc::new(ClassifierSlot::new(Classifier::keywords())),
        )
    }

    fn category(code: &str) -> CategoryCode {
        CategoryCode::parse(code).unwrap()
    }

    /// A place in the sample city, `metres_north` of 涌金苑, in micro-grid `micro_grid`.
    fn location(micro_grid: &str, metres_north: f64) -> Location {
        Location::new(
            Some(GridCode::parse(micro_grid).unwrap()),
            None,
            Some(Coordinates::new(30.2533 + metres_north / 111_195.0, 120.1622).unwrap()),
        )
        .unwrap()
    }

    fn reported(id: u128, category_code: &str) -> Event {
        Event::from(CaseReported {
            case_id: CaseId::from_u128(id),
            tracking_code: TrackingCode::from_u64(1),
            channel: Channel::Hotline,
            reporter: Reporter::anonymous(),
            location: location("330102-001-001-001-01", 0.0),
            description: Description::parse("路灯不亮").unwrap(),
            category: Some(category(category_code)),
            media: Vec::new(),
            reported_at: Timestamp::from_millis(1_000),
        })
    }

    /// The ids of the open cases `cache` gives a report of `category_code` at `location`.
    fn near(cache: &CaseCache, category_code: &str, location: &Location) -> Vec<CaseId> {
        cache.with_open_cases_near(Some(&category(category_code)), Some(location), |cases| {
            cases.map(|case| case.case_id).collect()
        })
    }

    #[test]
    fn the_open_cases_near_a_report_follow_category_and_status() {
        let cache = cache();
        let case = CaseId::from_u128(1);
        let here = location("330102-001-001-001-01", 30.0);
        let elsewhere = location("330102-001-001-001-02", 2_000.0);
        cache.fold_event(case, &reported(1, "BJ-01-07"), None);
        assert_eq!(near(&cache, "BJ-01-07", &here), vec![case]);
        assert!(near(&cache, "BJ-01-07", &elsewhere).is_empty());
        assert!(near(&cache, "SJ-01-01", &here).is_empty());
        // Triage corrects the category: the case moves with it.
        let triaged = Event::from(CaseTriaged {
            category: category("SJ-01-01"),
            priority: Priority::Normal,
            route: Route::Department {
                department: DepartmentCode::parse("city_lighting").unwrap(),
            },
            triaged_by: None,
            model: None,
            priority_reason: None,
        });
        cache.fold_event(case, &triaged, None);
        assert!(near(&cache, "BJ-01-07", &here).is_empty());
        assert_eq!(near(&cache, "SJ-01-01", &here), vec![case]);
        // Without a category or a place there is nothing to look at.
        assert!(cache.with_open_cases_near(None, Some(&here), |cases| cases.next().is_none()));
        assert!(
            cache.with_open_cases_near(Some(&category("SJ-01-01")), None, |cases| cases
                .next()
                .is_none())
        );
        // Merged into another: no longer open, gone.
        let merged = Event::from(CaseMerged {
            into: CaseId::from_u128(2),
        });
        cache.fold_event(case, &merged, None);
        assert!(near(&cache, "SJ-01-01", &here).is_empty());
    }
}
