//! Crediting points from the case feed: a report that became a case (`CaseTriaged`) and a
//! reported problem the on-site check confirmed fixed (`CaseVerified`) earn their reporter the
//! points of `points.toml`: a special member (the report's actor is `member:<id>`) or a resident
//! who gave a phone number (the id of their contact's key). Grid workers' own reports and
//! anonymous ones earn nothing.
//!
//! Each credit's command id derives from the reason and the case, so a redelivered event, a
//! case triaged again after a return, or a second verification after rework credits once.

use std::sync::Arc;

use gridcase_bus::feed::{FeedConsumer, FeedError};
use gridcase_casestore::ids::command_id;
use gridcase_casestore::people::{PeopleStore, PeopleStoreError};
use gridcase_casestore::{CaseError, CaseStore, CommandContext, LoadedCase};
use gridcase_config::ReferenceData;
use gridcase_domain::people::{AccountId, EarnReason, PeopleError, PointsCommand, PointsSource};
use gridcase_domain::{CaseId, Channel, Contact, Event, MemberId, Timestamp};
use gridcase_eventstore::{EventStore, RecordedEvent};

/// The durable consumer's name.
pub const DURABLE: &str = "points";
/// The actor of the credits.
pub const ACTOR: &str = "evaluation:points";
/// Feed events in hand at once (one at a time per stream).
const CONCURRENCY: usize = 64;

/// Why one event could not be credited.
#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    /// Reading the case failed.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// Writing the account failed.
    #[error(transparent)]
    People(#[from] PeopleStoreError),
}

impl CreditError {
    fn is_permanent(&self) -> bool {
        matches!(
            self,
            Self::Case(CaseError::Domain(_) | CaseError::Decode { .. })
                | Self::People(PeopleStoreError::People(_) | PeopleStoreError::Decode { .. })
        )
    }
}

/// Credits points from case events.
#[derive(Debug)]
pub struct Crediter<S> {
    cases: CaseStore<S>,
    people: PeopleStore<S>,
    reference: Arc<ReferenceData>,
}

/// Whose account a case's report credits, if anyone's: its member, or its resident.
pub fn reporter_account(loaded: &LoadedCase) -> Option<AccountId> {
    let entry = loaded.timeline.first()?;
    let Event::CaseReported(reported) = &entry.event else {
        return None;
    };
    match reported.channel {
        Channel::SpecialMember => entry
            .actor
            .as_deref()
            .and_then(|actor| actor.strip_prefix("member:"))
            .and_then(|id| MemberId::parse(id).ok())
            .map(AccountId::Member),
        Channel::GridWorker => None,
        Channel::Hotline | Channel::QrCode | Channel::Web => match &reported.reporter {
            Contact::Sealed(sealed) => Some(AccountId::Resident(sealed.key_id)),
            Contact::Anonymous | Contact::Clear(_) => None,
        },
    }
}

impl<S: EventStore> Crediter<S> {
    /// Credits accounts in `store` by `reference`'s points rules.
    pub fn new(store: S, reference: Arc<ReferenceData>) -> Self {
        Self {
            cases: CaseStore::new(store.clone()),
            people: PeopleStore::new(store),
            reference,
        }
    }

    /// Follows `feed` until it closes, acknowledging each event once it is credited.
    pub async fn run(&self, mut feed: FeedConsumer) -> Result<(), FeedError> {
        feed.handle_each(
            CONCURRENCY,
            |event| async move { self.credit(&event).await },
            CreditError::is_permanent,
        )
        .await
    }

    /// Credits the points `event` earns, if any.
    pub async fn credit(&self, event: &RecordedEvent) -> Result<(), CreditError> {
        let reason = match event.event_type.as_str() {
            "CaseTriaged" => EarnReason::ValidReport,
            "CaseVerified" => EarnReason::ReportFixed,
            _ => return Ok(()),
        };
        let points = self.reference.points().points_for(reason);
        let Ok(case) = CaseId::parse(&event.stream_id) else {
            return Ok(());
        };
        if points == 0 {
            return Ok(());
        }
        let loaded = self.cases.load(case).await?;
        let Some(account) = reporter_account(&loaded) else {
            return Ok(());
        };
        let command_id = command_id(DURABLE, &[reason.as_str().as_bytes(), &case.to_bytes()]);
        let context = CommandContext {
            correlation_id: event.metadata.correlation_id,
            causation_id: Some(event.event_id),
            ..CommandContext::new(command_id, ACTOR)
        };
        let command = PointsCommand::Earn {
            reason,
            points,
            source: PointsSource::Case(case),
            at: Timestamp::from_millis(event.recorded_at_ms),
        };
        match self
            .people
            .execute_points(&account, command, &context)
            .await
        {
            Ok(executed) => {
                if !executed.repeated {
                    tracing::info!(%account, points, reason = reason.as_str(), case = %case, "points credited");
                }
                Ok(())
            }
            Err(PeopleStoreError::People(PeopleError::AlreadyEarned { .. })) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use gridcase_casestore::TimelineEntry;
    use gridcase_domain::event::CaseReported;
    use gridcase_domain::{Description, GridCode, Location, Reporter, SealedContact, TrackingCode};

    use super::*;

    fn reported(channel: Channel, reporter: Contact, actor: &str) -> LoadedCase {
        let event = Event::CaseReported(CaseReported {
            case_id: CaseId::from_u128(1),
            tracking_code: TrackingCode::from_u64(1),
            channel,
            reporter,
            location: Location::new(
                Some(GridCode::parse("330102-001-001-001").unwrap()),
                None,
                None,
            )
            .unwrap(),
            description: Description::parse("路口的垃圾桶破了").unwrap(),
            category: None,
            media: Vec::new(),
            reported_at: Timestamp::from_millis(1),
        });
        LoadedCase {
            timeline: vec![TimelineEntry {
                event,
                position: 0,
                version: 0,
                recorded_at_ms: 1,
                actor: Some(actor.to_owned()),
                event_id: 1,
            }],
            ..LoadedCase::default()
        }
    }

    fn sealed(key_id: u128) -> Contact {
        Contact::Sealed(SealedContact {
            key_id,
            nonce: [0; 12],
            ciphertext: vec![1, 2, 3],
        })
    }

    #[test]
    fn the_report_credits_its_member_or_its_resident_and_nobody_else() {
        let member = reported(
            Channel::SpecialMember,
            Contact::Anonymous,
            "member:sf-zhao-lei",
        );
        assert_eq!(
            reporter_account(&member),
            Some(AccountId::Member(MemberId::parse("sf-zhao-lei").unwrap()))
        );
        let resident = reported(Channel::Hotline, sealed(42), "operator:op-1");
        assert_eq!(reporter_account(&resident), Some(AccountId::Resident(42)));
        let qr = reported(Channel::QrCode, sealed(43), "gateway:qr");
        assert_eq!(reporter_account(&qr), Some(AccountId::Resident(43)));
        // Grid workers find problems as their job; anonymous and clear (old) contacts have no key.
        let worker = reported(Channel::GridWorker, sealed(44), "grid_worker:lin-ming");
        assert_eq!(reporter_account(&worker), None);
        let anonymous = reported(Channel::Hotline, Contact::Anonymous, "operator:op-1");
        assert_eq!(reporter_account(&anonymous), None);
        let clear = reported(
            Channel::Hotline,
            Contact::clear(Reporter::anonymous()),
            "operator:op-1",
        );
        assert_eq!(reporter_account(&clear), None);
        assert_eq!(reporter_account(&LoadedCase::default()), None);
    }
}
