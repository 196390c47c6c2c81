//! Ids derived from what the caller sends, so a retried request lands on the same case without
//! any cache: the case id, the command id and the tracking-code candidates are all stable hashes.

use gridcase_bus::ShardMap;
use gridcase_casestore::fnv1a_128;
use gridcase_casestore::ids::command_id;
use gridcase_domain::{CaseId, GridCode, TrackingCode};

/// The case a client request id reports, kept in store shard `shard` of `shards` (which the
/// id then names): the same id always names the same case.
pub fn case_id_for(shards: &ShardMap, client_request_id: &str, shard: usize) -> CaseId {
    shards.case_in(unsharded(client_request_id), shard)
}

fn unsharded(client_request_id: &str) -> CaseId {
    CaseId::from_u128(fnv1a_128(&[b"intake:", client_request_id.as_bytes()]))
}

/// The store shard a report is kept in: its grid's district's, or one picked by its request
/// id when it names no grid (a retry picks the same).
pub fn shard_of_report(
    shards: &ShardMap,
    grid: Option<&GridCode>,
    client_request_id: &str,
) -> usize {
    match grid {
        Some(grid) => shards.of_grid(grid),
        None => (unsharded(client_request_id).as_u128() % shards.count() as u128) as usize,
    }
}

/// The id of the report command of a client request id; its event ids derive from it. Like
/// the case id it depends on the request id alone, so whoever retries the report, it is one.
pub fn report_command_id(client_request_id: &str) -> u128 {
    command_id(crate::SERVICE, &[b"report", client_request_id.as_bytes()])
}

/// The `attempt`-th tracking code tried for `case`: the low 64 bits of the case id first, then
/// hashes of the case id with a counter; each moved to the nearest code of the case's shard.
pub fn tracking_candidate(shards: &ShardMap, case: CaseId, attempt: u32) -> TrackingCode {
    shards.code_in(any_candidate(case, attempt), shards.of_case(case))
}

fn any_candidate(case: CaseId, attempt: u32) -> TrackingCode {
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

    fn one() -> ShardMap {
        ShardMap::one("0")
    }

    #[test]
    fn ids_are_fixed_per_request_id_and_distinct_per_purpose() {
        let case_id_for = |id: &str| case_id_for(&one(), id, 0);
        // Unchanged since the first release: a city of one shard keeps its ids.
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
        let case = case_id_for(&one(), "req-1", 0);
        assert_eq!(
            tracking_candidate(&one(), case, 0),
            TrackingCode::from_u64(case.as_u128() as u64)
        );
        let candidates: std::collections::BTreeSet<_> = (0..8)
            .map(|attempt| tracking_candidate(&one(), case, attempt))
            .collect();
        assert_eq!(candidates.len(), 8);
        assert_eq!(
            tracking_candidate(&one(), case, 3),
            tracking_candidate(&one(), case, 3)
        );
    }

    #[test]
    fn in_a_sharded_city_a_report_its_case_and_its_codes_stay_in_its_districts_shard() {
        let shards = ShardMap::new(2, "330102=0,330105=1").unwrap();
        let west = GridCode::parse("330105-002-001").unwrap();
        let shard = shard_of_report(&shards, Some(&west), "hotline-20261202-0142");
        assert_eq!(shard, 1);
        let case = case_id_for(&shards, "hotline-20261202-0142", shard);
        assert_eq!(shards.of_case(case), 1);
        assert_eq!(
            shards.of_stream(&gridcase_casestore::reservation_stream(tracking_candidate(
                &shards, case, 0
            ))),
            1
        );
        for attempt in 0..8 {
            assert_eq!(
                shards.of_code(tracking_candidate(&shards, case, attempt)),
                1
            );
        }
        // No grid: a shard picked by the request id, the same on a retry, both used.
        let picked: std::collections::BTreeSet<usize> = (0..40)
            .map(|n| shard_of_report(&shards, None, &format!("web-{n}")))
            .collect();
        assert_eq!(picked.len(), 2);
        assert_eq!(
            shard_of_report(&shards, None, "web-7"),
            shard_of_report(&shards, None, "web-7")
        );
    }
}
