//! `gridcase backup` and `gridcase restore`: a backup taken while residents' reports keep
//! arriving is the log exactly as it stood at one position, with every report acknowledged
//! before the backup began; it restores into a new data directory whose log `verify` passes,
//! whose projections rebuilt from position 0 equal the source's at that position, and on which
//! the system starts and takes reports again. A damaged or unfinished backup is refused before
//! anything is written.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridcase::system::{sample_config_dir, Service, System, SystemOptions};
use gridcase_auth::TokenTable;
use gridcase_domain::CaseId;
use gridcase_eventstore::{EventStore, ReadModelConfig, SledStore};
use gridcase_proto::common::v1::Location;
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::intake::v1::{Channel, ReportCaseRequest, Reporter};
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::query::v1::GetCaseRequest;
use gridcase_query::projection::Projections;

const GRIDCASE: &str = env!("CARGO_BIN_EXE_gridcase");
const OPERATOR: &str = "dev-operator-token-op-001";
const SUPERVISOR: &str = "dev-supervisor-token-sup-001";

/// What residents phone the hotline about, in their own words.
const REPORTS: &[(&str, &str, &str)] = &[
    (
        "BJ-01-07",
        "涌金苑3幢门口",
        "小区门口那盏路灯坏了快一个礼拜了，晚上黑漆漆的，老人出门不安全",
    ),
    (
        "BJ-01-07",
        "清波街17号对面",
        "路灯一闪一闪的，晚上骑电动车过去眼睛都花了，麻烦派人来看看",
    ),
    (
        "BJ-01-07",
        "劳动路菜场后门",
        "菜场后面那条小路的灯一直不亮，买菜回来摸黑走，前两天还有人摔了一跤",
    ),
];

fn report(n: usize) -> ReportCaseRequest {
    let (category, address, words) = REPORTS[n % REPORTS.len()];
    ReportCaseRequest {
        client_request_id: format!("backup-load-{n}"),
        channel: Channel::Hotline as i32,
        reporter: Some(Reporter {
            name: "何阿姨".to_owned(),
            phone: format!("1358826{:04}", n % 10_000),
        }),
        location: Some(Location {
            grid_code: "330102-001-001-001".to_owned(),
            address: address.to_owned(),
            coordinates: None,
        }),
        description: words.to_owned(),
        category_code: category.to_owned(),
        media_urls: Vec::new(),
        reported_by_worker: String::new(),
        member_id: String::new(),
    }
}

/// A report acknowledged by intake: its case and when the acknowledgement came.
struct Acknowledged {
    case: CaseId,
    at: Instant,
}

/// Reports hotline calls one after another on `lanes` connections until `stop` is set.
fn steady_load(
    endpoint: String,
    lanes: usize,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<Acknowledged>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..lanes)
        .map(|lane| {
            let endpoint = endpoint.clone();
            let stop = stop.clone();
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                let mut intake = IntakeClient::connect(endpoint).await.unwrap();
                let mut n = lane;
                while !stop.load(Ordering::Relaxed) {
                    let reply = intake
                        .report_case(common::authorized(report(n), OPERATOR))
                        .await
                        .unwrap_or_else(|e| panic!("report {n} refused: {e}"))
                        .into_inner();
                    acknowledged.lock().unwrap().push(Acknowledged {
                        case: CaseId::parse(&reply.case_id).unwrap(),
                        at: Instant::now(),
                    });
                    n += lanes;
                }
            })
        })
        .collect()
}

fn gridcase(args: &[&str], paths: &[&Path]) -> std::process::Output {
    let mut command = Command::new(GRIDCASE);
    command.args(args);
    for path in paths {
        command.arg(path);
    }
    command.env("RUST_LOG", "warn").output().unwrap()
}

