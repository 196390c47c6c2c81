//! The street office's side: reports taken into the office's own stream, each answered with a
//! tracking code from the block the centre reserved for the office.
//!
//! The office's key-value bucket ([`OFFICE_BUCKET`], in the office's JetStream domain, on its
//! disk) holds `next` (the number the next report gets), `reserved` (one past the last number
//! whose code the centre reserved), `code.<n>` (report `n`'s tracking code) and
//! `request.<hash>` (the number a caller's request id got, so a retried report gets the same
//! case and code). `next` moves by compare-and-set, so a number is handed out once.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use gridcase_auth::Caller;
use gridcase_bus::subjects::{office_codes, office_reports, OFFICE_BUCKET, OFFICE_REPORTS_STREAM};
use gridcase_casestore::fnv1a_128;
use gridcase_config::ReferenceData;
use gridcase_domain::{Timestamp, TrackingCode};
use gridcase_eventstore::StoreError;
use gridcase_grpc::ApiError;
use gridcase_proto::intake::v1 as pb;
use prost::Message;

use super::{office_request_id, CodesRequest, OfficeReport};
use crate::ids::case_id_for;
use crate::report::NewReport;
use crate::service::{check_reporter, Reported};
use gridcase_bus::ShardMap;

/// Codes the office asks the centre for at a time.
pub const BLOCK: u32 = 200;

/// The office asks for the next block once fewer codes than this are left.
pub const LOW_WATER: u64 = 100;

/// How often the office checks whether it should ask for codes (while its link is down, the
/// asking fails and is tried again at the next check).
pub const TOP_UP_EVERY: Duration = Duration::from_secs(5);

/// How long the office waits for the centre to reserve a block.
const BLOCK_WAIT: Duration = Duration::from_secs(30);

/// How long the office keeps a report in its stream: the centre has copied it long before,
/// unless the link stays down for longer than this.
pub const KEEP_REPORTS: Duration = Duration::from_secs(90 * 24 * 3600);

/// A street office's report desk.
#[derive(Debug, Clone)]
pub struct Desk {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    street: String,
    nats: async_nats::Client,
    js: jetstream::Context,
    bucket: kv::Store,
    reference: Arc<ReferenceData>,
    /// The city's store shards, and the one that keeps this office's reports (its street's).
    shards: (ShardMap, usize),
}

/// Why the desk could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("street office {street}: {reason}")]
pub struct DeskError {
    street: String,
    reason: String,
}

impl Desk {
    /// The desk of street office `street` on the office's leaf node `nats` (its JetStream is
    /// the office's own), in a city whose store is split into `shards`: makes the office's
    /// report stream and bucket if they are missing.
    pub async fn open(
        nats: async_nats::Client,
        street: &str,
        reference: Arc<ReferenceData>,
        shards: ShardMap,
    ) -> Result<Self, DeskError> {
        let error = |reason: String| DeskError {
            street: street.to_owned(),
            reason,
        };
        let code = gridcase_domain::GridCode::parse(street)
            .map_err(|e| error(format!("not a grid code: {}", e.reason)))?;
        if code.level() != gridcase_domain::GridLevel::Street || reference.grid(&code).is_none() {
            return Err(error("not a street of the grid".into()));
        }
        let js = jetstream::new(nats.clone());
        js.get_or_create_stream(stream::Config {
            name: OFFICE_REPORTS_STREAM.to_owned(),
            subjects: vec![office_reports(street)],
            storage: stream::StorageType::File,
            duplicate_window: gridcase_bus::feed::DUPLICATE_WINDOW,
            max_age: KEEP_REPORTS,
            ..Default::default()
        })
        .await
        .map_err(|e| error(format!("the office's report stream: {e}")))?;
        // The bucket's stream made as the client would make it: the client's own call first
        // reads the account's limits, in a form nats-server 2.9 does not answer in.
        js.get_or_create_stream(stream::Config {
            name: format!("KV_{OFFICE_BUCKET}"),
            subjects: vec![format!("$KV.{OFFICE_BUCKET}.>")],
            max_messages_per_subject: 1,
            storage: stream::StorageType::File,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|e| error(format!("the office's code bucket: {e}")))?;
        let bucket = js
            .get_key_value(OFFICE_BUCKET)
            .await
            .map_err(|e| error(format!("the office's code bucket: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                street: street.to_owned(),
                nats,
                js,
                bucket,
                reference,
                shards: (shards.clone(), shards.of_grid(&code)),
            }),
        })
    }

