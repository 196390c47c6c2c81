//! The gateway's secret and what it signs, so the gateway keeps no state of its own:
//!
//! - a reporter's **private key**: an HMAC of the tracking code, given only on the answer page
//!   of the report. With the tracking code it opens the private page where the reporter rates
//!   the case; the tracking code alone does not.
//! - a special grid member's **member code**: their member id and an HMAC of it, printed on
//!   the card their community gives them (`gridcase member-code`). Typed on a QR page, it makes
//!   the report the member's own.
//! - **form tokens**: a random nonce, the time it was issued and what the form is for, signed.
//!   A submitted form must carry one the gateway issued recently (a forged cross-site form
//!   cannot), and its nonce becomes the request id, so a double tap or a resubmitted page is one
//!   case, never two.

use std::io::Write;
use std::path::Path;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// How many bytes the secret has.
const SECRET_BYTES: usize = 32;

/// How many hex digits of the HMAC a private key keeps (80 bits).
const PRIVATE_KEY_DIGITS: usize = 20;

/// How many hex digits of the HMAC a member code keeps after the member id (40 bits: short
/// enough to type from a card, and the report form is rate limited).
const MEMBER_CODE_DIGITS: usize = 10;

/// How long a form may stay open before it must be reloaded, in seconds (a resident may take
/// a while to write, find a photo and send).
pub const FORM_TOKEN_MAX_AGE_S: i64 = 6 * 3600;

/// Why a form token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token this gateway issued (or for another form).
    #[error("the form was not issued by this site")]
    Forged,
    /// Issued too long ago.
    #[error("the form has expired")]
    Expired,
}

/// The gateway's signing key.
#[derive(Debug)]
pub struct Keys {
    key: hmac::Key,
    random: SystemRandom,
}

