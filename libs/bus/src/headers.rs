//! NATS headers that carry an event's trace context, so one case can be followed across
//! services: the outbox relay sets them on every event it publishes, dispatch on every work
//! order, and the feed consumer opens its handling span with them; and the header that tells a
//! work order from a notice on a dispatch subject. Ids are 32 lowercase hex
//! digits, as in `Nats-Msg-Id`.

use async_nats::HeaderMap;

/// Id shared by every event that one outside request led to.
pub const CORRELATION_ID: &str = "Gridcase-Correlation-Id";
/// Id of the event (or command) that directly caused this message.
pub const CAUSATION_ID: &str = "Gridcase-Causation-Id";
/// Id of the event the message carries.
pub const EVENT_ID: &str = "Gridcase-Event-Id";

/// Which message a delivery on a work-order subject carries: [`WORK_ORDER`] or [`NOTICE`]
/// (a message without the header is a work order).
pub const MESSAGE: &str = "Gridcase-Message";
/// [`MESSAGE`] of a `gridcase.dispatch.v1.WorkOrder`.
pub const WORK_ORDER: &str = "WorkOrder";
/// [`MESSAGE`] of a `gridcase.dispatch.v1.Notice`.
pub const NOTICE: &str = "Notice";

/// True when `headers` mark a notice rather than a work order.
pub fn is_notice(headers: Option<&HeaderMap>) -> bool {
    get(headers, MESSAGE) == Some(NOTICE)
}

/// An id as the headers write it.
pub fn format_id(id: u128) -> String {
    format!("{id:032x}")
}

/// Headers with the correlation and causation ids that are known, and the event id if given.
pub fn trace(
    event_id: Option<u128>,
    correlation: Option<u128>,
    causation: Option<u128>,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, id) in [
        (EVENT_ID, event_id),
        (CORRELATION_ID, correlation),
        (CAUSATION_ID, causation),
    ] {
        if let Some(id) = id {
            headers.insert(name, format_id(id));
        }
    }
    headers
}

/// The value of header `name`, if `headers` has it.
pub fn get<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    headers?.get(name).map(|value| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_ids_are_written() {
        let headers = trace(Some(1), Some(0xab), None);
        assert_eq!(
            get(Some(&headers), EVENT_ID),
            Some("00000000000000000000000000000001")
        );
        assert_eq!(
            get(Some(&headers), CORRELATION_ID),
            Some("000000000000000000000000000000ab")
        );
        assert_eq!(get(Some(&headers), CAUSATION_ID), None);
        assert_eq!(get(None, CAUSATION_ID), None);
    }
}
