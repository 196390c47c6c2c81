//! The NATS request-reply API and the head announcements.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use gridcase_bus::subjects::{self, StoreOp};
use gridcase_bus::wire::{
    decode_request, encode, AppendBatchRequest, AppendRequest, RawRecordRef, ReadAllRequest,
    ReadStreamRequest, Reply, StreamPartReply, StreamVersionRequest, MAX_APPENDS_PER_BATCH,
};
use gridcase_eventstore::{EventStore, RawRecord, SledStore, StoreError};
use serde::Serialize;
use tokio::sync::watch;

use crate::ServiceError;

/// How long shutdown waits for requests already taken.
const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Most events one read request returns, whatever it asks for.
const MAX_READ: u32 = 50_000;

/// Subscribes to the store's requests. Once this returns, a request sent on the same NATS
/// connection reaches the subscription, so a health probe made after it is answered.
pub(crate) async fn subscribe(
    nats: &async_nats::Client,
    shard: &str,
) -> Result<async_nats::Subscriber, ServiceError> {
    let subject = subjects::store_requests(shard);
    nats.subscribe(subject.clone())
        .await
        .map_err(|e| ServiceError::Nats(format!("subscribing to {subject}: {e}")))
}

/// Answers store requests taken from `requests` until `stop` turns true. Each request runs in its own task, so many
/// appends wait on the writer together and share a flush.
pub(crate) async fn serve(
    store: SledStore,
    nats: async_nats::Client,
    shard: String,
    mut requests: async_nats::Subscriber,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ServiceError> {
    let subject = subjects::store_requests(&shard);
    // Replies may be as large as the server allows, less room for headers.
    let reply_limit = nats
        .server_info()
        .max_payload
        .saturating_sub(64 * 1024)
        .max(64 * 1024);
    tracing::info!(%subject, reply_limit, "store api serving");
    let in_flight = Arc::new(());
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            message = requests.next() => {
                let Some(message) = message else { break };
                let Some(reply_to) = message.reply.clone() else {
                    tracing::debug!(subject = %message.subject, "request without a reply subject ignored");
                    continue;
                };
                let op = message.subject.rsplit('.').next().unwrap_or_default().to_owned();
                let store = store.clone();
                let nats = nats.clone();
                let in_flight = in_flight.clone();
                tokio::spawn(async move {
                    let _in_flight = in_flight;
                    let body = handle(&store, &op, &message.payload, reply_limit).await;
                    if let Err(e) = nats.publish(reply_to, body).await {
                        tracing::warn!(error = %e, op, "could not send a store reply");
                    }
                });
            }
        }
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), requests.unsubscribe()).await;
    // Let requests already taken finish and send their replies before the caller flushes
    // NATS and closes the store.
    let deadline = tokio::time::Instant::now() + DRAIN_LIMIT;
    while Arc::strong_count(&in_flight) > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    Ok(())
}

/// Answers every store request with `refusal` until `stop` turns true: while the store is
/// closed after its disk failed, callers hear why, not a timeout.
pub(crate) async fn refuse(
    nats: async_nats::Client,
    shard: String,
    refusal: String,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ServiceError> {
    let subject = subjects::store_requests(&shard);
    let mut requests = nats
        .subscribe(subject.clone())
        .await
        .map_err(|e| ServiceError::Nats(format!("subscribing to {subject}: {e}")))?;
    let body = reply::<()>(Err(StoreError::Unavailable(refusal)));
    loop {
        let message = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            message = requests.next() => message,
        };
        let Some(message) = message else { break };
        if let Some(reply_to) = message.reply {
            if let Err(e) = nats.publish(reply_to, body.clone()).await {
                tracing::warn!(error = %e, "could not send a store refusal");
            }
        }
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), requests.unsubscribe()).await;
    Ok(())
}

fn reply<T: Serialize>(result: Reply<T>) -> Bytes {
    encode(&result)
}

