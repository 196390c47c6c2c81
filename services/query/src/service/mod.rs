//! The gRPC `Query` service: a case's summary and timeline, filtered pages of cases and a
//! board of counts per street and community, all read from the model's indexes and counters. Every
//! reply carries `caught_up_to`, the log position below which every event is reflected, so a
//! caller can wait for its own write.

use std::collections::BTreeMap;
use std::sync::Arc;

use gridcase_auth::{require, Authenticator, Role, RoleKind, TokenTable};
use gridcase_bus::StoreClient;
use gridcase_config::ReferenceData;
use gridcase_domain::{Assignee, CaseStatus, Contact, GridCode, GridLevel, Timestamp};
use gridcase_grpc::ApiError;
use gridcase_privacy::audit::{self, AuditRecord, ContactRead};
use gridcase_privacy::{Opened, Vault};
use gridcase_proto::evaluation::v1 as evaluation_pb;
use gridcase_proto::query::v1 as pb;
use gridcase_proto::query::v1::query_server::{Query, QueryServer};
use gridcase_rules::deadlines::Colour;
use gridcase_rules::indicators::settled::{by_area, SettledCase};
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use crate::index::{page_token, Indexed};

pub mod care;
mod requests;
pub mod scores;

use crate::model::keys::{self, Term};
use crate::projection::{describe_route, CaseView, Projections};
pub(crate) use requests::invalid;
pub use requests::{case_request, contact_request, inbox_handler, settlement_request, ListRequest};
use requests::{page_after, page_size};

/// The fully qualified gRPC service name, for health reporting.
pub const SERVICE_NAME: &str = "gridcase.query.v1.Query";

/// Who may read the projections.
pub const READ_ROLES: &[RoleKind] = &[RoleKind::Operator, RoleKind::Supervisor, RoleKind::Admin];

/// Who may read what the public may see: the gateway, and everyone who may read more.
pub const PUBLIC_ROLES: &[RoleKind] = &[
    RoleKind::Gateway,
    RoleKind::Operator,
    RoleKind::Supervisor,
    RoleKind::Admin,
];

/// Page size when the request gives none.
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// Largest page size accepted.
pub const MAX_PAGE_SIZE: usize = 200;

/// Who may read a reporter's contact in clear: operators, who call residents back, and grid
/// workers, for the cases dispatched to them.
pub const CONTACT_ROLES: &[RoleKind] = &[RoleKind::Operator, RoleKind::GridWorker];

/// Who may read an inbox: each handler its own, operators and supervisors anyone's.
pub const INBOX_ROLES: &[RoleKind] = &[
    RoleKind::GridWorker,
    RoleKind::Community,
    RoleKind::Street,
    RoleKind::Department,
    RoleKind::Operator,
    RoleKind::Supervisor,
    RoleKind::Admin,
];

/// Longest purpose a contact read may give, in characters.
pub const MAX_PURPOSE_CHARS: usize = 200;

/// The query API as routes for the shared gRPC server: reading contacts through `vault` and
/// recording each read in clear in `store`'s audit stream.
pub fn routes(
    projections: Arc<Projections>,
    reference: Arc<ReferenceData>,
    store: StoreClient,
    vault: Vault,
    tokens: Arc<TokenTable>,
) -> Routes {
    Routes::new(QueryServer::with_interceptor(
        QueryApi::new(projections, reference, store, vault),
        Authenticator::new(tokens),
    ))
}

