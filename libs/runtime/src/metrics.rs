//! The process's Prometheus exporter: one per process, whatever runs in it.

use std::net::SocketAddr;

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder};

/// Where `gridcase up` serves its metrics unless told otherwise.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9464";

/// Upper bounds of the buckets of every `_seconds` histogram: 0.5 ms to 10 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds of the buckets of the store's group-commit size, in appends.
const GROUP_SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// Every metric gridcase records, with what it measures (the `# HELP` line of a scrape).
pub const METRICS: &[(&str, &str)] = &[
    (
        "grpc_requests_total",
        "gRPC calls answered, by service, method and status code",
    ),
    (
        "grpc_request_duration_seconds",
        "time from a gRPC request to its status, by service and method",
    ),
    (
        "store_appends_total",
        "appends the event store made durable (repeats of stored events not counted)",
    ),
    (
        "store_flush_duration_seconds",
        "time to make one commit group durable",
    ),
    (
        "store_group_size",
        "append requests made durable by one flush",
    ),
    (
        "store_relay_lag",
        "committed events not yet published to the event feed (head - published)",
    ),
    (
        "feed_consumer_pending",
        "feed messages not yet delivered to a durable consumer, by consumer",
    ),
    (
        "feed_redeliveries_total",
        "feed messages delivered again to a consumer, by consumer",
    ),
    (
        "supervision_open_timers",
        "deadline timers supervision is watching",
    ),
    (
        "supervision_breaches_total",
        "deadlines supervision found breached",
    ),
    (
        "supervision_table_position",
        "the global log position supervision's timer table has folded up to",
    ),
    (
        "query_projection_position",
        "the global log position the query projection has applied up to",
    ),
    (
        "triage_model_position",
        "the global log position triage's case model has folded up to",
    ),
    (
        "evaluation_model_position",
        "the global log position evaluation's indicator model has folded up to",
    ),
];

/// Why the exporter could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// No free port could be found for an address with port 0.
    #[error("finding a free port for the metrics at {addr}: {source}")]
    Port {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// The exporter could not be built, bound or installed (one per process).
    #[error("serving metrics at {addr}: {source}")]
    Install {
        /// The address asked for.
        addr: SocketAddr,
        /// What went wrong.
        source: BuildError,
    },
}

/// Installs the process's metrics recorder and serves what it records in the Prometheus text
/// format at `http://<addr>/metrics` (any path answers); returns the address it listens on
/// (port 0 picks a free one). Histograms of seconds and the store's group size get fixed
/// buckets. Call it once per process, from inside the Tokio runtime: a second call fails.
pub fn install_metrics(addr: SocketAddr) -> Result<SocketAddr, MetricsError> {
    let addr = if addr.port() == 0 {
        // The exporter binds on its own and does not say where: pick the port here.
        std::net::TcpListener::bind(addr)
            .and_then(|listener| listener.local_addr())
            .map_err(|source| MetricsError::Port { addr, source })?
    } else {
        addr
    };
    let install = |addr: SocketAddr| -> Result<(), BuildError> {
        PrometheusBuilder::new()
            .with_http_listener(addr)
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)?
            .set_buckets_for_metric(
                Matcher::Full("store_group_size".to_owned()),
                GROUP_SIZE_BUCKETS,
            )?
            .install()
    };
    install(addr).map_err(|source| MetricsError::Install { addr, source })?;
    for (name, help) in METRICS {
        let name = *name;
        match name {
            _ if name.ends_with("_total") => metrics::describe_counter!(name, *help),
            _ if name.ends_with("_seconds") || name == "store_group_size" => {
                metrics::describe_histogram!(name, *help)
            }
            _ => metrics::describe_gauge!(name, *help),
        }
    }
    Ok(addr)
}
