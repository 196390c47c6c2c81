//! nats-server's `authorization { … }` block for gridcase: who may publish and subscribe to
//! what.
//!
//! - **`admin`**, the administrator's tools: every subject.
//! - **`svc-store`**, the event store: every subject (it answers the store's requests and
//!   publishes the event feed).
//! - **`svc-<service>`**, every other service: everything it needs, but it cannot answer the
//!   store's requests or the key vault's (so it cannot pose as either), publish on the event
//!   feed or announce commits; only dispatch publishes work orders, only triage emergency
//!   alerts, only intake asks the vault to seal a contact, only query and dispatch to open
//!   one, and none to erase a person (administrators do).
//! - **`dept-<code>`**, a department's system: it pulls and acknowledges its own work orders
//!   and nothing else — not another department's consumer, not the event store, not the event
//!   feed. nats-server 2.9 delivers pulled messages to the requester's inbox, so a department
//!   must connect with the inbox prefix [`inbox_prefix`] (async-nats:
//!   `ConnectOptions::custom_inbox_prefix`): it may subscribe only there, and so cannot read the
//!   replies meant for another department.

use std::fmt::Write as _;

use crate::logins::{service_user, ADMIN_USER};
use crate::subjects::{
    department_consumer, store_committed, StoreOp, ALERTS_ALL, DISPATCH_ALL, DISPATCH_STREAM,
    EVENTS_ALL, KEYS_ACCOUNT, KEYS_ALL, KEYS_ERASE, KEYS_OPEN, KEYS_SEAL, ROOT,
};

/// The services that log in to NATS, each as its own user (the HTTP gateway calls the others
/// over gRPC and has no NATS login).
pub const SERVICES: [&str; 7] = [
    "store",
    "intake",
    "triage",
    "dispatch",
    "supervision",
    "evaluation",
    "query",
];

/// A department as the authorization names it: its code and, for the comment, its name.
#[derive(Debug, Clone, Copy)]
pub struct Department<'a> {
    /// Its code (`gas`).
    pub code: &'a str,
    /// Its name.
    pub name: &'a str,
}

/// The NATS user of a department's system: the name of its durable consumer.
pub fn department_user(department: &str) -> String {
    department_consumer(department)
}

/// The inbox prefix a department's system must connect with.
pub fn inbox_prefix(department: &str) -> String {
    format!("_INBOX_{}", department_consumer(department))
}

/// Every user of an installation with `departments`: the administrator, the services and the
/// departments.
pub fn users<'a>(departments: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut users = vec![ADMIN_USER.to_owned()];
    users.extend(SERVICES.iter().map(|service| service_user(service)));
    users.extend(departments.into_iter().map(department_user));
    users
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

/// The store's request subjects, of every shard, and the key vault's: only the store may
/// subscribe to them.
fn store_request_subjects() -> Vec<String> {
    [
        StoreOp::Append,
        StoreOp::AppendBatch,
        StoreOp::ReadStream,
        StoreOp::ReadStreamPart,
        StoreOp::ReadAll,
        StoreOp::StreamVersion,
        StoreOp::Stats,
        StoreOp::Head,
    ]
    .iter()
    .map(|op| format!("{ROOT}.store.*.{}", op.token()))
    .chain([KEYS_ALL.to_owned()])
    .collect()
}

/// What the service `name` may not publish.
pub fn service_publish_denied(name: &str) -> Vec<String> {
    let mut denied = vec![EVENTS_ALL.to_owned(), store_committed("*")];
    if name != "dispatch" {
        denied.push(DISPATCH_ALL.to_owned());
    }
    if name != "triage" {
        denied.push(ALERTS_ALL.to_owned());
    }
    if name != "intake" {
        denied.push(KEYS_SEAL.to_owned());
    }
    if !["query", "dispatch"].contains(&name) {
        denied.push(KEYS_OPEN.to_owned());
    }
    if name != "evaluation" {
        denied.push(KEYS_ACCOUNT.to_owned());
    }
    denied.push(KEYS_ERASE.to_owned());
    denied
}

