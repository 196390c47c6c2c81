//! Work orders as a department's own system reads them: pulled from its durable consumer,
//! decoded from protobuf and acknowledged.

use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, Consumer};
use futures::StreamExt;
use gridcase_proto::dispatch::v1::WorkOrder;
use prost::Message;

/// Pulls exactly `count` work orders from `consumer` (`who` names it in a failure), decoding
/// each and acknowledging it with the server's confirmation, so it is never delivered again;
/// panics if they do not all arrive within `within`.
pub async fn pull_work_orders(
    consumer: &Consumer<pull::Config>,
    count: usize,
    who: &str,
    within: Duration,
) -> Vec<WorkOrder> {
    let started = Instant::now();
    let mut orders = Vec::new();
    while orders.len() < count {
        assert!(
            started.elapsed() < within,
            "{who}: only {} of {count} work orders arrived within {within:?}: {orders:?}",
            orders.len()
        );
        let mut batch = consumer
            .fetch()
            .max_messages(count - orders.len())
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .expect("fetching work orders");
        while let Some(message) = batch.next().await {
            let message = message.expect("a work-order message");
            orders
                .push(WorkOrder::decode(message.payload.as_ref()).expect("a protobuf work order"));
            message
                .double_ack()
                .await
                .expect("acknowledging a work order");
        }
    }
    orders
}
