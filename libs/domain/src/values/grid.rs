//! The grid hierarchy: district → street → community → grid → micro-grid.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::validation::ValidationError;

/// A level of the grid hierarchy, ordered from the top (`District`) down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GridLevel {
    /// 区/县: the 6-digit administrative code.
    District,
    /// 街道/乡镇.
    Street,
    /// 社区/村.
    Community,
    /// 网格, the area one grid worker looks after.
    Grid,
    /// 微网格, a building or a few of them.
    MicroGrid,
}

impl GridLevel {
    /// Every level, top first.
    pub const ALL: [GridLevel; 5] = [
        GridLevel::District,
        GridLevel::Street,
        GridLevel::Community,
        GridLevel::Grid,
        GridLevel::MicroGrid,
    ];

    /// Stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            GridLevel::District => "district",
            GridLevel::Street => "street",
            GridLevel::Community => "community",
            GridLevel::Grid => "grid",
            GridLevel::MicroGrid => "micro_grid",
        }
    }

    /// How many segments follow the district code at this level.
    const fn depth(self) -> usize {
        self as usize
    }

    /// The level one up, if any.
    pub const fn parent(self) -> Option<GridLevel> {
        match self {
            GridLevel::District => None,
            GridLevel::Street => Some(GridLevel::District),
            GridLevel::Community => Some(GridLevel::Street),
            GridLevel::Grid => Some(GridLevel::Community),
            GridLevel::MicroGrid => Some(GridLevel::Grid),
        }
    }
}

impl fmt::Display for GridLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Digits of the street, community, grid and micro-grid segments.
const SEGMENT_WIDTHS: [usize; 4] = [3, 3, 3, 2];

/// A position in the grid hierarchy, e.g. `330102-001-002-003-01`.
///
/// Segments below the code's level are stored as zero, which is why an
/// all-zero segment is invalid in the text form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GridCode {
    district: u32,
    segments: [u16; 4],
    level: GridLevel,
}

impl GridCode {
    /// Parses the dash-separated text form.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let s = s.trim();
        let mut parts = s.split('-');
        let district_text = parts.next().unwrap_or_default();
        if district_text.len() != 6 || !district_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::new(
                "grid_code",
                format!("district must be a 6-digit code, got {district_text:?}"),
            ));
        }
        let district: u32 = district_text
            .parse()
            .map_err(|_| ValidationError::new("grid_code", "district must be digits"))?;
        if district == 0 {
            return Err(ValidationError::new(
                "grid_code",
                "district must not be all zeros",
            ));
        }
        let mut code = GridCode {
            district,
            segments: [0; 4],
            level: GridLevel::District,
        };
        for (index, part) in parts.enumerate() {
            let Some(&width) = SEGMENT_WIDTHS.get(index) else {
                return Err(ValidationError::new(
                    "grid_code",
                    "at most 4 segments may follow the district",
                ));
            };
            let level = GridLevel::ALL[index + 1];
            if part.len() != width || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ValidationError::new(
                    "grid_code",
                    format!("{level} segment must be {width} digits, got {part:?}"),
                ));
            }
            let value: u16 = part
                .parse()
                .map_err(|_| ValidationError::new("grid_code", "segments must be digits"))?;
            if value == 0 {
                return Err(ValidationError::new(
                    "grid_code",
                    format!("{level} segment must not be all zeros"),
                ));
            }
            code.segments[index] = value;
            code.level = level;
        }
        Ok(code)
    }

    /// The level of the hierarchy this code names.
    pub const fn level(&self) -> GridLevel {
        self.level
    }

    /// The code one level up, or `None` for a district.
    pub fn parent(&self) -> Option<GridCode> {
        self.level.parent().and_then(|level| self.at_level(level))
    }

    /// Every code above this one, nearest first (ends with the district).
    pub fn ancestors(&self) -> Vec<GridCode> {
        std::iter::successors(self.parent(), GridCode::parent).collect()
    }

    /// True if this code equals `other` or lies below it.
    pub fn is_within(&self, other: &GridCode) -> bool {
        self.at_level(other.level).as_ref() == Some(other)
    }

    /// True if this code lies strictly below `other`.
    pub fn is_strictly_within(&self, other: &GridCode) -> bool {
        other.level < self.level && self.is_within(other)
    }

    /// This code truncated to `level`, or `None` if `level` is below this code.
    pub fn at_level(&self, level: GridLevel) -> Option<GridCode> {
        if level > self.level {
            return None;
        }
        let mut truncated = *self;
        truncated.level = level;
        for segment in truncated.segments.iter_mut().skip(level.depth()) {
            *segment = 0;
        }
        Some(truncated)
    }
}

