//! NATS authorization for department systems: each department logs in as its own user that can
//! pull and acknowledge its own work orders and nothing else — not another department's
//! consumer, not the event store, not the event feed. The gridcase services share one user with
//! every permission.
//!
//! nats-server 2.9 delivers pulled messages to the requester's inbox, so a department must use
//! the inbox prefix [`inbox_prefix`] (async-nats: `ConnectOptions::custom_inbox_prefix`): it may
//! subscribe only there, and so cannot read the replies meant for another department.

use std::fmt::Write as _;

use gridcase_config::ReferenceData;

use gridcase_bus::subjects::{department_consumer, DISPATCH_STREAM};

/// The NATS user the gridcase services log in as.
pub const SERVICES_USER: &str = "gridcase";

/// The NATS user of a department's system: the name of its durable consumer.
pub fn department_user(department: &str) -> String {
    department_consumer(department)
}

/// The inbox prefix a department's system must connect with.
pub fn inbox_prefix(department: &str) -> String {
    format!("_INBOX_{}", department_consumer(department))
}

/// The subjects a department may publish to: its consumer's info, next-message requests and
/// acknowledgements, and the work-order stream's info.
pub fn department_publish(department: &str) -> Vec<String> {
    let consumer = department_consumer(department);
    vec![
        format!("$JS.API.STREAM.INFO.{DISPATCH_STREAM}"),
        format!("$JS.API.CONSUMER.INFO.{DISPATCH_STREAM}.{consumer}"),
        format!("$JS.API.CONSUMER.MSG.NEXT.{DISPATCH_STREAM}.{consumer}"),
        format!("$JS.ACK.{DISPATCH_STREAM}.{consumer}.>"),
    ]
}

/// The `authorization { … }` block of a nats-server configuration for every department in
/// `reference` and the services. `password(user)` gives the text after `password:` — a quoted
/// literal (`"s3cret"`) or an environment variable reference (`$GRIDCASE_NATS_PASSWORD`).
pub fn authorization(reference: &ReferenceData, password: impl Fn(&str) -> String) -> String {
    let mut out = String::from("authorization {\n  users: [\n");
    let _ = writeln!(
        out,
        "    # The gridcase services: every subject.\n    {{ user: \"{SERVICES_USER}\", password: {} }}",
        password(SERVICES_USER)
    );
    for department in reference.departments() {
        let code = department.code.as_str();
        let user = department_user(code);
        let quoted = |subjects: &[String]| {
            subjects
                .iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "    # {name}: its own work orders only.\n    {{ user: \"{user}\", password: {password}, permissions: {{\n        publish: {{ allow: [{publish}] }}\n        subscribe: {{ allow: [\"{inbox}.>\"] }}\n    }} }}",
            name = department.name,
            password = password(&user),
            publish = quoted(&department_publish(code)),
            inbox = inbox_prefix(code),
        );
    }
    out.push_str("  ]\n}\n");
    out
}

/// The environment variable holding `user`'s password in the shipped configuration:
/// `GRIDCASE_NATS_PASSWORD` for the services, `GRIDCASE_NATS_PASSWORD_DEPT_GAS` for `dept-gas`.
pub fn password_variable(user: &str) -> String {
    if user == SERVICES_USER {
        "GRIDCASE_NATS_PASSWORD".to_owned()
    } else {
        format!(
            "GRIDCASE_NATS_PASSWORD_{}",
            user.to_ascii_uppercase().replace('-', "_")
        )
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

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
            "# nats-server authorization for gridcase: one user for the services, one per\n\
             # department that can only pull and acknowledge its own work orders. Passwords\n\
             # come from the environment of nats-server. Generated from\n\
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
    fn a_department_publishes_only_for_its_own_consumer() {
        assert_eq!(
            department_publish("gas"),
            [
                "$JS.API.STREAM.INFO.GRIDCASE_DISPATCH",
                "$JS.API.CONSUMER.INFO.GRIDCASE_DISPATCH.dept-gas",
                "$JS.API.CONSUMER.MSG.NEXT.GRIDCASE_DISPATCH.dept-gas",
                "$JS.ACK.GRIDCASE_DISPATCH.dept-gas.>",
            ]
        );
        assert_eq!(inbox_prefix("gas"), "_INBOX_dept-gas");
        assert_eq!(
            password_variable("dept-urban_mgmt"),
            "GRIDCASE_NATS_PASSWORD_DEPT_URBAN_MGMT"
        );
    }
}
