//! Writing the model: a batch of the log's events (or the colour changes that fell due) is
//! folded into the cases it touches, held here until the whole batch is done. Only then is
//! each touched case compared with what it was at the batch's start — its terms, its colour's
//! next change, its part of the indicator buckets — so a case that moves through several
//! stages in one batch costs one set of index changes, and everything is written in one
//! atomic sled batch together with the new checkpoint.

use std::collections::HashMap;

use gridcase_casestore::decode;
use gridcase_domain::{apply, CaseId, Event, Timestamp};
use gridcase_eventstore::{RecordedEvent, Result};
use gridcase_indicator_store::{parts, BucketChanges, Parts};
use gridcase_rules::deadlines::ColourClock;

use super::care::CareChanges;
use super::keys::{self, Term};
use super::{encode_record, Model, Stored};
use crate::projection::{summary, Entry};

/// A case touched by the batch, with what it was at the batch's start.
struct Touched {
    stored: Stored,
    terms: Vec<Term>,
    next_change_ms: Option<i64>,
    parts: Parts,
}

/// Changes of one batch, not yet written.
pub(super) struct Changes<'m> {
    model: &'m Model,
    now: Timestamp,
    cases: HashMap<CaseId, Touched>,
    /// Tracking codes and finished transitions.
    puts: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Households under care and their visits.
    care: CareChanges,
    events: u64,
    /// The shard whose log is folded and its next position; `None` when no event is.
    checkpoint: Option<(usize, u64)>,
}

impl<'m> Changes<'m> {
    pub(super) fn new(model: &'m Model, now: Timestamp, shard: Option<usize>) -> Self {
        Self {
            model,
            now,
            cases: HashMap::new(),
            puts: Vec::new(),
            care: CareChanges::default(),
            events: 0,
            checkpoint: shard.map(|shard| (shard, model.position(shard))),
        }
    }

    fn touch(&mut self, case: CaseId) -> Result<&mut Stored> {
        if !self.cases.contains_key(&case) {
            let stored = self.model.stored(case)?.unwrap_or_default();
            let touched = Touched {
                terms: stored.terms(),
                next_change_ms: stored.next_change_ms,
                parts: parts(&stored.indicators),
                stored,
            };
            self.cases.insert(case, touched);
        }
        Ok(&mut self
            .cases
            .get_mut(&case)
            .expect("inserted just above")
            .stored)
    }

    /// Folds one recorded event; other streams and undecodable events only move the position.
    pub(super) fn fold(&mut self, record: &RecordedEvent) -> Result<()> {
        if let Some((_, next)) = &mut self.checkpoint {
            *next = (*next).max(record.position + 1);
        }
        let Ok(case) = CaseId::parse(&record.stream_id) else {
            self.care.take(self.model.store.tree(), record)?;
            return Ok(());
        };
        let event = match decode(case, record) {
            Ok(event) => event,
            Err(error) => {
                tracing::debug!(%error, event_type = %record.event_type, "not folded");
                return Ok(());
            }
        };
        self.events += 1;
        if let Event::CaseReported(reported) = &event {
            self.puts.push((
                keys::tracking_key(&reported.tracking_code.to_string()),
                Some(case.to_bytes().to_vec()),
            ));
        }
        let stored = self.touch(case)?;
        let view = &mut stored.view;
        if let Event::CaseReported(reported) = &event {
            view.reporter = reported.reporter.clone();
        }
        view.timeline.push(Entry {
            event_type: event.type_name().to_owned(),
            stage: event.stage().to_owned(),
            actor: record.metadata.actor.clone(),
            recorded_at_ms: record.recorded_at_ms,
            summary: summary(&event),
            position: record.position,
        });
        view.state = apply(std::mem::take(&mut view.state), &event);
        view.public
            .record(&event, view.state.status, record.recorded_at_ms);
        stored.indicators.apply(record.recorded_at_ms, &event);
        Ok(())
    }

    /// Re-colours the cases whose colour changes fell due by now.
    pub(super) fn colour_changes(&mut self, due: Vec<(Vec<u8>, CaseId)>) -> Result<()> {
        for (transition, case) in due {
            // Done: the case's next change is worked out afresh at commit.
            self.puts.push((transition, None));
            self.touch(case)?;
        }
        Ok(())
    }

    /// Works out each touched case's colour and terms now and writes what changed since the
    /// batch's start — index entries, counters, transitions, indicator buckets, the cases
    /// themselves — with the checkpoint, in one atomic batch.
    pub(super) fn commit(self) -> Result<()> {
        let tree = self.model.store.tree();
        let reference = &self.model.reference;
        let now = self.now;
        let mut batch = sled::Batch::default();
        let mut counters: HashMap<Vec<u8>, i64> = HashMap::new();
        let mut buckets = BucketChanges::new();
        for (key, value) in self.puts {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        for (case, touched) in self.cases {
            let Touched {
                mut stored,
                terms: before,
                next_change_ms: old_change,
                parts: old_parts,
            } = touched;
            stored.view.colour = ColourClock::of(&stored.view.state, reference);
            stored.indexed_colour = stored.view.colour.at(now);
            stored.next_change_ms = stored
                .view
                .colour
                .next_change(now)
                .map(|t| t.as_millis())
                .filter(|_| stored.view.state.exists());
            if old_change != stored.next_change_ms {
                if let Some(at) = old_change {
                    batch.remove(keys::transition_key(at, case));
                }
                if let Some(at) = stored.next_change_ms {
                    batch.insert(keys::transition_key(at, case), &[]);
                }
            }
            if let Some(key) = stored.key() {
                let after = stored.terms();
                for term in before.iter().filter(|t| !after.contains(t)) {
                    if term.listed() {
                        batch.remove(keys::index_key(term, key));
                    }
                    *counters.entry(keys::counter_key(term)).or_default() -= 1;
                }
                for term in after.iter().filter(|t| !before.contains(t)) {
                    if term.listed() {
                        batch.insert(keys::index_key(term, key), &[]);
                    }
                    *counters.entry(keys::counter_key(term)).or_default() += 1;
                }
            }
            buckets.case_changed(old_parts, parts(&stored.indicators));
            batch.insert(
                keys::case_key(keys::CASE, case).as_slice(),
                encode_record(&stored)?,
            );
        }
        for (key, delta) in counters {
            if delta == 0 {
                continue;
            }
            let current = tree
                .get(&key)
                .map_err(super::storage)?
                .map_or(0, |v| keys::read_count(&v));
            match current + delta {
                0 => batch.remove(key),
                n => batch.insert(key, &n.to_be_bytes()),
            }
        }
        buckets.write(tree, &mut batch)?;
        self.care.write(&mut batch)?;
        if self.events > 0 {
            let events = self.model.events()? + self.events;
            batch.insert(keys::EVENTS, &events.to_be_bytes());
        }
        match self.checkpoint {
            Some((shard, next)) => self.model.store.commit(batch, shard, next),
            None => self.model.store.apply(batch),
        }
    }
}
