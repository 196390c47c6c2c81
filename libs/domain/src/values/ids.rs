//! Identifiers. They are minted by callers (the domain has no randomness) and
//! only checked and formatted here.

use std::fmt;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use super::validation::ValidationError;

/// Defines a 128-bit id whose text form is 32 lowercase hex digits: safe as
/// a NATS subject token because it can never contain `.`, `*`, `>` or spaces.
macro_rules! hex_id {
    ($(#[$meta:meta])* $name:ident, $field:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u128);

        impl $name {
            /// Wraps a raw 128-bit value, e.g. the bits of a UUID minted by the caller.
            pub const fn from_u128(value: u128) -> Self {
                Self(value)
            }

            /// The raw 128-bit value.
            pub const fn as_u128(self) -> u128 {
                self.0
            }

            /// Big-endian bytes, the same layout as a UUID.
            pub const fn to_bytes(self) -> [u8; 16] {
                self.0.to_be_bytes()
            }

            /// Reads the big-endian bytes written by `to_bytes`.
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(u128::from_be_bytes(bytes))
            }

            /// Parses exactly 32 hex digits, either case.
            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                parse_hex128($field, s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:032x}", self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        // Binary formats get the 16 raw bytes; text formats (JSON) get the hex form.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.collect_str(self)
                } else {
                    self.to_bytes().serialize(serializer)
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                if deserializer.is_human_readable() {
                    let text = String::deserialize(deserializer)?;
                    Self::parse(&text).map_err(de::Error::custom)
                } else {
                    <[u8; 16]>::deserialize(deserializer).map(Self::from_bytes)
                }
            }
        }
    };
}

hex_id!(
    /// The id of a case, and of its event stream.
    CaseId,
    "case_id"
);

hex_id!(
    /// The id of one stored event, used for deduplication and causation.
    EventId,
    "event_id"
);

hex_id!(
    /// A service order (群众点单), minted by the service that takes it.
    OrderId,
    "order_id"
);

hex_id!(
    /// A household under care (敲门行动), minted by the service that enrols it.
    HouseholdId,
    "household_id"
);

fn parse_hex128(field: &'static str, s: &str) -> Result<u128, ValidationError> {
    let length = s.chars().count();
    if length != 32 {
        return Err(ValidationError::new(
            field,
            format!("must be 32 hex digits, got {length} characters"),
        ));
    }
    if let Some(bad) = s.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(ValidationError::new(
            field,
            format!("must be 32 hex digits, found {bad:?}"),
        ));
    }
    // Only hex digits remain, so from_str_radix's tolerance of a leading '+' never applies.
    u128::from_str_radix(s, 16).map_err(|error| ValidationError::new(field, error.to_string()))
}

/// Symbols that survive being read aloud over a phone line: no 0/O, 1/I/L.
const TRACKING_ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const TRACKING_SYMBOLS: usize = 8;
const TRACKING_SPACE: u64 = 31u64.pow(TRACKING_SYMBOLS as u32);

/// The short code a resident quotes on the phone to ask about their case,
/// displayed `XXXX-XXXX`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackingCode(u64);

impl TrackingCode {
    /// How many distinct codes exist (31^8).
    pub const SPACE: u64 = TRACKING_SPACE;

    /// Maps any number into the code space (modulo 31^8), deterministically,
    /// so callers can derive the code from a sequence or a hash.
    pub const fn from_u64(n: u64) -> Self {
        Self(n % TRACKING_SPACE)
    }

    /// The position of the code in the code space, below [`Self::SPACE`].
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Parses 8 symbols, with or without the dash, case-insensitive; spaces
    /// are ignored because people type what they heard in groups.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let symbols: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
        let symbols: Vec<char> = match symbols.len() {
            TRACKING_SYMBOLS => symbols,
            9 if symbols[4] == '-' => symbols
                .iter()
                .enumerate()
                .filter(|&(index, _)| index != 4)
                .map(|(_, &c)| c)
                .collect(),
            _ => {
                return Err(ValidationError::new(
                    "tracking_code",
                    "must be 8 symbols, written XXXXXXXX or XXXX-XXXX",
                ))
            }
        };
        let mut value = 0u64;
        for symbol in symbols {
            let upper = symbol.to_ascii_uppercase();
            let digit = TRACKING_ALPHABET
                .iter()
                .position(|&allowed| char::from(allowed) == upper)
                .ok_or_else(|| {
                    ValidationError::new(
                        "tracking_code",
                        format!("{symbol:?} is not a tracking code symbol (0, 1, I, L and O are never used)"),
                    )
                })?;
            value = value * 31 + digit as u64;
        }
        Ok(Self(value))
    }

    fn symbols(self) -> [u8; TRACKING_SYMBOLS] {
        let mut symbols = [0u8; TRACKING_SYMBOLS];
        let mut rest = self.0;
        for slot in symbols.iter_mut().rev() {
            *slot = TRACKING_ALPHABET[(rest % 31) as usize];
            rest /= 31;
        }
        symbols
    }
}

impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let symbols = self.symbols();
        let (head, tail) = symbols.split_at(4);
        // Every byte comes from the ASCII alphabet.
        let text = |part: &[u8]| part.iter().map(|&b| char::from(b)).collect::<String>();
        write!(f, "{}-{}", text(head), text(tail))
    }
}

