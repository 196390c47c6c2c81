//! The sled-backed store of record.
//!
//! One writer thread owns every write. It takes all appends waiting in its queue, checks each
//! against the stream versions and event ids (including those earlier in the same group), and
//! applies the accepted ones as one atomic sled batch. A flusher thread beside it flushes once
//! for every group applied meanwhile and only then answers their callers: group commit, with
//! the disk's sync overlapping the work on the next group. Readers never see an event before it
//! is durable, because reads stop at the durable head, which moves only after the flush.
//! The flusher records metrics: `store_flush_duration_seconds`, `store_group_size` (append
//! requests answered by one flush) and `store_appends_total` (appends made durable; repeats
//! of stored events do not count).
//!
//! Keys of the `log` tree:
//! - `e` + position (u64 BE) → the record (see `envelope`)
//! - `s` + stream id + `\0` + version (u64 BE) → position (u64 BE)
//! - `i` + event id (u128 BE) → position (u64 BE)
//! - `m` + name → counters kept in step with the log (stream count)

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

pub use import::ImportReport;

use crate::envelope::{decode_record, encode_new_record};
use crate::{
    now_ms, validate_append, validate_stream_id, AppendResult, EventStore, ExpectedVersion,
    NewEvent, RecordedEvent, Result, StoreError, StoreStats,
};

const EVENT: u8 = b'e';
const STREAM: u8 = b's';
const EVENT_ID: u8 = b'i';
const STREAM_COUNT_KEY: &[u8] = b"mstreams";
/// Most appends one group commit takes from the queue.
const MAX_GROUP: usize = 4_096;
/// Appends waiting for the writer before callers are made to wait to enqueue.
const QUEUE_DEPTH: usize = 16_384;
/// How long a checkpoint waits to ride on the writer's next flush before flushing itself.
const CHECKPOINT_FLUSH_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

/// How to open a [`SledStore`].
#[derive(Debug, Clone)]
pub struct SledStoreConfig {
    /// Directory of the sled database.
    pub path: PathBuf,
    /// Bytes of page cache sled may use.
    pub cache_capacity_bytes: u64,
}

impl SledStoreConfig {
    /// Defaults for a store in `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            cache_capacity_bytes: 512 * 1024 * 1024,
        }
    }
}

/// Bytes a raw record is counted with beyond its own, for its position and framing.
pub const RAW_RECORD_OVERHEAD: usize = 20;

/// A record as stored: its position and its bytes, not yet decoded.
#[derive(Debug, Clone)]
pub struct RawRecord {
    /// Global position.
    pub position: u64,
    bytes: sled::IVec,
}

impl RawRecord {
    /// The stored bytes (see [`decode_record`]).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Decodes the record, checking its checksum.
    pub fn decode(&self) -> Result<RecordedEvent> {
        decode_record(self.position, &self.bytes)
    }
}

/// What [`SledStore::verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records read.
    pub events: u64,
    /// Distinct streams seen.
    pub streams: u64,
    /// Problems found, each naming a position or key; empty when the log is sound.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// True when no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The sled event store. Clones share one database and one writer.
#[derive(Debug, Clone)]
pub struct SledStore {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    db: sled::Db,
    log: sled::Tree,
    checkpoints: sled::Tree,
    queue: Option<mpsc::Sender<AppendRequest>>,
    head: watch::Sender<u64>,
    /// The number of the newest flush done, counting flushes in the order they began.
    flushed: watch::Sender<u64>,
    counters: Arc<Counters>,
    writer: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Counters {
    flushes: AtomicU64,
    /// Flushes begun: a flush numbered above what this read after a write makes that write
    /// durable.
    flushes_begun: AtomicU64,
    /// Nanoseconds spent in flushes.
    flush_nanos: AtomicU64,
    appends: AtomicU64,
    /// Streams whose first event is durable; moves with the durable head.
    durable_streams: AtomicU64,
    /// Set for good after an apply or flush failed: from then on nothing is acknowledged,
    /// since a later successful fsync does not bring back pages an earlier one lost. Only
    /// opening the store again (which recovers the log as after a crash) writes again.
    failed: AtomicBool,
    /// What failed first.
    failure: std::sync::Mutex<Option<String>>,
}

impl Counters {
    /// Records that a write failed with `error`; true for the first failure.
    fn fail(&self, error: &StoreError) -> bool {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        let first = failure.is_none();
        if first {
            *failure = Some(error.to_string());
        }
        self.failed.store(true, Ordering::Release);
        first
    }

    fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Why writes are refused, once a write failed.
    fn refusal(&self) -> Option<String> {
        if !self.is_failed() {
            return None;
        }
        let failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        let reason = failure.as_deref().unwrap_or("unknown");
        Some(if reason.contains(DISK_FULL) {
            format!(
                "the store's disk is full ({reason}): writes are refused until space is freed \
                 and the store has reopened its log"
            )
        } else {
            format!(
                "a write to the store's disk failed ({reason}): writes are refused until the \
                 store has reopened its log"
            )
        })
    }

    fn refused(&self) -> StoreError {
        StoreError::Unavailable(self.refusal().unwrap_or_default())
    }
}

/// What an error says when the disk is full.
const DISK_FULL: &str = "the disk is full";

#[derive(Debug)]
struct AppendRequest {
    stream: String,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Result<AppendResult>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Closing the queue ends the writer after it has answered what it holds; joining it
        // releases sled's file lock before the store can be opened again.
        self.queue.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        let _ = self.db.flush();
    }
}

fn storage(error: impl std::fmt::Display) -> StoreError {
    let text = error.to_string();
    // sled words ENOSPC as `Os { code: 28, kind: StorageFull, … }`.
    if text.contains("StorageFull") || text.contains("No space left on device") {
        return StoreError::Unavailable(format!("storage: {DISK_FULL} ({text})"));
    }
    StoreError::Unavailable(format!("storage: {text}"))
}

fn event_key(position: u64) -> [u8; 9] {
    let mut key = [EVENT; 9];
    key[1..].copy_from_slice(&position.to_be_bytes());
    key
}

fn stream_prefix(stream: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(stream.len() + 10);
    key.push(STREAM);
    key.extend_from_slice(stream.as_bytes());
    key.push(0);
    key
}

