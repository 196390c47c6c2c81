//! Honest health on the running system: every service's gRPC health says SERVING while the
//! event store and NATS answer, NOT_SERVING while the store is down or nats-server is gone, and
//! SERVING again once they are back — and a report made after NATS returned is taken.

use std::time::Duration;

use gridcase::system::Service;
use gridcase_proto::common::v1::Location;
use gridcase_proto::intake::v1::{Channel, ReportCaseRequest, Reporter};
use gridcase_testkit::{token_table, wait_until};
use gridcase_tests::{City, CityOptions, WAIT};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

const CALLERS: &[(&str, &str)] = &[
    ("op-1", "operator:op-1"),
    ("sup-1", "supervisor:sup-1"),
    ("qr-web", "gateway:qr-web"),
];

/// The services whose health follows the store and NATS (the store's own follows NATS).
const WATCHED: [Service; 7] = Service::GRPC;

async fn status(city: &City, service: Service) -> Option<i32> {
    HealthClient::new(city.channel(service))
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .ok()
        .map(|reply| reply.into_inner().status)
}

/// Waits until every one of `services` reports `wanted`.
async fn all_become(city: &City, services: &[Service], wanted: ServingStatus) {
    for service in services {
        wait_until(
            &format!("{} to report {wanted:?}", service.name()),
            WAIT,
            || async { (status(city, *service).await == Some(wanted as i32)).then_some(()) },
        )
        .await;
    }
}

fn report(request_id: &str) -> ReportCaseRequest {
    ReportCaseRequest {
        client_request_id: request_id.to_owned(),
        channel: Channel::Hotline as i32,
        reporter: Some(Reporter {
            name: "郑师傅".to_owned(),
            phone: "13757120936".to_owned(),
        }),
        location: Some(Location {
            grid_code: "330102-001-001-001".to_owned(),
            address: "清波街12号楼下".to_owned(),
            coordinates: None,
        }),
        description: "楼下窨井盖翘起来一半，晚上骑电瓶车差点摔倒，麻烦赶紧来修一下".to_owned(),
        category_code: String::new(),
        media_urls: Vec::new(),
        reported_by_worker: String::new(),
        member_id: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_the_store_and_nats() {
    let mut city = City::start(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: "op-1",
            supervisor: "sup-1",
        },
        gridcase_testkit::copy_sample_config,
    )
    .await;
    all_become(&city, &WATCHED, ServingStatus::Serving).await;

    // The store stops: the services that use it stop serving; the rest of the system stays up.
    city.system.stop_service(Service::Store).await.unwrap();
    let users_of_the_store = &WATCHED[1..];
    all_become(&city, users_of_the_store, ServingStatus::NotServing).await;
    city.system.start_service(Service::Store).await.unwrap();
    all_become(&city, &WATCHED, ServingStatus::Serving).await;

    // nats-server goes away: nobody serves, the store included; it comes back: all serve again.
    city.system.stop_nats();
    all_become(&city, &WATCHED, ServingStatus::NotServing).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    city.system.start_nats().unwrap();
    all_become(&city, &WATCHED, ServingStatus::Serving).await;

    // And the system works again: a report is taken and reaches the query service.
    let reported = city.report("op-1", report("health-after-nats")).await;
    city.wait_case(&reported.case_id, "projected", |_| true)
        .await;

    city.shut_down().await;
}
