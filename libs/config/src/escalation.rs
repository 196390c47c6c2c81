//! `escalation.toml`: the supervision ladder (督办) a breached case climbs,
//! one rung up the grid hierarchy at a time.

use std::time::Duration;

use gridcase_domain::GridLevel;
use serde::Deserialize;
use toml::Spanned;

use crate::calendar::{DurationText, DAY};
use crate::error::{Result, Source};
use crate::grid::level_name;

/// The file name of the escalation ladder.
pub const ESCALATION_FILE: &str = "escalation.toml";

/// One rung of the ladder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscalationStep {
    /// 1 for the first rung, counting up without gaps.
    pub level: u8,
    /// What the rung is called, e.g. `社区督办`.
    pub name: String,
    /// Whose leader takes the case: the case grid's ancestor at this level
    /// (see `ReferenceData::leader_at`).
    pub grid_level: GridLevel,
    /// How long after the first breach the case reaches this rung, in
    /// natural time.
    pub after_breach: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalationFile {
    #[serde(default)]
    step: Vec<StepEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepEntry {
    level: Spanned<u8>,
    name: Spanned<String>,
    grid_level: Spanned<String>,
    after_breach: Spanned<String>,
}

/// Reads and checks `escalation.toml`.
pub(crate) fn load(source: &Source) -> Result<Vec<EscalationStep>> {
    let file: EscalationFile = source.parse()?;
    if file.step.is_empty() {
        return Err(source.invalid_file("step", "at least one [[step]] entry is needed"));
    }
    let mut steps: Vec<EscalationStep> = Vec::new();
    let mut after_texts: Vec<DurationText> = Vec::new();
    for (index, entry) in file.step.iter().enumerate() {
        let level = *entry.level.get_ref();
        let label = format!("step {level}");
        let expected = index + 1;
        if usize::from(level) != expected {
            return Err(source.invalid(
                entry.level.span(),
                label,
                format!("levels must count 1, 2, 3 … in file order, expected {expected}"),
            ));
        }
        let name = source.checked_name(&entry.name, &label)?;
        let grid_level = GridLevel::ALL
            .into_iter()
            .find(|candidate| candidate.as_str() == entry.grid_level.get_ref())
            .ok_or_else(|| {
                source.invalid(
                    entry.grid_level.span(),
                    &label,
                    format!(
                        "grid_level {:?} must be one of district, street, community, grid, micro_grid",
                        entry.grid_level.get_ref()
                    ),
                )
            })?;
        let after_text = DurationText::parse(entry.after_breach.get_ref()).map_err(|reason| {
            source.invalid(
                entry.after_breach.span(),
                &label,
                format!("after_breach {reason}"),
            )
        })?;
        let after_breach = after_text.resolve(DAY);
        if let (Some(previous), Some(previous_text)) = (steps.last(), after_texts.last()) {
            if grid_level >= previous.grid_level {
                return Err(source.invalid(
                    entry.grid_level.span(),
                    &label,
                    format!(
                        "grid_level {} is not above step {}'s {}; escalation only goes up",
                        level_name(grid_level),
                        previous.level,
                        level_name(previous.grid_level)
                    ),
                ));
            }
            if after_breach < previous.after_breach {
                return Err(source.invalid(
                    entry.after_breach.span(),
                    &label,
                    format!(
                        "after_breach {after_text} is earlier than step {}'s {previous_text}",
                        previous.level
                    ),
                ));
            }
        }
        steps.push(EscalationStep {
            level,
            name,
            grid_level,
            after_breach,
        });
        after_texts.push(after_text);
    }
    Ok(steps)
}
