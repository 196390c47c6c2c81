//! The case cache: triage's read model of the store's global log, kept in the service's own
//! model on disk ([`ReadModelStore`]) beside the log position it reflects, and followed by a
//! catch-up subscription from there. It answers duplicate detection and the manual queue;
//! decisions themselves are made on state freshly loaded from the case's stream, so a stale
//! cache can only miss a duplicate, never decide twice.
//!
//! Every case's [`CachedCase`] is on disk. Memory holds only the hot part: the open cases,
//! filed by category and place for duplicate detection ([`OpenCaseIndex`]), and the manual
//! queue's index of the cases awaiting triage, by grid. A case that is closed, merged or
//! rejected leaves memory and stays on disk, where its next event (a reopen) finds it.
//!
//! A batch of the log is folded into the cases it touches, written in one atomic sled batch
//! with the position it reaches, and only then shown in memory. A restart resumes from that
//! checkpoint and reads only the open cases (each has a marker key beside its record); a new
//! model, one asked to be rebuilt or one of another [`FORMAT`] is built from position 0, to
//! the same contents.
//!
//! A report without a category of its own is filed under the classifier's guess, made once,
//! when the report folds — but only once the cache has caught up with the log it found at
//! start ([`CaseCache::go_live`]): before, most reports are triaged a few events later, so
//! guessing each would only slow the start; going live guesses for those still waiting. The
//! guess is kept with the case while it awaits triage, so a resumed cache keeps it.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use gridcase_bus::follow::blocking;
use gridcase_casestore::decode;
use gridcase_config::ReferenceData;
use gridcase_domain::{
    apply, CaseId, CaseState, CaseStatus, CategoryCode, Event, GridCode, Location, WorkerId,
};
use gridcase_eventstore::{
    EventStore, ReadModelConfig, ReadModelStore, RecordedEvent, Result, StoreError,
};
use gridcase_rules::{OpenCase, OpenCaseIndex};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::classifier::{Classifier, ClassifierSlot};
use crate::decision::{category_of, reporting_worker, CaseView};

/// The shape of the model's records; raise it when one changes, and models written before are
/// rebuilt from the log.
///
/// 2: a case's state keeps when it reached its rung of the escalation ladder and who is called
///    to report in.
/// 3: a case's state keeps the departments the grid rated (网格评部门).
pub const FORMAT: u32 = 3;

/// The first byte of a case's record: `CASE` and the case id's 16 bytes.
const CASE: u8 = b'c';
/// The first byte of an open case's marker (`OPEN` and the case id, no value): start-up reads
/// the open cases by these alone.
const OPEN: u8 = b'o';

fn key(prefix: u8, case: CaseId) -> [u8; 17] {
    let mut key = [prefix; 17];
    key[1..].copy_from_slice(&case.to_bytes());
    key
}

fn case_of(key: &[u8]) -> Option<CaseId> {
    let bytes: [u8; 16] = key.get(1..)?.try_into().ok()?;
    Some(CaseId::from_bytes(bytes))
}

fn storage(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("triage model: {e}"))
}

/// One case as the cache keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CachedCase {
    /// The folded state.
    pub state: CaseState,
    /// What the reporter said.
    pub description: String,
    /// The category for duplicate detection: the case's own, else — while it awaits triage —
    /// the classifier's guess.
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

    /// True while the case waits for triage (reported, returned or reopened).
    pub fn awaits_triage(&self) -> bool {
        self.state.status == Some(CaseStatus::Reported)
    }

    /// The grid it was reported in, if known.
    fn grid(&self) -> Option<GridCode> {
        self.state.location.as_ref().and_then(Location::grid)
    }

    /// Folds `event`, recorded by `actor`; a report without a category of its own is given
    /// `classifier`'s guess when there is one (the cache is live).
    fn fold(
        &mut self,
        event: &Event,
        actor: Option<&str>,
        guess: Option<(&ReferenceData, &Classifier)>,
    ) {
        if let Event::CaseReported(reported) = event {
            self.description = reported.description.as_str().to_owned();
            self.reported_by_worker = reporting_worker(reported, actor);
        }
        self.state = apply(std::mem::take(&mut self.state), event);
        self.category = match self.state.category {
            Some(category) => Some(category),
            // Awaiting triage without one: the guess made at its report, once.
            None if self.awaits_triage() => match (event, guess) {
                (Event::CaseReported(_), Some((refdata, classifier))) => {
                    category_of(refdata, classifier, self.view()).or(self.category)
                }
                _ => self.category,
            },
            // Rejected or merged before anyone gave it one: nothing is filed under a guess.
            None => None,
        };
    }
}

