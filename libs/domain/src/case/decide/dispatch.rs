//! Dispatch: a triaged case goes to the assignee its route names, who
//! accepts it (签收) or returns it to triage as not theirs (退回).

use super::Case;
use crate::case::ReportInWindow;
use crate::error::{DomainError, Result};
use crate::event::{
    CaseDispatched, CaseReferred, DepartmentReportedIn, DispatchAccepted, DispatchReturned,
    ReportInCalled, Route, WhistleBlown, Whistler,
};
use crate::values::{Assignee, CaseStatus, DepartmentCode, GridCode, Note, Timestamp};

/// Sends a triaged case along its route.
pub(super) fn dispatch(
    case: &Case<'_>,
    assignee: Assignee,
    participants: Vec<DepartmentCode>,
    accept_deadline: Option<Timestamp>,
    resolve_deadline: Option<Timestamp>,
) -> Result<CaseDispatched> {
    case.require(&[CaseStatus::Triaged], "triaged")?;
    let route = case.state.route.as_ref().ok_or(DomainError::Inconsistent {
        action: case.action,
        missing: "route",
    })?;
    check_dispatch_matches_route(route, &assignee, &participants)?;
    check_deadlines(case.state.reported_at, accept_deadline, resolve_deadline)?;
    Ok(CaseDispatched {
        assignee,
        participants,
        accept_deadline,
        resolve_deadline,
    })
}

/// The departments of a joint dispatch called to report in within `window`; `None` for any
/// other route or without a window.
pub(super) fn call_report_in(
    dispatched: &CaseDispatched,
    window: Option<ReportInWindow>,
) -> Result<Option<ReportInCalled>> {
    let (Some(window), Assignee::Department(lead)) = (window, &dispatched.assignee) else {
        return Ok(None);
    };
    if dispatched.participants.is_empty() {
        return Ok(None);
    }
    if window.until <= window.from {
        return Err(DomainError::ReportInBeforeCall {
            deadline: window.until,
            called_at: window.from,
        });
    }
    let mut departments = vec![lead.clone()];
    departments.extend(dispatched.participants.iter().cloned());
    Ok(Some(ReportInCalled {
        departments,
        called_at: window.from,
        deadline: window.until,
    }))
}

/// A community or street office blows the whistle on a case waiting on it, or a grid leader
/// on a case waiting on a worker of their grid (社区吹哨、部门报到, seed 000): `lead` and
/// `participants` are called to report in and take the case as a joint consultation.
pub(super) fn whistle(
    case: &Case<'_>,
    by: Whistler,
    lead: DepartmentCode,
    participants: Vec<DepartmentCode>,
    report_in_minutes: Option<u32>,
    reason: Note,
) -> Result<WhistleBlown> {
    case.require(
        &[CaseStatus::Dispatched, CaseStatus::Accepted],
        "dispatched or accepted",
    )?;
    match &by {
        Whistler::Community(code) => case.require_assignee(&Assignee::Community(*code))?,
        Whistler::Street(code) => case.require_assignee(&Assignee::Street(*code))?,
        Whistler::GridLeader(grid) => {
            let in_grid = case
                .state
                .location
                .as_ref()
                .and_then(|location| location.grid())
                .is_some_and(|at| at.is_within(grid));
            let with_worker = matches!(case.state.assignee, Some(Assignee::Worker(_)));
            if !(in_grid && with_worker) {
                return Err(DomainError::NotLeadersCase { grid: *grid });
            }
        }
    }
    let route = Route::joint(lead, participants)?;
    let Route::Joint { lead, participants } = route else {
        unreachable!("Route::joint builds a joint route")
    };
    Ok(WhistleBlown {
        by,
        lead,
        participants,
        report_in_minutes,
        reason,
    })
}

/// A department a whistle called reports in with its opinion, once, while the case is with
/// the departments.
pub(super) fn report_in(
    case: &Case<'_>,
    department: DepartmentCode,
    opinion: Note,
    at: Timestamp,
) -> Result<DepartmentReportedIn> {
    case.require(
        &[CaseStatus::Dispatched, CaseStatus::Accepted],
        "dispatched or accepted",
    )?;
    let Some(called) = case
        .state
        .report_in
        .as_ref()
        .filter(|called| called.departments.contains(&department))
    else {
        return Err(DomainError::NotCalledToReportIn { department });
    };
    if called.reported.iter().any(|(d, _)| *d == department) {
        return Err(DomainError::AlreadyReportedIn { department });
    }
    Ok(DepartmentReportedIn {
        department,
        opinion,
        at,
    })
}

