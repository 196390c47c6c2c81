//! The open-loop sender: case `i` of a level is due at `start + i / rate`, and goes out then
//! whether or not earlier reports have been answered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::Harness;
use crate::bench::{histogram, record};

/// A report intake accepted.
pub(super) struct SentCase {
    pub(super) due: Instant,
    pub(super) case_id: String,
    pub(super) department: String,
}

/// What one level sent and intake's answers.
pub(super) struct Sent {
    /// When the first report was due.
    pub(super) start: Instant,
    pub(super) accepted: Vec<SentCase>,
    pub(super) errors: usize,
    pub(super) first_error: Option<String>,
    /// Microseconds from due to intake's reply, per accepted report.
    pub(super) replies: Histogram<u64>,
}

/// Sends `offered` reports of level `level_index` at `rate` a second, each on time however many
/// replies are outstanding (up to `in_flight`, past which a report goes out late and its times
/// still count from when it was due), and waits for every reply.
pub(super) async fn offer(
    harness: &Harness,
    in_flight: usize,
    level_index: usize,
    rate: u32,
    offered: usize,
) -> anyhow::Result<Sent> {
    let in_flight = Arc::new(tokio::sync::Semaphore::new(in_flight.max(1)));
    let period = Duration::from_secs(1).as_secs_f64() / f64::from(rate);
    let start = Instant::now() + Duration::from_millis(10);
    let mut replies = Vec::with_capacity(offered);
    for index in 0..offered {
        let due = start + Duration::from_secs_f64(period * index as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = Arc::clone(&in_flight).acquire_owned().await?;
        let (request, department) = harness.reports.report(level_index, index as u64);
        let department = department.to_owned();
        let mut client = harness.intake[index % harness.intake.len()].clone();
        replies.push(tokio::spawn(async move {
            let reply = client.report_case(request).await;
            let replied = Instant::now();
            drop(permit);
            (due, replied, department, reply)
        }));
    }
    let mut sent = Sent {
        start,
        accepted: Vec::with_capacity(offered),
        errors: 0,
        first_error: None,
        replies: histogram(),
    };
    for reply in replies {
        let (due, replied, department, reply) = reply.await?;
        match reply {
            Ok(response) => {
                record(&mut sent.replies, replied - due);
                sent.accepted.push(SentCase {
                    due,
                    case_id: response.into_inner().case_id,
                    department,
                });
            }
            Err(status) => {
                sent.errors += 1;
                sent.first_error.get_or_insert_with(|| status.to_string());
            }
        }
    }
    Ok(sent)
}