/// `view`'s summary at `now`, before its reporter's contact is opened ([`with_contact`]).
fn summary(view: &CaseView, now: Timestamp) -> pb::CaseSummary {
    let state = &view.state;
    pb::CaseSummary {
        colour: view.colour.at(now).as_str().to_owned(),
        stage: state
            .status
            .map(|s| s.waiting_stage().to_owned())
            .unwrap_or_default(),
        case_id: state.case_id.map(|c| c.to_string()).unwrap_or_default(),
        status: gridcase_proto::convert::case_status(state.status),
        tracking_code: state
            .tracking_code
            .map(|t| t.to_string())
            .unwrap_or_default(),
        category: state
            .category
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        priority: state.priority.map(|p| p.to_string()).unwrap_or_default(),
        route: state.route.as_ref().map(describe_route).unwrap_or_default(),
        assignee: state
            .assignee
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        grid_code: grid_of(view).map(|g| g.to_string()).unwrap_or_default(),
        reported_at_ms: state.reported_at.map_or(0, |t| t.as_millis()),
        accept_deadline_ms: state.accept_deadline.map_or(0, |t| t.as_millis()),
        resolve_deadline_ms: state.resolve_deadline.map_or(0, |t| t.as_millis()),
        escalation_level: u32::from(state.escalation_level),
        overdue: view.is_overdue(now),
        version: state.version,
        // The reporter's fields come with the contact opened.
        ..pb::CaseSummary::default()
    }
}

/// `summary` with its reporter's phone masked from `contact`, the case's contact opened.
fn with_contact(summary: pb::CaseSummary, contact: &Opened) -> pb::CaseSummary {
    pb::CaseSummary {
        reporter_phone_masked: contact.masked_phone(),
        reporter_erased: *contact == Opened::Erased,
        ..summary
    }
}

fn grid_of(view: &CaseView) -> Option<GridCode> {
    view.state.location.as_ref().and_then(|l| l.grid())
}