fn quoted(subjects: &[String]) -> String {
    subjects
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `authorization { … }` block of a nats-server configuration for the administrator, the
/// services and `departments`. `password(user)` gives the text after `password:` — a quoted
/// literal (`"s3cret"`) or an environment variable reference (`$GRIDCASE_NATS_PASSWORD_ADMIN`).
pub fn authorization(departments: &[Department<'_>], password: impl Fn(&str) -> String) -> String {
    let mut out = String::from("authorization {\n  users: [\n");
    let _ = writeln!(
        out,
        "    # The administrator's tools (verify, backup, benchmarks): every subject.\n    {{ user: \"{ADMIN_USER}\", password: {} }}",
        password(ADMIN_USER)
    );
    let store = service_user("store");
    let _ = writeln!(
        out,
        "    # The event store: its requests and the event feed.\n    {{ user: \"{store}\", password: {} }}",
        password(&store)
    );
    let store_requests = quoted(&store_request_subjects());
    for service in SERVICES.iter().filter(|s| **s != "store") {
        let user = service_user(service);
        let _ = writeln!(
            out,
            "    # The {service} service: not the store's part, nor another service's.\n    {{ user: \"{user}\", password: {password}, permissions: {{\n        publish: {{ allow: [\">\"], deny: [{denied}] }}\n        subscribe: {{ allow: [\">\"], deny: [{store_requests}] }}\n    }} }}",
            password = password(&user),
            denied = quoted(&service_publish_denied(service)),
        );
    }
    for department in departments {
        let code = department.code;
        let user = department_user(code);
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

/// The environment variable holding `user`'s password in the shipped configuration
/// (`deploy/nats/authorization.conf`): `GRIDCASE_NATS_PASSWORD_ADMIN`,
/// `GRIDCASE_NATS_PASSWORD_SVC_QUERY`, `GRIDCASE_NATS_PASSWORD_DEPT_GAS`.
pub fn password_variable(user: &str) -> String {
    format!(
        "GRIDCASE_NATS_PASSWORD_{}",
        user.to_ascii_uppercase().replace('-', "_")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn only_the_store_answers_its_requests_and_publishes_the_feed() {
        let block = authorization(&[], |user| format!("\"pw-{user}\""));
        let store_line = block.lines().find(|l| l.contains("\"svc-store\"")).unwrap();
        assert!(!store_line.contains("permissions"), "{store_line}");
        assert!(service_publish_denied("query").contains(&EVENTS_ALL.to_owned()));
        assert!(service_publish_denied("query").contains(&DISPATCH_ALL.to_owned()));
        assert!(!service_publish_denied("dispatch").contains(&DISPATCH_ALL.to_owned()));
        assert!(!service_publish_denied("triage").contains(&ALERTS_ALL.to_owned()));
        assert!(store_request_subjects().contains(&"gridcase.v1.store.*.append".to_owned()));
        assert!(store_request_subjects().contains(&KEYS_ALL.to_owned()));
        for service in SERVICES.iter().filter(|s| **s != "store") {
            let denied = service_publish_denied(service);
            assert!(denied.contains(&KEYS_ERASE.to_owned()), "{service}");
            assert_eq!(
                !denied.contains(&KEYS_SEAL.to_owned()),
                *service == "intake"
            );
            assert_eq!(
                !denied.contains(&KEYS_OPEN.to_owned()),
                ["query", "dispatch"].contains(service),
                "{service}"
            );
        }
        assert_eq!(
            users(["gas"]),
            [
                "admin",
                "svc-store",
                "svc-intake",
                "svc-triage",
                "svc-dispatch",
                "svc-supervision",
                "svc-evaluation",
                "svc-query",
                "dept-gas"
            ]
        );
    }
}
