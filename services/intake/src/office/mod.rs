//! Street offices on leaf nodes: reports taken while the link to the centre is down.
//!
//! A street office runs a NATS leaf node with a JetStream domain of its own
//! ([`gridcase_bus::subjects::office_domain`]) and an intake in office mode
//! (`gridcase-intake --office <street>`). The office's intake takes a report as the centre's
//! does — same checks, same answer — but instead of writing it to the event store it keeps it
//! in the office's own stream ([`gridcase_bus::subjects::OFFICE_REPORTS_STREAM`]) and answers
//! with a tracking code it already holds ([`desk`]). The centre's stream
//! [`gridcase_bus::subjects::OFFICE_INBOX_STREAM`] sources every office's stream (JetStream
//! copies what it has not yet copied whenever the link is up), and the centre's intake records
//! each report from it as a case ([`centre`]).
//!
//! Tracking codes never collide because the office does not make them: while the link is up
//! it asks the centre to reserve its next block, and the centre reserves each code exactly as
//! for a report at the centre, for the case the office's report number `n` will become
//! (request id `office-<street>-<n>`). The office hands them out in order from its key-value
//! bucket, so a code is given once even across restarts, and the case id, the code and the
//! command id all follow from the request id: a report that reaches the centre twice is
//! recorded once.

pub mod centre;
pub mod desk;

use serde::{Deserialize, Serialize};

/// A report taken at a street office, as it travels to the centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeReport {
    /// The office's street code.
    pub street: String,
    /// The report's number at the office: the case's request id is
    /// [`office_request_id`]`(street, number)`.
    pub number: u64,
    /// Who reported it, as an actor: `operator:op-7`, `gateway:qr-web`, `grid_worker:lin-ming`.
    pub caller: String,
    /// When the office took it, milliseconds since the Unix epoch.
    pub reported_at_ms: i64,
    /// The report as the caller sent it: a protobuf `ReportCaseRequest`.
    pub request: Vec<u8>,
}

/// The request id the case of report `number` of street office `street` is recorded under.
pub fn office_request_id(street: &str, number: u64) -> String {
    format!("office-{street}-{number}")
}

/// A street office's request for the tracking codes of its reports `from` to
/// `from + count - 1`. The answer is `Result<Vec<u64>, String>`: the codes in order, or why
/// not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodesRequest {
    /// The first report number.
    pub from: u64,
    /// How many.
    pub count: u32,
}

/// The most codes one request reserves.
pub const MAX_CODES_PER_REQUEST: u32 = 1_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_office_report_is_recorded_under_a_request_id_of_its_office_and_number() {
        assert_eq!(office_request_id("330102-001", 17), "office-330102-001-17");
        let report = OfficeReport {
            street: "330102-001".into(),
            number: 17,
            caller: "operator:op-7".into(),
            reported_at_ms: 1_764_000_000_000,
            request: vec![1, 2, 3],
        };
        let bytes = postcard::to_stdvec(&report).unwrap();
        assert_eq!(
            postcard::from_bytes::<OfficeReport>(&bytes).unwrap(),
            report
        );
    }
}
