//! The case loop across two store shards: 柳浪街道 (330102-001) kept by shard 0, 紫阳街道 and
//! 江城街道 (330102-002, 330102-003) by shard 1, each shard a store of its own with its own
//! sled directory, against a real nats-server and the seven services.
//!
//! Two residents call the hotline about broken street lights, one in each street. Each case
//! must be kept whole in its street's shard (its events and its tracking code's reservation),
//! be triaged, dispatched, handled, checked and rated like any other, and show up in the
//! city-wide views — the board, the department's indicators, the status lookup — which fold
//! both shards. The query service, stopped while a third case is reported in shard 1, resumes
//! from its checkpoint of each shard. Each shard is then verified, counted and backed up on
//! its own, and the backup of shard 1 restores into `store-1`.

use gridcase::system::Service;
use gridcase_bus::StoreClient;
use gridcase_eventstore::EventStore;
use gridcase_proto::common::v1::{self as common, Location};
use gridcase_proto::evaluation::v1::DepartmentIndicatorsRequest;
use gridcase_proto::intake::v1::{Channel as ReportChannel, ReportCaseRequest, Reporter};
use gridcase_proto::query::v1::BoardRequest;
use gridcase_proto::store::v1::store_admin_client::StoreAdminClient;
use gridcase_proto::store::v1::{StatsRequest, VerifyRequest};
use gridcase_testkit::token_table;
use gridcase_tests::{case_status, City, CityOptions, Who};

const CALLERS: &[(&str, &str)] = &[
    ("op-1", "operator:op-1"),
    ("sup-1", "supervisor:sup-1"),
    ("qr-web", "gateway:qr-web"),
    ("admin-1", "admin:admin-1"),
    // 涌金社区第一网格 (柳浪街道) and 紫阳山社区第一网格 (紫阳街道).
    ("lin-ming", "grid_worker:lin-ming"),
    ("ding-xiaodong", "grid_worker:ding-xiaodong"),
    ("urban_mgmt", "department:urban_mgmt:clerk-1"),
];

/// Which shard keeps which street.
const SHARD_AREAS: &str = "330102-001=0,330102-002=1,330102-003=1";

fn hotline(request_id: &str, grid: &str, name: &str, description: &str) -> ReportCaseRequest {
    ReportCaseRequest {
        client_request_id: request_id.to_owned(),
        channel: ReportChannel::Hotline as i32,
        reporter: Some(Reporter {
            name: name.to_owned(),
            phone: "13912345678".to_owned(),
        }),
        location: Some(Location {
            grid_code: grid.to_owned(),
            address: String::new(),
            coordinates: None,
        }),
        description: description.to_owned(),
        category_code: String::new(),
        media_urls: Vec::new(),
        reported_by_worker: String::new(),
        member_id: String::new(),
    }
}

/// The events of `stream` each shard holds.
async fn held_by_shard(store: &StoreClient, stream: &str) -> Vec<usize> {
    let mut held = Vec::new();
    for shard in store.shards() {
        held.push(shard.read_stream(stream, 0, 1_000).await.unwrap().len());
    }
    held
}

