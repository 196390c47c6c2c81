//! The two tables the day ends with: the board and the department ranking.

use std::collections::HashMap;

use gridcase::table::Table;
use gridcase_config::ReferenceData;
use gridcase_domain::{GridCode, GridLevel};
use gridcase_proto::evaluation::v1::DepartmentIndicators;
use gridcase_proto::query::v1::{self as query_pb, AreaCounts};

use super::clock::Clock;

const STAGES: [&str; 5] = ["triage", "dispatch", "resolve", "evaluate", "done"];
const ENDINGS: [&str; 3] = ["closed", "merged", "rejected"];
const COLOURS: [&str; 3] = ["green", "yellow", "red"];

/// The board: one row per street, its communities under it, and the district's total.
pub(super) fn board_table(reference: &ReferenceData, board: &query_pb::BoardReply) -> Table {
    let mut header = vec!["area", "cases"];
    header.extend(STAGES);
    header.extend(ENDINGS);
    header.extend(COLOURS);
    let mut table = Table::new(&header);
    let name = |code: &str| {
        GridCode::parse(code)
            .ok()
            .and_then(|code| reference.grid(&code))
            .map_or_else(|| code.to_owned(), |area| area.name.clone())
    };
    let cells = |label: String, counts: &AreaCounts| {
        let get = |map: &HashMap<String, u64>, key: &str| {
            map.get(key).copied().unwrap_or_default().to_string()
        };
        let mut row = vec![label, counts.total.to_string()];
        row.extend(STAGES.iter().map(|stage| get(&counts.by_stage, stage)));
        row.extend(ENDINGS.iter().map(|status| get(&counts.by_status, status)));
        row.extend(COLOURS.iter().map(|colour| get(&counts.by_colour, colour)));
        row
    };
    let mut total = AreaCounts::default();
    for street in &board.streets {
        table.row(cells(name(&street.grid_code), street));
        for community in board
            .communities
            .iter()
            .filter(|community| community.grid_code.starts_with(&street.grid_code))
        {
            table.row(cells(
                format!("  {}", name(&community.grid_code)),
                community,
            ));
        }
        total.total += street.total;
        for (into, from) in [
            (&mut total.by_stage, &street.by_stage),
            (&mut total.by_status, &street.by_status),
            (&mut total.by_colour, &street.by_colour),
        ] {
            for (key, count) in from {
                *into.entry(key.clone()).or_default() += count;
            }
        }
    }
    let district = reference
        .grids()
        .find(|area| area.level() == GridLevel::District)
        .map_or_else(|| "all".to_owned(), |area| area.name.clone());
    table.row(cells(format!("{district} (all)"), &total));
    table
}

/// The ranking: every department of the reference data, ranked ones first.
pub(super) fn ranking_table(
    reference: &ReferenceData,
    ranked: &[DepartmentIndicators],
    clock: Clock,
) -> Table {
    let mean = format!("mean {}", clock.handling_unit());
    let p90 = format!("p90 {}", clock.handling_unit());
    let mut table = Table::new(&[
        "rank",
        "department",
        "name",
        "dispatched",
        "response",
        "rework",
        "on time",
        "closure",
        "satisfied",
        "resolved",
        &mean,
        &p90,
        "score",
    ]);
    let rate =
        |rate: Option<f64>| rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0));
    let hours =
        |hours: Option<f64>| hours.map_or_else(|| "—".to_owned(), |h| clock.handling_time(h));
    let name_of = |code: &str| {
        reference
            .departments()
            .find(|department| department.code.as_str() == code)
            .map_or_else(String::new, |department| department.name.clone())
    };
    for entry in ranked {
        table.row(vec![
            // Rank 0: too few cases due to be ranked.
            if entry.rank == 0 {
                "—".to_owned()
            } else {
                entry.rank.to_string()
            },
            entry.department.clone(),
            name_of(&entry.department),
            entry.dispatched.to_string(),
            rate(entry.response_rate),
            rate(entry.rework_rate),
            rate(entry.on_time_closure_rate),
            rate(entry.closure_rate),
            rate(entry.satisfaction_rate),
            rate(entry.resolution_rate),
            hours(entry.mean_hours_to_close),
            hours(entry.p90_hours_to_close),
            format!("{:.3}", entry.score),
        ]);
    }
    for department in reference.departments() {
        let code = department.code.as_str();
        if ranked.iter().all(|entry| entry.department != code) {
            let mut row = vec![
                "—".to_owned(),
                code.to_owned(),
                department.name.clone(),
                "0".to_owned(),
            ];
            row.extend(std::iter::repeat_n("—".to_owned(), 9));
            table.row(row);
        }
    }
    table
}
