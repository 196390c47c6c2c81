//! Store shards: which store process keeps which stream.
//!
//! A city's store can be split into shards, each its own store process with its own sled
//! directory and request subjects (`gridcase.v1.store.<shard>.…`). A case's shard is fixed
//! when intake takes the report — by the area of its grid (a district, or a street placed on a
//! shard of its own), or by its request id when it names no grid — and written into the case
//! id and its tracking code,
//! so any service routes from either alone, forever, whatever the map says later:
//!
//! - a case id of a sharded city starts with the byte `0x5c` followed by its shard's number
//!   (`5c01…` is shard 1);
//! - a tracking code's place in the code space is its shard's number modulo [`MAX_SHARDS`].
//!
//! Every other stream (the people's members, points and orders, the privacy audit) lives on
//! the home shard, shard 0. A map of one shard routes everything to it and leaves ids as they
//! are: a city is sharded from the start, since the ids minted before carry no shard.

use std::collections::BTreeMap;

use gridcase_domain::{CaseId, GridCode, GridLevel, TrackingCode};

/// The most shards a city can have: a tracking code keeps its shard modulo this.
pub use gridcase_eventstore::MAX_SHARDS;

/// The home shard: people's streams and the privacy audit, and the only shard of an unsharded
/// city.
pub const HOME: usize = 0;

/// The top byte of a sharded case id; the next byte is the shard.
const CASE_MARK: u128 = 0x5c;

/// Prefix of a tracking code's reservation stream (`tracking-<code>`).
const TRACKING_PREFIX: &str = "tracking-";

/// Which shard keeps which stream, and the shards' names (their subject tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardMap {
    names: Vec<String>,
    /// Areas (districts or streets) placed on a shard by code; a grid in none of them goes by
    /// a hash of its district's code.
    areas: BTreeMap<GridCode, usize>,
}

impl ShardMap {
    /// One shard, named `name`: everything is kept there.
    pub fn one(name: &str) -> Self {
        Self {
            names: vec![name.to_owned()],
            areas: BTreeMap::new(),
        }
    }

