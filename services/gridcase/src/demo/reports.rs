//! The day's reports sent, each at its planned moment: by the hotline operator for the
//! residents who call, by a grid worker from the patrol app, and — for a share of the
//! residents — by the residents themselves over HTTP: from the QR code posted in their grid,
//! or from an outside civic app through Open311.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use gridcase_proto::intake::v1 as intake_pb;

use super::api::WebReport;
use super::cast::{member_key, worker_key, OPERATOR};
use super::day::{now_ms, Day};
use super::ledger::Tracked;
use super::plan::PlannedReport;
use super::words::HOTLINE_OPENERS;

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

    /// The channel a resident's report takes: one in four scans the QR code, one in six of
    /// those who name a category uses an outside app (Open311); the rest call the hotline.
    fn web_channel(&self, report: &PlannedReport) -> Option<&'static str> {
        if report.worker.is_some() || report.member.is_some() {
            return None;
        }
        if report.index % 4 == 1 {
            Some("QR code")
        } else if report.explicit_category && report.index % 6 == 3 && self.api.has_open311() {
            Some("Open311")
        } else {
            None
        }
    }

    /// Reports over HTTP; the tracking code and case id, or `None` after recording the failure.
    async fn report_over_http(
        &self,
        report: &PlannedReport,
        channel: &str,
    ) -> Option<(String, String)> {
        let description = own_words(&report.description);
        let web = WebReport {
            grid: &report.grid,
            address: &report.address,
            description: &description,
            category: if report.explicit_category {
                &report.category
            } else {
                ""
            },
            reporter: report.reporter.as_ref(),
            request_id: format!("demo-{}-{}", self.run, report.index),
        };
        let sent = if channel == "Open311" {
            self.api.report_by_open311(&web).await
        } else {
            self.api.report_by_qr(&web).await
        };
        let tracking_code = match sent {
            Ok(code) => code,
            Err(error) => {
                self.fail(format_args!(
                    "reporting case #{} by {channel}: {error:#}",
                    report.index
                ));
                return None;
            }
        };
        let request = intake_pb::GetCaseStatusRequest {
            tracking_code: tracking_code.clone(),
        };
        match self.api.intake(OPERATOR).get_case_status(request).await {
            Ok(reply) => Some((tracking_code, reply.into_inner().case_id)),
            Err(status) => {
                self.failed(format_args!("looking up case #{}", report.index), &status);
                None
            }
        }
    }

    async fn report_one(&self, report: PlannedReport, show: bool, total: usize) {
        if let Some(channel) = self.web_channel(&report) {
            if let Some((tracking_code, case_id)) = self.report_over_http(&report, channel).await {
                self.track(&report, case_id, tracking_code, channel, show, total);
            }
            return;
        }
        let (channel, who) = match (&report.worker, &report.member) {
            (Some(id), _) => (intake_pb::Channel::GridWorker, worker_key(id)),
            (None, Some(id)) => (intake_pb::Channel::SpecialMember, member_key(id)),
            (None, None) => (intake_pb::Channel::Hotline, OPERATOR.to_owned()),
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
            member_id: String::new(),
        };
        let reply = match self.api.intake(&who).report_case(request).await {
            Ok(reply) => reply.into_inner(),
            Err(status) => {
                return self.failed(format_args!("reporting case #{}", report.index), &status)
            }
        };
        let channel = match (&report.worker, &report.member) {
            (Some(_), _) => "grid worker",
            (None, Some(_)) => "member",
            (None, None) => "hotline",
        };
        self.track(
            &report,
            reply.case_id,
            reply.tracking_code,
            channel,
            show,
            total,
        );
    }

    /// Adds a reported case to the ledger, and says so for the shown ones.
    fn track(
        &self,
        report: &PlannedReport,
        case_id: String,
        tracking_code: String,
        channel: &str,
        show: bool,
        total: usize,
    ) {
        let tracked = Tracked {
            index: report.index,
            case_id,
            tracking_code: tracking_code.clone(),
            kind: report.kind,
            category: report.category.clone(),
            by_worker: report.worker.is_some(),
            by_member: report.member.is_some(),
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
            self.say(format_args!(
                "report {count:>3}/{total}  {channel:<11} {}  {}  {}",
                tracking_code,
                self.area_name(&report.grid),
                clip(&report.description, 36)
            ));
        }
    }
}

/// What a resident types on the phone: the operator's framing of a call ("居民来电：", "来电人
/// 要求处理后回电") taken away.
fn own_words(description: &str) -> String {
    let text = HOTLINE_OPENERS
        .iter()
        .find_map(|opener| description.strip_prefix(opener))
        .unwrap_or(description);
    text.replace("来电人要求处理后回电。", "")
        .trim_end_matches('，')
        .to_owned()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resident_types_without_the_operators_framing() {
        assert_eq!(
            own_words("居民来电：3号楼下的路灯不亮了，来电人要求处理后回电。"),
            "3号楼下的路灯不亮了"
        );
        assert_eq!(own_words("楼下路灯不亮了"), "楼下路灯不亮了");
    }
}
