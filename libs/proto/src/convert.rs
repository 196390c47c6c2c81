//! Conversions between the rules' and domain's types and their messages on the wire, written
//! once for every API that sends them.

use gridcase_rules::indicators::{ranked, DepartmentIndicators};

use crate::evaluation::v1 as pb;

/// The `DepartmentIndicators` reply for `[from_ms, to_ms)` from `rows` sorted best first,
/// ranked by [`ranked`]: the evaluation service (recomputing from the whole log) and the query
/// service (from its live projection) answer alike.
pub fn indicators_reply(
    from_ms: i64,
    to_ms: i64,
    rows: Vec<DepartmentIndicators>,
    events_read: u64,
    min_cases_for_ranking: u32,
) -> pb::DepartmentIndicatorsReply {
    pb::DepartmentIndicatorsReply {
        from_ms,
        to_ms,
        departments: ranked(rows, min_cases_for_ranking)
            .into_iter()
            .map(|(rank, row)| department_indicators(rank, row))
            .collect(),
        events_read,
    }
}

fn department_indicators(rank: u32, row: DepartmentIndicators) -> pb::DepartmentIndicators {
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

    #[test]
    fn the_reply_carries_ranks_and_the_events_read() {
        let row = |department: &str, due: u64| DepartmentIndicators {
            department: department.to_owned(),
            due,
            ..DepartmentIndicators::default()
        };
        let reply = indicators_reply(0, 1, vec![row("busy", 12), row("quiet", 2)], 99, 10);
        let ranks: Vec<(&str, u32)> = reply
            .departments
            .iter()
            .map(|d| (d.department.as_str(), d.rank))
            .collect();
        assert_eq!(ranks, [("busy", 1), ("quiet", 0)]);
        assert_eq!((reply.from_ms, reply.to_ms, reply.events_read), (0, 1, 99));
    }
}
