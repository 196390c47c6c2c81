//! The gRPC `Triage` service: the manual triage queue for operators (综合研判).
//!
//! Callers authenticate with a bearer token: operators and admins triage and reject, and
//! supervisors may also read the queue. Decisions record the caller as their actor.

use std::sync::Arc;

use gridcase_auth::{require, Authenticator, RoleKind, TokenTable};
use gridcase_casestore::ids::{legacy, request_command_id};
use gridcase_casestore::{CaseStore, CommandContext, Executed, LoadedCase};
use gridcase_config::ReferenceData;
use gridcase_domain::{
    CaseId, CaseStatus, CategoryCode, Command, DepartmentCode, DomainError, Event, GridCode, Note,
    Priority, Route, Timestamp, WorkerId,
};
use gridcase_eventstore::EventStore;
use gridcase_grpc::ApiError;
use gridcase_proto::triage::v1 as pb;
use gridcase_proto::triage::v1::triage_case_request::Route as PbRoute;
use gridcase_proto::triage::v1::triage_server::{Triage, TriageServer};
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use crate::cache::{CachedCase, CaseCache};
use crate::classifier::{Classifier, ClassifierSlot};
use crate::decision::{self, route_words, Decision};
use crate::worker::reporting_worker;

/// The fully qualified gRPC service name, for health reporting.
pub const SERVICE_NAME: &str = "gridcase.triage.v1.Triage";
/// Who may read the manual queue.
pub const LIST_ROLES: &[RoleKind] = &[RoleKind::Operator, RoleKind::Supervisor, RoleKind::Admin];
/// Who may triage or reject a case.
pub const DECIDE_ROLES: &[RoleKind] = &[RoleKind::Operator, RoleKind::Admin];
/// Queue items returned when the request asks for none in particular.
pub const DEFAULT_LIMIT: u32 = 100;
/// Most queue items returned at once.
pub const MAX_LIMIT: u32 = 500;

/// The triage API on a store of cases.
#[derive(Debug)]
pub struct TriageApi<S> {
    cases: CaseStore<S>,
    refdata: Arc<ReferenceData>,
    classifier: Arc<ClassifierSlot>,
    cache: Arc<CaseCache>,
}

/// The triage service as routes for the shared gRPC server, authenticating callers against
/// `tokens`.
pub fn routes<S: EventStore>(
    store: S,
    refdata: Arc<ReferenceData>,
    classifier: Arc<ClassifierSlot>,
    cache: Arc<CaseCache>,
    tokens: Arc<TokenTable>,
) -> Routes {
    Routes::new(TriageServer::with_interceptor(
        TriageApi::new(store, refdata, classifier, cache),
        Authenticator::new(tokens),
    ))
}

/// An operator's triage, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorTriage {
    /// The case.
    pub case_id: CaseId,
    /// The chosen category (in the catalogue).
    pub category: CategoryCode,
    /// The chosen priority, `None` for the rules' priority.
    pub priority: Option<Priority>,
    /// The chosen route, `None` for the rules' route.
    pub route: Option<Route>,
    /// The operator's request id.
    pub request_id: String,
}

impl<S: EventStore> TriageApi<S> {
    /// The API on `store`, checking requests against `refdata`, suggesting with `classifier`,
    /// listing from `cache`.
    pub fn new(
        store: S,
        refdata: Arc<ReferenceData>,
        classifier: Arc<ClassifierSlot>,
        cache: Arc<CaseCache>,
    ) -> Self {
        Self {
            cases: CaseStore::new(store),
            refdata,
            classifier,
            cache,
        }
    }

