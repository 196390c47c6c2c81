//! NATS logins of one installation: a user and a generated password for the administrator's
//! tools, for each service and for each department's system, kept in one file readable by its
//! owner only. The file is written on first start and reused after; a user it lacks (a
//! department added to the reference data) gets a password of its own the next time, and the
//! others keep theirs.
//!
//! Passwords never appear in a `Debug` output, a log line or an error: they are written to
//! the file, to nats-server's configuration (also the owner's only) and to a department's own
//! login file, nowhere else.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};

/// The user of the administrator's tools (`gridcase verify`, benchmarks): every subject.
pub const ADMIN_USER: &str = "admin";

/// How many random bytes a generated password has (hex in the file: 48 digits).
const PASSWORD_BYTES: usize = 24;

/// The NATS user of the service `name` (`store`, `intake`, …): `svc-<name>`.
pub fn service_user(name: &str) -> String {
    format!("svc-{name}")
}

/// Why the logins could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LoginsError {
    /// The file could not be read, created or replaced.
    #[error("NATS logins {path}: {source}")]
    Io {
        /// The logins file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// Others than its owner may read the file: its passwords must be taken as known.
    #[error(
        "NATS logins {path} may be read by others than its owner (mode {mode:o}): run chmod 600 \
         on it, and consider its passwords exposed (delete it to have new ones generated)"
    )]
    Exposed {
        /// The logins file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A line is not `user password`.
    #[error("NATS logins {path}, line {line}: expected `user password`")]
    Malformed {
        /// The logins file.
        path: PathBuf,
        /// The line's number, from 1.
        line: usize,
    },
}

/// One user and its password.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    user: String,
    password: String,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Login {
    /// A login from its parts.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password: for a connection or a configuration file, never for a log.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `options` logging in as this user.
    pub fn apply(&self, options: async_nats::ConnectOptions) -> async_nats::ConnectOptions {
        options.user_and_password(self.user.clone(), self.password.clone())
    }
}

/// Every login of an installation, as its file holds them.
pub struct Logins {
    path: PathBuf,
    passwords: BTreeMap<String, String>,
}

