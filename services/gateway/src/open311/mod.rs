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

pub mod format;

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
use format::{error, reply, Format, Value};

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

fn discovery(gateway: &Gateway, format: Format) -> Response {
    let url = gateway.settings.public_url("/open311/v2/");
    let changeset = CHANGESET;
    let value = Value::Object(vec![
        ("changeset", Value::Text(changeset.into())),
        (
            "contact",
            Value::Text(format!(
                "{} 12345 政务服务便民热线：{}",
                gateway.settings.city, gateway.settings.hotline
            )),
        ),
        (
            "key_service",
            Value::Text("API keys are issued by the city's 12345 centre".into()),
        ),
        (
            "endpoints",
            Value::List(
                "endpoint",
                vec![Value::Object(vec![
                    (
                        "specification",
                        Value::Text("http://wiki.open311.org/GeoReport_v2".into()),
                    ),
                    ("url", Value::Text(url)),
                    ("changeset", Value::Text(changeset.into())),
                    ("type", Value::Text("production".into())),
                    (
                        "formats",
                        Value::List(
                            "format",
                            vec![
                                Value::Text("text/xml".into()),
                                Value::Text("application/json".into()),
                            ],
                        ),
                    ),
                ])],
            ),
        ),
    ]);
    reply(format, StatusCode::OK, "discovery", &value)
}

/// A category's description: what kind of problem it is and where it belongs.
fn service_description(category: &Category) -> String {
    let kind = match category.kind() {
        gridcase_domain::CategoryKind::Component => "部件",
        gridcase_domain::CategoryKind::Incident => "事件",
    };
    format!(
        "{kind} · {} · {}：{}",
        category.major_name,
        category.name,
        category.keywords.join("、")
    )
}

fn services(gateway: &Gateway, format: Format) -> Response {
    let items = gateway
        .reference
        .categories()
        .map(|category| {
            Value::Object(vec![
                ("service_code", Value::Text(category.code.to_string())),
                ("service_name", Value::Text(category.name.clone())),
                ("description", Value::Text(service_description(category))),
                ("metadata", Value::Bool(false)),
                ("type", Value::Text("realtime".into())),
                ("keywords", Value::Text(category.keywords.join(","))),
                ("group", Value::Text(category.major_name.clone())),
            ])
        })
        .collect();
    reply(
        format,
        StatusCode::OK,
        "services",
        &Value::List("service", items),
    )
}

fn known_category<'a>(gateway: &'a Gateway, code: &str) -> Option<&'a Category> {
    let code = CategoryCode::parse(code).ok()?;
    gateway.reference.category(&code)
}

async fn service_definition(State(gateway): State<AppState>, Path(file): Path<String>) -> Response {
    let (code, format) = match format_of(&file) {
        Ok(split) => split,
        Err(response) => return response,
    };
    let Some(category) = known_category(&gateway, code) else {
        return not_found(format!("service_code: {code:?} is not a known service")).answer(format);
    };
    let value = Value::Object(vec![
        ("service_code", Value::Text(category.code.to_string())),
        ("attributes", Value::List("attribute", Vec::new())),
    ]);
    reply(format, StatusCode::OK, "service_definition", &value)
}

// --- posting a request ---

/// The app holding the `api_key` of `params`, or the spec's 403.
fn app_of<'a>(gateway: &'a Gateway, params: &Params) -> Result<&'a str, Problem> {
    let Some(key) = params.get("api_key") else {
        return Err(forbidden("api_key: required"));
    };
    gateway
        .settings
        .open311_app(key)
        .map(|app| app.name.as_str())
        .ok_or_else(|| forbidden("api_key: not a valid key"))
}

