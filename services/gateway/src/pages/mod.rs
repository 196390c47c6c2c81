//! 码上办, the resident's pages:
//!
//! - `GET /q/<place>`: the report form of the grid or micro-grid a QR code stands for, with
//!   the place and its grid workers (亮身份) shown; `POST /q/<place>` records the case through
//!   intake (channel QR code, the place filled in) and sends the reporter to the private page.
//! - `GET /c/<tracking code>`: the case as the public may see it; with the private key (`?k=`)
//!   also what the reporter wrote, and the rating form once the case is checked on site.
//! - `POST /c/<tracking code>/rating`: the rating (满意度回访), from the private page only.
//! - `GET /media/<hash>.<ext>`: a stored photo.

mod case;
mod report;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gridcase_config::GridArea;
use gridcase_domain::{GridCode, GridLevel};

use crate::app::{AppState, Gateway};
use crate::html::{escape, PageError};

/// The longest description intake accepts, in characters.
const MAX_DESCRIPTION_CHARS: usize = 2000;
/// The longest place note (地点说明), in characters.
const MAX_ADDRESS_CHARS: usize = 200;
/// The longest rating comment, in characters.
const MAX_COMMENT_CHARS: usize = 1000;

/// The routes of the resident's pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/q/{place}",
            get(report::report_form).post(report::submit_report),
        )
        .route("/c/{code}", get(case::case_page))
        .route("/c/{code}/rating", post(case::submit_rating))
        .route("/media/{name}", get(media))
}

/// Unix seconds now.
fn now_s() -> i64 {
    gridcase_runtime::now().as_millis() / 1000
}

// --- the place a QR code stands for ---

/// A grid or micro-grid with the names of the areas above it.
struct Place<'a> {
    area: &'a GridArea,
    /// Street › community › grid (› micro-grid).
    path: Vec<&'a str>,
}

fn place<'a>(gateway: &'a Gateway, code: &str) -> Result<Place<'a>, PageError> {
    let unknown = || {
        PageError::not_found(format!(
            "没有找到编号为 {code} 的网格。二维码可能已经更换，请联系网格员，或拨打 {} 反映问题。",
            gateway.settings.hotline
        ))
    };
    let grid = GridCode::parse(code).map_err(|_| unknown())?;
    let area = gateway.reference.grid(&grid).ok_or_else(unknown)?;
    if area.level() < GridLevel::Grid {
        return Err(unknown());
    }
    let path = [
        GridLevel::Street,
        GridLevel::Community,
        GridLevel::Grid,
        GridLevel::MicroGrid,
    ]
    .into_iter()
    .filter_map(|level| grid.at_level(level))
    .filter_map(|code| gateway.reference.grid(&code))
    .map(|a| a.name.as_str())
    .collect();
    Ok(Place { area, path })
}

/// The 亮身份 block: who looks after `grid` and how to reach them.
fn workers_block(gateway: &Gateway, grid: &GridCode) -> String {
    let workers = gateway.reference.workers_of(grid);
    if workers.is_empty() {
        return String::new();
    }
    let rows: String = workers
        .iter()
        .map(|w| {
            format!(
                "<dd>{} · <a href=\"tel:{phone}\">{phone}</a></dd>",
                escape(w.name.as_str()),
                phone = escape(w.phone.as_str())
            )
        })
        .collect();
    format!("<dl><dt>网格员（亮身份）</dt>{rows}</dl>")
}

// --- photos ---

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
