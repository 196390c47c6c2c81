//! `POST requests`: a report through intake for the app whose key it carries.

use super::*;

/// The app holding the `api_key` of `params`, or the spec's 403.
pub(super) fn app_of<'a>(gateway: &'a Gateway, params: &Params) -> Result<&'a str, Problem> {
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
pub(super) fn reporter_name(first: Option<&str>, last: Option<&str>) -> String {
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

pub(super) async fn post_request(gateway: &Gateway, format: Format, params: &Params) -> Answer {
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
        member_id: String::new(),
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
