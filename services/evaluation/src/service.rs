//! The gRPC `Evaluation` service: on-site verification, residents' ratings, closing, the grid's
//! ratings of the departments (网格评部门), and indicators per department.
//!
//! Whether the case is in the right state is the domain's decision, which refuses before
//! anything is written. Command ids derive from the request id (and the step, for a rating
//! that also closes or reopens), so a retried request is recorded once.

use std::sync::Arc;

use gridcase_auth::{require, Authenticator, Caller, Role, RoleKind, TokenTable};
use gridcase_casestore::{CaseStore, CommandContext};
use gridcase_config::ReferenceData;
use gridcase_domain::{
    CaseId, Command, DepartmentCode, GridCode, Note, RatingScore, Timestamp, WorkerId,
};
use gridcase_eventstore::EventStore;
use gridcase_proto::common::v1 as common;
use gridcase_proto::convert::case_reply;
use gridcase_proto::evaluation::v1 as pb;
use gridcase_proto::evaluation::v1::evaluation_server::{Evaluation, EvaluationServer};
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use gridcase_casestore::ids::{legacy, request_command_id};
use gridcase_eventstore::StoreError;
use gridcase_grpc::{ApiError, InvalidInput};
use gridcase_rules::indicators::DepartmentIndicators;

use crate::indicators::IndicatorModel;

/// The fully qualified gRPC service name, for health reporting.
pub const SERVICE_NAME: &str = "gridcase.evaluation.v1.Evaluation";

/// How long a request for indicators waits for the tally to reach the log's head.
pub const INDICATOR_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Who may report an on-site check: grid workers (never on a case they settled themselves),
/// community offices (for those) and administrators.
pub const VERIFY_ROLES: &[RoleKind] = &[RoleKind::GridWorker, RoleKind::Community, RoleKind::Admin];
/// Who may record a resident's rating: the QR gateway and callback operators.
pub const RATE_ROLES: &[RoleKind] = &[RoleKind::Gateway, RoleKind::Operator, RoleKind::Admin];
/// Who may close a verified case without a rating.
pub const CLOSE_ROLES: &[RoleKind] = &[RoleKind::Operator, RoleKind::Supervisor, RoleKind::Admin];
/// Who may rate a department's handling of a closed case (网格评部门): grid workers, in their
/// own name only; the rating is the grid's word, so nobody gives it on a worker's behalf.
pub const RATE_DEPARTMENT_ROLES: &[RoleKind] = &[RoleKind::GridWorker];
/// The prefix of the reason recorded when a resident says the problem is not resolved.
pub const NOT_RESOLVED_REASON: &str = "resident says not resolved";

/// The evaluation API as routes for the shared gRPC server.
pub fn routes<S: EventStore>(
    store: S,
    reference: Arc<ReferenceData>,
    indicators: Arc<IndicatorModel>,
    tokens: Arc<TokenTable>,
) -> Routes {
    Routes::new(EvaluationServer::with_interceptor(
        EvaluationApi::new(store, reference, indicators),
        Authenticator::new(tokens),
    ))
}

fn case_id(text: &str) -> Result<CaseId, InvalidInput> {
    CaseId::parse(text).map_err(InvalidInput::at("case_id"))
}

fn request_id(text: &str) -> Result<String, InvalidInput> {
    gridcase_grpc::request_id("request_id", text).map(str::to_owned)
}

/// An optional text: empty (after trimming) is absent.
fn optional_note(field: &'static str, text: &str) -> Result<Option<Note>, InvalidInput> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    Note::parse_field(field, text)
        .map(Some)
        .map_err(InvalidInput::at(field))
}

fn score(score: u32) -> Result<u8, InvalidInput> {
    match u8::try_from(score) {
        Ok(score @ 1..=5) => Ok(score),
        _ => Err(InvalidInput::new(
            "score",
            format!("must be 1 to 5, got {score}"),
        )),
    }
}