    /// The cases awaiting triage that the rules cannot decide (from the cache's index of the
    /// cases awaiting triage, within `grid` if given): emergencies first, earliest triage
    /// deadline first, then the others, oldest first.
    pub fn manual_queue(&self, grid: Option<GridCode>, limit: usize) -> Vec<pb::QueuedCase> {
        let waiting = self.cache.awaiting_triage(grid.as_ref());
        let classifier = self.classifier.current();
        let mut queued: Vec<(QueueOrder, pb::QueuedCase)> = waiting
            .iter()
            .filter_map(|case| self.queued(&classifier, case))
            .collect();
        queued.sort_by_key(|(order, _)| *order);
        queued
            .into_iter()
            .take(limit)
            .map(|(_, item)| item)
            .collect()
    }

    fn queued(
        &self,
        classifier: &Classifier,
        case: &CachedCase,
    ) -> Option<(QueueOrder, pb::QueuedCase)> {
        let state = &case.state;
        let case_id = state.case_id?;
        let reported_at = state.reported_at.unwrap_or(Timestamp::from_millis(0));
        let (reason, suggestions, because, danger) =
            match decision::decide(&self.refdata, classifier, case.view(), [], false, 0) {
                Decision::Manual {
                    reason,
                    suggestions,
                    because,
                    danger,
                } => (reason, suggestions, because, danger),
                // The rules would decide it now: the feed worker is about to, unless it waited
                // here before a newer model was loaded. A flagged emergency, or a case that has
                // waited longer than the worker ever takes, stays listed until someone acts.
                Decision::Triage {
                    category, model, ..
                } if state.triage_deadline.is_some() || waited_long(reported_at) => (
                    format!(
                        "waiting since before model {}, which would route it",
                        classifier.version()
                    ),
                    vec![crate::classifier::Suggestion {
                        category,
                        confidence: model.map_or(1.0, |model| f64::from(model.confidence) / 1000.0),
                    }],
                    Vec::new(),
                    gridcase_rules::recognise(&case.description),
                ),
                _ => return None,
            };
        // A flagged case keeps the danger it was flagged for; an unflagged one shows what the
        // rules see in it now (an urgent hazard, or a danger a newer rule recognises).
        let (danger_name, danger_reason) = match (state.danger, &danger) {
            (Some(flagged), _) => (
                flagged.to_string(),
                danger
                    .as_ref()
                    .filter(|recognised| recognised.danger == flagged)
                    .map(gridcase_rules::Recognised::reason)
                    .unwrap_or_else(|| flagged.label_zh().to_owned()),
            ),
            (None, Some(recognised)) => (recognised.danger.to_string(), recognised.reason()),
            (None, None) => (String::new(), String::new()),
        };
        let emergency = state.priority == Some(Priority::Emergency)
            || danger
                .as_ref()
                .is_some_and(|recognised| recognised.priority() == Priority::Emergency);
        let order = QueueOrder {
            not_emergency: !emergency,
            triage_by: state.triage_deadline.unwrap_or(reported_at),
            reported_at,
            case_id,
        };
        let item = pb::QueuedCase {
            case_id: case_id.to_string(),
            tracking_code: state
                .tracking_code
                .map(|code| code.to_string())
                .unwrap_or_default(),
            description: case.description.clone(),
            grid_code: state
                .location
                .as_ref()
                .and_then(|location| location.grid())
                .map(|grid| grid.to_string())
                .unwrap_or_default(),
            reason,
            reported_at_ms: reported_at.as_millis(),
            suggested_categories: suggestions
                .iter()
                .map(|suggestion| suggestion.category.to_string())
                .collect(),
            suggestions: suggestions
                .iter()
                .map(|suggestion| pb::Suggestion {
                    category_code: suggestion.category.to_string(),
                    name: self
                        .refdata
                        .category(&suggestion.category)
                        .map(|category| category.name.clone())
                        .unwrap_or_default(),
                    confidence: suggestion.confidence,
                })
                .collect(),
            because,
            model_version: classifier.version().to_owned(),
            danger: danger_name,
            danger_reason,
            triage_by_ms: state.triage_deadline.map_or(0, |at| at.as_millis()),
            priority: if emergency {
                Priority::Emergency.to_string()
            } else {
                String::new()
            },
        };
        Some((order, item))
    }

