//! The committed-event feed on JetStream, as consumers see it.
//!
//! The store relays every committed event to the stream [`EVENTS_STREAM`] on
//! `gridcase.v1.events.<stage>.<case>.<partition>`. A stage service follows it with a durable consumer: the
//! server remembers what each consumer acknowledged, so a service that was down gets everything
//! it missed. nats-server 2.9 allows one filter subject per consumer, so a service that needs
//! several stages filters on `>` and skips.
//!
//! How replicas of a service share the feed is its [`FeedSharing`]: a single consumer (one
//! replica takes up to 4,096 events at once and keeps each case's events in order itself), or
//! one consumer per feed partition ([`crate::subjects::FEED_PARTITIONS`] of them, a case's
//! events always in the same one) that hands out one event at a time, to whichever replica
//! asks first: a case's next event goes out only once its last one is acknowledged, so two
//! replicas never handle one case's events at once or out of order, and the event a killed
//! replica held goes to another after the ack wait.
//!
//! Each message is handled inside a `feed` span carrying its correlation and causation ids
//! (from the relay's [`crate::headers`]), and every consumer reports, labelled by its name,
//! `feed_consumer_pending` (messages the server had yet to deliver to it, as of its last
//! delivery) and `feed_redeliveries_total` (messages it got again because an earlier delivery
//! was not acknowledged in time).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use gridcase_eventstore::RecordedEvent;
use tracing::Instrument;

use crate::headers;
use crate::subjects::{
    partition_filter, partition_token, EVENTS_ALL, EVENTS_STREAM, FEED_PARTITIONS,
};
use crate::wire;

/// How long JetStream remembers message ids to drop copies the relay republishes.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long the feed keeps an event: the store is the record, and a consumer is never this far
/// behind.
pub const FEED_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// How long a consumer may hold a message before JetStream delivers it again.
pub const ACK_WAIT: Duration = Duration::from_secs(30);

/// Why the feed could not be followed.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The stream or consumer could not be created or reached.
    #[error("event feed: {0}")]
    Setup(String),
    /// Receiving or acknowledging failed.
    #[error("event feed: {0}")]
    Transport(String),
    /// A message is not a stored record (it says which stream sequence).
    #[error("event feed: message {sequence}: {reason}")]
    Undecodable {
        /// JetStream sequence of the message.
        sequence: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Creates the feed's JetStream stream if it does not exist (file storage, two-minute duplicate
/// window, events kept [`FEED_MAX_AGE`], [`crate::streams::replicas`] replicas).
pub async fn ensure_stream(js: &jetstream::Context) -> Result<stream::Stream, FeedError> {
    crate::streams::ensure(
        js,
        stream::Config {
            name: EVENTS_STREAM.to_owned(),
            subjects: vec![EVENTS_ALL.to_owned()],
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            max_age: FEED_MAX_AGE,
            ..Default::default()
        },
    )
    .await
    .map_err(FeedError::Setup)
}

/// How the replicas of a service share the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeedSharing {
    /// One durable consumer with up to 4,096 events in hand: for a service running as one
    /// replica. (Replicas sharing it would each get events of one case, in no order between
    /// them.)
    #[default]
    Single,
    /// One durable consumer per feed partition, each with one event in hand across all the
    /// replicas: for a service running as several replicas.
    Partitioned,
}

impl FeedSharing {
    /// [`FeedSharing::Partitioned`] for a service that runs as one of several replicas.
    pub fn for_replicas(replicated: bool) -> Self {
        if replicated {
            Self::Partitioned
        } else {
            Self::Single
        }
    }
}

/// A durable consumer of the feed (or one per partition, read as one).
pub struct FeedConsumer {
    durable: String,
    nats: async_nats::Client,
    messages: futures::stream::SelectAll<pull::Stream>,
    ack_wait: Duration,
}

impl std::fmt::Debug for FeedConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedConsumer")
            .field("durable", &self.durable)
            .finish_non_exhaustive()
    }
}

/// One event from the feed; acknowledge it once it has been handled.
#[derive(Debug)]
pub struct FeedMessage {
    /// The event as the store recorded it.
    pub event: RecordedEvent,
    message: jetstream::Message,
    span: tracing::Span,
}

