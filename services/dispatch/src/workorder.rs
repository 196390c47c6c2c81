//! Work orders: the protobuf message a department's own system consumes, the JetStream stream
//! that keeps them (and the notices, see [`crate::notice`]), and the durable consumer each
//! department, office and leader reads its subject with.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, message::PublishMessage, stream};
use gridcase_casestore::TimelineEntry;
use gridcase_config::ReferenceData;
use gridcase_domain::{
    Assignee, CaseId, CaseState, Contact, Event, GridLevel, Priority, Timestamp,
    COMMUNITY_SUBJECT_TOKEN, STREET_SUBJECT_TOKEN,
};
use gridcase_privacy::Opened;
use gridcase_proto::dispatch::v1 as pb;
use prost::Message;

use gridcase_bus::subjects::{department_consumer, office_consumer, DISPATCH_ALL, DISPATCH_STREAM};

/// How long JetStream remembers work-order ids to drop a republished copy.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Why the work-order stream could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WorkOrderError {
    /// The stream or a consumer could not be created.
    #[error("work-order stream: {0}")]
    Setup(String),
    /// Publishing failed or JetStream did not acknowledge it.
    #[error("publishing {work_order}: {reason}")]
    Publish {
        /// The work order's or notice's id.
        work_order: String,
        /// What went wrong.
        reason: String,
    },
    /// The case's events do not hold what a work order needs.
    #[error("case {case}: {reason}")]
    Incomplete {
        /// The case.
        case: CaseId,
        /// What is missing.
        reason: String,
    },
}

/// The subject a work order for `assignee` goes to.
pub fn subject_for(assignee: &Assignee) -> String {
    match assignee {
        Assignee::Department(department) => gridcase_bus::subjects::dispatch(department.as_str()),
        Assignee::Worker(worker) => gridcase_bus::subjects::worker_dispatch(worker.as_str()),
        Assignee::Community(code) => {
            gridcase_bus::subjects::office_dispatch(COMMUNITY_SUBJECT_TOKEN, &code.to_string())
        }
        Assignee::Street(code) => {
            gridcase_bus::subjects::office_dispatch(STREET_SUBJECT_TOKEN, &code.to_string())
        }
    }
}

/// The recipient as a work order or notice names it: the department code, the worker's id,
/// or the office's grid code.
pub fn recipient(assignee: &Assignee) -> String {
    match assignee {
        Assignee::Department(code) => code.to_string(),
        Assignee::Worker(worker) => worker.to_string(),
        Assignee::Community(code) | Assignee::Street(code) => code.to_string(),
    }
}

/// Every durable consumer of the work-order stream and its subject: one per department, one
/// per community and street office of the grid hierarchy, and one per leader of an area.
fn consumers(reference: &ReferenceData) -> Vec<(String, String)> {
    let departments = reference.departments().map(|department| {
        let code = department.code.as_str();
        (
            department_consumer(code),
            gridcase_bus::subjects::dispatch(code),
        )
    });
    let offices = reference.grids().filter_map(|area| {
        let token = match area.code.level() {
            GridLevel::Community => COMMUNITY_SUBJECT_TOKEN,
            GridLevel::Street => STREET_SUBJECT_TOKEN,
            _ => return None,
        };
        let code = area.code.to_string();
        Some((
            office_consumer(token, &code),
            gridcase_bus::subjects::office_dispatch(token, &code),
        ))
    });
    let mut leaders: Vec<(String, String)> = reference
        .grids()
        .map(|area| {
            let id = area.leader.id.to_string();
            (
                gridcase_bus::subjects::leader_consumer(&id),
                gridcase_bus::subjects::leader_dispatch(&id),
            )
        })
        .collect();
    // One person may lead several areas: one consumer each.
    leaders.sort();
    leaders.dedup();
    departments.chain(offices).chain(leaders).collect()
}

