//! Resolution: the assignee works on an accepted case, may ask a supervisor
//! for more time (延期申请), and says when it is fixed (办结).

use super::Case;
use crate::error::{DomainError, Result};
use crate::event::{
    CaseResolved, PostponementApproved, PostponementRefused, PostponementRequested,
    ProgressReported,
};
use crate::values::{Assignee, CaseStatus, Note, Timestamp, Url, WorkerId};

/// The assignee reports progress on an accepted case.
pub(super) fn report_progress(
    case: &Case<'_>,
    by: Assignee,
    note: Note,
) -> Result<ProgressReported> {
    case.require(&[CaseStatus::Accepted], "accepted")?;
    case.require_assignee(&by)?;
    Ok(ProgressReported { by, note })
}

/// The assignee asks for a resolve deadline later than the current one; one
/// request at a time.
pub(super) fn request_postponement(
    case: &Case<'_>,
    by: Assignee,
    until: Timestamp,
    reason: Note,
) -> Result<PostponementRequested> {
    case.require(&[CaseStatus::Accepted], "accepted")?;
    case.require_assignee(&by)?;
    if let Some(pending) = &case.state.pending_postponement {
        return Err(DomainError::PostponementPending {
            until: pending.until,
        });
    }
    if let Some(deadline) = case.state.resolve_deadline {
        if until <= deadline {
            return Err(DomainError::PostponementNotLater { until, deadline });
        }
    }
    Ok(PostponementRequested { by, until, reason })
}

/// A supervisor grants the pending request.
pub(super) fn approve_postponement(case: &Case<'_>, by: WorkerId) -> Result<PostponementApproved> {
    let pending =
        case.state
            .pending_postponement
            .as_ref()
            .ok_or(DomainError::NoPostponementPending {
                action: case.action,
            })?;
    // A self-handling grid worker must not extend their own deadline.
    if pending.by == Assignee::Worker(by.clone()) {
        return Err(DomainError::SelfApproval { worker: by });
    }
    Ok(PostponementApproved {
        by,
        until: pending.until,
    })
}

/// A supervisor refuses the pending request.
pub(super) fn refuse_postponement(
    case: &Case<'_>,
    by: WorkerId,
    reason: Note,
) -> Result<PostponementRefused> {
    if case.state.pending_postponement.is_none() {
        return Err(DomainError::NoPostponementPending {
            action: case.action,
        });
    }
    Ok(PostponementRefused { by, reason })
}

/// The assignee says an accepted case is fixed.
pub(super) fn resolve(
    case: &Case<'_>,
    by: Assignee,
    note: Note,
    evidence: Vec<Url>,
) -> Result<CaseResolved> {
    case.require(&[CaseStatus::Accepted], "accepted")?;
    case.require_assignee(&by)?;
    Ok(CaseResolved { by, note, evidence })
}

#[cfg(test)]
mod tests {
    use crate::case::fixtures::*;
    use crate::case::{apply, decide, Command, PendingPostponement};
    use crate::error::DomainError;
    use crate::event::{Event, PostponementApproved, Route};
    use crate::values::CaseStatus;

    #[test]
    fn progress_is_reported_by_the_assignee() {
        let state = step(
            accepted(),
            Command::ReportProgress {
                by: water(),
                note: note("已到现场"),
            },
        );
        assert_eq!(state.status, Some(CaseStatus::Accepted));
    }

    #[test]
    fn approved_postponement_moves_the_resolve_deadline() {
        let state = step(accepted(), postpone(at_hours(120)));
        assert_eq!(
            state.pending_postponement,
            Some(PendingPostponement {
                by: water(),
                until: at_hours(120)
            })
        );
        let events = decide(
            &state,
            Command::ApprovePostponement {
                by: worker("supervisor"),
            },
        )
        .unwrap();
        assert_eq!(
            events,
            vec![Event::PostponementApproved(PostponementApproved {
                by: worker("supervisor"),
                until: at_hours(120),
            })]
        );
        let state = events.iter().fold(state, apply);
        assert_eq!(state.resolve_deadline, Some(at_hours(120)));
        assert_eq!(state.pending_postponement, None);
        // A further request must go beyond the new deadline.
        assert!(decide(&state, postpone(at_hours(121))).is_ok());
    }

