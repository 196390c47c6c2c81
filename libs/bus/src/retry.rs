//! The one retry policy of gridcase's long-running loops: a follower of the store's log, a
//! feed worker, the outbox relay. While NATS or the store stays unreachable they wait
//! [`Backoff::FIRST`], then twice as long each time up to [`Backoff::MAX`]; a success starts
//! over. Every loop that outlasts outages uses this, so they all behave — and log — alike.

use std::future::Future;
use std::time::Duration;

use gridcase_eventstore::{CatchUp, EventStore, RecordedEvent};

/// How long a service starting up keeps trying to set up what it needs on NATS (a stream, its
/// consumers) before it gives up and exits — to be started again by whatever runs it.
pub const SETUP_LIMIT: Duration = Duration::from_secs(60);

/// Runs `attempt` until it succeeds, with [`Backoff`] between tries, for at most
/// [`SETUP_LIMIT`]: a service started while a NATS node is lost or JetStream elects a leader
/// waits for it instead of failing at once. The last error if it never succeeds.
pub async fn setting_up<T, E, Fut>(what: &str, mut attempt: impl FnMut() -> Fut) -> Result<T, E>
where
    E: std::fmt::Display,
    Fut: Future<Output = Result<T, E>>,
{
    let started = std::time::Instant::now();
    let mut backoff = Backoff::new();
    loop {
        match attempt().await {
            Ok(done) => return Ok(done),
            Err(error) if started.elapsed() < SETUP_LIMIT => {
                tracing::warn!(what, %error, "setting up failed; trying again");
                backoff.wait().await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Growing waits between attempts at something that may come back.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Backoff {
    /// The first wait after a failure.
    pub const FIRST: Duration = Duration::from_millis(50);
    /// The longest wait between two attempts.
    pub const MAX: Duration = Duration::from_secs(5);

    /// A policy whose next wait is [`Backoff::FIRST`].
    pub fn new() -> Self {
        Self { next: Self::FIRST }
    }

    /// The wait before the next attempt; the one after it is twice as long, up to
    /// [`Backoff::MAX`].
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        delay
    }

    /// After a success: the next failure waits [`Backoff::FIRST`] again.
    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    /// Waits the next delay.
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.next_delay()).await;
    }

    /// Waits the next delay unless `shutdown` comes first; true if it did (stop then).
    pub async fn wait_or_stop(
        &mut self,
        shutdown: &mut (impl Future<Output = ()> + Unpin),
    ) -> bool {
        let delay = self.next_delay();
        tokio::select! {
            () = shutdown => true,
            () = tokio::time::sleep(delay) => false,
        }
    }
}

/// [`CatchUp::next_batch`] for a follower that must outlast store outages: a failed read is
/// logged (naming `follower`) and tried again under [`Backoff`]. `None` once `shutdown`
/// resolves; the follower stops then.
pub async fn next_batch_until<S: EventStore>(
    catch_up: &mut CatchUp<S>,
    shutdown: &mut (impl Future<Output = ()> + Unpin),
    follower: &str,
) -> Option<Vec<RecordedEvent>> {
    let mut backoff = Backoff::new();
    loop {
        let batch = tokio::select! {
            () = &mut *shutdown => return None,
            batch = catch_up.next_batch() => batch,
        };
        match batch {
            Ok(events) => return Some(events),
            Err(error) => {
                tracing::warn!(%error, follower, "reading the store log; trying again");
                if backoff.wait_or_stop(shutdown).await {
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_eventstore::conformance::sample_event;
    use gridcase_eventstore::{ExpectedVersion, MemoryStore};

    #[test]
    fn waits_double_up_to_the_cap_and_start_over_after_a_success() {
        let mut backoff = Backoff::new();
        let waits: Vec<Duration> = (0..10).map(|_| backoff.next_delay()).collect();
        assert_eq!(waits[0], Backoff::FIRST);
        assert_eq!(waits[1], Backoff::FIRST * 2);
        assert_eq!(waits[2], Backoff::FIRST * 4);
        assert_eq!(*waits.last().unwrap(), Backoff::MAX);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        backoff.reset();
        assert_eq!(backoff.next_delay(), Backoff::FIRST);
    }

    #[tokio::test]
    async fn a_stop_cuts_a_wait_short() {
        let mut backoff = Backoff::new();
        for _ in 0..10 {
            backoff.next_delay();
        }
        let mut stopped = std::future::ready(());
        let started = std::time::Instant::now();
        assert!(backoff.wait_or_stop(&mut stopped).await);
        assert!(started.elapsed() < Backoff::MAX);
    }

    #[tokio::test]
    async fn a_follower_gets_the_log_until_it_is_told_to_stop() {
        let store = MemoryStore::new();
        store
            .append(
                "case-a",
                ExpectedVersion::NoStream,
                vec![sample_event(1, 10), sample_event(2, 10)],
            )
            .await
            .unwrap();
        let mut subscription = store.subscribe_all(0);

        let mut running = std::future::pending::<()>();
        let events = next_batch_until(&mut subscription, &mut running, "a test")
            .await
            .expect("not stopped");
        let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
        assert_eq!(positions, [0, 1]);

        // Caught up: it would wait for the next commit, but it is told to stop.
        let mut stopped = std::future::ready(());
        assert!(next_batch_until(&mut subscription, &mut stopped, "a test")
            .await
            .is_none());
    }
}
