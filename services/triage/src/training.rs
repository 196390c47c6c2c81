//! Learning from operators: every case an operator classified by hand — from the manual queue,
//! or again after a department sent it back (退单) — is a labelled example in the log: the
//! reporter's words and the category the operator chose last. [`OperatorExamples`] collects
//! them from the log; [`train`] learns a model from the corpus's training split plus those
//! examples and measures it on the held-out split, which it never learns from.

use std::collections::BTreeMap;

use gridcase_config::{Corpus, ReferenceData, Split};
use gridcase_domain::{CaseId, CategoryCode, Event};
use gridcase_eventstore::RecordedEvent;
use gridcase_rules::textmodel::{evaluate, Label, TextModel};

use crate::classifier::digest;
use crate::model::HeldOutScores;
use crate::worker::ACTOR;

/// What one case teaches, as far as the log has been read.
#[derive(Debug, Clone, Default)]
struct Taught {
    description: Option<String>,
    category: Option<CategoryCode>,
}

/// The operators' classifications found in the log so far.
#[derive(Debug, Clone, Default)]
pub struct OperatorExamples {
    cases: BTreeMap<CaseId, Taught>,
}

impl OperatorExamples {
    /// Nothing read yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one recorded event: a report gives the words, a triage recorded by a person (not
    /// by the rules) gives the label. Other streams and events are ignored.
    pub fn fold(&mut self, record: &RecordedEvent) {
        let Ok(case) = CaseId::parse(&record.stream_id) else {
            return;
        };
        let Ok(event) = gridcase_casestore::decode(case, record) else {
            return;
        };
        match event {
            Event::CaseReported(reported) => {
                self.cases.entry(case).or_default().description =
                    Some(reported.description.as_str().to_owned());
            }
            Event::CaseTriaged(triaged) => {
                let by_rules = record.metadata.actor.as_deref() == Some(ACTOR)
                    || (triaged.triaged_by.is_none() && triaged.model.is_some());
                if !by_rules {
                    self.cases.entry(case).or_default().category = Some(triaged.category);
                }
            }
            _ => {}
        }
    }

    /// The labelled examples, in case order: `(category, the reporter's words)`.
    pub fn examples(&self) -> Vec<(CategoryCode, String)> {
        self.cases
            .values()
            .filter_map(|taught| Some((taught.category?, taught.description.clone()?)))
            .collect()
    }
}

/// A model learnt from the corpus and operators' examples, with its held-out scores.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The model.
    pub model: TextModel,
    /// A digest of everything it learnt from.
    pub digest: u32,
    /// Its scores on the corpus's held-out split at the confidence it routes at.
    pub held_out: HeldOutScores,
    /// Training reports from the corpus.
    pub corpus_examples: u32,
    /// Operators' examples.
    pub operator_examples: u32,
}

/// Learns a model from the corpus's training split and `operator` examples, then measures it
/// on the held-out split at `confidence`.
pub fn train(
    reference: &ReferenceData,
    corpus: &Corpus,
    operator: &[(CategoryCode, String)],
    confidence: f64,
) -> Trained {
    let mut examples: Vec<(Label, &str)> = corpus
        .split(Split::Train)
        .map(|report| (report.category, report.text.as_str()))
        .collect();
    let corpus_examples = examples.len();
    examples.extend(
        operator
            .iter()
            .map(|(category, text)| (Some(*category), text.as_str())),
    );
    let model = TextModel::learn(reference, &examples);
    let held_out = score(&model, corpus, confidence);
    Trained {
        digest: digest(&examples),
        model,
        held_out,
        corpus_examples: u32::try_from(corpus_examples).unwrap_or(u32::MAX),
        operator_examples: u32::try_from(operator.len()).unwrap_or(u32::MAX),
    }
}

/// How `model` does on the corpus's held-out split at `confidence`.
pub fn score(model: &TextModel, corpus: &Corpus, confidence: f64) -> HeldOutScores {
    let evaluation = evaluate(
        model,
        corpus
            .split(Split::HeldOut)
            .map(|report| (report.category, report.text.as_str())),
        confidence,
    );
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    HeldOutScores {
        reports: count(evaluation.reports),
        right: count(evaluation.right),
        wrong: count(evaluation.wrong),
        manual: count(evaluation.manual),
        threshold: confidence,
    }
}

/// The version after `current`: `v<n+1>-<digest>`, `v1-<digest>` after anything that is not
/// a `v<n>-` version.
pub fn next_version(current: Option<&str>, digest: u32) -> String {
    let number = current
        .and_then(|version| version.strip_prefix('v'))
        .and_then(|rest| rest.split_once('-'))
        .and_then(|(number, _)| number.parse::<u64>().ok())
        .unwrap_or(0);
    format!("v{}-{digest:08x}", number + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_and_carry_the_digest() {
        assert_eq!(next_version(None, 0xab), "v1-000000ab");
        assert_eq!(next_version(Some("corpus-1234abcd"), 1), "v1-00000001");
        assert_eq!(
            next_version(Some("v7-00000001"), 0xdead_beef),
            "v8-deadbeef"
        );
    }
}
