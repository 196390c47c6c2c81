//! What a level measures: latencies from due to the work order's arrival, intake's reply times,
//! the store's appends and flushes, CPU time, NATS messages, and where the time of sampled cases
//! went.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use gridcase_eventstore::EventStore;
use hdrhistogram::Histogram;

use super::load::{offer, Sent, SentCase};
use super::receive::{lock, Shared};
use super::{Harness, PipelineBench, DELIVERED_SHARE, DRAIN_POLL, RATE_SHARE};
use crate::bench::{histogram, record};

/// Linux accounts CPU time in these ticks per second (USER_HZ).
const CPU_TICKS_PER_SECOND: f64 = 100.0;

/// NATS messages seen, by kind.
pub(super) type MessageCounts = BTreeMap<&'static str, u64>;

/// Figures of one level.
pub(super) struct Level {
    pub(super) rate: u32,
    pub(super) offered: usize,
    pub(super) accepted: Vec<SentCase>,
    pub(super) errors: usize,
    pub(super) first_error: Option<String>,
    /// Microseconds from due to intake's reply, per accepted report.
    pub(super) replies: Histogram<u64>,
    /// Microseconds from due to the work order's arrival, per case delivered in time.
    pub(super) latencies: Histogram<u64>,
    /// Work orders per second between the level's first and last arrival.
    pub(super) delivered_per_second: f64,
    /// Cases delivered to another department than their category's, or by another route.
    pub(super) misrouted: usize,
    /// Accepted cases whose work order had not arrived by the end of the grace period.
    pub(super) undelivered: Vec<String>,
    pub(super) kept_up: bool,
    pub(super) appends: u64,
    pub(super) flushes: u64,
    pub(super) events: u64,
    /// CPU seconds of this process (all services) and of nats-server during the level.
    pub(super) cpu: Option<(f64, f64)>,
    /// NATS messages during the level, by kind, when they are counted.
    pub(super) messages: MessageCounts,
    pub(super) wall: Duration,
}

impl Level {
    /// CPU milliseconds per accepted case, this process and nats-server together.
    pub(super) fn cpu_ms_per_case(&self) -> Option<f64> {
        let (own, nats) = self.cpu?;
        (!self.accepted.is_empty()).then(|| (own + nats) * 1_000.0 / self.accepted.len() as f64)
    }
}

/// Where the time of sampled cases went, in microseconds (of whole milliseconds, the resolution
/// of the store's recorded-at).
pub(super) struct Stages {
    pub(super) intake: Histogram<u64>,
    pub(super) triage: Histogram<u64>,
    pub(super) dispatch: Histogram<u64>,
    pub(super) work_order: Histogram<u64>,
}

/// Converts [`Instant`]s to the wall clock the store records events by.
#[derive(Clone, Copy)]
pub(super) struct WallClock {
    pub(super) instant: Instant,
    pub(super) unix: Duration,
}

impl WallClock {
    pub(super) fn now() -> Self {
        Self {
            instant: Instant::now(),
            unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
        }
    }

    pub(super) fn unix_ms(self, at: Instant) -> i64 {
        let unix = if at >= self.instant {
            self.unix + (at - self.instant)
        } else {
            self.unix.saturating_sub(self.instant - at)
        };
        i64::try_from(unix.as_millis()).unwrap_or(i64::MAX)
    }
}

