//! The gridcase event store: every case is a stream of immutable events, and every event also
//! has a place in one global log.
//!
//! An append is atomic for all its events and carries an [`ExpectedVersion`] for optimistic
//! concurrency; re-appending event ids that are already stored returns the original positions
//! and writes nothing, so clients can retry blindly. Positions in the global log are dense
//! (0, 1, 2, … with no gaps), which is what lets a reader — local or across the network — detect
//! and fill any gap by asking for the missing positions.
//!
//! [`SledStore`] is the store of record: it acknowledges an append only after sled has flushed
//! it, and concurrent appends share one flush (group commit). [`MemoryStore`] has the same
//! semantics without durability, for unit tests of code that sits on top. Both pass the one
//! [`conformance`] suite (feature `conformance`), which other crates also run against their own
//! implementations.

pub mod backup;
mod catchup;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod envelope;
mod memory;
pub mod readmodel;
mod sled_store;

use std::fmt;
use std::future::Future;

use serde::{Deserialize, Serialize};

pub use catchup::CatchUp;
pub use envelope::{decode_record, encode_record, view_record, RecordView, RECORD_FORMAT};
pub use memory::MemoryStore;
pub use readmodel::{ReadModelConfig, ReadModelStore};
pub use sled_store::{
    ImportReport, RawRecord, SledStore, SledStoreConfig, VerifyReport, RAW_RECORD_OVERHEAD,
};

/// Most events one append may carry.
pub const MAX_EVENTS_PER_APPEND: usize = 1_000;
/// Largest payload one event may carry, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
/// The most shards one city's log can be kept in (a read model keeps a checkpoint for each).
pub const MAX_SHARDS: usize = 64;
/// Longest stream id, in bytes.
pub const MAX_STREAM_ID_BYTES: usize = 128;
/// Longest event type name or actor, in bytes.
pub const MAX_NAME_BYTES: usize = 128;

/// Result alias of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What can go wrong in the store. It is serialisable so a remote client can hand callers the
/// very same error the store produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum StoreError {
    /// The stream is not at the version the caller decided on.
    #[error("wrong expected version on stream {stream}: expected {expected}, current {}", fmt_version(*.current))]
    WrongExpectedVersion {
        /// The stream appended to.
        stream: String,
        /// What the caller expected.
        expected: ExpectedVersion,
        /// The stream's last version, `None` when it does not exist.
        current: Option<u64>,
    },
    /// The request breaks a rule; the message names the field and the rule.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Some but not all event ids of an append are already stored.
    #[error("event {event_id:032x} is already stored but other events of the append are not: an append is retried whole or not at all")]
    PartialDuplicate {
        /// The first event id found already stored.
        event_id: u128,
    },
    /// Stored bytes could not be read back.
    #[error("corrupt record at position {position}: {reason}")]
    Corrupt {
        /// Global position of the bad record.
        position: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The store cannot serve now (disk failure, shut down, remote store unreachable).
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

fn fmt_version(version: Option<u64>) -> String {
    version.map_or_else(|| "no stream".to_owned(), |v| v.to_string())
}

/// The version a caller expects a stream to be at when it appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// Append whatever the stream's version.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have this version (versions start at 0).
    Exact(u64),
}

impl ExpectedVersion {
    /// The expectation that matches a stream whose last version is `current`.
    pub fn from_current(current: Option<u64>) -> Self {
        current.map_or(Self::NoStream, Self::Exact)
    }

    fn admits(self, current: Option<u64>) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => current.is_none(),
            Self::Exact(v) => current == Some(v),
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::Exact(v) => write!(f, "{v}"),
        }
    }
}

/// Who and why: ids that tie events to the request and the event that caused them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Id shared by every event that one outside request led to.
    pub correlation_id: Option<u128>,
    /// Id of the event (or command) that directly caused this one.
    pub causation_id: Option<u128>,
    /// Who decided: `role:id`, e.g. `department:urban_mgmt`.
    pub actor: Option<String>,
}

/// An event as a writer hands it to the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Unique id; the key of idempotent retries.
    pub event_id: u128,
    /// Type name, e.g. `CaseReported`.
    pub event_type: String,
    /// Version of the payload's shape, for upcasting on read.
    pub schema_version: u16,
    /// Correlation, causation and actor.
    pub metadata: Metadata,
    /// Postcard bytes of the payload.
    pub payload: Vec<u8>,
}

/// An event as the store recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Place in the global log, dense from 0.
    pub position: u64,
    /// The stream it belongs to.
    pub stream_id: String,
    /// Place in its stream, dense from 0.
    pub stream_version: u64,
    /// The id the writer gave it.
    pub event_id: u128,
    /// Type name.
    pub event_type: String,
    /// Version of the payload's shape.
    pub schema_version: u16,
    /// When the store recorded it, milliseconds since the Unix epoch.
    pub recorded_at_ms: i64,
    /// Correlation, causation and actor.
    pub metadata: Metadata,
    /// Postcard bytes of the payload.
    pub payload: Vec<u8>,
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendResult {
    /// Global position of the first event.
    pub first_position: u64,
    /// Global position of the last event.
    pub last_position: u64,
    /// Stream version of the last event: the expected version for the next append.
    pub stream_version: u64,
    /// True when every event id was already stored and nothing was written.
    pub duplicate: bool,
}

/// Part of a stream, as [`EventStore::read_stream_part`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPart {
    /// The events read, in version order.
    pub events: Vec<RecordedEvent>,
    /// True if no event of the stream follows the last one read.
    pub at_end: bool,
}

