//! Cases on the event store: the glue every stage service uses to act on a case.
//!
//! [`CaseStore::execute`] loads a case's stream, decides a command on the state it read with the
//! pure domain, and appends the resulting events with the exact version it decided on. When
//! another replica got there first (a version conflict) it reads again and decides again; when
//! the same command was already carried out (its event ids are in the stream) it returns what
//! was recorded then instead of deciding twice. Event ids derive from the caller's command id,
//! so a blind retry of the same request can never write its events twice.
//!
//! [`TrackingCodes`] keeps the other thing services write: the reservation of a case's tracking
//! code, in a stream of its own per code; and [`people::PeopleStore`] the members and points
//! accounts, each a stream of its own.

pub mod ids;
pub mod people;
mod tracking;

use gridcase_domain::{codec, decide, CaseId, CaseState, Command, DomainError, Event};
use gridcase_eventstore::{
    EventStore, ExpectedVersion, Metadata, NewEvent, RecordedEvent, StoreError,
};

pub use tracking::{
    reservation_event_id, reservation_stream, Reservation, TrackingCodes, TrackingError,
};

/// How many times a command is decided again after version conflicts before giving up.
pub const MAX_ATTEMPTS: usize = 8;

/// Most events read from a case stream per request while loading.
const LOAD_BATCH: usize = 1_000;

/// Result alias of this crate.
pub type Result<T, E = CaseError> = std::result::Result<T, E>;

/// Why acting on a case failed.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The domain refused the command (wrong state, bad input): the caller's problem.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The store failed or refused the append.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event could not be decoded.
    #[error("case {case}: event at position {position}: {reason}")]
    Decode {
        /// The case.
        case: CaseId,
        /// Global position of the bad event.
        position: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// Other writers kept changing the case while this command was decided.
    #[error("case {case}: still conflicting after {attempts} attempts")]
    Contended {
        /// The case.
        case: CaseId,
        /// Attempts made.
        attempts: usize,
    },
}

/// One event of a case's timeline: what happened, and the store's record of when and by whom.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    /// The decoded event.
    pub event: Event,
    /// Global position.
    pub position: u64,
    /// Version in the case stream.
    pub version: u64,
    /// When the store recorded it, ms since the Unix epoch.
    pub recorded_at_ms: i64,
    /// Who decided it, as given by the service (`role:id`).
    pub actor: Option<String>,
    /// The event id.
    pub event_id: u128,
}

/// A case as read from the store.
#[derive(Debug, Clone, Default)]
pub struct LoadedCase {
    /// The state folded from every event.
    pub state: CaseState,
    /// The stream's last version, `None` when the case does not exist.
    pub version: Option<u64>,
    /// Every event in order.
    pub timeline: Vec<TimelineEntry>,
}

impl LoadedCase {
    /// True if the command of `context` is already carried out in this case (its first event
    /// is stored under one of its ids): a retried request.
    pub fn has_recorded(&self, context: &CommandContext) -> bool {
        context.known_ids().any(|command_id| {
            let first = event_id(command_id, 0);
            self.timeline.iter().any(|entry| entry.event_id == first)
        })
    }
}

/// Who asks and why: what every command carries besides its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandContext {
    /// Unique per request; retries of the same request reuse it. Event ids derive from it.
    pub command_id: u128,
    /// Who decides, as `role:id` (e.g. `department:urban_mgmt`).
    pub actor: String,
    /// The outside request all resulting events belong to.
    pub correlation_id: Option<u128>,
    /// The event that caused this command, if another event did.
    pub causation_id: Option<u128>,
    /// Ids the same command had under an earlier derivation ([`ids::legacy`]): a command whose
    /// events are stored under one of them is recognised as already carried out.
    pub earlier_ids: Vec<u128>,
}

impl CommandContext {
    /// The context of command `command_id` decided by `actor`, correlated with itself (a new
    /// outside request) and caused by no event.
    pub fn new(command_id: u128, actor: impl Into<String>) -> Self {
        Self {
            command_id,
            actor: actor.into(),
            correlation_id: Some(command_id),
            causation_id: None,
            earlier_ids: Vec::new(),
        }
    }

    /// The same context, recognising events stored under `earlier_id` as this command's.
    #[must_use]
    pub fn also_known_as(mut self, earlier_id: u128) -> Self {
        self.earlier_ids.push(earlier_id);
        self
    }

    /// Every id this command's events may be stored under, the current one first.
    pub fn known_ids(&self) -> impl Iterator<Item = u128> + '_ {
        std::iter::once(self.command_id).chain(self.earlier_ids.iter().copied())
    }
}

