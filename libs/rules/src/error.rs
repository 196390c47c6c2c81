//! Why a rule could not decide.

use gridcase_domain::{Assignee, CategoryCode};

/// The routing rule found nobody to send the case to; the case then waits
/// for an operator (manual triage).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// The category is not in the catalogue, so it has no owner.
    #[error("category {0} is not in the catalogue")]
    UnknownCategory(CategoryCode),
    /// Everyone who could take the case has already returned it.
    #[error("no route left for category {category}{}", returned_by(.tried))]
    NoRouteLeft {
        /// The case's category.
        category: CategoryCode,
        /// The assignees considered and skipped because they returned the
        /// case, in the order they were considered.
        tried: Vec<Assignee>,
    },
}

/// The rules' result type.
pub type Result<T, E = RoutingError> = std::result::Result<T, E>;

/// `, returned by department water, worker lin-ming`, or nothing.
fn returned_by(tried: &[Assignee]) -> String {
    if tried.is_empty() {
        return String::new();
    }
    let names: Vec<String> = tried.iter().map(ToString::to_string).collect();
    format!(", returned by {}", names.join(", "))
}
