//! Service orders (群众点单、社区派单、党员接单): a resident orders a service from their
//! community's service list, the community dispatches it to a party member or volunteer, who
//! accepts and completes it, and the resident confirms it and rates it.
//!
//! ```text
//! placed ──dispatch──▶ dispatched ──accept──▶ accepted ──complete──▶ completed ──confirm──▶ confirmed
//!   │  ▲                 │  (dispatch again, to another member, until accepted)
//!   └──┴──── cancel ─────┴──────────────────── cancel ──▶ cancelled
//! ```
//!
//! The deadlines to dispatch and to complete are fixed when the order is placed, from the
//! service's rule of the day, and travel with [`OrderPlaced`]: a later change of the rules does
//! not rewrite an order's history.

use serde::{Deserialize, Serialize};

use super::{PeopleError, PeopleEvent};
use crate::values::{GridCode, MemberId, Note, ServiceCode, Timestamp, ValidationError};

/// A resident ordered a service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    /// The service, from the service list.
    pub service: ServiceCode,
    /// The resident's grid.
    pub grid: GridCode,
    /// The community that dispatches it (the grid's).
    pub community: GridCode,
    /// The resident, by the id of their phone's key (as their points account): the number
    /// itself is not kept with the order.
    pub resident: u128,
    /// What is needed and where, in the resident's words.
    pub details: Note,
    /// Dispatch is due by then.
    pub dispatch_due: Timestamp,
    /// Completion is due by then.
    pub complete_due: Timestamp,
    /// When.
    pub at: Timestamp,
}

/// The community gave the order to a member (社区派单).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDispatched {
    /// The party member or volunteer.
    pub member: MemberId,
    /// When.
    pub at: Timestamp,
}

/// The member took the order on (党员接单).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAccepted {
    /// The member.
    pub member: MemberId,
    /// When.
    pub at: Timestamp,
}

/// The member says the service is done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCompleted {
    /// The member.
    pub member: MemberId,
    /// What was done.
    pub note: Note,
    /// When.
    pub at: Timestamp,
}

/// The resident confirmed the service done and rated it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderConfirmed {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub rating: u8,
    /// What the resident said, if anything.
    pub comment: Option<Note>,
    /// When.
    pub at: Timestamp,
}

/// The order was withdrawn before it was completed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    /// Why.
    pub reason: Note,
    /// When.
    pub at: Timestamp,
}

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    /// Waiting for the community to dispatch it.
    Placed,
    /// Given to a member, not yet accepted.
    Dispatched,
    /// Accepted by the member.
    Accepted,
    /// Done, by the member's word.
    Completed,
    /// Confirmed and rated by the resident.
    Confirmed,
    /// Withdrawn.
    Cancelled,
}

impl OrderStatus {
    /// The snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "placed",
            Self::Dispatched => "dispatched",
            Self::Accepted => "accepted",
            Self::Completed => "completed",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// An order folded from its stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Where it stands.
    pub status: OrderStatus,
    /// How it was placed.
    pub placed: OrderPlaced,
    /// The member it is given to, once dispatched.
    pub member: Option<MemberId>,
    /// When it was last dispatched.
    pub dispatched_at: Option<Timestamp>,
    /// When it was accepted.
    pub accepted_at: Option<Timestamp>,
    /// When the member completed it, and what they said.
    pub completed: Option<(Timestamp, Note)>,
    /// The resident's confirmation.
    pub confirmed: Option<OrderConfirmed>,
    /// Why it was cancelled.
    pub cancelled: Option<OrderCancelled>,
}

/// What may be asked of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderCommand {
    /// Place a new order.
    Place(OrderPlaced),
    /// Give it to `member` (again, to another member, while nobody accepted it).
    Dispatch {
        /// The member.
        member: MemberId,
        /// When.
        at: Timestamp,
    },
    /// The member it was given to takes it on.
    Accept {
        /// Who asks.
        member: MemberId,
        /// When.
        at: Timestamp,
    },
    /// The member who accepted it says it is done.
    Complete {
        /// Who asks.
        member: MemberId,
        /// What was done.
        note: Note,
        /// When.
        at: Timestamp,
    },
    /// The resident who ordered it confirms and rates it.
    Confirm {
        /// The key id of the phone the confirmation is made with.
        resident: u128,
        /// 1 to 5.
        rating: u8,
        /// What they said.
        comment: Option<Note>,
        /// When.
        at: Timestamp,
    },
    /// Withdraw it before it is completed.
    Cancel {
        /// Why.
        reason: Note,
        /// When.
        at: Timestamp,
    },
}

