use super::*;
use crate::Metadata;

crate::conformance_tests!(async {
    let dir = tempfile::tempdir().unwrap();
    (SledStore::open_path(dir.path()).unwrap(), dir)
});

fn event(id: u128) -> NewEvent {
    NewEvent {
        event_id: id,
        event_type: "CaseReported".into(),
        schema_version: 1,
        metadata: Metadata::default(),
        payload: vec![7; 300],
    }
}

#[tokio::test]
async fn appends_survive_reopening_and_positions_continue() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open_path(dir.path()).unwrap();
        store
            .append(
                "case-a",
                ExpectedVersion::NoStream,
                vec![event(1), event(2)],
            )
            .await
            .unwrap();
        store
            .append("case-b", ExpectedVersion::NoStream, vec![event(3)])
            .await
            .unwrap();
    }
    let store = SledStore::open_path(dir.path()).unwrap();
    assert_eq!(store.stats().await.unwrap().events, 3);
    assert_eq!(store.stats().await.unwrap().streams, 2);
    assert_eq!(store.stream_version("case-a").await.unwrap(), Some(1));
    let appended = store
        .append("case-a", ExpectedVersion::Exact(1), vec![event(4)])
        .await
        .unwrap();
    assert_eq!((appended.first_position, appended.stream_version), (3, 2));
    // An id stored before the restart is still known after it.
    let again = store
        .append("case-b", ExpectedVersion::Any, vec![event(3)])
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.first_position, 2);
    let report = store.verify(|_, _| {}).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!((report.events, report.streams), (4, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open_path(dir.path()).unwrap();
    let mut tasks = Vec::new();
    for writer in 0..64u128 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20u128 {
                let stream = format!("case-{writer}");
                store
                    .append(
                        &stream,
                        ExpectedVersion::Any,
                        vec![event(writer * 1_000 + i)],
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.append_count(), 64 * 20);
    assert!(
        store.flush_count() < store.append_count() / 2,
        "{} flushes for {} appends: group commit is not grouping",
        store.flush_count(),
        store.append_count()
    );
    assert!(store.verify(|_, _| {}).unwrap().is_ok());
}

#[tokio::test]
async fn corrupt_record_is_an_error_naming_its_position_and_verify_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open_path(dir.path()).unwrap();
    for i in 0..5u128 {
        store
            .append("case-a", ExpectedVersion::Any, vec![event(i)])
            .await
            .unwrap();
    }
    let mut bytes = store
        .shared
        .log
        .get(event_key(3))
        .unwrap()
        .unwrap()
        .to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    store.shared.log.insert(event_key(3), bytes).unwrap();

    let error = store.read_all(0, 10).await.unwrap_err();
    assert!(
        matches!(error, StoreError::Corrupt { position: 3, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("position 3"));
    let stream_error = store.read_stream("case-a", 0, 10).await.unwrap_err();
    assert!(matches!(
        stream_error,
        StoreError::Corrupt { position: 3, .. }
    ));
    let report = store.verify(|_, _| {}).unwrap();
    assert!(!report.is_ok());
    assert!(
        report.problems[0].contains("position 3"),
        "{:?}",
        report.problems
    );
}

#[tokio::test]
async fn checkpoints_persist() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open_path(dir.path()).unwrap();
        assert_eq!(store.checkpoint("outbox").unwrap(), None);
        store.save_checkpoint("outbox", 41).await.unwrap();
    }
    let store = SledStore::open_path(dir.path()).unwrap();
    assert_eq!(store.checkpoint("outbox").unwrap(), Some(41));
}

/// A store with three streams, and the copy of its log as (position, bytes).
async fn filled(dir: &Path) -> (SledStore, Vec<(u64, Vec<u8>)>) {
    let store = SledStore::open_path(dir).unwrap();
    for (id, stream) in (10..40u128).zip(["case-a", "case-b", "case-c"].iter().cycle()) {
        store
            .append(stream, ExpectedVersion::Any, vec![event(id)])
            .await
            .unwrap();
    }
    let records = store
        .read_all_raw(0, usize::MAX, usize::MAX)
        .unwrap()
        .iter()
        .map(|r| (r.position, r.bytes().to_vec()))
        .collect();
    (store, records)
}

#[tokio::test]
async fn an_imported_log_reads_back_as_the_original_with_both_indexes() {
    let source = tempfile::tempdir().unwrap();
    let (original, records) = filled(source.path()).await;
    let target = tempfile::tempdir().unwrap();
    let config = SledStoreConfig::new(target.path().join("store"));
    let mut seen = Vec::new();
    let report = SledStore::import(&config, records.into_iter().map(Ok), |n| seen.push(n)).unwrap();
    assert_eq!((report.events, report.streams), (30, 3));
    assert_eq!(seen.last(), Some(&30));

    let restored = SledStore::open(config).unwrap();
    let verify = restored.verify(|_, _| {}).unwrap();
    assert!(verify.is_ok(), "{:?}", verify.problems);
    assert_eq!(
        restored.read_all(0, 100).await.unwrap(),
        original.read_all(0, 100).await.unwrap(),
        "every record, its position and its recording time as they were"
    );
    assert_eq!(restored.stats().await.unwrap().streams, 3);
    assert_eq!(restored.stream_version("case-b").await.unwrap(), Some(9));
    // Appends go on where the source stopped, and the imported ids are known.
    let again = restored
        .append("case-a", ExpectedVersion::Any, vec![event(10)])
        .await
        .unwrap();
    assert!(again.duplicate);
    let next = restored
        .append("case-a", ExpectedVersion::Exact(9), vec![event(99)])
        .await
        .unwrap();
    assert_eq!((next.first_position, next.stream_version), (30, 10));
}

#[tokio::test]
async fn an_import_refuses_a_gap_a_repeated_id_a_bad_record_or_a_store_in_use() {
    let source = tempfile::tempdir().unwrap();
    let (_original, records) = filled(source.path()).await;
    let import = |records: Vec<(u64, Vec<u8>)>| {
        let target = tempfile::tempdir().unwrap();
        let config = SledStoreConfig::new(target.path().join("store"));
        SledStore::import(&config, records.into_iter().map(Ok), |_| {})
            .unwrap_err()
            .to_string()
    };

    let mut gap = records.clone();
    gap.remove(5);
    assert!(import(gap).contains("position 5 was due"));

    let mut flipped = records.clone();
    let last = flipped[7].1.len() - 1;
    flipped[7].1[last] ^= 0x40;
    assert!(import(flipped).contains("position 7"));

    // The same stored event twice, under the next position: its stream version repeats.
    let mut twice = records.clone();
    twice.truncate(4);
    let copy = twice[3].1.clone();
    twice.push((4, copy));
    assert!(import(twice).contains("version 1 where 2 was due"));

    let target = tempfile::tempdir().unwrap();
    let config = SledStoreConfig::new(target.path().join("store"));
    SledStore::import(&config, records.clone().into_iter().map(Ok), |_| {}).unwrap();
    let error = SledStore::import(&config, records.into_iter().map(Ok), |_| {}).unwrap_err();
    assert!(
        error.to_string().contains("already holds events"),
        "{error}"
    );
}
