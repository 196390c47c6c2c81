//! The people's scores: each grid worker's indicators (优秀网格员) and each community's or
//! street's, from the case views of a period.

use gridcase_auth::RoleKind;
use gridcase_config::ReferenceData;
use gridcase_domain::people::Visitor;
use gridcase_domain::{GridLevel, WorkerId};
use gridcase_proto::query::v1 as pb;
use gridcase_rules::indicators::people::{
    area_scores, worker_scores, AreaScore, Check, PeopleCase, VisitBy, WorkerScore,
};
use tonic::Status;

use super::{grid_of, invalid, unavailable};
use crate::projection::{CaseView, Projections};

/// Who may read the scores: the centre, and the community and street offices who select their
/// outstanding grid workers.
pub const SCORE_ROLES: &[RoleKind] = &[
    RoleKind::Operator,
    RoleKind::Supervisor,
    RoleKind::Admin,
    RoleKind::Community,
    RoleKind::Street,
];

const HOUR_MS: i64 = 3_600_000;

/// The period a request asks for, checked.
pub fn period(from_ms: i64, to_ms: i64) -> Result<(i64, i64), Status> {
    if to_ms <= from_ms {
        return Err(invalid(
            "to_ms",
            format!(
                "the period must end after it starts: to_ms {to_ms} is not after from_ms {from_ms}"
            ),
        ));
    }
    Ok((from_ms, to_ms))
}

/// What the scores need of one case: a check is on time within `check_within_ms` of the
/// resolution it checked.
pub fn people_case(view: &CaseView, check_within_ms: i64) -> PeopleCase {
    let worker_of = |actor: Option<&String>| {
        actor
            .and_then(|actor| actor.strip_prefix("grid_worker:"))
            .and_then(|id| WorkerId::parse(id).ok())
    };
    let found_by = view
        .timeline
        .first()
        .filter(|entry| entry.event_type == "CaseReported")
        .and_then(|entry| worker_of(entry.actor.as_ref()));
    let mut resolved_at = None;
    let mut checks = Vec::new();
    for entry in &view.timeline {
        match entry.event_type.as_str() {
            "CaseResolved" => resolved_at = Some(entry.recorded_at_ms),
            "CaseVerified" | "VerificationFailed" => {
                if let Some(by) = worker_of(entry.actor.as_ref()) {
                    let on_time =
                        resolved_at.is_some_and(|at| entry.recorded_at_ms - at <= check_within_ms);
                    checks.push(Check { by, on_time });
                }
            }
            _ => {}
        }
    }
    PeopleCase {
        grid: grid_of(view),
        status: view.state.status,
        assignee: view.state.assignee.clone(),
        found_by,
        rating: view.state.rating.map(|r| (r.satisfied, r.resolved)),
        checks,
    }
}

/// The cases of `from_ms..to_ms` as the scores need them, and the position they reflect.
fn cases(
    projections: &Projections,
    reference: &ReferenceData,
    from_ms: i64,
    to_ms: i64,
) -> Result<(Vec<PeopleCase>, u64), Status> {
    let within = i64::from(
        reference
            .indicator_settings()
            .grid_workers
            .check_within_hours,
    ) * HOUR_MS;
    projections
        .newest_first(
            &crate::model::keys::Term::All,
            from_ms,
            to_ms,
            |views, _| views.map(|view| people_case(&view, within)).collect(),
        )
        .map_err(unavailable)
}

/// The grid workers' indicators of a period.
pub fn grid_workers(
    projections: &Projections,
    reference: &ReferenceData,
    request: &pb::PeriodRequest,
) -> Result<pb::GridWorkerIndicatorsReply, Status> {
    let (from_ms, to_ms) = period(request.from_ms, request.to_ms)?;
    let (cases, caught_up_to) = cases(projections, reference, from_ms, to_ms)?;
    let settings = reference.indicator_settings().grid_workers;
    let visits: Vec<VisitBy> = projections
        .model()
        .visits(from_ms, to_ms)
        .map_err(unavailable)?
        .into_iter()
        .filter_map(|(_, line)| match line.visitor {
            Visitor::Worker(worker) => Some(VisitBy {
                worker,
                on_time: line.on_time,
            }),
            Visitor::Member(_) => None,
        })
        .collect();
    let rows = worker_scores(
        reference,
        &cases,
        &visits,
        &settings.weights,
        settings.min_activity,
    );
    Ok(pb::GridWorkerIndicatorsReply {
        workers: rows
            .iter()
            .map(|row| worker_reply(reference, row))
            .collect(),
        min_activity: settings.min_activity,
        caught_up_to,
    })
}

/// The communities' or streets' indicators of a period.
pub fn areas(
    projections: &Projections,
    reference: &ReferenceData,
    request: &pb::SettlementIndicatorsRequest,
) -> Result<pb::AreaIndicatorsReply, Status> {
    let (from_ms, to_ms) = period(request.from_ms, request.to_ms)?;
    let level = match request.level.as_str() {
        "community" => GridLevel::Community,
        "street" => GridLevel::Street,
        other => {
            return Err(invalid(
                "level",
                format!("{other:?} is not community or street"),
            ))
        }
    };
    let (cases, caught_up_to) = cases(projections, reference, from_ms, to_ms)?;
    let min_closed = reference.indicator_settings().min_cases_for_ranking;
    let rows = area_scores(&cases, level, min_closed);
    Ok(pb::AreaIndicatorsReply {
        areas: rows.iter().map(|row| area_reply(reference, row)).collect(),
        min_closed,
        caught_up_to,
    })
}

fn worker_reply(reference: &ReferenceData, row: &WorkerScore) -> pb::GridWorkerScore {
    pb::GridWorkerScore {
        worker_id: row.worker.to_string(),
        name: reference
            .worker(&row.worker)
            .map(|person| person.name.to_string())
            .unwrap_or_default(),
        grid_code: row.grid.to_string(),
        grid_name: reference
            .grid(&row.grid)
            .map(|area| area.name.clone())
            .unwrap_or_default(),
        found_on_patrol: row.found_on_patrol,
        settled_in_grid: row.settled_in_grid,
        checks: row.checks,
        checks_on_time: row.checks_on_time,
        on_time_check_rate: row.on_time_check_rate,
        ratings: row.ratings,
        satisfied: row.satisfied,
        satisfaction_rate: row.satisfaction_rate,
        visits: row.visits,
        visits_on_time: row.visits_on_time,
        on_time_visit_rate: row.on_time_visit_rate,
        activity: row.activity,
        score: row.score,
        rank: row.rank,
    }
}

fn area_reply(reference: &ReferenceData, row: &AreaScore) -> pb::AreaScore {
    pb::AreaScore {
        grid_code: row.area.to_string(),
        name: reference
            .grid(&row.area)
            .map(|area| area.name.clone())
            .unwrap_or_default(),
        cases: row.cases,
        closed: row.closed,
        ratings: row.ratings,
        satisfied: row.satisfied,
        satisfaction_rate: row.satisfaction_rate,
        resolved: row.resolved,
        resolution_rate: row.resolution_rate,
        settled_in_grid: row.settled_in_grid,
        settled_in_community: row.settled_in_community,
        grid_share: row.grid_share,
        community_share: row.community_share,
        rank: row.rank,
    }
}
