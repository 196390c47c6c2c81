//! The gridcase HTTP gateway: how residents and outside apps reach the case loop.
//!
//! - **码上办 pages** (`/q/<place>`, `/c/<tracking code>`): a resident scans the QR code posted
//!   in a grid, reports what is wrong with photos, follows the case and rates it from a private
//!   link. Server-rendered, phone-first, in Chinese, working without JavaScript.
//! - **Open311 GeoReport v2** (`/open311/v2/…`) for third-party civic apps and the city portal.
//! - **Posters** (`/posters/<place>.svg`) with the QR code of each grid and micro-grid, and
//!   **community boards** (`/board/<area>`) with monthly figures and no personal data.
//!
//! The gateway keeps no case state: it reports through intake, shows what query says the
//! public may see and records ratings through evaluation, all over gRPC as the `gateway` role.
//! Its own files are the photos (content-addressed, metadata stripped) and the secret that
//! signs private links and forms.

pub mod app;
pub mod backend;
pub mod board;
pub mod clock;
pub mod html;
pub mod keys;
pub mod limits;
pub mod media;
pub mod open311;
mod pages;
pub mod poster;
pub mod settings;
pub mod uploads;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gridcase_auth::TokenTable;
use gridcase_config::ReferenceData;
use tokio::net::TcpListener;

pub use app::{router, AppState, Gateway};
pub use backend::{Backend, Endpoints};
pub use settings::GatewaySettings;

/// The service's name, in logs and metrics.
pub const SERVICE: &str = "gateway";

/// The file under the data directory holding the gateway's signing secret.
pub const KEY_FILE: &str = "gateway.key";

/// The directory under the data directory holding photos.
pub const MEDIA_DIR: &str = "media";

/// How long a stopping gateway waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How to run the gateway.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Directory of the reference data and `gateway.toml`.
    pub config_dir: PathBuf,
    /// Where photos (`media/`) and the signing secret (`gateway.key`) are kept.
    pub data_dir: PathBuf,
    /// The services it calls, and its token.
    pub endpoints: Endpoints,
    /// Overrides `public_base_url` of `gateway.toml` (e.g. the address `gridcase up` bound).
    pub public_base_url: Option<String>,
    /// The staff who may upload photos (`POST /api/v1/media`): the services' token table.
    pub staff: Arc<TokenTable>,
}

/// Why the gateway could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// `gateway.toml` is missing or invalid.
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    /// The reference data is invalid.
    #[error("reference data: {0}")]
    Reference(#[from] gridcase_config::ConfigError),
    /// The backend endpoints or token are unusable.
    #[error(transparent)]
    Backend(#[from] backend::BackendError),
    /// The secret could not be read or created.
    #[error("the signing secret {path}: {source}")]
    Key {
        /// Its file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving HTTP: {0}")]
    Serve(#[from] std::io::Error),
}

impl GatewayConfig {
    /// Loads the settings, the reference data and the secret: the state the routes share.
    pub fn load(&self) -> Result<AppState, GatewayError> {
        let mut settings = GatewaySettings::load(&self.config_dir)?;
        if let Some(url) = &self.public_base_url {
            settings.public_base_url = url.trim_end_matches('/').to_owned();
        }
        let reference = Arc::new(ReferenceData::load(&self.config_dir)?);
        let key_path = self.data_dir.join(KEY_FILE);
        let keys = keys::Keys::load_or_create(&key_path).map_err(|source| GatewayError::Key {
            path: key_path.display().to_string(),
            source,
        })?;
        let limits = &settings.limits;
        let media = media::MediaStore::new(self.data_dir.join(MEDIA_DIR), limits.photo_bytes);
        let per_address =
            limits::RateLimiter::new(limits.per_address_per_minute, Duration::from_secs(60));
        let per_phone =
            limits::RateLimiter::new(limits.per_phone_per_hour, Duration::from_secs(3600));
        Ok(Arc::new(Gateway {
            backend: Backend::new(&self.endpoints)?,
            staff: Arc::clone(&self.staff),
            settings,
            reference,
            keys,
            media,
            per_address,
            per_phone,
        }))
    }
}

/// Serves the gateway on `listener` until `shutdown` resolves; requests in flight then get
/// [`SHUTDOWN_GRACE`] to finish.
pub async fn run(
    config: GatewayConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let state = config.load()?;
    tracing::info!(
        http = ?listener.local_addr().ok(),
        public = %state.settings.public_base_url,
        "gateway serving"
    );
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    // No Nagle: a page or an Open311 list of several segments must not wait on the client's
    // delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "setting TCP_NODELAY");
        }
    });
    let served = gridcase_runtime::serve_with_grace(shutdown, SHUTDOWN_GRACE, |stop| {
        std::future::IntoFuture::into_future(axum::serve(listener, app).with_graceful_shutdown(stop))
    })
    .await
    .unwrap_or_else(|| {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "requests still open after the shutdown grace; closing them");
        Ok(())
    });
    tracing::info!("gateway stopped");
    Ok(served?)
}
