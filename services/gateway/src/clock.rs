//! Times as the city reads them: milliseconds since the epoch shown in the centre's local time
//! (the calendar's UTC offset, Beijing time in the sample city), for pages (`2026-11-30 19:05`)
//! and for APIs (ISO 8601 with the offset, `2026-11-30T19:05:00+08:00`), and ISO 8601 read
//! back ([`parse_iso8601`]).

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

/// Exactly `count` ASCII digits at the start of `text`, and the rest.
fn digits(text: &str, count: usize) -> Option<(u32, &str)> {
    let head = text.get(..count)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &text[count..]))
}

/// Reads an ISO 8601 date-time into ms since the Unix epoch: `YYYY-MM-DDThh:mm[:ss[.fff]]`
/// followed by `Z`, `±hh:mm`, `±hhmm` or `±hh`, or a bare date `YYYY-MM-DD`. A date-time or
/// date without an offset is read at `local_offset_minutes` (the city's), since the spec leaves
/// it open and the city's apps mean their own clock.
pub fn parse_iso8601(text: &str, local_offset_minutes: i32) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an ISO 8601 date-time such as 2026-11-30T19:05:00+08:00");
    let text_trimmed = text.trim();
    let (year, rest) = digits(text_trimmed, 4).ok_or_else(bad)?;
    let rest = rest.strip_prefix('-').ok_or_else(bad)?;
    let (month, rest) = digits(rest, 2).ok_or_else(bad)?;
    let rest = rest.strip_prefix('-').ok_or_else(bad)?;
    let (day, rest) = digits(rest, 2).ok_or_else(bad)?;
    let date = u16::try_from(year)
        .ok()
        .zip(u8::try_from(month).ok())
        .zip(u8::try_from(day).ok())
        .and_then(|((year, month), day)| Date::new(year, month, day))
        .ok_or_else(bad)?;
    let days = date.unix_days();
    let (mut seconds, mut millis, rest) = if rest.is_empty() {
        (0, 0, rest)
    } else {
        let rest = rest
            .strip_prefix('T')
            .or_else(|| rest.strip_prefix('t'))
            .or_else(|| rest.strip_prefix(' '))
            .ok_or_else(bad)?;
        let (hour, rest) = digits(rest, 2).ok_or_else(bad)?;
        let rest = rest.strip_prefix(':').ok_or_else(bad)?;
        let (minute, mut rest) = digits(rest, 2).ok_or_else(bad)?;
        let mut second = 0;
        let mut millis = 0;
        if let Some(after) = rest.strip_prefix(':') {
            let (s, after) = digits(after, 2).ok_or_else(bad)?;
            second = s;
            rest = after;
            if let Some(fraction) = rest.strip_prefix('.').or_else(|| rest.strip_prefix(',')) {
                let count = fraction.bytes().take_while(u8::is_ascii_digit).count();
                if count == 0 {
                    return Err(bad());
                }
                let padded = format!("{:0<3}", &fraction[..count.min(3)]);
                millis = padded.parse::<i64>().map_err(|_| bad())?;
                rest = &fraction[count..];
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(bad());
        }
        (
            i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second),
            millis,
            rest,
        )
    };
    let offset = match rest {
        "" => i64::from(local_offset_minutes) * 60,
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return Err(bad()),
            };
            let body = &rest[1..];
            let (hours, after) = digits(body, 2).ok_or_else(bad)?;
            let after = after.strip_prefix(':').unwrap_or(after);
            let minutes = if after.is_empty() {
                0
            } else {
                let (minutes, tail) = digits(after, 2).ok_or_else(bad)?;
                if !tail.is_empty() {
                    return Err(bad());
                }
                minutes
            };
            if hours > 23 || minutes > 59 {
                return Err(bad());
            }
            sign * (i64::from(hours) * 3600 + i64::from(minutes) * 60)
        }
    };
    seconds += days * DAY_MS / 1000 - offset;
    millis += seconds * 1000;
    Ok(millis)
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

    #[test]
    fn every_offset_form_reads_the_same_instant() {
        // 2026-11-30T11:05:00Z.
        let ms = MOMENT - 9_000;
        for text in [
            "2026-11-30T11:05:00Z",
            "2026-11-30T11:05:00z",
            "2026-11-30T19:05:00+08:00",
            "2026-11-30T19:05:00+0800",
            "2026-11-30T19:05:00+08",
            "2026-11-30T19:05+08:00",
            "2026-11-30T19:05:00",
            "2026-11-30T06:05:00-05:00",
            "2026-11-30T19:05:00.000+08:00",
        ] {
            assert_eq!(parse_iso8601(text, 480), Ok(ms), "{text}");
        }
        assert_eq!(parse_iso8601("2026-11-30T11:05:00.25Z", 480), Ok(ms + 250));
        let local = LocalTime::at(ms, 480).unwrap();
        assert_eq!(parse_iso8601(&local.iso8601(), 0), Ok(ms), "round trip");
        assert_eq!(
            LocalTime::at(parse_iso8601("2026-12-01", 480).unwrap(), 480)
                .unwrap()
                .iso8601(),
            "2026-12-01T00:00:00+08:00"
        );
    }

    #[test]
    fn malformed_dates_are_refused() {
        for text in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-31",
            "2026-11-30T24:00:00Z",
            "2026-11-30T19:60:00Z",
            "2026-11-30T19:05:00+08:00x",
            "2026-11-30T19:05:00 08:00",
            "26-11-30",
            "2026-11-30T19:05:00.Z",
            "1732964700",
        ] {
            assert!(parse_iso8601(text, 480).is_err(), "{text}");
        }
        assert!(parse_iso8601("2024-02-29T00:00:00Z", 480).is_ok());
    }
}
