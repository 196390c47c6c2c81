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

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// The environment variable holding extra tokens as `token=role:id,token=role:id`.
pub const TOKENS_ENV: &str = "GRIDCASE_TOKENS";

/// The shortest token accepted: shorter ones are guessable.
pub const MIN_TOKEN_LEN: usize = 16;

/// Why a role, a caller or a token table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A role or caller spec is malformed.
    #[error("{0}")]
    BadRole(String),
    /// The token file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The token file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The token file is not valid TOML of the expected shape.
    #[error("{source_name}: {message}")]
    Parse {
        /// Where the table came from.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// One entry of the table is unusable.
    #[error("{source_name}: {entry}: {reason}")]
    BadEntry {
        /// Where the table came from.
        source_name: String,
        /// Which entry, by position and caller (never by token).
        entry: String,
        /// What is wrong.
        reason: String,
    },
    /// Neither the token file nor the environment variable exists.
    #[error("no tokens: {path} does not exist and {TOKENS_ENV} is not set")]
    NoTokens {
        /// The token file looked for.
        path: PathBuf,
    },
}

/// The kinds of caller, without what they name: what an RPC's allow-list is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoleKind {
    /// A hotline operator at the command centre.
    Operator,
    /// A grid worker's app.
    GridWorker,
    /// A handling department.
    Department,
    /// A command-centre supervisor.
    Supervisor,
    /// A system administrator.
    Admin,
    /// The QR web gateway, acting for residents.
    Gateway,
}

impl RoleKind {
    /// Every kind, for listing.
    pub const ALL: [RoleKind; 6] = [
        Self::Operator,
        Self::GridWorker,
        Self::Department,
        Self::Supervisor,
        Self::Admin,
        Self::Gateway,
    ];

    /// The kind's name as written in token tables and actors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::GridWorker => "grid_worker",
            Self::Department => "department",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
            Self::Gateway => "gateway",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Result<Self, AuthError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|kind| kind.as_str()).collect();
                AuthError::BadRole(format!(
                    "unknown role {name:?}, expected one of {}",
                    known.join(", ")
                ))
            })
    }

    /// True for kinds that name something: `grid_worker:<worker>`, `department:<code>`.
    fn is_qualified(self) -> bool {
        matches!(self, Self::GridWorker | Self::Department)
    }
}

impl fmt::Display for RoleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a caller may do, and for whom.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// A hotline operator.
    Operator,
    /// A grid worker, by worker id.
    GridWorker(String),
    /// A handling department, by department code.
    Department(String),
    /// A command-centre supervisor.
    Supervisor,
    /// A system administrator.
    Admin,
    /// The QR web gateway, acting for residents.
    Gateway,
}

impl Role {
    /// The role's kind.
    pub fn kind(&self) -> RoleKind {
        match self {
            Self::Operator => RoleKind::Operator,
            Self::GridWorker(_) => RoleKind::GridWorker,
            Self::Department(_) => RoleKind::Department,
            Self::Supervisor => RoleKind::Supervisor,
            Self::Admin => RoleKind::Admin,
            Self::Gateway => RoleKind::Gateway,
        }
    }

    /// Parses `operator`, `supervisor`, `admin`, `gateway`, `grid_worker:<worker id>` or
    /// `department:<code>`.
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        let (kind, qualifier) = match text.split_once(':') {
            Some((kind, qualifier)) => (RoleKind::parse(kind)?, Some(qualifier)),
            None => (RoleKind::parse(text)?, None),
        };
        Self::from_parts(kind, qualifier)
    }

    fn from_parts(kind: RoleKind, qualifier: Option<&str>) -> Result<Self, AuthError> {
        let named = |what: &str| -> Result<String, AuthError> {
            let value = qualifier.ok_or_else(|| {
                AuthError::BadRole(format!("role {kind} needs a {what}: {kind}:<{what}>"))
            })?;
            check_name(value, &format!("{kind} {what}"))?;
            Ok(value.to_owned())
        };
        let role = match kind {
            RoleKind::GridWorker => Self::GridWorker(named("worker id")?),
            RoleKind::Department => Self::Department(named("department code")?),
            RoleKind::Operator => Self::Operator,
            RoleKind::Supervisor => Self::Supervisor,
            RoleKind::Admin => Self::Admin,
            RoleKind::Gateway => Self::Gateway,
        };
        if !kind.is_qualified() {
            if let Some(extra) = qualifier {
                return Err(AuthError::BadRole(format!(
                    "role {kind} takes no qualifier, got {kind}:{extra}"
                )));
            }
        }
        Ok(role)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GridWorker(worker) => write!(f, "grid_worker:{worker}"),
            Self::Department(code) => write!(f, "department:{code}"),
            other => f.write_str(other.kind().as_str()),
        }
    }
}

