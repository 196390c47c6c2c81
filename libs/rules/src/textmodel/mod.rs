//! A category model learnt from labelled reports: softmax (multinomial logistic) regression
//! over the words of a report, as jieba segments it, and its characters and character pairs.
//!
//! Residents' words for one thing vary ("井盖不见了", "下水道盖子被偷了") and a dozen
//! categories share most of their vocabulary (six kinds of 井盖), so the model needs both
//! whole words, which carry the meaning, and character n-grams, which still match a typo, a
//! homophone or a word the dictionary splits differently. Logistic regression weighs every
//! feature against every other one: a word common to many categories ("坏了", "小区") ends
//! up near zero and the few that tell categories apart carry the decision, which naive Bayes,
//! counting each feature on its own, does not learn. Training is deterministic (a fixed order
//! of examples per epoch), so the same reports always give the same model.
//!
//! Probabilities are calibrated by cross-validation on the examples given (a temperature), and
//! the words that weighed most for the winner are shown to the operator.
//!
//! The model is data only (no I/O besides jieba's built-in dictionary, loaded once): the
//! caller trains it from the corpus's training split and measures it on the held-out split
//! with [`evaluate`].

mod evaluate;
mod features;
mod learn;

use std::collections::HashMap;

use gridcase_domain::CategoryCode;
use serde::{Deserialize, Serialize};

pub use evaluate::{
    cross_validate, evaluate, evaluate_predictions, recommend_threshold, Evaluation,
};
pub use features::{features, load_segmenter, words, Settings};
pub use learn::catalogue_examples;

use features::{inverse_frequency, normalise, weighted_features, WORD};
use learn::softmax;

/// The label a model predicts: a category, or `None` for "belongs to no category".
pub type Label = Option<CategoryCode>;

/// The confidence from which a report is routed without an operator: the threshold that
/// 5-fold cross-validation on the training split recommends (the most reports routed right
/// while at most 5 % are routed wrong), measured on the training reports residents wrote
/// rather than on those added to strengthen weak categories, which are easier (see the
/// README).
pub const DEFAULT_THRESHOLD: f64 = 0.85;

/// Folds of the cross-validation that calibrates a model's probabilities.
pub const DEFAULT_FOLDS: usize = 5;

/// How many candidates a prediction holds (fewer only if the model knows fewer labels).
const CANDIDATES: usize = 3;

/// How many words a prediction gives as its reasons, at most.
const REASONS: usize = 5;

/// A learnt model: a weight per feature and label, and a bias per label.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TextModel {
    settings: Settings,
    /// The labels it tells apart, in order.
    labels: Vec<Label>,
    /// Each known feature's row in `weights`.
    index: HashMap<String, u32>,
    /// Row-major: a feature's weights for every label, in the order of `labels`.
    weights: Vec<f32>,
    /// Per label.
    bias: Vec<f32>,
    /// Per feature row: its inverse document frequency (to the power of the settings).
    idf: Vec<f32>,
    documents: usize,
    /// Scores are divided by it before the softmax (see [`TextModel::calibrated`]).
    temperature: f64,
}

/// One candidate of a prediction.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The label.
    pub label: Label,
    /// The model's probability for it, 0 to 1 (all labels' probabilities sum to 1, so the
    /// candidates' sum to at most 1).
    pub probability: f64,
}

/// What the model says of one report.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The three most likely labels, best first.
    pub top: Vec<Candidate>,
    /// The three most likely categories, best first: `top` without "no category", so an
    /// operator is always offered three.
    pub categories: Vec<Candidate>,
    /// The words that weighed most for the best label against the runner-up.
    pub because: Vec<String>,
}

impl Prediction {
    /// The best candidate.
    pub fn best(&self) -> &Candidate {
        &self.top[0]
    }
}

impl TextModel {
    /// The temperature its scores are divided by before the softmax.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// How many labelled reports it learnt from.
    pub fn documents(&self) -> usize {
        self.documents
    }

    /// What the model is, in one line, for logs.
    pub fn describe(&self) -> String {
        format!(
            "{}, {} labels, {} features, {} reports, temperature {:.2}",
            self.settings.describe(),
            self.labels.len(),
            self.index.len(),
            self.documents,
            self.temperature
        )
    }

    /// The values of `text`'s features as the model weighs them: the rows of those it knows
    /// with their values, normalised together with those it does not know (as the rarest).
    fn vector(&self, features: &[(String, f64)]) -> Vec<(u32, f64)> {
        let unseen = inverse_frequency(0, self.documents, self.settings.idf);
        let mut rows = Vec::with_capacity(features.len());
        let mut values = Vec::with_capacity(features.len());
        for (name, value) in features {
            match self.index.get(name) {
                Some(&row) => {
                    let idf = self
                        .idf
                        .get(row as usize)
                        .copied()
                        .map_or(unseen, f64::from);
                    rows.push(Some(row));
                    values.push(value * idf);
                }
                None => {
                    rows.push(None);
                    values.push(value * unseen);
                }
            }
        }
        normalise(&mut values);
        rows.into_iter()
            .zip(values)
            .filter_map(|(row, value)| Some((row?, value)))
            .collect()
    }