/// Creates the work-order stream if missing (file storage, two-minute duplicate window) and a
/// durable pull consumer per department, community and street office and leader in the
/// reference data, so a system that has never connected still finds every work order and
/// notice from the first one.
pub async fn ensure_stream(
    js: &jetstream::Context,
    reference: &ReferenceData,
) -> Result<stream::Stream, WorkOrderError> {
    let stream = gridcase_bus::streams::ensure(
        js,
        stream::Config {
            name: DISPATCH_STREAM.to_owned(),
            subjects: vec![DISPATCH_ALL.to_owned()],
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        },
    )
    .await
    .map_err(WorkOrderError::Setup)?;
    for (durable, subject) in consumers(reference) {
        stream
            .get_or_create_consumer(
                &durable,
                pull::Config {
                    durable_name: Some(durable.clone()),
                    filter_subject: subject,
                    deliver_policy: jetstream::consumer::DeliverPolicy::All,
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| WorkOrderError::Setup(format!("consumer {durable}: {e}")))?;
    }
    Ok(stream)
}

/// Publishes `order` on `subject` with its id as `Nats-Msg-Id` and waits for JetStream's
/// acknowledgement; a copy published again within the duplicate window is dropped.
pub async fn publish(
    js: &jetstream::Context,
    subject: String,
    order: &pb::WorkOrder,
) -> Result<(), WorkOrderError> {
    publish_with_headers(js, subject, order, async_nats::HeaderMap::new()).await
}

/// [`publish`] with `headers` on the message besides `Nats-Msg-Id`: the trace ids of the event
/// that led to the order (see `gridcase_bus::headers`).
pub async fn publish_with_headers(
    js: &jetstream::Context,
    subject: String,
    order: &pb::WorkOrder,
    headers: async_nats::HeaderMap,
) -> Result<(), WorkOrderError> {
    let kind = gridcase_bus::headers::WORK_ORDER;
    publish_message(js, subject, &order.work_order_id, kind, order, headers).await
}

/// Publishes `message` (a work order or a notice, as `kind` says in the `Gridcase-Message`
/// header) on `subject` with `id` as `Nats-Msg-Id` and `headers` besides, and waits for
/// JetStream's acknowledgement.
pub async fn publish_message(
    js: &jetstream::Context,
    subject: String,
    id: &str,
    kind: &'static str,
    message: &impl Message,
    mut headers: async_nats::HeaderMap,
) -> Result<(), WorkOrderError> {
    let failed = |reason: String| WorkOrderError::Publish {
        work_order: id.to_owned(),
        reason,
    };
    headers.insert(gridcase_bus::headers::MESSAGE, kind);
    let message = PublishMessage::build()
        .headers(headers)
        .payload(message.encode_to_vec().into())
        .message_id(id);
    let ack = js
        .send_publish(subject, message)
        .await
        .map_err(|e| failed(e.to_string()))?;
    ack.await.map_err(|e| failed(e.to_string()))?;
    Ok(())
}

/// The reporter's contact (sealed) in a case's timeline, if it has its report.
pub fn reporter_of(timeline: &[TimelineEntry]) -> Option<&Contact> {
    timeline.iter().find_map(|entry| match &entry.event {
        Event::CaseReported(reported) => Some(&reported.reporter),
        _ => None,
    })
}

/// The work order for the dispatch (or rework) recorded at `timeline[index]`, built from the
/// case as it stood right after that event, so a redelivery builds the same message; `contact`
/// is the reporter's contact opened, of which it carries the phone masked.
pub fn build(
    case: CaseId,
    timeline: &[TimelineEntry],
    index: usize,
    reference: &ReferenceData,
    contact: &Opened,
) -> Result<(pb::WorkOrder, Assignee), WorkOrderError> {
    let incomplete = |reason: &str| WorkOrderError::Incomplete {
        case,
        reason: reason.to_owned(),
    };
    let upto = timeline
        .get(..=index)
        .ok_or_else(|| incomplete("event not in the timeline"))?;
    let dispatched = &upto[index];
    let state = CaseState::from_events(upto.iter().map(|entry| &entry.event));
    let assignee = state
        .assignee
        .clone()
        .ok_or_else(|| incomplete("no assignee"))?;
    let reported = upto
        .iter()
        .find_map(|entry| match &entry.event {
            Event::CaseReported(reported) => Some(reported),
            _ => None,
        })
        .ok_or_else(|| incomplete("no report"))?;
    let category_code = state
        .category
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let category_name = state
        .category
        .as_ref()
        .and_then(|code| reference.category(code))
        .map(|category| category.name.clone())
        .unwrap_or_default();
    let location = &reported.location;
    let (mut department, mut grid_worker, mut community, mut street) = Default::default();
    match &assignee {
        Assignee::Department(code) => department = code.to_string(),
        Assignee::Worker(worker) => grid_worker = worker.to_string(),
        Assignee::Community(code) => community = code.to_string(),
        Assignee::Street(code) => street = code.to_string(),
    }
    let recipient = recipient(&assignee);
    // A joint dispatch calls its departments to report in with the event right after it.
    let report_in_deadline_ms = match timeline.get(index + 1).map(|entry| &entry.event) {
        Some(Event::ReportInCalled(called)) => called.deadline.as_millis(),
        _ => 0,
    };
    // The routing this dispatch follows: a whistle names its whistler.
    let whistled_by = upto
        .iter()
        .rev()
        .find_map(|entry| match &entry.event {
            Event::WhistleBlown(whistle) => Some(whistle.by.actor_name()),
            Event::CaseTriaged(_) | Event::CaseReferred(_) => Some(String::new()),
            _ => None,
        })
        .unwrap_or_default();
    let (suggestion, suggested_department) = gridcase_rules::Suggestion::wire(
        gridcase_rules::suggestion(reference, state.category.as_ref(), &assignee).as_ref(),
    );
    let order = pb::WorkOrder {
        work_order_id: format!("{case}-{}", dispatched.version),
        case_id: case.to_string(),
        tracking_code: state
            .tracking_code
            .map(|code| code.to_string())
            .unwrap_or_default(),
        category_code,
        category_name,
        priority: state.priority.map_or(pb::Priority::Unspecified, priority) as i32,
        description: reported.description.as_str().to_owned(),
        location: Some(location.into()),
        media_urls: reported
            .media
            .iter()
            .map(|url| url.as_str().to_owned())
            .collect(),
        department,
        grid_worker,
        participants: state.participants.iter().map(ToString::to_string).collect(),
        accept_deadline_ms: state.accept_deadline.map_or(0, Timestamp::as_millis),
        resolve_deadline_ms: state.resolve_deadline.map_or(0, Timestamp::as_millis),
        dispatched_at_ms: dispatched.recorded_at_ms,
        rework_count: state.rework_count,
        reporter_phone_masked: contact.masked_phone(),
        recipient,
        for_consultation: false,
        community,
        street,
        suggestion,
        suggested_department,
        report_in_deadline_ms,
        whistled_by,
    };
    Ok((order, assignee))
}

/// Every copy of `order` to publish, with its subject: the assignee's, then one for each
/// participant of a joint case, marked for consultation and with an id of its own (JetStream
/// drops a second message with the same id).
pub fn copies(order: &pb::WorkOrder, assignee: &Assignee) -> Vec<(String, pb::WorkOrder)> {
    let mut copies = vec![(subject_for(assignee), order.clone())];
    for participant in &order.participants {
        let copy = pb::WorkOrder {
            work_order_id: format!("{}-{participant}", order.work_order_id),
            recipient: participant.clone(),
            for_consultation: true,
            ..order.clone()
        };
        copies.push((gridcase_bus::subjects::dispatch(participant), copy));
    }
    copies
}

fn priority(priority: Priority) -> pb::Priority {
    match priority {
        Priority::Emergency => pb::Priority::Emergency,
        Priority::Urgent => pb::Priority::Urgent,
        Priority::Normal => pb::Priority::Normal,
        Priority::Low => pb::Priority::Low,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_domain::{DepartmentCode, WorkerId};

    #[test]
    fn subjects_per_assignee() {
        assert_eq!(
            subject_for(&Assignee::Department(
                DepartmentCode::parse("water").unwrap()
            )),
            "gridcase.v1.dispatch.water"
        );
        assert_eq!(
            subject_for(&Assignee::Worker(WorkerId::parse("lin-ming").unwrap())),
            "gridcase.v1.dispatch.worker.lin-ming"
        );
        assert_eq!(department_consumer("water"), "dept-water");
    }

    #[test]
    fn participants_of_a_joint_case_get_consultation_copies() {
        let lead = Assignee::Department(DepartmentCode::parse("ecology_env").unwrap());
        let order = pb::WorkOrder {
            work_order_id: "c-4".into(),
            department: "ecology_env".into(),
            recipient: "ecology_env".into(),
            participants: vec!["urban_mgmt".into(), "market_supervision".into()],
            ..Default::default()
        };
        let copies: Vec<(String, String, String, bool)> = copies(&order, &lead)
            .into_iter()
            .map(|(subject, copy)| {
                (
                    subject,
                    copy.work_order_id,
                    copy.recipient,
                    copy.for_consultation,
                )
            })
            .collect();
        assert_eq!(
            copies,
            [
                (
                    "gridcase.v1.dispatch.ecology_env".into(),
                    "c-4".into(),
                    "ecology_env".into(),
                    false
                ),
                (
                    "gridcase.v1.dispatch.urban_mgmt".into(),
                    "c-4-urban_mgmt".into(),
                    "urban_mgmt".into(),
                    true
                ),
                (
                    "gridcase.v1.dispatch.market_supervision".into(),
                    "c-4-market_supervision".into(),
                    "market_supervision".into(),
                    true
                ),
            ]
        );
    }
}