/// The cache's part in memory: the open cases and what is looked up among them.
#[derive(Debug, Default)]
struct Hot {
    /// Every open case (not closed, merged or rejected).
    cases: HashMap<CaseId, CachedCase>,
    /// The open cases as duplicate detection takes them, filed by category and place, so a
    /// decision reads those near its case: its cost does not grow with the number of open
    /// cases.
    open: OpenCaseIndex,
    /// The cases awaiting triage by grid (cases without one first): the manual queue.
    awaiting: BTreeSet<(Option<GridCode>, CaseId)>,
}

impl Hot {
    /// Puts `case` as it now is: kept and filed while open, forgotten once not.
    fn put(&mut self, case: CaseId, cached: CachedCase) {
        if let Some(before) = self.cases.remove(&case) {
            self.awaiting.remove(&(before.grid(), case));
        }
        // Its category may have changed (triage confirms or corrects the classifier's guess):
        // the index moves it to its new cells.
        self.open.remove(case);
        if !cached.state.is_open() {
            return;
        }
        if let Some(open_case) = cached.open_case() {
            self.open.insert(open_case);
        }
        if cached.awaits_triage() {
            self.awaiting.insert((cached.grid(), case));
        }
        self.cases.insert(case, cached);
    }
}

/// A case a batch touched, with whether it was open (marked) before the batch.
struct Touched {
    cached: CachedCase,
    was_open: bool,
}

/// Every case folded from the log — on disk, the open ones also in memory — shared between
/// the follower, the worker and the API.
#[derive(Debug)]
pub struct CaseCache {
    refdata: Arc<ReferenceData>,
    classifier: Arc<ClassifierSlot>,
    store: ReadModelStore,
    hot: RwLock<Hot>,
    /// One writer at a time: the follower's batches and going live.
    writer: Mutex<()>,
    /// Each shard's position of the next event to fold: everything before it is on disk and
    /// in memory.
    next_position: watch::Sender<Vec<u64>>,
    /// Set once the log read at start is folded: from then on a new report's category is
    /// guessed as it folds.
    live: AtomicBool,
}

impl CaseCache {
    /// Opens the model `config` describes and reads its open cases, classifying with
    /// `classifier` over `refdata`. A model that must be rebuilt starts empty, from position 0.
    pub fn open(
        config: &ReadModelConfig,
        refdata: Arc<ReferenceData>,
        classifier: Arc<ClassifierSlot>,
    ) -> Result<Self> {
        let store = ReadModelStore::open(config, FORMAT)?;
        let mut hot = Hot::default();
        for marker in store.tree().scan_prefix([OPEN]) {
            let (marker, _) = marker.map_err(storage)?;
            let case =
                case_of(&marker).ok_or_else(|| storage("an open marker without its case"))?;
            let cached = read(&store, case)?
                .ok_or_else(|| storage(format!("open case {case} has no record")))?;
            hot.put(case, cached);
        }
        let position = store.positions(gridcase_eventstore::MAX_SHARDS);
        Ok(Self {
            refdata,
            classifier,
            store,
            hot: RwLock::new(hot),
            writer: Mutex::new(()),
            next_position: watch::Sender::new(position),
            live: AtomicBool::new(false),
        })
    }

