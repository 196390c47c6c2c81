//! The model against a full scan and against itself: random case histories, interleaved as a
//! real log interleaves them, folded in random batches; every list any filter combination
//! gives (walked page by page) must be what filtering every case gives, counters must be what
//! counting gives, and a model resumed from a checkpoint half way or rebuilt in one batch must
//! answer exactly the same — indicators included, which must also equal the in-memory tally.

use std::collections::BTreeMap;
use std::sync::Arc;

use gridcase_config::ReferenceData;
use gridcase_domain::{CaseId, CaseStatus, GridCode, GridLevel, Timestamp};
use gridcase_eventstore::ReadModelConfig;
use gridcase_rules::indicators::Tally;

use super::keys::{self, Term};
use crate::index::{departments_of, Indexed};
use crate::projection::{CaseView, Projections};

use gridcase_testkit::histories::{random_log, Dice, HOUR_MS};

fn reference() -> Arc<ReferenceData> {
    Arc::new(ReferenceData::load(&gridcase_testkit::sample_config_dir()).unwrap())
}

fn open(dir: &std::path::Path, reference: &Arc<ReferenceData>) -> Projections {
    let config = ReadModelConfig::new(Some(dir.to_owned()));
    Projections::open(&config, Arc::clone(reference)).unwrap()
}

/// Does `view` match `filters` (at `now`, for the colour)?
fn matches(filters: &Indexed, view: &CaseView, now: Timestamp) -> bool {
    let state = &view.state;
    let grid = state.location.as_ref().and_then(|l| l.grid());
    filters.status.is_none_or(|s| state.status == Some(s))
        && filters
            .area
            .is_none_or(|a| grid.is_some_and(|g| g.is_within(&a)))
        && filters
            .department
            .as_ref()
            .is_none_or(|d| departments_of(state).contains(d))
        && filters.category.is_none_or(|c| state.category == Some(c))
        && filters.colour.is_none_or(|c| view.colour.at(now) == c)
        && filters.waiting_on.as_ref().is_none_or(|handler| {
            matches!(
                state.status,
                Some(CaseStatus::Dispatched | CaseStatus::Accepted)
            ) && state
                .assignee
                .as_ref()
                .is_some_and(|a| a.actor_name() == *handler)
        })
}

/// Every case id of a list, walked page by page, and the total the first page gave.
fn list(projections: &Projections, filters: &Indexed, now: Timestamp) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut after = None;
    let mut total = None;
    loop {
        let keep = |view: &CaseView| matches(filters, view, now);
        let page = projections
            .page(filters, false, after, 7, keep, |v| {
                v.state.case_id.unwrap().to_string()
            })
            .unwrap();
        total.get_or_insert(page.total);
        ids.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return (ids, total.unwrap_or(0)),
        }
    }
}

/// What filtering every case newest first gives.
fn scan(projections: &Projections, filters: &Indexed, now: Timestamp) -> Vec<String> {
    projections
        .newest_first(&Term::All, i64::MIN, i64::MAX, |views, _| {
            views
                .filter(|v| matches(filters, v, now))
                .map(|v| v.state.case_id.unwrap().to_string())
                .collect()
        })
        .unwrap()
        .0
}

fn random_filters(dice: &mut Dice, reference: &ReferenceData) -> Indexed {
    let areas: Vec<GridCode> = reference.grids().map(|g| g.code).collect();
    let departments: Vec<_> = reference.departments().map(|d| d.code.clone()).collect();
    let statuses = CaseStatus::ALL;
    let categories: Vec<_> = reference.categories().map(|c| c.code).collect();
    let colours = gridcase_rules::deadlines::Colour::ALL;
    Indexed {
        status: dice
            .chance(50)
            .then(|| statuses[dice.below(statuses.len())]),
        area: dice.chance(50).then(|| areas[dice.below(areas.len())]),
        department: dice
            .chance(30)
            .then(|| departments[dice.below(departments.len())].clone()),
        category: dice
            .chance(20)
            .then(|| categories[dice.below(categories.len())]),
        colour: dice.chance(30).then(|| colours[dice.below(colours.len())]),
        waiting_on: dice.chance(20).then(|| {
            let department = &departments[dice.below(departments.len())];
            format!("department:{department}")
        }),
    }
}

fn board(projections: &Projections) -> Vec<(GridCode, String, u64)> {
    let model = projections.model();
    let mut counts = Vec::new();
    for level in [GridLevel::Street, GridLevel::Community] {
        counts.extend(
            model
                .area_counts(&keys::area_status_counters(level))
                .unwrap(),
        );
        counts.extend(
            model
                .area_counts(&keys::area_colour_counters(level))
                .unwrap(),
        );
    }
    counts
}

fn board_by_scan(projections: &Projections, now: Timestamp) -> Vec<(GridCode, String, u64)> {
    let mut counts: BTreeMap<(u8, GridLevel, GridCode, String), u64> = BTreeMap::new();
    projections
        .newest_first(&Term::All, i64::MIN, i64::MAX, |views, _| {
            for view in views {
                let Some(grid) = view.state.location.as_ref().and_then(|l| l.grid()) else {
                    continue;
                };
                for level in [GridLevel::Street, GridLevel::Community] {
                    let Some(area) = grid.at_level(level) else {
                        continue;
                    };
                    let status = view.state.status.unwrap().as_str().to_owned();
                    let colour = view.colour.at(now).as_str().to_owned();
                    *counts.entry((0, level, area, status)).or_default() += 1;
                    *counts.entry((1, level, area, colour)).or_default() += 1;
                }
            }
        })
        .unwrap();
    let mut sorted: Vec<_> = counts.into_iter().collect();
    // The model's order: per level, statuses then colours, each by area then name.
    sorted
        .sort_by(|a, b| (a.0 .1, a.0 .0, a.0 .2, &a.0 .3).cmp(&(b.0 .1, b.0 .0, b.0 .2, &b.0 .3)));
    sorted
        .into_iter()
        .map(|((_, _, area, name), count)| (area, name, count))
        .collect()
}

