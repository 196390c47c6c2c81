//! What the tests that run `gridcase up` as a child process share.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::ChildStdout;
use std::time::Duration;

/// Reads `gridcase up`'s stdout until its banner ends (`press Ctrl-C`) and returns the banner;
/// the rest of stdout keeps being read, so the process never writes into a closed pipe.
pub(crate) fn read_banner(stdout: ChildStdout) -> String {
    let (lines, printed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut banner = String::new();
    while !banner.contains("press Ctrl-C") {
        let line = printed
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("gridcase up printed no banner ({e}): {banner}"));
        banner.push_str(&line);
        banner.push('\n');
    }
    banner
}

/// Connects to the NATS of `gridcase up` at `port` as the administrator, with the login `up`
/// generated into `data`.
pub(crate) async fn admin_nats(data: &std::path::Path, port: u16) -> async_nats::Client {
    let logins =
        gridcase_bus::Logins::load_or_create(&data.join(gridcase::system::LOGINS_FILE), Vec::new())
            .unwrap();
    let admin = logins
        .login(gridcase_bus::logins::ADMIN_USER)
        .expect("up wrote an admin login");
    gridcase_bus::connect_as(&format!("nats://127.0.0.1:{port}"), &admin)
        .await
        .unwrap()
}

/// `message` with a sample bearer token.
pub(crate) fn authorized<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// Makes the sample city's token file readable by its owner only, as the scripts do: `gridcase
/// up` and `gridcase demo` refuse a token file every user may read, and a checkout gives it
/// mode 0644.
pub(crate) fn private_sample_tokens() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = gridcase::system::sample_config_dir().join("tokens.toml");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

impl Up {
    /// Starts `command` (a `gridcase up …`), stopped however the test ends, and returns it
    /// with its banner; the rest of its stdout keeps being read.
    pub(crate) fn start(command: &mut std::process::Command) -> (Up, String) {
        let mut up = Up(command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap());
        let banner = read_banner(up.0.stdout.take().unwrap());
        (up, banner)
    }

    /// Sends `signal` (`-TERM`, `-KILL`) to process `pid`.
    pub(crate) fn signal(pid: u32, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Waits until `gridcase up` exits, at most `limit` (`why` says what it waits for).
    pub(crate) fn wait_exit(&mut self, limit: Duration, why: &str) -> std::process::ExitStatus {
        let started = std::time::Instant::now();
        loop {
            if let Some(exit) = self.0.try_wait().unwrap() {
                return exit;
            }
            assert!(started.elapsed() < limit, "{why}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Stops `gridcase up` however the test ends.
pub(crate) struct Up(pub(crate) std::process::Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