    /// `count` shards named `0` … `count - 1`, with areas placed by `areas`: a comma
    /// separated list of `<area>=<shard>`, an area being a district or a street
    /// (`330102=0,330105=1`, `330102-001=0,330102-002=1`). A grid goes to the shard of the
    /// nearest listed area it lies in, else by a hash of its district's code.
    pub fn new(count: usize, areas: &str) -> Result<Self, String> {
        if count == 0 || count > MAX_SHARDS {
            return Err(format!(
                "shards: {count} is not a shard count (1 to {MAX_SHARDS})"
            ));
        }
        let mut placed = BTreeMap::new();
        for entry in areas.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (area, shard) = entry
                .split_once('=')
                .ok_or_else(|| format!("shard_areas: {entry:?} is not <area>=<shard>"))?;
            let area = GridCode::parse(area.trim())
                .ok()
                .filter(|area| matches!(area.level(), GridLevel::District | GridLevel::Street))
                .ok_or_else(|| {
                    format!(
                        "shard_areas: {:?} is not a district or street code",
                        area.trim()
                    )
                })?;
            let shard: usize = shard
                .trim()
                .parse()
                .ok()
                .filter(|shard| *shard < count)
                .ok_or_else(|| {
                    format!(
                        "shard_areas: {entry:?} names no shard of 0 to {}",
                        count - 1
                    )
                })?;
            if placed.insert(area, shard).is_some() {
                return Err(format!("shard_areas: {area} is placed twice"));
            }
        }
        Ok(Self {
            names: (0..count).map(|n| n.to_string()).collect(),
            areas: placed,
        })
    }

    /// How many shards there are.
    pub fn count(&self) -> usize {
        self.names.len()
    }

    /// The name of shard `index`: its token in the store's subjects.
    pub fn name(&self, index: usize) -> &str {
        &self.names[index]
    }

    /// Every shard's name, in shard order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The shard a case in `grid` is kept in: that of the nearest listed area it lies in,
    /// else its district's by hash.
    pub fn of_grid(&self, grid: &GridCode) -> usize {
        if self.count() == 1 {
            return HOME;
        }
        let mut areas = std::iter::once(*grid).chain(grid.ancestors());
        if let Some(shard) = areas.find_map(|area| self.areas.get(&area).copied()) {
            return shard;
        }
        let text = grid.to_string();
        let district = &text[..text.len().min(6)];
        crate::subjects::fnv1a_32(district.as_bytes()) as usize % self.count()
    }

    /// `id` made a case id of shard `shard`: its top two bytes replaced by the mark and the
    /// shard. Unchanged in a city of one shard.
    pub fn case_in(&self, id: CaseId, shard: usize) -> CaseId {
        if self.count() == 1 {
            return id;
        }
        let top = (CASE_MARK << 8) | shard as u128;
        CaseId::from_u128((id.as_u128() & (u128::MAX >> 16)) | (top << 112))
    }

    /// The shard that keeps case `case`.
    pub fn of_case(&self, case: CaseId) -> usize {
        let top = case.as_u128() >> 112;
        self.checked(top >> 8 == CASE_MARK, (top & 0xff) as usize)
    }

    /// `code` moved to the nearest code of shard `shard` (its place modulo [`MAX_SHARDS`] is
    /// the shard). Unchanged in a city of one shard.
    pub fn code_in(&self, code: TrackingCode, shard: usize) -> TrackingCode {
        if self.count() == 1 {
            return code;
        }
        let n = code.as_u64();
        let mut moved = n - n % MAX_SHARDS as u64 + shard as u64;
        if moved >= TrackingCode::SPACE {
            moved -= MAX_SHARDS as u64;
        }
        TrackingCode::from_u64(moved)
    }

    /// The shard that keeps the reservation of tracking code `code`.
    pub fn of_code(&self, code: TrackingCode) -> usize {
        self.checked(true, (code.as_u64() % MAX_SHARDS as u64) as usize)
    }

    /// The shard that keeps store stream `stream`: a case's by its id, a tracking code's by the
    /// code, any other on the home shard.
    pub fn of_stream(&self, stream: &str) -> usize {
        if self.count() == 1 {
            return HOME;
        }
        if let Some(code) = stream.strip_prefix(TRACKING_PREFIX) {
            return TrackingCode::parse(code).map_or(HOME, |code| self.of_code(code));
        }
        CaseId::parse(stream).map_or(HOME, |case| self.of_case(case))
    }

    fn checked(&self, marked: bool, shard: usize) -> usize {
        if self.count() > 1 && marked && shard < self.count() {
            shard
        } else {
            HOME
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(code: &str) -> GridCode {
        GridCode::parse(code).unwrap()
    }

    #[test]
    fn one_shard_keeps_everything_and_changes_no_id() {
        let map = ShardMap::one("7");
        let case = CaseId::from_u128(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        assert_eq!(map.case_in(case, 0), case);
        assert_eq!(map.of_case(case), HOME);
        let code = TrackingCode::from_u64(123_456_789);
        assert_eq!(map.code_in(code, 0), code);
        assert_eq!(map.of_stream("points-member-sf-zhao-lei"), HOME);
        assert_eq!(map.of_grid(&grid("330105-002")), HOME);
        assert_eq!(map.name(0), "7");
    }

    #[test]
    fn a_case_and_its_code_route_to_the_shard_they_were_made_in() {
        let map = ShardMap::new(3, "").unwrap();
        for shard in 0..3 {
            for n in [
                0u128,
                1,
                u128::MAX,
                0x5c02 << 112,
                0x9e37_79b9_7f4a_7c15_0000_1111,
            ] {
                let case = map.case_in(CaseId::from_u128(n), shard);
                assert_eq!(map.of_case(case), shard, "{case}");
                assert_eq!(map.of_stream(&case.to_string()), shard);
                assert!(case.to_string().starts_with(&format!("5c0{shard}")));
            }
            for n in [0u64, 63, 64, TrackingCode::SPACE - 1, 987_654_321] {
                let code = map.code_in(TrackingCode::from_u64(n), shard);
                assert_eq!(map.of_code(code), shard, "{code}");
                let stream = format!("tracking-{}", code.to_string().replace('-', ""));
                assert_eq!(map.of_stream(&stream), shard);
                assert!(code.as_u64().abs_diff(n) < MAX_SHARDS as u64);
            }
        }
        // Streams that are neither live on the home shard, and so does an id without the mark
        // or naming a shard the map does not have.
        assert_eq!(map.of_stream("member-sf-zhao-lei"), HOME);
        assert_eq!(map.of_stream("audit-2026-11"), HOME);
        assert_eq!(map.of_case(CaseId::from_u128(0x0102 << 112)), HOME);
        assert_eq!(map.of_case(CaseId::from_u128(0x5c09 << 112)), HOME);
    }

    #[test]
    fn areas_go_where_they_are_placed_or_by_their_districts_code() {
        let map = ShardMap::new(3, "330102=1, 330105=0, 330102-003=2").unwrap();
        assert_eq!(map.of_grid(&grid("330102-001-002")), 1);
        assert_eq!(map.of_grid(&grid("330105")), 0);
        // A street placed on its own shard, within a district placed on another.
        assert_eq!(map.of_grid(&grid("330102-003")), 2);
        assert_eq!(map.of_grid(&grid("330102-003-001-004")), 2);
        let unlisted = map.of_grid(&grid("330106-004"));
        assert_eq!(
            unlisted,
            map.of_grid(&grid("330106-009-001")),
            "one district, one shard"
        );
        assert_eq!(map.names(), ["0", "1", "2"]);
    }

    #[test]
    fn a_bad_map_is_refused_with_the_entry_named() {
        for (count, districts, wanted) in [
            (0, "", "0 is not a shard count"),
            (65, "", "65 is not a shard count"),
            (2, "330102", "\"330102\" is not <area>=<shard>"),
            (2, "3301=1", "\"3301\" is not a district or street code"),
            (
                2,
                "330102-001-002=1",
                "\"330102-001-002\" is not a district or street code",
            ),
            (2, "330102=2", "\"330102=2\" names no shard of 0 to 1"),
            (2, "330102=1,330102=0", "330102 is placed twice"),
        ] {
            let error = ShardMap::new(count, districts).unwrap_err();
            assert!(error.contains(wanted), "{error}");
        }
    }
}
