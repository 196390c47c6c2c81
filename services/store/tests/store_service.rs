//! The store service against a real nats-server: the conformance suite through NATS, crashes
//! between commit and publish, kill -9 under load, bad requests, and the gRPC admin API.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use gridcase_bus::subjects::{self, StoreOp};
use gridcase_bus::wire::{self, Reply};
use gridcase_eventstore::conformance::sample_event;
use gridcase_eventstore::{EventStore, ExpectedVersion, RecordedEvent, StoreError};
use gridcase_proto::store::v1::store_admin_client::StoreAdminClient;
use gridcase_proto::store::v1::{StatsRequest, VerifyRequest};
use gridcase_store_node::RelayMode;
use gridcase_testkit::Sandbox;

const STORE_BIN: &str = env!("CARGO_BIN_EXE_gridcase-store");

mod conformance {
    use super::*;

    gridcase_eventstore::conformance_tests!(async {
        let sandbox = Sandbox::start();
        let store = sandbox
            .start_store(&sandbox.path("data"), RelayMode::On)
            .await;
        (store.client.clone(), (store, sandbox))
    });
}

/// Every event of the feed from the start, as a JetStream consumer sees it, until `expected`
/// have arrived and then a quiet second has passed (so extra copies would be seen too).
async fn consume_feed(nats: async_nats::Client, expected: usize) -> Vec<RecordedEvent> {
    let js = jetstream::new(nats);
    let started = Instant::now();
    let stream = loop {
        match js.get_stream(subjects::EVENTS_STREAM).await {
            Ok(stream) => break stream,
            Err(e) => {
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "no event stream: {e}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let consumer = stream
        .create_consumer(pull::Config {
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .expect("creating a consumer");
    let mut messages = consumer.messages().await.expect("pulling messages");
    let mut received = Vec::new();
    loop {
        let wait = if received.len() >= expected {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(30)
        };
        match tokio::time::timeout(wait, messages.next()).await {
            Ok(Some(message)) => {
                let message = message.expect("a message");
                received.push(wire::decode_feed(&message.payload).unwrap());
                message.ack().await.expect("acking");
            }
            Ok(None) => break,
            Err(_) => break,
        }
    }
    received
}

fn assert_each_position_once(events: &[RecordedEvent], count: u64) {
    let mut seen = BTreeMap::new();
    for event in events {
        *seen.entry(event.position).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let missing: Vec<u64> = (0..count).filter(|p| !seen.contains_key(p)).collect();
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    assert_eq!(events.len() as u64, count);
}

async fn append_many(store: &impl EventStore, from: u128, count: u128) {
    for id in from..from + count {
        store
            .append(
                &format!("case-{}", id % 13),
                ExpectedVersion::Any,
                vec![sample_event(id, 300)],
            )
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_commit_and_publish_every_event_is_delivered_once() {
    let sandbox = Sandbox::start();
    let data = sandbox.path("data");
    let client = sandbox.store_client().await;

    // With the relay off the process commits but never publishes, then dies hard.
    let mut store = sandbox
        .spawn_store_process(Path::new(STORE_BIN), &data, "off")
        .await;
    append_many(&client, 0, 300).await;
    store.kill();

    let _store = sandbox
        .spawn_store_process(Path::new(STORE_BIN), &data, "on")
        .await;
    let delivered = consume_feed(sandbox.connect().await, 300).await;
    assert_each_position_once(&delivered, 300);
    for event in &delivered {
        assert_eq!(event.event_id, u128::from(event.position));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_publish_and_checkpoint_the_republished_copies_are_dropped() {
    let sandbox = Sandbox::start();
    let data = sandbox.path("data");
    let client = sandbox.store_client().await;
    let js = jetstream::new(sandbox.connect().await);

    // This process publishes but never records how far it got, then dies hard.
    let mut store = sandbox
        .spawn_store_process(Path::new(STORE_BIN), &data, "no-checkpoint")
        .await;
    append_many(&client, 0, 200).await;
    let started = Instant::now();
    loop {
        let published = match js.get_stream(subjects::EVENTS_STREAM).await {
            Ok(mut stream) => stream.info().await.map_or(0, |info| info.state.messages),
            Err(_) => 0,
        };
        if published == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{published} of 200 published"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.kill();

    // The restarted relay starts from position 0 again; JetStream drops every copy.
    let _store = sandbox
        .spawn_store_process(Path::new(STORE_BIN), &data, "on")
        .await;
    append_many(&client, 200, 50).await;
    let delivered = consume_feed(sandbox.connect().await, 250).await;
    assert_each_position_once(&delivered, 250);
    let mut stream = js.get_stream(subjects::EVENTS_STREAM).await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 250);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_kill_9_under_load() {
    let sandbox = Sandbox::start();
    let data = sandbox.path("data");
    let client = sandbox.store_client().await;
    let mut store = sandbox
        .spawn_store_process(Path::new(STORE_BIN), &data, "on")
        .await;

    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let mut writers = Vec::new();
    for writer in 0..32u128 {
        let client = client.clone();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let id = writer << 32 | i;
                match client
                    .append(
                        &format!("case-{writer}"),
                        ExpectedVersion::Any,
                        vec![sample_event(id, 300)],
                    )
                    .await
                {
                    Ok(_) => {
                        acknowledged.lock().unwrap().insert(id);
                    }
                    Err(StoreError::Unavailable(_)) => return,
                    Err(e) => panic!("unexpected error {e}"),
                }
            }
        }));
    }
    // Kill once a good number of appends is acknowledged, with many still in flight.
    let started = Instant::now();
    while acknowledged.lock().unwrap().len() < 2_000 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "appends too slow"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    store.kill();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let store = sandbox
        .spawn_store_process(Path::new(STORE_BIN), &data, "on")
        .await;
    let mut stored = HashSet::new();
    let mut from = 0;
    loop {
        let batch = client.read_all(from, 5_000).await.unwrap();
        let Some(last) = batch.last() else { break };
        assert_eq!(
            batch[0].position, from,
            "positions are dense after recovery"
        );
        from = last.position + 1;
        stored.extend(batch.iter().map(|e| e.event_id));
    }
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged appends lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );

    let mut admin = gridcase_testkit::store_admin(store.grpc_addr).await;
    let report = admin.verify(VerifyRequest {}).await.unwrap().into_inner();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.events, stored.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_errors_that_name_the_problem_and_write_nothing() {
    let sandbox = Sandbox::start();
    let store = sandbox
        .start_store(&sandbox.path("data"), RelayMode::On)
        .await;
    let nats = sandbox.connect().await;
    let client = &store.client;
    append_many(client, 0, 3).await;

    let request = |op: &str, body: Vec<u8>| {
        let nats = nats.clone();
        let subject = format!("{}.store.0.{op}", subjects::ROOT);
        async move { nats.request(subject, body.into()).await.unwrap().payload }
    };
    let garbage = request(StoreOp::Append.token(), vec![0xff; 7]).await;
    let reply: Reply<()> = wire::decode_reply(&garbage);
    assert!(
        matches!(&reply, Err(StoreError::InvalidRequest(m)) if m.contains("request body") && m.contains("append request")),
        "{reply:?}"
    );
    let unknown = request("compact", Vec::new()).await;
    let reply: Reply<()> = wire::decode_reply(&unknown);
    assert!(matches!(&reply, Err(StoreError::InvalidRequest(m)) if m.contains("\"compact\"")));

    let conflict = client
        .append(
            "case-0",
            ExpectedVersion::NoStream,
            vec![sample_event(99, 10)],
        )
        .await
        .unwrap_err();
    assert_eq!(
        conflict,
        StoreError::WrongExpectedVersion {
            stream: "case-0".into(),
            expected: ExpectedVersion::NoStream,
            current: Some(0),
        }
    );
    let bad_stream = client
        .append("case.0", ExpectedVersion::Any, vec![sample_event(98, 10)])
        .await
        .unwrap_err();
    assert!(bad_stream.to_string().contains("stream_id"), "{bad_stream}");
    assert_eq!(client.stats().await.unwrap().events, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_store_service_calls_are_unavailable() {
    let sandbox = Sandbox::start();
    let client = sandbox.store_client().await;
    let error = client
        .append("case-1", ExpectedVersion::Any, vec![sample_event(1, 10)])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Unavailable(m) if m.contains("no store answers")),
        "{error:?}"
    );
    assert_eq!(
        gridcase_grpc::store_error_code(&error),
        tonic::Code::Unavailable
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reports_stats_verifies_and_is_healthy() {
    let sandbox = Sandbox::start();
    let store = sandbox
        .start_store(&sandbox.path("data"), RelayMode::On)
        .await;
    append_many(&store.client, 0, 40).await;

    let endpoint = format!("http://{}", store.grpc_addr);
    // Without a token, or with a role other than admin or supervisor, the admin API refuses.
    let mut anonymous = StoreAdminClient::connect(endpoint.clone()).await.unwrap();
    let refused = anonymous.stats(StatsRequest {}).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    let refused = anonymous.verify(VerifyRequest {}).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    let mut admin = gridcase_testkit::store_admin(store.grpc_addr).await;
    let started = Instant::now();
    let stats = loop {
        let stats = admin.stats(StatsRequest {}).await.unwrap().into_inner();
        if stats.published_up_to == 40 || started.elapsed() > Duration::from_secs(20) {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        (stats.events, stats.streams, stats.published_up_to),
        (40, 13, 40)
    );
    assert_eq!(stats.appends, 40);
    assert!(stats.flushes >= 1 && stats.flushes <= 40);
    let report = admin.verify(VerifyRequest {}).await.unwrap().into_inner();
    assert_eq!((report.events, report.streams), (40, 13));
    assert!(report.problems.is_empty());

    let channel = tonic::transport::Channel::from_shared(endpoint)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "gridcase.store.v1.StoreAdmin".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_relay_resumes_from_its_saved_checkpoint() {
    let sandbox = Sandbox::start();
    let data = sandbox.path("data");
    let client = sandbox.store_client().await;
    let mut store = sandbox
        .spawn_store_process(Path::new(STORE_BIN), &data, "on")
        .await;
    append_many(&client, 0, 100).await;
    let mut admin = gridcase_testkit::store_admin(store.grpc_addr).await;
    let started = Instant::now();
    while admin
        .stats(StatsRequest {})
        .await
        .unwrap()
        .into_inner()
        .published_up_to
        < 100
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "relay too slow"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    store.kill();

    // Before it publishes anything, the new process already knows how far the last one got.
    let store = sandbox
        .spawn_store_process(Path::new(STORE_BIN), &data, "on")
        .await;
    let mut admin = gridcase_testkit::store_admin(store.grpc_addr).await;
    assert_eq!(
        admin
            .stats(StatsRequest {})
            .await
            .unwrap()
            .into_inner()
            .published_up_to,
        100
    );
    append_many(&client, 100, 10).await;
    let delivered = consume_feed(sandbox.connect().await, 110).await;
    assert_each_position_once(&delivered, 110);
}
