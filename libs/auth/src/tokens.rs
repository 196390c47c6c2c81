//! The token table: bearer tokens and who holds each, from a TOML file and/or the
//! environment.
//!
//! The table keeps each token's SHA-256, not the token: a presented token is hashed and its
//! hash compared in constant time, so neither a memory dump nor the time a refusal takes gives
//! a token away. The one exception is a token of the gateway role, kept so that `gridcase up`
//! can run the HTTP gateway calling the services with it ([`TokenTable::token_for`]).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use ring::digest;
use serde::Deserialize;

use crate::{AuthError, Caller, Role, RoleKind};

/// The environment variable holding extra tokens as `token=role:id,token=role:id`.
pub const TOKENS_ENV: &str = "GRIDCASE_TOKENS";

/// The shortest token accepted: shorter ones are guessable.
pub const MIN_TOKEN_LEN: usize = 16;

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

/// A token's SHA-256.
type TokenHash = [u8; 32];

fn hash(token: &str) -> TokenHash {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    out
}

/// True if `a` and `b` are equal, taking the same time wherever they differ.
fn same(a: &TokenHash, b: &TokenHash) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Bearer tokens (their hashes) and who holds each.
#[derive(Clone, Default)]
pub struct TokenTable {
    callers: HashMap<TokenHash, Caller>,
    /// The tokens of the gateway role, which a process of the system calls the services with.
    own: Vec<(Secret, RoleKind)>,
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

    /// The caller holding `token`: found by the token's hash, which is then compared in
    /// constant time.
    pub fn caller(&self, token: &str) -> Option<&Caller> {
        let presented = hash(token);
        self.callers
            .get_key_value(&presented)
            .filter(|(known, _)| same(known, &presented))
            .map(|(_, caller)| caller)
    }

    /// A token of the gateway role (the first in token order, so the choice is stable), for
    /// the process that calls the services as the gateway — as `gridcase up` runs the HTTP
    /// gateway with a `gateway` token from the table it was given. Tokens of other roles are
    /// kept only as hashes: `None` for them.
    pub fn token_for(&self, kind: RoleKind) -> Option<Secret> {
        self.own
            .iter()
            .filter(|(_, own)| *own == kind)
            .map(|(token, _)| token)
            .min_by(|a, b| a.expose().cmp(b.expose()))
            .cloned()
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
        self.insert_hashed(source_name, entry, hash(token.expose()), caller.clone())?;
        if caller.role.kind() == RoleKind::Gateway {
            self.own.push((token, RoleKind::Gateway));
        }
        Ok(())
    }

    fn insert_hashed(
        &mut self,
        source_name: &str,
        entry: String,
        token: TokenHash,
        caller: Caller,
    ) -> Result<(), AuthError> {
        if let Some(holder) = self.callers.get(&token) {
            return Err(AuthError::BadEntry {
                source_name: source_name.to_owned(),
                entry,
                reason: format!("repeats the token of {holder}"),
            });
        }
        self.callers.insert(token, caller);
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

    /// Reads the token file at `path`, refusing one that every user of the machine may read
    /// or write: its tokens would let anyone act as their holders.
    pub fn load(path: &Path) -> Result<Self, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Io {
            path: path.to_owned(),
            source,
        })?;
        check_not_world_accessible(path)?;
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
            self.insert_hashed(source_name, name, token, caller)?;
        }
        self.own.extend(other.own);
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

#[cfg(unix)]
fn check_not_world_accessible(path: &Path) -> Result<(), AuthError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| AuthError::Io {
            path: path.to_owned(),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o006 != 0 {
        return Err(AuthError::Exposed {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_not_world_accessible(_: &Path) -> Result<(), AuthError> {
    Ok(())
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::GOOD;
    use crate::RoleKind;

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
        // Whatever mode the checkout gave the file (the scripts make it 0600).
        let text = std::fs::read_to_string(&path).unwrap();
        let table = TokenTable::from_toml(&text, "tokens.toml").unwrap();
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
        assert_eq!(
            table.token_for(RoleKind::Gateway).unwrap().expose(),
            "gateway-token-000001"
        );
        assert!(table.token_for(RoleKind::Admin).is_none());
    }

    #[test]
    fn env_tokens_layer_over_the_file() {
        let dir = std::env::temp_dir().join(format!("gridcase-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.toml");
        std::fs::write(&path, GOOD).unwrap();
        private(&path);
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

    #[cfg(unix)]
    fn private(path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    #[cfg(not(unix))]
    fn private(_: &Path) {}

    #[cfg(unix)]
    #[test]
    fn a_token_file_anyone_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("gridcase-auth-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.toml");
        std::fs::write(&path, GOOD).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = TokenTable::load(&path).unwrap_err();
        assert!(
            matches!(error, AuthError::Exposed { mode: 0o644, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("chmod 600"), "{error}");
        // Readable by its owner and group only: loaded.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(TokenTable::load(&path).unwrap().len(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_hashes_are_kept_except_the_gateway_token() {
        let table = TokenTable::from_toml(GOOD, "tokens.toml").unwrap();
        // The token itself is nowhere in the table's memory but as its hash.
        assert!(table.own.is_empty());
        assert!(table.callers.contains_key(&hash("operator-token-0001")));
        assert!(table.caller("operator-token-0002").is_none());
        assert!(table.token_for(RoleKind::Operator).is_none());
        assert!(!same(&hash("a"), &hash("b")));
        assert!(same(&hash("a"), &hash("a")));
    }
}
