//! 码上办: the gateway's health, its headers, and a resident's report, follow-up and rating
//! through the QR pages.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_is_healthy_ready_and_sends_security_headers_and_request_ids() {
    let city = city().await;
    let http = http();
    let base = base(&city);
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready =
        gridcase_testkit::wait_until("the gateway to be ready", gridcase_tests::WAIT, || {
            let http = http.clone();
            let url = format!("{base}/readyz");
            async move {
                let reply = http.get(url).send().await.ok()?;
                (reply.status() == 200).then_some(reply)
            }
        })
        .await;
    assert_eq!(ready.text().await.unwrap(), "ready\n");

    let missing = http
        .get(format!("{base}/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let headers = missing.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    let id = headers["x-request-id"].to_str().unwrap().to_owned();
    assert!(!id.is_empty());
    let page = missing.text().await.unwrap();
    assert!(page.contains("页面不存在"), "{page}");
    let again = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_ne!(
        again.headers()["x-request-id"].to_str().unwrap(),
        id,
        "one id per request"
    );

    // Without intake and query the gateway still answers, but is not ready.
    let mut city = city;
    city.system.stop_service(Service::Query).await.unwrap();
    let reply = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(reply.status(), 503);
    assert!(reply.text().await.unwrap().contains("query"));
    city.shut_down().await;
}

/// The value of the hidden form field `name` in `html`.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A small JPEG whose EXIF block says where it was taken.
fn photo_with_location() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8];
    bytes.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x07, b'J', b'F', b'I', b'F', 0]);
    let exif = b"Exif\0\0GPSLatitude 30.2536 GPSLongitude 120.1642";
    bytes.extend_from_slice(&[0xFF, 0xE1]);
    bytes.extend_from_slice(&u16::try_from(exif.len() + 2).unwrap().to_be_bytes());
    bytes.extend_from_slice(exif);
    bytes.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 7, 7, 7, 0xFF, 0xD9]);
    bytes
}

/// The tracking code and private key of the page a report was redirected to.
fn private_link(location: &str) -> (String, String) {
    let rest = location.strip_prefix("/c/").unwrap();
    let (code, query) = rest.split_once("?k=").unwrap();
    let key = query.split('&').next().unwrap();
    (code.to_owned(), key.to_owned())
}

fn report_form(token: &str, description: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("token", token.to_owned())
        .text("description", description.to_owned())
        .text("address", "5栋2单元门口")
        .text("category", "BJ-01-01")
        .text("name", "张阿姨")
        .text("phone", "13958061234")
        .part(
            "photo",
            reqwest::multipart::Part::bytes(photo_with_location())
                .file_name("IMG_2041.JPG")
                .mime_str("image/jpeg")
                .unwrap(),
        )
}

