//! What every request handler shares, and how it is built from the configuration: the
//! data directory, the secret, the database, storage and the token keys.

use crate::auth::AuthKeys;
use crate::config::{Config, StorageKind};
use crate::db::Db;
use crate::jwks::Jwks;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimits;
use crate::secret;
use crate::stats::PutStats;
use crate::storage::local::LocalStorage;
use crate::storage::s3::{S3SetupError, S3Storage};
use crate::storage::Storage;
use std::sync::Arc;
use std::time::Duration;

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The metadata database.
    pub db: Db,
    /// Where file bytes live.
    pub storage: Arc<dyn Storage>,
    /// The configuration in force.
    pub config: Arc<Config>,
    /// Issues and checks bearer tokens.
    pub keys: Arc<AuthKeys>,
    /// Part-PUT counters, for `/api/dev/stats`.
    pub stats: Arc<PutStats>,
    /// Request rate limits per user and per address.
    pub limits: Arc<RateLimits>,
    /// What `/metrics` shows.
    pub metrics: Arc<Metrics>,
    /// Turns true when the server shuts down: long-lived answers (event streams) end.
    pub closing: tokio::sync::watch::Receiver<bool>,
    closing_tx: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// What tells the long-lived answers that the server is shutting down.
    pub fn closing_sender(&self) -> Arc<tokio::sync::watch::Sender<bool>> {
        self.closing_tx.clone()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A file or directory of the data directory, or the listening socket.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The S3 settings are incomplete or wrong.
    #[error("S3 storage: {0}")]
    S3(#[from] S3SetupError),
    /// Settings that contradict each other or are unsafe.
    #[error("{0}")]
    Config(String),
}

pub(crate) fn io_context(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SetupError {
    let what = what.into();
    move |source| SetupError::Io { what, source }
}

/// Prepares the data directory, secret, database and storage for `config`.
pub async fn build_state(config: &Config) -> Result<AppState, SetupError> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir).map_err(io_context(format!("creating {}", dir.display())))?;
    let secret = secret::load_or_create(config.secret.as_deref(), dir)
        .map_err(io_context("reading or creating the secret"))?;
    let mut db = Db::connect(&config.database_url()).await?;
    if let Some(url) = &config.database_read_url {
        db = db.with_read_replica(url).await?;
    }
    let stats = Arc::new(PutStats::default());
    let storage: Arc<dyn Storage> = match config.storage {
        StorageKind::Local => Arc::new(
            LocalStorage::new(
                dir.join("storage"),
                &config.public_url(),
                &secret,
                stats.clone(),
            )
            .map_err(io_context("creating the storage directories"))?
            .with_body_idle_timeout(Duration::from_secs(config.body_idle_timeout)),
        ),
        StorageKind::S3 => Arc::new(S3Storage::new(&config.s3)?),
    };
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    Ok(AppState {
        closing,
        closing_tx: Arc::new(closing_tx),
        db,
        storage,
        config: Arc::new(config.clone()),
        keys: Arc::new(
            AuthKeys::new(
                &secret,
                config.token_ttl,
                config.max_token_lifetime,
                config.dev,
            )
            .map_err(SetupError::Config)?
            .with_jwks(Jwks::new(&config.jwt).map_err(SetupError::Config)?),
        ),
        stats,
        limits: Arc::new(RateLimits::new(config)),
        metrics: Arc::new(Metrics::new().map_err(|e| SetupError::Config(format!("metrics: {e}")))?),
    })
}
