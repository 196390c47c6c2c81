//! Evaluation: a resolved case is checked on site (核查), the resident rates
//! the handling (回访), and the case is closed (结案) or reopened. Once closed, the grid
//! worker of the case's grid rates each department that handled it (网格评部门).

use super::Case;
use crate::error::{DomainError, Result};
use crate::event::{
    CaseClosed, CaseReopened, CaseVerified, DepartmentRated, Route, SatisfactionRecorded,
    VerificationFailed,
};
use crate::values::{
    Assignee, CaseStatus, DepartmentCode, GridCode, GridLevel, Note, ValidationError, WorkerId,
};

/// Confirms on site that a resolved case is fixed.
pub(super) fn verify(case: &Case<'_>, by: WorkerId, note: Option<Note>) -> Result<CaseVerified> {
    case.require(&[CaseStatus::Resolved], "resolved")?;
    require_other_verifier(case, &by)?;
    Ok(CaseVerified { by, note })
}

/// A grid worker does not check on site what they settled themselves: the community or the
/// grid leader checks those.
fn require_other_verifier(case: &Case<'_>, by: &WorkerId) -> Result<()> {
    match &case.state.assignee {
        Some(Assignee::Worker(settler)) if settler == by => Err(DomainError::OwnSettlement {
            action: case.action,
            by: by.clone(),
        }),
        _ => Ok(()),
    }
}

/// Reports on site that the problem of a resolved case is still there.
pub(super) fn fail_verification(
    case: &Case<'_>,
    by: WorkerId,
    reason: Note,
) -> Result<VerificationFailed> {
    case.require(&[CaseStatus::Resolved], "resolved")?;
    require_other_verifier(case, &by)?;
    Ok(VerificationFailed { by, reason })
}

/// Records the resident's rating of a verified case, once per verification.
pub(super) fn record_satisfaction(
    case: &Case<'_>,
    resolved: bool,
    satisfied: bool,
    score: u8,
    comment: Option<Note>,
) -> Result<SatisfactionRecorded> {
    case.require(&[CaseStatus::Verified], "verified")?;
    if case.state.rating.is_some() {
        return Err(DomainError::AlreadyRated);
    }
    if !(1..=5).contains(&score) {
        return Err(ValidationError::new("score", format!("must be 1 to 5, got {score}")).into());
    }
    Ok(SatisfactionRecorded {
        resolved,
        satisfied,
        score,
        comment,
    })
}

/// Finishes a verified case, unless the resident says the problem persists.
pub(super) fn close(case: &Case<'_>, by: Option<WorkerId>) -> Result<CaseClosed> {
    case.require(&[CaseStatus::Verified], "verified")?;
    if case.state.rating.is_some_and(|rating| !rating.resolved) {
        return Err(DomainError::RatedUnresolved);
    }
    Ok(CaseClosed { by })
}

/// The grid worker's rating of a department's handling of a closed case (网格评部门): by a
/// worker of the case's grid (`grid` is where the worker works, the case lies in it), of a
/// department that handled the case, once per case and department.
pub(super) fn rate_department(
    case: &Case<'_>,
    grid: GridCode,
    rating: DepartmentRated,
) -> Result<DepartmentRated> {
    case.require(&[CaseStatus::Closed], "closed")?;
    let case_grid = case.state.location.as_ref().and_then(|at| at.grid());
    // Grid workers work in a grid or a micro-grid; a code above would let one rate a whole
    // community's cases.
    let workers_grid = grid.level() >= GridLevel::Grid;
    if !(workers_grid && case_grid.is_some_and(|at| at.is_within(&grid))) {
        return Err(DomainError::NotRatersGrid {
            by: rating.by,
            grid,
            case_grid,
        });
    }
    let handlers = handlers(case.state.route.as_ref());
    if !handlers.contains(&rating.department) {
        return Err(DomainError::NotHandledBy {
            department: rating.department,
            handlers,
        });
    }
    if case.state.departments_rated.contains(&rating.department) {
        return Err(DomainError::DepartmentAlreadyRated {
            department: rating.department,
        });
    }
    Ok(rating)
}

/// The departments that handled a case along `route`, its last: the department it went to, or
/// the lead and participants of a joint consultation; none for a case the grid worker, the
/// community or the street settled.
fn handlers(route: Option<&Route>) -> Vec<DepartmentCode> {
    match route {
        Some(Route::Department { department }) => vec![department.clone()],
        Some(Route::Joint { lead, participants }) => {
            std::iter::once(lead).chain(participants).cloned().collect()
        }
        Some(Route::SelfHandle { .. } | Route::Community { .. } | Route::Street { .. }) | None => {
            Vec::new()
        }
    }
}

