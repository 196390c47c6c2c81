//! `gridcase demo`: a realistic day of the case loop, driven through the system's public APIs.
//!
//! By default it starts a system of its own (nats-server and the seven services, in a fresh data
//! directory, on free ports) with a copy of the reference data whose deadlines run on a
//! compressed clock — one hour of SLA lasts `--hour-ms` milliseconds, a second by default — so a
//! department that runs late really is warned, breached and escalated while the demo runs.
//! `--attach` drives a running `gridcase up` instead, where the real deadlines apply.
//!
//! The day: hotline operators and grid workers report a few hundred cases in Chinese, some with
//! a category code and most described in words for triage to classify, with a few repeats of
//! one problem, a few vague calls and a few questions outside the grid's remit for the manual
//! queue. Each department's system is simulated as a reader of its durable JetStream consumer:
//! it decodes the protobuf work orders and accepts, reports progress and resolves with a note
//! and a photo, and — by its own temperament — sometimes returns a case that is not its
//! business, asks for a postponement or runs late. Grid workers settle the small matters routed
//! to them and check resolved cases on site; callback operators ask residents for a rating; a
//! supervisor urges overdue cases. At the end it prints the board, the department ranking and a
//! summary of the day, read back from the query and evaluation services.
//!
//! Every random choice comes from the seed, keyed by the report and the step, so the same seed
//! plays the same day (timing on a busy machine may still move a duplicate past its original).

mod api;
mod behaviour;
mod care;
mod cast;
pub(crate) mod clock;
mod day;
mod departments;
mod desks;
mod field;
mod ledger;
mod plan;
mod points;
mod print;
mod reports;
mod words;

use std::path::PathBuf;

use anyhow::Context;
use gridcase::system::{config_dir, Addresses, Service, System, SystemOptions};
use gridcase_auth::TokenTable;
use gridcase_config::ReferenceData;

use self::cast::Cast;
use self::clock::{write_compressed_config, Clock};
use self::day::play;

/// How `demo` runs its day.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// How many cases the day brings.
    #[arg(long, default_value_t = 300)]
    cases: usize,
    /// Seed of the day's randomness: the same seed plays the same day.
    #[arg(long, default_value_t = 20_250_611)]
    seed: u64,
    /// Milliseconds one hour of SLA lasts on the demo's compressed clock (its own system only).
    #[arg(long, default_value_t = 1000)]
    hour_ms: u64,
    /// Seconds to wait for the day's cases to finish before printing what there is and failing.
    #[arg(long, default_value_t = 240)]
    time_limit: u64,
    /// Data directory of the demo's own system (kept afterwards, e.g. for `gridcase verify`);
    /// by default a temporary directory, removed at the end.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Directory of the reference data; by default `deploy/config` here, else the one of the
    /// source tree it was built from.
    #[arg(long, env = "GRIDCASE_CONFIG")]
    config: Option<PathBuf>,
    /// Drive a running `gridcase up` on the standard addresses instead of starting a system:
    /// the real deadlines apply, so nothing runs late within the demo. `gridcase up` must know
    /// the demo's callers (see `--print-tokens`).
    #[arg(long)]
    attach: bool,
    /// NATS of the running system, with `--attach`.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// The token file `gridcase up` was started with, with `--attach`; by default `tokens.toml`
    /// in the reference data directory. `GRIDCASE_TOKENS` adds to it, as for `up`.
    #[arg(long, env = "GRIDCASE_TOKENS_FILE")]
    tokens: Option<PathBuf>,
    /// Print the demo's callers as a `GRIDCASE_TOKENS` value (for `gridcase up` before
    /// `demo --attach`) and exit.
    #[arg(long)]
    print_tokens: bool,
}

