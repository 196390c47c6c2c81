//! Command ids derived from what triggered a command, so a redelivered feed message or a
//! retried operator request decides nothing twice: the case store recognises the event ids.

use gridcase_casestore::fnv1a_128;
use gridcase_domain::CaseId;

/// The id of the rules' decision on the feed event `event_id`.
pub fn rules_command_id(event_id: u128) -> u128 {
    fnv1a_128(&[b"triage:", &event_id.to_be_bytes()])
}

/// The id of an operator's request `request_id` on `case`.
pub fn operator_command_id(case: CaseId, request_id: &str) -> u128 {
    fnv1a_128(&[
        b"triage-operator:",
        &case.to_bytes(),
        b":",
        request_id.as_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fixed_per_trigger_and_distinct_per_purpose() {
        assert_eq!(rules_command_id(7), rules_command_id(7));
        assert_ne!(rules_command_id(7), rules_command_id(8));
        let case = CaseId::from_u128(1);
        assert_eq!(
            operator_command_id(case, "r-1"),
            operator_command_id(case, "r-1")
        );
        assert_ne!(
            operator_command_id(case, "r-1"),
            operator_command_id(CaseId::from_u128(2), "r-1")
        );
    }
}
