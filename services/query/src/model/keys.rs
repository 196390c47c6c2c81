//! How the query model lays its records out in its one sled tree. The first byte says what a
//! record is:
//!
//! | key | value |
//! |---|---|
//! | `c` case id | the case's view ([`super::Stored`], postcard) |
//! | `i` term, report time, case id | nothing: the case is under the term (an index entry) |
//! | `n` term | how many cases are under the term (a counter) |
//! | `h` report hour, department | that department's indicator totals of the hour's cases |
//! | `t` tracking code | the case id |
//! | `w` time, case id | the case's colour changes then (a transition to apply) |
//! | `e` | how many case events were folded |
//!
//! Times are big-endian with the sign bit flipped, so keys sort by time and a reverse walk
//! of a term's entries gives its cases newest report first.

use gridcase_domain::{CaseId, CaseStatus, CategoryCode, DepartmentCode, GridCode, GridLevel};
use gridcase_rules::deadlines::Colour;

use gridcase_indicator_store::{time_bytes, time_from};

use crate::index::Key;

/// A case's view.
pub const CASE: u8 = b'c';
/// An index entry.
pub const INDEX: u8 = b'i';
/// A counter.
pub const COUNTER: u8 = b'n';
/// An hourly indicator bucket (laid out by [`gridcase_indicator_store`]).
pub const HOUR: u8 = gridcase_indicator_store::BUCKET;
/// A tracking code.
pub const TRACKING: u8 = b't';
/// A colour change to apply.
pub const TRANSITION: u8 = b'w';
/// The count of case events folded.
pub const EVENTS: &[u8] = b"e";

/// Something cases are listed and counted under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Term {
    /// Every reported case.
    All,
    /// Cases of a status.
    Status(CaseStatus),
    /// Cases whose grid lies within an area (at any level).
    Area(GridCode),
    /// Cases involving a department.
    Department(DepartmentCode),
    /// Cases of a category.
    Category(CategoryCode),
    /// Cases of a colour now.
    Colour(Colour),
    /// Cases of a status within an area.
    AreaStatus(GridCode, CaseStatus),
    /// Cases of a colour within an area: counted for the board, not listed (a list of one
    /// area's cases of a colour walks the smaller of the two).
    AreaColour(GridCode, Colour),
    /// Cases waiting on a handler (dispatched to it, accepted or not), by its actor name, e.g.
    /// `grid_worker:lin-ming`: the handler's inbox.
    Waiting(String),
}

const AREA_STATUS: u8 = b'A';
const AREA_COLOUR: u8 = b'K';

fn level_byte(level: GridLevel) -> u8 {
    let at = GridLevel::ALL.iter().position(|l| *l == level).unwrap_or(0);
    b'0' + u8::try_from(at).unwrap_or(0)
}

impl Term {
    /// True if the term's cases are listed (have index entries), not only counted.
    pub fn listed(&self) -> bool {
        !matches!(self, Term::AreaColour(..))
    }

    /// Appends the term's bytes (each part ends in a zero byte, so no term is a prefix of
    /// another's entries).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut part = |text: &str| {
            out.extend_from_slice(text.as_bytes());
            out.push(0);
        };
        match self {
            Term::All => part("*"),
            Term::Status(status) => {
                part("s");
                part(status.as_str());
            }
            Term::Area(area) => {
                part(&format!("a{}", char::from(level_byte(area.level()))));
                part(&area.to_string());
            }
            Term::Department(department) => {
                part("d");
                part(department.as_str());
            }
            Term::Category(category) => {
                part("g");
                part(&category.to_string());
            }
            Term::Colour(colour) => {
                part("k");
                part(colour.as_str());
            }
            Term::AreaStatus(area, status) => {
                part(&area_prefix(AREA_STATUS, area.level()));
                part(&area.to_string());
                part(status.as_str());
            }
            Term::AreaColour(area, colour) => {
                part(&area_prefix(AREA_COLOUR, area.level()));
                part(&area.to_string());
                part(colour.as_str());
            }
            Term::Waiting(handler) => {
                part("w");
                part(handler);
            }
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        self.encode_into(&mut out);
        out
    }
}

