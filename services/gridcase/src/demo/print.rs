//! What the demo prints of the day: progress lines while it runs; at the end the board, the
//! department ranking and the day in figures, read back from the query and evaluation services.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use gridcase::table::Table;
use gridcase_config::ReferenceData;
use gridcase_domain::{GridCode, GridLevel};
use gridcase_proto::dispatch::v1 as dispatch_pb;
use gridcase_proto::evaluation::v1::{self as evaluation_pb, DepartmentIndicators};
use gridcase_proto::query::v1::{self as query_pb, AreaCounts};
use gridcase_proto::store::v1::StatsRequest;
use tonic::Status;

use super::cast::SUPERVISOR;
use super::clock::Clock;
use super::day::{now_ms, sleep_ms, status_error, Day};
use super::ledger::Tracked;

impl Day {
    pub(super) fn print_progress(&self, planned: usize) {
        let c = self.ledger.counts();
        self.say(format_args!(
            "reported {}/{planned} · open {} · closed {} · merged {} · rejected {} · \
             returned {} · reworked {} · reopened {} · late {} · urged {}",
            c.reported,
            self.ledger.open(),
            c.closed,
            c.merged,
            c.rejected,
            c.returned,
            c.reworked,
            c.reopened,
            c.late,
            c.urged
        ));
    }

    /// Prints the board, the department ranking and the summary, once the query service has
    /// caught up with the store. `finished`: every case of the day came to an end, so the
    /// demo's own count of closed cases must match the system's.
    pub(super) async fn print_results(
        &self,
        day_start_ms: i64,
        finished: bool,
    ) -> anyhow::Result<()> {
        let head = self
            .api
            .store_admin()
            .stats(StatsRequest {})
            .await
            .map_err(|s| status_error("reading the store's figures", &s))?
            .into_inner()
            .events;
        let started = Instant::now();
        let board = loop {
            let board = self
                .api
                .query()
                .board(query_pb::BoardRequest {})
                .await
                .map_err(|s| status_error("reading the board", &s))?
                .into_inner();
            if board.caught_up_to >= head || started.elapsed() > Duration::from_secs(10) {
                break board;
            }
            sleep_ms(100).await;
        };
        println!();
        println!("the board — cases per street and community, by stage, status and colour");
        println!("{}", board_table(&self.reference, &board).render());

        let indicators = self
            .api
            .evaluation(SUPERVISOR)
            .department_indicators(evaluation_pb::DepartmentIndicatorsRequest {
                from_ms: day_start_ms,
                to_ms: now_ms() + 1,
            })
            .await
            .map_err(|s| status_error("reading the indicators", &s))?
            .into_inner();
        println!();
        println!(
            "the department ranking — indicators of the day's cases ({} events read)",
            indicators.events_read
        );
        println!(
            "{}",
            ranking_table(&self.reference, &indicators.departments, self.clock).render()
        );
        println!(
            "  ranked: departments with at least {} cases due; the others are listed unranked (—)",
            self.reference.indicator_settings().min_cases_for_ranking
        );
        if self.clock.compressed {
            println!(
                "  times to close in hours on the demo's clock (1 h = {} ms); — where nothing \
                 counts towards a rate",
                self.clock.hour_ms
            );
        } else {
            println!("  times to close in minutes; — where nothing counts towards a rate");
        }

        self.run_orders().await?;
        self.run_visits().await?;
        self.print_points().await?;
        self.print_people_rankings(day_start_ms, now_ms() + 1)
            .await?;

        println!();
        println!("the day in figures");
        let summary = self.summary(finished).await?;
        print!("{summary}");
        Ok(())
    }

