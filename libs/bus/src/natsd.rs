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

/// The nats-server binary: `GRIDCASE_NATS_SERVER` if set, else the first on the search path or
/// in the usual system folders; an error saying how to install it if there is none.
pub fn binary() -> Result<PathBuf, NatsServerError> {
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
        Self::launch(dir, port, &NodeRole::Alone, extra)
    }

    /// Starts a leaf node (a street office's server) on 127.0.0.1:`port` (0 = any free port):
    /// JetStream of its own under `dir` in the JetStream domain `domain`, so what it stores
    /// stays at the office and its clients' JetStream calls are answered there, and a leaf
    /// connection to the centre at `hub` (`nats-leaf://user:password@host:7422`), over which
    /// its clients reach the centre's services while the link is up.
    pub fn start_leaf(
        dir: &Path,
        port: u16,
        domain: &str,
        hub: &str,
    ) -> Result<Self, NatsServerError> {
        Self::launch(dir, port, &NodeRole::Leaf { domain, hub }, "")
    }

    /// Starts the server as `role` says.
    fn launch(
        dir: &Path,
        port: u16,
        role: &NodeRole<'_>,
        extra: &str,
    ) -> Result<Self, NatsServerError> {
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
        let domain = match role {
            NodeRole::Leaf { domain, .. } => format!("  domain: \"{domain}\"\n"),
            _ => String::new(),
        };
        let config = format!(
            "# written by gridcase\nlisten: 127.0.0.1:{listen_port}\nports_file_dir: \"{}\"\nmax_payload: 8MB\nmax_pending: 256MB\nwrite_deadline: \"10s\"\njetstream {{\n  store_dir: \"{}\"\n  max_memory_store: 256MB\n  max_file_store: 20GB\n{domain}}}\n",
            dir.display(),
            jetstream_dir.display()
        ) + &role.config()
            + extra;
        // The configuration may hold passwords: readable by its owner only.
        crate::logins::write_private(&config_path, config.as_bytes())
            .map_err(|e| prepare(&config_path, e))?;
        let log_path = dir.join("nats-server.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| prepare(&log_path, e))?;
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

/// What a server is to the others.
#[derive(Debug)]
enum NodeRole<'a> {
    /// A server on its own.
    Alone,
    /// A node of a cluster.
    Cluster(&'a ClusterNode),
    /// A leaf node with a JetStream domain of its own, connected to a hub.
    Leaf { domain: &'a str, hub: &'a str },
}

impl NodeRole<'_> {
    /// What the role adds to the configuration.
    fn config(&self) -> String {
        match self {
            Self::Alone => String::new(),
            Self::Cluster(node) => node.config(),
            Self::Leaf { hub, .. } => {
                format!("leafnodes {{\n  remotes: [\n    {{ url: \"{hub}\" }}\n  ]\n}}\n")
            }
        }
    }
}

/// The name of the cluster [`NatsCluster`] forms.
pub const CLUSTER_NAME: &str = "gridcase";

/// One node's place in a cluster on loopback: its name, its route port and its peers'.
#[derive(Debug, Clone)]
struct ClusterNode {
    server_name: String,
    route_port: u16,
    peer_route_ports: Vec<u16>,
}

impl ClusterNode {
    /// The node's `server_name` and `cluster { … }` block.
    fn config(&self) -> String {
        let routes: Vec<String> = self
            .peer_route_ports
            .iter()
            .map(|port| format!("    \"nats-route://127.0.0.1:{port}\""))
            .collect();
        format!(
            "server_name: \"{}\"\ncluster {{\n  name: \"{CLUSTER_NAME}\"\n  listen: 127.0.0.1:{}\n  routes: [\n{}\n  ]\n}}\n",
            self.server_name,
            self.route_port,
            routes.join("\n")
        )
    }
}

/// nats-server nodes forming one cluster on loopback (routes between them, JetStream on every
/// node, node `i` storing under `<dir>/node-<i+1>`), for `gridcase up --cluster` and the tests
/// that lose a node. One node is a plain server, storing under `<dir>` as
/// [`NatsServer::start`] does. Every node is killed when the cluster is dropped.
#[derive(Debug)]
pub struct NatsCluster {
    dir: PathBuf,
    extra: String,
    ports: Vec<u16>,
    nodes: Vec<Option<NatsServer>>,
    cluster: Vec<Option<ClusterNode>>,
}

impl NatsCluster {
    /// Starts `nodes` nodes with `extra` appended to each one's configuration, client ports
    /// `first_port`, `first_port + 1`, … (0: free ports), route ports free ones.
    pub fn start(
        dir: &Path,
        nodes: usize,
        first_port: u16,
        extra: &str,
    ) -> Result<Self, NatsServerError> {
        if nodes == 0 {
            return Err(NatsServerError::Start("a cluster needs a node".into()));
        }
        let picked = |what: &str, e: std::io::Error| {
            NatsServerError::Start(format!("finding a free {what} port: {e}"))
        };
        let ports: Vec<u16> = if nodes == 1 || first_port != 0 {
            (0..nodes)
                .map(|i| {
                    if first_port == 0 {
                        0
                    } else {
                        first_port + i as u16
                    }
                })
                .collect()
        } else {
            (0..nodes)
                .map(|_| free_port().map_err(|e| picked("client", e)))
                .collect::<Result<_, _>>()?
        };
        let cluster: Vec<Option<ClusterNode>> = if nodes == 1 {
            vec![None]
        } else {
            let route_ports: Vec<u16> = (0..nodes)
                .map(|_| free_port().map_err(|e| picked("route", e)))
                .collect::<Result<_, _>>()?;
            (0..nodes)
                .map(|i| {
                    Some(ClusterNode {
                        server_name: format!("{CLUSTER_NAME}-{}", i + 1),
                        route_port: route_ports[i],
                        peer_route_ports: route_ports
                            .iter()
                            .enumerate()
                            .filter(|(j, _)| *j != i)
                            .map(|(_, port)| *port)
                            .collect(),
                    })
                })
                .collect()
        };
        let mut started = Self {
            dir: dir.to_owned(),
            extra: extra.to_owned(),
            ports,
            nodes: (0..nodes).map(|_| None).collect(),
            cluster,
        };
        for node in 0..nodes {
            started.start_node(node)?;
        }
        Ok(started)
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false: a cluster has a node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The directory node `node` keeps its configuration, log and JetStream data in.
    pub fn node_dir(&self, node: usize) -> PathBuf {
        if self.nodes.len() == 1 {
            self.dir.clone()
        } else {
            self.dir.join(format!("node-{}", node + 1))
        }
    }

    /// The address each node listens on for clients.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.ports
            .iter()
            .map(|port| SocketAddr::from(([127, 0, 0, 1], *port)))
            .collect()
    }

    /// Every node's client URL, comma-separated: what [`crate::connect`] takes.
    pub fn url(&self) -> String {
        self.addrs()
            .iter()
            .map(|addr| format!("nats://{addr}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// [`NatsCluster::url`] logging in as `user` with `password` on every node.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        self.addrs()
            .iter()
            .map(|addr| format!("nats://{user}:{password}@{addr}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether node `node` runs.
    pub fn is_running(&self, node: usize) -> bool {
        self.nodes.get(node).is_some_and(Option::is_some)
    }

    /// Kills node `node` (SIGKILL), as the loss of its machine would; a no-op if it is down.
    pub fn kill(&mut self, node: usize) {
        if let Some(mut server) = self.nodes.get_mut(node).and_then(Option::take) {
            server.stop();
        }
    }

    /// Starts node `node` again on its ports and data after [`NatsCluster::kill`]; a no-op if
    /// it runs. It rejoins the cluster and catches up its streams by itself.
    pub fn start_node(&mut self, node: usize) -> Result<(), NatsServerError> {
        if self.is_running(node) {
            return Ok(());
        }
        let dir = self.node_dir(node);
        std::fs::create_dir_all(&dir).map_err(|source| NatsServerError::Prepare {
            path: dir.clone(),
            source,
        })?;
        let role = match &self.cluster[node] {
            Some(cluster) => NodeRole::Cluster(cluster),
            None => NodeRole::Alone,
        };
        let server = NatsServer::launch(&dir, self.ports[node], &role, &self.extra)?;
        // A free port picked by the server itself is kept for its restarts.
        self.ports[node] = server.addr().port();
        self.nodes[node] = Some(server);
        Ok(())
    }

    /// Kills every node.
    pub fn kill_all(&mut self) {
        for node in 0..self.nodes.len() {
            self.kill(node);
        }
    }

    /// Starts every node that is down.
    pub fn start_all(&mut self) -> Result<(), NatsServerError> {
        for node in 0..self.nodes.len() {
            self.start_node(node)?;
        }
        Ok(())
    }
}

/// Waits until JetStream answers on `url` (a cluster answers once its nodes have elected a
/// meta leader), at most `limit`.
pub async fn wait_for_jetstream(url: &str, limit: Duration) -> Result<(), NatsServerError> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < limit {
        match crate::connect_with(url, |o| o.request_timeout(Some(Duration::from_secs(2)))).await {
            // The account's JetStream information, asked raw: an answer without an error
            // means a leader serves JetStream.
            Ok(client) => match client.request("$JS.API.INFO", "".into()).await {
                Ok(reply) => {
                    let text = String::from_utf8_lossy(&reply.payload);
                    if !text.contains("\"error\"") {
                        return Ok(());
                    }
                    last = text.into_owned();
                }
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(NatsServerError::Start(format!(
        "JetStream did not answer within {limit:?}: {last}"
    )))
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