/// Ids and qualifiers are short identifiers: letters, digits, `-`, `_`, `.`.
fn check_name(value: &str, what: &str) -> Result<(), AuthError> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(AuthError::BadRole(format!(
            "{what} {value:?} must be 1 to 64 letters, digits, '-', '_' or '.'"
        )))
    }
}

/// An authenticated caller: its role and who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// What it may do.
    pub role: Role,
    /// Who it is (an operator's staff id, a department clerk, …); for a grid worker, the worker
    /// id.
    pub id: String,
}

impl Caller {
    /// A caller with `role` and `id`. A grid worker's id is its worker id: `id` may be left out
    /// and must match if given; every other role needs one.
    pub fn new(role: Role, id: Option<&str>) -> Result<Self, AuthError> {
        let id = match (&role, id) {
            (Role::GridWorker(worker), None) => worker.clone(),
            (Role::GridWorker(worker), Some(id)) if id != worker => {
                return Err(AuthError::BadRole(format!(
                    "a grid worker's id is its worker id: {role} cannot have id {id:?}"
                )))
            }
            (_, Some(id)) => id.to_owned(),
            (_, None) => return Err(AuthError::BadRole(format!("role {role} needs an id"))),
        };
        check_name(&id, "caller id")?;
        Ok(Self { role, id })
    }

    /// Parses `role:id` (`operator:op-001`, `department:urban_mgmt:clerk-01`,
    /// `grid_worker:lin-ming`).
    pub fn parse(spec: &str) -> Result<Self, AuthError> {
        let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
        let kind = RoleKind::parse(kind)?;
        let rest = (!rest.is_empty()).then_some(rest);
        if kind.is_qualified() {
            let (qualifier, id) = match rest.map(|rest| rest.split_once(':')) {
                Some(Some((qualifier, id))) => (Some(qualifier), Some(id)),
                Some(None) => (rest, None),
                None => (None, None),
            };
            Self::new(Role::from_parts(kind, qualifier)?, id)
        } else {
            Self::new(Role::from_parts(kind, None)?, rest)
        }
    }

    /// The caller as an event actor, `role:id`: `operator:op-001`, `grid_worker:lin-ming`,
    /// `department:urban_mgmt:clerk-01`.
    pub fn actor(&self) -> String {
        match &self.role {
            Role::GridWorker(_) => self.role.to_string(),
            role => format!("{role}:{}", self.id),
        }
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.actor())
    }
}

/// A value that must never be printed, such as a bearer token: `Debug` and `Display` show
/// `***`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Bearer tokens and who holds each.
#[derive(Clone, Default)]
pub struct TokenTable {
    callers: HashMap<String, Caller>,
}

impl fmt::Debug for TokenTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenTable")
            .field("tokens", &self.callers.len())
            .finish()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    #[serde(default)]
    token: Vec<TokenEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    token: Secret,
    role: String,
    id: Option<String>,
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

impl TokenTable {
    /// An empty table: every call is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many tokens it holds.
    pub fn len(&self) -> usize {
        self.callers.len()
    }

    /// True when no token is known.
    pub fn is_empty(&self) -> bool {
        self.callers.is_empty()
    }

