//! A read model's own embedded store: one sled tree a service keeps its projection in, beside
//! the log position the projection reflects in each store shard's log, written together in one
//! atomic batch. After a
//! crash the model and its checkpoint are either both at a batch or both before it, so the
//! follower resumes at the checkpoint and no event is applied twice or skipped. The model is
//! derived data: its shape is versioned (`format`), and a model of another format — or one the
//! operator asks to rebuild — is emptied and rebuilt from position 0.
//!
//! Keys starting with byte `0xFF` are this module's; a model uses any other first byte.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Result, StoreError, MAX_SHARDS};

const FORMAT_KEY: &[u8] = b"\xffformat";
/// The checkpoint of shard 0; shard `n > 0`'s key is this followed by the byte `n`.
const POSITION_KEY: &[u8] = b"\xffposition";

fn position_key(shard: usize) -> Vec<u8> {
    let mut key = POSITION_KEY.to_vec();
    if shard > 0 {
        key.push(shard as u8);
    }
    key
}

/// Where and how a read model is kept.
#[derive(Debug, Clone)]
pub struct ReadModelConfig {
    /// The model's directory; `None` keeps it in a temporary one, removed when it closes (for
    /// tests and throwaway runs: every start rebuilds).
    pub path: Option<PathBuf>,
    /// Empty the model and rebuild it from position 0.
    pub rebuild: bool,
    /// Bytes of the model kept in memory (sled's page cache); the rest is read from disk.
    pub cache_capacity_bytes: u64,
}

impl ReadModelConfig {
    /// A model in `path`, resumed from its checkpoint, with a 64 MiB cache.
    pub fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            rebuild: false,
            cache_capacity_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A read model's tree and its checkpoint in each shard's log.
#[derive(Debug)]
pub struct ReadModelStore {
    db: sled::Db,
    tree: sled::Tree,
    positions: [AtomicU64; MAX_SHARDS],
    /// Why the model starts from position 0, when it does.
    rebuilt: Option<&'static str>,
}

fn storage(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("read model: {e}"))
}

impl ReadModelStore {
    /// Opens (or creates) the model `config` describes, whose records have the shape
    /// `format`; it is emptied if it must be rebuilt, or was written in another format.
    pub fn open(config: &ReadModelConfig, format: u32) -> Result<Self> {
        let sled_config = sled::Config::new()
            .cache_capacity(config.cache_capacity_bytes)
            .mode(sled::Mode::HighThroughput);
        let sled_config = match &config.path {
            Some(path) => sled_config.path(path),
            None => sled_config.temporary(true),
        };
        let db = open_when_released(&sled_config)?;
        let tree = db.open_tree("model").map_err(storage)?;
        let stored_format = tree
            .get(FORMAT_KEY)
            .map_err(storage)?
            .map(|bytes| read_u64(&bytes));
        let rebuilt = if config.rebuild {
            Some("asked to rebuild")
        } else {
            match stored_format {
                None => Some("new"),
                Some(stored) if stored != u64::from(format) => Some("written in another format"),
                Some(_) => None,
            }
        };
        if rebuilt.is_some() {
            tree.clear().map_err(storage)?;
            tree.insert(FORMAT_KEY, &u64::from(format).to_be_bytes())
                .map_err(storage)?;
            tree.flush().map_err(storage)?;
        }
        let positions = std::array::from_fn(|_| AtomicU64::new(0));
        for entry in tree.scan_prefix(POSITION_KEY) {
            let (key, value) = entry.map_err(storage)?;
            let shard = key.get(POSITION_KEY.len()).map_or(0, |n| usize::from(*n));
            if let Some(position) = positions.get(shard) {
                position.store(read_u64(&value), Ordering::Release);
            }
        }
        Ok(Self {
            db,
            tree,
            positions,
            rebuilt,
        })
    }

