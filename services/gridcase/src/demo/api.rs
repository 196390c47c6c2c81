//! The clients of the seven services' APIs, each with the token of the caller it acts for.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use gridcase::system::Service;
use gridcase_auth::BearerToken;
use gridcase_proto::dispatch::v1::dispatch_client::DispatchClient;
use gridcase_proto::evaluation::v1::evaluation_client::EvaluationClient;
use gridcase_proto::intake::v1::intake_client::IntakeClient;
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
}

impl Api {
    pub(super) async fn connect(endpoints: &[String; 8], cast: Cast) -> anyhow::Result<Self> {
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
        Ok(Self {
            channels,
            cast: Arc::new(cast),
        })
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

    pub(super) fn query(&self) -> QueryClient<Authed> {
        QueryClient::with_interceptor(self.channel(Service::Query), self.cast.bearer(SUPERVISOR))
    }

    pub(super) fn store_admin(&self) -> StoreAdminClient<Authed> {
        StoreAdminClient::with_interceptor(self.channel(Service::Store), self.cast.bearer(ADMIN))
    }
}
