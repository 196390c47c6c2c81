//! The day's reports sent to intake, each at its planned moment: by the hotline operator for
//! the residents who call, or by a grid worker from the patrol app.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use gridcase_proto::intake::v1 as intake_pb;

use super::cast::{worker_key, OPERATOR};
use super::day::{now_ms, Day};
use super::ledger::Tracked;
use super::plan::PlannedReport;

impl Day {
    pub(super) async fn report_all(self: Arc<Self>, plan: Vec<PlannedReport>) {
        let started = Instant::now();
        let total = plan.len();
        let shown = (total / 8).max(1);
        for report in plan {
            let wait = report.at.saturating_sub(started.elapsed());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let show = report.index < 3 || report.index % shown == 0;
            let day = Arc::clone(&self);
            // Each call on its own task, so a slow reply does not hold up the next caller.
            self.spawn(async move { day.report(report, show, total).await });
        }
    }

    async fn report(self: Arc<Self>, report: PlannedReport, show: bool, total: usize) {
        self.report_one(report, show, total).await;
        self.reports_settled.fetch_add(1, Ordering::Relaxed);
    }

    async fn report_one(&self, report: PlannedReport, show: bool, total: usize) {
        let (channel, who) = match &report.worker {
            Some(id) => (intake_pb::Channel::GridWorker, worker_key(id)),
            None => (intake_pb::Channel::Hotline, OPERATOR.to_owned()),
        };
        let request = intake_pb::ReportCaseRequest {
            client_request_id: format!("demo-{}-{}", self.run, report.index),
            channel: channel as i32,
            reporter: report
                .reporter
                .clone()
                .map(|(name, phone)| intake_pb::Reporter { name, phone }),
            location: Some(gridcase_proto::common::v1::Location {
                grid_code: report.grid.clone(),
                address: report.address.clone(),
                coordinates: report
                    .coordinates
                    .map(|(lat, lon)| gridcase_proto::common::v1::Coordinates { lat, lon }),
            }),
            description: report.description.clone(),
            category_code: if report.explicit_category {
                report.category.clone()
            } else {
                String::new()
            },
            media_urls: report.media.clone(),
            reported_by_worker: report.worker.clone().unwrap_or_default(),
        };
        let reply = match self.api.intake(&who).report_case(request).await {
            Ok(reply) => reply.into_inner(),
            Err(status) => {
                return self.failed(format_args!("reporting case #{}", report.index), &status)
            }
        };
        let tracked = Tracked {
            index: report.index,
            case_id: reply.case_id.clone(),
            tracking_code: reply.tracking_code.clone(),
            kind: report.kind,
            category: report.category.clone(),
            grid: report.grid.clone(),
            by_worker: report.worker.is_some(),
            anonymous: report.reporter.is_none(),
            reported_at_ms: now_ms(),
            orders: 0,
            resolutions: 0,
            returned_by: Vec::new(),
            rework_pending: false,
            reworked: false,
            reopened: false,
            urged: false,
            triaged_by_hand: None,
            finished: None,
        };
        let count = self.ledger.add(tracked);
        if show {
            let channel = if report.worker.is_some() {
                "grid worker"
            } else {
                "hotline"
            };
            self.say(format_args!(
                "report {count:>3}/{total}  {channel:<11} {}  {}  {}",
                reply.tracking_code,
                self.area_name(&report.grid),
                clip(&report.description, 36)
            ));
        }
    }
}

/// The first `chars` characters of `text`, with … if cut.
fn clip(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        let mut clipped: String = text.chars().take(chars).collect();
        clipped.push('…');
        clipped
    }
}