impl OrderCommand {
    /// The command's name, for refusals.
    const fn action(&self) -> &'static str {
        match self {
            Self::Place(_) => "placed",
            Self::Dispatch { .. } => "dispatched",
            Self::Accept { .. } => "accepted",
            Self::Complete { .. } => "completed",
            Self::Confirm { .. } => "confirmed",
            Self::Cancel { .. } => "cancelled",
        }
    }
}

impl Order {
    /// The order after `events`, `None` when none of them placed it.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a PeopleEvent>) -> Option<Self> {
        let mut order = None;
        for event in events {
            Self::fold(&mut order, event);
        }
        order
    }

    /// Folds one event into `order`; events of other streams change nothing.
    pub fn fold(order: &mut Option<Self>, event: &PeopleEvent) {
        if let PeopleEvent::OrderPlaced(placed) = event {
            *order = Some(Self {
                status: OrderStatus::Placed,
                placed: placed.clone(),
                member: None,
                dispatched_at: None,
                accepted_at: None,
                completed: None,
                confirmed: None,
                cancelled: None,
            });
            return;
        }
        let Some(order) = order else {
            return;
        };
        match event {
            PeopleEvent::OrderDispatched(e) => {
                order.status = OrderStatus::Dispatched;
                order.member = Some(e.member.clone());
                order.dispatched_at = Some(e.at);
            }
            PeopleEvent::OrderAccepted(e) => {
                order.status = OrderStatus::Accepted;
                order.accepted_at = Some(e.at);
            }
            PeopleEvent::OrderCompleted(e) => {
                order.status = OrderStatus::Completed;
                order.completed = Some((e.at, e.note.clone()));
            }
            PeopleEvent::OrderConfirmed(e) => {
                order.status = OrderStatus::Confirmed;
                order.confirmed = Some(e.clone());
            }
            PeopleEvent::OrderCancelled(e) => {
                order.status = OrderStatus::Cancelled;
                order.cancelled = Some(e.clone());
            }
            _ => {}
        }
    }

    /// True when dispatch was due before `now` and had not happened by then.
    pub fn dispatch_overdue(&self, now: Timestamp) -> bool {
        self.late(self.dispatched_at, self.placed.dispatch_due, now)
    }

    /// True when completion was due before `now` and had not happened by then.
    pub fn completion_overdue(&self, now: Timestamp) -> bool {
        let completed = self.completed.as_ref().map(|(at, _)| *at);
        self.late(completed, self.placed.complete_due, now)
    }

    /// True when a step done at `done` (or ended by the cancellation; else still waiting at
    /// `now`) came after `due`.
    fn late(&self, done: Option<Timestamp>, due: Timestamp, now: Timestamp) -> bool {
        let ended = done.or(self.cancelled.as_ref().map(|c| c.at));
        ended.unwrap_or(now) > due
    }

    fn refuse(&self, command: &OrderCommand, rule: &str) -> PeopleError {
        PeopleError::OrderState {
            status: self.status.as_str(),
            action: command.action(),
            rule: rule.to_owned(),
        }
    }

    fn given_to(&self, member: &MemberId) -> Result<(), PeopleError> {
        match &self.member {
            Some(given) if given == member => Ok(()),
            given => Err(PeopleError::NotYourOrder {
                member: member.to_string(),
                given: given.as_ref().map(ToString::to_string).unwrap_or_default(),
            }),
        }
    }

    /// The events `command` leads to on the order `order` (`None`: not placed), or why it is
    /// refused.
    pub fn decide(
        order: Option<&Self>,
        command: OrderCommand,
    ) -> Result<Vec<PeopleEvent>, PeopleError> {
        let order = match (order, &command) {
            (None, OrderCommand::Place(placed)) => {
                if placed.complete_due < placed.dispatch_due || placed.dispatch_due < placed.at {
                    return Err(ValidationError::new(
                        "deadlines",
                        "dispatch is due after the order and before completion",
                    )
                    .into());
                }
                return Ok(vec![PeopleEvent::OrderPlaced(placed.clone())]);
            }
            (Some(order), OrderCommand::Place(_)) => {
                return Err(order.refuse(&command, "the order exists"))
            }
            (None, _) => return Err(PeopleError::NoOrder),
            (Some(order), _) => order,
        };
        use OrderStatus::*;
        match command {
            OrderCommand::Place(_) => unreachable!("handled above"),
            OrderCommand::Dispatch { ref member, at } => {
                match order.status {
                    Placed => {}
                    Dispatched if order.member.as_ref() != Some(member) => {}
                    Dispatched => {
                        return Err(order.refuse(&command, "it is already given to that member"))
                    }
                    _ => {
                        return Err(order.refuse(
                            &command,
                            "only an order nobody has accepted can be dispatched",
                        ))
                    }
                }
                Ok(vec![PeopleEvent::OrderDispatched(OrderDispatched {
                    member: member.clone(),
                    at,
                })])
            }
            OrderCommand::Accept { ref member, at } => {
                if order.status != Dispatched {
                    return Err(order.refuse(&command, "only a dispatched order can be accepted"));
                }
                order.given_to(member)?;
                Ok(vec![PeopleEvent::OrderAccepted(OrderAccepted {
                    member: member.clone(),
                    at,
                })])
            }
            OrderCommand::Complete {
                ref member,
                ref note,
                at,
            } => {
                if order.status != Accepted {
                    return Err(order.refuse(&command, "only an accepted order can be completed"));
                }
                order.given_to(member)?;
                Ok(vec![PeopleEvent::OrderCompleted(OrderCompleted {
                    member: member.clone(),
                    note: note.clone(),
                    at,
                })])
            }
            OrderCommand::Confirm {
                resident,
                rating,
                ref comment,
                at,
            } => {
                if !(1..=5).contains(&rating) {
                    return Err(ValidationError::new("rating", "must be 1 to 5").into());
                }
                if order.status != Completed {
                    return Err(order.refuse(&command, "only a completed order can be confirmed"));
                }
                if resident != order.placed.resident {
                    return Err(PeopleError::NotTheOrderer);
                }
                Ok(vec![PeopleEvent::OrderConfirmed(OrderConfirmed {
                    rating,
                    comment: comment.clone(),
                    at,
                })])
            }
            OrderCommand::Cancel { ref reason, at } => {
                if !matches!(order.status, Placed | Dispatched | Accepted) {
                    return Err(
                        order.refuse(&command, "only an order not yet completed can be cancelled")
                    );
                }
                Ok(vec![PeopleEvent::OrderCancelled(OrderCancelled {
                    reason: reason.clone(),
                    at,
                })])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn placed() -> OrderPlaced {
        OrderPlaced {
            service: ServiceCode::parse("escort").unwrap(),
            grid: GridCode::parse("330102-001-001-001").unwrap(),
            community: GridCode::parse("330102-001-001").unwrap(),
            resident: 77,
            details: Note::parse("周四上午要去市一医院复查，腿脚不便，想请人陪一下").unwrap(),
            dispatch_due: Timestamp::from_millis(4 * HOUR),
            complete_due: Timestamp::from_millis(48 * HOUR),
            at: Timestamp::from_millis(0),
        }
    }

    fn member(id: &str) -> MemberId {
        MemberId::parse(id).unwrap()
    }

    fn run(order: &mut Option<Order>, command: OrderCommand) -> Result<(), PeopleError> {
        for event in Order::decide(order.as_ref(), command)? {
            Order::fold(order, &event);
        }
        Ok(())
    }

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_millis(hours * HOUR)
    }

    #[test]
    fn an_order_goes_from_placed_to_confirmed_and_only_its_member_and_resident_move_it() {
        let mut order = None;
        let dispatch = |id: &str, hours| OrderCommand::Dispatch {
            member: member(id),
            at: at(hours),
        };
        assert_eq!(
            run(&mut order, dispatch("he-guifang", 1)),
            Err(PeopleError::NoOrder)
        );
        run(&mut order, OrderCommand::Place(placed())).unwrap();
        assert_eq!(
            run(&mut order, OrderCommand::Place(placed()))
                .unwrap_err()
                .to_string(),
            "order: is placed, cannot be placed: the order exists"
        );
        run(&mut order, dispatch("he-guifang", 1)).unwrap();
        // Given again to another member while nobody accepted it.
        run(&mut order, dispatch("xu-lanying", 2)).unwrap();
        assert_eq!(
            run(
                &mut order,
                OrderCommand::Accept {
                    member: member("he-guifang"),
                    at: at(3)
                }
            )
            .unwrap_err()
            .to_string(),
            "member_id: the order is given to xu-lanying, not he-guifang"
        );
        run(
            &mut order,
            OrderCommand::Accept {
                member: member("xu-lanying"),
                at: at(3),
            },
        )
        .unwrap();
        assert!(run(&mut order, dispatch("he-guifang", 4))
            .unwrap_err()
            .to_string()
            .contains("only an order nobody has accepted can be dispatched"));
        let confirm = |resident, rating| OrderCommand::Confirm {
            resident,
            rating,
            comment: Some(Note::parse("小许很耐心，全程陪着，谢谢").unwrap()),
            at: at(30),
        };
        assert!(run(&mut order, confirm(77, 5))
            .unwrap_err()
            .to_string()
            .contains("only a completed order can be confirmed"));
        run(
            &mut order,
            OrderCommand::Complete {
                member: member("xu-lanying"),
                note: Note::parse("陪同就诊，取药后送回家").unwrap(),
                at: at(28),
            },
        )
        .unwrap();
        assert_eq!(
            run(&mut order, confirm(78, 5)),
            Err(PeopleError::NotTheOrderer)
        );
        assert_eq!(
            run(&mut order, confirm(77, 6)).unwrap_err().to_string(),
            "rating: must be 1 to 5"
        );
        run(&mut order, confirm(77, 5)).unwrap();
        let order = order.unwrap();
        assert_eq!(order.status, OrderStatus::Confirmed);
        assert_eq!(order.member, Some(member("xu-lanying")));
        assert_eq!(order.confirmed.as_ref().map(|c| c.rating), Some(5));
        assert!(!order.dispatch_overdue(at(100)));
        assert!(!order.completion_overdue(at(100)));
    }

    #[test]
    fn deadlines_count_late_dispatches_and_completions_and_cancelled_orders_stop() {
        let mut order = None;
        run(&mut order, OrderCommand::Place(placed())).unwrap();
        let placed_order = order.clone().unwrap();
        assert!(!placed_order.dispatch_overdue(at(4)));
        assert!(placed_order.dispatch_overdue(at(5)));
        assert!(placed_order.completion_overdue(at(49)));
        run(
            &mut order,
            OrderCommand::Dispatch {
                member: member("he-guifang"),
                at: at(6),
            },
        )
        .unwrap();
        // Dispatched late: it stays late, whenever it is looked at.
        assert!(order.as_ref().unwrap().dispatch_overdue(at(7)));
        run(
            &mut order,
            OrderCommand::Cancel {
                reason: Note::parse("家里人周末回来了，不用了").unwrap(),
                at: at(10),
            },
        )
        .unwrap();
        let cancelled = order.clone().unwrap();
        assert_eq!(cancelled.status, OrderStatus::Cancelled);
        assert!(!cancelled.completion_overdue(at(100)));
        assert!(run(
            &mut order,
            OrderCommand::Cancel {
                reason: Note::parse("再取消一次").unwrap(),
                at: at(11),
            }
        )
        .unwrap_err()
        .to_string()
        .contains("only an order not yet completed can be cancelled"));
        let mut bad = placed();
        bad.dispatch_due = at(50);
        assert_eq!(
            Order::decide(None, OrderCommand::Place(bad))
                .unwrap_err()
                .to_string(),
            "deadlines: dispatch is due after the order and before completion"
        );
    }
}