/// The case and request id of a `VerifyCase` request, checked.
pub fn verify_request(request: &pb::VerifyCaseRequest) -> Result<(CaseId, String), InvalidInput> {
    Ok((case_id(&request.case_id)?, request_id(&request.request_id)?))
}

/// The command a `VerifyCase` request asks of verifier `by`: a passed check with an optional
/// note, or a failed one whose note says what is still wrong.
pub fn verify_command(
    request: &pb::VerifyCaseRequest,
    by: WorkerId,
) -> Result<Command, InvalidInput> {
    if request.passed {
        let note = optional_note("note", &request.note)?;
        Ok(Command::Verify { by, note })
    } else {
        let reason = Note::parse_field("note", &request.note).map_err(InvalidInput::at("note"))?;
        Ok(Command::FailVerification { by, reason })
    }
}

/// The case, score, comment and request id of a `RecordRating` request, checked.
pub fn rating_request(
    request: &pb::RecordRatingRequest,
) -> Result<(CaseId, u8, Option<Note>, String), InvalidInput> {
    let case = case_id(&request.case_id)?;
    let score = score(request.score)?;
    let comment = optional_note("comment", &request.comment)?;
    let request_id = request_id(&request.request_id)?;
    Ok((case, score, comment, request_id))
}

/// The case and request id of a `CloseCase` request, checked.
pub fn close_request(request: &pb::CloseCaseRequest) -> Result<(CaseId, String), InvalidInput> {
    Ok((case_id(&request.case_id)?, request_id(&request.request_id)?))
}

/// A `RateDepartment` request, checked: what is rated, before who rates and when are known.
#[derive(Debug, Clone, PartialEq)]
pub struct DepartmentRating {
    /// The case.
    pub case: CaseId,
    /// The caller's request id.
    pub request_id: String,
    /// The department rated, known to the reference data.
    pub department: DepartmentCode,
    /// How quickly it acted.
    pub timeliness: RatingScore,
    /// How it dealt with the residents and the grid.
    pub attitude: RatingScore,
    /// Whether the problem is really fixed.
    pub result: RatingScore,
    /// What the grid worker adds.
    pub note: Option<Note>,
}

impl DepartmentRating {
    /// The command for grid worker `by`, who works in `grid`, rating at `at`.
    pub fn command(self, by: WorkerId, grid: GridCode, at: Timestamp) -> Command {
        Command::RateDepartment {
            by,
            grid,
            department: self.department,
            timeliness: self.timeliness,
            attitude: self.attitude,
            result: self.result,
            note: self.note,
            at,
        }
    }
}

/// Checks every field of a `RateDepartment` request, in the order the message lists them; the
/// department must be one of `reference`'s.
pub fn department_rating_request(
    request: &pb::RateDepartmentRequest,
    reference: &ReferenceData,
) -> Result<DepartmentRating, InvalidInput> {
    let request_id = request_id(&request.request_id)?;
    let case = case_id(&request.case_id)?;
    let department = DepartmentCode::parse(&request.department_code)
        .map_err(InvalidInput::at("department_code"))?;
    if reference.department(&department).is_none() {
        return Err(InvalidInput::new(
            "department_code",
            format!("{department} is not a known department"),
        ));
    }
    let mark = |field, value| RatingScore::new(field, value).map_err(InvalidInput::at(field));
    Ok(DepartmentRating {
        case,
        request_id,
        department,
        timeliness: mark("timeliness", request.timeliness)?,
        attitude: mark("attitude", request.attitude)?,
        result: mark("result", request.result)?,
        note: optional_note("note", &request.note)?,
    })
}

/// The reason recorded on the reopen after a "not resolved" rating, within a note's length.
pub fn not_resolved_reason(comment: Option<&Note>) -> Note {
    let text = match comment {
        Some(comment) => format!("{NOT_RESOLVED_REASON}: {comment}"),
        None => NOT_RESOLVED_REASON.to_owned(),
    };
    let text: String = text.chars().take(Note::MAX_CHARS).collect();
    Note::parse(&text).unwrap_or_else(|_| {
        Note::parse(NOT_RESOLVED_REASON).expect("the fixed reason is a valid note")
    })
}

