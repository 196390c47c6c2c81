//! Filling a benchmark's system with cases: hotline reports through intake (a window of them in
//! flight), then the wait until query has projected them all and triage and dispatch have
//! worked through them, so what is measured next runs on a settled system of that size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gridcase::system::{Service, System};
use gridcase_auth::{BearerToken, Secret};
use gridcase_config::ReferenceData;
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::query::v1::BoardRequest;

use crate::bench_pipeline::reports::Reports;

/// Seeding reports in flight at once.
const SEED_WINDOW: usize = 256;

/// Reports `cases` hotline cases through intake and waits until query projects them all.
pub(crate) async fn seed(
    system: &System,
    cases: u64,
    reference: &ReferenceData,
    operator: &Secret,
    supervisor: &Secret,
) -> anyhow::Result<Seeded> {
    seed_from(system, 0, cases, reference, operator, supervisor).await
}

/// [`seed`] with report numbers from `first` on, so a second round adds new cases.
pub(crate) async fn seed_from(
    system: &System,
    first: u64,
    cases: u64,
    reference: &ReferenceData,
    operator: &Secret,
    supervisor: &Secret,
) -> anyhow::Result<Seeded> {
    let reports = Arc::new(Reports::from_reference(reference)?);
    let channel = tonic::transport::Endpoint::from_shared(system.endpoint(Service::Intake))?
        .connect()
        .await?;
    let intake = IntakeClient::with_interceptor(channel, BearerToken::new(operator)?);
    let channel = tonic::transport::Endpoint::from_shared(system.endpoint(Service::Query))?
        .connect()
        .await?;
    let mut query = QueryClient::with_interceptor(channel, BearerToken::new(supervisor)?);
    // Cases left waiting on purpose before (open cases a fill stopped at triage) stay waiting.
    let (_, waiting_before) = progress(&mut query).await?;
    let started = Instant::now();
    let window = Arc::new(tokio::sync::Semaphore::new(SEED_WINDOW));
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..cases {
        let permit = Arc::clone(&window).acquire_owned().await?;
        let mut intake = intake.clone();
        let reports = Arc::clone(&reports);
        let index = first + index;
        tasks.spawn(async move {
            let (request, _) = reports.report(99, index);
            let reply = intake.report_case(request).await;
            drop(permit);
            reply.map(|_| ())
        });
        while let Some(done) = tasks.try_join_next() {
            done??;
        }
        if index > 0 && index.is_multiple_of(10_000) {
            eprint!("\rseeding: {index}/{cases} reported");
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let reported = started.elapsed();
    // Until query has every case and triage and dispatch have worked through them: the
    // gateway is measured with the services running, not with a backlog of 100,000 cases.
    let mut projected_after = None;
    loop {
        let (projected, waiting) = progress(&mut query).await?;
        eprint!("\rseeding: {cases} reported, {projected} projected, {waiting} waiting for triage or dispatch      ");
        if projected >= first + cases && projected_after.is_none() {
            projected_after = Some(started.elapsed());
        }
        if projected >= first + cases && waiting <= waiting_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!();
    println!(
        "seeded {cases} cases in {:.1} s ({:.0} cases/s through intake), projected by query after {:.1} s, all dispatched after {:.1} s",
        reported.as_secs_f64(),
        cases as f64 / reported.as_secs_f64(),
        projected_after.unwrap_or_default().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(Seeded {
        rate: cases as f64 / reported.as_secs_f64(),
    })
}

/// What seeding measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seeded {
    /// Reports per second intake took.
    pub(crate) rate: f64,
}

/// The cases query has projected, and those among them waiting for triage or dispatch.
async fn progress<T>(query: &mut QueryClient<T>) -> anyhow::Result<(u64, u64)>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    let board = query.board(BoardRequest {}).await?.into_inner();
    let projected: u64 = board.streets.iter().map(|s| s.total).sum();
    let waiting: u64 = board
        .streets
        .iter()
        .flat_map(|s| ["triage", "dispatch"].map(|stage| s.by_stage.get(stage).copied()))
        .flatten()
        .sum();
    Ok((projected, waiting))
}
