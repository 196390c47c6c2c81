//! `indicators.toml`: how the evaluation weighs its indicators into one
//! score, and the period it ranks over.

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Result, Source};

/// The file name of the indicator settings.
pub const INDICATORS_FILE: &str = "indicators.toml";

/// How far the positive weights may be from summing to 1 (decimal fractions
/// such as 0.1 are not exact in binary).
const WEIGHT_SUM_TOLERANCE: f64 = 1e-6;

/// A sum of weights as a person wrote its terms: rounded to six places, so 0.3 + 0.2 + 0.1 +
/// 0.3 + 0.2 reads 1.1, not 1.0999999999999999.
fn shown_sum(sum: f64) -> f64 {
    (sum * 1e6).round() / 1e6
}

/// Weights of the composite score. The positive ones sum to 1, so a unit
/// that is perfect on every rate and never reworks scores 1; the rework
/// rate is a penalty, weighted 0 or below.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IndicatorWeights {
    /// 响应率: accepted before the accept deadline / dispatched.
    pub response_rate: f64,
    /// 按期结案率: closed on time / (due to close − deferred).
    pub on_time_closure_rate: f64,
    /// 结案率: closed / (due − deferred).
    pub closure_rate: f64,
    /// 满意率: satisfied ratings / ratings.
    pub satisfaction_rate: f64,
    /// 解决率: "resolved" answers / answers.
    pub resolution_rate: f64,
    /// 返工率: failed verifications / resolutions; between -1 and 0.
    pub rework_rate: f64,
    /// 网格评部门: the grid workers' ratings of the department's handling of closed cases, each
    /// the mean of its three marks (timeliness, attitude, result) mapped from 1..=5 to 0..1,
    /// averaged over the ratings. 0 when the file leaves it out (a city that does not rate).
    pub grid_rating_rate: f64,
}

/// The length of an evaluation period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeriodLength {
    /// A calendar week, Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
    /// A calendar quarter.
    Quarter,
    /// A calendar year.
    Year,
}

impl PeriodLength {
    /// The name used in the file.
    pub const fn as_str(self) -> &'static str {
        match self {
            PeriodLength::Week => "week",
            PeriodLength::Month => "month",
            PeriodLength::Quarter => "quarter",
            PeriodLength::Year => "year",
        }
    }
}

/// Everything in `indicators.toml`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IndicatorSettings {
    /// The composite score's weights.
    pub weights: IndicatorWeights,
    /// The period indicators are computed and ranked over.
    pub period: PeriodLength,
    /// Units with fewer cases due in a period are reported but not ranked,
    /// so that one late case does not put a quiet grid at the bottom.
    pub min_cases_for_ranking: u32,
    /// How grid workers are scored and ranked (优秀网格员).
    pub grid_workers: GridWorkerSettings,
}

/// Weights of a grid worker's score; they sum to 1, so a worker best on every count scores 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridWorkerWeights {
    /// Residents' satisfied ratings / ratings of the cases in the worker's grid.
    pub satisfaction_rate: f64,
    /// On-site checks within the window / checks made.
    pub on_time_check_rate: f64,
    /// Care visits (敲门行动) made by their due time / visits made.
    pub on_time_visit_rate: f64,
    /// Cases found on patrol, relative to the period's busiest worker.
    pub found_on_patrol: f64,
    /// Cases settled in the grid, relative to the period's busiest worker.
    pub settled_in_grid: f64,
}