/// The outcome of a command.
#[derive(Debug, Clone)]
pub struct Executed {
    /// The events the command produced (now or, for a repeated command, the first time).
    pub events: Vec<Event>,
    /// The case after them.
    pub state: CaseState,
    /// The stream version after them.
    pub version: u64,
    /// True when the command had already been carried out and nothing was written now.
    pub repeated: bool,
}

/// The id of the `index`-th event of a command. Command ids are random 128-bit values, so ids
/// of different commands do not meet.
pub fn event_id(command_id: u128, index: usize) -> u128 {
    command_id.wrapping_add(index as u128)
}

const FNV128_OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const FNV128_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

/// FNV-1a, 128-bit, over `parts` as if concatenated: how services derive command and case ids
/// from what triggered them (a request id, an event id), so a retry or a redelivery gets the
/// same ids. Stable across Rust versions and platforms (unlike `DefaultHasher`), which matters
/// because the ids are stored.
pub fn fnv1a_128(parts: &[&[u8]]) -> u128 {
    let mut hash = FNV128_OFFSET;
    for byte in parts.iter().flat_map(|part| part.iter()) {
        hash ^= u128::from(*byte);
        hash = hash.wrapping_mul(FNV128_PRIME);
    }
    hash
}

/// The name of a case's stream in the store.
pub fn stream_name(case: CaseId) -> String {
    case.to_string()
}

/// Cases on an [`EventStore`].
#[derive(Debug, Clone)]
pub struct CaseStore<S> {
    store: S,
}

impl<S: EventStore> CaseStore<S> {
    /// Cases kept in `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Reads a case's whole stream and folds it; an unknown case loads as empty.
    pub async fn load(&self, case: CaseId) -> Result<LoadedCase> {
        let stream = stream_name(case);
        let mut loaded = LoadedCase::default();
        let mut events = Vec::new();
        loop {
            let from = loaded.version.map_or(0, |v| v + 1);
            let part = self
                .store
                .read_stream_part(&stream, from, LOAD_BATCH)
                .await?;
            let at_end = part.at_end;
            let batch = part.events;
            let Some(last) = batch.last() else { break };
            loaded.version = Some(last.stream_version);
            for record in batch {
                let event = decode(case, &record)?;
                events.push(event.clone());
                loaded.timeline.push(TimelineEntry {
                    event,
                    position: record.position,
                    version: record.stream_version,
                    recorded_at_ms: record.recorded_at_ms,
                    actor: record.metadata.actor,
                    event_id: record.event_id,
                });
            }
            if at_end {
                break;
            }
        }
        loaded.state = CaseState::from_events(&events);
        Ok(loaded)
    }

    /// Decides the command that `make` builds from the case's current state and appends its
    /// events with the version it was decided on; re-reads and decides again on a conflict.
    /// A command whose events are already in the stream is not decided again.
    pub async fn execute<F>(
        &self,
        case: CaseId,
        context: &CommandContext,
        make: F,
    ) -> Result<Executed>
    where
        F: FnMut(&CaseState) -> Result<Command>,
    {
        let loaded = self.load(case).await?;
        self.execute_loaded(case, loaded, context, make).await
    }

