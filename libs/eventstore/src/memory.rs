//! An in-memory store with the same semantics as the sled one and no durability: for unit tests
//! of code that sits on top of the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::{
    now_ms, validate_append, validate_stream_id, AppendResult, EventStore, ExpectedVersion,
    NewEvent, RecordedEvent, Result, StoreError, StoreStats,
};

/// An event store held in memory.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    head: Arc<watch::Sender<u64>>,
}

#[derive(Debug, Default)]
struct Inner {
    log: Vec<RecordedEvent>,
    streams: HashMap<String, Vec<u64>>,
    ids: HashMap<u128, u64>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            inner: Arc::default(),
            head: Arc::new(watch::channel(0).0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves no half-applied append (appends mutate only
        // after every check), so the data is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl EventStore for MemoryStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        validate_append(stream, &events)?;
        let mut inner = self.lock();
        let known: Vec<Option<u64>> = events
            .iter()
            .map(|e| inner.ids.get(&e.event_id).copied())
            .collect();
        if let (Some(Some(first)), Some(Some(last))) = (known.first(), known.last()) {
            if known.iter().all(Option::is_some) {
                let last_event = &inner.log[*last as usize];
                return Ok(AppendResult {
                    first_position: *first,
                    last_position: *last,
                    stream_version: last_event.stream_version,
                    duplicate: true,
                });
            }
        }
        if let Some(i) = known.iter().position(Option::is_some) {
            return Err(StoreError::PartialDuplicate {
                event_id: events[i].event_id,
            });
        }
        let current = inner.streams.get(stream).map(|p| p.len() as u64 - 1);
        if !expected.admits(current) {
            return Err(StoreError::WrongExpectedVersion {
                stream: stream.to_owned(),
                expected,
                current,
            });
        }
        let first_position = inner.log.len() as u64;
        let first_version = current.map_or(0, |v| v + 1);
        let recorded_at_ms = now_ms();
        let count = events.len() as u64;
        for (offset, event) in events.into_iter().enumerate() {
            let position = first_position + offset as u64;
            inner.ids.insert(event.event_id, position);
            inner
                .streams
                .entry(stream.to_owned())
                .or_default()
                .push(position);
            inner.log.push(RecordedEvent {
                position,
                stream_id: stream.to_owned(),
                stream_version: first_version + offset as u64,
                event_id: event.event_id,
                event_type: event.event_type,
                schema_version: event.schema_version,
                recorded_at_ms,
                metadata: event.metadata,
                payload: event.payload,
            });
        }
        let head = inner.log.len() as u64;
        drop(inner);
        self.head.send_replace(head);
        Ok(AppendResult {
            first_position,
            last_position: first_position + count - 1,
            stream_version: first_version + count - 1,
            duplicate: false,
        })
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>> {
        validate_stream_id(stream)?;
        let inner = self.lock();
        Ok(inner
            .streams
            .get(stream)
            .map_or_else(Vec::new, |positions| {
                positions
                    .iter()
                    .skip(from_version.min(usize::MAX as u64) as usize)
                    .take(max)
                    .map(|&p| inner.log[p as usize].clone())
                    .collect()
            }))
    }

    async fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>> {
        let inner = self.lock();
        let start = from_position.min(inner.log.len() as u64) as usize;
        Ok(inner.log[start..].iter().take(max).cloned().collect())
    }

    async fn stream_version(&self, stream: &str) -> Result<Option<u64>> {
        validate_stream_id(stream)?;
        Ok(self.lock().streams.get(stream).map(|p| p.len() as u64 - 1))
    }

    async fn stats(&self) -> Result<StoreStats> {
        let inner = self.lock();
        Ok(StoreStats {
            events: inner.log.len() as u64,
            streams: inner.streams.len() as u64,
            disk_bytes: 0,
        })
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }
}

#[cfg(test)]
mod tests {
    crate::conformance_tests!(async { (crate::MemoryStore::new(), ()) });
}
