//! The error of a value that does not meet its rules. Every value type's
//! constructor returns it, so it lives here at the bottom of the crate and
//! depends on nothing else in it.

/// A value that does not meet its rules, naming the field so a caller can
/// point the user at it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    /// The field (or command argument) that was rejected, e.g. `"description"`.
    pub field: &'static str,
    /// Why it was rejected, lowercase and without a trailing period.
    pub reason: String,
}

impl ValidationError {
    /// Builds an error for `field` with the given reason.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}
