//! The people's part of the evaluation model: the members communities enrolled and every
//! account's totals, folded from the log with the indicators (in the same atomic batch as their
//! checkpoint), so listing a community's members or its points board reads keys, not the log.
//!
//! | key | value |
//! |---|---|
//! | `m` community code, `/`, member id | the enrolment ([`MemberEnrolled`], postcard) |
//! | `a` account id | points earned and spent ([`Totals`], postcard) |
//! | `o` community code, `/`, order id | the service order ([`Order`], postcard) |
//! | `O` order id | the order's community code |
//!
//! Members of the reference data are not here: the API adds them from `members.toml`.

use std::collections::BTreeMap;

use gridcase_domain::people::{decode_people, AccountId, MemberEnrolled, Order, PeopleEvent};
use gridcase_domain::{GridCode, MemberId, OrderId};
use gridcase_eventstore::{RecordedEvent, Result, StoreError};
use serde::{Deserialize, Serialize};

const MEMBER: u8 = b'm';
const ACCOUNT: u8 = b'a';
const ORDER: u8 = b'o';
const ORDER_COMMUNITY: u8 = b'O';

fn storage(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("people model: {e}"))
}

/// An account's points ever earned and ever spent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Earned.
    pub earned: u64,
    /// Exchanged.
    pub spent: u64,
}

impl Totals {
    /// What the account holds.
    pub fn balance(&self) -> u64 {
        self.earned.saturating_sub(self.spent)
    }
}

fn member_key(community: &GridCode, member: &MemberId) -> Vec<u8> {
    let mut key = vec![MEMBER];
    key.extend_from_slice(community.to_string().as_bytes());
    key.push(b'/');
    key.extend_from_slice(member.as_str().as_bytes());
    key
}

fn account_key(account: &str) -> Vec<u8> {
    let mut key = vec![ACCOUNT];
    key.extend_from_slice(account.as_bytes());
    key
}

/// The people's events of one batch of the log, gathered for one write.
#[derive(Debug, Default)]
pub struct PeopleChanges {
    members: Vec<(GridCode, MemberId, MemberEnrolled)>,
    accounts: BTreeMap<String, Totals>,
    orders: Vec<(OrderId, PeopleEvent)>,
}

fn order_key(community: &str, order: OrderId) -> Vec<u8> {
    let mut key = vec![ORDER];
    key.extend_from_slice(community.as_bytes());
    key.push(b'/');
    key.extend_from_slice(order.to_string().as_bytes());
    key
}

fn order_community_key(order: OrderId) -> Vec<u8> {
    let mut key = vec![ORDER_COMMUNITY];
    key.extend_from_slice(order.to_string().as_bytes());
    key
}

impl PeopleChanges {
    /// Takes in `record` if it is a people's event; true if it was.
    pub fn take(&mut self, record: &RecordedEvent) -> bool {
        let Ok(event) = decode_people(&record.event_type, record.schema_version, &record.payload)
        else {
            return false;
        };
        match event {
            PeopleEvent::MemberEnrolled(enrolled) => {
                let Some(member) = record
                    .stream_id
                    .strip_prefix("member-")
                    .and_then(|id| MemberId::parse(id).ok())
                else {
                    tracing::warn!(stream = %record.stream_id, "an enrolment outside a member stream");
                    return false;
                };
                self.members.push((enrolled.community, member, enrolled));
            }
            PeopleEvent::PointsEarned(earned) => {
                if let Some(account) = account_of(&record.stream_id) {
                    self.accounts.entry(account).or_default().earned += u64::from(earned.points);
                }
            }
            PeopleEvent::PointsExchanged(exchanged) => {
                if let Some(account) = account_of(&record.stream_id) {
                    self.accounts.entry(account).or_default().spent += u64::from(exchanged.points);
                }
            }
            PeopleEvent::OrderPlaced(_)
            | PeopleEvent::OrderDispatched(_)
            | PeopleEvent::OrderAccepted(_)
            | PeopleEvent::OrderCompleted(_)
            | PeopleEvent::OrderConfirmed(_)
            | PeopleEvent::OrderCancelled(_) => {
                let Some(order) = record
                    .stream_id
                    .strip_prefix("order-")
                    .and_then(|id| OrderId::parse(id).ok())
                else {
                    tracing::warn!(stream = %record.stream_id, "an order's event outside an order stream");
                    return false;
                };
                self.orders.push((order, event));
            }
            PeopleEvent::HouseholdEnrolled(_)
            | PeopleEvent::HouseholdVisited(_)
            | PeopleEvent::HouseholdReleased(_)
            | PeopleEvent::VisitWarned(_) => return false,
        }
        true
    }

