//! Indicators per department, computed from case events (DESIGN §6).
//!
//! Pure: [`Tally`] folds events in log order, [`Tally::indicators`] reports a period. A case
//! counts in the period of its report time, with all its events (also those after the period).
//!
//! Attribution:
//! - a dispatch, an acceptance, a resolution, a failed verification and a rating count for the
//!   department the case is dispatched to at that moment (the lead department of a joint
//!   dispatch; cases a grid worker handles on the spot belong to no department);
//! - closing counts for the department the case was last dispatched to. A case whose last
//!   dispatch got an approved postponement is *deferred* and leaves the closure denominators.
//!
//! A rate with a zero denominator is `None` (absent), never 0.

use std::collections::HashMap;

use gridcase_config::IndicatorWeights;
use gridcase_domain::{Assignee, CaseId, DepartmentCode, Event};
use serde::{Deserialize, Serialize};

const HOUR_MS: f64 = 3_600_000.0;

/// Counts one department collects from one case's events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Counts {
    dispatched: u64,
    accepted_on_time: u64,
    resolved: u64,
    verifications_failed: u64,
    ratings: u64,
    satisfied: u64,
    resolved_answers: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.dispatched += other.dispatched;
        self.accepted_on_time += other.accepted_on_time;
        self.resolved += other.resolved;
        self.verifications_failed += other.verifications_failed;
        self.ratings += other.ratings;
        self.satisfied += other.satisfied;
        self.resolved_answers += other.resolved_answers;
    }

    fn subtract(&mut self, other: &Counts) {
        self.dispatched = self.dispatched.saturating_sub(other.dispatched);
        self.accepted_on_time = self.accepted_on_time.saturating_sub(other.accepted_on_time);
        self.resolved = self.resolved.saturating_sub(other.resolved);
        self.verifications_failed = self
            .verifications_failed
            .saturating_sub(other.verifications_failed);
        self.ratings = self.ratings.saturating_sub(other.ratings);
        self.satisfied = self.satisfied.saturating_sub(other.satisfied);
        self.resolved_answers = self.resolved_answers.saturating_sub(other.resolved_answers);
    }
}

/// A department as the tally numbers it: its place in [`Tally::departments`].
type DepartmentId = u16;

/// What the fold remembers of one case; `D` names a department.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CaseTrack<D> {
    reported_at_ms: Option<i64>,
    /// The department the case is dispatched to now.
    current: Option<D>,
    /// The department the case was last dispatched to (kept across returns and reopens).
    last: Option<D>,
    accept_deadline_ms: Option<i64>,
    resolve_deadline_ms: Option<i64>,
    /// The last dispatch got an approved postponement.
    deferred: bool,
    /// When the case was closed, while it stays closed.
    closed_at_ms: Option<i64>,
    /// What each department it was dispatched to collected (one or two, almost always).
    counts: Vec<(D, Counts)>,
}

impl<D> Default for CaseTrack<D> {
    fn default() -> Self {
        Self {
            reported_at_ms: None,
            current: None,
            last: None,
            accept_deadline_ms: None,
            resolve_deadline_ms: None,
            deferred: false,
            closed_at_ms: None,
            counts: Vec::new(),
        }
    }
}

impl<D: Clone + PartialEq> CaseTrack<D> {
    fn count(&mut self) -> Option<&mut Counts> {
        let department = self.current.clone()?;
        let at = match self.counts.iter().position(|(d, _)| *d == department) {
            Some(at) => at,
            None => {
                self.counts.push((department, Counts::default()));
                self.counts.len() - 1
            }
        };
        Some(&mut self.counts[at].1)
    }

