//! The timers' rules on the sample city: which deadlines run, when they warn and fall due.

use super::*;

pub(super) fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

pub(super) const HOUR_MS: i64 = 3_600_000;

/// An emergency case (natural hours: resolve 2h, close 24h) reported at 0.
pub(super) fn emergency(status: CaseStatus, resolve_deadline: i64) -> CaseState {
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