fn area_prefix(kind: u8, level: GridLevel) -> String {
    format!("{}{}", char::from(kind), char::from(level_byte(level)))
}

/// The key prefix of the counters of every `(area, status)` at `level`.
pub fn area_status_counters(level: GridLevel) -> Vec<u8> {
    let mut key = vec![COUNTER];
    key.extend_from_slice(area_prefix(AREA_STATUS, level).as_bytes());
    key.push(0);
    key
}

/// The key prefix of the counters of every `(area, colour)` at `level`.
pub fn area_colour_counters(level: GridLevel) -> Vec<u8> {
    let mut key = vec![COUNTER];
    key.extend_from_slice(area_prefix(AREA_COLOUR, level).as_bytes());
    key.push(0);
    key
}

/// The two named parts after an area counter prefix: the area and the status or colour.
pub fn area_counter_parts(key: &[u8], prefix_len: usize) -> Option<(&str, &str)> {
    let rest = key.get(prefix_len..)?;
    let mut parts = rest.split(|b| *b == 0);
    let area = std::str::from_utf8(parts.next()?).ok()?;
    let value = std::str::from_utf8(parts.next()?).ok()?;
    Some((area, value))
}

/// `kind` followed by the case id.
pub fn case_key(kind: u8, case: CaseId) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[0] = kind;
    key[1..].copy_from_slice(&case.to_bytes());
    key
}

/// The prefix of every index entry of `term`.
pub fn index_prefix(term: &Term) -> Vec<u8> {
    let mut key = vec![INDEX];
    term.encode_into(&mut key);
    key
}

/// The index entry of the case `key` under `term`.
pub fn index_key(term: &Term, key: Key) -> Vec<u8> {
    let mut out = index_prefix(term);
    out.extend_from_slice(&time_bytes(key.0));
    out.extend_from_slice(&key.1.to_bytes());
    out
}

/// The case an index entry (or a transition) names, from its last 24 bytes.
pub fn entry_key(entry: &[u8]) -> Option<Key> {
    let at = entry.len().checked_sub(24)?;
    let ms = time_from(&entry[at..at + 8])?;
    let case: [u8; 16] = entry[at + 8..].try_into().ok()?;
    Some((ms, CaseId::from_bytes(case)))
}

/// The counter of `term`.
pub fn counter_key(term: &Term) -> Vec<u8> {
    let mut key = vec![COUNTER];
    key.extend_from_slice(&term.bytes());
    key
}

/// The transition of `case` at `at_ms`.
pub fn transition_key(at_ms: i64, case: CaseId) -> Vec<u8> {
    let mut key = vec![TRANSITION];
    key.extend_from_slice(&time_bytes(at_ms));
    key.extend_from_slice(&case.to_bytes());
    key
}

/// The record of a tracking code.
pub fn tracking_key(code: &str) -> Vec<u8> {
    let mut key = vec![TRACKING];
    key.extend_from_slice(code.as_bytes());
    key
}

/// A counter's value.
pub fn read_count(bytes: &[u8]) -> i64 {
    bytes.try_into().map(i64::from_be_bytes).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_sort_by_time_and_give_their_case_back() {
        let term = Term::Area(GridCode::parse("330102-001").unwrap());
        let case = CaseId::from_u128(7);
        let early = index_key(&term, (-5, case));
        let late = index_key(&term, (1_700_000_000_000, case));
        assert!(early < late);
        assert!(early.starts_with(&index_prefix(&term)));
        assert_eq!(entry_key(&late), Some((1_700_000_000_000, case)));
        let street = Term::Area(GridCode::parse("330102-001").unwrap());
        let district = Term::Area(GridCode::parse("330102").unwrap());
        assert!(!index_prefix(&street).starts_with(&index_prefix(&district)));
    }

    #[test]
    fn area_counters_name_their_area_and_value() {
        let term = Term::AreaStatus(
            GridCode::parse("330102-001").unwrap(),
            CaseStatus::Dispatched,
        );
        let prefix = area_status_counters(GridLevel::Street);
        let key = counter_key(&term);
        assert!(key.starts_with(&prefix));
        assert_eq!(
            area_counter_parts(&key, prefix.len()),
            Some(("330102-001", "dispatched"))
        );
    }
}
