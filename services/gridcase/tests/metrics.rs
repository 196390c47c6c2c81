//! `gridcase up` serves one Prometheus endpoint for every service in the process: gRPC calls
//! counted by service, method and status code (refusals included), and the store's appends,
//! flushes and relay lag.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use gridcase_bus::StoreClient;
use gridcase_eventstore::conformance::sample_event;
use gridcase_eventstore::{EventStore, ExpectedVersion};
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::query::v1::{BoardRequest, GetCaseRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GRIDCASE: &str = env!("CARGO_BIN_EXE_gridcase");
const OPERATOR: &str = "dev-operator-token-op-001";

/// `message` with the operator's bearer token.
fn authorized<T>(message: T) -> tonic::Request<T> {
    common::authorized(message, OPERATOR)
}

/// The body of `GET /metrics` at `addr`, over plain HTTP/1.0.
async fn scrape(addr: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    assert!(
        reply.starts_with("HTTP/1.0 200") || reply.starts_with("HTTP/1.1 200"),
        "{reply}"
    );
    reply
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// The value of the series that `prefix` (name and labels) starts, if the scrape has it.
fn value(scraped: &str, prefix: &str) -> Option<f64> {
    scraped
        .lines()
        .find_map(|line| line.strip_prefix(prefix)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_rpc_and_store_metrics() {
    let data = tempfile::tempdir().unwrap();
    common::private_sample_tokens();
    let free = || gridcase_bus::natsd::free_port().unwrap();
    let nats_port = free();
    let metrics = format!("127.0.0.1:{}", free());
    let query_port = free();
    let mut command = Command::new(GRIDCASE);
    command
        .args(["up", "--data"])
        .arg(data.path())
        .args(["--nats-port", &nats_port.to_string()])
        .args(["--metrics", &metrics])
        .args(["--gateway-http", &format!("127.0.0.1:{}", free())]);
    for name in [
        "store",
        "intake",
        "triage",
        "dispatch",
        "supervision",
        "evaluation",
    ] {
        command
            .arg(format!("--{name}-grpc"))
            .arg(format!("127.0.0.1:{}", free()));
    }
    command
        .arg("--query-grpc")
        .arg(format!("127.0.0.1:{query_port}"));
    let (mut up, banner) = common::Up::start(&mut command);
    let line = format!("metrics         http://{metrics}/metrics");
    assert!(banner.contains(&line), "no {line:?} in {banner}");

    // One call answered, one refused by the handler, one refused before it.
    let mut query = QueryClient::connect(format!("http://127.0.0.1:{query_port}"))
        .await
        .unwrap();
    query.board(authorized(BoardRequest {})).await.unwrap();
    let refused = query
        .get_case(authorized(GetCaseRequest {
            case_id: "not a case".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    let unauthenticated = query
        .get_case(GetCaseRequest {
            case_id: "not a case".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unauthenticated.code(), tonic::Code::Unauthenticated);

    let nats = common::admin_nats(data.path(), nats_port).await;
    let client = StoreClient::new(nats, "0");
    for id in 0..5 {
        client
            .append(
                "metrics-1",
                ExpectedVersion::Any,
                vec![sample_event(0x4d00 + id, 64)],
            )
            .await
            .unwrap();
    }

    let rpc = |method: &str, code: &str| {
        format!(
            "grpc_requests_total{{service=\"query\",method=\"gridcase.query.v1.Query/{method}\",code=\"{code}\"}}"
        )
    };
    let expected = [
        rpc("Board", "OK"),
        rpc("GetCase", "INVALID_ARGUMENT"),
        rpc("GetCase", "UNAUTHENTICATED"),
    ];
    // The relay publishes shortly after the appends; scrape until it has caught up.
    let started = Instant::now();
    let scraped = loop {
        let scraped = scrape(&metrics).await;
        let ready = expected
            .iter()
            .all(|series| value(&scraped, series).is_some())
            && value(&scraped, "store_appends_total").is_some_and(|n| n >= 5.0)
            && value(&scraped, "store_relay_lag") == Some(0.0);
        if ready {
            break scraped;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "metrics incomplete:\n{scraped}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for series in &expected {
        assert_eq!(value(&scraped, series), Some(1.0), "{series} in\n{scraped}");
    }
    for present in [
        "# TYPE grpc_request_duration_seconds histogram",
        "grpc_request_duration_seconds_count{service=\"query\",method=\"gridcase.query.v1.Query/Board\"} 1",
        "# TYPE store_flush_duration_seconds histogram",
        "store_flush_duration_seconds_count ",
        "# TYPE store_group_size histogram",
        "store_group_size_sum ",
        "# TYPE store_appends_total counter",
        "# TYPE store_relay_lag gauge",
        "query_projection_position ",
        "supervision_table_position ",
        "evaluation_model_position ",
    ] {
        assert!(scraped.contains(present), "no {present:?} in\n{scraped}");
    }

    // Stopping: with no client connection left open, no service waits out its grace.
    drop(query);
    common::Up::signal(up.0.id(), "-TERM");
    let exit = up.wait_exit(Duration::from_secs(60), "gridcase up did not stop");
    assert!(exit.success(), "gridcase up exited with {exit}");
}
