//! Duplicate detection: a new report about a problem already being handled.
//!
//! [`find_duplicate`] is the definition, over any open cases; [`OpenCaseIndex`] files the
//! open cases by category and place cell so that a report looks only at those near it.

use std::collections::HashMap;

use gridcase_domain::{
    CaseId, CaseState, CaseStatus, CategoryCode, Coordinates, GridCode, GridLevel, Timestamp,
};

/// Two reports at most this far apart, in metres, are about the same place.
pub const DUPLICATE_RADIUS_M: f64 = 50.0;

/// The case being triaged, as far as duplicate detection cares.
#[derive(Clone, Debug, PartialEq)]
pub struct CandidateCase {
    /// Its id, so that it is never its own duplicate.
    pub case_id: CaseId,
    /// Its category, as classified.
    pub category: CategoryCode,
    /// When it was reported.
    pub reported_at: Timestamp,
    /// The grid or micro-grid it was reported in, if known.
    pub grid: Option<GridCode>,
    /// Where it was reported, if known.
    pub coordinates: Option<Coordinates>,
}

impl CandidateCase {
    /// Takes the fields from a case's state; `None` before the case is
    /// reported or while it has no category.
    pub fn from_state(state: &CaseState) -> Option<Self> {
        Some(CandidateCase {
            case_id: state.case_id?,
            category: state.category?,
            reported_at: state.reported_at?,
            grid: state.location.as_ref().and_then(|location| location.grid()),
            coordinates: state
                .location
                .as_ref()
                .and_then(|location| location.coordinates()),
        })
    }
}

/// A case a new report may repeat, as the triage service caches it.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenCase {
    /// Its id.
    pub case_id: CaseId,
    /// Its category.
    pub category: CategoryCode,
    /// When it was reported.
    pub reported_at: Timestamp,
    /// The grid or micro-grid it was reported in, if known.
    pub grid: Option<GridCode>,
    /// Where it was reported, if known.
    pub coordinates: Option<Coordinates>,
    /// Its status; a cache may lag behind, so closed, merged and rejected
    /// cases are skipped here rather than trusted to be gone.
    pub status: CaseStatus,
}

impl OpenCase {
    /// Takes the fields from a case's state; `None` before the case is
    /// reported or while it has no category.
    pub fn from_state(state: &CaseState) -> Option<Self> {
        let candidate = CandidateCase::from_state(state)?;
        Some(OpenCase {
            case_id: candidate.case_id,
            category: candidate.category,
            reported_at: candidate.reported_at,
            grid: candidate.grid,
            coordinates: candidate.coordinates,
            status: state.status?,
        })
    }

    /// True if this case came first: reported earlier, or at the same
    /// millisecond with a smaller id, so two simultaneous reports do not
    /// each count as the other's duplicate.
    fn precedes(&self, candidate: &CandidateCase) -> bool {
        (self.reported_at, self.case_id) < (candidate.reported_at, candidate.case_id)
    }

    /// Same place: within [`DUPLICATE_RADIUS_M`] or in the same micro-grid.
    fn same_place(&self, candidate: &CandidateCase) -> bool {
        let near = match (&self.coordinates, &candidate.coordinates) {
            (Some(here), Some(there)) => here.distance_m(there) <= DUPLICATE_RADIUS_M,
            _ => false,
        };
        let same_micro_grid = match (&self.grid, &candidate.grid) {
            (Some(here), Some(there)) => here.level() == GridLevel::MicroGrid && here == there,
            _ => false,
        };
        near || same_micro_grid
    }
}

/// The case `candidate` repeats, if any: an open case of the same category,
/// reported before it and at most `window_ms` earlier, at the same place
/// (within [`DUPLICATE_RADIUS_M`] when both have coordinates, or in the same
/// micro-grid). Of several, the earliest (then the smallest id) is chosen,
/// so all repeats fold into the first report. The candidate itself is
/// skipped if it is among `open_cases`.
pub fn find_duplicate<'a>(
    candidate: &CandidateCase,
    open_cases: impl IntoIterator<Item = &'a OpenCase>,
    window_ms: i64,
) -> Option<CaseId> {
    open_cases
        .into_iter()
        .filter(|open| {
            open.case_id != candidate.case_id
                && open.status.is_open()
                && open.category == candidate.category
                && open.precedes(candidate)
                && candidate.reported_at.millis_since(&open.reported_at) <= window_ms
                && open.same_place(candidate)
        })
        .min_by_key(|open| (open.reported_at, open.case_id))
        .map(|open| open.case_id)
}