impl FeedMessage {
    /// The span the message is handled in: consumer, case, event type and position, and the
    /// correlation and causation ids.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Tells JetStream the event is handled, so it is not delivered again. The server does not
    /// confirm it (a confirmed ack costs a reply per event and a wait): an ack lost in a crash means the event comes again after the ack wait,
    /// and every handler recognises an event it has handled (command ids derive from it).
    pub async fn ack(&self) -> Result<(), FeedError> {
        self.message
            .ack()
            .await
            .map_err(|e| FeedError::Transport(format!("acknowledging: {e}")))
    }
}

impl FeedConsumer {
    /// Follows the feed with the durable consumer `durable` (created if missing), delivering
    /// events on subjects matching `filter` from the start of the stream. An event delivered
    /// but not acknowledged (its consumer died) comes again after [`ACK_WAIT`].
    pub async fn durable(
        nats: async_nats::Client,
        durable: &str,
        filter: &str,
    ) -> Result<Self, FeedError> {
        Self::durable_with_ack_wait(nats, durable, filter, ACK_WAIT).await
    }

    /// [`FeedConsumer::durable`] with another redelivery delay (the consumer's setting on the
    /// server, fixed when it is first created).
    pub async fn durable_with_ack_wait(
        nats: async_nats::Client,
        durable: &str,
        filter: &str,
        ack_wait: Duration,
    ) -> Result<Self, FeedError> {
        Self::shared(nats, durable, filter, ack_wait, FeedSharing::Single).await
    }

