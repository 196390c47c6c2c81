//! `gridcase demo` end to end: a day of 40 cases through its own system (real nats-server, real
//! sled store, the seven services, simulated departments on their JetStream consumers) finishes,
//! prints the board and the department ranking with every case and every department, and leaves
//! a log that `gridcase verify` finds sound.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gridcase_config::ReferenceData;

const GRIDCASE: &str = env!("CARGO_BIN_EXE_gridcase");
const CASES: u64 = 40;

/// Runs `gridcase` with `args`, killing it after `limit`; its exit success and stdout.
fn run(args: &[&std::ffi::OsStr], limit: Duration) -> (bool, String) {
    let mut child = Command::new(GRIDCASE)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let text = reader.join().unwrap();
            panic!("gridcase {args:?} ran longer than {limit:?}:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (status.success(), reader.join().unwrap())
}

/// The lines of `output` from the one starting with `title` to the next blank line.
fn section<'a>(output: &'a str, title: &str) -> Vec<&'a str> {
    output
        .lines()
        .skip_while(|line| !line.starts_with(title))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .collect()
}

fn numbers(line: &str) -> Vec<u64> {
    line.split_whitespace()
        .filter_map(|cell| cell.parse().ok())
        .collect()
}

#[test]
fn a_day_of_forty_cases_ends_with_the_board_and_the_ranking() {
    let data = tempfile::tempdir().unwrap();
    let config = gridcase::system::sample_config_dir();
    let reference = ReferenceData::load(&config).unwrap();
    let (ok, output) = run(
        &[
            "demo".as_ref(),
            "--cases".as_ref(),
            CASES.to_string().as_ref(),
            "--time-limit".as_ref(),
            "100".as_ref(),
            "--data".as_ref(),
            data.path().as_os_str(),
            "--config".as_ref(),
            config.as_os_str(),
        ],
        Duration::from_secs(150),
    );
    assert!(ok, "gridcase demo failed:\n{output}");
    assert!(!output.contains("error:"), "{output}");

    // The board: a row per street and community, and the district's total row holding every
    // case, all finished, each with one colour.
    let board = section(&output, "the board");
    assert!(board[0].split_whitespace().eq([
        "area", "cases", "triage", "dispatch", "resolve", "evaluate", "done", "closed", "merged",
        "rejected", "green", "yellow", "red"
    ]));
    let total = board
        .iter()
        .find(|line| line.contains("(all)"))
        .unwrap_or_else(|| panic!("no total row:\n{output}"));
    let [cases, triage, dispatch, resolve, evaluate, done, closed, merged, rejected, green, yellow, red] =
        numbers(total)[..]
    else {
        panic!("a malformed total row: {total}")
    };
    assert_eq!(cases, CASES, "{total}");
    assert_eq!(
        (triage, dispatch, resolve, evaluate),
        (0, 0, 0, 0),
        "{total}"
    );
    assert_eq!(done, CASES, "{total}");
    assert_eq!(closed + merged + rejected, CASES, "{total}");
    assert!(closed > CASES / 2, "{total}");
    assert_eq!(green + yellow + red, CASES, "{total}");
    let streets = reference
        .grids()
        .filter(|area| area.level() == gridcase_domain::GridLevel::Street)
        .count();
    let street_rows = board
        .iter()
        .skip(2)
        .filter(|line| line.starts_with("  ") && !line.starts_with("    "))
        .count();
    // Every street but the total; with 40 cases across the sample city each street has some.
    assert_eq!(street_rows, streets + 1, "{output}");

    // The ranking: every department of the reference data has a row, and the dispatches of
    // the day's cases add up.
    let ranking = section(&output, "the department ranking");
    assert!(ranking[0].contains("response") && ranking[0].contains("satisfied"));
    let mut dispatched = 0;
    for department in reference.departments() {
        let code = department.code.as_str();
        let row = ranking
            .iter()
            .find(|line| line.split_whitespace().nth(1) == Some(code))
            .unwrap_or_else(|| panic!("no ranking row for {code}:\n{output}"));
        assert!(row.contains(&department.name), "{row}");
        dispatched += row
            .split_whitespace()
            .nth(3)
            .unwrap()
            .parse::<u64>()
            .unwrap();
    }
    assert_eq!(
        ranking.len(),
        2 + reference.departments().count(),
        "{output}"
    );
    assert!(dispatched > 0, "{output}");
    // Ranks 1, 2, … for departments with enough cases due, then the unranked (—).
    let ranks: Vec<&str> = ranking[2..]
        .iter()
        .map(|line| line.split_whitespace().next().unwrap())
        .collect();
    let ranked = ranks.iter().take_while(|rank| **rank != "—").count();
    let expected: Vec<String> = (1..=ranked).map(|rank| rank.to_string()).collect();
    assert_eq!(ranks[..ranked], expected, "{output}");
    assert!(ranks[ranked..].iter().all(|rank| *rank == "—"), "{output}");

    // The points board: every special member of the reference data and the four regular
    // callers, each balance what was earned less what the shop gave out, and some points
    // earned over the day.
    let points = section(&output, "the points board");
    assert!(
        points[0].contains("earned") && points[0].contains("balance"),
        "{output}"
    );
    assert_eq!(
        points.len(),
        2 + reference.members().count() + 4,
        "{output}"
    );
    let mut earned_today = 0;
    for row in &points[2..] {
        let cells: Vec<&str> = row.split_whitespace().collect();
        let figure = |from_end: usize| -> u64 { cells[cells.len() - from_end].parse().unwrap() };
        let (earned, exchanged, balance) = (figure(4), figure(3), figure(2));
        assert_eq!(earned - exchanged, balance, "{row}");
        earned_today += earned;
    }
    assert!(earned_today > 0, "{output}");
    // The service orders: three confirmed and rated, one cancelled before dispatch.
    let orders = section(&output, "service orders");
    assert_eq!(orders.len(), 2 + 4, "{output}");
    let statuses: Vec<&str> = orders[2..]
        .iter()
        .filter_map(|row| row.split_whitespace().nth(3))
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "confirmed").count(),
        3,
        "{output}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == "cancelled").count(),
        1,
        "{output}"
    );
    // The care visits: five households of the ledger, masked; three visited today, the
    // left-behind child's visit overdue on the plan and on the board.
    assert!(
        output.contains("the board counts 5 households under care and 1 overdue"),
        "{output}"
    );
    let visits = section(&output, "care visits");
    assert_eq!(visits.len(), 2 + 5, "{output}");
    assert!(visits[2..].iter().all(|row| row.contains("**")), "{output}");
    assert_eq!(
        visits[2..]
            .iter()
            .filter(|row| row.contains("today"))
            .count(),
        3,
        "{output}"
    );
    let overdue: Vec<&&str> = visits[2..]
        .iter()
        .filter(|row| row.trim_end().ends_with("yes"))
        .collect();
    assert!(
        overdue.len() == 1 && overdue[0].contains("留守儿童"),
        "{output}"
    );
    // The rankings of grid workers and communities, read back from the query service.
    let workers = section(&output, "the grid workers' ranking");
    assert!(
        workers[0].contains("found") && workers[0].contains("score"),
        "{output}"
    );
    let communities = section(&output, "the communities' ranking");
    assert!(communities.len() > 2, "{output}");
    let listed: u64 = communities[2..]
        .iter()
        .map(|row| {
            row.split_whitespace()
                .nth(2)
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert!(listed > 0 && listed <= CASES, "{output}");

    // The figures agree with the board.
    let figures = section(&output, "the day in figures");
    let figure = |what: &str| {
        let row = figures
            .iter()
            .find(|line| line.trim_start().starts_with(what))
            .unwrap_or_else(|| panic!("no {what} in the figures:\n{output}"));
        numbers(row)[0]
    };
    assert_eq!(figure("reported"), CASES);
    assert_eq!(figure("closed"), closed);
    assert_eq!(figure("merged"), merged);
    assert_eq!(figure("rejected"), rejected);
    assert_eq!(figure("still open"), 0);

    // The demo stopped its system cleanly: the store it leaves is sound.
    let (ok, verified) = run(
        &[
            "verify".as_ref(),
            "--data".as_ref(),
            data.path().as_os_str(),
        ],
        Duration::from_secs(60),
    );
    assert!(ok, "{verified}");
    assert!(verified.contains("the log is sound"), "{verified}");
}
