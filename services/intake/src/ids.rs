//! Ids derived from what the caller sends, so a retried request lands on the same case without
//! any cache: the case id, the command id and the tracking-code candidates are all stable hashes.

use gridcase_casestore::fnv1a_128;
use gridcase_casestore::ids::command_id;
use gridcase_domain::{CaseId, TrackingCode};

/// The case a client request id reports: the same id always names the same case.
pub fn case_id_for(client_request_id: &str) -> CaseId {
    CaseId::from_u128(fnv1a_128(&[b"intake:", client_request_id.as_bytes()]))
}

/// The id of the report command of a client request id; its event ids derive from it. Like
/// the case id it depends on the request id alone, so whoever retries the report, it is one.
pub fn report_command_id(client_request_id: &str) -> u128 {
    command_id(crate::SERVICE, &[b"report", client_request_id.as_bytes()])
}

/// The `attempt`-th tracking code tried for `case`: the low 64 bits of the case id first, then
/// hashes of the case id with a counter.
pub fn tracking_candidate(case: CaseId, attempt: u32) -> TrackingCode {
    let bits = if attempt == 0 {
        case.as_u128()
    } else {
        fnv1a_128(&[
            b"intake-tracking:",
            &case.to_bytes(),
            &attempt.to_be_bytes(),
        ])
    };
    // Truncation to the low 64 bits is the point.
    TrackingCode::from_u64(bits as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fixed_per_request_id_and_distinct_per_purpose() {
        assert_eq!(
            case_id_for("req-1").to_string(),
            "13fb3d3978d598f6f031740f9d18e0d1"
        );
        assert_eq!(case_id_for("req-1"), case_id_for("req-1"));
        assert_ne!(case_id_for("req-1"), case_id_for("req-2"));
        assert_ne!(case_id_for("req-1").as_u128(), report_command_id("req-1"));
    }

    #[test]
    fn tracking_candidates_start_from_the_case_id_and_then_differ() {
        let case = case_id_for("req-1");
        assert_eq!(
            tracking_candidate(case, 0),
            TrackingCode::from_u64(case.as_u128() as u64)
        );
        let candidates: std::collections::BTreeSet<_> = (0..8)
            .map(|attempt| tracking_candidate(case, attempt))
            .collect();
        assert_eq!(candidates.len(), 8);
        assert_eq!(tracking_candidate(case, 3), tracking_candidate(case, 3));
    }
}
