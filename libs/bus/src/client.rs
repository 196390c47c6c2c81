//! [`ShardClient`]: one store shard as every other service sees it, over NATS request-reply.
//! [`crate::StoreClient`] routes between the shards' clients.

use std::sync::Arc;
use std::time::Duration;

use async_nats::RequestErrorKind;
use futures::StreamExt;
use gridcase_eventstore::{
    AppendResult, EventStore, ExpectedVersion, NewEvent, RecordedEvent, Result, StoreError,
    StoreStats, StreamPart,
};
use serde::{de::DeserializeOwned, Serialize};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::task::JoinHandle;

use crate::subjects::{self, StoreOp};
use crate::wire::{
    decode_reply, encode, AppendBatchRequest, AppendRequest, RawRecordRef, ReadAllRequest,
    ReadStreamRequest, Reply, StreamPartReply, StreamVersionRequest, MAX_APPENDS_PER_BATCH,
};

/// How often the client asks for the head even without announcements, so a lost announcement
/// (core NATS is at-most-once) delays a subscriber by at most this long.
const HEAD_POLL: Duration = Duration::from_millis(500);

/// Append messages one client keeps in flight. While all are out, new appends wait and leave
/// together in the next message: under load many appends share a message, when idle each
/// leaves at once.
const APPENDS_IN_FLIGHT: usize = 4;

/// Payload bytes after which a batch is sent rather than grown.
const BATCH_BYTES: usize = 512 * 1024;

/// An [`EventStore`] served by the store service of one shard over NATS.
#[derive(Debug, Clone)]
pub struct ShardClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    nats: async_nats::Client,
    shard: String,
    head: watch::Sender<u64>,
    watcher: JoinHandle<()>,
    appends: mpsc::UnboundedSender<PendingAppend>,
    /// Append messages that may be in flight; shared with the batcher.
    slots: Arc<Semaphore>,
    batcher: JoinHandle<()>,
}

#[derive(Debug)]
struct PendingAppend {
    request: AppendRequest,
    reply: oneshot::Sender<Result<AppendResult>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.watcher.abort();
        self.batcher.abort();
    }
}

impl ShardClient {
    /// A client of the store serving `shard`. Must be called inside a tokio runtime: it starts
    /// a task that follows the store's head.
    pub fn new(nats: async_nats::Client, shard: &str) -> Self {
        let (head, _) = watch::channel(0);
        let watcher = tokio::spawn(follow_head(nats.clone(), shard.to_owned(), head.clone()));
        let (appends, pending) = mpsc::unbounded_channel();
        let slots = Arc::new(Semaphore::new(APPENDS_IN_FLIGHT));
        let batcher = tokio::spawn(send_appends(
            nats.clone(),
            shard.to_owned(),
            pending,
            slots.clone(),
        ));
        Self {
            inner: Arc::new(Inner {
                nats,
                shard: shard.to_owned(),
                head,
                watcher,
                appends,
                slots,
                batcher,
            }),
        }
    }

    /// The NATS connection the client uses.
    pub fn nats(&self) -> &async_nats::Client {
        &self.inner.nats
    }

    /// The store's current head, asked directly.
    pub async fn head(&self) -> Result<u64> {
        call(&self.inner.nats, &self.inner.shard, StoreOp::Head, &()).await
    }

    /// Reads up to `max` records of the log from `from_position` as the store holds them:
    /// (position, record bytes with their checksum), undecoded, for copying the log as it is.
    pub async fn read_all_raw(
        &self,
        from_position: u64,
        max: usize,
    ) -> Result<Vec<(u64, bytes::Bytes)>> {
        let request = ReadAllRequest {
            from_position,
            max: max.min(u32::MAX as usize) as u32,
        };
        let body = self.call_raw(StoreOp::ReadAll, &request).await?;
        let records = decode_reply::<Vec<RawRecordRef<'_>>>(&body)?;
        Ok(records
            .iter()
            .map(|record| (record.position, body.slice_ref(record.bytes)))
            .collect())
    }

    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        op: StoreOp,
        request: &Req,
    ) -> Result<Resp> {
        call(&self.inner.nats, &self.inner.shard, op, request).await
    }

    async fn call_raw<Req: Serialize>(&self, op: StoreOp, request: &Req) -> Result<bytes::Bytes> {
        call_raw(&self.inner.nats, &self.inner.shard, op, request).await
    }
}

