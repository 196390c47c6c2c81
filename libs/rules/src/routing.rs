//! Routing: who handles a case — the grid worker, one department or a
//! joint consultation — never sending it back to whoever returned it.

use gridcase_config::{Category, JointGroup, Owner, ReferenceData};
use gridcase_domain::{
    Assignee, CategoryCode, DepartmentCode, GridCode, GridLevel, Priority, Route, WorkerId,
};

use crate::error::{Result, RoutingError};

/// The route chosen and why, for the case's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteDecision {
    /// Who handles the case.
    pub route: Route,
    /// A sentence explaining the choice, e.g.
    /// `self-handled: 乱堆物堆料 may be settled by the grid worker lin-ming`.
    pub reason: String,
}

/// Chooses the route of a case of `category`, trying in turn:
///
/// 1. **the grid worker's call** (seed 004: 一般问题由网格员自办自结): a case a listed grid
///    worker reported on patrol waits in that worker's inbox whatever its category (unless the
///    category is an emergency by default, which goes straight to its owner); a case of a
///    category a grid may settle (`self_handle`) waits in the inbox of the first worker of
///    `location_grid` — in both cases unless that worker returned it;
/// 2. the **community** of `location_grid`, for a category the community handles before any
///    department (大事不出社区), unless it returned the case;
/// 3. the category's **default department** (直通), unless it returned it;
/// 4. a **joint consultation** (联合会商): the category's joint group, or,
///    for a department-owned category whose department returned it, a joint
///    group that department belongs to (those it leads first, then in code
///    order). A lead that returned the case is replaced by the first member
///    that has not and stays on as a participant, since it must still report
///    (部门报到) but must not own the case again.
///
/// Nobody in `returned_by` is ever the assignee again. When no route is
/// left the result is [`RoutingError::NoRouteLeft`] and the case goes to
/// manual triage.
pub fn route(
    refdata: &ReferenceData,
    category: &CategoryCode,
    location_grid: Option<&GridCode>,
    returned_by: &[Assignee],
    reported_by_worker: Option<&WorkerId>,
) -> Result<RouteDecision> {
    let entry = refdata
        .category(category)
        .ok_or(RoutingError::UnknownCategory(*category))?;
    let mut router = Router {
        refdata,
        category: entry,
        returned_by,
        tried: Vec::new(),
    };
    let decision = router
        .self_handle(location_grid, reported_by_worker)
        .or_else(|| router.community(location_grid))
        .or_else(|| router.by_owner());
    decision.ok_or(RoutingError::NoRouteLeft {
        category: *category,
        tried: router.tried,
    })
}

/// One routing decision in progress: remembers whom it skipped.
struct Router<'a> {
    refdata: &'a ReferenceData,
    category: &'a Category,
    returned_by: &'a [Assignee],
    tried: Vec<Assignee>,
}

