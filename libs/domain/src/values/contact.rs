//! Who reported a case and how to call them back.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::text::PersonName;
use super::validation::ValidationError;

/// A Chinese mobile or landline number, stored normalised: mobiles as 11
/// digits (`13812345678`), landlines as `area-number` (`0571-87654321`).
///
/// `Debug` prints the masked form because debug output ends up in logs.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses a mobile (optionally `+86`/`86`-prefixed, spaces and dashes
    /// allowed) or a landline (`0` + 2–3 digit area code, optional dash,
    /// 7–8 digits).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let (international, rest) = match compact.strip_prefix("+86") {
            Some(rest) => (true, rest),
            None => (false, compact.as_str()),
        };
        if rest.is_empty() {
            return Err(ValidationError::new("phone", "must not be empty"));
        }
        if let Some(bad) = rest.chars().find(|&c| !c.is_ascii_digit() && c != '-') {
            return Err(ValidationError::new(
                "phone",
                format!("{bad:?} not allowed, use digits, spaces and '-'"),
            ));
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        // Without the '+', a country code is only recognisable in front of a mobile.
        let national = match digits.strip_prefix("86") {
            Some(mobile) if !international && digits.len() == 13 => mobile,
            _ => digits.as_str(),
        };
        if is_mobile(national) {
            return Ok(Self(national.to_owned()));
        }
        if international {
            return Err(ValidationError::new(
                "phone",
                "+86 must be followed by an 11-digit mobile number starting 13 to 19",
            ));
        }
        match national.as_bytes().first() {
            Some(b'0') => parse_landline(rest),
            Some(b'1') => Err(ValidationError::new(
                "phone",
                "a mobile number has 11 digits starting 13 to 19",
            )),
            _ => Err(ValidationError::new(
                "phone",
                "must be a mobile number (1xx) or a landline with area code (0xx)",
            )),
        }
    }

    /// True for mobile numbers (which can receive SMS).
    pub fn is_mobile(&self) -> bool {
        self.0.starts_with('1')
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A form safe to show to staff who do not need the number:
    /// `138****1234` for mobiles, `0571****4321` for landlines.
    pub fn masked(&self) -> String {
        let last_four = &self.0[self.0.len() - 4..];
        let kept = match self.0.split_once('-') {
            Some((area, _)) => area,
            None => &self.0[..3],
        };
        format!("{kept}****{last_four}")
    }
}

fn is_mobile(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    bytes.len() == 11 && bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1])
}

fn parse_landline(text: &str) -> Result<Phone, ValidationError> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let area_length = match text.split_once('-') {
        Some((area, _)) if (3..=4).contains(&area.len()) => area.len(),
        Some((area, _)) => {
            return Err(ValidationError::new(
                "phone",
                format!("area code must be 0 and 2 to 3 digits, got {area:?}"),
            ))
        }
        // Without a dash, China's numbering plan decides: 010 and 02x are the
        // only 3-digit area codes, everything else is 4 digits.
        None if matches!(digits.as_bytes().get(1), Some(b'1' | b'2')) => 3,
        None => 4,
    };
    let (area, number) = digits.split_at(area_length.min(digits.len()));
    if !(7..=8).contains(&number.len()) {
        return Err(ValidationError::new(
            "phone",
            format!("landline number after area code {area} must have 7 or 8 digits"),
        ));
    }
    Ok(Phone(format!("{area}-{number}")))
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl FromStr for Phone {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Phone {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.0
    }
}

/// Who reported a case; both fields empty means anonymous, which residents
/// are entitled to be.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reporter {
    /// The name the reporter gave, if any.
    pub name: Option<PersonName>,
    /// A number to call back, if any.
    pub phone: Option<Phone>,
}

impl Reporter {
    /// A reporter who left no name and no number.
    pub const fn anonymous() -> Self {
        Self {
            name: None,
            phone: None,
        }
    }

    /// True if there is no way to know or reach the reporter.
    pub fn is_anonymous(&self) -> bool {
        self.name.is_none() && self.phone.is_none()
    }
}

