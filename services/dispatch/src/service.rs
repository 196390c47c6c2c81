//! The gRPC `Dispatch` service departments (and grid workers, communities and streets) answer
//! work orders with: accept, return, report progress, ask for a postponement, resolve; refer
//! a case on, blow the whistle (社区吹哨) and report in (部门报到).
//!
//! Every request names the case and the actor (a department or a grid worker). The actor is
//! checked against the reference data here; whether it is the case's assignee and whether the
//! case is in the right state is the domain's decision, which refuses before anything is
//! written. The command id derives from the request id, so a retried request is recorded once.

use std::sync::Arc;

use gridcase_auth::{require, Authenticator, Caller, Role, RoleKind, TokenTable};
use gridcase_casestore::{CaseStore, CommandContext};
use gridcase_config::ReferenceData;
use gridcase_domain::{
    Assignee, CaseId, Command, DepartmentCode, GridCode, GridLevel, Note, Route, Timestamp, Url,
    Whistler, WorkerId,
};
use gridcase_eventstore::EventStore;
use gridcase_proto::common::v1 as common;
use gridcase_proto::convert::case_reply;
use gridcase_proto::dispatch::v1 as pb;
use gridcase_proto::dispatch::v1::dispatch_server::{Dispatch, DispatchServer};
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use gridcase_casestore::ids::{legacy, request_command_id};
use gridcase_grpc::{ApiError, InvalidInput};

/// The fully qualified gRPC service name, for health reporting.
pub const SERVICE_NAME: &str = "gridcase.dispatch.v1.Dispatch";

/// Most evidence links one resolution may carry.
pub const MAX_EVIDENCE: usize = 20;

/// The dispatch API as routes for the shared gRPC server.
pub fn routes<S: EventStore>(
    store: S,
    reference: Arc<ReferenceData>,
    tokens: Arc<TokenTable>,
) -> Routes {
    Routes::new(DispatchServer::with_interceptor(
        DispatchApi::new(store, reference),
        Authenticator::new(tokens),
    ))
}

/// Who acts on which case, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The case.
    pub case_id: CaseId,
    /// The department or grid worker acting.
    pub assignee: Assignee,
    /// The caller's id for this request.
    pub request_id: String,
}

impl Actor {
    /// Checks the request's `actor` field against the reference data.
    pub fn parse(
        actor: Option<&pb::Actor>,
        reference: &ReferenceData,
    ) -> Result<Self, InvalidInput> {
        let actor = actor.ok_or_else(|| InvalidInput::new("actor", "is required"))?;
        let case_id = CaseId::parse(&actor.case_id).map_err(InvalidInput::at("actor.case_id"))?;
        let given: Vec<&'static str> = [
            ("department", &actor.department),
            ("grid_worker", &actor.grid_worker),
            ("community", &actor.community),
            ("street", &actor.street),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, _)| name)
        .collect();
        let assignee = match given.as_slice() {
            ["department"] => {
                let code = DepartmentCode::parse(&actor.department)
                    .map_err(InvalidInput::at("actor.department"))?;
                if reference.department(&code).is_none() {
                    return Err(InvalidInput::new(
                        "actor.department",
                        format!("{code} is not a known department"),
                    ));
                }
                Assignee::Department(code)
            }
            ["grid_worker"] => {
                let worker = WorkerId::parse(&actor.grid_worker)
                    .map_err(InvalidInput::at("actor.grid_worker"))?;
                if reference.worker(&worker).is_none() {
                    return Err(InvalidInput::new(
                        "actor.grid_worker",
                        format!("{worker} is not a known grid worker"),
                    ));
                }
                Assignee::Worker(worker)
            }
            ["community"] => Assignee::Community(office(
                "actor.community",
                &actor.community,
                GridLevel::Community,
                reference,
            )?),
            ["street"] => Assignee::Street(office(
                "actor.street",
                &actor.street,
                GridLevel::Street,
                reference,
            )?),
            [] => {
                return Err(InvalidInput::new(
                    "actor",
                    "needs a department, grid_worker, community or street",
                ))
            }
            several => {
                return Err(InvalidInput::new(
                    "actor",
                    format!(
                        "give one of department, grid_worker, community or street, not {}",
                        several.join(" and ")
                    ),
                ))
            }
        };
        let request_id = gridcase_grpc::request_id("actor.request_id", &actor.request_id)?;
        Ok(Self {
            case_id,
            assignee,
            request_id: request_id.to_owned(),
        })
    }

    /// The actor as named in refusals: `department:<code>`, `grid_worker:<id>`,
    /// `community:<code>` or `street:<code>`.
    pub fn name(&self) -> String {
        self.assignee.actor_name()
    }
}