    /// Why the model starts from position 0 (see [`ReadModelStore::rebuilt`]), `None` when
    /// it resumes from its checkpoint.
    pub fn rebuilt(&self) -> Option<&'static str> {
        self.store.rebuilt()
    }

    /// How many events of the log (every shard's) the cache has folded; with one shard, the
    /// position of the next event it will fold.
    pub fn next_position(&self) -> u64 {
        self.next_position.borrow().iter().sum()
    }

    /// The position in shard `shard`'s log of the next event the cache will fold.
    pub fn position(&self, shard: usize) -> u64 {
        self.next_position.borrow()[shard]
    }

    /// Waits until the event at `position` of shard `shard`'s log has been folded.
    pub async fn wait_past(&self, shard: usize, position: u64) {
        let mut receiver = self.next_position.subscribe();
        // The sender lives as long as `self`, so this only ends once the position is passed.
        let _ = receiver.wait_for(|next| next[shard] > position).await;
    }

    /// True once the cache guesses the category of reports as they fold.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// How many open cases are in memory.
    pub fn open_cases(&self) -> usize {
        self.hot().cases.len()
    }

    /// True if `case` is in memory (it is open).
    pub fn in_memory(&self, case: CaseId) -> bool {
        self.hot().cases.contains_key(&case)
    }

    /// A copy of one case: from memory if it is open, else from disk.
    pub fn get(&self, case: CaseId) -> Result<Option<CachedCase>> {
        if let Some(cached) = self.hot().cases.get(&case) {
            return Ok(Some(cached.clone()));
        }
        read(&self.store, case)
    }

    /// Every case on disk, in case order.
    pub fn stored(&self) -> Result<Vec<(CaseId, CachedCase)>> {
        self.store
            .tree()
            .scan_prefix([CASE])
            .map(|entry| {
                let (key, value) = entry.map_err(storage)?;
                let case = case_of(&key).ok_or_else(|| storage("a record without its case"))?;
                Ok((case, decode_record(&value)?))
            })
            .collect()
    }

    /// Copies of the cases awaiting triage, within `grid` if one is given (a case without a
    /// grid is only listed when none is): the manual queue, read from its index alone.
    pub fn awaiting_triage(&self, grid: Option<&GridCode>) -> Vec<CachedCase> {
        let hot = self.hot();
        let ids: Vec<CaseId> = match grid {
            None => hot.awaiting.iter().map(|(_, case)| *case).collect(),
            // The codes within a grid follow it in the order of codes, one run.
            Some(grid) => hot
                .awaiting
                .range((Some(*grid), CaseId::from_u128(0))..)
                .take_while(|(code, _)| code.is_some_and(|code| code.is_within(grid)))
                .map(|(_, case)| *case)
                .collect(),
        };
        ids.iter()
            .filter_map(|case| hot.cases.get(case).cloned())
            .collect()
    }

    /// Runs `f` over the open cases of `category` (none for `None`) that may be at the same
    /// place as a report at `location` (none without one) and were reported within `reported`
    /// (milliseconds, both ends included): each open case a duplicate of such a report could
    /// repeat, once, with a few more nearby. In place, under a read lock:
    /// keep `f` short and free of waiting.
    pub fn with_open_cases_near<T>(
        &self,
        category: Option<&CategoryCode>,
        location: Option<&Location>,
        reported: RangeInclusive<i64>,
        f: impl FnOnce(&mut dyn Iterator<Item = &OpenCase>) -> T,
    ) -> T {
        let hot = self.hot();
        match (category, location) {
            (Some(category), Some(location)) => f(&mut hot.open.nearby_reported(
                category,
                location.grid().as_ref(),
                location.coordinates().as_ref(),
                reported,
            )),
            _ => f(&mut std::iter::empty()),
        }
    }

    /// Folds a batch of shard `shard`'s log (other streams and unknown event types only move
    /// the position) and writes the cases it touched with the position it reaches, in one
    /// atomic batch; memory shows them once they are written. An error means nothing of the
    /// batch was kept: the model cannot be written.
    pub fn fold(&self, shard: usize, records: &[RecordedEvent]) -> Result<()> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let classifier = self.is_live().then(|| self.classifier.current());
        let guess = classifier
            .as_deref()
            .map(|classifier| (&*self.refdata, classifier));
        let mut next = self.position(shard);
        let mut touched: HashMap<CaseId, Touched> = HashMap::new();
        for record in records {
            next = next.max(record.position + 1);
            let Ok(case) = CaseId::parse(&record.stream_id) else {
                continue;
            };
            let event = match decode(case, record) {
                Ok(event) => event,
                Err(error) => {
                    tracing::debug!(%error, event_type = %record.event_type, "not folded");
                    continue;
                }
            };
            let entry = match touched.entry(case) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(self.touch(case)?),
            };
            entry
                .cached
                .fold(&event, record.metadata.actor.as_deref(), guess);
        }
        if touched.is_empty() && next == self.store.position(shard) {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for (case, touched) in &touched {
            write(&mut batch, *case, &touched.cached, touched.was_open)?;
        }
        self.store.commit(batch, shard, next)?;
        let mut hot = self.hot_mut();
        for (case, touched) in touched {
            hot.put(case, touched.cached);
        }
        drop(hot);
        self.next_position.send_if_modified(|positions| {
            let modified = next > positions[shard];
            positions[shard] = positions[shard].max(next);
            modified
        });
        metrics::gauge!("triage_model_position").set(self.next_position() as f64);
        Ok(())
    }

    /// A case as the batch starts from: in memory if open, else on disk, else new.
    fn touch(&self, case: CaseId) -> Result<Touched> {
        let cached = match self.hot().cases.get(&case) {
            Some(cached) => Some(cached.clone()),
            None => read(&self.store, case)?,
        }
        .unwrap_or_default();
        Ok(Touched {
            was_open: cached.state.is_open(),
            cached,
        })
    }

    /// Guesses, from now on, the category of every report as it folds, and now that of every
    /// case folded before that still awaits triage without one (written with the checkpoint
    /// where it stands).
    pub fn go_live(&self) -> Result<()> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if self.live.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let classifier = self.classifier.current();
        let guessed: Vec<(CaseId, CachedCase)> = {
            let hot = self.hot();
            hot.awaiting
                .iter()
                .filter_map(|(_, case)| Some((*case, hot.cases.get(case)?)))
                .filter(|(_, cached)| cached.category.is_none())
                .filter_map(|(case, cached)| {
                    let category = category_of(&self.refdata, &classifier, cached.view())?;
                    Some((
                        case,
                        CachedCase {
                            category: Some(category),
                            ..cached.clone()
                        },
                    ))
                })
                .collect()
        };
        tracing::debug!(
            guessed = guessed.len(),
            "categories guessed for the cases awaiting triage"
        );
        if guessed.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for (case, cached) in &guessed {
            write(&mut batch, *case, cached, true)?;
        }
        self.store.apply(batch)?;
        let mut hot = self.hot_mut();
        for (case, cached) in guessed {
            hot.put(case, cached);
        }
        Ok(())
    }

    /// Writes everything folded so far to disk.
    pub fn flush(&self) -> Result<()> {
        self.store.flush()
    }

    /// Bytes the model takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.store.size_on_disk()
    }

    fn hot(&self) -> std::sync::RwLockReadGuard<'_, Hot> {
        self.hot.read().unwrap_or_else(|e| e.into_inner())
    }

    fn hot_mut(&self) -> std::sync::RwLockWriteGuard<'_, Hot> {
        self.hot.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn decode_record(bytes: &[u8]) -> Result<CachedCase> {
    postcard::from_bytes(bytes).map_err(|e| storage(format!("a record does not decode: {e}")))
}

