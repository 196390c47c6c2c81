//! 敲门行动 in the query service: the visit plans of grid workers and areas, a household's
//! contact in clear (audited), and the board's households and overdue visits.

use std::collections::BTreeMap;

use gridcase_auth::{Caller, Role, RoleKind};
use gridcase_config::ReferenceData;
use gridcase_domain::people::Household;
use gridcase_domain::{Contact, GridCode, GridLevel, HouseholdId, Timestamp, WorkerId};
use gridcase_grpc::ApiError;
use gridcase_privacy::audit::{self, AuditRecord, HouseholdRead};
use gridcase_privacy::Opened;
use gridcase_proto::query::v1 as pb;
use tonic::Status;

use super::{invalid, unavailable, QueryApi};

/// Who may read a visit plan.
pub const PLAN_ROLES: &[RoleKind] = &[
    RoleKind::GridWorker,
    RoleKind::Community,
    RoleKind::Street,
    RoleKind::Supervisor,
    RoleKind::Admin,
];

/// Who may read a household's contact in clear: its grid's worker and its community office.
pub const HOUSEHOLD_CONTACT_ROLES: &[RoleKind] = &[RoleKind::GridWorker, RoleKind::Community];

/// Whose plan a request asks for: a grid worker's grid, or an area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanOf {
    /// The households of the grid worker's grid.
    Worker(WorkerId, GridCode),
    /// The households within an area.
    Area(GridCode),
}

impl PlanOf {
    fn covers(&self, grid: &GridCode, reference: &ReferenceData) -> bool {
        match self {
            PlanOf::Worker(worker, _) => reference.workers_of(grid).iter().any(|p| &p.id == worker),
            PlanOf::Area(area) => grid.is_within(area),
        }
    }
}

/// The plan `request` asks for, checked against the reference data and against `caller`: a
/// grid worker reads their own plan, an office its own area.
pub fn plan_request(
    request: &pb::VisitPlanRequest,
    caller: &Role,
    reference: &ReferenceData,
) -> Result<PlanOf, Status> {
    let worker = request.worker_id.trim();
    let area = request.area_code.trim();
    let plan = match (worker.is_empty(), area.is_empty(), caller) {
        (false, false, _) => {
            return Err(invalid(
                "area_code",
                "name a grid worker or an area, not both",
            ))
        }
        (true, true, Role::GridWorker(own)) => worker_plan(own, reference)?,
        (true, true, Role::Community(own) | Role::Street(own)) => {
            PlanOf::Area(GridCode::parse(own).map_err(|e| invalid("area_code", e.reason))?)
        }
        (true, true, _) => return Err(invalid("worker_id", "name a grid worker or an area")),
        (false, true, _) => worker_plan(worker, reference)?,
        (true, false, _) => {
            let code = GridCode::parse(area).map_err(|e| invalid("area_code", e.reason))?;
            if reference.grid(&code).is_none() || code.level() < GridLevel::Street {
                return Err(invalid(
                    "area_code",
                    format!("{code} is not a known street, community or grid"),
                ));
            }
            PlanOf::Area(code)
        }
    };
    let allowed = match (caller, &plan) {
        (Role::GridWorker(own), PlanOf::Worker(worker, _)) => own == worker.as_str(),
        (Role::GridWorker(_), PlanOf::Area(_)) => false,
        (Role::Community(own) | Role::Street(own), plan) => {
            let area = match plan {
                PlanOf::Worker(_, grid) | PlanOf::Area(grid) => grid,
            };
            GridCode::parse(own).is_ok_and(|own| area.is_within(&own))
        }
        _ => true,
    };
    if !allowed {
        return Err(ApiError::PermissionDenied(format!(
            "{caller} may not read this visit plan: a grid worker reads their own, an office its own area's"
        ))
        .into());
    }
    Ok(plan)
}

fn worker_plan(worker: &str, reference: &ReferenceData) -> Result<PlanOf, Status> {
    let id = WorkerId::parse(worker).map_err(|e| invalid("worker_id", e.reason))?;
    let grid = reference
        .grid_of_worker(&id)
        .ok_or_else(|| invalid("worker_id", format!("{id} is not a known grid worker")))?
        .code;
    Ok(PlanOf::Worker(id, grid))
}

