//! Secondary indexes of the projections, kept as events fold: cases by status, by every area
//! their grid lies in (district down to micro-grid), by every department involved and by
//! category, each ordered newest report first. A list walks the smallest index its filters
//! name instead of every case, and pages by key (report time, case id), so a page token stays
//! right while new cases arrive.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use gridcase_domain::{
    Assignee, CaseId, CaseState, CaseStatus, CategoryCode, DepartmentCode, GridCode, GridLevel,
    Route,
};

/// A case's place in every index: its report time and id.
pub type Key = (i64, CaseId);

/// What a case is indexed under; compared before and after an event to move it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entries {
    status: Option<CaseStatus>,
    areas: Vec<GridCode>,
    departments: Vec<DepartmentCode>,
    category: Option<CategoryCode>,
}

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
        Some(Route::SelfHandle { .. }) | None => {}
    }
    if let Some(Assignee::Department(department)) = &state.assignee {
        departments.push(department.clone());
    }
    departments.extend(state.participants.iter().cloned());
    departments.sort();
    departments.dedup();
    departments
}

impl Entries {
    /// What `state` is indexed under.
    pub fn of(state: &CaseState) -> Self {
        let areas = state
            .location
            .as_ref()
            .and_then(|l| l.grid())
            .map(|grid| {
                GridLevel::ALL
                    .into_iter()
                    .filter_map(|level| grid.at_level(level))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            status: state.status,
            areas,
            departments: departments_of(state),
            category: state.category,
        }
    }
}

/// One index: a set of keys per value.
#[derive(Debug)]
struct ByValue<V>(HashMap<V, BTreeSet<Key>>);

impl<V> Default for ByValue<V> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<V: Eq + Hash + Clone> ByValue<V> {
    fn move_key(&mut self, key: Key, before: &[V], after: &[V]) {
        for value in before.iter().filter(|v| !after.contains(v)) {
            if let Some(keys) = self.0.get_mut(value) {
                keys.remove(&key);
                if keys.is_empty() {
                    self.0.remove(value);
                }
            }
        }
        for value in after.iter().filter(|v| !before.contains(v)) {
            self.0.entry(value.clone()).or_default().insert(key);
        }
    }

    fn get(&self, value: &V) -> Option<&BTreeSet<Key>> {
        self.0.get(value)
    }
}

/// The indexes.
#[derive(Debug, Default)]
pub struct Indexes {
    by_status: ByValue<CaseStatus>,
    by_area: ByValue<GridCode>,
    by_department: ByValue<DepartmentCode>,
    by_category: ByValue<CategoryCode>,
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
}

/// No case: the set a filter naming a value nobody has yet walks.
static EMPTY: BTreeSet<Key> = BTreeSet::new();

impl Indexes {
    /// Moves `key` from what it was indexed under (`before`) to `after`.
    pub fn update(&mut self, key: Key, before: &Entries, after: &Entries) {
        if before == after {
            return;
        }
        self.by_status
            .move_key(key, before.status.as_slice(), after.status.as_slice());
        self.by_area.move_key(key, &before.areas, &after.areas);
        self.by_department
            .move_key(key, &before.departments, &after.departments);
        self.by_category
            .move_key(key, before.category.as_slice(), after.category.as_slice());
    }

    /// The smallest set of keys that holds every case matching `filters`, and whether it holds
    /// exactly those (one filter given, or none); `all` when no filter is given.
    pub fn candidates<'a>(
        &'a self,
        filters: &Indexed,
        all: &'a BTreeSet<Key>,
    ) -> (&'a BTreeSet<Key>, bool) {
        let mut sets: Vec<&BTreeSet<Key>> = Vec::new();
        if let Some(status) = &filters.status {
            sets.push(self.by_status.get(status).unwrap_or(&EMPTY));
        }
        if let Some(area) = &filters.area {
            sets.push(self.by_area.get(area).unwrap_or(&EMPTY));
        }
        if let Some(department) = &filters.department {
            sets.push(self.by_department.get(department).unwrap_or(&EMPTY));
        }
        if let Some(category) = &filters.category {
            sets.push(self.by_category.get(category).unwrap_or(&EMPTY));
        }
        let exact = sets.len() <= 1;
        let smallest = sets.into_iter().min_by_key(|set| set.len()).unwrap_or(all);
        (smallest, exact)
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

    fn entries(status: CaseStatus, department: &str) -> Entries {
        Entries {
            status: Some(status),
            areas: vec![GridCode::parse("330102-001").unwrap()],
            departments: vec![DepartmentCode::parse(department).unwrap()],
            category: None,
        }
    }

    #[test]
    fn a_case_moves_between_values_and_the_smallest_set_is_walked() {
        let mut indexes = Indexes::default();
        let all: BTreeSet<Key> = (1..=3).map(key).collect();
        let reported = entries(CaseStatus::Reported, "gas");
        indexes.update(key(1), &Entries::default(), &reported);
        indexes.update(key(2), &Entries::default(), &reported);
        indexes.update(
            key(3),
            &Entries::default(),
            &entries(CaseStatus::Dispatched, "gas"),
        );
        let dispatched = entries(CaseStatus::Dispatched, "water");
        indexes.update(key(1), &reported, &dispatched);
        let filters = Indexed {
            status: Some(CaseStatus::Dispatched),
            ..Default::default()
        };
        let (set, exact) = indexes.candidates(&filters, &all);
        assert_eq!(set.iter().copied().collect::<Vec<_>>(), [key(1), key(3)]);
        assert!(exact);
        let filters = Indexed {
            status: Some(CaseStatus::Reported),
            department: Some(DepartmentCode::parse("gas").unwrap()),
            ..Default::default()
        };
        let (set, exact) = indexes.candidates(&filters, &all);
        assert_eq!(set.len(), 1, "the reported set is the smaller");
        assert!(!exact);
        let nobody = Indexed {
            department: Some(DepartmentCode::parse("power").unwrap()),
            ..Default::default()
        };
        assert!(indexes.candidates(&nobody, &all).0.is_empty());
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
