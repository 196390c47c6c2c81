//! The trained model on disk, and keeping triage on the newest one.
//!
//! `gridcase train` writes a [`ModelFile`] — the learnt model with its version, what it learnt
//! from, and its scores on the corpus's held-out split — to the data directory, then announces
//! it on `gridcase.v1.triage.model`. Triage loads the file at start (else learns a model from
//! the corpus, else falls back to the catalogue's keywords) and again on every announcement,
//! replying with the version it now uses.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use futures::StreamExt as _;
use gridcase_bus::subjects::TRIAGE_MODEL_RELOAD;
use gridcase_config::ReferenceData;
use gridcase_rules::textmodel::TextModel;
use gridcase_runtime::ServiceError;
use serde::{Deserialize, Serialize};

use crate::classifier::{Classifier, ClassifierSlot};
use crate::TriageConfig;

/// The file name of the trained model in the data directory.
pub const MODEL_FILE: &str = "triage-model.bin";

/// The first bytes of a model file: what it is and its format version.
pub const MAGIC: &[u8; 8] = b"GCMODEL1";

/// How far (as a share of the held-out reports: 0.5 %, 2 or 3 of 522) a new model's scores may
/// fall short of the current one's before `gridcase train` calls it worse.
pub const SCORE_TOLERANCE: f64 = 0.005;

/// How a model did on the corpus's held-out split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeldOutScores {
    /// Held-out reports measured.
    pub reports: u32,
    /// Routed to their own category.
    pub right: u32,
    /// Routed to another category.
    pub wrong: u32,
    /// Left to an operator.
    pub manual: u32,
    /// The confidence they were measured at.
    pub threshold: f64,
}

impl HeldOutScores {
    /// The share routed right.
    pub fn right_rate(&self) -> f64 {
        f64::from(self.right) / f64::from(self.reports.max(1))
    }

    /// The share routed wrong.
    pub fn wrong_rate(&self) -> f64 {
        f64::from(self.wrong) / f64::from(self.reports.max(1))
    }

    /// True if these scores are worse than `current`'s: fewer routed right, or more routed
    /// wrong, by more than [`SCORE_TOLERANCE`] — training by SGD moves a handful of borderline
    /// reports either way when a few examples are added, which is not a worse model.
    pub fn worse_than(&self, current: &HeldOutScores) -> bool {
        self.right_rate() < current.right_rate() - SCORE_TOLERANCE
            || self.wrong_rate() > current.wrong_rate() + SCORE_TOLERANCE
    }
}

/// A trained model as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelFile {
    /// The model's version, e.g. `v3-1a2b3c4d`: a sequence number and a digest of what it
    /// learnt from.
    pub version: String,
    /// When it was trained, ms since the Unix epoch.
    pub trained_at_ms: i64,
    /// The log position up to which operators' classifications were read (exclusive).
    pub up_to_position: u64,
    /// Reports of the corpus's training split it learnt from.
    pub corpus_examples: u32,
    /// Cases classified by operators it learnt from.
    pub operator_examples: u32,
    /// Its scores on the corpus's held-out split.
    pub held_out: HeldOutScores,
    /// The model.
    pub model: TextModel,
}

/// Why a model file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The bytes are not a model file of this format, or are damaged.
    #[error("{path}: not a readable model file: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl ModelFile {
    /// The file's bytes: the magic, the postcard body, and a CRC-32 of the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A model holds only maps, strings and numbers: postcard serialises every one.
        let body = postcard::to_allocvec(self).expect("postcard serialises a model");
        let mut bytes = Vec::with_capacity(MAGIC.len() + body.len() + 4);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
        bytes
    }

    /// Reads the bytes [`ModelFile::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let body = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or("it does not start with the model file's magic")?;
        let (body, crc) = body
            .split_last_chunk::<4>()
            .ok_or("it is shorter than its checksum")?;
        if crc32fast::hash(body).to_be_bytes() != *crc {
            return Err("its checksum does not match: the file is damaged".to_owned());
        }
        postcard::from_bytes(body).map_err(|e| e.to_string())
    }

    /// Reads the model file at `path`; `None` if there is none.
    pub fn load(path: &Path) -> Result<Option<Self>, ModelFileError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ModelFileError::Io {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        Self::from_bytes(&bytes)
            .map(Some)
            .map_err(|reason| ModelFileError::Format {
                path: path.display().to_string(),
                reason,
            })
    }

    /// Writes it to `path` whole or not at all: to a temporary file beside it, synced, then
    /// renamed over the old one.
    pub fn save(&self, path: &Path) -> Result<(), ModelFileError> {
        let io = |source| ModelFileError::Io {
            path: path.display().to_string(),
            source,
        };
        let temporary = path.with_extension("tmp");
        let mut file = std::fs::File::create(&temporary).map_err(io)?;
        file.write_all(&self.to_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)?;
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|dir| dir.sync_all())
                .map_err(io)?;
        }
        Ok(())
    }

    /// The classifier it makes, routing at `confidence`.
    pub fn into_classifier(self, confidence: f64) -> Classifier {
        Classifier::with_model(self.model, self.version, confidence)
    }
}

