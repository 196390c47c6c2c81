//! The projections: every case's folded state, its reporter's masked phone and its timeline,
//! built by following the store's global log from position 0 (history, then live).

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, RwLock};

use gridcase_casestore::decode;
use gridcase_config::ReferenceData;
use gridcase_domain::{apply, CaseId, CaseState, CaseStatus, Event, Timestamp, TrackingCode};
use gridcase_eventstore::{EventStore, RecordedEvent};
use gridcase_rules::deadlines::ColourClock;
use gridcase_rules::indicators::Tally;

use crate::index::{Entries, Indexed, Indexes, Key};

/// One event of a case's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The event type name.
    pub event_type: String,
    /// The loop stage.
    pub stage: &'static str,
    /// Who recorded it, if known.
    pub actor: Option<String>,
    /// When the store recorded it, milliseconds since the Unix epoch.
    pub recorded_at_ms: i64,
    /// A one-line summary.
    pub summary: String,
    /// Its position in the global log.
    pub position: u64,
}

/// Everything the projection keeps of one case.
#[derive(Debug, Clone, Default)]
pub struct CaseView {
    /// The folded state.
    pub state: CaseState,
    /// The reporter's phone, masked; `None` if none was given.
    pub phone_masked: Option<String>,
    /// Every event, oldest first.
    pub timeline: Vec<Entry>,
    /// What the public may see beyond the state.
    pub public: PublicDetail,
    /// Its colour as a function of time, worked out at its latest event.
    pub colour: ColourClock,
}

/// What a case's public page shows beyond its state: the report's words and photos, the
/// handler's resolution and when each status was reached.
#[derive(Debug, Clone, Default)]
pub struct PublicDetail {
    /// How the report came in.
    pub channel: &'static str,
    /// What the reporter wrote.
    pub description: String,
    /// The reporter's photos.
    pub media: Vec<String>,
    /// What the handler said when last resolving it.
    pub resolution_note: String,
    /// The handler's evidence photos of the last resolution.
    pub evidence: Vec<String>,
    /// Why it was rejected, if it was.
    pub rejection_reason: String,
    /// Every change of status with the time the store recorded it, oldest first.
    pub stages: Vec<(CaseStatus, i64)>,
    /// When the store recorded the case's latest event.
    pub updated_at_ms: i64,
}

impl PublicDetail {
    fn record(&mut self, event: &Event, status: Option<CaseStatus>, at_ms: i64) {
        match event {
            Event::CaseReported(e) => {
                self.channel = e.channel.as_str();
                self.description = e.description.as_str().to_owned();
                self.media = e.media.iter().map(|u| u.as_str().to_owned()).collect();
            }
            Event::CaseResolved(e) => {
                self.resolution_note = e.note.as_str().to_owned();
                self.evidence = e.evidence.iter().map(|u| u.as_str().to_owned()).collect();
            }
            Event::CaseRejected(e) => self.rejection_reason = e.reason.as_str().to_owned(),
            _ => {}
        }
        if let Some(status) = status {
            if self.stages.last().map(|(s, _)| *s) != Some(status) {
                self.stages.push((status, at_ms));
            }
        }
        self.updated_at_ms = self.updated_at_ms.max(at_ms);
    }
}

impl CaseView {
    /// True if the case is open and past a running deadline at `now`.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        let state = &self.state;
        let passed = |deadline: Option<Timestamp>| deadline.is_some_and(|d| d < now);
        match state.status {
            Some(CaseStatus::Dispatched) => {
                passed(state.accept_deadline) || passed(state.resolve_deadline)
            }
            Some(CaseStatus::Accepted) => passed(state.resolve_deadline),
            _ => false,
        }
    }
}

/// A one-line summary of an event.
pub fn summary(event: &Event) -> String {
    match event {
        Event::CaseReported(e) => {
            let grid = e
                .location
                .grid()
                .map_or_else(|| "no grid".to_owned(), |g| format!("grid {g}"));
            format!("reported via {} ({grid})", e.channel)
        }
        Event::CaseTriaged(e) => {
            let mut line = format!(
                "triaged as {} with priority {}, route {}",
                e.category,
                e.priority,
                describe_route(&e.route)
            );
            if let Some(reason) = &e.priority_reason {
                line.push_str(&format!(" ({reason})"));
            }
            if let Some(model) = &e.model {
                line.push_str(&format!(
                    "; model {} at {:.1}%",
                    model.version,
                    f64::from(model.confidence) / 10.0
                ));
            }
            line
        }
        Event::DangerFlagged(e) => format!(
            "flagged as an emergency ({}), to be triaged by {}",
            e.reason, e.triage_by
        ),
        Event::CaseDispatched(e) => format!("dispatched to {}", e.assignee),
        Event::CaseEscalated(e) => format!("escalated to level {} ({})", e.level, e.to),
        Event::CaseMerged(e) => format!("merged into case {}", e.into),
        Event::DispatchReturned(e) => format!("returned by {}: {}", e.by, e.reason),
        other => words(other.type_name()),
    }
}

