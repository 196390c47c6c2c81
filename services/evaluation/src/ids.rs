//! Command ids derived from the request, so a retried request is recorded once.

use gridcase_casestore::fnv1a_128;
use gridcase_domain::CaseId;

/// The id of the command a request carries out: one per request id, case, action and actor.
/// A request that takes two steps (rate, then close or reopen) gives each step its own action,
/// so each step is recorded once however often the request is retried.
pub fn request_command_id(request_id: &str, case: CaseId, action: &str, actor: &str) -> u128 {
    // The zero bytes separate the variable-length parts so "ab"+"c" differs from "a"+"bc".
    fnv1a_128(&[
        b"evaluation-request:",
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
    fn ids_are_fixed_per_request_and_distinct_per_step() {
        let case = CaseId::from_u128(7);
        let rate = request_command_id("r-1", case, "record satisfaction", "gateway:qr");
        assert_eq!(
            rate,
            request_command_id("r-1", case, "record satisfaction", "gateway:qr")
        );
        assert_ne!(rate, request_command_id("r-1", case, "close", "gateway:qr"));
        assert_ne!(
            rate,
            request_command_id("r-2", case, "record satisfaction", "gateway:qr")
        );
        assert_ne!(
            rate,
            request_command_id(
                "r-1",
                CaseId::from_u128(8),
                "record satisfaction",
                "gateway:qr"
            )
        );
    }
}
