//! `GET requests`, `requests/<id>` and `tokens/<token>`: cases as the public may see them, through query's `PublicCases`.

use super::*;

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
pub(super) async fn list_requests(gateway: &Gateway, format: Format, params: &Params) -> Answer {
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
pub(super) async fn one_request(
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
pub(super) async fn token(State(gateway): State<AppState>, Path(file): Path<String>) -> Response {
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
