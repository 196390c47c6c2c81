//! `gridcase eval classify` learns from the shipped corpus's training split and reports, per
//! category of the catalogue, how the held-out reports were routed.

use std::process::Command;

#[test]
fn eval_classify_reports_every_category_of_the_held_out_split() {
    let output = Command::new(env!("CARGO_BIN_EXE_gridcase"))
        .args(["eval", "classify"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("GRIDCASE_CONFIG")
        .output()
        .expect("running gridcase eval classify");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
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
    let summary = stdout
        .lines()
        .find(|line| line.starts_with("held out: "))
        .unwrap_or_else(|| panic!("no summary line: {stdout}"));
    // The three shares add up to the whole held-out split.
    let share = |marker: &str| -> f64 {
        let before = &summary[..summary.find(marker).unwrap_or_else(|| panic!("{summary}"))];
        before
            .rsplit(' ')
            .next()
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("no share before {marker:?}: {summary}"))
    };
    let shares = [
        share("% routed right"),
        share("% routed wrong"),
        share("% to the manual queue"),
    ];
    let total: f64 = shares.iter().sum();
    assert!((total - 100.0).abs() < 0.2, "{summary}");
}
