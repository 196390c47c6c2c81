//! A NATS cluster of three real nats-server nodes on loopback ([`NatsCluster`]): a stream made
//! by [`streams::ensure`] keeps three replicas, takes messages while its leader's node is
//! killed, keeps dropping a message id it has seen, and has every message once the node is
//! back; a stream made with one replica is raised to three. And the cluster and street-office
//! configurations shipped in `deploy/nats/` are ones nats-server accepts.

use std::path::Path;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, message::PublishMessage, stream};
use gridcase_bus::natsd::wait_for_jetstream;
use gridcase_bus::{streams, NatsCluster};

const LIMIT: Duration = Duration::from_secs(45);

/// Publishes `id` on `subject` until JetStream acknowledges it (a stream between leaders
/// answers nothing for a few seconds); whether it was a duplicate.
async fn publish(js: &jetstream::Context, subject: &str, id: &str) -> bool {
    let started = Instant::now();
    loop {
        let sent = js
            .send_publish(
                subject.to_owned(),
                PublishMessage::build()
                    .message_id(id)
                    .payload(id.to_owned().into()),
            )
            .await;
        let acked = match sent {
            Ok(ack) => ack.await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match acked {
            Ok(ack) => return ack.duplicate,
            Err(e) => {
                assert!(started.elapsed() < LIMIT, "{id} not acknowledged: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

async fn stream_info(js: &jetstream::Context, name: &str) -> stream::Info {
    js.get_stream(name)
        .await
        .unwrap_or_else(|e| panic!("stream {name}: {e}"))
        .info()
        .await
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_three_replicas_rides_out_the_loss_of_its_leader() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = NatsCluster::start(dir.path(), 3, 0, "")
        .unwrap_or_else(|e| panic!("starting three nats-server nodes: {e}"));
    assert_eq!(cluster.url().split(',').count(), 3);
    wait_for_jetstream(&cluster.url(), LIMIT).await.unwrap();
    streams::set_replicas(3).unwrap();
    let nats = gridcase_bus::connect(&cluster.url()).await.unwrap();
    let js = jetstream::new(nats);

    // A stream a single server made is raised to three replicas.
    let one = stream::Config {
        name: "RAISED".into(),
        subjects: vec!["raised.>".into()],
        ..Default::default()
    };
    js.create_stream(one.clone()).await.unwrap();
    let raised = streams::ensure(&js, one).await.unwrap();
    assert_eq!(raised.cached_info().config.num_replicas, 3);

    let config = stream::Config {
        name: "ORDERS".into(),
        subjects: vec!["orders.>".into()],
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    streams::ensure(&js, config).await.unwrap();
    for n in 0..20 {
        assert!(!publish(&js, "orders.a", &format!("order-{n}")).await);
    }
    let info = stream_info(&js, "ORDERS").await;
    assert_eq!(info.config.num_replicas, 3);
    let cluster_info = info
        .cluster
        .expect("a clustered stream says where it lives");
    assert_eq!(cluster_info.replicas.len(), 2, "a leader and two followers");
    let leader = cluster_info.leader.expect("the stream has a leader");
    let node: usize = leader
        .rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("leader {leader:?} is not one of gridcase-1..3"));

    // The leader's machine is lost: the other two elect a new one and go on.
    cluster.kill(node - 1);
    let killed_at = Instant::now();
    assert!(!cluster.is_running(node - 1));
    for n in 20..40 {
        assert!(!publish(&js, "orders.a", &format!("order-{n}")).await);
        if n == 20 {
            println!(
                "first message acknowledged {:.1} s after the leader's node was killed",
                killed_at.elapsed().as_secs_f64()
            );
        }
    }
    // A message published again under its id (a relay repeating itself after a crash) is
    // dropped, on the new leader as on the old.
    assert!(
        publish(&js, "orders.a", "order-3").await,
        "order-3 stored twice"
    );
    let info = stream_info(&js, "ORDERS").await;
    assert_eq!(info.state.messages, 40);
    assert_ne!(info.cluster.and_then(|c| c.leader), Some(leader));

    // The node comes back and catches up: every replica current, the count unchanged.
    cluster.start_node(node - 1).unwrap();
    let started = Instant::now();
    loop {
        let info = stream_info(&js, "ORDERS").await;
        let replicas = info.cluster.map(|c| c.replicas).unwrap_or_default();
        if replicas.len() == 2 && replicas.iter().all(|r| r.current && !r.offline) {
            assert_eq!(info.state.messages, 40);
            break;
        }
        assert!(
            started.elapsed() < LIMIT,
            "the restarted node did not catch up: {replicas:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether nats-server accepts `config` under `deploy/nats/` with the environment its example
/// file gives (and a password for every department authorization.conf names).
fn accepted(config: &str, example: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nats");
    let binary = gridcase_bus::natsd::binary().unwrap_or_else(|e| panic!("{e}"));
    let mut command = std::process::Command::new(binary);
    command.arg("-t").arg("-c").arg(root.join(config));
    let example = std::fs::read_to_string(root.join(example)).unwrap();
    for line in example.lines().filter(|l| !l.starts_with('#')) {
        if let Some((name, value)) = line.split_once('=') {
            command.env(name, value);
        }
    }
    let authorization = std::fs::read_to_string(root.join("authorization.conf")).unwrap();
    for name in authorization
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("GRIDCASE_NATS_PASSWORD_DEPT_"))
    {
        command.env(name, "a-department-password");
    }
    let output = command.output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{config}: {said}");
    assert!(said.contains("is valid"), "{config}: {said}");
}

#[test]
fn the_cluster_and_street_office_configurations_in_deploy_are_ones_nats_server_accepts() {
    accepted(
        "cluster/nats-cluster.conf",
        "cluster/gridcase-nats.env.example",
    );
    accepted("leaf/office-leaf.conf", "leaf/office-leaf.env.example");
}