/// How grid workers are scored and ranked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridWorkerSettings {
    /// The score's weights.
    pub weights: GridWorkerWeights,
    /// An on-site check is on time within this many hours (natural) of the resolution it checks.
    pub check_within_hours: u32,
    /// Workers with fewer finds, settlements and checks in a period are listed unranked.
    pub min_activity: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorsFile {
    weights: Spanned<WeightsEntry>,
    period: PeriodEntry,
    grid_workers: Spanned<GridWorkersEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GridWorkersEntry {
    satisfaction_rate: f64,
    on_time_check_rate: f64,
    on_time_visit_rate: f64,
    found_on_patrol: f64,
    settled_in_grid: f64,
    check_within_hours: u32,
    min_activity: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsEntry {
    response_rate: Spanned<f64>,
    on_time_closure_rate: Spanned<f64>,
    closure_rate: Spanned<f64>,
    satisfaction_rate: Spanned<f64>,
    resolution_rate: Spanned<f64>,
    rework_rate: Spanned<f64>,
    /// Optional, so the files of cities that do not rate their departments from the grid still
    /// load unchanged.
    grid_rating_rate: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodEntry {
    length: Spanned<String>,
    min_cases_for_ranking: u32,
}

/// Reads and checks `indicators.toml`.
pub(crate) fn load(source: &Source) -> Result<IndicatorSettings> {
    let file: IndicatorsFile = source.parse()?;
    let entry = file.weights.get_ref();
    let mut positive = vec![
        ("response_rate", &entry.response_rate),
        ("on_time_closure_rate", &entry.on_time_closure_rate),
        ("closure_rate", &entry.closure_rate),
        ("satisfaction_rate", &entry.satisfaction_rate),
        ("resolution_rate", &entry.resolution_rate),
    ];
    positive.extend(
        entry
            .grid_rating_rate
            .as_ref()
            .map(|weight| ("grid_rating_rate", weight)),
    );
    for &(name, weight) in &positive {
        let value = *weight.get_ref();
        if !(0.0..=1.0).contains(&value) {
            return Err(source.invalid(
                weight.span(),
                "weights",
                format!("{name} {value} must be between 0 and 1"),
            ));
        }
    }
    let sum: f64 = positive.iter().map(|(_, weight)| *weight.get_ref()).sum();
    if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
        return Err(source.invalid(
            file.weights.span(),
            "weights",
            format!(
                "the positive weights sum to {}, they must sum to 1",
                shown_sum(sum)
            ),
        ));
    }
    let rework = *entry.rework_rate.get_ref();
    if !(-1.0..=0.0).contains(&rework) {
        return Err(source.invalid(
            entry.rework_rate.span(),
            "weights",
            format!("rework_rate {rework} must be between -1 and 0, it is a penalty"),
        ));
    }
    let length = file.period.length.get_ref();
    let period = [
        PeriodLength::Week,
        PeriodLength::Month,
        PeriodLength::Quarter,
        PeriodLength::Year,
    ]
    .into_iter()
    .find(|period| period.as_str() == length)
    .ok_or_else(|| {
        source.invalid(
            file.period.length.span(),
            "period",
            format!("length {length:?} must be one of week, month, quarter, year"),
        )
    })?;
    Ok(IndicatorSettings {
        weights: IndicatorWeights {
            response_rate: *entry.response_rate.get_ref(),
            on_time_closure_rate: *entry.on_time_closure_rate.get_ref(),
            closure_rate: *entry.closure_rate.get_ref(),
            satisfaction_rate: *entry.satisfaction_rate.get_ref(),
            resolution_rate: *entry.resolution_rate.get_ref(),
            rework_rate: rework,
            grid_rating_rate: entry
                .grid_rating_rate
                .as_ref()
                .map_or(0.0, |weight| *weight.get_ref()),
        },
        period,
        min_cases_for_ranking: file.period.min_cases_for_ranking,
        grid_workers: grid_workers(source, &file.grid_workers)?,
    })
}

fn grid_workers(source: &Source, entry: &Spanned<GridWorkersEntry>) -> Result<GridWorkerSettings> {
    let span = entry.span();
    let entry = entry.get_ref();
    let weights = [
        ("satisfaction_rate", entry.satisfaction_rate),
        ("on_time_check_rate", entry.on_time_check_rate),
        ("on_time_visit_rate", entry.on_time_visit_rate),
        ("found_on_patrol", entry.found_on_patrol),
        ("settled_in_grid", entry.settled_in_grid),
    ];
    if let Some((name, weight)) = weights.iter().find(|(_, w)| !(0.0..=1.0).contains(w)) {
        return Err(source.invalid(
            span,
            "grid_workers",
            format!("{name} {weight} must be between 0 and 1"),
        ));
    }
    let sum: f64 = weights.iter().map(|(_, weight)| weight).sum();
    if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
        return Err(source.invalid(
            span,
            "grid_workers",
            format!("the weights sum to {}, they must sum to 1", shown_sum(sum)),
        ));
    }
    if entry.check_within_hours == 0 {
        return Err(source.invalid(
            span,
            "grid_workers",
            "check_within_hours must be at least 1",
        ));
    }
    Ok(GridWorkerSettings {
        weights: GridWorkerWeights {
            satisfaction_rate: entry.satisfaction_rate,
            on_time_check_rate: entry.on_time_check_rate,
            on_time_visit_rate: entry.on_time_visit_rate,
            found_on_patrol: entry.found_on_patrol,
            settled_in_grid: entry.settled_in_grid,
        },
        check_within_hours: entry.check_within_hours,
        min_activity: entry.min_activity,
    })
}
