//! [`KeyVault`]: the keys residents' contacts are sealed with, one file per key.
//!
//! A resident who gives a phone number is one person: every report they make is sealed with the
//! same key, whose id is an HMAC of the number under the vault's secret (so the id names no
//! number to anyone without the secret). A report with a name and no number gets a key of its
//! own. Erasing a person destroys their key file — overwritten, synced and unlinked — and from
//! then on every report sealed with it reads as erased, in every projection and in every copy
//! of the log: the log itself is never rewritten. A later report from the same number is sealed
//! with a new key under the same id, which cannot open what the destroyed key sealed.
//!
//! Files: `secret` (the HMAC key) and `<key id in hex>` (32 bytes each), mode 0600, in a
//! directory of mode 0700. A new key is synced and renamed into place before the report that
//! uses it is written, so an acknowledged report's key survives a crash.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use gridcase_domain::{Contact, Phone, Reporter, SealedContact};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// The file holding the vault's HMAC secret.
pub const SECRET_FILE: &str = "secret";

/// Bytes of a key.
const KEY_BYTES: usize = 32;

/// Why the vault could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The key directory could not be read or written.
    #[error("key vault {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// A key file is not a key.
    #[error("key vault {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The system's random source failed.
    #[error("key vault: the random source failed")]
    Random,
    /// The vault could not be reached or refused the request (remote vaults only).
    #[error("key vault: {0}")]
    Unavailable(String),
}

/// What opening a sealed contact gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Opened {
    /// Nobody left a name or number.
    Anonymous,
    /// The reporter's name and phone.
    Reporter(Reporter),
    /// The person was erased: their key is destroyed and the contact can never be read again.
    Erased,
}

impl Opened {
    /// The reporter, if there is one to show.
    pub fn reporter(&self) -> Option<&Reporter> {
        match self {
            Opened::Reporter(reporter) => Some(reporter),
            Opened::Anonymous | Opened::Erased => None,
        }
    }

    /// The name with all but its first character masked (王**), empty when there is none
    /// (anonymous, or erased).
    pub fn masked_name(&self) -> String {
        self.reporter()
            .and_then(|reporter| reporter.name.as_ref())
            .map(|name| {
                let mut chars = name.as_str().chars();
                let first = chars.next().map(String::from).unwrap_or_default();
                first + &"*".repeat(chars.count())
            })
            .unwrap_or_default()
    }

    /// The phone with its middle digits masked, empty when there is none (anonymous, or
    /// erased): what departments, supervisors and lists see.
    pub fn masked_phone(&self) -> String {
        self.reporter()
            .and_then(|reporter| reporter.phone.as_ref())
            .map(Phone::masked)
            .unwrap_or_default()
    }
}

/// The keys, in a directory or (for tests) in memory only.
#[derive(Debug)]
pub struct KeyVault {
    dir: Option<PathBuf>,
    secret: hmac::Key,
    random: SystemRandom,
    /// Keys read or made so far; erasing removes a key here as well as on disk.
    keys: Mutex<HashMap<u128, [u8; KEY_BYTES]>>,
}