impl Router<'_> {
    /// False, and noted in `tried`, if `assignee` returned the case.
    fn available(&mut self, assignee: Assignee) -> bool {
        if !self.returned_by.contains(&assignee) {
            return true;
        }
        if !self.tried.contains(&assignee) {
            self.tried.push(assignee);
        }
        false
    }

    fn department_available(&mut self, department: &DepartmentCode) -> bool {
        self.available(Assignee::Department(department.clone()))
    }

    fn self_handle(
        &mut self,
        location_grid: Option<&GridCode>,
        reported_by_worker: Option<&WorkerId>,
    ) -> Option<RouteDecision> {
        let name = &self.category.name;
        // Only a listed grid worker makes the call on their own report; other reporters (a
        // courier, a resident) leave it to the location's grid.
        let reporter = reported_by_worker
            .filter(|id| self.refdata.worker(id).is_some())
            .filter(|_| self.category.priority != Priority::Emergency);
        let (worker, reason) = if let Some(worker) = reporter {
            let reason = if self.category.self_handle {
                format!(
                    "self-handled: {name} may be settled by the grid worker {worker}, who reported it"
                )
            } else {
                format!(
                    "grid worker's call: {worker} reported {name} on patrol and decides whether \
                     to settle it, push it or hand it up"
                )
            };
            (worker.clone(), reason)
        } else {
            if !self.category.self_handle {
                return None;
            }
            let grid = location_grid?;
            let worker = &self.refdata.workers_of(grid).first()?.id;
            let reason = format!(
                "self-handled: {name} may be settled by the grid worker {worker} of {grid}"
            );
            (worker.clone(), reason)
        };
        self.available(Assignee::Worker(worker.clone()))
            .then_some(RouteDecision {
                route: Route::SelfHandle { worker },
                reason,
            })
    }

    fn community(&mut self, location_grid: Option<&GridCode>) -> Option<RouteDecision> {
        if !self.category.community {
            return None;
        }
        let community = location_grid?.at_level(GridLevel::Community)?;
        self.refdata.grid(&community)?;
        self.available(Assignee::Community(community))
            .then(|| RouteDecision {
                route: Route::Community { community },
                reason: format!(
                    "community: {} is handled by the community {community} before any department",
                    self.category.name
                ),
            })
    }

    fn by_owner(&mut self) -> Option<RouteDecision> {
        let name = &self.category.name;
        match &self.category.owner {
            Owner::Department(department) => {
                if self.department_available(department) {
                    return Some(RouteDecision {
                        route: Route::Department {
                            department: department.clone(),
                        },
                        reason: format!("department: {name} belongs to {department}"),
                    });
                }
                self.joint_after_return(department)
            }
            Owner::JointGroup(code) => {
                let group = self.refdata.joint_group(code)?;
                let (route, lead_note) = self.joint(group)?;
                let reason = format!(
                    "joint: {name} is for the joint group {} ({}){lead_note}",
                    group.name, group.code
                );
                Some(RouteDecision { route, reason })
            }
        }
    }

    /// The default department returned the case: a joint group it belongs
    /// to takes it, the groups it leads first.
    fn joint_after_return(&mut self, department: &DepartmentCode) -> Option<RouteDecision> {
        let refdata = self.refdata;
        let (led, joined): (Vec<&JointGroup>, Vec<&JointGroup>) = refdata
            .joint_groups()
            .filter(|group| members(group).any(|member| member == department))
            .partition(|group| &group.lead == department);
        led.into_iter().chain(joined).find_map(|group| {
            let (route, lead_note) = self.joint(group)?;
            let reason = format!(
                "joint: {department} returned {}, so the joint group {} ({}) takes it{lead_note}",
                self.category.name, group.name, group.code
            );
            Some(RouteDecision { route, reason })
        })
    }

    /// The group's consultation, led by its first member that has not
    /// returned the case, with a note on who leads if that is not the usual
    /// lead; `None` if every member returned it.
    fn joint(&mut self, group: &JointGroup) -> Option<(Route, String)> {
        let lead = members(group)
            .find(|member| self.department_available(member))?
            .clone();
        let participants: Vec<DepartmentCode> = members(group)
            .filter(|member| **member != lead)
            .cloned()
            .collect();
        let note = if lead == group.lead {
            format!(", led by {lead}")
        } else {
            format!(", led by {lead} because {} returned it", group.lead)
        };
        // Loading the reference data checked the group, so this holds.
        let route = Route::joint(lead, participants).ok()?;
        Some((route, note))
    }
}

/// What the catalogue suggests a handler of the grid hierarchy do with a case waiting on it;
/// the handler decides (the grid worker's call), this is only the default shown with the case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Suggestion {
    /// Settle it here (自办自结): the category is one a grid may settle.
    Settle,
    /// Push it point-to-point to the category's department (直通).
    Push(DepartmentCode),
    /// Open a joint consultation led by the category's lead department (部门会商).
    Consult(DepartmentCode),
    /// Hand it up to the next tier (大事不出社区): the community handles the category.
    HandUp,
}

impl Suggestion {
    /// The stable name used on work orders: `settle`, `push`, `consult` or `hand_up`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Suggestion::Settle => "settle",
            Suggestion::Push(_) => "push",
            Suggestion::Consult(_) => "consult",
            Suggestion::HandUp => "hand_up",
        }
    }

    /// How messages carry a suggestion, or none: its name and department, each empty when
    /// absent (`("push", "urban_mgmt")`, `("settle", "")`, `("", "")`).
    pub fn wire(suggestion: Option<&Suggestion>) -> (String, String) {
        let name = suggestion
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        let department = suggestion
            .and_then(Suggestion::department)
            .map(ToString::to_string)
            .unwrap_or_default();
        (name, department)
    }

    /// The department named, for a push or a consultation.
    pub fn department(&self) -> Option<&DepartmentCode> {
        match self {
            Suggestion::Push(department) | Suggestion::Consult(department) => Some(department),
            Suggestion::Settle | Suggestion::HandUp => None,
        }
    }
}

