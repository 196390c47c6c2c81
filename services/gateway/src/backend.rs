//! The services the gateway acts through: intake (new reports), query (what the public may
//! see) and evaluation (ratings, and the reporter's points), over gRPC as the `gateway` role. The gateway keeps no case
//! state of its own; everything it shows comes from here.

use std::time::Duration;

use gridcase_auth::{BearerToken, Secret};
use gridcase_proto::evaluation::v1::evaluation_client::EvaluationClient;
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::people::v1::people_client::PeopleClient;
use gridcase_proto::query::v1::query_client::QueryClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// A channel whose calls carry the gateway's bearer token.
pub type Authed = InterceptedService<Channel, BearerToken>;

/// How long one call to a service may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the services listen, and the token the gateway calls them with.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The intake gRPC API, e.g. `http://127.0.0.1:7102`.
    pub intake: String,
    /// The query gRPC API.
    pub query: String,
    /// The evaluation gRPC API.
    pub evaluation: String,
    /// A bearer token of the `gateway` role.
    pub token: Secret,
}

/// Why the backend could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// An endpoint is not a URL.
    #[error("the {service} endpoint {url:?}: {reason}")]
    Endpoint {
        /// Which service.
        service: &'static str,
        /// The URL given.
        url: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The token is not a valid header value.
    #[error("the gateway token: {0}")]
    Token(#[from] gridcase_auth::AuthError),
}

/// Clients of the three services. Channels connect lazily and reconnect by themselves, so the
/// gateway starts (and answers `/healthz`) while a service is still down.
#[derive(Debug, Clone)]
pub struct Backend {
    /// New reports.
    pub intake: IntakeClient<Authed>,
    /// Public case views and boards.
    pub query: QueryClient<Authed>,
    /// Ratings.
    pub evaluation: EvaluationClient<Authed>,
    /// Reporters' points, for their private page.
    pub people: PeopleClient<Authed>,
    intake_channel: Channel,
    query_channel: Channel,
}

fn channel(service: &'static str, url: &str) -> Result<Channel, BackendError> {
    let endpoint = Endpoint::from_shared(url.to_owned()).map_err(|e| BackendError::Endpoint {
        service,
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(endpoint
        .connect_timeout(Duration::from_secs(2))
        .timeout(CALL_TIMEOUT)
        .connect_lazy())
}

impl Backend {
    /// Clients of the services at `endpoints`.
    pub fn new(endpoints: &Endpoints) -> Result<Self, BackendError> {
        let bearer = BearerToken::new(&endpoints.token)?;
        let intake_channel = channel("intake", &endpoints.intake)?;
        let query_channel = channel("query", &endpoints.query)?;
        let evaluation_channel = channel("evaluation", &endpoints.evaluation)?;
        Ok(Self {
            intake: IntakeClient::with_interceptor(intake_channel.clone(), bearer.clone()),
            query: QueryClient::with_interceptor(query_channel.clone(), bearer.clone()),
            evaluation: EvaluationClient::with_interceptor(
                evaluation_channel.clone(),
                bearer.clone(),
            ),
            people: PeopleClient::with_interceptor(evaluation_channel, bearer),
            intake_channel,
            query_channel,
        })
    }

    /// The services that do not answer as serving, by name; empty when intake and query do.
    pub async fn not_ready(&self) -> Vec<&'static str> {
        let mut down = Vec::new();
        for (name, channel, service) in [
            ("intake", &self.intake_channel, "gridcase.intake.v1.Intake"),
            ("query", &self.query_channel, "gridcase.query.v1.Query"),
        ] {
            let mut health = HealthClient::new(channel.clone());
            let request = HealthCheckRequest {
                service: service.to_owned(),
            };
            let serving = matches!(
                tokio::time::timeout(Duration::from_secs(2), health.check(request)).await,
                Ok(Ok(reply)) if reply.get_ref().status() == ServingStatus::Serving
            );
            if !serving {
                down.push(name);
            }
        }
        down
    }
}
