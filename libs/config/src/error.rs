//! Why reference data was refused, and the file text it came from.
//!
//! Every error names the file it is about, so an operator starting the
//! service can go straight to the broken entry.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// The longest display name accepted for a grid, department or category.
const MAX_NAME_CHARS: usize = 100;

/// The crate-wide result type; loading fails with [`ConfigError`].
pub type Result<T, E = ConfigError> = std::result::Result<T, E>;

/// Why a reference data file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    #[error("{}: cannot read: {error}", .file.display())]
    Read {
        /// The file that could not be read.
        file: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The file is not valid TOML, or a value has the wrong type or fails
    /// the rules of its domain type (a malformed grid code, a bad phone).
    #[error("{}: {message}", Location::new(.file, *.line, *.column))]
    Syntax {
        /// The file with the error.
        file: PathBuf,
        /// 1-based line, when the parser knows it.
        line: Option<usize>,
        /// 1-based column in characters, when the parser knows it.
        column: Option<usize>,
        /// The parser's or the value type's reason.
        message: String,
    },
    /// The file parses but an entry breaks a rule of the reference data:
    /// an unknown department, a duplicate code, deadlines out of order.
    #[error("{}: {entry}: {reason}", Location::new(.file, *.line, None))]
    Invalid {
        /// The file with the bad entry.
        file: PathBuf,
        /// 1-based line of the entry (or of the offending value), when known.
        line: Option<usize>,
        /// The entry, e.g. `category SJ-03-02` or `priority urgent`.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    /// The file the error is about.
    pub fn file(&self) -> &Path {
        match self {
            ConfigError::Read { file, .. }
            | ConfigError::Syntax { file, .. }
            | ConfigError::Invalid { file, .. } => file,
        }
    }

    /// The 1-based line the error points at, if known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Syntax { line, .. } | ConfigError::Invalid { line, .. } => *line,
        }
    }
}

/// `file`, `file:line` or `file:line:column`, the form editors jump to.
struct Location<'a> {
    file: &'a Path,
    line: Option<usize>,
    column: Option<usize>,
}

impl<'a> Location<'a> {
    fn new(file: &'a Path, line: Option<usize>, column: Option<usize>) -> Self {
        Self { file, line, column }
    }
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// One reference data file: where it lives and its text, so that errors
/// found after parsing can still be turned into line numbers.
#[derive(Debug)]
pub(crate) struct Source {
    path: PathBuf,
    text: String,
}

impl Source {
    /// Reads `dir/name`.
    pub(crate) fn read(dir: &Path, name: &str) -> Result<Self> {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Self { path, text }),
            Err(error) => Err(ConfigError::Read { file: path, error }),
        }
    }

    /// Wraps text that did not come from disk.
    pub(crate) fn from_text(name: &str, text: &str) -> Self {
        Self {
            path: PathBuf::from(name),
            text: text.to_owned(),
        }
    }

    /// Deserialises the whole file, turning toml's byte span into a line.
    pub(crate) fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        toml::from_str(&self.text).map_err(|error| {
            let (line, column) = match error.span() {
                Some(span) => {
                    let (line, column) = self.line_and_column(span.start);
                    (Some(line), Some(column))
                }
                None => (None, None),
            };
            ConfigError::Syntax {
                file: self.path.clone(),
                line,
                column,
                message: error.message().trim_end().to_owned(),
            }
        })
    }

    /// An entry-level error pointing at `span` (a byte range of the text).
    pub(crate) fn invalid(
        &self,
        span: Range<usize>,
        entry: impl fmt::Display,
        reason: impl fmt::Display,
    ) -> ConfigError {
        ConfigError::Invalid {
            file: self.path.clone(),
            line: Some(self.line_of(span)),
            entry: entry.to_string(),
            reason: reason.to_string(),
        }
    }

    /// An error about the file as a whole (say, a required section is empty).
    pub(crate) fn invalid_file(
        &self,
        entry: impl fmt::Display,
        reason: impl fmt::Display,
    ) -> ConfigError {
        ConfigError::Invalid {
            file: self.path.clone(),
            line: None,
            entry: entry.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Checks a display name (of a grid, department, category): trimmed,
    /// not empty, at most 100 characters.
    pub(crate) fn checked_name(
        &self,
        name: &toml::Spanned<String>,
        entry: impl fmt::Display,
    ) -> Result<String> {
        let trimmed = name.get_ref().trim();
        let length = trimmed.chars().count();
        if length == 0 {
            return Err(self.invalid(name.span(), entry, "name must not be empty"));
        }
        if length > MAX_NAME_CHARS {
            return Err(self.invalid(
                name.span(),
                entry,
                format!("name has {length} characters, at most {MAX_NAME_CHARS}"),
            ));
        }
        Ok(trimmed.to_owned())
    }

    /// The 1-based line where `span` starts.
    pub(crate) fn line_of(&self, span: Range<usize>) -> usize {
        self.line_and_column(span.start).0
    }

    fn line_and_column(&self, offset: usize) -> (usize, usize) {
        let before = self.text.get(..offset).unwrap_or(&self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |index| index + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_like_compiler_output() {
        let error = ConfigError::Invalid {
            file: PathBuf::from("deploy/config/categories.toml"),
            line: Some(42),
            entry: "category SJ-03-02".to_owned(),
            reason: "default department \"urban_mgnt\" is not in departments.toml".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "deploy/config/categories.toml:42: category SJ-03-02: default department \"urban_mgnt\" is not in departments.toml"
        );
        assert_eq!(error.line(), Some(42));
        let error = ConfigError::Invalid {
            file: PathBuf::from("sla.toml"),
            line: None,
            entry: "priority low".to_owned(),
            reason: "missing".to_owned(),
        };
        assert_eq!(error.to_string(), "sla.toml: priority low: missing");
    }

    #[test]
    fn syntax_errors_give_line_and_column_in_characters() {
        let source = Source::from_text("grid.toml", "name = \"网格\"\ncode = = 1\n");
        let error = source.parse::<toml::Table>().unwrap_err();
        let ConfigError::Syntax { line, column, .. } = &error else {
            panic!("{error}");
        };
        assert_eq!((*line, *column), (Some(2), Some(8)));
        assert!(error.to_string().starts_with("grid.toml:2:8: "), "{error}");
        assert_eq!(
            source.line_and_column(11),
            (1, 10),
            "a chinese character is one column"
        );
    }

    #[test]
    fn read_errors_name_the_path() {
        let error = Source::read(Path::new("/nonexistent-gridcase"), "grid.toml").unwrap_err();
        assert!(error
            .to_string()
            .starts_with("/nonexistent-gridcase/grid.toml: cannot read: "));
        assert_eq!(error.file(), Path::new("/nonexistent-gridcase/grid.toml"));
    }
}