/// Figures about a store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStats {
    /// Events stored; also the next global position.
    pub events: u64,
    /// Streams stored.
    pub streams: u64,
    /// Bytes on disk, where the implementation knows.
    pub disk_bytes: u64,
}

/// Several stores' figures added up: a sharded store's.
impl<'a> std::iter::Sum<&'a StoreStats> for StoreStats {
    fn sum<I: Iterator<Item = &'a StoreStats>>(stats: I) -> Self {
        stats.fold(Self::default(), |sum, one| Self {
            events: sum.events + one.events,
            streams: sum.streams + one.streams,
            disk_bytes: sum.disk_bytes + one.disk_bytes,
        })
    }
}

/// Moves a head watch forward to `to`; never backward, and without waking watchers when it
/// does not move.
pub fn advance_head(head: &tokio::sync::watch::Sender<u64>, to: u64) {
    head.send_if_modified(|current| {
        let moved = to > *current;
        if moved {
            *current = to;
        }
        moved
    });
}

/// Milliseconds since the Unix epoch by this machine's clock: the store's recorded-at.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Checks a stream id: 1–128 bytes of printable ASCII without `.`, `*`, `>` or spaces, since
/// stream ids become NATS subject tokens.
pub fn validate_stream_id(stream: &str) -> Result<()> {
    let bad = |why: &str| Err(StoreError::InvalidRequest(format!("stream_id: {why}")));
    if stream.is_empty() {
        return bad("must not be empty");
    }
    if stream.len() > MAX_STREAM_ID_BYTES {
        return bad(&format!(
            "{} bytes, at most {MAX_STREAM_ID_BYTES}",
            stream.len()
        ));
    }
    if let Some(c) = stream
        .chars()
        .find(|c| !c.is_ascii_graphic() || matches!(c, '.' | '*' | '>'))
    {
        return bad(&format!("character {c:?} not allowed"));
    }
    Ok(())
}

/// Checks an append request before anything is written; the error names the field.
pub fn validate_append(stream: &str, events: &[NewEvent]) -> Result<()> {
    validate_stream_id(stream)?;
    let bad = |why: String| Err(StoreError::InvalidRequest(why));
    if events.is_empty() {
        return bad("events: an append needs at least one event".into());
    }
    if events.len() > MAX_EVENTS_PER_APPEND {
        return bad(format!(
            "events: {} in one append, at most {MAX_EVENTS_PER_APPEND}",
            events.len()
        ));
    }
    for (i, event) in events.iter().enumerate() {
        if event.event_type.is_empty() || event.event_type.len() > MAX_NAME_BYTES {
            return bad(format!(
                "events[{i}].event_type: must be 1 to {MAX_NAME_BYTES} bytes"
            ));
        }
        if event.payload.len() > MAX_PAYLOAD_BYTES {
            return bad(format!(
                "events[{i}].payload: {} bytes, at most {MAX_PAYLOAD_BYTES}",
                event.payload.len()
            ));
        }
        if event
            .metadata
            .actor
            .as_ref()
            .is_some_and(|a| a.len() > MAX_NAME_BYTES)
        {
            return bad(format!(
                "events[{i}].metadata.actor: at most {MAX_NAME_BYTES} bytes"
            ));
        }
        if events[..i].iter().any(|e| e.event_id == event.event_id) {
            return bad(format!(
                "events[{i}].event_id: {:032x} appears twice in one append",
                event.event_id
            ));
        }
    }
    Ok(())
}

/// An event store. Implementations are cheap to clone handles onto shared state.
pub trait EventStore: Clone + Send + Sync + 'static {
    /// Appends `events` to `stream` atomically if the stream is at `expected`; acknowledged only
    /// once durable where the implementation is durable.
    fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = Result<AppendResult>> + Send;

    /// Reads up to `max` events of `stream` from `from_version` on; empty if there are none.
    fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>>> + Send;

    /// Reads events of `stream` from `from_version` on, up to `max`, and says whether they
    /// reach the stream's end (as far as it is durable), so a caller reading a whole stream
    /// stops without another read. A store whose reads are cut short by size overrides this.
    fn read_stream_part(
        &self,
        stream: &str,
        from_version: u64,
        max: usize,
    ) -> impl Future<Output = Result<StreamPart>> + Send {
        async move {
            let events = self.read_stream(stream, from_version, max).await?;
            Ok(StreamPart {
                at_end: events.len() < max,
                events,
            })
        }
    }

    /// Reads up to `max` events of the global log from `from_position` on.
    fn read_all(
        &self,
        from_position: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>>> + Send;

    /// The last version of `stream`, `None` when it does not exist.
    fn stream_version(&self, stream: &str) -> impl Future<Output = Result<Option<u64>>> + Send;

    /// Counts of what is stored.
    fn stats(&self) -> impl Future<Output = Result<StoreStats>> + Send;

    /// The head of each shard's log, in shard order: a store that is not sharded has one,
    /// its event count. A reader waits for every shard's to know it has seen everything
    /// committed before it asked.
    fn heads(&self) -> impl Future<Output = Result<Vec<u64>>> + Send {
        async move { Ok(vec![self.stats().await?.events]) }
    }

    /// A watch on the head: the position the next committed event will get. It only moves
    /// forward, and only once events are readable.
    fn watch_head(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Reads the global log from `from_position`, then keeps following it as events commit,
    /// with no gap and no duplicate.
    fn subscribe_all(&self, from_position: u64) -> CatchUp<Self> {
        CatchUp::new(self.clone(), from_position)
    }
}
