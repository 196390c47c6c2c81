//! Open311 GeoReport v2 (<http://wiki.open311.org/GeoReport_v2>) under `/open311/v2/`, for
//! third-party civic apps and the city portal.
//!
//! - `discovery`, `services` (the category catalogue: a service per 小类, grouped by 大类) and
//!   `services/<code>` (a definition without attributes: no service has metadata).
//! - `POST requests` reports a problem through intake, on the web channel, for the app whose
//!   `api_key` it carries.
//! - `GET requests`, `requests/<id>` and `tokens/<token>` show cases as the public may see them,
//!   through query's `PublicCases`.
//!
//! Every path takes `.json` or `.xml`; without an extension the answer is XML, the spec's
//! default. Errors come in the spec's shape, `[{"code":400,"description":"…"}]`, with the code
//! as the HTTP status; descriptions start with the parameter at fault.
//!
//! Decisions where the spec is silent or leaves a choice:
//! - A request's `service_request_id` is the case's tracking code (`XXXX-XXXX`), known at once,
//!   so the `token` of the POST answer is the same code and `tokens/<token>` only confirms it.
//! - `description` is residents' free text and may name people: `GET requests` shows it only to
//!   callers with a valid `api_key`. A wrong `api_key` on a GET is refused (403) rather than
//!   ignored, so an app learns its key is wrong.
//! - `POST requests` needs a `description` (intake needs 1 to 2000 characters), and an unknown
//!   `service_code` is a 400, as the spec lists "service_code not found" among a POST's 400
//!   errors; `services/<code>` answers an unknown code with 404.
//! - Extensions: `address_id` is a grid code of the city's grid, and `client_request_id` makes
//!   a POST idempotent: posting again with the same id (from the same app) gives the same
//!   `service_request_id` and never a second case.
//! - Dates are written in the city's time (its calendar's UTC offset, `+08:00` in the sample
//!   city); dates read without an offset are the city's time too. Without `start_date` and
//!   `end_date` the list covers the last 90 days; with only `end_date`, the 90 days before it;
//!   a range may span at most 90 days; at most 1000 requests, newest first.

mod catalogue;
pub mod format;
mod post;
mod read;

use std::collections::HashSet;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use gridcase_config::Category;
use gridcase_domain::{CategoryCode, Coordinates, DepartmentCode, GridCode, TrackingCode};
use gridcase_proto::common::v1::{self as common, CaseStatus};
use gridcase_proto::intake::v1::{Channel, ReportCaseRequest, Reporter};
use gridcase_proto::query::v1::{PublicCase, PublicCasesRequest, PublicState};
use tonic::Code;

use crate::app::{AppState, Gateway};
use catalogue::{discovery, known_category, service_definition, services};
use format::{error, reply, Format, Value};
use post::{app_of, post_request};
use read::{list_requests, one_request, token};

/// The most requests one `GET requests` answers, as the spec allows.
pub const MAX_REQUESTS: u32 = 1000;

/// The default period of `GET requests` and the longest one allowed, in ms: 90 days.
pub const PERIOD_MS: i64 = 90 * 86_400_000;

/// The longest `client_request_id` an app may send.
pub const MAX_CLIENT_REQUEST_ID: usize = 64;

/// When this API last changed, as discovery reports it.
pub const CHANGESET: &str = "2026-11-30T00:00:00+08:00";

/// The routes under `/open311/v2/`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(top_get).post(top_post))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one_request))
        .route("/open311/v2/tokens/{file}", get(token))
}

/// An answer: a response in the caller's format, or a refusal to write in it.
type Answer = Result<Response, Problem>;

/// The query or form parameters, in order; a repeated parameter keeps its first value.
#[derive(Debug)]
struct Params(Vec<(String, String)>);

impl Params {
    /// The trimmed value of `name`; `None` when absent or blank.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }
}

/// A refusal: the HTTP status and the description of the spec's error, which starts with the
/// parameter at fault. Written in the caller's format at the end.
#[derive(Debug)]
struct Problem {
    status: StatusCode,
    description: String,
}

impl Problem {
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
        }
    }

    /// The spec's error list in `format`.
    fn answer(self, format: Format) -> Response {
        error(format, self.status, &self.description)
    }
}

fn bad(description: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, description)
}

fn not_found(description: impl Into<String>) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, description)
}

fn forbidden(description: &str) -> Problem {
    Problem::new(StatusCode::FORBIDDEN, description)
}

