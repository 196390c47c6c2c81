//! Rate limits: how many requests one client address may make per minute and how many reports
//! one phone number may make per hour, counted in fixed windows in memory. (The counts are the
//! gateway's only memory, and losing them on a restart loses nothing a resident sent.)

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts per key in fixed windows.
#[derive(Debug)]
pub struct RateLimiter<K> {
    window: Duration,
    max: u32,
    counts: Mutex<HashMap<K, (Instant, u32)>>,
}

/// How many keys the limiter holds before it forgets those whose window has ended.
const PRUNE_AT: usize = 10_000;

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    /// At most `max` per `window` for each key.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            window,
            max,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one more for `key` at `now`: `Ok` if it is within the limit, else how long until
    /// the window ends.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= PRUNE_AT {
            let window = self.window;
            counts.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = counts.entry(key.clone()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.max {
            return Err(self.window.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_max_per_window_and_others_are_apart() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let start = Instant::now();
        assert!(limiter.check(&"a", start).is_ok());
        assert!(limiter.check(&"a", start).is_ok());
        let wait = limiter
            .check(&"a", start + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(limiter.check(&"b", start).is_ok());
        assert!(limiter.check(&"a", start + Duration::from_secs(60)).is_ok());
    }
}