/// The classifier triage starts with: the trained model file if there is one, else a model
/// learnt from the corpus beside the reference data, else the catalogue's keywords.
pub fn initial(
    config: &TriageConfig,
    reference: &ReferenceData,
) -> Result<Classifier, ServiceError> {
    if let Some(path) = &config.model_file {
        let file = ModelFile::load(path).map_err(|e| ServiceError::stopped("model", e))?;
        if let Some(file) = file {
            tracing::info!(
                version = %file.version,
                path = %path.display(),
                operator_examples = file.operator_examples,
                "trained category model loaded"
            );
            return Ok(file.into_classifier(config.confidence));
        }
    }
    let started = std::time::Instant::now();
    match Classifier::from_corpus(&config.stage.config_dir, reference, config.confidence)? {
        Some(classifier) => {
            tracing::info!(
                version = classifier.version(),
                elapsed_ms = started.elapsed().as_millis(),
                "category model learnt from the corpus"
            );
            Ok(classifier)
        }
        None => {
            tracing::warn!(
                config = %config.stage.config_dir.display(),
                "no corpus beside the reference data: classifying by the catalogue's keywords"
            );
            Ok(Classifier::keywords())
        }
    }
}

/// Loads the model file again whenever `gridcase.v1.triage.model` announces a new one, until
/// `shutdown`, replying to each announcement with the version in use (or why loading failed).
pub async fn follow_reloads(
    nats: async_nats::Client,
    config: TriageConfig,
    reference: Arc<ReferenceData>,
    slot: Arc<ClassifierSlot>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut announcements = match nats.subscribe(TRIAGE_MODEL_RELOAD).await {
        Ok(subscriber) => subscriber,
        Err(error) => {
            tracing::error!(%error, "cannot hear of new models; restart triage to load one");
            return;
        }
    };
    loop {
        let message = tokio::select! {
            () = &mut shutdown => return,
            message = announcements.next() => message,
        };
        let Some(message) = message else { return };
        let answer = match initial(&config, &reference) {
            Ok(classifier) => {
                let version = classifier.version().to_owned();
                slot.replace(classifier);
                tracing::info!(version = %version, "category model reloaded");
                version
            }
            Err(error) => {
                tracing::error!(%error, "new category model not loaded; keeping the current one");
                format!("error: {error}")
            }
        };
        if let Some(reply) = message.reply {
            if let Err(error) = nats.publish(reply, answer.into()).await {
                tracing::warn!(%error, "answering a model announcement failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> ModelFile {
        let model = TextModel::train([
            (
                Some(gridcase_domain::CategoryCode::parse("BJ-01-07").unwrap()),
                "路灯不亮了",
            ),
            (
                Some(gridcase_domain::CategoryCode::parse("SJ-06-04").unwrap()),
                "电梯坏了",
            ),
        ]);
        ModelFile {
            version: "v2-0000abcd".to_owned(),
            trained_at_ms: 1_700_000_000_000,
            up_to_position: 42,
            corpus_examples: 2,
            operator_examples: 0,
            held_out: HeldOutScores {
                reports: 10,
                right: 9,
                wrong: 0,
                manual: 1,
                threshold: 0.6,
            },
            model,
        }
    }

    #[test]
    fn a_saved_model_loads_whole_and_predicts_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MODEL_FILE);
        assert!(ModelFile::load(&path).unwrap().is_none(), "no file yet");
        let written = file();
        written.save(&path).unwrap();
        let read = ModelFile::load(&path).unwrap().unwrap();
        assert_eq!(read.version, "v2-0000abcd");
        assert_eq!(read.held_out, written.held_out);
        assert_eq!(
            read.model.predict("路灯坏了"),
            written.model.predict("路灯坏了")
        );
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn a_damaged_or_foreign_file_is_refused_naming_why() {
        let bytes = file().to_bytes();
        let mut flipped = bytes.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x40;
        assert!(ModelFile::from_bytes(&flipped)
            .unwrap_err()
            .contains("checksum does not match"));
        assert!(ModelFile::from_bytes(b"not a model")
            .unwrap_err()
            .contains("magic"));
        assert!(ModelFile::from_bytes(&bytes[..10])
            .unwrap_err()
            .contains("checksum"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MODEL_FILE);
        std::fs::write(&path, &flipped).unwrap();
        let error = ModelFile::load(&path).unwrap_err().to_string();
        assert!(error.contains("not a readable model file"), "{error}");
    }

    #[test]
    fn worse_means_fewer_right_or_more_wrong() {
        // Out of 1,000 reports the tolerance is 5.
        let at = |right, wrong| HeldOutScores {
            reports: 1_000,
            right,
            wrong,
            manual: 1_000 - right - wrong,
            threshold: 0.6,
        };
        assert!(at(894, 30).worse_than(&at(900, 30)));
        assert!(at(900, 36).worse_than(&at(900, 30)));
        assert!(
            !at(896, 34).worse_than(&at(900, 30)),
            "within the tolerance"
        );
        assert!(!at(900, 30).worse_than(&at(900, 30)));
        assert!(!at(910, 20).worse_than(&at(900, 30)));
    }
}
