//! The JetStream streams gridcase keeps (the event feed, the work orders, the alerts), created
//! with as many replicas as the deployment asks for: one on a single nats-server, three on a
//! cluster (each message then lives on three nodes, and a stream survives the loss of any one).
//!
//! The count is a setting of the process ([`set_replicas`], from `--stream-replicas` or
//! `GRIDCASE_STREAM_REPLICAS`), since every stream of a deployment has the same. A stream found
//! with fewer replicas than asked for (a single server grown into a cluster) is raised to the
//! count asked for; one with more is left as it is.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_nats::jetstream::{self, stream};

/// Replicas of each stream when nothing else is set: a single nats-server.
pub const DEFAULT_REPLICAS: usize = 1;

/// The most replicas JetStream keeps of a stream.
pub const MAX_REPLICAS: usize = 5;

static REPLICAS: AtomicUsize = AtomicUsize::new(DEFAULT_REPLICAS);

/// Sets how many replicas the streams this process creates have (1 to [`MAX_REPLICAS`]; 3 on
/// a cluster of three or more nodes).
pub fn set_replicas(replicas: usize) -> Result<(), String> {
    if !(1..=MAX_REPLICAS).contains(&replicas) {
        return Err(format!(
            "stream replicas: {replicas} is not between 1 and {MAX_REPLICAS}"
        ));
    }
    REPLICAS.store(replicas, Ordering::Relaxed);
    Ok(())
}

/// How many replicas the streams this process creates have.
pub fn replicas() -> usize {
    REPLICAS.load(Ordering::Relaxed)
}

/// The stream `config` names, created with [`replicas`] replicas if it does not exist, and
/// raised to that many if it has fewer.
pub async fn ensure(
    js: &jetstream::Context,
    config: stream::Config,
) -> Result<stream::Stream, String> {
    let wanted = replicas();
    let name = config.name.clone();
    let stream = js
        .get_or_create_stream(stream::Config {
            num_replicas: wanted,
            ..config
        })
        .await
        .map_err(|e| format!("creating stream {name}: {e}"))?;
    let existing = &stream.cached_info().config;
    if existing.num_replicas.max(1) >= wanted {
        return Ok(stream);
    }
    let from = existing.num_replicas.max(1);
    let raised = stream::Config {
        num_replicas: wanted,
        ..existing.clone()
    };
    js.update_stream(&raised)
        .await
        .map_err(|e| format!("raising stream {name} from {from} to {wanted} replicas: {e}"))?;
    tracing::info!(stream = %name, from, to = wanted, "stream replicas raised");
    js.get_stream(&name)
        .await
        .map_err(|e| format!("reading stream {name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_count_outside_what_jetstream_keeps_is_refused() {
        assert!(set_replicas(0).unwrap_err().contains("between 1 and 5"));
        assert!(set_replicas(6).is_err());
        assert_eq!(replicas(), DEFAULT_REPLICAS);
    }
}
