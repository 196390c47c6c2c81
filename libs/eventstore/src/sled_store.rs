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
    counters: Arc<Counters>,
    writer: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Counters {
    flushes: AtomicU64,
    appends: AtomicU64,
    /// Streams whose first event is durable; moves with the durable head.
    durable_streams: AtomicU64,
    /// Set for good after an apply or flush failed: from then on nothing is acknowledged,
    /// since a later successful fsync does not bring back pages an earlier one lost.
    failed: AtomicBool,
}

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
    StoreError::Unavailable(format!("storage: {error}"))
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
        let db = sled::Config::new()
            .path(&config.path)
            .cache_capacity(config.cache_capacity_bytes)
            .mode(sled::Mode::HighThroughput)
            // Durability is our explicit flush per group; a background flush would only compete.
            .flush_every_ms(None)
            .open()
            .map_err(|e| storage(format!("opening {}: {e}", config.path.display())))?;
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
        let (queue, requests) = mpsc::channel(QUEUE_DEPTH);
        let streams = stream_count(&log)?;
        let counters = Arc::new(Counters {
            durable_streams: AtomicU64::new(streams),
            ..Counters::default()
        });
        let writer = Writer {
            db: db.clone(),
            log: log.clone(),
            next_position,
            streams,
            versions: HashMap::new(),
            head: head.clone(),
            counters: counters.clone(),
        };
        let writer = std::thread::Builder::new()
            .name("eventstore-writer".into())
            .spawn(move || writer.run(requests))
            .map_err(storage)?;
        Ok(Self {
            shared: Arc::new(Shared {
                db,
                log,
                checkpoints,
                queue: Some(queue),
                head,
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

    /// Stores a named checkpoint and flushes it to disk.
    pub async fn save_checkpoint(&self, name: &str, position: u64) -> Result<()> {
        self.shared
            .checkpoints
            .insert(name, &position.to_be_bytes())
            .map_err(storage)?;
        self.shared.db.flush_async().await.map_err(storage)?;
        Ok(())
    }

    /// Reads the whole log and checks every record and index entry, calling `progress` with
    /// (records read, records in all) every so often.
    pub fn verify(&self, mut progress: impl FnMut(u64, u64)) -> Result<VerifyReport> {
        const MAX_PROBLEMS: usize = 100;
        // Appends may go on while we read: check the log up to the head as it is now.
        let head = self.durable_head();
        let log = &self.shared.log;
        let mut report = VerifyReport::default();
        let mut next_versions: HashMap<String, u64> = HashMap::new();
        let problem = |report: &mut VerifyReport, text: String| {
            if report.problems.len() < MAX_PROBLEMS {
                report.problems.push(text);
            }
        };
        let mut expected_position = 0u64;
        for entry in log.range(event_key(0)..event_key(head)) {
            let (key, value) = entry.map_err(storage)?;
            let Some(position) = be_u64(&key[1..]) else {
                problem(&mut report, format!("event key {key:?} is not 9 bytes"));
                continue;
            };
            if position != expected_position {
                let text = format!(
                    "gap: positions {expected_position} to {} are missing",
                    position - 1
                );
                problem(&mut report, text);
            }
            expected_position = position + 1;
            report.events += 1;
            if report.events % 65_536 == 0 {
                progress(report.events, head);
            }
            let record = match decode_record(position, &value) {
                Ok(record) => record,
                Err(e) => {
                    problem(&mut report, e.to_string());
                    continue;
                }
            };
            let next_version = next_versions.entry(record.stream_id.clone()).or_insert(0);
            if record.stream_version != *next_version {
                let text = format!(
                    "position {position}: stream {} version {} where {} was due",
                    record.stream_id, record.stream_version, next_version
                );
                problem(&mut report, text);
            }
            *next_version = record.stream_version + 1;
            let index = log
                .get(stream_key(&record.stream_id, record.stream_version))
                .map_err(storage)?;
            if index.as_deref().and_then(be_u64) != Some(position) {
                let text = format!("position {position}: stream index entry missing or wrong");
                problem(&mut report, text);
            }
            let id = log.get(id_key(record.event_id)).map_err(storage)?;
            if id.as_deref().and_then(be_u64) != Some(position) {
                let text = format!("position {position}: event id index entry missing or wrong");
                problem(&mut report, text);
            }
        }
        if expected_position != head {
            let text = format!("the log ends at {expected_position} but the head is {head}");
            problem(&mut report, text);
        }
        report.streams = next_versions.len() as u64;
        let mut index_entries = 0u64;
        for entry in log.scan_prefix([STREAM]) {
            let (_, value) = entry.map_err(storage)?;
            match be_u64(&value) {
                Some(position) if position >= head => {}
                Some(_) => index_entries += 1,
                None => problem(&mut report, "a stream index entry is not 8 bytes".into()),
            }
        }
        if index_entries != report.events {
            let text = format!(
                "{index_entries} stream index entries for {} events",
                report.events
            );
            problem(&mut report, text);
        }
        // The stream counter can only be compared while no append moved the head meanwhile.
        let stored_streams = self.shared.counters.durable_streams.load(Ordering::Acquire);
        if self.durable_head() == head && stored_streams != report.streams {
            let text = format!(
                "stream counter says {stored_streams}, the log holds {}",
                report.streams
            );
            problem(&mut report, text);
        }
        progress(report.events, head);
        Ok(report)
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
        if self.shared.counters.failed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable(
                "an earlier flush failed; the store refuses writes until it is restarted".into(),
            ));
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

/// The single writer: owns positions and the cache of stream versions.
struct Writer {
    db: sled::Db,
    log: sled::Tree,
    next_position: u64,
    /// Streams applied so far (durable or not).
    streams: u64,
    /// Last version of streams seen so far; others are looked up in sled on first use.
    versions: HashMap<String, u64>,
    head: watch::Sender<u64>,
    counters: Arc<Counters>,
}

/// A group applied to sled but not yet durable, with the answers that wait for it.
type Answer = (oneshot::Sender<Result<AppendResult>>, Result<AppendResult>);

struct Applied {
    answers: Vec<Answer>,
    /// The head once this group is durable.
    head: u64,
    /// The stream count once this group is durable.
    streams: u64,
}

/// Flushes what the writer has applied, one flush for every group waiting, and only then
/// answers and moves the durable head. Running beside the writer, it overlaps the disk's
/// sync with the deciding and applying of the next groups.
struct Flusher {
    db: sled::Db,
    head: watch::Sender<u64>,
    counters: Arc<Counters>,
}

impl Flusher {
    fn run(self, applied: std::sync::mpsc::Receiver<Applied>) {
        while let Ok(first) = applied.recv() {
            let mut groups = vec![first];
            groups.extend(applied.try_iter());
            let flushed = if self.counters.failed.load(Ordering::Acquire) {
                Err(StoreError::Unavailable(
                    "an earlier write failed; the store refuses writes until it is restarted"
                        .into(),
                ))
            } else {
                let started = std::time::Instant::now();
                let flushed = self.db.flush().map_err(storage);
                metrics::histogram!("store_flush_duration_seconds").record(started.elapsed());
                flushed
            };
            match flushed {
                Ok(_) => {
                    self.counters.flushes.fetch_add(1, Ordering::Relaxed);
                    let answers = groups.iter().flat_map(|g| &g.answers);
                    let (size, written) = answers.fold((0u64, 0u64), |(size, written), (_, a)| {
                        let wrote = matches!(a, Ok(result) if !result.duplicate);
                        (size + 1, written + u64::from(wrote))
                    });
                    metrics::histogram!("store_group_size").record(size as f64);
                    metrics::counter!("store_appends_total").increment(written);
                    let last = groups.last().expect("at least one group");
                    // Groups arrive in order, so the last one carries the newest totals. The
                    // head moves first: `verify` reads the count first, then the head.
                    crate::advance_head(&self.head, last.head);
                    self.counters
                        .durable_streams
                        .store(last.streams, Ordering::Release);
                    for (reply, answer) in groups.into_iter().flat_map(|g| g.answers) {
                        let _ = reply.send(answer);
                    }
                }
                Err(e) => {
                    if !self.counters.failed.swap(true, Ordering::AcqRel) {
                        tracing::error!(error = %e, "flush failed; refusing further writes");
                    }
                    for (reply, answer) in groups.into_iter().flat_map(|g| g.answers) {
                        let _ = reply.send(answer.and_then(|_| Err(e.clone())));
                    }
                }
            }
        }
    }
}

/// What one group commit has decided so far, on top of what is stored.
#[derive(Default)]
struct Group {
    batch: sled::Batch,
    versions: HashMap<String, u64>,
    ids: HashMap<u128, (u64, u64)>,
    new_streams: u64,
    writes: usize,
}

impl Writer {
    fn run(mut self, mut requests: mpsc::Receiver<AppendRequest>) {
        let (to_flusher, applied) = std::sync::mpsc::channel();
        let flusher = Flusher {
            db: self.db.clone(),
            head: self.head.clone(),
            counters: self.counters.clone(),
        };
        let flusher = std::thread::Builder::new()
            .name("eventstore-flusher".into())
            .spawn(move || flusher.run(applied));
        let flusher = match flusher {
            Ok(flusher) => flusher,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the flusher thread");
                self.counters.failed.store(true, Ordering::Release);
                return;
            }
        };
        let mut group = Vec::with_capacity(MAX_GROUP);
        while let Some(first) = requests.blocking_recv() {
            group.push(first);
            while group.len() < MAX_GROUP {
                match requests.try_recv() {
                    Ok(request) => group.push(request),
                    Err(_) => break,
                }
            }
            let applied = self.commit(&mut group);
            if to_flusher.send(applied).is_err() {
                break;
            }
        }
        drop(to_flusher);
        let _ = flusher.join();
    }

    /// Decides and applies one group; its answers go out only after the flusher has made it
    /// durable, so even a duplicate or a conflict is never reported from state a crash could
    /// still take back.
    fn commit(&mut self, requests: &mut Vec<AppendRequest>) -> Applied {
        if self.counters.failed.load(Ordering::Acquire) {
            let refused = StoreError::Unavailable(
                "an earlier write failed; the store refuses writes until it is restarted".into(),
            );
            return Applied {
                answers: requests
                    .drain(..)
                    .map(|request| (request.reply, Err(refused.clone())))
                    .collect(),
                head: self.next_position,
                streams: self.streams,
            };
        }
        let mut group = Group::default();
        let mut next_position = self.next_position;
        let mut answers = Vec::with_capacity(requests.len());
        for request in requests.drain(..) {
            let answer = self.decide(&mut group, &mut next_position, &request);
            answers.push((request.reply, answer));
        }
        if group.writes > 0 {
            if let Err(e) = self.apply(group, next_position) {
                tracing::error!(error = %e, "applying a group failed; refusing further writes");
                self.counters.failed.store(true, Ordering::Release);
                // Only duplicates of events stored before this group still hold.
                let stored_before = self.next_position;
                answers = answers
                    .into_iter()
                    .map(|(reply, answer)| {
                        let answer = answer.and_then(|a| {
                            if a.duplicate && a.last_position < stored_before {
                                Ok(a)
                            } else {
                                Err(e.clone())
                            }
                        });
                        (reply, answer)
                    })
                    .collect();
            }
        }
        Applied {
            answers,
            head: self.next_position,
            streams: self.streams,
        }
    }

    fn apply(&mut self, group: Group, next_position: u64) -> Result<()> {
        let mut batch = group.batch;
        let streams = self.streams + group.new_streams;
        if group.new_streams > 0 {
            batch.insert(STREAM_COUNT_KEY, &streams.to_be_bytes());
        }
        self.log.apply_batch(batch).map_err(storage)?;
        self.versions.extend(group.versions);
        self.next_position = next_position;
        self.streams = streams;
        Ok(())
    }

    fn current_version(&mut self, group: &Group, stream: &str) -> Result<Option<u64>> {
        if let Some(v) = group.versions.get(stream) {
            return Ok(Some(*v));
        }
        if let Some(v) = self.versions.get(stream) {
            return Ok(Some(*v));
        }
        let prefix = stream_prefix(stream);
        let stored = match self.log.scan_prefix(&prefix).next_back() {
            None => None,
            Some(entry) => {
                let (key, _) = entry.map_err(storage)?;
                be_u64(&key[prefix.len()..])
            }
        };
        if let Some(v) = stored {
            self.versions.insert(stream.to_owned(), v);
        }
        Ok(stored)
    }

    /// Where an event id already lives: (position, stream version).
    fn stored_id(&self, group: &Group, event_id: u128) -> Result<Option<(u64, u64)>> {
        if let Some(found) = group.ids.get(&event_id) {
            return Ok(Some(*found));
        }
        let Some(value) = self.log.get(id_key(event_id)).map_err(storage)? else {
            return Ok(None);
        };
        let position = be_u64(&value).ok_or_else(|| StoreError::Corrupt {
            position: 0,
            reason: format!(
                "event id index of {event_id:032x} holds {} bytes",
                value.len()
            ),
        })?;
        let record = self
            .log
            .get(event_key(position))
            .map_err(storage)?
            .ok_or_else(|| StoreError::Corrupt {
                position,
                reason: format!("event {event_id:032x} is indexed here but not in the log"),
            })?;
        Ok(Some((
            position,
            decode_record(position, &record)?.stream_version,
        )))
    }

    fn decide(
        &mut self,
        group: &mut Group,
        next_position: &mut u64,
        request: &AppendRequest,
    ) -> Result<AppendResult> {
        let mut known = Vec::with_capacity(request.events.len());
        for event in &request.events {
            known.push(self.stored_id(group, event.event_id)?);
        }
        if known.iter().all(Option::is_some) {
            let (first_position, _) = known[0].expect("checked");
            let (last_position, stream_version) = known[known.len() - 1].expect("checked");
            return Ok(AppendResult {
                first_position,
                last_position,
                stream_version,
                duplicate: true,
            });
        }
        if let Some(i) = known.iter().position(Option::is_some) {
            return Err(StoreError::PartialDuplicate {
                event_id: request.events[i].event_id,
            });
        }
        let current = self.current_version(group, &request.stream)?;
        if !request.expected.admits(current) {
            return Err(StoreError::WrongExpectedVersion {
                stream: request.stream.clone(),
                expected: request.expected,
                current,
            });
        }
        let recorded_at_ms = now_ms();
        let first_position = *next_position;
        let first_version = current.map_or(0, |v| v + 1);
        for (offset, event) in request.events.iter().enumerate() {
            let position = first_position + offset as u64;
            let version = first_version + offset as u64;
            let record = encode_new_record(&request.stream, version, recorded_at_ms, event);
            group.batch.insert(&event_key(position), record);
            group.batch.insert(
                stream_key(&request.stream, version),
                &position.to_be_bytes(),
            );
            group
                .batch
                .insert(&id_key(event.event_id), &position.to_be_bytes());
            group.ids.insert(event.event_id, (position, version));
        }
        let count = request.events.len() as u64;
        if current.is_none() {
            group.new_streams += 1;
        }
        group
            .versions
            .insert(request.stream.clone(), first_version + count - 1);
        group.writes += 1;
        *next_position = first_position + count;
        self.counters.appends.fetch_add(1, Ordering::Relaxed);
        Ok(AppendResult {
            first_position,
            last_position: first_position + count - 1,
            stream_version: first_version + count - 1,
            duplicate: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metadata;

    crate::conformance_tests!(async {
        let dir = tempfile::tempdir().unwrap();
        (SledStore::open_path(dir.path()).unwrap(), dir)
    });

    fn event(id: u128) -> NewEvent {
        NewEvent {
            event_id: id,
            event_type: "CaseReported".into(),
            schema_version: 1,
            metadata: Metadata::default(),
            payload: vec![7; 300],
        }
    }

    #[tokio::test]
    async fn appends_survive_reopening_and_positions_continue() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open_path(dir.path()).unwrap();
            store
                .append(
                    "case-a",
                    ExpectedVersion::NoStream,
                    vec![event(1), event(2)],
                )
                .await
                .unwrap();
            store
                .append("case-b", ExpectedVersion::NoStream, vec![event(3)])
                .await
                .unwrap();
        }
        let store = SledStore::open_path(dir.path()).unwrap();
        assert_eq!(store.stats().await.unwrap().events, 3);
        assert_eq!(store.stats().await.unwrap().streams, 2);
        assert_eq!(store.stream_version("case-a").await.unwrap(), Some(1));
        let appended = store
            .append("case-a", ExpectedVersion::Exact(1), vec![event(4)])
            .await
            .unwrap();
        assert_eq!((appended.first_position, appended.stream_version), (3, 2));
        // An id stored before the restart is still known after it.
        let again = store
            .append("case-b", ExpectedVersion::Any, vec![event(3)])
            .await
            .unwrap();
        assert!(again.duplicate);
        assert_eq!(again.first_position, 2);
        let report = store.verify(|_, _| {}).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert_eq!((report.events, report.streams), (4, 2));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_share_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open_path(dir.path()).unwrap();
        let mut tasks = Vec::new();
        for writer in 0..64u128 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..20u128 {
                    let stream = format!("case-{writer}");
                    store
                        .append(
                            &stream,
                            ExpectedVersion::Any,
                            vec![event(writer * 1_000 + i)],
                        )
                        .await
                        .unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(store.append_count(), 64 * 20);
        assert!(
            store.flush_count() < store.append_count() / 2,
            "{} flushes for {} appends: group commit is not grouping",
            store.flush_count(),
            store.append_count()
        );
        assert!(store.verify(|_, _| {}).unwrap().is_ok());
    }

    #[tokio::test]
    async fn corrupt_record_is_an_error_naming_its_position_and_verify_finds_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open_path(dir.path()).unwrap();
        for i in 0..5u128 {
            store
                .append("case-a", ExpectedVersion::Any, vec![event(i)])
                .await
                .unwrap();
        }
        let mut bytes = store
            .shared
            .log
            .get(event_key(3))
            .unwrap()
            .unwrap()
            .to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        store.shared.log.insert(event_key(3), bytes).unwrap();

        let error = store.read_all(0, 10).await.unwrap_err();
        assert!(
            matches!(error, StoreError::Corrupt { position: 3, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("position 3"));
        let stream_error = store.read_stream("case-a", 0, 10).await.unwrap_err();
        assert!(matches!(
            stream_error,
            StoreError::Corrupt { position: 3, .. }
        ));
        let report = store.verify(|_, _| {}).unwrap();
        assert!(!report.is_ok());
        assert!(
            report.problems[0].contains("position 3"),
            "{:?}",
            report.problems
        );
    }

    #[tokio::test]
    async fn checkpoints_persist() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open_path(dir.path()).unwrap();
            assert_eq!(store.checkpoint("outbox").unwrap(), None);
            store.save_checkpoint("outbox", 41).await.unwrap();
        }
        let store = SledStore::open_path(dir.path()).unwrap();
        assert_eq!(store.checkpoint("outbox").unwrap(), Some(41));
    }
}
