//! A hotline line of `gridcase chaos`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Acknowledged;
use anyhow::ensure;
use gridcase::rng::Rng;
use gridcase_domain::CaseId;
use gridcase_proto::common::v1::Location;
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::intake::v1::{Channel, ReportCaseRequest, Reporter};

/// One hotline line: reports one case after another until told to stop, retrying each with
/// the same request id until intake acknowledges it.
pub(super) struct Lane {
    /// Intake replicas, the lane's own first.
    pub(super) clients: Vec<IntakeClient<tonic::transport::Channel>>,
    pub(super) token: String,
    pub(super) texts: Vec<(String, String)>,
    pub(super) grids: Vec<String>,
    pub(super) seed: u64,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) acknowledged: Arc<Mutex<Vec<Acknowledged>>>,
    pub(super) retries: Arc<AtomicU64>,
    pub(super) next: Arc<AtomicU64>,
}

impl Lane {
    pub(super) async fn run(mut self) -> anyhow::Result<()> {
        while !self.stop.load(Ordering::Relaxed) {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let mut rng = Rng::keyed(self.seed, &format!("report-{n}"));
            let (category, text) = rng.pick(&self.texts).clone();
            let report = ReportCaseRequest {
                client_request_id: format!("chaos-{}-{n}", self.seed),
                channel: Channel::Hotline as i32,
                reporter: Some(Reporter {
                    name: String::new(),
                    phone: format!("139{:08}", rng.below(100_000_000)),
                }),
                location: Some(Location {
                    grid_code: rng.pick(&self.grids).clone(),
                    address: String::new(),
                    coordinates: None,
                }),
                description: text,
                category_code: category,
                media_urls: Vec::new(),
                reported_by_worker: String::new(),
                member_id: String::new(),
            };
            let started = Instant::now();
            let mut client = 0;
            let reply = loop {
                let mut request = tonic::Request::new(report.clone());
                request
                    .metadata_mut()
                    .insert("authorization", format!("Bearer {}", self.token).parse()?);
                match self.clients[client].report_case(request).await {
                    Ok(reply) => break reply.into_inner(),
                    Err(status) => {
                        // A refusal of the report itself would never pass on a retry.
                        ensure!(
                            !matches!(
                                status.code(),
                                tonic::Code::InvalidArgument
                                    | tonic::Code::PermissionDenied
                                    | tonic::Code::Unauthenticated
                            ),
                            "report {} refused: {status}",
                            report.client_request_id
                        );
                        ensure!(
                            started.elapsed() < Duration::from_secs(120),
                            "report {} not acknowledged within 2 minutes: {status}",
                            report.client_request_id
                        );
                        self.retries.fetch_add(1, Ordering::Relaxed);
                        client = (client + 1) % self.clients.len();
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            };
            let case = CaseId::parse(&reply.case_id).map_err(|e| {
                anyhow::anyhow!("intake answered case id {:?}: {}", reply.case_id, e.reason)
            })?;
            self.acknowledged
                .lock()
                .map_err(|_| anyhow::anyhow!("a lane panicked"))?
                .push(Acknowledged {
                    request_id: report.client_request_id,
                    case,
                });
        }
        Ok(())
    }
}
