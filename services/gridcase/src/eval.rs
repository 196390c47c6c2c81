//! `gridcase eval classify`: learns the category model from the corpus's training split and
//! measures it on the held-out split, per category: routed right, routed wrong, left to an
//! operator. The threshold is a setting, never tuned on the held-out reports.

use std::path::PathBuf;

use anyhow::Context;
use gridcase::system::config_dir;
use gridcase::table::Table;
use gridcase_config::{Corpus, ReferenceData, Split};
use gridcase_rules::textmodel::{evaluate, TextModel};

/// Folds of the cross-validation that calibrates the model's probabilities.
const CALIBRATION_FOLDS: usize = 5;

/// What to measure.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Which {
    /// The text classifier on the held-out reports of the corpus.
    Classify {
        /// Directory of the reference data and its `corpus/`; by default `deploy/config` here,
        /// else the sample city of the source tree.
        #[arg(long, env = "GRIDCASE_CONFIG")]
        config: Option<PathBuf>,
        /// A report is routed when its best category's probability reaches this; below it,
        /// it waits for an operator.
        #[arg(long, default_value_t = 0.5)]
        threshold: f64,
    },
}

/// Runs the measurement and prints it.
pub(crate) fn run(which: Which) -> anyhow::Result<()> {
    let Which::Classify { config, threshold } = which;
    let dir = config_dir(config);
    let reference = ReferenceData::load(&dir)
        .with_context(|| format!("loading the reference data in {}", dir.display()))?;
    let corpus = Corpus::load(&dir, &reference).context("loading the corpus")?;
    let train: Vec<_> = corpus
        .split(Split::Train)
        .map(|report| (report.category, report.text.as_str()))
        .collect();
    // Calibrated by cross-validation on the training split: the held-out reports are read
    // only below, to measure.
    let model = TextModel::calibrated(&train, CALIBRATION_FOLDS);
    let held_out: Vec<_> = corpus
        .split(Split::HeldOut)
        .map(|report| (report.category, report.text.as_str()))
        .collect();
    anyhow::ensure!(!held_out.is_empty(), "the corpus has no held-out reports");
    let evaluation = evaluate(&model, held_out.iter().copied(), threshold);

    println!(
        "classifier: naive Bayes over characters and character pairs, learnt from {} training \
         reports (temperature {} by {CALIBRATION_FOLDS}-fold cross-validation on them); measured \
         on {} held-out reports; routed when the best category reaches {threshold}",
        model.documents(),
        model.temperature(),
        evaluation.reports
    );
    let mut table = Table::new(&["category", "name", "reports", "right", "wrong", "manual"]);
    for (label, (reports, right, wrong, manual)) in &evaluation.per_label {
        let (code, name) = match label {
            Some(code) => (
                code.to_string(),
                reference
                    .category(code)
                    .map_or_else(String::new, |category| category.name.clone()),
            ),
            None => ("none".to_owned(), "(no category)".to_owned()),
        };
        table.row(vec![
            code,
            name,
            reports.to_string(),
            right.to_string(),
            wrong.to_string(),
            manual.to_string(),
        ]);
    }
    print!("{}", table.render());
    println!(
        "held out: {:.1}% routed right (target at least 90%), {:.1}% routed wrong (target at most \
         5%), {:.1}% to the manual queue",
        100.0 * evaluation.right_rate(),
        100.0 * evaluation.wrong_rate(),
        100.0 * evaluation.manual_rate()
    );
    Ok(())
}
