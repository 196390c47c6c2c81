//! A stopping gRPC server does not wait forever on clients: a connection that never sends a
//! byte is dropped once the shutdown grace has passed.

use std::time::{Duration, Instant};

use gridcase_grpc::{serve_grpc, SHUTDOWN_GRACE};
use tokio::net::{TcpListener, TcpStream};
use tonic::service::Routes;

#[tokio::test]
async fn a_silent_connection_does_not_keep_the_server_from_stopping() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_grpc(listener, Routes::default(), &[], async {
        let _ = stopped.await;
    }));
    // Connects and then says nothing, holding the connection open.
    let silent = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

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