    /// Every label's score for the feature rows `vector`, in the order of `self.labels`.
    fn scores(&self, vector: &[(u32, f64)]) -> Vec<f64> {
        let width = self.labels.len();
        let mut scores: Vec<f64> = self.bias.iter().map(|&b| f64::from(b)).collect();
        for &(row, value) in vector {
            let start = row as usize * width;
            let Some(weights) = self.weights.get(start..start + width) else {
                continue;
            };
            for (score, weight) in scores.iter_mut().zip(weights) {
                *score += value * f64::from(*weight);
            }
        }
        scores
    }

    /// The raw scores of `text` per label (before the temperature).
    fn raw_scores(&self, text: &str) -> Vec<f64> {
        self.scores(&self.vector(&weighted_features(text, &self.settings)))
    }

    /// The most likely labels of `text`, with probabilities and the words behind the best.
    /// `None` if the model learnt nothing.
    pub fn predict(&self, text: &str) -> Option<Prediction> {
        // A model loaded from bytes that do not fit together predicts nothing either.
        if self.labels.is_empty()
            || self.bias.len() != self.labels.len()
            || self.weights.len() != self.index.len() * self.labels.len()
        {
            return None;
        }
        let features = weighted_features(text, &self.settings);
        let vector = self.vector(&features);
        let scores = self.scores(&vector);
        let probabilities = softmax(&scores, self.temperature);
        let mut order: Vec<usize> = (0..self.labels.len()).collect();
        order.sort_by(|&a, &b| {
            probabilities[b]
                .total_cmp(&probabilities[a])
                .then_with(|| self.labels[a].cmp(&self.labels[b]))
        });
        let top: Vec<Candidate> = order
            .iter()
            .take(CANDIDATES)
            .map(|&position| Candidate {
                label: self.labels[position],
                probability: probabilities[position],
            })
            .collect();
        let categories: Vec<Candidate> = order
            .iter()
            .filter(|&&position| self.labels[position].is_some())
            .take(CANDIDATES)
            .map(|&position| Candidate {
                label: self.labels[position],
                probability: probabilities[position],
            })
            .collect();
        let because = self.reasons(&features, &vector, order[0], order.get(1).copied());
        Some(Prediction {
            top,
            categories,
            because,
        })
    }