async fn events_in_store(city: &City) -> u64 {
    use gridcase_eventstore::EventStore;
    city.store_client().await.stats().await.unwrap().events
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resident_reports_follows_and_rates_a_case_through_the_qr_pages() {
    let city = city().await;
    let http = http();
    let base = base(&city);

    // The QR code of 涌金社区第一网格: the place and its grid workers are on the form.
    let form = http
        .get(format!("{base}/q/{YONGJIN_GRID_1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    for shown in [
        "柳浪街道 › 涌金社区 › 涌金社区第一网格",
        "林明",
        "18747589100",
        "陈丽娟",
    ] {
        assert!(html.contains(shown), "{shown} missing from the form");
    }
    assert!(
        html.contains("<optgroup label=\"公用设施\">"),
        "categories by 大类"
    );
    let token = hidden(&html, "token");

    // Submitted twice quickly (a double tap): one case.
    let description =
        "5栋门口那个自来水井盖翘起来了，一踩就晃，昨天晚上有个老人差点绊倒，麻烦尽快来修一下";
    let first = http
        .post(format!("{base}/q/{YONGJIN_GRID_1}"))
        .multipart(report_form(&token, description))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 303, "{}", first.text().await.unwrap());
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let again = http
        .post(format!("{base}/q/{YONGJIN_GRID_1}"))
        .multipart(report_form(&token, description))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 303);
    assert_eq!(
        again.headers()["location"],
        location.as_str(),
        "one case, not two"
    );
    let (code, key) = private_link(&location);
    let status = city.status(&code).await;
    assert_eq!(
        status.case_id.len(),
        32,
        "intake knows the tracking code {code}"
    );
    let case = status.case_id.clone();
    let reported = city.case(&case).await;
    let listed = city
        .query()
        .list_cases(gridcase_proto::query::v1::ListCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total, 1, "one case in the system");
    assert!(
        reported.timeline[0].summary.contains("qr_code"),
        "{:?}",
        reported.timeline[0]
    );

    // The private page: the answer with the tracking code, what was written, the photo.
    let answer = http.get(format!("{base}{location}")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let page = answer.text().await.unwrap();
    assert!(page.contains("提交成功") && page.contains(&code), "{page}");
    let page =
        gridcase_testkit::wait_until("the case on its private page", gridcase_tests::WAIT, || {
            let http = http.clone();
            let url = format!("{base}/c/{code}?k={key}");
            async move {
                let page = http.get(url).send().await.ok()?.text().await.ok()?;
                page.contains("您反映的问题").then_some(page)
            }
        })
        .await;
    assert!(page.contains("自来水井盖翘起来了"));
    let photo_path = page
        .split("<img src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the photo is shown")
        .to_owned();
    let photo = http
        .get(format!("{base}{photo_path}"))
        .send()
        .await
        .unwrap();
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    let bytes = photo.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8]));
    assert!(
        !bytes.windows(3).any(|w| w == b"GPS"),
        "the location is stripped from the public copy"
    );

    // A department takes it over gRPC; the public page follows, without personal data.
    let water = city.department_inbox("water").await;
    let order = water.take_one().await;
    assert_eq!(order.case_id, case);
    city.accept(&case, Who::Department("water"), "accept").await;
    // Its evidence photo goes into the same store, uploaded with its own token.
    let upload = |token: String, body: Vec<u8>| {
        http.post(format!("{base}/api/v1/media"))
            .bearer_auth(token)
            .body(body)
            .send()
    };
    let refused = upload("no-such-token-000000000".into(), photo_with_location())
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let refused = upload(gridcase_testkit::token_of("qr-web"), photo_with_location())
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        403,
        "the gateway's own role does not upload"
    );
    let refused = upload(gridcase_testkit::token_of("water"), b"%PDF-1.4".to_vec())
        .await
        .unwrap();
    assert_eq!(refused.status(), 415);
    let after = gridcase_tests::browser::png(8, 6, [90, 140, 90]);
    let uploaded: serde_json::Value = upload(gridcase_testkit::token_of("water"), after)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let evidence = uploaded["url"].as_str().unwrap().to_owned();
    assert!(evidence.starts_with(&format!("{base}/media/")) && evidence.ends_with(".png"));
    city.dispatch("water")
        .resolve(gridcase_proto::dispatch::v1::ResolveRequest {
            actor: Some(Who::Department("water").actor(&case, "resolve")),
            note: "已更换加厚井盖并重新固定，现场已清理".to_owned(),
            evidence_urls: vec![evidence.clone()],
        })
        .await
        .unwrap();
    city.verify(&case, "lin-ming", true, "verify").await;
    let public = gridcase_testkit::wait_until(
        "the public page to show the check",
        gridcase_tests::WAIT,
        || {
            let http = http.clone();
            let url = format!("{base}/c/{code}");
            async move {
                let page = http.get(url).send().await.ok()?.text().await.ok()?;
                page.contains("已办结待评价").then_some(page)
            }
        },
    )
    .await;
    assert!(
        public.contains("已更换加厚井盖并重新固定"),
        "the resolution note"
    );
    let evidence_path = &evidence[base.len()..];
    assert!(
        public.contains(&format!("<img src=\"{evidence_path}\"")),
        "the evidence photo is shown: {public}"
    );
    assert!(
        public.contains("清河水务集团（供排水）"),
        "the department: {public}"
    );
    for private in [
        "张阿姨",
        "13958061234",
        "5栋门口那个自来水井盖",
        "满意度评价",
    ] {
        assert!(!public.contains(private), "{private} on the public page");
    }
    let wrong_key = http
        .get(format!("{base}/c/{code}?k=0123456789abcdef0123"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!wrong_key.contains("满意度评价") && !wrong_key.contains("张阿姨"));

    // Rating: a tracking code alone cannot rate; the private link can, once.
    let page = http
        .get(format!("{base}/c/{code}?k={key}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("满意度评价"), "{page}");
    let rating_token = hidden(&page, "token");
    let rating = |k: &str| {
        vec![
            ("token", rating_token.clone()),
            ("k", k.to_owned()),
            ("resolved", "yes".to_owned()),
            ("satisfied", "yes".to_owned()),
            ("score", "5".to_owned()),
            ("comment", "修得很快，谢谢师傅".to_owned()),
        ]
    };
    let events_before = events_in_store(&city).await;
    let refused = http
        .post(format!("{base}/c/{code}/rating"))
        .form(&rating("0123456789abcdef0123"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        events_in_store(&city).await,
        events_before,
        "nothing written"
    );
    let rated = http
        .post(format!("{base}/c/{code}/rating"))
        .form(&rating(&key))
        .send()
        .await
        .unwrap();
    assert_eq!(rated.status(), 303, "{}", rated.text().await.unwrap());
    city.wait_status(&case, "closed").await;
    let closed = http
        .get(format!("{base}/c/{code}?k={key}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        closed.contains("已关闭") && closed.contains("5 分"),
        "{closed}"
    );
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_reports_get_a_clear_answer_in_chinese_and_write_nothing() {
    let city = City::start(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: "op-1",
            supervisor: "sup-1",
        },
        |dir| {
            gridcase_testkit::copy_sample_config(dir);
            let path = dir.join("gateway.toml");
            let settings = std::fs::read_to_string(&path)
                .unwrap()
                .replace("per_phone_per_hour = 10", "per_phone_per_hour = 1")
                .replace("photo_bytes = 6291456", "photo_bytes = 4096");
            std::fs::write(path, settings).unwrap();
        },
    )
    .await;
    let http = http();
    let base = base(&city);
    let form = |fields: &[(&str, &str)]| {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        form
    };
    let html = http
        .get(format!("{base}/q/{YONGJIN_GRID_1}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden(&html, "token");
    let post = |form: reqwest::multipart::Form| {
        http.post(format!("{base}/q/{YONGJIN_GRID_1}"))
            .multipart(form)
            .send()
    };
    let events_before = events_in_store(&city).await;

    let unknown = http
        .get(format!("{base}/q/330102-009-001-001"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(unknown
        .text()
        .await
        .unwrap()
        .contains("没有找到编号为 330102-009-001-001 的网格"));

    let cases: Vec<(reqwest::multipart::Form, u16, &str)> = vec![
        (
            form(&[("token", &token), ("description", "  ")]),
            400,
            "问题描述：请写下遇到了什么问题",
        ),
        (
            form(&[
                ("token", &token),
                ("description", "路灯不亮"),
                ("phone", "12345"),
            ]),
            400,
            "手机号：请填写 11 位手机号",
        ),
        (
            form(&[
                ("token", &token),
                ("description", "路灯不亮"),
                ("category", "BJ-99-99"),
            ]),
            400,
            "问题类别：请从列表中选择",
        ),
        (
            form(&[
                ("token", &token),
                ("description", "路灯不亮"),
                ("lat", "91"),
                ("lon", "120"),
            ]),
            400,
            "位置：无法识别",
        ),
        (
            form(&[("token", "forged.1.abc"), ("description", "路灯不亮")]),
            403,
            "表单来源无法确认",
        ),
        (
            form(&[("token", &token)]).part(
                "description",
                reqwest::multipart::Part::bytes(vec![0xE8, 0xB7, 0xFF, 0xFE]),
            ),
            400,
            "问题描述：内容不是有效的 UTF-8 文字",
        ),
        (
            form(&[("token", &token), ("description", "路灯不亮")]).part(
                "photo",
                reqwest::multipart::Part::bytes(b"<svg onload=alert(1)>".to_vec())
                    .file_name("photo.jpg")
                    .mime_str("image/jpeg")
                    .unwrap(),
            ),
            415,
            "只能上传 JPEG、PNG、WebP 或 HEIC 格式的照片",
        ),
        (
            form(&[("token", &token), ("description", "路灯不亮")]).part(
                "photo",
                reqwest::multipart::Part::bytes(vec![0xFF; 5000]).file_name("big.jpg"),
            ),
            413,
            "每张不能超过 1 MB",
        ),
    ];
    for (form, status, message) in cases {
        let reply = post(form).await.unwrap();
        assert_eq!(reply.status().as_u16(), status, "{message}");
        let page = reply.text().await.unwrap();
        assert!(page.contains(message), "{message} not in {page}");
    }
    // A refused form keeps what the resident typed.
    let reply = post(form(&[
        ("token", &token),
        ("description", "楼下路灯不亮了"),
        ("phone", "123"),
    ]))
    .await
    .unwrap();
    assert!(reply.text().await.unwrap().contains("楼下路灯不亮了"));
    assert_eq!(
        events_in_store(&city).await,
        events_before,
        "nothing a bad request does is written"
    );

    // One report per hour from one phone here; the second gets 429.
    let ok = post(form(&[
        ("token", &token),
        ("description", "楼下路灯不亮了"),
        ("phone", "13958061234"),
    ]))
    .await
    .unwrap();
    assert_eq!(ok.status(), 303);
    let html = http
        .get(format!("{base}/q/{YONGJIN_GRID_1}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden(&html, "token");
    let limited = post(form(&[
        ("token", &token),
        ("description", "又坏了一盏"),
        ("phone", "13958061234"),
    ]))
    .await
    .unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert!(limited.text().await.unwrap().contains("操作太频繁"));
    city.shut_down().await;
}