    /// The caller holding `token`.
    pub fn caller(&self, token: &str) -> Option<&Caller> {
        self.callers.get(token)
    }

    /// Adds `token` for `caller`, refusing short and repeated tokens. `entry` names the entry
    /// in errors.
    fn insert(
        &mut self,
        source_name: &str,
        entry: String,
        token: Secret,
        caller: Caller,
    ) -> Result<(), AuthError> {
        let bad = |reason: String| AuthError::BadEntry {
            source_name: source_name.to_owned(),
            entry: entry.clone(),
            reason,
        };
        let length = token.expose().chars().count();
        if length < MIN_TOKEN_LEN {
            return Err(bad(format!(
                "token is {length} characters, at least {MIN_TOKEN_LEN}"
            )));
        }
        if token.expose().chars().any(|c| !c.is_ascii_graphic()) {
            return Err(bad(
                "token must be printable ASCII without spaces or commas".into(),
            ));
        }
        if let Some(holder) = self.callers.get(token.expose()) {
            return Err(bad(format!("repeats the token of {holder}")));
        }
        self.callers.insert(token.0, caller);
        Ok(())
    }

    /// Parses a token file's text; `source_name` (usually the path) names it in errors.
    pub fn from_toml(text: &str, source_name: &str) -> Result<Self, AuthError> {
        // The error's own rendering quotes the offending line, which may hold a token: give
        // the line number and the message only.
        let file: TokenFile = toml::from_str(text).map_err(|e| AuthError::Parse {
            source_name: match e.span() {
                Some(span) => format!("{source_name}:{}", line_of(text, span.start)),
                None => source_name.to_owned(),
            },
            message: e.message().trim_end().to_owned(),
        })?;
        let mut table = Self::new();
        for (index, entry) in file.token.into_iter().enumerate() {
            let position = format!("[[token]] #{}", index + 1);
            let caller = Role::parse(&entry.role)
                .and_then(|role| Caller::new(role, entry.id.as_deref()))
                .map_err(|e| AuthError::BadEntry {
                    source_name: source_name.to_owned(),
                    entry: position.clone(),
                    reason: e.to_string(),
                })?;
            let name = format!("{position} ({caller})");
            table.insert(source_name, name, entry.token, caller)?;
        }
        Ok(table)
    }

    /// Reads the token file at `path`.
    pub fn load(path: &Path) -> Result<Self, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Parses the `GRIDCASE_TOKENS` format: `token=role:id` entries separated by commas.
    pub fn from_env_value(value: &str) -> Result<Self, AuthError> {
        let mut table = Self::new();
        let entries = value.split(',').map(str::trim).filter(|e| !e.is_empty());
        for (index, entry) in entries.enumerate() {
            let position = format!("entry #{}", index + 1);
            let bad = |reason: String| AuthError::BadEntry {
                source_name: TOKENS_ENV.to_owned(),
                entry: position.clone(),
                reason,
            };
            let (token, spec) = entry
                .split_once('=')
                .ok_or_else(|| bad("expected token=role:id".into()))?;
            let caller = Caller::parse(spec.trim()).map_err(|e| bad(e.to_string()))?;
            let name = format!("{position} ({caller})");
            table.insert(TOKENS_ENV, name, Secret::new(token.trim()), caller)?;
        }
        Ok(table)
    }

    /// Adds every token of `other`, refusing any this table already holds.
    pub fn merge(&mut self, other: Self, source_name: &str) -> Result<(), AuthError> {
        for (token, caller) in other.callers {
            let name = caller.to_string();
            self.insert(source_name, name, Secret(token), caller)?;
        }
        Ok(())
    }

