//! `gridcase bench pipeline`: cases per second from `ReportCase` to the work order arriving on
//! the department's subject, and the latency on the way, through the whole system on this
//! machine (nats-server and the seven services, a real sled store in a temp dir).
//!
//! The load is an open loop: case `i` of a level is due at `start + i / rate` and its latency
//! counts from that moment, not from when it was actually sent, so a system that falls behind
//! cannot hide it by slowing the sender down (coordinated omission). Reports are the hotline's:
//! a category chosen by the operator, Chinese words, a grid of the sample city and an address
//! unique to the case (no coordinates, no micro-grid), so every case is routed to one
//! department and none is merged as a duplicate of another.

mod load;
mod measure;
mod print;
mod receive;
pub(crate) mod reports;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream;
use gridcase::system::{config_dir, Service, System, SystemOptions};
use gridcase_auth::{BearerToken, Secret, TokenTable};
use gridcase_bus::StoreClient;
use gridcase_config::ReferenceData;
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::store::v1::store_admin_client::StoreAdminClient;
use gridcase_proto::store::v1::{StatsRequest, StatsResponse};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;

use self::measure::{
    count_messages, run_level, time_stages, waiting_after, MessageCounts, WallClock,
};
use self::print::{level_columns, print_level, print_stages, print_summary};
use self::receive::{receive_work_orders, wait_for_backlog, work_orders, Deliveries, Shared};
use self::reports::Reports;

/// The hotline operator the reports come from (a throwaway token of the benchmark's own).
const OPERATOR_TOKEN: &str = "pipeline-bench-operator-0001";
/// The admin that reads the store's figures.
const ADMIN_TOKEN: &str = "pipeline-bench-admin-00001";
/// Share of a level's offered cases that must reach their department for it to count as kept up.
const DELIVERED_SHARE: f64 = 0.98;
/// Share of the offered rate the work orders must arrive at for a level to count as kept up: a
/// system slower than the offered rate would otherwise pass by draining its backlog in the
/// grace period.
const RATE_SHARE: f64 = 0.95;
/// How long one ReportCase may take before it counts as failed.
const REPORT_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the drain wait looks at what has arrived.
const DRAIN_POLL: Duration = Duration::from_millis(50);

/// Settings of the pipeline benchmark.
#[derive(Debug, clap::Args)]
pub(crate) struct PipelineBench {
    /// Offered rates in cases/s, one level each, run in this order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "200,500,1000,1500,2000,2500,3000"
    )]
    rates: Vec<u32>,
    /// Seconds each level offers load.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of load at the first rate before the levels, not measured.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Seconds after a level's last due report within which its work orders must all arrive
    /// for the level to count as kept up.
    #[arg(long, default_value_t = 3)]
    grace: u64,
    /// gRPC connections (HTTP/2 channels) to the intake service the reports are spread over.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Most reports awaiting intake's reply; a report due while this many wait goes out late,
    /// and its latency still counts from when it was due.
    #[arg(long, default_value_t = 4096)]
    in_flight: usize,
    /// Delivered cases per level whose stages are timed from the store's recorded-at (and
    /// undelivered ones whose last event is looked up).
    #[arg(long, default_value_t = 200)]
    stage_samples: usize,
    /// Run every level, even after one did not keep up (the backlog is drained in between).
    #[arg(long)]
    keep_going: bool,
    /// Also count the NATS messages per case, by kind, with a subscriber to every subject. The
    /// subscriber adds its own load to nats-server: the other figures of such a run are not
    /// comparable with a run without it.
    #[arg(long)]
    count_messages: bool,
    /// Directory of the reference data; by default `deploy/config` here, else the sample city of
    /// the source tree.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Replicas of each stage service, sharing the feed by partition (the reports are spread
    /// over the intake replicas).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=4))]
    replicas: u16,
    /// nats-server nodes: 1, or 3 for a cluster with every stream at three replicas.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=5))]
    nats_nodes: u16,
    /// Store shards, each a store of its own; the reports name grids of every district, so
    /// the cases spread over the shards by district.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=8))]
    shards: u16,
}

