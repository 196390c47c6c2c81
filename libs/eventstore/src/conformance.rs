//! The one test suite every [`EventStore`] implementation must pass.
//!
//! Use [`conformance_tests!`](crate::conformance_tests) with an expression that builds a fresh,
//! empty store and a guard that keeps what it needs alive (a temp dir, a NATS sandbox):
//!
//! ```text
//! gridcase_eventstore::conformance_tests!(async {
//!     let dir = tempfile::tempdir().unwrap();
//!     (SledStore::open_path(dir.path()).unwrap(), dir)
//! });
//! ```

use std::collections::HashSet;
use std::time::Duration;

use crate::{EventStore, ExpectedVersion, Metadata, NewEvent, StoreError, MAX_PAYLOAD_BYTES};

/// Generates one `#[tokio::test]` per conformance check, each on a fresh store.
#[macro_export]
macro_rules! conformance_tests {
    ($fixture:expr) => {
        $crate::conformance_tests!(@each $fixture;
            append_then_read_stream_and_all,
            expected_version_is_enforced,
            refused_appends_write_nothing,
            reappending_stored_ids_is_idempotent,
            read_all_pages_in_batches,
            read_stream_pages_by_version,
            read_stream_part_says_where_the_stream_ends,
            racing_writers_on_one_stream_never_both_win,
            concurrent_writers_get_dense_unique_positions,
            catch_up_subscription_has_no_gap_or_duplicate,
            envelope_is_preserved
        );
    };
    (@each $fixture:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (store, _guard) = $fixture.await;
                $crate::conformance::$check(store).await;
            }
        )*
    };
}

/// An event with a payload of `size` bytes.
pub fn sample_event(event_id: u128, size: usize) -> NewEvent {
    NewEvent {
        event_id,
        event_type: "CaseReported".into(),
        schema_version: 1,
        metadata: Metadata::default(),
        payload: vec![(event_id % 251) as u8; size],
    }
}

fn events(ids: std::ops::Range<u128>) -> Vec<NewEvent> {
    ids.map(|id| sample_event(id, 32)).collect()
}

/// Appended events come back, in order, from the stream and from the global log.
pub async fn append_then_read_stream_and_all<S: EventStore>(store: S) {
    let appended = store
        .append("case-1", ExpectedVersion::NoStream, events(1..4))
        .await
        .unwrap();
    assert_eq!((appended.first_position, appended.last_position), (0, 2));
    assert_eq!(appended.stream_version, 2);
    assert!(!appended.duplicate);
    let other = store
        .append("case-2", ExpectedVersion::NoStream, events(4..5))
        .await
        .unwrap();
    assert_eq!((other.first_position, other.stream_version), (3, 0));

    let stream = store.read_stream("case-1", 0, 100).await.unwrap();
    let ids: Vec<u128> = stream.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, vec![1, 2, 3]);
    let versions: Vec<u64> = stream.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, vec![0, 1, 2]);
    let all = store.read_all(0, 100).await.unwrap();
    let positions: Vec<u64> = all.iter().map(|e| e.position).collect();
    assert_eq!(positions, vec![0, 1, 2, 3]);
    assert_eq!(all[3].stream_id, "case-2");
    assert_eq!(store.stream_version("case-1").await.unwrap(), Some(2));
    assert_eq!(store.stream_version("case-9").await.unwrap(), None);
    assert!(store.read_stream("case-9", 0, 10).await.unwrap().is_empty());
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.events, stats.streams), (4, 2));
    // A remote store's head arrives by announcement: give it a moment.
    let mut head = store.watch_head();
    tokio::time::timeout(Duration::from_secs(10), head.wait_for(|head| *head == 4))
        .await
        .expect("the head watch reaches 4")
        .unwrap();
}