/// The model could not be read: UNAVAILABLE, naming why.
pub(crate) fn unavailable(error: impl std::fmt::Display) -> Status {
    Status::unavailable(format!("the query model cannot be read: {error}"))
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The query API over shared projections.
#[derive(Debug)]
pub struct QueryApi {
    projections: Arc<Projections>,
    reference: Arc<ReferenceData>,
    store: StoreClient,
    vault: Vault,
}

impl QueryApi {
    /// The API over `projections`, checking filters against `reference`, opening reporters'
    /// contacts with `vault` and auditing reads in clear in `store`.
    pub fn new(
        projections: Arc<Projections>,
        reference: Arc<ReferenceData>,
        store: StoreClient,
        vault: Vault,
    ) -> Self {
        Self {
            projections,
            reference,
            store,
            vault,
        }
    }

    async fn open(&self, contacts: &[&Contact]) -> Result<Vec<Opened>, Status> {
        self.vault
            .open(contacts)
            .await
            .map_err(|e| Status::unavailable(e.to_string()))
    }

    /// `contacts` opened for a masked phone; while the key vault cannot be reached the cases
    /// are still shown, without it (and a warning in the log).
    async fn open_for_masking(&self, contacts: &[&Contact]) -> Vec<Opened> {
        match self.vault.open(contacts).await {
            Ok(opened) => opened,
            Err(error) => {
                tracing::warn!(%error, "reporters' phones left out: the key vault is unreachable");
                vec![Opened::Anonymous; contacts.len()]
            }
        }
    }
}

#[tonic::async_trait]
impl Query for QueryApi {
    #[tracing::instrument(skip_all)]
    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::GetCaseReply>, Status> {
        require(&request, "GetCase", READ_ROLES)?;
        let case = case_request(request.get_ref())?;
        let (view, caught_up_to) = self.projections.case(case).map_err(unavailable)?;
        let view = view
            .filter(|v| v.state.exists())
            .ok_or_else(|| ApiError::NotFound(format!("case {case} is not known")))?;
        let timeline = view
            .timeline
            .iter()
            .map(|e| pb::TimelineEntry {
                event_type: e.event_type.clone(),
                stage: e.stage.clone(),
                actor: e.actor.clone().unwrap_or_default(),
                recorded_at_ms: e.recorded_at_ms,
                summary: e.summary.clone(),
                position: e.position,
            })
            .collect();
        let contact = self.open_for_masking(&[&view.reporter]).await.remove(0);
        Ok(Response::new(pb::GetCaseReply {
            case: Some(with_contact(
                summary(&view, gridcase_runtime::now()),
                &contact,
            )),
            timeline,
            caught_up_to,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesReply>, Status> {
        require(&request, "ListCases", READ_ROLES)?;
        let request = request.into_inner();
        let now = gridcase_runtime::now();
        let ListRequest {
            filters,
            size,
            after,
        } = ListRequest::parse(&request, &self.reference, now)?;
        let indexed = Indexed {
            status: filters.status,
            area: filters.grid,
            department: filters.department.clone(),
            category: filters.category,
            colour: filters.colour,
            waiting_on: None,
        };
        let page = self
            .projections
            .page(
                &indexed,
                filters.overdue_only,
                after,
                size,
                |view| filters.matches(view),
                |view| (summary(view, now), view.reporter.clone()),
            )
            .map_err(unavailable)?;
        let contacts: Vec<&Contact> = page.items.iter().map(|(_, contact)| contact).collect();
        let opened = self.open_for_masking(&contacts).await;
        let cases = page
            .items
            .into_iter()
            .zip(opened)
            .map(|((summary, _), contact)| with_contact(summary, &contact))
            .collect();
        Ok(Response::new(pb::ListCasesReply {
            cases,
            next_page_token: page.next.map(page_token).unwrap_or_default(),
            total: count(page.total),
            caught_up_to: page.position,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_inbox(
        &self,
        request: Request<pb::ListInboxRequest>,
    ) -> Result<Response<pb::ListInboxReply>, Status> {
        let caller = require(&request, "ListInbox", INBOX_ROLES)?.clone();
        let request = request.into_inner();
        let handler = inbox_handler(&request, &caller.role, &self.reference)?;
        let size = page_size(request.page_size)?;
        let after = page_after(&request.page_token)?;
        let now = gridcase_runtime::now();
        let name = handler.actor_name();
        let indexed = Indexed {
            waiting_on: Some(name.clone()),
            ..Indexed::default()
        };
        let reference = &self.reference;
        let page = self
            .projections
            .page(
                &indexed,
                false,
                after,
                size,
                |_| true,
                |view| {
                    let state = &view.state;
                    let (suggestion, suggested_department) = gridcase_rules::Suggestion::wire(
                        gridcase_rules::suggestion(reference, state.category.as_ref(), &handler)
                            .as_ref(),
                    );
                    let item = pb::InboxItem {
                        case: None,
                        suggestion,
                        suggested_department,
                        accepted: state.status == Some(CaseStatus::Accepted),
                    };
                    (item, summary(view, now), view.reporter.clone())
                },
            )
            .map_err(unavailable)?;
        let contacts: Vec<&Contact> = page.items.iter().map(|(_, _, contact)| contact).collect();
        let opened = self.open_for_masking(&contacts).await;
        let items = page
            .items
            .into_iter()
            .zip(opened)
            .map(|((item, summary, _), contact)| pb::InboxItem {
                case: Some(with_contact(summary, &contact)),
                ..item
            })
            .collect();
        Ok(Response::new(pb::ListInboxReply {
            handler: name,
            items,
            next_page_token: page.next.map(page_token).unwrap_or_default(),
            total: count(page.total),
            caught_up_to: page.position,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn grid_worker_indicators(
        &self,
        request: Request<pb::PeriodRequest>,
    ) -> Result<Response<pb::GridWorkerIndicatorsReply>, Status> {
        require(&request, "GridWorkerIndicators", scores::SCORE_ROLES)?;
        scores::grid_workers(&self.projections, &self.reference, request.get_ref())
            .map(Response::new)
    }

    #[tracing::instrument(skip_all)]
    async fn area_indicators(
        &self,
        request: Request<pb::SettlementIndicatorsRequest>,
    ) -> Result<Response<pb::AreaIndicatorsReply>, Status> {
        require(&request, "AreaIndicators", scores::SCORE_ROLES)?;
        scores::areas(&self.projections, &self.reference, request.get_ref()).map(Response::new)
    }

    #[tracing::instrument(skip_all)]
    async fn settlement_indicators(
        &self,
        request: Request<pb::SettlementIndicatorsRequest>,
    ) -> Result<Response<pb::SettlementIndicatorsReply>, Status> {
        require(&request, "SettlementIndicators", READ_ROLES)?;
        let request = request.into_inner();
        let (from_ms, to_ms, level) = settlement_request(&request)?;
        let (areas, caught_up_to) = self
            .projections
            .newest_first(&Term::All, from_ms, to_ms, |views, _| {
                by_area(
                    views.map(|view| SettledCase {
                        grid: grid_of(&view),
                        status: view.state.status,
                        assignee: view.state.assignee,
                    }),
                    level,
                )
            })
            .map_err(unavailable)?;
        let areas = areas
            .into_iter()
            .map(|row| pb::AreaSettlement {
                grid_code: row.area.to_string(),
                name: self
                    .reference
                    .grid(&row.area)
                    .map(|area| area.name.clone())
                    .unwrap_or_default(),
                closed: row.closed,
                settled_in_grid: row.settled_in_grid,
                settled_in_community: row.settled_in_community,
                grid_share: row.grid_share.unwrap_or(0.0),
                community_share: row.community_share.unwrap_or(0.0),
            })
            .collect();
        Ok(Response::new(pb::SettlementIndicatorsReply {
            areas,
            caught_up_to,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn board(
        &self,
        request: Request<pb::BoardRequest>,
    ) -> Result<Response<pb::BoardReply>, Status> {
        require(&request, "Board", READ_ROLES)?;
        let model = self.projections.model();
        let caught_up_to = model.folded();
        let households = model.households().map_err(unavailable)?;
        let now = gridcase_runtime::now();
        let areas = |level: GridLevel| -> Result<Vec<pb::AreaCounts>, Status> {
            let mut tally = BTreeMap::<GridCode, AreaTally>::new();
            let statuses = model
                .area_counts(&keys::area_status_counters(level))
                .map_err(unavailable)?;
            for (area, status, count) in statuses {
                let status = CaseStatus::parse(&status).map_err(|e| unavailable(e.reason))?;
                tally.entry(area).or_default().add_status(status, count);
            }
            let colours = model.area_colour_counts(level).map_err(unavailable)?;
            for (area, colour, count) in colours {
                tally.entry(area).or_default().add_colour(colour, count);
            }
            for (area, (households, overdue)) in
                care::care_counts(&households, &self.reference, level, now)
            {
                let entry = tally.entry(area).or_default();
                entry.households = households;
                entry.visits_overdue = overdue;
            }
            Ok(tally
                .into_iter()
                .map(|(grid, counts)| counts.into_proto(grid))
                .collect())
        };
        Ok(Response::new(pb::BoardReply {
            streets: areas(GridLevel::Street)?,
            communities: areas(GridLevel::Community)?,
            caught_up_to,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn department_indicators(
        &self,
        request: Request<evaluation_pb::DepartmentIndicatorsRequest>,
    ) -> Result<Response<evaluation_pb::DepartmentIndicatorsReply>, Status> {
        require(
            &request,
            "DepartmentIndicators",
            gridcase_auth::INDICATOR_READERS,
        )?;
        let request = request.into_inner();
        let (from_ms, to_ms) = (request.from_ms, request.to_ms);
        gridcase_grpc::check_period(from_ms, to_ms)?;
        let weights = self.reference.indicator_weights();
        let (rows, events, _) = self
            .projections
            .indicators(from_ms, to_ms, weights)
            .map_err(unavailable)?;
        Ok(Response::new(gridcase_proto::convert::indicators_reply(
            from_ms,
            to_ms,
            rows,
            events,
            self.reference.indicator_settings().min_cases_for_ranking,
        )))
    }

    #[tracing::instrument(skip_all)]
    async fn public_cases(
        &self,
        request: Request<pb::PublicCasesRequest>,
    ) -> Result<Response<pb::PublicCasesReply>, Status> {
        require(&request, "PublicCases", PUBLIC_ROLES)?;
        let reply = crate::public::cases(&self.projections, &self.reference, request.get_ref())?;
        Ok(Response::new(reply))
    }

    #[tracing::instrument(skip_all)]
    async fn public_board(
        &self,
        request: Request<pb::PublicBoardRequest>,
    ) -> Result<Response<pb::PublicBoardReply>, Status> {
        require(&request, "PublicBoard", PUBLIC_ROLES)?;
        let now = gridcase_runtime::now().as_millis();
        let reply =
            crate::public::board(&self.projections, &self.reference, request.get_ref(), now)?;
        Ok(Response::new(reply))
    }

    #[tracing::instrument(skip_all)]
    async fn get_reporter_contact(
        &self,
        request: Request<pb::GetReporterContactRequest>,
    ) -> Result<Response<pb::GetReporterContactReply>, Status> {
        let caller = require(&request, "GetReporterContact", CONTACT_ROLES)?.clone();
        let (case, purpose) = contact_request(request.get_ref())?;
        let (view, _) = self.projections.case(case).map_err(unavailable)?;
        let view = view
            .filter(|v| v.state.exists())
            .ok_or_else(|| ApiError::NotFound(format!("case {case} is not known")))?;
        if let Role::GridWorker(worker) = &caller.role {
            let assigned = matches!(
                &view.state.assignee,
                Some(Assignee::Worker(assignee)) if assignee.as_str() == worker
            );
            if !assigned {
                return Err(ApiError::PermissionDenied(format!(
                    "case {case} is not dispatched to grid worker {worker}"
                ))
                .into());
            }
        }
        // Recorded before anything is shown: a read the audit cannot hold does not happen.
        let record = AuditRecord::Read(ContactRead {
            case_id: case,
            purpose,
        });
        let audit_position = audit::append(&self.store, &caller.actor(), &record)
            .await
            .map_err(|e| Status::unavailable(format!("the audit cannot record the read: {e}")))?;
        let contact = self.open(&[&view.reporter]).await?.remove(0);
        tracing::info!(case = %case, actor = %caller.actor(), audit_position, "contact read in clear");
        Ok(Response::new(contact_reply(&contact, audit_position)))
    }
    #[tracing::instrument(skip_all)]
    async fn visit_plan(
        &self,
        request: Request<pb::VisitPlanRequest>,
    ) -> Result<Response<pb::VisitPlanReply>, Status> {
        let caller = require(&request, "VisitPlan", care::PLAN_ROLES)?.clone();
        Ok(Response::new(
            QueryApi::visit_plan(self, &caller, request.get_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_household_contact(
        &self,
        request: Request<pb::GetHouseholdContactRequest>,
    ) -> Result<Response<pb::GetReporterContactReply>, Status> {
        let caller = require(
            &request,
            "GetHouseholdContact",
            care::HOUSEHOLD_CONTACT_ROLES,
        )?
        .clone();
        Ok(Response::new(
            self.household_contact(&caller, request.get_ref()).await?,
        ))
    }
}

/// A contact read in clear, as the audit recorded it at `audit_position`.
fn contact_reply(opened: &Opened, audit_position: u64) -> pb::GetReporterContactReply {
    let reporter = opened.reporter();
    pb::GetReporterContactReply {
        name: reporter
            .and_then(|r| r.name.as_ref())
            .map(ToString::to_string)
            .unwrap_or_default(),
        phone: reporter
            .and_then(|r| r.phone.as_ref())
            .map(ToString::to_string)
            .unwrap_or_default(),
        erased: *opened == Opened::Erased,
        audit_position,
    }
}

/// Counts of one area of the board.
#[derive(Debug, Default)]
struct AreaTally {
    by_status: BTreeMap<&'static str, u64>,
    by_stage: BTreeMap<&'static str, u64>,
    by_colour: BTreeMap<&'static str, u64>,
    households: u64,
    visits_overdue: u64,
}

impl AreaTally {
    fn add_status(&mut self, status: CaseStatus, count: u64) {
        *self.by_status.entry(status.as_str()).or_default() += count;
        *self.by_stage.entry(status.waiting_stage()).or_default() += count;
    }

    fn add_colour(&mut self, colour: Colour, count: u64) {
        *self.by_colour.entry(colour.as_str()).or_default() += count;
    }

    fn into_proto(self, grid: GridCode) -> pb::AreaCounts {
        let owned = |counts: BTreeMap<&'static str, u64>| {
            counts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
        };
        pb::AreaCounts {
            grid_code: grid.to_string(),
            total: self.by_status.values().sum(),
            by_status: owned(self.by_status),
            by_stage: owned(self.by_stage),
            by_colour: owned(self.by_colour),
            households_under_care: self.households,
            visits_overdue: self.visits_overdue,
        }
    }
}
