//! The clients of the seven services' APIs, each with the token of the caller it acts for.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use gridcase::system::Service;
use gridcase_auth::BearerToken;
use gridcase_proto::dispatch::v1::dispatch_client::DispatchClient;
use gridcase_proto::evaluation::v1::evaluation_client::EvaluationClient;
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::people::v1::care_client::CareClient;
use gridcase_proto::people::v1::people_client::PeopleClient;
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::store::v1::store_admin_client::StoreAdminClient;
use gridcase_proto::supervision::v1::supervision_client::SupervisionClient;
use gridcase_proto::triage::v1::triage_client::TriageClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::cast::{Cast, ADMIN, OPERATOR, SUPERVISOR};

pub(super) type Authed = InterceptedService<Channel, BearerToken>;

/// A channel to each service and the callers' tokens.
#[derive(Debug, Clone)]
pub(super) struct Api {
    channels: HashMap<&'static str, Channel>,
    cast: Arc<Cast>,
    web: Web,
}

/// The HTTP gateway, as residents' phones and an outside app reach it.
#[derive(Debug, Clone)]
struct Web {
    base: String,
    http: reqwest::Client,
    /// The outside app's Open311 key; without one no report goes through Open311.
    open311_key: Option<String>,
}

/// What a resident sends from a QR page or an outside app.
pub(super) struct WebReport<'a> {
    pub(super) grid: &'a str,
    pub(super) address: &'a str,
    pub(super) description: &'a str,
    pub(super) category: &'a str,
    pub(super) reporter: Option<&'a (String, String)>,
    pub(super) request_id: String,
}

impl Api {
    pub(super) async fn connect(
        endpoints: &[String; 8],
        cast: Cast,
        open311_key: Option<String>,
    ) -> anyhow::Result<Self> {
        let mut channels = HashMap::new();
        // The gateway speaks HTTP, not gRPC.
        let grpc = Service::ALL.iter().zip(endpoints);
        for (service, endpoint) in grpc.filter(|(s, _)| **s != Service::Gateway) {
            let channel = tonic::transport::Endpoint::from_shared(endpoint.clone())?
                .connect()
                .await
                .with_context(|| {
                    format!(
                        "connecting to the {} service at {endpoint} (is it running?)",
                        service.name()
                    )
                })?;
            channels.insert(service.name(), channel);
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Self {
            channels,
            cast: Arc::new(cast),
            web: Web {
                base: Service::ALL
                    .iter()
                    .zip(endpoints)
                    .find(|(s, _)| **s == Service::Gateway)
                    .map(|(_, endpoint)| endpoint.clone())
                    .unwrap_or_default(),
                http,
                open311_key,
            },
        })
    }

    /// True if reports can go through Open311.
    pub(super) fn has_open311(&self) -> bool {
        self.web.open311_key.is_some()
    }

    /// Reports as a resident who scanned the QR code of `report.grid`: fetches the form,
    /// posts it, and returns the tracking code from the redirect to the private page.
    pub(super) async fn report_by_qr(&self, report: &WebReport<'_>) -> anyhow::Result<String> {
        let url = format!("{}/q/{}", self.web.base, report.grid);
        let html = self.web.http.get(&url).send().await?.text().await?;
        let marker = "name=\"token\" value=\"";
        let start = html.find(marker).context("no form token on the QR page")? + marker.len();
        let token = html[start..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_owned();
        let (name, phone) = report.reporter.cloned().unwrap_or_default();
        let form = reqwest::multipart::Form::new()
            .text("token", token)
            .text("description", report.description.to_owned())
            .text("address", report.address.to_owned())
            .text("category", report.category.to_owned())
            .text("name", name)
            .text("phone", phone);
        let reply = self.web.http.post(&url).multipart(form).send().await?;
        let location = reply
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match location.as_deref().and_then(|l| l.strip_prefix("/c/")) {
            Some(rest) => Ok(rest.split('?').next().unwrap_or_default().to_owned()),
            None => anyhow::bail!("the QR page answered {}", reply.status()),
        }
    }

    /// Reports through Open311 as an outside app; returns the service request id (the tracking
    /// code).
    pub(super) async fn report_by_open311(&self, report: &WebReport<'_>) -> anyhow::Result<String> {
        let key = self.web.open311_key.clone().context("no Open311 key")?;
        let (name, phone) = report.reporter.cloned().unwrap_or_default();
        let form = [
            ("api_key", key),
            ("service_code", report.category.to_owned()),
            ("address_id", report.grid.to_owned()),
            ("address_string", report.address.to_owned()),
            ("description", report.description.to_owned()),
            ("first_name", name),
            ("phone", phone),
            ("client_request_id", report.request_id.clone()),
        ];
        let url = format!("{}/open311/v2/requests.json", self.web.base);
        let reply = self.web.http.post(url).form(&form).send().await?;
        let status = reply.status();
        let body: serde_json::Value = reply.json().await?;
        body[0]["service_request_id"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("Open311 answered {status}: {body}"))
    }

    pub(super) fn channel(&self, service: Service) -> Channel {
        self.channels[service.name()].clone()
    }

    pub(super) fn intake(&self, who: &str) -> IntakeClient<Authed> {
        IntakeClient::with_interceptor(self.channel(Service::Intake), self.cast.bearer(who))
    }

    pub(super) fn triage(&self) -> TriageClient<Authed> {
        TriageClient::with_interceptor(self.channel(Service::Triage), self.cast.bearer(OPERATOR))
    }

    pub(super) fn dispatch(&self, who: &str) -> DispatchClient<Authed> {
        DispatchClient::with_interceptor(self.channel(Service::Dispatch), self.cast.bearer(who))
    }

    pub(super) fn supervision(&self) -> SupervisionClient<Authed> {
        SupervisionClient::with_interceptor(
            self.channel(Service::Supervision),
            self.cast.bearer(SUPERVISOR),
        )
    }

    pub(super) fn evaluation(&self, who: &str) -> EvaluationClient<Authed> {
        EvaluationClient::with_interceptor(self.channel(Service::Evaluation), self.cast.bearer(who))
    }

    pub(super) fn people(&self, who: &str) -> PeopleClient<Authed> {
        PeopleClient::with_interceptor(self.channel(Service::Evaluation), self.cast.bearer(who))
    }

    /// The Care service (敲门行动, served by intake) as `who`.
    pub(super) fn care(&self, who: &str) -> CareClient<Authed> {
        CareClient::with_interceptor(self.channel(Service::Intake), self.cast.bearer(who))
    }

    /// The query service as `who`.
    pub(super) fn query_as(&self, who: &str) -> QueryClient<Authed> {
        QueryClient::with_interceptor(self.channel(Service::Query), self.cast.bearer(who))
    }

    pub(super) fn query(&self) -> QueryClient<Authed> {
        QueryClient::with_interceptor(self.channel(Service::Query), self.cast.bearer(SUPERVISOR))
    }

    pub(super) fn store_admin(&self) -> StoreAdminClient<Authed> {
        StoreAdminClient::with_interceptor(self.channel(Service::Store), self.cast.bearer(ADMIN))
    }
}