/// The assignee accepts the dispatch, once.
pub(super) fn accept(case: &Case<'_>, by: Assignee) -> Result<DispatchAccepted> {
    if let (CaseStatus::Accepted, Some(assignee)) = (case.status, &case.state.assignee) {
        return Err(DomainError::AlreadyAccepted {
            by: assignee.clone(),
        });
    }
    case.require(&[CaseStatus::Dispatched], "dispatched")?;
    case.require_assignee(&by)?;
    Ok(DispatchAccepted { by })
}

/// The assignee sends the case back to triage, before or after accepting it.
pub(super) fn return_to_triage(
    case: &Case<'_>,
    by: Assignee,
    reason: Note,
) -> Result<DispatchReturned> {
    case.require(
        &[CaseStatus::Dispatched, CaseStatus::Accepted],
        "dispatched or accepted",
    )?;
    case.require_assignee(&by)?;
    Ok(DispatchReturned { by, reason })
}

/// A handler of the grid hierarchy passes the case on by its own call (the grid worker's call,
/// seed 004: "一般问题由网格员自办自结；需协调的…'点对点'推送至职能部门；权属不明…启动部门会商").
///
/// Out to a department or a joint consultation from any tier; up one tier at a time, to the
/// case's own community (from its grid worker) or street (from its community); never down.
pub(super) fn refer(
    case: &Case<'_>,
    by: Assignee,
    route: Route,
    reason: Note,
) -> Result<CaseReferred> {
    case.require(
        &[CaseStatus::Dispatched, CaseStatus::Accepted],
        "dispatched or accepted",
    )?;
    case.require_assignee(&by)?;
    if !by.is_grid_tier() {
        return Err(DomainError::DepartmentCannotRefer { by });
    }
    route.validate()?;
    let to = route.assignee();
    let refuse = |rule| {
        Err(DomainError::ReferralNotAllowed {
            by: by.clone(),
            to: to.clone(),
            rule,
        })
    };
    let grid = case.state.location.as_ref().and_then(|l| l.grid());
    let up_to = |office: &GridCode| grid.is_some_and(|grid| grid.is_strictly_within(office));
    match (&route, &by) {
        (Route::SelfHandle { .. }, _) => {
            return refuse("a case goes out to departments or up the hierarchy, never down")
        }
        (Route::Community { community }, Assignee::Worker(_)) => {
            if !up_to(community) {
                return refuse("a grid worker hands a case up to the community of its grid");
            }
        }
        (Route::Community { .. }, _) => {
            return refuse("only the grid worker hands a case up to the community")
        }
        (Route::Street { street }, Assignee::Community(_)) => {
            if !up_to(street) {
                return refuse("a community hands a case up to the street of its grid");
            }
        }
        (Route::Street { .. }, _) => {
            return refuse("only the community hands a case up to the street, one tier at a time")
        }
        (Route::Department { .. } | Route::Joint { .. }, _) => {}
    }
    Ok(CaseReferred { by, route, reason })
}

fn check_dispatch_matches_route(
    route: &Route,
    assignee: &Assignee,
    participants: &[DepartmentCode],
) -> Result<()> {
    let expected = route.assignee();
    if *assignee != expected {
        return Err(DomainError::AssigneeDoesNotMatchRoute {
            assignee: assignee.clone(),
            expected,
        });
    }
    // Order carries no meaning, duplicates do: compare sorted lists.
    let mut given = participants.to_vec();
    let mut wanted = route.participants().to_vec();
    given.sort();
    wanted.sort();
    if given != wanted {
        return Err(DomainError::ParticipantsDoNotMatchRoute {
            participants: participants.to_vec(),
            expected: route.participants().to_vec(),
        });
    }
    Ok(())
}

