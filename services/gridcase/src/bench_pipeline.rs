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

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use gridcase::rng::Rng;
use gridcase::system::{config_dir, Addresses, Service, System, SystemOptions};
use gridcase_bus::StoreClient;
use gridcase_config::{Owner, ReferenceData};
use gridcase_dispatch::workorder::{DISPATCH_ALL, DISPATCH_STREAM};
use gridcase_domain::GridLevel;
use gridcase_eventstore::EventStore;
use gridcase_proto::dispatch::v1::WorkOrder;
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::intake::v1::{Channel, Location, ReportCaseRequest, Reporter};
use gridcase_proto::store::v1::store_admin_client::StoreAdminClient;
use gridcase_proto::store::v1::StatsRequest;
use gridcase_server::auth::{BearerToken, Secret, TokenTable};
use prost::Message;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;

use gridcase::table::{Align, Columns};
use hdrhistogram::Histogram;

use crate::bench::{histogram, ms_at, record};

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
/// How long to wait for the services to set up their JetStream streams.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the drain wait looks at what has arrived.
const DRAIN_POLL: Duration = Duration::from_millis(50);
/// A backlog left after a level that did not keep up is waited for until this long passes
/// without a work order arriving.
const DRAIN_STALL: Duration = Duration::from_secs(15);
/// Linux accounts CPU time in these ticks per second (USER_HZ).
const CPU_TICKS_PER_SECOND: f64 = 100.0;

/// Settings of the pipeline benchmark.
#[derive(Debug, clap::Args)]
pub struct PipelineBench {
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
}

/// What an operator types in for one category: the words, with `{place}` where the problem is.
struct Complaint {
    category: &'static str,
    words: &'static str,
}

/// Categories owned by one department that a grid worker may not settle himself, so every
/// case goes point-to-point (直通) to that department.
const COMPLAINTS: &[Complaint] = &[
    Complaint {
        category: "BJ-01-07",
        words: "{place}的路灯晚上不亮，已经好几天了，行人走路看不清。",
    },
    Complaint {
        category: "BJ-01-02",
        words: "{place}门口的污水井盖破损，缺了一个角，担心有人踩空。",
    },
    Complaint {
        category: "BJ-01-05",
        words: "{place}人行道上的燃气井盖松动，车开过去哐哐响。",
    },
    Complaint {
        category: "BJ-01-06",
        words: "{place}的电力井盖被压碎了，下面的电缆露在外面。",
    },
    Complaint {
        category: "BJ-01-08",
        words: "{place}路边的消防栓一直在漏水，地面常年是湿的。",
    },
    Complaint {
        category: "BJ-02-01",
        words: "{place}路口的红绿灯坏了，一直黄灯闪烁，车辆通行很乱。",
    },
    Complaint {
        category: "BJ-02-03",
        words: "{place}的道路护栏被车撞歪了，倒向非机动车道。",
    },
    Complaint {
        category: "BJ-04-01",
        words: "{place}有一棵行道树枯死了，树枝随时可能掉下来砸到人。",
    },
    Complaint {
        category: "BJ-05-01",
        words: "{place}老房子外墙开裂，裂缝越来越大，住户很担心。",
    },
    Complaint {
        category: "SJ-01-02",
        words: "{place}空地上堆了很多渣土，一直没人清运，刮风时尘土飞扬。",
    },
    Complaint {
        category: "SJ-03-02",
        words: "{place}旁边的工地夜间施工到凌晨，噪音吵得居民睡不着。",
    },
    Complaint {
        category: "SJ-05-03",
        words: "{place}小区门口经常有车辆违停，把消防通道都堵住了。",
    },
    Complaint {
        category: "SJ-06-02",
        words: "{place}一家小吃店在卖过期食品，有顾客吃了拉肚子。",
    },
    Complaint {
        category: "SJ-06-04",
        words: "{place}单元的电梯坏了三天没人修，老人上下楼很困难。",
    },
    Complaint {
        category: "SJ-09-01",
        words: "{place}旁边的河水发臭发黑，水面上漂着死鱼。",
    },
    Complaint {
        category: "SJ-04-07",
        words: "{place}整栋楼突然停电，已经两个小时了还没来电。",
    },
    Complaint {
        category: "SJ-07-05",
        words: "{place}有一位独居老人生病了没人照顾，希望社区上门看看。",
    },
];

