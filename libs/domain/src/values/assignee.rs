//! Who a case is dispatched to. It sits with the values rather than with the
//! events because commands, the case state and refusal messages all name it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::codes::{DepartmentCode, WorkerId};

/// Who a case is dispatched to: a department, or a grid worker handling it
/// themselves.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    /// A department (the lead department for a joint consultation).
    Department(DepartmentCode),
    /// A grid worker handling the case themselves.
    Worker(WorkerId),
}

impl fmt::Display for Assignee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Assignee::Department(department) => write!(f, "department {department}"),
            Assignee::Worker(worker) => write!(f, "worker {worker}"),
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
    }
}
