//! Following the store's log into a read model: every shard's history from the model's checkpoint
//! of that shard, then live events as they commit, through one catch-up subscription per shard —
//! what query's projections, evaluation's indicators, supervision's timers and triage's
//! case cache are kept by.

use std::future::Future;

use gridcase_eventstore::{EventStore, RecordedEvent};

use crate::retry::next_batch_until;

/// How many events between two progress lines while catching up.
pub const PROGRESS_EVERY: u64 = 10_000;

/// Folds the store's log — every shard's, each from its own checkpoint — into `fold`, a batch
/// of one shard at a time, until `shutdown`: the history (a progress line every
/// [`PROGRESS_EVERY`] events and one once every shard's head at start is reached, naming
/// `what`, when `caught_up` is called once), then live events as they commit. `shards` are
/// the stores of shards 0, 1, …; `start(shard)` is the position to resume that shard's log
/// from, and `fold(shard, events)` gets events of that shard in its log's order. Shards are
/// read concurrently: a case lives in one shard, so its events are folded in order, while
/// events of different shards interleave. A store that cannot be read is retried with
/// backoff. A batch `fold` (or `caught_up`) fails on stops the follower with that error: the
/// model stays at the batch before, and nothing after it is folded out of order.
pub async fn follow_log<S: EventStore + 'static, E>(
    shards: &[S],
    what: &'static str,
    start: impl Fn(usize) -> u64,
    mut fold: impl FnMut(usize, &[RecordedEvent]) -> Result<(), E>,
    mut caught_up: impl FnMut() -> Result<(), E>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), E> {
    tokio::pin!(shutdown);
    // Each shard's head when we started, so "caught up" means the history is read even if a
    // head watch has not heard from its store yet; and the watch, for a store that did not
    // answer at first.
    let mut behind = Vec::with_capacity(shards.len());
    for (shard, store) in shards.iter().enumerate() {
        let head = match store.stats().await {
            Ok(stats) => stats.events,
            Err(error) => {
                tracing::warn!(%error, what, shard, "reading the store head");
                0
            }
        };
        behind.push(Some((head, store.watch_head())));
    }
    let mut read: Vec<u64> = (0..shards.len()).map(&start).collect();
    let mut last_logged = read.iter().sum::<u64>();
    let mut announced = false;
    let (batches, mut received) = tokio::sync::mpsc::channel(shards.len().max(1));
    let mut readers = tokio::task::JoinSet::new();
    for (shard, store) in shards.iter().enumerate() {
        let mut subscription = store.subscribe_all(read[shard]);
        let batches = batches.clone();
        readers.spawn(async move {
            let mut never = std::future::pending::<()>();
            while let Some(events) = next_batch_until(&mut subscription, &mut never, what).await {
                if batches.send((shard, events)).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(batches);
    loop {
        for (shard, target) in behind.iter_mut().enumerate() {
            let reached = |(head, watch): &(u64, tokio::sync::watch::Receiver<u64>)| {
                read[shard] >= (*head).max(*watch.borrow())
            };
            if target.as_ref().is_some_and(reached) {
                *target = None;
            }
        }
        if !announced && behind.iter().all(Option::is_none) {
            announced = true;
            tracing::info!(
                read = read.iter().sum::<u64>(),
                what,
                "caught up with the log"
            );
            blocking(&mut caught_up)?;
        } else if !announced && read.iter().sum::<u64>() >= last_logged + PROGRESS_EVERY {
            last_logged = read.iter().sum();
            tracing::info!(read = last_logged, what, "reading the log");
        }
        let (shard, events) = tokio::select! {
            () = &mut shutdown => break,
            batch = received.recv() => match batch {
                Some(batch) => batch,
                None => break,
            },
        };
        if let Some(last) = events.last() {
            read[shard] = read[shard].max(last.position + 1);
        }
        blocking(|| fold(shard, &events))?;
    }
    readers.abort_all();
    tracing::debug!(what, "log follower stopped");
    Ok(())
}

/// Runs `work` that blocks (a model's disk writes, a long fold) without holding up the other
/// tasks of the runtime's worker thread: on a multi-thread runtime the thread hands its other
/// tasks to another worker first; elsewhere (a single-thread test runtime) it simply runs.
pub fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