/// Roads the generated addresses lie on, one per grid of the sample city (repeated if the city
/// has more grids).
const ROADS: &[&str] = &[
    "学士路",
    "定安路",
    "清波街",
    "南山路",
    "河坊街",
    "延安路",
    "解放路",
    "紫阳街",
    "中河路",
    "望江路",
    "江城路",
    "候潮路",
    "秋涛路",
    "复兴街",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "胡", "朱",
];
const GIVEN_NAMES: &[&str] = &[
    "建国", "丽华", "伟", "芳", "秀英", "志强", "海燕", "军", "敏", "晓东", "桂兰", "国平",
];

/// A grid of the sample city and how an address in it is written.
struct Place {
    grid: String,
    street: String,
    community: String,
    road: &'static str,
}

/// One kind of report the generator sends, with the department it must reach.
struct ReportKind {
    complaint: &'static Complaint,
    department: String,
}

/// Builds the reports of a run from the reference data.
struct Reports {
    kinds: Vec<ReportKind>,
    places: Vec<Place>,
}

impl Reports {
    fn from_reference(reference: &ReferenceData) -> anyhow::Result<Self> {
        let mut kinds = Vec::new();
        for complaint in COMPLAINTS {
            let Some(category) = reference
                .categories()
                .find(|category| category.code.to_string() == complaint.category)
            else {
                continue;
            };
            if let (Owner::Department(department), false) = (&category.owner, category.self_handle)
            {
                kinds.push(ReportKind {
                    complaint,
                    department: department.as_str().to_owned(),
                });
            }
        }
        anyhow::ensure!(
            !kinds.is_empty(),
            "the reference data has none of the benchmark's single-department categories"
        );
        let name_of = |code: Option<gridcase_domain::GridCode>| {
            code.and_then(|code| reference.grid(&code))
                .map(|area| area.name.clone())
                .unwrap_or_default()
        };
        let places: Vec<Place> = reference
            .grids()
            .filter(|area| area.level() == GridLevel::Grid)
            .zip(ROADS.iter().cycle())
            .map(|(area, road)| {
                let community = area.code.parent();
                let street = community.as_ref().and_then(|code| code.parent());
                Place {
                    grid: area.code.to_string(),
                    street: name_of(street),
                    community: name_of(community),
                    road,
                }
            })
            .collect();
        anyhow::ensure!(!places.is_empty(), "the reference data has no grids");
        Ok(Self { kinds, places })
    }

    /// Report `index` of level `level`: the same arguments always give the same report, and no
    /// two reports of a run share a client request id or an address.
    fn report(&self, level: usize, index: u64) -> (ReportCaseRequest, &str) {
        let mut random = Rng::new((level as u64) << 40 | index);
        let kind = random.pick(&self.kinds);
        let place = random.pick(&self.places);
        // Unique per case: the level and index make the house and room numbers.
        let house = 1 + index % 500;
        let room = format!("{}-{}", level + 1, index / 500 + 1);
        let address = format!("{}{}{}号{}室", place.street, place.road, house, room);
        let spoken_place = format!("{}{}{}号", place.community, place.road, house);
        let reporter = (random.below(10) != 0).then(|| Reporter {
            name: format!("{}{}", random.pick(SURNAMES), random.pick(GIVEN_NAMES)),
            phone: format!(
                "1{}{:09}",
                random.pick(&["3", "5", "8", "9"]),
                random.next_u64() % 1_000_000_000
            ),
        });
        let request = ReportCaseRequest {
            client_request_id: format!("pipeline-bench-{level}-{index}"),
            channel: Channel::Hotline as i32,
            reporter,
            location: Some(Location {
                grid_code: place.grid.clone(),
                address,
                coordinates: None,
            }),
            description: kind.complaint.words.replace("{place}", &spoken_place),
            category_code: kind.complaint.category.to_owned(),
            media_urls: Vec::new(),
            reported_by_worker: String::new(),
        };
        (request, &kind.department)
    }
}

