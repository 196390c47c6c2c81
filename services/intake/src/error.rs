//! Why an intake request failed, and the one table that maps each reason to a gRPC code.

use gridcase_casestore::CaseError;
use gridcase_eventstore::StoreError;
use gridcase_grpc::{case_status, store_status};
use tonic::{Code, Status};

use crate::report::InvalidInput;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The request is malformed or names unknown reference data.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The caller may not make this request (its role allows the RPC, not these values).
    #[error("{0}")]
    PermissionDenied(String),
    /// Nothing is known under what the caller asked for.
    #[error("{0}")]
    NotFound(String),
    /// Acting on the case failed.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// The store failed outside a case command (tracking-code reservations).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Every tracking-code candidate was taken by another case.
    #[error("tracking_code: no free code after {attempts} candidates")]
    NoFreeTrackingCode {
        /// Candidates tried.
        attempts: u32,
    },
    /// A reservation stream holds something other than a reservation.
    #[error("tracking code reservation {stream}: {reason}")]
    BadReservation {
        /// The reservation stream.
        stream: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl IntakeError {
    /// The gRPC status for this error.
    pub fn to_status(&self) -> Status {
        match self {
            Self::Invalid(e) => Status::invalid_argument(e.to_string()),
            Self::NotFound(message) => Status::not_found(message.clone()),
            Self::PermissionDenied(message) => Status::permission_denied(message.clone()),
            Self::Store(e) => store_status(e),
            Self::Case(e) => case_status(e),
            Self::NoFreeTrackingCode { .. } => Status::new(Code::Aborted, self.to_string()),
            Self::BadReservation { .. } => Status::internal(self.to_string()),
        }
    }
}

impl From<IntakeError> for Status {
    fn from(error: IntakeError) -> Self {
        error.to_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_domain::DomainError;
    use gridcase_domain::{CaseId, CaseStatus, ValidationError};

    #[test]
    fn each_kind_of_failure_has_its_code() {
        let code = |error: IntakeError| error.to_status().code();
        assert_eq!(
            code(InvalidInput::new("description", "must not be empty").into()),
            Code::InvalidArgument
        );
        assert_eq!(code(IntakeError::NotFound("x".into())), Code::NotFound);
        assert_eq!(
            code(IntakeError::PermissionDenied("x".into())),
            Code::PermissionDenied
        );
        assert_eq!(
            code(CaseError::Store(StoreError::Unavailable("down".into())).into()),
            Code::Unavailable
        );
        assert_eq!(
            code(StoreError::Unavailable("down".into()).into()),
            Code::Unavailable
        );
        assert_eq!(
            code(CaseError::Domain(ValidationError::new("note", "bad").into()).into()),
            Code::InvalidArgument
        );
        assert_eq!(
            code(
                CaseError::Domain(DomainError::CaseAlreadyExists {
                    status: CaseStatus::Triaged
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
        assert_eq!(
            code(IntakeError::NoFreeTrackingCode { attempts: 8 }),
            Code::Aborted
        );
    }

    #[test]
    fn messages_keep_the_field_name() {
        let status =
            IntakeError::from(InvalidInput::new("reporter.phone", "too short")).to_status();
        assert_eq!(status.message(), "reporter.phone: too short");
    }
}