/// Offers `rate` cases/s for `seconds` and waits up to the grace period for their work orders.
pub(super) async fn run_level(
    harness: &Harness,
    args: &PipelineBench,
    level_index: usize,
    rate: u32,
    seconds: u64,
) -> anyhow::Result<Level> {
    let offered = usize::try_from(u64::from(rate) * seconds)?;
    let before = harness.store_stats().await?;
    let cpu_before = cpu_seconds();
    let messages_before = harness.messages.as_ref().map(|counts| lock(counts).clone());
    let Sent {
        start,
        accepted,
        errors,
        first_error,
        replies,
    } = offer(harness, args.in_flight, level_index, rate, offered).await?;
    let schedule_end = start + Duration::from_secs(seconds);
    let deadline = schedule_end + Duration::from_secs(args.grace);
    loop {
        let waiting = lock(&harness.deliveries).missing(accepted.iter().map(|case| &case.case_id));
        if waiting == 0 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
    let wall = start.elapsed();
    let mut latencies = histogram();
    let mut undelivered = Vec::new();
    let mut misrouted = 0;
    let (mut first, mut last) = (None::<Instant>, None::<Instant>);
    {
        let deliveries = lock(&harness.deliveries);
        for case in &accepted {
            match deliveries.by_case.get(&case.case_id) {
                Some(delivery) if delivery.at <= deadline => {
                    record(
                        &mut latencies,
                        delivery.at.saturating_duration_since(case.due),
                    );
                    if delivery.other_route || delivery.department != case.department {
                        misrouted += 1;
                    }
                    first = Some(first.map_or(delivery.at, |t| t.min(delivery.at)));
                    last = Some(last.map_or(delivery.at, |t| t.max(delivery.at)));
                }
                _ => undelivered.push(case.case_id.clone()),
            }
        }
    }
    let delivered_per_second = match (first, last) {
        (Some(first), Some(last)) if last > first => {
            (latencies.len() - 1) as f64 / (last - first).as_secs_f64()
        }
        _ => 0.0,
    };
    let after = harness.store_stats().await?;
    let messages = match (&harness.messages, messages_before) {
        (Some(counts), Some(before)) => lock(counts)
            .iter()
            .map(|(kind, count)| (*kind, count - before.get(kind).copied().unwrap_or(0)))
            .collect(),
        _ => MessageCounts::new(),
    };
    let cpu = cpu_before
        .zip(cpu_seconds())
        .map(|((own, nats), (own_after, nats_after))| (own_after - own, nats_after - nats));
    let kept_up = undelivered.is_empty()
        && latencies.len() as f64 >= DELIVERED_SHARE * offered as f64
        && delivered_per_second >= RATE_SHARE * f64::from(rate);
    Ok(Level {
        rate,
        offered,
        accepted,
        errors,
        first_error,
        replies,
        latencies,
        delivered_per_second,
        misrouted,
        undelivered,
        kept_up,
        appends: after.appends - before.appends,
        flushes: after.flushes - before.flushes,
        events: after.events - before.events,
        cpu,
        messages,
        wall,
    })
}

/// How far undelivered cases got: how many were looked up (at most `samples`), and a count per
/// last event type.
pub(super) async fn waiting_after(
    harness: &Harness,
    cases: &[String],
    samples: usize,
) -> (usize, String) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut looked_up = 0;
    for case in spread(cases, samples) {
        looked_up += 1;
        let last = match harness.store.read_stream(case, 0, 64).await {
            Ok(events) => events.last().map_or_else(
                || "none (not in the store)".to_owned(),
                |e| e.event_type.clone(),
            ),
            Err(e) => format!("unreadable ({e})"),
        };
        *counts.entry(last).or_default() += 1;
    }
    let counts: Vec<String> = counts
        .into_iter()
        .map(|(event, count)| format!("{event} {count}"))
        .collect();
    (looked_up, counts.join(", "))
}

/// Up to `samples` items spread evenly over `items`.
pub(super) fn spread<T>(items: &[T], samples: usize) -> impl Iterator<Item = &T> {
    let step = items.len().div_ceil(samples.max(1)).max(1);
    items.iter().step_by(step)
}