/// The community or street office `text` names, at `level` and listed in the reference data.
fn office(
    field: &'static str,
    text: &str,
    level: GridLevel,
    reference: &ReferenceData,
) -> Result<GridCode, InvalidInput> {
    let code = GridCode::parse(text).map_err(InvalidInput::at(field))?;
    if code.level() != level {
        return Err(InvalidInput::new(
            field,
            format!("{code} is a {} code, not a {level} code", code.level()),
        ));
    }
    if reference.grid(&code).is_none() {
        return Err(InvalidInput::new(
            field,
            format!("{code} is not a known {level}"),
        ));
    }
    Ok(code)
}

/// A request of the department API: who acts, and the command it asks of the case.
pub trait ActRequest {
    /// The request's `actor` field, checked by [`Actor::parse`].
    fn actor(&self) -> Option<&pb::Actor>;

    /// The command the request asks for on behalf of `by`, its own fields checked against
    /// `reference`.
    fn command(&self, by: Assignee, reference: &ReferenceData) -> Result<Command, InvalidInput>;
}

impl ActRequest for pb::AcceptRequest {
    fn actor(&self) -> Option<&pb::Actor> {
        self.actor.as_ref()
    }

    fn command(&self, by: Assignee, _: &ReferenceData) -> Result<Command, InvalidInput> {
        Ok(Command::Accept { by })
    }
}

impl ActRequest for pb::ReturnRequest {
    fn actor(&self) -> Option<&pb::Actor> {
        self.actor.as_ref()
    }

    fn command(&self, by: Assignee, _: &ReferenceData) -> Result<Command, InvalidInput> {
        Ok(Command::Return {
            by,
            reason: note("reason", &self.reason)?,
        })
    }
}

impl ActRequest for pb::ReportProgressRequest {
    fn actor(&self) -> Option<&pb::Actor> {
        self.actor.as_ref()
    }

    fn command(&self, by: Assignee, _: &ReferenceData) -> Result<Command, InvalidInput> {
        Ok(Command::ReportProgress {
            by,
            note: note("note", &self.note)?,
        })
    }
}

impl ActRequest for pb::RequestPostponementRequest {
    fn actor(&self) -> Option<&pb::Actor> {
        self.actor.as_ref()
    }

    fn command(&self, by: Assignee, _: &ReferenceData) -> Result<Command, InvalidInput> {
        if self.until_ms <= 0 {
            return Err(InvalidInput::new(
                "until_ms",
                "must be a time after the Unix epoch",
            ));
        }
        Ok(Command::RequestPostponement {
            by,
            until: Timestamp::from_millis(self.until_ms),
            reason: note("reason", &self.reason)?,
        })
    }
}

impl ActRequest for pb::ResolveRequest {
    fn actor(&self) -> Option<&pb::Actor> {
        self.actor.as_ref()
    }

    fn command(&self, by: Assignee, _: &ReferenceData) -> Result<Command, InvalidInput> {
        Ok(Command::Resolve {
            by,
            note: note("note", &self.note)?,
            evidence: evidence(&self.evidence_urls)?,
        })
    }
}

impl ActRequest for pb::ReferRequest {
    fn actor(&self) -> Option<&pb::Actor> {
        self.actor.as_ref()
    }

    fn command(&self, by: Assignee, reference: &ReferenceData) -> Result<Command, InvalidInput> {
        let route = match (self.up, self.department.is_empty()) {
            (true, false) => {
                return Err(InvalidInput::new("up", "give a department or up, not both"))
            }
            (false, true) => {
                return Err(InvalidInput::new(
                    "department",
                    "needs a department to push the case to, or up to hand it to the next tier",
                ))
            }
            (true, true) => {
                if !self.participants.is_empty() {
                    return Err(InvalidInput::new(
                        "participants",
                        "a joint consultation needs its lead department, not up",
                    ));
                }
                next_tier(&by, reference)?
            }
            (false, false) => {
                let lead = known_department("department", &self.department, reference)?;
                if self.participants.is_empty() {
                    Route::Department { department: lead }
                } else {
                    let participants = known_departments(&self.participants, reference)?;
                    Route::joint(lead, participants).map_err(InvalidInput::at("participants"))?
                }
            }
        };
        Ok(Command::Refer {
            by,
            route,
            reason: note("reason", &self.reason)?,
        })
    }
}

