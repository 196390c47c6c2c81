//! The centre's side: tracking codes reserved for street offices, and the offices' reports
//! recorded as cases from the stream that sources them.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream};
use futures::StreamExt;
use gridcase_auth::Caller;
use gridcase_bus::retry::Backoff;
use gridcase_bus::subjects::{
    office_domain, OFFICE_CODES_ALL, OFFICE_INBOX_STREAM, OFFICE_REPORTS_STREAM,
};
use gridcase_domain::{GridCode, GridLevel, Timestamp};
use gridcase_eventstore::EventStore;
use gridcase_grpc::ApiError;
use gridcase_proto::intake::v1 as pb;
use prost::Message;

use super::{office_request_id, CodesRequest, OfficeReport, MAX_CODES_PER_REQUEST};
use crate::ids::{case_id_for, report_command_id};
use crate::report::NewReport;
use crate::IntakeApi;

/// The durable consumer the centre's intake replicas share on [`OFFICE_INBOX_STREAM`].
pub const INBOX_CONSUMER: &str = "intake-offices";

/// Answers street offices' requests for tracking codes until the subscription ends: each code
/// reserved as for a report at the centre, for the case of the office's report of that number.
pub async fn serve_codes<S: EventStore>(nats: async_nats::Client, api: IntakeApi<S>) {
    let mut requests = match nats
        .queue_subscribe(OFFICE_CODES_ALL, crate::SERVICE.to_owned())
        .await
    {
        Ok(requests) => requests,
        Err(error) => {
            tracing::error!(%error, "cannot answer street offices' requests for tracking codes");
            return;
        }
    };
    while let Some(request) = requests.next().await {
        let (nats, api) = (nats.clone(), api.clone());
        tokio::spawn(async move {
            let Some(reply) = request.reply.clone() else {
                return;
            };
            let street = request
                .subject
                .split('.')
                .nth(3)
                .unwrap_or_default()
                .to_owned();
            let answer = match postcard::from_bytes::<CodesRequest>(&request.payload) {
                Ok(asked) => reserve_codes(&api, &street, asked).await,
                Err(e) => Err(format!("a request that does not decode: {e}")),
            };
            if let Err(error) = &answer {
                tracing::warn!(%street, %error, "street office's tracking codes refused");
            }
            let body = postcard::to_stdvec(&answer).expect("plain data");
            if let Err(error) = nats.publish(reply, body.into()).await {
                tracing::warn!(%street, %error, "could not answer a street office");
            }
        });
    }
}

/// Reserves the codes of street office `street`'s reports `asked.from ..`.
async fn reserve_codes<S: EventStore>(
    api: &IntakeApi<S>,
    street: &str,
    asked: CodesRequest,
) -> Result<Vec<u64>, String> {
    let Some(code) = GridCode::parse(street)
        .ok()
        .filter(|code| code.level() == GridLevel::Street)
        .filter(|code| api.reference().grid(code).is_some())
    else {
        return Err(format!("{street:?} is not a street of the grid"));
    };
    // An office's reports are kept in its street's shard, whatever grid each names.
    let shard = api.shards().of_grid(&code);
    if asked.count == 0 || asked.count > MAX_CODES_PER_REQUEST {
        return Err(format!(
            "count: {} codes asked; from 1 to {MAX_CODES_PER_REQUEST} at a time",
            asked.count
        ));
    }
    let actor = format!("street:{street}");
    let reserve = |number: u64| {
        let actor = actor.clone();
        async move {
            let request_id = office_request_id(street, number);
            let case = case_id_for(api.shards(), &request_id, shard);
            let command = report_command_id(&request_id);
            crate::tracking::reserve(api.store(), api.shards(), case, &actor, command)
                .await
                .map(|code| code.as_u64())
                .map_err(|e| format!("report {number}: {e}"))
        }
    };
    let numbers: Vec<u64> = (asked.from..asked.from + u64::from(asked.count)).collect();
    let mut codes = Vec::with_capacity(numbers.len());
    // Some at a time: each is an append the store commits in groups.
    for chunk in numbers.chunks(32) {
        codes.extend(futures::future::try_join_all(chunk.iter().map(|n| reserve(*n))).await?);
    }
    Ok(codes)
}

/// The inbox stream's sources: every office's report stream, reached in its JetStream domain.
fn sources(streets: &[String]) -> Vec<stream::Source> {
    streets
        .iter()
        .map(|street| stream::Source {
            name: OFFICE_REPORTS_STREAM.to_owned(),
            external: Some(stream::External {
                api_prefix: format!("$JS.{}.API", office_domain(street)),
                delivery_prefix: None,
            }),
            ..Default::default()
        })
        .collect()
}

