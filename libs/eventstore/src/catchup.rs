//! A catch-up subscription over any [`EventStore`].
//!
//! It never switches between two sources: it always reads the log by position and only uses the
//! head watch to know when to read again. Since positions are dense and reads are by position,
//! there is no seam between history and live where an event could be missed or seen twice.

use std::collections::VecDeque;

use tokio::sync::watch;

use crate::{EventStore, RecordedEvent, Result, StoreError};

/// How long to wait before reading again when the head is ahead of what a read returns.
const EMPTY_READ_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// Default number of events read per request.
pub(crate) const DEFAULT_BATCH: usize = 512;

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
