//! What every gridcase gRPC API shares, so no service writes it twice: a server that always
//! ships health and reflection (v1 and v1alpha), TLS from the environment and a bounded
//! shutdown ([`serve_grpc`]); the one table from error kinds to gRPC statuses ([`case_status`],
//! [`store_status`]); and the checks of request fields that several APIs take alike
//! ([`InvalidInput`], [`request_id`], [`check_period`]). Every server counts and times its
//! calls by method and status code ([`metrics`]).

mod input;
pub mod metrics;
mod serve;
mod status;

pub use input::{check_period, request_id, InvalidInput, MAX_REQUEST_ID_CHARS};
pub use serve::{serve_grpc, Readiness, SHUTDOWN_GRACE, TLS_CERT_ENV, TLS_KEY_ENV};
pub use status::{case_status, store_error_code, store_status, ApiError, CASE_STATE};
