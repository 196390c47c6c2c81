//! Waiting on a condition instead of sleeping: tests poll what they expect with a deadline and
//! fail naming what they waited for.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long a test waits for something to happen before it fails, unless it says otherwise.
pub const WAIT: Duration = Duration::from_secs(30);

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(20);

/// What one look at a condition found: done with a value, or not yet.
pub trait Outcome {
    /// What the waiter gets back once the condition holds.
    type Value;

    /// `Ok` once the condition holds; otherwise what was seen instead, if the look says.
    fn done(self) -> Result<Self::Value, Option<String>>;
}

impl<T> Outcome for Option<T> {
    type Value = T;

    fn done(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

/// `Err` carries what was seen instead, which the failure reports.
impl<T> Outcome for Result<T, String> {
    type Value = T;

    fn done(self) -> Result<T, Option<String>> {
        self.map_err(Some)
    }
}

/// Polls `condition` until it holds and returns what it yielded; panics naming `what` (and what
/// the last look saw, when the condition says) if `within` passes first.
///
/// The condition returns `Option<T>` (`None`: not yet; a `bool` condition is written
/// `(…).then_some(())`) or `Result<T, String>` (`Err`: what was seen instead).
pub async fn wait_until<O, F, Fut>(what: &str, within: Duration, mut condition: F) -> O::Value
where
    O: Outcome,
    F: FnMut() -> Fut,
    Fut: Future<Output = O>,
{
    let started = Instant::now();
    loop {
        let seen = match condition().await.done() {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        if started.elapsed() >= within {
            match seen {
                Some(seen) => {
                    panic!("waited {within:?} for {what}, and it did not happen; last seen: {seen}")
                }
                None => panic!("waited {within:?} for {what}, and it did not happen"),
            }
        }
        tokio::time::sleep(POLL).await;
    }
}
