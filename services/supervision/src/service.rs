//! The gRPC `Supervision` service: supervisors urge assignees and decide postponement
//! requests; operators, supervisors and administrators read a case's deadline colour.
//!
//! The command id of an action derives from the request id, the case, the action and the
//! caller, so a retried request is recorded once. Whether the case is in a state that allows
//! the action is the domain's decision (FAILED_PRECONDITION when refused).

use std::sync::Arc;

use gridcase_auth::{require, Authenticator, Caller, RoleKind, TokenTable};
use gridcase_casestore::ids::{legacy, request_command_id};
use gridcase_casestore::{CaseError, CaseStore, CommandContext};
use gridcase_config::ReferenceData;
use gridcase_domain::{CaseId, Command, DomainError, Note, WorkerId};
use gridcase_eventstore::EventStore;
use gridcase_grpc::{case_status, ApiError};
use gridcase_proto::common::v1 as common;
use gridcase_proto::convert::case_reply;
use gridcase_proto::supervision::v1 as pb;
use gridcase_proto::supervision::v1::supervision_server::{Supervision, SupervisionServer};
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use gridcase_rules::deadlines::{self as timers, Colour};

/// The fully qualified gRPC service name, for health reporting.
pub const SERVICE_NAME: &str = "gridcase.supervision.v1.Supervision";

/// Who may urge and decide postponements.
pub const ACT_ROLES: &[RoleKind] = &[RoleKind::Supervisor, RoleKind::Admin];

/// Who may read colours.
pub const READ_ROLES: &[RoleKind] = &[RoleKind::Operator, RoleKind::Supervisor, RoleKind::Admin];

/// The supervision API as routes for the shared gRPC server.
pub fn routes<S: EventStore>(
    store: S,
    reference: Arc<ReferenceData>,
    tokens: Arc<TokenTable>,
) -> Routes {
    Routes::new(SupervisionServer::with_interceptor(
        SupervisionApi::new(store, reference),
        Authenticator::new(tokens),
    ))
}

fn case_id(text: &str) -> Result<CaseId, ApiError> {
    CaseId::parse(text).map_err(|e| ApiError::invalid("case_id", e.reason))
}

fn note(field: &'static str, text: &str) -> Result<Note, ApiError> {
    Note::parse_field(field, text).map_err(|e| ApiError::invalid(field, e.reason))
}

fn request_id(text: &str) -> Result<&str, ApiError> {
    Ok(gridcase_grpc::request_id("request_id", text)?)
}

/// The case, note and request id of an `UrgeCase` request, checked.
pub fn urge_request(request: &pb::UrgeCaseRequest) -> Result<(CaseId, Note, &str), ApiError> {
    let case = case_id(&request.case_id)?;
    let note = note("note", &request.note)?;
    let request_id = request_id(&request.request_id)?;
    Ok((case, note, request_id))
}

/// The case and request id of an `ApprovePostponement` request, checked.
pub fn approve_request(
    request: &pb::ApprovePostponementRequest,
) -> Result<(CaseId, &str), ApiError> {
    let case = case_id(&request.case_id)?;
    let request_id = request_id(&request.request_id)?;
    Ok((case, request_id))
}

/// The case, reason and request id of a `RefusePostponement` request, checked.
pub fn refuse_request(
    request: &pb::RefusePostponementRequest,
) -> Result<(CaseId, Note, &str), ApiError> {
    let case = case_id(&request.case_id)?;
    let reason = note("reason", &request.reason)?;
    let request_id = request_id(&request.request_id)?;
    Ok((case, reason, request_id))
}

/// The case a `GetCaseColour` request asks about.
pub fn colour_request(request: &pb::GetCaseColourRequest) -> Result<CaseId, ApiError> {
    case_id(&request.case_id)
}

/// The supervisor's id as the domain records it.
fn supervisor(caller: &Caller) -> Result<WorkerId, ApiError> {
    WorkerId::parse(&caller.id).map_err(|e| {
        ApiError::PermissionDenied(format!(
            "caller {} has no usable staff id: {}",
            caller.actor(),
            e.reason
        ))
    })
}

