//! Points accounts (积分): earned for valid reports, fixed problems, service orders and care
//! visits, exchanged in the community's points shop, never below zero.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{PeopleError, PeopleEvent, PointsEarned, PointsExchanged};
use crate::values::{
    CaseId, GridCode, HouseholdId, MemberId, Note, OrderId, Timestamp, ValidationError,
};

/// Whose points: a special member's, or a reporting resident's. A resident is known only by
/// the id of their contact's key, which the key vault derives from their phone number with its
/// secret (an HMAC): the number itself is never kept with the points.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AccountId {
    /// A special grid member or volunteer.
    Member(MemberId),
    /// A resident who reported with a phone number: the key id of their sealed contact.
    Resident(u128),
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Member(member) => write!(f, "member-{member}"),
            Self::Resident(key) => write!(f, "resident-{key:032x}"),
        }
    }
}

impl AccountId {
    /// Reads the form [`Display`](fmt::Display) writes: `member-<id>` or
    /// `resident-<32 hex digits>`.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let field = "account";
        if let Some(member) = s.strip_prefix("member-") {
            return MemberId::parse(member)
                .map(Self::Member)
                .map_err(|e| ValidationError::new(field, e.reason));
        }
        if let Some(key) = s.strip_prefix("resident-") {
            if key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
                if let Ok(key) = u128::from_str_radix(key, 16) {
                    return Ok(Self::Resident(key));
                }
            }
            return Err(ValidationError::new(
                field,
                "a resident's account is resident- and 32 hex digits",
            ));
        }
        Err(ValidationError::new(
            field,
            format!("{s:?} is neither member-<id> nor resident-<key id>"),
        ))
    }
}

/// Why points were earned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EarnReason {
    /// A report that became a case: triaged, not merged as a repeat, not rejected.
    ValidReport,
    /// A reported problem the on-site check confirmed fixed.
    ReportFixed,
    /// A service order the member completed and the resident confirmed.
    OrderCompleted,
    /// A care visit a member made.
    CareVisit,
}

impl EarnReason {
    /// Every reason.
    pub const ALL: [EarnReason; 4] = [
        Self::ValidReport,
        Self::ReportFixed,
        Self::OrderCompleted,
        Self::CareVisit,
    ];

    /// The snake_case name, as `points.toml` and the API write it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ValidReport => "valid_report",
            Self::ReportFixed => "report_fixed",
            Self::OrderCompleted => "order_completed",
            Self::CareVisit => "care_visit",
        }
    }

    /// The name a community's points board shows.
    pub const fn label(self) -> &'static str {
        match self {
            Self::ValidReport => "有效上报",
            Self::ReportFixed => "上报问题已解决",
            Self::OrderCompleted => "服务订单完成",
            Self::CareVisit => "敲门走访",
        }
    }
}

/// What points came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PointsSource {
    /// A case.
    Case(CaseId),
    /// A service order.
    Order(OrderId),
    /// A care visit: the household and when it was visited.
    Visit(HouseholdId, Timestamp),
}

impl fmt::Display for PointsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Case(case) => write!(f, "case {case}"),
            Self::Order(order) => write!(f, "order {order}"),
            Self::Visit(household, at) => {
                write!(f, "visit to household {household} at {}", at.as_millis())
            }
        }
    }
}

/// What may be asked of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PointsCommand {
    /// Credit points for `reason` from `source`, once.
    Earn {
        /// Why.
        reason: EarnReason,
        /// How many (more than 0).
        points: u32,
        /// From what.
        source: PointsSource,
        /// When.
        at: Timestamp,
    },
    /// Exchange points for an item of a community's shop; never below zero.
    Exchange {
        /// What is taken.
        item: Note,
        /// Its price in points (more than 0).
        points: u32,
        /// The community whose shop gives it.
        community: GridCode,
        /// When.
        at: Timestamp,
    },
}

/// An account folded from its stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// Points held now.
    pub balance: u64,
    /// Points ever earned.
    pub earned: u64,
    /// Points ever exchanged.
    pub spent: u64,
    /// What has been credited, so nothing is credited twice.
    pub credited: BTreeSet<(EarnReason, PointsSource)>,
}

