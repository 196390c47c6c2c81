//! The outbox relay: publishes every committed event, in position order, to JetStream.
//!
//! The "published up to" checkpoint lives in sled and is saved only after JetStream has
//! acknowledged a whole batch. A crash anywhere in between republishes at most the batch in
//! flight, under the same `Nats-Msg-Id`s, and JetStream's duplicate window drops those copies.
//!
//! Each message carries the event's trace ids in the [`gridcase_bus::headers`], and the relay
//! reports how far it is behind the store as the gauge `store_relay_lag` (head − published).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_nats::jetstream::{self, message::PublishMessage};
use gridcase_bus::{headers, subjects, wire};
use gridcase_eventstore::{view_record, EventStore, SledStore};
use tokio::sync::watch;

/// Name of the relay's checkpoint in the store.
pub const OUTBOX_CHECKPOINT: &str = "outbox";

/// Events the relay reads per batch; also the most it republishes after a crash.
const BATCH: usize = 1_024;

/// Bytes of records the relay reads per batch at most.
const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// Whether the relay runs. The two fault modes exist so tests can stop the process at the two
/// dangerous points — after commit but before publish, and after publish but before the
/// checkpoint is saved — and are built only with the feature `fault-injection` (which the test
/// kit turns on): a release binary knows only `on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayMode {
    /// Publish and checkpoint.
    On,
    /// Do not publish at all (as if the process died right after every commit).
    #[cfg(feature = "fault-injection")]
    Off,
    /// Publish but never save the checkpoint (as if it died right after every publish).
    #[cfg(feature = "fault-injection")]
    NoCheckpoint,
}

impl RelayMode {
    /// The mode's name, as [`str::parse`] takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::On => "on",
            #[cfg(feature = "fault-injection")]
            Self::Off => "off",
            #[cfg(feature = "fault-injection")]
            Self::NoCheckpoint => "no-checkpoint",
        }
    }

    /// True if committed events are published.
    fn publishes(self) -> bool {
        #[cfg(feature = "fault-injection")]
        if self == Self::Off {
            return false;
        }
        true
    }

    /// True if the relay saves how far it has published.
    fn checkpoints(self) -> bool {
        self == Self::On
    }
}

impl std::str::FromStr for RelayMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "on" => Ok(Self::On),
            #[cfg(feature = "fault-injection")]
            "off" => Ok(Self::Off),
            #[cfg(feature = "fault-injection")]
            "no-checkpoint" => Ok(Self::NoCheckpoint),
            #[cfg(not(feature = "fault-injection"))]
            "off" | "no-checkpoint" => Err(format!(
                "relay: {text:?} is a fault-injection mode, built only into test builds (feature \
                 fault-injection); this binary knows only \"on\""
            )),
            other => Err(format!(
                "relay: {other:?} is not one of on, off, no-checkpoint"
            )),
        }
    }
}

/// Runs the relay until `stop` turns true; retries after NATS trouble from the last
/// acknowledged position.
pub(crate) async fn run(
    store: SledStore,
    nats: async_nats::Client,
    mode: RelayMode,
    window: usize,
    published: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) {
    if !mode.publishes() {
        tracing::warn!("outbox relay is off: committed events are not published");
        return;
    }
    let js = jetstream::new(nats);
    let mut backoff = gridcase_bus::retry::Backoff::new();
    loop {
        let attempt = async {
            gridcase_bus::feed::ensure_stream(&js)
                .await
                .map_err(|e| e.to_string())?;
            relay(&store, &js, mode, window.max(1), &published).await
        };
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            result = attempt => {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "outbox relay interrupted; retrying");
                    // The lag keeps growing while the relay cannot publish.
                    record_lag(*store.watch_head().borrow(), published.load(Ordering::Acquire));
                }
            }
        }
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(backoff.next_delay()) => {}
        }
    }
}

async fn relay(
    store: &SledStore,
    js: &jetstream::Context,
    mode: RelayMode,
    window: usize,
    published: &AtomicU64,
) -> Result<(), String> {
    let mut next = published.load(Ordering::Acquire);
    let mut head = store.watch_head();
    tracing::info!(from = next, "outbox relay running");
    loop {
        let current = *head.borrow_and_update();
        record_lag(current, next);
        if current <= next {
            head.changed()
                .await
                .map_err(|_| "the store closed".to_owned())?;
            continue;
        }
        // Records go out as stored; only what routing needs is decoded (and the CRC checked).
        let batch = store
            .read_all_raw(next, BATCH, BATCH_BYTES)
            .map_err(|e| format!("reading from {next}: {e}"))?;
        let mut acks = VecDeque::with_capacity(window);
        for record in &batch {
            let event = view_record(record.position, record.bytes())
                .map_err(|e| format!("relaying: {e}"))?;
            let message = PublishMessage::build()
                .headers(trace_headers(&event))
                .message_id(format!("{:032x}", event.event_id))
                .payload(wire::encode_feed(record.position, record.bytes()));
            let subject = subjects::event(event.event_type, event.stream_id);
            let ack = js
                .send_publish(subject, message)
                .await
                .map_err(|e| format!("publishing position {}: {e}", event.position))?;
            acks.push_back((event.position, ack));
            if acks.len() >= window {
                await_ack(acks.pop_front()).await?;
            }
        }
        while !acks.is_empty() {
            await_ack(acks.pop_front()).await?;
        }
        if let Some(last) = batch.last() {
            next = last.position + 1;
            if mode.checkpoints() {
                store
                    .save_checkpoint(OUTBOX_CHECKPOINT, next)
                    .await
                    .map_err(|e| format!("saving the outbox checkpoint: {e}"))?;
            }
            published.store(next, Ordering::Release);
        }
    }
}

/// The headers of the message that publishes `event`.
fn trace_headers(event: &gridcase_eventstore::RecordView<'_>) -> async_nats::HeaderMap {
    headers::trace(
        Some(event.event_id),
        event.correlation_id,
        event.causation_id,
    )
}

/// Reports how many committed events are not yet published.
fn record_lag(head: u64, published: u64) {
    metrics::gauge!("store_relay_lag").set(head.saturating_sub(published) as f64);
}

async fn await_ack(
    pending: Option<(u64, jetstream::context::PublishAckFuture)>,
) -> Result<(), String> {
    let Some((position, ack)) = pending else {
        return Ok(());
    };
    ack.await
        .map(|_| ())
        .map_err(|e| format!("no ack for position {position}: {e}"))
}