    /// Follows the feed as [`FeedConsumer::durable_with_ack_wait`] does, shared between the
    /// service's replicas as `sharing` says. Partitioned, the consumers are named
    /// `<durable>-p00` … and filter `filter`'s events of their partition; created where a
    /// single consumer `durable` had got to, if there is one, so a service that grows replicas
    /// does not handle its history again.
    pub async fn shared(
        nats: async_nats::Client,
        durable: &str,
        filter: &str,
        ack_wait: Duration,
        sharing: FeedSharing,
    ) -> Result<Self, FeedError> {
        let js = jetstream::new(nats.clone());
        let stream = ensure_stream(&js).await?;
        let consumers: Vec<(String, String, usize)> = match sharing {
            FeedSharing::Single => vec![(durable.to_owned(), filter.to_owned(), 4_096)],
            FeedSharing::Partitioned => (0..FEED_PARTITIONS)
                .map(|partition| {
                    let filter = partition_filter(filter, partition).map_err(FeedError::Setup)?;
                    Ok((
                        format!("{durable}-{}", partition_token(partition)),
                        filter,
                        1,
                    ))
                })
                .collect::<Result<_, FeedError>>()?,
        };
        // Where a single consumer of the service had got to.
        let resume_at = match sharing {
            FeedSharing::Single => None,
            FeedSharing::Partitioned => stream
                .consumer_info(durable)
                .await
                .ok()
                .map(|info| info.ack_floor.stream_sequence + 1),
        };
        let mut messages = futures::stream::SelectAll::new();
        for (name, filter, max_ack_pending) in consumers {
            let deliver_policy = match resume_at {
                Some(start_sequence) => {
                    jetstream::consumer::DeliverPolicy::ByStartSequence { start_sequence }
                }
                None => jetstream::consumer::DeliverPolicy::All,
            };
            let consumer = stream
                .get_or_create_consumer(
                    &name,
                    pull::Config {
                        durable_name: Some(name.clone()),
                        filter_subject: filter,
                        deliver_policy,
                        ack_policy: jetstream::consumer::AckPolicy::Explicit,
                        ack_wait,
                        max_ack_pending: max_ack_pending as i64,
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| FeedError::Setup(format!("consumer {name}: {e}")))?;
            messages.push(
                consumer
                    .messages()
                    .await
                    .map_err(|e| FeedError::Setup(format!("pulling for {name}: {e}")))?,
            );
        }
        Ok(Self {
            durable: durable.to_owned(),
            nats,
            messages,
            ack_wait,
        })
    }

    /// Stops following the feed once the acknowledgements already given have reached the server,
    /// so what was handled is not delivered again. (Dropping the consumer instead may lose the
    /// last acknowledgements with the connection: those events come again after the ack wait.)
    pub async fn close(self) -> Result<(), FeedError> {
        drop(self.messages);
        crate::flush(&self.nats)
            .await
            .map_err(|e| FeedError::Transport(format!("flushing acknowledgements: {e}")))
    }

    /// Hands every message to `handle` — which acknowledges it once handled — with up to
    /// `limit` messages in hand at once, but one at a time per store stream and in feed order
    /// within a stream, so a case's events are handled in the order they happened while other
    /// cases go ahead. Undecodable messages are logged and skipped. Returns once the feed ends
    /// (`None`) or fails (the error), after every message in hand has been handled.
    pub async fn for_each_per_stream<F, Fut>(
        &mut self,
        limit: usize,
        handle: F,
    ) -> Option<FeedError>
    where
        F: Fn(FeedMessage) -> Fut,
        Fut: Future<Output = ()>,
    {
        let limit = limit.max(1);
        // While an event is being handled (a store that does not answer makes that long),
        // JetStream is told every third of the ack wait that it is still in hand, so it does
        // not give it to another replica meanwhile.
        // One timer for the consumer, not one per event: the events in hand are found by
        // stream in `replies`.
        let progress_every = (self.ack_wait / 3).max(Duration::from_millis(100));
        let mut progress = tokio::time::interval(progress_every);
        progress.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        progress.reset();
        let nats = self.nats.clone();
        // The acknowledgement subject of the event being handled, by stream.
        let mut replies: HashMap<String, async_nats::Subject> = HashMap::new();
        let run = |stream: String, message: FeedMessage| {
            let span = message.span.clone();
            let handled = handle(message).instrument(span);
            async move {
                handled.await;
                stream
            }
        };
        let mut running = FuturesUnordered::new();
        // Streams with a message being handled, and their messages waiting behind it.
        let mut busy: HashMap<String, VecDeque<FeedMessage>> = HashMap::new();
        let mut in_hand = 0usize;
        let mut ended: Option<Option<FeedError>> = None;
        loop {
            tokio::select! {
                Some(stream) = running.next(), if !running.is_empty() => {
                    let stream: String = stream;
                    in_hand -= 1;
                    let next = busy.get_mut(&stream).and_then(VecDeque::pop_front);
                    match next {
                        Some(message) => {
                            set_reply(&mut replies, stream.as_str(), &message);
                            running.push(run(stream, message));
                        }
                        None => {
                            busy.remove(&stream);
                            replies.remove(stream.as_str());
                        }
                    }
                }
                message = self.next(), if ended.is_none() && in_hand < limit => {
                    match message {
                        Some(Ok(message)) => {
                            in_hand += 1;
                            let stream = message.event.stream_id.clone();
                            match busy.get_mut(&stream) {
                                Some(waiting) => waiting.push_back(message),
                                None => {
                                    busy.insert(stream.clone(), VecDeque::new());
                                    set_reply(&mut replies, stream.as_str(), &message);
                                    running.push(run(stream, message));
                                }
                            }
                        }
                        Some(Err(FeedError::Undecodable { sequence, reason })) => {
                            // Cannot be acknowledged without the message; it stays pending.
                            tracing::error!(sequence, %reason, "undecodable feed message skipped");
                        }
                        Some(Err(error)) => ended = Some(Some(error)),
                        None => ended = Some(None),
                    }
                }
                _ = progress.tick(), if !replies.is_empty() => {
                    for reply in replies.values() {
                        still_in_hand(&nats, reply).await;
                    }
                }
                else => break,
            }
            if running.is_empty() {
                if let Some(outcome) = ended.take() {
                    return outcome;
                }
            }
        }
        ended.flatten()
    }

    /// The handling span of `event`: its trace ids from the message headers, else from the
    /// event's own metadata.
    /// Follows the feed until it closes: each event (one at a time per stream, up to `limit`
    /// at once) is handled by `handle` (given a copy of it) until it is done, then acknowledged — unacknowledged, it
    /// would come again and be recognised as done. `handle` returns `Ok` when done and its
    /// error otherwise; an error `is_permanent` says retrying cannot help is logged and the
    /// event skipped, any other is retried with a backoff. An interrupted feed is followed
    /// again after a backoff.
    pub async fn handle_each<E, F, Fut>(
        &mut self,
        limit: usize,
        handle: F,
        is_permanent: fn(&E) -> bool,
    ) -> Result<(), FeedError>
    where
        E: std::fmt::Display,
        F: Fn(RecordedEvent) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let handle = &handle;
        let mut backoff = crate::retry::Backoff::new();
        loop {
            let interrupted = self
                .for_each_per_stream(limit, |message| async move {
                    until_done(&message.event, handle, is_permanent).await;
                    if let Err(e) = message.ack().await {
                        tracing::warn!(error = %e, "acknowledging a feed event failed");
                    }
                })
                .await;
            match interrupted {
                None => return Ok(()),
                Some(e) => {
                    tracing::warn!(error = %e, "event feed interrupted; following it again");
                    backoff.wait().await;
                }
            }
        }
    }