/// The range of a report-in time a whistler may name, in minutes.
pub const REPORT_IN_MINUTES: std::ops::RangeInclusive<u32> = 5..=1440;

impl ActRequest for pb::WhistleRequest {
    fn actor(&self) -> Option<&pb::Actor> {
        self.actor.as_ref()
    }

    fn command(&self, by: Assignee, reference: &ReferenceData) -> Result<Command, InvalidInput> {
        let by = match by {
            Assignee::Community(code) => Whistler::Community(code),
            Assignee::Street(code) => Whistler::Street(code),
            Assignee::Department(_) | Assignee::Worker(_) => {
                return Err(InvalidInput::new(
                    "actor",
                    "a community, a street or a grid leader blows the whistle",
                ))
            }
        };
        whistle_command(self, by, reference)
    }
}

/// The whistle `request` asks `by` to blow, its fields checked against `reference`.
fn whistle_command(
    request: &pb::WhistleRequest,
    by: Whistler,
    reference: &ReferenceData,
) -> Result<Command, InvalidInput> {
    if request.lead.is_empty() {
        return Err(InvalidInput::new(
            "lead",
            "a whistle names the department that leads (首接负责) and at least one other",
        ));
    }
    let lead = known_department("lead", &request.lead, reference)?;
    if request.participants.is_empty() {
        return Err(InvalidInput::new(
            "participants",
            "a whistle calls at least one department besides the lead; to push a case to \
                 one department use Refer",
        ));
    }
    let participants = known_departments(&request.participants, reference)?;
    Route::joint(lead.clone(), participants.clone()).map_err(InvalidInput::at("participants"))?;
    let report_in_minutes = match request.report_in_minutes {
        0 => None,
        minutes if REPORT_IN_MINUTES.contains(&minutes) => Some(minutes),
        minutes => {
            return Err(InvalidInput::new(
                "report_in_minutes",
                format!(
                    "must be 0 (the policy's time) or {} to {} minutes, got {minutes}",
                    REPORT_IN_MINUTES.start(),
                    REPORT_IN_MINUTES.end()
                ),
            ))
        }
    };
    Ok(Command::Whistle {
        by,
        lead,
        participants,
        report_in_minutes,
        reason: note("reason", &request.reason)?,
    })
}

impl ActRequest for pb::ReportInRequest {
    fn actor(&self) -> Option<&pb::Actor> {
        self.actor.as_ref()
    }

    fn command(&self, by: Assignee, _: &ReferenceData) -> Result<Command, InvalidInput> {
        let Assignee::Department(department) = by else {
            return Err(InvalidInput::new(
                "actor",
                "a department reports in (报到): give actor.department",
            ));
        };
        Ok(Command::ReportIn {
            department,
            opinion: note("opinion", &self.opinion)?,
            at: gridcase_runtime::now(),
        })
    }
}

/// The tier above `by`: a grid worker's community, a community's street.
fn next_tier(by: &Assignee, reference: &ReferenceData) -> Result<Route, InvalidInput> {
    match by {
        Assignee::Worker(worker) => {
            let community = reference
                .grid_of_worker(worker)
                .and_then(|grid| grid.code.at_level(GridLevel::Community))
                .ok_or_else(|| {
                    InvalidInput::new("up", format!("grid worker {worker} has no community"))
                })?;
            Ok(Route::Community { community })
        }
        Assignee::Community(community) => {
            let street = community
                .parent()
                .ok_or_else(|| InvalidInput::new("up", format!("{community} has no street")))?;
            Ok(Route::Street { street })
        }
        Assignee::Street(_) => Err(InvalidInput::new(
            "up",
            "a street is the top handling tier: push the case to a department",
        )),
        Assignee::Department(_) => Err(InvalidInput::new(
            "up",
            "a department does not hand cases up: it returns a case that is not its own (Return)",
        )),
    }
}

/// The departments of a joint consultation, each checked as `participants[<index>]`.
fn known_departments(
    codes: &[String],
    reference: &ReferenceData,
) -> Result<Vec<DepartmentCode>, InvalidInput> {
    codes
        .iter()
        .enumerate()
        .map(|(index, code)| known_department(&format!("participants[{index}]"), code, reference))
        .collect()
}

