//! Why a department's request failed, and the one table that maps each reason to a gRPC code.

use gridcase_casestore::CaseError;
use gridcase_grpc::case_status;
use tonic::Status;

pub use gridcase_grpc::InvalidInput;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The request is malformed or names unknown reference data.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// Acting on the case failed.
    #[error(transparent)]
    Case(#[from] CaseError),
}

impl DispatchError {
    /// The gRPC status for this error.
    pub fn to_status(&self) -> Status {
        match self {
            Self::Invalid(e) => Status::invalid_argument(e.to_string()),
            Self::Case(e) => case_status(e),
        }
    }
}

impl From<DispatchError> for Status {
    fn from(error: DispatchError) -> Self {
        error.to_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_domain::{Assignee, CaseId, CaseStatus, DepartmentCode};
    use gridcase_domain::{DomainError, ValidationError};
    use gridcase_eventstore::StoreError;
    use tonic::Code;

    #[test]
    fn each_kind_of_failure_has_its_code() {
        let code = |error: DispatchError| error.to_status().code();
        let department = |code: &str| Assignee::Department(DepartmentCode::parse(code).unwrap());
        assert_eq!(
            code(InvalidInput::new("reason", "must not be empty").into()),
            Code::InvalidArgument
        );
        assert_eq!(
            code(CaseError::Store(StoreError::Unavailable("down".into())).into()),
            Code::Unavailable
        );
        assert_eq!(
            code(CaseError::Domain(ValidationError::new("note", "bad").into()).into()),
            Code::InvalidArgument
        );
        assert_eq!(
            code(CaseError::Domain(DomainError::CaseDoesNotExist).into()),
            Code::NotFound
        );
        assert_eq!(
            code(
                CaseError::Domain(DomainError::NotAssignee {
                    action: "accept",
                    by: department("water"),
                    assignee: department("gas"),
                })
                .into()
            ),
            Code::PermissionDenied
        );
        assert_eq!(
            code(
                CaseError::Domain(DomainError::WrongStatus {
                    action: "resolve",
                    status: CaseStatus::Dispatched,
                    expected: "accepted",
                })
                .into()
            ),
            Code::FailedPrecondition
        );
        assert_eq!(
            code(
                CaseError::Contended {
                    case: CaseId::from_u128(1),
                    attempts: 8
                }
                .into()
            ),
            Code::Aborted
        );
    }

    #[test]
    fn messages_keep_the_field_name() {
        let status = DispatchError::from(InvalidInput::new("reason", "too long")).to_status();
        assert_eq!(status.message(), "reason: too long");
    }
}
