//! The one table from errors to gRPC statuses. Every handler fails with an [`ApiError`]; its
//! conversion into a [`Status`] picks the code and attaches the rich error details of
//! `google.rpc` (`BadRequest` field violations, `PreconditionFailure`), so a client gets the
//! offending field in a structured form and not only in the message.

use gridcase_casestore::people::PeopleStoreError;
use gridcase_casestore::{CaseError, TrackingError};
use gridcase_domain::people::PeopleError;
use gridcase_domain::{DomainError, ValidationError};
use gridcase_eventstore::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::InvalidInput;

/// The `PreconditionFailure` violation type of a refusal by the case's state.
pub const CASE_STATE: &str = "CASE_STATE";

/// Why an RPC failed: what every handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A request field is missing or breaks a rule (INVALID_ARGUMENT).
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// Nothing is known under what the caller asked for (NOT_FOUND).
    #[error("{0}")]
    NotFound(String),
    /// The caller's role may call the RPC, but not with these values (PERMISSION_DENIED).
    #[error("{0}")]
    PermissionDenied(String),
    /// The request is well formed but what it acts on refuses it (FAILED_PRECONDITION).
    #[error("{subject}: {reason}")]
    Refused {
        /// What refuses, as the request names it (e.g. `route`).
        subject: String,
        /// Why, lowercase and without a trailing period.
        reason: String,
    },
    /// Acting on or reading a case failed.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// The store failed outside a case command.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request gave up after contention it may win when retried (ABORTED).
    #[error("{0}")]
    Aborted(String),
    /// Something that should hold does not; a person must look (INTERNAL).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// An invalid `field`, refused for `reason`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid(InvalidInput::new(field, reason))
    }

    /// A refusal of `subject` for `reason`.
    pub fn refused(subject: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Refused {
            subject: subject.into(),
            reason: reason.into(),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        Self::Case(CaseError::Domain(error))
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        Self::Invalid(InvalidInput::new(error.field, error.reason))
    }
}

