//! ISO 8601 date-times as Open311 writes and reads them, by civil-from-days arithmetic (the
//! proleptic Gregorian calendar, no time zone database): the city keeps one UTC offset all
//! year, its calendar's (`+08:00`, Beijing time, in the sample city).

/// Beijing time's offset from UTC in minutes, the sample city's.
pub const BEIJING_MINUTES: i32 = 480;

const DAY_S: i64 = 86_400;

/// Days since 1970-01-01 of the civil date `year-month-day` (month 1..=12, day 1..=31).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date `(year, month, day)` of `days` since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
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
    // In range by construction: month 1..=12, day 1..=31.
    let small = |n: i64| u32::try_from(n).unwrap_or(1);
    (year, small(month), small(day))
}

/// `ms` since the Unix epoch at `offset_minutes` east of UTC, to the second, e.g.
/// `2026-11-30T19:05:00+08:00`.
pub fn format_at(ms: i64, offset_minutes: i32) -> String {
    let local_s = ms.div_euclid(1000) + i64::from(offset_minutes) * 60;
    let (year, month, day) = civil_from_days(local_s.div_euclid(DAY_S));
    let second_of_day = local_s.rem_euclid(DAY_S);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let offset = offset_minutes.unsigned_abs();
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60,
        offset / 60,
        offset % 60
    )
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
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
    let year = i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
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
    seconds += days * DAY_S - offset;
    millis += seconds * 1000;
    Ok(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_over_four_centuries() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        for days in (-146_097..146_097 * 2).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn times_are_written_in_the_citys_offset() {
        // 2026-11-30T11:05:00Z
        let ms = days_from_civil(2026, 11, 30) * DAY_S * 1000 + (11 * 3600 + 5 * 60) * 1000;
        assert_eq!(format_at(ms, BEIJING_MINUTES), "2026-11-30T19:05:00+08:00");
        // Late evening UTC is the next day in the city.
        assert_eq!(
            format_at(ms + 13 * 3600 * 1000, BEIJING_MINUTES),
            "2026-12-01T08:05:00+08:00"
        );
        assert_eq!(format_at(0, BEIJING_MINUTES), "1970-01-01T08:00:00+08:00");
        assert_eq!(
            format_at(-1000, BEIJING_MINUTES),
            "1970-01-01T07:59:59+08:00"
        );
        assert_eq!(parse_iso8601(&format_at(ms, BEIJING_MINUTES), 0), Ok(ms));
        assert_eq!(format_at(ms, -330), "2026-11-30T05:35:00-05:30");
        assert_eq!(format_at(ms, 0), "2026-11-30T11:05:00+00:00");
    }

    #[test]
    fn every_offset_form_reads_the_same_instant() {
        let ms = days_from_civil(2026, 11, 30) * DAY_S * 1000 + (11 * 3600 + 5 * 60) * 1000;
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
            assert_eq!(parse_iso8601(text, BEIJING_MINUTES), Ok(ms), "{text}");
        }
        assert_eq!(
            parse_iso8601("2026-11-30T11:05:00.25Z", BEIJING_MINUTES),
            Ok(ms + 250)
        );
        assert_eq!(
            parse_iso8601("2026-12-01", BEIJING_MINUTES),
            Ok(days_from_civil(2026, 12, 1) * DAY_S * 1000 - 8 * 3600 * 1000)
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
            assert!(parse_iso8601(text, BEIJING_MINUTES).is_err(), "{text}");
        }
        assert!(parse_iso8601("2024-02-29T00:00:00Z", BEIJING_MINUTES).is_ok());
    }
}
