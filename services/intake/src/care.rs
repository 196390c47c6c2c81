//! The gRPC `Care` service (敲门行动): households put under care, visits recorded — a visit
//! that finds a problem reports it as a case in the same call — and households released.
//!
//! The person's name and phone are sealed with the vault before anything is written, exactly
//! like a reporter's contact. The visit plans are read from the query service.

use gridcase_auth::{require, Authenticator, Caller, Role, RoleKind, TokenTable};
use gridcase_casestore::ids::{command_id, stream_request_context};
use gridcase_casestore::people::{PeopleStore, PeopleStoreError};
use gridcase_casestore::CommandContext;
use gridcase_config::ReferenceData;
use gridcase_domain::people::{
    household_stream, AccountId, CareCommand, CareKind, EarnReason, Household, HouseholdEnrolled,
    MemberKind, PeopleError, PointsCommand, PointsSource, Visitor,
};
use gridcase_domain::{
    Channel, Contact, Description, GridCode, GridLevel, HouseholdId, Location, MemberId, Note,
    PersonName, Phone, Reporter, Timestamp, WorkerId,
};
use gridcase_eventstore::{EventStore, StoreError};
use gridcase_grpc::{ApiError, InvalidInput};
use gridcase_proto::people::v1 as pb;
use gridcase_proto::people::v1::care_server::{Care, CareServer};
use std::sync::Arc;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};

use crate::report::NewReport;
use crate::service::IntakeApi;

/// The fully qualified gRPC service name, for health reporting.
pub const CARE_SERVICE_NAME: &str = "gridcase.people.v1.Care";

/// Who may put a household under care: the community office of its grid, its grid worker.
pub const ENROL_ROLES: &[RoleKind] = &[RoleKind::Community, RoleKind::GridWorker];
/// Who may record a visit: the grid's worker, a volunteer or party member serving the grid.
pub const VISIT_ROLES: &[RoleKind] = &[RoleKind::GridWorker, RoleKind::Member];
/// Who may take a household out of care: the community office of its grid.
pub const RELEASE_ROLES: &[RoleKind] = &[RoleKind::Community];

const DAY_MS: i64 = 86_400_000;
/// How far back the ledger's last visit may lie.
const LEDGER_DAYS: i64 = 366;
/// How far back a visit may be recorded after the fact.
const LATE_RECORD_DAYS: i64 = 7;

/// The Care API.
#[derive(Debug)]
pub struct CareApi<S> {
    people: PeopleStore<S>,
    intake: IntakeApi<S>,
}

/// The Care service, to add to the intake's routes.
pub fn server<S: EventStore>(
    intake: IntakeApi<S>,
    store: S,
    tokens: Arc<TokenTable>,
) -> InterceptedService<CareServer<CareApi<S>>, Authenticator> {
    CareServer::with_interceptor(
        CareApi {
            people: PeopleStore::new(store),
            intake,
        },
        Authenticator::new(tokens),
    )
}

/// The kind of `value`, which must be set.
pub fn care_kind(value: i32) -> Result<CareKind, InvalidInput> {
    match pb::CareKind::try_from(value) {
        Ok(pb::CareKind::ElderlyAlone) => Ok(CareKind::ElderlyAlone),
        Ok(pb::CareKind::Disabled) => Ok(CareKind::Disabled),
        Ok(pb::CareKind::LowIncome) => Ok(CareKind::LowIncome),
        Ok(pb::CareKind::LeftBehindChild) => Ok(CareKind::LeftBehindChild),
        Ok(pb::CareKind::Unspecified) => Err(InvalidInput::new(
            "kind",
            "must be set (elderly_alone, disabled, low_income or left_behind_child)",
        )),
        Err(_) => Err(InvalidInput::new(
            "kind",
            format!("{value} is not a kind of household under care"),
        )),
    }
}

fn household_id(text: &str) -> Result<HouseholdId, InvalidInput> {
    HouseholdId::parse(text.trim()).map_err(InvalidInput::at("household_id"))
}

/// A time a request gives in ms (0: none), between `days_back` days before `now` and `now`.
fn past_time(
    field: &'static str,
    ms: i64,
    now: Timestamp,
    days_back: i64,
) -> Result<Option<Timestamp>, InvalidInput> {
    if ms == 0 {
        return Ok(None);
    }
    if ms > now.as_millis() {
        return Err(InvalidInput::new(field, "is in the future"));
    }
    if ms < now.as_millis() - days_back * DAY_MS {
        return Err(InvalidInput::new(
            field,
            format!("is more than {days_back} days back"),
        ));
    }
    Ok(Some(Timestamp::from_millis(ms)))
}