/// The reporter's name from `first_name` and `last_name`: family name first and no space when
/// either is Chinese (or any other non-Latin script), `first last` otherwise.
fn reporter_name(first: Option<&str>, last: Option<&str>) -> String {
    match (first, last) {
        (Some(first), Some(last)) if first.is_ascii() && last.is_ascii() => {
            format!("{first} {last}")
        }
        (Some(first), Some(last)) => format!("{last}{first}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => String::new(),
    }
}

/// The location of a POST: `lat` and `long`, `address_string` and the extension `address_id`
/// (a grid code of the city), at least one of them.
fn location_of(gateway: &Gateway, params: &Params) -> Result<common::Location, Problem> {
    let coordinates = match (params.get("lat"), params.get("long")) {
        (None, None) => None,
        (Some(lat), Some(long)) => {
            let lat: f64 = lat
                .parse()
                .map_err(|_| bad(format!("lat: {lat:?} is not a number")))?;
            let long: f64 = long
                .parse()
                .map_err(|_| bad(format!("long: {long:?} is not a number")))?;
            let checked = Coordinates::new(lat, long).map_err(|e| bad(format!("lat/long: {e}")))?;
            Some(common::Coordinates {
                lat: checked.lat(),
                lon: checked.lon(),
            })
        }
        (Some(_), None) => return Err(bad("long: required with lat")),
        (None, Some(_)) => return Err(bad("lat: required with long")),
    };
    let grid_code = match params.get("address_id") {
        None => String::new(),
        Some(id) => {
            let known = GridCode::parse(id)
                .ok()
                .filter(|code| gateway.reference.grid(code).is_some());
            match known {
                Some(code) => code.to_string(),
                None => {
                    return Err(bad(format!(
                        "address_id: {id:?} is not a grid code of the city"
                    )))
                }
            }
        }
    };
    let address = params.get("address_string").unwrap_or_default().to_owned();
    if coordinates.is_none() && grid_code.is_empty() && address.is_empty() {
        return Err(bad(
            "lat/long, address_string or address_id: one is required",
        ));
    }
    Ok(common::Location {
        grid_code,
        address,
        coordinates,
    })
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

async fn post_request(gateway: &Gateway, format: Format, params: &Params) -> Answer {
    let app = app_of(gateway, params)?;
    let Some(code) = params.get("service_code") else {
        return Err(bad("service_code: required"));
    };
    let Some(category) = known_category(gateway, code) else {
        return Err(bad(format!(
            "service_code: {code:?} is not a known service"
        )));
    };
    let location = location_of(gateway, params)?;
    let Some(description) = params.get("description") else {
        return Err(bad("description: required"));
    };
    let own_id = match params.get("client_request_id") {
        Some(id) if id.chars().count() > MAX_CLIENT_REQUEST_ID => {
            return Err(bad(format!(
                "client_request_id: at most {MAX_CLIENT_REQUEST_ID} characters"
            )))
        }
        Some(id) => id.to_owned(),
        None => gateway.keys.nonce(),
    };
    let name = reporter_name(params.get("first_name"), params.get("last_name"));
    let phone = params.get("phone").unwrap_or_default().to_owned();
    let reporter = (!name.is_empty() || !phone.is_empty()).then_some(Reporter { name, phone });
    let request = ReportCaseRequest {
        client_request_id: format!("open311:{app}:{own_id}"),
        channel: Channel::Web as i32,
        reporter,
        location: Some(location),
        description: description.to_owned(),
        category_code: category.code.to_string(),
        media_urls: params
            .get("media_url")
            .map(|url| vec![url.to_owned()])
            .unwrap_or_default(),
        reported_by_worker: String::new(),
    };
    let mut intake = gateway.backend.intake.clone();
    let reported = intake
        .report_case(request)
        .await
        .map_err(|status| backend_error("intake", &status))?
        .into_inner();
    tracing::info!(
        case = %reported.case_id,
        app,
        repeated = reported.already_reported,
        "reported through Open311"
    );
    let code = reported.tracking_code;
    let value = Value::List(
        "request",
        vec![Value::Object(vec![
            ("service_request_id", Value::Text(code.clone())),
            ("token", Value::Text(code.clone())),
            (
                "service_notice",
                Value::Text(format!(
                    "已受理，受理编号 {code}。可拨打 {} 或凭编号查询办理进度。",
                    gateway.settings.hotline
                )),
            ),
            ("account_id", Value::Null),
        ])],
    );
    Ok(reply(format, StatusCode::OK, "service_requests", &value))
}

// --- reading requests ---

/// Whether the caller may see descriptions: only with a valid `api_key`; a wrong key is a 403.
fn may_see_description(gateway: &Gateway, params: &Params) -> Result<bool, Problem> {
    match params.get("api_key") {
        None => Ok(false),
        Some(_) => app_of(gateway, params).map(|_| true),
    }
}

/// The period of a list: `[from, to)` in ms, from `start_date` and `end_date`.
fn period(params: &Params, offset: i32) -> Result<(i64, i64), Problem> {
    let date = |name: &str| {
        params
            .get(name)
            .map(|text| {
                crate::clock::parse_iso8601(text, offset).map_err(|e| bad(format!("{name}: {e}")))
            })
            .transpose()
    };
    let start = date("start_date")?;
    let end = date("end_date")?;
    let (from, to) = match (start, end) {
        (None, None) => (gridcase_runtime::now().as_millis() - PERIOD_MS, 0),
        (Some(start), None) => (start, 0),
        // The end is inclusive in the spec; query's bound is exclusive.
        (None, Some(end)) => (end + 1 - PERIOD_MS, end + 1),
        (Some(start), Some(end)) => {
            if end < start {
                return Err(bad("end_date: must not be before start_date"));
            }
            if end - start > PERIOD_MS {
                return Err(bad(
                    "end_date: a search may span at most 90 days from start_date",
                ));
            }
            (start, end + 1)
        }
    };
    Ok((from, to))
}

/// The public state of `status`, a comma-separated list of `open` and `closed`.
fn state_of(params: &Params) -> Result<PublicState, Problem> {
    let Some(list) = params.get("status") else {
        return Ok(PublicState::Unspecified);
    };
    let (mut open, mut closed) = (false, false);
    for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        match word.to_ascii_lowercase().as_str() {
            "open" => open = true,
            "closed" => closed = true,
            _ => return Err(bad(format!("status: {word:?} is neither open nor closed"))),
        }
    }
    Ok(match (open, closed) {
        (true, false) => PublicState::Open,
        (false, true) => PublicState::Closed,
        _ => PublicState::Unspecified,
    })
}

async fn public_cases(
    gateway: &Gateway,
    request: PublicCasesRequest,
) -> Result<Vec<PublicCase>, Problem> {
    let mut query = gateway.backend.query.clone();
    query
        .public_cases(request)
        .await
        .map(|reply| reply.into_inner().cases)
        .map_err(|status| backend_error("query", &status))
}

/// `GET requests`: by `service_request_id` (a comma-separated list; every other filter is
/// then ignored, as the spec says), or by `service_code` (a comma-separated list), `status`,
/// `start_date` and `end_date`.
async fn list_requests(gateway: &Gateway, format: Format, params: &Params) -> Answer {
    let description = may_see_description(gateway, params)?;
    let cases = if let Some(ids) = params.get("service_request_id") {
        let mut codes = Vec::new();
        for id in ids.split(',').map(str::trim).filter(|id| !id.is_empty()) {
            let code = TrackingCode::parse(id).map_err(|_| {
                bad(format!(
                    "service_request_id: {id:?} is not a request id such as AB12-CD34"
                ))
            })?;
            codes.push(code.to_string());
        }
        if codes.len() > MAX_REQUESTS as usize {
            return Err(bad(format!(
                "service_request_id: at most {MAX_REQUESTS} ids"
            )));
        }
        public_cases(
            gateway,
            PublicCasesRequest {
                tracking_codes: codes,
                limit: MAX_REQUESTS,
                ..Default::default()
            },
        )
        .await?
    } else {
        let (from, to) = period(params, city_offset(gateway))?;
        let state = state_of(params)?;
        let mut categories = Vec::new();
        if let Some(list) = params.get("service_code") {
            for code in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                let category = known_category(gateway, code)
                    .ok_or_else(|| bad(format!("service_code: {code:?} is not a known service")))?;
                categories.push(category.code.to_string());
            }
        }
        if categories.is_empty() {
            categories.push(String::new());
        }
        let mut seen = HashSet::new();
        let mut cases = Vec::new();
        for category in categories {
            if !seen.insert(category.clone()) {
                continue;
            }
            let request = PublicCasesRequest {
                category,
                reported_from_ms: from,
                reported_to_ms: to,
                state: state as i32,
                limit: MAX_REQUESTS,
                ..Default::default()
            };
            cases.extend(public_cases(gateway, request).await?);
        }
        cases.sort_by_key(|case| std::cmp::Reverse(case.reported_at_ms));
        cases.truncate(MAX_REQUESTS as usize);
        cases
    };
    let items = cases
        .iter()
        .map(|case| request_value(gateway, case, description))
        .collect();
    Ok(reply(
        format,
        StatusCode::OK,
        "service_requests",
        &Value::List("request", items),
    ))
}

