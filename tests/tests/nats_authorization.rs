//! NATS logins on the system as `gridcase up` starts it (`System` with its default options):
//! nobody gets in without a login; a department's system, logged in with the file
//! `gridcase nats-login` writes for it, pulls its own work orders and is refused another
//! department's, the event store and the event feed; a service's login cannot pose as the
//! store or publish on the feed. The passwords live in files only their owner can read.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::pull;
use futures::StreamExt;
use gridcase_bus::logins::DepartmentLogin;
use gridcase_bus::subjects::{self, StoreOp, DISPATCH_STREAM, EVENTS_ALL, EVENTS_STREAM};
use gridcase_eventstore::EventStore;
use gridcase_proto::common::v1::Location;
use gridcase_proto::intake::v1::{Channel, ReportCaseRequest, Reporter};
use gridcase_testkit::{token_table, wait_until};
use gridcase_tests::{City, CityOptions, WAIT};

const CALLERS: &[(&str, &str)] = &[
    ("op-1", "operator:op-1"),
    ("sup-1", "supervisor:sup-1"),
    ("qr-web", "gateway:qr-web"),
];

/// What the server told a connection it refused, as async-nats reports it.
type Refusals = Arc<Mutex<Vec<String>>>;

/// Connects with `apply`'s login, recording the server's errors.
async fn connect(
    url: &str,
    apply: impl FnOnce(async_nats::ConnectOptions) -> async_nats::ConnectOptions,
) -> (async_nats::Client, Refusals) {
    let refusals = Refusals::default();
    let recorded = refusals.clone();
    let client = gridcase_bus::connect_with(url, move |options| {
        apply(options)
            .request_timeout(Some(Duration::from_secs(2)))
            .event_callback(move |event| {
                let recorded = recorded.clone();
                async move {
                    if let async_nats::Event::ServerError(error) = event {
                        recorded.lock().unwrap().push(error.to_string());
                    }
                }
            })
    })
    .await
    .expect("the login is accepted");
    (client, refusals)
}

/// Waits until the server has refused something mentioning `subject`.
async fn refused(refusals: &Refusals, subject: &str) {
    wait_until(
        &format!("a permissions violation on {subject}"),
        WAIT,
        || async {
            let seen = refusals.lock().unwrap();
            seen.iter()
                .any(|e| e.to_lowercase().contains("permissions violation") && e.contains(subject))
                .then_some(())
        },
    )
    .await;
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A resident's hotline report of a factory's night-time noise (工业噪声: ecology_env's).
fn noise_report() -> ReportCaseRequest {
    ReportCaseRequest {
        client_request_id: "nats-logins-1".to_owned(),
        channel: Channel::Hotline as i32,
        reporter: Some(Reporter {
            name: "周女士".to_owned(),
            phone: "13905718822".to_owned(),
        }),
        location: Some(Location {
            grid_code: "330102-001-001-001".to_owned(),
            address: "涌金路88号对面".to_owned(),
            coordinates: None,
        }),
        description: "对面那个加工厂每天夜里十一点以后还在开机器，咚咚咚的，孩子根本睡不着"
            .to_owned(),
        category_code: "SJ-09-03".to_owned(),
        media_urls: Vec::new(),
        reported_by_worker: String::new(),
        member_id: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_on_by_default_and_a_department_reaches_only_its_own_work_orders() {
    let city = City::start(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: "op-1",
            supervisor: "sup-1",
        },
        gridcase_testkit::copy_sample_config,
    )
    .await;
    let data = city.system.options().data.clone();
    let address = city.system.nats_address();
    let logins = city.system.logins().expect("logins are on by default");
    assert_eq!(logins.path(), data.join(gridcase::system::LOGINS_FILE));

    // The passwords are in files their owner alone may read.
    #[cfg(unix)]
    for file in [
        data.join(gridcase::system::LOGINS_FILE),
        data.join("nats/nats-server.conf"),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }

    // No login, or a wrong password: no connection at all.
    let host = address.trim_start_matches("nats://");
    for bad in [
        address.clone(),
        format!("nats://dept-ecology_env:wrong-password@{host}"),
        format!("nats://admin:wrong-password@{host}"),
    ] {
        assert!(
            async_nats::connect(bad.as_str()).await.is_err(),
            "{} must be refused",
            gridcase_bus::redact_url(&bad)
        );
    }

    // The department logs in with its file, which names no other secret.
    let ecology: DepartmentLogin = city.department_login("ecology_env");
    assert_eq!(ecology.login.user(), "dept-ecology_env");
    assert_eq!(ecology.url, address);
    let (department, refusals) = connect(&ecology.url, |o| ecology.apply(o)).await;

    // It listens on the event feed's subjects while a case is reported: nothing reaches it.
    let mut feed = department.subscribe(EVENTS_ALL).await.unwrap();
    department.flush().await.unwrap();
    let reported = city.report("op-1", noise_report()).await;

    // Its own work order arrives (its inbox logs in with the same file) …
    let inbox = city.department_inbox("ecology_env").await;
    let order = inbox.take_one().await;
    assert_eq!(order.case_id, reported.case_id);
    refused(&refusals, EVENTS_ALL).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(500), feed.next())
            .await
            .map_or(true, |m| m.is_none()),
        "an event of the feed reached a department"
    );

    // … but not the feed's stream, another department's consumer, or the event store.
    let js = jetstream::new(department.clone());
    assert!(
        js.get_stream(EVENTS_STREAM).await.is_err(),
        "a department must not read the event feed's stream"
    );
    let dispatch = js.get_stream(DISPATCH_STREAM).await.unwrap();
    assert!(dispatch
        .get_consumer::<pull::Config>("dept-ecology_env")
        .await
        .is_ok());
    assert!(
        dispatch
            .get_consumer::<pull::Config>("dept-water")
            .await
            .is_err(),
        "a department must not see another's consumer"
    );
    let stats = subjects::store_request(subjects::DEFAULT_SHARD, StoreOp::Stats);
    assert!(
        department
            .request(stats.clone(), Vec::new().into())
            .await
            .is_err(),
        "a department must not call the event store"
    );
    refused(&refusals, &stats).await;

    // A service's own login cannot answer the store's requests or publish on the feed.
    let query = logins.login("svc-query").expect("query has a login");
    let (service, refusals) = connect(&address, |o| query.apply(o)).await;
    let _posing = service.subscribe(stats.clone()).await.unwrap();
    service
        .publish(
            subjects::event("CaseReported", &reported.case_id),
            "forged".into(),
        )
        .await
        .unwrap();
    service.flush().await.unwrap();
    refused(&refusals, &stats).await;
    refused(&refusals, "gridcase.v1.events.").await;
    // The store still answers, and its log holds only what the services wrote.
    let store = city.store_client().await;
    assert!(store.stats().await.is_ok());

    city.shut_down().await;
}
