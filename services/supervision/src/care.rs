//! 敲门行动 visits as deadlines: the timer table keeps every household under care with the
//! instant its next warning is due, and the ticker warns — "due soon" before a visit falls due,
//! "overdue" once it passed — by recording a `VisitWarned` event in the household's stream,
//! once per due time and warning, like a case's deadline warnings.
//!
//! On disk, in the table's tree:
//! - `h` + household id (16 bytes) → the household as folded and its warning instant.
//! - `v` + warning instant (ms, sign-flipped big-endian) + household id → nothing.

use std::collections::HashMap;

use gridcase_casestore::ids::command_id;
use gridcase_casestore::people::{PeopleStore, PeopleStoreError};
use gridcase_casestore::CommandContext;
use gridcase_config::ReferenceData;
use gridcase_domain::people::{decode_people, CareCommand, Household};
use gridcase_domain::{HouseholdId, Timestamp};
use gridcase_eventstore::{EventStore, RecordedEvent, Result};
use serde::{Deserialize, Serialize};

const HOUSEHOLD: u8 = b'h';
const WARN: u8 = b'v';

/// A household as the table keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    warn_ms: Option<i64>,
    household: Household,
}

/// Big-endian with the sign bit flipped, so keys sort by time.
fn time_bytes(ms: i64) -> [u8; 8] {
    ((ms as u64) ^ (1 << 63)).to_be_bytes()
}

fn household_key(household: HouseholdId) -> Vec<u8> {
    let mut key = vec![HOUSEHOLD];
    key.extend_from_slice(&household.to_bytes());
    key
}

fn warn_key(at_ms: i64, household: HouseholdId) -> Vec<u8> {
    let mut key = vec![WARN];
    key.extend_from_slice(&time_bytes(at_ms));
    key.extend_from_slice(&household.to_bytes());
    key
}

fn storage(e: impl std::fmt::Display) -> gridcase_eventstore::StoreError {
    gridcase_eventstore::StoreError::Unavailable(format!("timer table: {e}"))
}

fn stored(tree: &sled::Tree, household: HouseholdId) -> Result<Option<Stored>> {
    tree.get(household_key(household))
        .map_err(storage)?
        .map(|bytes| postcard::from_bytes(&bytes).map_err(storage))
        .transpose()
}

/// The households' events of one batch of the log, gathered for one write.
#[derive(Debug, Default)]
pub struct CareChanges {
    touched: HashMap<HouseholdId, (Option<i64>, Option<Household>)>,
}

impl CareChanges {
    /// Takes in `record` if it is an event of a household's stream.
    pub fn take(&mut self, tree: &sled::Tree, record: &RecordedEvent) -> Result<()> {
        let Some(id) = record
            .stream_id
            .strip_prefix("household-")
            .and_then(|id| HouseholdId::parse(id).ok())
        else {
            return Ok(());
        };
        let Ok(event) = decode_people(&record.event_type, record.schema_version, &record.payload)
        else {
            return Ok(());
        };
        let (_, household) = match self.touched.entry(id) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let stored = stored(tree, id)?;
                entry.insert(match stored {
                    Some(stored) => (stored.warn_ms, Some(stored.household)),
                    None => (None, None),
                })
            }
        };
        Household::fold(household, &event);
        Ok(())
    }

    /// Adds the changes to `batch`, each household rescheduled.
    pub fn write(self, reference: &ReferenceData, batch: &mut sled::Batch) -> Result<()> {
        let rules = reference.care();
        for (id, (was, household)) in self.touched {
            let Some(household) = household else { continue };
            let warn_ms = household
                .next_warning(
                    rules.every_days(household.enrolled.kind),
                    rules.visit_warn_before_hours,
                )
                .map(Timestamp::as_millis);
            if warn_ms != was {
                if let Some(was) = was {
                    batch.remove(warn_key(was, id));
                }
                if let Some(at) = warn_ms {
                    batch.insert(warn_key(at, id), &[]);
                }
            }
            let record = Stored { warn_ms, household };
            batch.insert(
                household_key(id),
                postcard::to_allocvec(&record).map_err(storage)?,
            );
        }
        Ok(())
    }
}

/// The households with a warning due by `now`, earliest first.
pub fn due_by(tree: &sled::Tree, now: Timestamp) -> Result<Vec<(HouseholdId, Household)>> {
    let start = [WARN];
    let end = warn_key(now.as_millis().saturating_add(1), HouseholdId::from_u128(0));
    let mut due = Vec::new();
    for entry in tree.range(start.as_slice()..end.as_slice()) {
        let (key, _) = entry.map_err(storage)?;
        let bytes: [u8; 16] = key
            .get(9..25)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| storage("a warning key without its household"))?;
        let id = HouseholdId::from_bytes(bytes);
        if let Some(stored) = stored(tree, id)? {
            due.push((id, stored.household));
        }
    }
    Ok(due)
}

/// The actor of the visit warnings.
pub const WARNING_ACTOR: &str = "supervision:timer";

/// Records the warnings due at `now` for `due` households; the command ids already carried out
/// are in `done` (kept for the households still due).
pub async fn warn<S: EventStore>(
    people: &PeopleStore<S>,
    reference: &ReferenceData,
    due: Vec<(HouseholdId, Household)>,
    now: Timestamp,
    done: &mut HashMap<HouseholdId, u128>,
) {
    let rules = reference.care();
    let due_ids: Vec<HouseholdId> = due.iter().map(|(id, _)| *id).collect();
    done.retain(|id, _| due_ids.contains(id));
    for (id, household) in due {
        let every_days = rules.every_days(household.enrolled.kind);
        let warning = household.warning_at(every_days, now);
        let due_at = household.next_due(every_days);
        let command = command_id(
            crate::SERVICE,
            &[
                b"visit-warning",
                &id.to_bytes(),
                warning.as_str().as_bytes(),
                &due_at.as_millis().to_be_bytes(),
            ],
        );
        if done.get(&id) == Some(&command) {
            continue;
        }
        let context = CommandContext::new(command, WARNING_ACTOR.to_owned());
        let warn = CareCommand::Warn {
            warning,
            every_days,
            warn_before_hours: rules.visit_warn_before_hours,
            at: now,
        };
        match people.execute_care(id, warn, &context).await {
            Ok((executed, _)) => {
                if !executed.repeated {
                    tracing::info!(household = %id, warning = warning.as_str(), due = due_at.as_millis(), "visit warning recorded");
                    metrics::counter!("supervision_visit_warnings_total").increment(1);
                }
                done.insert(id, command);
            }
            Err(PeopleStoreError::People(error)) => {
                tracing::debug!(household = %id, %error, "visit warning skipped");
                done.insert(id, command);
            }
            Err(error) => {
                tracing::warn!(household = %id, %error, "visit warning failed; trying again");
            }
        }
    }
}
