//! What the fuzz targets share: the sample city's reference data, and a way to split an input
//! into a selector byte and the bytes to decode.
//!
//! Every target takes arbitrary bytes, feeds them to one of gridcase's decoders or request
//! checks, and asserts only that the answer is a value or an error, plus the round trips that
//! must hold for what is accepted. The seed corpus of each target is in `corpus/<target>/`,
//! written by `examples/seeds.rs` from real encodings.

use std::sync::OnceLock;

use gridcase_config::ReferenceData;

/// The text of each reference data file of the sample city in `deploy/config/`, by name.
pub const REFERENCE_FILES: [(&str, &str); 9] = [
    (
        gridcase_config::GRID_FILE,
        include_str!("../../../deploy/config/grid.toml"),
    ),
    (
        gridcase_config::DEPARTMENTS_FILE,
        include_str!("../../../deploy/config/departments.toml"),
    ),
    (
        gridcase_config::CATEGORIES_FILE,
        include_str!("../../../deploy/config/categories.toml"),
    ),
    (
        gridcase_config::SLA_FILE,
        include_str!("../../../deploy/config/sla.toml"),
    ),
    (
        gridcase_config::ESCALATION_FILE,
        include_str!("../../../deploy/config/escalation.toml"),
    ),
    (
        gridcase_config::INDICATORS_FILE,
        include_str!("../../../deploy/config/indicators.toml"),
    ),
    (
        gridcase_config::MEMBERS_FILE,
        include_str!("../../../deploy/config/members.toml"),
    ),
    (
        gridcase_config::POINTS_FILE,
        include_str!("../../../deploy/config/points.toml"),
    ),
    (
        gridcase_config::CARE_FILE,
        include_str!("../../../deploy/config/care.toml"),
    ),
];

/// The sample city's `gateway.toml`.
pub const GATEWAY_FILE: &str = include_str!("../../../deploy/config/gateway.toml");

/// The sample city's development `tokens.toml`.
pub const TOKENS_FILE: &str = include_str!("../../../deploy/config/tokens.toml");

/// The text of reference data file `name` of the sample city.
pub fn reference_text(name: &str) -> Option<&'static str> {
    REFERENCE_FILES
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, text)| *text)
}

/// The sample city's reference data, loaded once.
pub fn reference() -> &'static ReferenceData {
    static REFERENCE: OnceLock<ReferenceData> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        ReferenceData::from_texts(reference_text).expect("the sample reference data is valid")
    })
}

/// The first byte of `data` (0 for none) and the rest.
pub fn split(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&selector, rest)) => (selector, rest),
        None => (0, &[]),
    }
}
