//! The escalation ladder (`escalation.toml`): when a breached case climbs its next rung, one
//! at a time at the ladder's pace, and to whose area.

use gridcase_config::ReferenceData;
use gridcase_domain::{CaseState, CaseStatus, GridCode, Location, Timestamp};

/// When `state` reaches its next rung of the escalation ladder (`escalation.toml`), or `None`
/// for a case that is not open, has no breach, stands at the top of the ladder or has nowhere
/// higher to go.
///
/// Rung 1 (网格长督办) comes its step's `after_breach` after the first breach. Every further
/// rung comes once its own `after_breach` has passed since the first breach *and* the gap the
/// ladder puts between it and the rung before has passed since the case reached that rung.
/// So a case climbs one rung at a time at the ladder's pace: a second breach does not push it
/// a rung higher, and a rung recorded late (supervision was down) moves the next one later by
/// as much.
pub fn next_rung_at(state: &CaseState, reference: &ReferenceData) -> Option<Timestamp> {
    let first_breach = first_breach(state)?;
    escalation_target(state, reference)?;
    let step = reference.escalation_step(state.escalation_level.checked_add(1)?)?;
    let by_ladder = rung_time(first_breach, step);
    let by_pace = state.escalated_at.and_then(|reached| {
        let before = reference.escalation_step(state.escalation_level)?;
        let gap = step.after_breach.saturating_sub(before.after_breach);
        Some(reached.plus_millis(i64::try_from(gap.as_millis()).unwrap_or(i64::MAX)))
    });
    Some(by_pace.map_or(by_ladder, |paced| paced.max(by_ladder)))
}

/// True when `state`'s next rung of the escalation ladder has come at `now` (see
/// [`next_rung_at`]).
pub fn rung_due(state: &CaseState, reference: &ReferenceData, now: Timestamp) -> bool {
    next_rung_at(state, reference).is_some_and(|at| at <= now)
}

/// The first recorded breach of an open case.
fn first_breach(state: &CaseState) -> Option<Timestamp> {
    if !state.status.is_some_and(CaseStatus::is_open) {
        return None;
    }
    state.deadline_breaches.iter().map(|(_, at)| *at).min()
}

fn rung_time(first_breach: Timestamp, step: &gridcase_config::EscalationStep) -> Timestamp {
    let after = i64::try_from(step.after_breach.as_millis()).unwrap_or(i64::MAX);
    first_breach.plus_millis(after)
}