/// One case's record on disk.
fn read(store: &ReadModelStore, case: CaseId) -> Result<Option<CachedCase>> {
    match store.tree().get(key(CASE, case)).map_err(storage)? {
        Some(bytes) => decode_record(&bytes).map(Some),
        None => Ok(None),
    }
}

/// Adds `cached` to `batch` as `case`'s record, and its open marker when it opened or closed.
fn write(batch: &mut sled::Batch, case: CaseId, cached: &CachedCase, was_open: bool) -> Result<()> {
    let bytes = postcard::to_allocvec(cached).map_err(storage)?;
    batch.insert(&key(CASE, case), bytes);
    match (was_open, cached.state.is_open()) {
        (false, true) => batch.insert(&key(OPEN, case), &[]),
        (true, false) => batch.remove(&key(OPEN, case)),
        _ => {}
    }
    Ok(())
}

/// Folds the log of every shard in `shards` (shard 0, 1, …) into `cache` from its checkpoints
/// until `shutdown`, retrying with backoff while a store is unreachable; goes live once it has
/// caught up with every shard's head seen at start. The folds and their writes run off the runtime's worker threads. Ends with the
/// model's error if it cannot be written: nothing after the batch it failed on is folded.
pub async fn follow<S: EventStore + 'static>(
    shards: Vec<S>,
    cache: Arc<CaseCache>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    match cache.rebuilt() {
        Some(why) => tracing::info!(why, "the triage model is built from the start of the log"),
        None => tracing::info!(
            start = cache.next_position(),
            shards = ?cache.store.positions(shards.len()),
            open = cache.open_cases(),
            "the triage model resumes from its checkpoint"
        ),
    }
    metrics::gauge!("triage_model_position").set(cache.next_position() as f64);
    let caught_up = || {
        cache.go_live()?;
        tracing::info!(
            position = cache.next_position(),
            open = cache.open_cases(),
            "case cache caught up"
        );
        Ok(())
    };
    let outcome = gridcase_bus::follow::follow_log(
        &shards,
        "the case cache",
        |shard| cache.position(shard),
        |shard, events| cache.fold(shard, events),
        caught_up,
        shutdown,
    )
    .await;
    blocking(|| cache.flush())?;
    tracing::debug!("case cache stopped");
    outcome
}

#[cfg(test)]
mod tests;
