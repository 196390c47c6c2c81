//! The HTTP gateway against the whole running system — a nats-server child, the seven services
//! and the gateway started by `gridcase::system::System` on free ports, a sled store in a temp
//! dir and a copy of the sample city's reference data — driven over HTTP as residents' phones,
//! outside apps and printers do, with departments answering over gRPC and JetStream.

mod board;
mod browser;
mod open311;
mod posters;
mod qr;

use gridcase::system::Service;
use gridcase_testkit::token_table;
use gridcase_tests::{City, CityOptions, Who};

/// Who calls the system over gRPC: `(who, role)`; each holds the token `token_of(who)`.
const CALLERS: &[(&str, &str)] = &[
    ("op-1", "operator:op-1"),
    ("sup-1", "supervisor:sup-1"),
    ("qr-web", "gateway:qr-web"),
    ("lin-ming", "grid_worker:lin-ming"),
    ("chen-lijuan", "grid_worker:chen-lijuan"),
    ("urban_mgmt", "department:urban_mgmt:clerk-1"),
    ("water", "department:water:clerk-1"),
    ("gas", "department:gas:clerk-1"),
    ("landscape", "department:landscape:clerk-1"),
];

/// 涌金社区第一网格 of 柳浪街道: grid workers 林明 (lin-ming) and 陈丽娟 (chen-lijuan).
const YONGJIN_GRID_1: &str = "330102-001-001-001";

/// The sample city running with its gateway.
async fn city() -> City {
    City::start(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: "op-1",
            supervisor: "sup-1",
        },
        gridcase_testkit::copy_sample_config_with_corpus,
    )
    .await
}

/// The gateway's public base URL, e.g. `http://127.0.0.1:40123`.
fn base(city: &City) -> String {
    city.system.public_base_url()
}

/// An HTTP client as a phone's browser or an outside app: no redirects followed, so a test
/// sees each answer.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The gateway's address, as the system bound it.
fn gateway_addr(city: &City) -> std::net::SocketAddr {
    city.system.addr(Service::Gateway)
}