/// A reporter's name and phone sealed with their person's key: what the log keeps of them.
///
/// The domain only carries the bytes; sealing and opening happen where the keys are
/// (`gridcase-privacy`). Destroying the key leaves these bytes unreadable for good, which is
/// how a person is erased without rewriting history (crypto-shredding).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SealedContact {
    /// Which key sealed it.
    pub key_id: u128,
    /// The nonce it was sealed with.
    pub nonce: [u8; 12],
    /// The sealed `Reporter` and its authentication tag.
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedContact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SealedContact(key {:032x}, {} bytes)",
            self.key_id,
            self.ciphertext.len()
        )
    }
}

/// What a case's report says about who reported it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Contact {
    /// Nobody left a name or a number.
    #[default]
    Anonymous,
    /// Name and phone in clear: only in events written before contacts were sealed (schema
    /// version 1 of `CaseReported`), or in tests.
    Clear(Reporter),
    /// Name and phone sealed with the person's key.
    Sealed(SealedContact),
}

impl Contact {
    /// The contact of `reporter` in clear, or anonymous when it has neither name nor phone.
    pub fn clear(reporter: Reporter) -> Self {
        if reporter.is_anonymous() {
            Contact::Anonymous
        } else {
            Contact::Clear(reporter)
        }
    }

    /// True if nobody left a name or number.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Contact::Anonymous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles_are_normalised() {
        for text in [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "+86 138 1234 5678",
            "+8613812345678",
            "8613812345678",
            "86-138-1234-5678",
        ] {
            let phone = Phone::parse(text).unwrap();
            assert_eq!(phone.as_str(), "13812345678", "{text}");
            assert!(phone.is_mobile());
        }
        assert_eq!(Phone::parse("19912345678").unwrap().as_str(), "19912345678");
    }

    #[test]
    fn landlines_are_normalised_with_a_dash() {
        let cases = [
            ("0571-87654321", "0571-87654321"),
            ("057187654321", "0571-87654321"),
            ("0571 8765 4321", "0571-87654321"),
            ("010-12345678", "010-12345678"),
            ("01012345678", "010-12345678"),
            ("02112345678", "021-12345678"),
            ("0755-1234567", "0755-1234567"),
        ];
        for (text, normalised) in cases {
            let phone = Phone::parse(text).unwrap();
            assert_eq!(phone.as_str(), normalised, "{text}");
            assert!(!phone.is_mobile());
            assert_eq!(Phone::parse(&phone.to_string()), Ok(phone));
        }
    }

    #[test]
    fn rejects_numbers_that_are_neither() {
        let expectations = [
            ("", "phone: must not be empty"),
            (
                "12812345678",
                "phone: a mobile number has 11 digits starting 13 to 19",
            ),
            (
                "1381234567",
                "phone: a mobile number has 11 digits starting 13 to 19",
            ),
            (
                "23812345678",
                "phone: must be a mobile number (1xx) or a landline with area code (0xx)",
            ),
            (
                "0571-123456",
                "phone: landline number after area code 0571 must have 7 or 8 digits",
            ),
            (
                "05-12345678",
                "phone: area code must be 0 and 2 to 3 digits, got \"05\"",
            ),
            (
                "+86 0571 87654321",
                "phone: +86 must be followed by an 11-digit mobile number starting 13 to 19",
            ),
            (
                "138.1234.5678",
                "phone: '.' not allowed, use digits, spaces and '-'",
            ),
            (
                "+1 2025550123",
                "phone: '+' not allowed, use digits, spaces and '-'",
            ),
        ];
        for (text, message) in expectations {
            assert_eq!(
                Phone::parse(text).unwrap_err().to_string(),
                message,
                "{text}"
            );
        }
    }

    #[test]
    fn masking_keeps_prefix_and_last_four() {
        assert_eq!(Phone::parse("13812341234").unwrap().masked(), "138****1234");
        assert_eq!(
            Phone::parse("0571-87654321").unwrap().masked(),
            "0571****4321"
        );
        assert_eq!(
            Phone::parse("010-12345678").unwrap().masked(),
            "010****5678"
        );
        assert_eq!(
            format!("{:?}", Phone::parse("13812341234").unwrap()),
            "Phone(138****1234)"
        );
    }

    #[test]
    fn reporter_can_be_anonymous() {
        assert!(Reporter::anonymous().is_anonymous());
        let reporter = Reporter {
            name: None,
            phone: Some(Phone::parse("13812345678").unwrap()),
        };
        assert!(!reporter.is_anonymous());
    }
}
