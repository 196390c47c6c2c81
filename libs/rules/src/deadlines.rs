//! Deadline timers derived from case state: which deadlines run, when each warns and breaches,
//! where a breach escalates to, and the colour of a case at a given time.
//!
//! Nothing here is stored: timers are a function of the folded case state and the SLA policy,
//! so rebuilding the state from the store log rebuilds every timer. The caller passes the
//! time in: supervision fires timers with it, query colours its board with it.

use std::time::Duration;

use gridcase_config::{Calendar, HoursMode, ReferenceData};
use gridcase_domain::{
    CaseState, CaseStatus, DeadlineStage, GridCode, Location, Priority, Timestamp,
};
use serde::{Deserialize, Serialize};

/// One running deadline of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timer {
    /// Which deadline.
    pub stage: DeadlineStage,
    /// When it falls due.
    pub deadline: Timestamp,
    /// When it warns: `deadline − (1 − warn_at) × the stage's duration`, counted back on the
    /// deadline's clock (working time for a working-hours policy, natural time for a natural
    /// one and for triage), and never before the case was reported. See [`warn_point`].
    pub warn_at: Timestamp,
}

/// What a timer asks for at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Nothing yet.
    Nothing,
    /// The warning point passed and no warning is recorded.
    Warn,
    /// The deadline passed and no breach is recorded.
    Breach,
}

/// The deadlines of `state` that are running: accept while dispatched; resolve while
/// dispatched or accepted; report-in while dispatched or accepted and a department called by a
/// whistle has not reported in; close from the first dispatch until the case is closed
/// (through resolution and verification); triage while a case awaits an operator in the
/// manual queue (a flagged emergency in minutes, any other in the `[manual]` policy's time).
/// A case the rules have not yet looked at, and a closed, merged or rejected one, has none.
pub fn running(state: &CaseState, reference: &ReferenceData) -> Vec<Timer> {
    let Some(reported_at) = state.reported_at else {
        return Vec::new();
    };
    let policy = reference.sla_for(
        state.priority.unwrap_or(Priority::Normal),
        state.category.as_ref(),
    );
    let calendar = reference.calendar();
    let timer = |stage, deadline: Timestamp| Timer {
        stage,
        deadline,
        warn_at: warn_point(
            calendar,
            policy.hours,
            reported_at,
            deadline,
            policy.warn_before(stage),
        ),
    };
    let close = || close_deadline(state, reference).map(|d| timer(DeadlineStage::Close, d));
    // While a department called by a whistle has not reported in.
    let report_in = || {
        let called = state.report_in.as_ref()?;
        called.pending().next()?;
        let within = called.deadline.millis_since(&called.called_at).max(0);
        let within = Duration::from_millis(within.cast_unsigned());
        Some(Timer {
            stage: DeadlineStage::ReportIn,
            deadline: called.deadline,
            warn_at: warn_point(
                calendar,
                HoursMode::Natural,
                called.called_at,
                called.deadline,
                reference.report_in_policy().warn_before(within),
            ),
        })
    };
    let mut timers = Vec::new();
    match state.status {
        Some(CaseStatus::Dispatched) => {
            if let Some(deadline) = state.accept_deadline {
                timers.push(timer(DeadlineStage::Accept, deadline));
            }
            timers.extend(report_in());
            if let Some(deadline) = state.resolve_deadline {
                timers.push(timer(DeadlineStage::Resolve, deadline));
            }
            timers.extend(close());
        }
        Some(CaseStatus::Accepted) => {
            if let Some(deadline) = state.resolve_deadline {
                timers.push(timer(DeadlineStage::Resolve, deadline));
            }
            timers.extend(report_in());
            timers.extend(close());
        }
        Some(CaseStatus::Resolved | CaseStatus::Verified) => timers.extend(close()),
        Some(CaseStatus::Reported) => {
            if let Some(deadline) = state.triage_deadline {
                // A flagged emergency's deadline, or the manual queue's.
                let policy = if state.priority == Some(Priority::Emergency) {
                    reference.danger_policy()
                } else {
                    reference.manual_policy()
                };
                timers.push(Timer {
                    stage: DeadlineStage::Triage,
                    deadline,
                    warn_at: warn_point(
                        calendar,
                        HoursMode::Natural,
                        reported_at,
                        deadline,
                        policy.warn_before(),
                    ),
                });
            }
        }
        _ => {}
    }
    timers
}