    /// The file at `path` layered with `env` (the value of `GRIDCASE_TOKENS`, if set). A
    /// missing file is fine when `env` supplies tokens.
    pub fn load_layered(path: &Path, env: Option<&str>) -> Result<Self, AuthError> {
        let mut table = match Self::load(path) {
            Ok(table) => table,
            Err(AuthError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound && env.is_some() =>
            {
                Self::new()
            }
            Err(AuthError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(AuthError::NoTokens {
                    path: path.to_owned(),
                })
            }
            Err(e) => return Err(e),
        };
        if let Some(env) = env {
            table.merge(Self::from_env_value(env)?, TOKENS_ENV)?;
        }
        Ok(table)
    }

    /// The file at `path` layered with the `GRIDCASE_TOKENS` environment variable.
    pub fn load_with_env(path: &Path) -> Result<Self, AuthError> {
        let env = std::env::var(TOKENS_ENV).ok();
        Self::load_layered(path, env.as_deref())
    }
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The interceptor that authenticates every request by its bearer token.
#[derive(Debug, Clone)]
pub struct Authenticator {
    tokens: Arc<TokenTable>,
}

impl Authenticator {
    /// Authenticates against `tokens`.
    pub fn new(tokens: Arc<TokenTable>) -> Self {
        Self { tokens }
    }

    fn caller(&self, request: &Request<()>) -> Result<Caller, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("missing bearer token"))?;
        let malformed =
            || Status::unauthenticated("malformed authorization header, expected: Bearer <token>");
        let header = header.to_str().map_err(|_| malformed())?;
        let (scheme, token) = header.trim().split_once(' ').ok_or_else(malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(malformed());
        }
        self.tokens
            .caller(token.trim())
            .cloned()
            .ok_or_else(|| Status::unauthenticated("unknown bearer token"))
    }
}

impl Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let caller = self.caller(&request).inspect_err(|status| {
            tracing::info!(reason = status.message(), "request refused");
        })?;
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

/// The caller of `request`, if its role is one of `allowed`; else PERMISSION_DENIED naming the
/// role and `rpc`. A request that never passed an [`Authenticator`] is UNAUTHENTICATED.
pub fn require<'a, T>(
    request: &'a Request<T>,
    rpc: &str,
    allowed: &[RoleKind],
) -> Result<&'a Caller, Status> {
    let caller = request
        .extensions()
        .get::<Caller>()
        .ok_or_else(|| Status::unauthenticated("missing bearer token"))?;
    let kind = caller.role.kind();
    if allowed.contains(&kind) {
        Ok(caller)
    } else {
        tracing::info!(caller = %caller, rpc, "permission denied");
        Err(Status::permission_denied(format!(
            "role {kind} may not call {rpc}"
        )))
    }
}

/// The `authorization` header value for `token`, for clients.
pub fn bearer_header(token: &str) -> Result<MetadataValue<Ascii>, AuthError> {
    format!("Bearer {token}")
        .parse()
        .map_err(|_| AuthError::BadRole("a bearer token must be printable ASCII".into()))
}

/// A client-side interceptor that sends one bearer token with every request.
#[derive(Debug, Clone)]
pub struct BearerToken {
    header: MetadataValue<Ascii>,
}

impl BearerToken {
    /// Sends `token`.
    pub fn new(token: &Secret) -> Result<Self, AuthError> {
        Ok(Self {
            header: bearer_header(token.expose())?,
        })
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.header.clone());
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    const GOOD: &str = r#"
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