/// The first work order of a case, as the benchmark received it.
struct Delivery {
    at: Instant,
    department: String,
    /// Sent to a grid worker or to a joint consultation rather than to one department.
    other_route: bool,
}

/// Every work order received so far, by case id.
#[derive(Default)]
struct Deliveries {
    by_case: HashMap<String, Delivery>,
    /// Work orders for a case that already had one (redeliveries).
    repeats: u64,
    /// Messages on the work-order subjects that were not a work order.
    undecodable: u64,
}

type Shared<T> = Arc<Mutex<T>>;

/// NATS messages seen, by kind.
type MessageCounts = BTreeMap<&'static str, u64>;

fn lock<T>(shared: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records every work order JetStream delivers on the department subjects.
async fn receive_work_orders(
    mut messages: pull::Ordered,
    deliveries: Shared<Deliveries>,
) -> anyhow::Result<()> {
    while let Some(message) = messages.next().await {
        let message = match message {
            Ok(message) => message,
            Err(e) => {
                // The ordered consumer recreates itself after a gap; say so and go on.
                tracing::warn!(error = %e, "work-order consumer");
                continue;
            }
        };
        let at = Instant::now();
        let mut deliveries = lock(&deliveries);
        let Ok(order) = WorkOrder::decode(message.payload.as_ref()) else {
            deliveries.undecodable += 1;
            continue;
        };
        if deliveries.by_case.contains_key(&order.case_id) {
            deliveries.repeats += 1;
            continue;
        }
        let other_route = order.department.is_empty()
            || !order.grid_worker.is_empty()
            || !order.participants.is_empty();
        deliveries.by_case.insert(
            order.case_id,
            Delivery {
                at,
                department: order.department,
                other_route,
            },
        );
    }
    anyhow::bail!("the work-order consumer ended")
}

/// What a NATS message on `subject` is, for counting.
fn message_kind(subject: &str) -> &'static str {
    use gridcase_bus::subjects::{StoreOp, ROOT};
    if let Some(rest) = subject.strip_prefix(ROOT).and_then(|s| s.strip_prefix('.')) {
        let (area, last) = (rest.split('.').next(), rest.rsplit('.').next());
        return match area {
            // A JetStream delivery to a pull consumer carries the stream's subject too.
            Some("events") => "feed events published and delivered",
            Some("dispatch") => "work orders published and delivered",
            Some("store") => match last {
                Some(op) if op == StoreOp::ReadStream.token() => "store read_stream requests",
                Some(op) if op == StoreOp::ReadAll.token() => "store read_all requests",
                Some(op) if op == StoreOp::Append.token() || op == StoreOp::AppendBatch.token() => {
                    "store append requests"
                }
                Some("committed") => "store head announcements",
                _ => "other store requests",
            },
            _ => "other gridcase subjects",
        };
    }
    if subject.starts_with("$JS.ACK.") {
        "JetStream acks"
    } else if subject.starts_with("$JS.") {
        "JetStream API requests"
    } else if subject.starts_with("_INBOX.") {
        "replies"
    } else {
        "other"
    }
}

/// Counts every message published on the server, by kind.
async fn count_messages(
    nats: async_nats::Client,
    counts: Shared<MessageCounts>,
) -> anyhow::Result<()> {
    let mut every = nats.subscribe(">").await?;
    while let Some(message) = every.next().await {
        *lock(&counts)
            .entry(message_kind(&message.subject))
            .or_default() += 1;
    }
    anyhow::bail!("the message counter's subscription ended")
}

/// A report intake accepted.
struct SentCase {
    due: Instant,
    case_id: String,
    department: String,
}

/// Figures of one level.
struct Level {
    rate: u32,
    offered: usize,
    accepted: Vec<SentCase>,
    errors: usize,
    first_error: Option<String>,
    /// Microseconds from due to intake's reply, per accepted report.
    replies: Histogram<u64>,
    /// Microseconds from due to the work order's arrival, per case delivered in time.
    latencies: Histogram<u64>,
    /// Work orders per second between the level's first and last arrival.
    delivered_per_second: f64,
    /// Cases delivered to another department than their category's, or by another route.
    misrouted: usize,
    /// Accepted cases whose work order had not arrived by the end of the grace period.
    undelivered: Vec<String>,
    kept_up: bool,
    appends: u64,
    flushes: u64,
    events: u64,
    /// CPU seconds of this process (all services) and of nats-server during the level.
    cpu: Option<(f64, f64)>,
    /// NATS messages during the level, by kind, when they are counted.
    messages: MessageCounts,
    wall: Duration,
}