fn check_deadlines(
    reported_at: Option<Timestamp>,
    accept_deadline: Option<Timestamp>,
    resolve_deadline: Option<Timestamp>,
) -> Result<()> {
    if let (Some(accept), Some(resolve)) = (accept_deadline, resolve_deadline) {
        if accept > resolve {
            return Err(DomainError::DeadlinesOutOfOrder { accept, resolve });
        }
    }
    let Some(reported_at) = reported_at else {
        return Ok(());
    };
    for (field, deadline) in [
        ("accept_deadline", accept_deadline),
        ("resolve_deadline", resolve_deadline),
    ] {
        if let Some(deadline) = deadline.filter(|&deadline| deadline <= reported_at) {
            return Err(DomainError::DeadlineBeforeReport {
                field,
                deadline,
                reported_at,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::case::fixtures::*;
    use crate::case::{apply, decide, CaseState, Command};
    use crate::error::DomainError;
    use crate::event::{Route, Whistler};
    use crate::values::{Assignee, CaseStatus, DepartmentCode, Timestamp};

    #[test]
    fn department_case_is_dispatched_accepted_and_resolved() {
        let state = dispatched();
        assert_eq!(state.status, Some(CaseStatus::Dispatched));
        assert_eq!(state.assignee, Some(water()));
        assert_eq!(state.accept_deadline, Some(at_hours(2)));
        assert_eq!(state.resolve_deadline, Some(at_hours(72)));
        let state = step(state, accept(water()));
        assert_eq!(state.status, Some(CaseStatus::Accepted));
        let state = step(state, resolve(water()));
        assert_eq!(state.status, Some(CaseStatus::Resolved));
    }

    #[test]
    fn joint_case_goes_to_the_lead_with_participants() {
        let route = Route::joint(
            department("water"),
            vec![department("power"), department("gas")],
        )
        .unwrap();
        let state = run([
            report(),
            triage(route),
            // Participants in a different order still match the route.
            dispatch(water(), vec![department("gas"), department("power")]),
            accept(water()),
        ]);
        assert_eq!(state.status, Some(CaseStatus::Accepted));
        assert_eq!(state.assignee, Some(water()));
        assert_eq!(
            state.participants,
            vec![department("gas"), department("power")]
        );
    }

    #[test]
    fn returned_case_goes_back_to_triage_and_elsewhere() {
        let state = step(
            dispatched(),
            Command::Return {
                by: water(),
                reason: note("不属于本部门职责"),
            },
        );
        assert_eq!(state.status, Some(CaseStatus::Reported));
        assert_eq!(state.assignee, None);
        assert_eq!(state.route, None);
        assert_eq!(state.accept_deadline, None);
        assert_eq!(state.returned_by, vec![water()]);
        let state = step(state, triage(to_department("roads")));
        let state = step(state, dispatch(roads(), vec![]));
        assert_eq!(state.assignee, Some(roads()));
    }

    #[test]
    fn accepted_case_can_still_be_returned() {
        let state = step(
            accepted(),
            Command::Return {
                by: water(),
                reason: note("实为燃气问题"),
            },
        );
        assert_eq!(state.status, Some(CaseStatus::Reported));
        assert_eq!(state.returned_by, vec![water()]);
    }

    #[test]
    fn dispatch_must_follow_the_route() {
        assert_eq!(
            refusal(&triaged(), dispatch(roads(), vec![])).to_string(),
            "cannot dispatch: assignee department roads does not match the route, which expects department water"
        );
        assert!(matches!(
            refusal(&triaged(), dispatch(water(), vec![department("gas")])),
            DomainError::ParticipantsDoNotMatchRoute { .. }
        ));
        let joint = step(
            reported(),
            triage(Route::joint(department("water"), vec![department("gas")]).unwrap()),
        );
        assert!(matches!(
            refusal(&joint, dispatch(water(), vec![])),
            DomainError::ParticipantsDoNotMatchRoute { .. }
        ));
        assert!(matches!(
            refusal(
                &joint,
                dispatch(water(), vec![department("gas"), department("gas")])
            ),
            DomainError::ParticipantsDoNotMatchRoute { .. }
        ));
        let self_handled = step(
            reported(),
            triage(Route::SelfHandle {
                worker: worker("li-si"),
            }),
        );
        assert!(matches!(
            refusal(&self_handled, dispatch(water(), vec![])),
            DomainError::AssigneeDoesNotMatchRoute { .. }
        ));
    }

    fn community() -> Route {
        Route::Community {
            community: grid("330102-001-002"),
        }
    }

    fn street() -> Route {
        Route::Street {
            street: grid("330102-001"),
        }
    }

    fn refer(by: Assignee, route: Route) -> Command {
        Command::Refer {
            by,
            route,
            reason: note("两家都说不是自己的管子，要社区出面协调"),
        }
    }

    fn with_grid_worker() -> CaseState {
        run([
            report(),
            triage(Route::SelfHandle {
                worker: worker("li-si"),
            }),
            dispatch(grid_worker(), vec![]),
        ])
    }

    #[test]
    fn grid_worker_pushes_a_case_to_a_department_which_gets_it_afresh() {
        let state = step(
            with_grid_worker(),
            refer(grid_worker(), to_department("water")),
        );
        assert_eq!(state.status, Some(CaseStatus::Triaged));
        assert_eq!(state.route, Some(to_department("water")));
        assert_eq!(state.assignee, None);
        assert_eq!(state.accept_deadline, None);
        // A referral is the worker's call, not a return: the worker may get it back.
        assert!(state.returned_by.is_empty());
        let state = step(state, dispatch(water(), vec![]));
        assert_eq!(state.assignee, Some(water()));
    }

    #[test]
    fn a_case_climbs_from_the_grid_to_the_community_and_the_street() {
        let accepted = step(with_grid_worker(), accept(grid_worker()));
        let state = step(accepted, refer(grid_worker(), community()));
        let office = Assignee::Community(grid("330102-001-002"));
        let state = step(state, dispatch(office.clone(), vec![]));
        assert_eq!(state.assignee, Some(office.clone()));
        let state = step(state, accept(office.clone()));
        let state = step(state, refer(office, street()));
        let street_office = Assignee::Street(grid("330102-001"));
        let state = step(state, dispatch(street_office.clone(), vec![]));
        let state = step(state, accept(street_office.clone()));
        let state = step(state, resolve(street_office));
        assert_eq!(state.status, Some(CaseStatus::Resolved));
    }

    #[test]
    fn referrals_go_out_or_one_tier_up_never_down_or_sideways() {
        let worker_has_it = with_grid_worker();
        assert_eq!(
            refusal(&worker_has_it, refer(grid_worker(), street())).to_string(),
            "cannot refer: worker li-si may not refer the case to street 330102-001: \
             only the community hands a case up to the street, one tier at a time"
        );
        let other_community = Route::Community {
            community: grid("330102-001-009"),
        };
        assert!(matches!(
            refusal(&worker_has_it, refer(grid_worker(), other_community)),
            DomainError::ReferralNotAllowed { .. }
        ));
        let back_down = Route::SelfHandle {
            worker: worker("wang-wu"),
        };
        assert!(matches!(
            refusal(&worker_has_it, refer(grid_worker(), back_down)),
            DomainError::ReferralNotAllowed { .. }
        ));
        // A grid code of the wrong level is not a community.
        let not_a_community = Route::Community {
            community: grid("330102-001"),
        };
        assert!(matches!(
            refusal(&worker_has_it, refer(grid_worker(), not_a_community)),
            DomainError::Validation(_)
        ));
        // Only the assignee refers, and a department returns instead.
        assert!(matches!(
            refusal(&worker_has_it, refer(water(), community())),
            DomainError::NotAssignee { .. }
        ));
        assert_eq!(
            refusal(&dispatched(), refer(water(), to_department("roads"))).to_string(),
            "cannot refer: department water is a department; a department returns a case that \
             is not its own"
        );
        assert!(matches!(
            refusal(&triaged(), refer(grid_worker(), community())),
            DomainError::WrongStatus { .. }
        ));
    }

    #[test]
    fn dispatch_before_triage_is_refused() {
        assert_eq!(
            refusal(&reported(), dispatch(water(), vec![])).to_string(),
            "cannot dispatch: case is reported, not triaged"
        );
    }

    #[test]
    fn dispatch_deadlines_must_make_sense() {
        let out_of_order = Command::Dispatch {
            assignee: water(),
            participants: vec![],
            accept_deadline: Some(at_hours(10)),
            resolve_deadline: Some(at_hours(5)),
            report_in: None,
        };
        assert!(matches!(
            refusal(&triaged(), out_of_order),
            DomainError::DeadlinesOutOfOrder { .. }
        ));
        // Seconds passed where milliseconds are expected land in 1970.
        let seconds = Command::Dispatch {
            assignee: water(),
            participants: vec![],
            accept_deadline: None,
            resolve_deadline: Some(Timestamp::from_millis(1_700_000_000)),
            report_in: None,
        };
        assert_eq!(
            refusal(&triaged(), seconds).to_string(),
            "cannot dispatch: resolve_deadline 1700000000 is not after reported_at 1700000000000"
        );
    }

    #[test]
    fn accepting_twice_is_refused() {
        assert_eq!(
            refusal(&accepted(), accept(water())).to_string(),
            "cannot accept: case already accepted by department water"
        );
    }

    #[test]
    fn accept_by_another_department_is_refused() {
        assert_eq!(
            refusal(&dispatched(), accept(roads())).to_string(),
            "cannot accept: department roads is not the assignee (department water is)"
        );
    }

    #[test]
    fn accept_before_dispatch_is_refused() {
        assert_eq!(
            refusal(&triaged(), accept(water())).to_string(),
            "cannot accept: case is triaged, not dispatched"
        );
    }

    #[test]
    fn return_only_by_the_assignee_while_dispatched_or_accepted() {
        let by_roads = Command::Return {
            by: roads(),
            reason: note("x"),
        };
        assert!(matches!(
            refusal(&dispatched(), by_roads),
            DomainError::NotAssignee { .. }
        ));
        let by_water = Command::Return {
            by: water(),
            reason: note("x"),
        };
        assert_eq!(
            refusal(&resolved(), by_water).to_string(),
            "cannot return: case is resolved, not dispatched or accepted"
        );
    }

    #[test]
    fn a_community_blows_the_whistle_and_the_departments_report_in_once() {
        let community = Assignee::Community(grid("330102-001-002"));
        let with_community = run([
            report(),
            triage(Route::Community {
                community: grid("330102-001-002"),
            }),
            dispatch(community, vec![]),
        ]);
        let whistle = |by: Whistler, participants: Vec<DepartmentCode>| Command::Whistle {
            by,
            lead: department("housing"),
            participants,
            report_in_minutes: Some(45),
            reason: note("老楼外墙空鼓，住建和城管都要到场"),
        };
        let office = Whistler::Community(grid("330102-001-002"));
        // Only the office the case waits on, only with somebody besides the lead.
        assert!(matches!(
            refusal(
                &dispatched(),
                whistle(office.clone(), vec![department("urban_mgmt")])
            ),
            DomainError::NotAssignee { .. }
        ));
        assert!(matches!(
            refusal(&with_community, whistle(office.clone(), vec![])),
            DomainError::Validation(_)
        ));
        // A grid leader whistles on a case waiting on a worker of their own grid only.
        let leader = |code: &str| Whistler::GridLeader(grid(code));
        assert!(decide(
            &with_grid_worker(),
            whistle(leader("330102-001-002-003"), vec![department("urban_mgmt")])
        )
        .is_ok());
        for (state, code) in [
            (with_grid_worker(), "330102-001-002-004"),
            (with_community.clone(), "330102-001-002-003"),
        ] {
            assert_eq!(
                refusal(
                    &state,
                    whistle(leader(code), vec![department("urban_mgmt")])
                ),
                DomainError::NotLeadersCase { grid: grid(code) }
            );
        }
        let whistled = step(
            with_community,
            whistle(office, vec![department("urban_mgmt")]),
        );
        assert_eq!(whistled.status, Some(CaseStatus::Triaged));
        assert_eq!(whistled.assignee, None);
        let window = crate::case::ReportInWindow {
            from: at_hours(3),
            until: at_hours(4),
        };
        let events = decide(
            &whistled,
            Command::Dispatch {
                assignee: Assignee::Department(department("housing")),
                participants: vec![department("urban_mgmt")],
                accept_deadline: Some(at_hours(5)),
                resolve_deadline: Some(at_hours(50)),
                report_in: Some(window),
            },
        )
        .unwrap();
        assert_eq!(events.len(), 2, "{events:?}");
        let state = events.iter().fold(whistled, apply);
        let called = state.report_in.clone().unwrap();
        assert_eq!(
            called.departments,
            [department("housing"), department("urban_mgmt")]
        );
        assert_eq!(called.deadline, at_hours(4));
        let report_in = |code: &str| Command::ReportIn {
            department: department(code),
            opinion: note("已派执法队员，下午到现场"),
            at: at_hours(3),
        };
        let state = step(state, report_in("urban_mgmt"));
        assert_eq!(
            state
                .report_in
                .as_ref()
                .unwrap()
                .pending()
                .collect::<Vec<_>>(),
            [&department("housing")]
        );
        assert_eq!(
            refusal(&state, report_in("urban_mgmt")),
            DomainError::AlreadyReportedIn {
                department: department("urban_mgmt")
            }
        );
        assert_eq!(
            refusal(&state, report_in("water")),
            DomainError::NotCalledToReportIn {
                department: department("water")
            }
        );
        // A plain dispatch calls nobody.
        assert_eq!(
            refusal(&dispatched(), report_in("water")),
            DomainError::NotCalledToReportIn {
                department: department("water")
            }
        );
    }
}
