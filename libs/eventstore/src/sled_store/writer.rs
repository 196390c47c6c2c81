//! The writer thread, which decides and applies groups of appends, and the flusher beside it,
//! which makes each applied group durable with one flush and only then answers its callers.

use super::*;

/// Starts the writer thread of a store whose log ends before `next_position` and holds
/// `streams` streams; it answers the appends sent on `requests`.
pub(super) fn start(
    db: sled::Db,
    log: sled::Tree,
    next_position: u64,
    streams: u64,
    durable: Durable,
    counters: Arc<Counters>,
    requests: mpsc::Receiver<AppendRequest>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let flusher = Flusher {
        db: db.clone(),
        head: durable.head,
        flushed: durable.flushed,
        counters: counters.clone(),
        handed_over: Arc::default(),
    };
    let writer = Writer {
        log,
        next_position,
        streams,
        versions: HashMap::new(),
        counters,
        flusher,
    };
    std::thread::Builder::new()
        .name("eventstore-writer".into())
        .spawn(move || writer.run(requests))
}

/// What the flusher moves once a flush is done.
pub(super) struct Durable {
    /// The durable head.
    pub(super) head: watch::Sender<u64>,
    /// The number of the newest flush done (see `Shared::flushed`).
    pub(super) flushed: watch::Sender<u64>,
}

/// The single writer: owns positions and the cache of stream versions.
struct Writer {
    log: sled::Tree,
    next_position: u64,
    /// Streams applied so far (durable or not).
    streams: u64,
    /// Last version of streams seen so far; others are looked up in sled on first use.
    versions: HashMap<String, u64>,
    counters: Arc<Counters>,
    flusher: Flusher,
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
#[derive(Clone)]
struct Flusher {
    db: sled::Db,
    head: watch::Sender<u64>,
    flushed: watch::Sender<u64>,
    counters: Arc<Counters>,
    /// Groups handed to the flusher thread and not yet answered.
    handed_over: Arc<AtomicU64>,
}

impl Flusher {
    fn run(self, applied: std::sync::mpsc::Receiver<Applied>) {
        while let Ok(first) = applied.recv() {
            let mut groups = vec![first];
            groups.extend(applied.try_iter());
            let count = groups.len() as u64;
            self.flush_and_answer(groups);
            self.handed_over.fetch_sub(count, Ordering::AcqRel);
        }
    }

    /// True when no group waits for the flusher thread or is being flushed by it.
    fn is_idle(&self) -> bool {
        self.handed_over.load(Ordering::Acquire) == 0
    }

    /// Makes `groups` durable with one flush, then answers their callers and moves the head.
    fn flush_and_answer(&self, groups: Vec<Applied>) {
        let flushed = if self.counters.is_failed() {
            Err(self.counters.refused())
        } else {
            let number = self.counters.flushes_begun.fetch_add(1, Ordering::SeqCst) + 1;
            let started = std::time::Instant::now();
            let flushed = self.db.flush().map_err(storage);
            let took = started.elapsed();
            metrics::histogram!("store_flush_duration_seconds").record(took);
            self.counters.flush_nanos.fetch_add(
                u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
            if flushed.is_ok() {
                self.flushed.send_if_modified(|done| {
                    let moved = number > *done;
                    *done = (*done).max(number);
                    moved
                });
            }
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
                if self.counters.fail(&e) {
                    tracing::error!(error = %e, "flush failed; refusing further writes");
                }
                for (reply, answer) in groups.into_iter().flat_map(|g| g.answers) {
                    let _ = reply.send(answer.and_then(|_| Err(e.clone())));
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
        let flusher = self.flusher.clone();
        let flusher = std::thread::Builder::new()
            .name("eventstore-flusher".into())
            .spawn(move || flusher.run(applied));
        let flusher = match flusher {
            Ok(flusher) => flusher,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the flusher thread");
                self.counters
                    .fail(&StoreError::Unavailable(format!("no flusher thread: {e}")));
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
            // With nothing queued behind it and the flusher thread idle there is nothing to
            // overlap the sync with: flushing here spares a hand-over between threads, which
            // a lone writer would wait for on every append.
            if requests.is_empty() && self.flusher.is_idle() {
                self.flusher.flush_and_answer(vec![applied]);
                continue;
            }
            self.flusher.handed_over.fetch_add(1, Ordering::AcqRel);
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
        if self.counters.is_failed() {
            let refused = self.counters.refused();
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
                self.counters.fail(&e);
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
