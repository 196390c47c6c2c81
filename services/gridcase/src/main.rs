//! `gridcase`: runs the whole system on one machine (`up`), checks a store (`verify`),
//! measures it (`bench`), plays a realistic day through it (`demo`) and measures the triage
//! classifier on held-out reports (`eval classify`).

mod bench;
mod bench_fill;
mod bench_gateway;
mod bench_pipeline;
mod bench_postgres;
mod bench_scale;
mod bench_seed;
mod chaos;
mod demo;
mod eval;
mod posters;
mod up;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// gridcase: the case loop of grid governance.
#[derive(Debug, Parser)]
#[command(name = "gridcase", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// The command line is parsed once at start: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Start nats-server and every service on this machine, with one data directory.
    Up(up::UpArgs),
    /// Read a stopped store's whole log and check every record and index entry.
    Verify {
        /// The data directory given to `gridcase up` (the store lives in `<data>/store`).
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
    /// Run a benchmark against real processes on this machine.
    Bench {
        #[command(subcommand)]
        which: bench::Which,
    },
    /// Play a realistic day of cases through the whole system and print the board and the
    /// department ranking.
    Demo(demo::DemoArgs),
    /// Measure a model on held-out data.
    Eval {
        #[command(subcommand)]
        which: eval::Which,
    },
    /// Rebuild triage's category model from the corpus and operators' classifications in the
    /// running system's log, write it to the data directory and have triage load it.
    Train(gridcase::train::TrainArgs),
    /// Write the printable A4 poster (SVG, with the QR code of its 码上办 page) of every grid
    /// and micro-grid into a directory.
    Posters(posters::PostersArgs),
    /// Write the NATS login file of a department's system (its user, password and inbox
    /// prefix) from the logins in the data directory, and say where it is.
    NatsLogin(gridcase::nats_login::NatsLoginArgs),
    /// Back up the running system online: the store's log up to its head now, with the data
    /// directory's keys, logins, model and photos, into a new directory.
    Backup(gridcase::backup::BackupArgs),
    /// Restore a backup into a new data directory and verify the restored log.
    Restore(gridcase::backup::RestoreArgs),
    /// Forget a resident (an erasure request): destroy the key their name and phone are sealed
    /// with, by phone or by one of their cases, and record it in the audit.
    Erase(gridcase::erase::EraseArgs),
    /// Print the member codes of special grid members (for their cards): typed on a QR page,
    /// a member's code makes the report their own.
    MemberCode(gridcase::member_code::MemberCodeArgs),
    /// Print a month's indicators from the running system — departments, grid workers
    /// (优秀网格员), communities and streets — as tables or CSV.
    Report(gridcase::report::ReportArgs),
    /// Kill service processes with SIGKILL and restart nats-server under a steady load of
    /// reports, then check that nothing acknowledged was lost or done twice.
    Chaos(chaos::ChaosArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        // The demo's own lines on stdout tell the day; the services' info lines would drown them.
        Command::Demo(_) => gridcase_runtime::init_tracing_with("warn"),
        _ => gridcase_runtime::init_tracing(),
    }
    match cli.command {
        Command::Up(args) => up::run(args).await,
        Command::Verify { data } => verify(data),
        Command::Bench { which } => bench::run(which).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Eval { which } => eval::run(which),
        Command::Train(args) => gridcase::train::run(args).await.map(|_| ()),
        Command::Posters(args) => posters::run(args),
        Command::NatsLogin(args) => gridcase::nats_login::run(args),
        Command::Backup(args) => gridcase::backup::run_backup(args).await,
        Command::Restore(args) => gridcase::backup::run_restore(args),
        Command::Erase(args) => gridcase::erase::run(args).await,
        Command::Report(args) => gridcase::report::run(args).await,
        Command::MemberCode(args) => gridcase::member_code::run(&args),
        Command::Chaos(args) => chaos::run(args).await,
    }
}

fn verify(data: PathBuf) -> anyhow::Result<()> {
    let path = data.join("store");
    anyhow::ensure!(path.is_dir(), "no store at {}", path.display());
    let store = gridcase_eventstore::SledStore::open_path(&path).map_err(|e| {
        anyhow::anyhow!("{e} (is the store still running? stop it before verifying)")
    })?;
    let keys = gridcase_store_node::default_keys_dir(&path);
    let (report, census) = gridcase::erase::verify(&store, &keys, |done, total| {
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        eprint!("\rverifying {done}/{total} events ({percent}%)");
    })?;
    eprintln!();
    println!("{} events in {} streams", report.events, report.streams);
    println!(
        "reporters: {} sealed, {} erased (key destroyed), {} anonymous, {} in clear; audit: {} reads in clear, {} erasures",
        census.sealed, census.erased, census.anonymous, census.in_clear, census.reads, census.erasures
    );
    if report.is_ok() {
        println!("the log is sound");
        Ok(())
    } else {
        for problem in &report.problems {
            println!("problem: {problem}");
        }
        anyhow::bail!("{} problems found", report.problems.len())
    }
}

/// The sample city's reference data, for the unit tests.
#[cfg(test)]
fn sample_reference() -> gridcase_config::ReferenceData {
    gridcase_config::ReferenceData::load(&gridcase::system::sample_config_dir()).unwrap()
}
