//! The benchmark's tables: a row per level as it ends, where the time of sampled cases went, and
//! the highest rate kept up.

use gridcase::table::{Align, Columns};
use hdrhistogram::Histogram;

use super::measure::{Level, Stages};
use super::receive::lock;
use super::Harness;
use crate::bench::ms_at;

/// The columns of a level's figures, printed as each level ends.
pub(super) fn level_columns() -> Columns {
    Columns::new(&[
        ("offered", 7, Align::Right),
        ("cases", 5, Align::Right),
        ("delivered", 8, Align::Right),
        ("cases/s", 7, Align::Right),
        ("p50 ms", 7, Align::Right),
        ("p99 ms", 7, Align::Right),
        ("max ms", 7, Align::Right),
        ("reply p99", 8, Align::Right),
        ("errors", 5, Align::Right),
        ("kept up", 0, Align::Left),
        ("events/case", 0, Align::Right),
        ("appends/flush", 0, Align::Right),
        ("cpu (nats)", 0, Align::Right),
        ("cpu ms/case", 0, Align::Right),
    ])
}

pub(super) fn print_level(columns: &Columns, level: &Level) {
    let cpu = level.cpu.map_or_else(
        || "-".to_owned(),
        |(own, nats)| {
            let wall = level.wall.as_secs_f64();
            format!("{:.0}% ({:.0}%)", own / wall * 100.0, nats / wall * 100.0)
        },
    );
    let cpu_per_case = level
        .cpu_ms_per_case()
        .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1}"));
    print!(
        "{}",
        columns.line(&[
            level.rate.to_string(),
            level.offered.to_string(),
            level.latencies.len().to_string(),
            format!("{:.0}", level.delivered_per_second),
            format!("{:.1}", ms_at(&level.latencies, 0.50)),
            format!("{:.1}", ms_at(&level.latencies, 0.99)),
            format!("{:.1}", ms_at(&level.latencies, 1.0)),
            format!("{:.1}", ms_at(&level.replies, 0.99)),
            level.errors.to_string(),
            (if level.kept_up { "yes" } else { "NO" }).to_owned(),
            format!(
                "{:.2}",
                level.events as f64 / level.accepted.len().max(1) as f64
            ),
            format!("{:.1}", level.appends as f64 / level.flushes.max(1) as f64),
            cpu,
            cpu_per_case,
        ])
    );
    if !level.messages.is_empty() {
        let cases = level.accepted.len().max(1) as f64;
        let total: u64 = level.messages.values().sum();
        let kinds: Vec<String> = level
            .messages
            .iter()
            .map(|(kind, count)| format!("{kind} {:.1}", *count as f64 / cases))
            .collect();
        println!(
            "         NATS messages per case: {:.1} ({})",
            total as f64 / cases,
            kinds.join(", ")
        );
    }
    if level.misrouted > 0 {
        println!(
            "         {} cases reached another department or route than their category's",
            level.misrouted
        );
    }
}

pub(super) fn print_stages(stages: &[(u32, Stages)]) {
    println!(
        "where the time goes, p50 / p99 ms of sampled cases (events' recorded-at, ms resolution):"
    );
    let mut columns = vec![("offered", 7, Align::Right), ("sampled", 0, Align::Right)];
    columns.extend(
        ["intake", "triage", "dispatch", "work order"].map(|stage| (stage, 11, Align::Right)),
    );
    let columns = Columns::new(&columns);
    print!("{}", columns.header());
    for (rate, stages) in stages {
        let cell = |times: &Histogram<u64>| {
            format!("{:.0} / {:.0}", ms_at(times, 0.50), ms_at(times, 0.99))
        };
        print!(
            "{}",
            columns.line(&[
                rate.to_string(),
                stages.intake.len().to_string(),
                cell(&stages.intake),
                cell(&stages.triage),
                cell(&stages.dispatch),
                cell(&stages.work_order),
            ])
        );
    }
    println!("  intake: due → CaseReported; triage: → CaseTriaged; dispatch: → CaseDispatched; work order: → received");
}

pub(super) fn print_summary(harness: &Harness, levels: &[Level]) {
    let repeats = lock(&harness.deliveries).repeats;
    let undecodable = lock(&harness.deliveries).undecodable;
    if repeats > 0 || undecodable > 0 {
        println!("work orders received again: {repeats}; undecodable messages: {undecodable}");
    }
    match levels.iter().filter(|level| level.kept_up).max_by_key(|level| level.rate) {
        Some(best) => println!(
            "highest sustained rate: {} cases/s offered, {:.0} delivered/s, p50 {:.1} ms, p99 {:.1} ms (target: at least 2000 cases/s on 2 cores: {})",
            best.rate,
            best.delivered_per_second,
            ms_at(&best.latencies, 0.50),
            ms_at(&best.latencies, 0.99),
            if best.rate >= 2_000 { "met" } else { "missed" }
        ),
        None => println!("no level kept up"),
    }
    let measured = levels
        .iter()
        .filter(|level| level.kept_up)
        .max_by_key(|level| level.rate)
        .or(levels.first());
    if let Some((level, ms)) = measured.and_then(|l| l.cpu_ms_per_case().map(|ms| (l, ms))) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!(
            "CPU: {ms:.1} ms per case at {} cases/s (services, load generator and nats-server): {cores} cores allow at most ~{:.0} cases/s however the work is spread",
            level.rate,
            cores as f64 * 1_000.0 / ms
        );
    }
    if let Some(at_200) = levels.iter().find(|level| level.rate == 200) {
        let p99 = ms_at(&at_200.latencies, 0.99);
        println!(
            "at 200 cases/s: p50 {:.1} ms, p99 {p99:.1} ms (target: p99 at most 50 ms: {})",
            ms_at(&at_200.latencies, 0.50),
            if at_200.kept_up && p99 <= 50.0 {
                "met"
            } else {
                "missed"
            }
        );
    }
}
