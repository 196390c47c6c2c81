//! Waiting on a condition instead of sleeping: tests poll what they expect with a deadline and
//! fail naming what they waited for.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long a test waits for something to happen before it fails, unless it says otherwise.
pub const WAIT: Duration = Duration::from_secs(30);

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(20);

/// Polls `condition` until it yields `Some(value)`, and returns the value; panics naming `what`
/// if `within` passes first.
///
/// The condition returns an `Option` so a waiter can hand back what it saw (a loaded case, a
/// reply), and a `bool` condition is written `(…).then_some(())`.
pub async fn wait_until<T, F, Fut>(what: &str, within: Duration, mut condition: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = condition().await {
            return value;
        }
        assert!(
            started.elapsed() < within,
            "waited {within:?} for {what}, and it did not happen"
        );
        tokio::time::sleep(POLL).await;
    }
}
