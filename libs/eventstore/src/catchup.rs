//! A catch-up subscription over any [`EventStore`].
//!
//! It never switches between two sources: it always reads the log by position and only uses the
//! head watch to know when to read again. Since positions are dense and reads are by position,
//! there is no seam between history and live where an event could be missed or seen twice.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

use crate::{EventStore, RecordedEvent, Result, StoreError};

/// How long to wait before reading again when the head is ahead of what a read returns.
const EMPTY_READ_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// Default number of events read per request.
pub const DEFAULT_BATCH: usize = 512;

/// The first wait before reading again after the store could not be read; it doubles up to
/// [`MAX_RETRY_DELAY`] while the store stays unreachable.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(50);
/// The longest wait between two attempts to read an unreachable store.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// Follows the global log from a position: history first, then live.
#[derive(Debug)]
pub struct CatchUp<S> {
    store: S,
    next_position: u64,
    buffer: VecDeque<RecordedEvent>,
    head: watch::Receiver<u64>,
    batch: usize,
}

impl<S: EventStore> CatchUp<S> {
    pub(crate) fn new(store: S, from_position: u64) -> Self {
        let head = store.watch_head();
        Self {
            store,
            next_position: from_position,
            buffer: VecDeque::new(),
            head,
            batch: DEFAULT_BATCH,
        }
    }

    /// Reads this many events per request (at least one).
    pub fn with_batch_size(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// The position of the next event this subscription will hand out: a checkpoint to resume
    /// from.
    pub fn position(&self) -> u64 {
        self.buffer
            .front()
            .map_or(self.next_position, |event| event.position)
    }

    /// The head as last seen: how far the log goes, for progress displays.
    pub fn head(&self) -> u64 {
        *self.head.borrow()
    }

    /// The next event, waiting for one to be committed if the subscription is caught up.
    pub async fn next(&mut self) -> Result<RecordedEvent> {
        if self.buffer.is_empty() {
            let batch = self.next_batch().await?;
            self.buffer.extend(batch);
        }
        Ok(self
            .buffer
            .pop_front()
            .expect("next_batch returns at least one event"))
    }

    /// [`CatchUp::next_batch`] for a follower that must outlast store outages: a failed read is
    /// logged (naming `follower`) and tried again after a growing wait. `None` once `shutdown`
    /// resolves; the follower stops then.
    pub async fn next_batch_until(
        &mut self,
        shutdown: &mut (impl Future<Output = ()> + Unpin),
        follower: &str,
    ) -> Option<Vec<RecordedEvent>> {
        let mut delay = FIRST_RETRY_DELAY;
        loop {
            let batch = tokio::select! {
                () = &mut *shutdown => return None,
                batch = self.next_batch() => batch,
            };
            match batch {
                Ok(events) => return Some(events),
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?delay, follower, "reading the store log");
                    tokio::select! {
                        () = &mut *shutdown => return None,
                        () = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
            }
        }
    }

    /// The next events in order (at least one), waiting if the subscription is caught up.
    pub async fn next_batch(&mut self) -> Result<Vec<RecordedEvent>> {
        if !self.buffer.is_empty() {
            return Ok(self.buffer.drain(..).collect());
        }
        loop {
            let head = *self.head.borrow_and_update();
            if head > self.next_position {
                let batch = self.store.read_all(self.next_position, self.batch).await?;
                if let Some(first) = batch.first() {
                    for (offset, event) in batch.iter().enumerate() {
                        if event.position != self.next_position + offset as u64 {
                            return Err(StoreError::Corrupt {
                                position: self.next_position + offset as u64,
                                reason: format!(
                                    "read returned position {} where {} was due",
                                    event.position,
                                    self.next_position + offset as u64
                                ),
                            });
                        }
                    }
                    debug_assert_eq!(first.position, self.next_position);
                    self.next_position += batch.len() as u64;
                    return Ok(batch);
                }
                // The head said there is more but the read found nothing (a remote head seen
                // ahead of the store now answering): look again shortly rather than wait for
                // a commit that may never come.
                tokio::time::sleep(EMPTY_READ_RETRY).await;
                continue;
            }
            if self.head.changed().await.is_err() {
                return Err(StoreError::Unavailable("the store was closed".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::conformance::sample_event;
    use crate::{EventStore, ExpectedVersion, SledStore};

    #[tokio::test]
    async fn a_follower_gets_the_log_until_it_is_told_to_stop() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open_path(dir.path()).unwrap();
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
        let events = subscription
            .next_batch_until(&mut running, "a test")
            .await
            .expect("not stopped");
        let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
        assert_eq!(positions, [0, 1]);

        // Caught up: it would wait for the next commit, but it is told to stop.
        let mut stopped = std::future::ready(());
        assert!(subscription
            .next_batch_until(&mut stopped, "a test")
            .await
            .is_none());
    }
}
