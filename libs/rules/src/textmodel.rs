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

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use gridcase_config::{Corpus, ReferenceData, Split};
use gridcase_domain::CategoryCode;
use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};

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

static SEGMENTER: OnceLock<Jieba> = OnceLock::new();

/// jieba with its built-in dictionary, loaded on first use. Call [`load_segmenter`] at start
/// so the first report does not pay for it.
fn segmenter() -> &'static Jieba {
    SEGMENTER.get_or_init(Jieba::new)
}

/// Loads the word segmenter now (it is otherwise loaded by the first prediction or training).
pub fn load_segmenter() {
    segmenter();
}

/// The words of `text` as jieba segments it (with its HMM for words not in the dictionary),
/// lowercased, punctuation and spaces dropped.
pub fn words(text: &str) -> Vec<String> {
    let lowered = text.to_lowercase();
    segmenter()
        .cut(&lowered, true)
        .into_iter()
        .filter_map(|token| {
            let word: String = token.word.chars().filter(|c| c.is_alphanumeric()).collect();
            (!word.is_empty()).then_some(word)
        })
        .collect()
}

/// What the model reads in a report and how much each kind of feature weighs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Weight of a jieba word.
    pub word: f64,
    /// Weight of a single character.
    pub char1: f64,
    /// Weight of a pair of neighbouring characters.
    pub char2: f64,
    /// Weight of three neighbouring characters (0: not used).
    pub char3: f64,
    /// How much rarer features weigh more: a feature's value is multiplied by its inverse
    /// document frequency in the training reports to this power (0: not at all).
    pub idf: f64,
    /// L2 penalty on the weights, per report.
    pub l2: f64,
    /// Passes over the examples.
    pub epochs: usize,
    /// The first step size of gradient descent.
    pub learning_rate: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            word: 1.0,
            char1: 2.0,
            char2: 1.0,
            char3: 0.0,
            idf: 1.0,
            l2: 3e-5,
            epochs: 60,
            learning_rate: 10.0,
        }
    }
}

impl Settings {
    /// The kind of model these settings learn, in a few words.
    pub fn describe(&self) -> String {
        let sizes: Vec<String> = [(self.char1, 1), (self.char2, 2), (self.char3, 3)]
            .iter()
            .filter(|(weight, _)| *weight > 0.0)
            .map(|(_, size)| size.to_string())
            .collect();
        let words = if self.word > 0.0 {
            "jieba words and "
        } else {
            ""
        };
        format!(
            "logistic regression over {words}character {}-grams",
            sizes.join("/")
        )
    }
}

/// The kinds of feature, as the prefix of a feature's name.
const WORD: char = 'w';
const CHAR1: char = '1';
const CHAR2: char = '2';
const CHAR3: char = '3';

/// The features of `text` by name: its jieba words (`w` + word), and its characters and runs
/// of neighbouring characters (`1`, `2`, `3` + the characters; letters, digits and CJK only,
/// lowercased), each once.
pub fn features(text: &str) -> Vec<String> {
    weighted_features(text, &Settings::default())
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// The features of `text` with each kind's weight under `settings`, each once, by name.
fn weighted_features(text: &str, settings: &Settings) -> Vec<(String, f64)> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let mut features: Vec<(String, f64)> = Vec::with_capacity(chars.len() * 4);
    if settings.word > 0.0 {
        for word in words(text) {
            features.push((format!("{WORD}{word}"), settings.word));
        }
    }
    for (kind, size, weight) in [
        (CHAR1, 1, settings.char1),
        (CHAR2, 2, settings.char2),
        (CHAR3, 3, settings.char3),
    ] {
        if weight <= 0.0 {
            continue;
        }
        for window in chars.windows(size) {
            let mut name = String::with_capacity(1 + 3 * size);
            name.push(kind);
            name.extend(window);
            features.push((name, weight));
        }
    }
    features.sort_by(|a, b| a.0.cmp(&b.0));
    features.dedup_by(|a, b| a.0 == b.0);
    features
}

/// Scales `values` to length 1, so a long report does not outvote a short one.
fn normalise(values: &mut [f64]) {
    let norm = values.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > 0.0 {
        for value in values {
            *value /= norm;
        }
    }
}

/// The inverse document frequency of a feature seen in `frequency` of `documents` reports.
fn inverse_frequency(frequency: usize, documents: usize, power: f64) -> f64 {
    (((documents as f64 + 1.0) / (frequency as f64 + 1.0)).ln() + 1.0).powf(power)
}

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

/// One training example as the learner sees it: its label's position and its features' rows
/// and values.
struct Encoded {
    label: usize,
    features: Vec<(u32, f64)>,
}

