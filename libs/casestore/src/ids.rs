//! The one derivation of command ids. A command's events get ids derived from its command id
//! ([`crate::event_id`]), and the store recognises ids it already holds, so deriving the
//! command id from what caused the command makes a retried request or a redelivered feed event
//! harmless. Every part is length-prefixed before hashing, so `"ab" + "c"` and `"a" + "bc"`
//! never give the same id.

use gridcase_domain::{CaseId, DeadlineStage, Timestamp};

use crate::fnv1a_128;

/// The id of a command derived from `parts` under `service`'s name.
pub fn command_id(service: &str, parts: &[&[u8]]) -> u128 {
    let mut framed = Vec::new();
    for part in std::iter::once(service.as_bytes()).chain(parts.iter().copied()) {
        framed.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        framed.extend_from_slice(part);
    }
    fnv1a_128(&[&framed])
}

/// The id of the command a caller's request carries out: one per service, request id, case,
/// action and actor, so a retry (same request id) is recorded once, a request that takes two
/// steps gives each step its own action, and two callers who pick the same request id do not
/// collide.
pub fn request_command_id(
    service: &str,
    request_id: &str,
    case: CaseId,
    action: &str,
    actor: &str,
) -> u128 {
    command_id(
        service,
        &[
            b"request",
            request_id.as_bytes(),
            &case.to_bytes(),
            action.as_bytes(),
            actor.as_bytes(),
        ],
    )
}

/// The context of the command a caller's request carries out on a people's stream (an order,
/// a household): like [`request_command_id`] with the stream for the case.
pub fn stream_request_context(
    service: &str,
    request_id: &str,
    stream: &str,
    action: &str,
    actor: String,
) -> crate::CommandContext {
    let id = command_id(
        service,
        &[
            b"request",
            request_id.as_bytes(),
            stream.as_bytes(),
            action.as_bytes(),
            actor.as_bytes(),
        ],
    );
    crate::CommandContext::new(id, actor)
}

/// The id of the command `service` decides because of the event `event_id` (a feed delivery):
/// a redelivered event decides nothing twice.
pub fn event_command_id(service: &str, event_id: u128) -> u128 {
    command_id(service, &[b"event", &event_id.to_be_bytes()])
}

/// The ids commands had before [`command_id`] framed its parts, kept so that a retried request
/// or a redelivered event whose first handling was stored under the old id is still
/// recognised. Never derive a new command's id with these.
pub mod legacy {
    use super::*;

    /// Intake's report command for a client request id.
    pub fn intake_report(client_request_id: &str) -> u128 {
        fnv1a_128(&[b"intake-command:", client_request_id.as_bytes()])
    }

    /// Triage's rules decision on a feed event.
    pub fn triage_rules(event_id: u128) -> u128 {
        fnv1a_128(&[b"triage:", &event_id.to_be_bytes()])
    }

    /// An operator's triage request.
    pub fn triage_operator(case: CaseId, request_id: &str) -> u128 {
        fnv1a_128(&[
            b"triage-operator:",
            &case.to_bytes(),
            b":",
            request_id.as_bytes(),
        ])
    }

    /// Dispatch's decision on a feed event.
    pub fn dispatch_feed(event_id: u128) -> u128 {
        fnv1a_128(&[b"dispatch-feed:", &event_id.to_be_bytes()])
    }

    /// A department's request to dispatch.
    pub fn dispatch_request(request_id: &str, case: CaseId, action: &str, actor: &str) -> u128 {
        separated(b"dispatch-request:", request_id, case, action, actor)
    }

    /// A request to evaluation.
    pub fn evaluation_request(request_id: &str, case: CaseId, action: &str, actor: &str) -> u128 {
        separated(b"evaluation-request:", request_id, case, action, actor)
    }

    /// A supervisor's request.
    pub fn supervision_request(request_id: &str, case: CaseId, action: &str, actor: &str) -> u128 {
        fnv1a_128(&[
            b"supervision-request",
            request_id.as_bytes(),
            case.to_string().as_bytes(),
            action.as_bytes(),
            actor.as_bytes(),
        ])
    }

    /// A deadline's warning or breach (`kind` is `warn` or `breach`).
    pub fn supervision_timer(
        case: CaseId,
        stage: DeadlineStage,
        deadline: Timestamp,
        kind: &str,
    ) -> u128 {
        fnv1a_128(&[
            b"supervision-timer",
            case.to_string().as_bytes(),
            stage.as_str().as_bytes(),
            &deadline.as_millis().to_be_bytes(),
            kind.as_bytes(),
        ])
    }

    /// An escalation to rung `level` of the ladder.
    pub fn supervision_escalation(case: CaseId, level: u8) -> u128 {
        fnv1a_128(&[
            b"supervision-escalation",
            case.to_string().as_bytes(),
            &[level],
        ])
    }

    fn separated(prefix: &[u8], request_id: &str, case: CaseId, action: &str, actor: &str) -> u128 {
        fnv1a_128(&[
            prefix,
            request_id.as_bytes(),
            &[0],
            &case.to_bytes(),
            action.as_bytes(),
            &[0],
            actor.as_bytes(),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_framed_so_moving_a_boundary_changes_the_id() {
        assert_ne!(
            command_id("s", &[b"ab", b"c"]),
            command_id("s", &[b"a", b"bc"])
        );
        assert_ne!(command_id("sa", &[b"b"]), command_id("s", &[b"ab"]));
        assert_eq!(
            command_id("s", &[b"ab", b"c"]),
            command_id("s", &[b"ab", b"c"])
        );
    }

    #[test]
    fn request_ids_differ_by_every_part() {
        let case = CaseId::from_u128(7);
        let id = request_command_id("dispatch", "r-1", case, "accept", "department:water");
        assert_eq!(
            id,
            request_command_id("dispatch", "r-1", case, "accept", "department:water")
        );
        for other in [
            request_command_id("evaluation", "r-1", case, "accept", "department:water"),
            request_command_id("dispatch", "r-2", case, "accept", "department:water"),
            request_command_id(
                "dispatch",
                "r-1",
                CaseId::from_u128(8),
                "accept",
                "department:water",
            ),
            request_command_id("dispatch", "r-1", case, "resolve", "department:water"),
            request_command_id("dispatch", "r-1", case, "accept", "department:gas"),
        ] {
            assert_ne!(id, other);
        }
    }

    #[test]
    fn event_ids_differ_by_service_and_event() {
        assert_eq!(event_command_id("triage", 7), event_command_id("triage", 7));
        assert_ne!(event_command_id("triage", 7), event_command_id("triage", 8));
        assert_ne!(
            event_command_id("triage", 7),
            event_command_id("dispatch", 7)
        );
    }

    #[test]
    fn the_new_ids_are_not_the_legacy_ones() {
        let case = CaseId::from_u128(7);
        assert_ne!(event_command_id("triage", 7), legacy::triage_rules(7));
        assert_ne!(
            request_command_id("dispatch", "r", case, "accept", "a"),
            legacy::dispatch_request("r", case, "accept", "a")
        );
        // Fixed values: stored events carry these ids, so they must never change.
        assert_eq!(
            legacy::triage_rules(7),
            fnv1a_128(&[b"triage:", &7u128.to_be_bytes()])
        );
        assert_eq!(
            legacy::intake_report("req-1"),
            fnv1a_128(&[b"intake-command:", b"req-1"])
        );
    }
}