/// Area cells per degree of latitude or longitude: an area cell of the
/// duplicate index is 1/1000° square, about 111 m north–south and, in the
/// sample city (30° N), 96 m east–west, so the cells within
/// [`DUPLICATE_RADIUS_M`] of a point are 2×2 (at most 3×3) of them.
pub const CELLS_PER_DEGREE: f64 = 1000.0;

/// Columns around the globe: 360° of [`CELLS_PER_DEGREE`].
const COLUMNS: i64 = 360_000;

/// Rows from this latitude pole-ward (and from its negative southward) are one
/// cell each around the globe, so that near a pole, where a few metres span
/// many degrees of longitude, a lookup still visits a handful of cells.
const POLAR_LATITUDE: f64 = 89.0;

/// A sphere a little smaller than the one [`Coordinates::distance_m`] uses:
/// the angle [`DUPLICATE_RADIUS_M`] spans on it is a little larger, a margin
/// for rounding at cell edges.
const SMALL_EARTH_RADIUS_M: f64 = 6_300_000.0;

/// Where the duplicate index files an open case, and where a new report
/// looks: a micro-grid, or a cell of a fixed latitude/longitude grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PlaceCell {
    /// Every case reported in this micro-grid.
    MicroGrid(GridCode),
    /// Every case with coordinates in this area cell: latitudes
    /// `row / CELLS_PER_DEGREE` up to the next row, longitudes likewise by
    /// `column` (0 for a polar row, which is one cell).
    Area {
        /// ⌊latitude × [`CELLS_PER_DEGREE`]⌋.
        row: i32,
        /// ⌊longitude × [`CELLS_PER_DEGREE`]⌋ modulo the columns around the globe, so
        /// 180° E and 180° W are one column.
        column: i32,
    },
}

impl PlaceCell {
    /// The micro-grid cell of `grid`, if it is a micro-grid.
    pub fn of_grid(grid: &GridCode) -> Option<Self> {
        (grid.level() == GridLevel::MicroGrid).then_some(PlaceCell::MicroGrid(*grid))
    }

    /// The area cell holding `point`.
    pub fn of_point(point: &Coordinates) -> Self {
        let row = row_of(point.lat());
        let column = if is_polar(row) {
            0
        } else {
            column_of(point.lon())
        };
        PlaceCell::Area { row, column }
    }
}

/// The row of latitude `lat` (or of a latitude just beyond a pole).
fn row_of(lat: f64) -> i32 {
    // |lat| ≤ 91 here, so the product fits an i32 comfortably.
    #[allow(clippy::cast_possible_truncation)]
    let row = (lat * CELLS_PER_DEGREE).floor() as i32;
    row
}

/// The column of longitude `lon`, any number of turns around.
fn column_of(lon: f64) -> i32 {
    // |lon| ≤ 360 here, and the remainder is below `COLUMNS`.
    #[allow(clippy::cast_possible_truncation)]
    let column = ((lon * CELLS_PER_DEGREE).floor() as i64).rem_euclid(COLUMNS) as i32;
    column
}

/// True for the rows that are one cell around the globe.
fn is_polar(row: i32) -> bool {
    // `POLAR_LATITUDE × CELLS_PER_DEGREE` is an integer: 89,000.
    #[allow(clippy::cast_possible_truncation)]
    let polar_row = (POLAR_LATITUDE * CELLS_PER_DEGREE) as i32;
    row >= polar_row || row < -polar_row
}

/// The cells an open case is filed under: its micro-grid, if it was reported
/// in one, and the area cell of its coordinates, if it has them. A case with
/// neither can never be a duplicate's original, so it needs no cell.
pub fn filing_cells(grid: Option<&GridCode>, coordinates: Option<&Coordinates>) -> Vec<PlaceCell> {
    grid.and_then(PlaceCell::of_grid)
        .into_iter()
        .chain(coordinates.map(PlaceCell::of_point))
        .collect()
}