impl TextModel {
    /// Learns from `(label, text)` pairs with the default [`Settings`].
    pub fn train<'a>(examples: impl IntoIterator<Item = (Label, &'a str)>) -> Self {
        Self::train_with(&Settings::default(), examples)
    }

    /// Learns from `(label, text)` pairs with `settings`.
    pub fn train_with<'a>(
        settings: &Settings,
        examples: impl IntoIterator<Item = (Label, &'a str)>,
    ) -> Self {
        let examples: Vec<(Label, Vec<(String, f64)>)> = examples
            .into_iter()
            .map(|(label, text)| (label, weighted_features(text, settings)))
            .collect();
        let mut labels: Vec<Label> = examples.iter().map(|(label, _)| *label).collect();
        labels.sort();
        labels.dedup();
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut frequency: Vec<usize> = Vec::new();
        let mut rows: Vec<(usize, Vec<(u32, f64)>)> = Vec::with_capacity(examples.len());
        for (label, features) in examples {
            let label = labels.binary_search(&label).unwrap_or(0);
            let features = features
                .into_iter()
                .map(|(name, value)| {
                    let next = index.len() as u32;
                    let row = *index.entry(name).or_insert(next);
                    if row == next {
                        frequency.push(0);
                    }
                    frequency[row as usize] += 1;
                    (row, value)
                })
                .collect();
            rows.push((label, features));
        }
        let documents = rows.len();
        let idf: Vec<f32> = frequency
            .iter()
            .map(|&f| inverse_frequency(f, documents, settings.idf) as f32)
            .collect();
        let encoded: Vec<Encoded> = rows
            .into_iter()
            .map(|(label, features)| {
                let mut values: Vec<f64> = features
                    .iter()
                    .map(|&(row, value)| value * f64::from(idf[row as usize]))
                    .collect();
                normalise(&mut values);
                let features = features
                    .iter()
                    .zip(values)
                    .map(|(&(row, _), value)| (row, value))
                    .collect();
                Encoded { label, features }
            })
            .collect();
        let (weights, bias) = fit(&encoded, labels.len(), index.len(), settings);
        TextModel {
            settings: settings.clone(),
            labels,
            index,
            weights,
            bias,
            idf,
            documents,
            temperature: 1.0,
        }
    }

    /// Learns from `examples` like [`TextModel::train`], with the temperature that makes its
    /// probabilities honest on the same examples: `folds`-fold cross-validation picks the
    /// temperature whose predicted probabilities give the held-in labels the highest
    /// likelihood. Only the examples given are read, so calibrating on the training split
    /// leaves the held-out split untouched.
    pub fn calibrated(examples: &[(Label, &str)], folds: usize) -> Self {
        Self::calibrated_with(&Settings::default(), examples, &[], folds)
    }

    /// [`TextModel::calibrated`] with `settings`, learning also from `background` (e.g.
    /// [`catalogue_examples`]): in every fold of the calibration too, where it is never
    /// measured on.
    pub fn calibrated_with(
        settings: &Settings,
        examples: &[(Label, &str)],
        background: &[(Label, &str)],
        folds: usize,
    ) -> Self {
        let scored = out_of_fold_scores(settings, examples, background, folds);
        let mut model = Self::train_with(settings, examples.iter().chain(background).copied());
        model.temperature = fit_temperature(&scored);
        model
    }

    /// The model triage runs: learnt from `corpus`'s training split and the catalogue's names
    /// and keywords ([`catalogue_examples`]) with the default [`Settings`], calibrated by
    /// [`DEFAULT_FOLDS`]-fold cross-validation. The held-out split is not read.
    pub fn from_corpus(reference: &ReferenceData, corpus: &Corpus) -> Self {
        let train: Vec<(Label, &str)> = corpus
            .split(Split::Train)
            .map(|report| (report.category, report.text.as_str()))
            .collect();
        Self::learn(reference, &train)
    }

    /// The one recipe of the model triage runs, for any labelled `examples` (the corpus's
    /// training split, and operators' classifications): learnt from them and the catalogue's
    /// names and keywords with the default [`Settings`], calibrated by [`DEFAULT_FOLDS`]-fold
    /// cross-validation on `examples`.
    pub fn learn(reference: &ReferenceData, examples: &[(Label, &str)]) -> Self {
        let catalogue = catalogue_examples(reference);
        let catalogue: Vec<(Label, &str)> = catalogue
            .iter()
            .map(|(label, text)| (*label, text.as_str()))
            .collect();
        Self::calibrated_with(&Settings::default(), examples, &catalogue, DEFAULT_FOLDS)
    }

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

/// Weak examples from the catalogue, to learn from beside the residents' reports: per
/// category, its name and each of its keywords as a report of their own. They give every
/// category the words officials use for it, which a resident's report may share.
pub fn catalogue_examples(reference: &ReferenceData) -> Vec<(Label, String)> {
    let mut examples = Vec::new();
    for category in reference.categories() {
        examples.push((Some(category.code), category.name.clone()));
        for keyword in &category.keywords {
            examples.push((Some(category.code), keyword.clone()));
        }
    }
    examples
}

