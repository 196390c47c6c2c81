//! The key vault over NATS: the store node serves it ([`serve`]), the services that seal or
//! open contacts reach it through a [`Vault`]. Keys never leave the vault's process; what
//! travels is a reporter to seal, sealed contacts to open, or a key to destroy — on subjects
//! only the services that need them may publish to (see `gridcase_bus::authorization`).

use std::sync::Arc;

use async_nats::RequestErrorKind;
use bytes::Bytes;
use futures::StreamExt;
use gridcase_domain::{Contact, Phone, Reporter, SealedContact};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::keys::{KeyVault, Opened, VaultError};

/// Most contacts one open request carries.
pub const MAX_OPEN: usize = 1_000;

/// What an erasure destroys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EraseTarget {
    /// One key, by id (the key of a case's reporter).
    Key(u128),
    /// The key of the person with this phone.
    Phone(Phone),
}

/// What an erasure did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// The key that was destroyed, or was already gone.
    pub key_id: u128,
    /// False if there was no such key (already erased, or never made).
    pub destroyed: bool,
}

/// Where the services reach the keys: the store node's vault over NATS, or one in this process
/// (tests).
#[derive(Debug, Clone)]
pub enum Vault {
    /// Served by the store node.
    Remote(async_nats::Client),
    /// In this process.
    Local(Arc<KeyVault>),
}

impl Vault {
    /// An in-process vault with keys in memory only (tests).
    pub fn in_memory() -> Self {
        Vault::Local(Arc::new(
            KeyVault::in_memory().expect("the system random source works"),
        ))
    }

    /// Seals `reporter` with their person's key.
    pub async fn seal(&self, reporter: &Reporter) -> Result<Contact, VaultError> {
        if reporter.is_anonymous() {
            return Ok(Contact::Anonymous);
        }
        match self {
            Vault::Local(vault) => vault.seal(reporter),
            Vault::Remote(nats) => call(nats, gridcase_bus::subjects::KEYS_SEAL, reporter).await,
        }
    }

    /// Opens `contacts`, in order.
    pub async fn open(&self, contacts: &[&Contact]) -> Result<Vec<Opened>, VaultError> {
        let sealed: Vec<SealedContact> = contacts
            .iter()
            .filter_map(|contact| match contact {
                Contact::Sealed(sealed) => Some(sealed.clone()),
                _ => None,
            })
            .collect();
        let mut answers = Vec::with_capacity(sealed.len());
        for chunk in sealed.chunks(MAX_OPEN) {
            answers.extend(match self {
                Vault::Local(vault) => chunk
                    .iter()
                    .map(|s| vault.open_sealed(s))
                    .collect::<Result<Vec<_>, _>>()?,
                Vault::Remote(nats) => {
                    let answers: Vec<Opened> =
                        call(nats, gridcase_bus::subjects::KEYS_OPEN, &chunk).await?;
                    if answers.len() != chunk.len() {
                        return Err(VaultError::Unavailable(format!(
                            "asked to open {} contacts, got {} answers",
                            chunk.len(),
                            answers.len()
                        )));
                    }
                    answers
                }
            });
        }
        let mut answers = answers.into_iter();
        Ok(contacts
            .iter()
            .map(|contact| match contact {
                Contact::Anonymous => Opened::Anonymous,
                Contact::Clear(reporter) => Opened::Reporter(reporter.clone()),
                Contact::Sealed(_) => answers.next().unwrap_or(Opened::Erased),
            })
            .collect())
    }

    /// Opens one contact.
    pub async fn open_one(&self, contact: &Contact) -> Result<Opened, VaultError> {
        let mut opened = self.open(&[contact]).await?;
        Ok(opened.pop().unwrap_or(Opened::Erased))
    }

    /// The id of the key of the person with `phone`, which keys their points account; it is
    /// the id their reports' contacts are sealed under. Nothing is made or read.
    pub async fn account_key(&self, phone: &Phone) -> Result<u128, VaultError> {
        match self {
            Vault::Local(vault) => Ok(vault.key_for_phone(phone)),
            Vault::Remote(nats) => call(nats, gridcase_bus::subjects::KEYS_ACCOUNT, phone).await,
        }
    }

    /// Destroys the key of `target`.
    pub async fn erase(&self, target: &EraseTarget) -> Result<Erasure, VaultError> {
        match self {
            Vault::Local(vault) => erase(vault, target),
            Vault::Remote(nats) => call(nats, gridcase_bus::subjects::KEYS_ERASE, target).await,
        }
    }
}

fn erase(vault: &KeyVault, target: &EraseTarget) -> Result<Erasure, VaultError> {
    let key_id = match target {
        EraseTarget::Key(key_id) => *key_id,
        EraseTarget::Phone(phone) => vault.key_for_phone(phone),
    };
    Ok(Erasure {
        key_id,
        destroyed: vault.erase(key_id)?,
    })
}

/// A reply: the answer, or why the vault could not give it.
type Reply<T> = Result<T, String>;