/// The one case with tracking code `id`, or the spec's 404.
async fn case_by_code(gateway: &Gateway, id: &str) -> Result<PublicCase, Problem> {
    let unknown = || not_found(format!("service_request_id: {id:?} is not a known request"));
    let code = TrackingCode::parse(id).map_err(|_| unknown())?;
    let request = PublicCasesRequest {
        tracking_codes: vec![code.to_string()],
        limit: 1,
        ..Default::default()
    };
    public_cases(gateway, request)
        .await?
        .into_iter()
        .next()
        .ok_or_else(unknown)
}

/// `GET requests/<id>`: one request, in a list as the spec has it.
async fn one_request(
    State(gateway): State<AppState>,
    Path(file): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let (id, format) = match format_of(&file) {
        Ok(split) => split,
        Err(response) => return response,
    };
    let params = Params(query.map(|Query(p)| p).unwrap_or_default());
    let answer: Answer = async {
        let description = may_see_description(&gateway, &params)?;
        let case = case_by_code(&gateway, id).await?;
        let value = Value::List("request", vec![request_value(&gateway, &case, description)]);
        Ok(reply(format, StatusCode::OK, "service_requests", &value))
    }
    .await;
    answer.unwrap_or_else(|problem| problem.answer(format))
}

/// `GET tokens/<token>`: the token is the `service_request_id` itself.
async fn token(State(gateway): State<AppState>, Path(file): Path<String>) -> Response {
    let (id, format) = match format_of(&file) {
        Ok(split) => split,
        Err(response) => return response,
    };
    match case_by_code(&gateway, id).await {
        Ok(case) => {
            let value = Value::List(
                "request",
                vec![Value::Object(vec![
                    (
                        "service_request_id",
                        Value::Text(case.tracking_code.clone()),
                    ),
                    ("token", Value::Text(case.tracking_code)),
                ])],
            );
            reply(format, StatusCode::OK, "service_requests", &value)
        }
        Err(_) => not_found(format!("token: {id:?} is not a known token")).answer(format),
    }
}