/// Sends a closed case, or a verified one the resident says is not fixed,
/// back to triage.
pub(super) fn reopen(case: &Case<'_>, reason: Note) -> Result<CaseReopened> {
    match case.status {
        CaseStatus::Closed => {}
        CaseStatus::Verified if case.state.rating.is_some_and(|rating| !rating.resolved) => {}
        CaseStatus::Verified => return Err(DomainError::ReopenNeedsUnresolvedRating),
        status => {
            return Err(DomainError::WrongStatus {
                action: case.action,
                status,
                expected: "verified or closed",
            })
        }
    }
    Ok(CaseReopened { reason })
}

#[cfg(test)]
mod tests {
    use crate::case::fixtures::*;
    use crate::case::{Command, Rating};
    use crate::error::DomainError;
    use crate::values::CaseStatus;

    #[test]
    fn failed_verification_sends_the_case_back_for_rework() {
        let state = step(
            resolved(),
            Command::FailVerification {
                by: worker("inspector"),
                reason: note("仍在漏水"),
            },
        );
        assert_eq!(state.status, Some(CaseStatus::Accepted));
        assert_eq!(state.assignee, Some(water()));
        assert_eq!(state.rework_count, 1);
        let state = step(step(state, resolve(water())), verify());
        assert_eq!(state.status, Some(CaseStatus::Verified));
    }

    #[test]
    fn unresolved_rating_leads_to_reopen() {
        let state = step(verified(), rate(false));
        assert_eq!(
            state.rating,
            Some(Rating {
                resolved: false,
                satisfied: false,
                score: 1
            })
        );
        let state = step(
            state,
            Command::Reopen {
                reason: note("居民反映问题仍在"),
            },
        );
        assert_eq!(state.status, Some(CaseStatus::Reported));
        assert_eq!(state.reopen_count, 1);
        assert_eq!(state.rating, None);
        assert_eq!(state.route, None);
        // The second round may go to the same department: it did not return the case.
        let state = step(state, triage(to_department("water")));
        assert_eq!(state.status, Some(CaseStatus::Triaged));
    }

    #[test]
    fn closed_case_can_be_reopened_and_keeps_returns() {
        let state = run([
            report(),
            triage(to_department("roads")),
            dispatch(roads(), vec![]),
            Command::Return {
                by: roads(),
                reason: note("not roads"),
            },
            triage(to_department("water")),
            dispatch(water(), vec![]),
            accept(water()),
            resolve(water()),
            verify(),
            close(),
            Command::Reopen {
                reason: note("又坏了"),
            },
        ]);
        assert_eq!(state.status, Some(CaseStatus::Reported));
        assert_eq!(state.reopen_count, 1);
        assert_eq!(state.returned_by, vec![roads()]);
    }

    #[test]
    fn verified_case_can_be_closed_without_a_rating() {
        let state = step(verified(), Command::Close { by: None });
        assert_eq!(state.status, Some(CaseStatus::Closed));
    }

    #[test]
    fn resolved_but_unsatisfied_case_can_still_close() {
        let state = step(
            verified(),
            Command::RecordSatisfaction {
                resolved: true,
                satisfied: false,
                score: 2,
                comment: Some(note("太慢")),
            },
        );
        assert_eq!(step(state, close()).status, Some(CaseStatus::Closed));
    }

    #[test]
    fn verification_only_after_resolution() {
        assert_eq!(
            refusal(&accepted(), verify()).to_string(),
            "cannot verify: case is accepted, not resolved"
        );
        let fail = Command::FailVerification {
            by: worker("inspector"),
            reason: note("x"),
        };
        assert!(matches!(
            refusal(&verified(), fail),
            DomainError::WrongStatus { .. }
        ));
    }

    #[test]
    fn rating_before_resolution_is_refused() {
        assert_eq!(
            refusal(&accepted(), rate(true)).to_string(),
            "cannot record satisfaction: case is accepted, not verified"
        );
        assert!(matches!(
            refusal(&resolved(), rate(true)),
            DomainError::WrongStatus { .. }
        ));
    }

    #[test]
    fn rating_twice_is_refused() {
        let state = step(verified(), rate(true));
        assert_eq!(
            refusal(&state, rate(false)).to_string(),
            "cannot record satisfaction: already recorded for this verification"
        );
    }