    /// Up to five words of the report that favour label `best` most over `runner_up`: jieba
    /// words first, then (if no word did) character runs.
    fn reasons(
        &self,
        features: &[(String, f64)],
        vector: &[(u32, f64)],
        best: usize,
        runner_up: Option<usize>,
    ) -> Vec<String> {
        let width = self.labels.len();
        let values: HashMap<u32, f64> = vector.iter().copied().collect();
        let mut weighed: Vec<(f64, &str)> = features
            .iter()
            .filter_map(|(name, _)| {
                let row = *self.index.get(name)?;
                let value = values.get(&row)?;
                let start = row as usize * width;
                let weight = |label: usize| {
                    f64::from(self.weights.get(start + label).copied().unwrap_or(0.0))
                };
                let against = runner_up.map_or(0.0, weight);
                let contribution = value * (weight(best) - against);
                (contribution > 0.0).then_some((contribution, name.as_str()))
            })
            .collect();
        weighed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let is_word = |name: &str| name.starts_with(WORD) && name.chars().count() > 2;
        let mut reasons: Vec<String> = Vec::new();
        let mut chosen: Vec<&str> = weighed
            .iter()
            .map(|(_, name)| *name)
            .filter(|name| is_word(name))
            .collect();
        if chosen.is_empty() {
            chosen = weighed
                .iter()
                .map(|(_, name)| *name)
                .filter(|name| !name.starts_with(WORD) && name.chars().count() > 2)
                .collect();
        }
        for name in chosen {
            let text: String = name.chars().skip(1).collect();
            if !reasons.iter().any(|reason| reason.contains(&text)) {
                reasons.push(text);
            }
            if reasons.len() == REASONS {
                break;
            }
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Label {
        Some(CategoryCode::parse(text).unwrap())
    }

    fn examples() -> Vec<(Label, &'static str)> {
        let lamp = code("BJ-01-07");
        let lift = code("SJ-06-04");
        vec![
            (lamp, "路灯不亮了晚上黑漆漆的"),
            (lamp, "小区门口那盏路灯坏了好几天"),
            (lamp, "路边的灯一闪一闪的"),
            (lamp, "楼下路灯白天也亮着"),
            (lift, "电梯卡在两层中间了"),
            (lift, "电梯门关不上一直响"),
            (lift, "我们楼电梯又坏了老人下不了楼"),
            (lift, "电梯按钮按了没反应"),
            (None, "请问社保怎么交"),
            (None, "我想咨询一下医保报销"),
        ]
    }

    fn model() -> TextModel {
        TextModel::train(examples())
    }

    #[test]
    fn segmentation_gives_words_and_features_add_character_runs() {
        let segmented = words("小区门口的路灯坏了，晚上很黑！");
        assert!(segmented.iter().any(|word| word == "路灯"), "{segmented:?}");
        assert!(
            segmented.iter().all(|word| !word.contains('，')),
            "{segmented:?}"
        );
        let named = features("路灯 坏");
        for expected in ["w路灯", "1路", "1灯", "1坏", "2路灯", "2灯坏"] {
            assert!(named.iter().any(|f| f == expected), "{named:?}");
        }
        assert!(features("").is_empty());
        assert!(features("A，b").iter().any(|f| f == "2ab"));
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
        assert_eq!(prediction.top.len(), 3, "always three candidates");
        // The categories offered leave "no category" out: here, the two the model knows.
        let question = model.predict("请问社保怎么交").unwrap();
        assert_eq!(question.best().label, None, "{question:?}");
        let offered: Vec<Label> = question.categories.iter().map(|c| c.label).collect();
        assert_eq!(offered.len(), 2, "{question:?}");
        assert!(offered.contains(&code("BJ-01-07")) && offered.contains(&code("SJ-06-04")));
        let lamp = model.predict("门口的路灯不亮").unwrap();
        assert_eq!(lamp.best().label, code("BJ-01-07"));
        assert_eq!(lamp.top.len(), 3);
        let sum: f64 = lamp.top.iter().map(|c| c.probability).sum();
        assert!(sum <= 1.0 + 1e-9, "{lamp:?}");
        // The reasons are words of the report, not bare characters.
        assert!(!lamp.because.is_empty(), "{lamp:?}");
        assert!(
            lamp.because
                .iter()
                .all(|word| word.chars().count() >= 2 && "门口的路灯不亮".contains(word.as_str())),
            "{lamp:?}"
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
        assert!(probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
        assert!(TextModel::default().predict("电梯坏了").is_none());
    }

    #[test]
    fn training_is_deterministic() {
        let one = model();
        let two = model();
        assert_eq!(one.weights, two.weights);
        assert_eq!(one.bias, two.bias);
        for text in ["电梯坏了", "路灯不亮", "随便说点什么"] {
            assert_eq!(one.predict(text), two.predict(text));
        }
    }

    #[test]
    fn calibration_picks_a_temperature_from_the_examples_alone() {
        let examples = examples();
        let model = TextModel::calibrated(&examples, 4);
        let again = TextModel::calibrated(&examples, 4);
        assert_eq!(model.temperature(), again.temperature());
        assert!(model.temperature() > 0.0);
        assert_eq!(model.documents(), examples.len());
        let prediction = model.predict("电梯停了").unwrap();
        assert_eq!(prediction.best().label, code("SJ-06-04"));
        assert!(
            model.describe().contains("10 reports"),
            "{}",
            model.describe()
        );
    }

    #[test]
    fn a_saved_model_loads_and_predicts_the_same() {
        let model = TextModel::calibrated(&examples(), 3);
        let bytes = postcard::to_stdvec(&model).unwrap();
        let loaded: TextModel = postcard::from_bytes(&bytes).unwrap();
        for text in ["电梯坏了", "路灯不亮", "医保怎么报销", ""] {
            assert_eq!(model.predict(text), loaded.predict(text));
        }
        assert_eq!(model.describe(), loaded.describe());
        let mut broken = loaded;
        broken.bias.pop();
        assert!(broken.predict("电梯坏了").is_none());
    }

    #[test]
    fn evaluation_counts_right_wrong_and_manual() {
        let model = model();
        let lamp = code("BJ-01-07");
        let lift = code("SJ-06-04");
        let examples = [(lift, "电梯卡住了"), (lamp, "电梯里的灯"), (lamp, "灯")];
        let strict = evaluate(&model, examples, 1.1);
        assert_eq!((strict.right, strict.wrong, strict.manual), (0, 0, 3));
        assert_eq!(strict.first + strict.reports - strict.first, 3);
        let lenient = evaluate(&model, examples, 0.0);
        assert_eq!(lenient.reports, 3);
        assert_eq!(lenient.right + lenient.wrong, 3);
        assert_eq!(lenient.per_label[&lift].1, 1);
        assert_eq!(lenient.first, lenient.right);
        assert!(lenient.in_top3 >= lenient.first);
    }

    #[test]
    fn cross_validation_predicts_every_example_and_recommends_a_threshold() {
        let examples = examples();
        let predictions = cross_validate(&Settings::default(), &examples, &[], 3);
        assert_eq!(predictions.len(), examples.len());
        let threshold = recommend_threshold(&predictions, 1.0).unwrap();
        let evaluation = evaluate_predictions(&predictions, threshold);
        assert_eq!(evaluation.reports, examples.len());
        assert!(recommend_threshold(&[], 0.05).is_none());
    }
}
