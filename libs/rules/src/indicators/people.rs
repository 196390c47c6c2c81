//! Scores of the grid's people and places for a period: each grid worker's (优秀网格员) and
//! each community's or street's, led by residents' satisfaction.
//!
//! A case counts in the period of its report time. For a grid worker it counts:
//! - as *found on patrol* when the worker reported it on the grid-worker channel;
//! - as *settled in the grid* when it is closed and the worker resolved it last;
//! - for each on-site check the worker made of it (passed or failed), *on time* when the check
//!   came within the verification window of the resolution it checked;
//! - for *satisfaction* when it lies in the worker's grid (or a micro-grid of it) and the
//!   resident rated it.
//!
//! A worker's score weighs their satisfaction rate, their on-time verification rate, and their
//! patrol finds and grid settlements relative to the busiest worker of the period (so a score
//! of 1 is the best on every count). Workers with less activity (finds, settlements and checks)
//! than the minimum are listed unranked. An area (community or street) is ranked by its
//! residents' satisfaction, then by the share of its closed cases settled within the
//! community; areas with fewer closed cases than the minimum are listed unranked.
//!
//! Pure: the caller passes what each case needs ([`PeopleCase`]) and the reference data.

use std::collections::BTreeMap;

use gridcase_config::{GridWorkerWeights, ReferenceData};
use gridcase_domain::{Assignee, CaseStatus, GridCode, GridLevel, WorkerId};

use super::rate;
use super::settled::{by_area, SettledCase};

/// One on-site check of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Who checked.
    pub by: WorkerId,
    /// Whether it came within the verification window of the resolution it checked.
    pub on_time: bool,
}

/// One care visit (敲门行动) a grid worker made in the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitBy {
    /// Who visited.
    pub worker: WorkerId,
    /// Whether it was made by its due time.
    pub on_time: bool,
}

/// What the people's scores need of one case.
#[derive(Clone, Debug, Default)]
pub struct PeopleCase {
    /// The grid the problem lies in, if the report gave one.
    pub grid: Option<GridCode>,
    /// Where the case is in the loop.
    pub status: Option<CaseStatus>,
    /// Who the case is (or was last) dispatched to.
    pub assignee: Option<Assignee>,
    /// The grid worker who reported it on patrol.
    pub found_by: Option<WorkerId>,
    /// The resident's rating: (satisfied, resolved).
    pub rating: Option<(bool, bool)>,
    /// The on-site checks made of it.
    pub checks: Vec<Check>,
}

/// One grid worker's indicators for the period.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerScore {
    /// The worker.
    pub worker: WorkerId,
    /// The grid or micro-grid they work in.
    pub grid: GridCode,
    /// Cases they reported on patrol.
    pub found_on_patrol: u64,
    /// Closed cases they resolved themselves.
    pub settled_in_grid: u64,
    /// On-site checks they made.
    pub checks: u64,
    /// Of those, within the window.
    pub checks_on_time: u64,
    /// checks_on_time / checks.
    pub on_time_check_rate: Option<f64>,
    /// Residents' ratings of cases in their grid.
    pub ratings: u64,
    /// Of those, satisfied.
    pub satisfied: u64,
    /// satisfied / ratings.
    pub satisfaction_rate: Option<f64>,
    /// Care visits they made.
    pub visits: u64,
    /// Of those, by their due time.
    pub visits_on_time: u64,
    /// visits_on_time / visits.
    pub on_time_visit_rate: Option<f64>,
    /// found_on_patrol + settled_in_grid + checks + visits.
    pub activity: u64,
    /// The weighted score, 0 to 1.
    pub score: f64,
    /// 1, 2, … for ranked workers; 0 for those below the minimum activity.
    pub rank: u32,
}

/// One community's or street's indicators for the period.
#[derive(Clone, Debug, PartialEq)]
pub struct AreaScore {
    /// The area.
    pub area: GridCode,
    /// Cases reported in it.
    pub cases: u64,
    /// Of those, closed.
    pub closed: u64,
    /// Residents' ratings.
    pub ratings: u64,
    /// Of those, satisfied.
    pub satisfied: u64,
    /// satisfied / ratings.
    pub satisfaction_rate: Option<f64>,
    /// "Resolved" answers.
    pub resolved: u64,
    /// resolved / ratings.
    pub resolution_rate: Option<f64>,
    /// Closed cases settled by a grid worker.
    pub settled_in_grid: u64,
    /// Closed cases settled by a grid worker or the community office.
    pub settled_in_community: u64,
    /// settled_in_grid / closed.
    pub grid_share: Option<f64>,
    /// settled_in_community / closed.
    pub community_share: Option<f64>,
    /// 1, 2, … for ranked areas; 0 for those with too few closed cases.
    pub rank: u32,
}

