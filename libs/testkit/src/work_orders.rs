//! Work orders and notices as a department's (or an office's, or a leader's) own system reads
//! them: pulled from its durable consumer, told apart by their `Gridcase-Message` header,
//! decoded from protobuf and acknowledged.

use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, Consumer};
use futures::StreamExt;
use gridcase_proto::dispatch::v1::{Notice, WorkOrder};
use prost::Message;

/// Pulls exactly `count` work orders from `consumer` (`who` names it in a failure), decoding
/// each and acknowledging it with the server's confirmation, so it is never delivered again;
/// notices on the same subject are acknowledged and passed over. Panics if the orders do not
/// all arrive within `within`.
pub async fn pull_work_orders(
    consumer: &Consumer<pull::Config>,
    count: usize,
    who: &str,
    within: Duration,
) -> Vec<WorkOrder> {
    pull(consumer, count, who, within, false).await
}

/// Pulls exactly `count` notices from `consumer` as [`pull_work_orders`] pulls work orders,
/// passing over the work orders.
pub async fn pull_notices(
    consumer: &Consumer<pull::Config>,
    count: usize,
    who: &str,
    within: Duration,
) -> Vec<Notice> {
    pull(consumer, count, who, within, true).await
}

async fn pull<M: Message + Default + std::fmt::Debug>(
    consumer: &Consumer<pull::Config>,
    count: usize,
    who: &str,
    within: Duration,
    notices: bool,
) -> Vec<M> {
    let what = if notices { "notices" } else { "work orders" };
    let started = Instant::now();
    let mut pulled = Vec::new();
    while pulled.len() < count {
        assert!(
            started.elapsed() < within,
            "{who}: only {} of {count} {what} arrived within {within:?}: {pulled:?}",
            pulled.len()
        );
        let mut batch = consumer
            .fetch()
            .max_messages(count - pulled.len())
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .unwrap_or_else(|e| panic!("{who}: fetching {what}: {e}"));
        while let Some(message) = batch.next().await {
            let message = message.unwrap_or_else(|e| panic!("{who}: a message: {e}"));
            if gridcase_bus::headers::is_notice(message.headers.as_ref()) == notices {
                pulled.push(
                    M::decode(message.payload.as_ref())
                        .unwrap_or_else(|e| panic!("{who}: not a protobuf {what}: {e}")),
                );
            }
            message
                .double_ack()
                .await
                .unwrap_or_else(|e| panic!("{who}: acknowledging: {e}"));
        }
    }
    pulled
}
