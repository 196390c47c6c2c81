//! Dispatch: a triaged case goes to the assignee its route names, who
//! accepts it (签收) or returns it to triage as not theirs (退回).

use super::Case;
use crate::error::{DomainError, Result};
use crate::event::{CaseDispatched, DispatchAccepted, DispatchReturned, Route};
use crate::values::{Assignee, CaseStatus, DepartmentCode, Note, Timestamp};

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
    use crate::case::Command;
    use crate::error::DomainError;
    use crate::event::Route;
    use crate::values::{CaseStatus, Timestamp};

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
}
