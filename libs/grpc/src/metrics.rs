//! Counts and times every gRPC call a server answers, by method and status code, so each
//! service gets the same RPC metrics without writing them:
//!
//! - `grpc_requests_total{service, method, code}`: calls answered, by their `grpc-status`
//!   (`OK`, `INVALID_ARGUMENT`, …, the names of the gRPC specification);
//! - `grpc_request_duration_seconds{service, method}`: from the request to the status.
//!
//! `service` is the short name of the API the server was started for (`intake`, `store`, …),
//! so servers in one process stay apart; `method` is the call's path without its leading
//! slash (`gridcase.intake.v1.Intake/ReportCase`).
//!
//! A reply's status is in its headers when the call failed before any message ("trailers
//! only", how tonic answers a refused unary call), otherwise in the trailers after the last
//! message; a reply dropped before either (the client went away) counts as `CANCELLED`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::Frame;
use tonic::body::Body;
use tonic::Code;

/// Name of the counter of answered calls.
pub const REQUESTS_TOTAL: &str = "grpc_requests_total";
/// Name of the histogram of call durations.
pub const REQUEST_DURATION: &str = "grpc_request_duration_seconds";

/// The short service label for a server offering `service_names`: `intake` for
/// `gridcase.intake.v1.Intake`, the full name for anything else, `grpc` for none.
pub(crate) fn service_label(service_names: &[&str]) -> String {
    let Some(name) = service_names.first() else {
        return "grpc".to_owned();
    };
    name.strip_prefix("gridcase.")
        .and_then(|rest| rest.split('.').next())
        .filter(|short| !short.is_empty())
        .unwrap_or(name)
        .to_owned()
}

/// The tower layer [`crate::serve_grpc`] puts in front of every route.
#[derive(Debug, Clone)]
pub(crate) struct MetricsLayer {
    service: Arc<str>,
}

impl MetricsLayer {
    pub(crate) fn new(service: String) -> Self {
        Self {
            service: service.into(),
        }
    }
}

impl<S> tower_layer::Layer<S> for MetricsLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Metered {
            inner,
            service: Arc::clone(&self.service),
        }
    }
}

/// A gRPC service whose calls are counted and timed.
#[derive(Debug, Clone)]
pub(crate) struct Metered<S> {
    inner: S,
    service: Arc<str>,
}

impl<S, ReqBody> tower_service::Service<http::Request<ReqBody>> for Metered<S>
where
    S: tower_service::Service<http::Request<ReqBody>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let call = Call {
            service: Arc::clone(&self.service),
            method: request
                .uri()
                .path()
                .trim_start_matches('/')
                .to_owned()
                .into(),
            started: Instant::now(),
        };
        let reply = self.inner.call(request);
        Box::pin(async move {
            match reply.await {
                Ok(response) => {
                    if let Some(code) = status_in(response.headers()) {
                        call.finish(code);
                        return Ok(response);
                    }
                    Ok(response.map(|body| {
                        Body::new(MeteredBody {
                            inner: body,
                            call: Some(call),
                        })
                    }))
                }
                Err(error) => {
                    call.finish(Code::Unknown);
                    Err(error)
                }
            }
        })
    }
}

/// A call whose status is not known yet.
#[derive(Debug)]
struct Call {
    service: Arc<str>,
    method: Arc<str>,
    started: Instant,
}

impl Call {
    fn finish(&self, code: Code) {
        let labels = [
            ("service", self.service.to_string()),
            ("method", self.method.to_string()),
        ];
        metrics::histogram!(REQUEST_DURATION, &labels).record(self.started.elapsed());
        let [service, method] = labels;
        metrics::counter!(
            REQUESTS_TOTAL,
            &[service, method, ("code", code_name(code).to_owned())]
        )
        .increment(1);
    }
}

/// The `grpc-status` in `headers`, if there is one.
fn status_in(headers: &http::HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?;
    let number = value.to_str().ok()?.trim().parse::<i32>().ok()?;
    Some(Code::from_i32(number))
}

/// A reply body that reports the call once its trailers go by (or it is dropped).
struct MeteredBody {
    inner: Body,
    call: Option<Call>,
}

impl MeteredBody {
    fn finish(&mut self, code: Code) {
        if let Some(call) = self.call.take() {
            call.finish(code);
        }
    }
}

impl http_body::Body for MeteredBody {
    type Data = tonic::codegen::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(status_in) {
                    self.finish(code);
                }
            }
            Poll::Ready(Some(Err(status))) => {
                let code = status.code();
                self.finish(code);
            }
            // A body that ends without trailers carried no status.
            Poll::Ready(None) => self.finish(Code::Unknown),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for MeteredBody {
    fn drop(&mut self) {
        self.finish(Code::Cancelled);
    }
}

/// The name the gRPC specification gives `code`.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_label_is_the_short_name() {
        assert_eq!(service_label(&["gridcase.intake.v1.Intake"]), "intake");
        assert_eq!(service_label(&["gridcase.store.v1.StoreAdmin"]), "store");
        assert_eq!(service_label(&["other.v1.Thing"]), "other.v1.Thing");
        assert_eq!(service_label(&[]), "grpc");
    }

    #[test]
    fn the_status_is_read_from_headers() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(status_in(&headers), None);
        headers.insert("grpc-status", http::HeaderValue::from_static("3"));
        assert_eq!(status_in(&headers), Some(Code::InvalidArgument));
        assert_eq!(code_name(Code::InvalidArgument), "INVALID_ARGUMENT");
    }
}