/// The area cells that may hold a point within [`DUPLICATE_RADIUS_M`] of
/// `point`: those meeting a box around it, whose half-height is the radius's
/// angle and whose half-width is that angle widened for the convergence of
/// the meridians at the box's latitude farthest from the equator.
pub fn area_cells_near(point: &Coordinates) -> Vec<PlaceCell> {
    let angle = DUPLICATE_RADIUS_M / SMALL_EARTH_RADIUS_M;
    let half_height = angle.to_degrees();
    let (lat, lon) = (point.lat(), point.lon());
    let rows = row_of(lat - half_height)..=row_of(lat + half_height);
    // Only non-polar rows need columns: on them, the box's points are within 89° of the
    // equator, and so is the candidate, or it is within the radius of 89°.
    let farthest = (lat.abs() + half_height).min(POLAR_LATITUDE).max(lat.abs());
    // A point within the radius differs in longitude by at most this (the haversine's
    // second term, bounded with both latitudes at their farthest).
    let ratio = (angle / 2.0).sin() / farthest.to_radians().cos();
    let half_width = if ratio < 1.0 {
        (2.0 * ratio.asin()).to_degrees()
    } else {
        180.0
    };
    let first = ((lon - half_width) * CELLS_PER_DEGREE).floor();
    let last = ((lon + half_width) * CELLS_PER_DEGREE).floor();
    let mut cells = Vec::new();
    for row in rows {
        if is_polar(row) {
            cells.push(PlaceCell::Area { row, column: 0 });
        } else if last - first + 1.0 >= 360.0 * CELLS_PER_DEGREE {
            // Not for a point on Earth (the half-width is within 1.3° off the poles); kept
            // so the lookup stays right whatever the constants become.
            cells.extend((0..COLUMNS).map(|column| PlaceCell::Area {
                row,
                // `column` is below `COLUMNS`, which fits an i32.
                #[allow(clippy::cast_possible_truncation)]
                column: column as i32,
            }));
        } else {
            // `first` and `last` are within 181 turns of a column: they fit an i64.
            #[allow(clippy::cast_possible_truncation)]
            let columns = (first as i64)..=(last as i64);
            cells.extend(columns.map(|column| PlaceCell::Area {
                row,
                // Below `COLUMNS` after the remainder.
                #[allow(clippy::cast_possible_truncation)]
                column: column.rem_euclid(COLUMNS) as i32,
            }));
        }
    }
    cells
}

/// The cells a report at this place looks in for its duplicate: its
/// micro-grid, if it was reported in one, and the area cells near its
/// coordinates, if it has them. Every open case at the same place (see
/// [`find_duplicate`]) is filed under one of them.
pub fn search_cells(grid: Option<&GridCode>, coordinates: Option<&Coordinates>) -> Vec<PlaceCell> {
    let mut cells: Vec<PlaceCell> = grid.and_then(PlaceCell::of_grid).into_iter().collect();
    if let Some(point) = coordinates {
        cells.extend(area_cells_near(point));
    }
    cells
}

/// The open cases, filed by category and [`PlaceCell`], so that a new report
/// looks only at those near it: the cost of a lookup depends on how many open
/// cases are near the report, not on how many are open.
#[derive(Clone, Debug, Default)]
pub struct OpenCaseIndex {
    /// The open cases per category and cell; a case with both a micro-grid and
    /// coordinates is in two cells.
    cells: HashMap<(CategoryCode, PlaceCell), HashMap<CaseId, OpenCase>>,
    /// Where each filed case is, to take it out again.
    filed: HashMap<CaseId, (CategoryCode, Vec<PlaceCell>)>,
}

impl OpenCaseIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of cases filed.
    pub fn len(&self) -> usize {
        self.filed.len()
    }

    /// True if no case is filed.
    pub fn is_empty(&self) -> bool {
        self.filed.is_empty()
    }

    /// Files `case`, in place of what was filed under its id (its category or
    /// place may have changed). A case that is not open, or has neither a
    /// micro-grid nor coordinates, can never be an original: it is only taken
    /// out.
    pub fn insert(&mut self, case: OpenCase) {
        self.remove(case.case_id);
        if !case.status.is_open() {
            return;
        }
        let cells = filing_cells(case.grid.as_ref(), case.coordinates.as_ref());
        if cells.is_empty() {
            return;
        }
        for cell in &cells {
            self.cells
                .entry((case.category, *cell))
                .or_default()
                .insert(case.case_id, case.clone());
        }
        self.filed.insert(case.case_id, (case.category, cells));
    }

    /// Takes `case` out, if it is filed.
    pub fn remove(&mut self, case: CaseId) {
        let Some((category, cells)) = self.filed.remove(&case) else {
            return;
        };
        for cell in cells {
            let key = (category, cell);
            if let Some(cases) = self.cells.get_mut(&key) {
                cases.remove(&case);
                if cases.is_empty() {
                    self.cells.remove(&key);
                }
            }
        }
    }

    /// The open cases of `category` that may be at the same place as a report
    /// in `grid` at `coordinates`: every case [`find_duplicate`] could pick for
    /// it, each once, and a few more nearby.
    pub fn nearby<'a>(
        &'a self,
        category: &CategoryCode,
        grid: Option<&GridCode>,
        coordinates: Option<&Coordinates>,
    ) -> impl Iterator<Item = &'a OpenCase> + 'a {
        let category = *category;
        let areas: Vec<PlaceCell> = coordinates.map(area_cells_near).unwrap_or_default();
        let micro_grid = grid.and_then(PlaceCell::of_grid);
        let in_micro_grid = micro_grid
            .and_then(|cell| self.cells.get(&(category, cell)))
            .into_iter()
            .flat_map(HashMap::values);
        let in_areas = areas
            .clone()
            .into_iter()
            .filter_map(move |cell| self.cells.get(&(category, cell)))
            .flat_map(HashMap::values);
        // A case in the micro-grid whose area cell is searched too is yielded from there.
        in_micro_grid
            .filter(move |case| {
                !case
                    .coordinates
                    .as_ref()
                    .is_some_and(|point| areas.contains(&PlaceCell::of_point(point)))
            })
            .chain(in_areas)
    }

    /// [`find_duplicate`] over the open cases near `candidate`: the same
    /// answer as over every open case filed here.
    pub fn find_duplicate(&self, candidate: &CandidateCase, window_ms: i64) -> Option<CaseId> {
        find_duplicate(
            candidate,
            self.nearby(
                &candidate.category,
                candidate.grid.as_ref(),
                candidate.coordinates.as_ref(),
            ),
            window_ms,
        )
    }
}