#[derive(Default)]
struct WorkerCounts {
    found: u64,
    settled: u64,
    checks: u64,
    on_time: u64,
    ratings: u64,
    satisfied: u64,
    visits: u64,
    visits_on_time: u64,
}

/// Every grid worker of `reference` with their indicators for `cases` and `visits`, ranked best
/// first; the unranked (less activity than `min_activity`) follow, by score.
pub fn worker_scores(
    reference: &ReferenceData,
    cases: &[PeopleCase],
    visits: &[VisitBy],
    weights: &GridWorkerWeights,
    min_activity: u32,
) -> Vec<WorkerScore> {
    let mut counts: BTreeMap<WorkerId, WorkerCounts> = BTreeMap::new();
    let mut area_of: BTreeMap<WorkerId, GridCode> = BTreeMap::new();
    for area in reference.grids() {
        for worker in &area.workers {
            counts.entry(worker.id.clone()).or_default();
            area_of.insert(worker.id.clone(), area.code);
        }
    }
    for case in cases {
        if let Some(count) = case.found_by.as_ref().and_then(|w| counts.get_mut(w)) {
            count.found += 1;
        }
        if case.status == Some(CaseStatus::Closed) {
            if let Some(Assignee::Worker(worker)) = &case.assignee {
                if let Some(count) = counts.get_mut(worker) {
                    count.settled += 1;
                }
            }
        }
        for check in &case.checks {
            if let Some(count) = counts.get_mut(&check.by) {
                count.checks += 1;
                count.on_time += u64::from(check.on_time);
            }
        }
        if let (Some((satisfied, _)), Some(grid)) = (case.rating, case.grid) {
            for (worker, area) in &area_of {
                if grid.is_within(area) {
                    if let Some(count) = counts.get_mut(worker) {
                        count.ratings += 1;
                        count.satisfied += u64::from(satisfied);
                    }
                }
            }
        }
    }
    for visit in visits {
        if let Some(count) = counts.get_mut(&visit.worker) {
            count.visits += 1;
            count.visits_on_time += u64::from(visit.on_time);
        }
    }
    let most_found = counts.values().map(|c| c.found).max().unwrap_or(0);
    let most_settled = counts.values().map(|c| c.settled).max().unwrap_or(0);
    let mut rows: Vec<WorkerScore> = counts
        .into_iter()
        .filter_map(|(worker, c)| {
            let grid = *area_of.get(&worker)?;
            let satisfaction_rate = rate(c.satisfied, c.ratings);
            let on_time_check_rate = rate(c.on_time, c.checks);
            let on_time_visit_rate = rate(c.visits_on_time, c.visits);
            let score = weights.satisfaction_rate * satisfaction_rate.unwrap_or(0.0)
                + weights.on_time_check_rate * on_time_check_rate.unwrap_or(0.0)
                + weights.on_time_visit_rate * on_time_visit_rate.unwrap_or(0.0)
                + weights.found_on_patrol * rate(c.found, most_found).unwrap_or(0.0)
                + weights.settled_in_grid * rate(c.settled, most_settled).unwrap_or(0.0);
            Some(WorkerScore {
                worker,
                grid,
                found_on_patrol: c.found,
                settled_in_grid: c.settled,
                checks: c.checks,
                checks_on_time: c.on_time,
                on_time_check_rate,
                ratings: c.ratings,
                satisfied: c.satisfied,
                satisfaction_rate,
                visits: c.visits,
                visits_on_time: c.visits_on_time,
                on_time_visit_rate,
                activity: c.found + c.settled + c.checks + c.visits,
                score,
                rank: 0,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        let ranked = |row: &WorkerScore| row.activity >= u64::from(min_activity);
        ranked(b)
            .cmp(&ranked(a))
            .then(b.score.total_cmp(&a.score))
            .then_with(|| a.worker.cmp(&b.worker))
    });
    let mut rank = 0;
    for row in &mut rows {
        if row.activity >= u64::from(min_activity) {
            rank += 1;
            row.rank = rank;
        }
    }
    rows
}

/// Every area at `level` (community or street) with a case among `cases`, ranked by
/// satisfaction, then by the share settled within the community; areas with fewer closed cases
/// than `min_closed` follow unranked.
pub fn area_scores(cases: &[PeopleCase], level: GridLevel, min_closed: u32) -> Vec<AreaScore> {
    let settled: BTreeMap<GridCode, _> = by_area(
        cases.iter().map(|case| SettledCase {
            grid: case.grid,
            status: case.status,
            assignee: case.assignee.clone(),
        }),
        level,
    )
    .into_iter()
    .map(|row| (row.area, row))
    .collect();
    let mut areas: BTreeMap<GridCode, AreaScore> = BTreeMap::new();
    for case in cases {
        let Some(area) = case.grid.and_then(|grid| grid.at_level(level)) else {
            continue;
        };
        let row = areas.entry(area).or_insert_with(|| AreaScore {
            area,
            cases: 0,
            closed: 0,
            ratings: 0,
            satisfied: 0,
            satisfaction_rate: None,
            resolved: 0,
            resolution_rate: None,
            settled_in_grid: 0,
            settled_in_community: 0,
            grid_share: None,
            community_share: None,
            rank: 0,
        });
        row.cases += 1;
        if let Some((satisfied, resolved)) = case.rating {
            row.ratings += 1;
            row.satisfied += u64::from(satisfied);
            row.resolved += u64::from(resolved);
        }
    }
    let mut rows: Vec<AreaScore> = areas
        .into_values()
        .map(|mut row| {
            if let Some(settled) = settled.get(&row.area) {
                row.closed = settled.closed;
                row.settled_in_grid = settled.settled_in_grid;
                row.settled_in_community = settled.settled_in_community;
                row.grid_share = settled.grid_share;
                row.community_share = settled.community_share;
            }
            row.satisfaction_rate = rate(row.satisfied, row.ratings);
            row.resolution_rate = rate(row.resolved, row.ratings);
            row
        })
        .collect();
    let ranked = |row: &AreaScore| row.closed >= u64::from(min_closed);
    rows.sort_by(|a, b| {
        ranked(b)
            .cmp(&ranked(a))
            .then(
                b.satisfaction_rate
                    .unwrap_or(0.0)
                    .total_cmp(&a.satisfaction_rate.unwrap_or(0.0)),
            )
            .then(
                b.community_share
                    .unwrap_or(0.0)
                    .total_cmp(&a.community_share.unwrap_or(0.0)),
            )
            .then_with(|| a.area.cmp(&b.area))
    });
    let mut rank = 0;
    for row in &mut rows {
        if ranked(row) {
            rank += 1;
            row.rank = rank;
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_config::GridWorkerWeights;
    use gridcase_domain::DepartmentCode;

    fn reference() -> ReferenceData {
        ReferenceData::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config"),
        )
        .unwrap()
    }

    fn grid(code: &str) -> Option<GridCode> {
        Some(GridCode::parse(code).unwrap())
    }

    fn worker(id: &str) -> WorkerId {
        WorkerId::parse(id).unwrap()
    }

    const WEIGHTS: GridWorkerWeights = GridWorkerWeights {
        satisfaction_rate: 0.3,
        on_time_check_rate: 0.2,
        on_time_visit_rate: 0.1,
        found_on_patrol: 0.2,
        settled_in_grid: 0.2,
    };

    /// 涌金社区第一网格 (lin-ming, chen-lijuan) and one of its micro-grids.
    const GRID_1: &str = "330102-001-001-001";
    const MICRO_1: &str = "330102-001-001-001-02";

    fn cases() -> Vec<PeopleCase> {
        let closed = Some(CaseStatus::Closed);
        let by = |id: &str| Some(Assignee::Worker(worker(id)));
        let check = |id: &str, on_time| Check {
            by: worker(id),
            on_time,
        };
        vec![
            // lin-ming finds three on patrol and settles two; one is rated satisfied.
            PeopleCase {
                grid: grid(GRID_1),
                status: closed,
                assignee: by("lin-ming"),
                found_by: Some(worker("lin-ming")),
                rating: Some((true, true)),
                checks: vec![],
            },
            PeopleCase {
                grid: grid(MICRO_1),
                status: closed,
                assignee: by("lin-ming"),
                found_by: Some(worker("lin-ming")),
                rating: None,
                checks: vec![],
            },
            PeopleCase {
                grid: grid(GRID_1),
                status: Some(CaseStatus::Accepted),
                assignee: by("lin-ming"),
                found_by: Some(worker("lin-ming")),
                ..PeopleCase::default()
            },
            // A department's case in the grid: chen-lijuan checks it twice (late, then on
            // time after rework); the resident is not satisfied.
            PeopleCase {
                grid: grid(MICRO_1),
                status: closed,
                assignee: Some(Assignee::Department(
                    DepartmentCode::parse("water").unwrap(),
                )),
                found_by: None,
                rating: Some((false, true)),
                checks: vec![check("chen-lijuan", false), check("chen-lijuan", true)],
            },
        ]
    }

    #[test]
    fn grid_workers_are_counted_scored_and_ranked_with_a_minimum_activity() {
        let reference = reference();
        let rows = worker_scores(&reference, &cases(), &[], &WEIGHTS, 3);
        let lin = &rows[0];
        assert_eq!(lin.worker, worker("lin-ming"));
        assert_eq!(
            (
                lin.found_on_patrol,
                lin.settled_in_grid,
                lin.checks,
                lin.activity
            ),
            (3, 2, 0, 5)
        );
        // Two ratings in the grid (the micro-grid counts for its grid's workers), one satisfied.
        assert_eq!(
            (lin.ratings, lin.satisfied, lin.satisfaction_rate),
            (2, 1, Some(0.5))
        );
        assert_eq!(
            (lin.on_time_check_rate, lin.on_time_visit_rate),
            (None, None)
        );
        // 0.3 × 0.5 + 0.2 × 0 + 0.1 × 0 + 0.2 × 3/3 + 0.2 × 2/2
        assert!((lin.score - 0.55).abs() < 1e-9, "{}", lin.score);
        assert_eq!(lin.rank, 1);
        let chen = rows
            .iter()
            .find(|r| r.worker == worker("chen-lijuan"))
            .unwrap();
        assert_eq!(
            (chen.checks, chen.checks_on_time, chen.on_time_check_rate),
            (2, 1, Some(0.5))
        );
        assert_eq!(chen.activity, 2);
        // 0.3 × 0.5 + 0.2 × 0.5
        assert!((chen.score - 0.25).abs() < 1e-9, "{}", chen.score);
        // Below the minimum activity of 3: listed, unranked, after every ranked worker.
        assert_eq!(chen.rank, 0);
        assert_eq!(rows.iter().filter(|r| r.rank > 0).count(), 1);
        // Every worker of the city has a row.
        let workers: usize = reference.grids().map(|area| area.workers.len()).sum();
        assert_eq!(rows.len(), workers);
    }

    #[test]
    fn care_visits_count_towards_activity_and_their_on_time_rate_into_the_score() {
        let reference = reference();
        let visit = |on_time| VisitBy {
            worker: worker("chen-lijuan"),
            on_time,
        };
        // Two visits, one late: chen-lijuan reaches the minimum activity with them.
        let rows = worker_scores(
            &reference,
            &cases(),
            &[visit(true), visit(false)],
            &WEIGHTS,
            3,
        );
        let chen = &rows[1];
        assert_eq!(chen.worker, worker("chen-lijuan"));
        assert_eq!(
            (chen.visits, chen.visits_on_time, chen.on_time_visit_rate),
            (2, 1, Some(0.5))
        );
        assert_eq!((chen.activity, chen.rank), (4, 2));
        // 0.3 × 0.5 + 0.2 × 0.5 + 0.1 × 0.5
        assert!((chen.score - 0.3).abs() < 1e-9, "{}", chen.score);
    }

    #[test]
    fn communities_rank_by_satisfaction_then_the_share_settled_in_the_community() {
        let mut all = cases();
        // Another community: two closed, both satisfied, settled by its office.
        for _ in 0..2 {
            all.push(PeopleCase {
                grid: grid("330102-001-002-001"),
                status: Some(CaseStatus::Closed),
                assignee: Some(Assignee::Community(
                    GridCode::parse("330102-001-002").unwrap(),
                )),
                rating: Some((true, false)),
                ..PeopleCase::default()
            });
        }
        let rows = area_scores(&all, GridLevel::Community, 2);
        let codes: Vec<String> = rows.iter().map(|r| r.area.to_string()).collect();
        assert_eq!(codes, ["330102-001-002", "330102-001-001"]);
        let qingbo = &rows[0];
        assert_eq!(
            (
                qingbo.cases,
                qingbo.closed,
                qingbo.ratings,
                qingbo.satisfied,
                qingbo.resolved
            ),
            (2, 2, 2, 2, 0)
        );
        assert_eq!(
            (
                qingbo.satisfaction_rate,
                qingbo.resolution_rate,
                qingbo.community_share
            ),
            (Some(1.0), Some(0.0), Some(1.0))
        );
        let yongjin = &rows[1];
        assert_eq!(
            (yongjin.cases, yongjin.closed, yongjin.settled_in_grid),
            (4, 3, 2)
        );
        assert_eq!(yongjin.satisfaction_rate, Some(0.5));
        assert_eq!((qingbo.rank, yongjin.rank), (1, 2));
        // With a higher minimum, both are listed unranked.
        assert!(area_scores(&all, GridLevel::Community, 4)
            .iter()
            .all(|r| r.rank == 0));
        let streets = area_scores(&all, GridLevel::Street, 2);
        assert_eq!(streets.len(), 1);
        assert_eq!(
            (streets[0].cases, streets[0].closed, streets[0].rank),
            (6, 5, 1)
        );
    }
}
