//! The checks of each `Query` request before it reads the model: filters, pages, the case, a
//! contact read's purpose, an inbox's handler, a settlement period.

use gridcase_auth::Role;
use gridcase_config::ReferenceData;
use gridcase_domain::{
    Assignee, CaseId, CaseStatus, CategoryCode, DepartmentCode, GridCode, GridLevel, Timestamp,
    WorkerId,
};
use gridcase_grpc::ApiError;
use gridcase_proto::common::v1 as common;
use gridcase_proto::query::v1 as pb;
use gridcase_rules::deadlines::Colour;
use tonic::Status;

use super::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_PURPOSE_CHARS};
use crate::index::{parse_page_token, Key};
use crate::projection::CaseView;

pub(crate) fn invalid(field: &str, reason: impl std::fmt::Display) -> Status {
    ApiError::invalid(field, reason.to_string()).into()
}

/// A checked `ListCases` request: its filters, page size and where its page starts.
#[derive(Debug)]
pub struct ListRequest {
    pub(super) filters: Filters,
    pub(super) size: usize,
    pub(super) after: Option<Key>,
}

impl ListRequest {
    /// Checks a `ListCases` request on its own and against the reference data; `now` is when
    /// its colour and overdue filters are judged.
    pub fn parse(
        request: &pb::ListCasesRequest,
        reference: &ReferenceData,
        now: Timestamp,
    ) -> Result<Self, Status> {
        Ok(Self {
            filters: Filters::parse(request, reference, now)?,
            size: page_size(request.page_size)?,
            after: page_after(&request.page_token)?,
        })
    }
}

/// The case a `GetCase` request asks about.
pub fn case_request(request: &pb::GetCaseRequest) -> Result<CaseId, Status> {
    CaseId::parse(&request.case_id).map_err(|e| invalid("case_id", e.reason))
}

/// The case and purpose a `GetReporterContact` request gives.
pub fn contact_request(
    request: &pb::GetReporterContactRequest,
) -> Result<(CaseId, String), Status> {
    let case = CaseId::parse(&request.case_id).map_err(|e| invalid("case_id", e.reason))?;
    Ok((case, purpose(&request.purpose)?))
}

/// Why a contact is read in clear, as the audit will record it: 1 to
/// [`MAX_PURPOSE_CHARS`] characters.
pub(super) fn purpose(text: &str) -> Result<String, Status> {
    let purpose = text.trim();
    if purpose.is_empty() {
        return Err(invalid(
            "purpose",
            "say why the contact is needed; the read is audited",
        ));
    }
    let chars = purpose.chars().count();
    if chars > MAX_PURPOSE_CHARS {
        return Err(invalid(
            "purpose",
            format!("at most {MAX_PURPOSE_CHARS} characters, got {chars}"),
        ));
    }
    Ok(purpose.to_owned())
}

/// The handler whose inbox `request` asks for, checked against the reference data and against
/// `caller`: a handler reads its own inbox only.
pub fn inbox_handler(
    request: &pb::ListInboxRequest,
    caller: &Role,
    reference: &ReferenceData,
) -> Result<Assignee, Status> {
    let own = match caller {
        Role::GridWorker(id) => Some(format!("grid_worker:{id}")),
        Role::Department(code) => Some(format!("department:{code}")),
        Role::Community(code) => Some(format!("community:{code}")),
        Role::Street(code) => Some(format!("street:{code}")),
        Role::Operator
        | Role::Supervisor
        | Role::Admin
        | Role::Gateway
        | Role::GridLeader(_)
        | Role::Member(_) => None,
    };
    let named = request.handler.trim();
    let handler = match (named.is_empty(), &own) {
        (true, Some(own)) => own.clone(),
        (true, None) => {
            return Err(invalid(
                "handler",
                format!("{caller} has no inbox of its own: name the handler whose inbox to read"),
            ))
        }
        (false, _) => named.to_owned(),
    };
    let assignee =
        handler_assignee(&handler, reference).map_err(|reason| invalid("handler", reason))?;
    if let Some(own) = own {
        if own != handler {
            return Err(Status::permission_denied(format!(
                "handler: {own} may read its own inbox only, not {handler}"
            )));
        }
    }
    Ok(assignee)
}

/// The handler `text` names (`grid_worker:<id>`, `department:<code>`, `community:<grid code>`
/// or `street:<grid code>`), if it is in the reference data.
fn handler_assignee(text: &str, reference: &ReferenceData) -> Result<Assignee, String> {
    let Some((kind, name)) = text.split_once(':') else {
        return Err(format!(
            "{text:?} is not grid_worker:<id>, department:<code>, community:<code> or street:<code>"
        ));
    };
    let office = |level: GridLevel| -> Result<GridCode, String> {
        let code = GridCode::parse(name).map_err(|e| e.reason)?;
        if code.level() != level || reference.grid(&code).is_none() {
            return Err(format!("{code} is not a known {level}"));
        }
        Ok(code)
    };
    match kind {
        "grid_worker" => {
            let worker = WorkerId::parse(name).map_err(|e| e.reason)?;
            reference
                .worker(&worker)
                .ok_or_else(|| format!("{worker} is not a known grid worker"))?;
            Ok(Assignee::Worker(worker))
        }
        "department" => {
            let code = DepartmentCode::parse(name).map_err(|e| e.reason)?;
            reference
                .department(&code)
                .ok_or_else(|| format!("{code} is not a known department"))?;
            Ok(Assignee::Department(code))
        }
        "community" => office(GridLevel::Community).map(Assignee::Community),
        "street" => office(GridLevel::Street).map(Assignee::Street),
        other => Err(format!(
            "{other:?} has no inbox: use grid_worker, department, community or street"
        )),
    }
}