#[cfg(test)]
mod tests {
    use gridcase_domain::{Address, Location};

    use super::*;
    use crate::testdata::{category, grid};

    const HOUR_MS: i64 = 3_600_000;
    /// 涌金苑, in the sample city.
    const LAT: f64 = 30.2533;
    const LON: f64 = 120.1622;
    /// Metres of latitude per degree on the haversine sphere.
    const METRES_PER_DEGREE: f64 = 111_195.0;

    fn at(metres_north: f64) -> Option<Coordinates> {
        Some(Coordinates::new(LAT + metres_north / METRES_PER_DEGREE, LON).unwrap())
    }

    fn candidate() -> CandidateCase {
        CandidateCase {
            case_id: CaseId::from_u128(100),
            category: category("SJ-01-01"),
            reported_at: Timestamp::from_millis(10 * HOUR_MS),
            grid: Some(grid("330102-001-001-001-01")),
            coordinates: at(0.0),
        }
    }

    /// An open case like the candidate, `hours_before` it and `metres` away,
    /// in another micro-grid so only the distance counts.
    fn open(id: u128, hours_before: i64, metres: f64) -> OpenCase {
        OpenCase {
            case_id: CaseId::from_u128(id),
            category: category("SJ-01-01"),
            reported_at: Timestamp::from_millis((10 - hours_before) * HOUR_MS),
            grid: Some(grid("330102-001-001-001-02")),
            coordinates: at(metres),
            status: CaseStatus::Dispatched,
        }
    }

    /// The usual open case (1 h before, same spot, other micro-grid), changed by `change`.
    fn open_with(change: impl FnOnce(&mut OpenCase)) -> OpenCase {
        let mut case = open(1, 1, 0.0);
        change(&mut case);
        case
    }