async fn call<Q: Serialize + ?Sized, A: DeserializeOwned>(
    nats: &async_nats::Client,
    subject: &'static str,
    request: &Q,
) -> Result<A, VaultError> {
    let payload = postcard::to_allocvec(request).expect("postcard serialises vault requests");
    let message = gridcase_bus::request_briefly(nats, subject.to_owned(), payload.into())
        .await
        .map_err(|e| match e.kind() {
            RequestErrorKind::NoResponders => {
                VaultError::Unavailable("no key vault is serving (is the store running?)".into())
            }
            RequestErrorKind::TimedOut => {
                VaultError::Unavailable("the key vault did not answer in time".into())
            }
            _ => VaultError::Unavailable(e.to_string()),
        })?;
    let reply: Reply<A> = postcard::from_bytes(&message.payload)
        .map_err(|e| VaultError::Unavailable(format!("a reply that does not decode: {e}")))?;
    reply.map_err(VaultError::Unavailable)
}

/// Most seal requests answered by one batch (one sync of the key directory).
const SEAL_BATCH: usize = 512;

/// Answers the vault's requests with `vault` until the subscription ends. Seal requests that
/// arrive while a batch is being made durable wait and go together in the next batch (group
/// commit of new keys); opens and erasures are answered each on its own.
pub async fn serve(nats: async_nats::Client, vault: Arc<KeyVault>) -> Result<(), VaultError> {
    let mut requests = nats
        .subscribe(gridcase_bus::subjects::KEYS_ALL)
        .await
        .map_err(|e| VaultError::Unavailable(format!("subscribing: {e}")))?;
    tracing::info!(dir = ?vault.dir(), "key vault serving");
    let (seals, pending) = tokio::sync::mpsc::unbounded_channel();
    let sealer = tokio::spawn(seal_batches(nats.clone(), Arc::clone(&vault), pending));
    while let Some(message) = requests.next().await {
        let Some(reply_to) = message.reply.clone() else {
            continue;
        };
        if message.subject.as_str() == gridcase_bus::subjects::KEYS_SEAL {
            let _ = seals.send((reply_to, message.payload));
            continue;
        }
        let vault = Arc::clone(&vault);
        let nats = nats.clone();
        tokio::spawn(async move {
            let subject = message.subject.to_string();
            let payload = message.payload;
            let answer = tokio::task::spawn_blocking(move || answer(&vault, &subject, &payload))
                .await
                .unwrap_or_else(|e| failed(&e));
            respond(&nats, reply_to, answer).await;
        });
    }
    sealer.abort();
    Ok(())
}

fn failed(error: &dyn std::fmt::Display) -> Vec<u8> {
    postcard::to_allocvec(&Reply::<()>::Err(format!("the vault failed: {error}")))
        .expect("postcard serialises a string")
}

async fn respond(nats: &async_nats::Client, reply_to: async_nats::Subject, answer: Vec<u8>) {
    if let Err(error) = nats.publish(reply_to, Bytes::from(answer)).await {
        tracing::warn!(%error, "could not answer a key vault request");
    }
}

/// Seals the requests queued in `pending`, a batch at a time.
async fn seal_batches(
    nats: async_nats::Client,
    vault: Arc<KeyVault>,
    mut pending: tokio::sync::mpsc::UnboundedReceiver<(async_nats::Subject, Bytes)>,
) {
    let mut batch = Vec::with_capacity(SEAL_BATCH);
    while pending.recv_many(&mut batch, SEAL_BATCH).await > 0 {
        let requests = std::mem::take(&mut batch);
        let vault = Arc::clone(&vault);
        let answered = tokio::task::spawn_blocking(move || {
            let (replies, payloads): (Vec<_>, Vec<_>) = requests.into_iter().unzip();
            (replies, seal_answers(&vault, &payloads))
        })
        .await;
        match answered {
            Ok((replies, answers)) => {
                for (reply_to, answer) in replies.into_iter().zip(answers) {
                    respond(&nats, reply_to, answer).await;
                }
            }
            Err(error) => tracing::error!(%error, "a batch of seal requests failed"),
        }
    }
}

/// The reply bytes to seal requests `payloads`, sealed as one batch.
fn seal_answers(vault: &KeyVault, payloads: &[Bytes]) -> Vec<Vec<u8>> {
    let decoded: Vec<Result<Reporter, String>> = payloads
        .iter()
        .map(|payload| {
            postcard::from_bytes(payload)
                .map_err(|e| format!("a request that does not decode: {e}"))
        })
        .collect();
    let reporters: Vec<Reporter> = decoded.iter().filter_map(|r| r.clone().ok()).collect();
    let sealed = vault.seal_many(&reporters).map_err(|e| {
        tracing::error!(error = %e, "could not seal contacts");
        e.to_string()
    });
    let mut sealed = match sealed {
        Ok(sealed) => sealed.into_iter().map(Ok).collect::<Vec<_>>(),
        Err(e) => vec![Err(e); reporters.len()],
    }
    .into_iter();
    decoded
        .into_iter()
        .map(|request| {
            let reply: Reply<Contact> = match request {
                Ok(_) => sealed
                    .next()
                    .unwrap_or_else(|| Err("the batch lost a reply".into())),
                Err(e) => Err(e),
            };
            postcard::to_allocvec(&reply).expect("postcard serialises vault replies")
        })
        .collect()
}