/// The evaluation API on a store of cases.
#[derive(Debug)]
pub struct EvaluationApi<S> {
    cases: CaseStore<S>,
    reference: Arc<ReferenceData>,
    indicators: Arc<IndicatorModel>,
}

impl<S: EventStore> EvaluationApi<S> {
    /// The API on `store`, with the grid workers and indicator weights of `reference`, reading
    /// indicators from `indicators` (kept live by a follower of the store's log).
    pub fn new(store: S, reference: Arc<ReferenceData>, indicators: Arc<IndicatorModel>) -> Self {
        Self {
            cases: CaseStore::new(store),
            reference,
            indicators,
        }
    }

    /// Carries out `command` on `case` once per (request id, step, actor).
    async fn step(
        &self,
        case: CaseId,
        request_id: &str,
        actor: &str,
        command: Command,
    ) -> Result<common::CaseReply, ApiError> {
        let action = command.action();
        let command_id = request_command_id(crate::SERVICE, request_id, case, action, actor);
        let context = CommandContext::new(command_id, actor)
            .also_known_as(legacy::evaluation_request(request_id, case, action, actor));
        let executed = self
            .cases
            .execute(case, &context, |_| Ok(command.clone()))
            .await?;
        let status = executed
            .state
            .status
            .map(|status| status.as_str().to_owned())
            .unwrap_or_default();
        tracing::info!(
            case = %case,
            actor,
            action,
            status = %status,
            repeated = executed.repeated,
            "evaluation recorded"
        );
        Ok(case_reply(
            case.to_string(),
            executed.state.status,
            executed.version,
            executed.repeated,
        ))
    }

    /// The worker a verification is recorded for: the calling grid worker, or an admin whose
    /// caller id is a worker id.
    fn verifier(&self, caller: &Caller) -> Result<WorkerId, ApiError> {
        let id = match &caller.role {
            Role::GridWorker(id) => id.as_str(),
            _ => caller.id.as_str(),
        };
        let worker = WorkerId::parse(id).map_err(|_| {
            ApiError::PermissionDenied(format!("{} is not a grid worker", caller.actor()))
        })?;
        if matches!(caller.role, Role::GridWorker(_)) && self.reference.worker(&worker).is_none() {
            return Err(ApiError::PermissionDenied(format!(
                "{worker} is not a known grid worker"
            )));
        }
        Ok(worker)
    }

    /// The grid worker a department rating is given by, and the grid or micro-grid they work
    /// in: the calling grid worker, known to the reference data.
    fn rater(&self, caller: &Caller) -> Result<(WorkerId, GridCode), ApiError> {
        let unknown =
            || ApiError::PermissionDenied(format!("{} is not a known grid worker", caller.id));
        let Role::GridWorker(id) = &caller.role else {
            return Err(ApiError::PermissionDenied(format!(
                "{} is not a grid worker",
                caller.actor()
            )));
        };
        let worker = WorkerId::parse(id).map_err(|_| unknown())?;
        let area = self.reference.grid_of_worker(&worker).ok_or_else(unknown)?;
        Ok((worker, area.code))
    }

