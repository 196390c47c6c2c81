//! Writing the model: a batch of the log's events (or the colour changes that fell due) is
//! folded into the records it touches, held here until the whole batch is done, and then
//! written in one atomic sled batch together with the new checkpoint.

use std::collections::{BTreeMap, HashMap};

use gridcase_casestore::decode;
use gridcase_domain::{apply, CaseId, Event, Timestamp};
use gridcase_eventstore::{RecordedEvent, Result};
use gridcase_rules::deadlines::ColourClock;
use gridcase_rules::indicators::{CaseIndicators, Totals};

use super::keys::{self, Term};
use super::{encode_record, Model, Stored};
use crate::projection::{summary, Entry};

/// Changes of one batch, not yet written.
pub(super) struct Changes<'m> {
    model: &'m Model,
    now: Timestamp,
    cases: HashMap<CaseId, Stored>,
    tracks: HashMap<CaseId, CaseIndicators>,
    /// Index entries, transitions and tracking codes: written (`Some`) or removed (`None`).
    puts: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    counters: HashMap<Vec<u8>, i64>,
    buckets: HashMap<Vec<u8>, Totals>,
    events: u64,
    next_position: u64,
}

impl<'m> Changes<'m> {
    pub(super) fn new(model: &'m Model, now: Timestamp) -> Self {
        Self {
            model,
            now,
            cases: HashMap::new(),
            tracks: HashMap::new(),
            puts: BTreeMap::new(),
            counters: HashMap::new(),
            buckets: HashMap::new(),
            events: 0,
            next_position: model.position(),
        }
    }

    fn take_case(&mut self, case: CaseId) -> Result<Stored> {
        match self.cases.remove(&case) {
            Some(stored) => Ok(stored),
            None => Ok(self.model.stored(case)?.unwrap_or_default()),
        }
    }

    fn take_track(&mut self, case: CaseId) -> Result<CaseIndicators> {
        match self.tracks.remove(&case) {
            Some(track) => Ok(track),
            None => Ok(self.model.case_indicators(case)?.unwrap_or_default()),
        }
    }

    fn bucket(&mut self, key: Vec<u8>) -> Result<&mut Totals> {
        if !self.buckets.contains_key(&key) {
            let stored = self.model.read::<Totals>(&key)?.unwrap_or_default();
            self.buckets.insert(key.clone(), stored);
        }
        Ok(self.buckets.entry(key).or_default())
    }

    /// Folds one recorded event; other streams and undecodable events only move the position.
    pub(super) fn fold(&mut self, record: &RecordedEvent) -> Result<()> {
        self.next_position = self.next_position.max(record.position + 1);
        let Ok(case) = CaseId::parse(&record.stream_id) else {
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
        let mut stored = self.take_case(case)?;
        let before = stored.terms();
        let view = &mut stored.view;
        if let Event::CaseReported(reported) = &event {
            view.phone_masked = reported.reporter.phone.as_ref().map(|p| p.masked());
            self.puts.insert(
                keys::tracking_key(&reported.tracking_code.to_string()),
                Some(case.to_bytes().to_vec()),
            );
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
        view.colour = ColourClock::of(&view.state, &self.model.reference);
        self.settle(case, &mut stored, &before);
        self.cases.insert(case, stored);
        self.tally(case, record.recorded_at_ms, &event)
    }

    /// Works out the case's colour now and when it next changes, and moves its index
    /// entries, counters and transition from `before` to what it is under now.
    fn settle(&mut self, case: CaseId, stored: &mut Stored, before: &[Term]) {
        let old_change = stored.next_change_ms;
        stored.indexed_colour = stored.view.colour.at(self.now);
        stored.next_change_ms = stored
            .view
            .colour
            .next_change(self.now)
            .map(|t| t.as_millis())
            .filter(|_| stored.view.state.exists());
        if old_change != stored.next_change_ms {
            if let Some(at) = old_change {
                self.puts.insert(keys::transition_key(at, case), None);
            }
            if let Some(at) = stored.next_change_ms {
                self.puts
                    .insert(keys::transition_key(at, case), Some(Vec::new()));
            }
        }
        let after = stored.terms();
        let Some(key) = stored.key() else {
            return;
        };
        for term in before.iter().filter(|t| !after.contains(t)) {
            self.puts.insert(keys::index_key(term, key), None);
            *self.counters.entry(keys::counter_key(term)).or_default() -= 1;
        }
        for term in after.iter().filter(|t| !before.contains(t)) {
            self.puts
                .insert(keys::index_key(term, key), Some(Vec::new()));
            *self.counters.entry(keys::counter_key(term)).or_default() += 1;
        }
    }

    /// Moves the case's part of its departments' hourly indicator buckets across `event`.
    fn tally(&mut self, case: CaseId, recorded_at_ms: i64, event: &Event) -> Result<()> {
        let mut track = self.take_track(case)?;
        if let Some(reported) = track.reported_at_ms() {
            for (department, part) in track.parts() {
                let key = keys::hour_key(keys::hour_of(reported), &department);
                self.bucket(key)?.subtract(&part);
            }
        }
        track.apply(recorded_at_ms, event);
        if let Some(reported) = track.reported_at_ms() {
            for (department, part) in track.parts() {
                let key = keys::hour_key(keys::hour_of(reported), &department);
                self.bucket(key)?.add(&part);
            }
        }
        self.tracks.insert(case, track);
        Ok(())
    }

    /// Re-colours the cases whose colour changes fell due by now.
    pub(super) fn colour_changes(&mut self, due: Vec<(Vec<u8>, CaseId)>) -> Result<()> {
        for (transition, case) in due {
            self.puts.insert(transition, None);
            let mut stored = self.take_case(case)?;
            let before = stored.terms();
            // This transition is done: the next one is worked out afresh.
            stored.next_change_ms = None;
            self.settle(case, &mut stored, &before);
            self.cases.insert(case, stored);
        }
        Ok(())
    }

    /// Writes every change and the checkpoint in one atomic batch.
    pub(super) fn commit(self) -> Result<()> {
        let tree = self.model.store.tree();
        let mut batch = sled::Batch::default();
        for (case, stored) in &self.cases {
            batch.insert(
                keys::case_key(keys::CASE, *case).as_slice(),
                encode_record(stored)?,
            );
        }
        for (case, track) in &self.tracks {
            batch.insert(
                keys::case_key(keys::INDICATORS, *case).as_slice(),
                encode_record(track)?,
            );
        }
        for (key, value) in self.puts {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        for (key, delta) in self.counters {
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
        for (key, totals) in self.buckets {
            if totals.is_empty() {
                batch.remove(key);
            } else {
                batch.insert(key, encode_record(&totals)?);
            }
        }
        if self.events > 0 {
            let events = self.model.events()? + self.events;
            batch.insert(keys::EVENTS, &events.to_be_bytes());
        }
        self.model.store.commit(batch, self.next_position)
    }
}
