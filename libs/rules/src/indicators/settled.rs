//! Where cases are settled: the share of closed cases settled within the grid and within the
//! community (小事不出网格、大事不出社区), per grid, community or street.
//!
//! A closed case counts for the area its grid lies in, at the level asked, in the period of its
//! report time. It was settled by whoever resolved it last (the assignee of a closed case):
//! - *within the grid* when that is a grid worker;
//! - *within the community* when that is a grid worker or the community office;
//! - otherwise by the street or a department.
//!
//! Pure: the caller passes each case's grid, status and assignee. A share with no closed case
//! is `None`, never 0.

use std::collections::BTreeMap;

use gridcase_domain::{Assignee, CaseStatus, GridCode, GridLevel};

use super::rate;

/// What the settlement indicators need of one case.
#[derive(Clone, Debug)]
pub struct SettledCase {
    /// The grid the problem lies in, if the report gave one.
    pub grid: Option<GridCode>,
    /// Where the case is in the loop.
    pub status: Option<CaseStatus>,
    /// Who the case is (or was last) dispatched to: for a closed case, who settled it.
    pub assignee: Option<Assignee>,
}

/// The settlement indicators of one area.
#[derive(Clone, Debug, PartialEq)]
pub struct AreaSettlement {
    /// The area, at the level asked.
    pub area: GridCode,
    /// Closed cases in the area.
    pub closed: u64,
    /// Of those, settled by a grid worker.
    pub settled_in_grid: u64,
    /// Of those, settled by a grid worker or the community office.
    pub settled_in_community: u64,
    /// settled_in_grid / closed.
    pub grid_share: Option<f64>,
    /// settled_in_community / closed.
    pub community_share: Option<f64>,
}

/// The settlement indicators of every area at `level` (grid, community or street) with a
/// closed case among `cases`, in code order. Cases without a grid, or whose grid lies above
/// `level`, count nowhere.
pub fn by_area(
    cases: impl IntoIterator<Item = SettledCase>,
    level: GridLevel,
) -> Vec<AreaSettlement> {
    let mut areas: BTreeMap<GridCode, AreaSettlement> = BTreeMap::new();
    for case in cases {
        if case.status != Some(CaseStatus::Closed) {
            continue;
        }
        let Some(area) = case.grid.and_then(|grid| grid.at_level(level)) else {
            continue;
        };
        let row = areas.entry(area).or_insert_with(|| AreaSettlement {
            area,
            closed: 0,
            settled_in_grid: 0,
            settled_in_community: 0,
            grid_share: None,
            community_share: None,
        });
        row.closed += 1;
        let (in_grid, in_community) = match &case.assignee {
            Some(Assignee::Worker(_)) => (true, true),
            Some(Assignee::Community(_)) => (false, true),
            Some(Assignee::Street(_) | Assignee::Department(_)) | None => (false, false),
        };
        row.settled_in_grid += u64::from(in_grid);
        row.settled_in_community += u64::from(in_community);
    }
    areas
        .into_values()
        .map(|row| AreaSettlement {
            grid_share: rate(row.settled_in_grid, row.closed),
            community_share: rate(row.settled_in_community, row.closed),
            ..row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_domain::{DepartmentCode, WorkerId};

    fn grid(code: &str) -> GridCode {
        GridCode::parse(code).unwrap()
    }

    #[test]
    fn shares_count_closed_cases_by_who_settled_them() {
        let worker = Assignee::Worker(WorkerId::parse("lin-ming").unwrap());
        let community = Assignee::Community(grid("330102-001-001"));
        let street = Assignee::Street(grid("330102-001"));
        let department = Assignee::Department(DepartmentCode::parse("housing").unwrap());
        let in_grid_1 = Some(grid("330102-001-001-001"));
        let in_grid_2 = Some(grid("330102-001-001-002-01"));
        let elsewhere = Some(grid("330102-002-001-001"));
        let closed = Some(CaseStatus::Closed);
        let case = |grid, status, assignee: Option<&Assignee>| SettledCase {
            grid,
            status,
            assignee: assignee.cloned(),
        };
        let cases = [
            case(in_grid_1, closed, Some(&worker)),
            case(in_grid_1, closed, Some(&worker)),
            case(in_grid_1, closed, Some(&community)),
            case(in_grid_2, closed, Some(&street)),
            case(in_grid_2, closed, Some(&department)),
            // Open, or without a grid: nowhere.
            case(in_grid_1, Some(CaseStatus::Accepted), Some(&worker)),
            case(None, closed, Some(&worker)),
            case(elsewhere, closed, Some(&department)),
        ];
        let communities = by_area(cases.clone(), GridLevel::Community);
        assert_eq!(communities.len(), 2);
        let yongjin = &communities[0];
        assert_eq!(yongjin.area, grid("330102-001-001"));
        assert_eq!(
            (
                yongjin.closed,
                yongjin.settled_in_grid,
                yongjin.settled_in_community
            ),
            (5, 2, 3)
        );
        assert_eq!(yongjin.grid_share, Some(0.4));
        assert_eq!(yongjin.community_share, Some(0.6));
        assert_eq!(communities[1].grid_share, Some(0.0));

        let grids = by_area(cases.clone(), GridLevel::Grid);
        let shares: Vec<_> = grids
            .iter()
            .map(|row| (row.area.to_string(), row.closed, row.settled_in_grid))
            .collect();
        assert_eq!(
            shares,
            [
                ("330102-001-001-001".to_owned(), 3, 2),
                ("330102-001-001-002".to_owned(), 2, 0),
                ("330102-002-001-001".to_owned(), 1, 0),
            ]
        );
        let streets = by_area(cases, GridLevel::Street);
        assert_eq!(streets[0].area, grid("330102-001"));
        assert_eq!(streets[0].closed, 5);
        assert!(by_area([], GridLevel::Street).is_empty());
    }
}
