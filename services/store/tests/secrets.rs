//! A password in the NATS URL the store is started with never reaches its output, even with
//! every log line on (`RUST_LOG=trace`, async-nats's included): when NATS cannot be reached the
//! error names the URL with the password as `***`, and logged in it prints none.

use std::process::Command;

const STORE_BIN: &str = env!("CARGO_BIN_EXE_gridcase-store");

#[test]
fn the_nats_password_is_never_printed() {
    let data = tempfile::tempdir().unwrap();
    // A port nothing listens on: the connection fails at start.
    let port = gridcase_bus::natsd::free_port().unwrap();
    let password = "s3cret-store-password-0042";
    let output = Command::new(STORE_BIN)
        .arg("--data")
        .arg(data.path().join("store"))
        .args([
            "--nats",
            &format!("nats://svc-store:{password}@127.0.0.1:{port}"),
            "--grpc",
            "127.0.0.1:0",
        ])
        .arg("--tokens")
        .arg(data.path().join("no-token-file.toml"))
        .env("GRIDCASE_TOKENS", "admin-token-for-the-test=admin:root")
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "the store cannot start without NATS"
    );
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !printed.contains(password),
        "the password was printed: {printed}"
    );
    assert!(
        printed.contains(&format!("nats://svc-store:***@127.0.0.1:{port}")),
        "the error names the URL without its password: {printed}"
    );
}

#[test]
fn a_store_logged_in_at_trace_level_prints_no_password() {
    let dir = tempfile::tempdir().unwrap();
    let password = "s3cret-store-password-0043";
    let block = gridcase_bus::authorization::authorization(&[], |user| {
        if user == "svc-store" {
            format!("\"{password}\"")
        } else {
            "\"another-password-nobody-uses\"".to_owned()
        }
    });
    let server = gridcase_bus::NatsServer::start_with(&dir.path().join("nats"), 0, &block)
        .unwrap_or_else(|e| panic!("the test needs a real nats-server: {e}"));
    let mut store = Command::new(STORE_BIN)
        .arg("--data")
        .arg(dir.path().join("store"))
        .args([
            "--nats",
            &format!("nats://svc-store:{password}@{}", server.addr()),
            "--grpc",
            "127.0.0.1:0",
        ])
        .arg("--tokens")
        .arg(dir.path().join("no-token-file.toml"))
        .env("GRIDCASE_TOKENS", "admin-token-for-the-test=admin:root")
        .env("RUST_LOG", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Long enough to log in, open the store and serve a while.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let still_running = store.try_wait().unwrap().is_none();
    let _ = store.kill();
    let output = store.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        still_running,
        "the store logged in and kept running: {printed}"
    );
    assert!(printed.contains("store opened"), "{printed}");
    assert!(!printed.contains(password), "the password was printed");
}