impl KeyVault {
    /// The vault in `dir`, made (with a new secret) if it does not exist yet.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, VaultError> {
        let dir = dir.into();
        create_private_dir(&dir)?;
        let random = SystemRandom::new();
        let secret_path = dir.join(SECRET_FILE);
        let secret = match read_key(&secret_path)? {
            Some(secret) => secret,
            None => {
                let secret = random_key(&random)?;
                write_durably(&dir, SECRET_FILE, &secret)?;
                secret
            }
        };
        Ok(Self {
            dir: Some(dir),
            secret: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            random,
            keys: Mutex::default(),
        })
    }

    /// A vault whose keys live in memory only and are gone when it is dropped (for tests).
    pub fn in_memory() -> Result<Self, VaultError> {
        let random = SystemRandom::new();
        let secret = random_key(&random)?;
        Ok(Self {
            dir: None,
            secret: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            random,
            keys: Mutex::default(),
        })
    }

    /// The directory of the key files, if the vault has one.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The id of the key of the person with `phone`.
    pub fn key_for_phone(&self, phone: &Phone) -> u128 {
        let tag = hmac::sign(&self.secret, format!("phone:{phone}").as_bytes());
        let mut id = [0; 16];
        id.copy_from_slice(&tag.as_ref()[..16]);
        u128::from_be_bytes(id)
    }

    /// Seals `reporter` with their person's key (made now if they have none); anonymous when
    /// there is neither name nor phone.
    pub fn seal(&self, reporter: &Reporter) -> Result<Contact, VaultError> {
        let mut sealed = self.seal_many(std::slice::from_ref(reporter))?;
        Ok(sealed.pop().unwrap_or(Contact::Anonymous))
    }

    /// Seals each of `reporters` with their person's key, in order. The keys made for them are
    /// written first and made durable together — one sync of the directory for the whole
    /// batch, which is what lets many reports arriving at once share it.
    pub fn seal_many(&self, reporters: &[Reporter]) -> Result<Vec<Contact>, VaultError> {
        let mut key_ids = Vec::with_capacity(reporters.len());
        for reporter in reporters {
            key_ids.push(match (&reporter.phone, reporter.is_anonymous()) {
                (_, true) => None,
                (Some(phone), false) => Some(self.key_for_phone(phone)),
                (None, false) => {
                    let mut id = [0; 16];
                    self.random.fill(&mut id).map_err(|_| VaultError::Random)?;
                    Some(u128::from_be_bytes(id))
                }
            });
        }
        let keys = self.keys_or_new(key_ids.iter().flatten().copied())?;
        reporters
            .iter()
            .zip(key_ids)
            .map(|(reporter, key_id)| match key_id {
                None => Ok(Contact::Anonymous),
                Some(key_id) => self.seal_with(reporter, key_id, &keys[&key_id]),
            })
            .collect()
    }

    fn seal_with(
        &self,
        reporter: &Reporter,
        key_id: u128,
        key: &[u8; KEY_BYTES],
    ) -> Result<Contact, VaultError> {
        let mut nonce = [0; 12];
        self.random
            .fill(&mut nonce)
            .map_err(|_| VaultError::Random)?;
        let mut ciphertext =
            postcard::to_allocvec(reporter).expect("postcard serialises a reporter");
        cipher(key)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(key_id.to_be_bytes()),
                &mut ciphertext,
            )
            .map_err(|_| VaultError::Random)?;
        Ok(Contact::Sealed(SealedContact {
            key_id,
            nonce,
            ciphertext,
        }))
    }

    /// Opens `contact`: the reporter, or [`Opened::Erased`] when its key is destroyed (or was
    /// destroyed and made anew for a later report of the same number).
    pub fn open_contact(&self, contact: &Contact) -> Result<Opened, VaultError> {
        match contact {
            Contact::Anonymous => Ok(Opened::Anonymous),
            Contact::Clear(reporter) => Ok(Opened::Reporter(reporter.clone())),
            Contact::Sealed(sealed) => self.open_sealed(sealed),
        }
    }

    /// Opens one sealed contact.
    pub fn open_sealed(&self, sealed: &SealedContact) -> Result<Opened, VaultError> {
        let Some(key) = self.key(sealed.key_id)? else {
            return Ok(Opened::Erased);
        };
        let mut bytes = sealed.ciphertext.clone();
        let Ok(plain) = cipher(&key).open_in_place(
            Nonce::assume_unique_for_key(sealed.nonce),
            Aad::from(sealed.key_id.to_be_bytes()),
            &mut bytes,
        ) else {
            return Ok(Opened::Erased);
        };
        match postcard::from_bytes::<Reporter>(plain) {
            Ok(reporter) => Ok(Opened::Reporter(reporter)),
            Err(_) => Ok(Opened::Erased),
        }
    }

    /// Destroys key `key_id`: overwritten, synced and unlinked. True if there was one.
    pub fn erase(&self, key_id: u128) -> Result<bool, VaultError> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let cached = keys.remove(&key_id).is_some();
        let Some(dir) = &self.dir else {
            return Ok(cached);
        };
        let path = dir.join(key_file(key_id));
        let mut file = match OpenOptions::new().write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(source) => return Err(VaultError::Io { path, source }),
        };
        let io = |source| VaultError::Io {
            path: path.clone(),
            source,
        };
        file.write_all(&[0; KEY_BYTES]).map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        fs::remove_file(&path).map_err(io)?;
        sync_dir(dir)?;
        tracing::info!(key = %format!("{key_id:032x}"), "key destroyed");
        Ok(true)
    }

    fn key(&self, key_id: u128) -> Result<Option<[u8; KEY_BYTES]>, VaultError> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = keys.get(&key_id) {
            return Ok(Some(*key));
        }
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let key = read_key(&dir.join(key_file(key_id)))?;
        if let Some(key) = key {
            keys.insert(key_id, key);
        }
        Ok(key)
    }

    /// The keys `key_ids`, made where missing; the new ones are durable when this returns.
    fn keys_or_new(
        &self,
        key_ids: impl Iterator<Item = u128>,
    ) -> Result<HashMap<u128, [u8; KEY_BYTES]>, VaultError> {
        // Held throughout: two reports of one number get one key.
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = HashMap::new();
        let mut written = Vec::new();
        for key_id in key_ids {
            if out.contains_key(&key_id) {
                continue;
            }
            if let Some(key) = keys.get(&key_id) {
                out.insert(key_id, *key);
                continue;
            }
            let existing = match &self.dir {
                Some(dir) => read_key(&dir.join(key_file(key_id)))?,
                None => None,
            };
            let key = match existing {
                Some(key) => key,
                None => {
                    let key = random_key(&self.random)?;
                    if let Some(dir) = &self.dir {
                        written.push(NewFile::write(dir, &key_file(key_id), &key)?);
                    }
                    key
                }
            };
            out.insert(key_id, key);
        }
        if let Some(dir) = &self.dir {
            if !written.is_empty() {
                // The first sync commits the file system's journal with every file written
                // above, so the others cost little; the names become durable with the
                // directory, once for the batch.
                for file in written {
                    file.place()?;
                }
                sync_dir(dir)?;
            }
        }
        keys.extend(out.iter().map(|(id, key)| (*id, *key)));
        Ok(out)
    }
}

