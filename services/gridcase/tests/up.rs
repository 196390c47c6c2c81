//! The README's run command end to end: `gridcase up` starts nats-server (with logins: a
//! department's login file from `gridcase nats-login` reaches its own work orders and not the
//! event feed) and the store with one data directory, serves appends, stops cleanly on SIGTERM,
//! and `gridcase verify` then finds a sound log.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::pull::Config as Pull;
use gridcase::system::Service;
use gridcase_bus::logins::DepartmentLogin;
use gridcase_bus::subjects::{DISPATCH_STREAM, EVENTS_STREAM};
use gridcase_bus::StoreClient;
use gridcase_eventstore::conformance::sample_event;
use gridcase_eventstore::{EventStore, ExpectedVersion};

const GRIDCASE: &str = env!("CARGO_BIN_EXE_gridcase");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_stops_cleanly_and_leaves_a_sound_log() {
    let data = tempfile::tempdir().unwrap();
    common::private_sample_tokens();
    let nats_port = gridcase_bus::natsd::free_port().unwrap();
    // Every gRPC service on a port of its own, so the test never meets a running system.
    let ports: Vec<(&str, u16)> = Service::GRPC
        .iter()
        .map(|service| (service.name(), gridcase_bus::natsd::free_port().unwrap()))
        .collect();
    let mut command = Command::new(GRIDCASE);
    command
        .args(["up", "--data"])
        .arg(data.path())
        .args(["--nats-port", &nats_port.to_string()])
        .args([
            "--gateway-http",
            &format!("127.0.0.1:{}", gridcase_bus::natsd::free_port().unwrap()),
        ]);
    for (name, port) in &ports {
        command
            .arg(format!("--{name}-grpc"))
            .arg(format!("127.0.0.1:{port}"));
    }
    let (mut up, banner) = common::Up::start(&mut command);
    assert!(banner.contains("gridcase is up"), "{banner}");
    assert!(
        banner.contains(&format!("nats://127.0.0.1:{nats_port}")),
        "{banner}"
    );
    for (name, port) in &ports {
        let line = format!("{name:<16}grpc://127.0.0.1:{port}");
        assert!(banner.contains(&line), "no {line:?} in {banner}");
    }

    // NATS logins are on: the banner names the file that keeps them, never a password.
    let logins_file = data.path().join(gridcase::system::LOGINS_FILE);
    assert!(
        banner.contains(&format!("nats logins     {}", logins_file.display())),
        "{banner}"
    );
    let logins = std::fs::read_to_string(&logins_file).unwrap();
    for line in logins.lines().filter(|l| !l.starts_with('#')) {
        let password = line.split_whitespace().nth(1).unwrap();
        assert!(
            !banner.contains(password),
            "a password in the banner: {banner}"
        );
    }
    assert!(
        gridcase_bus::connect(&format!("nats://127.0.0.1:{nats_port}"))
            .await
            .is_err(),
        "nats-server must refuse a client without a login"
    );

    // The admin command writes a department's login file; with it the department reads its
    // own work-order stream and consumer, and is refused the event feed and other departments.
    let written = Command::new(GRIDCASE)
        .args(["nats-login", "--department", "gas", "--data"])
        .arg(data.path())
        .args(["--nats", &format!("nats://127.0.0.1:{nats_port}")])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&written.stdout);
    assert!(written.status.success(), "{said}");
    let file = data.path().join("department-logins/dept-gas.toml");
    assert!(said.contains(&file.display().to_string()), "{said}");
    let gas = DepartmentLogin::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(!said.contains(gas.login.password()), "{said}");
    let gas_nats = gridcase_bus::connect_with(&gas.url, |o| {
        gas.apply(o).request_timeout(Some(Duration::from_secs(2)))
    })
    .await
    .unwrap();
    // Dispatch creates the stream and the departments' consumers as it starts, maybe after
    // the banner: the administrator waits until gas's and water's both exist.
    let nats = common::admin_nats(data.path(), nats_port).await;
    let admin_js = async_nats::jetstream::new(nats.clone());
    let waiting = Instant::now();
    loop {
        let exist = match admin_js.get_stream(DISPATCH_STREAM).await {
            Ok(stream) => {
                stream.get_consumer::<Pull>("dept-gas").await.is_ok()
                    && stream.get_consumer::<Pull>("dept-water").await.is_ok()
            }
            Err(_) => false,
        };
        if exist {
            break;
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "dispatch made no department consumers"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let js = async_nats::jetstream::new(gas_nats);
    let dispatch = js.get_stream(DISPATCH_STREAM).await.unwrap();
    assert!(dispatch.get_consumer::<Pull>("dept-gas").await.is_ok());
    assert!(dispatch.get_consumer::<Pull>("dept-water").await.is_err());
    assert!(js.get_stream(EVENTS_STREAM).await.is_err());

    let client = StoreClient::new(nats, "0");
    for id in 0..10 {
        client
            .append("case-1", ExpectedVersion::Any, vec![sample_event(id, 100)])
            .await
            .unwrap();
    }
    drop(client);

    common::Up::signal(up.0.id(), "-TERM");
    let exit = up.wait_exit(Duration::from_secs(30), "gridcase up did not stop");
    assert!(exit.success(), "gridcase up exited with {exit}");

    let verify = Command::new(GRIDCASE)
        .args(["verify", "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{report}");
    assert!(report.contains("10 events in 1 streams"), "{report}");
    assert!(report.contains("the log is sound"), "{report}");
}