    /// Folds `event`; `dispatched_to` is the department of a `CaseDispatched` to one.
    fn apply(&mut self, recorded_at_ms: i64, event: &Event, dispatched_to: Option<D>) {
        match event {
            Event::CaseReported(reported) => {
                self.reported_at_ms = Some(reported.reported_at.as_millis());
            }
            Event::CaseDispatched(dispatched) => {
                self.current = dispatched_to;
                self.last.clone_from(&self.current);
                self.accept_deadline_ms = dispatched.accept_deadline.map(|t| t.as_millis());
                self.resolve_deadline_ms = dispatched.resolve_deadline.map(|t| t.as_millis());
                self.deferred = false;
                if let Some(counts) = self.count() {
                    counts.dispatched += 1;
                }
            }
            Event::DispatchAccepted(_) => {
                let on_time = self
                    .accept_deadline_ms
                    .is_none_or(|deadline| recorded_at_ms <= deadline);
                if let Some(counts) = self.count() {
                    counts.accepted_on_time += u64::from(on_time);
                }
            }
            Event::PostponementApproved(approved) => {
                self.resolve_deadline_ms = Some(approved.until.as_millis());
                self.deferred = self.current.is_some();
            }
            Event::CaseResolved(_) => {
                if let Some(counts) = self.count() {
                    counts.resolved += 1;
                }
            }
            Event::VerificationFailed(_) => {
                if let Some(counts) = self.count() {
                    counts.verifications_failed += 1;
                }
            }
            Event::SatisfactionRecorded(rating) => {
                if let Some(counts) = self.count() {
                    counts.ratings += 1;
                    counts.satisfied += u64::from(rating.satisfied);
                    counts.resolved_answers += u64::from(rating.resolved);
                }
            }
            Event::CaseClosed(_) => self.closed_at_ms = Some(recorded_at_ms),
            Event::CaseReopened(_) | Event::DispatchReturned(_) => {
                self.current = None;
                self.closed_at_ms = None;
            }
            _ => {}
        }
    }
}

/// Every case's events folded, ready to report any period.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    cases: HashMap<CaseId, CaseTrack<DepartmentId>>,
    /// The departments cases were dispatched to, numbered in order of first dispatch.
    departments: Vec<String>,
    events: u64,
}

/// The indicators of one department over a period.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DepartmentIndicators {
    /// The department code.
    pub department: String,
    /// Dispatches to the department.
    pub dispatched: u64,
    /// Dispatches accepted before their accept deadline (or with none).
    pub accepted_on_time: u64,
    /// accepted_on_time / dispatched.
    pub response_rate: Option<f64>,
    /// Resolutions reported.
    pub resolved: u64,
    /// Failed on-site verifications.
    pub verifications_failed: u64,
    /// verifications_failed / resolved.
    pub rework_rate: Option<f64>,
    /// Cases last dispatched here without an approved postponement.
    pub due: u64,
    /// Cases last dispatched here with an approved postponement.
    pub deferred: u64,
    /// Due cases that are closed.
    pub closed: u64,
    /// Due cases closed before their resolve deadline (or with none).
    pub closed_on_time: u64,
    /// closed / due.
    pub closure_rate: Option<f64>,
    /// closed_on_time / due.
    pub on_time_closure_rate: Option<f64>,
    /// Residents' ratings.
    pub ratings: u64,
    /// Satisfied ratings.
    pub satisfied: u64,
    /// satisfied / ratings.
    pub satisfaction_rate: Option<f64>,
    /// Ratings saying the problem is resolved.
    pub resolved_answers: u64,
    /// resolved_answers / ratings.
    pub resolution_rate: Option<f64>,
    /// Mean hours from report to close over closed cases (deferred included).
    pub mean_hours_to_close: Option<f64>,
    /// 90th percentile (nearest rank) of the hours from report to close.
    pub p90_hours_to_close: Option<f64>,
    /// Weighted sum of the rates; an absent rate adds 0.
    pub score: f64,
}

