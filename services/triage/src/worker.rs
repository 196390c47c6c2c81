//! The feed worker: follows the committed-event feed with the durable consumer `triage` and
//! decides every case that comes back to triage — newly reported, returned by its assignee, or
//! reopened. A feed message is acknowledged only once the decision is in the store (or the
//! case turns out to need no decision), so a crash in between means the message comes again;
//! the command id derives from the triggering event id, so it is never decided twice.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gridcase_bus::retry::Backoff;
use gridcase_bus::{FeedConsumer, FeedMessage};
use gridcase_casestore::ids::{event_command_id, legacy};
use gridcase_casestore::{CaseError, CaseStore, CommandContext, LoadedCase};
use gridcase_config::ReferenceData;
use gridcase_domain::{CaseId, CaseStatus, Event, WorkerId};
use gridcase_eventstore::{EventStore, RecordedEvent};

use crate::cache::CaseCache;
use crate::decision::{self, CaseView, Decision};

/// The durable consumer's name.
pub const DURABLE: &str = "triage";
/// The feed subjects the worker reads (nats-server 2.9 allows one filter; other events are
/// acknowledged and skipped).
pub const FEED_FILTER: &str = "gridcase.v1.events.>";
/// The actor of the rules' decisions.
pub const ACTOR: &str = "triage:rules";
/// The events that put a case in front of triage.
pub const TRIGGERS: &[&str] = &["CaseReported", "DispatchReturned", "CaseReopened"];

/// Feed events in hand at once (one at a time per case).
const CONCURRENCY: usize = 256;

/// What became of one feed event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Not an event triage acts on.
    Skipped,
    /// The case no longer waits for this trigger (decided before, or a later event took over).
    NothingToDo,
    /// The rules' decision was recorded now or had been recorded before.
    Decided(Decision),
    /// The rules cannot decide; the case waits in the manual queue.
    Manual(Decision),
}

/// Decides cases as the feed brings them.
#[derive(Debug)]
pub struct Worker<S> {
    cases: CaseStore<S>,
    refdata: Arc<ReferenceData>,
    cache: Arc<CaseCache>,
    duplicate_window_ms: i64,
}

