//! The labelled corpus of residents' reports that triage's classifier learns from and is
//! measured on: `corpus/train/*.tsv` and `corpus/heldout/*.tsv` beside the catalogue, one
//! report per line as `CATEGORY_CODE<TAB>text` (`none` for a report that belongs to no
//! category), `#` lines are comments. The held-out split is fixed by the files: nothing
//! learnt or tuned may read it except the measurement.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use gridcase_domain::CategoryCode;

use crate::{ConfigError, ReferenceData, Result};

/// The directory, beside the catalogue, that holds the corpus.
pub const CORPUS_DIR: &str = "corpus";

/// The label of a report that belongs to no category of the catalogue.
pub const NO_CATEGORY: &str = "none";

/// Which part of the corpus a report is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    /// Learnt from.
    Train,
    /// Held out: only ever measured on.
    HeldOut,
}

impl Split {
    /// The split's directory under [`CORPUS_DIR`].
    pub const fn dir(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::HeldOut => "heldout",
        }
    }
}

/// One labelled report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelledReport {
    /// The category it is about; `None` for a report that belongs to no category.
    pub category: Option<CategoryCode>,
    /// The report as the resident wrote or said it.
    pub text: String,
    /// Which split it is in.
    pub split: Split,
}

/// The whole corpus, checked against the catalogue.
#[derive(Clone, Debug, Default)]
pub struct Corpus {
    reports: Vec<LabelledReport>,
}

impl Corpus {
    /// Reads `dir/corpus/{train,heldout}/*.tsv` (files in name order) and checks every line
    /// against `reference`'s catalogue: a known code or `none`, non-empty text, and no report
    /// twice — in particular never in both splits.
    pub fn load(dir: &Path, reference: &ReferenceData) -> Result<Corpus> {
        let mut reports = Vec::new();
        let mut seen: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
        for split in [Split::Train, Split::HeldOut] {
            let split_dir = dir.join(CORPUS_DIR).join(split.dir());
            for file in tsv_files(&split_dir)? {
                let text = std::fs::read_to_string(&file).map_err(|error| ConfigError::Read {
                    file: file.clone(),
                    error,
                })?;
                for (index, line) in text.lines().enumerate() {
                    let number = index + 1;
                    if line.trim().is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let invalid = |reason: String| ConfigError::Invalid {
                        file: file.clone(),
                        line: Some(number),
                        entry: "report".to_owned(),
                        reason,
                    };
                    let (label, report) = line
                        .split_once('\t')
                        .ok_or_else(|| invalid("expected CATEGORY_CODE<TAB>text".into()))?;
                    let report = report.trim();
                    if report.is_empty() || report.contains('\t') {
                        return Err(invalid("the text must be one non-empty field".into()));
                    }
                    let category = if label == NO_CATEGORY {
                        None
                    } else {
                        let code = CategoryCode::parse(label)
                            .map_err(|e| invalid(format!("label {label:?}: {}", e.reason)))?;
                        if reference.category(&code).is_none() {
                            return Err(invalid(format!("{code} is not in the catalogue")));
                        }
                        Some(code)
                    };
                    if let Some((first, first_line)) =
                        seen.insert(report.to_owned(), (file.clone(), number))
                    {
                        return Err(invalid(format!(
                            "repeats the report at {}:{first_line}",
                            first.display()
                        )));
                    }
                    reports.push(LabelledReport {
                        category,
                        text: report.to_owned(),
                        split,
                    });
                }
            }
        }
        Ok(Corpus { reports })
    }

    /// Copies the corpus files of `from` (`corpus/{train,heldout}/*.tsv`) into `to`, so a
    /// rewritten copy of the reference data keeps its corpus. Nothing is copied if `from` has
    /// no corpus.
    pub fn copy_files(from: &Path, to: &Path) -> Result<()> {
        for split in [Split::Train, Split::HeldOut] {
            let source = from.join(CORPUS_DIR).join(split.dir());
            if !source.is_dir() {
                continue;
            }
            let target = to.join(CORPUS_DIR).join(split.dir());
            let failed = |file: &Path, error| ConfigError::Read {
                file: file.to_owned(),
                error,
            };
            std::fs::create_dir_all(&target).map_err(|error| failed(&target, error))?;
            for file in tsv_files(&source)? {
                let name = file.file_name().unwrap_or_default();
                std::fs::copy(&file, target.join(name)).map_err(|error| failed(&file, error))?;
            }
        }
        Ok(())
    }

    /// Every report, training split first.
    pub fn reports(&self) -> &[LabelledReport] {
        &self.reports
    }

    /// The reports of `split`.
    pub fn split(&self, split: Split) -> impl Iterator<Item = &LabelledReport> {
        self.reports
            .iter()
            .filter(move |report| report.split == split)
    }

    /// How many reports each label has in `split` (`None` counts the no-category reports).
    pub fn counts(&self, split: Split) -> BTreeMap<Option<CategoryCode>, usize> {
        let mut counts = BTreeMap::new();
        for report in self.split(split) {
            *counts.entry(report.category).or_default() += 1;
        }
        counts
    }
}

/// The `.tsv` files of `dir`, by name; none if `dir` does not exist.
fn tsv_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(ConfigError::Read {
                file: dir.to_owned(),
                error,
            })
        }
    };
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    for entry in entries {
        let path = entry
            .map_err(|error| ConfigError::Read {
                file: dir.to_owned(),
                error,
            })?
            .path();
        if path.extension().is_some_and(|ext| ext == "tsv") {
            files.insert(path);
        }
    }
    Ok(files.into_iter().collect())
}
