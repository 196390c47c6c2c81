//! `gridcase report`: a period's indicators from the running system — departments (from the
//! evaluation service), grid workers (优秀网格员), communities and streets (from the query
//! service) — as terminal tables or CSV.
//!
//! A period is a calendar month (`2026-11`) in the city's local time (the calendar's UTC
//! offset); cases count in the period of their report time. CSV output is one block per
//! section: a line naming the section, the header, the rows, a blank line.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context};
use gridcase_auth::{BearerToken, Secret};
use gridcase_config::{Date, ReferenceData};
use gridcase_proto::evaluation::v1::evaluation_client::EvaluationClient;
use gridcase_proto::evaluation::v1::DepartmentIndicatorsRequest;
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::query::v1::{
    AreaIndicatorsReply, GridWorkerIndicatorsReply, PeriodRequest, SettlementIndicatorsRequest,
};
use tonic::transport::Endpoint;

use crate::system::{Addresses, Service};
use crate::table::Table;

/// How the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned tables for a terminal.
    Table,
    /// Comma-separated values, a block per section.
    Csv,
}

/// Arguments of `gridcase report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// The month, e.g. `2026-11`.
    #[arg(long)]
    pub period: String,
    /// `table` or `csv`.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Directory of the reference data; by default `deploy/config` here, else the sample city.
    #[arg(long, env = "GRIDCASE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The bearer token to call with: a supervisor's, an operator's or an administrator's
    /// (a community or street office's reads the grid workers and areas but not the
    /// departments), e.g. the development `dev-supervisor-token-sup-001`.
    #[arg(long, env = "GRIDCASE_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The query service's gRPC address; by default the one `gridcase up` uses.
    #[arg(long)]
    pub query: Option<String>,
    /// The evaluation service's gRPC address; by default the one `gridcase up` uses.
    #[arg(long)]
    pub evaluation: Option<String>,
}

/// The first and the end (exclusive) of month `period` (`YYYY-MM`), in milliseconds, at the
/// city's UTC offset.
pub fn month_bounds(period: &str, utc_offset_minutes: i32) -> anyhow::Result<(i64, i64)> {
    let parsed = period.split_once('-').and_then(|(year, month)| {
        let year: u16 = year.parse().ok()?;
        let month: u8 = month.parse().ok()?;
        (year.to_string().len() == 4 && month.to_string().len() <= 2).then_some((year, month))
    });
    let Some((year, month)) = parsed else {
        bail!("--period: {period:?} is not a month written YYYY-MM, e.g. 2026-11");
    };
    let next = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let (Some(first), Some(after)) = (Date::new(year, month, 1), Date::new(next.0, next.1, 1))
    else {
        bail!("--period: {period:?} is not a month of the calendar");
    };
    let offset_ms = i64::from(utc_offset_minutes) * 60_000;
    let day_ms = 86_400_000;
    Ok((
        first.unix_days() * day_ms - offset_ms,
        after.unix_days() * day_ms - offset_ms,
    ))
}

/// Reads the period's indicators from the running system and returns the report's text.
pub async fn report(args: &ReportArgs) -> anyhow::Result<String> {
    let config = crate::system::config_dir(args.config.clone());
    let reference = ReferenceData::load(&config).context("loading the reference data")?;
    let (from_ms, to_ms) = month_bounds(&args.period, reference.calendar().utc_offset_minutes())?;
    let bearer = BearerToken::new(&Secret::new(args.token.trim()))
        .context("--token: not a usable bearer token")?;
    let standard = Addresses::standard();
    let address = |given: &Option<String>, service| {
        given
            .clone()
            .unwrap_or_else(|| format!("http://{}", standard.get(service)))
    };
    let query_address = address(&args.query, Service::Query);
    let evaluation_address = address(&args.evaluation, Service::Evaluation);
    let query = Endpoint::from_shared(query_address.clone())?
        .connect()
        .await
        .with_context(|| format!("connecting to the query service at {query_address}"))?;
    let evaluation = Endpoint::from_shared(evaluation_address.clone())?
        .connect()
        .await
        .with_context(|| format!("connecting to the evaluation service at {evaluation_address}"))?;
    let mut query = QueryClient::with_interceptor(query, bearer.clone());
    let mut evaluation = EvaluationClient::with_interceptor(evaluation, bearer);

    let departments = evaluation
        .department_indicators(DepartmentIndicatorsRequest { from_ms, to_ms })
        .await
        .context("reading the department indicators")?
        .into_inner();
    let workers = query
        .grid_worker_indicators(PeriodRequest { from_ms, to_ms })
        .await
        .context("reading the grid workers' indicators")?
        .into_inner();
    let mut areas = Vec::new();
    for level in ["community", "street"] {
        let reply = query
            .area_indicators(SettlementIndicatorsRequest {
                from_ms,
                to_ms,
                level: level.to_owned(),
            })
            .await
            .with_context(|| format!("reading the {level} indicators"))?
            .into_inner();
        areas.push((level, reply));
    }

    let mut sections = vec![
        (
            "departments".to_owned(),
            department_table(&reference, &departments.departments),
        ),
        (
            format!(
                "grid workers (优秀网格员; ranked with at least {} finds, settlements and checks)",
                workers.min_activity
            ),
            worker_table(&workers),
        ),
    ];
    for (level, reply) in &areas {
        let title = match *level {
            "community" => "communities",
            _ => "streets",
        };
        sections.push((
            format!(
                "{title} (ranked by residents' satisfaction, with at least {} closed cases)",
                reply.min_closed
            ),
            area_table(reply),
        ));
    }
    let mut out = String::new();
    match args.format {
        Format::Table => {
            writeln!(out, "indicators for {}", args.period)?;
            for (title, table) in &sections {
                writeln!(out, "\n{title}\n{}", table.render())?;
            }
        }
        Format::Csv => {
            for (title, table) in &sections {
                let name = title.split(" (").next().unwrap_or(title);
                writeln!(out, "{}", csv_line(&[name.to_owned(), args.period.clone()]))?;
                for row in table.rows() {
                    writeln!(out, "{}", csv_line(row))?;
                }
                writeln!(out)?;
            }
        }
    }
    Ok(out)
}

