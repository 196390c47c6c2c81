//! Measuring a model: routed right, wrong or to the manual queue at a confidence threshold,
//! on held-out reports or by cross-validation, and the threshold cross-validation recommends.

use std::collections::BTreeMap;

use super::{Label, Prediction, Settings, TextModel};

/// How a model did on labelled reports, at a confidence threshold below which a report goes
/// to the manual queue.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evaluation {
    /// Reports measured.
    pub reports: usize,
    /// Routed to their own category (or recognised as belonging to none).
    pub right: usize,
    /// Routed to another category.
    pub wrong: usize,
    /// Left to an operator: the best guess was not confident enough.
    pub manual: usize,
    /// Whose best guess was right, whatever its confidence.
    pub first: usize,
    /// Whose label was among the three candidates.
    pub in_top3: usize,
    /// Per label: (reports, right, wrong, manual).
    pub per_label: BTreeMap<Label, (usize, usize, usize, usize)>,
    /// Per (label, label routed to instead): how many reports were routed wrong that way.
    pub confusions: BTreeMap<(Label, Label), usize>,
}

impl Evaluation {
    /// The share routed right.
    pub fn right_rate(&self) -> f64 {
        share(self.right, self.reports)
    }

    /// The share routed wrong.
    pub fn wrong_rate(&self) -> f64 {
        share(self.wrong, self.reports)
    }

    /// The share left to an operator.
    pub fn manual_rate(&self) -> f64 {
        share(self.manual, self.reports)
    }

    /// The share whose best guess was right (top-1 accuracy).
    pub fn top1_rate(&self) -> f64 {
        share(self.first, self.reports)
    }

    /// The share whose label was among the three candidates (top-3 accuracy).
    pub fn top3_rate(&self) -> f64 {
        share(self.in_top3, self.reports)
    }

    /// Counts one report of label `label` whose prediction was `prediction`.
    fn count(&mut self, label: Label, prediction: Option<&Prediction>, threshold: f64) {
        self.reports += 1;
        let row = self.per_label.entry(label).or_default();
        row.0 += 1;
        if let Some(prediction) = prediction {
            if prediction.best().label == label {
                self.first += 1;
            }
            if prediction
                .top
                .iter()
                .any(|candidate| candidate.label == label)
            {
                self.in_top3 += 1;
            }
        }
        match prediction {
            Some(prediction) if prediction.best().probability >= threshold => {
                if prediction.best().label == label {
                    self.right += 1;
                    row.1 += 1;
                } else {
                    self.wrong += 1;
                    row.2 += 1;
                    *self
                        .confusions
                        .entry((label, prediction.best().label))
                        .or_default() += 1;
                }
            }
            _ => {
                self.manual += 1;
                row.3 += 1;
            }
        }
    }
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Measures `model` on `(label, text)` pairs: a prediction whose best probability is at least
/// `threshold` is routed (right or wrong), the others go to the manual queue.
pub fn evaluate<'a>(
    model: &TextModel,
    examples: impl IntoIterator<Item = (Label, &'a str)>,
    threshold: f64,
) -> Evaluation {
    let mut evaluation = Evaluation::default();
    for (label, text) in examples {
        evaluation.count(label, model.predict(text).as_ref(), threshold);
    }
    evaluation
}

/// Each example's prediction by a model that did not learn from it, for measuring a way of
/// learning on the training split alone: `folds`-fold cross-validation (example `i` in fold
/// `i % folds`), each fold's model calibrated by its own inner cross-validation exactly as
/// [`TextModel::calibrated_with`] does in production.
/// `background` is learnt from in every fold and never measured on (e.g.
/// [`catalogue_examples`]).
pub fn cross_validate(
    settings: &Settings,
    examples: &[(Label, &str)],
    background: &[(Label, &str)],
    folds: usize,
) -> Vec<(Label, Option<Prediction>)> {
    let folds = folds.max(2);
    let mut predictions = Vec::with_capacity(examples.len());
    for fold in 0..folds {
        let learn: Vec<(Label, &str)> = examples
            .iter()
            .enumerate()
            .filter(|(index, _)| index % folds != fold)
            .map(|(_, example)| *example)
            .collect();
        let model = TextModel::calibrated_with(settings, &learn, background, folds);
        for (_, (label, text)) in examples
            .iter()
            .enumerate()
            .filter(|(index, _)| index % folds == fold)
        {
            predictions.push((*label, model.predict(text)));
        }
    }
    predictions
}

/// Measures predictions made beforehand (see [`cross_validate`]) at `threshold`, like
/// [`evaluate`].
pub fn evaluate_predictions(
    predictions: &[(Label, Option<Prediction>)],
    threshold: f64,
) -> Evaluation {
    let mut evaluation = Evaluation::default();
    for (label, prediction) in predictions {
        evaluation.count(*label, prediction.as_ref(), threshold);
    }
    evaluation
}

/// The threshold that routes the most predictions right while routing at most `max_wrong`
/// (a share) of them wrong, among the best probabilities seen; `None` if no threshold keeps
/// wrong routing that low.
pub fn recommend_threshold(
    predictions: &[(Label, Option<Prediction>)],
    max_wrong: f64,
) -> Option<f64> {
    let mut candidates: Vec<f64> = predictions
        .iter()
        .filter_map(|(_, prediction)| prediction.as_ref().map(|p| p.best().probability))
        .collect();
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    candidates
        .into_iter()
        .map(|threshold| (evaluate_predictions(predictions, threshold), threshold))
        .filter(|(evaluation, _)| evaluation.wrong_rate() <= max_wrong)
        .max_by(|a, b| a.0.right.cmp(&b.0.right).then_with(|| b.1.total_cmp(&a.1)))
        .map(|(_, threshold)| threshold)
}
