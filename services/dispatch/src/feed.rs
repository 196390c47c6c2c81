//! The feed worker: dispatches triaged cases and turns each dispatch (and each rework after a
//! failed verification) into a work order on the assignee's subject.
//!
//! Work orders are published from the recorded event, never right after appending it: the feed
//! redelivers an event until it is acknowledged, and the event is acknowledged only after
//! JetStream acknowledged the work order, so a crash anywhere in between publishes it again —
//! and JetStream drops the copy by its `Nats-Msg-Id`.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use gridcase_bus::{FeedConsumer, FeedError};
use gridcase_casestore::ids::{event_command_id, legacy};
use gridcase_casestore::{CaseError, CaseStore, CommandContext};
use gridcase_config::ReferenceData;
use gridcase_domain::{CaseId, CaseStatus, Command, Priority, ReportInWindow, Timestamp};
use gridcase_eventstore::{EventStore, RecordedEvent};
use gridcase_privacy::{Opened, Vault};

use crate::workorder::{self, WorkOrderError};
use gridcase_rules::sla::dispatch_deadlines;

/// Feed events in hand at once (one at a time per case).
pub const FEED_CONCURRENCY: usize = 256;

/// The durable consumer of the event feed the dispatch service follows.
pub const FEED_CONSUMER: &str = "dispatch";

/// The actor of the commands the service decides on its own.
pub const SERVICE_ACTOR: &str = "service:dispatch";

/// How long the feed holds back an event delivered to a worker that stopped before
/// acknowledging it (events prefetched when the service is stopped wait this long). Handling an
/// event is one load and one append or publish, far below this; a copy redelivered while the
/// first is still being retried is recognised as done.
pub const FEED_ACK_WAIT: Duration = Duration::from_secs(10);

