//! A street office on a NATS leaf node (its own JetStream domain) with an intake in office
//! mode, linked to the centre through a line the test cuts and heals. While the line is up,
//! the office reserves blocks of tracking codes at the centre and its reports become cases at
//! once; while it is cut — and across a restart of the office's nats-server — the office goes
//! on acknowledging reports with tracking codes, kept in its own stream; once the line is back,
//! every report reaches the centre exactly once, under the case and code the office gave, with
//! the time the resident reported it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use gridcase_bus::subjects::{office_domain, OFFICE_INBOX_STREAM};
use gridcase_bus::NatsServer;
use gridcase_intake::IntakeOptions;
use gridcase_proto::common::v1::Location;
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::intake::v1::{
    Channel, GetCaseStatusRequest, GetCaseStatusResponse, ReportCaseRequest, ReportCaseResponse,
    Reporter,
};
use gridcase_testkit::{bearer, token_table, wait_until};
use gridcase_tests::link::Link;
use gridcase_tests::{City, CityOptions, WAIT};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;

const CALLERS: &[(&str, &str)] = &[
    ("op-1", "operator:op-1"),
    ("desk-1", "operator:desk-1"),
    ("sup-1", "supervisor:sup-1"),
    ("qr-web", "gateway:qr-web"),
];

/// 清波街道: the street office under test.
const STREET: &str = "330102-001";

/// What residents told the street office's counter, in their own words.
const WORDS: &[(&str, &str)] = &[
    (
        "330102-001-001-001",
        "楼道里的声控灯坏了快一个月了，老人晚上上下楼只能摸黑，麻烦派人来换一下",
    ),
    (
        "330102-001-001-002",
        "小区门口那排共享单车倒了一地，把盲道全堵住了，推婴儿车都过不去",
    ),
    (
        "330102-001-002-001",
        "隔壁装修从早上七点就开始打电钻，周末也不停，家里老人心脏不好实在受不了",
    ),
    (
        "330102-001-001-001",
        "菜场后面那几个垃圾桶三天没人清了，味道很大，苍蝇到处飞",
    ),
    (
        "330102-001-002-001",
        "河坊街拐角那盏路灯一闪一闪的，晚上走那段路心里发毛",
    ),
    (
        "330102-001-001-002",
        "三楼住户把电瓶车推进楼道充电，线从窗户拉下来，看着就吓人",
    ),
    (
        "330102-001-001-001",
        "下雨天小区北门积水到脚脖子，老人出门买菜只能绕远路",
    ),
];

type Client = IntakeClient<InterceptedService<GrpcChannel, gridcase_auth::BearerToken>>;

fn report(request_id: &str, n: usize) -> ReportCaseRequest {
    let (grid, words) = WORDS[n % WORDS.len()];
    ReportCaseRequest {
        client_request_id: request_id.to_owned(),
        channel: Channel::Hotline as i32,
        reporter: Some(Reporter {
            name: "居民".to_owned(),
            phone: format!("1375712{:04}", 900 + n),
        }),
        location: Some(Location {
            grid_code: grid.to_owned(),
            address: format!("清波街{}号", 10 + n),
            coordinates: None,
        }),
        description: words.to_owned(),
        category_code: String::new(),
        media_urls: Vec::new(),
        reported_by_worker: String::new(),
        member_id: String::new(),
    }
}

