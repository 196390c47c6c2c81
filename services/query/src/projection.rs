//! The projections: every case's folded state, its reporter's sealed contact and its timeline,
//! kept in the service's own model on disk ([`crate::model`]) and followed from the store's
//! global log from the model's checkpoint (history, then live).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gridcase_config::{IndicatorWeights, ReferenceData};
use gridcase_domain::{CaseId, CaseState, CaseStatus, Contact, Event, Timestamp, TrackingCode};
use gridcase_eventstore::{EventStore, ReadModelConfig, RecordedEvent, Result, StoreError};
use gridcase_rules::deadlines::ColourClock;
use gridcase_rules::indicators::{rows, DepartmentIndicators};
use serde::{Deserialize, Serialize};

use crate::index::{Indexed, Key};
use crate::model::keys::Term;
use crate::model::Model;

/// One event of a case's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The event type name.
    pub event_type: String,
    /// The loop stage.
    pub stage: String,
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaseView {
    /// The folded state.
    pub state: CaseState,
    /// The reporter's name and phone as the report holds them: sealed with the person's key,
    /// so the model keeps nothing readable of them, and an erased person stays erased here.
    pub reporter: Contact,
    /// Every event, oldest first.
    pub timeline: Vec<Entry>,
    /// What the public may see beyond the state.
    pub public: PublicDetail,
    /// Its colour as a function of time, worked out at its latest event.
    pub colour: ColourClock,
}

