//! `sla.toml`: deadlines per priority and per category, and the calendar
//! working-hour deadlines count against.
//!
//! All three deadlines count from the moment the case is reported, the way
//! the domain checks them (a deadline must come after `reported_at`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use gridcase_domain::{CategoryCode, DeadlineStage, Priority};
use serde::Deserialize;
use toml::value::Datetime;
use toml::Spanned;

use crate::calendar::{Calendar, Date, DurationText, HoursMode, TimeOfDay, Weekday, DAY};
use crate::categories::{Category, CATEGORIES_FILE};
use crate::error::{ConfigError, Result, Source};

/// The file name of the deadline policies.
pub const SLA_FILE: &str = "sla.toml";

/// The deadlines a case is supervised against.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlaPolicy {
    /// From report until the assignee must accept (签收).
    pub accept: Duration,
    /// From report until the assignee must report it resolved (办结反馈).
    pub resolve: Duration,
    /// From report until the case must be verified and closed (结案).
    pub close: Duration,
    /// Whether the durations count every hour or only working hours.
    pub hours: HoursMode,
    /// The fraction of a deadline after which a warning (预警) goes out, in (0, 1). The
    /// warning comes [`SlaPolicy::warn_before`] the deadline, on the deadline's clock.
    pub warn_at: f64,
}

impl SlaPolicy {
    /// The deadline of one stage.
    pub const fn deadline(&self, stage: DeadlineStage) -> Duration {
        match stage {
            DeadlineStage::Accept => self.accept,
            DeadlineStage::Resolve => self.resolve,
            DeadlineStage::Close => self.close,
            // A triage deadline runs from when a danger is flagged, not from the report: see
            // [`DangerPolicy`].
            DeadlineStage::Triage => Duration::ZERO,
            // A report-in deadline runs from the whistle: see [`ReportInPolicy`].
            DeadlineStage::ReportIn => Duration::ZERO,
        }
    }

    /// How far into a stage's deadline the warning is due.
    pub fn warn_after(&self, stage: DeadlineStage) -> Duration {
        self.deadline(stage).mul_f64(self.warn_at)
    }

    /// How long before a stage's deadline the warning is due: `(1 − warn_at) ×` its duration,
    /// in the policy's natural or working hours.
    pub fn warn_before(&self, stage: DeadlineStage) -> Duration {
        warn_lead(self.deadline(stage), self.warn_at)
    }
}

/// `duration − ⌊fraction × duration⌋` to the millisecond: the lead before a deadline at which
/// its warning falls, so that a deadline counted from the report warns exactly `fraction` of
/// the way through it.
fn warn_lead(duration: Duration, fraction: f64) -> Duration {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    let fraction = fraction.clamp(0.0, 1.0);
    // Deadlines are far below 2^52 ms, so the f64 round trip is exact enough.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        clippy::cast_sign_loss
    )]
    let into = ((millis as f64) * fraction).floor() as u64;
    Duration::from_millis(millis - into.min(millis))
}

/// How fast a case flagged as an emergency, which triage could not route by itself, must be
/// triaged by an operator: in natural time, counted from when it was flagged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DangerPolicy {
    /// From the flag until an operator must have triaged the case.
    pub triage: Duration,
    /// The fraction of `triage` after which a warning goes out, in (0, 1).
    pub warn_at: f64,
}

impl DangerPolicy {
    /// How long before the triage deadline the warning is due: `(1 − warn_at) × triage`, in
    /// natural time.
    pub fn warn_before(&self) -> Duration {
        warn_lead(self.triage, self.warn_at)
    }
}

impl DangerPolicy {
    /// Two hours, warned at half time, for a case in the manual queue when `sla.toml` has no
    /// `[manual]` table.
    pub const MANUAL: DangerPolicy = DangerPolicy {
        triage: Duration::from_secs(2 * 3600),
        warn_at: 0.5,
    };

    /// Ten minutes, warned at half time, when `sla.toml` has no `[danger]` table.
    pub const DEFAULT: DangerPolicy = DangerPolicy {
        triage: Duration::from_secs(600),
        warn_at: 0.5,
    };
}

/// How long the departments a whistle names (吹哨报到) have to report in (报到), in natural
/// time from the whistle, unless the whistler names another time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReportInPolicy {
    /// For emergency and urgent cases.
    pub urgent: Duration,
    /// For the rest.
    pub other: Duration,
    /// The fraction of the time after which a warning goes out, in (0, 1).
    pub warn_at: f64,
}

