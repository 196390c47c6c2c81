//! Dates, office hours and the holiday calendar that working-hour deadlines
//! count against, plus the duration text used throughout the files.
//!
//! Only calendar arithmetic lives here; nothing reads a clock.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use gridcase_domain::Timestamp;

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weekday {
    /// 周一.
    Monday,
    /// 周二.
    Tuesday,
    /// 周三.
    Wednesday,
    /// 周四.
    Thursday,
    /// 周五.
    Friday,
    /// 周六.
    Saturday,
    /// 周日.
    Sunday,
}

impl Weekday {
    /// Every day, Monday first.
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// The three-letter name used in the files: `mon` … `sun`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Weekday::Monday => "mon",
            Weekday::Tuesday => "tue",
            Weekday::Wednesday => "wed",
            Weekday::Thursday => "thu",
            Weekday::Friday => "fri",
            Weekday::Saturday => "sat",
            Weekday::Sunday => "sun",
        }
    }

    /// Parses the three-letter name.
    pub fn parse(s: &str) -> Option<Weekday> {
        Self::ALL.into_iter().find(|day| day.as_str() == s)
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A calendar date (proleptic Gregorian), years 1 to 9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// Builds a date, or `None` if it does not exist (`2025-02-29`).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    /// The year.
    pub const fn year(self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    pub const fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1 to 31.
    pub const fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before).
    pub fn unix_days(self) -> i64 {
        // Howard Hinnant's days_from_civil, with March as the first month so
        // that the leap day falls at the end of the year.
        let month = i64::from(self.month);
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let shifted_month = (month + 9) % 12;
        let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` after 1970-01-01, or `None` outside years 1 to 9999.
    pub fn from_unix_days(days: i64) -> Option<Date> {
        let days = days.checked_add(719_468)?;
        let era = days.div_euclid(146_097);
        let day_of_era = days - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Date::new(
            u16::try_from(year).ok()?,
            u8::try_from(month).ok()?,
            u8::try_from(day).ok()?,
        )
    }

    /// The day of the week.
    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday, index 3 counting from Monday.
        let index = (self.unix_days() + 3).rem_euclid(7);
        Weekday::ALL[index as usize]
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A wall-clock time of day to the minute, `00:00` to `23:59`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeOfDay {
    minutes: u16,
}

impl TimeOfDay {
    /// Builds a time, or `None` if the hour or minute is out of range.
    pub fn new(hour: u8, minute: u8) -> Option<TimeOfDay> {
        (hour < 24 && minute < 60).then(|| TimeOfDay {
            minutes: u16::from(hour) * 60 + u16::from(minute),
        })
    }

    /// Parses `HH:MM`.
    pub fn parse(s: &str) -> Option<TimeOfDay> {
        let (hour, minute) = s.split_once(':')?;
        let two_digits = |part: &str| {
            (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse::<u8>().ok())
                .flatten()
        };
        TimeOfDay::new(two_digits(hour)?, two_digits(minute)?)
    }

    /// The hour, 0 to 23.
    pub const fn hour(self) -> u8 {
        (self.minutes / 60) as u8
    }

    /// The minute, 0 to 59.
    pub const fn minute(self) -> u8 {
        (self.minutes % 60) as u8
    }

    /// Minutes since midnight.
    pub const fn minutes_since_midnight(self) -> u16 {
        self.minutes
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

/// Whether a deadline counts every hour or only office hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HoursMode {
    /// 自然时: the clock runs day and night, weekends and holidays included.
    Natural,
    /// 工作时: the clock runs only inside [`Calendar`] working hours.
    Working,
}

impl HoursMode {
    /// The name used in the files: `natural` or `working`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HoursMode::Natural => "natural",
            HoursMode::Working => "working",
        }
    }

    /// Parses the name used in the files.
    pub fn parse(s: &str) -> Option<HoursMode> {
        [HoursMode::Natural, HoursMode::Working]
            .into_iter()
            .find(|mode| mode.as_str() == s)
    }
}

impl fmt::Display for HoursMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Office hours and the holiday calendar that working-hour deadlines use.
///
/// China moves working days around public holidays (调休), so a weekend can
/// be a working day: [`Calendar::make_up_workdays`] lists those.
#[derive(Clone, Debug, PartialEq)]
pub struct Calendar {
    pub(crate) utc_offset_minutes: i32,
    pub(crate) working_days: BTreeSet<Weekday>,
    pub(crate) start: TimeOfDay,
    pub(crate) end: TimeOfDay,
    pub(crate) holidays: BTreeSet<Date>,
    pub(crate) make_up_workdays: BTreeSet<Date>,
}

impl Calendar {
    /// The centre's local time as minutes east of UTC (480 for Beijing time).
    pub const fn utc_offset_minutes(&self) -> i32 {
        self.utc_offset_minutes
    }

    /// The regular working days of the week.
    pub fn working_days(&self) -> &BTreeSet<Weekday> {
        &self.working_days
    }

    /// When the working day starts, local time.
    pub const fn start(&self) -> TimeOfDay {
        self.start
    }

    /// When the working day ends, local time.
    pub const fn end(&self) -> TimeOfDay {
        self.end
    }

    /// How long one working day is; a working-hours deadline written in days
    /// (`7d`) is that many of these.
    pub fn working_day_length(&self) -> Duration {
        let minutes = self.end.minutes_since_midnight() - self.start.minutes_since_midnight();
        Duration::from_secs(u64::from(minutes) * 60)
    }

    /// Public holidays (法定节假日), including the weekdays taken off around them.
    pub fn holidays(&self) -> &BTreeSet<Date> {
        &self.holidays
    }

    /// Weekend days worked to make up for a holiday (调休补班).
    pub fn make_up_workdays(&self) -> &BTreeSet<Date> {
        &self.make_up_workdays
    }

    /// True if `date` is a working day: a regular working day that is not a
    /// holiday, or a make-up working day.
    pub fn is_working_day(&self, date: Date) -> bool {
        if self.holidays.contains(&date) {
            return false;
        }
        self.make_up_workdays.contains(&date) || self.working_days.contains(&date.weekday())
    }

    /// The local date at `at`, by [`Calendar::utc_offset_minutes`]; `None` outside years 1 to
    /// 9999.
    pub fn local_date(&self, at: Timestamp) -> Option<Date> {
        let offset_ms = i64::from(self.utc_offset_minutes) * MINUTE_MS;
        let local_ms = at.as_millis().checked_add(offset_ms)?;
        Date::from_unix_days(local_ms.div_euclid(DAY_MS))
    }

    /// True if the holiday calendar covers `year`: it lists at least one holiday in it.
    pub fn covers_year(&self, year: u16) -> bool {
        match (Date::new(year, 1, 1), Date::new(year, 12, 31)) {
            (Some(first), Some(last)) => self.holidays.range(first..=last).next().is_some(),
            _ => false,
        }
    }

    /// The years working-hour deadlines count through at `now` that the holiday calendar does
    /// not cover (see [`Calendar::covers_year`]): the current local year, and from December on
    /// the next year as well. Empty when the calendar is up to date.
    pub fn missing_holiday_years(&self, now: Timestamp) -> Vec<MissingHolidayYear> {
        let Some(today) = self.local_date(now) else {
            return Vec::new();
        };
        let mut years = vec![today.year()];
        if today.month() == 12 && today.year() < 9999 {
            years.push(today.year() + 1);
        }
        years
            .into_iter()
            .filter(|&year| !self.covers_year(year))
            .map(|year| MissingHolidayYear { year })
            .collect()
    }
}

/// A year the holiday calendar should cover but lists no holidays for, from
/// [`Calendar::missing_holiday_years`]. Its text is the warning to give at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MissingHolidayYear {
    /// The year without holidays.
    pub year: u16,
}

impl fmt::Display for MissingHolidayYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let year = self.year;
        write!(
            f,
            "the holiday calendar in {} lists no holidays for {year}: working-hour deadlines in \
             {year} will count public holidays as working days; add the State Council's dates \
             for {year}",
            crate::sla::SLA_FILE
        )
    }
}

/// A duration as written in the files: `30m`, `2h`, `7d`, `1d12h`; seconds (`45s`) too, for
/// compressed clocks in demonstrations and tests.
///
/// Days are kept apart from hours and minutes because a working-hours day
/// is one working day, not 24 hours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DurationText {
    text: String,
    days: u64,
    seconds: u64,
}

impl DurationText {
    /// Parses `<n>d`, `<n>h`, `<n>m`, `<n>s` or a combination in that order.
    pub(crate) fn parse(s: &str) -> Result<DurationText, String> {
        let malformed = || format!("{s:?} is not a duration, write e.g. 30m, 2h, 7d or 1d12h");
        let text = s.trim();
        if text.is_empty() {
            return Err(malformed());
        }
        let (mut days, mut seconds) = (0u64, 0u64);
        // Each unit may appear once and only after the larger ones.
        let mut allowed_units: &[char] = &['d', 'h', 'm', 's'];
        let mut rest = text;
        while !rest.is_empty() {
            let digits_end = rest
                .find(|c: char| !c.is_ascii_digit())
                .ok_or_else(malformed)?;
            if digits_end == 0 || digits_end > 6 {
                return Err(malformed());
            }
            let amount: u64 = rest[..digits_end].parse().map_err(|_| malformed())?;
            let unit = rest[digits_end..].chars().next().ok_or_else(malformed)?;
            let position = allowed_units
                .iter()
                .position(|&allowed| allowed == unit)
                .ok_or_else(malformed)?;
            allowed_units = &allowed_units[position + 1..];
            match unit {
                'd' => days = amount,
                'h' => seconds += amount * 3600,
                'm' => seconds += amount * 60,
                _ => seconds += amount,
            }
            rest = &rest[digits_end + unit.len_utf8()..];
        }
        Ok(DurationText {
            text: text.to_owned(),
            days,
            seconds,
        })
    }

    /// The length, with a day lasting `day`.
    pub(crate) fn resolve(&self, day: Duration) -> Duration {
        day.saturating_mul(u32::try_from(self.days).unwrap_or(u32::MAX))
            .saturating_add(Duration::from_secs(self.seconds))
    }

    /// True for `0m`, `0h` and the like.
    pub(crate) fn is_zero(&self) -> bool {
        self.days == 0 && self.seconds == 0
    }
}

impl fmt::Display for DurationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A natural day.
pub(crate) const DAY: Duration = Duration::from_secs(24 * 60 * 60);

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: u16, month: u8, day: u8) -> Date {
        Date::new(year, month, day).unwrap()
    }

    #[test]
    fn dates_check_month_lengths_and_leap_years() {
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2025, 2, 29).is_none());
        assert!(Date::new(1900, 2, 29).is_none());
        assert!(Date::new(2000, 2, 29).is_some());
        assert!(Date::new(2025, 4, 31).is_none());
        assert!(Date::new(2025, 13, 1).is_none());
        assert!(Date::new(0, 1, 1).is_none());
        assert_eq!(date(2025, 1, 1).to_string(), "2025-01-01");
    }

    #[test]
    fn unix_days_round_trip_and_weekdays_are_right() {
        assert_eq!(date(1970, 1, 1).unix_days(), 0);
        assert_eq!(date(2000, 3, 1).unix_days(), 11_017);
        assert_eq!(date(1969, 12, 31).unix_days(), -1);
        for days in [-700_000, -1, 0, 1, 11_016, 20_000, 2_000_000] {
            let day = Date::from_unix_days(days).unwrap();
            assert_eq!(day.unix_days(), days, "{day}");
        }
        assert_eq!(date(1970, 1, 1).weekday(), Weekday::Thursday);
        assert_eq!(date(2025, 1, 26).weekday(), Weekday::Sunday);
        assert_eq!(date(2025, 10, 1).weekday(), Weekday::Wednesday);
        assert_eq!(date(2026, 2, 14).weekday(), Weekday::Saturday);
        assert!(Date::from_unix_days(i64::MAX).is_none());
        assert!(Date::from_unix_days(-800_000).is_none());
    }

    #[test]
    fn times_of_day_are_hh_mm() {
        let time = TimeOfDay::parse("17:30").unwrap();
        assert_eq!((time.hour(), time.minute()), (17, 30));
        assert_eq!(time.to_string(), "17:30");
        for bad in ["24:00", "9:00", "09:60", "0900", "09:0a", ""] {
            assert!(TimeOfDay::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn durations_parse_units_in_order() {
        let hour = Duration::from_secs(3600);
        let parse = |s: &str| DurationText::parse(s).unwrap();
        assert_eq!(parse("30m").resolve(DAY), Duration::from_secs(1800));
        assert_eq!(parse("2h").resolve(DAY), 2 * hour);
        assert_eq!(parse("7d").resolve(DAY), 7 * 24 * hour);
        assert_eq!(parse("1d12h").resolve(DAY), 36 * hour);
        assert_eq!(
            parse("1h30m").resolve(DAY),
            90 * 60 * Duration::from_secs(1)
        );
        assert_eq!(parse("2d").resolve(8 * hour), 16 * hour, "working days");
        assert_eq!(parse("1m30s").resolve(DAY), Duration::from_secs(90));
        assert_eq!(parse("5s").resolve(DAY), Duration::from_secs(5));
        assert!(parse("0h").is_zero());
        assert_eq!(parse(" 7d ").to_string(), "7d");
        for bad in [
            "", "7", "h", "1.5h", "2h1d", "1h1h", "7 d", "-1h", "3w", "1234567h", "5s1m",
        ] {
            assert_eq!(
                DurationText::parse(bad).unwrap_err(),
                format!("{bad:?} is not a duration, write e.g. 30m, 2h, 7d or 1d12h"),
                "{bad}"
            );
        }
    }

    fn sample_calendar() -> Calendar {
        Calendar {
            utc_offset_minutes: 480,
            working_days: Weekday::ALL[..5].iter().copied().collect(),
            start: TimeOfDay::parse("09:00").unwrap(),
            end: TimeOfDay::parse("17:30").unwrap(),
            holidays: [date(2026, 1, 1), date(2026, 10, 1), date(2027, 1, 1)]
                .into_iter()
                .collect(),
            make_up_workdays: BTreeSet::new(),
        }
    }

    /// `hour:minute` local time (+08:00) on a day, as a timestamp.
    fn local(day: Date, hour: i64, minute: i64) -> Timestamp {
        Timestamp::from_millis(day.unix_days() * DAY_MS + (hour * 60 + minute - 480) * MINUTE_MS)
    }

    fn missing_years(calendar: &Calendar, now: Timestamp) -> Vec<u16> {
        calendar
            .missing_holiday_years(now)
            .into_iter()
            .map(|missing| missing.year)
            .collect()
    }

    #[test]
    fn local_dates_follow_the_utc_offset() {
        let calendar = sample_calendar();
        // 00:30 on 1 January in Beijing is 16:30 utc on 31 December; 31 minutes earlier it is
        // 31 December in Beijing too.
        let new_year = local(date(2027, 1, 1), 0, 30);
        assert_eq!(calendar.local_date(new_year), Some(date(2027, 1, 1)));
        assert_eq!(
            calendar.local_date(new_year.plus_millis(-MINUTE_MS * 31)),
            Some(date(2026, 12, 31))
        );
        assert_eq!(calendar.local_date(Timestamp::from_millis(i64::MAX)), None);
    }

    #[test]
    fn a_year_with_a_holiday_is_covered() {
        let calendar = sample_calendar();
        assert!(calendar.covers_year(2026));
        assert!(calendar.covers_year(2027));
        assert!(!calendar.covers_year(2028));
        assert!(!calendar.covers_year(2025));
        assert!(!calendar.covers_year(0));
        assert_eq!(
            missing_years(&calendar, local(date(2026, 6, 15), 12, 0)),
            []
        );
    }

    #[test]
    fn a_missing_current_year_is_reported_with_what_to_do() {
        let calendar = sample_calendar();
        let missing = calendar.missing_holiday_years(local(date(2028, 3, 1), 9, 0));
        assert_eq!(missing, [MissingHolidayYear { year: 2028 }]);
        assert_eq!(
            missing[0].to_string(),
            "the holiday calendar in sla.toml lists no holidays for 2028: working-hour deadlines \
             in 2028 will count public holidays as working days; add the State Council's dates \
             for 2028"
        );
        assert_eq!(
            missing_years(&calendar, local(date(2025, 12, 31), 23, 0)),
            [2025],
            "2026 is listed"
        );
    }

    #[test]
    fn in_december_the_next_year_must_be_listed_too() {
        let calendar = sample_calendar();
        assert_eq!(
            missing_years(&calendar, local(date(2027, 11, 30), 23, 59)),
            []
        );
        // 1 December, local time, though still 30 November in utc.
        assert_eq!(
            missing_years(&calendar, local(date(2027, 12, 1), 0, 0)),
            [2028]
        );
        assert_eq!(missing_years(&calendar, local(date(2026, 12, 1), 9, 0)), []);
        assert_eq!(
            missing_years(&calendar, local(date(2029, 12, 24), 9, 0)),
            [2029, 2030]
        );
    }

    #[test]
    fn working_days_honour_holidays_and_make_up_days() {
        let calendar = Calendar {
            utc_offset_minutes: 480,
            working_days: Weekday::ALL[..5].iter().copied().collect(),
            start: TimeOfDay::parse("09:00").unwrap(),
            end: TimeOfDay::parse("17:30").unwrap(),
            holidays: [date(2025, 10, 1)].into_iter().collect(),
            make_up_workdays: [date(2025, 9, 28)].into_iter().collect(),
        };
        assert!(calendar.is_working_day(date(2025, 9, 30)));
        assert!(!calendar.is_working_day(date(2025, 10, 1)), "holiday");
        assert!(calendar.is_working_day(date(2025, 9, 28)), "make-up sunday");
        assert!(
            !calendar.is_working_day(date(2025, 9, 27)),
            "plain saturday"
        );
        assert_eq!(
            calendar.working_day_length(),
            Duration::from_secs(8 * 3600 + 1800)
        );
    }
}
