//! A stopping gRPC server does not wait forever on clients: a connection that never sends a
//! byte is dropped once the shutdown grace has passed. Its health follows its readiness.

use std::time::{Duration, Instant};

use gridcase_grpc::{serve_grpc, SHUTDOWN_GRACE};
use gridcase_testkit::{wait_until, WAIT};
use tokio::net::{TcpListener, TcpStream};
use tonic::service::Routes;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

#[tokio::test]
async fn a_silent_connection_does_not_keep_the_server_from_stopping() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_grpc(
        listener,
        Routes::default(),
        &[],
        ready(),
        async {
            let _ = stopped.await;
        },
    ));
    // Connects and then says nothing, holding the connection open.
    let silent = TcpStream::connect(addr).await.unwrap();
    // The server accepts connections in order: once it answers on a later one, it holds the
    // silent one too.
    wait_until(
        "the server to answer a health check on a connection after the silent one",
        WAIT,
        || async {
            let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
                .unwrap()
                .connect()
                .await
                .ok()?;
            HealthClient::new(channel)
                .check(HealthCheckRequest::default())
                .await
                .ok()
                .map(|_| ())
        },
    )
    .await;

    let asked = Instant::now();
    stop.send(()).unwrap();
    let served = tokio::time::timeout(SHUTDOWN_GRACE * 3, server)
        .await
        .expect("the server stops although a client holds a connection")
        .expect("the server task does not panic");
    assert!(served.is_ok(), "{served:?}");
    assert!(asked.elapsed() <= SHUTDOWN_GRACE + Duration::from_secs(2));
    drop(silent);
}

/// Readiness that stays `Ok`.
fn ready() -> gridcase_grpc::Readiness {
    tokio::sync::watch::channel(Ok(())).1
}

#[tokio::test]
async fn health_says_not_serving_while_a_dependency_is_down() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (readiness, readiness_rx) = tokio::sync::watch::channel(Ok(()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_grpc(
        listener,
        Routes::default(),
        &["gridcase.test.v1.Test"],
        readiness_rx,
        async {
            let _ = stopped.await;
        },
    ));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    let status = |service: &'static str| {
        let mut health = HealthClient::new(channel.clone());
        async move {
            health
                .check(HealthCheckRequest {
                    service: service.to_owned(),
                })
                .await
                .ok()
                .map(|reply| reply.into_inner().status)
        }
    };
    use tonic_health::pb::health_check_response::ServingStatus;
    let serving = ServingStatus::Serving as i32;
    let not_serving = ServingStatus::NotServing as i32;
    for (ready, wanted) in [
        (Ok(()), serving),
        (
            Err("the event store does not answer".to_owned()),
            not_serving,
        ),
        (Ok(()), serving),
    ] {
        readiness.send(ready).unwrap();
        for service in ["", "gridcase.test.v1.Test"] {
            wait_until(&format!("{service:?} to be {wanted}"), WAIT, || async {
                (status(service).await == Some(wanted)).then_some(())
            })
            .await;
        }
    }
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
