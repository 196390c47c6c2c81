//! `gridcase erase`: forgets a resident (a PIPL erasure request) on the running system by
//! destroying their key in the store's key vault. Every report they made reads as erased from
//! then on — in the query service, on the event feed, in `verify` and in every projection
//! rebuilt from position 0 — while the cases themselves and their history stay. The erasure is
//! recorded in the personal-data audit stream.

use anyhow::{bail, Context};
use clap::Args;
use gridcase_bus::StoreClient;
use gridcase_domain::{CaseId, Contact, Event, Phone};
use gridcase_eventstore::EventStore;
use gridcase_privacy::audit::{self, AuditRecord, PersonErased};
use gridcase_privacy::{EraseTarget, Vault};

use crate::backup::AdminConnection;

/// Arguments of `gridcase erase`.
#[derive(Debug, Args)]
pub struct EraseArgs {
    /// The resident's phone number: every report they made with it.
    #[arg(long, conflicts_with = "case", required_unless_present = "case")]
    pub phone: Option<String>,
    /// A case id: its reporter, and with them every report sealed with the same key.
    #[arg(long)]
    pub case: Option<String>,
    /// The request's reference, for the audit (e.g. the PIPL request number).
    #[arg(long)]
    pub reason: String,
    /// The running system.
    #[command(flatten)]
    pub system: AdminConnection,
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    /// The key.
    pub key_id: u128,
    /// False if the key was already gone.
    pub destroyed: bool,
    /// The audit record's position in the log.
    pub audit_position: u64,
}

/// Runs `gridcase erase`.
pub async fn run(args: EraseArgs) -> anyhow::Result<()> {
    let reason = args.reason.trim();
    if reason.is_empty() {
        bail!("--reason: give the request's reference; the erasure is audited");
    }
    let (nats, store) = args.system.connect_city().await?;
    let (target, case_id) = match (&args.phone, &args.case) {
        (Some(phone), _) => {
            let phone = Phone::parse(phone).map_err(|e| anyhow::anyhow!("--phone: {e}"))?;
            (EraseTarget::Phone(phone), None)
        }
        (None, Some(case)) => {
            let case = CaseId::parse(case).map_err(|e| anyhow::anyhow!("--case: {e}"))?;
            (
                EraseTarget::Key(key_of_case(&store, case).await?),
                Some(case),
            )
        }
        (None, None) => bail!("give --phone or --case"),
    };
    let erased = erase(&store, &Vault::Remote(nats), &target, case_id, reason).await?;
    if erased.destroyed {
        println!(
            "erased: key {:032x} destroyed; every report sealed with it now reads as erased",
            erased.key_id
        );
    } else {
        println!(
            "nothing to destroy: key {:032x} is already gone (erased before, or never made)",
            erased.key_id
        );
    }
    println!(
        "recorded in the audit stream {} at position {}",
        audit::AUDIT_STREAM,
        erased.audit_position
    );
    Ok(())
}

/// Destroys the key of `target` in `vault` and records it in `store`'s audit stream.
pub async fn erase(
    store: &StoreClient,
    vault: &Vault,
    target: &EraseTarget,
    case_id: Option<CaseId>,
    reason: &str,
) -> anyhow::Result<Erased> {
    let erasure = vault.erase(target).await.context("destroying the key")?;
    let record = AuditRecord::Erased(PersonErased {
        key_id: erasure.key_id,
        case_id,
        reason: reason.to_owned(),
        destroyed: erasure.destroyed,
    });
    let audit_position = audit::append(store, "admin:cli", &record).await.context(
        "the key is destroyed, but the audit could not record it: run the same erase again",
    )?;
    Ok(Erased {
        key_id: erasure.key_id,
        destroyed: erasure.destroyed,
        audit_position,
    })
}

/// The key case `case`'s reporter's contact is sealed with.
async fn key_of_case(store: &StoreClient, case: CaseId) -> anyhow::Result<u128> {
    let stream = gridcase_casestore::stream_name(case);
    let first = store
        .read_stream(&stream, 0, 1)
        .await
        .with_context(|| format!("reading case {case}"))?;
    let Some(record) = first.first() else {
        bail!("--case: no case {case}");
    };
    let event = gridcase_casestore::decode(case, record)?;
    let Event::CaseReported(reported) = event else {
        bail!("case {case} does not start with its report");
    };
    match reported.reporter {
        Contact::Sealed(sealed) => Ok(sealed.key_id),
        Contact::Anonymous => bail!("case {case} was reported anonymously: nothing to erase"),
        Contact::Clear(_) => bail!(
            "case {case} was written before contacts were sealed (CaseReported v1): its reporter \
             is in clear in the log and cannot be erased by destroying a key"
        ),
    }
}

/// What `verify` counts of the reporters' contacts in a log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    /// Reports with no name and no number.
    pub anonymous: u64,
    /// Contacts sealed with a key that still exists.
    pub sealed: u64,
    /// Contacts whose key is destroyed: erased people.
    pub erased: u64,
    /// Contacts in clear (reports written before contacts were sealed).
    pub in_clear: u64,
    /// Erasures the audit stream records.
    pub erasures: u64,
    /// Reads in clear the audit stream records.
    pub reads: u64,
}

/// Verifies `store`'s log (a stopped store, read directly) and, on the same pass, counts the
/// contacts of every report in it against the key vault in `keys_dir`.
pub fn verify(
    store: &gridcase_eventstore::SledStore,
    keys_dir: &std::path::Path,
    progress: impl FnMut(u64, u64),
) -> anyhow::Result<(gridcase_eventstore::VerifyReport, Census)> {
    let vault = if keys_dir.join(gridcase_privacy::SECRET_FILE).is_file() {
        Some(gridcase_privacy::KeyVault::open(keys_dir)?)
    } else {
        None
    };
    let mut census = Census::default();
    let mut failed = None;
    let report = store.verify_with(progress, |record| {
        if failed.is_none() {
            failed = census.count(record, vault.as_ref()).err();
        }
    })?;
    match failed {
        Some(error) => Err(error),
        None => Ok((report, census)),
    }
}

impl Census {
    /// Counts `record`, opening sealed contacts with `vault` (none: every sealed one is
    /// unreadable).
    fn count(
        &mut self,
        record: &gridcase_eventstore::RecordedEvent,
        vault: Option<&gridcase_privacy::KeyVault>,
    ) -> anyhow::Result<()> {
        if let Some(audit) = AuditRecord::decode(record) {
            match audit {
                AuditRecord::Erased(_) => self.erasures += 1,
                AuditRecord::Read(_) | AuditRecord::HouseholdRead(_) => self.reads += 1,
            }
            return Ok(());
        }
        if record.event_type != "CaseReported" {
            return Ok(());
        }
        let Ok(case) = CaseId::parse(&record.stream_id) else {
            return Ok(());
        };
        let Event::CaseReported(reported) = gridcase_casestore::decode(case, record)? else {
            return Ok(());
        };
        match &reported.reporter {
            Contact::Anonymous => self.anonymous += 1,
            Contact::Clear(_) => self.in_clear += 1,
            Contact::Sealed(sealed) => {
                let readable = match vault {
                    Some(vault) => vault.open_sealed(sealed)?.reporter().is_some(),
                    None => false,
                };
                if readable {
                    self.sealed += 1;
                } else {
                    self.erased += 1;
                }
            }
        }
        Ok(())
    }
}