    /// Records an operator's triage of a case awaiting it.
    pub async fn triage(&self, request: OperatorTriage, actor: &str) -> Result<Executed, ApiError> {
        let case = request.case_id;
        let loaded = self.load_existing(case).await?;
        let context = operator_context(case, &request.request_id, "triage", actor);
        let repeated = loaded.has_recorded(&context);
        if !repeated {
            require_awaiting_triage(&loaded, "triage")?;
        }
        let description = description(&loaded);
        let (priority, priority_reason) = match request.priority {
            Some(priority) => (priority, None),
            None => {
                let decided =
                    gridcase_rules::priority(&self.refdata, Some(&request.category), &description);
                (decided.priority, decided.reason())
            }
        };
        let route = match request.route {
            Some(route) => route,
            None => {
                let grid = loaded
                    .state
                    .location
                    .as_ref()
                    .and_then(|location| location.grid());
                gridcase_rules::route(
                    &self.refdata,
                    &request.category,
                    grid.as_ref(),
                    &loaded.state.returned_by,
                    reporting_worker(&loaded).as_ref(),
                )
                .map_err(|e| ApiError::refused("route", e.to_string()))?
                .route
            }
        };
        let command = Command::Triage {
            category: request.category,
            priority,
            route,
            triaged_by: operator_id(actor),
            model: None,
            priority_reason: priority_reason.and_then(|text| Note::parse(&text).ok()),
        };
        let executed = self
            .cases
            .execute(case, &context, |_| Ok(command.clone()))
            .await?;
        Ok(executed)
    }

    /// Records an operator's rejection of a case awaiting triage.
    pub async fn reject(
        &self,
        case: CaseId,
        reason: Note,
        request_id: &str,
        actor: &str,
    ) -> Result<Executed, ApiError> {
        let loaded = self.load_existing(case).await?;
        let context = operator_context(case, request_id, "reject", actor);
        if !loaded.has_recorded(&context) {
            require_awaiting_triage(&loaded, "reject")?;
        }
        let command = Command::Reject { reason };
        let executed = self
            .cases
            .execute(case, &context, |_| Ok(command.clone()))
            .await?;
        Ok(executed)
    }

    async fn load_existing(&self, case: CaseId) -> Result<LoadedCase, ApiError> {
        let loaded = self.cases.load(case).await?;
        if loaded.state.exists() {
            Ok(loaded)
        } else {
            Err(ApiError::NotFound(format!("case_id: no case {case}")))
        }
    }
}

/// Checks an operator's triage request on its own and against the reference data.
pub fn validate_triage(
    refdata: &ReferenceData,
    request: pb::TriageCaseRequest,
) -> Result<OperatorTriage, ApiError> {
    let case_id = parse_case_id(&request.case_id)?;
    let category = CategoryCode::parse(&request.category_code)
        .map_err(|e| ApiError::invalid("category_code", e.reason))?;
    let entry = refdata.category(&category).ok_or_else(|| {
        ApiError::invalid(
            "category_code",
            format!("{category} is not in the catalogue"),
        )
    })?;
    let priority = match request.priority.as_str() {
        "" => None,
        text => Some(Priority::parse(text).map_err(|e| ApiError::invalid("priority", e.reason))?),
    };
    let route = match request.route {
        None => None,
        Some(PbRoute::SelfHandleWorker(worker)) => {
            let field = "route.self_handle_worker";
            let worker =
                WorkerId::parse(&worker).map_err(|e| ApiError::invalid(field, e.reason))?;
            if refdata.worker(&worker).is_none() {
                return Err(ApiError::invalid(field, format!("no grid worker {worker}")));
            }
            if !entry.self_handle {
                return Err(ApiError::invalid(
                    field,
                    format!("category {category} may not be self-handled"),
                ));
            }
            Some(Route::SelfHandle { worker })
        }
        Some(PbRoute::Department(code)) => Some(Route::Department {
            department: department(refdata, "route.department", &code)?,
        }),
        Some(PbRoute::Joint(joint)) => {
            let lead = department(refdata, "route.joint.lead", &joint.lead)?;
            let participants = joint
                .participants
                .iter()
                .map(|code| department(refdata, "route.joint.participants", code))
                .collect::<Result<Vec<_>, _>>()?;
            let route = Route::joint(lead, participants)
                .map_err(|e| ApiError::invalid("route.joint.participants", e.reason))?;
            Some(route)
        }
    };
    let request_id = parse_request_id(&request.request_id)?;
    Ok(OperatorTriage {
        case_id,
        category,
        priority,
        route,
        request_id,
    })
}

