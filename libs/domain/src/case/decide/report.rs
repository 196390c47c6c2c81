//! Reporting: the only command a case that does not exist yet accepts.
//! Reporting an existing case again is refused in [`super::decide`], which
//! knows the case's status.

use crate::case::Command;
use crate::error::{DomainError, Result};
use crate::event::CaseReported;

/// Opens a case from its first command, which must be `Report`.
pub(super) fn open(command: Command) -> Result<CaseReported> {
    match command {
        Command::Report {
            case_id,
            tracking_code,
            channel,
            reporter,
            location,
            description,
            category,
            media,
            reported_at,
        } => Ok(CaseReported {
            case_id,
            tracking_code,
            channel,
            reporter,
            location,
            description,
            category,
            media,
            reported_at,
        }),
        _ => Err(DomainError::CaseDoesNotExist),
    }
}

#[cfg(test)]
mod tests {
    use crate::case::fixtures::*;
    use crate::case::{decide, CaseState};
    use crate::error::DomainError;
    use crate::values::CaseStatus;

    #[test]
    fn report_opens_the_case() {
        let events = decide(&CaseState::default(), report()).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].type_name(), "CaseReported");
        let state = CaseState::from_events(&events);
        assert_eq!(state.status, Some(CaseStatus::Reported));
        assert_eq!(state.case_id, Some(CASE));
        assert_eq!(state.reported_at, Some(REPORTED_AT));
        assert_eq!(state.version, 1);
        assert!(state.is_open());
    }

    #[test]
    fn nothing_but_report_before_the_case_exists() {
        let error = refusal(&CaseState::default(), accept(water()));
        assert_eq!(error, DomainError::CaseDoesNotExist);
        assert_eq!(error.to_string(), "case does not exist");
    }

    #[test]
    fn reporting_twice_is_refused() {
        assert_eq!(
            refusal(&reported(), report()).to_string(),
            "cannot report: case already exists and is reported"
        );
    }
}
