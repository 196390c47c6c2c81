//! The feed worker: follows the committed-event feed with the durable consumer `triage` and
//! decides every case that comes back to triage — newly reported, returned by its assignee, or
//! reopened. A feed message is acknowledged only once the decision is in the store (or the
//! case turns out to need no decision), so a crash in between means the message comes again;
//! the command id derives from the triggering event id, so it is never decided twice.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use gridcase_bus::feed::{FeedSharing, ACK_WAIT};
use gridcase_bus::retry::Backoff;
use gridcase_bus::{FeedConsumer, FeedMessage};
use gridcase_casestore::ids::{event_command_id, legacy};
use gridcase_casestore::{CaseError, CaseStore, CommandContext, LoadedCase};
use gridcase_config::ReferenceData;
use gridcase_domain::{CaseId, CaseStatus, Command, Event, Note, Priority, WorkerId};
use gridcase_eventstore::{EventStore, RecordedEvent};
use gridcase_proto::triage::v1::EmergencyAlert;

use crate::cache::CaseCache;
use crate::classifier::ClassifierSlot;
use crate::decision::{self, route_words, CaseView, Decision};

/// The durable consumer's name.
pub const DURABLE: &str = "triage";
/// The feed subjects the worker reads (nats-server 2.9 allows one filter; other events are
/// acknowledged and skipped).
pub const FEED_FILTER: &str = "gridcase.v1.events.>";
/// The actor of the rules' decisions.
pub const ACTOR: &str = "triage:rules";
/// The service name in the ids of emergency flags, apart from the decisions' ids.
const DANGER_SERVICE: &str = "triage-danger";
/// The service name in the ids of manual-queue deadlines.
const QUEUE_SERVICE: &str = "triage-queue";
/// The events that put a case in front of triage.
pub const TRIGGERS: &[&str] = &["CaseReported", "DispatchReturned", "CaseReopened"];

/// Feed events in hand at once (one at a time per case).
const CONCURRENCY: usize = 256;

/// Why a feed event could not be handled yet.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Loading or recording the case failed.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// The supervisors' alert could not be published.
    #[error("alert: {0}")]
    Alert(String),
}

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
pub struct Worker<S> {
    cases: CaseStore<S>,
    refdata: Arc<ReferenceData>,
    classifier: Arc<ClassifierSlot>,
    cache: Arc<CaseCache>,
    duplicate_window_ms: i64,
    alerts: jetstream::Context,
    /// Which shard's log a feed event is in, to wait for the cache to fold it.
    shards: gridcase_bus::ShardMap,
}

impl<S> std::fmt::Debug for Worker<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("duplicate_window_ms", &self.duplicate_window_ms)
            .finish_non_exhaustive()
    }
}

impl<S: EventStore> Worker<S> {
    /// A worker on `store`, classifying with `classifier`, looking for duplicates in `cache`
    /// within `duplicate_window`, publishing emergencies over `nats`.
    pub fn new(
        store: S,
        refdata: Arc<ReferenceData>,
        classifier: Arc<ClassifierSlot>,
        cache: Arc<CaseCache>,
        duplicate_window: Duration,
        nats: async_nats::Client,
        shards: gridcase_bus::ShardMap,
    ) -> Self {
        Self {
            cases: CaseStore::new(store),
            refdata,
            classifier,
            cache,
            duplicate_window_ms: i64::try_from(duplicate_window.as_millis()).unwrap_or(i64::MAX),
            alerts: jetstream::new(nats),
            shards,
        }
    }

