//! The query model on disk: every case's view, the index entries and counters it is listed
//! and counted under, the hourly indicator buckets of its departments and its tracking code,
//! in the service's own sled tree with the log position they reflect ([`ReadModelStore`]).
//! Nothing per case stays in memory: a restart resumes from the checkpoint, and memory is
//! sled's bounded page cache.
//!
//! A case's colour changes with time alone (green → yellow → red as deadlines near and pass).
//! The colour it is indexed and counted under is worked out when an event arrives, and a
//! transition record says when it changes next; [`Model::colour_changes`], called every
//! second, moves the cases whose changes fell due.

pub mod care;
mod fold;
pub mod keys;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use gridcase_config::ReferenceData;
use gridcase_domain::{CaseId, GridCode, GridLevel, Timestamp, TrackingCode};
use gridcase_eventstore::{ReadModelConfig, ReadModelStore, RecordedEvent, Result, StoreError};
use gridcase_rules::deadlines::Colour;
use gridcase_rules::indicators::CaseIndicators;
use serde::{Deserialize, Serialize};

use crate::index::{departments_of, Key};
use crate::projection::CaseView;
use keys::Term;

/// The shape of the model's records; raise it when one changes, and models written before
/// are rebuilt from the log.
///
/// 2: a case keeps its reporter's sealed contact, not their masked phone.
/// 3: the `Waiting(handler)` index of inboxes.
/// 4: a case's state keeps when it reached its rung of the escalation ladder and who is called
///    to report in; the indicator buckets count report-ins (吹哨报到).
/// 5: households under care and their visits (`H…`, `V…`); a case's state keeps the
///    departments the grid rated, and the indicator buckets count the grid's ratings of
///    departments (网格评部门).
pub const FORMAT: u32 = 5;

/// Most colour changes applied in one batch.
const COLOUR_CHANGES_PER_BATCH: usize = 10_000;

/// One case as the model keeps it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stored {
    /// What the service shows of it.
    pub view: CaseView,
    /// The colour it is indexed and counted under.
    pub indexed_colour: Colour,
    /// When its colour changes next (its transition record), if it does before its next event.
    pub next_change_ms: Option<i64>,
    /// Its events folded for the indicators.
    pub indicators: CaseIndicators,
}

/// The levels whose areas are also indexed by status and by colour (the board's streets and
/// communities, and grids): a supervisor's list of one area's dispatched or red cases is then
/// one index walk.
pub fn combined(level: GridLevel) -> bool {
    matches!(
        level,
        GridLevel::Street | GridLevel::Community | GridLevel::Grid
    )
}

impl Stored {
    /// Its place in every index: report time and id, once reported.
    fn key(&self) -> Option<Key> {
        let state = &self.view.state;
        Some((state.reported_at?.as_millis(), state.case_id?))
    }

    /// Every term the case is listed and counted under.
    fn terms(&self) -> Vec<Term> {
        let state = &self.view.state;
        let Some(status) = state.status else {
            return Vec::new();
        };
        let colour = self.indexed_colour;
        let mut terms = vec![Term::All, Term::Status(status), Term::Colour(colour)];
        if let Some(grid) = state.location.as_ref().and_then(|l| l.grid()) {
            for level in GridLevel::ALL {
                if let Some(area) = grid.at_level(level) {
                    terms.push(Term::Area(area));
                    if combined(level) {
                        terms.push(Term::AreaStatus(area, status));
                        terms.push(Term::AreaColour(area, colour));
                    }
                }
            }
        }
        terms.extend(departments_of(state).into_iter().map(Term::Department));
        if matches!(
            status,
            gridcase_domain::CaseStatus::Dispatched | gridcase_domain::CaseStatus::Accepted
        ) {
            terms.extend(
                state
                    .assignee
                    .as_ref()
                    .map(|assignee| Term::Waiting(assignee.actor_name())),
            );
        }
        terms.extend(state.category.map(Term::Category));
        terms
    }
}