    /// The office's street code.
    pub fn street(&self) -> &str {
        &self.inner.street
    }

    /// Takes `request` by `caller` at `reported_at`: checked as the centre checks it, kept in
    /// the office's stream, answered with the case it will be and the code reserved for it.
    /// The same caller's request id again gets the same case and code.
    pub async fn report(
        &self,
        caller: &Caller,
        request: pb::ReportCaseRequest,
        reported_at: Timestamp,
    ) -> Result<Reported, ApiError> {
        let report = NewReport::try_from(request.clone())?;
        check_reporter(caller, &report)?;
        report.check_reference(&self.inner.reference)?;
        let actor = caller.actor();
        let request_key = format!(
            "request.{:032x}",
            fnv1a_128(&[
                actor.as_bytes(),
                b"\0",
                request.client_request_id.as_bytes()
            ])
        );
        let (number, already_reported) = match self.number(&request_key).await? {
            Some(number) => (number, true),
            None => {
                let number = self.take_number().await?;
                match self.inner.bucket.create(&request_key, text(number)).await {
                    Ok(_) => (number, false),
                    // The same request, retried at the same moment, got its number first.
                    Err(_) => match self.number(&request_key).await? {
                        Some(first) => (first, true),
                        None => return Err(unavailable("recording the report's number")),
                    },
                }
            }
        };
        let tracking_code = self
            .counter(&format!("code.{number}"))
            .await?
            .map(|(code, _)| TrackingCode::from_u64(code))
            .ok_or_else(|| unavailable(&format!("no tracking code kept for report {number}")))?;
        let request_id = office_request_id(&self.inner.street, number);
        let kept = OfficeReport {
            street: self.inner.street.clone(),
            number,
            caller: actor,
            reported_at_ms: reported_at.as_millis(),
            request: request.encode_to_vec(),
        };
        // Kept again on a retry, under the same message id: JetStream drops the copy, and the
        // centre records a request id once in any case.
        let payload = postcard::to_stdvec(&kept).expect("postcard serialises plain data");
        let ack = self
            .inner
            .js
            .send_publish(
                office_reports(&self.inner.street),
                jetstream::message::PublishMessage::build()
                    .message_id(&request_id)
                    .payload(payload.into()),
            )
            .await
            .map_err(|e| unavailable(&format!("keeping the report: {e}")))?;
        ack.await
            .map_err(|e| unavailable(&format!("keeping the report: {e}")))?;
        Ok(Reported {
            case_id: case_id_for(&self.inner.shards.0, &request_id, self.inner.shards.1),
            tracking_code,
            already_reported,
        })
    }

    /// How many reserved codes are left.
    pub async fn codes_left(&self) -> Result<u64, ApiError> {
        let next = self.counter("next").await?.map_or(0, |(n, _)| n);
        let reserved = self.counter("reserved").await?.map_or(0, |(n, _)| n);
        Ok(reserved.saturating_sub(next))
    }