impl ReportInPolicy {
    /// Thirty minutes for urgent cases and two hours otherwise, warned at half time, when
    /// `sla.toml` has no `[report_in]` table.
    pub const DEFAULT: ReportInPolicy = ReportInPolicy {
        urgent: Duration::from_secs(30 * 60),
        other: Duration::from_secs(2 * 3600),
        warn_at: 0.5,
    };

    /// The time to report in on a case of `priority`.
    pub fn within(&self, priority: Priority) -> Duration {
        match priority {
            Priority::Emergency | Priority::Urgent => self.urgent,
            Priority::Normal | Priority::Low => self.other,
        }
    }

    /// How long before a report-in deadline `within` after the whistle the warning is due.
    pub fn warn_before(&self, within: Duration) -> Duration {
        warn_lead(within, self.warn_at)
    }
}

/// The validated file, with every category override already merged with
/// every priority so that a lookup cannot fail.
#[derive(Clone, Debug)]
pub(crate) struct Sla {
    pub(crate) calendar: Calendar,
    pub(crate) by_priority: BTreeMap<Priority, SlaPolicy>,
    pub(crate) by_category: BTreeMap<(CategoryCode, Priority), SlaPolicy>,
    pub(crate) danger: DangerPolicy,
    pub(crate) report_in: ReportInPolicy,
    /// [`DangerPolicy`] serves the manual queue too: `[manual]`, the time an operator has to
    /// triage a case the rules left to them.
    pub(crate) manual: DangerPolicy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlaFile {
    calendar: CalendarEntry,
    #[serde(default)]
    priority: BTreeMap<Spanned<String>, Spanned<PolicyEntry>>,
    #[serde(default)]
    category: Vec<OverrideEntry>,
    #[serde(default)]
    danger: Option<DangerEntry>,
    #[serde(default)]
    report_in: Option<ReportInEntry>,
    #[serde(default)]
    manual: Option<DangerEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportInEntry {
    urgent: Spanned<String>,
    other: Spanned<String>,
    warn_at: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DangerEntry {
    triage: Spanned<String>,
    warn_at: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarEntry {
    utc_offset: Spanned<String>,
    working_days: Spanned<Vec<Spanned<String>>>,
    working_hours: WorkingHoursEntry,
    #[serde(default)]
    holidays: Vec<Spanned<Datetime>>,
    #[serde(default)]
    make_up_workdays: Vec<Spanned<Datetime>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkingHoursEntry {
    start: Spanned<String>,
    end: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyEntry {
    accept: Spanned<String>,
    resolve: Spanned<String>,
    close: Spanned<String>,
    hours: Spanned<String>,
    warn_at: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideEntry {
    code: Spanned<CategoryCode>,
    #[serde(default)]
    accept: Option<Spanned<String>>,
    #[serde(default)]
    resolve: Option<Spanned<String>>,
    #[serde(default)]
    close: Option<Spanned<String>>,
    #[serde(default)]
    hours: Option<Spanned<String>>,
    #[serde(default)]
    warn_at: Option<Spanned<f64>>,
}

/// A value from the file with where it came from, for messages.
#[derive(Clone)]
struct Given<T> {
    value: T,
    span: std::ops::Range<usize>,
    /// `None` if given in the entry being checked, else the priority it was inherited from.
    inherited_from: Option<Priority>,
}

impl<T: fmt::Display> fmt::Display for Given<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)?;
        if let Some(priority) = self.inherited_from {
            write!(f, " (from priority {priority})")?;
        }
        Ok(())
    }
}

/// A policy as written, before durations are turned into time.
#[derive(Clone)]
struct PolicyText {
    accept: Given<DurationText>,
    resolve: Given<DurationText>,
    close: Given<DurationText>,
    hours: Given<HoursMode>,
    warn_at: Given<f64>,
}

impl PolicyText {
    fn inherited(&self, priority: Priority) -> PolicyText {
        fn mark<T: Clone>(given: &Given<T>, priority: Priority) -> Given<T> {
            Given {
                inherited_from: Some(priority),
                ..given.clone()
            }
        }
        PolicyText {
            accept: mark(&self.accept, priority),
            resolve: mark(&self.resolve, priority),
            close: mark(&self.close, priority),
            hours: mark(&self.hours, priority),
            warn_at: mark(&self.warn_at, priority),
        }
    }

    /// Checks the order of the deadlines and resolves them.
    fn resolve(&self, source: &Source, label: &str, calendar: &Calendar) -> Result<SlaPolicy> {
        let day = match self.hours.value {
            HoursMode::Natural => DAY,
            HoursMode::Working => calendar.working_day_length(),
        };
        let accept = self.accept.value.resolve(day);
        let resolve = self.resolve.value.resolve(day);
        let close = self.close.value.resolve(day);
        let out_of_order = |earlier: (&str, &Given<DurationText>),
                            later: (&str, &Given<DurationText>)| {
            // Point at a value this entry gave, the earlier one if both.
            let span = if earlier.1.inherited_from.is_none() {
                earlier.1.span.clone()
            } else {
                later.1.span.clone()
            };
            source.invalid(
                span,
                label,
                format!(
                    "{} {} must not be longer than {} {}",
                    earlier.0, earlier.1, later.0, later.1
                ),
            )
        };
        if accept > resolve {
            return Err(out_of_order(
                ("accept", &self.accept),
                ("resolve", &self.resolve),
            ));
        }
        if resolve > close {
            return Err(out_of_order(
                ("resolve", &self.resolve),
                ("close", &self.close),
            ));
        }
        Ok(SlaPolicy {
            accept,
            resolve,
            close,
            hours: self.hours.value,
            warn_at: self.warn_at.value,
        })
    }
}

/// Reads and checks `sla.toml`; category overrides must name known categories.
pub(crate) fn load(source: &Source, categories: &BTreeMap<CategoryCode, Category>) -> Result<Sla> {
    let file: SlaFile = source.parse()?;
    let calendar = load_calendar(source, file.calendar)?;

    let mut texts: BTreeMap<Priority, PolicyText> = BTreeMap::new();
    for (key, entry) in &file.priority {
        let label = format!("priority {}", key.get_ref());
        let priority = Priority::parse(key.get_ref())
            .map_err(|error| source.invalid(key.span(), &label, error.reason))?;
        let entry = entry.get_ref();
        let text = PolicyText {
            accept: duration(source, &label, "accept", &entry.accept)?,
            resolve: duration(source, &label, "resolve", &entry.resolve)?,
            close: duration(source, &label, "close", &entry.close)?,
            hours: hours(source, &label, &entry.hours)?,
            warn_at: warn_at(source, &label, &entry.warn_at)?,
        };
        texts.insert(priority, text);
    }
    let mut by_priority = BTreeMap::new();
    for priority in Priority::ALL {
        let label = format!("priority {priority}");
        let Some(text) = texts.get(&priority) else {
            return Err(source.invalid_file(
                label,
                format!("missing, every priority needs a [priority.{priority}] table"),
            ));
        };
        by_priority.insert(priority, text.resolve(source, &label, &calendar)?);
    }

    let mut by_category = BTreeMap::new();
    let mut lines = BTreeMap::new();
    for entry in &file.category {
        let code = *entry.code.get_ref();
        let label = format!("category {code}");
        if !categories.contains_key(&code) {
            return Err(source.invalid(
                entry.code.span(),
                label,
                format!("no such category in {CATEGORIES_FILE}"),
            ));
        }
        if let Some(line) = lines.get(&code) {
            return Err(source.invalid(
                entry.code.span(),
                label,
                format!("code is already used at line {line}"),
            ));
        }
        lines.insert(code, source.line_of(entry.code.span()));
        let accept = optional(&entry.accept, |v| duration(source, &label, "accept", v))?;
        let resolve = optional(&entry.resolve, |v| duration(source, &label, "resolve", v))?;
        let close = optional(&entry.close, |v| duration(source, &label, "close", v))?;
        let hours_mode = optional(&entry.hours, |v| hours(source, &label, v))?;
        let warn = optional(&entry.warn_at, |v| warn_at(source, &label, v))?;
        if accept.is_none()
            && resolve.is_none()
            && close.is_none()
            && hours_mode.is_none()
            && warn.is_none()
        {
            return Err(source.invalid(
                entry.code.span(),
                label,
                "changes nothing, give accept, resolve, close, hours or warn_at",
            ));
        }
        // The override applies whatever priority triage gives the case, so
        // it must make sense merged with each of them.
        for priority in Priority::ALL {
            let base = texts[&priority].inherited(priority);
            let merged = PolicyText {
                accept: accept.clone().unwrap_or(base.accept),
                resolve: resolve.clone().unwrap_or(base.resolve),
                close: close.clone().unwrap_or(base.close),
                hours: hours_mode.clone().unwrap_or(base.hours),
                warn_at: warn.clone().unwrap_or(base.warn_at),
            };
            let policy = merged.resolve(source, &label, &calendar)?;
            by_category.insert((code, priority), policy);
        }
    }
    let danger = match &file.danger {
        None => DangerPolicy::DEFAULT,
        Some(entry) => {
            const LABEL: &str = "danger";
            DangerPolicy {
                // Natural time: a fire at night does not wait for office hours.
                triage: duration(source, LABEL, "triage", &entry.triage)?
                    .value
                    .resolve(DAY),
                warn_at: warn_at(source, LABEL, &entry.warn_at)?.value,
            }
        }
    };
    let report_in = match &file.report_in {
        None => ReportInPolicy::DEFAULT,
        Some(entry) => {
            const LABEL: &str = "report_in";
            // Natural time, as for danger: a whistle blown on a Saturday is answered that day.
            let within =
                |field, value| duration(source, LABEL, field, value).map(|d| d.value.resolve(DAY));
            ReportInPolicy {
                urgent: within("urgent", &entry.urgent)?,
                other: within("other", &entry.other)?,
                warn_at: warn_at(source, LABEL, &entry.warn_at)?.value,
            }
        }
    };
    let manual = match &file.manual {
        None => DangerPolicy::MANUAL,
        Some(entry) => {
            const LABEL: &str = "manual";
            DangerPolicy {
                triage: duration(source, LABEL, "triage", &entry.triage)?
                    .value
                    .resolve(DAY),
                warn_at: warn_at(source, LABEL, &entry.warn_at)?.value,
            }
        }
    };
    Ok(Sla {
        calendar,
        by_priority,
        by_category,
        danger,
        report_in,
        manual,
    })
}

fn optional<T, U>(value: &Option<T>, check: impl FnOnce(&T) -> Result<U>) -> Result<Option<U>> {
    value.as_ref().map(check).transpose()
}

fn duration(
    source: &Source,
    label: &str,
    field: &str,
    text: &Spanned<String>,
) -> Result<Given<DurationText>> {
    let value = DurationText::parse(text.get_ref())
        .map_err(|reason| source.invalid(text.span(), label, format!("{field} {reason}")))?;
    if value.is_zero() {
        return Err(source.invalid(
            text.span(),
            label,
            format!("{field} must be longer than zero"),
        ));
    }
    Ok(Given {
        value,
        span: text.span(),
        inherited_from: None,
    })
}

fn hours(source: &Source, label: &str, text: &Spanned<String>) -> Result<Given<HoursMode>> {
    let value = HoursMode::parse(text.get_ref()).ok_or_else(|| {
        source.invalid(
            text.span(),
            label,
            format!("hours {:?} must be natural or working", text.get_ref()),
        )
    })?;
    Ok(Given {
        value,
        span: text.span(),
        inherited_from: None,
    })
}

fn warn_at(source: &Source, label: &str, fraction: &Spanned<f64>) -> Result<Given<f64>> {
    let value = *fraction.get_ref();
    if !(value > 0.0 && value < 1.0) {
        return Err(source.invalid(
            fraction.span(),
            label,
            format!("warn_at {value} must be between 0 and 1, exclusive"),
        ));
    }
    Ok(Given {
        value,
        span: fraction.span(),
        inherited_from: None,
    })
}

fn load_calendar(source: &Source, entry: CalendarEntry) -> Result<Calendar> {
    const LABEL: &str = "calendar";
    let utc_offset_minutes = parse_utc_offset(entry.utc_offset.get_ref()).ok_or_else(|| {
        source.invalid(
            entry.utc_offset.span(),
            LABEL,
            format!(
                "utc_offset {:?} must look like +08:00, within 14 hours of utc",
                entry.utc_offset.get_ref()
            ),
        )
    })?;

    if entry.working_days.get_ref().is_empty() {
        return Err(source.invalid(
            entry.working_days.span(),
            LABEL,
            "working_days must not be empty",
        ));
    }
    let mut working_days = BTreeSet::new();
    for day in entry.working_days.get_ref() {
        let weekday = Weekday::parse(day.get_ref()).ok_or_else(|| {
            source.invalid(
                day.span(),
                LABEL,
                format!(
                    "working day {:?} must be one of mon, tue, wed, thu, fri, sat, sun",
                    day.get_ref()
                ),
            )
        })?;
        if !working_days.insert(weekday) {
            return Err(source.invalid(
                day.span(),
                LABEL,
                format!("working day {weekday} is listed twice"),
            ));
        }
    }

    let time = |text: &Spanned<String>, field: &str| {
        TimeOfDay::parse(text.get_ref()).ok_or_else(|| {
            source.invalid(
                text.span(),
                LABEL,
                format!(
                    "working_hours {field} {:?} must be a time like 09:00",
                    text.get_ref()
                ),
            )
        })
    };
    let start = time(&entry.working_hours.start, "start")?;
    let end = time(&entry.working_hours.end, "end")?;
    if start >= end {
        return Err(source.invalid(
            entry.working_hours.end.span(),
            LABEL,
            format!("working_hours end {end} must be after start {start}"),
        ));
    }

    let holidays = dates(source, &entry.holidays, "holiday")?;
    let make_up_workdays = dates(source, &entry.make_up_workdays, "make-up working day")?;
    for (date, span) in &make_up_workdays {
        if holidays.iter().any(|(holiday, _)| holiday == date) {
            return Err(source.invalid(
                span.clone(),
                LABEL,
                format!("{date} is both a holiday and a make-up working day"),
            ));
        }
        let weekday = date.weekday();
        if working_days.contains(&weekday) {
            return Err(source.invalid(
                span.clone(),
                LABEL,
                format!("make-up working day {date} falls on {weekday}, already a working day"),
            ));
        }
    }
    Ok(Calendar {
        utc_offset_minutes,
        working_days,
        start,
        end,
        holidays: holidays.into_iter().map(|(date, _)| date).collect(),
        make_up_workdays: make_up_workdays.into_iter().map(|(date, _)| date).collect(),
    })
}

/// Plain dates from a list, in file order, each with its span.
fn dates(
    source: &Source,
    values: &[Spanned<Datetime>],
    what: &str,
) -> Result<Vec<(Date, std::ops::Range<usize>)>> {
    let mut seen = BTreeSet::new();
    let mut dates = Vec::new();
    for value in values {
        let datetime = value.get_ref();
        let date = match (datetime.date, datetime.time, datetime.offset) {
            (Some(date), None, None) => Date::new(date.year, date.month, date.day),
            _ => None,
        };
        let Some(date) = date else {
            return Err(plain_date_error(source, value, what));
        };
        if !seen.insert(date) {
            return Err(source.invalid(
                value.span(),
                "calendar",
                format!("{what} {date} is listed twice"),
            ));
        }
        dates.push((date, value.span()));
    }
    Ok(dates)
}

fn plain_date_error(source: &Source, value: &Spanned<Datetime>, what: &str) -> ConfigError {
    source.invalid(
        value.span(),
        "calendar",
        format!(
            "{what} {} must be a plain date like 2025-10-01",
            value.get_ref()
        ),
    )
}

/// Parses `+08:00` / `-05:30` into minutes east of UTC.
fn parse_utc_offset(text: &str) -> Option<i32> {
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let time = TimeOfDay::parse(&text[1..])?;
    let minutes = i32::from(time.minutes_since_midnight());
    (minutes <= 14 * 60).then_some(sign * minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_offsets_are_signed_hours_and_minutes() {
        assert_eq!(parse_utc_offset("+08:00"), Some(480));
        assert_eq!(parse_utc_offset("-05:30"), Some(-330));
        assert_eq!(parse_utc_offset("+00:00"), Some(0));
        for bad in ["08:00", "+8:00", "+15:00", "Z", "", "+08"] {
            assert_eq!(parse_utc_offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn warnings_fall_at_the_fraction_of_each_deadline() {
        let policy = SlaPolicy {
            accept: Duration::from_secs(3600),
            resolve: Duration::from_secs(7200),
            close: Duration::from_secs(86_400),
            hours: HoursMode::Natural,
            warn_at: 0.75,
        };
        assert_eq!(
            policy.warn_after(DeadlineStage::Accept),
            Duration::from_secs(2700)
        );
        assert_eq!(
            policy.deadline(DeadlineStage::Close),
            Duration::from_secs(86_400)
        );
    }

    #[test]
    fn warnings_lead_each_deadline_by_the_rest_of_it() {
        let policy = SlaPolicy {
            accept: Duration::from_secs(3600),
            resolve: Duration::from_secs(7200),
            close: Duration::from_secs(86_400),
            hours: HoursMode::Working,
            warn_at: 0.8,
        };
        assert_eq!(
            policy.warn_before(DeadlineStage::Accept),
            Duration::from_secs(720)
        );
        assert_eq!(
            policy.warn_before(DeadlineStage::Close),
            Duration::from_secs(17_280)
        );
        assert_eq!(policy.warn_before(DeadlineStage::Triage), Duration::ZERO);
        // Lead and warn point add up to the deadline to the millisecond.
        let odd = Duration::from_millis(1001);
        assert_eq!(warn_lead(odd, 0.5), Duration::from_millis(501));
        assert_eq!(warn_lead(odd, 0.0), odd);
        assert_eq!(warn_lead(odd, 1.5), Duration::ZERO);
        assert_eq!(
            DangerPolicy::DEFAULT.warn_before(),
            Duration::from_secs(300)
        );
    }
}
