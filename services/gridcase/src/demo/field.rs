//! Field work after a resolution: the grid worker of the case's grid (or the community office,
//! for a worker's own settlement) checks it on site (核查) when the task reaches them, and a
//! callback operator asks the resident for a rating (回访), or closes a case nobody is
//! there to ask about.

use std::sync::Arc;

use gridcase_proto::common::v1 as common;
use gridcase_proto::evaluation::v1 as evaluation_pb;

use super::behaviour::{
    Temperament, NOT_RESOLVED, RATING_COMMENTS, REWORK_NOTES, UNRESOLVED_COMMENTS, WORKER_SLOPPY,
};
use super::cast::OPERATOR;
use super::day::{sleep_ms, Day};
use super::departments::Handler;
use super::ledger::Finish;

impl Day {
    /// Checks `case_id`, resolved by `handler`, on site as `verifier` (its caller key and name),
    /// to whom the verification task came.
    pub(super) async fn verify(
        self: Arc<Self>,
        case_id: String,
        handler: Handler,
        verifier: (String, String),
    ) {
        let Some(case) = self.ledger.update(&case_id, |case| {
            case.resolutions += 1;
            case.clone()
        }) else {
            return;
        };
        let mut rng = self.rng(&case, &format!("check{}", case.resolutions));
        sleep_ms(rng.millis(300, 1000)).await;
        let sloppy = match &handler {
            Handler::Department(code) => Temperament::of(code).sloppy,
            _ => WORKER_SLOPPY,
        };
        let passed = case.reworked || !rng.chance(sloppy);
        if !passed {
            self.ledger.update(&case_id, |case| {
                case.rework_pending = true;
                case.reworked = true;
            });
        }
        let request = evaluation_pb::VerifyCaseRequest {
            case_id: case_id.clone(),
            passed,
            note: if passed {
                "现场核查：已整改到位".to_owned()
            } else {
                rng.pick(REWORK_NOTES).to_string()
            },
            request_id: self.request_id(&case, &format!("check{}", case.resolutions)),
        };
        let checked = self.api.evaluation(&verifier.0).verify_case(request).await;
        match checked {
            Ok(_) if passed => {
                let day = Arc::clone(&self);
                self.spawn(async move { day.rate(case_id).await });
            }
            Ok(_) => {
                self.ledger.count(|c| c.reworked += 1);
                self.say(format_args!(
                    "rework     {} {}: {} finds it not fixed on site (返工)",
                    case.tracking_code,
                    self.category_name(&case.category),
                    verifier.1
                ));
            }
            Err(status) => {
                if !passed {
                    self.ledger
                        .update(&case_id, |case| case.rework_pending = false);
                }
                self.failed(
                    format_args!("checking {} on site", case.tracking_code),
                    &status,
                );
            }
        }
    }

    async fn rate(self: Arc<Self>, case_id: String) {
        let Some(case) = self.ledger.get(&case_id) else {
            return;
        };
        let mut rng = self.rng(&case, &format!("rating{}", case.resolutions));
        sleep_ms(rng.millis(300, 1000)).await;
        let mut evaluation = self.api.evaluation(OPERATOR);
        // Nobody to call back for an anonymous call or a grid worker's own find.
        if case.anonymous || case.by_worker {
            let closed = evaluation
                .close_case(evaluation_pb::CloseCaseRequest {
                    case_id: case_id.clone(),
                    request_id: self.request_id(&case, "close"),
                })
                .await;
            return match closed {
                Ok(_) => self.ledger.finish(&case_id, Finish::Closed),
                Err(status) => self.failed(format_args!("closing {}", case.tracking_code), &status),
            };
        }
        let resolved = case.reopened || !rng.chance(NOT_RESOLVED);
        let satisfied = resolved && rng.chance(0.9);
        let score = match (resolved, satisfied) {
            (true, true) => 4 + rng.below(2) as u32,
            (true, false) => 3,
            _ => 1 + rng.below(2) as u32,
        };
        let comment = if resolved {
            rng.pick(RATING_COMMENTS)
        } else {
            rng.pick(UNRESOLVED_COMMENTS)
        };
        let request = evaluation_pb::RecordRatingRequest {
            case_id: case_id.clone(),
            resolved,
            satisfied,
            score,
            comment: comment.to_string(),
            request_id: self.request_id(&case, &format!("rating{}", case.resolutions)),
        };
        match evaluation.record_rating(request).await {
            Ok(reply) if reply.get_ref().status() == common::CaseStatus::Closed => {
                self.ledger.finish(&case_id, Finish::Closed);
            }
            Ok(_) => {
                self.ledger.update(&case_id, |case| case.reopened = true);
                self.ledger.count(|c| c.reopened += 1);
                self.say(format_args!(
                    "reopened   {} {}: the resident says \"{comment}\" (重办)",
                    case.tracking_code,
                    self.category_name(&case.category)
                ));
            }
            Err(status) => self.failed(format_args!("rating {}", case.tracking_code), &status),
        }
    }
}