    /// Adds the changes to `batch`, reading the accounts' totals so far from `tree`.
    pub fn write(self, tree: &sled::Tree, batch: &mut sled::Batch) -> Result<()> {
        for (community, member, enrolled) in self.members {
            let bytes = postcard::to_allocvec(&enrolled).map_err(storage)?;
            batch.insert(member_key(&community, &member), bytes);
        }
        for (account, delta) in self.accounts {
            let key = account_key(&account);
            let mut totals = read_totals(tree.get(&key).map_err(storage)?.as_deref())?;
            totals.earned += delta.earned;
            totals.spent += delta.spent;
            batch.insert(key, postcard::to_allocvec(&totals).map_err(storage)?);
        }
        // Orders as this batch leaves them, with their communities.
        let mut orders: BTreeMap<OrderId, (String, Option<Order>)> = BTreeMap::new();
        for (id, event) in self.orders {
            let (community, order) = match orders.entry(id) {
                std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::btree_map::Entry::Vacant(entry) => {
                    let community = match &event {
                        PeopleEvent::OrderPlaced(placed) => placed.community.to_string(),
                        _ => match tree.get(order_community_key(id)).map_err(storage)? {
                            Some(bytes) => String::from_utf8(bytes.to_vec()).map_err(storage)?,
                            None => {
                                tracing::warn!(order = %id, "an order's event before it was placed");
                                continue;
                            }
                        },
                    };
                    let order = tree
                        .get(order_key(&community, id))
                        .map_err(storage)?
                        .map(|bytes| postcard::from_bytes(&bytes).map_err(storage))
                        .transpose()?;
                    entry.insert((community, order))
                }
            };
            if let PeopleEvent::OrderPlaced(placed) = &event {
                *community = placed.community.to_string();
            }
            Order::fold(order, &event);
        }
        for (id, (community, order)) in orders {
            let Some(order) = order else { continue };
            batch.insert(order_community_key(id), community.as_bytes());
            batch.insert(
                order_key(&community, id),
                postcard::to_allocvec(&order).map_err(storage)?,
            );
        }
        Ok(())
    }
}

fn account_of(stream: &str) -> Option<String> {
    let account = stream.strip_prefix("points-")?;
    AccountId::parse(account).ok()?;
    Some(account.to_owned())
}

