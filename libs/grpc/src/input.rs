//! Checks of request fields that several APIs take alike; a refusal names the field.

use tonic::Status;

/// A request field that is missing or breaks a rule: INVALID_ARGUMENT, with a message that
/// names the field as the request wrote it (`field: reason`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidInput {
    /// The field as the request names it, e.g. `location.grid_code` or `evidence_urls[1]`.
    pub field: String,
    /// Why it was refused, lowercase and without a trailing period.
    pub reason: String,
}

impl InvalidInput {
    /// An error for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A domain validation error, reported under the request's name for the field.
    pub fn at(field: impl Into<String>) -> impl FnOnce(gridcase_domain::ValidationError) -> Self {
        move |error| Self::new(field, error.reason)
    }
}

impl From<InvalidInput> for Status {
    fn from(error: InvalidInput) -> Self {
        Status::invalid_argument(error.to_string())
    }
}

/// Longest request id (the caller's key that makes a repeated request harmless), in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// `text` as a request id: 1 to [`MAX_REQUEST_ID_CHARS`] characters; refused under `field`.
pub fn request_id<'a>(field: &str, text: &'a str) -> Result<&'a str, InvalidInput> {
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_REQUEST_ID_CHARS {
        return Err(InvalidInput::new(
            field,
            format!("must be 1 to {MAX_REQUEST_ID_CHARS} characters, got {chars}"),
        ));
    }
    Ok(text)
}
/// Refuses an empty period with INVALID_ARGUMENT naming `to_ms`.
pub fn check_period(from_ms: i64, to_ms: i64) -> Result<(), Status> {
    if to_ms <= from_ms {
        return Err(Status::invalid_argument("to_ms: must be after from_ms"));
    }
    Ok(())
}
