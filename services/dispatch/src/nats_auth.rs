//! The NATS authorization for this installation's departments (the generator and the
//! permissions it grants are [`gridcase_bus::authorization`]'s), and the shipped
//! `deploy/nats/authorization.conf` kept in step with `deploy/config/departments.toml`.

use gridcase_bus::authorization::{self, Department};
use gridcase_config::ReferenceData;

/// The departments of `reference`, as the authorization names them.
pub fn departments(reference: &ReferenceData) -> Vec<Department<'_>> {
    reference
        .departments()
        .map(|department| Department {
            code: department.code.as_str(),
            name: &department.name,
        })
        .collect()
}

/// Every NATS user of an installation with `reference`'s departments.
pub fn users(reference: &ReferenceData) -> Vec<String> {
    authorization::users(departments(reference).iter().map(|d| d.code))
}

/// The `authorization { … }` block for the administrator, the services and every department in
/// `reference`; `password(user)` as [`authorization::authorization`] takes it.
pub fn authorization(reference: &ReferenceData, password: impl Fn(&str) -> String) -> String {
    authorization::authorization(&departments(reference), password)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use gridcase_bus::authorization::password_variable;

    fn deploy() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
    }

    /// `deploy/nats/authorization.conf` is the block for the sample departments, passwords
    /// from environment variables. `GRIDCASE_BLESS=1 cargo test -p gridcase-dispatch` rewrites
    /// it after a change to the departments.
    #[test]
    fn the_shipped_authorization_matches_the_departments() {
        let reference = ReferenceData::load(&deploy().join("config")).unwrap();
        let expected = format!(
            "# nats-server authorization for gridcase: a user for the administrator's tools, one\n\
             # per service and one per department, which can only pull and acknowledge its own\n\
             # work orders. Passwords come from the environment of nats-server. Generated from\n\
             # deploy/config/departments.toml by the gridcase-dispatch tests\n\
             # (GRIDCASE_BLESS=1 cargo test -p gridcase-dispatch); do not edit by hand.\n{}",
            authorization(&reference, |user| format!("${}", password_variable(user)))
        );
        let path = deploy().join("nats/authorization.conf");
        if std::env::var_os("GRIDCASE_BLESS").is_some() {
            std::fs::write(&path, &expected).unwrap();
        }
        let shipped = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            shipped == expected,
            "{} is out of date with the departments: run GRIDCASE_BLESS=1 cargo test -p \
             gridcase-dispatch",
            path.display()
        );
    }

    #[test]
    fn every_department_has_a_user() {
        let reference = ReferenceData::load(&deploy().join("config")).unwrap();
        let users = users(&reference);
        assert!(users.contains(&"dept-gas".to_owned()), "{users:?}");
        assert_eq!(
            users.len(),
            1 + authorization::SERVICES.len() + reference.departments().count()
        );
    }
}
