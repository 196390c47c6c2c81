//! Who is calling: bearer tokens mapped to roles, checked on every gRPC request.
//!
//! Each service wraps its gRPC server in an [`Authenticator`] (a tonic interceptor). It reads
//! `authorization: Bearer <token>`, looks the token up in a [`TokenTable`] and puts the
//! resulting [`Caller`] in the request's extensions; a handler then asks [`require`] whether the
//! caller's role may call that RPC. Health and reflection are not wrapped: probes and tooling
//! need no token.
//!
//! The table comes from a TOML file (`deploy/config/tokens.toml`):
//!
//! ```toml
//! [[token]]
//! token = "a-long-random-string"
//! role = "operator"
//! id = "op-001"
//! ```
//!
//! and/or the `GRIDCASE_TOKENS` environment variable, `token=role:id` entries separated by
//! commas. Roles that name something (`grid_worker:<worker>`, `department:<code>`) carry it in
//! the role; a grid worker's id is the worker's own id.
//!
//! Who may call which RPC is each handler's own allow-list of [`RoleKind`]s, except lists two
//! services share, which live here ([`INDICATOR_READERS`]).

mod error;
mod interceptor;
mod role;
mod tokens;

pub use error::AuthError;
pub use interceptor::{bearer_header, require, Authenticator, BearerToken};
pub use role::{Caller, Role, RoleKind};
pub use tokens::{Secret, TokenTable, MIN_TOKEN_LEN, TOKENS_ENV};

/// Who may read department indicators, from the evaluation or the query service: supervisors
/// and administrators.
pub const INDICATOR_READERS: &[RoleKind] = &[RoleKind::Supervisor, RoleKind::Admin];

#[cfg(test)]
pub(crate) mod fixtures {
    /// A token file with one operator, one grid worker and one department clerk.
    pub(crate) const GOOD: &str = r#"
        [[token]]
        token = "operator-token-0001"
        role = "operator"
        id = "op-001"

        [[token]]
        token = "worker-token-lin-ming"
        role = "grid_worker:lin-ming"

        [[token]]
        token = "department-token-urban"
        role = "department:urban_mgmt"
        id = "clerk-01"
    "#;
}
