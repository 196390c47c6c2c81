//! The resident's pages: photos as stored.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::AppState;
use crate::html::PageError;

/// The routes of the resident's pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/media/{name}", get(media))
}

/// A stored photo, cached for good (its name is its hash).
async fn media(State(gateway): State<AppState>, Path(name): Path<String>) -> Response {
    match gateway.media.read(&name) {
        Some((bytes, kind)) => (
            [
                (header::CONTENT_TYPE, kind.mime()),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        None => PageError::not_found("这张照片不存在。").into_response(),
    }
}
