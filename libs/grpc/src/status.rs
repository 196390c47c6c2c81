//! The one table from error kinds to gRPC statuses.

use gridcase_eventstore::StoreError;
use tonic::{Code, Status};

/// The gRPC code for each kind of store error: the one table services use.
pub fn store_error_code(error: &StoreError) -> Code {
    match error {
        StoreError::WrongExpectedVersion { .. } => Code::Aborted,
        StoreError::InvalidRequest(_) | StoreError::PartialDuplicate { .. } => {
            Code::InvalidArgument
        }
        StoreError::Corrupt { .. } => Code::DataLoss,
        StoreError::Unavailable(_) => Code::Unavailable,
    }
}

/// The gRPC status for a failure to act on or read a case: the one table every service
/// uses. Domain refusals are the caller's problem (FAILED_PRECONDITION), except invalid input
/// (INVALID_ARGUMENT), an unknown case (NOT_FOUND) and acting on someone else's case
/// (PERMISSION_DENIED).
pub fn case_status(error: &gridcase_casestore::CaseError) -> Status {
    use gridcase_casestore::CaseError;
    use gridcase_domain::DomainError;
    match error {
        CaseError::Store(e) => store_status(e),
        CaseError::Domain(DomainError::Validation(e)) => Status::invalid_argument(e.to_string()),
        CaseError::Domain(e @ DomainError::CaseDoesNotExist) => Status::not_found(e.to_string()),
        CaseError::Domain(e @ DomainError::NotAssignee { .. }) => {
            Status::permission_denied(e.to_string())
        }
        CaseError::Domain(e) => Status::failed_precondition(e.to_string()),
        e @ CaseError::Contended { .. } => Status::aborted(e.to_string()),
        e @ CaseError::Decode { .. } => Status::internal(e.to_string()),
    }
}

/// A store error as a gRPC status carrying the store's message.
pub fn store_status(error: &StoreError) -> Status {
    Status::new(store_error_code(error), error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_eventstore::ExpectedVersion;

    #[test]
    fn store_errors_map_to_the_conventional_codes() {
        let conflict = StoreError::WrongExpectedVersion {
            stream: "s".into(),
            expected: ExpectedVersion::NoStream,
            current: Some(2),
        };
        assert_eq!(store_status(&conflict).code(), Code::Aborted);
        assert!(store_status(&conflict).message().contains("current 2"));
        assert_eq!(
            store_error_code(&StoreError::InvalidRequest("x".into())),
            Code::InvalidArgument
        );
        assert_eq!(
            store_error_code(&StoreError::Unavailable("down".into())),
            Code::Unavailable
        );
        assert_eq!(
            store_error_code(&StoreError::Corrupt {
                position: 1,
                reason: "x".into()
            }),
            Code::DataLoss
        );
    }
}
