//! Supervision: deadline warnings (预警) and breaches (超时), escalation up
//! the grid hierarchy (升级) and urging the assignee (督办), on any open case.

use super::Case;
use crate::error::{DomainError, Result};
use crate::event::{CaseEscalated, CaseUrged, DeadlineBreached, DeadlineStage, DeadlineWarned};
use crate::values::{GridCode, Location, Note, Timestamp, WorkerId};

/// Notes that a deadline is close; `None` if that warning was given already,
/// so a deadline watcher may re-run.
pub(super) fn warn_deadline(
    case: &Case<'_>,
    stage: DeadlineStage,
    deadline: Timestamp,
) -> Result<Option<DeadlineWarned>> {
    case.require_open()?;
    if case.state.deadline_warnings.contains(&(stage, deadline)) {
        return Ok(None);
    }
    Ok(Some(DeadlineWarned { stage, deadline }))
}

/// Notes that a deadline has passed; `None` if that breach was recorded
/// already, so a deadline watcher may re-run.
pub(super) fn breach_deadline(
    case: &Case<'_>,
    stage: DeadlineStage,
    deadline: Timestamp,
) -> Result<Option<DeadlineBreached>> {
    case.require_open()?;
    if case.state.deadline_breaches.contains(&(stage, deadline)) {
        return Ok(None);
    }
    Ok(Some(DeadlineBreached { stage, deadline }))
}

/// Raises the case one rung, to the leader of `to`: the case's own grid (网格长督办) or an area
/// containing it, and always above the area of the rung before.
pub(super) fn escalate(case: &Case<'_>, to: GridCode, at: Timestamp) -> Result<CaseEscalated> {
    case.require_open()?;
    if let Some(grid) = case.state.location.as_ref().and_then(Location::grid) {
        if !grid.is_within(&to) {
            return Err(DomainError::EscalationNotUpward { to, grid });
        }
    }
    if let Some(last) = case.state.escalated_to {
        if !last.is_strictly_within(&to) {
            return Err(DomainError::EscalationNotHigher { to, last });
        }
    }
    let current = case.state.escalation_level;
    let level = current
        .checked_add(1)
        .ok_or(DomainError::EscalationLimit { level: current })?;
    Ok(CaseEscalated {
        level,
        to,
        at: Some(at),
    })
}

/// Presses the assignee of an open case.
pub(super) fn urge(case: &Case<'_>, by: WorkerId, note: Note) -> Result<CaseUrged> {
    case.require_open()?;
    Ok(CaseUrged { by, note })
}

#[cfg(test)]
mod tests {
    use crate::case::fixtures::*;
    use crate::case::{decide, CaseState, Command};
    use crate::error::DomainError;
    use crate::event::{CaseEscalated, DeadlineStage, Event};
    use crate::values::{Address, CaseStatus, Location};

    #[test]
    fn deadlines_are_warned_and_breached_once() {
        let warn = Command::WarnDeadline {
            stage: DeadlineStage::Accept,
            deadline: at_hours(2),
        };
        let breach = Command::BreachDeadline {
            stage: DeadlineStage::Accept,
            deadline: at_hours(2),
        };
        let state = step(step(dispatched(), warn.clone()), breach.clone());
        assert_eq!(
            state.deadline_warnings,
            vec![(DeadlineStage::Accept, at_hours(2))]
        );
        assert_eq!(
            state.deadline_breaches,
            vec![(DeadlineStage::Accept, at_hours(2))]
        );
        assert_eq!(decide(&state, warn), Ok(vec![]));
        assert_eq!(decide(&state, breach), Ok(vec![]));
        let later = Command::BreachDeadline {
            stage: DeadlineStage::Resolve,
            deadline: at_hours(72),
        };
        assert_eq!(decide(&state, later).unwrap().len(), 1);
    }

    #[test]
    fn escalation_climbs_the_grid_from_its_own_grid_leader() {
        let state = step(
            dispatched(),
            Command::Escalate {
                to: grid("330102-001-002-003"),
                at: at_hours(3),
            },
        );
        assert_eq!(state.escalation_level, 1);
        assert_eq!(state.escalated_to, Some(grid("330102-001-002-003")));
        assert_eq!(state.escalated_at, Some(at_hours(3)));
        let events = decide(
            &state,
            Command::Escalate {
                to: grid("330102"),
                at: at_hours(27),
            },
        )
        .unwrap();
        assert_eq!(
            events,
            vec![Event::CaseEscalated(CaseEscalated {
                level: 2,
                to: grid("330102"),
                at: Some(at_hours(27)),
            })]
        );
        // Never the same area twice, never back down.
        for to in ["330102-001-002-003", "330102-001-002-003-01"] {
            let after = step(
                state.clone(),
                Command::Escalate {
                    to: grid("330102-001-002"),
                    at: at_hours(27),
                },
            );
            assert!(matches!(
                refusal(
                    &after,
                    Command::Escalate {
                        to: grid(to),
                        at: at_hours(50)
                    }
                ),
                DomainError::EscalationNotHigher { .. } | DomainError::EscalationNotUpward { .. }
            ));
        }
        assert_eq!(
            refusal(
                &state,
                Command::Escalate {
                    to: grid("330102-001-002-003"),
                    at: at_hours(27)
                }
            )
            .to_string(),
            "cannot escalate: 330102-001-002-003 is not above 330102-001-002-003, where the case \
             was escalated to before"
        );
    }

    #[test]
    fn case_without_grid_escalates_anywhere() {
        let mut command = report();
        if let Command::Report { location, .. } = &mut command {
            *location =
                Location::new(None, Some(Address::parse("文三路 1 号").unwrap()), None).unwrap();
        }
        let state = step(
            run([command]),
            Command::Escalate {
                to: grid("330106"),
                at: at_hours(1),
            },
        );
        assert_eq!(state.escalation_level, 1);
    }

    #[test]
    fn open_case_can_be_urged() {
        let state = step(
            accepted(),
            Command::Urge {
                by: worker("supervisor"),
                note: note("请尽快处理"),
            },
        );
        assert_eq!(state.urge_count, 1);
        assert_eq!(state.status, Some(CaseStatus::Accepted));
    }

    #[test]
    fn escalation_must_go_up_the_case_grid() {
        let state = dispatched();
        assert_eq!(
            refusal(
                &state,
                Command::Escalate {
                    to: grid("330102-001-003"),
                    at: at_hours(3),
                }
            )
            .to_string(),
            "cannot escalate: 330102-001-003 does not contain the case grid 330102-001-002-003"
        );
        assert!(matches!(
            refusal(
                &state,
                Command::Escalate {
                    to: grid("330102-001-002-003-01"),
                    at: at_hours(3),
                }
            ),
            DomainError::EscalationNotUpward { .. }
        ));
    }

    #[test]
    fn escalation_level_cannot_overflow() {
        let state = CaseState {
            escalation_level: u8::MAX,
            ..dispatched()
        };
        assert_eq!(
            refusal(
                &state,
                Command::Escalate {
                    to: grid("330102"),
                    at: at_hours(3)
                }
            ),
            DomainError::EscalationLimit { level: u8::MAX }
        );
    }
}