/// `numerator / denominator`, absent when the denominator is zero.
pub fn rate(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// The nearest-rank percentile `p` (0 < p ≤ 100) of `values`, absent when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one event of `case`, recorded by the store at `recorded_at_ms`, in log order.
    pub fn apply(&mut self, case: CaseId, recorded_at_ms: i64, event: &Event) {
        self.events += 1;
        let dispatched_to = match event {
            Event::CaseDispatched(dispatched) => match &dispatched.assignee {
                Assignee::Department(code) => Some(self.department_id(code.as_str())),
                Assignee::Worker(_) => None,
            },
            _ => None,
        };
        self.cases
            .entry(case)
            .or_default()
            .apply(recorded_at_ms, event, dispatched_to);
    }

    /// The number of `department`, given it on first sight.
    fn department_id(&mut self, department: &str) -> DepartmentId {
        match self.departments.iter().position(|d| d == department) {
            Some(at) => DepartmentId::try_from(at).unwrap_or(DepartmentId::MAX),
            None => {
                self.departments.push(department.to_owned());
                DepartmentId::try_from(self.departments.len() - 1).unwrap_or(DepartmentId::MAX)
            }
        }
    }

    /// How many events were folded.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Indicators of every department with cases reported in `[from_ms, to_ms)`, best score
    /// first (ties by department code).
    pub fn indicators(
        &self,
        from_ms: i64,
        to_ms: i64,
        weights: &IndicatorWeights,
    ) -> Vec<DepartmentIndicators> {
        // One slot per department number: no map lookups in the loop over cases.
        let mut totals: Vec<Option<Totals>> = Vec::new();
        totals.resize_with(self.departments.len(), || None);
        for track in self.cases.values() {
            let Some(reported_at) = track.reported_at_ms else {
                continue;
            };
            if reported_at < from_ms || reported_at >= to_ms {
                continue;
            }
            for (department, part) in track.parts() {
                totals[usize::from(department)]
                    .get_or_insert_with(Totals::default)
                    .add(&part);
            }
        }
        let named = totals
            .into_iter()
            .zip(&self.departments)
            .filter_map(|(t, department)| t.map(|t| (department.as_str(), t)));
        rows(named, weights)
    }
}

/// What the cases of one department (in one period, or one hour of reports) add up to; the
/// sum of [`CaseIndicators::parts`]. Kept per hour of report time, these are the buckets any
/// period's indicators are added up from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    counts: Counts,
    due: u64,
    deferred: u64,
    closed: u64,
    closed_on_time: u64,
    /// Hours from report to close of each closed case.
    hours: Vec<f64>,
}

impl Totals {
    /// Adds `other` in.
    pub fn add(&mut self, other: &Totals) {
        self.counts.add(&other.counts);
        self.due += other.due;
        self.deferred += other.deferred;
        self.closed += other.closed;
        self.closed_on_time += other.closed_on_time;
        self.hours.extend_from_slice(&other.hours);
    }

    /// Takes out `other`, which was added before.
    pub fn subtract(&mut self, other: &Totals) {
        self.counts.subtract(&other.counts);
        self.due = self.due.saturating_sub(other.due);
        self.deferred = self.deferred.saturating_sub(other.deferred);
        self.closed = self.closed.saturating_sub(other.closed);
        self.closed_on_time = self.closed_on_time.saturating_sub(other.closed_on_time);
        for hours in &other.hours {
            if let Some(at) = self.hours.iter().position(|h| h == hours) {
                self.hours.swap_remove(at);
            }
        }
    }

    /// True if nothing is counted.
    pub fn is_empty(&self) -> bool {
        *self == Totals::default()
    }

    /// Its indicators as `department`'s row, scored with `weights`.
    fn row(self, department: &str, weights: &IndicatorWeights) -> DepartmentIndicators {
        let c = self.counts;
        let mut row = DepartmentIndicators {
            department: department.to_owned(),
            dispatched: c.dispatched,
            accepted_on_time: c.accepted_on_time,
            response_rate: rate(c.accepted_on_time, c.dispatched),
            resolved: c.resolved,
            verifications_failed: c.verifications_failed,
            rework_rate: rate(c.verifications_failed, c.resolved),
            due: self.due,
            deferred: self.deferred,
            closed: self.closed,
            closed_on_time: self.closed_on_time,
            closure_rate: rate(self.closed, self.due),
            on_time_closure_rate: rate(self.closed_on_time, self.due),
            ratings: c.ratings,
            satisfied: c.satisfied,
            satisfaction_rate: rate(c.satisfied, c.ratings),
            resolved_answers: c.resolved_answers,
            resolution_rate: rate(c.resolved_answers, c.ratings),
            mean_hours_to_close: (!self.hours.is_empty())
                .then(|| self.hours.iter().sum::<f64>() / self.hours.len() as f64),
            p90_hours_to_close: percentile(&self.hours, 90.0),
            score: 0.0,
        };
        row.score = score(&row, weights);
        row
    }
}

