//! Members and points accounts on the event store: each a stream of its own, loaded and decided
//! like a case ([`crate::CaseStore`]): a command is decided on the state read from the stream
//! and appended with the version it was read at; a conflict re-reads and decides again, and a
//! command whose events are already stored is not decided twice.

use gridcase_domain::people::{
    account_stream, decode_people, encode_people, enrol, household_stream, member_stream,
    order_stream, Account, AccountId, CareCommand, Household, MemberEnrolled, Order, OrderCommand,
    PeopleError, PeopleEvent, PointsCommand,
};
use gridcase_domain::{HouseholdId, MemberId, OrderId};
use gridcase_eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent, StoreError};

use crate::{event_id, CommandContext, LOAD_BATCH, MAX_ATTEMPTS};

/// Why acting on a member or an account failed.
#[derive(Debug, thiserror::Error)]
pub enum PeopleStoreError {
    /// The domain refused the command.
    #[error(transparent)]
    People(#[from] PeopleError),
    /// The store failed or refused the append.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event could not be decoded.
    #[error("{stream}: event at position {position}: {reason}")]
    Decode {
        /// The stream.
        stream: String,
        /// Global position of the bad event.
        position: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// Other writers kept changing the stream while this command was decided.
    #[error("{stream}: still conflicting after {attempts} attempts")]
    Contended {
        /// The stream.
        stream: String,
        /// Attempts made.
        attempts: usize,
    },
}

/// One event of a people's stream with the store's record of it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeopleEntry {
    /// What happened.
    pub event: PeopleEvent,
    /// Global position.
    pub position: u64,
    /// When the store recorded it.
    pub recorded_at_ms: i64,
    /// Who decided it (`role:id`).
    pub actor: Option<String>,
    /// Its id.
    pub event_id: u128,
}

/// A stream read whole.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedStream {
    /// Its events in order.
    pub entries: Vec<PeopleEntry>,
    /// The last version, `None` for a stream that does not exist.
    pub version: Option<u64>,
}

/// What a command came to.
#[derive(Debug, Clone, PartialEq)]
pub struct PeopleExecuted {
    /// The events recorded for it (now or by an earlier try of the same command).
    pub events: Vec<PeopleEvent>,
    /// True when an earlier try had recorded them and nothing was written now.
    pub repeated: bool,
    /// The account after it (for account commands).
    pub account: Account,
}

/// Members and points accounts kept in `store`.
#[derive(Debug, Clone)]
pub struct PeopleStore<S> {
    store: S,
}

impl<S: EventStore> PeopleStore<S> {
    /// Members and accounts on `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// Reads a people's stream whole; a missing stream loads empty.
    pub async fn load(&self, stream: &str) -> Result<LoadedStream, PeopleStoreError> {
        let mut loaded = LoadedStream::default();
        loop {
            let from = loaded.version.map_or(0, |v| v + 1);
            let part = self
                .store
                .read_stream_part(stream, from, LOAD_BATCH)
                .await?;
            let Some(last) = part.events.last() else {
                break;
            };
            loaded.version = Some(last.stream_version);
            for record in part.events {
                let event =
                    decode_people(&record.event_type, record.schema_version, &record.payload)
                        .map_err(|e| PeopleStoreError::Decode {
                            stream: stream.to_owned(),
                            position: record.position,
                            reason: e.to_string(),
                        })?;
                loaded.entries.push(PeopleEntry {
                    event,
                    position: record.position,
                    recorded_at_ms: record.recorded_at_ms,
                    actor: record.metadata.actor,
                    event_id: record.event_id,
                });
            }
            if part.at_end {
                break;
            }
        }
        Ok(loaded)
    }

    /// The enrolment of member `member` recorded in the store, if any.
    pub async fn member(
        &self,
        member: &MemberId,
    ) -> Result<Option<MemberEnrolled>, PeopleStoreError> {
        let loaded = self.load(&member_stream(member)).await?;
        Ok(enrolment(&loaded))
    }

    /// Enrols `member`, refused when its stream holds an enrolment made by another command.
    pub async fn enrol(
        &self,
        member: &MemberId,
        enrolled: MemberEnrolled,
        context: &CommandContext,
    ) -> Result<PeopleExecuted, PeopleStoreError> {
        let stream = member_stream(member);
        self.execute(&stream, context, |loaded| {
            enrol(enrolment(loaded).as_ref(), member, enrolled.clone())
        })
        .await
    }

    /// Account `account` as folded from its stream, with its entries.
    pub async fn account(
        &self,
        account: &AccountId,
    ) -> Result<(Account, LoadedStream), PeopleStoreError> {
        let loaded = self.load(&account_stream(account)).await?;
        let folded = Account::from_events(loaded.entries.iter().map(|e| &e.event));
        Ok((folded, loaded))
    }

