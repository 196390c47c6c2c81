//! What `gridcase chaos` checks once the load has stopped, and its report.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Acknowledged, ChaosArgs};
use anyhow::{ensure, Context};
use futures::StreamExt;
use gridcase::system::{Service, System};
use gridcase_config::ReferenceData;
use gridcase_domain::{CaseId, Event};
use gridcase_eventstore::{EventStore, ReadModelConfig, RecordedEvent, SledStore};
use gridcase_query::projection::Projections;

/// What a run found.
#[derive(Debug, Default)]
pub(super) struct Findings {
    pub(super) acknowledged: usize,
    pub(super) acknowledged_with_a_node_down: usize,
    pub(super) retries: u64,
    pub(super) lost: Vec<String>,
    pub(super) created_twice: Vec<String>,
    pub(super) dispatches: usize,
    pub(super) work_orders_missing: Vec<String>,
    pub(super) work_orders_extra: Vec<String>,
    pub(super) breaches: usize,
    pub(super) breached_twice: Vec<String>,
    pub(super) compared_cases: usize,
    pub(super) projection_differences: Vec<String>,
}

/// Waits until every dispatch in the log has its work order on the dispatch stream (or the
/// time is up), stops the services (nats-server stays up), and checks the log against the
/// acknowledgements and the work-order stream.
pub(super) async fn settle_and_check(
    system: &mut System,
    data: &std::path::Path,
    acknowledged: &[Acknowledged],
    args: &ChaosArgs,
) -> anyhow::Result<Findings> {
    let nats = gridcase::backup::connect_admin(data, &system.nats_address()).await?;
    let store = gridcase_bus::StoreClient::new(nats.clone(), "0");
    let deadline = Instant::now() + Duration::from_secs(args.settle_s);
    let mut quiet_polls = 0;
    let mut last_decisions = usize::MAX;
    let mut log = Vec::new();
    let orders = loop {
        read_log_on(&store, &mut log).await?;
        let orders = work_orders(&nats).await?;
        let dispatched = dispatch_events(&log);
        let reported = log
            .iter()
            .filter(|e| e.event_type == "CaseReported")
            .count();
        let decided = decisions(&log);
        quiet_polls = if decided == last_decisions {
            quiet_polls + 1
        } else {
            0
        };
        last_decisions = decided;
        let settled = dispatched.iter().all(|(id, _)| orders.contains_key(id))
            && reported >= acknowledged.len()
            && quiet_polls >= 4;
        if settled || Instant::now() > deadline {
            break orders;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for service in Service::ALL
        .into_iter()
        .rev()
        .filter(|s| *s != Service::Store)
    {
        system.stop_service(service).await?;
    }

    let mut findings = Findings::default();
    // Every acknowledged report is a case in the log, and every request id one case.
    let mut cases_of_request: HashMap<&str, BTreeSet<CaseId>> = HashMap::new();
    for ack in acknowledged {
        cases_of_request
            .entry(ack.request_id.as_str())
            .or_default()
            .insert(ack.case);
    }
    let reported: BTreeMap<String, usize> = log
        .iter()
        .filter(|e| e.event_type == "CaseReported")
        .fold(BTreeMap::new(), |mut counts, e| {
            *counts.entry(e.stream_id.clone()).or_default() += 1;
            counts
        });
    for ack in acknowledged {
        if !reported.contains_key(&ack.case.to_string()) {
            findings
                .lost
                .push(format!("{} (case {})", ack.request_id, ack.case));
        }
    }
    for (request, cases) in &cases_of_request {
        if cases.len() > 1 {
            findings
                .created_twice
                .push(format!("{request}: {} cases", cases.len()));
        }
    }
    for (case, count) in &reported {
        if *count > 1 {
            findings
                .created_twice
                .push(format!("case {case} reported {count} times"));
        }
    }
    if reported.len() > cases_of_request.len() {
        findings.created_twice.push(format!(
            "{} cases in the log for {} acknowledged requests",
            reported.len(),
            cases_of_request.len()
        ));
    }
    // Every dispatch reaches the work-order stream, once by event id, and nothing else does.
    let dispatched = dispatch_events(&log);
    findings.dispatches = dispatched.len();
    for (id, case) in &dispatched {
        if !orders.contains_key(id) {
            findings
                .work_orders_missing
                .push(format!("case {case}, event {id:032x}"));
        }
    }
    for (id, case) in &orders {
        if !dispatched.contains_key(id) {
            findings
                .work_orders_extra
                .push(format!("case {case}, event {id:032x}"));
        }
    }
    // Each deadline breached once.
    let mut breaches: HashMap<(String, String), usize> = HashMap::new();
    for event in &log {
        let Ok(case) = CaseId::parse(&event.stream_id) else {
            continue;
        };
        if let Ok(Event::DeadlineBreached(breach)) = gridcase_casestore::decode(case, event) {
            *breaches
                .entry((event.stream_id.clone(), format!("{breach:?}")))
                .or_default() += 1;
        }
    }
    findings.breaches = breaches.len();
    for ((case, breach), count) in breaches {
        if count > 1 {
            findings
                .breached_twice
                .push(format!("case {case}: {breach} recorded {count} times"));
        }
    }
    Ok(findings)
}

/// Decisions of triage and dispatch in the log: when their number stops moving and every
/// dispatch has its work order, the loop has settled (supervision's events go on with the
/// clock and are not counted).
fn decisions(log: &[RecordedEvent]) -> usize {
    log.iter()
        .filter(|e| {
            matches!(
                e.event_type.as_str(),
                "CaseTriaged" | "CaseMerged" | "CaseRejected" | "CaseDispatched"
            )
        })
        .count()
}

/// The events that give a work order (`CaseDispatched`, `VerificationFailed`), by event id.
fn dispatch_events(log: &[RecordedEvent]) -> BTreeMap<u128, String> {
    log.iter()
        .filter(|e| {
            matches!(
                e.event_type.as_str(),
                "CaseDispatched" | "VerificationFailed"
            )
        })
        .map(|e| (e.event_id, e.stream_id.clone()))
        .collect()
}

/// Reads the log on from where `log` ends to the store's head.
async fn read_log_on(
    store: &gridcase_bus::StoreClient,
    log: &mut Vec<RecordedEvent>,
) -> anyhow::Result<()> {
    loop {
        let batch = store
            .read_all(log.len() as u64, 10_000)
            .await
            .context("reading the log")?;
        if batch.is_empty() {
            return Ok(());
        }
        log.extend(batch);
    }
}

/// Every message of the work-order stream: the id of the event that gave it (its causation
/// id), and its case.
async fn work_orders(nats: &async_nats::Client) -> anyhow::Result<BTreeMap<u128, String>> {
    use async_nats::jetstream::{self, consumer::pull};
    let js = jetstream::new(nats.clone());
    let mut stream = js
        .get_stream(gridcase_bus::subjects::DISPATCH_STREAM)
        .await
        .context("opening the work-order stream")?;
    let total = stream.info().await?.state.messages;
    let consumer = stream
        .create_consumer(pull::Config {
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ack_policy: jetstream::consumer::AckPolicy::None,
            inactive_threshold: Duration::from_secs(30),
            ..Default::default()
        })
        .await?;
    let mut out = BTreeMap::new();
    if total == 0 {
        return Ok(out);
    }
    let mut messages = consumer.messages().await?;
    let mut seen = 0u64;
    while seen < total {
        let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .context("the work-order stream stopped delivering")?
            .context("the work-order stream ended")?
            .map_err(|e| anyhow::anyhow!("reading the work-order stream: {e}"))?;
        seen += 1;
        if gridcase_bus::headers::is_notice(message.headers.as_ref()) {
            // A notice to a handler or a leader, not a dispatch.
            continue;
        }
        let event = gridcase_bus::headers::get(
            message.headers.as_ref(),
            gridcase_bus::headers::CAUSATION_ID,
        )
        .and_then(|id| u128::from_str_radix(id, 16).ok());
        let order = <gridcase_proto::dispatch::v1::WorkOrder as prost::Message>::decode(
            message.payload.as_ref(),
        )?;
        if let Some(event) = event {
            out.insert(event, order.case_id);
        }
    }
    Ok(out)
}

/// Compares the query service's model, as it stood when the service stopped, with a fresh
/// fold of the log from position 0 up to the same position.
pub(super) async fn compare_projections(
    data: &std::path::Path,
    model_dirs: &[PathBuf],
    reference: Arc<ReferenceData>,
    acknowledged: &[Acknowledged],
    findings: &mut Findings,
) -> anyhow::Result<()> {
    let store = SledStore::open_path(data.join("store"))?;
    for model in model_dirs {
        let live = Projections::open(
            &ReadModelConfig::new(Some(model.clone())),
            reference.clone(),
        )?;
        let up_to = live.next_position();
        println!(
            "  query model {} at position {up_to}",
            model.file_name().unwrap_or_default().to_string_lossy()
        );
        compare_with_rebuild(
            &store,
            &live,
            up_to,
            reference.clone(),
            acknowledged,
            findings,
        )
        .await?;
    }
    Ok(())
}

/// Compares `live` with a projection rebuilt from the start of the log up to `up_to`.
async fn compare_with_rebuild(
    store: &SledStore,
    live: &Projections,
    up_to: u64,
    reference: Arc<ReferenceData>,
    acknowledged: &[Acknowledged],
    findings: &mut Findings,
) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let fresh = Projections::open(
        &ReadModelConfig::new(Some(scratch.path().join("query"))),
        reference,
    )?;
    let mut position = 0;
    while position < up_to {
        let mut batch = store.read_all(position, 5_000).await?;
        batch.retain(|e| e.position < up_to);
        let Some(last) = batch.last() else { break };
        position = last.position + 1;
        fresh.fold(0, &batch)?; // chaos runs the store as one shard
    }
    let cases: BTreeSet<CaseId> = acknowledged.iter().map(|a| a.case).collect();
    for case in cases {
        let (a, _) = live.case(case)?;
        let (b, _) = fresh.case(case)?;
        let (a, b) = (format!("{a:?}"), format!("{b:?}"));
        if a != b {
            findings.projection_differences.push(format!("case {case}"));
        }
        findings.compared_cases += 1;
    }
    Ok(())
}

pub(super) fn report(findings: &Findings) -> anyhow::Result<()> {
    let line = |what: &str, count: usize, examples: &[String]| {
        let shown: Vec<&str> = examples.iter().take(3).map(String::as_str).collect();
        if shown.is_empty() {
            println!("  {what:<48} {count}");
        } else {
            println!("  {what:<48} {count}   e.g. {}", shown.join("; "));
        }
    };
    println!("results");
    line("reports acknowledged", findings.acknowledged, &[]);
    line(
        "of them while a nats node was down",
        findings.acknowledged_with_a_node_down,
        &[],
    );
    line(
        "retries of refused or unanswered reports",
        findings.retries as usize,
        &[],
    );
    line(
        "acknowledged reports lost",
        findings.lost.len(),
        &findings.lost,
    );
    line(
        "cases created twice",
        findings.created_twice.len(),
        &findings.created_twice,
    );
    line("dispatches in the log", findings.dispatches, &[]);
    line(
        "dispatches without their work order",
        findings.work_orders_missing.len(),
        &findings.work_orders_missing,
    );
    line(
        "work orders of no dispatch",
        findings.work_orders_extra.len(),
        &findings.work_orders_extra,
    );
    line("deadlines breached", findings.breaches, &[]);
    line(
        "breaches recorded more than once",
        findings.breached_twice.len(),
        &findings.breached_twice,
    );
    line(
        "cases compared with a fresh rebuild",
        findings.compared_cases,
        &[],
    );
    line(
        "cases whose projection differs from it",
        findings.projection_differences.len(),
        &findings.projection_differences,
    );
    let failures = findings.lost.len()
        + findings.created_twice.len()
        + findings.work_orders_missing.len()
        + findings.work_orders_extra.len()
        + findings.breached_twice.len()
        + findings.projection_differences.len();
    ensure!(failures == 0, "chaos found {failures} problems");
    ensure!(findings.acknowledged > 0, "no report was acknowledged");
    println!("no problem found");
    Ok(())
}
