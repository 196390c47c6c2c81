//! `gridcase chaos`, shorter, on a NATS cluster of three nodes with every stream at three
//! replicas and two replicas of every stage service sharing the feed by partition: one process
//! of every service killed with SIGKILL (the store among them while reports are being appended;
//! of a stage service, one replica while the other goes on), and each NATS node in turn killed with SIGKILL, kept down for five
//! seconds (longer than the 3 s a request lost with the node is waited for) and started again, under a steady load of hotline reports retried with their request
//! ids. Reports must go on being acknowledged while a node is down; nothing acknowledged may be
//! lost or created twice, every dispatch must reach the work-order stream once by event id,
//! every breach must be recorded once (two supervision replicas tick the same deadlines), and
//! both query replicas' projections must equal a fresh rebuild.
//! (A single nats-server stopped and started again under the services is `tests/health.rs`'s.)

mod common;

use std::process::Command;

const GRIDCASE: &str = env!("CARGO_BIN_EXE_gridcase");

/// The count a result line of the report ends with.
fn count(report: &str, what: &str) -> u64 {
    let line = report
        .lines()
        .find(|line| line.trim_start().starts_with(what))
        .unwrap_or_else(|| panic!("no line {what:?} in the report:\n{report}"));
    line.trim_start()[what.len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count on {line:?}"))
}

#[test]
fn killing_a_replica_of_every_service_and_each_nats_node_under_load_loses_and_repeats_nothing() {
    let bin_dir = std::path::Path::new(GRIDCASE).parent().unwrap();
    for service in gridcase::system::Service::ALL.map(gridcase::system::Service::name) {
        assert!(
            bin_dir.join(format!("gridcase-{service}")).is_file(),
            "gridcase-{service} is missing: this test needs every service binary (cargo test \
             --workspace, or cargo build --workspace --bins)"
        );
    }
    common::private_sample_tokens();
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(GRIDCASE)
        .args([
            "chaos",
            "--rounds",
            "8",
            "--nats-nodes",
            "3",
            "--replicas",
            "2",
            "--nats-restarts",
            "3",
            "--node-down-ms",
            "5000",
            "--pause-ms",
            "1000",
        ])
        .arg("--data")
        .arg(data.path())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "gridcase chaos failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for service in gridcase::system::Service::ALL.map(gridcase::system::Service::name) {
        assert!(
            report.contains(&format!("killed {service} (pid")),
            "{report}"
        );
    }
    for node in 1..=3 {
        let lost = format!("lost nats node {node} for 5.0 s; ");
        let line = report
            .lines()
            .find(|line| line.contains(&lost))
            .unwrap_or_else(|| panic!("node {node} was not lost:\n{report}"));
        let meanwhile: u64 = line[line.find(&lost).unwrap() + lost.len()..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count on {line:?}"));
        assert!(
            meanwhile > 0,
            "no report was acknowledged while node {node} was down:\n{report}"
        );
    }
    assert!(
        report.contains("2 replica(s) of each stage service"),
        "{report}"
    );
    for model in [
        "query model query at position",
        "query model query-2 at position",
    ] {
        assert!(report.contains(model), "{model}:\n{report}");
    }
    assert!(count(&report, "reports acknowledged") >= 50, "{report}");
    assert!(count(&report, "dispatches in the log") >= 20, "{report}");
    assert!(count(&report, "deadlines breached") >= 1, "{report}");
    for zero in [
        "acknowledged reports lost",
        "cases created twice",
        "dispatches without their work order",
        "work orders of no dispatch",
        "breaches recorded more than once",
        "cases whose projection differs from it",
    ] {
        assert_eq!(count(&report, zero), 0, "{zero}:\n{report}");
    }
    assert!(
        count(&report, "cases compared with a fresh rebuild") >= 50,
        "{report}"
    );
}
