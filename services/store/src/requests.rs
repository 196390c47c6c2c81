//! The NATS request-reply API and the head announcements.

use bytes::Bytes;
use futures::StreamExt;
use gridcase_bus::subjects::{self, StoreOp};
use gridcase_bus::wire::{
    decode_request, encode, AppendRequest, ReadAllRequest, ReadStreamRequest, Reply,
    StreamVersionRequest, MAX_REPLY_BYTES,
};
use gridcase_eventstore::{EventStore, RecordedEvent, SledStore, StoreError};
use serde::Serialize;
use tokio::sync::watch;

use crate::ServiceError;

/// Most events one read request returns, whatever it asks for.
const MAX_READ: u32 = 10_000;

/// Answers store requests until `stop` turns true. Each request runs in its own task, so many
/// appends wait on the writer together and share a flush.
pub(crate) async fn serve(
    store: SledStore,
    nats: async_nats::Client,
    shard: String,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ServiceError> {
    let subject = subjects::store_requests(&shard);
    let mut requests = nats
        .subscribe(subject.clone())
        .await
        .map_err(|e| ServiceError::Nats(format!("subscribing to {subject}: {e}")))?;
    tracing::info!(%subject, "store api serving");
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
                tokio::spawn(async move {
                    let body = handle(&store, &op, &message.payload).await;
                    if let Err(e) = nats.publish(reply_to, body).await {
                        tracing::warn!(error = %e, op, "could not send a store reply");
                    }
                });
            }
        }
    }
    let _ = requests.unsubscribe().await;
    Ok(())
}

fn reply<T: Serialize>(result: Reply<T>) -> Bytes {
    encode(&result)
}

async fn handle(store: &SledStore, op: &str, body: &[u8]) -> Bytes {
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
        op if op == StoreOp::ReadAll.token() => {
            let result = match decode_request::<ReadAllRequest>("read-all request", body) {
                Ok(request) => store
                    .read_all(request.from_position, request.max.min(MAX_READ) as usize)
                    .await
                    .map(cap_reply),
                Err(e) => Err(e),
            };
            reply(result)
        }
        op if op == StoreOp::ReadStream.token() => {
            let result = match decode_request::<ReadStreamRequest>("read-stream request", body) {
                Ok(request) => store
                    .read_stream(
                        &request.stream,
                        request.from_version,
                        request.max.min(MAX_READ) as usize,
                    )
                    .await
                    .map(cap_reply),
                Err(e) => Err(e),
            };
            reply(result)
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

/// Keeps a read reply under the NATS payload limit; the caller reads on from where it stops.
fn cap_reply(mut events: Vec<RecordedEvent>) -> Vec<RecordedEvent> {
    let mut bytes = 0;
    let keep = events
        .iter()
        .position(|event| {
            bytes += event.payload.len()
                + event.stream_id.len()
                + event.event_type.len()
                + event.metadata.actor.as_ref().map_or(0, String::len)
                + 96;
            bytes > MAX_REPLY_BYTES
        })
        .unwrap_or(events.len())
        .max(1);
    events.truncate(keep);
    events
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

    fn event(payload: usize) -> RecordedEvent {
        RecordedEvent {
            position: 0,
            stream_id: "s".into(),
            stream_version: 0,
            event_id: 1,
            event_type: "T".into(),
            schema_version: 1,
            recorded_at_ms: 0,
            metadata: Default::default(),
            payload: vec![0; payload],
        }
    }

    #[test]
    fn replies_stay_under_the_payload_limit_but_carry_at_least_one_event() {
        let many = vec![event(10_000); 500];
        let capped = cap_reply(many);
        assert!(capped.len() < 500 && !capped.is_empty());
        assert!(encode(&Reply::Ok(capped)).len() <= MAX_REPLY_BYTES);
        assert_eq!(cap_reply(vec![event(2 * MAX_REPLY_BYTES)]).len(), 1);
        assert!(cap_reply(Vec::new()).is_empty());
    }
}
