//! A category model learnt from labelled reports: multinomial naive Bayes over the characters
//! and character pairs of a report. Chinese has no spaces, and residents' words for one thing
//! vary ("井盖不见了", "下水道盖子被偷了"), so overlapping character pairs catch the short words
//! without a dictionary while single characters keep a typo or a rare word from counting for
//! nothing. Naive Bayes learns from a few dozen reports per category, trains in milliseconds
//! and explains itself: the features that weighed most for the winner are the words shown to
//! the operator.
//!
//! The model is data only (no I/O): the caller trains it from the corpus's training split and
//! measures it on the held-out split with [`evaluate`].

use std::collections::{BTreeMap, HashMap};

use gridcase_domain::CategoryCode;

/// The label a model predicts: a category, or `None` for "belongs to no category".
pub type Label = Option<CategoryCode>;

/// Additive smoothing of feature counts, so an unseen feature lowers a category's score
/// without ruling it out.
const SMOOTHING: f64 = 0.5;

/// The features of `text`: its characters (letters, digits and CJK, lowercased) and every
/// pair of neighbouring ones, each prefixed so a pair never meets a single character.
pub fn features(text: &str) -> Vec<String> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let mut features = Vec::with_capacity(chars.len() * 2);
    for (index, c) in chars.iter().enumerate() {
        features.push(format!("1{c}"));
        if let Some(next) = chars.get(index + 1) {
            features.push(format!("2{c}{next}"));
        }
    }
    features
}

/// One label's learnt counts.
#[derive(Clone, Debug, Default)]
struct LabelCounts {
    documents: usize,
    total: usize,
    features: HashMap<String, usize>,
}

/// A learnt model: per label, how often each feature occurred.
#[derive(Clone, Debug, Default)]
pub struct TextModel {
    labels: BTreeMap<Label, LabelCounts>,
    vocabulary: usize,
    documents: usize,
    /// How sharply log scores turn into probabilities (see [`TextModel::calibrated`]).
    temperature: f64,
}

/// One candidate of a prediction.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The label.
    pub label: Label,
    /// The model's probability for it, 0 to 1 (the candidates of one prediction sum to 1).
    pub probability: f64,
}

/// What the model says of one report.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The three most likely labels, best first.
    pub top: Vec<Candidate>,
    /// The features that weighed most for the best label against the runner-up, as text.
    pub because: Vec<String>,
}

impl Prediction {
    /// The best candidate.
    pub fn best(&self) -> &Candidate {
        &self.top[0]
    }
}