/// The period and level a `SettlementIndicators` request asks for.
pub fn settlement_request(
    request: &pb::SettlementIndicatorsRequest,
) -> Result<(i64, i64, GridLevel), Status> {
    if request.to_ms <= request.from_ms {
        return Err(invalid(
            "to_ms",
            format!(
                "the period must end after it starts: to_ms {} is not after from_ms {}",
                request.to_ms, request.from_ms
            ),
        ));
    }
    let level = match request.level.as_str() {
        "grid" => GridLevel::Grid,
        "community" => GridLevel::Community,
        "street" => GridLevel::Street,
        other => {
            return Err(invalid(
                "level",
                format!("{other:?} is not grid, community or street"),
            ))
        }
    };
    Ok((request.from_ms, request.to_ms, level))
}

/// The checked filters of a `ListCases` request.
#[derive(Debug)]
pub(super) struct Filters {
    pub(super) status: Option<CaseStatus>,
    pub(super) grid: Option<GridCode>,
    pub(super) department: Option<DepartmentCode>,
    pub(super) category: Option<CategoryCode>,
    pub(super) colour: Option<Colour>,
    pub(super) overdue_only: bool,
    pub(super) now: Timestamp,
}

impl Filters {
    fn parse(
        request: &pb::ListCasesRequest,
        reference: &ReferenceData,
        now: Timestamp,
    ) -> Result<Self, Status> {
        let status = match common::CaseStatus::try_from(request.status) {
            Ok(common::CaseStatus::Unspecified) => None,
            Ok(status) => {
                Some(CaseStatus::try_from(status).map_err(|_| invalid("status", "unspecified"))?)
            }
            Err(_) => {
                return Err(invalid(
                    "status",
                    format!("unknown case status {}", request.status),
                ))
            }
        };
        let grid = non_empty(&request.grid_code)
            .map(|s| {
                let code = GridCode::parse(s).map_err(|e| invalid("grid_code", e.reason))?;
                // A typo must not look like an area without cases.
                match reference.grid(&code) {
                    Some(_) => Ok(code),
                    None => Err(invalid("grid_code", format!("{s:?} is not a known grid"))),
                }
            })
            .transpose()?;
        let department = non_empty(&request.department)
            .map(|s| {
                let code = DepartmentCode::parse(s).map_err(|e| invalid("department", e.reason))?;
                match reference.department(&code) {
                    Some(_) => Ok(code),
                    None => Err(invalid(
                        "department",
                        format!("{s:?} is not a known department"),
                    )),
                }
            })
            .transpose()?;
        let category = non_empty(&request.category)
            .map(|s| {
                let code = CategoryCode::parse(s).map_err(|e| invalid("category", e.reason))?;
                match reference.category(&code) {
                    Some(_) => Ok(code),
                    None => Err(invalid(
                        "category",
                        format!("{s:?} is not a known category"),
                    )),
                }
            })
            .transpose()?;
        let colour = non_empty(&request.colour)
            .map(|s| {
                Colour::parse(s)
                    .ok_or_else(|| invalid("colour", format!("{s:?} is not green, yellow or red")))
            })
            .transpose()?;
        Ok(Self {
            colour,
            status,
            grid,
            department,
            category,
            overdue_only: request.overdue_only,
            now,
        })
    }

    pub(super) fn matches(&self, view: &CaseView) -> bool {
        let state = &view.state;
        if self.status.is_some() && state.status != self.status {
            return false;
        }
        if let Some(grid) = &self.grid {
            let inside = state
                .location
                .as_ref()
                .and_then(|l| l.grid())
                .is_some_and(|g| g.is_within(grid));
            if !inside {
                return false;
            }
        }
        if let Some(department) = &self.department {
            if !involves(view, department) {
                return false;
            }
        }
        if self.category.is_some() && state.category != self.category {
            return false;
        }
        if let Some(colour) = self.colour {
            if view.colour.at(self.now) != colour {
                return false;
            }
        }
        !self.overdue_only || view.is_overdue(self.now)
    }
}

/// True if the case is routed or dispatched to `department`, as lead or participant.
fn involves(view: &CaseView, department: &DepartmentCode) -> bool {
    crate::index::departments_of(&view.state).contains(department)
}

fn non_empty(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()).then_some(text)
}

pub(super) fn page_size(requested: u32) -> Result<usize, Status> {
    match usize::try_from(requested) {
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(n) if n <= MAX_PAGE_SIZE => Ok(n),
        _ => Err(invalid(
            "page_size",
            format!("must be 1 to {MAX_PAGE_SIZE} (or 0 for {DEFAULT_PAGE_SIZE}), got {requested}"),
        )),
    }
}

/// Where a page starts: after the last case of the page whose reply gave `token`.
pub(super) fn page_after(token: &str) -> Result<Option<Key>, Status> {
    if token.is_empty() {
        return Ok(None);
    }
    parse_page_token(token)
        .map(Some)
        .ok_or_else(|| invalid("page_token", "not a token from a previous reply"))
}
