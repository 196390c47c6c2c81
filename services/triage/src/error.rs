//! Why a triage request failed, and the one table that maps each reason to a gRPC code.

use gridcase_casestore::CaseError;
use gridcase_domain::{DomainError, ValidationError};
use gridcase_grpc::case_status;
use gridcase_rules::RoutingError;
use tonic::Status;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// A request field is malformed or names unknown reference data.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, e.g. `route.department`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No case has the id asked for.
    #[error("case_id: no case {0}")]
    NotFound(gridcase_domain::CaseId),
    /// The routing rules found nobody for the case and the operator gave no route.
    #[error("route: {0}")]
    NoRoute(#[from] RoutingError),
    /// Acting on the case failed.
    #[error(transparent)]
    Case(#[from] CaseError),
}

impl TriageError {
    /// An invalid `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// The gRPC status for this error.
    pub fn to_status(&self) -> Status {
        match self {
            Self::Invalid { .. } => Status::invalid_argument(self.to_string()),
            Self::NotFound(_) => Status::not_found(self.to_string()),
            Self::NoRoute(_) => Status::failed_precondition(self.to_string()),
            Self::Case(e) => case_status(e),
        }
    }
}

impl From<ValidationError> for TriageError {
    fn from(error: ValidationError) -> Self {
        Self::Invalid {
            field: error.field,
            reason: error.reason,
        }
    }
}

impl From<DomainError> for TriageError {
    fn from(error: DomainError) -> Self {
        Self::Case(CaseError::Domain(error))
    }
}

impl From<TriageError> for Status {
    fn from(error: TriageError) -> Self {
        error.to_status()
    }
}

#[cfg(test)]
mod tests {
    use gridcase_domain::{CaseId, CaseStatus, CategoryCode};
    use gridcase_eventstore::StoreError;
    use tonic::Code;

    use super::*;

    #[test]
    fn each_kind_of_failure_has_its_code() {
        let code = |error: TriageError| error.to_status().code();
        assert_eq!(
            code(TriageError::invalid("case_id", "bad")),
            Code::InvalidArgument
        );
        assert_eq!(
            code(TriageError::NotFound(CaseId::from_u128(1))),
            Code::NotFound
        );
        assert_eq!(
            code(
                RoutingError::NoRouteLeft {
                    category: CategoryCode::parse("BJ-01-07").unwrap(),
                    tried: Vec::new()
                }
                .into()
            ),
            Code::FailedPrecondition
        );
        assert_eq!(
            code(CaseError::Store(StoreError::Unavailable("down".into())).into()),
            Code::Unavailable
        );
        assert_eq!(
            code(
                DomainError::WrongStatus {
                    action: "triage",
                    status: CaseStatus::Triaged,
                    expected: "reported"
                }
                .into()
            ),
            Code::FailedPrecondition
        );
    }

    #[test]
    fn messages_name_the_field() {
        assert_eq!(
            TriageError::invalid("route.department", "no department x")
                .to_status()
                .message(),
            "route.department: no department x"
        );
    }
}