fn cipher(key: &[u8; KEY_BYTES]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).expect("a 32-byte key"))
}

fn key_file(key_id: u128) -> String {
    format!("{key_id:032x}")
}

fn random_key(random: &SystemRandom) -> Result<[u8; KEY_BYTES], VaultError> {
    let mut key = [0; KEY_BYTES];
    random.fill(&mut key).map_err(|_| VaultError::Random)?;
    Ok(key)
}

fn read_key(path: &Path) -> Result<Option<[u8; KEY_BYTES]>, VaultError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(VaultError::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    let key: [u8; KEY_BYTES] = bytes
        .try_into()
        .map_err(|bytes: Vec<u8>| VaultError::Corrupt {
            path: path.to_owned(),
            reason: format!("{} bytes, not {KEY_BYTES}", bytes.len()),
        })?;
    Ok(Some(key))
}

/// A key file being made: written to a temporary name, not yet synced or in place.
struct NewFile {
    file: File,
    temporary: PathBuf,
    path: PathBuf,
}

impl NewFile {
    /// Writes `bytes` to a temporary file in `dir` that [`NewFile::place`] names `name`.
    fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<Self, VaultError> {
        let path = dir.join(name);
        // Named with a leading dot, which backups skip as a file being written.
        let temporary = dir.join(format!(".{name}.new"));
        let mut file = private_file(&temporary).map_err(|source| VaultError::Io {
            path: temporary.clone(),
            source,
        })?;
        file.write_all(bytes).map_err(|source| VaultError::Io {
            path: temporary.clone(),
            source,
        })?;
        Ok(Self {
            file,
            temporary,
            path,
        })
    }

    /// Syncs the data, then renames the file into place (the caller syncs the directory).
    fn place(self) -> Result<(), VaultError> {
        let io = |source| VaultError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.sync_all().map_err(io)?;
        fs::rename(&self.temporary, &self.path).map_err(io)
    }
}

/// Writes `bytes` to `dir/name` so that it is whole on disk or absent: a synced temporary file
/// renamed into place, then the directory synced.
fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), VaultError> {
    NewFile::write(dir, name, bytes)?.place()?;
    sync_dir(dir)
}