/// Makes the inbox stream sourcing `streets`' offices (or sets its sources to them).
async fn ensure_inbox(
    js: &jetstream::Context,
    streets: &[String],
) -> Result<stream::Stream, String> {
    let config = stream::Config {
        name: OFFICE_INBOX_STREAM.to_owned(),
        storage: stream::StorageType::File,
        duplicate_window: gridcase_bus::feed::DUPLICATE_WINDOW,
        sources: Some(sources(streets)),
        ..Default::default()
    };
    let made = gridcase_bus::streams::ensure(js, config.clone()).await?;
    let same = made.cached_info().config.sources.as_ref().map(|s| {
        s.iter()
            .map(|s| s.external.as_ref().map(|e| e.api_prefix.clone()))
            .collect::<Vec<_>>()
    }) == Some(
        sources(streets)
            .iter()
            .map(|s| s.external.as_ref().map(|e| e.api_prefix.clone()))
            .collect(),
    );
    if same {
        return Ok(made);
    }
    let mut changed = made.cached_info().config.clone();
    changed.sources = Some(sources(streets));
    js.update_stream(&changed)
        .await
        .map_err(|e| format!("setting the offices of {OFFICE_INBOX_STREAM}: {e}"))?;
    js.get_stream(OFFICE_INBOX_STREAM)
        .await
        .map_err(|e| format!("reading {OFFICE_INBOX_STREAM}: {e}"))
}

/// Records every report the offices of `streets` took as a case, as JetStream copies them into
/// the inbox, until `shutdown`; retried while NATS or the store cannot be reached.
pub async fn follow_inbox<S: EventStore>(
    nats: async_nats::Client,
    api: IntakeApi<S>,
    streets: Vec<String>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let js = jetstream::new(nats);
    let mut backoff = Backoff::new();
    loop {
        let followed = async {
            let inbox = ensure_inbox(&js, &streets).await?;
            let consumer = inbox
                .get_or_create_consumer(
                    INBOX_CONSUMER,
                    pull::Config {
                        durable_name: Some(INBOX_CONSUMER.to_owned()),
                        ack_policy: jetstream::consumer::AckPolicy::Explicit,
                        ack_wait: Duration::from_secs(30),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| format!("consumer {INBOX_CONSUMER}: {e}"))?;
            tracing::info!(
                offices = streets.len(),
                "recording the street offices' reports"
            );
            let mut messages = consumer
                .messages()
                .await
                .map_err(|e| format!("pulling {OFFICE_INBOX_STREAM}: {e}"))?;
            while let Some(message) = messages.next().await {
                let message = message.map_err(|e| e.to_string())?;
                record(&api, &message.payload).await;
                if let Err(e) = message.ack().await {
                    tracing::warn!(error = %e, "acknowledging an office report");
                }
            }
            Ok::<(), String>(())
        };
        tokio::select! {
            () = &mut shutdown => return,
            outcome = followed => {
                if let Err(error) = outcome {
                    tracing::warn!(%error, "street offices' reports not followed; trying again");
                }
            }
        }
        if backoff.wait_or_stop(&mut shutdown).await {
            return;
        }
    }
}

/// Records one office report, trying again while the store cannot be reached. A report the
/// centre refuses for good (its office checked it against other reference data) is logged
/// with its tracking code for the office to follow up.
async fn record<S: EventStore>(api: &IntakeApi<S>, payload: &[u8]) {
    let mut backoff = Backoff::new();
    loop {
        let Err(error) = record_once(api, payload).await else {
            return;
        };
        let status = tonic::Status::from(error);
        if status.code() != tonic::Code::Unavailable {
            tracing::error!(
                error = %status.message(),
                "an office report the centre refuses; the office must take it again"
            );
            return;
        }
        tracing::warn!(error = %status.message(), "office report not recorded yet; trying again");
        backoff.wait().await;
    }
}

async fn record_once<S: EventStore>(api: &IntakeApi<S>, payload: &[u8]) -> Result<(), ApiError> {
    let kept: OfficeReport = postcard::from_bytes(payload)
        .map_err(|e| ApiError::invalid("office_report", format!("does not decode: {e}")))?;
    let caller = Caller::parse(&kept.caller)
        .map_err(|e| ApiError::invalid("caller", format!("{:?}: {e}", kept.caller)))?;
    let mut request = pb::ReportCaseRequest::decode(kept.request.as_slice())
        .map_err(|e| ApiError::invalid("request", format!("report {}: {e}", kept.number)))?;
    request.client_request_id = office_request_id(&kept.street, kept.number);
    let report = NewReport::try_from(request)?;
    let street = GridCode::parse(&kept.street)
        .map_err(|e| ApiError::invalid("street", format!("{:?}: {}", kept.street, e.reason)))?;
    let shard = api.shards().of_grid(&street);
    let reported = api
        .report_in(
            &caller,
            report,
            Timestamp::from_millis(kept.reported_at_ms),
            shard,
        )
        .await?;
    if !reported.already_reported {
        tracing::info!(
            case = %reported.case_id,
            tracking_code = %reported.tracking_code,
            street = %kept.street,
            number = kept.number,
            "office report recorded"
        );
    }
    Ok(())
}
