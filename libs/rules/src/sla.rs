//! Deadlines from a start instant and an SLA duration: plain addition in natural hours, a walk
//! through the calendar's working time in working hours; and the way back from a deadline, for
//! warning points. Pure: no clock, no I/O.

use std::time::Duration;

use gridcase_config::{Calendar, Date, HoursMode, SlaPolicy};
use gridcase_domain::{DeadlineStage, Timestamp};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// The accept and resolve deadlines of a case reported at `reported_at` under `policy`, or
/// `None` for a stage whose deadline cannot be represented.
pub fn dispatch_deadlines(
    calendar: &Calendar,
    policy: &SlaPolicy,
    reported_at: Timestamp,
) -> (Option<Timestamp>, Option<Timestamp>) {
    let at = |stage| deadline(calendar, policy.hours, reported_at, policy.deadline(stage));
    (at(DeadlineStage::Accept), at(DeadlineStage::Resolve))
}

/// The instant `duration` after `start`, counting every hour (`Natural`) or only the
/// calendar's working hours on its working days (`Working`). `None` when the answer does not
/// fit a timestamp or the calendar has no working time left before the year 9999.
pub fn deadline(
    calendar: &Calendar,
    hours: HoursMode,
    start: Timestamp,
    duration: Duration,
) -> Option<Timestamp> {
    let duration_ms = i64::try_from(duration.as_millis()).ok()?;
    match hours {
        HoursMode::Natural => start
            .as_millis()
            .checked_add(duration_ms)
            .map(Timestamp::from_millis),
        HoursMode::Working => working_deadline(calendar, start, duration_ms),
    }
}

fn working_deadline(calendar: &Calendar, start: Timestamp, duration_ms: i64) -> Option<Timestamp> {
    let offset_ms = i64::from(calendar.utc_offset_minutes()) * MINUTE_MS;
    let day_start_ms = i64::from(calendar.start().minutes_since_midnight()) * MINUTE_MS;
    let day_end_ms = i64::from(calendar.end().minutes_since_midnight()) * MINUTE_MS;
    // Work in local time: `cursor` is local ms since the epoch.
    let mut cursor = start.as_millis().checked_add(offset_ms)?;
    let mut remaining = duration_ms;
    if remaining == 0 {
        return Some(start);
    }
    loop {
        let day = cursor.div_euclid(DAY_MS);
        let midnight = day * DAY_MS;
        if calendar.is_working_day(Date::from_unix_days(day)?) {
            let open = midnight + day_start_ms;
            let close = midnight + day_end_ms;
            let from = cursor.max(open);
            if from < close {
                let available = close - from;
                if remaining <= available {
                    return Some(Timestamp::from_millis(from + remaining - offset_ms));
                }
                remaining -= available;
            }
        }
        cursor = midnight + DAY_MS;
    }
}

/// The instant `duration` before `end`, counting every hour (`Natural`) or only the calendar's
/// working hours on its working days (`Working`): the inverse of [`deadline`]. In working hours
/// the answer lies in working time, at opening time rather than the previous closing time when
/// the count ends exactly there. `None` when the answer does not fit a timestamp or the calendar
/// has no working time left after the year 1.
pub fn count_back(
    calendar: &Calendar,
    hours: HoursMode,
    end: Timestamp,
    duration: Duration,
) -> Option<Timestamp> {
    let duration_ms = i64::try_from(duration.as_millis()).ok()?;
    match hours {
        HoursMode::Natural => end
            .as_millis()
            .checked_sub(duration_ms)
            .map(Timestamp::from_millis),
        HoursMode::Working => working_count_back(calendar, end, duration_ms),
    }
}

