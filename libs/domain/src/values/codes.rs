//! Codes for departments, workers and the urban-management catalogue.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::validation::ValidationError;

/// Checks a lowercase slug: it ends up in NATS subjects and URLs, so only
/// characters that need no escaping anywhere are allowed.
fn parse_slug(
    field: &'static str,
    s: &str,
    max: usize,
    allow_dash: bool,
) -> Result<String, ValidationError> {
    let length = s.chars().count();
    if !(2..=max).contains(&length) {
        return Err(ValidationError::new(
            field,
            format!("{length} characters, must be 2 to {max}"),
        ));
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(ValidationError::new(
            field,
            "must start with a lowercase letter",
        ));
    }
    let allowed = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || (allow_dash && c == '-')
    };
    if let Some(bad) = s.chars().find(|&c| !allowed(c)) {
        let rule = if allow_dash {
            "lowercase letters, digits, '_' and '-'"
        } else {
            "lowercase letters, digits and '_'"
        };
        return Err(ValidationError::new(
            field,
            format!("{bad:?} not allowed, use {rule}"),
        ));
    }
    Ok(s.to_owned())
}

/// Defines a slug newtype with the usual conversions.
macro_rules! slug {
    ($(#[$meta:meta])* $name:ident, $field:literal, $max:literal, $allow_dash:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("Checks the code; errors name the field `", $field, "`.")]
            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                parse_slug($field, s, $max, $allow_dash).map(Self)
            }

            /// The code as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
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

slug!(
    /// A department that cases are dispatched to, e.g. `urban_management`;
    /// 2–32 of `[a-z0-9_]`, starting with a letter, because it is a NATS
    /// subject token (`gridcase.v1.dispatch.<department>`).
    DepartmentCode,
    "department",
    32,
    false
);

/// The dispatch subject token under which grid workers get their work orders
/// (`gridcase.v1.dispatch.worker.<worker id>`); no department may take it as its code.
pub const WORKER_SUBJECT_TOKEN: &str = "worker";

/// The dispatch subject token under which community offices get their work orders
/// (`gridcase.v1.dispatch.community.<community code>`); no department may take it as its code.
pub const COMMUNITY_SUBJECT_TOKEN: &str = "community";

/// The dispatch subject token under which street offices get their work orders
/// (`gridcase.v1.dispatch.street.<street code>`); no department may take it as its code.
pub const STREET_SUBJECT_TOKEN: &str = "street";

/// The dispatch subject token under which the leaders of the grid hierarchy (网格长 and the
/// community's, street's and district's leaders) get the escalations of their areas
/// (`gridcase.v1.dispatch.leader.<person id>`); no department may take it as its code.
pub const LEADER_SUBJECT_TOKEN: &str = "leader";

/// Every dispatch subject token that is not a department's.
pub const RESERVED_SUBJECT_TOKENS: [&str; 4] = [
    WORKER_SUBJECT_TOKEN,
    COMMUNITY_SUBJECT_TOKEN,
    STREET_SUBJECT_TOKEN,
    LEADER_SUBJECT_TOKEN,
];

slug!(
    /// A grid worker, supervisor or other person acting on a case; like a
    /// department code but 2–64 characters and `-` is allowed.
    WorkerId,
    "worker",
    64,
    true
);

slug!(
    /// A special grid member or volunteer (特殊网格员, 志愿者), e.g. `sf-zhao-lei`; like a
    /// worker id, 2–64 of `[a-z0-9_-]`. It names the member's role (`member:<id>`) and streams.
    MemberId,
    "member_id",
    64,
    true
);

slug!(
    /// A service of the communities' service list (群众点单), e.g. `errands`; like a department
    /// code, 2–32 of `[a-z0-9_]`, starting with a letter.
    ServiceCode,
    "service",
    32,
    false
);

/// The two halves of the digital urban-management catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryKind {
    /// 部件: a physical asset such as a manhole cover or a street light (`BJ`).
    Component,
    /// 事件: a situation such as illegal parking or piled rubbish (`SJ`).
    Incident,
}

impl CategoryKind {
    /// The pinyin prefix used in catalogue codes: `BJ` or `SJ`.
    pub const fn prefix(self) -> &'static str {
        match self {
            CategoryKind::Component => "BJ",
            CategoryKind::Incident => "SJ",
        }
    }

    /// Stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CategoryKind::Component => "component",
            CategoryKind::Incident => "incident",
        }
    }
}

/// A catalogue code such as `BJ-01-02` (component, major 1, minor 2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CategoryCode {
    kind: CategoryKind,
    major: u8,
    minor: u8,
}

impl CategoryCode {
    /// Builds a code from its parts; major and minor must be 1..=99.
    pub fn new(kind: CategoryKind, major: u8, minor: u8) -> Result<Self, ValidationError> {
        for (part, value) in [("major", major), ("minor", minor)] {
            if !(1..=99).contains(&value) {
                return Err(ValidationError::new(
                    "category",
                    format!("{part} must be 1 to 99, got {value}"),
                ));
            }
        }
        Ok(Self { kind, major, minor })
    }

