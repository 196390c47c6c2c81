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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorsFile {
    weights: Spanned<WeightsEntry>,
    period: PeriodEntry,
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
    let positive = [
        ("response_rate", &entry.response_rate),
        ("on_time_closure_rate", &entry.on_time_closure_rate),
        ("closure_rate", &entry.closure_rate),
        ("satisfaction_rate", &entry.satisfaction_rate),
        ("resolution_rate", &entry.resolution_rate),
    ];
    for (name, weight) in positive {
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
            format!("the positive weights sum to {sum}, they must sum to 1"),
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
        },
        period,
        min_cases_for_ranking: file.period.min_cases_for_ranking,
    })
}
