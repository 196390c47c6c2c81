//! The services as OS processes of their own (`gridcase up --processes`), as a deployment runs
//! them: each service's binary, found beside the running `gridcase`, started with what the
//! in-process services get — its own NATS login (in its environment, never on its command
//! line, where `ps` would show it), the reference data, the token file, its address and its
//! model directory — stopped with SIGTERM, and reported when it exits by itself.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::oneshot;

use crate::system::{Running, Service};

/// How long a stopping service process gets after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// How long a service process may take to listen on its address.
const START_LIMIT: Duration = Duration::from_secs(120);

/// Where the service binaries are and what they share.
#[derive(Debug, Clone)]
pub struct ProcessOptions {
    /// The directory holding `gridcase-store`, `gridcase-intake`, … (by default the one of
    /// the running `gridcase`).
    pub bin_dir: PathBuf,
    /// The bearer-token file every service reads (`GRIDCASE_TOKENS` is passed on as it is).
    pub tokens_file: PathBuf,
}

impl ProcessOptions {
    /// The binaries beside the running executable.
    pub fn beside_this_executable(tokens_file: PathBuf) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding the running executable")?;
        let bin_dir = exe
            .parent()
            .context("the running executable has no directory")?
            .to_owned();
        Ok(Self {
            bin_dir,
            tokens_file,
        })
    }

    /// The binary of `service`, which must exist.
    pub fn binary(&self, service: Service) -> anyhow::Result<PathBuf> {
        let path = self.bin_dir.join(format!("gridcase-{}", service.name()));
        anyhow::ensure!(
            path.is_file(),
            "{} not found: build every service's binary, e.g. `cargo build --release -p \
             gridcase-{}` (deploy/scripts/up.sh --processes builds them all)",
            path.display(),
            service.name()
        );
        Ok(path)
    }
}

/// What to start a service's process with.
#[derive(Debug)]
pub(crate) struct Launch {
    pub(crate) binary: PathBuf,
    pub(crate) args: Vec<OsString>,
    /// Secrets among them: passed in the environment.
    pub(crate) env: Vec<(&'static str, String)>,
}

impl Launch {
    pub(crate) fn new(binary: PathBuf) -> Self {
        Self {
            binary,
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Adds `--flag value`.
    pub(crate) fn arg(mut self, flag: &str, value: impl Into<OsString>) -> Self {
        self.args.push(flag.into());
        self.args.push(value.into());
        self
    }

    /// Adds `name=value` to the environment.
    pub(crate) fn env(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.env.push((name, value.into()));
        self
    }
}

/// Sends SIGKILL to process `pid`.
pub(crate) fn kill(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Sends SIGTERM to process `pid`.
fn terminate(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Starts `launch` as the process of `service`, logging to `log`, and waits until it listens
/// on `addr`. The returned handle stops it with SIGTERM (then SIGKILL after
/// [`STOP_GRACE`]); its task ends with an error when the process exits by itself or fails.
pub(crate) async fn start(
    service: Service,
    launch: Launch,
    addr: SocketAddr,
    log: &Path,
) -> anyhow::Result<Running> {
    let name = service.name();
    // Appended to, so a service started again keeps the log of its earlier runs.
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let mut command = tokio::process::Command::new(&launch.binary);
    command
        .args(&launch.args)
        .envs(launch.env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        // `gridcase up`'s own metrics address would clash in every child.
        .env_remove("GRIDCASE_METRICS")
        .kill_on_drop(true);
    // Its own process group: a Ctrl-C in the terminal reaches `gridcase up`, which stops the
    // services in order, not every process at once.
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", launch.binary.display()))?;
    let pid = child.id().unwrap_or_default();
    let started = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!(
                "the {name} process exited at start ({status}); its log is {}",
                log.display()
            );
        }
        anyhow::ensure!(
            started.elapsed() < START_LIMIT,
            "the {name} process did not listen on {addr} within {START_LIMIT:?}; its log is {}",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tracing::info!(service = name, pid, %addr, log = %log.display(), "service process started");
    let (stop, stopped) = oneshot::channel::<()>();
    let log = log.to_owned();
    let task = tokio::spawn(async move {
        tokio::select! {
            status = child.wait() => {
                let status = status?;
                anyhow::bail!("the {name} process exited by itself ({status}); its log is {}", log.display())
            }
            _ = stopped => {}
        }
        terminate(pid);
        let status = match tokio::time::timeout(STOP_GRACE, child.wait()).await {
            Ok(status) => status?,
            Err(_) => {
                tracing::warn!(
                    service = name,
                    pid,
                    "still running {STOP_GRACE:?} after SIGTERM: killing it"
                );
                child.kill().await?;
                child.wait().await?
            }
        };
        anyhow::ensure!(
            status.success(),
            "the {name} process stopped with {status}; its log is {}",
            log.display()
        );
        Ok(())
    });
    Ok(Running {
        stop,
        task,
        pid: Some(pid),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::system::Service;

    fn root() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
    }

    /// Every service has a unit in `deploy/systemd/` that starts its binary, and every
    /// `GRIDCASE_` variable a unit sets is one the binary reads (its `main.rs` or the flags
    /// every service shares), so the units cannot drift from the binaries unnoticed.
    #[test]
    fn every_service_has_a_systemd_unit_the_binary_understands() {
        let shared = std::fs::read_to_string(root().join("libs/runtime/src/cli.rs")).unwrap();
        // A store shard beyond the first runs from a template unit of the same binary.
        let units = Service::ALL
            .into_iter()
            .map(|service| {
                (
                    service.name(),
                    format!("gridcase-{}.service", service.name()),
                )
            })
            .chain([("store", "gridcase-store@.service".to_owned())]);
        for (name, unit) in units {
            let unit_path = root().join("deploy/systemd").join(unit);
            let unit = std::fs::read_to_string(&unit_path)
                .unwrap_or_else(|e| panic!("{}: {e}", unit_path.display()));
            assert!(
                unit.contains(&format!("ExecStart=/usr/local/bin/gridcase-{name}\n")),
                "{} does not start gridcase-{name}",
                unit_path.display()
            );
            let main = std::fs::read_to_string(root().join(format!("services/{name}/src/main.rs")))
                .unwrap();
            for line in unit
                .lines()
                .filter(|l| l.starts_with("Environment=GRIDCASE_"))
            {
                let variable = line["Environment=".len()..].split('=').next().unwrap();
                let quoted = format!("\"{variable}\"");
                assert!(
                    main.contains(&quoted) || shared.contains(&quoted),
                    "{}: gridcase-{name} does not read {variable}",
                    unit_path.display()
                );
            }
        }
    }
}
