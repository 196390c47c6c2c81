//! The category classifier triage runs: the text model learnt from residents' reports (the
//! corpus beside the reference data, plus operators' corrections once `gridcase train` has
//! written a model), or the catalogue's keywords when there is no corpus. Explicit codes win
//! over both. One is current at a time; a newly trained model replaces it without a restart.

use std::path::Path;
use std::sync::{Arc, RwLock};

use gridcase_config::{Corpus, ReferenceData, Split, CORPUS_DIR};
use gridcase_domain::CategoryCode;
use gridcase_rules::textmodel::{Label, TextModel};
use gridcase_rules::Classification;

/// Most categories suggested to an operator for a case the classifier is unsure of.
pub const MAX_SUGGESTIONS: usize = 3;

/// The version of the keyword classifier, recorded when no text model is loaded.
pub const KEYWORDS_VERSION: &str = "keywords";

/// A category the classifier offers, with its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The category.
    pub category: CategoryCode,
    /// The model's probability for it, 0 to 1 (1 for a keyword match).
    pub confidence: f64,
}

/// What the classifier makes of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The reporter or an operator gave a code the catalogue knows.
    Explicit(CategoryCode),
    /// Confident enough to route.
    Confident {
        /// The category.
        category: CategoryCode,
        /// Its probability (1 for a keyword match).
        confidence: f64,
        /// The words that drove it.
        because: Vec<String>,
    },
    /// Not confident enough: an operator decides, with these suggestions.
    Unsure {
        /// Why, in words.
        reason: String,
        /// The best candidate categories, best first (at most [`MAX_SUGGESTIONS`]).
        suggestions: Vec<Suggestion>,
        /// The words that drove the best guess.
        because: Vec<String>,
    },
}

impl Verdict {
    /// The category decided on, if the verdict routes.
    pub fn category(&self) -> Option<CategoryCode> {
        match self {
            Verdict::Explicit(category) | Verdict::Confident { category, .. } => Some(*category),
            Verdict::Unsure { .. } => None,
        }
    }
}

/// A classifier: a text model with its version and the confidence it routes at, or the
/// catalogue's keywords.
#[derive(Debug, Clone)]
pub struct Classifier {
    model: Option<TextModel>,
    version: String,
    threshold: f64,
}

impl Classifier {
    /// The catalogue's keywords: a category wins when its keywords outscore every other's.
    pub fn keywords() -> Self {
        Self {
            model: None,
            version: KEYWORDS_VERSION.to_owned(),
            threshold: 1.0,
        }
    }

    /// `model`, called `version`, routing when its best category reaches `threshold`.
    pub fn with_model(model: TextModel, version: impl Into<String>, threshold: f64) -> Self {
        Self {
            model: Some(model),
            version: version.into(),
            threshold,
        }
    }

    /// A model learnt from the training split of the corpus in `config_dir`, called
    /// `corpus-<digest of the examples>`; `None` if there is no corpus there.
    pub fn from_corpus(
        config_dir: &Path,
        reference: &ReferenceData,
        threshold: f64,
    ) -> Result<Option<Self>, gridcase_config::ConfigError> {
        if !config_dir.join(CORPUS_DIR).is_dir() {
            return Ok(None);
        }
        let corpus = Corpus::load(config_dir, reference)?;
        let examples: Vec<(Label, &str)> = corpus
            .split(Split::Train)
            .map(|report| (report.category, report.text.as_str()))
            .collect();
        let model = TextModel::learn(reference, &examples);
        let version = format!("corpus-{:08x}", digest(&examples));
        Ok(Some(Self::with_model(model, version, threshold)))
    }

    /// Its version, recorded with every case it routes.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The confidence at or above which it routes.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Classifies a report: an `explicit` code the catalogue knows wins; otherwise the model
    /// (or the keywords) decide, or say they are unsure.
    pub fn classify(
        &self,
        reference: &ReferenceData,
        explicit: Option<&CategoryCode>,
        description: &str,
    ) -> Verdict {
        if let Some(code) = explicit.filter(|code| reference.category(code).is_some()) {
            return Verdict::Explicit(*code);
        }
        match &self.model {
            Some(model) => self.by_model(model, description),
            None => by_keywords(reference, description),
        }
    }

    fn by_model(&self, model: &TextModel, description: &str) -> Verdict {
        let Some(prediction) = model.predict(description) else {
            return Verdict::Unsure {
                reason: "the model has learnt nothing".to_owned(),
                suggestions: Vec::new(),
                because: Vec::new(),
            };
        };
        let best = prediction.best();
        let suggestions: Vec<Suggestion> = prediction
            .categories
            .iter()
            .filter_map(|candidate| {
                Some(Suggestion {
                    category: candidate.label?,
                    confidence: candidate.probability,
                })
            })
            .take(MAX_SUGGESTIONS)
            .collect();
        match best.label {
            Some(category) if best.probability >= self.threshold => Verdict::Confident {
                category,
                confidence: best.probability,
                because: prediction.because.clone(),
            },
            Some(_) => Verdict::Unsure {
                reason: format!(
                    "no confident category (best {:.0}%, routing needs {:.0}%)",
                    100.0 * best.probability,
                    100.0 * self.threshold
                ),
                suggestions,
                because: prediction.because.clone(),
            },
            None => Verdict::Unsure {
                reason: format!(
                    "reads as no category of the catalogue ({:.0}%)",
                    100.0 * best.probability
                ),
                suggestions,
                because: prediction.because.clone(),
            },
        }
    }
}

fn by_keywords(reference: &ReferenceData, description: &str) -> Verdict {
    match gridcase_rules::classify(reference, None, description) {
        Classification::Keywords { code, matched, .. } => Verdict::Confident {
            category: code,
            confidence: 1.0,
            because: matched,
        },
        Classification::Explicit(code) => Verdict::Explicit(code),
        Classification::Manual => Verdict::Unsure {
            reason: "no confident category".to_owned(),
            suggestions: gridcase_rules::suggest(reference, description, MAX_SUGGESTIONS)
                .into_iter()
                .map(|category| Suggestion {
                    category,
                    confidence: 0.0,
                })
                .collect(),
            because: Vec::new(),
        },
    }
}

/// A digest of labelled examples, so a model's version changes with what it learnt from.
pub fn digest(examples: &[(Label, &str)]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    for (label, text) in examples {
        let label = label.map_or_else(|| "none".to_owned(), |code| code.to_string());
        hasher.update(label.as_bytes());
        hasher.update(b"\t");
        hasher.update(text.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize()
}

/// The classifier in use, shared by the feed worker, the case cache and the API, and replaced
/// whole when a new model is loaded.
#[derive(Debug)]
pub struct ClassifierSlot {
    current: RwLock<Arc<Classifier>>,
}

impl ClassifierSlot {
    /// A slot holding `classifier`.
    pub fn new(classifier: Classifier) -> Self {
        Self {
            current: RwLock::new(Arc::new(classifier)),
        }
    }

    /// The classifier in use now.
    pub fn current(&self) -> Arc<Classifier> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Puts `classifier` in use; decisions already taken keep the version they recorded.
    pub fn replace(&self, classifier: Classifier) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(classifier);
    }
}
