//! The desks: the hotline operator working the manual triage queue, the supervisor urging
//! overdue cases (督办), and a watch on the cases triage merged into earlier reports.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gridcase_proto::query::v1 as query_pb;
use gridcase_proto::supervision::v1 as supervision_pb;
use gridcase_proto::triage::v1 as triage_pb;
use tonic::Code;

use super::day::{sleep_ms, Day};
use super::ledger::{Finish, Tracked};
use super::plan::Kind;

impl Day {
    /// The hotline operator works the manual triage queue: classifies the vague calls,
    /// re-routes cases every department returned and rejects questions outside the remit.
    pub(super) async fn operator_desk(self: Arc<Self>) {
        loop {
            sleep_ms(400).await;
            let listed = self
                .api
                .triage()
                .list_manual_queue(triage_pb::ListManualQueueRequest {
                    grid_code: String::new(),
                    limit: 200,
                })
                .await;
            let Some(queue) = self.reply("listing the manual queue", listed) else {
                continue;
            };
            for queued in queue.cases {
                let fresh = self.ledger.update(&queued.case_id, |case| {
                    let recent = case
                        .triaged_by_hand
                        .is_some_and(|at| at.elapsed() < Duration::from_secs(3));
                    if recent || case.finished.is_some() {
                        None
                    } else {
                        case.triaged_by_hand = Some(Instant::now());
                        Some(case.clone())
                    }
                });
                if let Some(Some(case)) = fresh {
                    self.triage_by_hand(&case, &queued).await;
                }
            }
        }
    }

    async fn triage_by_hand(&self, case: &Tracked, queued: &triage_pb::QueuedCase) {
        let mut triage = self.api.triage();
        let step = format!("manual{}", case.orders);
        if case.kind == Kind::OutOfScope {
            let rejected = triage
                .reject_case(triage_pb::RejectCaseRequest {
                    case_id: case.case_id.clone(),
                    reason: "非网格事项，已告知来电人向相关服务热线咨询".to_owned(),
                    request_id: self.request_id(case, &step),
                })
                .await;
            return match rejected {
                Ok(_) => {
                    self.ledger.finish(&case.case_id, Finish::Rejected);
                    self.say(format_args!(
                        "rejected   {} by the operator: outside the grid's remit",
                        case.tracking_code
                    ));
                }
                Err(status) => {
                    self.failed(format_args!("rejecting {}", case.tracking_code), &status)
                }
            };
        }
        let category = if case.category.is_empty() {
            queued
                .suggested_categories
                .first()
                .cloned()
                .unwrap_or_default()
        } else {
            case.category.clone()
        };
        // The rules route a case they could not classify; a case every owner returned goes to
        // a department that has not returned it.
        let route = if case.returned_by.is_empty() {
            None
        } else {
            ["urban_mgmt", "housing", "public_security", "civil_affairs"]
                .into_iter()
                .filter(|code| {
                    gridcase_domain::DepartmentCode::parse(code)
                        .is_ok_and(|parsed| self.reference.department(&parsed).is_some())
                })
                .find(|code| !case.returned_by.iter().any(|returned| returned == code))
                .map(|code| triage_pb::triage_case_request::Route::Department(code.to_owned()))
        };
        let routed_by_hand = route.is_some();
        let request = triage_pb::TriageCaseRequest {
            case_id: case.case_id.clone(),
            category_code: category.clone(),
            priority: String::new(),
            route,
            request_id: self.request_id(case, &step),
        };
        match triage.triage_case(request).await {
            Ok(reply) => {
                self.ledger.count(|c| c.manual += 1);
                let reply = reply.into_inner();
                self.say(format_args!(
                    "by hand    {} {} → {} ({})",
                    case.tracking_code,
                    self.category_name(&category),
                    reply.route,
                    if routed_by_hand {
                        "every owner returned it"
                    } else {
                        "too unclear for the model"
                    }
                ));
            }
            Err(status) => self.failed(
                format_args!("triaging {} by hand", case.tracking_code),
                &status,
            ),
        }
    }

    /// The supervisor looks at the overdue list and urges a few of the day's cases (督办).
    pub(super) async fn supervisor_desk(self: Arc<Self>, most: usize) {
        let mut urged = 0;
        while urged < most {
            sleep_ms(1500).await;
            let listed = self
                .api
                .query()
                .list_cases(query_pb::ListCasesRequest {
                    overdue_only: true,
                    page_size: 100,
                    ..Default::default()
                })
                .await;
            let Some(overdue) = self.reply("listing overdue cases", listed) else {
                continue;
            };
            for summary in overdue.cases {
                if urged >= most {
                    break;
                }
                let case = self.ledger.update(&summary.case_id, |case| {
                    (!case.urged && case.finished.is_none()).then(|| {
                        case.urged = true;
                        case.clone()
                    })
                });
                let Some(Some(case)) = case else { continue };
                let request = supervision_pb::UrgeCaseRequest {
                    case_id: case.case_id.clone(),
                    note: "请立即处置并反馈，逾期将通报".to_owned(),
                    request_id: self.request_id(&case, "urge"),
                };
                match self.api.supervision().urge_case(request).await {
                    Ok(_) => {
                        urged += 1;
                        self.ledger.count(|c| c.urged += 1);
                        self.say(format_args!(
                            "urged      {} {} at {} by the supervisor (督办)",
                            case.tracking_code,
                            self.category_name(&case.category),
                            summary.assignee
                        ));
                    }
                    // It moved on (resolved, closed) between the list and the urge.
                    Err(status) if status.code() == Code::FailedPrecondition => {}
                    Err(status) => {
                        self.failed(format_args!("urging {}", case.tracking_code), &status)
                    }
                }
            }
        }
    }

    /// Notes the day's cases triage merged into an earlier report.
    pub(super) async fn watch_merges(self: Arc<Self>, since_ms: i64) {
        loop {
            sleep_ms(1000).await;
            let mut page_token = String::new();
            loop {
                let listed = self
                    .api
                    .query()
                    .list_cases(query_pb::ListCasesRequest {
                        status: gridcase_proto::common::v1::CaseStatus::Merged as i32,
                        page_size: 200,
                        page_token: page_token.clone(),
                        ..Default::default()
                    })
                    .await;
                let Some(reply) = self.reply("listing merged cases", listed) else {
                    break;
                };
                let mut older = false;
                for summary in &reply.cases {
                    older |= summary.reported_at_ms < since_ms;
                    let open = self
                        .ledger
                        .get(&summary.case_id)
                        .is_some_and(|case| case.finished.is_none());
                    if open {
                        self.ledger.finish(&summary.case_id, Finish::Merged);
                    }
                }
                // Newest first: once older cases show, the day's are all seen.
                if older || reply.next_page_token.is_empty() {
                    break;
                }
                page_token = reply.next_page_token;
            }
        }
    }
}
