//! PostgreSQL as an event store, for `gridcase bench store --compare-postgres URL`: the same
//! appends as the store's levels, measured side by side in the same run.
//!
//! The table is what an event store on PostgreSQL usually is: a `bigserial` global position,
//! the stream and its version with a unique constraint on the pair (optimistic concurrency:
//! an append at a version already taken fails), a unique event id (idempotent retries), type,
//! schema version, recorded-at, metadata and payload. Each append is one `INSERT … RETURNING
//! position` in its own transaction with `synchronous_commit = on`, on a connection taken from
//! a pool: one connection per writer, up to the pool's size, as a service would hold them.
//! The benchmark creates a table of its own with a unique name and drops it at the end.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::Semaphore;
use tokio_postgres::{Client, NoTls, Statement};

use crate::bench::{gather, histogram, record, Level};

/// A pool of connections, each with the append statement prepared on it.
pub(crate) struct PostgresEventStore {
    /// The connection that created the table and drops it.
    admin: Client,
    table: String,
    idle: Mutex<Vec<(Client, Statement)>>,
    available: Semaphore,
    connections: Vec<tokio::task::JoinHandle<()>>,
}

/// Opens a connection and drives it in a task of its own, as tokio-postgres requires.
async fn connect(url: &str) -> anyhow::Result<(Client, tokio::task::JoinHandle<()>)> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .context("connecting to PostgreSQL")?;
    let driver = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "postgres connection ended");
        }
    });
    Ok((client, driver))
}

impl PostgresEventStore {
    /// Connects `pool_size` connections to `url` and creates a fresh events table.
    pub(crate) async fn open(url: &str, pool_size: usize) -> anyhow::Result<Self> {
        let (admin, admin_driver) = connect(url).await?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let table = format!("gridcase_bench_events_{}_{nanos}", std::process::id());
        admin
            .batch_execute(&format!(
                "CREATE TABLE {table} (
                    position bigserial PRIMARY KEY,
                    stream_id text NOT NULL,
                    stream_version bigint NOT NULL,
                    event_id bytea NOT NULL UNIQUE,
                    event_type text NOT NULL,
                    schema_version integer NOT NULL,
                    recorded_at timestamptz NOT NULL DEFAULT now(),
                    metadata bytea NOT NULL,
                    payload bytea NOT NULL,
                    UNIQUE (stream_id, stream_version)
                )"
            ))
            .await
            .with_context(|| format!("creating the table {table}"))?;
        let mut store = Self {
            admin,
            table,
            idle: Mutex::new(Vec::with_capacity(pool_size)),
            available: Semaphore::new(0),
            connections: vec![admin_driver],
        };
        if let Err(e) = store.fill_pool(url, pool_size.max(1)).await {
            store.drop_table().await;
            return Err(e);
        }
        Ok(store)
    }

    async fn fill_pool(&mut self, url: &str, pool_size: usize) -> anyhow::Result<()> {
        let insert = format!(
            "INSERT INTO {} (stream_id, stream_version, event_id, event_type, schema_version, \
             metadata, payload) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING position",
            self.table
        );
        for _ in 0..pool_size {
            let (client, driver) = connect(url).await?;
            self.connections.push(driver);
            // Whatever the server's default, every commit waits for its WAL flush.
            client
                .batch_execute("SET synchronous_commit = on")
                .await
                .context("setting synchronous_commit")?;
            let statement = client
                .prepare(&insert)
                .await
                .context("preparing the insert")?;
            self.idle
                .get_mut()
                .expect("the pool is not shared yet")
                .push((client, statement));
        }
        self.available.add_permits(pool_size);
        Ok(())
    }

    /// Drops the benchmark's table; a failure is reported, not returned, so it never hides
    /// the benchmark's own error.
    pub(crate) async fn drop_table(&self) {
        if let Err(e) = self
            .admin
            .batch_execute(&format!("DROP TABLE IF EXISTS {}", self.table))
            .await
        {
            eprintln!("could not drop the table {}: {e}", self.table);
        }
    }

    /// Appends one event to `stream` at `version`, in a transaction of its own; its position.
    async fn append(
        &self,
        stream: &str,
        version: i64,
        event_id: u128,
        metadata: &[u8],
        payload: &[u8],
    ) -> anyhow::Result<i64> {
        let _permit = self.available.acquire().await?;
        let (client, statement) = self
            .idle
            .lock()
            .expect("pool lock")
            .pop()
            .context("a permit without an idle connection")?;
        let event_id = event_id.to_be_bytes();
        let inserted = client
            .query_one(
                &statement,
                &[
                    &stream,
                    &version,
                    &event_id.as_slice(),
                    &"BenchmarkEvent",
                    &1_i32,
                    &metadata,
                    &payload,
                ],
            )
            .await;
        self.idle
            .lock()
            .expect("pool lock")
            .push((client, statement));
        Ok(inserted?.try_get(0)?)
    }

    /// One level: `writers` tasks each appending one event at a time to a stream of their own
    /// for `seconds`, as the store's levels do.
    pub(crate) async fn run_level(
        self: &std::sync::Arc<Self>,
        writers: usize,
        seconds: u64,
        event_bytes: usize,
        level_index: usize,
    ) -> anyhow::Result<Level> {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(writers);
        for writer in 0..writers {
            let store = self.clone();
            let stream = format!("bench-{level_index}-{writer}");
            let id_base = ((level_index as u128) << 64) | ((writer as u128) << 40);
            let payload = vec![0x5a; event_bytes];
            // The store's events in this benchmark carry no correlation, causation or actor.
            let metadata = Vec::new();
            tasks.push(tokio::spawn(async move {
                let mut latencies = histogram();
                let mut version = 0_i64;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    store
                        .append(
                            &stream,
                            version,
                            id_base + version as u128,
                            &metadata,
                            &payload,
                        )
                        .await?;
                    record(&mut latencies, sent.elapsed());
                    version += 1;
                }
                anyhow::Ok(latencies)
            }));
        }
        let all = gather(tasks).await?;
        Ok(Level {
            writers,
            elapsed: started.elapsed(),
            latencies: all,
            flushes: 0,
        })
    }
}

impl Drop for PostgresEventStore {
    fn drop(&mut self) {
        for connection in &self.connections {
            connection.abort();
        }
    }
}
