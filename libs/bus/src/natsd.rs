//! Launches a real `nats-server` (the Debian package, 2.9.x) as a child process with JetStream
//! and a data directory of its own. Used by `gridcase up`, the benchmarks and the test sandbox.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to install the server when it is missing; said in every "not found" error.
pub const INSTALL_HINT: &str =
    "install it with `sudo apt-get update && sudo apt-get install -y nats-server` (Debian/Ubuntu, 2.9.x), or point GRIDCASE_NATS_SERVER at the binary";

/// Why a nats-server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum NatsServerError {
    /// No binary found.
    #[error("nats-server not found (looked for {0}): {INSTALL_HINT}")]
    NotFound(String),
    /// The data directory or config could not be written.
    #[error("preparing {path}: {source}")]
    Prepare {
        /// What was being written.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The process did not start or did not begin listening.
    #[error("nats-server did not come up: {0}")]
    Start(String),
}

/// A running nats-server; killed when dropped.
#[derive(Debug)]
pub struct NatsServer {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

fn binary() -> Result<PathBuf, NatsServerError> {
    find_binary(
        std::env::var_os("GRIDCASE_NATS_SERVER"),
        &std::env::var_os("PATH").unwrap_or_default(),
        &["/usr/sbin", "/usr/bin", "/usr/local/bin"],
    )
}

/// The explicit binary if one is named, else the first `nats-server` on the search path or in
/// the usual system folders.
fn find_binary(
    explicit: Option<std::ffi::OsString>,
    search_path: &std::ffi::OsStr,
    system_dirs: &[&str],
) -> Result<PathBuf, NatsServerError> {
    if let Some(path) = explicit {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(NatsServerError::NotFound(path.display().to_string()))
        };
    }
    std::env::split_paths(search_path)
        .chain(system_dirs.iter().map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| NatsServerError::NotFound("nats-server on PATH".into()))
}

/// The client port in a nats-server ports file (`{"nats":["nats://127.0.0.1:4222"],…}`).
fn read_client_port(path: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(path).ok()?;
    let after = &text[text.find("\"nats\"")?..];
    let url = &after[after.find("nats://")? + "nats://".len()..];
    let end = url.find('"')?;
    url[..end].rsplit(':').next()?.parse().ok()
}

/// A port nothing listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl NatsServer {
    /// Starts nats-server on 127.0.0.1:`port` (0 = any free port) with JetStream storing under
    /// `dir`, and waits until it accepts connections.
    pub fn start(dir: &Path, port: u16) -> Result<Self, NatsServerError> {
        Self::start_with(dir, port, "")
    }

    /// [`NatsServer::start`] with `extra` appended to the server's configuration, e.g. an
    /// `authorization { … }` block.
    pub fn start_with(dir: &Path, port: u16, extra: &str) -> Result<Self, NatsServerError> {
        let binary = binary()?;
        let prepare = |path: &Path, source| NatsServerError::Prepare {
            path: path.to_owned(),
            source,
        };
        let jetstream_dir = dir.join("jetstream");
        std::fs::create_dir_all(&jetstream_dir).map_err(|e| prepare(&jetstream_dir, e))?;
        // Port 0 lets the server pick one (-1 in its config) and report it in a ports file:
        // no window in which another process could take a port we picked for it.
        let listen_port = if port == 0 {
            "-1".to_owned()
        } else {
            port.to_string()
        };
        let config_path = dir.join("nats-server.conf");
        let config = format!(
            "# written by gridcase\nlisten: 127.0.0.1:{listen_port}\nports_file_dir: \"{}\"\nmax_payload: 8MB\nmax_pending: 256MB\nwrite_deadline: \"10s\"\njetstream {{\n  store_dir: \"{}\"\n  max_memory_store: 256MB\n  max_file_store: 20GB\n}}\n",
            dir.display(),
            jetstream_dir.display()
        ) + extra;
        // The configuration may hold passwords: readable by its owner only.
        crate::logins::write_private(&config_path, config.as_bytes())
            .map_err(|e| prepare(&config_path, e))?;
        let log_path = dir.join("nats-server.log");
        let log = std::fs::File::create(&log_path).map_err(|e| prepare(&log_path, e))?;
        let mut command = Command::new(&binary);
        // Its own process group: a Ctrl-C in the terminal reaches gridcase, which stops the
        // services first and the server last, not the server under the services' feet.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| prepare(&log_path, e))?)
            .stderr(log)
            .spawn()
            .map_err(|e| NatsServerError::Start(format!("spawning {}: {e}", binary.display())))?;
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir: dir.to_owned(),
        };
        server.wait_ready(Duration::from_secs(15))?;
        Ok(server)
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), NatsServerError> {
        let started = Instant::now();
        let ports_file = self
            .dir
            .join(format!("{}_{}.ports", self.binary_name(), self.child.id()));
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(NatsServerError::Start(format!(
                    "exited with {status}; its log: {}",
                    self.log_tail()
                )));
            }
            if self.addr.port() == 0 {
                if let Some(port) = read_client_port(&ports_file) {
                    self.addr.set_port(port);
                }
            }
            if self.addr.port() != 0
                && TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok()
            {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(NatsServerError::Start(format!(
                    "not listening on {} after {limit:?}; its log: {}",
                    self.addr,
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn binary_name(&self) -> String {
        binary()
            .ok()
            .and_then(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "nats-server".to_owned())
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("nats-server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// The client URL, `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server (SIGKILL) and waits for it to exit.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_server_is_an_error_that_says_how_to_install_it() {
        let empty = std::ffi::OsString::new();
        let error = find_binary(None, &empty, &[]).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("apt-get install -y nats-server"),
            "{message}"
        );
        let error = find_binary(Some("/nonexistent/nats-server".into()), &empty, &[]).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/nats-server"));
    }

    #[test]
    fn the_client_port_is_read_from_the_ports_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nats-server_1.ports");
        std::fs::write(
            &path,
            r#"{"nats":["nats://127.0.0.1:45123"],"monitoring":["http://127.0.0.1:8222"]}"#,
        )
        .unwrap();
        assert_eq!(read_client_port(&path), Some(45123));
        assert_eq!(read_client_port(&dir.path().join("missing")), None);
    }
}
