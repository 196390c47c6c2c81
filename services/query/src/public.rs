//! What the public may see: cases by tracking code or filter without the reporter's name or
//! phone (the gateway's status pages and Open311), and per-community figures without personal
//! data or free text (the community boards).

use std::collections::BTreeMap;

use gridcase_config::ReferenceData;
use gridcase_domain::{
    Assignee, CaseStatus, CategoryCode, DepartmentCode, GridCode, GridLevel, Route, TrackingCode,
};
use gridcase_proto::common::v1 as common;
use gridcase_proto::query::v1 as pb;
use tonic::Status;

use crate::model::keys::Term;
use crate::projection::{CaseView, Projections};
use crate::service::{invalid, unavailable};

/// The most cases one `PublicCases` reply carries (Open311's cap).
pub(crate) const MAX_PUBLIC_CASES: usize = 1000;

/// How many categories a board row names.
const TOP_CATEGORIES: usize = 5;

/// The checked filters of a `PublicCases` request.
#[derive(Debug)]
pub struct PublicFilters {
    codes: Vec<TrackingCode>,
    category: Option<CategoryCode>,
    from_ms: i64,
    to_ms: i64,
    state: pb::PublicState,
    limit: usize,
    count_all: bool,
}

impl PublicFilters {
    /// Checks a `PublicCases` request on its own and against the reference data.
    pub fn parse(
        request: &pb::PublicCasesRequest,
        reference: &ReferenceData,
    ) -> Result<Self, Status> {
        if request.tracking_codes.len() > MAX_PUBLIC_CASES {
            return Err(invalid(
                "tracking_codes",
                format!(
                    "at most {MAX_PUBLIC_CASES} codes, got {}",
                    request.tracking_codes.len()
                ),
            ));
        }
        let codes = request
            .tracking_codes
            .iter()
            .map(|code| TrackingCode::parse(code).map_err(|e| invalid("tracking_codes", e.reason)))
            .collect::<Result<Vec<_>, _>>()?;
        let category = match request.category.trim() {
            "" => None,
            text => {
                let code = CategoryCode::parse(text).map_err(|e| invalid("category", e.reason))?;
                if reference.category(&code).is_none() {
                    return Err(invalid(
                        "category",
                        format!("{text:?} is not a known category"),
                    ));
                }
                Some(code)
            }
        };
        let from_ms = request.reported_from_ms.max(0);
        let to_ms = match request.reported_to_ms {
            0 => i64::MAX,
            to => to,
        };
        if to_ms <= from_ms {
            return Err(invalid("reported_to_ms", "must be after reported_from_ms"));
        }
        let state = pb::PublicState::try_from(request.state)
            .map_err(|_| invalid("state", format!("unknown public state {}", request.state)))?;
        let limit = match usize::try_from(request.limit) {
            Ok(0) => MAX_PUBLIC_CASES,
            Ok(n) if n <= MAX_PUBLIC_CASES => n,
            _ => {
                return Err(invalid(
                    "limit",
                    format!(
                        "must be 1 to {MAX_PUBLIC_CASES} (or 0 for {MAX_PUBLIC_CASES}), got {}",
                        request.limit
                    ),
                ))
            }
        };
        Ok(Self {
            codes,
            category,
            from_ms,
            to_ms,
            state,
            limit,
            count_all: request.count_all,
        })
    }

    fn matches(&self, view: &CaseView) -> bool {
        let state = &view.state;
        let reported = state.reported_at.map_or(0, |t| t.as_millis());
        if reported < self.from_ms || reported >= self.to_ms {
            return false;
        }
        if self.category.is_some() && state.category != self.category {
            return false;
        }
        match self.state {
            pb::PublicState::Unspecified => true,
            pb::PublicState::Open => state.is_open(),
            pb::PublicState::Closed => !state.is_open(),
        }
    }
}