impl fmt::Debug for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrackingCode({self})")
    }
}

impl FromStr for TrackingCode {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

// Binary formats get the number (a short varint); text formats get `XXXX-XXXX`.
impl Serialize for TrackingCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            serializer.serialize_u64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for TrackingCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            Self::parse(&text).map_err(de::Error::custom)
        } else {
            let value = u64::deserialize(deserializer)?;
            if value >= TRACKING_SPACE {
                return Err(de::Error::custom(format!(
                    "tracking_code: {value} is outside the code space"
                )));
            }
            Ok(Self(value))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_id_text_is_32_lowercase_hex() {
        let id = CaseId::from_u128(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        assert_eq!(id.to_string(), "0123456789abcdef0011223344556677");
        assert_eq!(CaseId::parse(&id.to_string()), Ok(id));
        assert_eq!(CaseId::parse("0123456789ABCDEF0011223344556677"), Ok(id));
        assert_eq!(CaseId::from_u128(1).to_string(), format!("{:0>32}", "1"));
        assert_eq!(id.as_u128(), 0x0123_4567_89ab_cdef_0011_2233_4455_6677);
    }

    #[test]
    fn case_id_rejects_wrong_length_and_non_hex() {
        assert_eq!(
            CaseId::parse("abc").unwrap_err().to_string(),
            "case_id: must be 32 hex digits, got 3 characters"
        );
        assert_eq!(
            CaseId::parse("0123456789abcdef001122334455667g")
                .unwrap_err()
                .to_string(),
            "case_id: must be 32 hex digits, found 'g'"
        );
        assert!(CaseId::parse("+123456789abcdef0011223344556677").is_err());
        assert!(CaseId::parse("0123456789abcdef.011223344556677").is_err());
        assert!(CaseId::parse(" 123456789abcdef0011223344556677").is_err());
    }

    #[test]
    fn event_id_bytes_round_trip() {
        let id = EventId::from_u128(u128::MAX - 7);
        assert_eq!(EventId::from_bytes(id.to_bytes()), id);
        assert_eq!(id.to_bytes()[0], 0xff);
        assert_eq!(EventId::parse(&id.to_string()), Ok(id));
        assert_eq!(
            EventId::parse("").unwrap_err().field,
            "event_id",
            "errors name the right field"
        );
    }

    #[test]
    fn ids_are_16_bytes_in_postcard() {
        let id = CaseId::from_u128(42);
        let bytes = postcard::to_allocvec(&id).unwrap();
        assert_eq!(bytes.len(), 16);
        assert_eq!(postcard::from_bytes::<CaseId>(&bytes).unwrap(), id);
    }

    #[test]
    fn tracking_code_formats_with_dash() {
        assert_eq!(TrackingCode::from_u64(0).to_string(), "2222-2222");
        assert_eq!(TrackingCode::from_u64(1).to_string(), "2222-2223");
        assert_eq!(
            TrackingCode::from_u64(TrackingCode::SPACE - 1).to_string(),
            "ZZZZ-ZZZZ"
        );
        assert_eq!(
            TrackingCode::from_u64(TrackingCode::SPACE),
            TrackingCode::from_u64(0)
        );
    }

    #[test]
    fn tracking_code_parse_is_forgiving_about_form() {
        let code = TrackingCode::from_u64(123_456_789_012);
        let text = code.to_string();
        assert_eq!(TrackingCode::parse(&text), Ok(code));
        assert_eq!(TrackingCode::parse(&text.replace('-', "")), Ok(code));
        assert_eq!(TrackingCode::parse(&text.to_lowercase()), Ok(code));
        assert_eq!(TrackingCode::parse(&format!("  {text} ")), Ok(code));
        assert_eq!(TrackingCode::parse(&text.replace('-', " ")), Ok(code));
        assert_eq!(code.as_u64(), 123_456_789_012);
    }

    #[test]
    fn tracking_code_rejects_confusable_symbols_and_bad_length() {
        assert_eq!(
            TrackingCode::parse("ABCD-EFG0").unwrap_err().to_string(),
            "tracking_code: '0' is not a tracking code symbol (0, 1, I, L and O are never used)"
        );
        assert!(TrackingCode::parse("ABCD-EFGI").is_err());
        assert!(TrackingCode::parse("ABCD-EFGl").is_err());
        assert!(TrackingCode::parse("ABCD-EFGO").is_err());
        assert_eq!(
            TrackingCode::parse("ABC").unwrap_err().to_string(),
            "tracking_code: must be 8 symbols, written XXXXXXXX or XXXX-XXXX"
        );
        assert!(TrackingCode::parse("ABC-DEFGH").is_err());
        assert!(TrackingCode::parse("ABCD--EFGH").is_err());
    }

    #[test]
    fn tracking_code_binary_form_is_checked() {
        let too_big = postcard::to_allocvec(&TrackingCode::SPACE).unwrap();
        assert!(postcard::from_bytes::<TrackingCode>(&too_big).is_err());
        let code = TrackingCode::from_u64(99);
        let bytes = postcard::to_allocvec(&code).unwrap();
        assert_eq!(postcard::from_bytes::<TrackingCode>(&bytes).unwrap(), code);
    }
}