fn succeeded(output: &std::process::Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Every case's view in projections folded from `store`'s log below `up_to`, by the query
/// service's own fold, as Debug text keyed by case.
async fn projections_at(
    store: &SledStore,
    up_to: u64,
    model: &Path,
    cases: &[CaseId],
) -> Vec<(CaseId, String)> {
    let reference = Arc::new(gridcase_config::ReferenceData::load(&sample_config_dir()).unwrap());
    let projections =
        Projections::open(&ReadModelConfig::new(Some(model.to_owned())), reference).unwrap();
    let mut position = 0;
    while position < up_to {
        let mut batch = store.read_all(position, 1_000).await.unwrap();
        batch.retain(|record| record.position < up_to);
        let Some(last) = batch.last() else { break };
        position = last.position + 1;
        projections.fold(0, &batch).unwrap();
    }
    assert_eq!(projections.next_position(), up_to);
    cases
        .iter()
        .map(|case| {
            let (view, _) = projections.case(*case).unwrap();
            (*case, format!("{view:?}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_restores_into_a_new_data_directory_with_the_same_projections() {
    common::private_sample_tokens();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let backup = dir.path().join("backup");
    let restored = dir.path().join("restored");
    let tokens = TokenTable::load(&sample_config_dir().join("tokens.toml")).unwrap();
    let system = System::start(SystemOptions::on_free_ports(
        source.clone(),
        sample_config_dir(),
        tokens.clone(),
    ))
    .await
    .unwrap();

    // Reports keep arriving before, during and after the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let load = steady_load(
        system.endpoint(Service::Intake),
        3,
        stop.clone(),
        acknowledged.clone(),
    );
    let wait_for_reports = |at_least: usize| {
        let acknowledged = acknowledged.clone();
        async move {
            let started = Instant::now();
            while acknowledged.lock().unwrap().len() < at_least {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "the load stalled"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for_reports(120).await;
    let backup_began = Instant::now();
    let nats = system.nats_address();
    let output = tokio::task::spawn_blocking({
        let (source, backup) = (source.clone(), backup.clone());
        move || {
            gridcase(
                &["backup", "--nats", &nats, "--data"],
                &[&source, Path::new("--to"), &backup],
            )
        }
    })
    .await
    .unwrap();
    let said = succeeded(&output, "gridcase backup");
    let during = acknowledged.lock().unwrap().len();
    wait_for_reports(during + 60).await;
    stop.store(true, Ordering::Relaxed);
    for lane in load {
        lane.await.unwrap();
    }
    system.shut_down().await.unwrap();

    let manifest = gridcase::backup::read_manifest(&backup).unwrap();
    let position = manifest.position;
    assert!(
        said.contains(&format!("up to position {position}")),
        "{said}"
    );
    // The backup's files are its owner's only: it holds residents' phones and the keys.
    #[cfg(unix)]
    for path in [backup.join("events.log"), backup.join("manifest.toml")] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", path.display());
    }
    let kept: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    assert!(
        kept.contains(&"gateway.key") && kept.contains(&"nats-logins"),
        "{kept:?}"
    );

    // Restore into a new data directory, then verify it with the command an operator runs.
    let said = succeeded(
        &gridcase(
            &["restore", "--from"],
            &[&backup, Path::new("--data"), &restored],
        ),
        "gridcase restore",
    );
    assert!(
        said.contains(&format!("restored {position} events")),
        "{said}"
    );
    let said = succeeded(
        &gridcase(&["verify", "--data"], &[&restored]),
        "gridcase verify",
    );
    assert!(said.contains("the log is sound"), "{said}");
    for file in ["gateway.key", "nats-logins"] {
        assert_eq!(
            std::fs::read(restored.join(file)).unwrap(),
            std::fs::read(source.join(file)).unwrap(),
            "{file} restored as it was"
        );
    }

    // A backup damaged since it was taken is refused before anything is written.
    let damaged = dir.path().join("damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    for entry in std::fs::read_dir(&backup).unwrap().flatten() {
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), damaged.join(entry.file_name())).unwrap();
        }
    }
    let mut log = std::fs::read(damaged.join("events.log")).unwrap();
    let middle = log.len() / 2;
    log[middle] ^= 0x01;
    std::fs::write(damaged.join("events.log"), log).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    let output = gridcase(
        &["restore", "--from"],
        &[&damaged, Path::new("--data"), &elsewhere],
    );
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && said.contains("the backup is damaged"),
        "{said}"
    );
    assert!(!elsewhere.join("store").exists());

    let source_store = SledStore::open_path(source.join("store")).unwrap();
    let restored_store = SledStore::open_path(restored.join("store")).unwrap();
    let source_head = source_store.stats().await.unwrap().events;
    assert!(
        position > 0 && source_head > position,
        "the backup was taken under load: at {position} of {source_head} events"
    );
    assert_eq!(restored_store.stats().await.unwrap().events, position);
    // The log up to the backup's position, byte for byte.
    let from_source = source_store
        .read_all_raw(0, position as usize, usize::MAX)
        .unwrap();
    let from_backup = restored_store
        .read_all_raw(0, usize::MAX, usize::MAX)
        .unwrap();
    assert_eq!(from_source.len(), from_backup.len());
    for (a, b) in from_source.iter().zip(&from_backup) {
        assert_eq!((a.position, a.bytes()), (b.position, b.bytes()));
    }

    // No acknowledged report is missing: every case acknowledged before the backup began is in
    // it, and every case in it was acknowledged (or is being acknowledged) by intake.
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    let mut before = 0;
    for report in acknowledged.iter().filter(|r| r.at < backup_began) {
        let stream = gridcase_casestore::stream_name(report.case);
        let version = restored_store.stream_version(&stream).await.unwrap();
        assert!(
            version.is_some(),
            "case {} acknowledged before the backup is lost",
            report.case
        );
        before += 1;
    }
    assert!(
        before >= 120,
        "{before} reports acknowledged before the backup"
    );

    // Projections rebuilt from the restored log equal the source's at the backup's position.
    let cases: Vec<CaseId> = acknowledged.iter().map(|r| r.case).collect();
    let rebuilt = projections_at(&restored_store, position, &dir.path().join("q1"), &cases).await;
    let at_source = projections_at(&source_store, position, &dir.path().join("q2"), &cases).await;
    assert_eq!(rebuilt.len(), at_source.len());
    let mut shown = 0;
    for ((case, a), (_, b)) in rebuilt.iter().zip(&at_source) {
        assert_eq!(a, b, "case {case}");
        shown += usize::from(a != "None");
    }
    assert!(shown >= before, "{shown} cases in the projections");
    drop((source_store, restored_store));

    // The system starts on the restored data directory, serves the restored cases and takes
    // new reports after them.
    let system = System::start(SystemOptions::on_free_ports(
        restored.clone(),
        sample_config_dir(),
        tokens,
    ))
    .await
    .unwrap();
    let mut query = QueryClient::connect(system.endpoint(Service::Query))
        .await
        .unwrap();
    let first = cases[0].to_string();
    let started = Instant::now();
    loop {
        let reply = query
            .get_case(common::authorized(
                GetCaseRequest {
                    case_id: first.clone(),
                },
                SUPERVISOR,
            ))
            .await;
        if reply.is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the restored system does not serve case {first}: {reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut intake = IntakeClient::connect(system.endpoint(Service::Intake))
        .await
        .unwrap();
    intake
        .report_case(common::authorized(report(100_000), OPERATOR))
        .await
        .unwrap();
    assert!(system.store_stats_at_start().events == position);
    system.shut_down().await.unwrap();
}

#[test]
fn a_damaged_or_unfinished_backup_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup");
    std::fs::create_dir_all(&backup).unwrap();
    let target = dir.path().join("restored");
    let output = gridcase(
        &["restore", "--from"],
        &[&backup, Path::new("--data"), &target],
    );
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("did not finish"), "{said}");
    assert!(!target.exists(), "nothing written for a refused restore");
}