    #[test]
    fn roles_parse_and_print_round_trip() {
        for text in [
            "operator",
            "supervisor",
            "admin",
            "gateway",
            "grid_worker:lin-ming",
            "department:urban_mgmt",
        ] {
            assert_eq!(Role::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            Role::parse("department:urban_mgmt").unwrap(),
            Role::Department("urban_mgmt".into())
        );
        assert_eq!(
            Role::parse("grid_worker:lin-ming").unwrap().kind(),
            RoleKind::GridWorker
        );
        for (bad, expected) in [
            ("janitor", "unknown role \"janitor\""),
            ("department", "role department needs a department code"),
            ("grid_worker:", "grid_worker worker id \"\" must be"),
            ("operator:x", "role operator takes no qualifier"),
            ("department:urban mgmt", "must be 1 to 64"),
        ] {
            let message = Role::parse(bad).unwrap_err().to_string();
            assert!(message.contains(expected), "{bad}: {message}");
        }
    }

    #[test]
    fn callers_parse_as_role_and_id() {
        let operator = Caller::parse("operator:op-001").unwrap();
        assert_eq!(operator.role, Role::Operator);
        assert_eq!(operator.actor(), "operator:op-001");
        let worker = Caller::parse("grid_worker:lin-ming").unwrap();
        assert_eq!(worker.id, "lin-ming");
        assert_eq!(worker.actor(), "grid_worker:lin-ming");
        let clerk = Caller::parse("department:urban_mgmt:clerk-01").unwrap();
        assert_eq!(clerk.role, Role::Department("urban_mgmt".into()));
        assert_eq!(clerk.actor(), "department:urban_mgmt:clerk-01");
        assert!(Caller::parse("operator").is_err());
        assert!(Caller::parse("grid_worker:lin-ming:someone-else").is_err());
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2-hunter2-hunter2");
        assert_eq!(format!("{secret} {secret:?}"), "*** ***");
        assert_eq!(secret.expose(), "hunter2-hunter2-hunter2");
        let table = TokenTable::from_toml(GOOD, "tokens.toml").unwrap();
        assert!(!format!("{table:?}").contains("operator-token"));
    }

    #[test]
    fn a_good_file_maps_tokens_to_callers() {
        let table = TokenTable::from_toml(GOOD, "tokens.toml").unwrap();
        assert_eq!(table.len(), 3);
        assert_eq!(
            table.caller("operator-token-0001").unwrap().actor(),
            "operator:op-001"
        );
        assert_eq!(
            table.caller("worker-token-lin-ming").unwrap().role,
            Role::GridWorker("lin-ming".into())
        );
        assert!(table.caller("nobody").is_none());
    }

    #[test]
    fn the_shipped_development_tokens_load() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config/tokens.toml");
        let table = TokenTable::load(&path).unwrap();
        let kinds: Vec<_> = table.callers.values().map(|c| c.role.kind()).collect();
        for kind in RoleKind::ALL {
            assert!(
                kinds.contains(&kind),
                "no {kind} token in {}",
                path.display()
            );
        }
    }

    #[test]
    fn duplicate_and_short_tokens_are_refused_naming_the_entry() {
        let duplicate = format!(
            "{GOOD}\n[[token]]\ntoken = \"operator-token-0001\"\nrole = \"admin\"\nid = \"root\"\n"
        );
        let message = TokenTable::from_toml(&duplicate, "tokens.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "tokens.toml: [[token]] #4 (admin:root): repeats the token of operator:op-001"
        );
        let short = "[[token]]\ntoken = \"short\"\nrole = \"operator\"\nid = \"op-9\"\n";
        let message = TokenTable::from_toml(short, "tokens.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "tokens.toml: [[token]] #1 (operator:op-9): token is 5 characters, at least 16"
        );
        assert!(!message.contains("short\""));
        let no_id = "[[token]]\ntoken = \"0123456789abcdef\"\nrole = \"operator\"\n";
        let message = TokenTable::from_toml(no_id, "t.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(message, "t.toml: [[token]] #1: role operator needs an id");
        let unknown_field =
            "[[token]]\ntoken = \"0123456789abcdef\"\nrole = \"admin\"\nname = \"x\"\n";
        let message = TokenTable::from_toml(unknown_field, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("t.toml:4: unknown field `name`"),
            "{message}"
        );
        let bad_string = "[[token]]\ntoken = \"secret-but-\\q-broken\"\nrole = \"admin\"\n";
        let message = TokenTable::from_toml(bad_string, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("t.toml:2: "), "{message}");
        assert!(!message.contains("secret-but"), "{message}");
    }

    #[test]
    fn the_env_format_is_token_equals_role_and_id() {
        let table = TokenTable::from_env_value(
            "gateway-token-000001=gateway:qr-web, worker-token-0000001=grid_worker:lin-ming,",
        )
        .unwrap();
        assert_eq!(table.len(), 2);
        assert_eq!(
            table.caller("gateway-token-000001").unwrap().actor(),
            "gateway:qr-web"
        );
        let message = TokenTable::from_env_value("a-token-of-length-16")
            .unwrap_err()
            .to_string();
        assert_eq!(message, "GRIDCASE_TOKENS: entry #1: expected token=role:id");
        let message = TokenTable::from_env_value("ok-token-0000000001=admin:a,tiny=admin:b")
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "GRIDCASE_TOKENS: entry #2 (admin:b): token is 4 characters, at least 16"
        );
    }