async fn handle(store: &SledStore, op: &str, body: &[u8], reply_limit: usize) -> Bytes {
    match op {
        op if op == StoreOp::Append.token() => {
            let result = match decode_request::<AppendRequest>("append request", body) {
                Ok(request) => {
                    store
                        .append(&request.stream, request.expected, request.events)
                        .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = &result {
                tracing::debug!(error = %e, "append refused");
            }
            reply(result)
        }
        op if op == StoreOp::AppendBatch.token() => {
            match decode_request::<AppendBatchRequest>("append-batch request", body) {
                Ok(batch) if batch.appends.len() > MAX_APPENDS_PER_BATCH => {
                    reply::<()>(Err(StoreError::InvalidRequest(format!(
                        "appends: {} in one batch, at most {MAX_APPENDS_PER_BATCH}",
                        batch.appends.len()
                    ))))
                }
                Ok(batch) => {
                    // All enter the writer's queue together, so they share one group commit.
                    let outcomes = futures::future::join_all(batch.appends.into_iter().map(
                        |request| async move {
                            store
                                .append(&request.stream, request.expected, request.events)
                                .await
                        },
                    ))
                    .await;
                    reply::<Vec<Reply<_>>>(Ok(outcomes))
                }
                Err(e) => reply::<()>(Err(e)),
            }
        }
        op if op == StoreOp::ReadAll.token() => {
            let result =
                decode_request::<ReadAllRequest>("read-all request", body).and_then(|request| {
                    let max = request.max.min(MAX_READ) as usize;
                    store.read_all_raw(request.from_position, max, reply_limit)
                });
            raw_reply(result)
        }
        op if op == StoreOp::ReadStream.token() => {
            raw_reply(read_stream(store, body, reply_limit).map(|(records, _)| records))
        }
        op if op == StoreOp::ReadStreamPart.token() => {
            match read_stream(store, body, reply_limit) {
                Ok((records, at_end)) => reply::<StreamPartReply<'_>>(Ok(StreamPartReply {
                    records: raw_refs(&records),
                    at_end,
                })),
                Err(e) => reply::<()>(Err(e)),
            }
        }
        op if op == StoreOp::StreamVersion.token() => {
            let result =
                match decode_request::<StreamVersionRequest>("stream-version request", body) {
                    Ok(request) => store.stream_version(&request.stream).await,
                    Err(e) => Err(e),
                };
            reply(result)
        }
        op if op == StoreOp::Stats.token() => reply(store.stats().await),
        op if op == StoreOp::Head.token() => reply::<u64>(Ok(*store.watch_head().borrow())),
        other => reply::<()>(Err(StoreError::InvalidRequest(format!(
            "operation: unknown store operation {other:?}"
        )))),
    }
}

/// Reads what a `ReadStreamRequest` in `body` asks for, up to `reply_limit` bytes; true if
/// the records reach the stream's end.
fn read_stream(
    store: &SledStore,
    body: &[u8],
    reply_limit: usize,
) -> Reply<(Vec<RawRecord>, bool)> {
    let request = decode_request::<ReadStreamRequest>("read-stream request", body)?;
    store.read_stream_raw_part(
        &request.stream,
        request.from_version,
        request.max.min(MAX_READ) as usize,
        reply_limit,
    )
}

/// The records as they go on the wire: position and stored bytes.
fn raw_refs(records: &[RawRecord]) -> Vec<RawRecordRef<'_>> {
    records
        .iter()
        .map(|record| RawRecordRef {
            position: record.position,
            bytes: record.bytes(),
        })
        .collect()
}

/// Replies with stored records as they are. The store stopped reading at the byte limit
/// (keeping at least one record), so the reply fits the NATS payload limit; the reader reads
/// on from where the reply stops.
fn raw_reply(result: Reply<Vec<RawRecord>>) -> Bytes {
    let records = match result {
        Ok(records) => records,
        Err(e) => return reply::<()>(Err(e)),
    };
    reply::<Vec<RawRecordRef<'_>>>(Ok(raw_refs(&records)))
}

/// Publishes the head on `gridcase.v1.store.<shard>.committed` each time it moves, so remote
/// subscribers wake up without polling. Bursts coalesce into one announcement.
pub(crate) async fn announce_head(
    store: SledStore,
    nats: async_nats::Client,
    shard: String,
    mut stop: watch::Receiver<bool>,
) {
    let subject = subjects::store_committed(&shard);
    let mut head = store.watch_head();
    loop {
        let value = *head.borrow_and_update();
        if let Err(e) = nats.publish(subject.clone(), encode(&value)).await {
            tracing::warn!(error = %e, "could not announce the head");
        }
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            changed = head.changed() => if changed.is_err() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_bus::wire::{decode_reply, MAX_REPLY_BYTES};
    use gridcase_eventstore::{conformance::sample_event, ExpectedVersion};

    #[tokio::test]
    async fn read_replies_stay_under_the_limit_but_carry_at_least_one_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open_path(dir.path()).unwrap();
        for id in 0..300u128 {
            let event = sample_event(id, 10_000);
            store
                .append("s", ExpectedVersion::Any, vec![event])
                .await
                .unwrap();
        }
        let body = raw_reply(store.read_all_raw(0, 300, MAX_REPLY_BYTES));
        assert!(body.len() <= MAX_REPLY_BYTES);
        let records: Vec<RawRecordRef<'_>> = decode_reply(&body).unwrap();
        assert!(!records.is_empty() && records.len() < 300);
        assert_eq!(records[5].position, 5);
        let tiny = raw_reply(store.read_stream_raw("s", 0, 300, 10));
        assert_eq!(
            decode_reply::<Vec<RawRecordRef<'_>>>(&tiny).unwrap().len(),
            1
        );
        // Cut short by size, a part does not claim to reach the end; read whole, it does.
        let (cut, at_end) = store.read_stream_raw_part("s", 0, 300, 10).unwrap();
        assert_eq!((cut.len(), at_end), (1, false));
        let (whole, at_end) = store.read_stream_raw_part("s", 0, 300, usize::MAX).unwrap();
        assert_eq!((whole.len(), at_end), (300, true));
        let empty = raw_reply(store.read_all_raw(1_000, 10, MAX_REPLY_BYTES));
        assert!(decode_reply::<Vec<RawRecordRef<'_>>>(&empty)
            .unwrap()
            .is_empty());
    }
}