/// No-stream, exact and any expectations; a conflict names the current version.
pub async fn expected_version_is_enforced<S: EventStore>(store: S) {
    let conflict = store
        .append("case-1", ExpectedVersion::Exact(0), events(1..2))
        .await
        .unwrap_err();
    assert_eq!(
        conflict,
        StoreError::WrongExpectedVersion {
            stream: "case-1".into(),
            expected: ExpectedVersion::Exact(0),
            current: None
        }
    );
    store
        .append("case-1", ExpectedVersion::NoStream, events(1..2))
        .await
        .unwrap();
    let conflict = store
        .append("case-1", ExpectedVersion::NoStream, events(2..3))
        .await
        .unwrap_err();
    assert!(matches!(
        conflict,
        StoreError::WrongExpectedVersion {
            current: Some(0),
            ..
        }
    ));
    let conflict = store
        .append("case-1", ExpectedVersion::Exact(5), events(2..3))
        .await
        .unwrap_err();
    assert!(
        conflict.to_string().contains("expected 5, current 0"),
        "{conflict}"
    );
    let ok = store
        .append("case-1", ExpectedVersion::Exact(0), events(2..4))
        .await
        .unwrap();
    assert_eq!(ok.stream_version, 2);
    let any = store
        .append("case-1", ExpectedVersion::Any, events(4..5))
        .await
        .unwrap();
    assert_eq!(any.stream_version, 3);
    let fresh = store
        .append("case-2", ExpectedVersion::Any, events(5..6))
        .await
        .unwrap();
    assert_eq!(fresh.stream_version, 0);
}

/// Conflicts and invalid requests leave the store exactly as it was.
pub async fn refused_appends_write_nothing<S: EventStore>(store: S) {
    store
        .append("case-1", ExpectedVersion::NoStream, events(1..3))
        .await
        .unwrap();
    let before = store.read_all(0, 100).await.unwrap();

    let cases: Vec<(&str, Vec<NewEvent>, &str)> = vec![
        ("case-1", vec![], "events"),
        ("", events(10..11), "stream_id"),
        ("case.1", events(10..11), "stream_id"),
        ("case 1", events(10..11), "stream_id"),
        (
            "case-2",
            vec![sample_event(10, 1), sample_event(10, 1)],
            "event_id",
        ),
        (
            "case-2",
            vec![sample_event(10, MAX_PAYLOAD_BYTES + 1)],
            "payload",
        ),
        (
            "case-2",
            vec![NewEvent {
                event_type: String::new(),
                ..sample_event(10, 1)
            }],
            "event_type",
        ),
    ];
    for (stream, batch, field) in cases {
        let error = store
            .append(stream, ExpectedVersion::Any, batch)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, StoreError::InvalidRequest(m) if m.contains(field)),
            "append to {stream:?} should be refused naming {field}, got {error:?}"
        );
    }
    // A conflicting multi-event append writes none of its events.
    let conflict = store
        .append("case-1", ExpectedVersion::Exact(0), events(20..25))
        .await;
    assert!(matches!(
        conflict,
        Err(StoreError::WrongExpectedVersion { .. })
    ));
    assert_eq!(store.read_all(0, 100).await.unwrap(), before);
    assert_eq!(store.stats().await.unwrap().events, 2);
    assert_eq!(store.stream_version("case-2").await.unwrap(), None);
}

/// Retrying an append whose ids are stored returns the first positions and writes nothing.
pub async fn reappending_stored_ids_is_idempotent<S: EventStore>(store: S) {
    let first = store
        .append("case-1", ExpectedVersion::NoStream, events(1..4))
        .await
        .unwrap();
    store
        .append("case-1", ExpectedVersion::Exact(2), events(4..5))
        .await
        .unwrap();
    // The retry carries the expectation of the original append, now stale: it still succeeds.
    let retry = store
        .append("case-1", ExpectedVersion::NoStream, events(1..4))
        .await
        .unwrap();
    assert!(retry.duplicate);
    assert_eq!(
        (
            retry.first_position,
            retry.last_position,
            retry.stream_version
        ),
        (
            first.first_position,
            first.last_position,
            first.stream_version
        )
    );
    assert_eq!(store.stats().await.unwrap().events, 4);
    // Some stored and some new ids is a client error, not a silent half-write.
    let partial = store
        .append("case-1", ExpectedVersion::Any, events(3..6))
        .await
        .unwrap_err();
    assert_eq!(partial, StoreError::PartialDuplicate { event_id: 3 });
    assert_eq!(store.stats().await.unwrap().events, 4);
    // The same id on another stream is the same event: still a duplicate, not a second copy.
    let elsewhere = store
        .append("case-2", ExpectedVersion::Any, events(4..5))
        .await
        .unwrap();
    assert!(elsewhere.duplicate);
    assert_eq!(elsewhere.first_position, 3);
    assert_eq!(store.stream_version("case-2").await.unwrap(), None);
}