/// When `state` must be closed: the SLA's close duration from the report (in the policy's
/// natural or working hours), moved later by as much as an approved postponement moved the
/// resolve deadline. `None` before the case is reported or dispatched.
pub fn close_deadline(state: &CaseState, reference: &ReferenceData) -> Option<Timestamp> {
    let reported_at = state.reported_at?;
    let resolve_deadline = state.resolve_deadline?;
    let policy = reference.sla_for(
        state.priority.unwrap_or(Priority::Normal),
        state.category.as_ref(),
    );
    let at = |stage| {
        crate::sla::deadline(
            reference.calendar(),
            policy.hours,
            reported_at,
            policy.deadline(stage),
        )
    };
    let close = at(DeadlineStage::Close)?;
    let postponed_by = at(DeadlineStage::Resolve)
        .map_or(0, |planned| resolve_deadline.millis_since(&planned).max(0));
    Some(close.plus_millis(postponed_by))
}

/// When a deadline warns: `lead` before `deadline` on the deadline's clock (`hours`: through
/// the calendar's working time for a working-hours deadline, so the warning never falls at
/// night, on a weekend or on a holiday; plain subtraction for a natural one), but not before
/// `reported_at`, when the clock started. The lead is the policy's
/// [`warn_before`](gridcase_config::SlaPolicy::warn_before) of the stage, so a deadline set
/// anew by a re-dispatch or a postponement warns as long before it as one counted from the
/// report.
pub fn warn_point(
    calendar: &Calendar,
    hours: HoursMode,
    reported_at: Timestamp,
    deadline: Timestamp,
    lead: Duration,
) -> Timestamp {
    crate::sla::count_back(calendar, hours, deadline, lead)
        .map_or(reported_at, |warn| warn.max(reported_at))
}

/// What `timer` of `state` asks for at `now`, given what is already recorded.
pub fn due(state: &CaseState, timer: &Timer, now: Timestamp) -> Due {
    let key = (timer.stage, timer.deadline);
    if now >= timer.deadline && !state.deadline_breaches.contains(&key) {
        Due::Breach
    } else if now >= timer.warn_at
        && now < timer.deadline
        && !state.deadline_warnings.contains(&key)
        && !state.deadline_breaches.contains(&key)
    {
        Due::Warn
    } else {
        Due::Nothing
    }
}

/// The next instant at which supervision has something to do for `state` — a warning point,
/// a deadline, or a rung of the escalation ladder (now, for a breach not yet escalated) — or
/// `None` if nothing ever will as the case stands. Supervision schedules cases by it instead
/// of looking at every case each tick.
pub fn next_due(state: &CaseState, reference: &ReferenceData) -> Option<Timestamp> {
    let timers = running(state, reference).into_iter().filter_map(|timer| {
        let key = (timer.stage, timer.deadline);
        if state.deadline_breaches.contains(&key) {
            None
        } else if state.deadline_warnings.contains(&key) {
            Some(timer.deadline)
        } else {
            Some(timer.warn_at)
        }
    });
    timers.chain(next_rung_at(state, reference)).min()
}

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

/// A case's standing against its deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Colour {
    /// Nothing near, past, warned or breached.
    #[default]
    Green,
    /// Warned (or at a warning point), not breached.
    Yellow,
    /// Breached (or past a running deadline).
    Red,
}

impl Colour {
    /// Every colour, best first.
    pub const ALL: [Colour; 3] = [Colour::Green, Colour::Yellow, Colour::Red];

