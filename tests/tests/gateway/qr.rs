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