    fn span_for(&self, event: &RecordedEvent, message: &jetstream::Message) -> tracing::Span {
        let id = |name: &str, known: Option<u128>| {
            headers::get(message.headers.as_ref(), name)
                .map(str::to_owned)
                .or_else(|| known.map(headers::format_id))
                .unwrap_or_default()
        };
        tracing::info_span!(
            "feed",
            consumer = %self.durable,
            case = %event.stream_id,
            event_type = %event.event_type,
            position = event.position,
            correlation = %id(headers::CORRELATION_ID, event.metadata.correlation_id),
            causation = %id(headers::CAUSATION_ID, event.metadata.causation_id),
        )
    }

    /// The next event; `None` when the feed is closed.
    pub async fn next(&mut self) -> Option<Result<FeedMessage, FeedError>> {
        let message = match self.messages.next().await? {
            Ok(message) => message,
            Err(e) => return Some(Err(FeedError::Transport(e.to_string()))),
        };
        let sequence = match message.info() {
            Ok(info) => {
                let consumer = [("consumer", self.durable.clone())];
                metrics::gauge!("feed_consumer_pending", &consumer).set(info.pending as f64);
                if info.delivered > 1 {
                    metrics::counter!("feed_redeliveries_total", &consumer).increment(1);
                }
                info.stream_sequence
            }
            Err(_) => 0,
        };
        match wire::decode_feed(&message.payload) {
            Ok(event) => {
                let span = self.span_for(&event, &message);
                Some(Ok(FeedMessage {
                    event,
                    message,
                    span,
                }))
            }
            Err(e) => {
                // Redelivering bytes that cannot be read would only fail again after every
                // ack wait: tell JetStream to stop, and hand the error up to be logged.
                if let Err(term) = message.ack_with(jetstream::AckKind::Term).await {
                    tracing::warn!(sequence, error = %term, "could not terminate an undecodable message");
                }
                Some(Err(FeedError::Undecodable {
                    sequence,
                    reason: e.to_string(),
                }))
            }
        }
    }
}

/// Records `message` as the event of `stream` in hand.
fn set_reply(
    replies: &mut HashMap<String, async_nats::Subject>,
    stream: &str,
    message: &FeedMessage,
) {
    match &message.message.reply {
        Some(reply) => {
            replies.insert(stream.to_owned(), reply.clone());
        }
        None => {
            replies.remove(stream);
        }
    }
}

/// Tells JetStream the message whose acknowledgement subject is `reply` is still being
/// handled, so it waits another ack wait before delivering it again (a failure is only logged:
/// at worst the event comes again, and is recognised as handled). A message already
/// acknowledged ignores it.
async fn still_in_hand(nats: &async_nats::Client, reply: &async_nats::Subject) {
    if let Err(e) = nats.publish(reply.clone(), "+WPI".into()).await {
        tracing::debug!(error = %e, "telling JetStream an event is still in hand");
    }
}

/// Handles `event` until `handle` succeeds or fails for good (see
/// [`FeedConsumer::handle_each`]).
async fn until_done<E, F, Fut>(event: &RecordedEvent, handle: &F, is_permanent: fn(&E) -> bool)
where
    E: std::fmt::Display,
    F: Fn(RecordedEvent) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut backoff = crate::retry::Backoff::new();
    loop {
        match handle(event.clone()).await {
            Ok(()) => return,
            Err(e) if is_permanent(&e) => {
                tracing::error!(
                    stream = %event.stream_id,
                    event_type = %event.event_type,
                    version = event.stream_version,
                    error = %e,
                    "event skipped"
                );
                return;
            }
            Err(e) => {
                tracing::warn!(
                    stream = %event.stream_id,
                    event_type = %event.event_type,
                    error = %e,
                    "handling failed; trying again"
                );
                backoff.wait().await;
            }
        }
    }
}
