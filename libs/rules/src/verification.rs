//! Who checks on site that a resolved case is fixed (核查): the grid worker of the case's grid,
//! unless that worker settled it themselves, when the community checks it.

use gridcase_config::ReferenceData;
use gridcase_domain::{Assignee, CaseState, GridCode, GridLevel, Location, WorkerId};

/// Whom the on-site check of a resolved case goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verifier {
    /// The grid worker of the case's grid (the first listed).
    Worker(WorkerId),
    /// The community office of the case's grid: the case was settled by a grid worker, who
    /// may not check their own work.
    Community(GridCode),
}

/// Who checks `state`'s resolution by `resolved_by` on site; `None` for a case without a
/// grid, or whose grid has no worker listed and no community.
pub fn verifier(
    reference: &ReferenceData,
    state: &CaseState,
    resolved_by: &Assignee,
) -> Option<Verifier> {
    let grid = state.location.as_ref().and_then(Location::grid)?;
    let community = || grid.at_level(GridLevel::Community).map(Verifier::Community);
    if matches!(resolved_by, Assignee::Worker(_)) {
        return community();
    }
    match reference.workers_of(&grid).first() {
        Some(worker) => Some(Verifier::Worker(worker.id.clone())),
        None => community(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_domain::DepartmentCode;

    fn in_grid(code: &str) -> CaseState {
        CaseState {
            location: Some(
                Location::new(Some(GridCode::parse(code).unwrap()), None, None).unwrap(),
            ),
            ..CaseState::default()
        }
    }

    #[test]
    fn the_grid_worker_checks_a_department_but_not_their_own_settlement() {
        let reference = crate::testdata::sample();
        let grid = in_grid("330102-001-001-001");
        let water = Assignee::Department(DepartmentCode::parse("water").unwrap());
        assert_eq!(
            verifier(reference, &grid, &water),
            Some(Verifier::Worker(WorkerId::parse("lin-ming").unwrap()))
        );
        let own = Assignee::Worker(WorkerId::parse("lin-ming").unwrap());
        assert_eq!(
            verifier(reference, &grid, &own),
            Some(Verifier::Community(
                GridCode::parse("330102-001-001").unwrap()
            ))
        );
        // A case placed in an unsurveyed micro-grid finds its grid's worker.
        assert_eq!(
            verifier(reference, &in_grid("330102-001-001-001-09"), &water),
            Some(Verifier::Worker(WorkerId::parse("lin-ming").unwrap()))
        );
        assert_eq!(verifier(reference, &CaseState::default(), &water), None);
    }
}
