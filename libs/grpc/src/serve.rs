//! The gRPC server every service runs: its routes plus health and reflection, TLS when the
//! environment names a certificate, and a stop that cannot hang on a silent client.

use std::future::Future;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::StreamExt;
use tonic::service::Routes;
use tonic_health::ServingStatus;

/// `Ok` while the service's dependencies answer, else why not (see
/// `gridcase_bus::health::watch_dependencies`).
pub type Readiness = watch::Receiver<Result<(), String>>;

/// Serves `routes` on `listener` until `shutdown` resolves, together with the standard gRPC
/// health service and server reflection (v1 and v1alpha) over every gridcase proto; over TLS
/// when `GRIDCASE_TLS_CERT` and `GRIDCASE_TLS_KEY` are set. Health reports each of
/// `service_names` and the server as a whole (the empty name) SERVING while `readiness` is
/// `Ok` and NOT_SERVING while it is not. Every call is counted and timed (see
/// [`crate::metrics`]), labelled with the short name of the first of `service_names`.
pub async fn serve_grpc(
    listener: TcpListener,
    routes: Routes,
    service_names: &[&str],
    readiness: Readiness,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let names: Vec<String> = std::iter::once(String::new())
        .chain(service_names.iter().map(|name| (*name).to_owned()))
        .collect();
    let follow_readiness = follow(reporter, names, readiness);
    // Both reflection versions: grpcurl asks v1, while Python's grpcio-reflection, Evans and
    // Postman still ask v1alpha and would otherwise discover nothing.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(gridcase_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection()
        .build_v1()
        .expect("the compiled descriptor sets are valid");
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .expect("the compiled descriptor sets are valid");
    let routes = routes
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = tls_from_env() {
        server = server.tls_config(tls)?;
    }
    let mut server = server.layer(crate::metrics::MetricsLayer::new(
        crate::metrics::service_label(service_names),
    ));
    // Once `shutdown` resolves, calls in flight get `SHUTDOWN_GRACE` to finish; then the server
    // is dropped with whatever connections it still holds, so a stuck or silent client (or a
    // connection the HTTP/2 layer never lets go of) cannot keep the process from stopping.
    // Replies are written without waiting on Nagle's algorithm: a reply of several segments
    // would otherwise stall on the client's delayed ACK (~40 ms) every few calls.
    let incoming = TcpListenerStream::new(listener).map(|stream| {
        if let Ok(stream) = &stream {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "setting TCP_NODELAY");
            }
        }
        stream
    });
    let routes = server.add_routes(routes);
    let serve = gridcase_runtime::serve_with_grace(shutdown, SHUTDOWN_GRACE, |stop| {
        routes.serve_with_incoming_shutdown(incoming, stop)
    });
    let served = tokio::select! {
        served = serve => served,
        never = follow_readiness => match never {},
    };
    served.unwrap_or_else(|| {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open after the shutdown grace; closing them");
        Ok(())
    })
}

/// Sets the health of every one of `names` from `readiness`, now and at each change; once the
/// readiness sender is gone its last value stays.
async fn follow(
    reporter: tonic_health::server::HealthReporter,
    names: Vec<String>,
    mut readiness: Readiness,
) -> std::convert::Infallible {
    loop {
        let status = if readiness.borrow_and_update().is_ok() {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        for name in &names {
            reporter.set_service_status(name, status).await;
        }
        if readiness.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// How long a stopping gRPC server waits for calls in flight before it drops its connections.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The PEM certificate (chain) every gRPC API serves TLS with, when set with [`TLS_KEY_ENV`].
pub const TLS_CERT_ENV: &str = "GRIDCASE_TLS_CERT";
/// The PEM private key of [`TLS_CERT_ENV`]'s certificate.
pub const TLS_KEY_ENV: &str = "GRIDCASE_TLS_KEY";

/// TLS for the gRPC APIs when `GRIDCASE_TLS_CERT` and `GRIDCASE_TLS_KEY` name PEM files: the
/// server then accepts TLS only. A file that cannot be read is logged and handed on empty, so
/// the server refuses to start rather than serve in plain text.
fn tls_from_env() -> Option<tonic::transport::ServerTlsConfig> {
    let cert = std::env::var_os(TLS_CERT_ENV)?;
    let key = std::env::var_os(TLS_KEY_ENV);
    let read = |path: &std::ffi::OsStr, what: &str| {
        std::fs::read(path).unwrap_or_else(|error| {
            tracing::error!(path = %path.to_string_lossy(), %error, "cannot read the TLS {what}");
            Vec::new()
        })
    };
    let cert = read(&cert, "certificate");
    let key = key.map_or_else(
        || {
            tracing::error!("{TLS_CERT_ENV} is set without {TLS_KEY_ENV}");
            Vec::new()
        },
        |key| read(&key, "key"),
    );
    Some(
        tonic::transport::ServerTlsConfig::new()
            .identity(tonic::transport::Identity::from_pem(cert, key)),
    )
}