type Intake = IntakeClient<InterceptedService<GrpcChannel, BearerToken>>;
type Admin = StoreAdminClient<InterceptedService<GrpcChannel, BearerToken>>;

/// What a level needs from the running system.
struct Harness {
    intake: Vec<Intake>,
    /// Each shard's store admin API.
    admin: Vec<Admin>,
    store: StoreClient,
    reports: Reports,
    deliveries: Shared<Deliveries>,
    messages: Option<Shared<MessageCounts>>,
    clock: WallClock,
}

impl Harness {
    /// The store's figures now: every shard's, summed.
    async fn store_stats(&self) -> anyhow::Result<StatsResponse> {
        let mut sum = StatsResponse::default();
        for admin in &self.admin {
            let one = admin.clone().stats(StatsRequest {}).await?.into_inner();
            sum.appends += one.appends;
            sum.flushes += one.flushes;
            sum.events += one.events;
        }
        Ok(sum)
    }
}

/// Starts the whole system in a temp dir, offers each level's load and prints the tables.
pub(crate) async fn run(args: PipelineBench) -> anyhow::Result<()> {
    anyhow::ensure!(!args.rates.is_empty(), "--rates: give at least one rate");
    anyhow::ensure!(
        args.rates.iter().all(|&rate| rate > 0),
        "--rates: every rate must be above 0"
    );
    anyhow::ensure!(args.seconds > 0, "--seconds must be above 0");
    let config = config_dir(args.config.clone());
    let reference = ReferenceData::load(&config)
        .with_context(|| format!("loading the reference data in {}", config.display()))?;
    let reports = Reports::from_reference(&reference)?;
    let dir = tempfile::tempdir()?;
    let tokens = TokenTable::from_env_value(&format!(
        "{OPERATOR_TOKEN}=operator:pipeline-bench,{ADMIN_TOKEN}=admin:pipeline-bench,\
         pipeline-bench-gateway-0001=gateway:pipeline-bench"
    ))?;
    let system = System::start(SystemOptions {
        replicas: usize::from(args.replicas),
        nats_nodes: usize::from(args.nats_nodes),
        shards: usize::from(args.shards),
        shard_areas: streets_round_robin(&reference, args.shards),
        ..SystemOptions::on_free_ports(dir.path().to_owned(), config, tokens)
    })
    .await?;
    println!(
        "pipeline: {} replica(s) of each stage service, {} nats-server node(s), {} store shard(s)",
        args.replicas, args.nats_nodes, args.shards
    );
    let outcome = run_on(&system, &args, reports).await;
    let stopped = system.shut_down().await;
    outcome?;
    stopped
}

/// The city's streets placed on `shards` shards in turn (`<street>=<shard>,…`): the sample
/// city is one district, which would otherwise keep every case in one shard.
fn streets_round_robin(reference: &ReferenceData, shards: u16) -> String {
    let mut streets: Vec<String> = reference
        .grids()
        .map(|grid| grid.code)
        .filter(|code| code.level() == gridcase_domain::GridLevel::Street)
        .map(|code| code.to_string())
        .collect();
    streets.sort();
    streets
        .iter()
        .enumerate()
        .map(|(n, street)| format!("{street}={}", n % usize::from(shards.max(1))))
        .collect::<Vec<_>>()
        .join(",")
}

