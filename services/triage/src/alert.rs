//! Alerts for the supervisors on duty: every emergency triage recognises — routed at once or
//! waiting for an operator — is published as a protobuf `EmergencyAlert` on
//! `gridcase.v1.alerts.emergency.<case>`, kept in the JetStream stream `GRIDCASE_ALERTS` so a
//! console that connects later still sees it. The message id derives from the triggering
//! event, so a redelivered trigger publishes no second copy.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use gridcase_bus::subjects::{emergency_alert, ALERTS_ALL, ALERTS_STREAM};
use gridcase_proto::triage::v1::EmergencyAlert;
use prost::Message as _;

/// How long JetStream remembers alert ids to drop a republished copy.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long alerts are kept: a week of them is plenty for a shift's review.
const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Creates the alert stream if it does not exist.
pub async fn ensure_stream(js: &jetstream::Context) -> Result<(), String> {
    gridcase_bus::streams::ensure(
        js,
        stream::Config {
            name: ALERTS_STREAM.to_owned(),
            subjects: vec![ALERTS_ALL.to_owned()],
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            max_age: MAX_AGE,
            ..Default::default()
        },
    )
    .await
    .map(|_| ())
}

/// Publishes `alert` with `id` as its `Nats-Msg-Id` and waits for JetStream's acknowledgement.
pub async fn publish(
    js: &jetstream::Context,
    alert: &EmergencyAlert,
    id: &str,
) -> Result<(), String> {
    let subject = emergency_alert(&alert.case_id);
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", id);
    let failed = |e: &dyn std::fmt::Display| format!("publishing alert {id}: {e}");
    js.publish_with_headers(subject, headers, alert.encode_to_vec().into())
        .await
        .map_err(|e| failed(&e))?
        .await
        .map_err(|e| failed(&e))?;
    Ok(())
}