    #[test]
    fn env_tokens_layer_over_the_file() {
        let dir = std::env::temp_dir().join(format!("gridcase-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.toml");
        std::fs::write(&path, GOOD).unwrap();
        let table =
            TokenTable::load_layered(&path, Some("supervisor-token-01=supervisor:sup-1")).unwrap();
        assert_eq!(table.len(), 4);
        let clash = TokenTable::load_layered(&path, Some("operator-token-0001=admin:root"))
            .unwrap_err()
            .to_string();
        assert!(
            clash.contains("repeats the token of operator:op-001"),
            "{clash}"
        );
        let missing = dir.join("missing.toml");
        assert!(matches!(
            TokenTable::load_layered(&missing, None),
            Err(AuthError::NoTokens { .. })
        ));
        assert_eq!(
            TokenTable::load_layered(&missing, Some("supervisor-token-01=supervisor:s"))
                .unwrap()
                .len(),
            1
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn authenticate(header: Option<&str>) -> Result<Request<()>, Status> {
        let table = TokenTable::from_toml(GOOD, "tokens.toml").unwrap();
        let mut authenticator = Authenticator::new(Arc::new(table));
        let mut request = Request::new(());
        if let Some(header) = header {
            request
                .metadata_mut()
                .insert("authorization", header.parse().unwrap());
        }
        authenticator.call(request)
    }

    #[test]
    fn the_interceptor_refuses_missing_malformed_and_unknown_tokens() {
        for (header, message) in [
            (None, "missing bearer token"),
            (
                Some("operator-token-0001"),
                "malformed authorization header",
            ),
            (Some("Basic b3A6cHc="), "malformed authorization header"),
            (Some("Bearer "), "malformed authorization header"),
            (
                Some("Bearer not-a-known-token-at-all"),
                "unknown bearer token",
            ),
        ] {
            let refused = authenticate(header).unwrap_err();
            assert_eq!(refused.code(), Code::Unauthenticated, "{header:?}");
            assert!(
                refused.message().starts_with(message),
                "{header:?}: {refused:?}"
            );
        }
    }

    #[test]
    fn the_interceptor_hands_the_caller_to_require() {
        let request = authenticate(Some("Bearer operator-token-0001")).unwrap();
        let caller = require(
            &request,
            "ReportCase",
            &[RoleKind::Operator, RoleKind::Admin],
        )
        .unwrap();
        assert_eq!(caller.actor(), "operator:op-001");
        let request = authenticate(Some("bearer department-token-urban")).unwrap();
        let denied = require(&request, "ReportCase", &[RoleKind::Operator]).unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        assert_eq!(denied.message(), "role department may not call ReportCase");
        let unauthenticated = require(&Request::new(()), "ReportCase", &RoleKind::ALL).unwrap_err();
        assert_eq!(unauthenticated.code(), Code::Unauthenticated);
    }

    #[test]
    fn the_client_interceptor_sends_the_token() {
        let mut client = BearerToken::new(&Secret::new("operator-token-0001")).unwrap();
        let request = client.call(Request::new(())).unwrap();
        let header = request.metadata().get("authorization").unwrap().to_str();
        assert_eq!(header.unwrap(), "Bearer operator-token-0001");
        let table = TokenTable::from_toml(GOOD, "tokens.toml").unwrap();
        let request = Authenticator::new(Arc::new(table)).call(request).unwrap();
        assert!(request.extensions().get::<Caller>().is_some());
    }
}