impl fmt::Debug for Logins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logins")
            .field("path", &self.path)
            .field("users", &self.passwords.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn random_password(random: &SystemRandom) -> std::io::Result<String> {
    let mut bytes = [0u8; PASSWORD_BYTES];
    random
        .fill(&mut bytes)
        .map_err(|_| std::io::Error::other("the system random source failed"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Refuses a file others than its owner may read.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), LoginsError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| LoginsError::Io {
            path: path.to_owned(),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(LoginsError::Exposed {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), LoginsError> {
    Ok(())
}

/// Writes `contents` to `path` readable and writable by its owner only, through a temporary
/// file renamed over it, so a crash leaves the old file or the new one, never half of one.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    #[cfg(unix)]
    {
        // An existing temporary file keeps its mode through open: set it again.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

impl Logins {
    /// Reads the logins at `path`, giving every user of `users` it lacks a new random password
    /// and writing the file back (mode 0600) if it had to; creates the file on first start.
    /// A file others may read is refused, not repaired: its passwords may be known.
    pub fn load_or_create(
        path: &Path,
        users: impl IntoIterator<Item = String>,
    ) -> Result<Self, LoginsError> {
        let io = |source| LoginsError::Io {
            path: path.to_owned(),
            source,
        };
        let mut passwords = BTreeMap::new();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                check_private(path)?;
                for (index, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let mut parts = line.split_whitespace();
                    match (parts.next(), parts.next(), parts.next()) {
                        (Some(user), Some(password), None) => {
                            passwords.insert(user.to_owned(), password.to_owned());
                        }
                        _ => {
                            return Err(LoginsError::Malformed {
                                path: path.to_owned(),
                                line: index + 1,
                            })
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let random = SystemRandom::new();
        let mut added = false;
        for user in users {
            if let std::collections::btree_map::Entry::Vacant(entry) = passwords.entry(user) {
                entry.insert(random_password(&random).map_err(io)?);
                added = true;
            }
        }
        let logins = Self {
            path: path.to_owned(),
            passwords,
        };
        if added {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            write_private(path, logins.file_text().as_bytes()).map_err(io)?;
        }
        Ok(logins)
    }

    fn file_text(&self) -> String {
        let mut text = String::from(
            "# NATS logins of this gridcase installation: `user password`, one per line.\n\
             # Generated on first start; keep this file readable by its owner only.\n",
        );
        for (user, password) in &self.passwords {
            text.push_str(user);
            text.push(' ');
            text.push_str(password);
            text.push('\n');
        }
        text
    }

    /// The file the logins are kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `user`'s login, if the file has one.
    pub fn login(&self, user: &str) -> Option<Login> {
        self.passwords
            .get(user)
            .map(|password| Login::new(user, password.clone()))
    }

    /// The password of `user` as nats-server's configuration writes it (quoted), for
    /// [`crate::authorization::authorization`]; an empty quoted string for a user it lacks,
    /// which nats-server then never lets in with a password.
    pub fn quoted_password(&self, user: &str) -> String {
        format!(
            "\"{}\"",
            self.passwords.get(user).map_or("", String::as_str)
        )
    }
}

/// What a department's system needs to pull its work orders: where NATS is, its login, the
/// inbox prefix it must connect with, and its stream and consumer. Written by
/// `gridcase nats-login` into a file of its own (mode 0600) that is handed to the department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentLogin {
    /// The NATS URL, without credentials.
    pub url: String,
    /// Its user (`dept-<code>`) and password.
    pub login: Login,
    /// The inbox prefix to connect with: the only subjects it may receive on.
    pub inbox_prefix: String,
    /// The work-order stream.
    pub stream: String,
    /// Its durable consumer on the stream.
    pub consumer: String,
}

impl DepartmentLogin {
    /// The file's text: `key = "value"` lines (TOML) under a comment naming the department.
    pub fn file_text(&self, department_name: &str) -> String {
        format!(
            "# NATS login of {department_name} to gridcase's work orders. Keep it secret.\n\
             # Connect with the user and password and with the inbox prefix (the only subjects\n\
             # this user may receive on), then pull from the consumer and acknowledge.\n\
             url = \"{}\"\nuser = \"{}\"\npassword = \"{}\"\ninbox_prefix = \"{}\"\n\
             stream = \"{}\"\nconsumer = \"{}\"\n",
            self.url,
            self.login.user,
            self.login.password,
            self.inbox_prefix,
            self.stream,
            self.consumer
        )
    }

    /// Reads a file [`DepartmentLogin::file_text`] wrote; the error names the first key missing.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value = |key: &str| {
            text.lines()
                .filter_map(|line| line.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().trim_matches('"').to_owned())
                .ok_or_else(|| format!("no `{key}` in the department's login file"))
        };
        Ok(Self {
            url: value("url")?,
            login: Login::new(value("user")?, value("password")?),
            inbox_prefix: value("inbox_prefix")?,
            stream: value("stream")?,
            consumer: value("consumer")?,
        })
    }

    /// `options` logging in as the department, with its inbox prefix.
    pub fn apply(&self, options: async_nats::ConnectOptions) -> async_nats::ConnectOptions {
        self.login
            .apply(options)
            .custom_inbox_prefix(self.inbox_prefix.clone())
    }

    /// Connects as the department (see [`DepartmentLogin::apply`]).
    pub async fn connect(&self) -> Result<async_nats::Client, async_nats::ConnectError> {
        crate::connect_with(&self.url, |options| self.apply(options)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn logins_are_generated_once_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets/nats-logins");
        let first = Logins::load_or_create(&path, users(&["admin", "svc-store"])).unwrap();
        let admin = first.login("admin").unwrap();
        assert_eq!(admin.password().len(), 2 * PASSWORD_BYTES);
        assert_ne!(
            admin.password(),
            first.login("svc-store").unwrap().password()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Started again with a new department: the old passwords stay, the new user gets one.
        let second =
            Logins::load_or_create(&path, users(&["admin", "svc-store", "dept-gas"])).unwrap();
        assert_eq!(second.login("admin").unwrap(), admin);
        assert!(second.login("dept-gas").is_some());
        assert!(second.login("dept-water").is_none());
        let third = Logins::load_or_create(&path, users(&["admin"])).unwrap();
        assert_eq!(
            third.login("dept-gas").unwrap(),
            second.login("dept-gas").unwrap()
        );
    }

    #[test]
    fn no_password_reaches_a_debug_output() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nats-logins");
        let logins = Logins::load_or_create(&path, users(&["admin"])).unwrap();
        let login = logins.login("admin").unwrap();
        for shown in [format!("{logins:?}"), format!("{login:?}")] {
            assert!(shown.contains("admin"), "{shown}");
            assert!(!shown.contains(login.password()), "{shown}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nats-logins");
        Logins::load_or_create(&path, users(&["admin"])).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = Logins::load_or_create(&path, users(&["admin"])).unwrap_err();
        assert!(matches!(error, LoginsError::Exposed { mode: 0o644, .. }));
        assert!(error.to_string().contains("chmod 600"), "{error}");
    }

    #[test]
    fn a_malformed_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nats-logins");
        write_private(&path, b"# comment\nadmin abc\nsvc-store\n").unwrap();
        let error = Logins::load_or_create(&path, users(&["admin"])).unwrap_err();
        assert!(
            matches!(error, LoginsError::Malformed { line: 3, .. }),
            "{error}"
        );
    }

    #[test]
    fn a_department_login_file_reads_back() {
        let login = DepartmentLogin {
            url: "nats://127.0.0.1:4222".to_owned(),
            login: Login::new("dept-gas", "abc123"),
            inbox_prefix: "_INBOX_dept-gas".to_owned(),
            stream: "GRIDCASE_DISPATCH".to_owned(),
            consumer: "dept-gas".to_owned(),
        };
        let text = login.file_text("清河燃气有限公司");
        assert!(
            text.starts_with("# NATS login of 清河燃气有限公司"),
            "{text}"
        );
        assert_eq!(DepartmentLogin::parse(&text).unwrap(), login);
        let error = DepartmentLogin::parse("url = \"nats://x\"\n").unwrap_err();
        assert!(error.contains("`user`"), "{error}");
    }
}
