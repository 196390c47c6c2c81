//! The compressed clock: the reference data rewritten so that an hour of SLA lasts a moment,
//! and deadlines really pass while the demo runs.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use gridcase_config::{ReferenceData, SlaPolicy};
use gridcase_domain::Priority;

/// How long an hour of SLA lasts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    pub(super) hour_ms: u64,
    /// True on the demo's own system, whose deadlines were compressed.
    pub(super) compressed: bool,
}

impl Clock {
    /// Real hours (as the indicators give them) as hours on this clock.
    pub(super) fn sla_hours(self, real_hours: f64) -> f64 {
        real_hours * 3_600_000.0 / self.hour_ms as f64
    }

    /// Handling times as the ranking shows them: hours on a compressed clock, else minutes
    /// (a demo's cases close within minutes of real time).
    pub(super) fn handling_time(self, real_hours: f64) -> String {
        if self.compressed {
            format!("{:.1}", self.sla_hours(real_hours))
        } else {
            format!("{:.1}", real_hours * 60.0)
        }
    }

    /// The unit of [`Clock::handling_time`].
    pub(super) fn handling_unit(self) -> &'static str {
        if self.compressed {
            "h"
        } else {
            "min"
        }
    }
}

/// Whole seconds (at least one) that `duration` of SLA lasts when an hour lasts `hour_ms`.
pub(super) fn compressed_seconds(duration: Duration, hour_ms: u64) -> u64 {
    let seconds = duration.as_secs_f64() / 3600.0 * hour_ms as f64 / 1000.0;
    (seconds.ceil() as u64).max(1)
}

/// Copies the reference data in `source` to `target`, with `sla.toml` rewritten so that every
/// deadline counts natural time on the compressed clock, and returns it loaded.
pub(crate) fn write_compressed_config(
    source: &Path,
    reference: &ReferenceData,
    target: &Path,
    hour_ms: u64,
) -> anyhow::Result<ReferenceData> {
    std::fs::create_dir_all(target).with_context(|| format!("creating {}", target.display()))?;
    let gateway = gridcase_gateway::settings::GATEWAY_FILE;
    for file in gridcase_config::FILES.into_iter().chain([gateway]) {
        if file != gridcase_config::SLA_FILE && file != gridcase_config::ESCALATION_FILE {
            std::fs::copy(source.join(file), target.join(file))
                .with_context(|| format!("copying {file} to {}", target.display()))?;
        }
    }
    gridcase_config::Corpus::copy_files(source, target)
        .with_context(|| format!("copying the corpus to {}", target.display()))?;
    let sla = target.join(gridcase_config::SLA_FILE);
    std::fs::write(&sla, compressed_sla(reference, hour_ms))
        .with_context(|| format!("writing {}", sla.display()))?;
    let escalation = target.join(gridcase_config::ESCALATION_FILE);
    std::fs::write(&escalation, compressed_escalation(reference, hour_ms))
        .with_context(|| format!("writing {}", escalation.display()))?;
    ReferenceData::load(target).with_context(|| {
        format!(
            "loading the compressed reference data in {}",
            target.display()
        )
    })
}

/// `escalation.toml` for the compressed clock: the same rungs, each reached after its
/// `after_breach` scaled like the deadlines (a rung reached at once stays so).
fn compressed_escalation(reference: &ReferenceData, hour_ms: u64) -> String {
    let mut out = format!(
        "# Written by `gridcase demo`: the escalation ladder on a compressed clock,\n\
         # one hour = {hour_ms} ms.\n"
    );
    for step in reference.escalation_ladder() {
        let after = if step.after_breach.is_zero() {
            0
        } else {
            compressed_seconds(step.after_breach, hour_ms)
        };
        let _ = writeln!(
            out,
            "\n[[step]]\nlevel = {}\nname = \"{}\"\ngrid_level = \"{}\"\nafter_breach = \"{after}s\"",
            step.level,
            step.name,
            step.grid_level.as_str()
        );
    }
    out
}