    /// Asks the centre for the next block of codes if fewer than [`LOW_WATER`] are left; how
    /// many it added. Fails while the link to the centre is down.
    pub async fn top_up(&self) -> Result<u64, ApiError> {
        let next = self.counter("next").await?.map_or(0, |(n, _)| n);
        let (reserved, revision) = match self.counter("reserved").await? {
            Some((reserved, revision)) => (reserved, Some(revision)),
            None => (0, None),
        };
        if reserved.saturating_sub(next) >= LOW_WATER {
            return Ok(0);
        }
        let asked = CodesRequest {
            from: reserved,
            count: BLOCK,
        };
        let reply = self
            .inner
            .nats
            .send_request(
                office_codes(&self.inner.street),
                async_nats::Request::new()
                    .payload(postcard::to_stdvec(&asked).expect("plain data").into())
                    .timeout(Some(BLOCK_WAIT)),
            )
            .await
            .map_err(|e| unavailable(&format!("asking the centre for tracking codes: {e}")))?;
        let codes = postcard::from_bytes::<Result<Vec<u64>, String>>(&reply.payload)
            .map_err(|e| ApiError::Internal(format!("the centre's codes: {e}")))?
            .map_err(|e| unavailable(&format!("the centre reserved no codes: {e}")))?;
        if codes.len() != BLOCK as usize {
            return Err(ApiError::Internal(format!(
                "asked the centre for {BLOCK} codes, got {}",
                codes.len()
            )));
        }
        // The codes first, then the mark that they may be handed out: stopped in between,
        // the office asks for the same block again and gets the same codes.
        let writes = codes
            .iter()
            .zip(reserved..)
            .map(|(code, number)| async move {
                self.inner
                    .bucket
                    .put(format!("code.{number}"), text(*code))
                    .await
                    .map_err(|e| unavailable(&format!("keeping code {number}: {e}")))
            });
        futures::future::try_join_all(writes).await?;
        let raised = reserved + u64::from(BLOCK);
        self.set_if("reserved", raised, revision)
            .await
            .map_err(|e| unavailable(&format!("marking the codes reserved: {e}")))?;
        tracing::info!(street = %self.inner.street, from = reserved, to = raised, "tracking codes reserved by the centre");
        Ok(u64::from(BLOCK))
    }

    /// Tops the codes up every [`TOP_UP_EVERY`] until `shutdown`.
    pub async fn keep_topped_up(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut every = tokio::time::interval(TOP_UP_EVERY);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = every.tick() => {}
            }
            if let Err(error) = self.top_up().await {
                tracing::warn!(street = %self.inner.street, %error, "tracking codes not topped up; trying again");
            }
        }
    }

    /// The next report number, taken by compare-and-set.
    async fn take_number(&self) -> Result<u64, ApiError> {
        loop {
            let reserved = self.counter("reserved").await?.map_or(0, |(n, _)| n);
            let (next, revision) = match self.counter("next").await? {
                Some((next, revision)) => (next, Some(revision)),
                None => (0, None),
            };
            if next >= reserved {
                return Err(unavailable(
                    "no tracking code left: the office reserves them from the centre while its link is up",
                ));
            }
            if self.set_if("next", next + 1, revision).await.is_ok() {
                return Ok(next);
            }
        }
    }

    /// Sets `key` to `value` if it is still at `revision` (`None`: if it does not exist yet).
    async fn set_if(&self, key: &str, value: u64, revision: Option<u64>) -> Result<(), String> {
        let bucket = &self.inner.bucket;
        match revision {
            Some(revision) => bucket
                .update(key, text(value), revision)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            None => bucket
                .create(key, text(value))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }

    /// The number a request key got, if any.
    async fn number(&self, key: &str) -> Result<Option<u64>, ApiError> {
        Ok(self.counter(key).await?.map(|(n, _)| n))
    }

    /// A number kept under `key`, and its revision.
    async fn counter(&self, key: &str) -> Result<Option<(u64, u64)>, ApiError> {
        let entry = self
            .inner
            .bucket
            .entry(key)
            .await
            .map_err(|e| unavailable(&format!("reading {key}: {e}")))?;
        match entry {
            Some(entry) if entry.operation == kv::Operation::Put => {
                let value = std::str::from_utf8(&entry.value)
                    .ok()
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| ApiError::Internal(format!("{key} holds no number")))?;
                Ok(Some((value, entry.revision)))
            }
            _ => Ok(None),
        }
    }
}

fn text(n: u64) -> bytes::Bytes {
    n.to_string().into()
}

fn unavailable(what: &str) -> ApiError {
    ApiError::Store(StoreError::Unavailable(format!("street office: {what}")))
}
