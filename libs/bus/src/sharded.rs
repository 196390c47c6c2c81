//! [`StoreClient`]: the event store as every other service sees it — one client per store
//! shard, and each stream's operations sent to the shard that keeps it (see [`ShardMap`]).

use std::sync::Arc;

use gridcase_eventstore::{
    AppendResult, EventStore, ExpectedVersion, NewEvent, RecordedEvent, Result, StoreError,
    StoreStats, StreamPart,
};
use tokio::sync::watch;

use crate::client::ShardClient;
use crate::shards::{ShardMap, HOME};

/// The event store over NATS, across every shard of the city. A stream's operations go to
/// the shard that keeps it. The global log is kept per shard: with more than one shard,
/// `read_all` is refused and a follower reads each shard's log ([`Self::shard`]).
#[derive(Debug, Clone)]
pub struct StoreClient {
    map: Arc<ShardMap>,
    shards: Arc<[ShardClient]>,
}

impl StoreClient {
    /// A client of the one store shard `shard`. Must be called inside a tokio runtime: each
    /// shard's client starts a task that follows its head.
    pub fn new(nats: async_nats::Client, shard: &str) -> Self {
        Self::sharded(nats, ShardMap::one(shard))
    }

    /// A client of every shard of `map`.
    pub fn sharded(nats: async_nats::Client, map: ShardMap) -> Self {
        let shards = map
            .names()
            .iter()
            .map(|name| ShardClient::new(nats.clone(), name))
            .collect();
        Self {
            map: Arc::new(map),
            shards,
        }
    }

    /// The NATS connection the client uses.
    pub fn nats(&self) -> &async_nats::Client {
        self.shards[HOME].nats()
    }

    /// Which shard keeps which stream.
    pub fn map(&self) -> &ShardMap {
        &self.map
    }

    /// The client of shard `index` alone: its own log, head and stats.
    pub fn shard(&self, index: usize) -> &ShardClient {
        &self.shards[index]
    }

    /// Every shard's client, in shard order.
    pub fn shards(&self) -> &[ShardClient] {
        &self.shards
    }

    /// The shard client that keeps `stream`.
    fn keeper(&self, stream: &str) -> &ShardClient {
        &self.shards[self.map.of_stream(stream)]
    }

    /// The events stored across every shard (the sum of their heads), asked directly; fails
    /// when any shard does not answer.
    pub async fn head(&self) -> Result<u64> {
        Ok(self.heads().await?.iter().sum())
    }

    /// Reads up to `max` records of the log from `from_position` as the store holds them, for
    /// copying the log as it is; only for a client of one shard.
    pub async fn read_all_raw(
        &self,
        from_position: u64,
        max: usize,
    ) -> Result<Vec<(u64, bytes::Bytes)>> {
        self.only()?.read_all_raw(from_position, max).await
    }

    fn only(&self) -> Result<&ShardClient> {
        match &*self.shards {
            [only] => Ok(only),
            _ => Err(StoreError::InvalidRequest(format!(
                "the log is kept per shard ({} shards): read each shard's log",
                self.shards.len()
            ))),
        }
    }
}

impl EventStore for StoreClient {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        self.keeper(stream).append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>> {
        self.keeper(stream)
            .read_stream(stream, from_version, max)
            .await
    }

    async fn read_stream_part(
        &self,
        stream: &str,
        from_version: u64,
        max: usize,
    ) -> Result<StreamPart> {
        self.keeper(stream)
            .read_stream_part(stream, from_version, max)
            .await
    }

    async fn read_all(&self, from_position: u64, max: usize) -> Result<Vec<RecordedEvent>> {
        self.only()?.read_all(from_position, max).await
    }

    async fn stream_version(&self, stream: &str) -> Result<Option<u64>> {
        self.keeper(stream).stream_version(stream).await
    }

    /// Every shard's head, asked directly, in shard order.
    async fn heads(&self) -> Result<Vec<u64>> {
        futures::future::try_join_all(self.shards.iter().map(ShardClient::head)).await
    }

    /// The sum of every shard's counts.
    async fn stats(&self) -> Result<StoreStats> {
        let each =
            futures::future::try_join_all(self.shards.iter().map(ShardClient::stats)).await?;
        Ok(each.iter().sum::<StoreStats>())
    }

    /// The home shard's head: the whole log's only with one shard.
    fn watch_head(&self) -> watch::Receiver<u64> {
        self.shards[HOME].watch_head()
    }
}