    #[test]
    fn rules_one_case_at_a_time() {
        let window = 24 * HOUR_MS;
        let micro_grid_01 = Some(grid("330102-001-001-001-01"));
        // (what, the open case, whether the candidate repeats it)
        #[rustfmt::skip]
        let cases: Vec<(&str, OpenCase, bool)> = vec![
            ("within 50 m", open(1, 1, 30.0), true),
            ("at the same spot", open(1, 1, 0.0), true),
            ("just within 50 m", open(1, 1, 49.0), true),
            ("60 m away", open(1, 1, 60.0), false),
            ("same micro-grid, 400 m away",
                open_with(|c| { c.grid = micro_grid_01; c.coordinates = at(400.0) }), true),
            ("same micro-grid, no coordinates",
                open_with(|c| { c.grid = micro_grid_01; c.coordinates = None }), true),
            ("same grid is not the same micro-grid",
                open_with(|c| { c.grid = Some(grid("330102-001-001-001")); c.coordinates = None }), false),
            ("no coordinates, other micro-grid", open_with(|c| c.coordinates = None), false),
            ("no place at all", open_with(|c| { c.grid = None; c.coordinates = None }), false),
            ("just inside the window", open(1, 24, 0.0), true),
            ("outside the window", open(1, 25, 0.0), false),
            ("reported after the candidate", open(1, -1, 0.0), false),
            ("other category", open_with(|c| c.category = category("SJ-01-04")), false),
            ("closed", open_with(|c| c.status = CaseStatus::Closed), false),
            ("merged", open_with(|c| c.status = CaseStatus::Merged), false),
            ("rejected", open_with(|c| c.status = CaseStatus::Rejected), false),
            ("awaiting triage", open_with(|c| c.status = CaseStatus::Reported), true),
            ("being verified", open_with(|c| c.status = CaseStatus::Resolved), true),
            ("the candidate itself", open_with(|c| c.case_id = CaseId::from_u128(100)), false),
        ];
        for (name, case, duplicate) in cases {
            let expected = duplicate.then_some(case.case_id);
            assert_eq!(
                find_duplicate(&candidate(), [&case], window),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn the_same_grid_above_micro_grid_level_is_not_the_same_place() {
        let grid_level = Some(grid("330102-001-001-001"));
        let candidate = CandidateCase {
            grid: grid_level,
            coordinates: None,
            ..candidate()
        };
        let open = open_with(|c| {
            c.grid = grid_level;
            c.coordinates = None;
        });
        assert_eq!(find_duplicate(&candidate, [&open], HOUR_MS), None);
    }

    #[test]
    fn test_points_are_as_far_apart_as_named() {
        let origin = at(0.0).unwrap();
        for metres in [30.0, 49.0, 60.0, 400.0] {
            let distance = origin.distance_m(&at(metres).unwrap());
            assert!((distance - metres).abs() < 0.5, "{metres} m: {distance}");
        }
    }

    #[test]
    fn the_earliest_duplicate_is_chosen() {
        let cases = [
            open(3, 2, 10.0),
            open(1, 5, 40.0),
            open(2, 30, 0.0),
            open(4, 3, 20.0),
        ];
        // Case 2 is earliest but outside the window; case 1 is the earliest inside it.
        assert_eq!(
            find_duplicate(&candidate(), &cases, 24 * HOUR_MS),
            Some(CaseId::from_u128(1))
        );
        assert_eq!(
            find_duplicate(&candidate(), cases.iter().rev(), 24 * HOUR_MS),
            Some(CaseId::from_u128(1))
        );
    }

    #[test]
    fn simultaneous_reports_fold_into_the_smaller_id() {
        let earlier_id = OpenCase {
            case_id: CaseId::from_u128(50),
            ..open(0, 0, 0.0)
        };
        let later_id = OpenCase {
            case_id: CaseId::from_u128(150),
            ..open(0, 0, 0.0)
        };
        assert_eq!(
            find_duplicate(&candidate(), [&earlier_id, &later_id], HOUR_MS),
            Some(CaseId::from_u128(50))
        );
    }

    #[test]
    fn nothing_open_means_no_duplicate() {
        assert_eq!(find_duplicate(&candidate(), [], HOUR_MS), None);
        assert_eq!(find_duplicate(&candidate(), &[open(1, 1, 0.0)], -1), None);
    }

    #[test]
    fn inputs_come_from_case_state() {
        let mut state = CaseState::default();
        assert_eq!(CandidateCase::from_state(&state), None);
        state.case_id = Some(CaseId::from_u128(7));
        state.status = Some(CaseStatus::Reported);
        state.reported_at = Some(Timestamp::from_millis(5));
        state.location = Some(
            Location::new(
                Some(grid("330102-001-001-001-01")),
                Some(Address::parse("涌金苑3幢").unwrap()),
                at(0.0),
            )
            .unwrap(),
        );
        // No category yet: nothing to compare.
        assert_eq!(OpenCase::from_state(&state), None);
        state.category = Some(category("SJ-01-01"));
        let open = OpenCase::from_state(&state).unwrap();
        assert_eq!(open.case_id, CaseId::from_u128(7));
        assert_eq!(open.grid, Some(grid("330102-001-001-001-01")));
        assert_eq!(open.coordinates, at(0.0));
        assert_eq!(open.status, CaseStatus::Reported);
        assert_eq!(
            CandidateCase::from_state(&state).unwrap().reported_at,
            Timestamp::from_millis(5)
        );
    }

    // The index: a report looks only at the open cases near it, and finds what
    // `find_duplicate` finds over all of them.

    fn point(lat: f64, lon: f64) -> Coordinates {
        Coordinates::new(lat, lon).unwrap()
    }

    /// `from` moved `north` and `east` metres (negative: south, west).
    fn moved(from: &Coordinates, north: f64, east: f64) -> Coordinates {
        let metres_per_degree_lon = METRES_PER_DEGREE * from.lat().to_radians().cos();
        point(
            from.lat() + north / METRES_PER_DEGREE,
            from.lon() + east / metres_per_degree_lon,
        )
    }

    /// The index of `cases`.
    fn index_of<'a>(cases: impl IntoIterator<Item = &'a OpenCase>) -> OpenCaseIndex {
        let mut index = OpenCaseIndex::new();
        for case in cases {
            index.insert(case.clone());
        }
        index
    }

    #[test]
    fn a_duplicate_across_a_cell_edge_is_found_within_50_m_only() {
        // A corner of area cells in the sample city: rows and columns change here.
        let corner = point(30.254, 120.17);
        let half_cell_m = 40.0;
        // (direction, where the candidate is: half a metre on its side of the edge or corner,
        // the unit step across it)
        let sqrt_half = std::f64::consts::FRAC_1_SQRT_2;
        #[rustfmt::skip]
        let directions: [(&str, Coordinates, (f64, f64)); 8] = [
            ("north", moved(&corner, -0.5, half_cell_m), (1.0, 0.0)),
            ("south", moved(&corner, 0.5, half_cell_m), (-1.0, 0.0)),
            ("east", moved(&corner, half_cell_m, -0.5), (0.0, 1.0)),
            ("west", moved(&corner, half_cell_m, 0.5), (0.0, -1.0)),
            ("north-east", moved(&corner, -0.5, -0.5), (sqrt_half, sqrt_half)),
            ("north-west", moved(&corner, -0.5, 0.5), (sqrt_half, -sqrt_half)),
            ("south-east", moved(&corner, 0.5, -0.5), (-sqrt_half, sqrt_half)),
            ("south-west", moved(&corner, 0.5, 0.5), (-sqrt_half, -sqrt_half)),
        ];
        for (name, here, (north, east)) in directions {
            let candidate = CandidateCase {
                coordinates: Some(here),
                ..candidate()
            };
            for (metres, found) in [(49.0, true), (51.0, false), (1.5, true)] {
                let there = moved(&here, north * metres, east * metres);
                let distance = here.distance_m(&there);
                assert!((distance - metres).abs() < 0.5, "{name}: {distance} m");
                assert_ne!(
                    PlaceCell::of_point(&here),
                    PlaceCell::of_point(&there),
                    "{name} {metres} m: across the edge"
                );
                let open = open_with(|c| c.coordinates = Some(there));
                let index = index_of([&open]);
                let expected = found.then_some(open.case_id);
                assert_eq!(
                    find_duplicate(&candidate, [&open], HOUR_MS),
                    expected,
                    "{name} {metres} m, every case"
                );
                assert_eq!(
                    index.find_duplicate(&candidate, HOUR_MS),
                    expected,
                    "{name} {metres} m, indexed"
                );
            }
        }
    }

    #[test]
    fn the_area_cells_are_larger_than_the_radius_in_the_sample_city() {
        // So a report looks in at most 3×3 cells, usually 2×2.
        let here = point(LAT, LON);
        let north = point(30.254, LON).distance_m(&point(30.255, LON));
        let east = point(LAT, 120.17).distance_m(&point(LAT, 120.171));
        assert!(north > 2.0 * DUPLICATE_RADIUS_M, "{north} m");
        assert!(east > 1.9 * DUPLICATE_RADIUS_M, "{east} m");
        let cells = area_cells_near(&here);
        assert!((1..=9).contains(&cells.len()), "{cells:?}");
        assert!(cells.contains(&PlaceCell::of_point(&here)));
    }

    #[test]
    fn the_same_micro_grid_is_found_without_coordinates() {
        let micro_grid = Some(grid("330102-001-001-001-01"));
        let open = open_with(|c| {
            c.grid = micro_grid;
            c.coordinates = None;
        });
        let index = index_of([&open]);
        // The candidate 400 m away with coordinates, or without any.
        for coordinates in [at(400.0), None] {
            let candidate = CandidateCase {
                coordinates,
                ..candidate()
            };
            assert_eq!(
                index.find_duplicate(&candidate, HOUR_MS),
                Some(open.case_id)
            );
        }
        // The same grid above micro-grid level is not the same place, and is not filed.
        let grid_level = Some(grid("330102-001-001-001"));
        let open = open_with(|c| {
            c.grid = grid_level;
            c.coordinates = None;
        });
        let index = index_of([&open]);
        assert!(index.is_empty());
        let candidate = CandidateCase {
            grid: grid_level,
            coordinates: None,
            ..candidate()
        };
        assert_eq!(index.find_duplicate(&candidate, HOUR_MS), None);
    }

    #[test]
    fn the_index_follows_a_case_that_moves_changes_category_or_closes() {
        let mut index = OpenCaseIndex::new();
        // A case with neither coordinates nor a micro-grid can never be an original.
        index.insert(open_with(|c| {
            c.grid = None;
            c.coordinates = None;
        }));
        assert!(index.is_empty());
        index.insert(open(1, 1, 0.0));
        assert_eq!(index.len(), 1);
        assert_eq!(
            index.find_duplicate(&candidate(), HOUR_MS),
            Some(CaseId::from_u128(1))
        );
        // Moved 400 m north: no longer a duplicate here, but one there.
        index.insert(open(1, 1, 400.0));
        assert_eq!(index.len(), 1);
        assert_eq!(index.find_duplicate(&candidate(), HOUR_MS), None);
        let up_there = CandidateCase {
            coordinates: at(390.0),
            ..candidate()
        };
        assert_eq!(
            index.find_duplicate(&up_there, HOUR_MS),
            Some(CaseId::from_u128(1))
        );
        // Another category.
        index.insert(open_with(|c| c.category = category("SJ-01-04")));
        assert_eq!(index.find_duplicate(&up_there, HOUR_MS), None);
        assert_eq!(index.find_duplicate(&candidate(), HOUR_MS), None);
        let of_that_category = CandidateCase {
            category: category("SJ-01-04"),
            ..candidate()
        };
        assert_eq!(
            index.find_duplicate(&of_that_category, HOUR_MS),
            Some(CaseId::from_u128(1))
        );
        // Closed, or taken out: gone, cells and all.
        index.insert(open_with(|c| c.status = CaseStatus::Closed));
        assert!(index.is_empty());
        index.insert(open(1, 1, 0.0));
        index.remove(CaseId::from_u128(1));
        index.remove(CaseId::from_u128(1));
        assert!(index.is_empty());
        assert!(index.cells.is_empty());
    }

    /// A tiny xorshift64 generator: deterministic, no crate.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        /// Uniform in 0..1.
        fn unit(&mut self) -> f64 {
            #[allow(clippy::cast_precision_loss)]
            let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
            unit
        }

        fn between(&mut self, low: f64, high: f64) -> f64 {
            low + (high - low) * self.unit()
        }

        fn pick<T: Clone>(&mut self, choices: &[T]) -> T {
            let len = u64::try_from(choices.len()).unwrap();
            choices[usize::try_from(self.next() % len).unwrap()].clone()
        }
    }

    /// A random case `id` in the box: one of two categories, a micro-grid of four (or a grid,
    /// or none), coordinates or none, any status, reported within two days.
    fn random_case(rng: &mut XorShift, id: u128, lat: (f64, f64), lon: (f64, f64)) -> OpenCase {
        // Half without a grid, a few at grid level, the rest in one of 60 micro-grids.
        let grid_code = match rng.next() % 20 {
            0..=9 => None,
            10 => Some(grid("330102-001-001-001")),
            n => Some(grid(&format!(
                "330102-001-001-{:03}-{:02}",
                n - 10,
                1 + rng.next() % 10
            ))),
        };
        let statuses = [
            CaseStatus::Reported,
            CaseStatus::Dispatched,
            CaseStatus::Resolved,
            CaseStatus::Closed,
            CaseStatus::Merged,
            CaseStatus::Rejected,
        ];
        let coordinates = (rng.unit() < 0.85).then(|| {
            // Longitudes may run past 180°: they wrap.
            let mut lon = rng.between(lon.0, lon.1);
            if lon > 180.0 {
                lon -= 360.0;
            }
            point(rng.between(lat.0, lat.1).clamp(-90.0, 90.0), lon)
        });
        let reported_at = i64::try_from(rng.next() % (48 * 60)).unwrap() * 60_000;
        OpenCase {
            case_id: CaseId::from_u128(id),
            category: rng.pick(&[category("SJ-01-01"), category("SJ-01-04")]),
            reported_at: Timestamp::from_millis(reported_at),
            grid: grid_code,
            coordinates,
            status: rng.pick(&statuses),
        }
    }

    /// For random open cases and candidates in a box, the index finds what every case finds.
    fn index_agrees_in(name: &str, seed: u64, lat: (f64, f64), lon: (f64, f64), open: u128) {
        let mut rng = XorShift(seed);
        let cases: Vec<OpenCase> = (1..=open)
            .map(|id| random_case(&mut rng, id, lat, lon))
            .collect();
        let index = index_of(&cases);
        let window = 24 * HOUR_MS;
        let (mut found, mut candidates) = (0, 0);
        for id in 0..2_000 {
            let case = if rng.unit() < 0.1 {
                // An open case itself: never its own duplicate.
                rng.pick(&cases)
            } else {
                random_case(&mut rng, 1_000_000 + id, lat, lon)
            };
            let candidate = CandidateCase {
                case_id: case.case_id,
                category: case.category,
                reported_at: case.reported_at,
                grid: case.grid,
                coordinates: case.coordinates,
            };
            let nearby: Vec<&OpenCase> = index
                .nearby(
                    &candidate.category,
                    candidate.grid.as_ref(),
                    candidate.coordinates.as_ref(),
                )
                .collect();
            let mut ids: Vec<CaseId> = nearby.iter().map(|case| case.case_id).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), nearby.len(), "{name}: each nearby case once");
            let expected = find_duplicate(&candidate, &cases, window);
            assert_eq!(
                find_duplicate(&candidate, nearby, window),
                expected,
                "{name}: {candidate:?}"
            );
            assert_eq!(index.find_duplicate(&candidate, window), expected);
            candidates += 1;
            found += usize::from(expected.is_some());
        }
        // Both answers are common enough for the comparison to mean something.
        println!("{name}: {found} of {candidates} with a duplicate");
        assert!(
            found > candidates / 20 && found < candidates * 19 / 20,
            "{name}: {found} of {candidates}"
        );
    }

    #[test]
    fn the_index_finds_what_every_open_case_finds() {
        // The sample city, densely.
        index_agrees_in(
            "city",
            0x9E37_79B9_7F4A_7C15,
            (30.23, 30.26),
            (120.16, 120.19),
            4_000,
        );
        // A few hundred metres, so most points are near cell edges and each other.
        index_agrees_in("block", 7, (30.2530, 30.2545), (120.1695, 120.1712), 60);
        // Across the antimeridian.
        index_agrees_in(
            "date line",
            11,
            (-0.0005, 0.0005),
            (179.9994, 180.0006),
            100,
        );
        // Around the North Pole, at every longitude.
        index_agrees_in("north pole", 13, (89.9993, 90.0), (-180.0, 180.0), 50);
        index_agrees_in("south pole", 17, (-90.0, -89.9993), (-180.0, 180.0), 50);
        // Across the latitude where rows become one cell around.
        index_agrees_in("polar edge", 19, (88.9993, 89.0007), (10.0, 10.04), 60);
    }

    /// The cost of a lookup with 150,000 open cases of one category in the sample city, every
    /// case and indexed: `cargo test -p gridcase-rules --release -- --ignored --nocapture lookup_cost`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn lookup_cost_with_150000_open_cases() {
        use std::time::Instant;
        let mut rng = XorShift(42);
        let case = |rng: &mut XorShift, id: u128| OpenCase {
            case_id: CaseId::from_u128(id),
            category: category("SJ-01-01"),
            reported_at: Timestamp::from_millis(
                i64::try_from(rng.next() % (48 * 60)).unwrap() * 60_000,
            ),
            grid: None,
            coordinates: Some(point(
                rng.between(30.23, 30.26),
                rng.between(120.16, 120.19),
            )),
            status: CaseStatus::Dispatched,
        };
        let cases: Vec<OpenCase> = (1..=150_000).map(|id| case(&mut rng, id)).collect();
        let started = Instant::now();
        let index = index_of(&cases);
        let filing = started.elapsed();
        let candidates: Vec<CandidateCase> = (0..2_000)
            .map(|id| {
                let case = case(&mut rng, 1_000_000 + id);
                CandidateCase {
                    case_id: case.case_id,
                    category: case.category,
                    reported_at: Timestamp::from_millis(48 * HOUR_MS),
                    grid: case.grid,
                    coordinates: case.coordinates,
                }
            })
            .collect();
        let window = 24 * HOUR_MS;
        let started = Instant::now();
        let every: Vec<_> = candidates
            .iter()
            .map(|candidate| find_duplicate(candidate, &cases, window))
            .collect();
        let every_case = started.elapsed();
        let started = Instant::now();
        let indexed: Vec<_> = candidates
            .iter()
            .map(|candidate| index.find_duplicate(candidate, window))
            .collect();
        let by_index = started.elapsed();
        assert_eq!(every, indexed);
        let visited: usize = candidates
            .iter()
            .map(|c| {
                index
                    .nearby(&c.category, c.grid.as_ref(), c.coordinates.as_ref())
                    .count()
            })
            .sum();
        println!(
            "150,000 open cases, {} candidates ({} with a duplicate): every case {:?} per \
             candidate, indexed {:?} per candidate ({} cases looked at on average); filing \
             all took {filing:?}",
            candidates.len(),
            every.iter().filter(|found| found.is_some()).count(),
            every_case / 2_000,
            by_index / 2_000,
            visited / candidates.len(),
        );
    }
}
