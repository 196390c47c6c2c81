//! `gridcase eval classify` learns from the shipped corpus's training split and reports, per
//! category of the catalogue, how the held-out reports were routed; with `--cross-validate`
//! it measures by cross-validation on the training split alone, without the held-out split.

use std::path::Path;
use std::process::{Command, Output};

use gridcase_rules::textmodel::DEFAULT_THRESHOLD;

fn run(args: &[&str], config: Option<&Path>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gridcase"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("GRIDCASE_CONFIG");
    if let Some(config) = config {
        command.env("GRIDCASE_CONFIG", config);
    }
    let output: Output = command.output().expect("running gridcase eval classify");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Every category of the catalogue, and `none`, has a row.
fn assert_rows_for_every_category(stdout: &str) {
    let reference = gridcase_config::ReferenceData::load(&gridcase::system::sample_config_dir())
        .expect("the sample reference data");
    for category in reference.categories() {
        let row = format!("  {}  ", category.code);
        assert!(
            stdout.contains(&row),
            "no row for {}: {stdout}",
            category.code
        );
    }
    assert!(stdout.contains("  none  "), "{stdout}");
}

/// The number just before `marker` in `line`.
fn number_before(line: &str, marker: &str) -> f64 {
    let before = &line[..line.find(marker).unwrap_or_else(|| panic!("{line}"))];
    before
        .rsplit(' ')
        .next()
        .and_then(|number| number.trim_end_matches('%').parse().ok())
        .unwrap_or_else(|| panic!("no number before {marker:?}: {line}"))
}

/// The summary line starting with `prefix`: its right, wrong and manual shares add up to the
/// whole split; returns the right share.
fn assert_shares_add_up(stdout: &str, prefix: &str) -> f64 {
    let summary = stdout
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no summary line: {stdout}"));
    let shares = [
        number_before(summary, "% routed right"),
        number_before(summary, "% routed wrong"),
        number_before(summary, "% to the manual queue"),
    ];
    let total: f64 = shares.iter().sum();
    assert!((total - 100.0).abs() < 0.2, "{summary}");
    shares[0]
}

/// Top-1 accuracy is at least the share routed right, and top-3 at least top-1.
fn assert_top_accuracies(stdout: &str, right: f64) {
    let line = stdout
        .lines()
        .find(|line| line.starts_with("best guess right (top-1): "))
        .unwrap_or_else(|| panic!("no top-1 line: {stdout}"));
    let top1 = number_before(line, "%; right category among");
    let top3 = line
        .rsplit(' ')
        .next()
        .and_then(|number| number.trim_end_matches('%').parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no top-3 share: {line}"));
    assert!(top1 + 0.05 >= right, "{line}");
    assert!(top3 >= top1, "{line}");
}

#[test]
fn eval_classify_reports_every_category_of_the_held_out_split() {
    let stdout = run(&["eval", "classify"], None);
    assert_rows_for_every_category(&stdout);
    let right = assert_shares_add_up(&stdout, "held out: ");
    assert_top_accuracies(&stdout, right);
    assert!(
        stdout.contains(&format!("reaches {DEFAULT_THRESHOLD}")),
        "the default threshold is the library's: {stdout}"
    );
}

#[test]
fn cross_validation_measures_on_the_training_split_without_the_held_out_one() {
    // The shipped reference data and training split, and no held-out split at all.
    let config = tempfile::tempdir().expect("a temp dir");
    let source = gridcase::system::sample_config_dir();
    for entry in std::fs::read_dir(&source).expect("the sample config") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|ext| ext == "toml") {
            std::fs::copy(&path, config.path().join(path.file_name().expect("a name")))
                .expect("copying the reference data");
        }
    }
    let train = config.path().join("corpus/train");
    std::fs::create_dir_all(&train).expect("the corpus dir");
    for entry in std::fs::read_dir(source.join("corpus/train")).expect("the training split") {
        let path = entry.expect("an entry").path();
        std::fs::copy(&path, train.join(path.file_name().expect("a name")))
            .expect("copying the training split");
    }
    let stdout = run(
        &["eval", "classify", "--cross-validate", "--folds", "2"],
        Some(config.path()),
    );
    assert_rows_for_every_category(&stdout);
    let right = assert_shares_add_up(&stdout, "cross-validated on train: ");
    assert_top_accuracies(&stdout, right);
    assert!(
        stdout.contains("recommended threshold") || stdout.contains("no threshold keeps"),
        "{stdout}"
    );
}