fn private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn create_private_dir(dir: &Path) -> Result<(), VaultError> {
    let io = |source| VaultError::Io {
        path: dir.to_owned(),
        source,
    };
    fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), VaultError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| VaultError::Io {
            path: dir.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_domain::PersonName;

    fn resident(phone: &str) -> Reporter {
        Reporter {
            name: Some(PersonName::parse("陈阿姨").unwrap()),
            phone: Some(Phone::parse(phone).unwrap()),
        }
    }

    fn sealed(contact: &Contact) -> &SealedContact {
        match contact {
            Contact::Sealed(sealed) => sealed,
            other => panic!("not sealed: {other:?}"),
        }
    }

    #[test]
    fn seals_opens_and_erases_a_person_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let vault = KeyVault::open(dir.path().join("keys")).unwrap();
        let first = vault.seal(&resident("13905711234")).unwrap();
        let second = vault.seal(&resident("139 0571 1234")).unwrap();
        let other = vault.seal(&resident("13605710000")).unwrap();
        // One person, one key; sealed text never shows the number.
        assert_eq!(sealed(&first).key_id, sealed(&second).key_id);
        assert_ne!(sealed(&first).key_id, sealed(&other).key_id);
        assert_ne!(sealed(&first).ciphertext, sealed(&second).ciphertext);
        let text = String::from_utf8_lossy(&sealed(&first).ciphertext).into_owned();
        assert!(!text.contains("13905711234"));
        assert_eq!(
            vault.open_contact(&first).unwrap(),
            Opened::Reporter(resident("13905711234"))
        );

        // Another vault on the same directory (a restart) opens it too.
        let reopened = KeyVault::open(dir.path().join("keys")).unwrap();
        assert_eq!(
            reopened.open_contact(&second).unwrap().masked_phone(),
            "139****1234"
        );

        let key_id = sealed(&first).key_id;
        assert!(vault.erase(key_id).unwrap());
        assert!(!vault.erase(key_id).unwrap());
        assert!(!dir.path().join("keys").join(key_file(key_id)).exists());
        for vault in [&vault, &KeyVault::open(dir.path().join("keys")).unwrap()] {
            assert_eq!(vault.open_contact(&first).unwrap(), Opened::Erased);
            assert_eq!(vault.open_contact(&second).unwrap(), Opened::Erased);
            assert_eq!(vault.open_contact(&first).unwrap().masked_phone(), "");
            assert!(vault.open_contact(&other).unwrap().reporter().is_some());
        }

        // The same number reporting again gets a new key that cannot open the old reports.
        let again = vault.seal(&resident("13905711234")).unwrap();
        assert_eq!(sealed(&again).key_id, key_id);
        assert!(vault.open_contact(&again).unwrap().reporter().is_some());
        assert_eq!(vault.open_contact(&first).unwrap(), Opened::Erased);
    }

    #[test]
    fn a_batch_makes_one_key_per_person_and_keeps_the_order() {
        let dir = tempfile::tempdir().unwrap();
        let vault = KeyVault::open(dir.path().join("keys")).unwrap();
        let batch = [
            resident("13905711234"),
            Reporter::anonymous(),
            resident("13605710000"),
            resident("139-0571-1234"),
        ];
        let sealed = vault.seal_many(&batch).unwrap();
        assert_eq!(sealed[1], Contact::Anonymous);
        assert_eq!(
            contact_key(&sealed[0]),
            contact_key(&sealed[3]),
            "one person, one key"
        );
        let reopened = KeyVault::open(dir.path().join("keys")).unwrap();
        let phones: Vec<String> = sealed
            .iter()
            .map(|c| reopened.open_contact(c).unwrap().masked_phone())
            .collect();
        assert_eq!(phones, ["139****1234", "", "136****0000", "139****1234"]);
        // Two keys and the secret; no temporary file left behind.
        let mut names: Vec<String> = fs::read_dir(dir.path().join("keys"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    }

    fn contact_key(contact: &Contact) -> u128 {
        sealed(contact).key_id
    }

    #[test]
    fn name_only_reports_get_keys_of_their_own_and_anonymous_ones_none() {
        let vault = KeyVault::in_memory().unwrap();
        let name_only = Reporter {
            name: Some(PersonName::parse("王师傅").unwrap()),
            phone: None,
        };
        let a = vault.seal(&name_only).unwrap();
        let b = vault.seal(&name_only).unwrap();
        assert_ne!(sealed(&a).key_id, sealed(&b).key_id);
        assert_eq!(
            vault.seal(&Reporter::anonymous()).unwrap(),
            Contact::Anonymous
        );
        assert_eq!(
            vault.open_contact(&Contact::Anonymous).unwrap(),
            Opened::Anonymous
        );
    }

    #[test]
    fn a_tampered_contact_does_not_open() {
        let vault = KeyVault::in_memory().unwrap();
        let contact = vault.seal(&resident("13905711234")).unwrap();
        let mut tampered = sealed(&contact).clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(vault.open_sealed(&tampered).unwrap(), Opened::Erased);
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let vault = KeyVault::open(&keys).unwrap();
        let contact = vault.seal(&resident("13905711234")).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&keys), 0o700);
        assert_eq!(mode(&keys.join(SECRET_FILE)), 0o600);
        assert_eq!(mode(&keys.join(key_file(sealed(&contact).key_id))), 0o600);
    }
}