/// Reading the log from a position pages through it without overlap.
pub async fn read_all_pages_in_batches<S: EventStore>(store: S) {
    for i in 0..25u128 {
        store
            .append(
                &format!("case-{}", i % 4),
                ExpectedVersion::Any,
                events(i..i + 1),
            )
            .await
            .unwrap();
    }
    let mut from = 0;
    let mut sizes = Vec::new();
    loop {
        let batch = store.read_all(from, 10).await.unwrap();
        if batch.is_empty() {
            break;
        }
        assert_eq!(batch[0].position, from);
        sizes.push(batch.len());
        from = batch.last().unwrap().position + 1;
    }
    assert_eq!(sizes, vec![10, 10, 5]);
    assert!(store.read_all(1_000, 10).await.unwrap().is_empty());
    assert!(store.read_all(0, 0).await.unwrap().is_empty());
}

/// Reading a stream from a version returns that version on.
pub async fn read_stream_pages_by_version<S: EventStore>(store: S) {
    store
        .append("case-1", ExpectedVersion::NoStream, events(1..11))
        .await
        .unwrap();
    store
        .append("case-10", ExpectedVersion::NoStream, events(11..12))
        .await
        .unwrap();
    let page = store.read_stream("case-1", 4, 3).await.unwrap();
    let versions: Vec<u64> = page.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, vec![4, 5, 6]);
    let tail = store.read_stream("case-1", 8, 100).await.unwrap();
    assert_eq!(tail.len(), 2);
    assert!(tail.iter().all(|e| e.stream_id == "case-1"));
    assert!(store
        .read_stream("case-1", 10, 100)
        .await
        .unwrap()
        .is_empty());
}

/// A part of a stream says whether it reaches the end: never "at the end" while events
/// follow, always once the last one is read.
pub async fn read_stream_part_says_where_the_stream_ends<S: EventStore>(store: S) {
    store
        .append("case-1", ExpectedVersion::NoStream, events(1..11))
        .await
        .unwrap();
    store
        .append("case-10", ExpectedVersion::NoStream, events(11..12))
        .await
        .unwrap();
    let first = store.read_stream_part("case-1", 0, 4).await.unwrap();
    assert_eq!(first.events.len(), 4);
    assert!(!first.at_end, "six events follow");
    let rest = store.read_stream_part("case-1", 4, 100).await.unwrap();
    let versions: Vec<u64> = rest.events.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, vec![4, 5, 6, 7, 8, 9]);
    assert!(rest.at_end);
    let past = store.read_stream_part("case-1", 10, 100).await.unwrap();
    assert!(past.events.is_empty() && past.at_end);
    let unknown = store.read_stream_part("case-2", 0, 100).await.unwrap();
    assert!(unknown.events.is_empty() && unknown.at_end);
}

/// Replicas deciding on the same version: exactly one append per version wins.
pub async fn racing_writers_on_one_stream_never_both_win<S: EventStore>(store: S) {
    store
        .append("case-1", ExpectedVersion::NoStream, events(0..1))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for writer in 0..8u128 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut wins = 0;
            for round in 0..10u128 {
                let current = store.stream_version("case-1").await.unwrap();
                let id = 1_000 + writer * 100 + round;
                match store
                    .append(
                        "case-1",
                        ExpectedVersion::from_current(current),
                        events(id..id + 1),
                    )
                    .await
                {
                    Ok(won) => {
                        // A win lands exactly on the version it was decided on.
                        assert_eq!(won.stream_version, current.map_or(0, |v| v + 1));
                        wins += 1;
                    }
                    Err(StoreError::WrongExpectedVersion { .. }) => {}
                    Err(other) => panic!("unexpected error {other}"),
                }
            }
            wins
        }));
    }
    let mut wins = 0;
    for task in tasks {
        wins += task.await.unwrap();
    }
    let stream = store.read_stream("case-1", 0, 1_000).await.unwrap();
    assert_eq!(stream.len(), 1 + wins);
    for (i, event) in stream.iter().enumerate() {
        assert_eq!(event.stream_version, i as u64);
    }
}

