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
mod sharded;
pub mod shards;
pub mod streams;
pub mod subjects;
pub mod wire;

use std::time::Duration;

pub use client::ShardClient;
pub use feed::{FeedConsumer, FeedError, FeedMessage};
pub use logins::{Login, Logins};
pub use natsd::{NatsCluster, NatsServer, NatsServerError};
pub use sharded::StoreClient;
pub use shards::ShardMap;

/// Connects to NATS at `url` with the settings every gridcase process uses: it keeps retrying
/// after a lost connection, and requests time out so a missing peer becomes an error. A user
/// and password in the URL (`nats://gridcase:secret@host:4222`) log in with them.
///
/// `url` may list the nodes of a cluster separated by commas
/// (`nats://u:p@10.0.0.1:4222,nats://u:p@10.0.0.2:4222,…`): the client connects to one of them
/// and, when that node is lost, to another (it also learns the cluster's other nodes from the
/// server). The first user and password given log in.
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
    let credentials = node_urls(url).find_map(|node| {
        let addr = node.parse::<async_nats::ServerAddr>().ok()?;
        Some((addr.username()?.to_owned(), addr.password()?.to_owned()))
    });
    if let Some((user, password)) = credentials {
        options = options.user_and_password(user, password);
    }
    // The client logs the addresses it connects to: give it them without the credentials,
    // which travel in the options.
    let nodes: Vec<String> = node_urls(url).map(without_credentials).collect();
    adjust(options).connect(nodes).await
}

/// The node URLs of a comma-separated list (one URL is a list of one).
fn node_urls(url: &str) -> impl Iterator<Item = &str> {
    url.split(',')
        .map(str::trim)
        .filter(|node| !node.is_empty())
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
/// `nats://svc-query:***@127.0.0.1:4222`; each URL of a comma-separated list likewise.
pub fn redact_url(url: &str) -> String {
    node_urls(url).map(redact_one).collect::<Vec<_>>().join(",")
}

fn redact_one(url: &str) -> String {
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

/// How long a small request to a gridcase service over NATS (an append, a stream read, the key
/// vault) waits for its answer. Such answers take milliseconds; one that has not come in this
/// time was most likely lost with a NATS node that died while carrying it, and the caller's
/// retry (which its command id makes safe) goes through the nodes that remain. Bulk reads of
/// the log keep the connection's longer limit.
pub const ANSWER_LIMIT: Duration = Duration::from_secs(3);

/// A request on `subject` that waits at most [`ANSWER_LIMIT`] for its answer.
pub async fn request_briefly(
    nats: &async_nats::Client,
    subject: String,
    payload: bytes::Bytes,
) -> Result<async_nats::Message, async_nats::RequestError> {
    nats.send_request(
        subject,
        async_nats::Request::new()
            .payload(payload)
            .timeout(Some(ANSWER_LIMIT)),
    )
    .await
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
        assert_eq!(
            redact_url("nats://a:x@10.0.0.1:4222, nats://a:x@10.0.0.2:4222"),
            "nats://a:***@10.0.0.1:4222,nats://a:***@10.0.0.2:4222"
        );
    }

    #[test]
    fn a_cluster_url_lists_its_nodes() {
        use super::node_urls;
        assert_eq!(
            node_urls("nats://10.0.0.1:4222,nats://10.0.0.2:4222,").collect::<Vec<_>>(),
            ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]
        );
        assert_eq!(node_urls("nats://h:4222").count(), 1);
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