    #[test]
    fn refused_postponement_keeps_the_deadline() {
        let state = step(
            step(accepted(), postpone(at_hours(120))),
            Command::RefusePostponement {
                by: worker("supervisor"),
                reason: note("不予延期"),
            },
        );
        assert_eq!(state.resolve_deadline, Some(at_hours(72)));
        assert_eq!(state.pending_postponement, None);
    }

    #[test]
    fn resolving_drops_a_pending_postponement() {
        let state = step(step(accepted(), postpone(at_hours(120))), resolve(water()));
        assert_eq!(state.pending_postponement, None);
    }

    #[test]
    fn progress_before_acceptance_is_refused() {
        let progress = Command::ReportProgress {
            by: water(),
            note: note("x"),
        };
        assert_eq!(
            refusal(&dispatched(), progress).to_string(),
            "cannot report progress: case is dispatched, not accepted"
        );
    }

    #[test]
    fn resolving_a_case_never_accepted_is_refused() {
        assert_eq!(
            refusal(&dispatched(), resolve(water())).to_string(),
            "cannot resolve: case is dispatched, not accepted"
        );
    }

    #[test]
    fn resolving_by_someone_else_is_refused() {
        assert!(matches!(
            refusal(&accepted(), resolve(roads())),
            DomainError::NotAssignee {
                action: "resolve",
                ..
            }
        ));
    }

    #[test]
    fn postponement_rules() {
        let pending = step(accepted(), postpone(at_hours(120)));
        assert_eq!(
            refusal(&pending, postpone(at_hours(150))).to_string(),
            format!(
                "cannot request postponement: a request until {} is already pending",
                at_hours(120)
            )
        );
        assert!(matches!(
            refusal(&accepted(), postpone(at_hours(72))),
            DomainError::PostponementNotLater { .. }
        ));
        assert!(matches!(
            refusal(&dispatched(), postpone(at_hours(120))),
            DomainError::WrongStatus { .. }
        ));
        let by_other = Command::RequestPostponement {
            by: roads(),
            until: at_hours(120),
            reason: note("x"),
        };
        assert!(matches!(
            refusal(&accepted(), by_other),
            DomainError::NotAssignee { .. }
        ));
    }

    #[test]
    fn approving_or_refusing_without_a_request_is_refused() {
        assert_eq!(
            refusal(
                &accepted(),
                Command::ApprovePostponement {
                    by: worker("supervisor")
                }
            )
            .to_string(),
            "cannot approve postponement: no postponement request is pending"
        );
        assert!(matches!(
            refusal(
                &accepted(),
                Command::RefusePostponement {
                    by: worker("supervisor"),
                    reason: note("x")
                }
            ),
            DomainError::NoPostponementPending { .. }
        ));
    }

    #[test]
    fn a_worker_cannot_approve_their_own_postponement() {
        let state = run([
            report(),
            triage(Route::SelfHandle {
                worker: worker("li-si"),
            }),
            dispatch(grid_worker(), vec![]),
            accept(grid_worker()),
            Command::RequestPostponement {
                by: grid_worker(),
                until: at_hours(100),
                reason: note("x"),
            },
        ]);
        assert_eq!(
            refusal(
                &state,
                Command::ApprovePostponement {
                    by: worker("li-si")
                }
            )
            .to_string(),
            "cannot approve postponement: worker li-si asked for it and cannot approve it"
        );
        let state = step(
            state,
            Command::ApprovePostponement {
                by: worker("supervisor"),
            },
        );
        assert_eq!(state.resolve_deadline, Some(at_hours(100)));
    }
}
