//! A stage service's view of the event feed: a durable consumer gets every committed event of
//! its stage, and one that was offline gets what it missed, without what it had acknowledged.
//! Events it had received but not acknowledged come again once the ack wait runs out.

use std::time::Duration;

use gridcase_bus::feed::FeedSharing;
use gridcase_bus::{subjects, FeedConsumer};
use gridcase_eventstore::conformance::sample_event;
use gridcase_eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent};
use gridcase_store_node::RelayMode;
use gridcase_testkit::Sandbox;

fn typed(event_id: u128, event_type: &str) -> NewEvent {
    NewEvent {
        event_type: event_type.to_owned(),
        metadata: Metadata::default(),
        ..sample_event(event_id, 40)
    }
}

async fn take(consumer: &mut FeedConsumer, count: usize) -> Vec<u128> {
    let mut ids = Vec::new();
    while ids.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(20), consumer.next())
            .await
            .expect("an event arrives")
            .expect("the feed is open")
            .expect("a decodable event");
        ids.push(message.event.event_id);
        message.ack().await.unwrap();
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_consumer_that_was_offline_gets_what_it_missed() {
    let sandbox = Sandbox::start();
    let store = sandbox
        .start_store(&sandbox.path("store"), RelayMode::On)
        .await;
    let client = &store.client;
    // Reports land under the intake stage, acceptances under dispatch.
    for id in 0..5u128 {
        client
            .append(
                &format!("case-{id}"),
                ExpectedVersion::NoStream,
                vec![typed(id, "CaseReported")],
            )
            .await
            .unwrap();
        client
            .append(
                &format!("case-{id}"),
                ExpectedVersion::Exact(0),
                vec![typed(100 + id, "DispatchAccepted")],
            )
            .await
            .unwrap();
    }
    let intake_only = format!("{}.events.intake.>", subjects::ROOT);
    let ack_wait = Duration::from_secs(2);
    let mut consumer = FeedConsumer::durable_with_ack_wait(
        sandbox.connect().await,
        "triage",
        &intake_only,
        ack_wait,
    )
    .await
    .unwrap();
    assert_eq!(take(&mut consumer, 3).await, vec![0, 1, 2]);
    consumer.close().await.unwrap();

    // While the consumer is away, more cases are reported.
    for id in 5..8u128 {
        client
            .append(
                &format!("case-{id}"),
                ExpectedVersion::NoStream,
                vec![typed(id, "CaseReported")],
            )
            .await
            .unwrap();
    }
    let mut back = FeedConsumer::durable_with_ack_wait(
        sandbox.connect().await,
        "triage",
        &intake_only,
        ack_wait,
    )
    .await
    .unwrap();
    // 3 and 4 may have been fetched by the first consumer before it went away: they come again
    // after the ack wait, possibly after the newer ones.
    let mut missed = take(&mut back, 5).await;
    missed.sort_unstable();
    assert_eq!(missed, vec![3, 4, 5, 6, 7]);
    let nothing_more = tokio::time::timeout(ack_wait * 2, back.next()).await;
    assert!(nothing_more.is_err(), "only intake events, each once");
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_message_is_reported_once_and_not_redelivered() {
    let sandbox = Sandbox::start();
    let store = sandbox
        .start_store(&sandbox.path("store"), RelayMode::On)
        .await;
    let ack_wait = Duration::from_secs(1);
    let filter = format!("{}.events.intake.>", subjects::ROOT);
    let mut consumer =
        FeedConsumer::durable_with_ack_wait(sandbox.connect().await, "reader", &filter, ack_wait)
            .await
            .unwrap();
    // Something other than the store publishes bytes that are not a stored record.
    let js = async_nats::jetstream::new(sandbox.connect().await);
    js.publish(
        format!("{}.events.intake.bogus", subjects::ROOT),
        vec![0xff; 9].into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    store
        .client
        .append(
            "case-1",
            ExpectedVersion::NoStream,
            vec![typed(1, "CaseReported")],
        )
        .await
        .unwrap();

    let first = tokio::time::timeout(Duration::from_secs(20), consumer.next())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(first, Err(gridcase_bus::FeedError::Undecodable { .. })),
        "{first:?}"
    );
    assert_eq!(take(&mut consumer, 1).await, vec![1]);
    // Terminated, so it does not come back after the ack wait.
    let again = tokio::time::timeout(ack_wait * 3, consumer.next()).await;
    assert!(again.is_err(), "the undecodable message came back");
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handling_runs_cases_side_by_side_but_each_case_in_order() {
    let sandbox = Sandbox::start();
    let store = sandbox
        .start_store(&sandbox.path("store"), RelayMode::On)
        .await;
    let client = &store.client;
    // Four cases of five events each, appended round-robin so they interleave on the feed.
    const CASES: u128 = 4;
    const EVENTS: u64 = 5;
    for version in 0..EVENTS {
        for case in 0..CASES {
            let expected = match version {
                0 => ExpectedVersion::NoStream,
                v => ExpectedVersion::Exact(v - 1),
            };
            let id = case * 100 + u128::from(version);
            client
                .append(
                    &format!("case-{case}"),
                    expected,
                    vec![typed(id, "CaseReported")],
                )
                .await
                .unwrap();
        }
    }
    let mut consumer =
        FeedConsumer::durable(sandbox.connect().await, "ordered", subjects::EVENTS_ALL)
            .await
            .unwrap();

    // Each handler waits a little, longer for early versions, so out-of-order handling of one
    // case would show; it records when it starts and ends.
    let log = std::sync::Mutex::new(Vec::<(String, u64, &str)>::new());
    let in_hand = std::sync::atomic::AtomicUsize::new(0);
    let most_in_hand = std::sync::atomic::AtomicUsize::new(0);
    let handled = std::sync::atomic::AtomicU64::new(0);
    let total = u64::try_from(CASES).unwrap() * EVENTS;
    let run = consumer.for_each_per_stream(16, |message| {
        let (log, in_hand, most_in_hand, handled) = (&log, &in_hand, &most_in_hand, &handled);
        async move {
            use std::sync::atomic::Ordering::SeqCst;
            let event = &message.event;
            let now = in_hand.fetch_add(1, SeqCst) + 1;
            most_in_hand.fetch_max(now, SeqCst);
            log.lock()
                .unwrap()
                .push((event.stream_id.clone(), event.stream_version, "start"));
            // Work that takes longer for earlier events is the behaviour under test: a later
            // event of the same case must still wait for it.
            tokio::time::sleep(Duration::from_millis(20 * (EVENTS - event.stream_version))).await;
            log.lock()
                .unwrap()
                .push((event.stream_id.clone(), event.stream_version, "end"));
            in_hand.fetch_sub(1, SeqCst);
            message.ack().await.unwrap();
            handled.fetch_add(1, SeqCst);
        }
    });
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::pin!(run);
        loop {
            tokio::select! {
                _ = &mut run => panic!("the feed ended"),
                // Polls the condition while driving the consumer, within the timeout above.
                () = tokio::time::sleep(Duration::from_millis(20)) => {
                    if handled.load(std::sync::atomic::Ordering::SeqCst) == total {
                        return;
                    }
                }
            }
        }
    })
    .await;
    assert!(waited.is_ok(), "every event is handled");

    let log = log.into_inner().unwrap();
    for case in 0..CASES {
        let stream = format!("case-{case}");
        let steps: Vec<(u64, &str)> = log
            .iter()
            .filter(|(s, _, _)| *s == stream)
            .map(|(_, version, step)| (*version, *step))
            .collect();
        let expected: Vec<(u64, &str)> = (0..EVENTS)
            .flat_map(|version| [(version, "start"), (version, "end")])
            .collect();
        assert_eq!(steps, expected, "{stream}: one event at a time, in order");
    }
    let most = most_in_hand.load(std::sync::atomic::Ordering::SeqCst);
    assert!(most > 1, "cases are handled side by side ({most} at most)");
    assert!(
        most <= 4,
        "never two events of one case at once ({most} at most)"
    );
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushing_when_nats_is_gone_gives_up_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = gridcase_bus::NatsServer::start(dir.path(), 0).unwrap();
    let nats = gridcase_bus::connect(&server.url()).await.unwrap();
    gridcase_bus::flush(&nats).await.expect("NATS is up");
    server.stop();

    let started = std::time::Instant::now();
    let flushed = tokio::time::timeout(gridcase_bus::FLUSH_LIMIT * 5, gridcase_bus::flush(&nats))
        .await
        .expect("flush gives up");
    assert!(flushed.is_err(), "flushed to a stopped server");
    assert!(started.elapsed() < gridcase_bus::FLUSH_LIMIT * 2);
}

