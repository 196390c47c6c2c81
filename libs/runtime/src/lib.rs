//! What every gridcase process needs to run, whatever it serves: logging set-up, the shutdown
//! signal, the clock, the command line the stage services share ([`cli`]) and the Prometheus
//! exporter ([`install_metrics`]).

pub mod cli;
mod metrics;

pub use metrics::{install_metrics, MetricsError, DEFAULT_METRICS_ADDR, METRICS};
mod stage;
mod stop;

pub use stage::{ServiceError, StageConfig};
pub use stop::Stop;

/// The current time by this machine's clock, as a domain timestamp (the domain reads no clock).
pub fn now() -> gridcase_domain::Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    gridcase_domain::Timestamp::from_millis(millis)
}

/// The log filter when `RUST_LOG` is unset: gridcase's own crates at `info`, everything else
/// (NATS client, HTTP/2, sled, …) at `warn`, so starting the system prints what runs where and
/// not one "connected" line per NATS connection.
pub const DEFAULT_LOG_FILTER: &str = "warn,gridcase=info,gridcase_auth=info,gridcase_bus=info,\
gridcase_casestore=info,gridcase_eventstore=info,gridcase_grpc=info,gridcase_runtime=info,\
gridcase_store=info,gridcase_store_node=info,gridcase_intake=info,gridcase_triage=info,\
gridcase_dispatch=info,gridcase_supervision=info,gridcase_evaluation=info,gridcase_query=info,\
gridcase_gateway=info";

/// Installs the `tracing` subscriber: human-readable lines on stderr, filtered by `RUST_LOG`
/// (default [`DEFAULT_LOG_FILTER`]). Safe to call more than once.
pub fn init_tracing() {
    init_tracing_with(DEFAULT_LOG_FILTER);
}

/// [`init_tracing`] with another filter for when `RUST_LOG` is unset (the demo, whose own
/// lines on stdout tell the day, logs warnings only).
pub fn init_tracing_with(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs a server with a bounded stop: `serve` is handed the stop signal to begin its graceful
/// stop with (it resolves once `shutdown` has); when the server has not finished `grace` later
/// it is dropped with whatever connections it still holds, so a stuck or silent client cannot
/// keep the process from stopping. The server's outcome, or `None` when the grace ran out.
pub async fn serve_with_grace<'a, T, Fut>(
    shutdown: impl std::future::Future<Output = ()> + Send + 'a,
    grace: std::time::Duration,
    serve: impl FnOnce(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>) -> Fut,
) -> Option<T>
where
    Fut: std::future::Future<Output = T>,
{
    let (signalled, grace_starts) = tokio::sync::oneshot::channel::<()>();
    let served = serve(Box::pin(async move {
        shutdown.await;
        let _ = signalled.send(());
    }));
    let grace_over = async move {
        if grace_starts.await.is_err() {
            // The server ended without being asked to: the other branch has its outcome.
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        outcome = served => Some(outcome),
        () = grace_over => None,
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    // The handlers are installed now, not when the future is first polled: a service still
    // starting (catching up, waiting for NATS) must stop cleanly on SIGTERM too, not die of it.
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
        let mut terminate = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_filter_parses_and_names_every_service() {
        let filter = tracing_subscriber::EnvFilter::try_new(DEFAULT_LOG_FILTER).unwrap();
        let text = filter.to_string();
        for service in [
            "intake",
            "triage",
            "dispatch",
            "supervision",
            "evaluation",
            "query",
        ] {
            assert!(text.contains(&format!("gridcase_{service}=info")), "{text}");
        }
        assert!(text.starts_with("warn") || text.contains(",warn"), "{text}");
    }
}