/// Runs the demo: prints the tokens, or plays a day on its own system or an attached one.
pub(crate) async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let source = config_dir(args.config.clone());
    let reference = ReferenceData::load(&source)
        .with_context(|| format!("loading the reference data in {}", source.display()))?;
    let cast = Cast::new(&reference)?;
    if args.print_tokens {
        println!("{}", cast.env_value());
        return Ok(());
    }
    anyhow::ensure!(args.cases > 0, "--cases must be at least 1");
    anyhow::ensure!(args.hour_ms > 0, "--hour-ms must be at least 1");
    // What triage makes of the day's words, so the day knows which reports it routes.
    let classifier = gridcase_triage::Classifier::from_corpus(
        &source,
        &reference,
        gridcase_triage::DEFAULT_CONFIDENCE,
    )?
    .unwrap_or_else(gridcase_triage::Classifier::keywords);
    if args.attach {
        attach(args, source, reference, cast, classifier).await
    } else {
        own_system(args, source, reference, cast, classifier).await
    }
}

/// Starts a system with the compressed clock, plays the day on it and stops it.
async fn own_system(
    args: DemoArgs,
    source: PathBuf,
    reference: ReferenceData,
    cast: Cast,
    classifier: gridcase_triage::Classifier,
) -> anyhow::Result<()> {
    let (data, _temporary) = data_dir_or_temporary(args.data.as_ref())?;
    let config = data.join("config");
    let compressed = write_compressed_config(&source, &reference, &config, args.hour_ms)?;
    println!(
        "gridcase demo: {} cases, seed {}, its own system in {}",
        args.cases,
        args.seed,
        data.display()
    );
    println!(
        "  compressed clock: 1 h of SLA = {} ms (reference data rewritten in {})",
        args.hour_ms,
        config.display()
    );
    let tokens = TokenTable::from_env_value(&cast.env_value())?;
    let mut system = System::start(SystemOptions::on_free_ports(data, config, tokens)).await?;
    let endpoints = Service::ALL.map(|service| system.endpoint(service));
    let nats_url = system.nats_url().to_owned();
    let clock = Clock {
        hour_ms: args.hour_ms,
        compressed: true,
    };
    let outcome = tokio::select! {
        outcome = play(&args, compressed, &classifier, cast, clock, &endpoints, &nats_url) => outcome,
        failure = system.stopped_by_itself() => Err(failure),
        _ = gridcase_runtime::shutdown_signal() => Err(anyhow::anyhow!("interrupted")),
    };
    println!("stopping the system");
    let stopped = system.shut_down().await;
    outcome?;
    stopped
}

/// Plays the day on a running `gridcase up` with the standard addresses.
async fn attach(
    args: DemoArgs,
    source: PathBuf,
    reference: ReferenceData,
    cast: Cast,
    classifier: gridcase_triage::Classifier,
) -> anyhow::Result<()> {
    let tokens_file = args
        .tokens
        .clone()
        .unwrap_or_else(|| source.join("tokens.toml"));
    let table = TokenTable::load_with_env(&tokens_file).context("loading the bearer tokens")?;
    let missing = cast.missing_from(&table);
    if !missing.is_empty() {
        anyhow::bail!(
            "the bearer tokens in {} and GRIDCASE_TOKENS lack {} of the demo's {} callers \
             (e.g. {}): start `gridcase up` with GRIDCASE_TOKENS=\"$(gridcase demo \
             --print-tokens)\" and run the demo with the same environment",
            tokens_file.display(),
            missing.len(),
            cast.len(),
            missing[0]
        );
    }
    let addresses = Addresses::standard();
    let endpoints = Service::ALL.map(|service| format!("http://{}", addresses.get(service)));
    println!(
        "gridcase demo: {} cases, seed {}, attached to {} and the standard gRPC addresses",
        args.cases, args.seed, args.nats_url
    );
    println!("  the real deadlines apply: nobody runs late within the demo");
    let clock = Clock {
        hour_ms: 3_600_000,
        compressed: false,
    };
    tokio::select! {
        outcome = play(&args, reference, &classifier, cast, clock, &endpoints, &args.nats_url) => outcome,
        _ = gridcase_runtime::shutdown_signal() => Err(anyhow::anyhow!("interrupted")),
    }
}

/// The data directory given, or a temporary one, removed when the returned guard drops.
pub(crate) fn data_dir_or_temporary(
    given: Option<&PathBuf>,
) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    Ok(match given {
        Some(data) => (data.clone(), None),
        None => {
            let temporary = tempfile::tempdir().context("creating a temporary data directory")?;
            (temporary.path().to_owned(), Some(temporary))
        }
    })
}