fn known_department(
    field: &str,
    text: &str,
    reference: &ReferenceData,
) -> Result<DepartmentCode, InvalidInput> {
    let code = DepartmentCode::parse(text).map_err(InvalidInput::at(field.to_owned()))?;
    if reference.department(&code).is_none() {
        return Err(InvalidInput::new(
            field.to_owned(),
            format!("{code} is not a known department"),
        ));
    }
    Ok(code)
}

fn note(field: &'static str, text: &str) -> Result<Note, InvalidInput> {
    Note::parse_field(field, text).map_err(InvalidInput::at(field))
}

fn evidence(urls: &[String]) -> Result<Vec<Url>, InvalidInput> {
    if urls.len() > MAX_EVIDENCE {
        return Err(InvalidInput::new(
            "evidence_urls",
            format!("at most {MAX_EVIDENCE} links, got {}", urls.len()),
        ));
    }
    urls.iter()
        .enumerate()
        .map(|(index, url)| {
            Url::parse(url).map_err(InvalidInput::at(format!("evidence_urls[{index}]")))
        })
        .collect()
}

/// Who may call the handlers' API: departments for their own work orders, grid workers,
/// communities and streets for the cases waiting on them.
pub const ACT_ROLES: &[RoleKind] = &[
    RoleKind::Department,
    RoleKind::GridWorker,
    RoleKind::Community,
    RoleKind::Street,
];

/// Who may blow the whistle: the community and street offices, on the cases waiting on them,
/// and grid leaders, on the cases waiting on a worker of their grid.
pub const WHISTLE_ROLES: &[RoleKind] =
    &[RoleKind::Community, RoleKind::Street, RoleKind::GridLeader];

/// The dispatch API on a store of cases.
#[derive(Debug)]
pub struct DispatchApi<S> {
    cases: CaseStore<S>,
    reference: Arc<ReferenceData>,
}

impl<S: EventStore> DispatchApi<S> {
    /// The API on `store`, checking actors against `reference`.
    pub fn new(store: S, reference: Arc<ReferenceData>) -> Self {
        Self {
            cases: CaseStore::new(store),
            reference,
        }
    }

    /// Carries out `command` for `actor`: once per request id, on the case's current state.
    /// `recorded_as` is the actor written on the events (the authenticated caller).
    pub async fn act(
        &self,
        case_id: CaseId,
        request_id: &str,
        recorded_as: &str,
        command: Command,
    ) -> Result<common::CaseReply, ApiError> {
        let action = command.action();
        let name = recorded_as.to_owned();
        let command_id = request_command_id(crate::SERVICE, request_id, case_id, action, &name);
        let context = CommandContext::new(command_id, name).also_known_as(
            legacy::dispatch_request(request_id, case_id, action, recorded_as),
        );
        let executed = self
            .cases
            .execute(case_id, &context, |_| Ok(command.clone()))
            .await?;
        let status = executed
            .state
            .status
            .map(|status| status.as_str().to_owned())
            .unwrap_or_default();
        tracing::info!(
            case = %case_id,
            actor = %context.actor,
            action,
            status = %status,
            repeated = executed.repeated,
            "department action recorded"
        );
        Ok(case_reply(
            case_id.to_string(),
            executed.state.status,
            executed.version,
            executed.repeated,
        ))
    }