/// `scores` divided by `temperature`, turned into probabilities.
fn softmax(scores: &[f64], temperature: f64) -> Vec<f64> {
    let best = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = scores
        .iter()
        .map(|score| ((score - best) / temperature).exp())
        .collect();
    let sum: f64 = weights.iter().sum();
    weights.iter().map(|weight| weight / sum).collect()
}

/// A deterministic stream of pseudo-random numbers (xorshift), for the order of examples.
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Shuffles `items` in place (Fisher–Yates).
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for last in (1..items.len()).rev() {
            let other = (self.next() % (last as u64 + 1)) as usize;
            items.swap(last, other);
        }
    }
}

/// Softmax regression by stochastic gradient descent with an L2 penalty: the weights are
/// kept as `scale × stored` so the penalty's shrinking of every weight costs one
/// multiplication per step. Returns the weights (row-major, a row per feature) and biases.
fn fit(
    examples: &[Encoded],
    labels: usize,
    features: usize,
    settings: &Settings,
) -> (Vec<f32>, Vec<f32>) {
    let mut stored = vec![0.0_f64; labels * features];
    let mut bias = vec![0.0_f64; labels];
    if labels == 0 {
        return (Vec::new(), Vec::new());
    }
    let mut scale = 1.0_f64;
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut shuffle = Shuffle(0x9E37_79B9_7F4A_7C15);
    let mut scores = vec![0.0_f64; labels];
    let mut step = 0.0_f64;
    for _ in 0..settings.epochs {
        shuffle.shuffle(&mut order);
        for &position in &order {
            let example = &examples[position];
            let rate = settings.learning_rate / (1.0 + settings.learning_rate * settings.l2 * step);
            step += 1.0;
            scores.copy_from_slice(&bias);
            for &(row, value) in &example.features {
                let start = row as usize * labels;
                for (score, weight) in scores.iter_mut().zip(&stored[start..start + labels]) {
                    *score += scale * value * weight;
                }
            }
            let probabilities = softmax(&scores, 1.0);
            scale *= 1.0 - rate * settings.l2;
            for &(row, value) in &example.features {
                let start = row as usize * labels;
                for (label, weight) in stored[start..start + labels].iter_mut().enumerate() {
                    let target = f64::from(u8::from(label == example.label));
                    *weight -= rate * (probabilities[label] - target) * value / scale;
                }
            }
            for (label, b) in bias.iter_mut().enumerate() {
                let target = f64::from(u8::from(label == example.label));
                *b -= rate * (probabilities[label] - target);
            }
            if scale < 1e-6 {
                for weight in &mut stored {
                    *weight *= scale;
                }
                scale = 1.0;
            }
        }
    }
    (
        stored.iter().map(|w| (w * scale) as f32).collect(),
        bias.iter().map(|&b| b as f32).collect(),
    )
}

/// Each example's raw scores (and its label's position among them, if the fold's model knew
/// the label) from a model that did not learn from it: `folds`-fold cross-validation, example
/// `i` in fold `i % folds`.
fn out_of_fold_scores(
    settings: &Settings,
    examples: &[(Label, &str)],
    background: &[(Label, &str)],
    folds: usize,
) -> Vec<(Option<usize>, Vec<f64>)> {
    let folds = folds.max(2);
    let mut scored = Vec::with_capacity(examples.len());
    for fold in 0..folds {
        let model = TextModel::train_with(
            settings,
            examples
                .iter()
                .enumerate()
                .filter(|(index, _)| index % folds != fold)
                .map(|(_, example)| *example)
                .chain(background.iter().copied()),
        );
        for (_, (label, text)) in examples
            .iter()
            .enumerate()
            .filter(|(index, _)| index % folds == fold)
        {
            let own = model.labels.iter().position(|known| known == label);
            scored.push((own, model.raw_scores(text)));
        }
    }
    scored
}

/// The temperature that gives the labels of `scored` the highest likelihood.
fn fit_temperature(scored: &[(Option<usize>, Vec<f64>)]) -> f64 {
    let loss = |temperature: f64| -> f64 {
        scored
            .iter()
            .map(|(own, scores)| {
                let probability = own.map_or(0.0, |own| softmax(scores, temperature)[own]);
                -probability.max(1e-9).ln()
            })
            .sum()
    };
    // A log-spaced grid from 0.1 to 10.
    (0..=80)
        .map(|step| 10f64.powf(-1.0 + f64::from(step) / 40.0))
        .map(|temperature| (loss(temperature), temperature))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(1.0, |(_, temperature)| temperature)
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