async fn call<Req: Serialize, Resp: DeserializeOwned>(
    nats: &async_nats::Client,
    shard: &str,
    op: StoreOp,
    request: &Req,
) -> Result<Resp> {
    decode_reply(&call_raw(nats, shard, op, request).await?)
}

/// Sends a request and returns the reply body undecoded.
async fn call_raw<Req: Serialize>(
    nats: &async_nats::Client,
    shard: &str,
    op: StoreOp,
    request: &Req,
) -> Result<bytes::Bytes> {
    let subject = subjects::store_request(shard, op);
    let sent = match op {
        // Replies of up to max_payload bytes: the connection's longer limit.
        StoreOp::ReadAll | StoreOp::ReadStream => {
            nats.request(subject.clone(), encode(request)).await
        }
        _ => crate::request_briefly(nats, subject.clone(), encode(request)).await,
    };
    let reply = sent.map_err(|e| {
        StoreError::Unavailable(match e.kind() {
            RequestErrorKind::NoResponders => {
                format!("no store answers on {subject}: is the store service running?")
            }
            RequestErrorKind::MaxPayloadExceeded => {
                return StoreError::InvalidRequest(format!(
                    "events: the request is larger than the NATS server's max_payload ({} bytes)",
                    nats.server_info().max_payload
                ));
            }
            RequestErrorKind::TimedOut => {
                format!("the store did not answer on {subject} in time")
            }
            _ => format!("request on {subject}: {e}"),
        })
    })?;
    Ok(reply.payload)
}