/// Times the stages of up to `samples` delivered cases of `level` from their events'
/// recorded-at: due → CaseReported (intake), → CaseTriaged (triage), → CaseDispatched
/// (dispatch), → the work order's arrival.
pub(super) async fn time_stages(harness: &Harness, level: &Level, samples: usize) -> Stages {
    let delivered: Vec<(&SentCase, Instant)> = {
        let deliveries = lock(&harness.deliveries);
        level
            .accepted
            .iter()
            .filter_map(|case| deliveries.by_case.get(&case.case_id).map(|d| (case, d.at)))
            .collect()
    };
    let mut stages = Stages {
        intake: histogram(),
        triage: histogram(),
        dispatch: histogram(),
        work_order: histogram(),
    };
    for (case, arrived) in spread(&delivered, samples) {
        let Ok(events) = harness.store.read_stream(&case.case_id, 0, 64).await else {
            continue;
        };
        let recorded = |event_type: &str| {
            events
                .iter()
                .find(|event| event.event_type == event_type)
                .map(|event| event.recorded_at_ms)
        };
        let (Some(reported), Some(triaged), Some(dispatched)) = (
            recorded("CaseReported"),
            recorded("CaseTriaged"),
            recorded("CaseDispatched"),
        ) else {
            continue;
        };
        let due = harness.clock.unix_ms(case.due);
        let arrived = harness.clock.unix_ms(*arrived);
        let ms = |from: i64, to: i64| Duration::from_millis((to - from).max(0).unsigned_abs());
        record(&mut stages.intake, ms(due, reported));
        record(&mut stages.triage, ms(reported, triaged));
        record(&mut stages.dispatch, ms(triaged, dispatched));
        record(&mut stages.work_order, ms(dispatched, arrived));
    }
    stages
}

/// CPU seconds used so far by this process (every service runs in it) and by its child
/// processes (nats-server), from `/proc`; `None` where there is none.
pub(super) fn cpu_seconds() -> Option<(f64, f64)> {
    let own = process_cpu_seconds("self")?;
    let mut children = 0.0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(pids) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for pid in pids.split_whitespace() {
            children += process_cpu_seconds(pid).unwrap_or(0.0);
        }
    }
    Some((own, children))
}

pub(super) fn process_cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces) start with the state, field 3;
    // utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some((user + system) as f64 / CPU_TICKS_PER_SECOND)
}

/// What a NATS message on `subject` is, for counting.
pub(super) fn message_kind(subject: &str) -> &'static str {
    use gridcase_bus::subjects::{StoreOp, ROOT};
    if let Some(rest) = subject.strip_prefix(ROOT).and_then(|s| s.strip_prefix('.')) {
        let (area, last) = (rest.split('.').next(), rest.rsplit('.').next());
        return match area {
            // A JetStream delivery to a pull consumer carries the stream's subject too.
            Some("events") => "feed events published and delivered",
            Some("dispatch") => "work orders published and delivered",
            Some("store") => match last {
                Some(op) if op == StoreOp::ReadStream.token() => "store read_stream requests",
                Some(op) if op == StoreOp::ReadAll.token() => "store read_all requests",
                Some(op) if op == StoreOp::Append.token() || op == StoreOp::AppendBatch.token() => {
                    "store append requests"
                }
                Some("committed") => "store head announcements",
                _ => "other store requests",
            },
            _ => "other gridcase subjects",
        };
    }
    if subject.starts_with("$JS.ACK.") {
        "JetStream acks"
    } else if subject.starts_with("$JS.") {
        "JetStream API requests"
    } else if subject.starts_with("_INBOX.") {
        "replies"
    } else {
        "other"
    }
}

/// Counts every message published on the server, by kind.
pub(super) async fn count_messages(
    nats: async_nats::Client,
    counts: Shared<MessageCounts>,
) -> anyhow::Result<()> {
    let mut every = nats.subscribe(">").await?;
    while let Some(message) = every.next().await {
        *lock(&counts)
            .entry(message_kind(&message.subject))
            .or_default() += 1;
    }
    anyhow::bail!("the message counter's subscription ended")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_counted_by_kind() {
        assert_eq!(
            message_kind("gridcase.v1.store.0.read_stream"),
            "store read_stream requests"
        );
        assert_eq!(
            message_kind("gridcase.v1.store.0.append_batch"),
            "store append requests"
        );
        assert_eq!(
            message_kind("gridcase.v1.events.triage.0123"),
            "feed events published and delivered"
        );
        assert_eq!(
            message_kind("gridcase.v1.dispatch.water"),
            "work orders published and delivered"
        );
        assert_eq!(
            message_kind("$JS.ACK.GRIDCASE_EVENTS.triage.1.2.3.4.5"),
            "JetStream acks"
        );
        assert_eq!(message_kind("_INBOX.abc.1"), "replies");
    }
}
