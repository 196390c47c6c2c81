//! `gridcase bench gateway`: the HTTP gateway with the whole system running on this machine
//! (nats-server, the seven services and the gateway, a real sled store in a temp dir).
//!
//! 1. **Seeding**: `--cases` hotline reports through intake over gRPC (a window of them in
//!    flight), and the wait until query projects them all, so the gateway answers from a city
//!    of that size.
//! 2. **QR posts**: residents' report forms posted to `/q/<grid>` at `--rate` a second for
//!    `--seconds`, open loop: post `i` is due at `start + i / rate` and its latency — until the
//!    redirect to the private page with the tracking code — counts from then, so falling
//!    behind cannot hide. Each post carries its own form token, fetched beforehand as a phone
//!    fetches the form before the resident writes.
//! 3. **Open311 lists**: `GET /open311/v2/requests.json` (the spec's default: the last 90
//!    days, at most 1,000 requests) and a filtered list (one category, open requests), one
//!    client after another, `--lists` times each.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use gridcase::system::{config_dir, Service, System, SystemOptions};
use gridcase_auth::{BearerToken, Secret, TokenTable};
use gridcase_config::{Corpus, ReferenceData};
use gridcase_domain::GridLevel;
use gridcase_proto::query::v1::query_client::QueryClient;
use hdrhistogram::Histogram;

use crate::bench::{histogram, ms_at, record};

/// The hotline operator seeding the city, and the supervisor watching query catch up.
const OPERATOR_TOKEN: &str = "gateway-bench-operator-0001";
const SUPERVISOR_TOKEN: &str = "gateway-bench-supervisor-01";
const GATEWAY_TOKEN: &str = "gateway-bench-gateway-00001";

/// Settings of the gateway benchmark.
#[derive(Debug, clap::Args)]
pub(crate) struct GatewayBench {
    /// Cases in the system before the gateway is measured.
    #[arg(long, default_value_t = 100_000)]
    cases: u64,
    /// QR form posts offered per second.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Seconds of QR posts.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Requests of each Open311 list.
    #[arg(long, default_value_t = 200)]
    lists: usize,
    /// Directory of the reference data; by default `deploy/config` here, else the sample city
    /// of the source tree.
    #[arg(long)]
    config: Option<PathBuf>,
}

pub(crate) async fn run(args: GatewayBench) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.rate > 0 && args.seconds > 0,
        "--rate and --seconds must be above 0"
    );
    let source = config_dir(args.config.clone());
    let dir = tempfile::tempdir()?;
    // The benchmark's own copy of the reference data, with the per-address limit lifted: every
    // post comes from this one machine's address.
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config)?;
    for entry in std::fs::read_dir(&source)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, config.join(path.file_name().unwrap_or_default()))?;
        }
    }
    Corpus::copy_files(&source, &config)?;
    let settings = config.join(gridcase_gateway::settings::GATEWAY_FILE);
    let text = std::fs::read_to_string(&settings)?;
    let lifted: String = text
        .lines()
        .map(|line| {
            if line.starts_with("per_address_per_minute") {
                "per_address_per_minute = 1000000".to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&settings, lifted)?;
    let reference = ReferenceData::load(&config)
        .with_context(|| format!("loading the reference data in {}", config.display()))?;
    let tokens = TokenTable::from_env_value(&format!(
        "{OPERATOR_TOKEN}=operator:gateway-bench,{SUPERVISOR_TOKEN}=supervisor:gateway-bench,\
         {GATEWAY_TOKEN}=gateway:gateway-bench"
    ))?;
    let system = System::start(SystemOptions::on_free_ports(
        dir.path().join("data"),
        config.clone(),
        tokens,
    ))
    .await?;
    let outcome = run_on(&system, &args, &reference, &config).await;
    let stopped = system.shut_down().await;
    outcome?;
    stopped
}

async fn run_on(
    system: &System,
    args: &GatewayBench,
    reference: &ReferenceData,
    config: &std::path::Path,
) -> anyhow::Result<()> {
    println!(
        "gateway benchmark: {} cores, the whole system in one process, {} cases seeded",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.cases
    );
    crate::bench_seed::seed(
        system,
        args.cases,
        reference,
        &Secret::new(OPERATOR_TOKEN),
        &Secret::new(SUPERVISOR_TOKEN),
    )
    .await?;
    let base = system.public_base_url();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()?;
    let corpus = Corpus::load(config, reference)?;
    let words: Vec<String> = corpus
        .split(gridcase_config::Split::Train)
        .map(|r| r.text.clone())
        .collect();
    anyhow::ensure!(
        !words.is_empty(),
        "the corpus has no training reports to post"
    );
    let grids: Vec<String> = reference
        .grids()
        .filter(|a| a.level() >= GridLevel::Grid)
        .map(|a| a.code.to_string())
        .collect();
    qr_posts(&http, &base, args, &grids, &words).await?;
    public_cases(system, args).await?;
    open311_lists(&http, &base, args, reference).await?;
    Ok(())
}

/// The form token of a fresh report form for `grid`.
async fn form_token(http: &reqwest::Client, base: &str, grid: &str) -> anyhow::Result<String> {
    let html = http
        .get(format!("{base}/q/{grid}"))
        .send()
        .await?
        .text()
        .await?;
    let marker = "name=\"token\" value=\"";
    let start = html
        .find(marker)
        .context("no form token on the report form")?
        + marker.len();
    Ok(html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned())
}

async fn qr_posts(
    http: &reqwest::Client,
    base: &str,
    args: &GatewayBench,
    grids: &[String],
    words: &[String],
) -> anyhow::Result<()> {
    let offered = usize::try_from(u64::from(args.rate) * args.seconds)?;
    let mut forms = Vec::with_capacity(offered);
    for index in 0..offered {
        let grid = &grids[index % grids.len()];
        forms.push((grid.clone(), form_token(http, base, grid).await?));
    }
    let period = 1.0 / f64::from(args.rate);
    let start = Instant::now() + Duration::from_millis(10);
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (grid, token)) in forms.into_iter().enumerate() {
        let due = start + Duration::from_secs_f64(period * index as f64);
        tokio::time::sleep_until(due.into()).await;
        let form = reqwest::multipart::Form::new()
            .text("token", token)
            .text("description", words[index % words.len()].clone())
            .text("address", format!("{}号楼附近", 1 + index % 40));
        let request = http.post(format!("{base}/q/{grid}")).multipart(form);
        tasks.spawn(async move {
            let outcome = request.send().await;
            let ok = match &outcome {
                Ok(reply) => reply.status() == 303,
                Err(_) => false,
            };
            (due.elapsed(), ok, outcome.err().map(|e| e.to_string()))
        });
    }
    let mut latencies = histogram();
    let mut errors = 0usize;
    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        let (elapsed, ok, error) = done?;
        if ok {
            record(&mut latencies, elapsed);
        } else {
            errors += 1;
            first_error = first_error.or(error);
        }
    }
    let took = start.elapsed().as_secs_f64();
    println!(
        "QR form posts (HTTP multipart → 303 with the tracking code), open loop at {}/s for {} s:",
        args.rate, args.seconds
    );
    print_latencies(&latencies, errors, took);
    if let Some(error) = first_error {
        println!("  first error: {error}");
    }
    Ok(())
}