/// What a handler did, in the order it happened: (case, version, replica, "start" or "end").
type Steps = std::sync::Arc<std::sync::Mutex<Vec<(String, u64, char, &'static str)>>>;

/// One replica following the feed partitioned, recording its steps.
async fn replica(nats: async_nats::Client, name: char, steps: Steps) {
    let mut consumer = FeedConsumer::shared(
        nats,
        "replicated",
        subjects::EVENTS_ALL,
        Duration::from_secs(2),
        FeedSharing::Partitioned,
    )
    .await
    .unwrap();
    consumer
        .for_each_per_stream(16, |message| {
            let steps = steps.clone();
            async move {
                let event = &message.event;
                let step = |what| (event.stream_id.clone(), event.stream_version, name, what);
                steps.lock().unwrap().push(step("start"));
                tokio::time::sleep(Duration::from_millis(40 * (5 - event.stream_version))).await;
                steps.lock().unwrap().push(step("end"));
                message.ack().await.unwrap();
            }
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sharing_the_feed_by_partition_keep_each_case_in_order_even_when_one_dies() {
    let sandbox = Sandbox::start();
    let store = sandbox
        .start_store(&sandbox.path("store"), RelayMode::On)
        .await;
    const CASES: u64 = 64;
    const EVENTS: u64 = 5;
    let steps: Steps = Default::default();
    let a = tokio::spawn(replica(sandbox.connect().await, 'a', steps.clone()));
    let b = tokio::spawn(replica(sandbox.connect().await, 'b', steps.clone()));
    // Events arrive while both replicas follow the feed, each case's next event soon after
    // its last, so both replicas are offered events of one case.
    for version in 0..EVENTS {
        for case in 0..CASES {
            let expected = match version {
                0 => ExpectedVersion::NoStream,
                v => ExpectedVersion::Exact(v - 1),
            };
            let id = u128::from(case * 100 + version);
            store
                .client
                .append(
                    &format!("{case:032x}"),
                    expected,
                    vec![typed(id, "CaseReported")],
                )
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let ended = |steps: &Steps| {
        steps
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.3 == "end")
            .count()
    };
    // Replica a dies (its connection and the events in its hands with it) a third of the way.
    gridcase_testkit::wait_until(
        "a third of the events handled",
        Duration::from_secs(20),
        || async { (ended(&steps) >= (CASES * EVENTS / 3) as usize).then_some(()) },
    )
    .await;
    a.abort();
    // Aborted only at its next await: a step it is in the middle of may still be recorded.
    let _ = a.await;
    let killed_at = steps.lock().unwrap().len();
    gridcase_testkit::wait_until("every event handled", Duration::from_secs(30), || async {
        let steps = steps.lock().unwrap();
        let done: std::collections::BTreeSet<(String, u64)> = steps
            .iter()
            .filter(|s| s.3 == "end")
            .map(|s| (s.0.clone(), s.1))
            .collect();
        (done.len() == (CASES * EVENTS) as usize).then_some(())
    })
    .await;
    b.abort();

    let steps = steps.lock().unwrap().clone();
    for replica in ['a', 'b'] {
        assert!(
            steps.iter().any(|s| s.2 == replica && s.3 == "end"),
            "replica {replica} handled events"
        );
    }
    assert!(
        steps[killed_at..].iter().all(|s| s.2 == 'b'),
        "nothing is handled by the dead replica"
    );
    for case in 0..CASES {
        let stream = format!("{case:032x}");
        let mine: Vec<&(String, u64, char, &str)> =
            steps.iter().filter(|s| s.0 == stream).collect();
        // A version starts only once every earlier version has ended, whichever replica had
        // it: never two events of one case at once, never out of order.
        for (at, step) in mine.iter().enumerate().filter(|(_, s)| s.3 == "start") {
            for earlier in 0..step.1 {
                assert!(
                    mine[..at].iter().any(|s| s.1 == earlier && s.3 == "end"),
                    "case {case}: version {} started by {} before version {earlier} ended: {mine:?}",
                    step.1,
                    step.2
                );
            }
        }
    }
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_held_longer_than_the_ack_wait_is_not_delivered_again() {
    let sandbox = Sandbox::start();
    let store = sandbox
        .start_store(&sandbox.path("store"), RelayMode::On)
        .await;
    store
        .client
        .append(
            "case-slow",
            ExpectedVersion::NoStream,
            vec![typed(1, "CaseReported")],
        )
        .await
        .unwrap();
    let mut consumer = FeedConsumer::shared(
        sandbox.connect().await,
        "slow",
        subjects::EVENTS_ALL,
        Duration::from_secs(1),
        FeedSharing::Single,
    )
    .await
    .unwrap();
    let deliveries = std::sync::atomic::AtomicUsize::new(0);
    // Handled in 2.5 s against an ack wait of 1 s: only the consumer's in-progress
    // acknowledgements keep JetStream from delivering it again meanwhile.
    let run = consumer.for_each_per_stream(4, |message| {
        let deliveries = &deliveries;
        async move {
            deliveries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(2_500)).await;
            message.ack().await.unwrap();
        }
    });
    tokio::select! {
        _ = run => panic!("the feed ended"),
        () = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
    assert_eq!(deliveries.load(std::sync::atomic::Ordering::SeqCst), 1);
    store.stop().await;
}