impl Level {
    /// CPU milliseconds per accepted case, this process and nats-server together.
    fn cpu_ms_per_case(&self) -> Option<f64> {
        let (own, nats) = self.cpu?;
        (!self.accepted.is_empty()).then(|| (own + nats) * 1_000.0 / self.accepted.len() as f64)
    }
}

/// Where the time of sampled cases went, in microseconds (of whole milliseconds, the resolution
/// of the store's recorded-at).
struct Stages {
    intake: Histogram<u64>,
    triage: Histogram<u64>,
    dispatch: Histogram<u64>,
    work_order: Histogram<u64>,
}

/// Converts [`Instant`]s to the wall clock the store records events by.
#[derive(Clone, Copy)]
struct WallClock {
    instant: Instant,
    unix: Duration,
}

impl WallClock {
    fn now() -> Self {
        Self {
            instant: Instant::now(),
            unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
        }
    }

    fn unix_ms(self, at: Instant) -> i64 {
        let unix = if at >= self.instant {
            self.unix + (at - self.instant)
        } else {
            self.unix.saturating_sub(self.instant - at)
        };
        i64::try_from(unix.as_millis()).unwrap_or(i64::MAX)
    }
}

type Intake = IntakeClient<InterceptedService<GrpcChannel, BearerToken>>;
type Admin = StoreAdminClient<InterceptedService<GrpcChannel, BearerToken>>;

/// What a level needs from the running system.
struct Harness {
    intake: Vec<Intake>,
    admin: Admin,
    store: StoreClient,
    reports: Reports,
    deliveries: Shared<Deliveries>,
    messages: Option<Shared<MessageCounts>>,
    clock: WallClock,
}

/// Starts the whole system in a temp dir, offers each level's load and prints the tables.
pub async fn run(args: PipelineBench) -> anyhow::Result<()> {
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
        "{OPERATOR_TOKEN}=operator:pipeline-bench,{ADMIN_TOKEN}=admin:pipeline-bench"
    ))?;
    let system = System::start(SystemOptions {
        data: dir.path().to_owned(),
        config,
        tokens,
        nats_port: 0,
        addresses: Addresses::any_free(),
    })
    .await?;
    let outcome = measure(&system, &args, reports).await;
    let stopped = system.shut_down().await;
    outcome?;
    stopped
}