/// Query's `PublicCases` alone, as the gateway calls it for the default Open311 list: the part
/// of a list's time spent in query and on gRPC.
async fn public_cases(system: &System, args: &GatewayBench) -> anyhow::Result<()> {
    let channel = tonic::transport::Endpoint::from_shared(system.endpoint(Service::Query))?
        .connect()
        .await?;
    let mut query =
        QueryClient::with_interceptor(channel, BearerToken::new(&Secret::new(GATEWAY_TOKEN))?);
    let mut latencies = histogram();
    let started = Instant::now();
    let mut returned = 0;
    for _ in 0..args.lists {
        let request = gridcase_proto::query::v1::PublicCasesRequest {
            reported_from_ms: gridcase_runtime::now().as_millis() - 90 * 86_400_000,
            limit: 1000,
            ..Default::default()
        };
        let sent = Instant::now();
        let reply = query.public_cases(request).await?.into_inner();
        record(&mut latencies, sent.elapsed());
        returned = reply.cases.len();
    }
    println!("query PublicCases over gRPC (the last 90 days, at most 1,000): {returned} cases per reply, one client:");
    print_latencies(&latencies, 0, started.elapsed().as_secs_f64());
    Ok(())
}

async fn open311_lists(
    http: &reqwest::Client,
    base: &str,
    args: &GatewayBench,
    reference: &ReferenceData,
) -> anyhow::Result<()> {
    let category = reference
        .categories()
        .find(|c| c.code.to_string() == "BJ-01-07")
        .or_else(|| reference.categories().next())
        .map(|c| c.code.to_string())
        .unwrap_or_default();
    for (what, path) in [
        (
            "GET /open311/v2/requests.json (last 90 days, at most 1,000)",
            "/open311/v2/requests.json".to_owned(),
        ),
        (
            "GET /open311/v2/requests.json?service_code=…&status=open",
            format!("/open311/v2/requests.json?service_code={category}&status=open"),
        ),
    ] {
        let mut latencies = histogram();
        let mut errors = 0;
        let mut entries = 0usize;
        let started = Instant::now();
        for _ in 0..args.lists {
            let sent = Instant::now();
            let reply = http.get(format!("{base}{path}")).send().await?;
            let ok = reply.status().is_success();
            let body = reply.bytes().await?;
            if ok {
                record(&mut latencies, sent.elapsed());
                entries = body
                    .windows(20)
                    .filter(|w| w == b"\"service_request_id\"")
                    .count();
            } else {
                errors += 1;
            }
        }
        println!("{what}: {entries} requests per reply, one client:");
        print_latencies(&latencies, errors, started.elapsed().as_secs_f64());
    }
    Ok(())
}

fn print_latencies(latencies: &Histogram<u64>, errors: usize, seconds: f64) {
    println!(
        "  {} ok, {errors} failed, {:.0}/s; latency ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        latencies.len(),
        latencies.len() as f64 / seconds,
        ms_at(latencies, 0.50),
        ms_at(latencies, 0.90),
        ms_at(latencies, 0.99),
        ms_at(latencies, 1.0),
    );
}
