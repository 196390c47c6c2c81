//! The work-order listener: every work order JetStream delivers on the department subjects,
//! recorded with the moment it arrived.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use gridcase_bus::subjects::{DISPATCH_ALL, DISPATCH_STREAM};
use gridcase_proto::dispatch::v1::WorkOrder;
use prost::Message;

use super::{Harness, DRAIN_POLL};

/// How long to wait for the services to set up their JetStream streams.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// A backlog left after a level that did not keep up is waited for until this long passes
/// without a work order arriving.
const DRAIN_STALL: Duration = Duration::from_secs(15);

/// The first work order of a case, as the benchmark received it.
pub(super) struct Delivery {
    pub(super) at: Instant,
    pub(super) department: String,
    /// Sent to a grid worker or to a joint consultation rather than to one department.
    pub(super) other_route: bool,
}

/// Every work order received so far, by case id.
#[derive(Default)]
pub(super) struct Deliveries {
    pub(super) by_case: HashMap<String, Delivery>,
    /// Work orders for a case that already had one (redeliveries).
    pub(super) repeats: u64,
    /// Messages on the work-order subjects that were not a work order.
    pub(super) undecodable: u64,
}

impl Deliveries {
    /// How many of `cases` have no work order yet.
    pub(super) fn missing<'a>(&self, cases: impl IntoIterator<Item = &'a String>) -> usize {
        cases
            .into_iter()
            .filter(|case| !self.by_case.contains_key(*case))
            .count()
    }
}

pub(super) type Shared<T> = Arc<Mutex<T>>;

pub(super) fn lock<T>(shared: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// An ordered (ephemeral, unacknowledged) consumer of every work-order subject, once the
/// dispatch service has created the stream.
pub(super) async fn work_orders(js: &jetstream::Context) -> anyhow::Result<pull::Ordered> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let stream = loop {
        match js.get_stream(DISPATCH_STREAM).await {
            Ok(stream) => break stream,
            Err(e) if Instant::now() > deadline => {
                anyhow::bail!("the dispatch service did not create {DISPATCH_STREAM}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: DISPATCH_ALL.to_owned(),
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating the work-order consumer: {e}"))?;
    consumer
        .messages()
        .await
        .map_err(|e| anyhow::anyhow!("pulling work orders: {e}"))
}

/// Records every work order JetStream delivers on the department subjects.
pub(super) async fn receive_work_orders(
    mut messages: pull::Ordered,
    deliveries: Shared<Deliveries>,
) -> anyhow::Result<()> {
    while let Some(message) = messages.next().await {
        let message = match message {
            Ok(message) => message,
            Err(e) => {
                // The ordered consumer recreates itself after a gap; say so and go on.
                tracing::warn!(error = %e, "work-order consumer");
                continue;
            }
        };
        let at = Instant::now();
        if gridcase_bus::headers::is_notice(message.headers.as_ref()) {
            // A warning or breach on a slow run: not a work order.
            continue;
        }
        let mut deliveries = lock(&deliveries);
        let Ok(order) = WorkOrder::decode(message.payload.as_ref()) else {
            deliveries.undecodable += 1;
            continue;
        };
        if deliveries.by_case.contains_key(&order.case_id) {
            deliveries.repeats += 1;
            continue;
        }
        let other_route = order.department.is_empty()
            || !order.grid_worker.is_empty()
            || !order.participants.is_empty();
        deliveries.by_case.insert(
            order.case_id,
            Delivery {
                at,
                department: order.department,
                other_route,
            },
        );
    }
    anyhow::bail!("the work-order consumer ended")
}

/// Waits until the work orders of `cases` have all arrived, or none has for [`DRAIN_STALL`], so
/// the next level starts without a backlog.
pub(super) async fn wait_for_backlog(harness: &Harness, cases: &[String]) {
    let mut left = usize::MAX;
    let mut progress_at = Instant::now();
    loop {
        let now_left = lock(&harness.deliveries).missing(cases);
        if now_left == 0 {
            return;
        }
        if now_left < left {
            left = now_left;
            progress_at = Instant::now();
        } else if progress_at.elapsed() > DRAIN_STALL {
            println!("         {left} work orders never arrived");
            return;
        }
        tokio::time::sleep(DRAIN_POLL * 4).await;
    }
}
