//! Department indicators in a service's read model, so that a period's indicators cost the
//! same whatever the number of cases ever seen.
//!
//! Each department's [`Totals`] of the cases reported in one hour are kept as a bucket record
//! in the model's sled tree (key `h`, the hour, the department). When a batch of the log
//! changes a case, the case's part in the buckets before the batch is taken out and its part
//! after is added ([`BucketChanges`]), in the same atomic batch as the rest of the model. A
//! period's indicators ([`period_totals`]) add up the buckets of its whole hours and, at each
//! end, the cases reported in the partial hour, which the model lists itself.

use std::collections::BTreeMap;

use gridcase_domain::DepartmentCode;
use gridcase_eventstore::{Result, StoreError};
use gridcase_rules::indicators::{CaseIndicators, Totals};

/// The first byte of a bucket's key; a model keeps its other records under other bytes.
pub const BUCKET: u8 = b'h';

/// One hour, in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;

/// A bucket's key: where one department's totals of one hour's reports are kept.
pub type BucketKey = Vec<u8>;

/// A case's part in each bucket it counts in.
pub type Parts = Vec<(BucketKey, Totals)>;

fn storage(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("indicator buckets: {e}"))
}

/// A time as key bytes: big-endian with the sign bit flipped, so keys sort by time.
pub fn time_bytes(ms: i64) -> [u8; 8] {
    ((ms as u64) ^ (1 << 63)).to_be_bytes()
}

/// The time of [`time_bytes`].
pub fn time_from(bytes: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = bytes.try_into().ok()?;
    Some((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64)
}

/// The start of the hour holding `ms`.
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// The prefix of the buckets of the hour starting `hour_ms`.
pub fn hour_prefix(hour_ms: i64) -> Vec<u8> {
    let mut key = vec![BUCKET];
    key.extend_from_slice(&time_bytes(hour_ms));
    key
}

/// The bucket of `department` for cases reported in the hour starting `hour_ms`.
pub fn bucket_key(hour_ms: i64, department: &DepartmentCode) -> BucketKey {
    let mut key = hour_prefix(hour_ms);
    key.extend_from_slice(department.as_str().as_bytes());
    key
}

/// The department of a bucket's key.
pub fn bucket_department(key: &[u8]) -> Option<&str> {
    std::str::from_utf8(key.get(9..)?).ok()
}

/// What `case` adds to each bucket now: nothing until it is reported.
pub fn parts(case: &CaseIndicators) -> Parts {
    let Some(reported) = case.reported_at_ms() else {
        return Vec::new();
    };
    let hour = hour_of(reported);
    case.parts()
        .into_iter()
        .map(|(department, part)| (bucket_key(hour, &department), part))
        .collect()
}

/// The buckets' changes of one batch, not yet written: per bucket, what is added and what is
/// taken out.
#[derive(Debug, Default)]
pub struct BucketChanges(BTreeMap<BucketKey, (Totals, Totals)>);

impl BucketChanges {
    /// No changes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A case's parts went from `before` to `after`.
    pub fn case_changed(&mut self, before: Parts, after: Parts) {
        if before == after {
            return;
        }
        for (key, part) in before {
            self.0.entry(key).or_default().1.add(&part);
        }
        for (key, part) in after {
            self.0.entry(key).or_default().0.add(&part);
        }
    }

    /// Puts the changed buckets of `tree` into `batch`: each read, changed and written back,
    /// or removed when nothing is left in it.
    pub fn write(self, tree: &sled::Tree, batch: &mut sled::Batch) -> Result<()> {
        for (key, (added, taken)) in self.0 {
            let mut totals: Totals = match tree.get(&key).map_err(storage)? {
                Some(bytes) => postcard::from_bytes(&bytes).map_err(storage)?,
                None => Totals::default(),
            };
            totals.add(&added);
            totals.subtract(&taken);
            if totals.is_empty() {
                batch.remove(key);
            } else {
                batch.insert(key, postcard::to_allocvec(&totals).map_err(storage)?);
            }
        }
        Ok(())
    }
}

/// Each department's bucket of every hour from `from_hour_ms` (inclusive) to `to_hour_ms`
/// (exclusive), in hour order.
pub fn hour_totals(
    tree: &sled::Tree,
    from_hour_ms: i64,
    to_hour_ms: i64,
) -> Result<Vec<(String, Totals)>> {
    let mut totals = Vec::new();
    let range = hour_prefix(from_hour_ms)..hour_prefix(to_hour_ms);
    for entry in tree.range(range) {
        let (key, value) = entry.map_err(storage)?;
        let department =
            bucket_department(&key).ok_or_else(|| storage("a bucket without its department"))?;
        let bucket: Totals = postcard::from_bytes(&value).map_err(storage)?;
        totals.push((department.to_owned(), bucket));
    }
    Ok(totals)
}

/// Each department's totals of the cases reported in `from_ms..to_ms`: the buckets of the
/// period's whole hours, and the cases `reported_in(from, to)` gives for the partial hour at
/// each end.
pub fn period_totals(
    tree: &sled::Tree,
    from_ms: i64,
    to_ms: i64,
    mut reported_in: impl FnMut(i64, i64) -> Result<Vec<CaseIndicators>>,
) -> Result<BTreeMap<String, Totals>> {
    let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
    let first_hour = hour_of(from_ms.saturating_add(HOUR_MS - 1));
    let end_hour = hour_of(to_ms).max(first_hour);
    for (department, bucket) in hour_totals(tree, first_hour, end_hour)? {
        totals.entry(department).or_default().add(&bucket);
    }
    let edges = if first_hour >= to_ms {
        vec![(from_ms, to_ms)]
    } else {
        vec![(from_ms, first_hour), (end_hour, to_ms)]
    };
    for (from, to) in edges.into_iter().filter(|(from, to)| from < to) {
        for case in reported_in(from, to)? {
            for (department, part) in case.parts() {
                totals
                    .entry(department.as_str().to_owned())
                    .or_default()
                    .add(&part);
            }
        }
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_sort_as_keys_and_come_back() {
        let times = [-7_200_000, -1, 0, 1, 1_700_000_000_000];
        for pair in times.windows(2) {
            assert!(time_bytes(pair[0]) < time_bytes(pair[1]));
        }
        for t in times {
            assert_eq!(time_from(&time_bytes(t)), Some(t));
        }
        assert_eq!(hour_of(-1), -HOUR_MS);
        assert_eq!(hour_of(HOUR_MS + 5), HOUR_MS);
    }

    #[test]
    fn a_bucket_key_names_its_hour_and_department() {
        let department = DepartmentCode::parse("urban_mgmt").unwrap();
        let key = bucket_key(3 * HOUR_MS, &department);
        assert!(key.starts_with(&hour_prefix(3 * HOUR_MS)));
        assert!(key > hour_prefix(2 * HOUR_MS) && key < hour_prefix(4 * HOUR_MS));
        assert_eq!(bucket_department(&key), Some("urban_mgmt"));
    }
}