fn department(
    refdata: &ReferenceData,
    field: &'static str,
    code: &str,
) -> Result<DepartmentCode, ApiError> {
    let department = DepartmentCode::parse(code).map_err(|e| ApiError::invalid(field, e.reason))?;
    if refdata.department(&department).is_none() {
        return Err(ApiError::invalid(
            field,
            format!("no department {department}"),
        ));
    }
    Ok(department)
}

/// The grid and number of items a `ListManualQueue` request asks for, checked against the
/// reference data.
pub fn queue_request(
    refdata: &ReferenceData,
    request: &pb::ListManualQueueRequest,
) -> Result<(Option<GridCode>, u32), ApiError> {
    let grid = match request.grid_code.as_str() {
        "" => None,
        code => {
            let grid =
                GridCode::parse(code).map_err(|e| ApiError::invalid("grid_code", e.reason))?;
            // A typo must not look like an empty queue.
            if refdata.grid(&grid).is_none() {
                return Err(ApiError::invalid(
                    "grid_code",
                    format!("{grid} is not a known grid"),
                ));
            }
            Some(grid)
        }
    };
    let limit = match request.limit {
        0 => DEFAULT_LIMIT,
        limit @ 1..=MAX_LIMIT => limit,
        limit => {
            return Err(ApiError::invalid(
                "limit",
                format!("must be 1 to {MAX_LIMIT}, got {limit}"),
            ))
        }
    };
    Ok((grid, limit))
}

/// The case, reason and request id of a `RejectCase` request, checked.
pub fn reject_request(request: &pb::RejectCaseRequest) -> Result<(CaseId, Note, String), ApiError> {
    let case = parse_case_id(&request.case_id)?;
    let reason = Note::parse_field("reason", &request.reason).map_err(ApiError::from)?;
    let request_id = parse_request_id(&request.request_id)?;
    Ok((case, reason, request_id))
}

/// How long a case may await triage before the queue lists it even though the rules could
/// decide it: far longer than the feed worker takes.
const LEFT_BEHIND_MS: i64 = 60_000;

/// True if a case reported at `reported_at` has waited longer than the feed worker ever takes.
fn waited_long(reported_at: Timestamp) -> bool {
    gridcase_runtime::now().millis_since(&reported_at) > LEFT_BEHIND_MS
}

/// Where a case stands in the manual queue: emergencies first, then the others, each by triage
/// deadline (the manual queue's for the others: the longest waiting first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct QueueOrder {
    not_emergency: bool,
    triage_by: Timestamp,
    reported_at: Timestamp,
    case_id: CaseId,
}

/// The operator behind `actor` (`operator:<id>`), when the id is a worker id: recorded as who
/// triaged, which makes the case a labelled example for the next model.
fn operator_id(actor: &str) -> Option<WorkerId> {
    let (_, id) = actor.split_once(':')?;
    WorkerId::parse(id).ok()
}

fn parse_case_id(text: &str) -> Result<CaseId, ApiError> {
    CaseId::parse(text).map_err(|e| ApiError::invalid("case_id", e.reason))
}

