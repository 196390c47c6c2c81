//! `gridcase chaos`, shorter: every service process killed with SIGKILL once (the store among
//! them while reports are being appended) and nats-server restarted once, under a steady load
//! of hotline reports retried with their request ids. Nothing acknowledged may be lost or
//! created twice, every dispatch must reach the work-order stream once by event id, every
//! breach must be recorded once, and the query projections must equal a fresh rebuild.

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
fn killing_every_service_and_restarting_nats_under_load_loses_and_repeats_nothing() {
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
            "--nats-restarts",
            "1",
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
    assert!(report.contains("restarted nats-server"), "{report}");
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