/// Many writers on many streams: every append lands once, positions dense and unique.
pub async fn concurrent_writers_get_dense_unique_positions<S: EventStore>(store: S) {
    let mut tasks = Vec::new();
    for writer in 0..16u128 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut positions = Vec::new();
            for i in 0..25u128 {
                let id = writer * 1_000 + 2 * i;
                let result = store
                    .append(
                        &format!("case-{writer}"),
                        ExpectedVersion::Any,
                        events(id..id + 2),
                    )
                    .await
                    .unwrap();
                positions.push(result.first_position);
                positions.push(result.last_position);
            }
            positions
        }));
    }
    let mut seen = HashSet::new();
    for task in tasks {
        for position in task.await.unwrap() {
            assert!(
                seen.insert(position),
                "position {position} handed out twice"
            );
        }
    }
    assert_eq!(seen.len(), 16 * 25 * 2);
    assert_eq!(seen.iter().max(), Some(&(16 * 25 * 2 - 1)));
    let all = store.read_all(0, 10_000).await.unwrap();
    assert_eq!(all.len(), 800);
    for writer in 0..16 {
        let stream = store
            .read_stream(&format!("case-{writer}"), 0, 1_000)
            .await
            .unwrap();
        assert_eq!(stream.len(), 50);
        assert!(stream.windows(2).all(|w| w[0].position < w[1].position));
    }
}

/// History from a checkpoint, then live events as they commit, none missed or repeated.
pub async fn catch_up_subscription_has_no_gap_or_duplicate<S: EventStore>(store: S) {
    // A subscription on an empty store waits for the first event.
    let mut early = store.subscribe_all(0);
    let waited = tokio::time::timeout(Duration::from_millis(50), early.next()).await;
    assert!(waited.is_err(), "nothing is stored yet");

    for i in 0..5u128 {
        store
            .append("case-1", ExpectedVersion::Any, events(i..i + 1))
            .await
            .unwrap();
    }
    let mut subscription = store.subscribe_all(2).with_batch_size(2);
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 5..200u128 {
                store
                    .append(
                        &format!("case-{}", i % 7),
                        ExpectedVersion::Any,
                        events(i..i + 1),
                    )
                    .await
                    .unwrap();
                if i % 50 == 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        })
    };
    let mut next_position = 2;
    while next_position < 200 {
        let event = tokio::time::timeout(Duration::from_secs(10), subscription.next())
            .await
            .expect("a live event arrives")
            .unwrap();
        assert_eq!(event.position, next_position);
        assert_eq!(event.event_id, u128::from(next_position as u32));
        next_position += 1;
    }
    writer.await.unwrap();
    assert_eq!(subscription.position(), 200);
    let first = tokio::time::timeout(Duration::from_secs(10), early.next())
        .await
        .expect("the early subscription wakes up")
        .unwrap();
    assert_eq!(first.position, 0);
}

/// Everything in the envelope comes back as written, and the store sets the time.
pub async fn envelope_is_preserved<S: EventStore>(store: S) {
    let written = NewEvent {
        event_id: u128::MAX - 1,
        event_type: "DispatchAccepted".into(),
        schema_version: 3,
        metadata: Metadata {
            correlation_id: Some(11),
            causation_id: Some(12),
            actor: Some("department:urban_mgmt".into()),
        },
        payload: (0..=255u8).collect(),
    };
    let before_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    store
        .append("case-1", ExpectedVersion::NoStream, vec![written.clone()])
        .await
        .unwrap();
    let read = store.read_stream("case-1", 0, 1).await.unwrap().remove(0);
    assert_eq!(read.event_id, written.event_id);
    assert_eq!(read.event_type, written.event_type);
    assert_eq!(read.schema_version, 3);
    assert_eq!(read.metadata, written.metadata);
    assert_eq!(read.payload, written.payload);
    assert_eq!(read.stream_id, "case-1");
    assert!(
        read.recorded_at_ms >= before_ms - 1_000,
        "recorded_at is the store's clock"
    );
}
