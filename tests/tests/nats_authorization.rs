//! The shipped NATS authorization, against a real nats-server: a department's system logs in
//! as its own user and pulls and acknowledges its own work orders, and cannot read another
//! department's, call the event store or log in without its password.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use gridcase_bus::subjects::DISPATCH_STREAM;
use gridcase_bus::NatsServer;
use gridcase_config::ReferenceData;
use gridcase_dispatch::nats_auth::{authorization, inbox_prefix};
use gridcase_dispatch::workorder;
use gridcase_proto::dispatch::v1::WorkOrder;
use prost::Message;

fn password(user: &str) -> String {
    format!("pw-{user}-0123456789")
}

fn url(server: &NatsServer, user: &str) -> String {
    format!("nats://{user}:{}@{}", password(user), server.addr())
}

/// Connects as `department`'s system: its user, its inbox prefix, requests that give up soon.
async fn department(server: &NatsServer, code: &str) -> async_nats::Client {
    gridcase_bus::connect_with(&url(server, &format!("dept-{code}")), |options| {
        options
            .custom_inbox_prefix(inbox_prefix(code))
            .request_timeout(Some(Duration::from_secs(2)))
    })
    .await
    .unwrap_or_else(|e| panic!("department {code} logs in: {e}"))
}

fn order(id: &str) -> WorkOrder {
    WorkOrder {
        work_order_id: id.to_owned(),
        ..Default::default()
    }
}

async fn pull_one(consumer: &jetstream::consumer::Consumer<pull::Config>) -> WorkOrder {
    let mut batch = consumer
        .fetch()
        .max_messages(1)
        .expires(Duration::from_secs(5))
        .messages()
        .await
        .expect("asking for the next work order");
    let message = batch
        .next()
        .await
        .expect("a work order arrives")
        .expect("a readable work order");
    message.double_ack().await.expect("the ack is confirmed");
    WorkOrder::decode(message.payload.clone()).expect("a protobuf work order")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_reads_only_its_own_work_orders() {
    let reference = ReferenceData::load(&gridcase_testkit::sample_config_dir()).unwrap();
    let block = authorization(&reference, |user| format!("\"{}\"", password(user)));
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start_with(dir.path(), 0, &block).unwrap_or_else(|e| {
        panic!("the test needs a real nats-server: {e}");
    });

    // The services' user sets up the stream and the department consumers, and publishes.
    let services = gridcase_bus::connect(&url(&server, "gridcase"))
        .await
        .unwrap();
    let js = jetstream::new(services.clone());
    workorder::ensure_stream(&js, &reference).await.unwrap();
    for (department, id) in [("gas", "gas-order-1"), ("water", "water-order-1")] {
        workorder::publish(
            &js,
            gridcase_bus::subjects::dispatch(department),
            &order(id),
        )
        .await
        .unwrap();
    }

    // No password, or a wrong one: no connection at all.
    for bad in [
        format!("nats://{}", server.addr()),
        format!("nats://dept-gas:wrong-password@{}", server.addr()),
    ] {
        assert!(
            async_nats::connect(bad.as_str()).await.is_err(),
            "{bad} must be refused"
        );
    }

    // A stand-in for the event store, answering on its stats subject.
    let stats_subject = gridcase_bus::subjects::store_request(
        gridcase_bus::subjects::DEFAULT_SHARD,
        gridcase_bus::subjects::StoreOp::Stats,
    );
    let mut requests = services.subscribe(stats_subject.clone()).await.unwrap();
    let responder = services.clone();
    tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            if let Some(reply) = request.reply {
                let _ = responder.publish(reply, "stats".into()).await;
            }
        }
    });
    services.flush().await.unwrap();
    assert!(services
        .request(stats_subject.clone(), Vec::new().into())
        .await
        .is_ok());

    // Gas pulls and acknowledges its own work order.
    let gas = department(&server, "gas").await;
    let gas_js = jetstream::new(gas.clone());
    let stream = gas_js.get_stream(DISPATCH_STREAM).await.unwrap();
    let own: jetstream::consumer::Consumer<pull::Config> =
        stream.get_consumer("dept-gas").await.unwrap();
    assert_eq!(pull_one(&own).await.work_order_id, "gas-order-1");

    // Water's consumer, the event store and the raw dispatch subjects are out of reach.
    let other = stream
        .get_consumer::<pull::Config>("dept-water")
        .await
        .map(|_| ());
    assert!(other.is_err(), "gas must not see water's consumer");
    let store = gas.request(stats_subject, Vec::new().into()).await;
    assert!(store.is_err(), "gas must not call the event store");

    // Water's order is still waiting for water, untouched, and water gets it.
    let mut info = js
        .get_stream(DISPATCH_STREAM)
        .await
        .unwrap()
        .get_consumer::<pull::Config>("dept-water")
        .await
        .unwrap();
    assert_eq!(info.info().await.unwrap().num_pending, 1);
    let water = department(&server, "water").await;
    let water_consumer: jetstream::consumer::Consumer<pull::Config> = jetstream::new(water)
        .get_stream(DISPATCH_STREAM)
        .await
        .unwrap()
        .get_consumer("dept-water")
        .await
        .unwrap();
    assert_eq!(
        pull_one(&water_consumer).await.work_order_id,
        "water-order-1"
    );
}
