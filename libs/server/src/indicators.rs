//! Department indicators on the wire: the evaluation service (recomputing from the whole log)
//! and the query service (from its live projection) answer `DepartmentIndicators` alike.

use gridcase_proto::evaluation::v1 as pb;
use gridcase_rules::indicators::DepartmentIndicators;
use tonic::Status;

/// Refuses an empty period with INVALID_ARGUMENT naming `to_ms`.
pub fn check_period(from_ms: i64, to_ms: i64) -> Result<(), Status> {
    if to_ms <= from_ms {
        return Err(Status::invalid_argument("to_ms: must be after from_ms"));
    }
    Ok(())
}

/// The reply for `[from_ms, to_ms)`: `rows` best first, ranked 1, 2, …
pub fn reply(
    from_ms: i64,
    to_ms: i64,
    rows: Vec<DepartmentIndicators>,
    events_read: u64,
) -> pb::DepartmentIndicatorsReply {
    pb::DepartmentIndicatorsReply {
        from_ms,
        to_ms,
        departments: rows
            .into_iter()
            .enumerate()
            .map(|(rank, row)| to_proto(rank, row))
            .collect(),
        events_read,
    }
}

fn to_proto(rank: usize, row: DepartmentIndicators) -> pb::DepartmentIndicators {
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
        rank: u32::try_from(rank + 1).unwrap_or(u32::MAX),
    }
}