/// `"CaseUrged"` → `"case urged"`.
fn words(type_name: &str) -> String {
    let mut out = String::with_capacity(type_name.len() + 4);
    for (i, c) in type_name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push(' ');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A route in words, e.g. `"department gas"`.
pub fn describe_route(route: &gridcase_domain::Route) -> String {
    use gridcase_domain::Route;
    match route {
        Route::SelfHandle { worker } => format!("self-handled by worker {worker}"),
        Route::Department { department } => format!("department {department}"),
        Route::Joint { lead, participants } => {
            let others: Vec<String> = participants.iter().map(ToString::to_string).collect();
            format!("joint, led by {lead} with {}", others.join(", "))
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    cases: HashMap<CaseId, CaseView>,
    /// Every reported case by its tracking code.
    by_tracking: HashMap<TrackingCode, CaseId>,
    /// Every reported case by report time, for the newest-first public lists.
    by_reported: BTreeSet<(i64, CaseId)>,
    /// Cases by status, area, department and category, newest first.
    indexes: Indexes,
    /// Every case event folded for the department indicators.
    indicators: Tally,
    next_position: u64,
}

/// One page of a list.
#[derive(Debug)]
pub struct Page<T> {
    /// The page's cases, newest report first.
    pub items: Vec<T>,
    /// The key of the page's last case when more match after it.
    pub next: Option<Key>,
    /// How many cases match in all.
    pub total: usize,
    /// Every event below this position is reflected.
    pub position: u64,
}

/// Every case's view, shared between the follower and the gRPC service.
#[derive(Debug)]
pub struct Projections {
    inner: RwLock<Inner>,
    /// The SLA policies cases' colours are worked out with.
    reference: Arc<ReferenceData>,
}

impl Projections {
    /// Empty projections, working out colours with `reference`'s SLA policies.
    pub fn new(reference: Arc<ReferenceData>) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            reference,
        }
    }

    /// The position of the next event to fold: every event below it is reflected.
    pub fn next_position(&self) -> u64 {
        self.read(|inner| inner.next_position)
    }

    fn read<T>(&self, f: impl FnOnce(&Inner) -> T) -> T {
        f(&self.inner.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// A copy of one case's view and the position it reflects.
    pub fn case(&self, case: CaseId) -> (Option<CaseView>, u64) {
        self.read(|inner| (inner.cases.get(&case).cloned(), inner.next_position))
    }

    /// Runs `f` over every reported case, with the position they reflect.
    pub fn scan<T>(&self, f: impl FnOnce(&mut dyn Iterator<Item = &CaseView>) -> T) -> (T, u64) {
        self.read(|inner| {
            let mut views = inner.cases.values().filter(|v| v.state.exists());
            (f(&mut views), inner.next_position)
        })
    }

    /// Runs `f` over the reported cases whose report time lies in `from_ms..to_ms`, newest
    /// first, with a lookup of any case's tracking code; `f` may stop early. Returns what `f`
    /// returns and the position the views reflect.
    pub fn newest_first<T>(
        &self,
        from_ms: i64,
        to_ms: i64,
        f: impl FnOnce(
            &mut dyn Iterator<Item = &CaseView>,
            &dyn Fn(CaseId) -> Option<TrackingCode>,
        ) -> T,
    ) -> (T, u64) {
        self.read(|inner| {
            let start = (from_ms, CaseId::from_u128(0));
            let mut views = inner
                .by_reported
                .range(start..)
                .rev()
                .skip_while(|(at, _)| *at >= to_ms)
                .filter_map(|(_, case)| inner.cases.get(case));
            let tracking_code = |case: CaseId| inner.cases.get(&case)?.state.tracking_code;
            (f(&mut views, &tracking_code), inner.next_position)
        })
    }

    /// Runs `f` over the cases holding `codes` (those known), with a lookup of any case's
    /// tracking code.
    pub fn by_tracking_codes<T>(
        &self,
        codes: &[TrackingCode],
        f: impl FnOnce(Vec<&CaseView>, &dyn Fn(CaseId) -> Option<TrackingCode>) -> T,
    ) -> (T, u64) {
        self.read(|inner| {
            let mut views: Vec<&CaseView> = Vec::new();
            for code in codes {
                let view = inner.by_tracking.get(code).and_then(|c| inner.cases.get(c));
                if let Some(view) = view {
                    if !views.iter().any(|v| v.state.case_id == view.state.case_id) {
                        views.push(view);
                    }
                }
            }
            let tracking_code = |case: CaseId| inner.cases.get(&case)?.state.tracking_code;
            (f(views, &tracking_code), inner.next_position)
        })
    }

    /// A page of the cases that `keep` accepts among those `indexed` names, newest first,
    /// starting after `after` (a previous page's last key), at most `size`, each made by
    /// `summarize`. `residual` says `keep` filters beyond what `indexed` names (so the total
    /// must be counted rather than read from an index's size).
    pub fn page<T>(
        &self,
        indexed: &Indexed,
        residual: bool,
        after: Option<Key>,
        size: usize,
        keep: impl Fn(&CaseView) -> bool,
        summarize: impl Fn(&CaseView) -> T,
    ) -> Page<T> {
        self.read(|inner| {
            let (set, exact) = inner.indexes.candidates(indexed, &inner.by_reported);
            let walk: Box<dyn Iterator<Item = &Key>> = match after {
                Some(after) => Box::new(set.range(..after).rev()),
                None => Box::new(set.iter().rev()),
            };
            let mut items = Vec::with_capacity(size.min(set.len()));
            let mut last = None;
            let mut more = false;
            for key in walk {
                let Some(view) = inner.cases.get(&key.1) else {
                    continue;
                };
                if !keep(view) {
                    continue;
                }
                if items.len() == size {
                    more = true;
                    break;
                }
                items.push(summarize(view));
                last = Some(*key);
            }
            let total = if exact && !residual {
                set.len()
            } else {
                set.iter()
                    .filter_map(|key| inner.cases.get(&key.1))
                    .filter(|view| keep(view))
                    .count()
            };
            Page {
                items,
                next: if more { last } else { None },
                total,
                position: inner.next_position,
            }
        })
    }

    /// Runs `f` over the indicator tally, with the position it reflects.
    pub fn indicators<T>(&self, f: impl FnOnce(&Tally) -> T) -> (T, u64) {
        self.read(|inner| (f(&inner.indicators), inner.next_position))
    }

    /// Folds one recorded event; other streams and undecodable events only move the position.
    pub fn fold(&self, record: &RecordedEvent) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Ok(case) = CaseId::parse(&record.stream_id) {
            match decode(case, record) {
                Ok(event) => {
                    if let Event::CaseReported(reported) = &event {
                        inner.by_tracking.insert(reported.tracking_code, case);
                        inner
                            .by_reported
                            .insert((reported.reported_at.as_millis(), case));
                    }
                    let Inner { cases, indexes, .. } = &mut *inner;
                    let view = cases.entry(case).or_default();
                    if let Event::CaseReported(reported) = &event {
                        view.phone_masked = reported.reporter.phone.as_ref().map(|p| p.masked());
                    }
                    let before = Entries::of(&view.state);
                    view.timeline.push(Entry {
                        event_type: event.type_name().to_owned(),
                        stage: event.stage(),
                        actor: record.metadata.actor.clone(),
                        recorded_at_ms: record.recorded_at_ms,
                        summary: summary(&event),
                        position: record.position,
                    });
                    view.state = apply(std::mem::take(&mut view.state), &event);
                    view.public
                        .record(&event, view.state.status, record.recorded_at_ms);
                    view.colour = ColourClock::of(&view.state, &self.reference);
                    if let Some(reported_at) = view.state.reported_at {
                        let after = Entries::of(&view.state);
                        indexes.update((reported_at.as_millis(), case), &before, &after);
                    }
                    inner.indicators.apply(case, record.recorded_at_ms, &event);
                }
                Err(error) => {
                    tracing::debug!(%error, event_type = %record.event_type, "not folded");
                }
            }
        }
        inner.next_position = inner.next_position.max(record.position + 1);
    }
}

/// Folds the store's log into `projections` from their next position until `shutdown`,
/// logging progress while rebuilding and retrying with backoff while the store is unreachable.
pub async fn follow<S: EventStore>(
    store: S,
    projections: Arc<Projections>,
    shutdown: impl Future<Output = ()>,
) {
    let start = projections.next_position();
    let fold = |events: &[RecordedEvent]| {
        for event in events {
            projections.fold(event);
        }
        metrics::gauge!("query_projection_position").set(projections.next_position() as f64);
    };
    gridcase_bus::follow::follow_log(store, "the projections", start, fold, shutdown).await;
}
