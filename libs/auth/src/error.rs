//! Why a role, a caller or a token table could not be read.

use std::path::PathBuf;

use crate::tokens::TOKENS_ENV;

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
    /// Every user of the machine may read (or write) the token file.
    #[error(
        "{path} may be read by any user of this machine (mode {mode:o}): its tokens let anyone \
         act as their holders; run chmod 600 on it (or chmod o-rw)"
    )]
    Exposed {
        /// The token file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Neither the token file nor the environment variable exists.
    #[error("no tokens: {path} does not exist and {TOKENS_ENV} is not set")]
    NoTokens {
        /// The token file looked for.
        path: PathBuf,
    },
}