impl<S: EventStore> Worker<S> {
    /// A worker on `store`, looking for duplicates in `cache` within `duplicate_window`.
    pub fn new(
        store: S,
        refdata: Arc<ReferenceData>,
        cache: Arc<CaseCache>,
        duplicate_window: Duration,
    ) -> Self {
        Self {
            cases: CaseStore::new(store),
            refdata,
            cache,
            duplicate_window_ms: i64::try_from(duplicate_window.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// Handles one recorded event; an error means nothing was decided and it should be tried
    /// again.
    pub async fn handle(&self, record: &RecordedEvent) -> Result<Outcome, CaseError> {
        if !TRIGGERS.contains(&record.event_type.as_str()) {
            return Ok(Outcome::Skipped);
        }
        let Ok(case) = CaseId::parse(&record.stream_id) else {
            return Ok(Outcome::Skipped);
        };
        // Duplicates are looked for among the cases reported before this one: wait until the
        // cache has folded the log up to this event.
        self.cache.wait_past(record.position).await;
        let loaded = self.cases.load(case).await?;
        if !awaits_this_trigger(&loaded, record.event_id) {
            return Ok(Outcome::NothingToDo);
        }
        let Some(description) = description(&loaded) else {
            return Ok(Outcome::NothingToDo);
        };
        let reported_by_worker = reporting_worker(&loaded);
        let view = CaseView {
            state: &loaded.state,
            description: &description,
            reported_by_worker: reported_by_worker.as_ref(),
        };
        // A duplicate has the same category: only those open cases are looked at.
        let category = decision::category_of(&self.refdata, view);
        let decision = self
            .cache
            .with_open_cases_of(category.as_ref(), |open_cases| {
                decision::decide(
                    &self.refdata,
                    view,
                    open_cases,
                    record.event_type == "CaseReported",
                    self.duplicate_window_ms,
                )
            });
        let Some(command) = decision.command() else {
            if let Decision::Manual { reason, .. } = &decision {
                tracing::info!(case = %case, reason = %reason, "awaiting an operator");
            }
            return Ok(Outcome::Manual(decision));
        };
        let context = CommandContext {
            correlation_id: record.metadata.correlation_id,
            causation_id: Some(record.event_id),
            ..CommandContext::new(event_command_id(crate::SERVICE, record.event_id), ACTOR)
                .also_known_as(legacy::triage_rules(record.event_id))
        };
        match self
            .cases
            .execute_loaded(case, loaded, &context, |_| Ok(command.clone()))
            .await
        {
            Ok(executed) => {
                log_decision(case, &decision, executed.repeated);
                Ok(Outcome::Decided(decision))
            }
            // The case moved on between the read and the append (another replica, an
            // operator): its new state is someone else's decision.
            Err(CaseError::Domain(error)) => {
                tracing::info!(case = %case, %error, "case moved on; nothing decided");
                Ok(Outcome::NothingToDo)
            }
            Err(error) => Err(error),
        }
    }

    /// Follows the feed until `shutdown`, reconnecting and retrying while NATS or the store is
    /// unreachable.
    pub async fn run(&self, nats: async_nats::Client, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = Backoff::new();
        loop {
            let consumer = tokio::select! {
                () = &mut shutdown => return,
                consumer = FeedConsumer::durable(nats.clone(), DURABLE, FEED_FILTER) => consumer,
            };
            let mut consumer = match consumer {
                Ok(consumer) => consumer,
                Err(error) => {
                    tracing::warn!(%error, "cannot follow the event feed; trying again");
                    if backoff.wait_or_stop(&mut shutdown).await {
                        return;
                    }
                    continue;
                }
            };
            tracing::info!(
                durable = DURABLE,
                filter = FEED_FILTER,
                "following the event feed"
            );
            backoff.reset();
            // Stopping drops the messages in hand unacknowledged: they come again.
            let interrupted = tokio::select! {
                () = &mut shutdown => return,
                interrupted = consumer.for_each_per_stream(CONCURRENCY, |m| self.settle(m)) => {
                    interrupted
                }
            };
            match interrupted {
                Some(error) => tracing::warn!(%error, "event feed failed; following it again"),
                None => tracing::warn!("event feed closed; following it again"),
            }
            if backoff.wait_or_stop(&mut shutdown).await {
                return;
            }
        }
    }

    /// Handles `message` until it is decided, then acknowledges it.
    async fn settle(&self, message: FeedMessage) {
        let mut backoff = Backoff::new();
        loop {
            match self.handle(&message.event).await {
                Ok(_) => break,
                Err(error @ CaseError::Decode { .. }) => {
                    // Retrying cannot help; the case needs a person.
                    tracing::error!(%error, "case cannot be read; skipped");
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "deciding failed; trying again");
                    backoff.wait().await;
                }
            }
        }
        if let Err(error) = message.ack().await {
            // Unacknowledged, it comes again and is recognised as decided.
            tracing::warn!(%error, "acknowledging a feed message failed");
        }
    }
}

/// True if the case awaits triage and `trigger` is the latest event that put it there.
fn awaits_this_trigger(loaded: &LoadedCase, trigger: u128) -> bool {
    if loaded.state.status != Some(CaseStatus::Reported) {
        return false;
    }
    loaded
        .timeline
        .iter()
        .rev()
        .find(|entry| TRIGGERS.contains(&entry.event.type_name()))
        .is_some_and(|entry| entry.event_id == trigger)
}

/// The grid worker who reported the case on patrol, if one did.
pub fn reporting_worker(loaded: &LoadedCase) -> Option<WorkerId> {
    loaded.timeline.iter().find_map(|entry| match &entry.event {
        Event::CaseReported(reported) => {
            decision::reporting_worker(reported, entry.actor.as_deref())
        }
        _ => None,
    })
}

/// The reporter's words.
fn description(loaded: &LoadedCase) -> Option<String> {
    loaded.timeline.iter().find_map(|entry| match &entry.event {
        Event::CaseReported(reported) => Some(reported.description.as_str().to_owned()),
        _ => None,
    })
}

fn log_decision(case: CaseId, decision: &Decision, repeated: bool) {
    match decision {
        Decision::Merge { into } => {
            tracing::info!(case = %case, into = %into, repeated, "merged");
        }
        Decision::Triage {
            category,
            priority,
            route,
            reason,
        } => {
            tracing::info!(
                case = %case,
                category = %category,
                priority = %priority,
                route = ?route,
                reason = %reason,
                repeated,
                "triaged"
            );
        }
        Decision::Manual { .. } => {}
    }
}
