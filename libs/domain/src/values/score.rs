//! [`RatingScore`]: one mark of a rating on the usual five-point scale.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::validation::ValidationError;

/// A mark from 1 (very poor) to 5 (very good), as a grid worker gives a department for each
/// aspect of its handling of a case (网格评部门: timeliness, attitude, result).
///
/// Stored as one byte; decoding goes through [`RatingScore::new`], so a stored 0 or 6 is an
/// error, never a score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct RatingScore(u8);

impl RatingScore {
    /// The lowest mark.
    pub const MIN: u8 = 1;
    /// The highest mark.
    pub const MAX: u8 = 5;

    /// Checks `value`; errors name `field` (e.g. `"timeliness"`). Takes a `u32` because that is
    /// what requests carry: 256 is refused as 256, not as the byte it wraps to.
    pub fn new(field: &'static str, value: u32) -> Result<Self, ValidationError> {
        match u8::try_from(value) {
            Ok(mark @ Self::MIN..=Self::MAX) => Ok(Self(mark)),
            _ => Err(ValidationError::new(
                field,
                format!("must be {} to {}, got {value}", Self::MIN, Self::MAX),
            )),
        }
    }

    /// The mark, 1 to 5.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for RatingScore {
    type Error = ValidationError;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new("score", u32::from(value))
    }
}

impl From<RatingScore> for u8 {
    fn from(score: RatingScore) -> Self {
        score.0
    }
}

impl fmt::Display for RatingScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_to_five_only() {
        for mark in 1..=5 {
            assert_eq!(RatingScore::new("result", mark).unwrap().get(), mark as u8);
        }
        for bad in [0, 6, 255, 256, 261] {
            assert_eq!(
                RatingScore::new("attitude", bad).unwrap_err().to_string(),
                format!("attitude: must be 1 to 5, got {bad}")
            );
        }
    }

    #[test]
    fn decoding_checks_the_range() {
        let four = RatingScore::new("timeliness", 4).unwrap();
        let bytes = postcard::to_allocvec(&four).unwrap();
        assert_eq!(bytes, [4]);
        assert_eq!(postcard::from_bytes::<RatingScore>(&bytes), Ok(four));
        assert!(postcard::from_bytes::<RatingScore>(&[0]).is_err());
        assert!(postcard::from_bytes::<RatingScore>(&[6]).is_err());
        assert_eq!(four.to_string(), "4");
    }
}