/// Where the case is, in words, for `status_notes`.
fn status_notes(case: &PublicCase) -> String {
    let note = |fallback: &str| {
        if case.resolution_note.is_empty() {
            fallback.to_owned()
        } else {
            case.resolution_note.clone()
        }
    };
    match case.status() {
        CaseStatus::Unspecified | CaseStatus::Reported => "已受理，正在分类".to_owned(),
        CaseStatus::Triaged => "已分类，正在派遣".to_owned(),
        CaseStatus::Dispatched => "已派遣至处置部门，等待签收".to_owned(),
        CaseStatus::Accepted => "处置部门已签收，正在处置".to_owned(),
        CaseStatus::Resolved => note("已处置，等待核查"),
        CaseStatus::Verified => note("已核查，等待评价"),
        CaseStatus::Closed => note("已办结"),
        CaseStatus::Merged => format!("merged into {}", case.merged_into),
        CaseStatus::Rejected => {
            if case.rejection_reason.is_empty() {
                "不予受理".to_owned()
            } else {
                case.rejection_reason.clone()
            }
        }
    }
}

/// Who handles the case, as the public may know it.
fn agency(gateway: &Gateway, case: &PublicCase) -> Value {
    if !case.department.is_empty() {
        let name = DepartmentCode::parse(&case.department)
            .ok()
            .and_then(|code| gateway.reference.department(&code))
            .map_or_else(|| case.department.clone(), |d| d.name.clone());
        return Value::Text(name);
    }
    if !case.worker.is_empty() {
        return Value::Text("网格员（自办自结）".to_owned());
    }
    Value::Null
}