async fn measure(system: &System, args: &PipelineBench, reports: Reports) -> anyhow::Result<()> {
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
    for _ in 0..args.connections.max(1) {
        let channel = tonic::transport::Endpoint::from_shared(system.endpoint(Service::Intake))?
            .timeout(REPORT_TIMEOUT)
            .connect()
            .await?;
        intake.push(IntakeClient::with_interceptor(
            channel,
            BearerToken::new(&Secret::new(OPERATOR_TOKEN))?,
        ));
    }
    let channel = tonic::transport::Endpoint::from_shared(system.endpoint(Service::Store))?
        .connect()
        .await?;
    let harness = Harness {
        intake,
        admin: StoreAdminClient::with_interceptor(
            channel,
            BearerToken::new(&Secret::new(ADMIN_TOKEN))?,
        ),
        store: StoreClient::new(nats, "0"),
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

/// An ordered (ephemeral, unacknowledged) consumer of every work-order subject, once the
/// dispatch service has created the stream.
async fn work_orders(js: &jetstream::Context) -> anyhow::Result<pull::Ordered> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let stream = loop {
        match js.get_stream(DISPATCH_STREAM).await {
            Ok(stream) => break stream,
            Err(e) if Instant::now() > deadline => {
                anyhow::bail!("the dispatch service did not create {DISPATCH_STREAM}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: DISPATCH_ALL.to_owned(),
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating the work-order consumer: {e}"))?;
    consumer
        .messages()
        .await
        .map_err(|e| anyhow::anyhow!("pulling work orders: {e}"))
}

async fn run_levels(harness: &Harness, args: &PipelineBench) -> anyhow::Result<()> {
    println!(
        "pipeline benchmark: {} cores, ReportCase (hotline, {} categories, {} grids) to the work order on gridcase.v1.dispatch.<department>",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        harness.reports.kinds.len(),
        harness.reports.places.len(),
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

/// Offers `rate` cases/s for `seconds` and waits up to the grace period for their work orders.
async fn run_level(
    harness: &Harness,
    args: &PipelineBench,
    level_index: usize,
    rate: u32,
    seconds: u64,
) -> anyhow::Result<Level> {
    let offered = usize::try_from(u64::from(rate) * seconds)?;
    let before = harness
        .admin
        .clone()
        .stats(StatsRequest {})
        .await?
        .into_inner();
    let cpu_before = cpu_seconds();
    let messages_before = harness.messages.as_ref().map(|counts| lock(counts).clone());
    let in_flight = Arc::new(tokio::sync::Semaphore::new(args.in_flight.max(1)));
    let period = Duration::from_secs(1).as_secs_f64() / f64::from(rate);
    let start = Instant::now() + Duration::from_millis(10);
    let mut replies = Vec::with_capacity(offered);
    for index in 0..offered {
        let due = start + Duration::from_secs_f64(period * index as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = Arc::clone(&in_flight).acquire_owned().await?;
        let (request, department) = harness.reports.report(level_index, index as u64);
        let department = department.to_owned();
        let mut client = harness.intake[index % harness.intake.len()].clone();
        replies.push(tokio::spawn(async move {
            let reply = client.report_case(request).await;
            let replied = Instant::now();
            drop(permit);
            (due, replied, department, reply)
        }));
    }
    let schedule_end = start + Duration::from_secs(seconds);
    let mut accepted = Vec::with_capacity(offered);
    let mut reply_times = histogram();
    let mut errors = 0;
    let mut first_error = None;
    for reply in replies {
        let (due, replied, department, reply) = reply.await?;
        match reply {
            Ok(response) => {
                record(&mut reply_times, replied - due);
                accepted.push(SentCase {
                    due,
                    case_id: response.into_inner().case_id,
                    department,
                });
            }
            Err(status) => {
                errors += 1;
                first_error.get_or_insert_with(|| status.to_string());
            }
        }
    }
    let deadline = schedule_end + Duration::from_secs(args.grace);
    loop {
        let waiting = {
            let deliveries = lock(&harness.deliveries);
            accepted
                .iter()
                .filter(|case| !deliveries.by_case.contains_key(&case.case_id))
                .count()
        };
        if waiting == 0 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
    let wall = start.elapsed();
    let mut latencies = histogram();
    let mut undelivered = Vec::new();
    let mut misrouted = 0;
    let (mut first, mut last) = (None::<Instant>, None::<Instant>);
    {
        let deliveries = lock(&harness.deliveries);
        for case in &accepted {
            match deliveries.by_case.get(&case.case_id) {
                Some(delivery) if delivery.at <= deadline => {
                    record(
                        &mut latencies,
                        delivery.at.saturating_duration_since(case.due),
                    );
                    if delivery.other_route || delivery.department != case.department {
                        misrouted += 1;
                    }
                    first = Some(first.map_or(delivery.at, |t| t.min(delivery.at)));
                    last = Some(last.map_or(delivery.at, |t| t.max(delivery.at)));
                }
                _ => undelivered.push(case.case_id.clone()),
            }
        }
    }
    let delivered_per_second = match (first, last) {
        (Some(first), Some(last)) if last > first => {
            (latencies.len() - 1) as f64 / (last - first).as_secs_f64()
        }
        _ => 0.0,
    };
    let after = harness
        .admin
        .clone()
        .stats(StatsRequest {})
        .await?
        .into_inner();
    let messages = match (&harness.messages, messages_before) {
        (Some(counts), Some(before)) => lock(counts)
            .iter()
            .map(|(kind, count)| (*kind, count - before.get(kind).copied().unwrap_or(0)))
            .collect(),
        _ => MessageCounts::new(),
    };
    let cpu = cpu_before
        .zip(cpu_seconds())
        .map(|((own, nats), (own_after, nats_after))| (own_after - own, nats_after - nats));
    let kept_up = undelivered.is_empty()
        && latencies.len() as f64 >= DELIVERED_SHARE * offered as f64
        && delivered_per_second >= RATE_SHARE * f64::from(rate);
    Ok(Level {
        rate,
        offered,
        accepted,
        errors,
        first_error,
        replies: reply_times,
        latencies,
        delivered_per_second,
        misrouted,
        undelivered,
        kept_up,
        appends: after.appends - before.appends,
        flushes: after.flushes - before.flushes,
        events: after.events - before.events,
        cpu,
        messages,
        wall,
    })
}

/// Waits until the work orders of `cases` have all arrived, or none has for [`DRAIN_STALL`], so
/// the next level starts without a backlog.
async fn wait_for_backlog(harness: &Harness, cases: &[String]) {
    let mut left = usize::MAX;
    let mut progress_at = Instant::now();
    loop {
        let now_left = {
            let deliveries = lock(&harness.deliveries);
            cases
                .iter()
                .filter(|case| !deliveries.by_case.contains_key(*case))
                .count()
        };
        if now_left == 0 {
            return;
        }
        if now_left < left {
            left = now_left;
            progress_at = Instant::now();
        } else if progress_at.elapsed() > DRAIN_STALL {
            println!("         {left} work orders never arrived");
            return;
        }
        tokio::time::sleep(DRAIN_POLL * 4).await;
    }
}

/// How far undelivered cases got: how many were looked up (at most `samples`), and a count per
/// last event type.
async fn waiting_after(harness: &Harness, cases: &[String], samples: usize) -> (usize, String) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut looked_up = 0;
    for case in spread(cases, samples) {
        looked_up += 1;
        let last = match harness.store.read_stream(case, 0, 64).await {
            Ok(events) => events.last().map_or_else(
                || "none (not in the store)".to_owned(),
                |e| e.event_type.clone(),
            ),
            Err(e) => format!("unreadable ({e})"),
        };
        *counts.entry(last).or_default() += 1;
    }
    let counts: Vec<String> = counts
        .into_iter()
        .map(|(event, count)| format!("{event} {count}"))
        .collect();
    (looked_up, counts.join(", "))
}

/// Up to `samples` items spread evenly over `items`.
fn spread<T>(items: &[T], samples: usize) -> impl Iterator<Item = &T> {
    let step = items.len().div_ceil(samples.max(1)).max(1);
    items.iter().step_by(step)
}

/// Times the stages of up to `samples` delivered cases of `level` from their events'
/// recorded-at: due → CaseReported (intake), → CaseTriaged (triage), → CaseDispatched
/// (dispatch), → the work order's arrival.
async fn time_stages(harness: &Harness, level: &Level, samples: usize) -> Stages {
    let delivered: Vec<(&SentCase, Instant)> = {
        let deliveries = lock(&harness.deliveries);
        level
            .accepted
            .iter()
            .filter_map(|case| deliveries.by_case.get(&case.case_id).map(|d| (case, d.at)))
            .collect()
    };
    let mut stages = Stages {
        intake: histogram(),
        triage: histogram(),
        dispatch: histogram(),
        work_order: histogram(),
    };
    for (case, arrived) in spread(&delivered, samples) {
        let Ok(events) = harness.store.read_stream(&case.case_id, 0, 64).await else {
            continue;
        };
        let recorded = |event_type: &str| {
            events
                .iter()
                .find(|event| event.event_type == event_type)
                .map(|event| event.recorded_at_ms)
        };
        let (Some(reported), Some(triaged), Some(dispatched)) = (
            recorded("CaseReported"),
            recorded("CaseTriaged"),
            recorded("CaseDispatched"),
        ) else {
            continue;
        };
        let due = harness.clock.unix_ms(case.due);
        let arrived = harness.clock.unix_ms(*arrived);
        let ms = |from: i64, to: i64| Duration::from_millis((to - from).max(0).unsigned_abs());
        record(&mut stages.intake, ms(due, reported));
        record(&mut stages.triage, ms(reported, triaged));
        record(&mut stages.dispatch, ms(triaged, dispatched));
        record(&mut stages.work_order, ms(dispatched, arrived));
    }
    stages
}

/// The columns of a level's figures, printed as each level ends.
fn level_columns() -> Columns {
    Columns::new(&[
        ("offered", 7, Align::Right),
        ("cases", 5, Align::Right),
        ("delivered", 8, Align::Right),
        ("cases/s", 7, Align::Right),
        ("p50 ms", 7, Align::Right),
        ("p99 ms", 7, Align::Right),
        ("max ms", 7, Align::Right),
        ("reply p99", 8, Align::Right),
        ("errors", 5, Align::Right),
        ("kept up", 0, Align::Left),
        ("events/case", 0, Align::Right),
        ("appends/flush", 0, Align::Right),
        ("cpu (nats)", 0, Align::Right),
        ("cpu ms/case", 0, Align::Right),
    ])
}

fn print_level(columns: &Columns, level: &Level) {
    let cpu = level.cpu.map_or_else(
        || "-".to_owned(),
        |(own, nats)| {
            let wall = level.wall.as_secs_f64();
            format!("{:.0}% ({:.0}%)", own / wall * 100.0, nats / wall * 100.0)
        },
    );
    let cpu_per_case = level
        .cpu_ms_per_case()
        .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1}"));
    print!(
        "{}",
        columns.line(&[
            level.rate.to_string(),
            level.offered.to_string(),
            level.latencies.len().to_string(),
            format!("{:.0}", level.delivered_per_second),
            format!("{:.1}", ms_at(&level.latencies, 0.50)),
            format!("{:.1}", ms_at(&level.latencies, 0.99)),
            format!("{:.1}", ms_at(&level.latencies, 1.0)),
            format!("{:.1}", ms_at(&level.replies, 0.99)),
            level.errors.to_string(),
            (if level.kept_up { "yes" } else { "NO" }).to_owned(),
            format!(
                "{:.2}",
                level.events as f64 / level.accepted.len().max(1) as f64
            ),
            format!("{:.1}", level.appends as f64 / level.flushes.max(1) as f64),
            cpu,
            cpu_per_case,
        ])
    );
    if !level.messages.is_empty() {
        let cases = level.accepted.len().max(1) as f64;
        let total: u64 = level.messages.values().sum();
        let kinds: Vec<String> = level
            .messages
            .iter()
            .map(|(kind, count)| format!("{kind} {:.1}", *count as f64 / cases))
            .collect();
        println!(
            "         NATS messages per case: {:.1} ({})",
            total as f64 / cases,
            kinds.join(", ")
        );
    }
    if level.misrouted > 0 {
        println!(
            "         {} cases reached another department or route than their category's",
            level.misrouted
        );
    }
}

fn print_stages(stages: &[(u32, Stages)]) {
    println!(
        "where the time goes, p50 / p99 ms of sampled cases (events' recorded-at, ms resolution):"
    );
    let mut columns = vec![("offered", 7, Align::Right), ("sampled", 0, Align::Right)];
    columns.extend(
        ["intake", "triage", "dispatch", "work order"].map(|stage| (stage, 11, Align::Right)),
    );
    let columns = Columns::new(&columns);
    print!("{}", columns.header());
    for (rate, stages) in stages {
        let cell = |times: &Histogram<u64>| {
            format!("{:.0} / {:.0}", ms_at(times, 0.50), ms_at(times, 0.99))
        };
        print!(
            "{}",
            columns.line(&[
                rate.to_string(),
                stages.intake.len().to_string(),
                cell(&stages.intake),
                cell(&stages.triage),
                cell(&stages.dispatch),
                cell(&stages.work_order),
            ])
        );
    }
    println!("  intake: due → CaseReported; triage: → CaseTriaged; dispatch: → CaseDispatched; work order: → received");
}

fn print_summary(harness: &Harness, levels: &[Level]) {
    let repeats = lock(&harness.deliveries).repeats;
    let undecodable = lock(&harness.deliveries).undecodable;
    if repeats > 0 || undecodable > 0 {
        println!("work orders received again: {repeats}; undecodable messages: {undecodable}");
    }
    match levels.iter().filter(|level| level.kept_up).max_by_key(|level| level.rate) {
        Some(best) => println!(
            "highest sustained rate: {} cases/s offered, {:.0} delivered/s, p50 {:.1} ms, p99 {:.1} ms (target: at least 2000 cases/s on 2 cores: {})",
            best.rate,
            best.delivered_per_second,
            ms_at(&best.latencies, 0.50),
            ms_at(&best.latencies, 0.99),
            if best.rate >= 2_000 { "met" } else { "missed" }
        ),
        None => println!("no level kept up"),
    }
    let measured = levels
        .iter()
        .filter(|level| level.kept_up)
        .max_by_key(|level| level.rate)
        .or(levels.first());
    if let Some((level, ms)) = measured.and_then(|l| l.cpu_ms_per_case().map(|ms| (l, ms))) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!(
            "CPU: {ms:.1} ms per case at {} cases/s (services, load generator and nats-server): {cores} cores allow at most ~{:.0} cases/s however the work is spread",
            level.rate,
            cores as f64 * 1_000.0 / ms
        );
    }
    if let Some(at_200) = levels.iter().find(|level| level.rate == 200) {
        let p99 = ms_at(&at_200.latencies, 0.99);
        println!(
            "at 200 cases/s: p50 {:.1} ms, p99 {p99:.1} ms (target: p99 at most 50 ms: {})",
            ms_at(&at_200.latencies, 0.50),
            if at_200.kept_up && p99 <= 50.0 {
                "met"
            } else {
                "missed"
            }
        );
    }
}

/// CPU seconds used so far by this process (every service runs in it) and by its child
/// processes (nats-server), from `/proc`; `None` where there is none.
fn cpu_seconds() -> Option<(f64, f64)> {
    let own = process_cpu_seconds("self")?;
    let mut children = 0.0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(pids) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for pid in pids.split_whitespace() {
            children += process_cpu_seconds(pid).unwrap_or(0.0);
        }
    }
    Some((own, children))
}

fn process_cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces) start with the state, field 3;
    // utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some((user + system) as f64 / CPU_TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use gridcase_domain::{CategoryCode, GridCode};

    use super::*;

    #[test]
    fn every_report_is_for_one_department_at_its_own_address() {
        let reference = crate::sample_reference();
        let reports = Reports::from_reference(&reference).unwrap();
        assert_eq!(reports.kinds.len(), COMPLAINTS.len());
        let mut ids = HashSet::new();
        let mut addresses = HashSet::new();
        for level in 0..3 {
            for index in 0..2_000 {
                let (request, department) = reports.report(level, index);
                let category = reference
                    .category(&CategoryCode::parse(&request.category_code).unwrap())
                    .unwrap();
                assert!(!category.self_handle, "{}", request.category_code);
                assert!(
                    matches!(&category.owner, Owner::Department(d) if d.as_str() == department)
                );
                let location = request.location.unwrap();
                let grid = GridCode::parse(&location.grid_code).unwrap();
                assert_eq!(grid.level(), GridLevel::Grid);
                assert!(reference.grid(&grid).is_some());
                assert!(location.coordinates.is_none());
                assert!(!request.description.contains("{place}"));
                assert_eq!(request.channel, Channel::Hotline as i32);
                if let Some(reporter) = request.reporter {
                    assert_eq!(reporter.phone.len(), 11, "{}", reporter.phone);
                    assert!(reporter.phone.starts_with('1'));
                }
                assert!(ids.insert(request.client_request_id));
                assert!(addresses.insert(location.address));
            }
        }
    }

    #[test]
    fn messages_are_counted_by_kind() {
        assert_eq!(
            message_kind("gridcase.v1.store.0.read_stream"),
            "store read_stream requests"
        );
        assert_eq!(
            message_kind("gridcase.v1.store.0.append_batch"),
            "store append requests"
        );
        assert_eq!(
            message_kind("gridcase.v1.events.triage.0123"),
            "feed events published and delivered"
        );
        assert_eq!(
            message_kind("gridcase.v1.dispatch.water"),
            "work orders published and delivered"
        );
        assert_eq!(
            message_kind("$JS.ACK.GRIDCASE_EVENTS.triage.1.2.3.4.5"),
            "JetStream acks"
        );
        assert_eq!(message_kind("_INBOX.abc.1"), "replies");
    }
}