    /// Indicators per department over the cases reported in `[from_ms, to_ms)`, from the
    /// model's buckets once it has folded everything committed before the request.
    pub async fn department_indicators(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<(Vec<DepartmentIndicators>, u64), ApiError> {
        if to_ms <= from_ms {
            return Err(InvalidInput::new("to_ms", "must be after from_ms").into());
        }
        // Everything committed before the request counts: wait for the tally to reach the
        // head the store reports now (usually it is there already).
        let heads = self.cases.store().heads().await?;
        if !self.indicators.wait_for(&heads, INDICATOR_PATIENCE).await {
            return Err(StoreError::Unavailable(format!(
                "the indicators are still reading the log up to {heads:?}; try again shortly"
            ))
            .into());
        }
        Ok(self
            .indicators
            .report(from_ms, to_ms, self.reference.indicator_weights())?)
    }
}

fn refused(error: ApiError) -> Status {
    tracing::info!(error = %error, "request refused");
    Status::from(error)
}

#[tonic::async_trait]
impl<S: EventStore> Evaluation for EvaluationApi<S> {
    #[tracing::instrument(skip_all)]
    async fn verify_case(
        &self,
        request: Request<pb::VerifyCaseRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "VerifyCase", VERIFY_ROLES)?.clone();
        let request = request.into_inner();
        let (case, request_id) = verify_request(&request).map_err(|e| refused(e.into()))?;
        let by = self.verifier(&caller)?;
        let command = verify_command(&request, by).map_err(|e| refused(e.into()))?;
        self.step(case, &request_id, &caller.actor(), command)
            .await
            .map(Response::new)
            .map_err(refused)
    }

    #[tracing::instrument(skip_all)]
    async fn record_rating(
        &self,
        request: Request<pb::RecordRatingRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "RecordRating", RATE_ROLES)?.clone();
        let request = request.into_inner();
        let (case, score, comment, request_id) =
            rating_request(&request).map_err(|e| refused(e.into()))?;
        let actor = caller.actor();
        let next = if request.resolved {
            Command::Close { by: None }
        } else {
            Command::Reopen {
                reason: not_resolved_reason(comment.as_ref()),
            }
        };
        let rate = Command::RecordSatisfaction {
            resolved: request.resolved,
            satisfied: request.satisfied,
            score,
            comment,
        };
        let rated = self
            .step(case, &request_id, &actor, rate)
            .await
            .map_err(refused)?;
        let finished = self
            .step(case, &request_id, &actor, next)
            .await
            .map_err(refused)?;
        Ok(Response::new(common::CaseReply {
            repeated: rated.repeated && finished.repeated,
            ..finished
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn close_case(
        &self,
        request: Request<pb::CloseCaseRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "CloseCase", CLOSE_ROLES)?.clone();
        let request = request.into_inner();
        let (case, request_id) = close_request(&request).map_err(|e| refused(e.into()))?;
        let by = WorkerId::parse(&caller.id).ok();
        self.step(case, &request_id, &caller.actor(), Command::Close { by })
            .await
            .map(Response::new)
            .map_err(refused)
    }

    #[tracing::instrument(skip_all)]
    async fn rate_department(
        &self,
        request: Request<pb::RateDepartmentRequest>,
    ) -> Result<Response<common::CaseReply>, Status> {
        let caller = require(&request, "RateDepartment", RATE_DEPARTMENT_ROLES)?.clone();
        let request = request.into_inner();
        let rating =
            department_rating_request(&request, &self.reference).map_err(|e| refused(e.into()))?;
        let (by, grid) = self.rater(&caller).map_err(refused)?;
        let (case, request_id) = (rating.case, rating.request_id.clone());
        let command = rating.command(by, grid, gridcase_runtime::now());
        self.step(case, &request_id, &caller.actor(), command)
            .await
            .map(Response::new)
            .map_err(refused)
    }

    #[tracing::instrument(skip_all)]
    async fn department_indicators(
        &self,
        request: Request<pb::DepartmentIndicatorsRequest>,
    ) -> Result<Response<pb::DepartmentIndicatorsReply>, Status> {
        require(
            &request,
            "DepartmentIndicators",
            gridcase_auth::INDICATOR_READERS,
        )?;
        let request = request.into_inner();
        let (report, events_read) =
            EvaluationApi::department_indicators(self, request.from_ms, request.to_ms)
                .await
                .map_err(refused)?;
        Ok(Response::new(gridcase_proto::convert::indicators_reply(
            request.from_ms,
            request.to_ms,
            report,
            events_read,
            self.reference.indicator_settings().min_cases_for_ranking,
        )))
    }
}
