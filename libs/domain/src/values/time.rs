//! Points in time, passed in by the caller: the domain never reads a clock.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::validation::ValidationError;

/// Milliseconds since the Unix epoch (UTC).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Wraps milliseconds since the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This moment shifted by `millis` (negative goes back), saturating
    /// rather than overflowing so a huge offset cannot wrap into the past.
    pub const fn plus_millis(self, millis: i64) -> Self {
        Self(self.0.saturating_add(millis))
    }

    /// How many milliseconds after `other` this moment is (negative if before).
    pub const fn millis_since(&self, other: &Timestamp) -> i64 {
        self.0.saturating_sub(other.0)
    }

    /// Parses the decimal millisecond count written by `Display`.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        s.trim().parse::<i64>().map(Self).map_err(|_| {
            ValidationError::new("timestamp", "must be milliseconds since the unix epoch")
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Timestamp {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_and_ordering() {
        let reported = Timestamp::from_millis(1_700_000_000_000);
        let later = reported.plus_millis(3_600_000);
        assert!(later > reported);
        assert_eq!(later.millis_since(&reported), 3_600_000);
        assert_eq!(reported.millis_since(&later), -3_600_000);
        assert_eq!(
            Timestamp::from_millis(i64::MAX).plus_millis(1).as_millis(),
            i64::MAX
        );
    }

    #[test]
    fn text_round_trips() {
        let moment = Timestamp::from_millis(-5);
        assert_eq!(Timestamp::parse(&moment.to_string()), Ok(moment));
        assert_eq!(
            Timestamp::parse("yesterday").unwrap_err().to_string(),
            "timestamp: must be milliseconds since the unix epoch"
        );
    }
}
