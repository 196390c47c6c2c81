//! Everything gridcase says over NATS, in one place: the versioned subjects, the trace headers,
//! the wire protocol of the event store (request-reply with postcard bodies), the
//! [`StoreClient`] every other service uses instead of opening sled, and [`NatsServer`], which
//! launches a real `nats-server` for `gridcase up`, benchmarks and tests.

pub mod authorization;
mod client;
pub mod feed;
pub mod follow;
pub mod headers;
pub mod health;
pub mod logins;
pub mod natsd;
pub mod retry;
pub mod subjects;
pub mod wire;

use std::time::Duration;

pub use client::StoreClient;
pub use feed::{FeedConsumer, FeedError, FeedMessage};
pub use logins::{Login, Logins};
pub use natsd::{NatsServer, NatsServerError};

/// Connects to NATS at `url` with the settings every gridcase process uses: it keeps retrying
/// after a lost connection, and requests time out so a missing peer becomes an error. A user
/// and password in the URL (`nats://gridcase:secret@host:4222`) log in with them.
pub async fn connect(url: &str) -> Result<async_nats::Client, async_nats::ConnectError> {
    connect_with(url, |options| options).await
}

/// [`connect`] with `adjust` applied to the usual options, e.g. a custom inbox prefix or a
/// shorter request timeout.
pub async fn connect_with(
    url: &str,
    adjust: impl FnOnce(async_nats::ConnectOptions) -> async_nats::ConnectOptions,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    let mut options = async_nats::ConnectOptions::new()
        .name("gridcase")
        .request_timeout(Some(Duration::from_secs(10)))
        // Appends from many tasks share one subscription; a small buffer would stall them.
        .subscription_capacity(1 << 16)
        .client_capacity(1 << 16);
    if let Ok(addr) = url.parse::<async_nats::ServerAddr>() {
        if let (Some(user), Some(password)) = (addr.username(), addr.password()) {
            options = options.user_and_password(user.to_owned(), password.to_owned());
        }
    }
    // The client logs the address it connects to: give it one without the credentials, which
    // travel in the options.
    adjust(options).connect(without_credentials(url)).await
}

/// `url` without the `user:password@` it may hold.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// [`connect`] logging in as `login` (whatever user the URL names is not used).
pub async fn connect_as(
    url: &str,
    login: &Login,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    connect_with(url, |options| login.apply(options)).await
}

/// `url` with the password it may hold replaced by `***`, for logs and errors:
/// `nats://svc-query:***@127.0.0.1:4222`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => format!("{scheme}://***@{host}"),
    }
}

/// How long [`flush`] waits for NATS before giving up.
pub const FLUSH_LIMIT: Duration = Duration::from_secs(2);

/// Sends what `nats` still holds (acknowledgements, publishes) to the server, waiting at most
/// [`FLUSH_LIMIT`]: a stopping process should not lose its last acknowledgements, nor hang when
/// NATS is gone.
pub async fn flush(nats: &async_nats::Client) -> Result<(), String> {
    match tokio::time::timeout(FLUSH_LIMIT, nats.flush()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("NATS did not answer within {FLUSH_LIMIT:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn a_url_loses_its_password_before_it_is_shown() {
        assert_eq!(
            redact_url("nats://svc-query:s3cret@127.0.0.1:4222"),
            "nats://svc-query:***@127.0.0.1:4222"
        );
        assert_eq!(redact_url("nats://token@host:4222"), "nats://***@host:4222");
        assert_eq!(redact_url("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(redact_url("127.0.0.1:4222"), "127.0.0.1:4222");
    }

    #[test]
    fn the_client_is_given_the_address_without_credentials() {
        use super::without_credentials;
        assert_eq!(
            without_credentials("nats://svc-query:s3cret@127.0.0.1:4222"),
            "nats://127.0.0.1:4222"
        );
        assert_eq!(
            without_credentials("nats://127.0.0.1:4222"),
            "nats://127.0.0.1:4222"
        );
    }
}
