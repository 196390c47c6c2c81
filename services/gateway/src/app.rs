//! The HTTP application: the shared state, the routes of every part of the gateway, and the
//! layers every request passes — a request id in every log line, a timeout, a body limit,
//! compression, security headers and the per-address rate limit.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gridcase_config::ReferenceData;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::backend::Backend;
use crate::html::{PageError, GEO_SCRIPT, STYLESHEET};
use crate::keys::Keys;
use crate::limits::RateLimiter;
use crate::media::MediaStore;
use crate::settings::GatewaySettings;

/// Everything a request handler may use. The gateway holds no case state: cases are read from
/// and written to the services through [`Backend`].
#[derive(Debug)]
pub struct Gateway {
    /// `gateway.toml`.
    pub settings: GatewaySettings,
    /// The grid hierarchy, categories and departments.
    pub reference: Arc<ReferenceData>,
    /// Clients of intake, query and evaluation.
    pub backend: Backend,
    /// The signing key of private links and forms.
    pub keys: Keys,
    /// Residents' and departments' photos.
    pub media: MediaStore,
    /// Requests per client address per minute.
    pub per_address: RateLimiter<IpAddr>,
    /// Reports per phone number per hour.
    pub per_phone: RateLimiter<String>,
    /// Staff tokens, for photo uploads.
    pub staff: Arc<gridcase_auth::TokenTable>,
}

/// The state handlers extract.
pub type AppState = Arc<Gateway>;

/// The `Content-Security-Policy` of every response: only this site's own styles, scripts,
/// images and form targets; never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
base-uri 'none'";

/// Request ids: a per-process prefix and a counter, e.g. `7f3a9c01-000042`.
#[derive(Debug, Clone)]
struct Sequence {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl MakeRequestId for Sequence {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n:06}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application over `gateway`.
pub fn router(gateway: AppState) -> Router {
    let limits = gateway.settings.limits.clone();
    let mut prefix = gateway.keys.nonce();
    prefix.truncate(8);
    let sequence = Sequence {
        prefix: prefix.into(),
        next: Arc::new(AtomicU64::new(1)),
    };
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request| {
        let id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("http", request_id = %id, method = %request.method(), path = %request.uri().path())
    });
    let security_headers = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("permissions-policy"),
            "geolocation=(self), camera=(self)",
        ),
    ];
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/static/app.css", get(stylesheet))
        .route("/static/geo.js", get(geo_script))
        .merge(crate::pages::routes())
        .merge(crate::uploads::routes())
        .merge(crate::poster::routes())
        .merge(crate::board::routes())
        .merge(crate::open311::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&gateway),
            rate_limit,
        ));
    for (name, value) in security_headers {
        app = app.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    app.layer(CompressionLayer::new())
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(RequestBodyLimitLayer::new(limits.body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout(),
        ))
        .layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, sequence))
        .with_state(gateway)
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready only when intake and query answer: without them nothing can be reported or shown.
async fn readyz(State(gateway): State<AppState>) -> Response {
    let down = gateway.backend.not_ready().await;
    if down.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {} not answering\n", down.join(", ")),
        )
            .into_response()
    }
}

async fn stylesheet() -> Response {
    static_text("text/css; charset=utf-8", STYLESHEET)
}

async fn geo_script() -> Response {
    static_text("text/javascript; charset=utf-8", GEO_SCRIPT)
}

fn static_text(content_type: &'static str, text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        text,
    )
        .into_response()
}

async fn not_found() -> PageError {
    PageError::not_found("您访问的页面不存在。请检查链接，或重新扫描张贴的二维码。")
}

/// Refuses a client address over its per-minute budget with 429 and a page saying when to try
/// again (health checks and static files are not counted).
async fn rate_limit(
    State(gateway): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let exempt = path == "/healthz" || path == "/readyz" || path.starts_with("/static/");
    if !exempt {
        if let Err(wait) = gateway.per_address.check(&peer.ip(), Instant::now()) {
            tracing::warn!(client = %peer.ip(), "rate limited");
            return too_many(path, wait.as_secs().max(1));
        }
    }
    next.run(request).await
}

/// The 429 answer: Open311's error list for Open311 paths, a page for people elsewhere.
pub fn too_many(path: &str, retry_after_s: u64) -> Response {
    let retry = [(header::RETRY_AFTER, retry_after_s.to_string())];
    if let Some(file) = path.strip_prefix("/open311/") {
        let format = crate::open311::format::Format::split(file)
            .map_or(crate::open311::format::Format::Xml, |(_, format)| format);
        let description = format!("too many requests; try again in {retry_after_s} seconds");
        let mut reply =
            crate::open311::format::error(format, StatusCode::TOO_MANY_REQUESTS, &description);
        if let Ok(value) = HeaderValue::from_str(&retry_after_s.to_string()) {
            reply.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return reply;
    }
    let page = PageError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "操作太频繁",
        format!("您的操作太频繁了，请 {retry_after_s} 秒后再试。紧急情况请直接拨打热线。"),
    );
    (retry, page).into_response()
}