    /// Why the model starts from position 0 (`"new"`, `"asked to rebuild"`, `"written in
    /// another format"`), or `None` when it resumes from its checkpoint.
    pub fn rebuilt(&self) -> Option<&'static str> {
        self.rebuilt
    }

    /// The position in shard `shard`'s log of the next event to fold: every event below it is
    /// in the model.
    pub fn position(&self, shard: usize) -> u64 {
        self.positions[shard].load(Ordering::Acquire)
    }

    /// Every shard's checkpoint, for the first `shards` shards.
    pub fn positions(&self, shards: usize) -> Vec<u64> {
        (0..shards).map(|shard| self.position(shard)).collect()
    }

    /// How many events the model has folded: the sum of every shard's checkpoint (with one
    /// shard, its checkpoint).
    pub fn folded(&self) -> u64 {
        self.positions
            .iter()
            .map(|position| position.load(Ordering::Acquire))
            .sum()
    }

    /// The model's records.
    pub fn tree(&self) -> &sled::Tree {
        &self.tree
    }

    /// Applies `batch` and moves shard `shard`'s checkpoint to `next_position`, atomically.
    pub fn commit(&self, mut batch: sled::Batch, shard: usize, next_position: u64) -> Result<()> {
        batch.insert(position_key(shard), &next_position.to_be_bytes());
        self.tree.apply_batch(batch).map_err(storage)?;
        self.positions[shard].fetch_max(next_position, Ordering::AcqRel);
        Ok(())
    }

    /// Applies `batch` and leaves every checkpoint where it is.
    pub fn apply(&self, batch: sled::Batch) -> Result<()> {
        self.tree.apply_batch(batch).map_err(storage)
    }

    /// Writes everything committed to disk (sled also does so in the background).
    pub fn flush(&self) -> Result<()> {
        self.db.flush().map(|_| ()).map_err(storage)
    }

    /// Bytes the model takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

impl Drop for ReadModelStore {
    fn drop(&mut self) {
        if let Err(error) = self.flush() {
            tracing::warn!(%error, "flushing the read model on close");
        }
    }
}

/// Opens the model's sled database, waiting up to five seconds for the file lock: a model
/// closed in the same process a moment ago may still be held by sled's background flusher,
/// longer on a loaded machine.
fn open_when_released(config: &sled::Config) -> Result<sled::Db> {
    let mut tries = 0;
    loop {
        match config.open() {
            // sled reports a held lock as an `Other` error naming it, not as `WouldBlock`.
            Err(sled::Error::Io(error)) if is_held_lock(&error) && tries < 250 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            opened => return opened.map_err(storage),
        }
    }
}

/// True for sled's error when another handle holds the database's file lock.
fn is_held_lock(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::WouldBlock
        || error.to_string().starts_with("could not acquire lock on")
}

fn read_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkpoint_moves_with_the_model_and_a_new_format_or_a_rebuild_empties_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = ReadModelConfig::new(Some(dir.path().to_owned()));
        {
            let model = ReadModelStore::open(&config, 1).unwrap();
            assert_eq!((model.position(0), model.rebuilt()), (0, Some("new")));
            let mut batch = sled::Batch::default();
            batch.insert(b"case-1".as_slice(), b"reported".as_slice());
            model.commit(batch, 0, 7).unwrap();
            model.commit(sled::Batch::default(), 3, 2).unwrap();
            assert_eq!(model.positions(4), [7, 0, 0, 2]);
        }
        let model = ReadModelStore::open(&config, 1).unwrap();
        assert_eq!(
            (model.positions(4), model.rebuilt()),
            (vec![7, 0, 0, 2], None)
        );
        assert_eq!(model.folded(), 9);
        assert!(model.tree().get(b"case-1").unwrap().is_some());
        drop(model);
        for (config, format) in [
            (config.clone(), 2),
            (
                ReadModelConfig {
                    rebuild: true,
                    ..config
                },
                1,
            ),
        ] {
            let model = ReadModelStore::open(&config, format).unwrap();
            assert_eq!(model.folded(), 0);
            assert!(model.rebuilt().is_some());
            assert!(model.tree().get(b"case-1").unwrap().is_none());
        }
    }

    #[test]
    fn a_model_still_held_elsewhere_is_opened_once_it_is_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let config = ReadModelConfig::new(Some(dir.path().to_owned()));
        let held = ReadModelStore::open(&config, 1).unwrap();
        let error = match sled::Config::new().path(dir.path()).open() {
            Err(sled::Error::Io(error)) => error,
            other => panic!("a held model opened twice: {other:?}"),
        };
        assert!(is_held_lock(&error), "{error}");
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(held);
        });
        let reopened = ReadModelStore::open(&config, 1).unwrap();
        assert_eq!(reopened.rebuilt(), None);
        releaser.join().unwrap();
    }
}
