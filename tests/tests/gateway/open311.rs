//! Open311 GeoReport v2, driven as a third-party civic app would: discovery, the service list,
//! posting a resident's report with an API key, following it through triage, dispatch and
//! closing, listing with filters, tokens — and every documented error, in the spec's shape.

use gridcase_gateway::clock::LocalTime;
use gridcase_tests::Who;
use serde_json::Value;

use super::*;

/// The civic app's development key from `deploy/config/gateway.toml`.
const KEY: &str = "dev-open311-key-civic-app-0001";

/// 路灯 (公用设施), owned by 城市管理局 (`urban_mgmt`).
const STREET_LIGHT: &str = "BJ-01-07";

/// 上水井盖 (公用设施), owned by the water company.
const WATER_COVER: &str = "BJ-01-01";

const URBAN_MGMT: &str = "清河区城市管理局（综合行政执法局）";

/// What a resident types into the app, in their own words.
const STREET_LIGHT_REPORT: &str = "小区门口那盏路灯坏了快一个星期了，晚上黑漆漆的，老人走路不安全";

async fn ready(city: &City) -> reqwest::Client {
    let http = http();
    let url = format!("{}/readyz", base(city));
    gridcase_testkit::wait_until("the gateway to be ready", gridcase_tests::WAIT, || {
        let http = http.clone();
        let url = url.clone();
        async move { (http.get(url).send().await.ok()?.status() == 200).then_some(()) }
    })
    .await;
    http
}

/// GETs `path` under `/open311/v2/` as JSON while polling, at a pace that keeps within the
/// gateway's per-address rate limit.
async fn poll_json(http: &reqwest::Client, url: String) -> Result<Value, String> {
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let reply = http.get(url).send().await.map_err(|e| e.to_string())?;
    reply.json().await.map_err(|e| e.to_string())
}

/// GETs `path` under `/open311/v2/`: the status, the content type and the body.
async fn get(http: &reqwest::Client, city: &City, path: &str) -> (u16, String, String) {
    let reply = http
        .get(format!("{}/open311/v2/{path}", base(city)))
        .send()
        .await
        .unwrap();
    answer(reply).await
}

/// POSTs the form `fields` to `path` under `/open311/v2/`.
async fn post(
    http: &reqwest::Client,
    city: &City,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let reply = http
        .post(format!("{}/open311/v2/{path}", base(city)))
        .form(fields)
        .send()
        .await
        .unwrap();
    answer(reply).await
}

async fn answer(reply: reqwest::Response) -> (u16, String, String) {
    let status = reply.status().as_u16();
    let content_type = reply.headers()["content-type"].to_str().unwrap().to_owned();
    (status, content_type, reply.text().await.unwrap())
}

/// A JSON answer, checked for status and content type.
async fn get_json(http: &reqwest::Client, city: &City, path: &str) -> Value {
    let (status, content_type, body) = get(http, city, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(content_type, "application/json; charset=utf-8");
    serde_json::from_str(&body).unwrap()
}

/// The ids of a `requests` list.
fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap())
        .collect()
}

/// Asserts `(status, content type, body)` is the spec's JSON error with `code`, whose
/// description mentions `names`.
#[track_caller]
fn assert_error(reply: &(u16, String, String), code: u16, names: &str) {
    let (status, content_type, body) = reply;
    assert_eq!(*status, code, "{body}");
    assert_eq!(content_type, "application/json; charset=utf-8", "{body}");
    let errors: Value = serde_json::from_str(body).unwrap();
    let errors = errors.as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["code"], code, "{body}");
    let description = errors[0]["description"].as_str().unwrap();
    assert!(description.contains(names), "{names}: {description}");
}