/// An enrolment, checked on its own and against the reference data; the person not yet
/// sealed.
pub fn enrolment(
    request: &pb::EnrolHouseholdRequest,
    reference: &ReferenceData,
    now: Timestamp,
) -> Result<(String, CareKind, GridCode, Reporter, Option<Timestamp>), InvalidInput> {
    let request_id = gridcase_grpc::request_id("request_id", &request.request_id)?.to_owned();
    let kind = care_kind(request.kind)?;
    let grid = GridCode::parse(request.grid_code.trim()).map_err(InvalidInput::at("grid_code"))?;
    if reference.grid(&grid).is_none() || grid.level() < GridLevel::Grid {
        return Err(InvalidInput::new(
            "grid_code",
            format!("{grid} is not a known grid or micro-grid"),
        ));
    }
    let name = PersonName::parse(&request.name).map_err(InvalidInput::at("name"))?;
    if request.phone.trim().is_empty() {
        return Err(InvalidInput::new("phone", "required"));
    }
    let phone = Phone::parse(request.phone.trim()).map_err(InvalidInput::at("phone"))?;
    let last_visited = past_time(
        "last_visited_at_ms",
        request.last_visited_at_ms,
        now,
        LEDGER_DAYS,
    )?;
    let person = Reporter {
        name: Some(name),
        phone: Some(phone),
    };
    Ok((request_id, kind, grid, person, last_visited))
}

fn vault_down(e: impl std::fmt::Display) -> ApiError {
    ApiError::Store(StoreError::Unavailable(format!("key vault: {e}")))
}

fn refused(error: ApiError) -> Status {
    tracing::info!(error = %error, "request refused");
    Status::from(error)
}

impl<S: EventStore> CareApi<S> {
    fn reference(&self) -> &ReferenceData {
        self.intake.reference()
    }

    fn context(
        caller: &Caller,
        what: &str,
        request_id: &str,
        household: HouseholdId,
    ) -> CommandContext {
        stream_request_context(
            crate::SERVICE,
            request_id,
            &household_stream(household),
            what,
            caller.actor(),
        )
    }

    /// The grid worker `worker` works `grid` (its own grid, or one of its micro-grids).
    fn check_worker(&self, worker: &str, grid: &GridCode) -> Result<WorkerId, ApiError> {
        let id = WorkerId::parse(worker).map_err(|e| ApiError::Internal(e.to_string()))?;
        if self.reference().workers_of(grid).iter().any(|p| p.id == id) {
            Ok(id)
        } else {
            Err(ApiError::PermissionDenied(format!(
                "grid_code: grid worker {worker} does not work grid {grid}"
            )))
        }
    }