    /// `"green"`, `"yellow"` or `"red"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Yellow => "yellow",
            Colour::Red => "red",
        }
    }

    /// Parses `"green"`, `"yellow"` or `"red"`.
    pub fn parse(text: &str) -> Option<Colour> {
        Colour::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// The colour of `state` at `now`: red if a breach is recorded or a running deadline has
/// passed; yellow if a warning is recorded or a running deadline reached its warning point;
/// green otherwise.
pub fn colour(state: &CaseState, reference: &ReferenceData, now: Timestamp) -> Colour {
    ColourClock::of(state, reference).at(now)
}

/// A case's colour as a function of time until its next event: the colour its recorded
/// warnings and breaches give it, turning yellow at its earliest running warning point and red
/// at its earliest running deadline. Worked out once per event, it answers [`colour`] for any
/// moment with two comparisons.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColourClock {
    recorded: Colour,
    yellow_at: Option<Timestamp>,
    red_at: Option<Timestamp>,
}

impl ColourClock {
    /// The clock of `state` under `reference`'s SLA policies.
    pub fn of(state: &CaseState, reference: &ReferenceData) -> Self {
        let recorded = if !state.deadline_breaches.is_empty() {
            Colour::Red
        } else if !state.deadline_warnings.is_empty() {
            Colour::Yellow
        } else {
            Colour::Green
        };
        let timers = running(state, reference);
        Self {
            recorded,
            yellow_at: timers.iter().map(|t| t.warn_at).min(),
            red_at: timers.iter().map(|t| t.deadline).min(),
        }
    }

    /// The colour at `now`.
    pub fn at(&self, now: Timestamp) -> Colour {
        let passed = |moment: Option<Timestamp>| moment.is_some_and(|m| now >= m);
        if self.recorded == Colour::Red || passed(self.red_at) {
            Colour::Red
        } else if self.recorded == Colour::Yellow || passed(self.yellow_at) {
            Colour::Yellow
        } else {
            Colour::Green
        }
    }