    #[test]
    fn score_must_be_one_to_five() {
        for score in [0, 6, 255] {
            let command = Command::RecordSatisfaction {
                resolved: true,
                satisfied: true,
                score,
                comment: None,
            };
            let error = refusal(&verified(), command);
            assert_eq!(
                error.to_string(),
                format!("score: must be 1 to 5, got {score}")
            );
        }
    }

    #[test]
    fn closing_over_an_unresolved_rating_is_refused() {
        let state = step(verified(), rate(false));
        assert_eq!(
            refusal(&state, close()).to_string(),
            "cannot close: the rating says the problem is not resolved, reopen instead"
        );
    }

    #[test]
    fn closing_before_verification_is_refused() {
        assert_eq!(
            refusal(&resolved(), close()).to_string(),
            "cannot close: case is resolved, not verified"
        );
    }

    #[test]
    fn reopening_needs_an_unresolved_rating_or_a_closed_case() {
        let reopen = Command::Reopen { reason: note("x") };
        assert_eq!(
            refusal(&verified(), reopen.clone()),
            DomainError::ReopenNeedsUnresolvedRating
        );
        assert_eq!(
            refusal(&step(verified(), rate(true)), reopen.clone()),
            DomainError::ReopenNeedsUnresolvedRating
        );
        assert_eq!(
            refusal(&accepted(), reopen).to_string(),
            "cannot reopen: case is accepted, not verified or closed"
        );
    }

    #[test]
    fn a_worker_does_not_check_what_they_settled() {
        use crate::event::Route;
        let settled = run([
            report(),
            triage(Route::SelfHandle {
                worker: worker("li-si"),
            }),
            dispatch(grid_worker(), vec![]),
            accept(grid_worker()),
            resolve(grid_worker()),
        ]);
        let own = Command::Verify {
            by: worker("li-si"),
            note: None,
        };
        assert_eq!(
            refusal(&settled, own).to_string(),
            "cannot verify: worker li-si settled this case and may not check it; the community \
             or the grid leader checks it"
        );
        let own_failure = Command::FailVerification {
            by: worker("li-si"),
            reason: note("还没弄好"),
        };
        assert!(matches!(
            refusal(&settled, own_failure),
            DomainError::OwnSettlement { .. }
        ));
        let state = step(settled, verify());
        assert_eq!(state.status, Some(CaseStatus::Verified));
    }

    /// lin-ming of the case's grid rates `department`: 5 for timeliness, 4 for attitude, 3 for
    /// the result.
    fn grid_rates(department: &str) -> Command {
        rate_department_in("330102-001-002-003", "lin-ming", department)
    }

    fn rate_department_in(grid_code: &str, by: &str, department_code: &str) -> Command {
        let mark = |value| crate::values::RatingScore::new("score", value).unwrap();
        Command::RateDepartment {
            by: worker(by),
            grid: grid(grid_code),
            department: department(department_code),
            timeliness: mark(5),
            attitude: mark(4),
            result: mark(3),
            note: Some(note("回复及时，处理彻底，居民认可")),
            at: at_hours(80),
        }
    }

    #[test]
    fn the_grid_rates_the_department_of_a_closed_case_once() {
        use crate::case::decide;
        use crate::event::{DepartmentRated, Event};
        let events = decide(&closed(), grid_rates("water")).unwrap();
        let [Event::DepartmentRated(rated)] = events.as_slice() else {
            panic!("one rating expected: {events:?}")
        };
        assert_eq!(
            (rated.by.as_str(), rated.department.as_str()),
            ("lin-ming", "water")
        );
        assert_eq!(
            (
                rated.timeliness.get(),
                rated.attitude.get(),
                rated.result.get()
            ),
            (5, 4, 3)
        );
        assert_eq!(rated.note, Some(note("回复及时，处理彻底，居民认可")));
        assert_eq!(rated.at, at_hours(80));
        // (5 + 4 + 3 - 3) / 12 of the way from the lowest marks to the highest.
        assert_eq!((rated.points(), DepartmentRated::MAX_POINTS), (9, 12));

        let state = step(closed(), grid_rates("water"));
        assert_eq!(state.departments_rated, [department("water")]);
        assert_eq!(state.status, Some(CaseStatus::Closed));
        let again = refusal(&state, grid_rates("water"));
        assert_eq!(
            again.to_string(),
            "cannot rate the department: water is already rated on this case; the grid rates \
             each department once per case"
        );
        // Another worker of the grid is refused too: once per case and department, whoever
        // rates.
        assert!(matches!(
            refusal(
                &state,
                rate_department_in("330102-001-002-003", "wu-lei", "water")
            ),
            DomainError::DepartmentAlreadyRated { .. }
        ));
        // Reopening the case does not make the department ratable again.
        let reopened = step(
            state,
            Command::Reopen {
                reason: note("又漏水了"),
            },
        );
        assert_eq!(reopened.departments_rated, [department("water")]);
    }

