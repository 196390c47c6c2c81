//! `discovery`, `services` and `services/<code>`: what the endpoint is and the catalogue it takes.

use super::*;

pub(super) fn discovery(gateway: &Gateway, format: Format) -> Response {
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

pub(super) fn services(gateway: &Gateway, format: Format) -> Response {
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

pub(super) fn known_category<'a>(gateway: &'a Gateway, code: &str) -> Option<&'a Category> {
    let code = CategoryCode::parse(code).ok()?;
    gateway.reference.category(&code)
}

pub(super) async fn service_definition(
    State(gateway): State<AppState>,
    Path(file): Path<String>,
) -> Response {
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