impl<D: Clone + PartialEq> CaseTrack<D> {
    /// What this case adds to each department's totals, as of the events folded so far.
    fn parts(&self) -> Vec<(D, Totals)> {
        let mut parts: Vec<(D, Totals)> = self
            .counts
            .iter()
            .map(|(department, counts)| {
                let totals = Totals {
                    counts: *counts,
                    ..Totals::default()
                };
                (department.clone(), totals)
            })
            .collect();
        let (Some(reported_at), Some(last)) = (self.reported_at_ms, &self.last) else {
            return parts;
        };
        let at = match parts.iter().position(|(d, _)| d == last) {
            Some(at) => at,
            None => {
                parts.push((last.clone(), Totals::default()));
                parts.len() - 1
            }
        };
        let total = &mut parts[at].1;
        if let Some(closed_at) = self.closed_at_ms {
            total.hours.push((closed_at - reported_at) as f64 / HOUR_MS);
        }
        if self.deferred {
            total.deferred += 1;
            return parts;
        }
        total.due += 1;
        if let Some(closed_at) = self.closed_at_ms {
            total.closed += 1;
            let on_time = self
                .resolve_deadline_ms
                .is_none_or(|deadline| closed_at <= deadline);
            total.closed_on_time += u64::from(on_time);
        }
        parts
    }
}

/// One case's events folded for the indicators, on its own: what a read model keeps per case
/// to move the case's part of its departments' [`Totals`] as its events arrive.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CaseIndicators(CaseTrack<DepartmentCode>);

impl CaseIndicators {
    /// Folds one event of the case, recorded by the store at `recorded_at_ms`, in log order.
    pub fn apply(&mut self, recorded_at_ms: i64, event: &Event) {
        let dispatched_to = match event {
            Event::CaseDispatched(dispatched) => match &dispatched.assignee {
                Assignee::Department(code) => Some(code.clone()),
                Assignee::Worker(_) => None,
            },
            _ => None,
        };
        self.0.apply(recorded_at_ms, event, dispatched_to);
    }

    /// When the case was reported: the period it counts in.
    pub fn reported_at_ms(&self) -> Option<i64> {
        self.0.reported_at_ms
    }

    /// What the case adds to each department's totals now.
    pub fn parts(&self) -> Vec<(DepartmentCode, Totals)> {
        self.0.parts()
    }
}

/// Each department's row from its totals, best score first (ties by department code).
pub fn rows<'a>(
    totals: impl IntoIterator<Item = (&'a str, Totals)>,
    weights: &IndicatorWeights,
) -> Vec<DepartmentIndicators> {
    let mut report: Vec<DepartmentIndicators> = totals
        .into_iter()
        .map(|(department, totals)| totals.row(department, weights))
        .collect();
    report.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.department.cmp(&b.department))
    });
    report
}

/// The weighted composite score of a department's rates.
pub fn score(row: &DepartmentIndicators, weights: &IndicatorWeights) -> f64 {
    [
        (row.response_rate, weights.response_rate),
        (row.on_time_closure_rate, weights.on_time_closure_rate),
        (row.closure_rate, weights.closure_rate),
        (row.satisfaction_rate, weights.satisfaction_rate),
        (row.resolution_rate, weights.resolution_rate),
        (row.rework_rate, weights.rework_rate),
    ]
    .iter()
    .map(|(rate, weight)| rate.unwrap_or(0.0) * weight)
    .sum()
}

