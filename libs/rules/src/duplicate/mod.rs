//! Duplicate detection: a new report about a problem already being handled.
//!
//! [`find_duplicate`] is the definition, over any open cases; [`OpenCaseIndex`] files the
//! open cases by category and place cell so that a report looks only at those near it.

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

mod cells;
mod index;

pub use cells::{area_cells_near, filing_cells, search_cells, PlaceCell, CELLS_PER_DEGREE};
pub use index::{duplicate_window, OpenCaseIndex};

#[cfg(test)]
pub(super) mod tests {
    use gridcase_domain::{Address, Location};

    use super::*;
    use crate::testdata::{category, grid};

    pub(super) const HOUR_MS: i64 = 3_600_000;
    /// 涌金苑, in the sample city.
    pub(super) const LAT: f64 = 30.2533;
    pub(super) const LON: f64 = 120.1622;
    /// Metres of latitude per degree on the haversine sphere.
    pub(super) const METRES_PER_DEGREE: f64 = 111_195.0;

    pub(super) fn at(metres_north: f64) -> Option<Coordinates> {
        Some(Coordinates::new(LAT + metres_north / METRES_PER_DEGREE, LON).unwrap())
    }

    pub(super) fn candidate() -> CandidateCase {
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
    pub(super) fn open(id: u128, hours_before: i64, metres: f64) -> OpenCase {
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
    pub(super) fn open_with(change: impl FnOnce(&mut OpenCase)) -> OpenCase {
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
}
