//! TLS on the gRPC APIs, against the whole system: with `GRIDCASE_TLS_CERT` and
//! `GRIDCASE_TLS_KEY` set, every service answers a client that trusts the certificate's CA and
//! refuses plain text. (Its own test binary: the variables are process-wide.)

use std::future::Future;
use std::time::Duration;

use gridcase::system::Service;
use gridcase_grpc::{TLS_CERT_ENV, TLS_KEY_ENV};
use gridcase_tests::{City, CityOptions};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_serves_tls_and_refuses_plain_text() {
    let (ca, cert, key) = gridcase_testkit::tls_files();
    // Set before any service starts; nothing else in this binary reads them.
    std::env::set_var(TLS_CERT_ENV, &cert);
    std::env::set_var(TLS_KEY_ENV, &key);
    let city = City::start(
        CityOptions {
            tokens: gridcase_testkit::admin_tokens(),
            operator: "sandbox",
            supervisor: "sandbox",
        },
        gridcase_testkit::copy_sample_config,
    )
    .await;
    let trust = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(&ca).unwrap()))
        .domain_name("localhost");
    for service in Service::GRPC {
        let addr = city.system.addr(service);
        let name = service.name();
        let secure = within(
            format!("{name}: TLS connection"),
            Endpoint::from_shared(format!("https://{addr}"))
                .unwrap()
                .tls_config(trust.clone())
                .unwrap()
                .connect(),
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: a TLS connection: {e}"));
        let status = within(
            format!("{name}: health over TLS"),
            HealthClient::new(secure).check(HealthCheckRequest::default()),
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: health over TLS: {e}"))
        .into_inner()
        .status;
        assert_eq!(status, 1, "{} serving", service.name());

        let plain = within(
            format!("{name}: plain-text connection"),
            Endpoint::from_shared(format!("http://{addr}"))
                .unwrap()
                .connect(),
        )
        .await;
        let refused = match plain {
            Err(_) => true,
            Ok(channel) => within(
                format!("{name}: health in plain text"),
                HealthClient::new(channel).check(HealthCheckRequest::default()),
            )
            .await
            .is_err(),
        };
        assert!(refused, "{} answered in plain text", service.name());
    }
    within("stopping the system".to_owned(), city.shut_down()).await;
}

/// `step`'s outcome; a step that hangs fails the test, naming it, instead of hanging CI. (Seven
/// services each given the 5 s shutdown grace still stop within the limit.)
async fn within<T>(what: String, step: impl Future<Output = T>) -> T {
    let limit = Duration::from_secs(60);
    tokio::time::timeout(limit, step)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer in {limit:?}"))
}