/// The `PublicCases` reply: by tracking code when codes are given, else newest first.
pub(crate) fn cases(
    projections: &Projections,
    reference: &ReferenceData,
    request: &pb::PublicCasesRequest,
) -> Result<pb::PublicCasesReply, Status> {
    let filters = PublicFilters::parse(request, reference)?;
    let walked = filters.category.map_or(Term::All, Term::Category);
    let answer = if filters.codes.is_empty() {
        projections.newest_first(
            &walked,
            filters.from_ms,
            filters.to_ms,
            |views, tracking_code| {
                let mut cases = Vec::new();
                let mut total = 0usize;
                for view in views.filter(|v| filters.matches(v)) {
                    total += 1;
                    if cases.len() < filters.limit {
                        cases.push(public_case(&view, tracking_code));
                    } else if !filters.count_all {
                        // One more than the limit: there are more; counting them would scan the
                        // whole period.
                        break;
                    }
                }
                (cases, total)
            },
        )
    } else {
        projections.by_tracking_codes(&filters.codes, |mut views, tracking_code| {
            views.retain(|v| filters.matches(v));
            views.sort_by_key(|v| std::cmp::Reverse((v.state.reported_at, v.state.case_id)));
            let total = views.len();
            let cases = views
                .into_iter()
                .take(filters.limit)
                .map(|view| public_case(&view, tracking_code))
                .collect::<Vec<_>>();
            (cases, total)
        })
    };
    let ((cases, total), caught_up_to) = answer.map_err(unavailable)?;
    let more = total > cases.len();
    let total = if filters.count_all {
        total
    } else {
        cases.len()
    };
    Ok(pb::PublicCasesReply {
        cases,
        total: u64::try_from(total).unwrap_or(u64::MAX),
        caught_up_to,
        more,
    })
}

/// The lead department of a case: the one it is dispatched to, else the one it is routed to.
fn department_of(view: &CaseView) -> Option<&DepartmentCode> {
    match (&view.state.assignee, &view.state.route) {
        (Some(Assignee::Department(d)), _) => Some(d),
        (Some(Assignee::Worker(_) | Assignee::Community(_) | Assignee::Street(_)), _) => None,
        (None, Some(Route::Department { department })) => Some(department),
        (None, Some(Route::Joint { lead, .. })) => Some(lead),
        (
            None,
            Some(Route::SelfHandle { .. } | Route::Community { .. } | Route::Street { .. }) | None,
        ) => None,
    }
}

fn worker_of(view: &CaseView) -> Option<String> {
    match (&view.state.assignee, &view.state.route) {
        (Some(Assignee::Worker(w)), _) | (None, Some(Route::SelfHandle { worker: w })) => {
            Some(w.to_string())
        }
        _ => None,
    }
}

fn public_case(
    view: &CaseView,
    tracking_code: &dyn Fn(gridcase_domain::CaseId) -> Option<TrackingCode>,
) -> pb::PublicCase {
    let state = &view.state;
    let public = &view.public;
    let location = state.location.as_ref();
    pb::PublicCase {
        case_id: state.case_id.map(|c| c.to_string()).unwrap_or_default(),
        tracking_code: state
            .tracking_code
            .map(|t| t.to_string())
            .unwrap_or_default(),
        status: gridcase_proto::convert::case_status(state.status),
        state: if state.is_open() {
            pb::PublicState::Open
        } else {
            pb::PublicState::Closed
        } as i32,
        category: state
            .category
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        grid_code: location
            .and_then(|l| l.grid())
            .map(|g| g.to_string())
            .unwrap_or_default(),
        address: location
            .and_then(|l| l.address())
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default(),
        coordinates: location
            .and_then(|l| l.coordinates())
            .map(|c| common::Coordinates {
                lat: c.lat(),
                lon: c.lon(),
            }),
        description: public.description.clone(),
        media_urls: public.media.clone(),
        channel: public.channel.clone(),
        reported_at_ms: state.reported_at.map_or(0, |t| t.as_millis()),
        updated_at_ms: public.updated_at_ms,
        department: department_of(view)
            .map(ToString::to_string)
            .unwrap_or_default(),
        worker: worker_of(view).unwrap_or_default(),
        expected_at_ms: if state.is_open() {
            state.resolve_deadline.map_or(0, |t| t.as_millis())
        } else {
            0
        },
        resolution_note: public.resolution_note.clone(),
        evidence_urls: public.evidence.clone(),
        stages: public
            .stages
            .iter()
            .map(|(status, at_ms)| pb::StageTime {
                status: gridcase_proto::convert::case_status(Some(*status)),
                at_ms: *at_ms,
            })
            .collect(),
        merged_into: state
            .merged_into
            .and_then(tracking_code)
            .map(|t| t.to_string())
            .unwrap_or_default(),
        rejection_reason: public.rejection_reason.clone(),
        rating_score: state.rating.map_or(0, |r| u32::from(r.score)),
    }
}

/// One community's tallies while the board is counted.
#[derive(Debug, Default)]
struct CommunityTally {
    reported: u64,
    closed: u64,
    closed_on_time: u64,
    ratings: u64,
    satisfied: u64,
    categories: BTreeMap<CategoryCode, u64>,
    departments: BTreeMap<DepartmentCode, (u64, u64)>,
}