impl fmt::Display for GridCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.district)?;
        for (segment, width) in self
            .segments
            .iter()
            .zip(SEGMENT_WIDTHS)
            .take(self.level.depth())
        {
            write!(f, "-{segment:0width$}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for GridCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GridCode({self})")
    }
}

impl FromStr for GridCode {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for GridCode {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<GridCode> for String {
    fn from(value: GridCode) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(s: &str) -> GridCode {
        GridCode::parse(s).unwrap()
    }

    #[test]
    fn parses_every_level_and_round_trips() {
        let cases = [
            ("330102", GridLevel::District),
            ("330102-001", GridLevel::Street),
            ("330102-001-002", GridLevel::Community),
            ("330102-001-002-003", GridLevel::Grid),
            ("330102-001-002-003-01", GridLevel::MicroGrid),
        ];
        for (text, level) in cases {
            let code = grid(text);
            assert_eq!(code.level(), level, "{text}");
            assert_eq!(code.to_string(), text);
        }
    }

    #[test]
    fn rejects_malformed_codes() {
        let expectations = [
            ("", "grid_code: district must be a 6-digit code, got \"\""),
            (
                "33010",
                "grid_code: district must be a 6-digit code, got \"33010\"",
            ),
            ("000000", "grid_code: district must not be all zeros"),
            (
                "330102-000",
                "grid_code: street segment must not be all zeros",
            ),
            (
                "330102-01",
                "grid_code: street segment must be 3 digits, got \"01\"",
            ),
            (
                "330102-001-00a",
                "grid_code: community segment must be 3 digits, got \"00a\"",
            ),
            (
                "330102-001-002-003-001",
                "grid_code: micro_grid segment must be 2 digits, got \"001\"",
            ),
            (
                "330102-001-002-003-00",
                "grid_code: micro_grid segment must not be all zeros",
            ),
            (
                "330102-001-002-003-01-01",
                "grid_code: at most 4 segments may follow the district",
            ),
            (
                "330102-",
                "grid_code: street segment must be 3 digits, got \"\"",
            ),
            (
                "330102.001",
                "grid_code: district must be a 6-digit code, got \"330102.001\"",
            ),
        ];
        for (text, message) in expectations {
            assert_eq!(
                GridCode::parse(text).unwrap_err().to_string(),
                message,
                "{text}"
            );
        }
    }

    #[test]
    fn parent_and_ancestors_walk_up() {
        let micro = grid("330102-001-002-003-01");
        assert_eq!(micro.parent(), Some(grid("330102-001-002-003")));
        assert_eq!(grid("330102").parent(), None);
        assert_eq!(
            micro.ancestors(),
            vec![
                grid("330102-001-002-003"),
                grid("330102-001-002"),
                grid("330102-001"),
                grid("330102"),
            ]
        );
        assert!(grid("330102").ancestors().is_empty());
    }

    #[test]
    fn within_compares_prefixes_by_level() {
        let community = grid("330102-001-002");
        assert!(grid("330102-001-002-003").is_within(&community));
        assert!(community.is_within(&community));
        assert!(!community.is_strictly_within(&community));
        assert!(grid("330102-001-002-003").is_strictly_within(&grid("330102")));
        assert!(!grid("330102-001-003-003").is_within(&community));
        assert!(!grid("330103-001-002-003").is_within(&community));
        assert!(!community.is_within(&grid("330102-001-002-003")));
    }

    #[test]
    fn at_level_truncates_or_refuses_to_go_down() {
        let code = grid("330102-001-002-003");
        assert_eq!(code.at_level(GridLevel::Street), Some(grid("330102-001")));
        assert_eq!(code.at_level(GridLevel::Grid), Some(code));
        assert_eq!(code.at_level(GridLevel::MicroGrid), None);
    }

    #[test]
    fn serde_uses_the_text_form_and_validates() {
        let code = grid("330102-001-002");
        let bytes = postcard::to_allocvec(&code).unwrap();
        assert_eq!(postcard::from_bytes::<GridCode>(&bytes).unwrap(), code);
        let bad = postcard::to_allocvec("330102-000").unwrap();
        assert!(postcard::from_bytes::<GridCode>(&bad).is_err());
    }
}
