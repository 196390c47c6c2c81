//! The people of the grid beside its cases: special grid members and volunteers (特殊网格员,
//! 志愿者) enrolled by their community, and the points accounts (积分) that members and
//! reporting residents earn into and exchange from.
//!
//! Each member and each account is a stream of its own in the same store as the cases
//! ([`member_stream`], [`account_stream`]); their events ([`PeopleEvent`]) have their own type
//! names and codec, so no case stage ever mistakes them for case events. As for cases, a
//! command is decided against the state folded from the stream and appended with the version
//! it was decided on: two exchanges racing on one account cannot both spend the same points.

mod care;
mod codec;
mod member;
mod order;
mod points;

use serde::{Deserialize, Serialize};

use crate::values::{GridCode, Note, PersonName, Timestamp};

pub use care::{
    CareCommand, CareKind, Household, HouseholdEnrolled, HouseholdReleased, HouseholdVisited,
    VisitWarned, VisitWarning, Visitor,
};
pub use codec::{decode_people, encode_people, people_stage, PEOPLE_EVENT_TYPES, PEOPLE_STAGE};
pub use member::{enrol, MemberKind};
pub use order::{
    Order, OrderAccepted, OrderCancelled, OrderCommand, OrderCompleted, OrderConfirmed,
    OrderDispatched, OrderPlaced, OrderStatus,
};
pub use points::{Account, AccountId, EarnReason, PointsCommand, PointsSource};

/// Why a command on a member or an account was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeopleError {
    /// An argument failed validation.
    #[error(transparent)]
    Validation(#[from] crate::ValidationError),
    /// The member id is taken.
    #[error("member_id: {member} is already enrolled")]
    AlreadyEnrolled {
        /// The member id.
        member: String,
    },
    /// An exchange asks for more points than the account holds.
    #[error("points: the balance is {balance}, less than the {asked} asked")]
    InsufficientPoints {
        /// What the account holds.
        balance: u64,
        /// What the exchange asked for.
        asked: u32,
    },
    /// These points were earned already for this reason and source.
    #[error("points: already earned for {reason} of {source_id}")]
    AlreadyEarned {
        /// The reason.
        reason: &'static str,
        /// The case or order, as text.
        source_id: String,
    },
    /// No order has this id.
    #[error("order_id: no such order")]
    NoOrder,
    /// The order's state does not allow the command.
    #[error("order: is {status}, cannot be {action}: {rule}")]
    OrderState {
        /// Where the order stands.
        status: &'static str,
        /// What was asked.
        action: &'static str,
        /// The rule.
        rule: String,
    },
    /// A member acts on an order given to someone else.
    #[error("member_id: the order is given to {given}, not {member}")]
    NotYourOrder {
        /// Who asked.
        member: String,
        /// Who it is given to (empty: nobody).
        given: String,
    },
    /// The confirmation is made with another phone than the order was placed with.
    #[error("resident_phone: is not the phone the order was placed with")]
    NotTheOrderer,
    /// No household has this id.
    #[error("household_id: no such household")]
    NoHousehold,
    /// The household's state does not allow the command.
    #[error("household: {rule}")]
    HouseholdState {
        /// The rule.
        rule: &'static str,
    },
}

/// A member was enrolled by their community: who they are to the grid and where they serve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberEnrolled {
    /// What kind of member.
    pub kind: MemberKind,
    /// The name the community knows them by, as shown on its boards (e.g. 顺丰 赵师傅).
    pub name: PersonName,
    /// The community that enrolled them.
    pub community: GridCode,
    /// The grids they serve, inside that community.
    pub grids: Vec<GridCode>,
    /// When.
    pub at: Timestamp,
}

/// Points came into an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsEarned {
    /// Why.
    pub reason: EarnReason,
    /// How many.
    pub points: u32,
    /// The case (or order, or visit) they came from.
    pub source: PointsSource,
    /// When.
    pub at: Timestamp,
}

/// Points were exchanged for an item of the community's points shop (积分超市).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsExchanged {
    /// What was taken, e.g. 洗衣液一瓶.
    pub item: Note,
    /// How many points it cost.
    pub points: u32,
    /// The community whose shop gave it.
    pub community: GridCode,
    /// When.
    pub at: Timestamp,
}

/// An event of a member's or an account's stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeopleEvent {
    /// See [`MemberEnrolled`].
    MemberEnrolled(MemberEnrolled),
    /// See [`PointsEarned`].
    PointsEarned(PointsEarned),
    /// See [`PointsExchanged`].
    PointsExchanged(PointsExchanged),
    /// See [`OrderPlaced`].
    OrderPlaced(OrderPlaced),
    /// See [`OrderDispatched`].
    OrderDispatched(OrderDispatched),
    /// See [`OrderAccepted`].
    OrderAccepted(OrderAccepted),
    /// See [`OrderCompleted`].
    OrderCompleted(OrderCompleted),
    /// See [`OrderConfirmed`].
    OrderConfirmed(OrderConfirmed),
    /// See [`OrderCancelled`].
    OrderCancelled(OrderCancelled),
    /// See [`HouseholdEnrolled`].
    HouseholdEnrolled(HouseholdEnrolled),
    /// See [`HouseholdVisited`].
    HouseholdVisited(HouseholdVisited),
    /// See [`HouseholdReleased`].
    HouseholdReleased(HouseholdReleased),
    /// See [`VisitWarned`].
    VisitWarned(VisitWarned),
}

impl PeopleEvent {
    /// The type name the event is stored under.
    pub const fn type_name(&self) -> &'static str {
        match self {
            Self::MemberEnrolled(_) => "MemberEnrolled",
            Self::PointsEarned(_) => "PointsEarned",
            Self::PointsExchanged(_) => "PointsExchanged",
            Self::OrderPlaced(_) => "OrderPlaced",
            Self::OrderDispatched(_) => "OrderDispatched",
            Self::OrderAccepted(_) => "OrderAccepted",
            Self::OrderCompleted(_) => "OrderCompleted",
            Self::OrderConfirmed(_) => "OrderConfirmed",
            Self::OrderCancelled(_) => "OrderCancelled",
            Self::HouseholdEnrolled(_) => "HouseholdEnrolled",
            Self::HouseholdVisited(_) => "HouseholdVisited",
            Self::HouseholdReleased(_) => "HouseholdReleased",
            Self::VisitWarned(_) => "VisitWarned",
        }
    }
}

/// The stream of member `member`: `member-<id>`.
pub fn member_stream(member: &crate::MemberId) -> String {
    format!("member-{member}")
}

/// The stream of an account: `points-member-<id>` or `points-resident-<key id in hex>`.
pub fn account_stream(account: &AccountId) -> String {
    format!("points-{account}")
}

/// The stream of order `order`: `order-<32 hex digits>`.
pub fn order_stream(order: crate::OrderId) -> String {
    format!("order-{order}")
}

/// The stream of household `household`: `household-<32 hex digits>`.
pub fn household_stream(household: crate::HouseholdId) -> String {
    format!("household-{household}")
}
