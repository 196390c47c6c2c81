//! Authentication on the wire: the server-side interceptor that turns a bearer token into a
//! [`Caller`], the per-RPC role check, and the client-side interceptor that sends a token.

use std::sync::Arc;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::{AuthError, Caller, RoleKind, Secret, TokenTable};

/// The interceptor that authenticates every request by its bearer token.
#[derive(Debug, Clone)]
pub struct Authenticator {
    tokens: Arc<TokenTable>,
}

impl Authenticator {
    /// Authenticates against `tokens`.
    pub fn new(tokens: Arc<TokenTable>) -> Self {
        Self { tokens }
    }

    fn caller(&self, request: &Request<()>) -> Result<Caller, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("missing bearer token"))?;
        let malformed =
            || Status::unauthenticated("malformed authorization header, expected: Bearer <token>");
        let header = header.to_str().map_err(|_| malformed())?;
        let (scheme, token) = header.trim().split_once(' ').ok_or_else(malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(malformed());
        }
        self.tokens
            .caller(token.trim())
            .cloned()
            .ok_or_else(|| Status::unauthenticated("unknown bearer token"))
    }
}

impl Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let caller = self.caller(&request).inspect_err(|status| {
            tracing::info!(reason = status.message(), "request refused");
        })?;
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

/// The caller of `request`, if its role is one of `allowed`; else PERMISSION_DENIED naming the
/// role and `rpc`. A request that never passed an [`Authenticator`] is UNAUTHENTICATED.
pub fn require<'a, T>(
    request: &'a Request<T>,
    rpc: &str,
    allowed: &[RoleKind],
) -> Result<&'a Caller, Status> {
    let caller = request
        .extensions()
        .get::<Caller>()
        .ok_or_else(|| Status::unauthenticated("missing bearer token"))?;
    let kind = caller.role.kind();
    if allowed.contains(&kind) {
        Ok(caller)
    } else {
        tracing::info!(caller = %caller, rpc, "permission denied");
        Err(Status::permission_denied(format!(
            "role {kind} may not call {rpc}"
        )))
    }
}

/// The `authorization` header value for `token`, for clients.
pub fn bearer_header(token: &str) -> Result<MetadataValue<Ascii>, AuthError> {
    format!("Bearer {token}")
        .parse()
        .map_err(|_| AuthError::BadRole("a bearer token must be printable ASCII".into()))
}

/// A client-side interceptor that sends one bearer token with every request.
#[derive(Debug, Clone)]
pub struct BearerToken {
    header: MetadataValue<Ascii>,
}

impl BearerToken {
    /// Sends `token`.
    pub fn new(token: &Secret) -> Result<Self, AuthError> {
        Ok(Self {
            header: bearer_header(token.expose())?,
        })
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.header.clone());
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::GOOD;
    use tonic::Code;

    fn authenticate(header: Option<&str>) -> Result<Request<()>, Status> {
        let table = TokenTable::from_toml(GOOD, "tokens.toml").unwrap();
        let mut authenticator = Authenticator::new(Arc::new(table));
        let mut request = Request::new(());
        if let Some(header) = header {
            request
                .metadata_mut()
                .insert("authorization", header.parse().unwrap());
        }
        authenticator.call(request)
    }

    #[test]
    fn the_interceptor_refuses_missing_malformed_and_unknown_tokens() {
        for (header, message) in [
            (None, "missing bearer token"),
            (
                Some("operator-token-0001"),
                "malformed authorization header",
            ),
            (Some("Basic b3A6cHc="), "malformed authorization header"),
            (Some("Bearer "), "malformed authorization header"),
            (
                Some("Bearer not-a-known-token-at-all"),
                "unknown bearer token",
            ),
        ] {
            let refused = authenticate(header).unwrap_err();
            assert_eq!(refused.code(), Code::Unauthenticated, "{header:?}");
            assert!(
                refused.message().starts_with(message),
                "{header:?}: {refused:?}"
            );
        }
    }

    #[test]
    fn the_interceptor_hands_the_caller_to_require() {
        let request = authenticate(Some("Bearer operator-token-0001")).unwrap();
        let caller = require(
            &request,
            "ReportCase",
            &[RoleKind::Operator, RoleKind::Admin],
        )
        .unwrap();
        assert_eq!(caller.actor(), "operator:op-001");
        let request = authenticate(Some("bearer department-token-urban")).unwrap();
        let denied = require(&request, "ReportCase", &[RoleKind::Operator]).unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        assert_eq!(denied.message(), "role department may not call ReportCase");
        let unauthenticated = require(&Request::new(()), "ReportCase", &RoleKind::ALL).unwrap_err();
        assert_eq!(unauthenticated.code(), Code::Unauthenticated);
    }

    #[test]
    fn the_client_interceptor_sends_the_token() {
        let mut client = BearerToken::new(&Secret::new("operator-token-0001")).unwrap();
        let request = client.call(Request::new(())).unwrap();
        let header = request.metadata().get("authorization").unwrap().to_str();
        assert_eq!(header.unwrap(), "Bearer operator-token-0001");
        let table = TokenTable::from_toml(GOOD, "tokens.toml").unwrap();
        let request = Authenticator::new(Arc::new(table)).call(request).unwrap();
        assert!(request.extensions().get::<Caller>().is_some());
    }
}
