//! Deadlines from a start instant and an SLA duration: plain addition in natural hours, a walk
//! through the calendar's working time in working hours. Pure: no clock, no I/O.

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
