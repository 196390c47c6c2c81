//! Why a request failed, and the one table that maps each reason to a gRPC code.

use gridcase_casestore::CaseError;
use gridcase_eventstore::StoreError;
use gridcase_grpc::{case_status, store_status};
use tonic::Status;

pub use gridcase_grpc::InvalidInput;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    /// The request is malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// Acting on the case failed.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// Reading the store log failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EvaluationError {
    /// The gRPC status for this error.
    pub fn to_status(&self) -> Status {
        match self {
            Self::Invalid(e) => Status::invalid_argument(e.to_string()),
            Self::Store(e) => store_status(e),
            Self::Case(e) => case_status(e),
        }
    }
}

impl From<EvaluationError> for Status {
    fn from(error: EvaluationError) -> Self {
        error.to_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_domain::CaseStatus;
    use gridcase_domain::DomainError;
    use tonic::Code;

    #[test]
    fn each_kind_of_failure_has_its_code() {
        let code = |error: EvaluationError| error.to_status().code();
        assert_eq!(
            code(InvalidInput::new("score", "must be 1 to 5").into()),
            Code::InvalidArgument
        );
        assert_eq!(
            code(StoreError::Unavailable("down".into()).into()),
            Code::Unavailable
        );
        assert_eq!(
            code(CaseError::Store(StoreError::Unavailable("down".into())).into()),
            Code::Unavailable
        );
        assert_eq!(
            code(CaseError::Domain(DomainError::CaseDoesNotExist).into()),
            Code::NotFound
        );
        assert_eq!(
            code(
                CaseError::Domain(DomainError::WrongStatus {
                    action: "record satisfaction",
                    status: CaseStatus::Resolved,
                    expected: "verified",
                })
                .into()
            ),
            Code::FailedPrecondition
        );
    }

    #[test]
    fn messages_keep_the_field_name() {
        let status =
            EvaluationError::from(InvalidInput::new("score", "must be 1 to 5, got 0")).to_status();
        assert_eq!(status.message(), "score: must be 1 to 5, got 0");
    }
}