/// The reservation stream of a tracking code as intake names it (`tracking-<code>`).
fn reservation(tracking_code: &str) -> String {
    format!("tracking-{}", tracking_code.replace('-', ""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_loop_across_two_shards_keeps_each_case_in_its_streets_shard() {
    let mut city = City::start_adjusted(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: "op-1",
            supervisor: "sup-1",
        },
        gridcase_testkit::copy_sample_config,
        |options| {
            options.shards = 2;
            options.shard_areas = SHARD_AREAS.to_owned();
        },
    )
    .await;
    let store = city.store_client().await;
    assert_eq!(store.shards().len(), 2);

    let west = city
        .report(
            "op-1",
            hotline(
                "hotline-20261202-0931",
                "330102-001-001-001-02",
                "王先生",
                "涌金苑门口那盏路灯又不亮了，晚上出来倒垃圾黑乎乎的，老人容易摔跤",
            ),
        )
        .await;
    let east = city
        .report(
            "op-1",
            hotline(
                "hotline-20261202-0947",
                "330102-002-001-001-03",
                "周阿姨",
                "太庙广场东边两盏路灯坏了快一个礼拜，晚上跳舞的人多，看不清台阶",
            ),
        )
        .await;
    // The shard is in the case id: 5c00… and 5c01….
    assert!(west.case_id.starts_with("5c00"), "{}", west.case_id);
    assert!(east.case_id.starts_with("5c01"), "{}", east.case_id);
    for (reported, shard) in [(&west, 0), (&east, 1)] {
        let mut wanted = vec![0, 0];
        wanted[shard] = 1;
        assert_eq!(
            held_by_shard(&store, &reservation(&reported.tracking_code)).await,
            wanted,
            "the reservation of {} is kept in shard {shard} only",
            reported.tracking_code
        );
    }

    // Triage and dispatch follow both shards: each case reaches urban management.
    let inbox = city.department_inbox("urban_mgmt").await;
    for reported in [&west, &east] {
        city.wait_status(&reported.case_id, "dispatched").await;
    }
    let orders = inbox.take(2).await;
    let mut ordered: Vec<&str> = orders.iter().map(|o| o.case_id.as_str()).collect();
    ordered.sort_unstable();
    let mut both = vec![west.case_id.as_str(), east.case_id.as_str()];
    both.sort_unstable();
    assert_eq!(ordered, both);

    // Handled, checked on site by each grid's worker and rated by the resident.
    let urban = Who::Department("urban_mgmt");
    for (reported, worker) in [(&west, "lin-ming"), (&east, "ding-xiaodong")] {
        let case = reported.case_id.as_str();
        city.accept(case, urban, "accept").await;
        city.resolve(case, urban, "resolve").await;
        assert_eq!(
            city.verify(case, worker, true, "check").await.status(),
            common::CaseStatus::Verified
        );
        let rated = city.rate(case, "qr-web", true, "qr-rating").await;
        assert_eq!(rated.status(), common::CaseStatus::Closed);
        let closed = city.wait_written(case, rated.version).await;
        assert_eq!(case_status(&closed), "closed");
        assert_eq!(
            city.status(&reported.tracking_code).await.status(),
            common::CaseStatus::Closed,
            "the status lookup finds {} by its code",
            reported.tracking_code
        );
    }
    // Every event of a case is in its shard, none in the other.
    let west_events = held_by_shard(&store, &west.case_id).await;
    let east_events = held_by_shard(&store, &east.case_id).await;
    assert!(
        west_events[0] >= 7 && west_events[1] == 0,
        "{west_events:?}"
    );
    assert!(
        east_events[1] >= 7 && east_events[0] == 0,
        "{east_events:?}"
    );

    // City-wide views fold both shards.
    let board = city
        .query_as("sup-1")
        .board(BoardRequest {})
        .await
        .unwrap()
        .into_inner();
    let closed_in = |street: &str| {
        board
            .streets
            .iter()
            .find(|s| s.grid_code == street)
            .and_then(|s| s.by_status.get("closed").copied())
            .unwrap_or(0)
    };
    assert_eq!((closed_in("330102-001"), closed_in("330102-002")), (1, 1));
    let heads = store.heads().await.unwrap();
    assert!(heads.iter().all(|head| *head > 0), "{heads:?}");
    assert!(
        board.caught_up_to >= heads.iter().sum::<u64>(),
        "the board reflects {} events of the {heads:?} in the shards",
        board.caught_up_to
    );
    let now = gridcase_runtime::now().as_millis();
    let indicators = city
        .evaluation("sup-1")
        .department_indicators(DepartmentIndicatorsRequest {
            from_ms: now - 3_600_000,
            to_ms: now + 60_000,
        })
        .await
        .unwrap()
        .into_inner();
    let urban_row = indicators
        .departments
        .iter()
        .find(|d| d.department == "urban_mgmt")
        .expect("urban management has indicators");
    assert_eq!((urban_row.dispatched, urban_row.resolved), (2, 2));

    // The query service resumes from each shard's checkpoint: a case reported in shard 1
    // while it is down is there once it is back.
    city.system.stop_service(Service::Query).await.unwrap();
    let later = city
        .report(
            "op-1",
            hotline(
                "hotline-20261202-1015",
                "330102-002-001-002-01",
                "钱师傅",
                "紫阳山公园西边小路的路灯白天一直亮着，晚上反而不亮，浪费电又不安全",
            ),
        )
        .await;
    assert!(later.case_id.starts_with("5c01"));
    city.system.start_service(Service::Query).await.unwrap();
    city.wait_status(&later.case_id, "dispatched").await;
    let west_again = city.case(&west.case_id).await;
    assert_eq!(case_status(&west_again), "closed");

    // Each shard is verified, counted and backed up on its own.
    for (shard, head) in heads.iter().enumerate() {
        let channel = tonic::transport::Endpoint::from_shared(
            city.system.replica_endpoint(Service::Store, shard),
        )
        .unwrap()
        .connect()
        .await
        .unwrap();
        let mut admin =
            StoreAdminClient::with_interceptor(channel, gridcase_testkit::bearer("admin-1"));
        let stats = admin.stats(StatsRequest {}).await.unwrap().into_inner();
        let verified = admin.verify(VerifyRequest {}).await.unwrap().into_inner();
        assert!(
            verified.problems.is_empty(),
            "shard {shard}: {:?}",
            verified.problems
        );
        assert_eq!(verified.events, stats.events, "shard {shard}");
        assert!(stats.events >= *head, "shard {shard}");
    }
    let backups = tempfile::tempdir().unwrap();
    let nats = gridcase_bus::connect(city.system.nats_url()).await.unwrap();
    let shard_1 = StoreClient::new(nats, "1");
    let data = city.system.options().data.clone();
    let backed_up = gridcase::backup::backup_with(&shard_1, &data, &backups.path().join("shard-1"))
        .await
        .unwrap();
    assert_eq!(backed_up.manifest.shard, "1");
    assert!(
        backed_up.manifest.files.is_empty(),
        "the data files go with shard 0"
    );
    assert!(
        gridcase::backup::backup_with(&store, &data, &backups.path().join("all"))
            .await
            .unwrap_err()
            .to_string()
            .contains("one shard at a time")
    );
    let restored_into = tempfile::tempdir().unwrap();
    let restored = gridcase::backup::restore(&backed_up.dir, restored_into.path()).unwrap();
    assert_eq!(restored.events, backed_up.manifest.position);
    assert!(restored_into.path().join("store-1").is_dir());
    assert!(!restored_into.path().join("store").exists());

    city.shut_down().await;
}
