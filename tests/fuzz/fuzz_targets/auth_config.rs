//! The authentication loaders: token tables (`tokens.toml` and `GRIDCASE_TOKENS`), role and
//! caller specs, and a department's NATS login file. Each answers a value or an error; a parsed
//! role or caller prints back to what parses to itself.
#![no_main]

use gridcase_auth::{Caller, Role, RoleKind, TokenTable};
use gridcase_bus::logins::DepartmentLogin;
use gridcase_fuzz::split;
use libfuzzer_sys::fuzz_target;

/// A loaded table knows the caller of every token it hands out.
fn check(table: &TokenTable) {
    for kind in RoleKind::ALL {
        if let Some(token) = table.token_for(kind) {
            let caller = table.caller(token.expose()).expect("the table's own token");
            assert_eq!(caller.role.kind(), kind);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (selector, bytes) = split(data);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match selector % 6 {
        0 => {
            if let Ok(table) = TokenTable::from_toml(text, "tokens.toml") {
                check(&table);
            }
        }
        1 => {
            if let Ok(table) = TokenTable::from_env_value(text) {
                check(&table);
            }
        }
        2 => {
            if let Ok(role) = Role::parse(text) {
                let again = Role::parse(&role.to_string());
                assert_eq!(again.ok().as_ref(), Some(&role), "{role}");
            }
        }
        3 => {
            if let Ok(caller) = Caller::parse(text) {
                let actor = caller.actor();
                let again = Caller::parse(&actor).map(|again| again.actor());
                assert_eq!(again.ok().as_ref(), Some(&actor));
            }
        }
        4 => {
            if let Ok(kind) = RoleKind::parse(text) {
                assert_eq!(kind.as_str(), text);
            }
        }
        _ => {
            if let Ok(login) = DepartmentLogin::parse(text) {
                let again = DepartmentLogin::parse(&login.file_text("清河区水务局"));
                assert!(again.is_ok());
            }
        }
    }
});