impl TextModel {
    /// Learns from `(label, text)` pairs.
    pub fn train<'a>(examples: impl IntoIterator<Item = (Label, &'a str)>) -> Self {
        let mut model = TextModel {
            temperature: 1.0,
            ..TextModel::default()
        };
        let mut vocabulary: HashMap<String, ()> = HashMap::new();
        for (label, text) in examples {
            let counts = model.labels.entry(label).or_default();
            counts.documents += 1;
            model.documents += 1;
            for feature in features(text) {
                counts.total += 1;
                *counts.features.entry(feature.clone()).or_default() += 1;
                vocabulary.insert(feature, ());
            }
        }
        model.vocabulary = vocabulary.len();
        model
    }

    /// Learns from `examples` like [`TextModel::train`], with the temperature that makes its
    /// probabilities honest on the same examples: `folds`-fold cross-validation picks the
    /// temperature whose predicted probabilities give the held-in labels the highest
    /// likelihood. Only the examples given are read, so calibrating on the training split
    /// leaves the held-out split untouched.
    pub fn calibrated(examples: &[(Label, &str)], folds: usize) -> Self {
        let folds = folds.max(2);
        const TEMPERATURES: [f64; 12] = [
            0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0,
        ];
        let mut losses = [0.0_f64; TEMPERATURES.len()];
        for fold in 0..folds {
            let model = Self::train(
                examples
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| index % folds != fold)
                    .map(|(_, example)| *example),
            );
            for (_, (label, text)) in examples
                .iter()
                .enumerate()
                .filter(|(index, _)| index % folds == fold)
            {
                // The scores do not depend on the temperature: compute them once.
                let features = features(text);
                let scores = model.scores(&features);
                let best = scores.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
                let own = scores.iter().find(|s| s.0 == *label).map(|s| s.1);
                let length = 1.0 / (features.len().max(1) as f64).sqrt();
                for (loss, temperature) in losses.iter_mut().zip(TEMPERATURES) {
                    let scale = temperature * length;
                    let sum: f64 = scores.iter().map(|s| ((s.1 - best) * scale).exp()).sum();
                    let probability = own.map_or(0.0, |own| ((own - best) * scale).exp() / sum);
                    *loss -= probability.max(1e-9).ln();
                }
            }
        }
        let best = losses
            .iter()
            .zip(TEMPERATURES)
            .min_by(|a, b| a.0.total_cmp(b.0))
            .map_or(1.0, |(_, temperature)| temperature);
        let mut model = Self::train(examples.iter().copied());
        model.temperature = best;
        model
    }

    /// The temperature its probabilities use.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// Every label's log score for `features`: its prior plus the likelihood of each feature.
    fn scores(&self, features: &[String]) -> Vec<(Label, f64)> {
        self.labels
            .iter()
            .map(|(label, counts)| {
                let prior = (counts.documents as f64 / self.documents as f64).ln();
                let likelihood: f64 = features
                    .iter()
                    .map(|feature| self.log_likelihood(counts, feature))
                    .sum();
                (*label, prior + likelihood)
            })
            .collect()
    }

    /// How log scores of `features` are scaled before the softmax: by the temperature, and
    /// down for long texts, on which naive Bayes is overconfident.
    fn scale(&self, features: &[String]) -> f64 {
        self.temperature / (features.len().max(1) as f64).sqrt()
    }

    /// How many labelled reports it learnt from.
    pub fn documents(&self) -> usize {
        self.documents
    }

    fn log_likelihood(&self, counts: &LabelCounts, feature: &str) -> f64 {
        let count = counts.features.get(feature).copied().unwrap_or(0) as f64;
        let denominator = counts.total as f64 + SMOOTHING * (self.vocabulary as f64 + 1.0);
        ((count + SMOOTHING) / denominator).ln()
    }

    /// The most likely labels of `text`, with probabilities and the features behind the best.
    /// `None` if the model learnt nothing.
    pub fn predict(&self, text: &str) -> Option<Prediction> {
        if self.labels.is_empty() {
            return None;
        }
        let features = features(text);
        let mut scored = self.scores(&features);
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let scale = self.scale(&features);
        let best_score = scored[0].1;
        let weights: Vec<f64> = scored
            .iter()
            .map(|(_, score)| ((score - best_score) * scale).exp())
            .collect();
        let sum: f64 = weights.iter().sum();
        let top: Vec<Candidate> = scored
            .iter()
            .zip(&weights)
            .take(3)
            .map(|((label, _), weight)| Candidate {
                label: *label,
                probability: weight / sum,
            })
            .collect();
        let because = self.reasons(&features, scored[0].0, scored.get(1).map(|s| s.0));
        Some(Prediction { top, because })
    }

    /// Up to five features (as the text they stand for) that favour `best` most over
    /// `runner_up`, two-character ones first.
    fn reasons(&self, features: &[String], best: Label, runner_up: Option<Label>) -> Vec<String> {
        let best_counts = &self.labels[&best];
        let mut weighed: Vec<(f64, &String)> = features
            .iter()
            .filter(|feature| best_counts.features.contains_key(feature.as_str()))
            .map(|feature| {
                let against = runner_up
                    .and_then(|label| self.labels.get(&label))
                    .map_or(0.0, |counts| self.log_likelihood(counts, feature));
                (self.log_likelihood(best_counts, feature) - against, feature)
            })
            .filter(|(weight, _)| *weight > 0.0)
            .collect();
        weighed.sort_by(|a, b| {
            let pairs_first = b.1.starts_with('2').cmp(&a.1.starts_with('2'));
            pairs_first.then_with(|| b.0.total_cmp(&a.0))
        });
        let mut reasons: Vec<String> = Vec::new();
        for (_, feature) in weighed {
            let text = feature[1..].to_owned();
            if !reasons.contains(&text) {
                reasons.push(text);
            }
            if reasons.len() == 5 {
                break;
            }
        }
        reasons
    }
}

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
    /// Per label: (reports, right, wrong, manual).
    pub per_label: BTreeMap<Label, (usize, usize, usize, usize)>,
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
        evaluation.reports += 1;
        let row = evaluation.per_label.entry(label).or_default();
        row.0 += 1;
        match model.predict(text) {
            Some(prediction) if prediction.best().probability >= threshold => {
                if prediction.best().label == label {
                    evaluation.right += 1;
                    row.1 += 1;
                } else {
                    evaluation.wrong += 1;
                    row.2 += 1;
                }
            }
            _ => {
                evaluation.manual += 1;
                row.3 += 1;
            }
        }
    }
    evaluation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Label {
        Some(CategoryCode::parse(text).unwrap())
    }

    fn model() -> TextModel {
        let lamp = code("BJ-01-07");
        let lift = code("SJ-06-04");
        TextModel::train([
            (lamp, "路灯不亮了晚上黑漆漆的"),
            (lamp, "小区门口那盏灯坏了好几天"),
            (lamp, "路边的灯一闪一闪的"),
            (lift, "电梯卡在两层中间了"),
            (lift, "电梯门关不上一直响"),
            (lift, "我们楼电梯又坏了老人下不了楼"),
            (None, "请问社保怎么交"),
        ])
    }

    #[test]
    fn features_are_characters_and_neighbouring_pairs() {
        assert_eq!(features("路灯 坏"), ["1路", "2路灯", "1灯", "2灯坏", "1坏"]);
        assert_eq!(features("A，b"), ["1a", "2ab", "1b"]);
        assert!(features("").is_empty());
    }

    #[test]
    fn it_predicts_the_category_whose_words_a_report_shares() {
        let model = model();
        let prediction = model.predict("楼里电梯停在半路上不动了").unwrap();
        assert_eq!(prediction.best().label, code("SJ-06-04"));
        assert!(
            prediction.because.iter().any(|word| word == "电梯"),
            "{prediction:?}"
        );
        assert_eq!(prediction.top.len(), 3);
        let sum: f64 = model
            .predict("灯不亮")
            .unwrap()
            .top
            .iter()
            .map(|c| c.probability)
            .sum();
        assert!(sum <= 1.0 + 1e-9);
        assert_eq!(
            model.predict("门口的灯不亮").unwrap().best().label,
            code("BJ-01-07")
        );
    }

    #[test]
    fn probabilities_are_ordered_and_an_empty_model_predicts_nothing() {
        let prediction = model().predict("电梯坏了").unwrap();
        let probabilities: Vec<f64> = prediction.top.iter().map(|c| c.probability).collect();
        assert!(
            probabilities.windows(2).all(|w| w[0] >= w[1]),
            "{probabilities:?}"
        );
        assert!(probabilities[0] > 0.5, "{probabilities:?}");
        assert!(TextModel::default().predict("电梯坏了").is_none());
    }

    #[test]
    fn calibration_picks_a_temperature_from_the_examples_alone() {
        let lamp = code("BJ-01-07");
        let lift = code("SJ-06-04");
        let examples: Vec<(Label, &str)> = vec![
            (lamp, "路灯不亮了晚上黑漆漆的"),
            (lamp, "小区门口那盏灯坏了好几天"),
            (lamp, "路边的灯一闪一闪的"),
            (lamp, "楼下路灯白天也亮着"),
            (lift, "电梯卡在两层中间了"),
            (lift, "电梯门关不上一直响"),
            (lift, "我们楼电梯又坏了老人下不了楼"),
            (lift, "电梯按钮按了没反应"),
        ];
        let model = TextModel::calibrated(&examples, 4);
        let again = TextModel::calibrated(&examples, 4);
        assert_eq!(model.temperature(), again.temperature());
        assert!(model.temperature() > 0.0);
        assert_eq!(model.documents(), examples.len());
        let prediction = model.predict("电梯停了").unwrap();
        assert_eq!(prediction.best().label, lift);
        let sum: f64 = prediction.top.iter().map(|c| c.probability).sum();
        assert!(
            (sum - 1.0).abs() < 1e-9,
            "two labels: the top holds them all"
        );
    }

    #[test]
    fn evaluation_counts_right_wrong_and_manual() {
        let model = model();
        let lamp = code("BJ-01-07");
        let lift = code("SJ-06-04");
        let examples = [(lift, "电梯卡住了"), (lamp, "电梯里的灯"), (lamp, "灯")];
        let strict = evaluate(&model, examples, 1.1);
        assert_eq!((strict.right, strict.wrong, strict.manual), (0, 0, 3));
        let lenient = evaluate(&model, examples, 0.0);
        assert_eq!(lenient.reports, 3);
        assert_eq!(lenient.right + lenient.wrong, 3);
        assert_eq!(lenient.per_label[&lift].1, 1);
    }
}