impl CommunityTally {
    fn add(&mut self, view: &CaseView, now_ms: i64) {
        let state = &view.state;
        // A repeat report is counted once, as the case it was merged into.
        if state.status == Some(CaseStatus::Merged) {
            return;
        }
        self.reported += 1;
        if let Some(category) = &state.category {
            *self.categories.entry(*category).or_default() += 1;
        }
        let closed_at = view
            .public
            .stages
            .iter()
            .rev()
            .find(|(status, _)| *status == CaseStatus::Closed)
            .map(|(_, at)| *at);
        let deadline = state.resolve_deadline.map(|t| t.as_millis());
        let closed = state.status == Some(CaseStatus::Closed);
        let on_time = closed && closed_at.zip(deadline).is_none_or(|(at, due)| at <= due);
        if closed {
            self.closed += 1;
            if on_time {
                self.closed_on_time += 1;
            }
        }
        if let Some(rating) = state.rating {
            self.ratings += 1;
            if rating.satisfied {
                self.satisfied += 1;
            }
        }
        let overdue = state.is_open() && deadline.is_some_and(|due| due < now_ms);
        if let Some(department) = department_of(view) {
            if closed || overdue {
                let entry = self.departments.entry(department.clone()).or_default();
                entry.0 += 1;
                if on_time {
                    entry.1 += 1;
                }
            }
        }
    }

    fn into_proto(self, community: &GridCode) -> pb::CommunityFigures {
        let mut categories: Vec<(CategoryCode, u64)> = self.categories.into_iter().collect();
        categories.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        pb::CommunityFigures {
            community_code: community.to_string(),
            reported: self.reported,
            closed: self.closed,
            closed_on_time: self.closed_on_time,
            ratings: self.ratings,
            satisfied: self.satisfied,
            top_categories: categories
                .into_iter()
                .take(TOP_CATEGORIES)
                .map(|(category, cases)| pb::CategoryCount {
                    category: category.to_string(),
                    cases,
                })
                .collect(),
            departments: self
                .departments
                .into_iter()
                .map(|(department, (due, on_time))| pb::DepartmentPunctuality {
                    department: department.to_string(),
                    due,
                    on_time,
                })
                .collect(),
        }
    }
}

/// The area of a `PublicBoard` request and the communities its board has a row for, with the
/// request's period checked.
pub fn board_area(
    request: &pb::PublicBoardRequest,
    reference: &ReferenceData,
) -> Result<(GridCode, Vec<GridCode>), Status> {
    let text = request.area_code.trim();
    let area = GridCode::parse(text).map_err(|e| invalid("area_code", e.reason))?;
    let communities: Vec<GridCode> = match (reference.grid(&area), area.level()) {
        (Some(_), GridLevel::Community) => vec![area],
        (Some(_), GridLevel::Street) => reference.children(&area).map(|c| c.code).collect(),
        _ => {
            return Err(invalid(
                "area_code",
                format!("{text:?} is not a known street or community"),
            ))
        }
    };
    gridcase_grpc::check_period(request.from_ms, request.to_ms)?;
    Ok((area, communities))
}

/// The `PublicBoard` reply.
pub(crate) fn board(
    projections: &Projections,
    reference: &ReferenceData,
    request: &pb::PublicBoardRequest,
    now_ms: i64,
) -> Result<pb::PublicBoardReply, Status> {
    let (area, communities) = board_area(request, reference)?;
    let (tallies, caught_up_to) = projections
        .newest_first(
            &Term::Area(area),
            request.from_ms,
            request.to_ms,
            |views, _| {
                let mut tallies: BTreeMap<GridCode, CommunityTally> = communities
                    .iter()
                    .map(|c| (*c, CommunityTally::default()))
                    .collect();
                for view in views {
                    let community = view
                        .state
                        .location
                        .as_ref()
                        .and_then(|l| l.grid())
                        .and_then(|g| g.at_level(GridLevel::Community));
                    if let Some(tally) = community.and_then(|c| tallies.get_mut(&c)) {
                        tally.add(&view, now_ms);
                    }
                }
                tallies
            },
        )
        .map_err(unavailable)?;
    Ok(pb::PublicBoardReply {
        communities: tallies
            .into_iter()
            .map(|(community, tally)| tally.into_proto(&community))
            .collect(),
        caught_up_to,
    })
}