    fn check_community(&self, community: &str, grid: &GridCode) -> Result<(), ApiError> {
        if grid.at_level(GridLevel::Community).map(|c| c.to_string()) == Some(community.to_owned())
        {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied(format!(
                "grid_code: community {community} may act on its own grids only, not on {grid}"
            )))
        }
    }

    /// A member may visit when enrolled as a volunteer, party member or building head serving
    /// the household's grid.
    async fn check_member(&self, member: &str, grid: &GridCode) -> Result<MemberId, ApiError> {
        let id = MemberId::parse(member).map_err(|e| ApiError::Internal(e.to_string()))?;
        let (kind, grids) = match self.reference().member(&id) {
            Some(listed) => (listed.kind, listed.grids.clone()),
            None => match self.people.member(&id).await? {
                Some(enrolled) => (enrolled.kind, enrolled.grids),
                None => {
                    return Err(ApiError::PermissionDenied(format!(
                        "member {id} is not enrolled by any community"
                    )))
                }
            },
        };
        if !matches!(
            kind,
            MemberKind::Volunteer | MemberKind::PartyMember | MemberKind::BuildingHead
        ) {
            return Err(ApiError::PermissionDenied(format!(
                "member {id} is a {}; visits are made by volunteers, party members and building heads",
                kind.label()
            )));
        }
        if !grids.iter().any(|served| grid.is_within(served)) {
            return Err(ApiError::PermissionDenied(format!(
                "household_id: member {id} does not serve grid {grid}"
            )));
        }
        Ok(id)
    }

    async fn existing(&self, household: HouseholdId) -> Result<Household, ApiError> {
        self.people
            .household(household)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("household_id: no household {household}")))
    }

    async fn enrol(
        &self,
        caller: &Caller,
        request: pb::EnrolHouseholdRequest,
    ) -> Result<pb::HouseholdReply, ApiError> {
        let now = gridcase_runtime::now();
        let (request_id, kind, grid, person, last_visited) =
            enrolment(&request, self.reference(), now)?;
        match &caller.role {
            Role::Community(own) => self.check_community(own, &grid)?,
            Role::GridWorker(worker) => {
                self.check_worker(worker, &grid)?;
            }
            other => {
                return Err(ApiError::PermissionDenied(format!(
                    "{other} may not enrol households"
                )))
            }
        }
        let actor = caller.actor();
        let household = HouseholdId::from_u128(command_id(
            crate::SERVICE,
            &[b"household", request_id.as_bytes(), actor.as_bytes()],
        ));
        let context = Self::context(caller, "enrol", &request_id, household);
        // A retry finds the household as first enrolled, without sealing anew.
        if let Some(existing) = self.people.household(household).await? {
            let every = self.reference().care().every_days(existing.enrolled.kind);
            return Ok(pb::HouseholdReply {
                household_id: household.to_string(),
                next_due_ms: existing.next_due(every).as_millis(),
                repeated: true,
            });
        }
        let Contact::Sealed(sealed) = self
            .intake
            .vault()
            .seal(&person)
            .await
            .map_err(vault_down)?
        else {
            return Err(ApiError::Internal(
                "the vault did not seal the household's contact".into(),
            ));
        };
        let enrolled = HouseholdEnrolled {
            kind,
            grid,
            person: sealed,
            last_visited,
            at: now,
        };
        let (executed, folded) = self
            .people
            .execute_care(household, CareCommand::Enrol(enrolled), &context)
            .await?;
        tracing::info!(%household, kind = kind.as_str(), %grid, "household put under care");
        Ok(pb::HouseholdReply {
            household_id: household.to_string(),
            next_due_ms: folded
                .next_due(self.reference().care().every_days(kind))
                .as_millis(),
            repeated: executed.repeated,
        })
    }

    async fn visit(
        &self,
        caller: &Caller,
        request: pb::RecordVisitRequest,
    ) -> Result<pb::RecordVisitReply, ApiError> {
        let now = gridcase_runtime::now();
        let request_id = gridcase_grpc::request_id("request_id", &request.request_id)?.to_owned();
        let id = household_id(&request.household_id)?;
        let note = Note::parse_field("note", &request.note).map_err(InvalidInput::at("note"))?;
        let at = past_time(
            "visited_at_ms",
            request.visited_at_ms,
            now,
            LATE_RECORD_DAYS,
        )?
        .unwrap_or(now);
        let problem = match &request.problem {
            Some(problem) => Some((
                Description::parse(&problem.description)
                    .map_err(InvalidInput::at("problem.description"))?,
                match problem.category_code.trim() {
                    "" => None,
                    code => Some(
                        gridcase_domain::CategoryCode::parse(code)
                            .map_err(InvalidInput::at("problem.category_code"))?,
                    ),
                },
            )),
            None => None,
        };
        let household = self.existing(id).await?;
        let grid = household.enrolled.grid;
        let visitor = match &caller.role {
            Role::GridWorker(worker) => Visitor::Worker(self.check_worker(worker, &grid)?),
            Role::Member(member) => Visitor::Member(self.check_member(member, &grid).await?),
            other => {
                return Err(ApiError::PermissionDenied(format!(
                    "{other} may not record visits"
                )))
            }
        };
        if at < household.enrolled.at {
            return Err(InvalidInput::new(
                "visited_at_ms",
                "is before the household was put under care",
            )
            .into());
        }
        if household.released.is_some() {
            return Err(PeopleStoreError::from(PeopleError::HouseholdState {
                rule: "it has left care",
            })
            .into());
        }
        // The problem first: a retry of the request finds the same case (its request id derives
        // from this one) and then records the visit with it.
        let reported = match problem {
            Some((description, category)) => {
                let report = NewReport {
                    client_request_id: format!("visit:{id}:{request_id}"),
                    channel: match visitor {
                        Visitor::Worker(_) => Channel::GridWorker,
                        Visitor::Member(_) => Channel::SpecialMember,
                    },
                    reporter: Reporter::anonymous(),
                    location: Location::new(Some(grid), None, None)
                        .map_err(|e| ApiError::Internal(e.to_string()))?,
                    description,
                    category,
                    media: Vec::new(),
                    reported_by_worker: match &visitor {
                        Visitor::Worker(worker) => Some(worker.clone()),
                        Visitor::Member(_) => None,
                    },
                    member: None,
                };
                Some(self.intake.report(caller, report, now).await?)
            }
            None => None,
        };
        let rules = self.reference().care();
        let every_days = rules.every_days(household.enrolled.kind);
        let context = Self::context(caller, "visit", &request_id, id);
        let command = CareCommand::Visit {
            visitor: visitor.clone(),
            note,
            case: reported.map(|r| r.case_id),
            every_days,
            at,
        };
        let (executed, folded) = self.people.execute_care(id, command, &context).await?;
        let Some(visit) = folded.last_visit.clone() else {
            return Err(ApiError::Internal(format!(
                "household {id}: no visit recorded"
            )));
        };
        if let Visitor::Member(member) = &visitor {
            let points = self.reference().points().points_for(EarnReason::CareVisit);
            if points > 0 {
                let credit = Self::context(caller, "visit-points", &request_id, id);
                let earn = PointsCommand::Earn {
                    reason: EarnReason::CareVisit,
                    points,
                    source: PointsSource::Visit(id, visit.at),
                    at: now,
                };
                let account = AccountId::Member(member.clone());
                match self.people.execute_points(&account, earn, &credit).await {
                    Ok(_) | Err(PeopleStoreError::People(PeopleError::AlreadyEarned { .. })) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        tracing::info!(household = %id, visitor = %visitor, on_time = visit.on_time(), case = ?reported.map(|r| r.case_id), "visit recorded");
        Ok(pb::RecordVisitReply {
            household_id: id.to_string(),
            on_time: visit.on_time(),
            next_due_ms: folded.next_due(every_days).as_millis(),
            case_id: reported.map(|r| r.case_id.to_string()).unwrap_or_default(),
            tracking_code: reported
                .map(|r| r.tracking_code.to_string())
                .unwrap_or_default(),
            repeated: executed.repeated,
        })
    }

    async fn release(
        &self,
        caller: &Caller,
        request: pb::ReleaseHouseholdRequest,
    ) -> Result<pb::HouseholdReply, ApiError> {
        let request_id = gridcase_grpc::request_id("request_id", &request.request_id)?.to_owned();
        let id = household_id(&request.household_id)?;
        let reason =
            Note::parse_field("reason", &request.reason).map_err(InvalidInput::at("reason"))?;
        let household = self.existing(id).await?;
        if let Role::Community(own) = &caller.role {
            self.check_community(own, &household.enrolled.grid)?;
        }
        let context = Self::context(caller, "release", &request_id, id);
        let command = CareCommand::Release {
            reason,
            at: gridcase_runtime::now(),
        };
        let (executed, _) = self.people.execute_care(id, command, &context).await?;
        tracing::info!(household = %id, "household left care");
        Ok(pb::HouseholdReply {
            household_id: id.to_string(),
            next_due_ms: 0,
            repeated: executed.repeated,
        })
    }
}

#[tonic::async_trait]
impl<S: EventStore> Care for CareApi<S> {
    #[tracing::instrument(skip_all)]
    async fn enrol_household(
        &self,
        request: Request<pb::EnrolHouseholdRequest>,
    ) -> Result<Response<pb::HouseholdReply>, Status> {
        let caller = require(&request, "EnrolHousehold", ENROL_ROLES)?.clone();
        let reply = self
            .enrol(&caller, request.into_inner())
            .await
            .map_err(refused)?;
        Ok(Response::new(reply))
    }

    #[tracing::instrument(skip_all)]
    async fn record_visit(
        &self,
        request: Request<pb::RecordVisitRequest>,
    ) -> Result<Response<pb::RecordVisitReply>, Status> {
        let caller = require(&request, "RecordVisit", VISIT_ROLES)?.clone();
        let reply = self
            .visit(&caller, request.into_inner())
            .await
            .map_err(refused)?;
        Ok(Response::new(reply))
    }

    #[tracing::instrument(skip_all)]
    async fn release_household(
        &self,
        request: Request<pb::ReleaseHouseholdRequest>,
    ) -> Result<Response<pb::HouseholdReply>, Status> {
        let caller = require(&request, "ReleaseHousehold", RELEASE_ROLES)?.clone();
        let reply = self
            .release(&caller, request.into_inner())
            .await
            .map_err(refused)?;
        Ok(Response::new(reply))
    }
}