/// What a case's public page shows beyond its state: the report's words and photos, the
/// handler's resolution and when each status was reached.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PublicDetail {
    /// How the report came in.
    pub channel: String,
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
    /// Notes what `event` changes, `status` being the case's status after it.
    pub fn record(&mut self, event: &Event, status: Option<CaseStatus>, at_ms: i64) {
        match event {
            Event::CaseReported(e) => {
                self.channel = e.channel.as_str().to_owned();
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
        Event::CaseReferred(e) => format!(
            "referred by {} to {}: {}",
            e.by,
            describe_route(&e.route),
            e.reason
        ),
        Event::WhistleBlown(e) => {
            let within = e
                .report_in_minutes
                .map_or_else(|| "the policy's time".to_owned(), |m| format!("{m} min"));
            format!(
                "whistle blown by {}: {} leads, {} take part, report in within {within}: {}",
                e.by,
                e.lead,
                e.participants
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                e.reason
            )
        }
        Event::ReportInCalled(e) => format!(
            "called to report in within {} min: {}",
            e.deadline.millis_since(&e.called_at) / 60_000,
            e.departments
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Event::QueuedForOperator(e) => format!(
            "left to an operator ({}), to be triaged by {}",
            e.reason, e.triage_by
        ),
        Event::DepartmentReportedIn(e) => {
            format!("{} reported in: {}", e.department, e.opinion)
        }
        Event::DepartmentRated(e) => {
            let mut line = format!(
                "{} rated by grid worker {}: timeliness {}, attitude {}, result {}",
                e.department, e.by, e.timeliness, e.attitude, e.result
            );
            if let Some(note) = &e.note {
                line.push_str(&format!(" ({note})"));
            }
            line
        }
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
        Route::Community { community } => format!("community {community}"),
        Route::Street { street } => format!("street {street}"),
    }
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

/// Every case's view, shared between the follower, the colour clock and the gRPC service.
#[derive(Debug)]
pub struct Projections {
    model: Model,
}

/// The terms a list's filters can walk, each with how many of the filters it covers.
fn walkable(filters: &Indexed) -> Vec<(Term, usize)> {
    let mut terms = Vec::new();
    if let Some(area) = filters.area.filter(|a| crate::model::combined(a.level())) {
        if let Some(status) = filters.status {
            terms.push((Term::AreaStatus(area, status), 2));
        }
    }
    terms.extend(filters.status.map(|s| (Term::Status(s), 1)));
    terms.extend(filters.area.map(|a| (Term::Area(a), 1)));
    terms.extend(filters.department.clone().map(|d| (Term::Department(d), 1)));
    terms.extend(filters.category.map(|c| (Term::Category(c), 1)));
    terms.extend(filters.colour.map(|c| (Term::Colour(c), 1)));
    terms.extend(filters.waiting_on.clone().map(|h| (Term::Waiting(h), 1)));
    if terms.is_empty() {
        terms.push((Term::All, 0));
    }
    terms
}

impl Projections {
    /// The projections in the model `config` describes, working out colours with
    /// `reference`'s SLA policies.
    pub fn open(config: &ReadModelConfig, reference: Arc<ReferenceData>) -> Result<Self> {
        Ok(Self {
            model: Model::open(config, reference)?,
        })
    }

    /// The model underneath.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// How many events of the log (every shard's) are reflected; with one shard, the position
    /// of the next event to fold: every event below it is reflected.
    pub fn next_position(&self) -> u64 {
        self.model.folded()
    }

    /// One case's view and the position it reflects at least. A batch may be committed
    /// between reading the checkpoint and reading the view; a view holding an event at
    /// position `p` was written with a checkpoint past `p`, so the position reflected is past
    /// the view's last event too.
    pub fn case(&self, case: CaseId) -> Result<(Option<CaseView>, u64)> {
        let checkpoint = self.model.folded();
        let view = self.model.case(case)?;
        let position = view
            .as_ref()
            .and_then(|view| view.timeline.last())
            .map_or(checkpoint, |last| checkpoint.max(last.position + 1));
        Ok((view, position))
    }

    /// Runs `f` over the reported cases under `term` whose report time lies in
    /// `from_ms..to_ms`, newest first, with a lookup of any case's tracking code; `f` may
    /// stop early. Returns what `f` returns and the position the views reflect at least.
    pub fn newest_first<T>(
        &self,
        term: &Term,
        from_ms: i64,
        to_ms: i64,
        f: impl FnOnce(&mut dyn Iterator<Item = CaseView>, &dyn Fn(CaseId) -> Option<TrackingCode>) -> T,
    ) -> Result<(T, u64)> {
        let position = self.model.folded();
        let mut failure = None;
        let before = Some((to_ms, CaseId::from_u128(0)));
        let mut views = self
            .model
            .walk(term, before, from_ms)
            .map_while(
                |key| match key.and_then(|(_, case)| self.model.case(case)) {
                    Ok(view) => Some(view),
                    Err(error) => {
                        failure = Some(error);
                        None
                    }
                },
            )
            .flatten();
        let tracking_code = |case: CaseId| {
            let view = self.model.case(case).ok().flatten()?;
            view.state.tracking_code
        };
        let answer = f(&mut views, &tracking_code);
        drop(views);
        match failure {
            Some(error) => Err(error),
            None => Ok((answer, position)),
        }
    }

    /// The views of the cases holding `codes` (those known, each once), and a lookup of any
    /// case's tracking code.
    pub fn by_tracking_codes<T>(
        &self,
        codes: &[TrackingCode],
        f: impl FnOnce(Vec<CaseView>, &dyn Fn(CaseId) -> Option<TrackingCode>) -> T,
    ) -> Result<(T, u64)> {
        let position = self.model.folded();
        let mut views: Vec<CaseView> = Vec::new();
        for code in codes {
            let Some(case) = self.model.tracking(*code)? else {
                continue;
            };
            if views.iter().any(|v| v.state.case_id == Some(case)) {
                continue;
            }
            views.extend(self.model.case(case)?);
        }
        let tracking_code = |case: CaseId| {
            let view = self.model.case(case).ok().flatten()?;
            view.state.tracking_code
        };
        Ok((f(views, &tracking_code), position))
    }

    /// A page of the cases that `keep` accepts among those `indexed` names, newest first,
    /// starting after `after` (a previous page's last key), at most `size`, each made by
    /// `summarize`. `residual` says `keep` filters beyond what `indexed` names. The smallest
    /// index the filters name is walked; the total is its counter when that index names
    /// exactly the filters, and counted by walking it otherwise.
    pub fn page<T>(
        &self,
        indexed: &Indexed,
        residual: bool,
        after: Option<Key>,
        size: usize,
        keep: impl Fn(&CaseView) -> bool,
        summarize: impl Fn(&CaseView) -> T,
    ) -> Result<Page<T>> {
        let position = self.model.folded();
        let dimensions = indexed.dimensions();
        let mut best: Option<(Term, usize, u64)> = None;
        for (term, covers) in walkable(indexed) {
            let count = self.model.count(&term)?;
            if best.as_ref().is_none_or(|(_, _, least)| count < *least) {
                best = Some((term, covers, count));
            }
        }
        let Some((term, covers, count)) = best else {
            return Err(StoreError::Unavailable("no index to walk".to_owned()));
        };
        let exact = covers == dimensions && !residual;
        let mut items = Vec::with_capacity(size);
        let mut last = None;
        let mut more = false;
        for key in self.model.walk(&term, after, i64::MIN) {
            let key = key?;
            let Some(view) = self.model.case(key.1)? else {
                continue;
            };
            if !keep(&view) {
                continue;
            }
            if items.len() == size {
                more = true;
                break;
            }
            items.push(summarize(&view));
            last = Some(key);
        }
        let total = if exact {
            usize::try_from(count).unwrap_or(usize::MAX)
        } else {
            let mut total = 0usize;
            for key in self.model.walk(&term, None, i64::MIN) {
                if let Some(view) = self.model.case(key?.1)? {
                    total += usize::from(keep(&view));
                }
            }
            total
        };
        Ok(Page {
            items,
            next: if more { last } else { None },
            total,
            position,
        })
    }

    /// Each department's indicators of the cases reported in `[from_ms, to_ms)`: whole hours
    /// from the hourly buckets, the rest from the cases reported in the partial hours at
    /// either end. Also the number of case events folded and the position reflected.
    pub fn indicators(
        &self,
        from_ms: i64,
        to_ms: i64,
        weights: &IndicatorWeights,
    ) -> Result<(Vec<DepartmentIndicators>, u64, u64)> {
        let position = self.model.folded();
        let totals = gridcase_indicator_store::period_totals(
            self.model.tree(),
            from_ms,
            to_ms,
            |from, to| {
                let mut cases = Vec::new();
                for key in self
                    .model
                    .walk(&Term::All, Some((to, CaseId::from_u128(0))), from)
                {
                    cases.extend(self.model.case_indicators(key?.1)?);
                }
                Ok(cases)
            },
        )?;
        let report = rows(totals.iter().map(|(d, t)| (d.as_str(), t.clone())), weights);
        Ok((report, self.model.events()?, position))
    }

    /// Folds a batch of shard `shard`'s log; other streams and undecodable events only move
    /// the position.
    pub fn fold(&self, shard: usize, records: &[RecordedEvent]) -> Result<()> {
        self.model.fold(shard, records, gridcase_runtime::now())
    }
}

/// Folds the log of every shard in `shards` (shard 0, 1, …) into `projections` from their
/// checkpoints until `shutdown`, logging progress while catching up and retrying with backoff
/// while a store is unreachable; and re-colours cases whose colour changed, every second.
/// Ends with the model's error if it cannot be written.
pub async fn follow<S: EventStore + 'static>(
    shards: Vec<S>,
    projections: Arc<Projections>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    match projections.model.rebuilt() {
        Some(why) => tracing::info!(why, "the query model is built from the start of the log"),
        None => tracing::info!(
            start = projections.model.folded(),
            shards = ?projections.model.positions(shards.len()),
            "the query model resumes from its checkpoint"
        ),
    }
    let fold = |shard: usize, events: &[RecordedEvent]| {
        projections.fold(shard, events)?;
        metrics::gauge!("query_projection_position").set(projections.next_position() as f64);
        Ok::<(), StoreError>(())
    };
    let clock = colour_clock(&projections);
    let follower = gridcase_bus::follow::follow_log(
        &shards,
        "the projections",
        |shard| projections.model.position(shard),
        fold,
        || Ok(()),
        shutdown,
    );
    let outcome = tokio::select! {
        outcome = follower => outcome,
        outcome = clock => outcome,
    };
    projections.model.flush()?;
    outcome
}

/// Re-colours cases whose colour changed, every second, until the model cannot be written.
async fn colour_clock(projections: &Projections) -> Result<()> {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        gridcase_bus::follow::blocking(|| {
            projections.model.colour_changes(gridcase_runtime::now())
        })?;
    }
}