fn stream_key(stream: &str, version: u64) -> Vec<u8> {
    let mut key = stream_prefix(stream);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

fn id_key(event_id: u128) -> [u8; 17] {
    let mut key = [EVENT_ID; 17];
    key[1..].copy_from_slice(&event_id.to_be_bytes());
    key
}

fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

impl SledStore {
    /// Opens (or creates) the store in `config.path` and starts its writer thread.
    pub fn open(config: SledStoreConfig) -> Result<Self> {
        let db = open_db(&config)?;
        let log = db.open_tree("log").map_err(storage)?;
        let checkpoints = db.open_tree("checkpoints").map_err(storage)?;
        let next_position = match log.scan_prefix([EVENT]).next_back() {
            None => 0,
            Some(entry) => {
                let (key, value) = entry.map_err(storage)?;
                let position = be_u64(&key[1..]).ok_or_else(|| StoreError::Corrupt {
                    position: 0,
                    reason: format!("event key of {} bytes", key.len()),
                })?;
                // The last record is the one a crash would have hurt: read it now, not later.
                decode_record(position, &value)?;
                position + 1
            }
        };
        let (head, _) = watch::channel(next_position);
        let (flushed, _) = watch::channel(0);
        let (queue, requests) = mpsc::channel(QUEUE_DEPTH);
        let streams = stream_count(&log)?;
        let counters = Arc::new(Counters {
            durable_streams: AtomicU64::new(streams),
            ..Counters::default()
        });
        let writer = writer::start(
            db.clone(),
            log.clone(),
            next_position,
            streams,
            writer::Durable {
                head: head.clone(),
                flushed: flushed.clone(),
            },
            counters.clone(),
            requests,
        )
        .map_err(storage)?;
        Ok(Self {
            shared: Arc::new(Shared {
                db,
                log,
                checkpoints,
                queue: Some(queue),
                head,
                flushed,
                counters,
                writer: Some(writer),
            }),
        })
    }

    /// Opens the store in `path` with default settings.
    pub fn open_path(path: impl AsRef<Path>) -> Result<Self> {
        Self::open(SledStoreConfig::new(path.as_ref()))
    }

    /// Flushes done so far: with group commit, far fewer than appends.
    pub fn flush_count(&self) -> u64 {
        self.shared.counters.flushes.load(Ordering::Relaxed)
    }

    /// Time spent in flushes so far.
    pub fn flush_time(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.shared.counters.flush_nanos.load(Ordering::Relaxed))
    }

    /// Why the store refuses writes, once a write to its disk failed (a full disk, an I/O
    /// error): it then refuses every append until it is opened again. `None` while it writes.
    pub fn failure(&self) -> Option<String> {
        self.shared.counters.refusal()
    }

    /// Appends written so far (duplicates and refusals not counted).
    pub fn append_count(&self) -> u64 {
        self.shared.counters.appends.load(Ordering::Relaxed)
    }

    /// The position stored under a named checkpoint (e.g. the outbox's "published up to").
    pub fn checkpoint(&self, name: &str) -> Result<Option<u64>> {
        let value = self.shared.checkpoints.get(name).map_err(storage)?;
        value
            .map(|v| {
                be_u64(&v).ok_or_else(|| StoreError::Corrupt {
                    position: 0,
                    reason: format!("checkpoint {name:?} holds {} bytes, not 8", v.len()),
                })
            })
            .transpose()
    }

    /// Stores a named checkpoint and returns once it is on disk. While appends are coming it
    /// rides on the writer's next flush (a flush of its own would queue behind the writer's
    /// and hold up the appends after it); when none comes soon, it flushes itself.
    pub async fn save_checkpoint(&self, name: &str, position: u64) -> Result<()> {
        self.shared
            .checkpoints
            .insert(name, &position.to_be_bytes())
            .map_err(storage)?;
        // Any flush that begins after the insert covers it.
        let covering = self.shared.counters.flushes_begun.load(Ordering::SeqCst) + 1;
        let mut flushed = self.shared.flushed.subscribe();
        let covered = tokio::time::timeout(CHECKPOINT_FLUSH_WAIT, async {
            flushed.wait_for(|done| *done >= covering).await.is_ok()
        })
        .await
        .unwrap_or(false);
        if !covered {
            self.shared.db.flush_async().await.map_err(storage)?;
        }
        Ok(())
    }
    fn durable_head(&self) -> u64 {
        *self.shared.head.borrow()
    }

    /// Reads up to `max` records of the log from `from_position` as stored bytes, undecoded,
    /// stopping once they pass `max_bytes` (but with at least one): for serving reads over the
    /// network, where the reader decodes (and checks) them.
    pub fn read_all_raw(
        &self,
        from_position: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Vec<RawRecord>> {
        let head = self.durable_head();
        if from_position >= head || max == 0 {
            return Ok(Vec::new());
        }
        let end = head.min(from_position.saturating_add(max as u64));
        let mut out = Vec::with_capacity(((end - from_position) as usize).min(4_096));
        let mut total_bytes = 0;
        for entry in self
            .shared
            .log
            .range(event_key(from_position)..event_key(end))
        {
            let (key, value) = entry.map_err(storage)?;
            total_bytes += value.len() + RAW_RECORD_OVERHEAD;
            if total_bytes > max_bytes && !out.is_empty() {
                break;
            }
            let position = be_u64(&key[1..]).unwrap_or(u64::MAX);
            out.push(RawRecord {
                position,
                bytes: value,
            });
        }
        Ok(out)
    }

    /// Reads up to `max` records of `stream` from `from_version` as stored bytes, undecoded,
    /// stopping once they pass `max_bytes` (but with at least one).
    pub fn read_stream_raw(
        &self,
        stream: &str,
        from_version: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Vec<RawRecord>> {
        self.read_stream_raw_part(stream, from_version, max, max_bytes)
            .map(|(records, _)| records)
    }

    /// [`SledStore::read_stream_raw`], also saying whether the records reach the stream's
    /// durable end (false when `max` or `max_bytes` stopped the read first).
    pub fn read_stream_raw_part(
        &self,
        stream: &str,
        from_version: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<(Vec<RawRecord>, bool)> {
        validate_stream_id(stream)?;
        let head = self.durable_head();
        let prefix = stream_prefix(stream);
        let mut out = Vec::new();
        let mut total_bytes = 0;
        for entry in self.shared.log.range(stream_key(stream, from_version)..) {
            if out.len() >= max {
                return Ok((out, false));
            }
            let (key, value) = entry.map_err(storage)?;
            if !key.starts_with(&prefix) {
                break;
            }
            let Some(position) = be_u64(&value) else {
                return Err(StoreError::Corrupt {
                    position: 0,
                    reason: format!("stream index entry of {stream} holds {} bytes", value.len()),
                });
            };
            if position >= head {
                break;
            }
            let bytes = self
                .shared
                .log
                .get(event_key(position))
                .map_err(storage)?
                .ok_or_else(|| StoreError::Corrupt {
                    position,
                    reason: format!("indexed by stream {stream} but not in the log"),
                })?;
            total_bytes += bytes.len() + RAW_RECORD_OVERHEAD;
            if total_bytes > max_bytes && !out.is_empty() {
                return Ok((out, false));
            }
            out.push(RawRecord { position, bytes });
        }
        Ok((out, true))
    }

    fn last_version(&self, stream: &str) -> Result<Option<u64>> {
        let head = self.durable_head();
        let prefix = stream_prefix(stream);
        for entry in self.shared.log.scan_prefix(&prefix).rev() {
            let (key, value) = entry.map_err(storage)?;
            // Index entries of a group still being flushed are visible in sled but not durable.
            if be_u64(&value).is_some_and(|p| p < head) {
                return Ok(be_u64(&key[prefix.len()..]));
            }
        }
        Ok(None)
    }
}

/// Opens the sled database of a store.
fn open_db(config: &SledStoreConfig) -> Result<sled::Db> {
    sled::Config::new()
        .path(&config.path)
        .cache_capacity(config.cache_capacity_bytes)
        .mode(sled::Mode::HighThroughput)
        // Durability is our explicit flush per group; a background flush would only compete.
        .flush_every_ms(None)
        .open()
        .map_err(|e| storage(format!("opening {}: {e}", config.path.display())))
}

fn stream_count(log: &sled::Tree) -> Result<u64> {
    Ok(log
        .get(STREAM_COUNT_KEY)
        .map_err(storage)?
        .as_deref()
        .and_then(be_u64)
        .unwrap_or(0))
}

impl EventStore for SledStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        validate_append(stream, &events)?;
        if self.shared.counters.is_failed() {
            return Err(self.shared.counters.refused());
        }
        let (reply, answer) = oneshot::channel();
        let request = AppendRequest {
            stream: stream.to_owned(),
            expected,
            events,
            reply,
        };
        let queue = self
            .shared
            .queue
            .as_ref()
            .expect("queue lives as long as the store");
        queue
            .send(request)
            .await
            .map_err(|_| StoreError::Unavailable("the writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the writer stopped before answering".into()))?
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>> {
        self.read_stream_raw(stream, from_version, max, usize::MAX)?
            .iter()
            .map(RawRecord::decode)
            .collect()
    }

    async fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>> {
        self.read_all_raw(from_position, max, usize::MAX)?
            .iter()
            .map(RawRecord::decode)
            .collect()
    }

    async fn stream_version(&self, stream: &str) -> Result<Option<u64>> {
        validate_stream_id(stream)?;
        self.last_version(stream)
    }

    async fn stats(&self) -> Result<StoreStats> {
        Ok(StoreStats {
            events: self.durable_head(),
            streams: self.shared.counters.durable_streams.load(Ordering::Acquire),
            disk_bytes: self.shared.db.size_on_disk().map_err(storage)?,
        })
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.shared.head.subscribe()
    }
}

mod import;
#[cfg(test)]
mod tests;
mod verify;
mod writer;
