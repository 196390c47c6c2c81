//! The gRPC admin API: stats and a whole-log verify.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gridcase_auth::{require, Authenticator, RoleKind, TokenTable};
use gridcase_eventstore::{EventStore, SledStore};
use gridcase_grpc::store_status;
use gridcase_proto::store::v1::store_admin_server::{StoreAdmin, StoreAdminServer};
use gridcase_proto::store::v1::{StatsRequest, StatsResponse, VerifyRequest, VerifyResponse};
use tokio::sync::watch;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

/// The fully qualified gRPC service name, for health reporting.
pub(crate) const SERVICE_NAME: &str = "gridcase.store.v1.StoreAdmin";

#[derive(Debug)]
struct Admin {
    /// The open store; `None` while it is closed after its disk failed.
    store: watch::Receiver<Option<SledStore>>,
    published: Arc<AtomicU64>,
}

impl Admin {
    fn store(&self) -> Result<SledStore, Status> {
        self.store.borrow().clone().ok_or_else(|| {
            Status::unavailable("the store is closed after a failed write; it reopens its log when its disk can take writes again")
        })
    }
}

/// Who may read the store's figures and run a verify.
pub(crate) const ADMIN_ROLES: &[RoleKind] = &[RoleKind::Admin, RoleKind::Supervisor];

/// The admin service as routes for the shared gRPC server, authenticating callers against
/// `tokens`.
pub(crate) fn routes(
    store: watch::Receiver<Option<SledStore>>,
    published: Arc<AtomicU64>,
    tokens: Arc<TokenTable>,
) -> Routes {
    Routes::new(StoreAdminServer::with_interceptor(
        Admin { store, published },
        Authenticator::new(tokens),
    ))
}

#[tonic::async_trait]
impl StoreAdmin for Admin {
    #[tracing::instrument(skip_all)]
    async fn stats(
        &self,
        request: Request<StatsRequest>,
    ) -> Result<Response<StatsResponse>, Status> {
        require(&request, "Stats", ADMIN_ROLES)?;
        let store = self.store()?;
        let stats = store.stats().await.map_err(|e| store_status(&e))?;
        Ok(Response::new(StatsResponse {
            events: stats.events,
            streams: stats.streams,
            disk_bytes: stats.disk_bytes,
            published_up_to: self.published.load(Ordering::Acquire),
            flushes: store.flush_count(),
            appends: store.append_count(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn verify(
        &self,
        request: Request<VerifyRequest>,
    ) -> Result<Response<VerifyResponse>, Status> {
        require(&request, "Verify", ADMIN_ROLES)?;
        let store = self.store()?;
        let report = tokio::task::spawn_blocking(move || store.verify(|_, _| {}))
            .await
            .map_err(|e| Status::internal(format!("verify task failed: {e}")))?
            .map_err(|e| store_status(&e))?;
        tracing::info!(
            events = report.events,
            problems = report.problems.len(),
            "verified"
        );
        Ok(Response::new(VerifyResponse {
            events: report.events,
            streams: report.streams,
            problems: report.problems,
        }))
    }
}
