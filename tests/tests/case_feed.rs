//! A domain decision travels the whole write path: decided by the pure domain, encoded by its
//! codec, appended through the store service over NATS, made durable in sled, relayed to
//! JetStream under its stage's subject, and decoded back by a consumer of the feed.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use gridcase_bus::subjects;
use gridcase_domain::{
    codec, decide, CaseId, CaseState, Channel, Command, Contact, Description, Event, Location,
    Timestamp, TrackingCode,
};
use gridcase_eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent};
use gridcase_store_node::RelayMode;
use gridcase_testkit::{wait_until, Sandbox, WAIT};

fn report(case_id: CaseId) -> Command {
    Command::Report {
        case_id,
        tracking_code: TrackingCode::from_u64(case_id.as_u128() as u64),
        channel: Channel::Hotline,
        reporter: Contact::Anonymous,
        location: Location::new(Some("330102-001-002-003".parse().unwrap()), None, None).unwrap(),
        description: Description::parse("小区门口井盖缺失，晚上很危险").unwrap(),
        category: None,
        media: Vec::new(),
        reported_at: Timestamp::from_millis(1_790_000_000_000),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reported_case_reaches_the_event_feed_under_its_stage() {
    let sandbox = Sandbox::start();
    let store = sandbox
        .start_store(&sandbox.path("store"), RelayMode::On)
        .await;

    let case_id = CaseId::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    let events = decide(&CaseState::default(), report(case_id)).unwrap();
    let new_events: Vec<NewEvent> = events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let encoded = codec::encode(event);
            NewEvent {
                event_id: case_id.as_u128() ^ (i as u128 + 1),
                event_type: encoded.event_type.to_owned(),
                schema_version: encoded.schema_version,
                metadata: Metadata {
                    actor: Some("operator:op-7".into()),
                    ..Metadata::default()
                },
                payload: encoded.payload,
            }
        })
        .collect();
    let stream = case_id.to_string();
    store
        .client
        .append(&stream, ExpectedVersion::NoStream, new_events)
        .await
        .unwrap();

    let js = jetstream::new(sandbox.connect().await);
    let feed = wait_until("the event feed stream to exist", WAIT, || async {
        js.get_stream(subjects::EVENTS_STREAM).await.ok()
    })
    .await;
    let consumer = feed
        .create_consumer(pull::Config {
            filter_subject: subjects::event("CaseReported", &stream),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let message = tokio::time::timeout(Duration::from_secs(20), messages.next())
        .await
        .expect("the reported case is relayed")
        .unwrap()
        .unwrap();
    let recorded = gridcase_bus::wire::decode_feed(&message.payload).unwrap();
    assert_eq!(recorded.stream_id, stream);
    assert_eq!(recorded.metadata.actor.as_deref(), Some("operator:op-7"));
    let event = codec::decode(
        &recorded.event_type,
        recorded.schema_version,
        &recorded.payload,
    )
    .unwrap();
    let Event::CaseReported(reported) = &event else {
        panic!("expected CaseReported, got {event:?}");
    };
    assert_eq!(reported.case_id, case_id);
    assert_eq!(&event, &events[0]);

    // The case rebuilt from the store is the case the domain decided on.
    let history = store.client.read_stream(&stream, 0, 100).await.unwrap();
    let decoded: Vec<Event> = history
        .iter()
        .map(|r| codec::decode(&r.event_type, r.schema_version, &r.payload).unwrap())
        .collect();
    let rebuilt = CaseState::from_events(&decoded);
    assert!(rebuilt.exists());
    assert_eq!(rebuilt.case_id, Some(case_id));
    store.stop().await;
}