/// `gridcase report`: prints the report.
pub async fn run(args: ReportArgs) -> anyhow::Result<()> {
    print!("{}", report(&args).await?);
    Ok(())
}

fn csv_line(cells: &[String]) -> String {
    cells
        .iter()
        .map(|cell| {
            if cell.contains([',', '"', '\n']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A rate as a percentage with one decimal, `—` when nothing counted towards it.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// A rank, `—` for unranked (0).
pub fn rank(rank: u32) -> String {
    if rank == 0 {
        "—".to_owned()
    } else {
        rank.to_string()
    }
}

fn department_table(
    reference: &ReferenceData,
    rows: &[gridcase_proto::evaluation::v1::DepartmentIndicators],
) -> Table {
    let mut table = Table::new(&[
        "rank",
        "department",
        "name",
        "dispatched",
        "response",
        "on time",
        "closure",
        "satisfied",
        "resolved",
        "rework",
        "grid rating",
        "score",
    ]);
    for row in rows {
        let name = reference
            .departments()
            .find(|d| d.code.as_str() == row.department)
            .map_or_else(String::new, |d| d.name.clone());
        table.row(vec![
            rank(row.rank),
            row.department.clone(),
            name,
            row.dispatched.to_string(),
            percent(row.response_rate),
            percent(row.on_time_closure_rate),
            percent(row.closure_rate),
            percent(row.satisfaction_rate),
            percent(row.resolution_rate),
            percent(row.rework_rate),
            // 网格评部门: the grid workers' ratings of the department.
            percent(row.grid_rating_rate),
            format!("{:.3}", row.score),
        ]);
    }
    table
}

fn worker_table(reply: &GridWorkerIndicatorsReply) -> Table {
    let mut table = Table::new(&[
        "rank",
        "worker",
        "name",
        "grid",
        "found on patrol",
        "settled in grid",
        "checks",
        "on time",
        "visits",
        "visits on time",
        "ratings",
        "satisfied",
        "score",
    ]);
    for row in &reply.workers {
        table.row(vec![
            rank(row.rank),
            row.worker_id.clone(),
            row.name.clone(),
            row.grid_name.clone(),
            row.found_on_patrol.to_string(),
            row.settled_in_grid.to_string(),
            row.checks.to_string(),
            percent(row.on_time_check_rate),
            row.visits.to_string(),
            percent(row.on_time_visit_rate),
            row.ratings.to_string(),
            percent(row.satisfaction_rate),
            format!("{:.3}", row.score),
        ]);
    }
    table
}

fn area_table(reply: &AreaIndicatorsReply) -> Table {
    let mut table = Table::new(&[
        "rank",
        "area",
        "name",
        "cases",
        "closed",
        "ratings",
        "satisfied",
        "resolved",
        "in grid",
        "in community",
    ]);
    for row in &reply.areas {
        table.row(vec![
            rank(row.rank),
            row.grid_code.clone(),
            row.name.clone(),
            row.cases.to_string(),
            row.closed.to_string(),
            row.ratings.to_string(),
            percent(row.satisfaction_rate),
            percent(row.resolution_rate),
            percent(row.grid_share),
            percent(row.community_share),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_runs_from_local_midnight_to_local_midnight() {
        // 2026-11-01 00:00 at UTC+8 is 2026-10-31 16:00 UTC.
        let (from, to) = month_bounds("2026-11", 480).unwrap();
        assert_eq!(from, 1_793_462_400_000);
        assert_eq!(to - from, 30 * 86_400_000);
        let (_, december_end) = month_bounds("2026-12", 480).unwrap();
        assert_eq!(december_end, month_bounds("2027-01", 480).unwrap().0);
        for bad in ["2026-13", "2026", "26-11", "2026-00", "November"] {
            assert!(month_bounds(bad, 480).is_err(), "{bad}");
        }
    }

    #[test]
    fn csv_cells_with_commas_or_quotes_are_quoted() {
        let line = csv_line(&["a".into(), "b,c".into(), "say \"hi\"".into()]);
        assert_eq!(line, "a,\"b,c\",\"say \"\"hi\"\"\"");
    }
}