/// Listens for the work orders (and counts the messages, if asked), connects to intake and the
/// store, and runs the levels.
async fn run_on(system: &System, args: &PipelineBench, reports: Reports) -> anyhow::Result<()> {
    let nats = gridcase_bus::connect(system.nats_url()).await?;
    let deliveries = Shared::default();
    let messages = work_orders(&jetstream::new(nats.clone())).await?;
    let receiver = tokio::spawn(receive_work_orders(messages, Arc::clone(&deliveries)));
    let mut counter = None;
    let message_counts = if args.count_messages {
        let counts = Shared::default();
        let own_connection = gridcase_bus::connect(system.nats_url()).await?;
        counter = Some(tokio::spawn(count_messages(
            own_connection,
            Arc::clone(&counts),
        )));
        Some(counts)
    } else {
        None
    };
    let mut intake = Vec::new();
    for connection in 0..args.connections.max(1) {
        let replica = connection % system.replicas_of(Service::Intake);
        let channel = tonic::transport::Endpoint::from_shared(
            system.replica_endpoint(Service::Intake, replica),
        )?
        .timeout(REPORT_TIMEOUT)
        .connect()
        .await?;
        intake.push(IntakeClient::with_interceptor(
            channel,
            BearerToken::new(&Secret::new(OPERATOR_TOKEN))?,
        ));
    }
    let mut admin = Vec::new();
    for shard in 0..system.replicas_of(Service::Store) {
        let channel = tonic::transport::Endpoint::from_shared(
            system.replica_endpoint(Service::Store, shard),
        )?
        .connect()
        .await?;
        admin.push(StoreAdminClient::with_interceptor(
            channel,
            BearerToken::new(&Secret::new(ADMIN_TOKEN))?,
        ));
    }
    let harness = Harness {
        intake,
        admin,
        store: system.store_client(nats),
        reports,
        deliveries,
        messages: message_counts,
        clock: WallClock::now(),
    };
    let outcome = run_levels(&harness, args).await;
    receiver.abort();
    if let Some(counter) = counter {
        counter.abort();
    }
    outcome
}

async fn run_levels(harness: &Harness, args: &PipelineBench) -> anyhow::Result<()> {
    println!(
        "pipeline benchmark: {} cores, ReportCase (hotline, {} categories, {} grids) to the work order on gridcase.v1.dispatch.<department>",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        harness.reports.categories(),
        harness.reports.grids(),
    );
    println!(
        "open loop over {} intake connections, {} s per level; kept up = every work order within {} s of the last report, at least {:.0}% of the offered cases, arriving at {:.0}% of the offered rate or more",
        harness.intake.len(),
        args.seconds,
        args.grace,
        DELIVERED_SHARE * 100.0,
        RATE_SHARE * 100.0,
    );
    if std::env::var_os("RUST_LOG").is_none() {
        println!("(the services log every case at info level to stderr; RUST_LOG=warn keeps logging out of the figures)");
    }
    if args.warmup > 0 {
        let rate = args.rates[0];
        let warmup = run_level(harness, args, 0, rate, args.warmup).await?;
        wait_for_backlog(harness, &warmup.undelivered).await;
        println!(
            "warm-up: {rate} cases/s for {} s, {} of {} delivered in time",
            args.warmup,
            warmup.latencies.len(),
            warmup.offered
        );
    }
    let columns = level_columns();
    print!("{}", columns.header());
    let mut levels = Vec::new();
    let mut stages = Vec::new();
    for (index, &rate) in args.rates.iter().enumerate() {
        let level = run_level(harness, args, index + 1, rate, args.seconds).await?;
        print_level(&columns, &level);
        if let Some(error) = &level.first_error {
            println!("         first error: {error}");
        }
        if !level.undelivered.is_empty() {
            let (looked_up, waiting) =
                waiting_after(harness, &level.undelivered, args.stage_samples).await;
            println!(
                "         {} cases not delivered in time; of {looked_up} looked up, the last event was: {waiting}",
                level.undelivered.len(),
            );
        }
        stages.push((rate, time_stages(harness, &level, args.stage_samples).await));
        let kept_up = level.kept_up;
        if !kept_up {
            wait_for_backlog(harness, &level.undelivered).await;
        }
        levels.push(level);
        if !kept_up && !args.keep_going {
            println!("         (stopping: later levels would only add to the backlog; --keep-going runs them)");
            break;
        }
    }
    print_stages(&stages);
    print_summary(harness, &levels);
    Ok(())
}
