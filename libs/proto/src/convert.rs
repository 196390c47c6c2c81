//! Conversions between the rules' and domain's types and their messages on the wire, written
//! once for every API that sends them.

use gridcase_domain::{CaseStatus, Coordinates, Location};
use gridcase_rules::indicators::{ranked, DepartmentIndicators};

use crate::common::v1 as common;
use crate::evaluation::v1 as pb;

impl From<CaseStatus> for common::CaseStatus {
    fn from(status: CaseStatus) -> Self {
        match status {
            CaseStatus::Reported => Self::Reported,
            CaseStatus::Triaged => Self::Triaged,
            CaseStatus::Dispatched => Self::Dispatched,
            CaseStatus::Accepted => Self::Accepted,
            CaseStatus::Resolved => Self::Resolved,
            CaseStatus::Verified => Self::Verified,
            CaseStatus::Closed => Self::Closed,
            CaseStatus::Merged => Self::Merged,
            CaseStatus::Rejected => Self::Rejected,
        }
    }
}

impl TryFrom<common::CaseStatus> for CaseStatus {
    type Error = common::CaseStatus;

    /// The domain's status; `Unspecified` has none and comes back as the error.
    fn try_from(status: common::CaseStatus) -> Result<Self, Self::Error> {
        Ok(match status {
            common::CaseStatus::Unspecified => return Err(status),
            common::CaseStatus::Reported => Self::Reported,
            common::CaseStatus::Triaged => Self::Triaged,
            common::CaseStatus::Dispatched => Self::Dispatched,
            common::CaseStatus::Accepted => Self::Accepted,
            common::CaseStatus::Resolved => Self::Resolved,
            common::CaseStatus::Verified => Self::Verified,
            common::CaseStatus::Closed => Self::Closed,
            common::CaseStatus::Merged => Self::Merged,
            common::CaseStatus::Rejected => Self::Rejected,
        })
    }
}

/// A case's status on the wire (unspecified for a case that does not exist).
pub fn case_status(status: Option<CaseStatus>) -> i32 {
    status.map_or(common::CaseStatus::Unspecified, common::CaseStatus::from) as i32
}

/// The domain's snake_case name of a status on the wire (`closed`), `unspecified` for none or
/// a number this version does not know.
pub fn status_name(wire: i32) -> &'static str {
    common::CaseStatus::try_from(wire)
        .ok()
        .and_then(|status| CaseStatus::try_from(status).ok())
        .map_or("unspecified", CaseStatus::as_str)
}

/// The case after a request: the reply every acting RPC gives.
pub fn case_reply(
    case_id: String,
    status: Option<CaseStatus>,
    version: u64,
    repeated: bool,
) -> common::CaseReply {
    common::CaseReply {
        case_id,
        status: case_status(status),
        version,
        repeated,
    }
}

impl From<&Location> for common::Location {
    fn from(location: &Location) -> Self {
        Self {
            grid_code: location
                .grid()
                .map(|grid| grid.to_string())
                .unwrap_or_default(),
            address: location
                .address()
                .map(|address| address.as_str().to_owned())
                .unwrap_or_default(),
            coordinates: location.coordinates().map(|point| common::Coordinates {
                lat: point.lat(),
                lon: point.lon(),
            }),
        }
    }
}

impl From<Coordinates> for common::Coordinates {
    fn from(point: Coordinates) -> Self {
        Self {
            lat: point.lat(),
            lon: point.lon(),
        }
    }
}

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
        called_to_report_in: row.called_to_report_in,
        reported_in_on_time: row.reported_in_on_time,
        report_in_rate: row.report_in_rate,
        grid_ratings: row.grid_ratings,
        grid_rating_rate: row.grid_rating_rate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_goes_onto_the_wire_and_back() {
        for status in CaseStatus::ALL {
            let wire = common::CaseStatus::from(status);
            assert_ne!(wire, common::CaseStatus::Unspecified);
            assert_eq!(CaseStatus::try_from(wire), Ok(status));
            // The wire name is the domain's name, prefixed and in capitals.
            assert_eq!(
                wire.as_str_name(),
                format!("CASE_STATUS_{}", status.as_str().to_uppercase())
            );
        }
        assert!(CaseStatus::try_from(common::CaseStatus::Unspecified).is_err());
        assert_eq!(case_status(None), 0);
    }

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
