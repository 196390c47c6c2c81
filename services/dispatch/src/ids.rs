//! Command ids derived from what triggered the command, so a redelivered feed event or a
//! retried request is recorded once: the store recognises the event ids derived from them.

use gridcase_casestore::fnv1a_128;
use gridcase_domain::CaseId;

/// The id of the dispatch command caused by the feed event `event_id`.
pub fn dispatch_command_id(event_id: u128) -> u128 {
    fnv1a_128(&[b"dispatch-feed:", &event_id.to_be_bytes()])
}

/// The id of the command a department's request carries out: one per request id, case,
/// action and actor, so a retry (same request id) is recorded once and two callers that
/// happen to pick the same request id do not collide.
pub fn request_command_id(request_id: &str, case: CaseId, action: &str, actor: &str) -> u128 {
    // The zero bytes separate the variable-length parts so "ab"+"c" differs from "a"+"bc".
    fnv1a_128(&[
        b"dispatch-request:",
        request_id.as_bytes(),
        &[0],
        &case.to_bytes(),
        action.as_bytes(),
        &[0],
        actor.as_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fixed_per_trigger_and_distinct_per_purpose() {
        let case = CaseId::from_u128(7);
        assert_eq!(dispatch_command_id(1), dispatch_command_id(1));
        assert_ne!(dispatch_command_id(1), dispatch_command_id(2));
        let accept = request_command_id("r-1", case, "accept", "department:water");
        assert_eq!(
            accept,
            request_command_id("r-1", case, "accept", "department:water")
        );
        assert_ne!(
            accept,
            request_command_id("r-1", case, "resolve", "department:water")
        );
        assert_ne!(
            accept,
            request_command_id("r-2", case, "accept", "department:water")
        );
        assert_ne!(
            accept,
            request_command_id("r-1", CaseId::from_u128(8), "accept", "department:water")
        );
        assert_ne!(
            accept,
            request_command_id("r-1", case, "accept", "department:gas")
        );
    }
}