/// Where `state` climbs next, to rung `escalation_level + 1` of the ladder: the lowest area
/// containing the case's grid (the grid itself included) at or above the rung's grid level
/// and above where it was escalated to before. With the sample ladder a case in a grid goes
/// to its own grid leader (网格长) at rung 1, one in a micro-grid to its grid's, then the
/// community, the street and the district. `None` past the ladder's top, above the district,
/// or for a case without a grid.
pub fn escalation_target(state: &CaseState, reference: &ReferenceData) -> Option<GridCode> {
    let grid = state.location.as_ref().and_then(Location::grid)?;
    let step = reference.escalation_step(state.escalation_level.checked_add(1)?)?;
    std::iter::once(grid).chain(grid.ancestors()).find(|area| {
        area.level() <= step.grid_level
            && state
                .escalated_to
                .as_ref()
                .is_none_or(|last| area.level() < last.level())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadlines::next_due;
    use crate::deadlines::tests::{at, emergency, HOUR_MS};
    use gridcase_domain::DeadlineStage;

    #[test]
    fn escalation_follows_the_ladder_up_the_grid_and_stops_at_the_top() {
        let reference = crate::testdata::sample();
        let at_level = |code: &str, level: u8, last: Option<&str>| {
            let grid = GridCode::parse(code).unwrap();
            let state = CaseState {
                location: Some(Location::new(Some(grid), None, None).unwrap()),
                escalation_level: level,
                escalated_to: last.map(|g| GridCode::parse(g).unwrap()),
                ..CaseState::default()
            };
            escalation_target(&state, reference).map(|g| g.to_string())
        };
        // A case in a micro-grid: rung 1 its grid (网格长), then community, street, district.
        let micro = "330102-001-001-001-01";
        assert_eq!(
            at_level(micro, 0, None).as_deref(),
            Some("330102-001-001-001")
        );
        assert_eq!(
            at_level(micro, 1, Some("330102-001-001-001")).as_deref(),
            Some("330102-001-001")
        );
        assert_eq!(
            at_level(micro, 3, Some("330102-001")).as_deref(),
            Some("330102")
        );
        assert_eq!(
            at_level(micro, 4, Some("330102")),
            None,
            "the ladder has 4 rungs"
        );
        // A case in a grid: its own grid leader first, then one level up per rung.
        let grid = "330102-001-001-001";
        assert_eq!(at_level(grid, 0, None).as_deref(), Some(grid));
        assert_eq!(
            at_level(grid, 1, Some(grid)).as_deref(),
            Some("330102-001-001")
        );
        assert_eq!(
            at_level(grid, 2, Some("330102-001-001")).as_deref(),
            Some("330102-001")
        );
        assert_eq!(
            at_level(grid, 3, Some("330102-001")).as_deref(),
            Some("330102")
        );
        // A case located only by its community: the community's leader answers at rung 1, the
        // street at rung 2 (rung 2's own level is taken), the district at rung 3, and then
        // nothing is above.
        let community = "330102-001-001";
        assert_eq!(at_level(community, 0, None).as_deref(), Some(community));
        assert_eq!(
            at_level(community, 1, Some(community)).as_deref(),
            Some("330102-001")
        );
        assert_eq!(
            at_level(community, 3, Some("330102")),
            None,
            "nothing above the district"
        );
        assert_eq!(escalation_target(&CaseState::default(), reference), None);
    }

    #[test]
    fn the_ladder_climbs_one_rung_at_a_time_at_its_pace() {
        let reference = crate::testdata::sample();
        let day = 24 * HOUR_MS;
        let grid = GridCode::parse("330102-001-001-001").unwrap();
        let mut state = emergency(CaseStatus::Accepted, 2 * HOUR_MS);
        state.location = Some(Location::new(Some(grid), None, None).unwrap());
        assert_eq!(next_rung_at(&state, reference), None, "no breach");
        assert!(!rung_due(&state, reference, at(10 * day)));
        state
            .deadline_breaches
            .push((DeadlineStage::Accept, at(HOUR_MS)));
        // Rungs after the first breach (1h): 0m (grid), 24h, 3d, 7d.
        assert_eq!(next_rung_at(&state, reference), Some(at(HOUR_MS)));
        assert!(rung_due(&state, reference, at(HOUR_MS)));
        assert_eq!(
            next_due(&state, reference),
            Some(at(HOUR_MS)),
            "escalate now"
        );
        state.escalation_level = 1;
        state.escalated_to = Some(grid);
        state.escalated_at = Some(at(HOUR_MS));
        state
            .deadline_warnings
            .push((DeadlineStage::Resolve, at(2 * HOUR_MS)));
        state
            .deadline_warnings
            .push((DeadlineStage::Close, at(24 * HOUR_MS)));
        // Next: the resolve deadline (2h), then the close deadline (24h), then rung 2 (25h).
        assert_eq!(next_due(&state, reference), Some(at(2 * HOUR_MS)));
        assert_eq!(next_rung_at(&state, reference), Some(at(HOUR_MS + day)));
        // Two more deadlines break: the case still waits for rung 2's time.
        state
            .deadline_breaches
            .push((DeadlineStage::Resolve, at(2 * HOUR_MS)));
        state
            .deadline_breaches
            .push((DeadlineStage::Close, at(24 * HOUR_MS)));
        assert!(!rung_due(&state, reference, at(HOUR_MS + day - 1)));
        assert!(rung_due(&state, reference, at(HOUR_MS + day)));
        // Rung 2 recorded 10 hours late (supervision was down): rung 3 keeps the ladder's gap
        // of 2 days after it, not 3 days after the breach.
        state.escalation_level = 2;
        state.escalated_to = Some(GridCode::parse("330102-001-001").unwrap());
        state.escalated_at = Some(at(HOUR_MS + day + 10 * HOUR_MS));
        assert_eq!(
            next_rung_at(&state, reference),
            Some(at(HOUR_MS + 3 * day + 10 * HOUR_MS))
        );
        // A rung recorded before escalations carried their moment follows the ladder alone.
        state.escalated_at = None;
        assert_eq!(next_rung_at(&state, reference), Some(at(HOUR_MS + 3 * day)));
        state.escalation_level = 4;
        state.escalated_to = Some(GridCode::parse("330102").unwrap());
        assert_eq!(next_rung_at(&state, reference), None, "the top rung");
        assert_eq!(next_due(&state, reference), None);
        state.escalation_level = 1;
        state.escalated_to = Some(grid);
        state.status = Some(CaseStatus::Closed);
        assert_eq!(next_rung_at(&state, reference), None, "closed");
    }
}
