//! Whether a service can do its work: its NATS connection is up and, for a service that keeps
//! cases in the event store, the store answers. The gRPC health service follows this
//! (`gridcase_grpc::serve_grpc`), so a load balancer or an operator sees NOT_SERVING while the
//! store or NATS is unreachable and SERVING again once they are back.

use std::time::Duration;

use tokio::sync::watch;

use crate::StoreClient;

/// How often the dependencies are probed.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// How long a probe of the store may take before the store counts as unreachable.
pub const PROBE_LIMIT: Duration = Duration::from_secs(2);

/// `Ok` while every dependency answers, else why not.
pub type Readiness = watch::Receiver<Result<(), String>>;

/// Why the dependencies cannot be used now, or `Ok`.
pub async fn probe(nats: &async_nats::Client, store: Option<&StoreClient>) -> Result<(), String> {
    let state = nats.connection_state();
    if state != async_nats::connection::State::Connected {
        return Err(format!("NATS is unreachable ({state})"));
    }
    if let Some(store) = store {
        match tokio::time::timeout(PROBE_LIMIT, store.head()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("the event store does not answer: {e}")),
            Err(_) => {
                return Err(format!(
                    "the event store did not answer within {PROBE_LIMIT:?}"
                ))
            }
        }
    }
    Ok(())
}

/// Probes `nats` (and `store`, when the service uses it) every [`PROBE_INTERVAL`] in a task of
/// its own, which ends when every receiver is dropped; each change is logged.
pub fn watch_dependencies(nats: async_nats::Client, store: Option<StoreClient>) -> Readiness {
    let (sender, receiver) = watch::channel(Ok(()));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PROBE_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = sender.closed() => return,
                _ = ticks.tick() => {}
            }
            let now = probe(&nats, store.as_ref()).await;
            if *sender.borrow() != now {
                match &now {
                    Ok(()) => tracing::info!("dependencies reachable again: serving"),
                    Err(reason) => {
                        tracing::warn!(%reason, "a dependency is unreachable: not serving")
                    }
                }
                let _ = sender.send(now);
            }
        }
    });
    receiver
}