    /// The first moment after `now` at which [`ColourClock::at`] gives another colour; `None`
    /// if it stays as it is until the case's next event.
    pub fn next_change(&self, now: Timestamp) -> Option<Timestamp> {
        let ahead = |moment: Option<Timestamp>| moment.filter(|m| *m > now);
        match self.at(now) {
            Colour::Red => None,
            Colour::Yellow => ahead(self.red_at),
            Colour::Green => [ahead(self.yellow_at), ahead(self.red_at)]
                .into_iter()
                .flatten()
                .min(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    const HOUR_MS: i64 = 3_600_000;

    /// An emergency case (natural hours: resolve 2h, close 24h) reported at 0.
    fn emergency(status: CaseStatus, resolve_deadline: i64) -> CaseState {
        CaseState {
            reported_at: Some(at(0)),
            priority: Some(Priority::Emergency),
            status: Some(status),
            accept_deadline: Some(at(HOUR_MS)),
            resolve_deadline: Some(at(resolve_deadline)),
            ..CaseState::default()
        }
    }

    fn stages(state: &CaseState) -> Vec<(DeadlineStage, Timestamp)> {
        running(state, crate::testdata::sample())
            .iter()
            .map(|t| (t.stage, t.deadline))
            .collect()
    }

    #[test]
    fn the_close_deadline_runs_from_dispatch_until_closing() {
        use DeadlineStage::{Accept, Close, Resolve};
        let close = at(24 * HOUR_MS);
        assert_eq!(
            stages(&emergency(CaseStatus::Dispatched, 2 * HOUR_MS)),
            [
                (Accept, at(HOUR_MS)),
                (Resolve, at(2 * HOUR_MS)),
                (Close, close)
            ]
        );
        assert_eq!(
            stages(&emergency(CaseStatus::Accepted, 2 * HOUR_MS)),
            [(Resolve, at(2 * HOUR_MS)), (Close, close)]
        );
        for waiting in [CaseStatus::Resolved, CaseStatus::Verified] {
            assert_eq!(stages(&emergency(waiting, 2 * HOUR_MS)), [(Close, close)]);
        }
        for idle in [
            CaseStatus::Reported,
            CaseStatus::Closed,
            CaseStatus::Merged,
            CaseStatus::Rejected,
        ] {
            assert_eq!(stages(&emergency(idle, 2 * HOUR_MS)), []);
        }
        // A postponement of the resolve deadline by 3h moves closing by 3h.
        assert_eq!(
            close_deadline(
                &emergency(CaseStatus::Accepted, 5 * HOUR_MS),
                crate::testdata::sample()
            ),
            Some(at(27 * HOUR_MS))
        );
    }

    #[test]
    fn the_next_due_instant_follows_what_is_recorded() {
        let reference = crate::testdata::sample();
        // Emergency: warn at half of each deadline, accept 1h, resolve 2h, close 24h.
        let mut state = emergency(CaseStatus::Dispatched, 2 * HOUR_MS);
        assert_eq!(next_due(&state, reference), Some(at(HOUR_MS / 2)));
        state
            .deadline_warnings
            .push((DeadlineStage::Accept, at(HOUR_MS)));
        assert_eq!(
            next_due(&state, reference),
            Some(at(HOUR_MS)),
            "resolve warns at 1h too"
        );
        state
            .deadline_warnings
            .push((DeadlineStage::Resolve, at(2 * HOUR_MS)));
        assert_eq!(next_due(&state, reference), Some(at(HOUR_MS)));
        state
            .deadline_breaches
            .push((DeadlineStage::Accept, at(HOUR_MS)));
        // Breached without a grid to escalate to: nothing more for that timer.
        assert_eq!(next_due(&state, reference), Some(at(2 * HOUR_MS)));
        state.status = Some(CaseStatus::Closed);
        assert_eq!(next_due(&state, reference), None);
    }

    const MINUTE_MS: i64 = 60_000;

    /// Beijing local time (the sample calendar's offset, +08:00) as a timestamp.
    fn local(year: u16, month: u8, day: u8, hour: i64, minute: i64) -> Timestamp {
        let days = gridcase_config::Date::new(year, month, day)
            .unwrap()
            .unix_days();
        at(days * 24 * HOUR_MS + (hour * 60 + minute - 8 * 60) * MINUTE_MS)
    }

    /// A policy of `hours` with every deadline `duration` long, warning at `warn_at`.
    fn uniform(hours: HoursMode, duration: Duration, warn_at: f64) -> gridcase_config::SlaPolicy {
        gridcase_config::SlaPolicy {
            accept: duration,
            resolve: duration,
            close: duration,
            hours,
            warn_at,
        }
    }

    const FOUR_HOURS: Duration = Duration::from_secs(4 * 3600);

    #[test]
    fn a_working_hours_deadline_warns_in_working_time() {
        let calendar = crate::testdata::sample().calendar();
        let policy = uniform(HoursMode::Working, FOUR_HOURS, 0.5);
        let lead = policy.warn_before(DeadlineStage::Accept);
        assert_eq!(lead, Duration::from_secs(2 * 3600));
        // Four working hours before Monday 2026-11-23 10:00 is Friday 14:30 (09:00–17:30).
        let reported_at = local(2026, 11, 20, 14, 30);
        let deadline = local(2026, 11, 23, 10, 0);
        assert_eq!(
            crate::sla::deadline(calendar, HoursMode::Working, reported_at, FOUR_HOURS),
            Some(deadline)
        );
        // Two working hours back: Monday 09:00–10:00, then Friday 16:30–17:30; not half the
        // natural span, which would fall at Saturday 00:15.
        assert_eq!(
            warn_point(calendar, HoursMode::Working, reported_at, deadline, lead),
            local(2026, 11, 20, 16, 30)
        );
    }

    #[test]
    fn a_natural_deadline_warns_the_lead_before_it() {
        let calendar = crate::testdata::sample().calendar();
        let policy = uniform(HoursMode::Natural, FOUR_HOURS, 0.5);
        let lead = policy.warn_before(DeadlineStage::Resolve);
        let reported_at = local(2026, 11, 20, 14, 30);
        let deadline = local(2026, 11, 20, 18, 30);
        assert_eq!(
            warn_point(calendar, HoursMode::Natural, reported_at, deadline, lead),
            local(2026, 11, 20, 16, 30)
        );
        // Counted from the report, it is the old fraction of the span, to the millisecond.
        let odd = uniform(HoursMode::Natural, Duration::from_millis(1_001), 0.75);
        assert_eq!(
            warn_point(
                calendar,
                HoursMode::Natural,
                at(1_000),
                at(2_001),
                odd.warn_before(DeadlineStage::Accept)
            ),
            at(1_750)
        );
        // A deadline over a weekend warns in the night if the clock is natural.
        let deadline = local(2026, 11, 23, 2, 0);
        assert_eq!(
            warn_point(calendar, HoursMode::Natural, reported_at, deadline, lead),
            local(2026, 11, 23, 0, 0)
        );
    }

    #[test]
    fn a_holiday_between_warning_and_deadline_is_skipped() {
        let calendar = crate::testdata::sample().calendar();
        let lead = uniform(HoursMode::Working, FOUR_HOURS, 0.5).warn_before(DeadlineStage::Close);
        // Thursday 2026-10-08 10:00, after the National Day holiday (10-01 to 10-07): the warning
        // falls on Wednesday 09-30 at 16:30, before the holiday.
        let deadline = local(2026, 10, 8, 10, 0);
        let reported_at = local(2026, 9, 30, 15, 0);
        assert_eq!(
            warn_point(calendar, HoursMode::Working, reported_at, deadline, lead),
            local(2026, 9, 30, 16, 30)
        );
        // Never before the clock started: reported at 17:00, it warns at the report.
        let reported_at = local(2026, 9, 30, 17, 0);
        assert_eq!(
            warn_point(calendar, HoursMode::Working, reported_at, deadline, lead),
            reported_at
        );
        // Nor in the natural case, nor for a deadline before the report.
        assert_eq!(
            warn_point(calendar, HoursMode::Natural, at(1_000), at(1_500), lead),
            at(1_000)
        );
        assert_eq!(
            warn_point(calendar, HoursMode::Natural, at(1_000), at(500), lead),
            at(1_000)
        );
    }

    fn warnings(state: &CaseState) -> Vec<(DeadlineStage, Timestamp, Timestamp)> {
        running(state, crate::testdata::sample())
            .iter()
            .map(|t| (t.stage, t.deadline, t.warn_at))
            .collect()
    }

    #[test]
    fn running_timers_of_a_normal_case_warn_in_working_hours() {
        use DeadlineStage::{Accept, Close, Resolve};
        // Normal: accept 1d, resolve 7d, close 10d in working hours (8h30m a day), warned at
        // 0.8, i.e. 1h42m, 11h54m and 17h before each deadline. Reported Friday 17:00.
        let mut state = CaseState {
            reported_at: Some(local(2026, 11, 20, 17, 0)),
            priority: Some(Priority::Normal),
            status: Some(CaseStatus::Dispatched),
            accept_deadline: Some(local(2026, 11, 23, 17, 0)),
            resolve_deadline: Some(local(2026, 12, 1, 17, 0)),
            ..CaseState::default()
        };
        assert_eq!(
            warnings(&state),
            [
                (
                    Accept,
                    local(2026, 11, 23, 17, 0),
                    local(2026, 11, 23, 15, 18)
                ),
                (
                    Resolve,
                    local(2026, 12, 1, 17, 0),
                    local(2026, 11, 30, 13, 36)
                ),
                (Close, local(2026, 12, 4, 17, 0), local(2026, 12, 2, 17, 0)),
            ]
        );
        // The resolve deadline postponed by three days to Friday 12-04 17:00 (and closing with
        // it, to Monday 12-07 17:00): both warnings keep their lead before the new deadlines.
        state.status = Some(CaseStatus::Accepted);
        state.resolve_deadline = Some(local(2026, 12, 4, 17, 0));
        assert_eq!(
            warnings(&state),
            [
                (
                    Resolve,
                    local(2026, 12, 4, 17, 0),
                    local(2026, 12, 3, 13, 36)
                ),
                (Close, local(2026, 12, 7, 17, 0), local(2026, 12, 3, 17, 0)),
            ]
        );
    }

    #[test]
    fn fresh_deadlines_after_a_re_dispatch_warn_before_themselves() {
        use DeadlineStage::{Accept, Close, Resolve};
        // An emergency case (natural: accept 1h, resolve 2h, close 24h, warned at half time)
        // reported at 0 and re-dispatched at 10h: fresh accept and resolve deadlines from 10h.
        let mut state = emergency(CaseStatus::Dispatched, 12 * HOUR_MS);
        state.accept_deadline = Some(at(11 * HOUR_MS));
        assert_eq!(
            warnings(&state),
            [
                (Accept, at(11 * HOUR_MS), at(21 * HOUR_MS / 2)),
                (Resolve, at(12 * HOUR_MS), at(11 * HOUR_MS)),
                // Closing moved with the resolve deadline, by 10h, to 34h.
                (Close, at(34 * HOUR_MS), at(22 * HOUR_MS)),
            ]
        );
    }

    #[test]
    fn the_triage_deadline_warns_in_natural_time() {
        // The sample's danger policy: triage within 10m, warned at half time. Flagged on a
        // Saturday night (flagging makes the case an emergency), it warns 5 minutes before the
        // deadline all the same.
        let reported_at = local(2026, 11, 21, 23, 0);
        let mut state = CaseState {
            reported_at: Some(reported_at),
            priority: Some(Priority::Emergency),
            status: Some(CaseStatus::Reported),
            triage_deadline: Some(reported_at.plus_millis(10 * MINUTE_MS)),
            ..CaseState::default()
        };
        assert_eq!(
            warnings(&state),
            [(
                DeadlineStage::Triage,
                reported_at.plus_millis(10 * MINUTE_MS),
                reported_at.plus_millis(5 * MINUTE_MS)
            )]
        );
        // Any other case left in the manual queue: the `[manual]` policy, 2h warned at half
        // time, at night too.
        state.priority = None;
        state.triage_deadline = Some(reported_at.plus_millis(120 * MINUTE_MS));
        assert_eq!(
            warnings(&state),
            [(
                DeadlineStage::Triage,
                reported_at.plus_millis(120 * MINUTE_MS),
                reported_at.plus_millis(60 * MINUTE_MS)
            )]
        );
    }

    #[test]
    fn due_follows_time_and_what_is_recorded() {
        let timer = Timer {
            stage: DeadlineStage::Accept,
            deadline: at(2_000),
            warn_at: at(1_500),
        };
        let mut state = CaseState::default();
        assert_eq!(due(&state, &timer, at(1_499)), Due::Nothing);
        assert_eq!(due(&state, &timer, at(1_500)), Due::Warn);
        state
            .deadline_warnings
            .push((DeadlineStage::Accept, at(2_000)));
        assert_eq!(due(&state, &timer, at(1_600)), Due::Nothing);
        assert_eq!(due(&state, &timer, at(2_000)), Due::Breach);
        state
            .deadline_breaches
            .push((DeadlineStage::Accept, at(2_000)));
        assert_eq!(due(&state, &timer, at(9_000)), Due::Nothing);
    }

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
