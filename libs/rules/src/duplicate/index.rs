//! The open cases filed by category and place cell, and within a cell by report time, so a
//! report looks only at those near it in place and time.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;

use gridcase_domain::{CaseId, CategoryCode, Coordinates, GridCode, Timestamp};

use super::cells::{area_cells_near, filing_cells, PlaceCell};
use super::{find_duplicate, CandidateCase, OpenCase};

/// A cell's open cases by report time (milliseconds) and id.
type Cell = BTreeMap<(i64, CaseId), OpenCase>;

/// The open cases, filed by category and [`PlaceCell`] and within a cell by report time, so
/// that a new report looks only at those near it in place and within the duplicate window: the
/// cost of a lookup depends on how many open cases are near the report in place and time, not
/// on how many are open.
#[derive(Clone, Debug, Default)]
pub struct OpenCaseIndex {
    /// The open cases per category and cell; a case with both a micro-grid and
    /// coordinates is in two cells.
    cells: HashMap<(CategoryCode, PlaceCell), Cell>,
    /// Where each filed case is (category, report time, cells), to take it out again.
    filed: HashMap<CaseId, (CategoryCode, i64, Vec<PlaceCell>)>,
}

/// `cell`'s cases reported within `reported` (milliseconds, both ends included).
fn reported_within(cell: &Cell, reported: RangeInclusive<i64>) -> impl Iterator<Item = &OpenCase> {
    let (from, to) = reported.into_inner();
    let range = (from, CaseId::from_u128(0))..=(to, CaseId::from_u128(u128::MAX));
    let cases = if from <= to {
        Some(cell.range(range))
    } else {
        None
    };
    cases.into_iter().flatten().map(|(_, case)| case)
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
        let reported = case.reported_at.as_millis();
        for cell in &cells {
            self.cells
                .entry((case.category, *cell))
                .or_default()
                .insert((reported, case.case_id), case.clone());
        }
        self.filed
            .insert(case.case_id, (case.category, reported, cells));
    }

    /// Takes `case` out, if it is filed.
    pub fn remove(&mut self, case: CaseId) {
        let Some((category, reported, cells)) = self.filed.remove(&case) else {
            return;
        };
        for cell in cells {
            let key = (category, cell);
            if let Some(cases) = self.cells.get_mut(&key) {
                cases.remove(&(reported, case));
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
        self.nearby_reported(category, grid, coordinates, i64::MIN..=i64::MAX)
    }

    /// [`OpenCaseIndex::nearby`], of the cases reported within `reported` (milliseconds, both
    /// ends included) only: each cell is read for that stretch of time alone.
    pub fn nearby_reported<'a>(
        &'a self,
        category: &CategoryCode,
        grid: Option<&GridCode>,
        coordinates: Option<&Coordinates>,
        reported: RangeInclusive<i64>,
    ) -> impl Iterator<Item = &'a OpenCase> + 'a {
        let category = *category;
        let window = reported.clone();
        let areas: Vec<PlaceCell> = coordinates.map(area_cells_near).unwrap_or_default();
        let micro_grid = grid.and_then(PlaceCell::of_grid);
        let in_micro_grid = micro_grid
            .and_then(|cell| self.cells.get(&(category, cell)))
            .into_iter()
            .flat_map(move |cell| reported_within(cell, reported.clone()));
        let in_areas = areas
            .clone()
            .into_iter()
            .filter_map(move |cell| self.cells.get(&(category, cell)))
            .flat_map(move |cell| reported_within(cell, window.clone()));
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

    /// [`find_duplicate`] over the open cases near `candidate` in place and reported within
    /// `window_ms` before it: the same answer as over every open case filed here.
    pub fn find_duplicate(&self, candidate: &CandidateCase, window_ms: i64) -> Option<CaseId> {
        find_duplicate(
            candidate,
            self.nearby_reported(
                &candidate.category,
                candidate.grid.as_ref(),
                candidate.coordinates.as_ref(),
                duplicate_window(candidate.reported_at, window_ms),
            ),
            window_ms,
        )
    }
}

/// The report times (milliseconds) a case [`find_duplicate`] could pick for a candidate
/// reported at `reported_at` has: within `window_ms` before it, up to its own report time.
pub fn duplicate_window(reported_at: Timestamp, window_ms: i64) -> RangeInclusive<i64> {
    let reported = reported_at.as_millis();
    reported.saturating_sub(window_ms.max(0))..=reported
}

#[cfg(test)]
mod tests {
    use super::super::tests::{
        at, candidate, open, open_with, HOUR_MS, LAT, LON, METRES_PER_DEGREE,
    };
    use super::super::*;
    use crate::testdata::{category, grid};

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
                find_duplicate(&candidate, nearby.iter().copied(), window),
                expected,
                "{name}: {candidate:?}"
            );
            assert_eq!(index.find_duplicate(&candidate, window), expected);
            // Read for the window alone, each cell gives only cases reported within it.
            let reported = duplicate_window(candidate.reported_at, window);
            let within: Vec<&OpenCase> = index
                .nearby_reported(
                    &candidate.category,
                    candidate.grid.as_ref(),
                    candidate.coordinates.as_ref(),
                    reported.clone(),
                )
                .collect();
            assert!(within
                .iter()
                .all(|case| reported.contains(&case.reported_at.as_millis())));
            assert!(within.len() <= nearby.len());
            assert_eq!(find_duplicate(&candidate, within, window), expected);
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
