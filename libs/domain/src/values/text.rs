//! Free text with bounds, and links to media.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::validation::ValidationError;

/// Trims and checks a length in characters (not bytes: a Chinese character
/// is three bytes in UTF-8 but one character to the person typing it).
fn bounded(field: &'static str, s: &str, max: usize) -> Result<String, ValidationError> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    let length = trimmed.chars().count();
    if length > max {
        return Err(ValidationError::new(
            field,
            format!("{length} characters, at most {max}"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Defines a trimmed, non-empty text newtype with a maximum length.
macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident, $field:literal, $max:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest accepted text, in characters.
            pub const MAX_CHARS: usize = $max;

            #[doc = concat!("Trims and checks the text; errors name the field `", $field, "`.")]
            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                Self::parse_field($field, s)
            }

            /// Like `parse`, but errors name the caller's field (e.g. `"reason"`).
            pub fn parse_field(field: &'static str, s: &str) -> Result<Self, ValidationError> {
                bounded(field, s, $max).map(Self)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

bounded_text!(
    /// What the resident or worker says is wrong, 1–2000 characters.
    Description,
    "description",
    2000
);

bounded_text!(
    /// A remark on a step (a reason, a progress note, a comment), 1–1000 characters.
    Note,
    "note",
    1000
);

bounded_text!(
    /// A postal or descriptive address, 1–200 characters.
    Address,
    "address",
    200
);

bounded_text!(
    /// A person's name as they gave it, 1–50 characters.
    PersonName,
    "name",
    50
);

/// The longest accepted URL; longer ones are not portable across browsers and proxies.
const URL_MAX_CHARS: usize = 2048;

/// A link to a photo, video or other evidence held in object storage.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Url(String);

impl Url {
    /// Checks an `http://` or `https://` URL of at most 2048 characters with no whitespace.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let s = s.trim();
        let length = s.chars().count();
        if length > URL_MAX_CHARS {
            return Err(ValidationError::new(
                "url",
                format!("{length} characters, at most {URL_MAX_CHARS}"),
            ));
        }
        let Some(rest) = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
        else {
            return Err(ValidationError::new(
                "url",
                "must start with http:// or https://",
            ));
        };
        if rest.is_empty() {
            return Err(ValidationError::new("url", "must name a host"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ValidationError::new(
                "url",
                "must not contain whitespace or control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Url {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Url {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Url> for String {
    fn from(value: Url) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_is_trimmed_and_counted_in_characters() {
        let description = Description::parse("  井盖缺失，有人掉进去的危险  ").unwrap();
        assert_eq!(description.as_str(), "井盖缺失，有人掉进去的危险");
        let displayed = description.to_string();
        assert_eq!(Description::parse(&displayed), Ok(description));
        // 2000 Chinese characters are 6000 bytes but still allowed.
        assert!(Description::parse(&"井".repeat(2000)).is_ok());
    }

    #[test]
    fn description_errors_say_the_limit() {
        assert_eq!(
            Description::parse(&"井".repeat(2417))
                .unwrap_err()
                .to_string(),
            "description: 2417 characters, at most 2000"
        );
        assert_eq!(
            Description::parse(" \n\t ").unwrap_err().to_string(),
            "description: must not be empty"
        );
    }

    #[test]
    fn note_names_the_callers_field() {
        assert_eq!(
            Note::parse_field("reason", "").unwrap_err().to_string(),
            "reason: must not be empty"
        );
        assert_eq!(
            Note::parse(&"x".repeat(1001)).unwrap_err().to_string(),
            "note: 1001 characters, at most 1000"
        );
        assert_eq!(Note::parse_field("reason", " ok ").unwrap().as_str(), "ok");
    }

    #[test]
    fn address_and_name_have_their_own_limits() {
        assert!(Address::parse(&"路".repeat(200)).is_ok());
        assert_eq!(
            Address::parse(&"路".repeat(201)).unwrap_err().to_string(),
            "address: 201 characters, at most 200"
        );
        assert!(PersonName::parse("张三").is_ok());
        assert_eq!(
            PersonName::parse(&"张".repeat(51)).unwrap_err().to_string(),
            "name: 51 characters, at most 50"
        );
    }

    #[test]
    fn deserialising_applies_the_same_rules() {
        let too_long = postcard::to_allocvec(&"x".repeat(1001)).unwrap();
        assert!(postcard::from_bytes::<Note>(&too_long).is_err());
        let padded = postcard::to_allocvec("  ").unwrap();
        assert!(postcard::from_bytes::<Note>(&padded).is_err());
        let ok = postcard::to_allocvec("fine").unwrap();
        assert_eq!(postcard::from_bytes::<Note>(&ok).unwrap().as_str(), "fine");
    }

    #[test]
    fn urls_need_http_and_no_whitespace() {
        let url = Url::parse("https://oss.example.cn/case/1.jpg").unwrap();
        assert_eq!(Url::parse(&url.to_string()), Ok(url));
        assert!(Url::parse("http://10.0.0.1/a.mp4").is_ok());
        let expectations = [
            (
                "ftp://example.cn/a",
                "url: must start with http:// or https://",
            ),
            (
                "example.cn/a.jpg",
                "url: must start with http:// or https://",
            ),
            ("https://", "url: must name a host"),
            (
                "https://example.cn/a b.jpg",
                "url: must not contain whitespace or control characters",
            ),
        ];
        for (text, message) in expectations {
            assert_eq!(Url::parse(text).unwrap_err().to_string(), message);
        }
        let long = format!("https://example.cn/{}", "a".repeat(2048));
        assert_eq!(
            Url::parse(&long).unwrap_err().to_string(),
            "url: 2067 characters, at most 2048"
        );
    }
}
