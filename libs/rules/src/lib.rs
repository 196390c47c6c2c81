//! The triage rules of gridcase (综合研判): what a new or returned case is
//! about, how pressing it is, whether it repeats a case already open, and
//! who should handle it. Each rule is a pure function over the validated
//! reference data of [`gridcase_config::ReferenceData`] and the values the
//! caller passes in: this crate does no I/O and reads no clock, so the
//! triage service can replay and test its decisions exactly.
//!
//! - [`classify`] maps a description to a catalogue category by its keywords;
//! - [`danger`] recognises danger to people in a report (fire, gas, a hole, people trapped, …);
//! - [`priority`] starts from the category's priority and raises it for a danger or on urgent
//!   words;
//! - [`find_duplicate`] finds the open case a new report repeats, and [`OpenCaseIndex`] files
//!   the open cases by place so a report looks only at those near it;
//! - [`route`] chooses self-handling, one department or a joint consultation,
//!   never sending a case back to whoever returned it;
//! - [`sla`] turns an SLA duration into a deadline, in natural or working hours;
//! - [`deadlines`] derives a case's running deadlines, when they warn and breach, where a
//!   breach escalates to, and the case's colour;
//! - [`indicators`] folds case events into the indicators per department and period;
//! - [`textmodel`] learns categories from labelled residents' reports (logistic regression
//!   over jieba words and character n-grams) and measures itself on held-out reports.

mod classify;
pub mod danger;
pub mod deadlines;
mod duplicate;
mod error;
pub mod indicators;
mod priority;
mod routing;
pub mod sla;
pub mod textmodel;
mod verification;

pub use classify::{classify, keyword_scores, suggest, Classification, KeywordScore};
pub use danger::{recognise, recognise_all, Recognised, NOT_DANGER_PHRASES};
pub use duplicate::{
    area_cells_near, duplicate_window, filing_cells, find_duplicate, search_cells, CandidateCase,
    OpenCase, OpenCaseIndex, PlaceCell, CELLS_PER_DEGREE, DUPLICATE_RADIUS_M,
};
pub use error::{Result, RoutingError};
pub use priority::{priority, PriorityDecision, URGENT_WORDS};
pub use routing::{route, suggestion, RouteDecision, Suggestion};
pub use verification::{verifier, Verifier};

/// Lowercases and drops whitespace, so that `路灯 不亮` still matches `路灯不亮`:
/// Chinese text has no word spacing, a space in it is noise.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
pub(crate) mod testdata {
    //! The sample city shipped in `deploy/config`, loaded once per test binary.

    use std::path::Path;
    use std::sync::OnceLock;

    use gridcase_config::ReferenceData;
    use gridcase_domain::{CategoryCode, DepartmentCode, GridCode, WorkerId};

    /// The sample reference data.
    pub(crate) fn sample() -> &'static ReferenceData {
        static SAMPLE: OnceLock<ReferenceData> = OnceLock::new();
        SAMPLE.get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config");
            ReferenceData::load(&dir).expect("the sample reference data loads")
        })
    }

    pub(crate) fn category(code: &str) -> CategoryCode {
        CategoryCode::parse(code).unwrap()
    }

    pub(crate) fn department(code: &str) -> DepartmentCode {
        DepartmentCode::parse(code).unwrap()
    }

    pub(crate) fn grid(code: &str) -> GridCode {
        GridCode::parse(code).unwrap()
    }

    pub(crate) fn worker(id: &str) -> WorkerId {
        WorkerId::parse(id).unwrap()
    }
}