/// Sends appends as they come, coalescing those that queue up while the in-flight limit is
/// reached into one `append_batch` message.
async fn send_appends(
    nats: async_nats::Client,
    shard: String,
    mut pending: mpsc::UnboundedReceiver<PendingAppend>,
    slots: Arc<Semaphore>,
) {
    let batch_limit = BATCH_BYTES.min(nats.server_info().max_payload.saturating_sub(64 * 1024));
    // An append that would have made the last message too large starts the next one.
    let mut carried: Option<PendingAppend> = None;
    loop {
        let first = match carried.take() {
            Some(first) => first,
            None => match pending.recv().await {
                Some(first) => first,
                None => return,
            },
        };
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut bytes = payload_bytes(&first.request);
        let mut batch = vec![first];
        while batch.len() < MAX_APPENDS_PER_BATCH {
            match pending.try_recv() {
                Ok(next) if bytes + payload_bytes(&next.request) > batch_limit => {
                    carried = Some(next);
                    break;
                }
                Ok(next) => {
                    bytes += payload_bytes(&next.request);
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let nats = nats.clone();
        let shard = shard.clone();
        tokio::spawn(async move {
            let _slot = slot;
            if batch.len() == 1 {
                let PendingAppend { request, reply } = batch.remove(0);
                let _ = reply.send(call(&nats, &shard, StoreOp::Append, &request).await);
                return;
            }
            let (requests, replies): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .map(|pending| (pending.request, pending.reply))
                .unzip();
            let outcome = call::<_, Vec<Reply<AppendResult>>>(
                &nats,
                &shard,
                StoreOp::AppendBatch,
                &AppendBatchRequest { appends: requests },
            )
            .await;
            match outcome {
                Ok(outcomes) if outcomes.len() == replies.len() => {
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        let _ = reply.send(outcome);
                    }
                }
                Ok(outcomes) => {
                    let error = StoreError::Unavailable(format!(
                        "the store answered {} outcomes for {} appends",
                        outcomes.len(),
                        replies.len()
                    ));
                    for reply in replies {
                        let _ = reply.send(Err(error.clone()));
                    }
                }
                Err(error) => {
                    for reply in replies {
                        let _ = reply.send(Err(error.clone()));
                    }
                }
            }
        });
    }
}

fn payload_bytes(request: &AppendRequest) -> usize {
    request.events.iter().map(|e| e.payload.len() + 64).sum()
}

fn decode_raw(body: &[u8]) -> Result<Vec<RecordedEvent>> {
    decode_reply::<Vec<RawRecordRef<'_>>>(body)?
        .iter()
        .map(|record| gridcase_eventstore::decode_record(record.position, record.bytes))
        .collect()
}

async fn follow_head(nats: async_nats::Client, shard: String, head: watch::Sender<u64>) {
    let advance = |value: u64| gridcase_eventstore::advance_head(&head, value);
    let mut announcements = match nats.subscribe(subjects::store_committed(&shard)).await {
        Ok(subscription) => Some(subscription),
        Err(e) => {
            tracing::warn!(error = %e, "cannot follow store announcements; polling only");
            None
        }
    };
    let mut poll = tokio::time::interval(HEAD_POLL);
    loop {
        tokio::select! {
            message = async { announcements.as_mut()?.next().await }, if announcements.is_some() => {
                match message {
                    Some(message) => match postcard::from_bytes::<u64>(&message.payload) {
                        Ok(value) => advance(value),
                        Err(e) => tracing::debug!(error = %e, "undecodable head announcement skipped"),
                    },
                    None => announcements = None,
                }
            }
            _ = poll.tick() => {
                if let Ok(value) = call::<_, u64>(&nats, &shard, StoreOp::Head, &()).await {
                    advance(value);
                }
            }
        }
    }
}

impl EventStore for ShardClient {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        // Checked here too, so a bad append never shares a message with good ones.
        gridcase_eventstore::validate_append(stream, &events)?;
        let request = AppendRequest {
            stream: stream.to_owned(),
            expected,
            events,
        };
        // A free slot means the batcher has nothing waiting for one (a freed slot goes to it
        // first when it waits): send from this task, sparing the hand-over to the batcher's
        // task and back, which a lone writer would pay on every append.
        if let Ok(_slot) = self.inner.slots.try_acquire() {
            let inner = &self.inner;
            return call(&inner.nats, &inner.shard, StoreOp::Append, &request).await;
        }
        let (reply, answer) = oneshot::channel();
        self.inner
            .appends
            .send(PendingAppend { request, reply })
            .map_err(|_| StoreError::Unavailable("the append sender has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the append sender dropped the append".into()))?
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let request = ReadStreamRequest {
            stream: stream.to_owned(),
            from_version,
            max: max.min(u32::MAX as usize) as u32,
        };
        decode_raw(&self.call_raw(StoreOp::ReadStream, &request).await?)
    }

    async fn read_stream_part(
        &self,
        stream: &str,
        from_version: u64,
        max: usize,
    ) -> Result<StreamPart> {
        let request = ReadStreamRequest {
            stream: stream.to_owned(),
            from_version,
            max: max.min(u32::MAX as usize) as u32,
        };
        let body = self.call_raw(StoreOp::ReadStreamPart, &request).await?;
        let part = decode_reply::<StreamPartReply<'_>>(&body)?;
        Ok(StreamPart {
            events: part
                .records
                .iter()
                .map(|record| gridcase_eventstore::decode_record(record.position, record.bytes))
                .collect::<Result<_>>()?,
            at_end: part.at_end,
        })
    }

    async fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>> {
        let request = ReadAllRequest {
            from_position,
            max: max.min(u32::MAX as usize) as u32,
        };
        decode_raw(&self.call_raw(StoreOp::ReadAll, &request).await?)
    }

    async fn stream_version(&self, stream: &str) -> Result<Option<u64>> {
        let request = StreamVersionRequest {
            stream: stream.to_owned(),
        };
        self.call(StoreOp::StreamVersion, &request).await
    }

    async fn stats(&self) -> Result<StoreStats> {
        self.call(StoreOp::Stats, &()).await
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.head.subscribe()
    }
}
