//! Times as the city reads them: milliseconds since the epoch shown in the centre's local time
//! (the calendar's UTC offset, Beijing time in the sample city), for pages (`2026-11-30 19:05`)
//! and for APIs (ISO 8601 with the offset, `2026-11-30T19:05:00+08:00`).

use gridcase_config::{Date, ReferenceData};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// A moment in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// The local date.
    pub date: Date,
    /// Milliseconds since local midnight.
    pub millis_of_day: i64,
    /// The offset from UTC in minutes.
    pub offset_minutes: i32,
}

impl LocalTime {
    /// `millis` since the epoch at `offset_minutes` east of UTC; `None` outside years 1–9999.
    pub fn at(millis: i64, offset_minutes: i32) -> Option<Self> {
        let local = millis.checked_add(i64::from(offset_minutes) * MINUTE_MS)?;
        Some(Self {
            date: Date::from_unix_days(local.div_euclid(DAY_MS))?,
            millis_of_day: local.rem_euclid(DAY_MS),
            offset_minutes,
        })
    }

    /// `millis` since the epoch in the city's local time.
    pub fn in_city(reference: &ReferenceData, millis: i64) -> Option<Self> {
        Self::at(millis, reference.calendar().utc_offset_minutes())
    }

    fn hms(&self) -> (i64, i64, i64) {
        let seconds = self.millis_of_day / 1000;
        (seconds / 3600, seconds / 60 % 60, seconds % 60)
    }

    /// `2026-11-30 19:05`, as pages show it.
    pub fn display(&self) -> String {
        let (hour, minute, _) = self.hms();
        format!(
            "{:04}-{:02}-{:02} {hour:02}:{minute:02}",
            self.date.year(),
            self.date.month(),
            self.date.day()
        )
    }

    /// `2026-11-30T19:05:00+08:00`: ISO 8601 with the offset.
    pub fn iso8601(&self) -> String {
        let (hour, minute, second) = self.hms();
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let offset = self.offset_minutes.unsigned_abs();
        format!(
            "{:04}-{:02}-{:02}T{hour:02}:{minute:02}:{second:02}{sign}{:02}:{:02}",
            self.date.year(),
            self.date.month(),
            self.date.day(),
            offset / 60,
            offset % 60
        )
    }

    /// The first moment of this local month, in milliseconds since the epoch.
    pub fn month_start_ms(&self) -> i64 {
        let first = Date::new(self.date.year(), self.date.month(), 1).unwrap_or(self.date);
        first.unix_days() * DAY_MS - i64::from(self.offset_minutes) * MINUTE_MS
    }
}

/// Pages' form of `millis` in the city's time; empty for 0 (no time).
pub fn display(reference: &ReferenceData, millis: i64) -> String {
    if millis == 0 {
        return String::new();
    }
    LocalTime::in_city(reference, millis).map_or_else(String::new, |t| t.display())
}

/// ISO 8601 of `millis` in the city's time; empty for 0 (no time).
pub fn iso8601(reference: &ReferenceData, millis: i64) -> String {
    if millis == 0 {
        return String::new();
    }
    LocalTime::in_city(reference, millis).map_or_else(String::new, |t| t.iso8601())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-30T11:05:09Z.
    const MOMENT: i64 = 1_796_036_709_000;

    #[test]
    fn beijing_time_is_shown_with_its_offset() {
        let local = LocalTime::at(MOMENT, 480).unwrap();
        assert_eq!(local.display(), "2026-11-30 19:05");
        assert_eq!(local.iso8601(), "2026-11-30T19:05:09+08:00");
        let late = LocalTime::at(MOMENT + 5 * 3_600_000, 480).unwrap();
        assert_eq!(
            late.iso8601(),
            "2026-12-01T00:05:09+08:00",
            "the local date rolls over"
        );
        let west = LocalTime::at(MOMENT, -330).unwrap();
        assert_eq!(west.iso8601(), "2026-11-30T05:35:09-05:30");
    }

    #[test]
    fn a_month_starts_at_local_midnight() {
        let local = LocalTime::at(MOMENT, 480).unwrap();
        let start = LocalTime::at(local.month_start_ms(), 480).unwrap();
        assert_eq!(start.iso8601(), "2026-11-01T00:00:00+08:00");
        let before = LocalTime::at(local.month_start_ms() - 1, 480).unwrap();
        assert_eq!(before.date.month(), 10);
    }
}