fn is_tracking_code(id: &str) -> bool {
    id.len() == 9
        && id.as_bytes()[4] == b'-'
        && id
            .chars()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_reports_through_open311_and_follows_the_request_until_it_is_closed() {
    let city = city().await;
    let http = ready(&city).await;

    // Discovery, then the catalogue in both formats.
    let discovery = get_json(&http, &city, "discovery.json").await;
    let endpoint = &discovery["endpoints"][0];
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert!(endpoint["url"].as_str().unwrap().ends_with("/open311/v2/"));
    assert!(endpoint["formats"]
        .as_array()
        .unwrap()
        .contains(&Value::from("application/json")));
    let (status, content_type, xml) = get(&http, &city, "discovery.xml").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/xml; charset=utf-8")
    );
    assert!(xml.contains("<discovery>") && xml.contains("<format>application/json</format>"));

    let services = get_json(&http, &city, "services.json").await;
    let light = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == STREET_LIGHT)
        .expect("路灯 is a service");
    assert_eq!(light["service_name"], "路灯");
    assert_eq!(light["group"], "公用设施");
    assert_eq!(light["type"], "realtime");
    assert_eq!(light["metadata"], false);
    assert!(light["keywords"].as_str().unwrap().contains("路灯不亮"));
    assert!(!light["description"].as_str().unwrap().is_empty());
    // XML is the default format.
    let (status, content_type, xml) = get(&http, &city, "services").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/xml; charset=utf-8")
    );
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        "{xml}"
    );
    assert!(xml.contains("<services><service><service_code>"), "{xml}");
    assert!(xml.contains(&format!(
        "<service_code>{STREET_LIGHT}</service_code><service_name>路灯</service_name>"
    )));
    assert!(xml.contains("<group>公用设施</group>"));
    let definition = get_json(&http, &city, &format!("services/{STREET_LIGHT}.json")).await;
    assert_eq!(definition["service_code"], STREET_LIGHT);
    assert_eq!(definition["attributes"], serde_json::json!([]));

    // A resident reports a broken street light through the app.
    let report = [
        ("api_key", KEY),
        ("service_code", STREET_LIGHT),
        ("address_id", YONGJIN_GRID_1),
        ("address_string", "涌金社区南门"),
        ("description", STREET_LIGHT_REPORT),
        ("first_name", "丽"),
        ("last_name", "王"),
        ("phone", "13958061234"),
        ("email", "wangli@example.cn"),
        ("client_request_id", "civic-app-report-0001"),
    ];
    let (status, content_type, body) = post(&http, &city, "requests.json", &report).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, "application/json; charset=utf-8");
    let posted: Value = serde_json::from_str(&body).unwrap();
    let id = posted[0]["service_request_id"].as_str().unwrap().to_owned();
    assert!(is_tracking_code(&id), "{id}");
    assert_eq!(posted[0]["token"], id.as_str());
    assert_eq!(posted[0]["account_id"], Value::Null);
    assert!(posted[0]["service_notice"].as_str().unwrap().contains(&id));

    // The app retries (say its connection dropped): still one request.
    let (status, _, body) = post(&http, &city, "requests.json", &report).await;
    assert_eq!(status, 200, "{body}");
    let again: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(again[0]["service_request_id"], id.as_str());

    // Another resident reports a water manhole cover, answered in XML, located by coordinates.
    let (status, content_type, xml) = post(
        &http,
        &city,
        "requests.xml",
        &[
            ("api_key", KEY),
            ("service_code", WATER_COVER),
            ("lat", "30.2741"),
            ("long", "120.1551"),
            ("address_string", "涌金社区5栋门口"),
            (
                "description",
                "5栋门口的自来水井盖松了，一踩就晃，小孩放学经过很危险",
            ),
            ("media_url", "https://media.example.cn/cover.jpg"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(content_type, "text/xml; charset=utf-8");
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_requests><request><service_request_id>"),
        "{xml}"
    );
    let water_id = xml
        .split("<service_request_id>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    assert!(is_tracking_code(&water_id), "{water_id}");
    assert_ne!(water_id, id);
    assert!(xml.contains(&format!("<token>{water_id}</token>")));
    assert!(xml.contains("<account_id/>"));

    // Triage routes it to 城市管理局: the request shows the agency while still open.
    let shown = gridcase_testkit::wait_until(
        "the request to show its agency",
        gridcase_tests::WAIT,
        || {
            let http = http.clone();
            let url = format!(
                "{}/open311/v2/requests/{id}.json?api_key={KEY}",
                base(&city)
            );
            async move {
                let list = poll_json(&http, url).await?;
                if list[0]["agency_responsible"] == URBAN_MGMT {
                    Ok(list)
                } else {
                    Err(list.to_string())
                }
            }
        },
    )
    .await;
    let request = &shown[0];
    assert_eq!(request["service_request_id"], id.as_str());
    assert_eq!(request["status"], "open");
    assert_eq!(request["service_code"], STREET_LIGHT);
    assert_eq!(request["service_name"], "路灯");
    assert_eq!(request["description"], STREET_LIGHT_REPORT, "with a key");
    assert_eq!(request["address"], "涌金社区南门");
    assert_eq!(request["address_id"], YONGJIN_GRID_1);
    assert!(
        request["lat"].is_f64() && request["long"].is_f64(),
        "the grid's centre"
    );
    for field in ["requested_datetime", "updated_datetime"] {
        assert!(
            request[field].as_str().unwrap().ends_with("+08:00"),
            "{field}: {request}"
        );
    }
    assert!(!request["status_notes"].as_str().unwrap().is_empty());
    // Without a key, residents' free text is not shown; nor is anyone's name or phone.
    let (status, _, public) = get(&http, &city, &format!("requests/{id}.json")).await;
    assert_eq!(status, 200);
    let public_json: Value = serde_json::from_str(&public).unwrap();
    assert_eq!(public_json[0]["description"], Value::Null);
    for private in [
        STREET_LIGHT_REPORT,
        "王丽",
        "13958061234",
        "wangli@example.cn",
    ] {
        assert!(!public.contains(private), "{private} in {public}");
    }
    let (status, _, xml) = get(&http, &city, &format!("requests/{id}.xml")).await;
    assert_eq!(status, 200);
    assert!(xml.contains(&format!(
        "<agency_responsible>{URBAN_MGMT}</agency_responsible>"
    )));
    assert!(xml.contains("<description/>"), "{xml}");

    // The work order reaches 城市管理局's own system over JetStream.
    let inbox = city.department_inbox("urban_mgmt").await;
    let order = inbox.take_one().await;
    assert_eq!(order.tracking_code, id);
    assert_eq!(order.category_code, STREET_LIGHT);
    assert_eq!(order.description, STREET_LIGHT_REPORT);
    let case = order.case_id.clone();

    // Lists: by service, by status, by dates, by ids.
    let light_list = get_json(
        &http,
        &city,
        &format!("requests.json?service_code={STREET_LIGHT}&status=open"),
    )
    .await;
    assert_eq!(ids(&light_list), [id.as_str()]);
    let both = get_json(&http, &city, "requests.json").await;
    assert_eq!(
        ids(&both),
        [water_id.as_str(), id.as_str()],
        "the last 90 days, newest first"
    );
    let closed = get_json(&http, &city, "requests.json?status=closed").await;
    assert!(ids(&closed).is_empty(), "{closed}");
    let hour = 3_600_000;
    let start = iso8601(now_ms() - hour);
    let end = iso8601(now_ms() + hour);
    let window = http
        .get(format!("{}/open311/v2/requests.json", base(&city)))
        .query(&[
            ("start_date", start.as_str()),
            ("end_date", end.as_str()),
            ("service_code", &format!("{STREET_LIGHT},{WATER_COVER}")),
        ])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(ids(&window), [water_id.as_str(), id.as_str()]);
    let tomorrow = http
        .get(format!("{}/open311/v2/requests.json", base(&city)))
        .query(&[("start_date", iso8601(now_ms() + 24 * hour))])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(ids(&tomorrow).is_empty(), "{tomorrow}");
    let utc = http
        .get(format!("{}/open311/v2/requests.json", base(&city)))
        .query(&[("end_date", "2020-01-01T00:00:00Z")])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(ids(&utc).is_empty(), "{utc}");
    let by_ids = get_json(
        &http,
        &city,
        &format!("requests.json?service_request_id={id},{water_id}&status=closed"),
    )
    .await;
    let mut found = ids(&by_ids);
    found.sort_unstable();
    let mut wanted = vec![id.as_str(), water_id.as_str()];
    wanted.sort_unstable();
    assert_eq!(found, wanted, "ids ignore every other filter");
    let water = &by_ids
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service_request_id"] == water_id.as_str())
        .unwrap();
    assert_eq!(water["lat"], 30.2741);
    assert_eq!(water["long"], 120.1551);
    assert_eq!(water["media_url"], "https://media.example.cn/cover.jpg");
    let (status, _, xml) = get(&http, &city, "requests.xml").await;
    assert_eq!(status, 200);
    assert!(
        xml.contains(&format!(
            "<request><service_request_id>{id}</service_request_id>"
        )),
        "{xml}"
    );

    // Tokens: the token is the request id.
    let token = get_json(&http, &city, &format!("tokens/{id}.json")).await;
    assert_eq!(
        token,
        serde_json::json!([{"service_request_id": id, "token": id}])
    );

    // 城市管理局 fixes it; the notes carry what it said, then it is closed.
    city.accept(&case, Who::Department("urban_mgmt"), "accept")
        .await;
    city.resolve(&case, Who::Department("urban_mgmt"), "resolve")
        .await;
    gridcase_testkit::wait_until("the resolution note", gridcase_tests::WAIT, || {
        let http = http.clone();
        let url = format!("{}/open311/v2/requests/{id}.json", base(&city));
        async move {
            let list = poll_json(&http, url).await?;
            if list[0]["status_notes"] == "已处理完毕，现场恢复" {
                Ok(())
            } else {
                Err(list.to_string())
            }
        }
    })
    .await;
    city.verify(&case, "lin-ming", true, "verify").await;
    city.rate(&case, "op-1", true, "rate").await;
    let closed =
        gridcase_testkit::wait_until("the request to be closed", gridcase_tests::WAIT, || {
            let http = http.clone();
            let url = format!("{}/open311/v2/requests.json?status=closed", base(&city));
            async move {
                let list = poll_json(&http, url).await?;
                if list.as_array().is_some_and(|l| l.len() == 1) {
                    Ok(list)
                } else {
                    Err(list.to_string())
                }
            }
        })
        .await;
    assert_eq!(closed[0]["service_request_id"], id.as_str());
    assert_eq!(closed[0]["status"], "closed");
    assert_eq!(closed[0]["status_notes"], "已处理完毕，现场恢复");
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_error_comes_in_the_specs_shape() {
    let city = city().await;
    let http = ready(&city).await;
    let good = [
        ("api_key", KEY),
        ("service_code", STREET_LIGHT),
        ("address_id", YONGJIN_GRID_1),
        ("description", STREET_LIGHT_REPORT),
    ];
    let without = |name: &str| -> Vec<(&str, &str)> {
        good.iter().copied().filter(|(n, _)| *n != name).collect()
    };
    let with = |name: &'static str, value: &'static str| -> Vec<(&'static str, &'static str)> {
        let mut fields: Vec<_> = good.iter().copied().filter(|(n, _)| *n != name).collect();
        fields.push((name, value));
        fields
    };

    // The API key.
    let reply = post(&http, &city, "requests.json", &without("api_key")).await;
    assert_error(&reply, 403, "api_key");
    let reply = post(
        &http,
        &city,
        "requests.json",
        &with("api_key", "not-a-key-of-any-app-0000"),
    )
    .await;
    assert_error(&reply, 403, "api_key");
    // The service: required (400); unknown is a 400 too, as the spec lists it among a POST's
    // 400 errors, while services/<code> answers an unknown code with 404.
    let reply = post(&http, &city, "requests.json", &without("service_code")).await;
    assert_error(&reply, 400, "service_code");
    let reply = post(
        &http,
        &city,
        "requests.json",
        &with("service_code", "BJ-99-99"),
    )
    .await;
    assert_error(&reply, 400, "service_code");
    let reply = post(&http, &city, "requests.json", &with("service_code", "路灯")).await;
    assert_error(&reply, 400, "service_code");
    let reply = get(&http, &city, "services/BJ-99-99.json").await;
    assert_error(&reply, 404, "service_code");
    // The location.
    let reply = post(&http, &city, "requests.json", &without("address_id")).await;
    assert_error(&reply, 400, "address_string");
    let reply = post(
        &http,
        &city,
        "requests.json",
        &with("address_id", "330102-009-009-009"),
    )
    .await;
    assert_error(&reply, 400, "address_id");
    let mut bad_lat = without("address_id");
    bad_lat.extend([("lat", "north"), ("long", "120.15")]);
    assert_error(
        &post(&http, &city, "requests.json", &bad_lat).await,
        400,
        "lat",
    );
    let mut far = without("address_id");
    far.extend([("lat", "130.0"), ("long", "120.15")]);
    assert_error(
        &post(&http, &city, "requests.json", &far).await,
        400,
        "lat/long",
    );
    let mut half = without("address_id");
    half.push(("lat", "30.27"));
    assert_error(
        &post(&http, &city, "requests.json", &half).await,
        400,
        "long",
    );
    // The description, required here, and checked by intake.
    let reply = post(&http, &city, "requests.json", &without("description")).await;
    assert_error(&reply, 400, "description");
    let long = "路灯坏了".repeat(600);
    let mut too_long = without("description");
    too_long.push(("description", &long));
    assert_error(
        &post(&http, &city, "requests.json", &too_long).await,
        400,
        "description",
    );
    let reply = post(
        &http,
        &city,
        "requests.json",
        &with("media_url", "ftp://media.example.cn/a.jpg"),
    )
    .await;
    assert_error(&reply, 400, "media_url");
    // Not a form.
    let reply = answer(
        http.post(format!("{}/open311/v2/requests.json", base(&city)))
            .json(&serde_json::json!({"api_key": KEY}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&reply, 400, "x-www-form-urlencoded");

    // Lists and single requests.
    assert_error(
        &get(&http, &city, "requests.json?start_date=yesterday").await,
        400,
        "start_date",
    );
    assert_error(
        &get(&http, &city, "requests.json?end_date=2026-11-31T00:00:00Z").await,
        400,
        "end_date",
    );
    assert_error(
        &get(
            &http,
            &city,
            "requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
        )
        .await,
        400,
        "90 days",
    );
    assert_error(
        &get(&http, &city, "requests.json?status=pending").await,
        400,
        "status",
    );
    assert_error(
        &get(&http, &city, "requests.json?service_code=BJ-99-99").await,
        400,
        "service_code",
    );
    assert_error(
        &get(&http, &city, "requests.json?service_request_id=nonsense").await,
        400,
        "service_request_id",
    );
    assert_error(
        &get(&http, &city, "requests.json?api_key=wrong-key").await,
        403,
        "api_key",
    );
    assert_error(
        &get(&http, &city, "requests/ABCD-2345.json").await,
        404,
        "service_request_id",
    );
    assert_error(
        &get(&http, &city, "requests/nonsense.json").await,
        404,
        "service_request_id",
    );
    assert_error(
        &get(&http, &city, "tokens/ABCD-2345.json").await,
        404,
        "token",
    );
    assert_error(
        &get(&http, &city, "no-such-thing.json").await,
        404,
        "no-such-thing",
    );

    // An unknown format: 404, in XML, the spec's default.
    for path in ["services.csv", "requests/ABCD-2345.html", "discovery.yaml"] {
        let (status, content_type, xml) = get(&http, &city, path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(content_type, "text/xml; charset=utf-8");
        assert!(
            xml.contains("<code>404</code><description>format: "),
            "{xml}"
        );
    }

    // The XML error shape.
    let (status, content_type, xml) = post(&http, &city, "requests.xml", &without("api_key")).await;
    assert_eq!(status, 403);
    assert_eq!(content_type, "text/xml; charset=utf-8");
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<errors><error><code>403</code>\
<description>api_key: required</description></error></errors>\n"
    );
    let (status, _, xml) = post(&http, &city, "requests", &with("service_code", "<BJ&>")).await;
    assert_eq!(status, 400);
    assert!(
        xml.contains("<description>service_code: &quot;&lt;BJ&amp;&gt;&quot; is not a known service</description>"),
        "{xml}"
    );

    // Nothing of all that was reported.
    let list = get_json(&http, &city, "requests.json").await;
    assert!(ids(&list).is_empty(), "{list}");

    // With query down, reads answer 503 in the spec's shape.
    let mut city = city;
    city.system.stop_service(Service::Query).await.unwrap();
    let reply = get(&http, &city, "requests.json").await;
    assert_error(&reply, 503, "unavailable");
    city.shut_down().await;
}

/// `ms` in Beijing time, as an app in the city writes dates.
fn iso8601(ms: i64) -> String {
    LocalTime::at(ms, 480).unwrap().iso8601()
}
