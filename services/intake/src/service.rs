//! The gRPC `Intake` service: report a case, ask its status by tracking code.
//!
//! Every call carries a bearer token; the role it maps to decides which RPCs it may call
//! ([`REPORT_CASE_ROLES`], [`GET_CASE_STATUS_ROLES`]) and becomes the actor of what it writes.

use std::sync::Arc;

use gridcase_auth::{require, Authenticator, Caller, Role, RoleKind, TokenTable};
use gridcase_casestore::people::{PeopleStore, PeopleStoreError};
use gridcase_casestore::{CaseError, CaseStore, CommandContext, LoadedCase};
use gridcase_config::ReferenceData;
use gridcase_domain::{CaseId, Channel, DomainError, MemberId, Timestamp, TrackingCode};
use gridcase_eventstore::{EventStore, StoreError};
use gridcase_proto::intake::v1 as pb;
use gridcase_proto::intake::v1::intake_server::{Intake, IntakeServer};
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use crate::ids::{case_id_for, report_command_id, shard_of_report};
use crate::report::{InvalidInput, NewReport};
use crate::tracking;
use gridcase_bus::ShardMap;
use gridcase_casestore::ids::legacy;
use gridcase_grpc::ApiError;
use gridcase_privacy::Vault;

/// The fully qualified gRPC service name, for health reporting.
pub const SERVICE_NAME: &str = "gridcase.intake.v1.Intake";

/// The tracking code a `GetCaseStatus` request asks about.
pub fn status_query(request: &pb::GetCaseStatusRequest) -> Result<TrackingCode, InvalidInput> {
    TrackingCode::parse(&request.tracking_code).map_err(InvalidInput::at("tracking_code"))
}

/// Who may report a case: hotline operators, grid workers (as themselves), the QR gateway for
/// residents, and admins.
pub const REPORT_CASE_ROLES: &[RoleKind] = &[
    RoleKind::Operator,
    RoleKind::GridWorker,
    RoleKind::Gateway,
    RoleKind::Admin,
    RoleKind::Member,
];

/// Who may look a case up by tracking code. Departments see their work orders elsewhere.
pub const GET_CASE_STATUS_ROLES: &[RoleKind] = &[
    RoleKind::Operator,
    RoleKind::Gateway,
    RoleKind::Supervisor,
    RoleKind::Admin,
    RoleKind::GridWorker,
    RoleKind::Member,
];

/// The intake API on a store of cases.
#[derive(Debug, Clone)]
pub struct IntakeApi<S> {
    cases: CaseStore<S>,
    reference: Arc<ReferenceData>,
    vault: Vault,
    /// At a street office, where reports are taken; `None` at the centre.
    desk: Option<crate::office::desk::Desk>,
    /// Which store shard keeps which case.
    shards: ShardMap,
}

/// The intake service as routes for the shared gRPC server, authenticating callers against
/// `tokens` and sealing reporters' contacts with `vault`.
pub fn routes<S: EventStore>(
    store: S,
    reference: Arc<ReferenceData>,
    vault: Vault,
    tokens: Arc<TokenTable>,
) -> Routes {
    routes_of(IntakeApi::new(store, reference, vault), tokens)
}

/// The routes of `intake` (at the centre or at a street office).
pub fn routes_of<S: EventStore>(intake: IntakeApi<S>, tokens: Arc<TokenTable>) -> Routes {
    let store = intake.store().clone();
    Routes::new(IntakeServer::with_interceptor(
        intake.clone(),
        Authenticator::new(Arc::clone(&tokens)),
    ))
    .add_service(crate::care::server(intake, store, tokens))
}

/// What a report came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported {
    /// The case.
    pub case_id: CaseId,
    /// Its tracking code.
    pub tracking_code: TrackingCode,
    /// True when the request id had reported it before and nothing was written now.
    pub already_reported: bool,
}

impl<S: EventStore> IntakeApi<S> {
    /// The API on `store`, checking reports against `reference` and sealing reporters' names
    /// and phones with `vault` before they are written.
    pub fn new(store: S, reference: Arc<ReferenceData>, vault: Vault) -> Self {
        Self {
            cases: CaseStore::new(store),
            reference,
            vault,
            desk: None,
            shards: ShardMap::one(gridcase_bus::subjects::DEFAULT_SHARD),
        }
    }

    /// The same API in a city whose store is split into `shards`: a case is kept in its
    /// district's shard, its id and tracking code naming it. `store` must route by the same
    /// map.
    pub fn with_shards(mut self, shards: ShardMap) -> Self {
        self.shards = shards;
        self
    }

    /// Which store shard keeps which case.
    pub fn shards(&self) -> &ShardMap {
        &self.shards
    }

