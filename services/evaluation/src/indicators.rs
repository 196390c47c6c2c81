//! The department indicators' read model, kept in the service's own sled tree with the log
//! position it reflects ([`ReadModelStore`]), so a request reads buckets instead of the log
//! and a restart resumes from the checkpoint.
//!
//! | key | value |
//! |---|---|
//! | `c` case id | the case's events folded for the indicators ([`CaseIndicators`], postcard) |
//! | `r` report time, case id | nothing: the case was reported then (for a period's partial hours) |
//! | `h` report hour, department | the department's totals of the hour's cases ([`gridcase_indicator_store`]) |
//! | `e` | how many case events were folded |
//! | `m…`, `a…`, `o…`, `O…` | the people's members, accounts and service orders ([`crate::people::model`]) |
//!
//! A batch of the log is folded into the cases it touches; each is then compared once with
//! what it was at the batch's start, and its records, report entry and bucket parts are
//! written with the checkpoint in one atomic batch. Memory holds nothing per case.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::time::Duration;

use gridcase_casestore::decode;
use gridcase_config::IndicatorWeights;
use gridcase_domain::CaseId;
use gridcase_eventstore::{ReadModelConfig, ReadModelStore, RecordedEvent, Result, StoreError};
use gridcase_indicator_store::{parts, period_totals, time_bytes, BucketChanges, Parts};
use gridcase_rules::indicators::{rows, CaseIndicators, DepartmentIndicators};
use tokio::sync::watch;

use crate::people::model::{PeopleChanges, Totals};

/// The shape of the model's records; raise it when one changes, and models written before
/// are rebuilt from the log.
///
/// 2: departments' report-in counts (吹哨报到) in the indicators.
/// 3: the people's members and accounts (`m…`, `a…`).
/// 4: service orders (`o…`, `O…`); the grid's ratings of departments (网格评部门) in the
///    indicators.
pub const FORMAT: u32 = 4;

const CASE: u8 = b'c';
const REPORTED: u8 = b'r';
const EVENTS: &[u8] = b"e";

fn storage(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("indicator model: {e}"))
}

fn case_key(case: CaseId) -> [u8; 17] {
    let mut key = [CASE; 17];
    key[1..].copy_from_slice(&case.to_bytes());
    key
}

fn reported_key(at_ms: i64, case: CaseId) -> Vec<u8> {
    let mut key = vec![REPORTED];
    key.extend_from_slice(&time_bytes(at_ms));
    key.extend_from_slice(&case.to_bytes());
    key
}

