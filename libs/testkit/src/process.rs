//! A stage service's own binary run as a child process on a sandbox's NATS, with its read model
//! in a directory, for the tests that kill it with SIGKILL and start it again on the same model.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use tonic::transport::Channel;

use crate::{token_of, wait_until, Sandbox, WAIT};

/// A service process; killed with SIGKILL when dropped.
#[derive(Debug)]
pub struct ServiceProcess {
    child: Child,
    log: PathBuf,
    channel: Channel,
}

impl ServiceProcess {
    /// Starts `binary` on `sandbox`'s NATS with the reference data in `config`, its model in
    /// `model` and `args` after those, callable by `who` as `role` (`"supervisor:sup-1"`), and
    /// waits until it listens. Its log (at `info`, without colours) goes to a file in the
    /// sandbox.
    pub async fn spawn(
        sandbox: &Sandbox,
        binary: &str,
        config: &Path,
        model: &Path,
        (who, role): (&str, &str),
        args: &[&str],
    ) -> Self {
        let port = gridcase_bus::natsd::free_port().expect("a free port");
        let name = Path::new(binary)
            .file_name()
            .map_or("service".into(), |n| n.to_string_lossy());
        let log = sandbox.path(&format!("{name}-{port}.log"));
        let file = std::fs::File::create(&log).expect("creating the process's log");
        let child = Command::new(binary)
            .arg("--nats")
            .arg(sandbox.nats_url())
            .arg("--config")
            .arg(config)
            .arg("--tokens")
            .arg(sandbox.path("no-token-file.toml"))
            .arg("--grpc")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--model")
            .arg(model)
            .args(args)
            .env(
                gridcase_auth::TOKENS_ENV,
                format!("{}={role}", token_of(who)),
            )
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("the log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {binary}: {e}"));
        let endpoint = format!("http://127.0.0.1:{port}");
        let channel = wait_until(&format!("{name} to listen"), WAIT, || {
            let endpoint = endpoint.clone();
            async move {
                tonic::transport::Endpoint::from_shared(endpoint)
                    .ok()?
                    .connect()
                    .await
                    .ok()
            }
        })
        .await;
        Self {
            child,
            log,
            channel,
        }
    }

    /// A connection to its gRPC API.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// What it has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The first line of its log holding `text`, once there is one.
    pub async fn log_line(&self, text: &str) -> String {
        wait_until(&format!("the log line {text:?}"), WAIT, || async {
            self.log()
                .lines()
                .find(|line| line.contains(text))
                .map(str::to_owned)
        })
        .await
    }

    /// Kills it with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
