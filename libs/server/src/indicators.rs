//! Department indicators on the wire: the evaluation service (recomputing from the whole log)
//! and the query service (from its live projection) answer `DepartmentIndicators` alike.

use gridcase_proto::evaluation::v1 as pb;
use gridcase_rules::indicators::DepartmentIndicators;
use tonic::Status;

use crate::auth::RoleKind;

/// Who may read department indicators, from either service: supervisors and administrators.
pub const READ_ROLES: &[RoleKind] = &[RoleKind::Supervisor, RoleKind::Admin];

/// Refuses an empty period with INVALID_ARGUMENT naming `to_ms`.
pub fn check_period(from_ms: i64, to_ms: i64) -> Result<(), Status> {
    if to_ms <= from_ms {
        return Err(Status::invalid_argument("to_ms: must be after from_ms"));
    }
    Ok(())
}

/// The reply for `[from_ms, to_ms)` from `rows` sorted best first: departments with at least
/// `min_cases_for_ranking` cases due are ranked 1, 2, … and come first; the others follow,
/// reported with rank 0 (unranked), so one late case does not put a quiet department last.
pub fn reply(
    from_ms: i64,
    to_ms: i64,
    rows: Vec<DepartmentIndicators>,
    events_read: u64,
    min_cases_for_ranking: u32,
) -> pb::DepartmentIndicatorsReply {
    let (ranked, unranked): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|row| row.due >= u64::from(min_cases_for_ranking));
    let ranked = ranked
        .into_iter()
        .zip(1u32..)
        .map(|(row, rank)| to_proto(rank, row));
    let unranked = unranked.into_iter().map(|row| to_proto(0, row));
    pb::DepartmentIndicatorsReply {
        from_ms,
        to_ms,
        departments: ranked.chain(unranked).collect(),
        events_read,
    }
}

fn to_proto(rank: u32, row: DepartmentIndicators) -> pb::DepartmentIndicators {
    pb::DepartmentIndicators {
        department: row.department,
        dispatched: row.dispatched,
        accepted_on_time: row.accepted_on_time,
        response_rate: row.response_rate,
        resolved: row.resolved,
        verifications_failed: row.verifications_failed,
        rework_rate: row.rework_rate,
        due: row.due,
        deferred: row.deferred,
        closed: row.closed,
        closed_on_time: row.closed_on_time,
        closure_rate: row.closure_rate,
        on_time_closure_rate: row.on_time_closure_rate,
        ratings: row.ratings,
        satisfied: row.satisfied,
        satisfaction_rate: row.satisfaction_rate,
        resolved_answers: row.resolved_answers,
        resolution_rate: row.resolution_rate,
        mean_hours_to_close: row.mean_hours_to_close,
        p90_hours_to_close: row.p90_hours_to_close,
        score: row.score,
        rank,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(department: &str, due: u64, score: f64) -> DepartmentIndicators {
        DepartmentIndicators {
            department: department.to_owned(),
            due,
            score,
            ..DepartmentIndicators::default()
        }
    }

    #[test]
    fn departments_with_too_few_cases_are_reported_unranked_after_the_ranked() {
        let rows = vec![
            row("quiet", 2, 0.99),
            row("busy", 12, 0.80),
            row("late", 10, 0.40),
            row("new", 0, 0.0),
        ];
        let reply = reply(0, 1, rows, 99, 10);
        let ranks: Vec<(&str, u32)> = reply
            .departments
            .iter()
            .map(|d| (d.department.as_str(), d.rank))
            .collect();
        assert_eq!(ranks, [("busy", 1), ("late", 2), ("quiet", 0), ("new", 0)]);
        assert_eq!(reply.events_read, 99);
    }
}
