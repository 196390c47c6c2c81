//! Following the store's log into a read model: the history from a position, then live events
//! as they commit, through one catch-up subscription — what query's projections and
//! evaluation's indicators are kept by.

use std::future::Future;

use gridcase_eventstore::{EventStore, RecordedEvent};

use crate::retry::next_batch_until;

/// How many events between two progress lines while catching up.
pub const PROGRESS_EVERY: u64 = 10_000;

/// Folds the store's log from `start` into `fold`, a batch at a time, until `shutdown`: the
/// history (a progress line every [`PROGRESS_EVERY`] events and one once the head at start is
/// reached, naming `what`), then live events as they commit. A store that cannot be read is
/// retried with backoff. A batch `fold` fails on stops the follower with that error: the
/// model stays at the batch before, and nothing after it is folded out of order.
pub async fn follow_log<S: EventStore, E>(
    store: S,
    what: &'static str,
    start: u64,
    mut fold: impl FnMut(&[RecordedEvent]) -> Result<(), E>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), E> {
    tokio::pin!(shutdown);
    let head = store.watch_head();
    // The head when we started, so "caught up" means the history is read even if the head
    // watch has not heard from the store yet.
    let start_head = match store.stats().await {
        Ok(stats) => stats.events,
        Err(error) => {
            tracing::warn!(%error, what, "reading the store head");
            0
        }
    };
    let mut read = start;
    let mut caught_up = false;
    let mut last_logged = start;
    let mut subscription = store.subscribe_all(start);
    loop {
        if !caught_up {
            let head = start_head.max(*head.borrow());
            if read >= head {
                caught_up = true;
                tracing::info!(read, what, "caught up with the log");
            } else if read >= last_logged + PROGRESS_EVERY {
                last_logged = read;
                tracing::info!(read, head, what, "reading the log");
            }
        }
        let Some(events) = next_batch_until(&mut subscription, &mut shutdown, what).await else {
            break;
        };
        if let Some(last) = events.last() {
            read = read.max(last.position + 1);
        }
        blocking(|| fold(&events))?;
    }
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
