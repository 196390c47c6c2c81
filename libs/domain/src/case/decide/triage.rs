//! Triage: a reported case is classified and routed, folded into another
//! case about the same problem, or rejected.

use super::Case;
use crate::error::{DomainError, Result};
use crate::event::{CaseMerged, CaseRejected, CaseTriaged, DangerFlagged, QueuedForOperator};
use crate::values::{CaseId, CaseStatus, Danger, Note, Timestamp};

/// Classifies and routes a reported case, never back to whoever returned it.
pub(super) fn triage(case: &Case<'_>, triaged: CaseTriaged) -> Result<CaseTriaged> {
    case.require(&[CaseStatus::Reported], "reported")?;
    triaged.route.validate()?;
    let assignee = triaged.route.assignee();
    if case.state.returned_by.contains(&assignee) {
        return Err(DomainError::AlreadyReturned { assignee });
    }
    if let Some(model) = &triaged.model {
        if model.confidence > 1000 {
            return Err(crate::ValidationError::new(
                "model.confidence",
                format!("{} is above 1000 thousandths", model.confidence),
            )
            .into());
        }
    }
    Ok(triaged)
}

/// Marks a case awaiting triage as an emergency, once per wait: a case already flagged and not
/// yet triaged keeps its first deadline.
pub(super) fn flag_danger(
    case: &Case<'_>,
    danger: Danger,
    reason: Note,
    triage_by: Timestamp,
) -> Result<DangerFlagged> {
    case.require(&[CaseStatus::Reported], "reported")?;
    if let Some(deadline) = case.state.triage_deadline {
        return Err(DomainError::AlreadyFlagged { deadline });
    }
    if case.state.reported_at.is_some_and(|at| triage_by < at) {
        return Err(crate::ValidationError::new(
            "triage_by",
            "the triage deadline is before the case was reported",
        )
        .into());
    }
    Ok(DangerFlagged {
        danger,
        reason,
        triage_by,
    })
}

/// Leaves a case awaiting triage to an operator, who must triage it by `triage_by`; once per
/// wait (a flagged emergency has its deadline already).
pub(super) fn queue_for_operator(
    case: &Case<'_>,
    reason: Note,
    triage_by: Timestamp,
) -> Result<QueuedForOperator> {
    case.require(&[CaseStatus::Reported], "reported")?;
    if let Some(deadline) = case.state.triage_deadline {
        return Err(DomainError::AlreadyQueued { deadline });
    }
    if case.state.reported_at.is_some_and(|at| triage_by < at) {
        return Err(crate::ValidationError::new(
            "triage_by",
            "the triage deadline is before the case was reported",
        )
        .into());
    }
    Ok(QueuedForOperator { reason, triage_by })
}

/// Folds a reported case into another one.
pub(super) fn merge(case: &Case<'_>, into: CaseId) -> Result<CaseMerged> {
    case.require(&[CaseStatus::Reported], "reported")?;
    if case.state.case_id == Some(into) {
        return Err(DomainError::MergeIntoItself);
    }
    Ok(CaseMerged { into })
}

/// Declines a reported case.
pub(super) fn reject(case: &Case<'_>, reason: Note) -> Result<CaseRejected> {
    case.require(&[CaseStatus::Reported], "reported")?;
    Ok(CaseRejected { reason })
}

#[cfg(test)]
mod tests {
    use crate::case::fixtures::*;
    use crate::case::Command;
    use crate::error::DomainError;
    use crate::event::Route;
    use crate::values::{CaseId, CaseStatus};

    #[test]
    fn duplicate_case_is_merged() {
        let other = CaseId::from_u128(77);
        let state = step(reported(), Command::Merge { into: other });
        assert_eq!(state.status, Some(CaseStatus::Merged));
        assert_eq!(state.merged_into, Some(other));
        assert!(!state.is_open());
    }

    #[test]
    fn out_of_remit_case_is_rejected() {
        let state = step(
            reported(),
            Command::Reject {
                reason: note("属于司法程序"),
            },
        );
        assert_eq!(state.status, Some(CaseStatus::Rejected));
    }

    #[test]
    fn triage_only_from_reported() {
        assert_eq!(
            refusal(&dispatched(), triage(to_department("roads"))).to_string(),
            "cannot triage: case is dispatched, not reported"
        );
    }

    #[test]
    fn triage_back_to_a_department_that_returned_is_refused() {
        let state = step(
            dispatched(),
            Command::Return {
                by: water(),
                reason: note("not ours"),
            },
        );
        assert_eq!(
            refusal(&state, triage(to_department("water"))).to_string(),
            "cannot triage: department water already returned this case"
        );
        let joint = Route::Joint {
            lead: department("water"),
            participants: vec![department("roads")],
        };
        assert!(matches!(
            refusal(&state, triage(joint)),
            DomainError::AlreadyReturned { .. }
        ));
    }

    #[test]
    fn invalid_joint_routes_are_refused() {
        let empty = Route::Joint {
            lead: department("water"),
            participants: vec![],
        };
        assert_eq!(
            refusal(&reported(), triage(empty)).to_string(),
            "participants: a joint route needs at least one participant"
        );
        let lead_inside = Route::Joint {
            lead: department("water"),
            participants: vec![department("water")],
        };
        assert!(matches!(
            refusal(&reported(), triage(lead_inside)),
            DomainError::Validation(_)
        ));
        let duplicated = Route::Joint {
            lead: department("water"),
            participants: vec![department("gas"), department("gas")],
        };
        assert!(matches!(
            refusal(&reported(), triage(duplicated)),
            DomainError::Validation(_)
        ));
    }

    #[test]
    fn merging_into_itself_is_refused() {
        assert_eq!(
            refusal(&reported(), Command::Merge { into: CASE }).to_string(),
            "cannot merge: a case cannot be merged into itself"
        );
    }

    #[test]
    fn merge_and_reject_only_before_triage_completes() {
        let into = CaseId::from_u128(5);
        assert_eq!(
            refusal(&triaged(), Command::Merge { into }).to_string(),
            "cannot merge: case is triaged, not reported"
        );
        assert!(matches!(
            refusal(&accepted(), Command::Reject { reason: note("no") }),
            DomainError::WrongStatus { .. }
        ));
    }

    #[test]
    fn a_danger_is_flagged_once_per_wait_and_cleared_by_triage() {
        use crate::values::{Danger, Priority, Timestamp};
        let flag = |minutes: i64| Command::FlagDanger {
            danger: Danger::Fire,
            reason: note("火情：冒黑烟"),
            triage_by: Timestamp::from_millis(
                reported().reported_at.unwrap().as_millis() + minutes * 60_000,
            ),
        };
        let flagged = step(reported(), flag(10));
        assert_eq!(flagged.priority, Some(Priority::Emergency));
        assert_eq!(flagged.danger, Some(Danger::Fire));
        assert!(flagged.triage_deadline.is_some());
        assert!(matches!(
            refusal(&flagged, flag(20)),
            DomainError::AlreadyFlagged { .. }
        ));
        let triaged = step(flagged, triage(to_department("roads")));
        assert_eq!(triaged.triage_deadline, None);
        assert!(matches!(
            refusal(&triaged, flag(10)),
            DomainError::WrongStatus { .. }
        ));
        assert_eq!(
            refusal(&reported(), flag(-1)).to_string(),
            "triage_by: the triage deadline is before the case was reported"
        );
    }
}