/// Reports at the office until it answers (it has no code before its first block arrives, nor
/// while its nats-server restarts).
async fn take(office: &Client, request: ReportCaseRequest) -> ReportCaseResponse {
    let started = Instant::now();
    loop {
        match office.clone().report_case(request.clone()).await {
            Ok(reply) => return reply.into_inner(),
            Err(status) => assert!(
                started.elapsed() < WAIT,
                "the office did not take {}: {status:?}",
                request.client_request_id
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The centre's answer about `tracking_code`, once it knows the case.
async fn at_centre(city: &City, tracking_code: &str) -> GetCaseStatusResponse {
    wait_until("an office's report at the centre", WAIT, || async {
        let mut intake = city.intake("op-1");
        let status = intake
            .get_case_status(GetCaseStatusRequest {
                tracking_code: tracking_code.to_owned(),
            })
            .await
            .ok()?;
        Some(status.into_inner())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_street_office_takes_reports_through_a_broken_link_and_each_reaches_the_centre_once() {
    let city = City::start_adjusted(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: "op-1",
            supervisor: "sup-1",
        },
        gridcase_testkit::copy_sample_config,
        |options| {
            options.leaf_port = Some(0);
            options.office_sources = vec![STREET.to_owned()];
        },
    )
    .await;
    // The office's line to the centre's leaf-node port.
    let hub = city.system.leaf_url().expect("the centre takes leaf nodes");
    let hub_addr = hub.rsplit_once('@').map_or(hub.as_str(), |(_, addr)| addr);
    let line = Link::to(hub_addr.parse().unwrap()).await;
    let through_line = hub.replace(hub_addr, &line.addr().to_string());
    let office_data = tempfile::tempdir().unwrap();
    let domain = office_domain(STREET);
    let mut leaf =
        NatsServer::start_leaf(&office_data.path().join("nats"), 0, &domain, &through_line)
            .unwrap_or_else(|e| panic!("the office's leaf node: {e}"));
    let leaf_port = leaf.addr().port();

    // The office's intake, in office mode on the office's leaf node.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let office_addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let office_nats = gridcase_bus::connect(&leaf.url()).await.unwrap();
    let config = gridcase_intake::IntakeConfig::new(
        gridcase_testkit::sample_config_dir(),
        token_table(CALLERS),
    );
    let office_intake = tokio::spawn(gridcase_intake::run_with(
        config,
        IntakeOptions {
            office: Some(STREET.to_owned()),
            office_sources: Vec::new(),
        },
        office_nats,
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    let channel = wait_until("the office's intake to listen", WAIT, || async {
        tonic::transport::Endpoint::from_shared(format!("http://{office_addr}"))
            .ok()?
            .connect()
            .await
            .ok()
    })
    .await;
    let office: Client = IntakeClient::with_interceptor(channel, bearer("desk-1"));

    // The line is up: a report becomes a case at the centre, under the office's code.
    let mut taken = Vec::new();
    for n in 0..3 {
        taken.push(take(&office, report(&format!("desk-online-{n}"), n)).await);
    }
    for acked in &taken {
        let centre = at_centre(&city, &acked.tracking_code).await;
        assert_eq!(centre.case_id, acked.case_id);
    }

    // The line is cut: the office goes on, and the centre does not know of what it takes.
    line.cut();
    let cut_at = Instant::now();
    let mut offline = Vec::new();
    for n in 3..9 {
        offline.push(take(&office, report(&format!("desk-offline-{n}"), n)).await);
    }
    // A clerk's retry of a report gets the same case and code, and is no second report.
    let again = take(&office, report("desk-offline-3", 3)).await;
    assert_eq!(
        (again.case_id.as_str(), again.tracking_code.as_str()),
        (
            offline[0].case_id.as_str(),
            offline[0].tracking_code.as_str()
        )
    );
    assert!(again.already_reported);
    // The office's nats-server restarts while cut off: what it kept is kept, and it goes on.
    leaf.stop();
    leaf = NatsServer::start_leaf(
        &office_data.path().join("nats"),
        leaf_port,
        &domain,
        &through_line,
    )
    .unwrap_or_else(|e| panic!("the office's leaf node again: {e}"));
    for n in 9..11 {
        offline.push(take(&office, report(&format!("desk-offline-{n}"), n)).await);
    }
    let mut intake = city.intake("op-1");
    for acked in &offline {
        let status = intake
            .get_case_status(GetCaseStatusRequest {
                tracking_code: acked.tracking_code.clone(),
            })
            .await;
        assert_eq!(
            status.map(|_| ()).unwrap_err().code(),
            tonic::Code::NotFound,
            "{} reached the centre through a cut line",
            acked.tracking_code
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cut_for = cut_at.elapsed();

    // The line is back: every report the office took arrives, once, as the office answered it.
    line.heal();
    let healed_at_ms = gridcase_runtime::now().as_millis();
    for acked in &offline {
        let centre = at_centre(&city, &acked.tracking_code).await;
        assert_eq!(centre.case_id, acked.case_id);
        assert!(
            centre.reported_at_ms < healed_at_ms,
            "the case keeps the time the resident reported it at the office"
        );
    }
    let all: Vec<&ReportCaseResponse> = taken.iter().chain(&offline).collect();
    let codes: BTreeSet<&str> = all.iter().map(|r| r.tracking_code.as_str()).collect();
    let cases: BTreeSet<&str> = all.iter().map(|r| r.case_id.as_str()).collect();
    assert_eq!(
        (codes.len(), cases.len()),
        (11, 11),
        "no code or case given twice"
    );
    for acked in &all {
        let reported = city
            .stored_events(&acked.case_id)
            .await
            .iter()
            .filter(|event| matches!(event, gridcase_domain::Event::CaseReported(_)))
            .count();
        assert_eq!(reported, 1, "case {} reported once", acked.case_id);
    }
    let admin = gridcase_bus::connect(city.system.nats_url()).await.unwrap();
    let mut inbox = jetstream::new(admin)
        .get_stream(OFFICE_INBOX_STREAM)
        .await
        .unwrap();
    assert_eq!(
        inbox.info().await.unwrap().state.messages,
        11,
        "each report the office took reached the centre's inbox once"
    );
    println!(
        "line cut for {:.1} s; 8 reports taken meanwhile",
        cut_for.as_secs_f64()
    );

    let _ = stop.send(());
    office_intake.await.unwrap().unwrap();
    drop(leaf);
    city.shut_down().await;
}
