//! `POST /api/v1/media`: staff upload photos into the same store as residents' — a department's
//! evidence of the work done, a grid worker's photo from an on-site check — and get the URL to
//! put in `evidence_urls` or `media_urls`. Authenticated with the caller's bearer token (the
//! same tokens as the gRPC APIs); the body is the photo's bytes, its type decided by them.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use gridcase_auth::RoleKind;
use serde_json::json;

use crate::app::AppState;
use crate::media::MediaError;

/// Who may upload: those who attach photos to cases.
pub const UPLOAD_ROLES: &[RoleKind] = &[
    RoleKind::Department,
    RoleKind::GridWorker,
    RoleKind::Operator,
    RoleKind::Admin,
];

/// The routes of staff uploads.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/media", post(upload))
}

fn refusal(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn upload(State(gateway): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return refusal(StatusCode::UNAUTHORIZED, "missing bearer token");
    };
    let Some(caller) = gateway.staff.caller(token.trim()) else {
        return refusal(StatusCode::UNAUTHORIZED, "unknown bearer token");
    };
    let kind = caller.role.kind();
    if !UPLOAD_ROLES.contains(&kind) {
        return refusal(
            StatusCode::FORBIDDEN,
            format!("role {kind} may not upload photos"),
        );
    }
    if body.is_empty() {
        return refusal(
            StatusCode::BAD_REQUEST,
            "body: the photo's bytes are missing",
        );
    }
    match gateway.media.store(&body) {
        Ok(stored) => {
            tracing::info!(actor = %caller.actor(), photo = %stored.name, "photo uploaded");
            let url = gateway
                .settings
                .public_url(&format!("/media/{}", stored.name));
            (
                StatusCode::CREATED,
                Json(json!({ "url": url, "type": stored.kind.mime() })),
            )
                .into_response()
        }
        Err(MediaError::TooLarge { limit_mb }) => refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body: a photo may be at most {limit_mb} MB"),
        ),
        Err(MediaError::NotAPhoto) => refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "body: not a JPEG, PNG, WebP or HEIC photo",
        ),
        Err(MediaError::Damaged) => refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            "body: the photo's structure is damaged",
        ),
        Err(MediaError::Io(error)) => {
            tracing::error!(%error, "storing an uploaded photo");
            refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "the photo could not be stored",
            )
        }
    }
}
