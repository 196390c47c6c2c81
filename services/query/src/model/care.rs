//! Households under care and their visits in the query model, folded from the households'
//! streams with the cases (in the same atomic batch as the checkpoint), for the visit plans,
//! the supervisors' board and the grid workers' scores.
//!
//! | key | value |
//! |---|---|
//! | `H` household id | the household as folded ([`Household`], postcard) |
//! | `V` visit time, household id | the visit ([`VisitLine`], postcard) |

use std::collections::HashMap;

use gridcase_domain::people::{decode_people, Household, PeopleEvent, Visitor};
use gridcase_domain::{GridCode, HouseholdId};
use gridcase_eventstore::{RecordedEvent, Result};
use gridcase_indicator_store::{time_bytes, time_from};
use serde::{Deserialize, Serialize};

use super::{encode_record, storage};

/// A household's record.
pub const HOUSEHOLD: u8 = b'H';
/// A visit's record.
pub const VISIT: u8 = b'V';

/// One visit, as the scores read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitLine {
    /// Who made it.
    pub visitor: Visitor,
    /// The household's grid.
    pub grid: GridCode,
    /// Made by its due time.
    pub on_time: bool,
}

fn household_key(household: HouseholdId) -> Vec<u8> {
    let mut key = vec![HOUSEHOLD];
    key.extend_from_slice(&household.to_bytes());
    key
}

fn visit_key(at_ms: i64, household: HouseholdId) -> Vec<u8> {
    let mut key = vec![VISIT];
    key.extend_from_slice(&time_bytes(at_ms));
    key.extend_from_slice(&household.to_bytes());
    key
}

/// The households' events of one batch, gathered for one write.
#[derive(Debug, Default)]
pub(super) struct CareChanges {
    households: HashMap<HouseholdId, Option<Household>>,
    visits: Vec<(Vec<u8>, Vec<u8>)>,
}

impl CareChanges {
    /// Takes in `record` if it is a household's event; true if it was.
    pub(super) fn take(&mut self, tree: &sled::Tree, record: &RecordedEvent) -> Result<bool> {
        let Some(household) = record
            .stream_id
            .strip_prefix("household-")
            .and_then(|id| HouseholdId::parse(id).ok())
        else {
            return Ok(false);
        };
        let Ok(event) = decode_people(&record.event_type, record.schema_version, &record.payload)
        else {
            tracing::debug!(event_type = %record.event_type, "not folded");
            return Ok(true);
        };
        let folded = match self.households.entry(household) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(self::household(tree, household)?)
            }
        };
        Household::fold(folded, &event);
        if let (PeopleEvent::HouseholdVisited(visit), Some(folded)) = (&event, folded.as_ref()) {
            let line = VisitLine {
                visitor: visit.visitor.clone(),
                grid: folded.enrolled.grid,
                on_time: visit.on_time(),
            };
            self.visits.push((
                visit_key(visit.at.as_millis(), household),
                encode_record(&line)?,
            ));
        }
        Ok(true)
    }

    /// Adds the changes to `batch`.
    pub(super) fn write(self, batch: &mut sled::Batch) -> Result<()> {
        for (household, folded) in self.households {
            if let Some(folded) = folded {
                batch.insert(household_key(household), encode_record(&folded)?);
            }
        }
        for (key, value) in self.visits {
            batch.insert(key, value);
        }
        Ok(())
    }
}

/// One household, if it was ever enrolled.
pub fn household(tree: &sled::Tree, household: HouseholdId) -> Result<Option<Household>> {
    tree.get(household_key(household))
        .map_err(storage)?
        .map(|bytes| postcard::from_bytes(&bytes).map_err(storage))
        .transpose()
}

/// Every household, by id.
pub fn households(tree: &sled::Tree) -> Result<Vec<(HouseholdId, Household)>> {
    let mut households = Vec::new();
    for entry in tree.scan_prefix([HOUSEHOLD]) {
        let (key, value) = entry.map_err(storage)?;
        let bytes: [u8; 16] = key[1..]
            .try_into()
            .map_err(|_| storage("a household key of the wrong length"))?;
        households.push((
            HouseholdId::from_bytes(bytes),
            postcard::from_bytes(&value).map_err(storage)?,
        ));
    }
    Ok(households)
}

/// The visits made in [`from_ms`, `to_ms`), with their times.
pub fn visits(tree: &sled::Tree, from_ms: i64, to_ms: i64) -> Result<Vec<(i64, VisitLine)>> {
    let start = {
        let mut key = vec![VISIT];
        key.extend_from_slice(&time_bytes(from_ms));
        key
    };
    let end = {
        let mut key = vec![VISIT];
        key.extend_from_slice(&time_bytes(to_ms));
        key
    };
    let mut visits = Vec::new();
    for entry in tree.range(start..end) {
        let (key, value) = entry.map_err(storage)?;
        let at = time_from(&key[1..9]).ok_or_else(|| storage("a visit key without its time"))?;
        visits.push((at, postcard::from_bytes(&value).map_err(storage)?));
    }
    Ok(visits)
}