fn view_bytes(projections: &Projections, cases: u64) -> Vec<Vec<u8>> {
    (1..=cases)
        .map(|n| {
            let view = projections
                .model()
                .case(CaseId::from_u128(u128::from(n)))
                .unwrap();
            postcard::to_allocvec(&view).unwrap()
        })
        .collect()
}

#[test]
fn lists_counters_and_indicators_agree_with_a_full_scan_and_do_not_depend_on_batches() {
    const CASES: u64 = 300;
    let reference = reference();
    let now = gridcase_runtime::now();
    let log = random_log(0x9e37_79b9_7f4a_7c15, CASES, &reference, now.as_millis());
    let dirs = [(); 3].map(|()| tempfile::tempdir().unwrap());
    // A: random batches. B: the whole log in one batch. C: half, closed, resumed.
    let a = open(dirs[0].path(), &reference);
    let mut dice = Dice(7);
    let mut rest = log.as_slice();
    while !rest.is_empty() {
        let size = (1 + dice.below(60)).min(rest.len());
        a.model().fold(0, &rest[..size], now).unwrap();
        rest = &rest[size..];
    }
    let b = open(dirs[1].path(), &reference);
    b.model().fold(0, &log, now).unwrap();
    let half = log.len() / 2;
    {
        let c = open(dirs[2].path(), &reference);
        c.model().fold(0, &log[..half], now).unwrap();
        assert_eq!(c.next_position(), half as u64);
    }
    let c = open(dirs[2].path(), &reference);
    assert_eq!(
        c.next_position(),
        half as u64,
        "resumed from its checkpoint"
    );
    assert_eq!(c.model().rebuilt(), None);
    c.model().fold(0, &log[half..], now).unwrap();

    for model in [&a, &b, &c] {
        assert_eq!(model.next_position(), log.len() as u64);
        assert_eq!(model.model().events().unwrap(), log.len() as u64);
        assert_eq!(model.model().count(&Term::All).unwrap(), CASES);
    }
    let views = view_bytes(&a, CASES);
    assert_eq!(
        views,
        view_bytes(&b, CASES),
        "one batch builds the same cases"
    );
    assert_eq!(
        views,
        view_bytes(&c, CASES),
        "a resumed model holds the same cases"
    );

    let mut dice = Dice(11);
    let mut non_empty = 0;
    for round in 0..150 {
        let filters = random_filters(&mut dice, &reference);
        let expected = scan(&a, &filters, now);
        let (ids, total) = list(&a, &filters, now);
        assert_eq!(ids, expected, "round {round}: {filters:?}");
        assert_eq!(total, expected.len(), "round {round}: total of {filters:?}");
        assert_eq!(
            list(&b, &filters, now),
            (ids.clone(), total),
            "round {round}"
        );
        assert_eq!(list(&c, &filters, now), (ids, total), "round {round}");
        non_empty += usize::from(!expected.is_empty());
        if filters.dimensions() == 1 && filters.colour.is_none() {
            // The index itself, read raw: exactly the matching cases, no stale entries.
            let term = match &filters {
                Indexed {
                    status: Some(s), ..
                } => Term::Status(*s),
                Indexed { area: Some(a), .. } => Term::Area(*a),
                Indexed {
                    department: Some(d),
                    ..
                } => Term::Department(d.clone()),
                Indexed {
                    category: Some(c), ..
                } => Term::Category(*c),
                Indexed {
                    waiting_on: Some(handler),
                    ..
                } => Term::Waiting(handler.clone()),
                _ => Term::All,
            };
            for model in [&a, &b, &c] {
                let raw: Vec<String> = model
                    .model()
                    .walk(&term, None, i64::MIN)
                    .map(|key| key.unwrap().1.to_string())
                    .collect();
                assert_eq!(raw, expected, "round {round}: the entries of {term:?}");
            }
        }
    }
    assert!(
        non_empty > 50,
        "the filters must mostly find cases: {non_empty}"
    );

    let board_a = board(&a);
    assert_eq!(board_a, board_by_scan(&a, now));
    assert_eq!(board_a, board(&b));
    assert_eq!(board_a, board(&c));

    let mut tally = Tally::new();
    for record in &log {
        let case = CaseId::parse(&record.stream_id).unwrap();
        let event = gridcase_casestore::decode(case, record).unwrap();
        tally.apply(case, record.recorded_at_ms, &event);
    }
    let weights = reference.indicator_weights();
    let now_ms = now.as_millis();
    for (from, to) in [
        (now_ms - 100 * HOUR_MS, now_ms + HOUR_MS),
        (
            gridcase_indicator_store::hour_of(now_ms - 30 * HOUR_MS),
            gridcase_indicator_store::hour_of(now_ms),
        ),
        (now_ms - 50 * HOUR_MS + 123_456, now_ms - 3 * HOUR_MS - 7),
        (now_ms - 10 * HOUR_MS + 1, now_ms - 10 * HOUR_MS + 60_000),
    ] {
        // Rounded: the hours to close are summed in another order.
        let expected = format!("{:.6?}", tally.indicators(from, to, weights));
        for model in [&a, &b, &c] {
            let rows = model.indicators(from, to, weights).unwrap().0;
            assert_eq!(format!("{rows:.6?}"), expected, "{from}..{to}");
        }
    }
}