    #[test]
    fn only_a_closed_case_is_rated() {
        assert_eq!(
            refusal(&verified(), grid_rates("water")).to_string(),
            "cannot rate the department: case is verified, not closed"
        );
        assert!(matches!(
            refusal(&accepted(), grid_rates("water")),
            DomainError::WrongStatus { .. }
        ));
    }

    #[test]
    fn only_a_worker_of_the_cases_grid_rates() {
        // The case is in grid 330102-001-002-003.
        assert_eq!(
            refusal(
                &closed(),
                rate_department_in("330102-001-002-004", "yu-gang", "water")
            )
            .to_string(),
            "cannot rate the department: the case is in grid 330102-001-002-003, not in grid \
             330102-001-002-004 where worker yu-gang works; a grid worker rates the departments \
             on cases of their own grid"
        );
        // A micro-grid's own worker rates the cases of that micro-grid only.
        assert!(matches!(
            refusal(
                &closed(),
                rate_department_in("330102-001-002-003-01", "gao-fang", "water")
            ),
            DomainError::NotRatersGrid { .. }
        ));
        // A case placed in the micro-grid: its own worker and the grid's rate it.
        let mut in_micro_grid = closed();
        in_micro_grid.location = Some(
            crate::values::Location::new(Some(grid("330102-001-002-003-01")), None, None).unwrap(),
        );
        for rater_grid in ["330102-001-002-003-01", "330102-001-002-003"] {
            let rated = step(
                in_micro_grid.clone(),
                rate_department_in(rater_grid, "gao-fang", "water"),
            );
            assert_eq!(rated.departments_rated, [department("water")]);
        }
        // A code above grid level is nobody's grid: a worker works in a grid or a micro-grid.
        assert_eq!(
            refusal(
                &closed(),
                rate_department_in("330102-001-002", "zhou-qing", "water")
            ),
            DomainError::NotRatersGrid {
                by: worker("zhou-qing"),
                grid: grid("330102-001-002"),
                case_grid: Some(grid("330102-001-002-003")),
            }
        );
        // Nor is a case placed without a grid any grid's.
        let mut nowhere = closed();
        nowhere.location = Some(
            crate::values::Location::new(
                None,
                Some(crate::values::Address::parse("清波街 3 号").unwrap()),
                None,
            )
            .unwrap(),
        );
        assert!(refusal(&nowhere, grid_rates("water"))
            .to_string()
            .starts_with("cannot rate the department: the case is placed without a grid, not in"));
    }

    #[test]
    fn only_a_department_that_handled_the_case_is_rated() {
        assert_eq!(
            refusal(&closed(), grid_rates("roads")).to_string(),
            "cannot rate the department: roads did not handle this case; it was handled by water"
        );
        use crate::event::Route;
        let settled = run([
            report(),
            triage(Route::SelfHandle {
                worker: worker("li-si"),
            }),
            dispatch(grid_worker(), vec![]),
            accept(grid_worker()),
            resolve(grid_worker()),
            verify(),
            close(),
        ]);
        assert_eq!(
            refusal(&settled, grid_rates("water")),
            DomainError::NotHandledBy {
                department: department("water"),
                handlers: vec![],
            }
        );
        assert_eq!(
            refusal(&settled, grid_rates("water")).to_string(),
            "cannot rate the department: water did not handle this case; no department did"
        );
    }

    #[test]
    fn the_lead_and_each_participant_of_a_joint_case_are_rated_once() {
        use crate::event::Route;
        let joint = Route::joint(department("water"), vec![department("power")]).unwrap();
        let closed = run([
            report(),
            triage(joint),
            dispatch(water(), vec![department("power")]),
            accept(water()),
            resolve(water()),
            verify(),
            close(),
        ]);
        let state = step(step(closed, grid_rates("power")), grid_rates("water"));
        assert_eq!(
            state.departments_rated,
            [department("power"), department("water")]
        );
        for rated in ["water", "power"] {
            assert!(matches!(
                refusal(&state, grid_rates(rated)),
                DomainError::DepartmentAlreadyRated { .. }
            ));
        }
        assert_eq!(
            refusal(&state, grid_rates("gas")).to_string(),
            "cannot rate the department: gas did not handle this case; it was handled by water, \
             power"
        );
    }
}