/// The catalogue's suggestion to `handler` for a case of `category`, or `None` for a
/// department (which accepts or returns) or a case with no category yet.
///
/// A grid worker is advised to settle a category a grid may settle, to hand up one the
/// community handles, else to push it to its department or ask for its joint consultation; a
/// community settles what the community handles and a street what a community would; both
/// otherwise push or consult.
pub fn suggestion(
    refdata: &ReferenceData,
    category: Option<&CategoryCode>,
    handler: &Assignee,
) -> Option<Suggestion> {
    let category = refdata.category(category?)?;
    let by_owner = || match &category.owner {
        Owner::Department(department) => Some(Suggestion::Push(department.clone())),
        Owner::JointGroup(code) => refdata
            .joint_group(code)
            .map(|group| Suggestion::Consult(group.lead.clone())),
    };
    match handler {
        Assignee::Department(_) => None,
        Assignee::Worker(_) if category.self_handle => Some(Suggestion::Settle),
        Assignee::Worker(_) if category.community => Some(Suggestion::HandUp),
        Assignee::Community(_) | Assignee::Street(_) if category.community => {
            Some(Suggestion::Settle)
        }
        Assignee::Worker(_) | Assignee::Community(_) | Assignee::Street(_) => by_owner(),
    }
}

/// The lead, then the participants.
fn members(group: &JointGroup) -> impl Iterator<Item = &DepartmentCode> {
    std::iter::once(&group.lead).chain(&group.participants)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{category, department, grid, sample, worker};

    fn dept(code: &str) -> Assignee {
        Assignee::Department(department(code))
    }

    fn by_worker(id: &str) -> Assignee {
        Assignee::Worker(worker(id))
    }

    fn departments(codes: &[&str]) -> Vec<DepartmentCode> {
        codes.iter().map(|code| department(code)).collect()
    }

    fn joint(lead: &str, participants: &[&str]) -> Route {
        Route::joint(department(lead), departments(participants)).unwrap()
    }

    fn self_handle(id: &str) -> Route {
        Route::SelfHandle { worker: worker(id) }
    }

    fn community(code: &str) -> Route {
        Route::Community {
            community: grid(code),
        }
    }

    fn to_department(code: &str) -> Route {
        Route::Department {
            department: department(code),
        }
    }

    /// (name, category, location grid, returned by, reporting worker, expected route)
    type Case = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Vec<Assignee>,
        Option<&'static str>,
        Route,
    );

    #[test]
    fn routes_in_order_self_department_joint() {
        let yongjin_1 = Some("330102-001-001-001");
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            // SJ-01-04 乱堆物堆料: self-handle, else urban_mgmt.
            ("first worker of the grid",
                "SJ-01-04", yongjin_1, vec![], None, self_handle("lin-ming")),
            ("micro-grid without workers uses its grid's",
                "SJ-01-04", Some("330102-001-001-001-02"), vec![], None, self_handle("lin-ming")),
            ("micro-grid with its own worker",
                "SJ-01-04", Some("330102-002-002-001-03"), vec![], None, self_handle("lin-weidong")),
            ("the reporting worker first",
                "SJ-01-04", yongjin_1, vec![], Some("gao-fang"), self_handle("gao-fang")),
            ("a reporter who is no grid worker is ignored",
                "SJ-01-04", yongjin_1, vec![], Some("courier-01"), self_handle("lin-ming")),
            ("no grid, no worker",
                "SJ-01-04", None, vec![], None, to_department("urban_mgmt")),
            ("above grid level, no worker",
                "SJ-01-04", Some("330102-001"), vec![], None, to_department("urban_mgmt")),
            ("worker returned it",
                "SJ-01-04", yongjin_1, vec![by_worker("lin-ming")], None, to_department("urban_mgmt")),
            ("reporting worker returned it",
                "SJ-01-04", yongjin_1, vec![by_worker("gao-fang")], Some("gao-fang"), to_department("urban_mgmt")),
            // BJ-01-07 路灯: not self-handled.
            ("department-owned, reported by a resident",
                "BJ-01-07", yongjin_1, vec![], None, to_department("urban_mgmt")),
            ("department-owned, reported by a grid worker: the worker's call",
                "BJ-01-07", yongjin_1, vec![], Some("lin-ming"), self_handle("lin-ming")),
            ("the worker pushed it and the department returned it: back to the worker",
                "BJ-01-07", yongjin_1, vec![dept("urban_mgmt")], Some("lin-ming"), self_handle("lin-ming")),
            // SJ-04-02 火情: an emergency goes straight to its owner, even from a worker.
            ("an emergency category skips the worker's inbox",
                "SJ-04-02", yongjin_1, vec![], Some("lin-ming"), to_department("fire_rescue")),
            // SJ-08-01 物业服务纠纷: the community handles it before any department.
            ("a community category goes to the case's community",
                "SJ-08-01", yongjin_1, vec![], None, community("330102-001-001")),
            ("without a grid it goes to its joint group",
                "SJ-08-01", None, vec![], None, joint("housing", &["justice", "urban_mgmt"])),
            ("the community returned it",
                "SJ-08-01", yongjin_1, vec![Assignee::Community(grid("330102-001-001"))], None,
                joint("housing", &["justice", "urban_mgmt"])),
            // SJ-01-07 餐饮油烟: joint group lampblack.
            ("joint group",
                "SJ-01-07", yongjin_1, vec![], None,
                joint("ecology_env", &["urban_mgmt", "market_supervision"])),
            ("lead returned: first participant promoted",
                "SJ-01-07", yongjin_1, vec![dept("ecology_env")], None,
                joint("urban_mgmt", &["ecology_env", "market_supervision"])),
            ("lead and first participant returned",
                "SJ-01-07", None, vec![dept("ecology_env"), dept("urban_mgmt")], None,
                joint("market_supervision", &["ecology_env", "urban_mgmt"])),
            ("a participant's return does not matter while the lead takes it",
                "SJ-01-07", None, vec![dept("urban_mgmt")], None,
                joint("ecology_env", &["urban_mgmt", "market_supervision"])),
            // SJ-07-04 电动车楼道充电: self-handle, else joint group ev_charging.
            ("joint-group category self-handled",
                "SJ-07-04", yongjin_1, vec![], None, self_handle("lin-ming")),
            ("joint-group category, worker returned",
                "SJ-07-04", yongjin_1, vec![by_worker("lin-ming")], None,
                joint("fire_rescue", &["housing", "public_security"])),
            // BJ-01-01 上水井盖: water, which leads waterlogging and joins road_collapse.
            ("returned department: a group it leads",
                "BJ-01-01", None, vec![dept("water")], None,
                joint("urban_mgmt", &["water", "transport"])),
            ("then a group it joins",
                "BJ-01-01", None, vec![dept("water"), dept("urban_mgmt"), dept("transport")], None,
                joint("emergency_mgmt", &["urban_mgmt", "water", "gas", "traffic_police"])),
        ];
        for (name, code, location, returned_by, reporter, expected) in cases {
            let location = location.map(grid);
            let reporter = reporter.map(worker);
            let decision = route(
                sample(),
                &category(code),
                location.as_ref(),
                &returned_by,
                reporter.as_ref(),
            )
            .unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(decision.route, expected, "{name}");
            assert!(
                !returned_by.contains(&decision.route.assignee()),
                "{name}: routed back to {}",
                decision.route.assignee()
            );
        }
    }

    #[test]
    fn reasons_explain_the_choice() {
        let reason = |code: &str,
                      location: Option<&str>,
                      returned_by: &[Assignee],
                      reporter: Option<&str>| {
            route(
                sample(),
                &category(code),
                location.map(grid).as_ref(),
                returned_by,
                reporter.map(worker).as_ref(),
            )
            .unwrap()
            .reason
        };
        assert_eq!(
            reason("SJ-01-04", Some("330102-001-001-001"), &[], None),
            "self-handled: 乱堆物堆料 may be settled by the grid worker lin-ming of 330102-001-001-001"
        );
        assert_eq!(
            reason("SJ-01-04", None, &[], Some("gao-fang")),
            "self-handled: 乱堆物堆料 may be settled by the grid worker gao-fang, who reported it"
        );
        assert_eq!(
            reason("BJ-01-07", None, &[], None),
            "department: 路灯 belongs to urban_mgmt"
        );
        assert_eq!(
            reason("SJ-01-07", None, &[], None),
            "joint: 餐饮油烟 is for the joint group 餐饮油烟扰民联合治理 (lampblack), led by ecology_env"
        );
        assert_eq!(
            reason("SJ-01-07", None, &[dept("ecology_env")], None),
            "joint: 餐饮油烟 is for the joint group 餐饮油烟扰民联合治理 (lampblack), led by urban_mgmt because ecology_env returned it"
        );
        assert_eq!(
            reason("BJ-01-01", None, &[dept("water")], None),
            "joint: water returned 上水井盖, so the joint group 道路积水联合处置 (waterlogging) takes it, led by urban_mgmt because water returned it"
        );
    }

    #[test]
    fn no_route_left_when_everyone_returned_it() {
        // Every member of lampblack returned 餐饮油烟.
        let returned = vec![
            dept("market_supervision"),
            dept("ecology_env"),
            dept("urban_mgmt"),
        ];
        let error = route(sample(), &category("SJ-01-07"), None, &returned, None).unwrap_err();
        assert_eq!(
            error,
            RoutingError::NoRouteLeft {
                category: category("SJ-01-07"),
                tried: vec![
                    dept("ecology_env"),
                    dept("urban_mgmt"),
                    dept("market_supervision")
                ],
            }
        );
        assert_eq!(
            error.to_string(),
            "no route left for category SJ-01-07, returned by department ecology_env, department urban_mgmt, department market_supervision"
        );
    }

    #[test]
    fn no_route_left_when_the_department_is_in_no_joint_group() {
        // SJ-07-05 困难群众帮扶 belongs to civil_affairs, which is in no joint group.
        let error = route(
            sample(),
            &category("SJ-07-05"),
            None,
            &[dept("civil_affairs")],
            None,
        )
        .unwrap_err();
        assert_eq!(
            error,
            RoutingError::NoRouteLeft {
                category: category("SJ-07-05"),
                tried: vec![dept("civil_affairs")],
            }
        );
    }

    #[test]
    fn no_route_left_after_worker_department_and_groups_returned_it() {
        // SJ-01-01 暴露垃圾: self-handle, urban_mgmt, which leads illegal_building
        // and joins property_disputes, lampblack, waterlogging and road_collapse.
        let mut returned = vec![by_worker("lin-ming")];
        returned.extend(
            [
                "urban_mgmt",
                "planning",
                "housing",
                "justice",
                "ecology_env",
                "market_supervision",
                "water",
                "transport",
                "emergency_mgmt",
                "gas",
                "traffic_police",
            ]
            .map(dept),
        );
        let error = route(
            sample(),
            &category("SJ-01-01"),
            Some(&grid("330102-001-001-001")),
            &returned,
            None,
        )
        .unwrap_err();
        let RoutingError::NoRouteLeft { tried, .. } = error else {
            panic!("expected no route left, got {error:?}");
        };
        assert_eq!(tried.first(), Some(&by_worker("lin-ming")));
        assert_eq!(tried.get(1), Some(&dept("urban_mgmt")));
        assert_eq!(tried.len(), returned.len());
    }

    #[test]
    fn an_unknown_category_has_no_route() {
        let error = route(sample(), &category("SJ-99-99"), None, &[], None).unwrap_err();
        assert_eq!(error, RoutingError::UnknownCategory(category("SJ-99-99")));
        assert_eq!(
            error.to_string(),
            "category SJ-99-99 is not in the catalogue"
        );
    }

    #[test]
    fn suggestions_follow_the_catalogue_for_each_tier() {
        let worker = by_worker("lin-ming");
        let office = Assignee::Community(grid("330102-001-001"));
        let suggest = |code: &str, handler: &Assignee| {
            suggestion(sample(), Some(&category(code)), handler).map(|s| s.as_str())
        };
        // 乱堆物堆料: a grid may settle it.
        assert_eq!(suggest("SJ-01-04", &worker), Some("settle"));
        // 路灯: urban_mgmt's.
        let push = suggestion(sample(), Some(&category("BJ-01-07")), &worker).unwrap();
        assert_eq!(push, Suggestion::Push(department("urban_mgmt")));
        assert_eq!(push.department(), Some(&department("urban_mgmt")));
        // 餐饮油烟: the lampblack group, led by ecology_env.
        assert_eq!(
            suggestion(sample(), Some(&category("SJ-01-07")), &office),
            Some(Suggestion::Consult(department("ecology_env")))
        );
        // 物业服务纠纷: the worker hands it up, the community settles it.
        assert_eq!(suggest("SJ-08-01", &worker), Some("hand_up"));
        assert_eq!(suggest("SJ-08-01", &office), Some("settle"));
        // 困难群众帮扶: civil affairs', though a worker may still hand it up.
        assert_eq!(suggest("SJ-07-05", &worker), Some("push"));
        // Departments accept or return; no category, no suggestion.
        assert_eq!(suggest("BJ-01-07", &dept("urban_mgmt")), None);
        assert_eq!(suggestion(sample(), None, &worker), None);
    }

    #[test]
    fn every_sample_category_has_a_route() {
        for entry in sample().categories() {
            let decision = route(
                sample(),
                &entry.code,
                Some(&grid("330102-003-001-002")),
                &[],
                None,
            )
            .unwrap_or_else(|error| panic!("{}: {error}", entry.code));
            if entry.self_handle {
                assert_eq!(decision.route, self_handle("luo-lixin"), "{}", entry.code);
            } else if entry.community {
                assert_eq!(
                    decision.route,
                    community("330102-003-001"),
                    "{}",
                    entry.code
                );
            } else {
                assert_eq!(
                    Some(decision.route),
                    sample().default_route(&entry.code),
                    "{}",
                    entry.code
                );
            }
        }
    }
}
