//! `gateway.toml` in the reference data directory: the public address QR codes and links point
//! at, the hotline number printed on posters, the limits on what residents send, and the
//! Open311 API keys of outside apps.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// The file name of the gateway's settings.
pub const GATEWAY_FILE: &str = "gateway.toml";

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, naming the field.
        reason: String,
    },
}

/// The gateway's settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    /// The address residents' phones reach the gateway at, e.g. `https://12345.example.gov.cn`;
    /// QR codes, private links and photo URLs are built on it. No trailing slash.
    pub public_base_url: String,
    /// The hotline number printed on posters and pages, e.g. `12345`.
    pub hotline: String,
    /// The city's name as pages and posters show it.
    pub city: String,
    /// Limits on what residents send.
    #[serde(default)]
    pub limits: Limits,
    /// The API keys outside apps post Open311 requests with.
    #[serde(default, rename = "open311_key")]
    pub open311_keys: Vec<Open311Key>,
}

/// Limits on requests, uploads and how often one client or phone may report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The largest request body accepted, in bytes (a form with all its photos).
    pub body_bytes: usize,
    /// The largest photo accepted, in bytes.
    pub photo_bytes: usize,
    /// How many photos one report may carry.
    pub photos: usize,
    /// How many requests one client address may make per minute.
    pub per_address_per_minute: u32,
    /// How many reports one phone number may make per hour.
    pub per_phone_per_hour: u32,
    /// How long one request may take before it is answered with a timeout, in milliseconds.
    pub request_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 26 * 1024 * 1024,
            photo_bytes: 6 * 1024 * 1024,
            photos: 4,
            per_address_per_minute: 60,
            per_phone_per_hour: 10,
            request_timeout_ms: 10_000,
        }
    }
}

impl Limits {
    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// One outside app allowed to post Open311 requests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Open311Key {
    /// The key the app sends as `api_key`; at least 16 characters.
    pub key: String,
    /// Who holds it, e.g. `市民通 App`; recorded with every request it posts.
    pub name: String,
}

impl GatewaySettings {
    /// Loads `gateway.toml` from the reference data directory `dir`.
    pub fn load(dir: &Path) -> Result<Self, SettingsError> {
        let path = dir.join(GATEWAY_FILE);
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|source| SettingsError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text).map_err(|reason| SettingsError::Invalid {
            path: shown,
            reason,
        })
    }

    /// Parses and checks the file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut settings: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        settings.public_base_url = settings.public_base_url.trim_end_matches('/').to_owned();
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), String> {
        let url = &self.public_base_url;
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| {
                format!("public_base_url: must start with http:// or https://, got {url:?}")
            })?;
        if rest.is_empty() || rest.contains(char::is_whitespace) {
            return Err(format!("public_base_url: needs a host, got {url:?}"));
        }
        if self.hotline.trim().is_empty() {
            return Err("hotline: must not be empty".to_owned());
        }
        let limits = &self.limits;
        if limits.photo_bytes == 0 || limits.body_bytes < limits.photo_bytes {
            return Err(
                "limits.body_bytes: must be at least limits.photo_bytes (and both above 0)"
                    .to_owned(),
            );
        }
        for (field, value) in [
            (
                "limits.per_address_per_minute",
                limits.per_address_per_minute,
            ),
            ("limits.per_phone_per_hour", limits.per_phone_per_hour),
        ] {
            if value == 0 {
                return Err(format!("{field}: must be above 0"));
            }
        }
        if limits.request_timeout_ms == 0 {
            return Err("limits.request_timeout_ms: must be above 0".to_owned());
        }
        let mut seen = std::collections::HashSet::new();
        for key in &self.open311_keys {
            if key.key.chars().count() < 16 {
                return Err(format!(
                    "open311_key: the key of {:?} must be at least 16 characters",
                    key.name
                ));
            }
            if !seen.insert(key.key.as_str()) {
                return Err(format!(
                    "open311_key: the key of {:?} is listed twice",
                    key.name
                ));
            }
        }
        Ok(())
    }

    /// The app holding Open311 key `key`, if it is one.
    pub fn open311_app(&self, key: &str) -> Option<&Open311Key> {
        self.open311_keys.iter().find(|k| k.key == key)
    }

    /// `public_base_url` followed by `path` (which starts with `/`).
    pub fn public_url(&self, path: &str) -> String {
        format!("{}{path}", self.public_base_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
public_base_url = "https://12345.example.gov.cn/"
hotline = "12345"
city = "清河区"
[[open311_key]]
key = "civic-app-key-0000001"
name = "市民通"
"#;

    #[test]
    fn the_sample_settings_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config");
        let settings = GatewaySettings::load(&dir).unwrap();
        assert!(settings.public_base_url.starts_with("http"));
        assert!(!settings.open311_keys.is_empty());
    }

    #[test]
    fn a_trailing_slash_is_dropped_and_keys_are_found() {
        let settings = GatewaySettings::parse(GOOD).unwrap();
        assert_eq!(
            settings.public_url("/q/1"),
            "https://12345.example.gov.cn/q/1"
        );
        assert_eq!(
            settings.open311_app("civic-app-key-0000001").unwrap().name,
            "市民通"
        );
        assert!(settings.open311_app("civic-app-key-0000002").is_none());
        assert_eq!(settings.limits, Limits::default());
    }

    #[test]
    fn bad_settings_name_the_field() {
        for (text, field) in [
            (GOOD.replace("https://", "ftp://"), "public_base_url"),
            (GOOD.replace("\"12345\"\n", "\" \"\n"), "hotline"),
            (
                GOOD.replace("civic-app-key-0000001", "short"),
                "open311_key",
            ),
            (
                format!("{GOOD}[limits]\nphotos_bytes = 1\n"),
                "photos_bytes",
            ),
            (
                format!("{GOOD}[limits]\nper_phone_per_hour = 0\n"),
                "limits.per_phone_per_hour",
            ),
            (
                format!("{GOOD}[[open311_key]]\nkey = \"civic-app-key-0000001\"\nname = \"x\"\n"),
                "listed twice",
            ),
        ] {
            let error = GatewaySettings::parse(&text).unwrap_err();
            assert!(error.contains(field), "{field}: {error}");
        }
    }
}