    /// Parses `BJ-mm-nn` or `SJ-mm-nn` (prefix case-insensitive, two digits each).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let parts: Vec<&str> = s.trim().split('-').collect();
        let [prefix, major, minor] = parts[..] else {
            return Err(ValidationError::new(
                "category",
                "must look like BJ-01-02 or SJ-05-03",
            ));
        };
        let kind = if prefix.eq_ignore_ascii_case("BJ") {
            CategoryKind::Component
        } else if prefix.eq_ignore_ascii_case("SJ") {
            CategoryKind::Incident
        } else {
            return Err(ValidationError::new(
                "category",
                format!("prefix must be BJ (component) or SJ (incident), got {prefix:?}"),
            ));
        };
        let number = |part: &'static str, text: &str| {
            if text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()) {
                text.parse::<u8>()
                    .map_err(|_| ValidationError::new("category", format!("{part} must be digits")))
            } else {
                Err(ValidationError::new(
                    "category",
                    format!("{part} must be 2 digits, got {text:?}"),
                ))
            }
        };
        Self::new(kind, number("major", major)?, number("minor", minor)?)
    }

    /// Component or incident.
    pub const fn kind(&self) -> CategoryKind {
        self.kind
    }

    /// 大类, 1..=99.
    pub const fn major(&self) -> u8 {
        self.major
    }

    /// 小类, 1..=99.
    pub const fn minor(&self) -> u8 {
        self.minor
    }
}

impl fmt::Display for CategoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{:02}-{:02}",
            self.kind.prefix(),
            self.major,
            self.minor
        )
    }
}

impl fmt::Debug for CategoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CategoryCode({self})")
    }
}

impl FromStr for CategoryCode {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for CategoryCode {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CategoryCode> for String {
    fn from(value: CategoryCode) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn department_codes_accept_subject_safe_slugs() {
        for text in [
            "water",
            "urban_management",
            "ab",
            "dept_2024",
            &"a".repeat(32),
        ] {
            let code = DepartmentCode::parse(text).unwrap();
            assert_eq!(code.to_string(), text);
            assert_eq!(code.as_str(), text);
        }
    }

    #[test]
    fn department_codes_reject_unsafe_text() {
        let expectations = [
            ("a", "department: 1 characters, must be 2 to 32"),
            ("Water", "department: must start with a lowercase letter"),
            ("1water", "department: must start with a lowercase letter"),
            (
                "water.supply",
                "department: '.' not allowed, use lowercase letters, digits and '_'",
            ),
            (
                "water*",
                "department: '*' not allowed, use lowercase letters, digits and '_'",
            ),
            (
                "water-supply",
                "department: '-' not allowed, use lowercase letters, digits and '_'",
            ),
            (
                "water supply",
                "department: ' ' not allowed, use lowercase letters, digits and '_'",
            ),
        ];
        for (text, message) in expectations {
            assert_eq!(
                DepartmentCode::parse(text).unwrap_err().to_string(),
                message
            );
        }
        assert!(DepartmentCode::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn worker_ids_also_allow_dashes_and_are_longer() {
        assert!(WorkerId::parse("zhang-san_01").is_ok());
        assert!(WorkerId::parse(&"w".repeat(64)).is_ok());
        assert_eq!(
            WorkerId::parse(&"w".repeat(65)).unwrap_err().to_string(),
            "worker: 65 characters, must be 2 to 64"
        );
        assert_eq!(
            WorkerId::parse("zhang>san").unwrap_err().to_string(),
            "worker: '>' not allowed, use lowercase letters, digits, '_' and '-'"
        );
        assert!(WorkerId::parse("-zhang").is_err());
    }

    #[test]
    fn category_codes_parse_both_kinds() {
        let component = CategoryCode::parse("BJ-01-02").unwrap();
        assert_eq!(component.kind(), CategoryKind::Component);
        assert_eq!((component.major(), component.minor()), (1, 2));
        assert_eq!(component.to_string(), "BJ-01-02");
        let incident = CategoryCode::parse("sj-05-03").unwrap();
        assert_eq!(incident.kind(), CategoryKind::Incident);
        assert_eq!(incident.to_string(), "SJ-05-03");
        assert_eq!(
            CategoryCode::new(CategoryKind::Incident, 99, 99)
                .unwrap()
                .to_string(),
            "SJ-99-99"
        );
    }

    #[test]
    fn category_codes_reject_bad_parts() {
        let expectations = [
            ("BJ-01", "category: must look like BJ-01-02 or SJ-05-03"),
            (
                "XX-01-02",
                "category: prefix must be BJ (component) or SJ (incident), got \"XX\"",
            ),
            ("BJ-1-02", "category: major must be 2 digits, got \"1\""),
            ("BJ-01-2x", "category: minor must be 2 digits, got \"2x\""),
            ("BJ-00-02", "category: major must be 1 to 99, got 0"),
            ("SJ-01-00", "category: minor must be 1 to 99, got 0"),
        ];
        for (text, message) in expectations {
            assert_eq!(CategoryCode::parse(text).unwrap_err().to_string(), message);
        }
        assert!(CategoryCode::new(CategoryKind::Component, 100, 1).is_err());
    }
}
