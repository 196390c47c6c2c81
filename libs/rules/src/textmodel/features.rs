//! What the model reads in a report: jieba's words and the characters, each feature weighted
//! by its kind and, once learnt, by how rare it is.

use std::sync::OnceLock;

use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};

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
pub(super) const WORD: char = 'w';
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
pub(super) fn weighted_features(text: &str, settings: &Settings) -> Vec<(String, f64)> {
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
pub(super) fn normalise(values: &mut [f64]) {
    let norm = values.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > 0.0 {
        for value in values {
            *value /= norm;
        }
    }
}

/// The inverse document frequency of a feature seen in `frequency` of `documents` reports.
pub(super) fn inverse_frequency(frequency: usize, documents: usize, power: f64) -> f64 {
    (((documents as f64 + 1.0) / (frequency as f64 + 1.0)).ln() + 1.0).powf(power)
}