fn parse_request_id(text: &str) -> Result<String, ApiError> {
    gridcase_grpc::request_id("request_id", text)
        .map(str::to_owned)
        .map_err(|e| ApiError::invalid("request_id", e.reason))
}

/// The context of an operator's `action` on `case` under `request_id`.
fn operator_context(case: CaseId, request_id: &str, action: &str, actor: &str) -> CommandContext {
    let command_id = request_command_id(crate::SERVICE, request_id, case, action, actor);
    CommandContext::new(command_id, actor).also_known_as(legacy::triage_operator(case, request_id))
}

/// The domain's refusal of `action` on a case that does not await triage.
fn require_awaiting_triage(loaded: &LoadedCase, action: &'static str) -> Result<(), ApiError> {
    match loaded.state.status {
        Some(CaseStatus::Reported) | None => Ok(()),
        Some(status) => Err(DomainError::WrongStatus {
            action,
            status,
            expected: "reported",
        }
        .into()),
    }
}

fn description(loaded: &LoadedCase) -> String {
    loaded
        .timeline
        .iter()
        .find_map(|entry| match &entry.event {
            Event::CaseReported(reported) => Some(reported.description.as_str().to_owned()),
            _ => None,
        })
        .unwrap_or_default()
}

fn response(case: CaseId, executed: &Executed) -> pb::TriageCaseResponse {
    pb::TriageCaseResponse {
        case_id: case.to_string(),
        status: gridcase_proto::convert::case_status(executed.state.status),
        route: executed
            .state
            .route
            .as_ref()
            .map(route_words)
            .unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl<S: EventStore> Triage for TriageApi<S> {
    #[tracing::instrument(skip_all, fields(grid = %request.get_ref().grid_code))]
    async fn list_manual_queue(
        &self,
        request: Request<pb::ListManualQueueRequest>,
    ) -> Result<Response<pb::ListManualQueueResponse>, Status> {
        require(&request, "ListManualQueue", LIST_ROLES)?;
        let (grid, limit) = queue_request(&self.refdata, request.get_ref())?;
        let cases = self.manual_queue(grid, limit as usize);
        Ok(Response::new(pb::ListManualQueueResponse { cases }))
    }

    #[tracing::instrument(
        skip_all,
        fields(case = %request.get_ref().case_id, request_id = %request.get_ref().request_id)
    )]
    async fn triage_case(
        &self,
        request: Request<pb::TriageCaseRequest>,
    ) -> Result<Response<pb::TriageCaseResponse>, Status> {
        let actor = require(&request, "TriageCase", DECIDE_ROLES)?.actor();
        let triage = validate_triage(&self.refdata, request.into_inner()).map_err(|e| {
            tracing::info!(error = %e, "triage refused");
            Status::from(e)
        })?;
        let case = triage.case_id;
        let executed = self.triage(triage, &actor).await.map_err(|e| {
            tracing::info!(error = %e, "triage failed");
            Status::from(e)
        })?;
        tracing::info!(
            case = %case,
            category = ?executed.state.category,
            route = ?executed.state.route,
            repeated = executed.repeated,
            actor,
            "triaged"
        );
        Ok(Response::new(response(case, &executed)))
    }

    #[tracing::instrument(
        skip_all,
        fields(case = %request.get_ref().case_id, request_id = %request.get_ref().request_id)
    )]
    async fn reject_case(
        &self,
        request: Request<pb::RejectCaseRequest>,
    ) -> Result<Response<pb::TriageCaseResponse>, Status> {
        let actor = require(&request, "RejectCase", DECIDE_ROLES)?.actor();
        let (case, reason, request_id) = reject_request(request.get_ref())?;
        let executed = self
            .reject(case, reason, &request_id, &actor)
            .await
            .map_err(|e| {
                tracing::info!(error = %e, "reject failed");
                Status::from(e)
            })?;
        tracing::info!(case = %case, repeated = executed.repeated, actor, "rejected");
        Ok(Response::new(response(case, &executed)))
    }
}