/// The reply bytes to one request.
pub fn answer(vault: &KeyVault, subject: &str, payload: &[u8]) -> Vec<u8> {
    fn reply<T: Serialize>(result: Result<T, String>) -> Vec<u8> {
        postcard::to_allocvec(&result).expect("postcard serialises vault replies")
    }
    fn request<T: DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
        postcard::from_bytes(payload).map_err(|e| format!("a request that does not decode: {e}"))
    }
    use gridcase_bus::subjects::{KEYS_ACCOUNT, KEYS_ERASE, KEYS_OPEN, KEYS_SEAL};
    match subject {
        KEYS_SEAL => seal_answers(vault, &[Bytes::copy_from_slice(payload)])
            .pop()
            .unwrap_or_default(),
        KEYS_OPEN => reply(request::<Vec<SealedContact>>(payload).and_then(|sealed| {
            if sealed.len() > MAX_OPEN {
                return Err(format!("at most {MAX_OPEN} contacts per request"));
            }
            sealed
                .iter()
                .map(|s| vault.open_sealed(s).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()
        })),
        KEYS_ERASE => reply(
            request::<EraseTarget>(payload)
                .and_then(|target| erase(vault, &target).map_err(|e| e.to_string())),
        ),
        KEYS_ACCOUNT => reply(request::<Phone>(payload).map(|phone| vault.key_for_phone(&phone))),
        other => reply::<()>(Err(format!("no such vault request: {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_domain::PersonName;

    #[test]
    fn answers_seal_open_and_erase_and_refuses_garbage() {
        let vault = KeyVault::in_memory().unwrap();
        let reporter = Reporter {
            name: Some(PersonName::parse("刘大爷").unwrap()),
            phone: Some(Phone::parse("13757123456").unwrap()),
        };
        use gridcase_bus::subjects::{KEYS_ACCOUNT, KEYS_ERASE, KEYS_OPEN, KEYS_SEAL};
        let sealed: Reply<Contact> = postcard::from_bytes(&answer(
            &vault,
            KEYS_SEAL,
            &postcard::to_allocvec(&reporter).unwrap(),
        ))
        .unwrap();
        let Ok(Contact::Sealed(sealed)) = sealed else {
            panic!("not sealed: {sealed:?}")
        };
        let open = |vault: &KeyVault| -> Reply<Vec<Opened>> {
            postcard::from_bytes(&answer(
                vault,
                KEYS_OPEN,
                &postcard::to_allocvec(&vec![sealed.clone()]).unwrap(),
            ))
            .unwrap()
        };
        assert_eq!(open(&vault), Ok(vec![Opened::Reporter(reporter.clone())]));
        // The points account of the phone is keyed by the id its contacts are sealed under.
        let account: Reply<u128> = postcard::from_bytes(&answer(
            &vault,
            KEYS_ACCOUNT,
            &postcard::to_allocvec(&reporter.phone.clone().unwrap()).unwrap(),
        ))
        .unwrap();
        assert_eq!(account, Ok(sealed.key_id));
        let erased: Reply<Erasure> = postcard::from_bytes(&answer(
            &vault,
            KEYS_ERASE,
            &postcard::to_allocvec(&EraseTarget::Phone(reporter.phone.clone().unwrap())).unwrap(),
        ))
        .unwrap();
        assert_eq!(
            erased,
            Ok(Erasure {
                key_id: sealed.key_id,
                destroyed: true
            })
        );
        assert_eq!(open(&vault), Ok(vec![Opened::Erased]));
        let garbage: Reply<Contact> =
            postcard::from_bytes(&answer(&vault, KEYS_SEAL, &[0xff, 0xff])).unwrap();
        assert!(garbage.unwrap_err().contains("does not decode"));
    }

    #[tokio::test]
    async fn opens_in_order_around_anonymous_and_clear_contacts() {
        let vault = Vault::in_memory();
        let reporter = |phone: &str| Reporter {
            name: None,
            phone: Some(Phone::parse(phone).unwrap()),
        };
        let a = vault.seal(&reporter("13700000001")).await.unwrap();
        let b = vault.seal(&reporter("13700000002")).await.unwrap();
        let clear = Contact::Clear(reporter("13700000003"));
        let opened = vault
            .open(&[&a, &Contact::Anonymous, &clear, &b])
            .await
            .unwrap();
        let phones: Vec<String> = opened.iter().map(Opened::masked_phone).collect();
        assert_eq!(phones, ["137****0001", "", "137****0003", "137****0002"]);
    }
}