fn working_count_back(calendar: &Calendar, end: Timestamp, duration_ms: i64) -> Option<Timestamp> {
    let offset_ms = i64::from(calendar.utc_offset_minutes()) * MINUTE_MS;
    let day_start_ms = i64::from(calendar.start().minutes_since_midnight()) * MINUTE_MS;
    let day_end_ms = i64::from(calendar.end().minutes_since_midnight()) * MINUTE_MS;
    if duration_ms == 0 {
        return Some(end);
    }
    // Work in local time: `until` is local ms since the epoch, the latest moment of `day` that
    // still counts.
    let mut until = end.as_millis().checked_add(offset_ms)?;
    let mut day = until.div_euclid(DAY_MS);
    let mut remaining = duration_ms;
    loop {
        let midnight = day * DAY_MS;
        if calendar.is_working_day(Date::from_unix_days(day)?) {
            let open = midnight + day_start_ms;
            let to = until.min(midnight + day_end_ms);
            if to > open {
                let available = to - open;
                if remaining <= available {
                    return Some(Timestamp::from_millis(to - remaining - offset_ms));
                }
                remaining -= available;
            }
        }
        until = midnight;
        day -= 1;
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use gridcase_config::ReferenceData;

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn calendar() -> Calendar {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config");
        ReferenceData::load(&dir)
            .expect("the sample reference data loads")
            .calendar()
            .clone()
    }

    /// Beijing local time (the sample calendar's offset, +08:00) as a timestamp.
    fn local(year: u16, month: u8, day: u8, hour: i64, minute: i64) -> Timestamp {
        let days = Date::new(year, month, day).unwrap().unix_days();
        Timestamp::from_millis(days * DAY_MS + (hour * 60 + minute - 8 * 60) * MINUTE_MS)
    }

    fn working(start: Timestamp, duration: Duration) -> Timestamp {
        deadline(&calendar(), HoursMode::Working, start, duration).unwrap()
    }

    #[test]
    fn natural_hours_are_plain_addition() {
        let start = local(2026, 11, 20, 17, 0);
        assert_eq!(
            deadline(&calendar(), HoursMode::Natural, start, HOUR),
            Some(start.plus_millis(3_600_000))
        );
        let start = local(2026, 10, 1, 3, 0);
        assert_eq!(
            deadline(&calendar(), HoursMode::Natural, start, 7 * 24 * HOUR),
            Some(start.plus_millis(7 * DAY_MS))
        );
    }

    #[test]
    fn friday_evening_runs_into_monday_morning() {
        // 2026-11-20 is a Friday.
        assert_eq!(
            working(local(2026, 11, 20, 17, 0), HOUR),
            local(2026, 11, 23, 9, 30)
        );
    }

    #[test]
    fn inside_one_working_day_it_is_addition() {
        assert_eq!(
            working(local(2026, 11, 18, 10, 15), 2 * HOUR),
            local(2026, 11, 18, 12, 15)
        );
        // Exactly filling the day ends at closing time, not the next morning.
        assert_eq!(
            working(local(2026, 11, 18, 16, 30), HOUR),
            local(2026, 11, 18, 17, 30)
        );
    }

    #[test]
    fn before_opening_and_on_weekends_the_clock_waits() {
        assert_eq!(
            working(local(2026, 11, 18, 6, 0), HOUR),
            local(2026, 11, 18, 10, 0)
        );
        // Saturday night report, one working day (8h30m) → Monday closing time.
        assert_eq!(
            working(
                local(2026, 11, 21, 22, 0),
                Duration::from_secs(8 * 3600 + 1800)
            ),
            local(2026, 11, 23, 17, 30)
        );
    }

    #[test]
    fn holidays_are_skipped() {
        // 2026-09-30 is a Wednesday; 10-01 to 10-07 is the National Day holiday.
        assert_eq!(
            working(local(2026, 9, 30, 17, 0), HOUR),
            local(2026, 10, 8, 9, 30)
        );
    }

    #[test]
    fn make_up_workdays_count() {
        // 2026-10-09 is a Friday and 10-10 a Saturday worked to make up for the holiday.
        assert_eq!(
            working(local(2026, 10, 9, 17, 0), HOUR),
            local(2026, 10, 10, 9, 30)
        );
    }

    #[test]
    fn a_zero_duration_is_the_start() {
        let start = local(2026, 11, 21, 22, 0);
        assert_eq!(working(start, Duration::ZERO), start);
    }

    fn back(end: Timestamp, duration: Duration) -> Timestamp {
        count_back(&calendar(), HoursMode::Working, end, duration).unwrap()
    }

    #[test]
    fn counting_back_in_natural_hours_is_subtraction() {
        let end = local(2026, 11, 23, 10, 0);
        assert_eq!(
            count_back(&calendar(), HoursMode::Natural, end, 2 * HOUR),
            Some(local(2026, 11, 23, 8, 0))
        );
        assert_eq!(
            count_back(
                &calendar(),
                HoursMode::Natural,
                Timestamp::from_millis(i64::MIN + 1),
                HOUR
            ),
            None
        );
    }

    #[test]
    fn counting_back_in_working_hours_skips_nights_weekends_and_holidays() {
        // Monday 10:00 back 2h: one hour on Monday morning, one on Friday afternoon.
        assert_eq!(
            back(local(2026, 11, 23, 10, 0), 2 * HOUR),
            local(2026, 11, 20, 16, 30)
        );
        // Inside one working day it is subtraction; an end after closing counts from closing.
        assert_eq!(
            back(local(2026, 11, 18, 12, 15), 2 * HOUR),
            local(2026, 11, 18, 10, 15)
        );
        assert_eq!(
            back(local(2026, 11, 18, 22, 0), HOUR),
            local(2026, 11, 18, 16, 30)
        );
        // Exactly emptying a day ends at its opening, not the evening before.
        assert_eq!(
            back(local(2026, 11, 18, 10, 0), HOUR),
            local(2026, 11, 18, 9, 0)
        );
        // Thursday 2026-10-08 10:00 back 2h: over the National Day holiday (10-01 to 10-07)
        // to Wednesday 09-30.
        assert_eq!(
            back(local(2026, 10, 8, 10, 0), 2 * HOUR),
            local(2026, 9, 30, 16, 30)
        );
        // Sunday 2026-10-11 back 1h: the make-up Saturday 10-10 counts.
        assert_eq!(
            back(local(2026, 10, 11, 12, 0), HOUR),
            local(2026, 10, 10, 16, 30)
        );
        let start = local(2026, 11, 21, 22, 0);
        assert_eq!(back(start, Duration::ZERO), start);
    }

    #[test]
    fn counting_back_undoes_a_working_deadline() {
        let day = Duration::from_secs(8 * 3600 + 1800);
        for start in [
            local(2026, 11, 18, 9, 0),
            local(2026, 11, 20, 14, 45),
            local(2026, 9, 30, 11, 0),
            local(2026, 10, 9, 17, 0),
        ] {
            for duration in [Duration::from_secs(60), HOUR, 3 * HOUR, day, 7 * day] {
                let end = working(start, duration);
                assert_eq!(back(end, duration), start, "{start:?} {duration:?}");
            }
        }
    }

    #[test]
    fn dispatch_deadlines_follow_the_policy() {
        let reference = ReferenceData::load(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config"),
        )
        .unwrap();
        let policy = reference.sla_for(gridcase_domain::Priority::Normal, None);
        let start = local(2026, 11, 20, 17, 0);
        let (accept, resolve) = dispatch_deadlines(reference.calendar(), &policy, start);
        // Normal: accept within one working day, resolve within seven, in working hours.
        assert_eq!(accept, Some(local(2026, 11, 23, 17, 0)));
        assert_eq!(resolve, Some(local(2026, 12, 1, 17, 0)));
    }
}