fn storage(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("query model: {e}"))
}

fn encode_record<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(value).map_err(storage)
}

fn decode_record<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| storage(format!("a record does not decode: {e}")))
}

/// The model: its store, the SLA policies colours are worked out with, and the lock that
/// keeps one writer at a time (the log follower or the colour clock).
#[derive(Debug)]
pub struct Model {
    store: ReadModelStore,
    reference: Arc<ReferenceData>,
    writer: Mutex<()>,
}

impl Model {
    /// Opens the model `config` describes.
    pub fn open(config: &ReadModelConfig, reference: Arc<ReferenceData>) -> Result<Self> {
        let store = ReadModelStore::open(config, FORMAT)?;
        Ok(Self {
            store,
            reference,
            writer: Mutex::new(()),
        })
    }

    /// Why the model starts from position 0, when it does (see [`ReadModelStore::rebuilt`]).
    pub fn rebuilt(&self) -> Option<&'static str> {
        self.store.rebuilt()
    }

    /// The position in shard `shard`'s log of the next event to fold: every event below it
    /// is reflected.
    pub fn position(&self, shard: usize) -> u64 {
        self.store.position(shard)
    }

    /// Every shard's checkpoint, for the first `shards` shards.
    pub fn positions(&self, shards: usize) -> Vec<u64> {
        self.store.positions(shards)
    }

    /// How many events of the log (of every shard) are reflected; with one shard, the
    /// position of the next event to fold.
    pub fn folded(&self) -> u64 {
        self.store.folded()
    }

    /// Bytes the model takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.store.size_on_disk()
    }

    /// The model's records (for the indicator buckets kept among them).
    pub fn tree(&self) -> &sled::Tree {
        self.store.tree()
    }

    /// Writes everything folded so far to disk.
    pub fn flush(&self) -> Result<()> {
        self.store.flush()
    }

    fn read<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.store.tree().get(key).map_err(storage)? {
            Some(bytes) => decode_record(&bytes).map(Some),
            None => Ok(None),
        }
    }

    fn stored(&self, case: CaseId) -> Result<Option<Stored>> {
        self.read(&keys::case_key(keys::CASE, case))
    }

    /// One case's view, if the case is known.
    pub fn case(&self, case: CaseId) -> Result<Option<CaseView>> {
        Ok(self.stored(case)?.map(|stored| stored.view))
    }

    /// One case's events folded for the indicators.
    pub fn case_indicators(&self, case: CaseId) -> Result<Option<CaseIndicators>> {
        Ok(self.stored(case)?.map(|stored| stored.indicators))
    }

    /// The case holding a tracking code.
    pub fn tracking(&self, code: TrackingCode) -> Result<Option<CaseId>> {
        let bytes = self
            .store
            .tree()
            .get(keys::tracking_key(&code.to_string()))
            .map_err(storage)?;
        Ok(bytes
            .and_then(|b| <[u8; 16]>::try_from(b.as_ref()).ok())
            .map(CaseId::from_bytes))
    }

    /// How many cases are under `term`.
    pub fn count(&self, term: &Term) -> Result<u64> {
        let bytes = self
            .store
            .tree()
            .get(keys::counter_key(term))
            .map_err(storage)?;
        Ok(bytes.map_or(0, |b| u64::try_from(keys::read_count(&b)).unwrap_or(0)))
    }

    /// How many case events were folded.
    pub fn events(&self) -> Result<u64> {
        let bytes = self.store.tree().get(keys::EVENTS).map_err(storage)?;
        Ok(bytes.map_or(0, |b| u64::try_from(keys::read_count(&b)).unwrap_or(0)))
    }

    /// The keys of the cases under `term`, newest report first, from just before `before`
    /// (a key, exclusive) or from the newest, down to report time `from_ms` (inclusive).
    pub fn walk(
        &self,
        term: &Term,
        before: Option<Key>,
        from_ms: i64,
    ) -> impl Iterator<Item = Result<Key>> {
        let prefix = keys::index_prefix(term);
        let start = keys::index_key(term, (from_ms, CaseId::from_u128(0)));
        let end = match before {
            Some(key) => keys::index_key(term, key),
            None => {
                let mut end = prefix.clone();
                end.push(0xff);
                end
            }
        };
        self.store.tree().range(start..end).rev().map(|entry| {
            let (key, _) = entry.map_err(storage)?;
            keys::entry_key(&key).ok_or_else(|| storage("an index entry without its case"))
        })
    }

    /// The counters of every `(area, value)` of `prefix` (see [`keys::area_status_counters`]).
    pub fn area_counts(&self, prefix: &[u8]) -> Result<Vec<(GridCode, String, u64)>> {
        let mut counts = Vec::new();
        for entry in self.store.tree().scan_prefix(prefix) {
            let (key, value) = entry.map_err(storage)?;
            let (area, name) = keys::area_counter_parts(&key, prefix.len())
                .ok_or_else(|| storage("a counter key without its area"))?;
            let area = GridCode::parse(area).map_err(|e| storage(e.reason))?;
            let count = u64::try_from(keys::read_count(&value)).unwrap_or(0);
            counts.push((area, name.to_owned(), count));
        }
        Ok(counts)
    }

    /// The colour counters of every area at `level`.
    pub fn area_colour_counts(&self, level: GridLevel) -> Result<Vec<(GridCode, Colour, u64)>> {
        let counts = self.area_counts(&keys::area_colour_counters(level))?;
        counts
            .into_iter()
            .map(|(area, colour, count)| {
                let colour = Colour::parse(&colour)
                    .ok_or_else(|| storage(format!("a counter of colour {colour:?}")))?;
                Ok((area, colour, count))
            })
            .collect()
    }

    /// Every household under care (or once under care), by id.
    pub fn households(
        &self,
    ) -> Result<
        Vec<(
            gridcase_domain::HouseholdId,
            gridcase_domain::people::Household,
        )>,
    > {
        care::households(self.store.tree())
    }

    /// One household under care (or once under care), if it was ever enrolled.
    pub fn household(
        &self,
        household: gridcase_domain::HouseholdId,
    ) -> Result<Option<gridcase_domain::people::Household>> {
        care::household(self.store.tree(), household)
    }

    /// The care visits made in [`from_ms`, `to_ms`), with their times.
    pub fn visits(&self, from_ms: i64, to_ms: i64) -> Result<Vec<(i64, care::VisitLine)>> {
        care::visits(self.store.tree(), from_ms, to_ms)
    }

    /// Folds a batch of shard `shard`'s log and moves that shard's checkpoint past it,
    /// atomically.
    pub fn fold(&self, shard: usize, records: &[RecordedEvent], now: Timestamp) -> Result<()> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut changes = fold::Changes::new(self, now, Some(shard));
        for record in records {
            changes.fold(record)?;
        }
        changes.commit()
    }

    /// Re-colours the cases whose colour changed by `now`; how many it moved.
    pub fn colour_changes(&self, now: Timestamp) -> Result<usize> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let start = [keys::TRANSITION];
        let end = keys::transition_key(now.as_millis().saturating_add(1), CaseId::from_u128(0));
        let mut due = Vec::new();
        for entry in self
            .store
            .tree()
            .range(start.as_slice()..end.as_slice())
            .take(COLOUR_CHANGES_PER_BATCH)
        {
            let (key, _) = entry.map_err(storage)?;
            let (_, case) =
                keys::entry_key(&key).ok_or_else(|| storage("a transition without its case"))?;
            due.push((key.to_vec(), case));
        }
        let moved = due.len();
        if moved > 0 {
            let mut changes = fold::Changes::new(self, now, None);
            changes.colour_changes(due)?;
            changes.commit()?;
        }
        Ok(moved)
    }
}