    /// The reference data reports are checked against.
    pub fn reference(&self) -> &ReferenceData {
        &self.reference
    }

    /// Where reporters' contacts are sealed.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The event store cases are kept in.
    pub fn store(&self) -> &S {
        self.cases.store()
    }

    /// The same API taking reports at street office `desk` instead (see [`crate::office`]).
    pub fn at_office(mut self, desk: crate::office::desk::Desk) -> Self {
        self.desk = Some(desk);
        self
    }

    /// Records `report` by `caller` as a new case reported at `reported_at`, or finds the case
    /// its request id reported before. A grid worker reports only as itself. The case is kept
    /// in its grid's shard (see [`shard_of_report`]).
    pub async fn report(
        &self,
        caller: &Caller,
        report: NewReport,
        reported_at: Timestamp,
    ) -> Result<Reported, ApiError> {
        let shard = shard_of_report(
            &self.shards,
            report.location.grid().as_ref(),
            &report.client_request_id,
        );
        self.report_in(caller, report, reported_at, shard).await
    }

    /// [`Self::report`], the case kept in store shard `shard`: a street office's reports are
    /// kept in its street's, where the centre reserved their codes.
    pub(crate) async fn report_in(
        &self,
        caller: &Caller,
        report: NewReport,
        reported_at: Timestamp,
        shard: usize,
    ) -> Result<Reported, ApiError> {
        check_reporter(caller, &report)?;
        report.check_reference(&self.reference)?;
        let actor = reporting_actor(caller, &report);
        self.check_member(&actor).await?;
        let case_id = case_id_for(&self.shards, &report.client_request_id, shard);
        let command_id = report_command_id(&report.client_request_id);
        // The common repeat (a client retrying after a lost reply) is answered from the stream
        // without reserving anything.
        let existing = self.cases.load(case_id).await?;
        if let Some(reported) = already_reported(case_id, &existing) {
            return Ok(reported);
        }
        // Sealed before the report is written (while its tracking code is reserved): a vault
        // that cannot be reached refuses the report whole (UNAVAILABLE), and the log never
        // holds the contact in clear.
        let (contact, tracking_code) = tokio::join!(
            self.vault.seal(&report.reporter),
            tracking::reserve(
                self.cases.store(),
                &self.shards,
                case_id,
                &actor,
                command_id
            )
        );
        let contact =
            contact.map_err(|e| ApiError::Store(StoreError::Unavailable(e.to_string())))?;
        let tracking_code = tracking_code?;
        let context = CommandContext::new(command_id, actor)
            .also_known_as(legacy::intake_report(&report.client_request_id));
        let executed = self
            .cases
            .execute(case_id, &context, |_| {
                Ok(report.to_command(case_id, tracking_code, reported_at, contact.clone()))
            })
            .await;
        match executed {
            Ok(executed) => Ok(Reported {
                case_id,
                tracking_code: executed.state.tracking_code.unwrap_or(tracking_code),
                already_reported: executed.repeated,
            }),
            // A concurrent request with the same id got there first.
            Err(error @ CaseError::Domain(DomainError::CaseAlreadyExists { .. })) => {
                let existing = self.cases.load(case_id).await?;
                already_reported(case_id, &existing).ok_or(ApiError::Case(error))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A member reports only while enrolled: in `members.toml`, or by their community.
    async fn check_member(&self, actor: &str) -> Result<(), ApiError> {
        let Some(id) = actor.strip_prefix("member:") else {
            return Ok(());
        };
        let member = MemberId::parse(id).map_err(|e| {
            ApiError::PermissionDenied(format!("member {id}: not a member id ({})", e.reason))
        })?;
        if self.reference.member(&member).is_some() {
            return Ok(());
        }
        match PeopleStore::new(self.cases.store().clone())
            .member(&member)
            .await
        {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(ApiError::PermissionDenied(format!(
                "member {member} is not enrolled by any community"
            ))),
            Err(PeopleStoreError::Store(e)) => Err(ApiError::Store(e)),
            Err(e) => Err(ApiError::Internal(e.to_string())),
        }
    }

    /// The case holding `code`, as loaded from the store.
    pub async fn status(&self, code: TrackingCode) -> Result<(CaseId, LoadedCase), ApiError> {
        let not_found = || ApiError::NotFound(format!("tracking_code: no case has code {code}"));
        let case_id = tracking::owner(self.cases.store(), code)
            .await?
            .ok_or_else(not_found)?;
        let loaded = self.cases.load(case_id).await?;
        // A reservation whose report never landed (the reporter's request failed after it).
        if loaded.state.tracking_code != Some(code) {
            return Err(not_found());
        }
        Ok((case_id, loaded))
    }
}

/// Who a report is by, as its events record it: the caller, or — when the QR gateway reports
/// for a special member whose member code it checked — that member (`member:<id>`), so the
/// report is the member's own and credited to them.
fn reporting_actor(caller: &Caller, report: &NewReport) -> String {
    match (&caller.role, &report.member) {
        (Role::Gateway, Some(member)) => format!("member:{member}"),
        _ => caller.actor(),
    }
}

/// A grid worker may report only in its own name: `reported_by_worker`, when given, must be
/// the caller (it is required on the grid-worker channel). The special-member channel is a
/// special member's own — with their token, or through the QR gateway with their member code
/// — and the only one they report on, so their reports are credited to them.
pub(crate) fn check_reporter(caller: &Caller, report: &NewReport) -> Result<(), ApiError> {
    let gateway = matches!(caller.role, Role::Gateway);
    if report.member.is_some() && !gateway {
        return Err(ApiError::PermissionDenied(
            "member_id: only the QR gateway reports for a member, by the member code it checked"
                .into(),
        ));
    }
    let member = matches!(caller.role, Role::Member(_)) || report.member.is_some();
    if member != (report.channel == Channel::SpecialMember) {
        let reason = if member {
            "a special grid member reports on the special_member channel"
        } else {
            "the special_member channel is for special grid members reporting with their own token or member code"
        };
        return Err(InvalidInput::new("channel", reason).into());
    }
    let Role::GridWorker(worker) = &caller.role else {
        return Ok(());
    };
    match &report.reported_by_worker {
        Some(named) if named.as_str() != worker => Err(ApiError::PermissionDenied(format!(
            "reported_by_worker: grid worker {worker} may not report as {named}"
        ))),
        _ => Ok(()),
    }
}

fn already_reported(case_id: CaseId, loaded: &LoadedCase) -> Option<Reported> {
    let tracking_code = loaded.state.tracking_code?;
    Some(Reported {
        case_id,
        tracking_code,
        already_reported: true,
    })
}

#[tonic::async_trait]
impl<S: EventStore> Intake for IntakeApi<S> {
    #[tracing::instrument(
        skip_all,
        fields(
            request_id = %request.get_ref().client_request_id,
            channel = request.get_ref().channel,
            caller = tracing::field::Empty,
        )
    )]
    async fn report_case(
        &self,
        request: Request<pb::ReportCaseRequest>,
    ) -> Result<Response<pb::ReportCaseResponse>, Status> {
        let reported_at = gridcase_runtime::now();
        let caller = require(&request, "ReportCase", REPORT_CASE_ROLES)?.clone();
        tracing::Span::current().record("caller", tracing::field::display(&caller));
        let request = request.into_inner();
        let channel = crate::report::parse_channel(request.channel)
            .map(|c| c.as_str())
            .unwrap_or("unknown");
        let reported = match &self.desk {
            Some(desk) => desk.report(&caller, request, reported_at).await,
            None => match NewReport::try_from(request) {
                Ok(report) => self.report(&caller, report, reported_at).await,
                Err(e) => {
                    tracing::info!(error = %e, "report refused");
                    Err(ApiError::from(e))
                }
            },
        }
        .map_err(|e| {
            tracing::warn!(error = %e, "report failed");
            Status::from(e)
        })?;
        if reported.already_reported {
            tracing::info!(case = %reported.case_id, channel, "case already reported");
        } else {
            tracing::info!(
                case = %reported.case_id,
                tracking_code = %reported.tracking_code,
                channel,
                "case reported"
            );
        }
        Ok(Response::new(pb::ReportCaseResponse {
            case_id: reported.case_id.to_string(),
            tracking_code: reported.tracking_code.to_string(),
            already_reported: reported.already_reported,
        }))
    }

    #[tracing::instrument(
        skip_all,
        fields(tracking_code = %request.get_ref().tracking_code, caller = tracing::field::Empty)
    )]
    async fn get_case_status(
        &self,
        request: Request<pb::GetCaseStatusRequest>,
    ) -> Result<Response<pb::GetCaseStatusResponse>, Status> {
        let caller = require(&request, "GetCaseStatus", GET_CASE_STATUS_ROLES)?;
        tracing::Span::current().record("caller", tracing::field::display(caller));
        let code = status_query(request.get_ref()).map_err(ApiError::from)?;
        let (case_id, loaded) = self.status(code).await?;
        let state = &loaded.state;
        Ok(Response::new(pb::GetCaseStatusResponse {
            case_id: case_id.to_string(),
            tracking_code: code.to_string(),
            status: gridcase_proto::convert::case_status(state.status),
            reported_at_ms: state.reported_at.map_or(0, Timestamp::as_millis),
            category_code: state
                .category
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            last_update_ms: loaded
                .timeline
                .last()
                .map_or(0, |entry| entry.recorded_at_ms),
        }))
    }
}