fn read_count(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

/// A case touched by a batch, with what it was at the batch's start.
struct Touched {
    track: CaseIndicators,
    reported_ms: Option<i64>,
    parts: Parts,
}

/// The indicator model and the log positions it reflects.
#[derive(Debug)]
pub struct IndicatorModel {
    store: ReadModelStore,
    /// How many events are folded: moves with every batch.
    folded: watch::Sender<u64>,
}

impl IndicatorModel {
    /// Opens the model `config` describes.
    pub fn open(config: &ReadModelConfig) -> Result<Self> {
        let store = ReadModelStore::open(config, FORMAT)?;
        let folded = watch::Sender::new(store.folded());
        Ok(Self { store, folded })
    }

    /// Why the model starts from position 0, when it does.
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

    /// How many events of the log (every shard's) are folded; with one shard, the position of
    /// the next event to fold.
    pub fn folded(&self) -> u64 {
        self.store.folded()
    }

    /// Bytes the model takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.store.size_on_disk()
    }

    fn track(&self, case: CaseId) -> Result<Option<CaseIndicators>> {
        match self.store.tree().get(case_key(case)).map_err(storage)? {
            Some(bytes) => postcard::from_bytes(&bytes).map(Some).map_err(storage),
            None => Ok(None),
        }
    }

    /// How many case events were folded.
    pub fn events(&self) -> Result<u64> {
        let bytes = self.store.tree().get(EVENTS).map_err(storage)?;
        Ok(bytes.map_or(0, |b| read_count(&b)))
    }

    /// Folds a batch of shard `shard`'s log and moves that shard's checkpoint past it,
    /// atomically; other streams and undecodable events only move the position. The caller
    /// folds one batch at a time.
    pub fn fold(&self, shard: usize, records: &[RecordedEvent]) -> Result<()> {
        let mut next = self.position(shard);
        let mut events = 0u64;
        let mut touched: HashMap<CaseId, Touched> = HashMap::new();
        let mut people = PeopleChanges::default();
        for record in records {
            next = next.max(record.position + 1);
            let Ok(case) = CaseId::parse(&record.stream_id) else {
                people.take(record);
                continue;
            };
            let event = match decode(case, record) {
                Ok(event) => event,
                Err(error) => {
                    tracing::warn!(%error, position = record.position, "not counted");
                    continue;
                }
            };
            let entry = match touched.entry(case) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    let track = self.track(case)?.unwrap_or_default();
                    entry.insert(Touched {
                        reported_ms: track.reported_at_ms(),
                        parts: parts(&track),
                        track,
                    })
                }
            };
            entry.track.apply(record.recorded_at_ms, &event);
            events += 1;
        }
        let tree = self.store.tree();
        let mut batch = sled::Batch::default();
        let mut buckets = BucketChanges::new();
        for (case, before) in touched {
            let reported_ms = before.track.reported_at_ms();
            if reported_ms != before.reported_ms {
                if let Some(at) = before.reported_ms {
                    batch.remove(reported_key(at, case));
                }
                if let Some(at) = reported_ms {
                    batch.insert(reported_key(at, case), &[]);
                }
            }
            buckets.case_changed(before.parts, parts(&before.track));
            let bytes = postcard::to_allocvec(&before.track).map_err(storage)?;
            batch.insert(case_key(case).as_slice(), bytes);
        }
        buckets.write(tree, &mut batch)?;
        people.write(tree, &mut batch)?;
        if events > 0 {
            batch.insert(EVENTS, &(self.events()? + events).to_be_bytes());
        }
        self.store.commit(batch, shard, next)?;
        let folded = self.store.folded();
        self.folded.send_replace(folded);
        metrics::gauge!("evaluation_model_position").set(folded as f64);
        Ok(())
    }

    /// The members communities enrolled in `community` (not those of the reference data).
    pub fn members_of(
        &self,
        community: &gridcase_domain::GridCode,
    ) -> Result<
        Vec<(
            gridcase_domain::MemberId,
            gridcase_domain::people::MemberEnrolled,
        )>,
    > {
        crate::people::model::members_of(self.store.tree(), community)
    }

    /// The service orders of `community`, by id.
    pub fn orders_of(
        &self,
        community: &gridcase_domain::GridCode,
    ) -> Result<Vec<(gridcase_domain::OrderId, gridcase_domain::people::Order)>> {
        crate::people::model::orders_of(self.store.tree(), community)
    }

    /// Every points account's totals, by account id.
    pub fn accounts(&self) -> Result<Vec<(String, Totals)>> {
        crate::people::model::accounts(self.store.tree())
    }

    /// Waits until every event below `heads[shard]` of each shard's log is folded; false if
    /// `patience` ran out first.
    pub async fn wait_for(&self, heads: &[u64], patience: Duration) -> bool {
        let mut receiver = self.folded.subscribe();
        let reached = |_: &u64| {
            heads
                .iter()
                .enumerate()
                .all(|(shard, head)| self.store.position(shard) >= *head)
        };
        tokio::time::timeout(patience, receiver.wait_for(reached))
            .await
            .is_ok_and(|waited| waited.is_ok())
    }

    /// The indicators of the cases reported in `from_ms..to_ms`, and how many events the model
    /// has counted.
    pub fn report(
        &self,
        from_ms: i64,
        to_ms: i64,
        weights: &IndicatorWeights,
    ) -> Result<(Vec<DepartmentIndicators>, u64)> {
        let tree = self.store.tree();
        let totals = period_totals(tree, from_ms, to_ms, |from, to| {
            let mut cases = Vec::new();
            let range =
                reported_key(from, CaseId::from_u128(0))..reported_key(to, CaseId::from_u128(0));
            for entry in tree.range(range) {
                let (key, _) = entry.map_err(storage)?;
                let id: [u8; 16] = key[9..]
                    .try_into()
                    .map_err(|_| storage("a report entry without its case"))?;
                cases.extend(self.track(CaseId::from_bytes(id))?);
            }
            Ok(cases)
        })?;
        let report = rows(totals.iter().map(|(d, t)| (d.as_str(), t.clone())), weights);
        Ok((report, self.events()?))
    }
}

#[cfg(test)]
mod tests;
