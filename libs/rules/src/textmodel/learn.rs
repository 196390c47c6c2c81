//! Learning a model: softmax regression by SGD in a fixed order, the temperature that
//! calibrates its probabilities by cross-validation, and the catalogue's words as background.

use std::collections::HashMap;

use gridcase_config::{Corpus, ReferenceData, Split};

use super::features::{inverse_frequency, normalise, weighted_features, Settings};
use super::{Label, TextModel, DEFAULT_FOLDS};

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
pub(super) fn softmax(scores: &[f64], temperature: f64) -> Vec<f64> {
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