    /// Handles one recorded event; an error means nothing was decided and it should be tried
    /// again.
    pub async fn handle(&self, record: &RecordedEvent) -> Result<Outcome, HandleError> {
        if !TRIGGERS.contains(&record.event_type.as_str()) {
            return Ok(Outcome::Skipped);
        }
        let Ok(case) = CaseId::parse(&record.stream_id) else {
            return Ok(Outcome::Skipped);
        };
        // Duplicates are looked for among the cases reported before this one: wait until the
        // cache has folded the log up to this event.
        let shard = self.shards.of_stream(&record.stream_id);
        self.cache.wait_past(shard, record.position).await;
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
        let classifier = self.classifier.current();
        let verdict =
            classifier.classify(&self.refdata, loaded.state.category.as_ref(), &description);
        // A duplicate has the same category and place: only the open cases of that category
        // near the case are looked at.
        let category = verdict.category();
        // … and reported within the duplicate window before it.
        let reported = loaded.state.reported_at.map_or(i64::MIN..=i64::MAX, |at| {
            gridcase_rules::duplicate_window(at, self.duplicate_window_ms)
        });
        let decision = self.cache.with_open_cases_near(
            category.as_ref(),
            loaded.state.location.as_ref(),
            reported,
            |open_cases| {
                decision::decide_on(
                    &self.refdata,
                    classifier.version(),
                    verdict,
                    view,
                    open_cases,
                    record.event_type == "CaseReported",
                    self.duplicate_window_ms,
                )
            },
        );
        let Some(command) = decision.command() else {
            if let Decision::Manual { reason, .. } = &decision {
                tracing::info!(case = %case, reason = %reason, "awaiting an operator");
            }
            if decision.emergency().is_some() {
                self.flag_emergency(case, loaded, &description, &decision, record)
                    .await?;
            } else {
                self.queue_for_operator(case, loaded, &decision, record)
                    .await?;
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
                if let Some(alert) =
                    self.routed_alert(case, &executed.state, &description, &decision)
                {
                    self.publish_alert(&alert, record.event_id).await?;
                }
                Ok(Outcome::Decided(decision))
            }
            // The case moved on between the read and the append (another replica, an
            // operator): its new state is someone else's decision.
            Err(CaseError::Domain(error)) => {
                tracing::info!(case = %case, %error, "case moved on; nothing decided");
                Ok(Outcome::NothingToDo)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Records that a case is left to an operator, with the manual queue's deadline (`sla.toml`
    /// `[manual]`), once per wait: supervision warns, breaches and escalates it like any
    /// deadline.
    async fn queue_for_operator(
        &self,
        case: CaseId,
        loaded: LoadedCase,
        decision: &Decision,
        record: &RecordedEvent,
    ) -> Result<(), HandleError> {
        let Decision::Manual { reason, .. } = decision else {
            return Ok(());
        };
        if loaded.state.triage_deadline.is_some() {
            return Ok(());
        }
        let triage_by = gridcase_runtime::now().plus_millis(
            i64::try_from(self.refdata.manual_policy().triage.as_millis()).unwrap_or(i64::MAX),
        );
        let reason: String = reason.chars().take(1000).collect();
        let command = Command::QueueForOperator {
            reason: Note::parse(&reason).map_err(|e| CaseError::Domain(e.into()))?,
            triage_by,
        };
        let context = CommandContext {
            correlation_id: record.metadata.correlation_id,
            causation_id: Some(record.event_id),
            ..CommandContext::new(event_command_id(QUEUE_SERVICE, record.event_id), ACTOR)
        };
        match self
            .cases
            .execute_loaded(case, loaded, &context, |_| Ok(command.clone()))
            .await
        {
            Ok(executed) => {
                tracing::info!(
                    case = %case,
                    triage_by = %triage_by,
                    repeated = executed.repeated,
                    "queued for an operator"
                );
                Ok(())
            }
            Err(CaseError::Domain(error)) => {
                tracing::info!(case = %case, %error, "case moved on; not queued");
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Records that a case left to an operator is an emergency — priority emergency, a triage
    /// deadline in minutes — and alerts the supervisors.
    async fn flag_emergency(
        &self,
        case: CaseId,
        loaded: LoadedCase,
        description: &str,
        decision: &Decision,
        record: &RecordedEvent,
    ) -> Result<(), HandleError> {
        let Decision::Manual {
            danger: Some(recognised),
            ..
        } = decision
        else {
            return Ok(());
        };
        let reason = recognised.reason();
        let triage_by = gridcase_runtime::now().plus_millis(
            i64::try_from(self.refdata.danger_policy().triage.as_millis()).unwrap_or(i64::MAX),
        );
        let command = Command::FlagDanger {
            danger: recognised.danger,
            reason: Note::parse(&reason).map_err(|e| CaseError::Domain(e.into()))?,
            triage_by,
        };
        let context = CommandContext {
            correlation_id: record.metadata.correlation_id,
            causation_id: Some(record.event_id),
            ..CommandContext::new(event_command_id(DANGER_SERVICE, record.event_id), ACTOR)
        };
        let state = if loaded.state.triage_deadline.is_some() {
            // Flagged already during this wait (e.g. by an earlier trigger): keep its deadline.
            loaded.state.clone()
        } else {
            match self
                .cases
                .execute_loaded(case, loaded, &context, |_| Ok(command.clone()))
                .await
            {
                Ok(executed) => {
                    tracing::warn!(
                        case = %case,
                        danger = %recognised.danger,
                        reason = %reason,
                        triage_by = %triage_by,
                        repeated = executed.repeated,
                        "emergency awaiting an operator"
                    );
                    executed.state
                }
                Err(CaseError::Domain(error)) => {
                    tracing::info!(case = %case, %error, "case moved on; not flagged");
                    return Ok(());
                }
                Err(error) => return Err(error.into()),
            }
        };
        let alert = EmergencyAlert {
            triage_by_ms: state.triage_deadline.map_or(0, |at| at.as_millis()),
            ..alert_of(case, &state, description, recognised.danger, reason)
        };
        self.publish_alert(&alert, record.event_id).await
    }

    /// The alert for a case routed as an emergency because of a danger, if it was.
    fn routed_alert(
        &self,
        case: CaseId,
        state: &gridcase_domain::CaseState,
        description: &str,
        decision: &Decision,
    ) -> Option<EmergencyAlert> {
        let Decision::Triage {
            category,
            priority: Priority::Emergency,
            route,
            priority_reason,
            danger: Some(danger),
            ..
        } = decision
        else {
            return None;
        };
        Some(EmergencyAlert {
            routed: true,
            category_code: category.to_string(),
            route: route_words(route),
            ..alert_of(
                case,
                state,
                description,
                *danger,
                priority_reason.clone().unwrap_or_default(),
            )
        })
    }

    async fn publish_alert(
        &self,
        alert: &EmergencyAlert,
        trigger: u128,
    ) -> Result<(), HandleError> {
        let id = format!("emergency-{}-{trigger:032x}", alert.case_id);
        crate::alert::publish(&self.alerts, alert, &id)
            .await
            .map_err(HandleError::Alert)?;
        tracing::info!(case = %alert.case_id, danger = %alert.danger, "supervisors alerted");
        Ok(())
    }

    /// Follows the feed until `shutdown`, reconnecting and retrying while NATS or the store is
    /// unreachable.
    pub async fn run(
        &self,
        nats: async_nats::Client,
        sharing: FeedSharing,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut backoff = Backoff::new();
        loop {
            let consumer = tokio::select! {
                () = &mut shutdown => return,
                consumer = FeedConsumer::shared(nats.clone(), DURABLE, FEED_FILTER, ACK_WAIT, sharing) => consumer,
            };
            if let Err(error) = crate::alert::ensure_stream(&self.alerts).await {
                tracing::warn!(%error, "cannot set up the alert stream; trying again");
                if backoff.wait_or_stop(&mut shutdown).await {
                    return;
                }
                continue;
            }
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
                Err(error @ HandleError::Case(CaseError::Decode { .. })) => {
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

/// The alert about `danger` in `case`, as waiting for an operator with no deadline yet.
fn alert_of(
    case: CaseId,
    state: &gridcase_domain::CaseState,
    description: &str,
    danger: gridcase_domain::Danger,
    reason: String,
) -> EmergencyAlert {
    EmergencyAlert {
        case_id: case.to_string(),
        tracking_code: state
            .tracking_code
            .map(|code| code.to_string())
            .unwrap_or_default(),
        danger: danger.to_string(),
        reason,
        description: description.to_owned(),
        grid_code: state
            .location
            .as_ref()
            .and_then(|location| location.grid())
            .map(|grid| grid.to_string())
            .unwrap_or_default(),
        routed: false,
        category_code: String::new(),
        route: String::new(),
        triage_by_ms: 0,
        reported_at_ms: state.reported_at.map_or(0, |at| at.as_millis()),
    }
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
            model,
            priority_reason,
            ..
        } => {
            tracing::info!(
                case = %case,
                category = %category,
                priority = %priority,
                priority_reason = priority_reason.as_deref().unwrap_or(""),
                route = ?route,
                reason = %reason,
                model = model.as_ref().map_or("", |model| model.version.as_str()),
                confidence = model.as_ref().map_or(0, |model| model.confidence),
                repeated,
                "triaged"
            );
        }
        Decision::Manual { .. } => {}
    }
}
