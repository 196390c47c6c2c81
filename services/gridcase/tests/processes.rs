//! `gridcase up --processes`: every service runs as its own OS process, a child of `up`, with
//! no password on any command line; a hotline report goes through intake, triage and dispatch
//! across the processes; a service process killed with SIGKILL stops `up` with an error naming
//! it, and no service process outlives `up`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use gridcase::system::Service;
use gridcase_proto::common::v1::Location;
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::intake::v1::{Channel, ReportCaseRequest, Reporter};
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::query::v1::GetCaseRequest;

const GRIDCASE: &str = env!("CARGO_BIN_EXE_gridcase");

/// The processes whose parent is `parent`: (pid, command line with spaces).
fn children(parent: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: the command may hold spaces, so read after its `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.push((pid, cmdline));
        }
    }
    found
}

fn is_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_runs_in_a_process_of_its_own() {
    let bin_dir = Path::new(GRIDCASE).parent().unwrap();
    for service in Service::ALL.map(Service::name) {
        let binary = bin_dir.join(format!("gridcase-{service}"));
        assert!(
            binary.is_file(),
            "{} is missing: this test needs every service binary (cargo test --workspace, or \
             cargo build --workspace --bins)",
            binary.display()
        );
    }
    let data = tempfile::tempdir().unwrap();
    common::private_sample_tokens();
    let free = || gridcase_bus::natsd::free_port().unwrap();
    let nats_port = free();
    let mut command = Command::new(GRIDCASE);
    command
        .args(["up", "--processes", "--data"])
        .arg(data.path())
        .args(["--nats-port", &nats_port.to_string()])
        .args(["--gateway-http", &format!("127.0.0.1:{}", free())]);
    let mut ports = std::collections::HashMap::new();
    for service in Service::GRPC.map(Service::name) {
        let port = free();
        ports.insert(service, port);
        command
            .arg(format!("--{service}-grpc"))
            .arg(format!("127.0.0.1:{port}"));
    }
    let (mut up, banner) = common::Up::start(&mut command);
    assert!(banner.contains("each service its own process"), "{banner}");
    let up_pid = up.0.id();

    // One process per service, each a child of `up`, none with a password on its command line.
    let running = children(up_pid);
    let logins = std::fs::read_to_string(data.path().join(gridcase::system::LOGINS_FILE)).unwrap();
    let passwords: Vec<&str> = logins
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert!(!passwords.is_empty());
    for service in Service::ALL.map(Service::name) {
        let binary = format!("gridcase-{service} ");
        let process = running
            .iter()
            .find(|(_, cmdline)| cmdline.contains(&binary))
            .unwrap_or_else(|| panic!("no gridcase-{service} process among {running:?}"));
        for password in &passwords {
            assert!(
                !process.1.contains(password),
                "a password on the command line of gridcase-{service}"
            );
        }
    }

    // A hotline report crosses the processes: intake, the store, triage, dispatch, query.
    let mut intake = IntakeClient::connect(format!("http://127.0.0.1:{}", ports["intake"]))
        .await
        .unwrap();
    let reported = intake
        .report_case(common::authorized(
            ReportCaseRequest {
                client_request_id: "processes-1".to_owned(),
                channel: Channel::Hotline as i32,
                reporter: Some(Reporter {
                    name: "何阿姨".to_owned(),
                    phone: "13588260417".to_owned(),
                }),
                location: Some(Location {
                    grid_code: "330102-001-001-001".to_owned(),
                    address: "涌金苑3幢门口".to_owned(),
                    coordinates: None,
                }),
                description: "小区门口那盏路灯坏了快一个礼拜了，晚上黑漆漆的，老人出门不安全"
                    .to_owned(),
                category_code: "BJ-01-07".to_owned(),
                media_urls: Vec::new(),
                reported_by_worker: String::new(),
                member_id: String::new(),
            },
            "dev-operator-token-op-001",
        ))
        .await
        .unwrap()
        .into_inner();
    let mut query = QueryClient::connect(format!("http://127.0.0.1:{}", ports["query"]))
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let reply = query
            .get_case(common::authorized(
                GetCaseRequest {
                    case_id: reported.case_id.clone(),
                },
                "dev-supervisor-token-sup-001",
            ))
            .await;
        let dispatched = reply.as_ref().is_ok_and(|r| {
            r.get_ref()
                .timeline
                .iter()
                .any(|e| e.event_type == "CaseDispatched")
        });
        if dispatched {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the case was not dispatched across the processes: {reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The administrator's login reads the store the store process keeps.
    let store =
        gridcase_bus::StoreClient::new(common::admin_nats(data.path(), nats_port).await, "0");
    let stats = gridcase_eventstore::EventStore::stats(&store)
        .await
        .unwrap();
    assert!(stats.events >= 3, "{stats:?}");

    // A service process dies: `up` stops the others and exits with an error naming it.
    let (query_pid, _) = running
        .iter()
        .find(|(_, cmdline)| cmdline.contains("gridcase-query "))
        .unwrap();
    common::Up::signal(*query_pid, "-KILL");
    let exit = up.wait_exit(
        Duration::from_secs(60),
        "gridcase up kept running without its query process",
    );
    assert!(!exit.success(), "up must fail when a service process dies");
    for (pid, cmdline) in &running {
        assert!(!is_alive(*pid), "{cmdline} outlived gridcase up");
    }
}