    /// The day told from the cases' timelines in the query service.
    async fn summary(&self, finished: bool) -> anyhow::Result<String> {
        let cases = self.ledger.all();
        let query = self.api.query();
        let timelines: Vec<Result<query_pb::GetCaseReply, Status>> =
            futures::stream::iter(cases.iter().map(|case| {
                let mut query = query.clone();
                let case_id = case.case_id.clone();
                async move {
                    query
                        .get_case(query_pb::GetCaseRequest { case_id })
                        .await
                        .map(tonic::Response::into_inner)
                }
            }))
            .buffered(8)
            .collect()
            .await;
        let mut events: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        for (case, reply) in cases.iter().zip(timelines) {
            let reply = reply.map_err(|s| {
                status_error(format_args!("reading case {}", case.tracking_code), &s)
            })?;
            if let Some(summary) = &reply.case {
                *statuses
                    .entry(gridcase_proto::convert::status_name(summary.status).to_owned())
                    .or_default() += 1;
            }
            let mut seen: HashSet<&str> = HashSet::new();
            for entry in &reply.timeline {
                let counts = events.entry(entry.event_type.clone()).or_default();
                counts.1 += 1;
                if seen.insert(&entry.event_type) {
                    counts.0 += 1;
                }
            }
        }
        let ours = self.ledger.counts();
        let closed = statuses.get("closed").copied().unwrap_or_default();
        anyhow::ensure!(
            !finished || closed == ours.closed,
            "the query service shows {closed} closed cases, the demo closed {}",
            ours.closed
        );
        let cases_with = |event: &str| events.get(event).copied().unwrap_or_default();
        let by_worker = cases.iter().filter(|case| case.by_worker).count();
        let by_member = cases.iter().filter(|case| case.by_member).count();
        let still_open = cases.len()
            - closed
            - statuses.get("merged").copied().unwrap_or_default()
            - statuses.get("rejected").copied().unwrap_or_default();
        let mut table = Table::new(&["", "cases", "events", ""]);
        let mut line = |what: &str, (cases, events): (usize, usize), note: String| {
            table.row(vec![
                what.to_owned(),
                cases.to_string(),
                if events == 0 {
                    String::new()
                } else {
                    events.to_string()
                },
                note,
            ]);
        };
        line(
            "reported",
            (cases.len(), 0),
            format!(
                "{} by hotline, {by_worker} by grid workers, {by_member} by special members",
                cases.len() - by_worker - by_member
            ),
        );
        line(
            "merged as repeats",
            cases_with("CaseMerged"),
            "same problem, same place (重复件)".to_owned(),
        );
        line(
            "triaged by hand",
            (ours.manual, 0),
            "vague calls and cases every owner returned".to_owned(),
        );
        line(
            "rejected",
            cases_with("CaseRejected"),
            "outside the grid's remit".to_owned(),
        );
        line(
            "referred",
            cases_with("CaseReferred"),
            "pushed to a department or handed up by the grid worker's or office's call (直通、上报)"
                .to_owned(),
        );
        line(
            "whistled",
            cases_with("WhistleBlown"),
            format!(
                "departments called to report in by a community or street (吹哨报到); {} \
                 report-ins, {} late",
                cases_with("DepartmentReportedIn").1,
                ours.reported_in_late
            ),
        );
        let (settled, in_grid, in_community) = self.settlement(&cases).await?;
        let share = |part: u64| {
            if settled == 0 {
                "—".to_owned()
            } else {
                format!("{:.0}%", 100.0 * part as f64 / settled as f64)
            }
        };
        line(
            "settled in the grid",
            (usize::try_from(in_grid).unwrap_or(usize::MAX), 0),
            format!(
                "{} of {settled} closed cases in a grid, by grid workers (自办自结，小事不出网格)",
                share(in_grid)
            ),
        );
        line(
            "in the community",
            (usize::try_from(in_community).unwrap_or(usize::MAX), 0),
            format!(
                "{} settled by the grid or its community (大事不出社区)",
                share(in_community)
            ),
        );
        line(
            "returned",
            cases_with("DispatchReturned"),
            "not the department's business (退单)".to_owned(),
        );
        line(
            "postponed",
            cases_with("PostponementApproved"),
            format!(
                "approved of {} asked (延期)",
                cases_with("PostponementRequested").1
            ),
        );
        line(
            "reworked",
            cases_with("VerificationFailed"),
            "failed the on-site check (返工)".to_owned(),
        );
        line(
            "reopened",
            cases_with("CaseReopened"),
            "the resident said not resolved (重办)".to_owned(),
        );
        let notices = self
            .notices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let received = |kind: dispatch_pb::NoticeKind, for_leader: bool| {
            notices
                .get(&(kind as i32, for_leader))
                .copied()
                .unwrap_or_default()
        };
        line(
            "warned",
            cases_with("DeadlineWarned"),
            format!(
                "past a warning point (黄灯预警); {} notices reached handlers",
                received(dispatch_pb::NoticeKind::DeadlineWarning, false)
            ),
        );
        line(
            "breached",
            cases_with("DeadlineBreached"),
            format!(
                "past a deadline (红灯超时); {} notices reached handlers",
                received(dispatch_pb::NoticeKind::DeadlineBreach, false)
            ),
        );
        line(
            "escalated",
            cases_with("CaseEscalated"),
            format!(
                "one rung at a time from the grid leader (逐级督办); {} notices reached leaders",
                received(dispatch_pb::NoticeKind::Escalation, true)
            ),
        );
        line(
            "urged",
            cases_with("CaseUrged"),
            format!(
                "by the supervisor (督办); {} notices reached handlers",
                received(dispatch_pb::NoticeKind::Urge, false)
            ),
        );
        line("closed", (closed, 0), "结案".to_owned());
        line("still open", (still_open, 0), String::new());
        Ok(table.render())
    }
}

impl Day {
    /// Closed cases with a grid among the day's, and how many of them were settled within the
    /// grid and within the community, from the query service's settlement indicators.
    async fn settlement(&self, cases: &[Tracked]) -> anyhow::Result<(u64, u64, u64)> {
        let Some(from_ms) = cases.iter().map(|case| case.reported_at_ms).min() else {
            return Ok((0, 0, 0));
        };
        let to_ms = cases
            .iter()
            .map(|case| case.reported_at_ms)
            .max()
            .unwrap_or(from_ms)
            + 1;
        let reply = self
            .api
            .query()
            .settlement_indicators(query_pb::SettlementIndicatorsRequest {
                from_ms,
                to_ms,
                level: "street".to_owned(),
            })
            .await
            .map_err(|s| status_error(format_args!("reading the settlement indicators"), &s))?
            .into_inner();
        Ok(reply
            .areas
            .iter()
            .fold((0, 0, 0), |(closed, grid, community), area| {
                (
                    closed + area.closed,
                    grid + area.settled_in_grid,
                    community + area.settled_in_community,
                )
            }))
    }
}

const STAGES: [&str; 5] = ["triage", "dispatch", "resolve", "evaluate", "done"];
const ENDINGS: [&str; 3] = ["closed", "merged", "rejected"];
const COLOURS: [&str; 3] = ["green", "yellow", "red"];

/// The board: one row per street, its communities under it, and the district's total.
fn board_table(reference: &ReferenceData, board: &query_pb::BoardReply) -> Table {
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
fn ranking_table(
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
