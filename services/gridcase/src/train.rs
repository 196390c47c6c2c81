//! `gridcase train`: rebuilds triage's category model from the corpus's training split plus
//! every case an operator classified by hand, read from the running system's log up to a
//! position; measures it on the corpus's held-out split; refuses it if it does worse than the
//! model triage uses now (unless forced); writes it to the data directory; and tells triage to
//! load it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use gridcase_bus::subjects::TRIAGE_MODEL_RELOAD;
use gridcase_bus::StoreClient;
use gridcase_config::{Corpus, ReferenceData};
use gridcase_eventstore::EventStore;
use gridcase_triage::model::{HeldOutScores, ModelFile, MODEL_FILE};
use gridcase_triage::training::{self, OperatorExamples};

use crate::system::config_dir;

/// Events read from the log per request.
const READ_BATCH: usize = 1_000;

/// How long to wait for a triage replica to say it loaded the new model.
const RELOAD_WAIT: Duration = Duration::from_secs(10);

/// Settings of `gridcase train`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// NATS server URL of the running system.
    #[arg(
        long,
        env = "GRIDCASE_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats: String,
    /// How many store shards the city has: operators' classifications are read from every
    /// shard's log.
    #[arg(long, env = "GRIDCASE_STORE_SHARDS", default_value_t = 1)]
    pub shards: usize,
    /// Directory of the reference data and its `corpus/`; by default `deploy/config` here,
    /// else the sample city of the source tree.
    #[arg(long, env = "GRIDCASE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The data directory the model is written to (as `triage-model.bin`), the one
    /// `gridcase up` uses.
    #[arg(long, env = "GRIDCASE_DATA", default_value = "data")]
    pub data: PathBuf,
    /// Read operators' classifications up to this log position (exclusive); by default up to
    /// the log's head now.
    #[arg(long)]
    pub up_to: Option<u64>,
    /// The confidence the model routes at, as triage runs it; the held-out scores are
    /// measured at it.
    #[arg(long, env = "GRIDCASE_TRIAGE_CONFIDENCE", default_value_t = gridcase_triage::DEFAULT_CONFIDENCE,
          value_parser = gridcase_triage::parse_confidence)]
    pub confidence: f64,
    /// Write the model even if its held-out scores are worse than the current model's.
    #[arg(long)]
    pub force: bool,
}

/// What training produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The new model's version.
    pub version: String,
    /// Its held-out scores.
    pub held_out: HeldOutScores,
    /// The model triage used before, and its held-out scores.
    pub replaced: (String, HeldOutScores),
    /// Operators' examples it learnt from.
    pub operator_examples: u32,
    /// The version a triage replica reported loading, if one answered.
    pub loaded_by_triage: Option<String>,
}

/// Trains, compares, writes and announces the model; an error if it was refused.
pub async fn run(args: TrainArgs) -> anyhow::Result<Outcome> {
    let dir = config_dir(args.config.clone());
    let reference = ReferenceData::load(&dir)
        .with_context(|| format!("loading the reference data in {}", dir.display()))?;
    let corpus = Corpus::load(&dir, &reference).context("loading the corpus")?;
    let nats = crate::backup::connect_admin(&args.data, &args.nats).await?;
    let map = gridcase_bus::ShardMap::new(args.shards, "").map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        args.up_to.is_none() || map.count() == 1,
        "--up-to is a position in one log: with {} shards, train on every shard's whole log",
        map.count()
    );
    let store = StoreClient::sharded(nats.clone(), map);
    let mut operators = OperatorExamples::new();
    let mut read_to = Vec::new();
    // A case lives in one shard, so each shard's log holds its cases' classifications whole.
    for shard in store.shards() {
        let head = shard.head().await.context("reading the log's head")?;
        let up_to = args.up_to.unwrap_or(head).min(head);
        let mut position = 0;
        while position < up_to {
            let batch = shard
                .read_all(position, READ_BATCH)
                .await
                .with_context(|| format!("reading the log from position {position}"))?;
            let Some(last) = batch.last() else { break };
            position = last.position + 1;
            for record in batch.iter().filter(|record| record.position < up_to) {
                operators.fold(record);
            }
        }
        read_to.push(up_to);
    }
    let shown: Vec<String> = read_to.iter().map(u64::to_string).collect();
    let (shown, up_to) = (shown.join(" + "), read_to.iter().sum::<u64>());
    let examples = operators.examples();
    let trained = training::train(&reference, &corpus, &examples, args.confidence);

    let path = args.data.join(MODEL_FILE);
    let current = ModelFile::load(&path)?;
    let replaced = match &current {
        Some(file) => (
            file.version.clone(),
            training::score(&file.model, &corpus, args.confidence),
        ),
        None => {
            // Triage learns this one from the corpus at start when no model file exists.
            let baseline = training::train(&reference, &corpus, &[], args.confidence);
            (format!("corpus-{:08x}", baseline.digest), baseline.held_out)
        }
    };
    let version = training::next_version(
        current.as_ref().map(|file| file.version.as_str()),
        trained.digest,
    );
    println!(
        "trained {version} from {} corpus reports and {} operators' classifications (log up to position {shown})",
        trained.corpus_examples, trained.operator_examples
    );
    println!("  held out, new:     {}", describe(&trained.held_out));
    println!(
        "  held out, current: {} ({})",
        describe(&replaced.1),
        replaced.0
    );
    if trained.held_out.worse_than(&replaced.1) && !args.force {
        anyhow::bail!(
            "refused: {version} does worse on the held-out reports than {} (use --force to write it anyway)",
            replaced.0
        );
    }
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("creating {}", args.data.display()))?;
    let file = ModelFile {
        version: version.clone(),
        trained_at_ms: gridcase_runtime::now().as_millis(),
        up_to_position: up_to,
        corpus_examples: trained.corpus_examples,
        operator_examples: trained.operator_examples,
        held_out: trained.held_out,
        model: trained.model,
    };
    file.save(&path)?;
    println!("wrote {}", path.display());
    let loaded_by_triage = match tokio::time::timeout(
        RELOAD_WAIT,
        nats.request(TRIAGE_MODEL_RELOAD, version.clone().into()),
    )
    .await
    {
        Ok(Ok(reply)) => {
            let answer = String::from_utf8_lossy(&reply.payload).into_owned();
            println!("triage now uses {answer}");
            Some(answer)
        }
        _ => {
            println!("no triage answered: it loads {version} when it starts");
            None
        }
    };
    Ok(Outcome {
        version,
        held_out: trained.held_out,
        replaced,
        operator_examples: trained.operator_examples,
        loaded_by_triage,
    })
}

fn describe(scores: &HeldOutScores) -> String {
    format!(
        "{:.1}% routed right, {:.1}% wrong, {:.1}% to the manual queue of {} reports at confidence {}",
        100.0 * scores.right_rate(),
        100.0 * scores.wrong_rate(),
        100.0 * f64::from(scores.manual) / f64::from(scores.reports.max(1)),
        scores.reports,
        scores.threshold
    )
}
