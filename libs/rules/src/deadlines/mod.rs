//! Deadline timers derived from case state: which deadlines run, when each warns and breaches,
//! where a breach escalates to (`ladder`), and the colour of a case at a given time (`colour`).
//!
//! Nothing here is stored: timers are a function of the folded case state and the SLA policy,
//! so rebuilding the state from the store log rebuilds every timer. The caller passes the
//! time in: supervision fires timers with it, query colours its board with it.

use std::time::Duration;

use gridcase_config::{Calendar, HoursMode, ReferenceData};
use gridcase_domain::{CaseState, CaseStatus, DeadlineStage, Priority, Timestamp};

mod colour;
mod ladder;

pub use colour::{colour, Colour, ColourClock};
pub use ladder::{escalation_target, next_rung_at, rung_due};

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

#[cfg(test)]
pub(crate) mod tests;