    /// A grid leader blows the whistle (`actor.grid_leader`): the caller must be that grid's
    /// leader; whether the case waits on a worker of the grid is the domain's decision.
    async fn grid_leader_whistles(
        &self,
        caller: &Caller,
        actor: &pb::Actor,
        message: &pb::WhistleRequest,
    ) -> Result<Response<common::CaseReply>, Status> {
        let checked = (|| -> Result<(CaseId, GridCode, String, Command), InvalidInput> {
            let others: Vec<&str> = [
                ("department", &actor.department),
                ("grid_worker", &actor.grid_worker),
                ("community", &actor.community),
                ("street", &actor.street),
            ]
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, _)| name)
            .collect();
            if let Some(other) = others.first() {
                return Err(InvalidInput::new(
                    "actor",
                    format!("give grid_leader or {other}, not both"),
                ));
            }
            let case_id =
                CaseId::parse(&actor.case_id).map_err(InvalidInput::at("actor.case_id"))?;
            let grid = office(
                "actor.grid_leader",
                &actor.grid_leader,
                GridLevel::Grid,
                &self.reference,
            )?;
            let request_id = gridcase_grpc::request_id("actor.request_id", &actor.request_id)?;
            let command = whistle_command(message, Whistler::GridLeader(grid), &self.reference)?;
            Ok((case_id, grid, request_id.to_owned(), command))
        })();
        let (case_id, grid, request_id, command) = checked.map_err(|e: InvalidInput| {
            tracing::info!(error = %e, "request refused");
            Status::from(ApiError::from(e))
        })?;
        if caller.role != Role::GridLeader(grid.to_string()) {
            return Err(ApiError::PermissionDenied(format!(
                "actor: {} may not act for grid_leader:{grid}",
                caller.actor()
            ))
            .into());
        }
        self.act(case_id, &request_id, &caller.actor(), command)
            .await
            .map(Response::new)
            .map_err(|e| {
                tracing::info!(case = %case_id, error = %e, "action refused");
                Status::from(e)
            })
    }

    async fn answer(
        &self,
        caller: &Caller,
        request: &impl ActRequest,
    ) -> Result<Response<common::CaseReply>, Status> {
        let checked = Actor::parse(request.actor(), &self.reference).and_then(|actor| {
            let command = request.command(actor.assignee.clone(), &self.reference)?;
            Ok((actor, command))
        });
        let (actor, command) = checked.map_err(|e| {
            tracing::info!(error = %e, "request refused");
            Status::from(ApiError::from(e))
        })?;
        // A department acts only for itself, a grid worker only as themselves.
        let acts_for_itself = match (&caller.role, &actor.assignee) {
            (Role::Department(code), Assignee::Department(assignee)) => code == assignee.as_str(),
            (Role::GridWorker(id), Assignee::Worker(worker)) => id == worker.as_str(),
            (Role::Community(code), Assignee::Community(office))
            | (Role::Street(code), Assignee::Street(office)) => *code == office.to_string(),
            _ => false,
        };
        if !acts_for_itself {
            return Err(ApiError::PermissionDenied(format!(
                "actor: {} may not act for {}",
                caller.actor(),
                actor.name()
            ))
            .into());
        }
        self.act(actor.case_id, &actor.request_id, &caller.actor(), command)
            .await
            .map(Response::new)
            .map_err(|e| {
                tracing::info!(case = %actor.case_id, error = %e, "action refused");
                Status::from(e)
            })
    }
}

#[tonic::async_trait]
impl<S: EventStore> Dispatch for DispatchApi<S> {
    #[tracing::instrument(skip_all)]
    async fn accept(
        &self,
        request: Request<pb::AcceptRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "Accept", ACT_ROLES)?.clone();
        self.answer(&caller, request.get_ref()).await
    }

    #[tracing::instrument(skip_all)]
    async fn r#return(
        &self,
        request: Request<pb::ReturnRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "Return", ACT_ROLES)?.clone();
        self.answer(&caller, request.get_ref()).await
    }

    #[tracing::instrument(skip_all)]
    async fn report_progress(
        &self,
        request: Request<pb::ReportProgressRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "ReportProgress", ACT_ROLES)?.clone();
        self.answer(&caller, request.get_ref()).await
    }

    #[tracing::instrument(skip_all)]
    async fn request_postponement(
        &self,
        request: Request<pb::RequestPostponementRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "RequestPostponement", ACT_ROLES)?.clone();
        self.answer(&caller, request.get_ref()).await
    }

    #[tracing::instrument(skip_all)]
    async fn resolve(
        &self,
        request: Request<pb::ResolveRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "Resolve", ACT_ROLES)?.clone();
        self.answer(&caller, request.get_ref()).await
    }

    #[tracing::instrument(skip_all)]
    async fn refer(
        &self,
        request: Request<pb::ReferRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "Refer", ACT_ROLES)?.clone();
        self.answer(&caller, request.get_ref()).await
    }

    #[tracing::instrument(skip_all)]
    async fn whistle(
        &self,
        request: Request<pb::WhistleRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "Whistle", WHISTLE_ROLES)?.clone();
        let message = request.get_ref();
        match message.actor.as_ref() {
            Some(actor) if !actor.grid_leader.is_empty() => {
                self.grid_leader_whistles(&caller, actor, message).await
            }
            _ => self.answer(&caller, message).await,
        }
    }

    #[tracing::instrument(skip_all)]
    async fn report_in(
        &self,
        request: Request<pb::ReportInRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "ReportIn", &[RoleKind::Department])?.clone();
        self.answer(&caller, request.get_ref()).await
    }
}