/// True if `a` and `b` are equal, taking the same time wherever they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Keys {
    /// Keys from a 32-byte secret.
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            random: SystemRandom::new(),
        }
    }

    /// Reads the secret from `path`, creating it (readable by the owner only) with 32 random
    /// bytes if it does not exist. Keep it: a new secret voids every private link given out.
    pub fn load_or_create(path: &Path) -> std::io::Result<Self> {
        match std::fs::read(path) {
            Ok(secret) if secret.len() >= SECRET_BYTES => return Ok(Self::from_secret(&secret)),
            Ok(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} holds fewer than {SECRET_BYTES} bytes", path.display()),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut secret = [0u8; SECRET_BYTES];
        SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| std::io::Error::other("the system random source failed"))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path)?;
        file.write_all(&secret)?;
        file.sync_all()?;
        Ok(Self::from_secret(&secret))
    }

    fn sign(&self, message: &str) -> String {
        hex(hmac::sign(&self.key, message.as_bytes()).as_ref())
    }

    /// The private key of the case with `tracking_code` (written XXXX-XXXX).
    pub fn private_key(&self, tracking_code: &str) -> String {
        let mut signature = self.sign(&format!("private:{tracking_code}"));
        signature.truncate(PRIVATE_KEY_DIGITS);
        signature
    }

    /// True if `key` is the private key of `tracking_code` (compared in constant time).
    pub fn is_private_key(&self, tracking_code: &str, key: &str) -> bool {
        let expected = self.private_key(tracking_code);
        same(expected.as_bytes(), key.to_ascii_lowercase().as_bytes())
    }

    /// The member code of `member`: `<member id>.<10 hex digits>`.
    pub fn member_code(&self, member: &gridcase_domain::MemberId) -> String {
        let mut signature = self.sign(&format!("member:{member}"));
        signature.truncate(MEMBER_CODE_DIGITS);
        format!("{member}.{signature}")
    }

    /// The member whose code `code` is (compared in constant time), if it is one this gateway
    /// signed; spaces around it and upper case are forgiven.
    pub fn member_of_code(&self, code: &str) -> Option<gridcase_domain::MemberId> {
        let code = code.trim().to_ascii_lowercase();
        let (member, _) = code.rsplit_once('.')?;
        let member = gridcase_domain::MemberId::parse(member).ok()?;
        same(self.member_code(&member).as_bytes(), code.as_bytes()).then_some(member)
    }

    /// A fresh random nonce, 32 hex digits.
    pub fn nonce(&self) -> String {
        let mut bytes = [0u8; 16];
        // The system source does not fail on the platforms gridcase runs on; if it ever did,
        // a time-derived nonce still keeps forms apart.
        if self.random.fill(&mut bytes).is_err() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes = now.to_le_bytes();
        }
        hex(&bytes)
    }

    /// A token for a form for `purpose` (e.g. `qr:<place>`), issued at `now_s` (Unix seconds).
    pub fn form_token(&self, purpose: &str, now_s: i64) -> String {
        let nonce = self.nonce();
        let signature = self.sign(&format!("form:{purpose}:{nonce}:{now_s}"));
        format!("{nonce}.{now_s}.{signature}")
    }

    /// Checks a submitted form token for `purpose` at `now_s`; its nonce if it is good.
    pub fn check_form_token(
        &self,
        purpose: &str,
        token: &str,
        now_s: i64,
    ) -> Result<String, TokenError> {
        let mut parts = token.trim().split('.');
        let (Some(nonce), Some(issued), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Forged);
        };
        let issued_s: i64 = issued.parse().map_err(|_| TokenError::Forged)?;
        let expected = self.sign(&format!("form:{purpose}:{nonce}:{issued_s}"));
        if !same(expected.as_bytes(), signature.as_bytes()) {
            return Err(TokenError::Forged);
        }
        if now_s - issued_s > FORM_TOKEN_MAX_AGE_S || issued_s - now_s > 300 {
            return Err(TokenError::Expired);
        }
        Ok(nonce.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_secret(&[7; 32])
    }

    #[test]
    fn private_keys_belong_to_one_tracking_code_and_one_secret() {
        let keys = keys();
        let key = keys.private_key("ABCD-EFGH");
        assert_eq!(key.len(), PRIVATE_KEY_DIGITS);
        assert!(keys.is_private_key("ABCD-EFGH", &key));
        assert!(keys.is_private_key("ABCD-EFGH", &key.to_uppercase()));
        assert!(!keys.is_private_key("ABCD-EFGJ", &key));
        assert!(!keys.is_private_key("ABCD-EFGH", &key[..19]));
        assert!(!Keys::from_secret(&[8; 32]).is_private_key("ABCD-EFGH", &key));
    }

    #[test]
    fn form_tokens_are_checked_for_signature_purpose_and_age() {
        let keys = keys();
        let now = 1_800_000_000;
        let token = keys.form_token("qr:330102-001-001-001", now);
        let nonce = keys
            .check_form_token("qr:330102-001-001-001", &token, now + 60)
            .unwrap();
        assert_eq!(nonce.len(), 32);
        assert!(token.starts_with(&nonce));
        assert_ne!(token, keys.form_token("qr:330102-001-001-001", now));
        assert_eq!(
            keys.check_form_token("qr:330102-001-001-002", &token, now),
            Err(TokenError::Forged)
        );
        assert_eq!(
            keys.check_form_token(
                "qr:330102-001-001-001",
                &token,
                now + FORM_TOKEN_MAX_AGE_S + 1
            ),
            Err(TokenError::Expired)
        );
        let tampered = token.replacen(&nonce, &"0".repeat(32), 1);
        for bad in [tampered.as_str(), "", "a.b.c", "a.1.c.d"] {
            assert_eq!(
                keys.check_form_token("qr:330102-001-001-001", bad, now),
                Err(TokenError::Forged),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_secret_file_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.key");
        let first = Keys::load_or_create(&path)
            .unwrap()
            .private_key("ABCD-EFGH");
        let again = Keys::load_or_create(&path)
            .unwrap()
            .private_key("ABCD-EFGH");
        assert_eq!(first, again);
        std::fs::write(&path, b"short").unwrap();
        assert!(Keys::load_or_create(&path).is_err());
    }

    #[test]
    fn a_member_code_names_its_member_and_nothing_else_passes() {
        let keys = Keys::from_secret(&[7; 32]);
        let zhao = gridcase_domain::MemberId::parse("sf-zhao-lei").unwrap();
        let code = keys.member_code(&zhao);
        assert!(code.starts_with("sf-zhao-lei.") && code.len() == "sf-zhao-lei.".len() + 10);
        assert_eq!(keys.member_of_code(&code), Some(zhao.clone()));
        assert_eq!(
            keys.member_of_code(&format!(" {} ", code.to_uppercase())),
            Some(zhao)
        );
        let last = if code.ends_with('0') { "1" } else { "0" };
        let forged = format!("{}{last}", &code[..code.len() - 1]);
        assert_eq!(keys.member_of_code(&forged), None);
        assert_eq!(keys.member_of_code("mt-qian-xiaojun"), None);
        let other = Keys::from_secret(&[8; 32]);
        assert_eq!(other.member_of_code(&code), None);
    }
}
