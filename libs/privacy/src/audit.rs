//! The audit of personal data: every read of a reporter's contact in clear (who, when, which
//! case, why) and every erasure, appended to the event store's stream [`AUDIT_STREAM`] before
//! the contact is shown or the erasure reported. The records name cases, actors and key ids,
//! never a name or a number.

use gridcase_domain::CaseId;
use gridcase_eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent, RecordedEvent};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// The stream the audit records are appended to.
pub const AUDIT_STREAM: &str = "personal-data-audit";

/// The event type of a read in clear.
pub const CONTACT_READ: &str = "ContactRead";

/// The event type of a household's contact read in clear.
pub const HOUSEHOLD_READ: &str = "HouseholdContactRead";

/// The event type of an erasure.
pub const PERSON_ERASED: &str = "PersonErased";

/// A reporter's name and phone were shown in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRead {
    /// The case whose reporter it was.
    pub case_id: CaseId,
    /// Why, as the reader said (e.g. `回访`).
    pub purpose: String,
}

/// The name and phone of a household under care (敲门行动) were shown in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdRead {
    /// The household.
    pub household_id: gridcase_domain::HouseholdId,
    /// Why, as the reader said (e.g. `上门走访`).
    pub purpose: String,
}

/// A person's key was destroyed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonErased {
    /// The key.
    pub key_id: u128,
    /// The case the request named, if it named one rather than a phone.
    pub case_id: Option<CaseId>,
    /// Why (the request's reference, e.g. a PIPL request number).
    pub reason: String,
    /// False if the key was already gone.
    pub destroyed: bool,
}

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditRecord {
    /// A read in clear.
    Read(ContactRead),
    /// An erasure.
    Erased(PersonErased),
    /// A household's contact read in clear.
    HouseholdRead(HouseholdRead),
}

impl AuditRecord {
    fn event_type(&self) -> &'static str {
        match self {
            AuditRecord::Read(_) => CONTACT_READ,
            AuditRecord::Erased(_) => PERSON_ERASED,
            AuditRecord::HouseholdRead(_) => HOUSEHOLD_READ,
        }
    }

    fn payload(&self) -> Vec<u8> {
        let bytes = match self {
            AuditRecord::Read(read) => postcard::to_allocvec(read),
            AuditRecord::Erased(erased) => postcard::to_allocvec(erased),
            AuditRecord::HouseholdRead(read) => postcard::to_allocvec(read),
        };
        bytes.expect("postcard serialises audit records")
    }

    /// The record stored as `record`, if it is an audit record.
    pub fn decode(record: &RecordedEvent) -> Option<Self> {
        if record.stream_id != AUDIT_STREAM || record.schema_version != 1 {
            return None;
        }
        match record.event_type.as_str() {
            CONTACT_READ => postcard::from_bytes(&record.payload).ok().map(Self::Read),
            PERSON_ERASED => postcard::from_bytes(&record.payload).ok().map(Self::Erased),
            HOUSEHOLD_READ => postcard::from_bytes(&record.payload)
                .ok()
                .map(Self::HouseholdRead),
            _ => None,
        }
    }
}

/// Appends `record` by `actor` (`role:id`) durably; its position in the log.
pub async fn append<S: EventStore>(
    store: &S,
    actor: &str,
    record: &AuditRecord,
) -> gridcase_eventstore::Result<u64> {
    let mut id = [0; 16];
    SystemRandom::new()
        .fill(&mut id)
        .map_err(|_| gridcase_eventstore::StoreError::Unavailable("no random source".into()))?;
    let event = NewEvent {
        event_id: u128::from_be_bytes(id),
        event_type: record.event_type().to_owned(),
        schema_version: 1,
        metadata: Metadata {
            correlation_id: None,
            causation_id: None,
            actor: Some(actor.to_owned()),
        },
        payload: record.payload(),
    };
    let appended = store
        .append(AUDIT_STREAM, ExpectedVersion::Any, vec![event])
        .await?;
    Ok(appended.first_position)
}

/// Every audit record with its recorded time and actor, oldest first.
pub async fn read_all<S: EventStore>(
    store: &S,
) -> gridcase_eventstore::Result<Vec<(AuditRecord, i64, Option<String>)>> {
    let mut records = Vec::new();
    let mut from = 0;
    loop {
        let batch = store.read_stream(AUDIT_STREAM, from, 1_000).await?;
        let Some(last) = batch.last() else {
            return Ok(records);
        };
        from = last.stream_version + 1;
        records.extend(batch.iter().filter_map(|record| {
            AuditRecord::decode(record)
                .map(|audit| (audit, record.recorded_at_ms, record.metadata.actor.clone()))
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_eventstore::MemoryStore;

    #[tokio::test]
    async fn records_reads_and_erasures_in_order() {
        let store = MemoryStore::new();
        let read = AuditRecord::Read(ContactRead {
            case_id: CaseId::from_u128(7),
            purpose: "回访".into(),
        });
        let erased = AuditRecord::Erased(PersonErased {
            key_id: 42,
            case_id: None,
            reason: "PIPL-2026-0193".into(),
            destroyed: true,
        });
        append(&store, "operator:op-7", &read).await.unwrap();
        append(&store, "admin:zhou", &erased).await.unwrap();
        let all = read_all(&store).await.unwrap();
        let records: Vec<_> = all
            .iter()
            .map(|(r, _, actor)| (r, actor.as_deref()))
            .collect();
        assert_eq!(
            records,
            [
                (&read, Some("operator:op-7")),
                (&erased, Some("admin:zhou"))
            ]
        );
    }
}