impl From<TrackingError> for ApiError {
    fn from(error: TrackingError) -> Self {
        match error {
            TrackingError::Store(e) => Self::Store(e),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<PeopleStoreError> for ApiError {
    /// A refusal of the people's domain is FAILED_PRECONDITION naming what it refuses (an
    /// unknown order or household NOT_FOUND); contention is ABORTED.
    fn from(error: PeopleStoreError) -> Self {
        match error {
            PeopleStoreError::People(PeopleError::Validation(e)) => e.into(),
            PeopleStoreError::People(e @ (PeopleError::NoOrder | PeopleError::NoHousehold)) => {
                Self::NotFound(e.to_string())
            }
            PeopleStoreError::People(e) => {
                let text = e.to_string();
                let (subject, reason) = text.split_once(": ").unwrap_or(("people", &text));
                Self::refused(subject, reason)
            }
            PeopleStoreError::Store(e) => Self::Store(e),
            e @ PeopleStoreError::Decode { .. } => Self::Internal(e.to_string()),
            e @ PeopleStoreError::Contended { .. } => Self::Aborted(e.to_string()),
        }
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        let message = error.to_string();
        match error {
            ApiError::Invalid(e) => invalid_argument(&e.field, &e.reason, message),
            ApiError::NotFound(_) => Status::not_found(message),
            ApiError::PermissionDenied(_) => Status::permission_denied(message),
            ApiError::Refused { subject, reason } => refused(&subject, &reason, message),
            ApiError::Case(e) => case_status(&e),
            ApiError::Store(e) => store_status(&e),
            ApiError::Aborted(_) => Status::aborted(message),
            ApiError::Internal(_) => Status::internal(message),
        }
    }
}

fn invalid_argument(field: &str, reason: &str, message: String) -> Status {
    Status::with_error_details(
        Code::InvalidArgument,
        message,
        ErrorDetails::with_bad_request_violation(field, reason),
    )
}

fn refused(subject: &str, reason: &str, message: String) -> Status {
    Status::with_error_details(
        Code::FailedPrecondition,
        message,
        ErrorDetails::with_precondition_failure_violation(CASE_STATE, subject, reason),
    )
}

/// The gRPC code for each kind of store error.
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

/// A store error as a gRPC status carrying the store's message.
pub fn store_status(error: &StoreError) -> Status {
    Status::new(store_error_code(error), error.to_string())
}

/// The gRPC status for a failure to act on or read a case. Domain refusals are the caller's
/// problem (FAILED_PRECONDITION, with the case's state as the violated precondition), except
/// invalid input (INVALID_ARGUMENT naming the field), an unknown case (NOT_FOUND) and acting on
/// someone else's case (PERMISSION_DENIED).
pub fn case_status(error: &CaseError) -> Status {
    let message = error.to_string();
    match error {
        CaseError::Store(e) => store_status(e),
        CaseError::Domain(DomainError::Validation(e)) => {
            invalid_argument(e.field, &e.reason, message)
        }
        CaseError::Domain(DomainError::CaseDoesNotExist) => Status::not_found(message),
        CaseError::Domain(
            DomainError::NotAssignee { .. }
            | DomainError::OwnSettlement { .. }
            | DomainError::NotCalledToReportIn { .. }
            | DomainError::NotLeadersCase { .. },
        ) => Status::permission_denied(message),
        CaseError::Domain(e) => refused("case", &e.to_string(), message),
        CaseError::Contended { .. } => Status::aborted(message),
        CaseError::Decode { .. } => Status::internal(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_domain::{Assignee, CaseId, CaseStatus, DepartmentCode};
    use gridcase_eventstore::ExpectedVersion;

    fn status_of(error: impl Into<ApiError>) -> Status {
        Status::from(error.into())
    }

    #[test]
    fn each_kind_of_failure_has_its_code() {
        let department = |code: &str| Assignee::Department(DepartmentCode::parse(code).unwrap());
        let rows: Vec<(ApiError, Code)> = vec![
            (
                InvalidInput::new("description", "must not be empty").into(),
                Code::InvalidArgument,
            ),
            (
                ApiError::NotFound("case_id: no case".into()),
                Code::NotFound,
            ),
            (
                ApiError::PermissionDenied("x".into()),
                Code::PermissionDenied,
            ),
            (
                ApiError::refused("route", "no department"),
                Code::FailedPrecondition,
            ),
            (ApiError::Aborted("no free code".into()), Code::Aborted),
            (ApiError::Internal("bad reservation".into()), Code::Internal),
            (
                StoreError::Unavailable("down".into()).into(),
                Code::Unavailable,
            ),
            (
                CaseError::Store(StoreError::Unavailable("down".into())).into(),
                Code::Unavailable,
            ),
            (
                CaseError::Domain(ValidationError::new("note", "bad").into()).into(),
                Code::InvalidArgument,
            ),
            (DomainError::CaseDoesNotExist.into(), Code::NotFound),
            (
                DomainError::NotAssignee {
                    action: "accept",
                    by: department("gas"),
                    assignee: department("water"),
                }
                .into(),
                Code::PermissionDenied,
            ),
            (
                DomainError::CaseAlreadyExists {
                    status: CaseStatus::Triaged,
                }
                .into(),
                Code::FailedPrecondition,
            ),
            (
                CaseError::Contended {
                    case: CaseId::from_u128(1),
                    attempts: 8,
                }
                .into(),
                Code::Aborted,
            ),
        ];
        for (error, code) in rows {
            let text = error.to_string();
            assert_eq!(status_of(error).code(), code, "{text}");
        }
    }

    #[test]
    fn a_bad_field_is_named_in_the_message_and_in_the_details() {
        let status = status_of(InvalidInput::new("reporter.phone", "too short"));
        assert_eq!(status.message(), "reporter.phone: too short");
        let bad_request = status
            .get_details_bad_request()
            .expect("BadRequest details");
        assert_eq!(bad_request.field_violations.len(), 1);
        assert_eq!(bad_request.field_violations[0].field, "reporter.phone");
        assert_eq!(bad_request.field_violations[0].description, "too short");

        let status = status_of(CaseError::Domain(
            ValidationError::new("note", "bad").into(),
        ));
        let bad_request = status
            .get_details_bad_request()
            .expect("BadRequest details");
        assert_eq!(bad_request.field_violations[0].field, "note");
    }

    #[test]
    fn a_refusal_by_the_case_state_is_a_precondition_failure() {
        let status = status_of(DomainError::CaseAlreadyExists {
            status: CaseStatus::Triaged,
        });
        let failure = status
            .get_details_precondition_failure()
            .expect("PreconditionFailure details");
        assert_eq!(failure.violations[0].r#type, CASE_STATE);
        assert_eq!(failure.violations[0].subject, "case");
        assert!(status.message().contains("triaged"), "{}", status.message());
    }

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
            store_error_code(&StoreError::Corrupt {
                position: 1,
                reason: "x".into()
            }),
            Code::DataLoss
        );
    }
}