/// `sla.toml` for the compressed clock: every priority's and every category override's
/// deadlines scaled (an hour becomes `hour_ms` milliseconds, rounded up to whole seconds),
/// counted in natural hours, with the same warning points.
fn compressed_sla(reference: &ReferenceData, hour_ms: u64) -> String {
    let seconds = |duration: Duration| format!("\"{}s\"", compressed_seconds(duration, hour_ms));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Written by `gridcase demo`: the deadlines of the reference data on a compressed \
         clock,\n# one hour of SLA = {hour_ms} ms, counted in natural time.\n"
    );
    let calendar = reference.calendar();
    let offset = calendar.utc_offset_minutes();
    let sign = if offset < 0 { '-' } else { '+' };
    let days: Vec<String> = calendar
        .working_days()
        .iter()
        .map(|day| format!("\"{}\"", day.as_str()))
        .collect();
    let dates = |dates: &std::collections::BTreeSet<gridcase_config::Date>| {
        dates
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "[calendar]");
    let _ = writeln!(
        out,
        "utc_offset = \"{sign}{:02}:{:02}\"",
        offset.unsigned_abs() / 60,
        offset.unsigned_abs() % 60
    );
    let _ = writeln!(out, "working_days = [{}]", days.join(", "));
    let _ = writeln!(
        out,
        "working_hours = {{ start = \"{}\", end = \"{}\" }}",
        calendar.start(),
        calendar.end()
    );
    let _ = writeln!(out, "holidays = [{}]", dates(calendar.holidays()));
    let _ = writeln!(
        out,
        "make_up_workdays = [{}]\n",
        dates(calendar.make_up_workdays())
    );
    let danger = reference.danger_policy();
    let _ = writeln!(out, "[danger]");
    let _ = writeln!(out, "triage = {}", seconds(danger.triage));
    let _ = writeln!(out, "warn_at = {}\n", danger.warn_at);
    let manual = reference.manual_policy();
    let _ = writeln!(out, "[manual]");
    let _ = writeln!(out, "triage = {}", seconds(manual.triage));
    let _ = writeln!(out, "warn_at = {}\n", manual.warn_at);
    let report_in = reference.report_in_policy();
    let _ = writeln!(out, "[report_in]");
    let _ = writeln!(out, "urgent = {}", seconds(report_in.urgent));
    let _ = writeln!(out, "other = {}", seconds(report_in.other));
    let _ = writeln!(out, "warn_at = {}\n", report_in.warn_at);
    for priority in Priority::ALL {
        let policy = reference.sla_for(priority, None);
        let _ = writeln!(out, "[priority.{priority}]");
        let _ = writeln!(out, "accept = {}", seconds(policy.accept));
        let _ = writeln!(out, "resolve = {}", seconds(policy.resolve));
        let _ = writeln!(out, "close = {}", seconds(policy.close));
        let _ = writeln!(out, "hours = \"natural\"");
        let _ = writeln!(out, "warn_at = {}\n", policy.warn_at);
    }
    // An override field is written when it gives one value for every priority; a field the
    // override inherits differs by priority and is left to the priority tables.
    for category in reference.categories() {
        let merged: Vec<SlaPolicy> = Priority::ALL
            .iter()
            .map(|priority| reference.sla_for(*priority, Some(&category.code)))
            .collect();
        let base: Vec<SlaPolicy> = Priority::ALL
            .iter()
            .map(|priority| reference.sla_for(*priority, None))
            .collect();
        if merged == base {
            continue;
        }
        let constant = |field: fn(&SlaPolicy) -> Duration| {
            let first = field(&merged[0]);
            merged
                .iter()
                .all(|policy| field(policy) == first)
                .then_some(first)
        };
        let _ = writeln!(out, "[[category]]\ncode = \"{}\"", category.code);
        for (name, field) in [
            (
                "accept",
                (|p: &SlaPolicy| p.accept) as fn(&SlaPolicy) -> Duration,
            ),
            ("resolve", |p: &SlaPolicy| p.resolve),
            ("close", |p: &SlaPolicy| p.close),
        ] {
            if let Some(duration) = constant(field) {
                let _ = writeln!(out, "{name} = {}", seconds(duration));
            }
        }
        let warn_at = merged[0].warn_at;
        if merged.iter().all(|policy| policy.warn_at == warn_at) {
            let _ = writeln!(out, "warn_at = {warn_at}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compressed_clock_scales_every_deadline() {
        let reference = crate::sample_reference();
        let dir = tempfile::tempdir().unwrap();
        let compressed = write_compressed_config(
            &gridcase::system::sample_config_dir(),
            &reference,
            dir.path(),
            1000,
        )
        .unwrap();
        let scaled = |d: Duration| Duration::from_secs(compressed_seconds(d, 1000));
        for category in reference.categories() {
            for priority in Priority::ALL {
                let before = reference.sla_for(priority, Some(&category.code));
                let after = compressed.sla_for(priority, Some(&category.code));
                assert_eq!(
                    after.accept,
                    scaled(before.accept),
                    "{} {priority}",
                    category.code
                );
                assert_eq!(after.resolve, scaled(before.resolve));
                assert_eq!(after.close, scaled(before.close));
                assert_eq!(after.warn_at, before.warn_at);
                assert_eq!(after.hours, gridcase_config::HoursMode::Natural);
            }
        }
        // Emergency: accept within 1 h, resolve within 2 h; ordinary working days of 8.5 h.
        let emergency = compressed.sla_for(Priority::Emergency, None);
        assert_eq!(emergency.accept, Duration::from_secs(1));
        assert_eq!(emergency.resolve, Duration::from_secs(2));
        assert_eq!(
            compressed.sla_for(Priority::Normal, None).accept,
            Duration::from_secs(9)
        );
        assert_eq!(
            compressed.calendar().holidays(),
            reference.calendar().holidays()
        );
        // The ladder: the same rungs, 0 s / 24 s / 72 s / 168 s after the first breach.
        let rungs: Vec<(u8, Duration)> = compressed
            .escalation_ladder()
            .iter()
            .map(|step| (step.level, step.after_breach))
            .collect();
        assert_eq!(
            rungs,
            [0, 24, 72, 168]
                .into_iter()
                .zip(1..)
                .map(|(seconds, level)| (level, Duration::from_secs(seconds)))
                .collect::<Vec<_>>()
        );
    }
}