/// The city's offset from UTC in minutes, from its calendar: the offset dates are written in.
fn city_offset(gateway: &Gateway) -> i32 {
    gateway.reference.calendar().utc_offset_minutes()
}

fn time_or_null(gateway: &Gateway, ms: i64) -> Value {
    if ms > 0 {
        Value::Text(crate::clock::iso8601(&gateway.reference, ms))
    } else {
        Value::Null
    }
}

/// A link as an outside app can follow it: the gateway's own paths made absolute.
fn absolute(gateway: &Gateway, url: &str) -> String {
    if url.starts_with('/') {
        gateway.settings.public_url(url)
    } else {
        url.to_owned()
    }
}

/// One case as an Open311 request; its `description` only when `description` is set.
fn request_value(gateway: &Gateway, case: &PublicCase, description: bool) -> Value {
    let category = known_category(gateway, &case.category);
    let grid = GridCode::parse(&case.grid_code)
        .ok()
        .and_then(|code| gateway.reference.grid(&code));
    let point = case
        .coordinates
        .map(|c| (c.lat, c.lon))
        .or_else(|| grid.and_then(|g| g.center.map(|c| (c.lat(), c.lon()))));
    let (lat, long) = point.map_or((Value::Null, Value::Null), |(lat, lon)| {
        (Value::Float(lat), Value::Float(lon))
    });
    let address = if case.address.is_empty() {
        grid.map_or(Value::Null, |g| Value::Text(g.name.clone()))
    } else {
        Value::Text(case.address.clone())
    };
    let notice = if case.state() == PublicState::Open && case.expected_at_ms > 0 {
        Value::Text(format!(
            "应于 {} 前处置完毕",
            crate::clock::iso8601(&gateway.reference, case.expected_at_ms)
        ))
    } else {
        Value::Null
    };
    let state = if case.state() == PublicState::Closed {
        "closed"
    } else {
        "open"
    };
    Value::Object(vec![
        (
            "service_request_id",
            Value::Text(case.tracking_code.clone()),
        ),
        ("status", Value::Text(state.to_owned())),
        ("status_notes", Value::Text(status_notes(case))),
        (
            "service_name",
            category.map_or(Value::Null, |c| Value::Text(c.name.clone())),
        ),
        ("service_code", Value::text_or_null(&case.category)),
        (
            "description",
            if description {
                Value::Text(case.description.clone())
            } else {
                Value::Null
            },
        ),
        ("agency_responsible", agency(gateway, case)),
        ("service_notice", notice),
        (
            "requested_datetime",
            time_or_null(gateway, case.reported_at_ms),
        ),
        (
            "updated_datetime",
            time_or_null(gateway, case.updated_at_ms),
        ),
        (
            "expected_datetime",
            time_or_null(gateway, case.expected_at_ms),
        ),
        ("address", address),
        ("address_id", Value::text_or_null(&case.grid_code)),
        ("zipcode", Value::Null),
        ("lat", lat),
        ("long", long),
        (
            "media_url",
            case.media_urls
                .first()
                .map_or(Value::Null, |url| Value::Text(absolute(gateway, url))),
        ),
    ])
}

#[cfg(test)]
mod tests {
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