/// A household of a plan, as listed: masked for every role.
fn planned(
    id: HouseholdId,
    household: &Household,
    opened: &Opened,
    reference: &ReferenceData,
    now: Timestamp,
) -> pb::PlannedVisit {
    let kind = household.enrolled.kind;
    let every = reference.care().every_days(kind);
    let due = household.next_due(every);
    let last = household.last_visit.as_ref();
    pb::PlannedVisit {
        household_id: id.to_string(),
        kind: kind.as_str().to_owned(),
        kind_label: kind.label().to_owned(),
        grid_code: household.enrolled.grid.to_string(),
        name_masked: opened.masked_name(),
        phone_masked: opened.masked_phone(),
        erased: *opened == Opened::Erased,
        last_visit_at_ms: last
            .map(|v| v.at)
            .or(household.enrolled.last_visited)
            .map_or(0, Timestamp::as_millis),
        last_visitor: last.map(|v| v.visitor.to_string()).unwrap_or_default(),
        next_due_ms: due.as_millis(),
        overdue: household.overdue(every, now),
        visits: household.visits,
        visits_on_time: household.visits_on_time,
        warnings: household
            .warned
            .iter()
            .filter(|w| w.due == due)
            .map(|w| w.warning.as_str().to_owned())
            .collect(),
    }
}

/// Households under care and overdue visits per area at `level`.
pub fn care_counts(
    households: &[(HouseholdId, Household)],
    reference: &ReferenceData,
    level: GridLevel,
    now: Timestamp,
) -> BTreeMap<GridCode, (u64, u64)> {
    let mut counts: BTreeMap<GridCode, (u64, u64)> = BTreeMap::new();
    for (_, household) in households.iter().filter(|(_, h)| h.released.is_none()) {
        let Some(area) = household.enrolled.grid.at_level(level) else {
            continue;
        };
        let every = reference.care().every_days(household.enrolled.kind);
        let entry = counts.entry(area).or_default();
        entry.0 += 1;
        entry.1 += u64::from(household.overdue(every, now));
    }
    counts
}

impl QueryApi {
    pub(super) async fn visit_plan(
        &self,
        caller: &Caller,
        request: &pb::VisitPlanRequest,
    ) -> Result<pb::VisitPlanReply, Status> {
        let plan = plan_request(request, &caller.role, &self.reference)?;
        let model = self.projections.model();
        let caught_up_to = model.folded();
        let now = gridcase_runtime::now();
        let mut households: Vec<(HouseholdId, Household)> = model
            .households()
            .map_err(unavailable)?
            .into_iter()
            .filter(|(_, h)| h.released.is_none() && plan.covers(&h.enrolled.grid, &self.reference))
            .collect();
        let contacts: Vec<Contact> = households
            .iter()
            .map(|(_, h)| Contact::Sealed(h.enrolled.person.clone()))
            .collect();
        let opened = self
            .open_for_masking(&contacts.iter().collect::<Vec<_>>())
            .await;
        let mut listed: Vec<pb::PlannedVisit> = households
            .drain(..)
            .zip(&opened)
            .map(|((id, household), opened)| planned(id, &household, opened, &self.reference, now))
            .collect();
        listed.sort_by(|a, b| {
            (a.next_due_ms, &a.household_id).cmp(&(b.next_due_ms, &b.household_id))
        });
        let overdue =
            u32::try_from(listed.iter().filter(|h| h.overdue).count()).unwrap_or(u32::MAX);
        Ok(pb::VisitPlanReply {
            households: listed,
            overdue,
            caught_up_to,
        })
    }

    pub(super) async fn household_contact(
        &self,
        caller: &Caller,
        request: &pb::GetHouseholdContactRequest,
    ) -> Result<pb::GetReporterContactReply, Status> {
        let id = HouseholdId::parse(request.household_id.trim())
            .map_err(|e| invalid("household_id", e.reason))?;
        let purpose = super::requests::purpose(&request.purpose)?;
        let household = self
            .projections
            .model()
            .household(id)
            .map_err(unavailable)?
            .ok_or_else(|| ApiError::NotFound(format!("household_id: no household {id}")))?;
        let grid = household.enrolled.grid;
        let allowed = match &caller.role {
            Role::GridWorker(worker) => self
                .reference
                .workers_of(&grid)
                .iter()
                .any(|p| p.id.as_str() == worker),
            Role::Community(own) => GridCode::parse(own).is_ok_and(|own| grid.is_within(&own)),
            _ => false,
        };
        if !allowed {
            return Err(ApiError::PermissionDenied(format!(
                "household {id} is not in {}'s grid or community",
                caller.role
            ))
            .into());
        }
        let record = AuditRecord::HouseholdRead(HouseholdRead {
            household_id: id,
            purpose,
        });
        let audit_position = audit::append(&self.store, &caller.actor(), &record)
            .await
            .map_err(|e| Status::unavailable(format!("the audit cannot record the read: {e}")))?;
        let contact = Contact::Sealed(household.enrolled.person.clone());
        let opened = self.open(&[&contact]).await?.remove(0);
        tracing::info!(household = %id, actor = %caller.actor(), audit_position, "household contact read in clear");
        Ok(super::contact_reply(&opened, audit_position))
    }
}