fn read_totals(bytes: Option<&[u8]>) -> Result<Totals> {
    bytes
        .map(|bytes| postcard::from_bytes(bytes).map_err(storage))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// The members enrolled in `community`, by id.
pub fn members_of(
    tree: &sled::Tree,
    community: &GridCode,
) -> Result<Vec<(MemberId, MemberEnrolled)>> {
    let mut prefix = vec![MEMBER];
    prefix.extend_from_slice(community.to_string().as_bytes());
    prefix.push(b'/');
    let mut members = Vec::new();
    for entry in tree.scan_prefix(&prefix) {
        let (key, value) = entry.map_err(storage)?;
        let id = std::str::from_utf8(&key[prefix.len()..]).map_err(storage)?;
        let member = MemberId::parse(id).map_err(storage)?;
        members.push((member, postcard::from_bytes(&value).map_err(storage)?));
    }
    Ok(members)
}

/// The service orders of `community`, by id.
pub fn orders_of(tree: &sled::Tree, community: &GridCode) -> Result<Vec<(OrderId, Order)>> {
    let mut prefix = vec![ORDER];
    prefix.extend_from_slice(community.to_string().as_bytes());
    prefix.push(b'/');
    let mut orders = Vec::new();
    for entry in tree.scan_prefix(&prefix) {
        let (key, value) = entry.map_err(storage)?;
        let id = std::str::from_utf8(&key[prefix.len()..]).map_err(storage)?;
        let order = OrderId::parse(id).map_err(storage)?;
        orders.push((order, postcard::from_bytes(&value).map_err(storage)?));
    }
    Ok(orders)
}

/// Every account's totals, by account id.
pub fn accounts(tree: &sled::Tree) -> Result<Vec<(String, Totals)>> {
    let mut accounts = Vec::new();
    for entry in tree.scan_prefix([ACCOUNT]) {
        let (key, value) = entry.map_err(storage)?;
        let id = std::str::from_utf8(&key[1..]).map_err(storage)?.to_owned();
        accounts.push((id, read_totals(Some(&value))?));
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use gridcase_domain::people::{
        account_stream, encode_people, member_stream, EarnReason, MemberKind, PointsEarned,
        PointsExchanged, PointsSource,
    };
    use gridcase_domain::{CaseId, Note, PersonName, Timestamp};
    use gridcase_eventstore::{Metadata, ReadModelConfig};

    use super::*;
    use crate::indicators::IndicatorModel;

    fn record(position: u64, stream: &str, event: &PeopleEvent) -> RecordedEvent {
        let encoded = encode_people(event);
        RecordedEvent {
            position,
            stream_id: stream.to_owned(),
            stream_version: 0,
            event_id: u128::from(position) + 1,
            event_type: encoded.event_type.to_owned(),
            schema_version: encoded.schema_version,
            recorded_at_ms: 1_780_000_000_000,
            metadata: Metadata::default(),
            payload: encoded.payload,
        }
    }

    #[test]
    fn enrolments_and_points_fold_into_the_model_and_survive_a_reopen() {
        let community = GridCode::parse("330102-001-001").unwrap();
        let member = MemberId::parse("jd-wu-peng").unwrap();
        let account = AccountId::Member(member.clone());
        let enrolled = MemberEnrolled {
            kind: MemberKind::Courier,
            name: PersonName::parse("京东 吴鹏").unwrap(),
            community,
            grids: vec![GridCode::parse("330102-001-001-001").unwrap()],
            at: Timestamp::from_millis(5),
        };
        let earned = |case: u128, points: u32| {
            PeopleEvent::PointsEarned(PointsEarned {
                reason: EarnReason::ValidReport,
                points,
                source: PointsSource::Case(CaseId::from_u128(case)),
                at: Timestamp::from_millis(6),
            })
        };
        let log = [
            record(
                0,
                &member_stream(&member),
                &PeopleEvent::MemberEnrolled(enrolled.clone()),
            ),
            record(1, &account_stream(&account), &earned(1, 20)),
            record(2, &account_stream(&account), &earned(2, 20)),
            record(
                3,
                &account_stream(&account),
                &PeopleEvent::PointsExchanged(PointsExchanged {
                    item: Note::parse("洗衣液一瓶").unwrap(),
                    points: 30,
                    community,
                    at: Timestamp::from_millis(7),
                }),
            ),
            record(4, &account_stream(&AccountId::Resident(9)), &earned(3, 2)),
        ];
        let dir = tempfile::tempdir().unwrap();
        let config = ReadModelConfig::new(Some(dir.path().to_owned()));
        {
            let model = IndicatorModel::open(&config).unwrap();
            // In two batches, the account's changes split between them.
            model.fold(0, &log[..2]).unwrap();
            model.fold(0, &log[2..]).unwrap();
        }
        let model = IndicatorModel::open(&config).unwrap();
        assert_eq!(model.position(0), 5);
        assert_eq!(model.members_of(&community).unwrap(), [(member, enrolled)]);
        assert!(model
            .members_of(&GridCode::parse("330102-001-002").unwrap())
            .unwrap()
            .is_empty());
        assert_eq!(
            model.accounts().unwrap(),
            [
                (
                    "member-jd-wu-peng".to_owned(),
                    Totals {
                        earned: 40,
                        spent: 30
                    }
                ),
                (
                    "resident-00000000000000000000000000000009".to_owned(),
                    Totals {
                        earned: 2,
                        spent: 0
                    }
                ),
            ]
        );
        assert_eq!(model.accounts().unwrap()[0].1.balance(), 10);
    }
}
