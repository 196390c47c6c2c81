//! What every gridcase service process shares, so no service writes it twice: logging set-up,
//! the shutdown signal, a gRPC server that always ships health and reflection, authentication of
//! callers by bearer token and role ([`auth`]), and the one table that maps error kinds to gRPC
//! status codes.

pub mod auth;
pub mod cli;
pub mod indicators;

use std::future::Future;

use gridcase_eventstore::StoreError;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic::{Code, Status};
use tonic_health::ServingStatus;

/// The current time by this machine's clock, as a domain timestamp (the domain reads no clock).
pub fn now() -> gridcase_domain::Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    gridcase_domain::Timestamp::from_millis(millis)
}

/// Installs the `tracing` subscriber: human-readable lines on stderr, filtered by `RUST_LOG`
/// (default `info`). Safe to call more than once.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Serves `routes` on `listener` until `shutdown` resolves, together with the standard gRPC
/// health service (each of `service_names` reported serving) and server reflection over every
/// gridcase proto; over TLS when `GRIDCASE_TLS_CERT` and `GRIDCASE_TLS_KEY` are set.
pub async fn serve_grpc(
    listener: TcpListener,
    routes: Routes,
    service_names: &[&str],
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in service_names {
        reporter
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(gridcase_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("the compiled descriptor sets are valid");
    let routes = routes.add_service(health).add_service(reflection);
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = tls_from_env() {
        server = server.tls_config(tls)?;
    }
    // Once `shutdown` resolves, calls in flight get `SHUTDOWN_GRACE` to finish; then the server
    // is dropped with whatever connections it still holds, so a stuck or silent client (or a
    // connection the HTTP/2 layer never lets go of) cannot keep the process from stopping.
    let (signalled, grace_starts) = tokio::sync::oneshot::channel::<()>();
    let serve = server.add_routes(routes).serve_with_incoming_shutdown(
        TcpListenerStream::new(listener),
        async move {
            shutdown.await;
            let _ = signalled.send(());
        },
    );
    let grace_over = async move {
        if grace_starts.await.is_err() {
            // The server ended without being asked to: the other branch has its outcome.
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        served = serve => served,
        () = grace_over => {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open after the shutdown grace; closing them");
            Ok(())
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

/// The gRPC code for each kind of store error: the one table services use.
pub fn store_error_code(error: &StoreError) -> Code {
    match error {
        StoreError::WrongExpectedVersion { .. } => Code::Aborted,
        StoreError::InvalidRequest(_) | StoreError::PartialDuplicate { .. } => {
            Code::InvalidArgument
        }
        StoreError::Corrupt { .. } => Code::DataLoss,
        StoreError::Unavailable(_) => Code::Unavailable,
    }
}

/// The gRPC status for a failure to act on or read a case: the one table every service
/// uses. Domain refusals are the caller's problem (FAILED_PRECONDITION), except invalid input
/// (INVALID_ARGUMENT), an unknown case (NOT_FOUND) and acting on someone else's case
/// (PERMISSION_DENIED).
pub fn case_status(error: &gridcase_casestore::CaseError) -> Status {
    use gridcase_casestore::CaseError;
    use gridcase_domain::DomainError;
    match error {
        CaseError::Store(e) => store_status(e),
        CaseError::Domain(DomainError::Validation(e)) => Status::invalid_argument(e.to_string()),
        CaseError::Domain(e @ DomainError::CaseDoesNotExist) => Status::not_found(e.to_string()),
        CaseError::Domain(e @ DomainError::NotAssignee { .. }) => {
            Status::permission_denied(e.to_string())
        }
        CaseError::Domain(e) => Status::failed_precondition(e.to_string()),
        e @ CaseError::Contended { .. } => Status::aborted(e.to_string()),
        e @ CaseError::Decode { .. } => Status::internal(e.to_string()),
    }
}

/// A request field that is missing or breaks a rule: INVALID_ARGUMENT, with a message that
/// names the field as the request wrote it (`field: reason`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidInput {
    /// The field as the request names it, e.g. `location.grid_code` or `evidence_urls[1]`.
    pub field: String,
    /// Why it was refused, lowercase and without a trailing period.
    pub reason: String,
}

impl InvalidInput {
    /// An error for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A domain validation error, reported under the request's name for the field.
    pub fn at(field: impl Into<String>) -> impl FnOnce(gridcase_domain::ValidationError) -> Self {
        move |error| Self::new(field, error.reason)
    }
}

impl From<InvalidInput> for Status {
    fn from(error: InvalidInput) -> Self {
        Status::invalid_argument(error.to_string())
    }
}

/// Longest request id (the caller's key that makes a repeated request harmless), in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// `text` as a request id: 1 to [`MAX_REQUEST_ID_CHARS`] characters; refused under `field`.
pub fn request_id<'a>(field: &str, text: &'a str) -> Result<&'a str, InvalidInput> {
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_REQUEST_ID_CHARS {
        return Err(InvalidInput::new(
            field,
            format!("must be 1 to {MAX_REQUEST_ID_CHARS} characters, got {chars}"),
        ));
    }
    Ok(text)
}

/// A store error as a gRPC status carrying the store's message.
pub fn store_status(error: &StoreError) -> Status {
    Status::new(store_error_code(error), error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_eventstore::ExpectedVersion;

    #[test]
    fn store_errors_map_to_the_conventional_codes() {
        let conflict = StoreError::WrongExpectedVersion {
            stream: "s".into(),
            expected: ExpectedVersion::NoStream,
            current: Some(2),
        };
        assert_eq!(store_status(&conflict).code(), Code::Aborted);
        assert!(store_status(&conflict).message().contains("current 2"));
        assert_eq!(
            store_error_code(&StoreError::InvalidRequest("x".into())),
            Code::InvalidArgument
        );
        assert_eq!(
            store_error_code(&StoreError::Unavailable("down".into())),
            Code::Unavailable
        );
        assert_eq!(
            store_error_code(&StoreError::Corrupt {
                position: 1,
                reason: "x".into()
            }),
            Code::DataLoss
        );
    }
}