/// Why one event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Acting on or reading the case failed.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// The work order could not be built or published.
    #[error(transparent)]
    WorkOrder(#[from] WorkOrderError),
    /// The event's stream is not a case.
    #[error("stream {0} is not a case id")]
    NotACase(String),
    /// The key vault could not open the reporter's contact.
    #[error(transparent)]
    Vault(#[from] gridcase_privacy::VaultError),
}

impl HandleError {
    /// True when trying again cannot help: the event is skipped (and logged) instead.
    fn is_permanent(&self) -> bool {
        matches!(
            self,
            Self::Case(CaseError::Domain(_) | CaseError::Decode { .. })
                | Self::WorkOrder(WorkOrderError::Incomplete { .. })
                | Self::NotACase(_)
        )
    }
}

/// Handles feed events for dispatch.
#[derive(Debug)]
pub struct FeedWorker<S> {
    cases: CaseStore<S>,
    reference: Arc<ReferenceData>,
    jetstream: jetstream::Context,
    vault: Vault,
}

impl<S: EventStore> FeedWorker<S> {
    /// A worker acting on cases in `store`, publishing work orders through `jetstream` with
    /// the reporter's phone masked, opened with `vault`.
    pub fn new(
        store: S,
        reference: Arc<ReferenceData>,
        jetstream: jetstream::Context,
        vault: Vault,
    ) -> Self {
        Self {
            cases: CaseStore::new(store),
            reference,
            jetstream,
            vault,
        }
    }

    /// Follows `feed` until it closes, acknowledging each event once it is handled. An event
    /// whose handling failed for a reason that may pass is tried again.
    pub async fn run(&self, mut feed: FeedConsumer) -> Result<(), FeedError> {
        feed.handle_each(
            FEED_CONCURRENCY,
            |event| async move { self.handle(&event).await },
            HandleError::is_permanent,
        )
        .await
    }

    /// Handles one feed event: dispatches a triaged or referred case, publishes the work order
    /// of a dispatch or a rework and the notices of a supervision decision; other event types
    /// are ignored.
    pub async fn handle(&self, event: &RecordedEvent) -> Result<(), HandleError> {
        match event.event_type.as_str() {
            "CaseTriaged" | "CaseReferred" | "WhistleBlown" => self.dispatch(event).await,
            "CaseDispatched" | "VerificationFailed" => self.publish_work_order(event).await,
            "CaseUrged"
            | "PostponementApproved"
            | "PostponementRefused"
            | "DeadlineWarned"
            | "DeadlineBreached"
            | "CaseEscalated"
            | "CaseResolved" => self.publish_notices(event).await,
            _ => Ok(()),
        }
    }

    async fn dispatch(&self, event: &RecordedEvent) -> Result<(), HandleError> {
        let case = case_of(event)?;
        let loaded = self.cases.load(case).await?;
        if loaded.state.status != Some(CaseStatus::Triaged) {
            // Dispatched already (this is a redelivery), or merged, rejected or returned since.
            return Ok(());
        }
        let context = CommandContext {
            correlation_id: event.metadata.correlation_id,
            causation_id: Some(event.event_id),
            ..CommandContext::new(
                event_command_id(crate::SERVICE, event.event_id),
                SERVICE_ACTOR,
            )
            .also_known_as(legacy::dispatch_feed(event.event_id))
        };
        let reference = &self.reference;
        // The first dispatch's deadlines count from the report. A case routed again — referred
        // on by a grid worker, community or street, or re-triaged after a return (退单) or a
        // reopening — gives its new assignee fresh deadlines counted from that routing; the
        // close deadline and the indicators still count from the report.
        let dispatched_before = loaded
            .timeline
            .iter()
            .any(|entry| matches!(entry.event, gridcase_domain::Event::CaseDispatched(_)));
        let routed_at = Timestamp::from_millis(event.recorded_at_ms);
        // The time a whistle named for reporting in, if this is a whistle that named one.
        let named_minutes = loaded.timeline.iter().find_map(|entry| match &entry.event {
            gridcase_domain::Event::WhistleBlown(whistle) if entry.event_id == event.event_id => {
                whistle.report_in_minutes
            }
            _ => None,
        });
        let executed = self
            .cases
            .execute_loaded(case, loaded, &context, |state| {
                let route =
                    state
                        .route
                        .as_ref()
                        .ok_or(gridcase_domain::DomainError::Inconsistent {
                            action: "dispatch",
                            missing: "route",
                        })?;
                let reported_at =
                    state
                        .reported_at
                        .ok_or(gridcase_domain::DomainError::Inconsistent {
                            action: "dispatch",
                            missing: "reported_at",
                        })?;
                let policy = reference.sla_for(
                    state.priority.unwrap_or(Priority::Normal),
                    state.category.as_ref(),
                );
                let start = if dispatched_before {
                    routed_at.max(reported_at)
                } else {
                    reported_at
                };
                let (accept_deadline, resolve_deadline) =
                    dispatch_deadlines(reference.calendar(), &policy, start);
                // The departments of a joint consultation report in (吹哨报到) within the time a
                // whistle named, or the policy's; a joint group from the catalogue is a
                // whistle blown automatically.
                let within = named_minutes.map_or_else(
                    || {
                        reference
                            .report_in_policy()
                            .within(state.priority.unwrap_or(Priority::Normal))
                    },
                    |minutes| std::time::Duration::from_secs(u64::from(minutes) * 60),
                );
                let report_in =
                    matches!(route, gridcase_domain::Route::Joint { .. }).then(|| ReportInWindow {
                        from: routed_at,
                        until: routed_at
                            .plus_millis(i64::try_from(within.as_millis()).unwrap_or(i64::MAX)),
                    });
                Ok(Command::Dispatch {
                    assignee: route.assignee(),
                    participants: route.participants().to_vec(),
                    accept_deadline,
                    resolve_deadline,
                    report_in,
                })
            })
            .await;
        match executed {
            Ok(executed) => {
                if !executed.repeated {
                    tracing::info!(case = %case, version = executed.version, "dispatch recorded");
                }
                Ok(())
            }
            // Another replica or a newer event moved the case on between load and decide.
            Err(CaseError::Domain(gridcase_domain::DomainError::WrongStatus { .. })) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The case of `event`, loaded, and the event's place in its timeline.
    async fn load_at(
        &self,
        event: &RecordedEvent,
    ) -> Result<(CaseId, gridcase_casestore::LoadedCase, usize), HandleError> {
        let case = case_of(event)?;
        let loaded = self.cases.load(case).await?;
        let index = loaded
            .timeline
            .iter()
            .position(|entry| entry.event_id == event.event_id)
            .ok_or_else(|| WorkOrderError::Incomplete {
                case,
                reason: format!("event {:032x} not in the stream", event.event_id),
            })?;
        Ok((case, loaded, index))
    }

    async fn publish_work_order(&self, event: &RecordedEvent) -> Result<(), HandleError> {
        let (case, loaded, index) = self.load_at(event).await?;
        let contact = match workorder::reporter_of(&loaded.timeline) {
            Some(contact) => self.vault.open_one(contact).await?,
            None => Opened::Anonymous,
        };
        let (order, assignee) =
            workorder::build(case, &loaded.timeline, index, &self.reference, &contact)?;
        let subject = workorder::subject_for(&assignee);
        // The order is caused by this event and belongs to the same request.
        let trace = || {
            gridcase_bus::headers::trace(None, event.metadata.correlation_id, Some(event.event_id))
        };
        for (subject, copy) in workorder::copies(&order, &assignee) {
            workorder::publish_with_headers(&self.jetstream, subject, &copy, trace()).await?;
        }
        tracing::info!(
            case = %case,
            department = %order.department,
            grid_worker = %order.grid_worker,
            work_order = %order.work_order_id,
            rework_count = order.rework_count,
            subject = %subject,
            "dispatched"
        );
        Ok(())
    }

    async fn publish_notices(&self, event: &RecordedEvent) -> Result<(), HandleError> {
        let (case, loaded, index) = self.load_at(event).await?;
        let notices = crate::notice::build(case, &loaded.timeline, index, &self.reference)?;
        for (subject, notice) in notices {
            let headers = gridcase_bus::headers::trace(
                None,
                event.metadata.correlation_id,
                Some(event.event_id),
            );
            workorder::publish_message(
                &self.jetstream,
                subject.clone(),
                &notice.notice_id,
                gridcase_bus::headers::NOTICE,
                &notice,
                headers,
            )
            .await?;
            tracing::info!(
                case = %case,
                notice = %notice.notice_id,
                kind = ?notice.kind(),
                subject = %subject,
                "notice sent"
            );
        }
        Ok(())
    }
}

fn case_of(event: &RecordedEvent) -> Result<CaseId, HandleError> {
    CaseId::parse(&event.stream_id).map_err(|_| HandleError::NotACase(event.stream_id.clone()))
}