/// The supervision API on a store of cases.
#[derive(Debug)]
pub struct SupervisionApi<S> {
    cases: CaseStore<S>,
    reference: Arc<ReferenceData>,
}

impl<S: EventStore> SupervisionApi<S> {
    /// The API on `store`, with SLA policies from `reference`.
    pub fn new(store: S, reference: Arc<ReferenceData>) -> Self {
        Self {
            cases: CaseStore::new(store),
            reference,
        }
    }

    async fn act(
        &self,
        caller: &Caller,
        case: CaseId,
        request_id: &str,
        command: Command,
    ) -> Result<Response<common::CaseReply>, Status> {
        let action = command.action();
        let actor = caller.actor();
        let command_id = request_command_id(crate::SERVICE, request_id, case, action, &actor);
        let earlier = legacy::supervision_request(request_id, case, action, &actor);
        let context = CommandContext::new(command_id, actor).also_known_as(earlier);
        let executed = self
            .cases
            .execute(case, &context, |_| Ok(command.clone()))
            .await
            .map_err(|e| {
                tracing::info!(case = %case, action, error = %e, "action refused");
                case_status(&e)
            })?;
        tracing::info!(
            case = %case,
            actor = %context.actor,
            action,
            repeated = executed.repeated,
            "supervisor action recorded"
        );
        Ok(Response::new(case_reply(
            case.to_string(),
            executed.state.status,
            executed.version,
            executed.repeated,
        )))
    }
}

#[tonic::async_trait]
impl<S: EventStore> Supervision for SupervisionApi<S> {
    #[tracing::instrument(skip_all)]
    async fn urge_case(
        &self,
        request: Request<pb::UrgeCaseRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "UrgeCase", ACT_ROLES)?.clone();
        let request = request.into_inner();
        let (case, note, request_id) = urge_request(&request)?;
        let by = supervisor(&caller)?;
        self.act(&caller, case, request_id, Command::Urge { by, note })
            .await
    }

    #[tracing::instrument(skip_all)]
    async fn approve_postponement(
        &self,
        request: Request<pb::ApprovePostponementRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "ApprovePostponement", ACT_ROLES)?.clone();
        let request = request.into_inner();
        let (case, request_id) = approve_request(&request)?;
        let by = supervisor(&caller)?;
        self.act(
            &caller,
            case,
            request_id,
            Command::ApprovePostponement { by },
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn refuse_postponement(
        &self,
        request: Request<pb::RefusePostponementRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "RefusePostponement", ACT_ROLES)?.clone();
        let request = request.into_inner();
        let (case, reason, request_id) = refuse_request(&request)?;
        let by = supervisor(&caller)?;
        self.act(
            &caller,
            case,
            request_id,
            Command::RefusePostponement { by, reason },
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn get_case_colour(
        &self,
        request: Request<pb::GetCaseColourRequest>,
    ) -> Result<Response<pb::CaseColourReply>, Status> {
        require(&request, "GetCaseColour", READ_ROLES)?;
        let case = colour_request(request.get_ref())?;
        let loaded = self.cases.load(case).await.map_err(|e| case_status(&e))?;
        let state = loaded.state;
        if state.status.is_none() {
            return Err(case_status(&CaseError::Domain(
                DomainError::CaseDoesNotExist,
            )));
        }
        let now = gridcase_runtime::now();
        let colour = match timers::colour(&state, &self.reference, now) {
            Colour::Green => pb::Colour::Green,
            Colour::Yellow => pb::Colour::Yellow,
            Colour::Red => pb::Colour::Red,
        };
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Response::new(pb::CaseColourReply {
            case_id: case.to_string(),
            colour: colour.into(),
            status: gridcase_proto::convert::case_status(state.status),
            accept_deadline_ms: state.accept_deadline.map_or(0, |t| t.as_millis()),
            resolve_deadline_ms: state.resolve_deadline.map_or(0, |t| t.as_millis()),
            escalation_level: u32::from(state.escalation_level),
            warnings: count(state.deadline_warnings.len()),
            breaches: count(state.deadline_breaches.len()),
            as_of_ms: now.as_millis(),
        }))
    }
}