impl Account {
    /// The account after `events`.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a PeopleEvent>) -> Self {
        let mut account = Self::default();
        for event in events {
            account.apply(event);
        }
        account
    }

    /// Folds one event in; events of other streams change nothing.
    pub fn apply(&mut self, event: &PeopleEvent) {
        match event {
            PeopleEvent::PointsEarned(earned) => {
                self.balance += u64::from(earned.points);
                self.earned += u64::from(earned.points);
                self.credited.insert((earned.reason, earned.source));
            }
            PeopleEvent::PointsExchanged(exchanged) => {
                // `decide` never lets an exchange exceed the balance; a log that says otherwise
                // still folds without wrapping.
                self.balance = self.balance.saturating_sub(u64::from(exchanged.points));
                self.spent += u64::from(exchanged.points);
            }
            _ => {}
        }
    }

    /// The events `command` leads to, or why it is refused.
    pub fn decide(&self, command: PointsCommand) -> Result<Vec<PeopleEvent>, PeopleError> {
        match command {
            PointsCommand::Earn {
                reason,
                points,
                source,
                at,
            } => {
                positive(points)?;
                if self.credited.contains(&(reason, source)) {
                    return Err(PeopleError::AlreadyEarned {
                        reason: reason.as_str(),
                        source_id: source.to_string(),
                    });
                }
                Ok(vec![PeopleEvent::PointsEarned(PointsEarned {
                    reason,
                    points,
                    source,
                    at,
                })])
            }
            PointsCommand::Exchange {
                item,
                points,
                community,
                at,
            } => {
                positive(points)?;
                if u64::from(points) > self.balance {
                    return Err(PeopleError::InsufficientPoints {
                        balance: self.balance,
                        asked: points,
                    });
                }
                Ok(vec![PeopleEvent::PointsExchanged(PointsExchanged {
                    item,
                    points,
                    community,
                    at,
                })])
            }
        }
    }
}

fn positive(points: u32) -> Result<(), ValidationError> {
    if points == 0 {
        return Err(ValidationError::new("points", "must be more than 0"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn earn(points: u32, reason: EarnReason, case: u128) -> PointsCommand {
        PointsCommand::Earn {
            reason,
            points,
            source: PointsSource::Case(CaseId::from_u128(case)),
            at: Timestamp::from_millis(10),
        }
    }

    fn exchange(points: u32) -> PointsCommand {
        PointsCommand::Exchange {
            item: Note::parse("洗衣液一瓶").unwrap(),
            points,
            community: GridCode::parse("330102-001-001").unwrap(),
            at: Timestamp::from_millis(20),
        }
    }

    fn run(account: &mut Account, command: PointsCommand) -> Result<(), PeopleError> {
        for event in account.decide(command)? {
            account.apply(&event);
        }
        Ok(())
    }

    #[test]
    fn points_are_earned_once_per_reason_and_source_and_never_spent_below_zero() {
        let mut account = Account::default();
        run(&mut account, earn(5, EarnReason::ValidReport, 1)).unwrap();
        run(&mut account, earn(10, EarnReason::ReportFixed, 1)).unwrap();
        run(&mut account, earn(5, EarnReason::ValidReport, 2)).unwrap();
        assert_eq!(
            run(&mut account, earn(5, EarnReason::ValidReport, 1))
                .unwrap_err()
                .to_string(),
            "points: already earned for valid_report of case 00000000000000000000000000000001"
        );
        assert_eq!((account.balance, account.earned), (20, 20));
        run(&mut account, exchange(15)).unwrap();
        assert_eq!(
            run(&mut account, exchange(6)).unwrap_err(),
            PeopleError::InsufficientPoints {
                balance: 5,
                asked: 6
            }
        );
        run(&mut account, exchange(5)).unwrap();
        assert_eq!(
            (account.balance, account.earned, account.spent),
            (0, 20, 20)
        );
        assert_eq!(
            run(&mut account, exchange(0)).unwrap_err().to_string(),
            "points: must be more than 0"
        );
    }

    #[test]
    fn account_ids_read_back_what_they_write() {
        let member = AccountId::Member(MemberId::parse("sf-zhao-lei").unwrap());
        let resident = AccountId::Resident(0xabc);
        assert_eq!(member.to_string(), "member-sf-zhao-lei");
        assert_eq!(
            resident.to_string(),
            "resident-00000000000000000000000000000abc"
        );
        for account in [member, resident] {
            assert_eq!(AccountId::parse(&account.to_string()), Ok(account));
        }
        assert!(AccountId::parse("resident-abc").is_err());
        assert!(AccountId::parse("member-X").is_err());
        assert!(AccountId::parse("13800000000").is_err());
    }
}
