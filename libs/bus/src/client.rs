//! [`StoreClient`]: the event store as every other service sees it, over NATS request-reply.

use std::sync::Arc;
use std::time::Duration;

use async_nats::RequestErrorKind;
use futures::StreamExt;
use gridcase_eventstore::{
    AppendResult, EventStore, ExpectedVersion, NewEvent, RecordedEvent, Result, StoreError,
    StoreStats,
};
use serde::{de::DeserializeOwned, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::subjects::{self, StoreOp};
use crate::wire::{
    decode_reply, encode, AppendRequest, ReadAllRequest, ReadStreamRequest, StreamVersionRequest,
};

/// How often the client asks for the head even without announcements, so a lost announcement
/// (core NATS is at-most-once) delays a subscriber by at most this long.
const HEAD_POLL: Duration = Duration::from_millis(500);

/// An [`EventStore`] served by the store service of one shard over NATS.
#[derive(Debug, Clone)]
pub struct StoreClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    nats: async_nats::Client,
    shard: String,
    head: watch::Sender<u64>,
    watcher: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

impl StoreClient {
    /// A client of the store serving `shard`. Must be called inside a tokio runtime: it starts
    /// a task that follows the store's head.
    pub fn new(nats: async_nats::Client, shard: &str) -> Self {
        let (head, _) = watch::channel(0);
        let watcher = tokio::spawn(follow_head(nats.clone(), shard.to_owned(), head.clone()));
        Self {
            inner: Arc::new(Inner {
                nats,
                shard: shard.to_owned(),
                head,
                watcher,
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

    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        op: StoreOp,
        request: &Req,
    ) -> Result<Resp> {
        call(&self.inner.nats, &self.inner.shard, op, request).await
    }
}

async fn call<Req: Serialize, Resp: DeserializeOwned>(
    nats: &async_nats::Client,
    shard: &str,
    op: StoreOp,
    request: &Req,
) -> Result<Resp> {
    let subject = subjects::store_request(shard, op);
    let reply = nats
        .request(subject.clone(), encode(request))
        .await
        .map_err(|e| {
            StoreError::Unavailable(match e.kind() {
                RequestErrorKind::NoResponders => {
                    format!("no store answers on {subject}: is the store service running?")
                }
                RequestErrorKind::TimedOut => {
                    format!("the store did not answer on {subject} in time")
                }
                _ => format!("request on {subject}: {e}"),
            })
        })?;
    decode_reply(&reply.payload)
}

async fn follow_head(nats: async_nats::Client, shard: String, head: watch::Sender<u64>) {
    let advance = |value: u64| {
        head.send_if_modified(|current| {
            let moved = value > *current;
            if moved {
                *current = value;
            }
            moved
        });
    };
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
                match message.and_then(|m| postcard::from_bytes::<u64>(&m.payload).ok()) {
                    Some(value) => advance(value),
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

impl EventStore for StoreClient {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        let request = AppendRequest {
            stream: stream.to_owned(),
            expected,
            events,
        };
        self.call(StoreOp::Append, &request).await
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
        self.call(StoreOp::ReadStream, &request).await
    }

    async fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>> {
        let request = ReadAllRequest {
            from_position,
            max: max.min(u32::MAX as usize) as u32,
        };
        self.call(StoreOp::ReadAll, &request).await
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