    /// Decides `command` on `account` and records it.
    pub async fn execute_points(
        &self,
        account: &AccountId,
        command: PointsCommand,
        context: &CommandContext,
    ) -> Result<PeopleExecuted, PeopleStoreError> {
        let stream = account_stream(account);
        self.execute(&stream, context, |loaded| {
            Account::from_events(loaded.entries.iter().map(|e| &e.event)).decide(command.clone())
        })
        .await
    }

    /// Order `order` as folded from its stream, `None` when it was never placed.
    pub async fn order(&self, order: OrderId) -> Result<Option<Order>, PeopleStoreError> {
        let loaded = self.load(&order_stream(order)).await?;
        Ok(Order::from_events(loaded.entries.iter().map(|e| &e.event)))
    }

    /// Decides `command` on order `order` and records it; returns the order after it.
    pub async fn execute_order(
        &self,
        order: OrderId,
        command: OrderCommand,
        context: &CommandContext,
    ) -> Result<(PeopleExecuted, Order), PeopleStoreError> {
        let executed = self
            .execute(&order_stream(order), context, |loaded| {
                let folded = Order::from_events(loaded.entries.iter().map(|e| &e.event));
                Order::decide(folded.as_ref(), command.clone())
            })
            .await?;
        let folded = self.order(order).await?.ok_or(PeopleError::NoOrder)?;
        Ok((executed, folded))
    }

    /// Household `household` as folded from its stream, `None` when it was never enrolled.
    pub async fn household(
        &self,
        household: HouseholdId,
    ) -> Result<Option<Household>, PeopleStoreError> {
        let loaded = self.load(&household_stream(household)).await?;
        Ok(Household::from_events(
            loaded.entries.iter().map(|e| &e.event),
        ))
    }

    /// Decides `command` on household `household` and records it; returns the household
    /// after it.
    pub async fn execute_care(
        &self,
        household: HouseholdId,
        command: CareCommand,
        context: &CommandContext,
    ) -> Result<(PeopleExecuted, Household), PeopleStoreError> {
        let executed = self
            .execute(&household_stream(household), context, |loaded| {
                let folded = Household::from_events(loaded.entries.iter().map(|e| &e.event));
                Household::decide(folded.as_ref(), command.clone())
            })
            .await?;
        let folded = self
            .household(household)
            .await?
            .ok_or(PeopleError::NoHousehold)?;
        Ok((executed, folded))
    }

    async fn execute(
        &self,
        stream: &str,
        context: &CommandContext,
        mut decide: impl FnMut(&LoadedStream) -> Result<Vec<PeopleEvent>, PeopleError>,
    ) -> Result<PeopleExecuted, PeopleStoreError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let loaded = self.load(stream).await?;
            let account = || Account::from_events(loaded.entries.iter().map(|e| &e.event));
            if let Some((command_id, start)) = context.known_ids().find_map(|command_id| {
                let first = event_id(command_id, 0);
                let start = loaded.entries.iter().position(|e| e.event_id == first)?;
                Some((command_id, start))
            }) {
                let events = loaded.entries[start..]
                    .iter()
                    .enumerate()
                    .take_while(|(i, e)| e.event_id == event_id(command_id, *i))
                    .map(|(_, e)| e.event.clone())
                    .collect();
                return Ok(PeopleExecuted {
                    events,
                    repeated: true,
                    account: account(),
                });
            }
            let events = decide(&loaded)?;
            let new_events = events
                .iter()
                .enumerate()
                .map(|(index, event)| {
                    let encoded = encode_people(event);
                    NewEvent {
                        event_id: event_id(context.command_id, index),
                        event_type: encoded.event_type.to_owned(),
                        schema_version: encoded.schema_version,
                        metadata: Metadata {
                            correlation_id: context.correlation_id,
                            causation_id: context.causation_id,
                            actor: Some(context.actor.clone()),
                        },
                        payload: encoded.payload,
                    }
                })
                .collect();
            let expected = ExpectedVersion::from_current(loaded.version);
            match self.store.append(stream, expected, new_events).await {
                Ok(appended) => {
                    let mut account = account();
                    for event in &events {
                        account.apply(event);
                    }
                    return Ok(PeopleExecuted {
                        events,
                        repeated: appended.duplicate,
                        account,
                    });
                }
                Err(StoreError::WrongExpectedVersion { .. }) => {
                    tracing::debug!(stream, attempt, "version conflict; deciding again");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(PeopleStoreError::Contended {
            stream: stream.to_owned(),
            attempts: MAX_ATTEMPTS,
        })
    }
}

fn enrolment(loaded: &LoadedStream) -> Option<MemberEnrolled> {
    loaded.entries.iter().find_map(|entry| match &entry.event {
        PeopleEvent::MemberEnrolled(enrolled) => Some(enrolled.clone()),
        _ => None,
    })
}
