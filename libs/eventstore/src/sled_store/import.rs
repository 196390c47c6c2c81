//! `import`: fills an empty store with records copied from another one (a restore from a
//! backup), keeping every record's bytes, position, stream version and event id as they were.

use super::*;

/// Records written per sled batch while importing.
const IMPORT_BATCH: usize = 8_192;

/// What [`SledStore::import`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Records imported: positions `0..events`.
    pub events: u64,
    /// Streams they belong to.
    pub streams: u64,
}

impl SledStore {
    /// Writes `records` (position and stored bytes, in log order from position 0) into a new
    /// store in `config.path`, with both indexes and the stream counter, and flushes it.
    ///
    /// Every record is checked as the writer would check an append: its checksum, a position
    /// one past the previous, its stream's next version and an event id not seen before. The
    /// first record that fails stops the import with the reason; the caller imports into a
    /// scratch directory and moves it into place only once this returns `Ok`, so a failed
    /// import leaves nothing behind that looks like a store. A store that already holds events
    /// is refused.
    pub fn import(
        config: &SledStoreConfig,
        records: impl IntoIterator<Item = Result<(u64, Vec<u8>)>>,
        mut progress: impl FnMut(u64),
    ) -> Result<ImportReport> {
        let db = open_db(config)?;
        let log = db.open_tree("log").map_err(storage)?;
        if !log.is_empty() {
            return Err(StoreError::InvalidRequest(format!(
                "store {}: already holds events; import only into a new store",
                config.path.display()
            )));
        }
        let mut next_versions: HashMap<String, u64> = HashMap::new();
        let mut batch = sled::Batch::default();
        let mut in_batch = 0usize;
        let mut batch_ids: std::collections::HashSet<u128> = std::collections::HashSet::new();
        let mut next_position = 0u64;
        for record in records {
            let (position, bytes) = record?;
            if position != next_position {
                return Err(StoreError::Corrupt {
                    position,
                    reason: format!("record out of order: position {next_position} was due"),
                });
            }
            let event = decode_record(position, &bytes)?;
            let next_version = next_versions.entry(event.stream_id.clone()).or_insert(0);
            if event.stream_version != *next_version {
                return Err(StoreError::Corrupt {
                    position,
                    reason: format!(
                        "stream {} version {} where {} was due",
                        event.stream_id, event.stream_version, next_version
                    ),
                });
            }
            *next_version += 1;
            let seen = !batch_ids.insert(event.event_id)
                || log.contains_key(id_key(event.event_id)).map_err(storage)?;
            if seen {
                return Err(StoreError::Corrupt {
                    position,
                    reason: format!("event id {:032x} appears twice", event.event_id),
                });
            }
            let position_bytes = position.to_be_bytes();
            batch.insert(&event_key(position), bytes);
            batch.insert(
                stream_key(&event.stream_id, event.stream_version),
                &position_bytes,
            );
            batch.insert(&id_key(event.event_id), &position_bytes);
            next_position += 1;
            in_batch += 1;
            if in_batch == IMPORT_BATCH {
                log.apply_batch(std::mem::take(&mut batch))
                    .map_err(storage)?;
                batch_ids.clear();
                in_batch = 0;
                progress(next_position);
            }
        }
        let streams = next_versions.len() as u64;
        batch.insert(STREAM_COUNT_KEY, &streams.to_be_bytes());
        log.apply_batch(batch).map_err(storage)?;
        db.flush().map_err(storage)?;
        progress(next_position);
        Ok(ImportReport {
            events: next_position,
            streams,
        })
    }
}