/// `rows` (sorted best first) with their ranks: departments with at least
/// `min_cases_for_ranking` cases due are ranked 1, 2, … and come first; the others follow with
/// rank 0 (unranked), so one late case does not put a quiet department last.
pub fn ranked(
    rows: Vec<DepartmentIndicators>,
    min_cases_for_ranking: u32,
) -> Vec<(u32, DepartmentIndicators)> {
    let (ranked, unranked): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|row| row.due >= u64::from(min_cases_for_ranking));
    let ranked = ranked
        .into_iter()
        .zip(1u32..)
        .map(|(row, rank)| (rank, row));
    ranked
        .chain(unranked.into_iter().map(|row| (0, row)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_domain::event::{
        CaseClosed, CaseDispatched, CaseReopened, CaseReported, CaseResolved, CaseVerified,
        DispatchAccepted, PostponementApproved, SatisfactionRecorded, VerificationFailed,
    };
    use gridcase_domain::{
        Channel, DepartmentCode, Description, Location, Note, Reporter, Timestamp, TrackingCode,
        WorkerId,
    };
    use std::collections::BTreeMap;

    const H: i64 = 3_600_000;
    const T0: i64 = 1_700_000_000_000;

    fn weights() -> IndicatorWeights {
        IndicatorWeights {
            response_rate: 0.15,
            on_time_closure_rate: 0.25,
            closure_rate: 0.15,
            satisfaction_rate: 0.25,
            resolution_rate: 0.20,
            rework_rate: -0.10,
        }
    }

    fn dept(code: &str) -> Assignee {
        Assignee::Department(DepartmentCode::parse(code).unwrap())
    }

    fn note() -> Note {
        Note::parse("x").unwrap()
    }

    fn worker() -> WorkerId {
        WorkerId::parse("lin-ming").unwrap()
    }

    fn reported(case: CaseId, at: i64) -> Event {
        CaseReported {
            case_id: case,
            tracking_code: TrackingCode::from_u64(1),
            channel: Channel::Hotline,
            reporter: Reporter::anonymous(),
            location: Location::new(Some("330102-001-001-001".parse().unwrap()), None, None)
                .unwrap(),
            description: Description::parse("路灯不亮").unwrap(),
            category: None,
            media: vec![],
            reported_at: Timestamp::from_millis(at),
        }
        .into()
    }

    fn dispatched(to: &str, accept: i64, resolve: i64) -> Event {
        CaseDispatched {
            assignee: dept(to),
            participants: vec![],
            accept_deadline: Some(Timestamp::from_millis(accept)),
            resolve_deadline: Some(Timestamp::from_millis(resolve)),
        }
        .into()
    }

    fn accepted(by: &str) -> Event {
        DispatchAccepted { by: dept(by) }.into()
    }

    fn resolved(by: &str) -> Event {
        CaseResolved {
            by: dept(by),
            note: note(),
            evidence: vec![],
        }
        .into()
    }

    fn verified() -> Event {
        CaseVerified {
            by: worker(),
            note: None,
        }
        .into()
    }

    fn failed() -> Event {
        VerificationFailed {
            by: worker(),
            reason: note(),
        }
        .into()
    }

    fn rated(resolved: bool, satisfied: bool) -> Event {
        SatisfactionRecorded {
            resolved,
            satisfied,
            score: 4,
            comment: None,
        }
        .into()
    }

    fn closed() -> Event {
        CaseClosed { by: None }.into()
    }

    type Log = Vec<(CaseId, i64, Event)>;

    /// Logs `(recorded at, event)` of one case.
    fn case(log: &mut Log, id: u128, events: &[(i64, Event)]) {
        for (at, event) in events {
            log.push((CaseId::from_u128(id), *at, event.clone()));
        }
    }

    fn find<'a>(rows: &'a [DepartmentIndicators], code: &str) -> &'a DepartmentIndicators {
        rows.iter().find(|row| row.department == code).unwrap()
    }

    fn close_to(actual: Option<f64>, expected: f64) {
        let actual = actual.expect("a rate");
        assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
    }

    /// [`sample_log`] folded.
    fn sample() -> Tally {
        let mut tally = Tally::new();
        for (case, at, event) in sample_log() {
            tally.apply(case, at, &event);
        }
        tally
    }

    /// Three water cases and one gas case in the period, one water case before it.
    fn sample_log() -> Log {
        let mut tally = Log::new();
        // 1: water, accepted on time, resolved, verified, satisfied + resolved, closed at 10h
        // (resolve deadline 24h).
        case(
            &mut tally,
            1,
            &[
                (T0, reported(CaseId::from_u128(1), T0)),
                (T0 + H / 2, dispatched("water", T0 + 2 * H, T0 + 24 * H)),
                (T0 + H, accepted("water")),
                (T0 + 5 * H, resolved("water")),
                (T0 + 6 * H, verified()),
                (T0 + 7 * H, rated(true, true)),
                (T0 + 10 * H, closed()),
            ],
        );
        // 2: water, accepted late, resolved twice (one failed verification), rated
        // unsatisfied but resolved, closed at 30h, after its 24h deadline.
        case(
            &mut tally,
            2,
            &[
                (T0, reported(CaseId::from_u128(2), T0)),
                (T0 + H / 2, dispatched("water", T0 + 2 * H, T0 + 24 * H)),
                (T0 + 3 * H, accepted("water")),
                (T0 + 5 * H, resolved("water")),
                (T0 + 6 * H, failed()),
                (T0 + 8 * H, resolved("water")),
                (T0 + 9 * H, verified()),
                (T0 + 10 * H, rated(true, false)),
                (T0 + 30 * H, closed()),
            ],
        );
        // 3: water, accepted on time, postponed (deferred), still open.
        case(
            &mut tally,
            3,
            &[
                (T0 + H, reported(CaseId::from_u128(3), T0 + H)),
                (T0 + 2 * H, dispatched("water", T0 + 3 * H, T0 + 24 * H)),
                (T0 + 2 * H, accepted("water")),
                (
                    T0 + 4 * H,
                    PostponementApproved {
                        by: worker(),
                        until: Timestamp::from_millis(T0 + 48 * H),
                    }
                    .into(),
                ),
            ],
        );
        // 4: gas, rated not resolved and reopened, redispatched to gas, not accepted yet.
        case(
            &mut tally,
            4,
            &[
                (T0, reported(CaseId::from_u128(4), T0)),
                (T0 + H, dispatched("gas", T0 + 2 * H, T0 + 24 * H)),
                (T0 + H, accepted("gas")),
                (T0 + 2 * H, resolved("gas")),
                (T0 + 3 * H, verified()),
                (T0 + 4 * H, rated(false, false)),
                (T0 + 4 * H, CaseReopened { reason: note() }.into()),
                (T0 + 5 * H, dispatched("gas", T0 + 6 * H, T0 + 30 * H)),
            ],
        );
        // 5: water, reported before the period: left out.
        case(
            &mut tally,
            5,
            &[
                (T0 - 10 * H, reported(CaseId::from_u128(5), T0 - 10 * H)),
                (T0 - 9 * H, dispatched("water", T0 - 8 * H, T0 + 14 * H)),
                (T0 - 9 * H, accepted("water")),
            ],
        );
        tally
    }

    #[test]
    fn water_counts_and_rates_are_exact() {
        let rows = sample().indicators(T0, T0 + 24 * H, &weights());
        let water = find(&rows, "water");
        assert_eq!(water.dispatched, 3);
        assert_eq!(water.accepted_on_time, 2);
        close_to(water.response_rate, 2.0 / 3.0);
        assert_eq!(water.resolved, 3);
        assert_eq!(water.verifications_failed, 1);
        close_to(water.rework_rate, 1.0 / 3.0);
        assert_eq!((water.due, water.deferred), (2, 1));
        assert_eq!((water.closed, water.closed_on_time), (2, 1));
        close_to(water.closure_rate, 1.0);
        close_to(water.on_time_closure_rate, 0.5);
        assert_eq!(
            (water.ratings, water.satisfied, water.resolved_answers),
            (2, 1, 2)
        );
        close_to(water.satisfaction_rate, 0.5);
        close_to(water.resolution_rate, 1.0);
        close_to(water.mean_hours_to_close, 20.0);
        close_to(water.p90_hours_to_close, 30.0);
        let expected = 0.15 * (2.0 / 3.0) + 0.25 * 0.5 + 0.15 * 1.0 + 0.25 * 0.5 + 0.20 * 1.0
            - 0.10 * (1.0 / 3.0);
        assert!((water.score - expected).abs() < 1e-9);
    }

    #[test]
    fn zero_denominators_are_absent_and_reopened_cases_are_open() {
        let rows = sample().indicators(T0, T0 + 24 * H, &weights());
        let gas = find(&rows, "gas");
        assert_eq!(gas.dispatched, 2);
        assert_eq!(gas.accepted_on_time, 1);
        close_to(gas.response_rate, 0.5);
        assert_eq!((gas.resolved, gas.verifications_failed), (1, 0));
        close_to(gas.rework_rate, 0.0);
        assert_eq!((gas.due, gas.closed, gas.closed_on_time), (1, 0, 0));
        close_to(gas.closure_rate, 0.0);
        assert_eq!(
            (gas.ratings, gas.satisfied, gas.resolved_answers),
            (1, 0, 0)
        );
        assert_eq!(gas.mean_hours_to_close, None);
        assert_eq!(gas.p90_hours_to_close, None);
        // Ranked: water ahead of gas.
        assert_eq!(rows[0].department, "water");
        assert_eq!(rows.len(), 2);

        // A period with only the deferred case: no closure denominators.
        let rows = sample().indicators(T0 + H, T0 + 2 * H, &weights());
        let water = find(&rows, "water");
        assert_eq!((water.due, water.deferred), (0, 1));
        assert_eq!(water.closure_rate, None);
        assert_eq!(water.on_time_closure_rate, None);
        assert_eq!(water.satisfaction_rate, None);
        assert_eq!(water.rework_rate, None);
        close_to(water.response_rate, 1.0);
        assert!((water.score - 0.15).abs() < 1e-9);
    }

    #[test]
    fn the_period_selects_by_report_time() {
        let tally = sample();
        let rows = tally.indicators(T0 - 24 * H, T0, &weights());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].dispatched, 1);
        assert!(tally
            .indicators(T0 + 24 * H, T0 + 48 * H, &weights())
            .is_empty());
        assert_eq!(tally.events(), 31);
    }

    #[test]
    fn rates_and_percentiles() {
        assert_eq!(rate(1, 0), None);
        assert_eq!(rate(0, 4), Some(0.0));
        assert_eq!(rate(3, 4), Some(0.75));
        assert_eq!(percentile(&[], 90.0), None);
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&values, 90.0), Some(9.0));
        assert_eq!(percentile(&[5.0, 1.0], 90.0), Some(5.0));
        assert_eq!(percentile(&[7.0], 90.0), Some(7.0));
    }

    fn ranking_row(department: &str, due: u64, score: f64) -> DepartmentIndicators {
        DepartmentIndicators {
            department: department.to_owned(),
            due,
            score,
            ..DepartmentIndicators::default()
        }
    }

    #[test]
    fn departments_with_too_few_cases_are_reported_unranked_after_the_ranked() {
        let rows = vec![
            ranking_row("quiet", 2, 0.99),
            ranking_row("busy", 12, 0.80),
            ranking_row("late", 10, 0.40),
            ranking_row("new", 0, 0.0),
        ];
        let ranks: Vec<(String, u32)> = ranked(rows, 10)
            .into_iter()
            .map(|(rank, row)| (row.department, rank))
            .collect();
        let ranks: Vec<(&str, u32)> = ranks.iter().map(|(d, r)| (d.as_str(), *r)).collect();
        assert_eq!(ranks, [("busy", 1), ("late", 2), ("quiet", 0), ("new", 0)]);
    }

    /// Hourly buckets kept as a read model keeps them — each event takes the case's old part
    /// out of its report hour's bucket and puts the new part in — add up to the same rows as
    /// the whole tally, for a period of whole hours.
    #[test]
    fn hourly_buckets_moved_event_by_event_add_up_to_the_tally() {
        let mut tracks: HashMap<CaseId, CaseIndicators> = HashMap::new();
        let mut buckets: HashMap<(i64, DepartmentCode), Totals> = HashMap::new();
        for (case, at, event) in sample_log() {
            let track = tracks.entry(case).or_default();
            let hour = |track: &CaseIndicators| track.reported_at_ms().map(|ms| ms / H);
            if let Some(hour) = hour(track) {
                for (department, part) in track.parts() {
                    buckets
                        .entry((hour, department))
                        .or_default()
                        .subtract(&part);
                }
            }
            track.apply(at, &event);
            if let Some(hour) = hour(track) {
                for (department, part) in track.parts() {
                    buckets.entry((hour, department)).or_default().add(&part);
                }
            }
        }
        let (from, to) = (T0, T0 + 24 * H);
        let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
        for ((hour, department), bucket) in &buckets {
            if (from / H..to / H).contains(hour) && !bucket.is_empty() {
                totals
                    .entry(department.to_string())
                    .or_default()
                    .add(bucket);
            }
        }
        let from_buckets = rows(
            totals.iter().map(|(d, t)| (d.as_str(), t.clone())),
            &weights(),
        );
        assert_eq!(from_buckets, sample().indicators(from, to, &weights()));
        assert!(from_buckets
            .iter()
            .any(|row| row.closed > 0 && row.p90_hours_to_close.is_some()));
    }
}
