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

/// `text` as a request id (the caller's key that makes a repeated request harmless), refused
/// under `field` when blank, longer than [`MAX_REQUEST_ID_CHARS`] or holding control
/// characters: the one rule every API applies.
pub fn request_id<'a>(field: &str, text: &'a str) -> Result<&'a str, InvalidInput> {
    if text.trim().is_empty() {
        return Err(InvalidInput::new(field, "must not be empty"));
    }
    let length = text.chars().count();
    if length > MAX_REQUEST_ID_CHARS {
        return Err(InvalidInput::new(
            field,
            format!("{length} characters, at most {MAX_REQUEST_ID_CHARS}"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            field,
            "must not contain control characters",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_is_refused_naming_the_field_and_the_rule() {
        assert_eq!(request_id("request_id", "call-0001"), Ok("call-0001"));
        assert_eq!(
            request_id("x", &"号".repeat(128)).map(str::len),
            Ok(3 * 128)
        );
        for (text, message) in [
            ("", "request_id: must not be empty"),
            ("   ", "request_id: must not be empty"),
            ("a\nb", "request_id: must not contain control characters"),
        ] {
            let refused = request_id("request_id", text).unwrap_err();
            assert_eq!(refused.to_string(), message);
        }
        let long = "a".repeat(129);
        let refused = request_id("actor.request_id", &long).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "actor.request_id: 129 characters, at most 128"
        );
    }
}
