//! `gridcase eval classify`: learns the category model from the corpus's training split (and
//! the catalogue's names and keywords) and measures it on the held-out split, per category:
//! routed right, routed wrong, left to an operator. With `--cross-validate` it measures the
//! same way of learning by cross-validation on the training split alone, which is what every
//! choice of the model (and its default threshold) was made on: the held-out split is never
//! tuned on.

use std::path::PathBuf;

use anyhow::Context;
use gridcase::system::config_dir;
use gridcase::table::Table;
use gridcase_config::{Corpus, ReferenceData, Split};
use gridcase_rules::textmodel::{
    catalogue_examples, cross_validate, evaluate, evaluate_predictions, recommend_threshold,
    Evaluation, Label, Settings, TextModel, DEFAULT_FOLDS, DEFAULT_THRESHOLD,
};

/// The largest share of reports the default threshold may route wrong.
const MAX_WRONG: f64 = 0.05;

/// What to measure.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Which {
    /// The text classifier on the held-out reports of the corpus (or, with
    /// `--cross-validate`, by cross-validation on its training reports).
    Classify {
        /// Directory of the reference data and its `corpus/`; by default `deploy/config` here,
        /// else the sample city of the source tree.
        #[arg(long, env = "GRIDCASE_CONFIG")]
        config: Option<PathBuf>,
        /// A report is routed when its best category's probability reaches this; below it,
        /// it waits for an operator.
        #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
        threshold: f64,
        /// Measure by k-fold cross-validation on the training split instead (the held-out
        /// split is not read), and recommend a threshold from it.
        #[arg(long)]
        cross_validate: bool,
        /// Folds of the cross-validation (both the calibration's and `--cross-validate`'s).
        #[arg(long, default_value_t = DEFAULT_FOLDS)]
        folds: usize,
    },
}

/// Runs the measurement and prints it.
pub(crate) fn run(which: Which) -> anyhow::Result<()> {
    let Which::Classify {
        config,
        threshold,
        cross_validate: on_train,
        folds,
    } = which;
    let dir = config_dir(config);
    let reference = ReferenceData::load(&dir)
        .with_context(|| format!("loading the reference data in {}", dir.display()))?;
    let corpus = Corpus::load(&dir, &reference).context("loading the corpus")?;
    let train: Vec<_> = corpus
        .split(Split::Train)
        .map(|report| (report.category, report.text.as_str()))
        .collect();
    anyhow::ensure!(!train.is_empty(), "the corpus has no training reports");
    let catalogue = catalogue_examples(&reference);
    let catalogue: Vec<(Label, &str)> = catalogue
        .iter()
        .map(|(label, text)| (*label, text.as_str()))
        .collect();
    let settings = Settings::default();

    if on_train {
        let predictions = cross_validate(&settings, &train, &catalogue, folds);
        let evaluation = evaluate_predictions(&predictions, threshold);
        println!(
            "classifier: {} by {folds}-fold cross-validation on the {} training reports (each \
             fold's model learnt from the others and the catalogue's {} names and keywords, \
             calibrated by its own inner cross-validation); routed when the best category \
             reaches {threshold}",
            settings.describe(),
            train.len(),
            catalogue.len(),
        );
        print_evaluation(&reference, &evaluation, "cross-validated on train");
        println!("by threshold (right / wrong / manual):");
        for step in [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] {
            let at = evaluate_predictions(&predictions, step);
            println!(
                "  {step:.2}: {:.1}% / {:.1}% / {:.1}%",
                100.0 * at.right_rate(),
                100.0 * at.wrong_rate(),
                100.0 * at.manual_rate()
            );
        }
        match recommend_threshold(&predictions, MAX_WRONG) {
            Some(recommended) => {
                let at = evaluate_predictions(&predictions, recommended);
                println!(
                    "recommended threshold (most routed right with at most {:.0}% wrong): \
                     {recommended:.3}: {:.1}% right, {:.1}% wrong, {:.1}% manual",
                    100.0 * MAX_WRONG,
                    100.0 * at.right_rate(),
                    100.0 * at.wrong_rate(),
                    100.0 * at.manual_rate()
                );
            }
            None => println!(
                "no threshold keeps wrong routing at or below {:.0}%",
                100.0 * MAX_WRONG
            ),
        }
        return Ok(());
    }

    // Learnt and calibrated on the training split (and the catalogue): the held-out reports
    // are read only below, to measure.
    let model = TextModel::calibrated_with(&settings, &train, &catalogue, folds);
    let held_out: Vec<_> = corpus
        .split(Split::HeldOut)
        .map(|report| (report.category, report.text.as_str()))
        .collect();
    anyhow::ensure!(!held_out.is_empty(), "the corpus has no held-out reports");
    let evaluation = evaluate(&model, held_out.iter().copied(), threshold);
    println!(
        "classifier: {} (the training split and the catalogue's names and keywords; \
         temperature by {folds}-fold cross-validation on them); measured on {} held-out \
         reports; routed when the best category reaches {threshold}",
        model.describe(),
        evaluation.reports
    );
    print_evaluation(&reference, &evaluation, "held out");
    Ok(())
}

/// The name of `label` in the catalogue.
fn label_name(reference: &ReferenceData, label: &Label) -> (String, String) {
    match label {
        Some(code) => (
            code.to_string(),
            reference
                .category(code)
                .map_or_else(String::new, |category| category.name.clone()),
        ),
        None => ("none".to_owned(), "(no category)".to_owned()),
    }
}

/// Prints the table per category, the totals against the targets, top-1 and top-3 accuracy
/// and the most frequent wrong routings.
fn print_evaluation(reference: &ReferenceData, evaluation: &Evaluation, split: &str) {
    let mut table = Table::new(&["category", "name", "reports", "right", "wrong", "manual"]);
    for (label, (reports, right, wrong, manual)) in &evaluation.per_label {
        let (code, name) = label_name(reference, label);
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
        "{split}: {:.1}% routed right (target at least 90%), {:.1}% routed wrong (target at \
         most 5%), {:.1}% to the manual queue",
        100.0 * evaluation.right_rate(),
        100.0 * evaluation.wrong_rate(),
        100.0 * evaluation.manual_rate()
    );
    println!(
        "best guess right (top-1): {:.1}%; right category among the 3 suggestions (top-3): \
         {:.1}%",
        100.0 * evaluation.top1_rate(),
        100.0 * evaluation.top3_rate()
    );
    let mut confusions: Vec<_> = evaluation.confusions.iter().collect();
    confusions.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    if !confusions.is_empty() {
        let listed: Vec<String> = confusions
            .iter()
            .take(10)
            .map(|((label, routed), count)| {
                format!(
                    "{} → {} ×{count}",
                    label_name(reference, label).1,
                    label_name(reference, routed).1
                )
            })
            .collect();
        println!("most frequent wrong routings: {}", listed.join(", "));
    }
}
