//! Evaluation: a resolved case is checked on site (核查), the resident rates
//! the handling (回访), and the case is closed (结案) or reopened.

use super::Case;
use crate::error::{DomainError, Result};
use crate::event::{
    CaseClosed, CaseReopened, CaseVerified, SatisfactionRecorded, VerificationFailed,
};
use crate::values::{Assignee, CaseStatus, Note, ValidationError, WorkerId};

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
}
