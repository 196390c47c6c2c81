//! Indicators per department, computed from case events (DESIGN §6); where cases are settled
//! (within the grid, within the community) is in [`settled`].
//!
//! Pure: [`Tally`] folds events in log order, [`Tally::indicators`] reports a period. A case
//! counts in the period of its report time, with all its events (also those after the period).
//!
//! Attribution:
//! - a dispatch, an acceptance, a resolution, a failed verification and a rating count for the
//!   department the case is dispatched to at that moment (the lead department of a joint
//!   dispatch; cases a grid worker handles on the spot belong to no department);
//! - being called to report in (吹哨报到), and reporting in by the deadline, count for each
//!   department called, lead or participant;
//! - a grid worker's rating of a closed case's handling (网格评部门, `DepartmentRated`) counts
//!   for the department rated, lead or participant: `grid_rating_rate` is the mean of the
//!   ratings, each the mean of its three marks mapped from 1..=5 to 0..1, `(mean - 1) / 4`;
//! - closing counts for the department the case was last dispatched to. A case whose last
//!   dispatch got an approved postponement is *deferred* and leaves the closure denominators.
//!
//! A rate with a zero denominator is `None` (absent), never 0; it adds 0 to the score. So a
//! department nobody rated from the grid in the period has no `grid_rating_rate`, as one no
//! resident rated has no `satisfaction_rate`.

use std::collections::HashMap;

use gridcase_config::IndicatorWeights;
use gridcase_domain::event::DepartmentRated;
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
    called_to_report_in: u64,
    reported_in_on_time: u64,
    grid_ratings: u64,
    /// The ratings' [`DepartmentRated::points`], summed: whole numbers, so buckets add and
    /// subtract them exactly.
    grid_rating_points: u64,
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
        self.called_to_report_in += other.called_to_report_in;
        self.reported_in_on_time += other.reported_in_on_time;
        self.grid_ratings += other.grid_ratings;
        self.grid_rating_points += other.grid_rating_points;
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
        self.called_to_report_in = self
            .called_to_report_in
            .saturating_sub(other.called_to_report_in);
        self.reported_in_on_time = self
            .reported_in_on_time
            .saturating_sub(other.reported_in_on_time);
        self.grid_ratings = self.grid_ratings.saturating_sub(other.grid_ratings);
        self.grid_rating_points = self
            .grid_rating_points
            .saturating_sub(other.grid_rating_points);
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
    /// When the departments called on the current dispatch must have reported in.
    report_in_deadline_ms: Option<i64>,
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
            report_in_deadline_ms: None,
            counts: Vec::new(),
        }
    }
}

impl<D: Clone + PartialEq> CaseTrack<D> {
    fn count(&mut self) -> Option<&mut Counts> {
        let department = self.current.clone()?;
        Some(self.count_for(department))
    }

    fn count_for(&mut self, department: D) -> &mut Counts {
        let at = match self.counts.iter().position(|(d, _)| *d == department) {
            Some(at) => at,
            None => {
                self.counts.push((department, Counts::default()));
                self.counts.len() - 1
            }
        };
        &mut self.counts[at].1
    }

    /// Folds `event`; `id` names a department as the track keeps it.
    fn apply(
        &mut self,
        recorded_at_ms: i64,
        event: &Event,
        id: &mut impl FnMut(&DepartmentCode) -> D,
    ) {
        let dispatched_to = match event {
            Event::CaseDispatched(dispatched) => match &dispatched.assignee {
                Assignee::Department(code) => Some(id(code)),
                Assignee::Worker(_) | Assignee::Community(_) | Assignee::Street(_) => None,
            },
            _ => None,
        };
        match event {
            Event::ReportInCalled(called) => {
                self.report_in_deadline_ms = Some(called.deadline.as_millis());
                for department in &called.departments {
                    self.count_for(id(department)).called_to_report_in += 1;
                }
            }
            Event::DepartmentReportedIn(reported) => {
                let on_time = self
                    .report_in_deadline_ms
                    .is_none_or(|deadline| reported.at.as_millis() <= deadline);
                self.count_for(id(&reported.department)).reported_in_on_time += u64::from(on_time);
            }
            Event::DepartmentRated(rated) => {
                let counts = self.count_for(id(&rated.department));
                counts.grid_ratings += 1;
                counts.grid_rating_points += rated.points();
            }
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
            Event::CaseReopened(_) | Event::DispatchReturned(_) | Event::CaseReferred(_) => {
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
    /// Times the department was called to report in (吹哨报到).
    pub called_to_report_in: u64,
    /// Of those, reported in by the deadline.
    pub reported_in_on_time: u64,
    /// reported_in_on_time / called_to_report_in.
    pub report_in_rate: Option<f64>,
    /// Grid workers' ratings of the department's handling (网格评部门).
    pub grid_ratings: u64,
    /// The mean over those ratings of each one's three marks mapped to 0..1, `(mean - 1) / 4`.
    pub grid_rating_rate: Option<f64>,
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
        let departments = &mut self.departments;
        let mut id = |code: &DepartmentCode| department_id(departments, code.as_str());
        self.cases
            .entry(case)
            .or_default()
            .apply(recorded_at_ms, event, &mut id);
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

/// The number of `department` in `departments`, given it on first sight.
fn department_id(departments: &mut Vec<String>, department: &str) -> DepartmentId {
    match departments.iter().position(|d| d == department) {
        Some(at) => DepartmentId::try_from(at).unwrap_or(DepartmentId::MAX),
        None => {
            departments.push(department.to_owned());
            DepartmentId::try_from(departments.len() - 1).unwrap_or(DepartmentId::MAX)
        }
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
            called_to_report_in: c.called_to_report_in,
            reported_in_on_time: c.reported_in_on_time,
            report_in_rate: rate(c.reported_in_on_time, c.called_to_report_in),
            grid_ratings: c.grid_ratings,
            grid_rating_rate: rate(
                c.grid_rating_points,
                c.grid_ratings.saturating_mul(DepartmentRated::MAX_POINTS),
            ),
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
        self.0
            .apply(recorded_at_ms, event, &mut |code: &DepartmentCode| {
                code.clone()
            });
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
        (row.grid_rating_rate, weights.grid_rating_rate),
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

pub mod people;
pub mod settled;

#[cfg(test)]
mod tests;