/// The format of `file`, or the spec's 404 for an unknown extension, written in XML, the
/// spec's default format.
#[allow(clippy::result_large_err)] // answered at once by every handler
fn format_of(file: &str) -> Result<(&str, Format), Response> {
    Format::split(file).map_err(|_| unknown_format())
}

fn unknown_format() -> Response {
    not_found("format: unknown; use .json or .xml (or no extension for XML)").answer(Format::Xml)
}

/// A backend failure as the spec's error: 503 while a service is down, 400 for what it calls
/// invalid, 500 otherwise.
fn backend_error(service: &str, status: &tonic::Status) -> Problem {
    match status.code() {
        Code::InvalidArgument => bad(open311_field(status.message())),
        Code::Unavailable | Code::DeadlineExceeded => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service temporarily unavailable; try again later",
        ),
        code => {
            tracing::warn!(
                ?code,
                message = status.message(),
                service,
                "open311: backend failed"
            );
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; try again later",
            )
        }
    }
}

/// An intake or query message naming its own field, renamed to the Open311 parameter.
fn open311_field(message: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("location.grid_code", "address_id"),
        ("location.address", "address_string"),
        ("location.coordinates", "lat/long"),
        ("location", "lat/long, address_string or address_id"),
        ("reporter.name", "first_name/last_name"),
        ("reporter.phone", "phone"),
        ("media_urls", "media_url"),
        ("category_code", "service_code"),
        ("category", "service_code"),
        ("tracking_codes", "service_request_id"),
        ("reported_from_ms", "start_date"),
        ("reported_to_ms", "end_date"),
    ];
    for (field, name) in NAMES {
        if let Some(rest) = message.strip_prefix(field) {
            // `media_urls[0]: …` and `location.address: …` alike.
            let rest =
                rest.trim_start_matches(|c: char| c == '[' || c == ']' || c.is_ascii_digit());
            if rest.starts_with(':') || rest.starts_with(' ') || rest.is_empty() {
                return format!("{name}{rest}");
            }
        }
    }
    message.to_owned()
}

// --- discovery and services ---

async fn top_get(
    State(gateway): State<AppState>,
    Path(file): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let (stem, format) = match format_of(&file) {
        Ok(split) => split,
        Err(response) => return response,
    };
    let Ok(Query(params)) = query else {
        return bad("query: not a valid query string").answer(format);
    };
    let params = Params(params);
    match stem {
        "discovery" => discovery(&gateway, format),
        "services" => services(&gateway, format),
        "requests" => list_requests(&gateway, format, &params)
            .await
            .unwrap_or_else(|problem| problem.answer(format)),
        _ => not_found(format!("{stem}: no such Open311 resource")).answer(format),
    }
}

/// `POST requests`: the parameters of the spec, plus two extensions:
///
/// - `address_id`: a grid code of the city's grid, e.g. `330102-001-001-001`.
/// - `client_request_id`: the app's own id for this request, 1 to 64 characters. A retry with
///   the same id gives the same `service_request_id`, never a second request. Without it each
///   POST is a new request.
///
/// `first_name`/`last_name` become the reporter's name and `phone` the number to call back;
/// `email` is accepted but not stored: the centre calls residents back by phone. `device_id`
/// and `account_id` are ignored.
async fn top_post(
    State(gateway): State<AppState>,
    Path(file): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let (stem, format) = match format_of(&file) {
        Ok(split) => split,
        Err(response) => return response,
    };
    if stem != "requests" {
        return not_found(format!("{stem}: cannot POST here; POST to requests")).answer(format);
    }
    let Ok(Form(params)) = form else {
        return bad("body: send the parameters as application/x-www-form-urlencoded")
            .answer(format);
    };
    post_request(&gateway, format, &Params(params))
        .await
        .unwrap_or_else(|problem| problem.answer(format))
}

#[cfg(test)]
mod tests {
    use super::post::reporter_name;
    use super::*;

    #[test]
    fn intake_fields_are_named_as_open311_parameters() {
        assert_eq!(
            open311_field("location.address: too long"),
            "address_string: too long"
        );
        assert_eq!(
            open311_field("media_urls[0]: not http"),
            "media_url: not http"
        );
        assert_eq!(open311_field("description: empty"), "description: empty");
        assert_eq!(
            open311_field("category_code: unknown"),
            "service_code: unknown"
        );
    }

    #[test]
    fn names_follow_the_script() {
        assert_eq!(reporter_name(Some("三"), Some("张")), "张三");
        assert_eq!(reporter_name(Some("Ann"), Some("Lee")), "Ann Lee");
        assert_eq!(reporter_name(None, Some("张")), "张");
        assert_eq!(reporter_name(None, None), "");
    }
}
