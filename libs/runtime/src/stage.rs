//! What every stage service (intake, triage, dispatch, supervision, evaluation, query) is run
//! with and how it fails, declared once.

use std::path::PathBuf;
use std::sync::Arc;

use gridcase_auth::TokenTable;
use gridcase_config::{ConfigError, ReferenceData};

/// The settings every stage service takes: its reference data, its store shard and its callers.
#[derive(Debug, Clone)]
pub struct StageConfig {
    /// Directory of the reference data (`grid.toml`, `categories.toml`, …).
    pub config_dir: PathBuf,
    /// The store's shards: which keeps which stream.
    pub shards: gridcase_bus::ShardMap,
    /// Bearer tokens and the callers holding them.
    pub tokens: Arc<TokenTable>,
    /// The service runs as one of several replicas: it follows the event feed partitioned
    /// (see [`gridcase_bus::feed::FeedSharing`]), so no two replicas handle one case's events
    /// at once.
    pub replicated: bool,
}

impl StageConfig {
    /// Reference data in `config_dir`, callers in `tokens`, one store shard (`0`).
    pub fn new(config_dir: impl Into<PathBuf>, tokens: TokenTable) -> Self {
        Self {
            config_dir: config_dir.into(),
            shards: gridcase_bus::ShardMap::one(gridcase_bus::subjects::DEFAULT_SHARD),
            tokens: Arc::new(tokens),
            replicated: false,
        }
    }

    /// The client of the store's shards, over `nats`.
    pub fn store(&self, nats: async_nats::Client) -> gridcase_bus::StoreClient {
        gridcase_bus::StoreClient::sharded(nats, self.shards.clone())
    }

    /// Loads and checks the reference data, logging what `service` loaded, and warns when no
    /// token can call it or the holiday calendar lacks the current (in December, the next) year.
    pub fn load_reference(&self, service: &str) -> Result<Arc<ReferenceData>, ServiceError> {
        let reference = ReferenceData::load(&self.config_dir)?;
        tracing::info!(
            service,
            config = %self.config_dir.display(),
            grids = reference.grids().count(),
            departments = reference.departments().count(),
            categories = reference.categories().count(),
            "reference data loaded"
        );
        for missing in reference.calendar().missing_holiday_years(crate::now()) {
            tracing::warn!(service, year = missing.year, "{missing}");
        }
        if self.tokens.is_empty() {
            tracing::warn!(service, "no bearer tokens: every call will be refused");
        }
        Ok(Arc::new(reference))
    }
}

/// Why a stage service stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The reference data could not be loaded.
    #[error("reference data: {0}")]
    Config(#[from] ConfigError),
    /// The gRPC server failed.
    #[error("grpc: {0}")]
    Grpc(#[from] tonic::transport::Error),
    /// Something the service runs beside its API failed or ended (a feed, a stream).
    #[error("{what}: {reason}")]
    Stopped {
        /// What failed, e.g. `event feed`.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

impl ServiceError {
    /// `what` failed or ended for `reason`.
    pub fn stopped(what: &'static str, reason: impl ToString) -> Self {
        Self::Stopped {
            what,
            reason: reason.to_string(),
        }
    }
}
