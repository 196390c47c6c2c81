//! Text tables that line up in a terminal, Chinese included, and the two the day ends with.

use std::collections::HashMap;

use gridcase_config::ReferenceData;
use gridcase_domain::{GridCode, GridLevel};
use gridcase_proto::evaluation::v1::DepartmentIndicators;
use gridcase_proto::query::v1::{self as query_pb, AreaCounts};

use super::clock::Clock;

/// Columns a character takes in a terminal: 2 for CJK ideographs, kana, hangul and full-width
/// forms, 1 for the rest.
fn char_width(c: char) -> usize {
    match u32::from(c) {
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x2_0000..=0x3_FFFD => 2,
        _ => 1,
    }
}

/// Columns `text` takes in a terminal.
fn display_width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// A text table whose columns line up in a terminal, Chinese included: text left, numbers right.
#[derive(Debug)]
pub(super) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(super) fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub(super) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(super) fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths = vec![0; columns];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(display_width(cell));
            }
        }
        // A column is numeric when every body cell is a number, a rate or a dash.
        let numeric: Vec<bool> = (0..columns)
            .map(|column| {
                !self.rows.is_empty()
                    && self.rows.iter().all(|row| {
                        row.get(column).is_some_and(|cell| {
                            !cell.is_empty()
                                && cell.chars().all(|c| {
                                    c.is_ascii_digit() || matches!(c, '.' | '%' | '—' | '-')
                                })
                        })
                    })
            })
            .collect();
        let mut out = String::new();
        let mut line = |cells: &[String]| {
            let mut text = String::from("  ");
            for (column, width) in widths.iter().enumerate() {
                let cell = cells.get(column).map_or("", String::as_str);
                let pad = " ".repeat(width - display_width(cell));
                if numeric[column] {
                    text.push_str(&pad);
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.push_str(&pad);
                }
                text.push_str("  ");
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&self.header);
        let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
        line(&rule);
        for row in &self.rows {
            line(row);
        }
        out
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_line_up_chinese_by_display_width() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("涌金社区"), 8);
        assert_eq!(display_width("清河区城市管理局（综合行政执法局）"), 34);
        let mut table = Table::new(&["area", "cases"]);
        table.row(vec!["涌金社区".to_owned(), "12".to_owned()]);
        table.row(vec!["all".to_owned(), "345".to_owned()]);
        let rendered = table.render();
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines.len(), 4);
        let widths: Vec<usize> = lines.iter().map(|line| display_width(line)).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{rendered}");
        assert!(lines[2].ends_with(" 12"), "{rendered}");
    }
}