    /// [`CaseStore::execute`] starting from `loaded`, the case as the caller has just loaded
    /// it, which saves reading it again; a conflict still re-reads.
    pub async fn execute_loaded<F>(
        &self,
        case: CaseId,
        loaded: LoadedCase,
        context: &CommandContext,
        mut make: F,
    ) -> Result<Executed>
    where
        F: FnMut(&CaseState) -> Result<Command>,
    {
        let stream = stream_name(case);
        let mut loaded = Some(loaded);
        for attempt in 1..=MAX_ATTEMPTS {
            let loaded = match loaded.take() {
                Some(loaded) => loaded,
                None => self.load(case).await?,
            };
            if let Some((command_id, start)) = context.known_ids().find_map(|command_id| {
                let first_id = event_id(command_id, 0);
                let start = loaded
                    .timeline
                    .iter()
                    .position(|e| e.event_id == first_id)?;
                Some((command_id, start))
            }) {
                let events: Vec<Event> = loaded.timeline[start..]
                    .iter()
                    .enumerate()
                    .take_while(|(i, e)| e.event_id == event_id(command_id, *i))
                    .map(|(_, e)| e.event.clone())
                    .collect();
                return Ok(Executed {
                    events,
                    state: loaded.state,
                    version: loaded.version.unwrap_or(0),
                    repeated: true,
                });
            }
            let command = make(&loaded.state)?;
            let events = decide(&loaded.state, command)?;
            if events.is_empty() {
                return Ok(Executed {
                    events,
                    state: loaded.state,
                    version: loaded.version.unwrap_or(0),
                    repeated: false,
                });
            }
            let new_events = events
                .iter()
                .enumerate()
                .map(|(index, event)| {
                    let encoded = codec::encode(event);
                    NewEvent {
                        event_id: event_id(context.command_id, index),
                        event_type: encoded.event_type.to_owned(),
                        schema_version: encoded.schema_version,
                        metadata: Metadata {
                            correlation_id: context.correlation_id,
                            causation_id: context.causation_id,
                            actor: Some(context.actor.clone()),
                        },
                        payload: encoded.payload,
                    }
                })
                .collect();
            let expected = ExpectedVersion::from_current(loaded.version);
            match self.store.append(&stream, expected, new_events).await {
                Ok(appended) => {
                    let state = events.iter().fold(loaded.state, gridcase_domain::apply);
                    return Ok(Executed {
                        events,
                        state,
                        version: appended.stream_version,
                        repeated: appended.duplicate,
                    });
                }
                Err(StoreError::WrongExpectedVersion { .. }) => {
                    tracing::debug!(case = %case, attempt, "version conflict; deciding again");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(CaseError::Contended {
            case,
            attempts: MAX_ATTEMPTS,
        })
    }
}

/// Decodes one stored case event (upcasting old schema versions).
pub fn decode(case: CaseId, record: &RecordedEvent) -> Result<Event> {
    codec::decode(&record.event_type, record.schema_version, &record.payload).map_err(|e| {
        CaseError::Decode {
            case,
            position: record.position,
            reason: e.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_domain::{
        CategoryCode, Channel, Contact, DepartmentCode, Description, Location, Priority, Route,
        Timestamp, TrackingCode,
    };
    use gridcase_eventstore::MemoryStore;

    fn case() -> CaseId {
        CaseId::from_u128(42)
    }

    fn context(command_id: u128) -> CommandContext {
        CommandContext {
            correlation_id: Some(7),
            ..CommandContext::new(command_id, "operator:op-1")
        }
    }

    fn report(_: &CaseState) -> Result<Command> {
        Ok(Command::Report {
            case_id: case(),
            tracking_code: TrackingCode::from_u64(42),
            channel: Channel::Hotline,
            reporter: Contact::Anonymous,
            location: Location::new(Some("330102-001-001-001".parse().unwrap()), None, None)
                .unwrap(),
            description: Description::parse("路灯不亮").unwrap(),
            category: None,
            media: Vec::new(),
            reported_at: Timestamp::from_millis(1_790_000_000_000),
        })
    }

    fn triage(_: &CaseState) -> Result<Command> {
        Ok(Command::Triage {
            category: CategoryCode::parse("BJ-01-05").unwrap(),
            priority: Priority::Normal,
            route: Route::Department {
                department: DepartmentCode::parse("urban_mgmt").unwrap(),
            },
            triaged_by: None,
            model: None,
            priority_reason: None,
        })
    }

    #[test]
    fn fnv1a_128_matches_the_published_vectors() {
        assert_eq!(fnv1a_128(&[]), 0x6c62272e07bb014262b821756295c58d);
        assert_eq!(fnv1a_128(&[b"a"]), 0xd228cb696f1a8caf78912b704e4a8964);
        assert_eq!(fnv1a_128(&[b"foo", b"bar"]), fnv1a_128(&[b"foobar"]));
    }

    #[tokio::test]
    async fn executes_loads_and_records_the_actor() {
        let cases = CaseStore::new(MemoryStore::new());
        let reported = cases
            .execute(case(), &context(1_000), report)
            .await
            .unwrap();
        assert!(!reported.repeated);
        assert_eq!(reported.version, 0);
        cases
            .execute(case(), &context(2_000), triage)
            .await
            .unwrap();
        let loaded = cases.load(case()).await.unwrap();
        assert_eq!(loaded.version, Some(1));
        assert_eq!(loaded.timeline.len(), 2);
        assert_eq!(loaded.timeline[1].actor.as_deref(), Some("operator:op-1"));
        assert_eq!(loaded.timeline[1].event_id, event_id(2_000, 0));
        assert!(loaded.state.exists());
        assert!(loaded.state.route.is_some());
    }

    #[tokio::test]
    async fn a_command_stored_under_its_earlier_id_is_recognised() {
        let cases = CaseStore::new(MemoryStore::new());
        cases
            .execute(case(), &context(1_000), report)
            .await
            .unwrap();
        cases
            .execute(case(), &context(2_000), triage)
            .await
            .unwrap();
        let events_before = cases.store().stats().await.unwrap().events;

        // The same triage command, retried after its id's derivation changed.
        let again = cases
            .execute(case(), &context(9_000).also_known_as(2_000), triage)
            .await
            .unwrap();
        assert!(again.repeated);
        assert_eq!(again.events.len(), 1);
        assert_eq!(cases.store().stats().await.unwrap().events, events_before);

        // Without the earlier id it is a new command, which the domain refuses (already triaged).
        assert!(cases
            .execute(case(), &context(9_000), triage)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn a_repeated_command_returns_the_first_outcome_and_writes_nothing() {
        let cases = CaseStore::new(MemoryStore::new());
        cases
            .execute(case(), &context(1_000), report)
            .await
            .unwrap();
        cases
            .execute(case(), &context(2_000), triage)
            .await
            .unwrap();
        // Deciding triage again would be refused (the case is no longer reported): the repeat
        // is recognised by its event ids before any decision.
        let again = cases
            .execute(case(), &context(2_000), triage)
            .await
            .unwrap();
        assert!(again.repeated);
        assert_eq!(again.events.len(), 1);
        assert!(matches!(again.events[0], Event::CaseTriaged(_)));
        assert_eq!(cases.store().stats().await.unwrap().events, 2);
    }

    #[tokio::test]
    async fn domain_refusals_come_back_and_nothing_is_written() {
        let cases = CaseStore::new(MemoryStore::new());
        let refused = cases
            .execute(case(), &context(3_000), triage)
            .await
            .unwrap_err();
        assert!(matches!(
            refused,
            CaseError::Domain(DomainError::CaseDoesNotExist)
        ));
        assert_eq!(cases.store().stats().await.unwrap().events, 0);
    }

    /// A store where another replica appends to the case just before our first append.
    #[derive(Debug, Clone)]
    struct RivalWritesFirst {
        inner: MemoryStore,
        rival: std::sync::Arc<std::sync::Mutex<Option<NewEvent>>>,
    }

    impl EventStore for RivalWritesFirst {
        async fn append(
            &self,
            stream: &str,
            expected: ExpectedVersion,
            events: Vec<NewEvent>,
        ) -> gridcase_eventstore::Result<gridcase_eventstore::AppendResult> {
            let rival = self.rival.lock().unwrap().take();
            if let Some(rival) = rival {
                self.inner
                    .append(stream, ExpectedVersion::Any, vec![rival])
                    .await?;
            }
            self.inner.append(stream, expected, events).await
        }
        async fn read_stream(
            &self,
            stream: &str,
            from: u64,
            max: usize,
        ) -> gridcase_eventstore::Result<Vec<RecordedEvent>> {
            self.inner.read_stream(stream, from, max).await
        }
        async fn read_all(
            &self,
            from: u64,
            max: usize,
        ) -> gridcase_eventstore::Result<Vec<RecordedEvent>> {
            self.inner.read_all(from, max).await
        }
        async fn stream_version(&self, stream: &str) -> gridcase_eventstore::Result<Option<u64>> {
            self.inner.stream_version(stream).await
        }
        async fn stats(&self) -> gridcase_eventstore::Result<gridcase_eventstore::StoreStats> {
            self.inner.stats().await
        }
        fn watch_head(&self) -> tokio::sync::watch::Receiver<u64> {
            self.inner.watch_head()
        }
    }

    fn urge(note: &str) -> Command {
        Command::Urge {
            by: gridcase_domain::WorkerId::parse("sup-1").unwrap(),
            note: gridcase_domain::Note::parse(note).unwrap(),
        }
    }

    #[tokio::test]
    async fn after_a_version_conflict_the_command_is_decided_again_on_fresh_state() {
        let memory = MemoryStore::new();
        CaseStore::new(memory.clone())
            .execute(case(), &context(1_000), report)
            .await
            .unwrap();
        let rival_urge = {
            let state = CaseStore::new(memory.clone())
                .load(case())
                .await
                .unwrap()
                .state;
            let event = decide(&state, urge("rival")).unwrap().remove(0);
            let encoded = codec::encode(&event);
            NewEvent {
                event_id: 99,
                event_type: encoded.event_type.to_owned(),
                schema_version: encoded.schema_version,
                metadata: Metadata::default(),
                payload: encoded.payload,
            }
        };
        let cases = CaseStore::new(RivalWritesFirst {
            inner: memory,
            rival: std::sync::Arc::new(std::sync::Mutex::new(Some(rival_urge))),
        });
        let mut seen_versions = Vec::new();
        let executed = cases
            .execute(case(), &context(5_000), |state| {
                seen_versions.push(state.version);
                Ok(urge("ours"))
            })
            .await
            .unwrap();
        // First decided on version 1 of state (report only), lost to the rival, then decided
        // again on the state that includes the rival's event.
        assert_eq!(seen_versions, vec![1, 2]);
        assert_eq!(executed.version, 2);
        let timeline = cases.load(case()).await.unwrap().timeline;
        assert_eq!(timeline.len(), 3);
        assert_eq!(timeline[1].event_id, 99);
        assert_eq!(timeline[2].event_id, event_id(5_000, 0));
    }
}
