//! The store's disk fills up: appends are refused with an error that says so, nothing
//! acknowledged is lost and nothing is corrupted, and writes resume by themselves once space
//! is freed, with a retried append stored once. The store's data lives on a small tmpfs
//! mounted for the test, most of it taken by a filler file that is removed to free space.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gridcase_eventstore::conformance::sample_event;
use gridcase_eventstore::{EventStore, ExpectedVersion, SledStore, StoreError};
use gridcase_proto::store::v1::StatsRequest;
use gridcase_store_node::RelayMode;
use gridcase_testkit::Sandbox;

/// A tmpfs mounted for the test, unmounted however it ends.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path, megabytes: u32) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(at)
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "this test fills a small tmpfs it mounts at {}: it must run as root (as CI and \
             deploy/scripts/test.sh do) with mount(8) available",
            at.display()
        );
        Self(at.to_owned())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_clearly_loses_nothing_and_writes_resume_when_space_returns() {
    let sandbox = Sandbox::start();
    let disk = SmallDisk::mount(&sandbox.path("disk"), 24);
    let filler = disk.0.join("filler");
    std::fs::write(&filler, vec![0x5a; 16 << 20]).unwrap();
    let data = disk.0.join("store");
    let store = sandbox.start_store(&data, RelayMode::On).await;
    let client = store.client.clone();

    // Residents' reports of about 4 KiB each, one case in every ten events, until the disk
    // refuses one.
    let mut acknowledged: Vec<(u128, u64)> = Vec::new();
    let mut id = 0u128;
    let refused = loop {
        id += 1;
        assert!(id < 20_000, "the disk never filled");
        let stream = format!("case-{}", id / 10);
        match client
            .append(&stream, ExpectedVersion::Any, vec![sample_event(id, 4_000)])
            .await
        {
            Ok(result) => acknowledged.push((id, result.first_position)),
            Err(error) => break error,
        }
    };
    let first_refused = id;
    assert!(
        acknowledged.len() > 100,
        "{} appends fitted",
        acknowledged.len()
    );
    assert!(
        matches!(&refused, StoreError::Unavailable(why) if why.contains("the disk is full")),
        "{refused}"
    );
    // While it is full, every append is refused with the reason, and the admin API says the
    // store is unavailable.
    let mut admin = gridcase_testkit::store_admin(store.grpc_addr).await;
    let started = Instant::now();
    loop {
        let again = client
            .append(
                "case-late",
                ExpectedVersion::Any,
                vec![sample_event(1 << 64, 100)],
            )
            .await
            .unwrap_err();
        assert!(again.to_string().contains("disk is full"), "{again}");
        let stats = admin.stats(StatsRequest {}).await;
        if stats
            .as_ref()
            .is_err_and(|s| s.code() == tonic::Code::Unavailable)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the store still serves stats with a full disk: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Space returns: the client retries the refused append with the same event id until the
    // store, reopened by itself, takes it.
    std::fs::remove_file(&filler).unwrap();
    let started = Instant::now();
    let retried = loop {
        match client
            .append(
                &format!("case-{}", first_refused / 10),
                ExpectedVersion::Any,
                vec![sample_event(first_refused, 4_000)],
            )
            .await
        {
            Ok(result) => break result,
            Err(e) => assert!(
                started.elapsed() < Duration::from_secs(30),
                "writes did not resume after space returned: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let next = client
        .append(
            "case-after",
            ExpectedVersion::NoStream,
            vec![sample_event(1 << 65, 200)],
        )
        .await
        .unwrap();
    assert!(next.first_position > retried.last_position);
    store.stop().await;

    // Nothing acknowledged is lost, nothing is stored twice, and the whole log reads back.
    let reopened = SledStore::open_path(&data).unwrap();
    let report = reopened.verify(|_, _| {}).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    let log = reopened.read_all(0, 100_000).await.unwrap();
    for (id, position) in &acknowledged {
        assert_eq!(
            log.get(*position as usize).map(|e| e.event_id),
            Some(*id),
            "acknowledged event {id} at position {position}"
        );
    }
    let mut seen = HashSet::new();
    for event in &log {
        assert!(
            seen.insert(event.event_id),
            "event {:x} stored twice",
            event.event_id
        );
    }
    assert!(seen.contains(&first_refused) && seen.contains(&(1 << 65)));
    drop(disk);
}
