//! What lists are indexed by: cases by status, by every area their grid lies in (district
//! down to micro-grid), by every department involved, by category and by colour, each ordered
//! newest report first (the entries themselves are in [`crate::model`]). A list walks the
//! smallest index its filters name instead of every case, and pages by key (report time, case
//! id), so a page token stays right while new cases arrive.

use gridcase_domain::{
    Assignee, CaseId, CaseState, CaseStatus, CategoryCode, DepartmentCode, GridCode, Route,
};
use gridcase_rules::deadlines::Colour;

/// A case's place in every index: its report time and id.
pub type Key = (i64, CaseId);

/// The departments a case involves: the one it is routed or dispatched to, a joint case's
/// lead and participants.
pub fn departments_of(state: &CaseState) -> Vec<DepartmentCode> {
    let mut departments = Vec::new();
    match &state.route {
        Some(Route::Department { department }) => departments.push(department.clone()),
        Some(Route::Joint { lead, participants }) => {
            departments.push(lead.clone());
            departments.extend(participants.iter().cloned());
        }
        Some(Route::SelfHandle { .. } | Route::Community { .. } | Route::Street { .. }) | None => {}
    }
    if let Some(Assignee::Department(department)) = &state.assignee {
        departments.push(department.clone());
    }
    departments.extend(state.participants.iter().cloned());
    departments.sort();
    departments.dedup();
    departments
}

/// The filters an index can answer; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct Indexed {
    /// Cases of this status.
    pub status: Option<CaseStatus>,
    /// Cases whose grid lies within this area, at any level.
    pub area: Option<GridCode>,
    /// Cases involving this department.
    pub department: Option<DepartmentCode>,
    /// Cases of this category.
    pub category: Option<CategoryCode>,
    /// Cases of this colour now.
    pub colour: Option<Colour>,
    /// Cases waiting on this handler (its actor name, e.g. `community:330102-001-001`).
    pub waiting_on: Option<String>,
}

impl Indexed {
    /// How many filters are given.
    pub fn dimensions(&self) -> usize {
        usize::from(self.status.is_some())
            + usize::from(self.area.is_some())
            + usize::from(self.department.is_some())
            + usize::from(self.category.is_some())
            + usize::from(self.colour.is_some())
            + usize::from(self.waiting_on.is_some())
    }
}

/// A page token: the key of the last case of the page, `k<report ms>.<case id>`.
pub fn page_token(key: Key) -> String {
    format!("k{}.{}", key.0, key.1)
}

/// The key a page token names; `None` if it is not one.
pub fn parse_page_token(token: &str) -> Option<Key> {
    let (at, case) = token.strip_prefix('k')?.split_once('.')?;
    Some((at.parse().ok()?, CaseId::parse(case).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u128) -> Key {
        (i64::try_from(n).unwrap(), CaseId::from_u128(n))
    }

    #[test]
    fn page_tokens_round_trip_and_refuse_the_rest() {
        let token = page_token(key(42));
        assert_eq!(parse_page_token(&token), Some(key(42)));
        for bad in ["", "o50", "k1.zz", "k.1", "page-2"] {
            assert_eq!(parse_page_token(bad), None, "{bad}");
        }
    }
}
