//! The outbox relay publishes each event with its trace ids in NATS headers, so a consumer can
//! follow one case across services.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use gridcase_bus::headers;
use gridcase_bus::subjects;
use gridcase_eventstore::conformance::sample_event;
use gridcase_eventstore::{EventStore, ExpectedVersion, Metadata};
use gridcase_store_node::RelayMode;
use gridcase_testkit::Sandbox;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayed_events_carry_their_trace_ids() {
    let sandbox = Sandbox::start();
    let store = sandbox
        .start_store(&sandbox.path("data"), RelayMode::On)
        .await;
    let mut traced = sample_event(0xe1, 16);
    traced.metadata = Metadata {
        correlation_id: Some(0xc0),
        causation_id: Some(0xca),
        actor: None,
    };
    // An event without trace ids gets only its own id.
    let untraced = sample_event(0xe2, 16);
    store
        .client
        .append("case-1", ExpectedVersion::NoStream, vec![traced, untraced])
        .await
        .unwrap();

    let js = jetstream::new(sandbox.connect().await);
    let stream = js.get_stream(subjects::EVENTS_STREAM).await.unwrap();
    let consumer = stream
        .create_consumer(pull::Config {
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ack_policy: jetstream::consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(20), messages.next())
            .await
            .expect("the relay published the event")
            .unwrap()
            .unwrap()
    };

    let first = next().await;
    let header = |name| headers::get(first.headers.as_ref(), name).map(str::to_owned);
    assert_eq!(header(headers::EVENT_ID), Some(format!("{:032x}", 0xe1)));
    assert_eq!(
        header(headers::CORRELATION_ID),
        Some(format!("{:032x}", 0xc0))
    );
    assert_eq!(
        header(headers::CAUSATION_ID),
        Some(format!("{:032x}", 0xca))
    );
    // The deduplication id is still there beside them.
    assert_eq!(header("Nats-Msg-Id"), Some(format!("{:032x}", 0xe1)));

    let second = next().await;
    let header = |name| headers::get(second.headers.as_ref(), name).map(str::to_owned);
    assert_eq!(header(headers::EVENT_ID), Some(format!("{:032x}", 0xe2)));
    assert_eq!(header(headers::CORRELATION_ID), None);
    assert_eq!(header(headers::CAUSATION_ID), None);

    drop(messages);
    store.stop().await;
}
