//! Who a case is dispatched to. It sits with the values rather than with the
//! events because commands, the case state and refusal messages all name it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::codes::{DepartmentCode, WorkerId};
use super::grid::GridCode;

/// Who a case is dispatched to: a department, a grid worker handling it themselves, or the
/// community or street office above the grid (小事不出网格、大事不出社区).
///
/// Variant order is part of the postcard format; append new variants only.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    /// A department (the lead department for a joint consultation).
    Department(DepartmentCode),
    /// A grid worker handling the case themselves.
    Worker(WorkerId),
    /// A community office (社区), by its grid code at community level.
    Community(GridCode),
    /// A street office (街道), by its grid code at street level.
    Street(GridCode),
}

impl Assignee {
    /// True for the handlers of the grid hierarchy (grid worker, community, street), which make
    /// the call on a case themselves; false for a department.
    pub const fn is_grid_tier(&self) -> bool {
        !matches!(self, Assignee::Department(_))
    }

    /// How the assignee is named as an actor and in role names: `department:<code>`,
    /// `grid_worker:<id>`, `community:<code>` or `street:<code>`.
    pub fn actor_name(&self) -> String {
        match self {
            Assignee::Department(code) => format!("department:{code}"),
            Assignee::Worker(worker) => format!("grid_worker:{worker}"),
            Assignee::Community(code) => format!("community:{code}"),
            Assignee::Street(code) => format!("street:{code}"),
        }
    }
}

impl fmt::Display for Assignee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Assignee::Department(department) => write!(f, "department {department}"),
            Assignee::Worker(worker) => write!(f, "worker {worker}"),
            Assignee::Community(code) => write!(f, "community {code}"),
            Assignee::Street(code) => write!(f, "street {code}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_says_what_kind_of_assignee() {
        let department = Assignee::Department(DepartmentCode::parse("water").unwrap());
        assert_eq!(department.to_string(), "department water");
        let worker = Assignee::Worker(WorkerId::parse("li-si").unwrap());
        assert_eq!(worker.to_string(), "worker li-si");
        let community = Assignee::Community(GridCode::parse("330102-001-002").unwrap());
        assert_eq!(community.to_string(), "community 330102-001-002");
        assert_eq!(community.actor_name(), "community:330102-001-002");
        assert!(community.is_grid_tier());
        assert!(!department.is_grid_tier());
    }
}
