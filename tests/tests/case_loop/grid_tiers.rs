//! The grid decides (seed 004: "一般问题由网格员自办自结；需协调的…'点对点'推送至职能部门"; seed
//! 000: "小事不出网格、大事不出社区"): a case in a grid waits in its grid worker's inbox, and the
//! worker settles it, pushes it to a department or hands it up to the community; the community
//! settles it or hands it to its street.

use gridcase_proto::dispatch::v1::{ReferRequest, WorkOrder};
use gridcase_proto::query::v1::{ListInboxReply, ListInboxRequest, SettlementIndicatorsRequest};

use super::*;

const LIN_MING: Who<'static> = Who::Worker("lin-ming");
const COMMUNITY: Who<'static> = Who::Community(YONGJIN_COMMUNITY);
const STREET: Who<'static> = Who::Street(LIULANG_STREET);

/// A grid worker's report from patrol in their grid, with the category they picked.
fn patrol(worker: &str, request_id: &str, category: &str, description: &str) -> ReportCaseRequest {
    ReportCaseRequest {
        client_request_id: request_id.to_owned(),
        channel: ReportChannel::GridWorker as i32,
        reporter: None,
        location: Some(Location {
            grid_code: YONGJIN_GRID_1.to_owned(),
            address: "南山路218号院".to_owned(),
            coordinates: None,
        }),
        description: description.to_owned(),
        category_code: category.to_owned(),
        media_urls: vec!["https://media.example.cn/patrol.jpg".to_owned()],
        reported_by_worker: worker.to_owned(),
        member_id: String::new(),
    }
}

/// `who`'s inbox once it holds exactly `cases`.
async fn inbox_with(city: &City, who: Who<'_>, cases: &[&str]) -> ListInboxReply {
    let mut wanted: Vec<&str> = cases.to_vec();
    wanted.sort_unstable();
    wait_until(
        &format!("{}'s inbox to hold {cases:?}", who.name()),
        WAIT,
        || async {
            let inbox = city.inbox(who).await;
            let mut held: Vec<&str> = inbox
                .items
                .iter()
                .filter_map(|item| item.case.as_ref())
                .map(|case| case.case_id.as_str())
                .collect();
            held.sort_unstable();
            (held == wanted && inbox.total == cases.len() as u64).then_some(inbox.clone())
        },
    )
    .await
}

/// The one `CaseReferred` entry of the timeline: its actor, summary and time.
fn referral(reply: &GetCaseReply) -> (&str, &str, i64) {
    let entries: Vec<_> = reply
        .timeline
        .iter()
        .filter(|e| e.event_type == "CaseReferred")
        .collect();
    assert_eq!(entries.len(), 1, "{:?}", event_types(reply));
    let entry = entries[0];
    (
        entry.actor.as_str(),
        entry.summary.as_str(),
        entry.recorded_at_ms,
    )
}

fn assignee(reply: &GetCaseReply) -> &str {
    reply.case.as_ref().map_or("", |c| c.assignee.as_str())
}

async fn wait_assignee(city: &City, case: &str, wanted: &str) -> GetCaseReply {
    city.wait_case(case, &format!("dispatched to {wanted}"), |reply| {
        assignee(reply) == wanted && case_status(reply) == "dispatched"
    })
    .await
}

fn order_for(order: &WorkOrder) -> (&str, &str, &str, &str) {
    (
        order.department.as_str(),
        order.grid_worker.as_str(),
        order.community.as_str(),
        order.street.as_str(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grid_worker_decides_and_pushes_a_case_point_to_point() {
    let city = start_city().await;
    // Industrial noise is no matter a grid settles, but lin-ming found it on patrol: the case
    // waits for lin-ming's call, with the catalogue's department as the suggestion.
    let reported = city
        .report(
            "lin-ming",
            patrol(
                "lin-ming",
                "app-lin-ming-0101",
                COMPRESSED_CATEGORY,
                "厂房后面那台大风机从早上六点一直轰，隔着两条街都听得到，居民说晚上也不停",
            ),
        )
        .await;
    let case = reported.case_id.as_str();
    let app = city.worker_inbox("lin-ming").await;
    let order = app.take_one().await;
    assert_eq!(order.case_id, case);
    assert_eq!(order_for(&order), ("", "lin-ming", "", ""));
    assert_eq!(order.suggestion, "push");
    assert_eq!(order.suggested_department, "ecology_env");

    let inbox = inbox_with(&city, LIN_MING, &[case]).await;
    assert_eq!(inbox.handler, "grid_worker:lin-ming");
    let item = &inbox.items[0];
    assert_eq!(item.suggestion, "push");
    assert_eq!(item.suggested_department, "ecology_env");
    assert!(!item.accepted);
    let waiting = item.case.as_ref().unwrap();
    assert_eq!(waiting.assignee, "worker lin-ming");
    assert!(
        waiting.accept_deadline_ms > 0,
        "the worker's call has a deadline"
    );

    // Another worker of the same grid neither reads lin-ming's inbox nor acts on the case.
    let denied = city
        .query_as("chen-lijuan")
        .list_inbox(ListInboxRequest {
            handler: "grid_worker:lin-ming".to_owned(),
            ..ListInboxRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let refused = city
        .dispatch("chen-lijuan")
        .refer(ReferRequest {
            actor: Some(Who::Worker("chen-lijuan").actor(case, "push")),
            department: "ecology_env".to_owned(),
            participants: vec![],
            up: false,
            reason: "不归网格管".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(
        refused.message().contains("is not the assignee"),
        "{refused:?}"
    );
    assert_eq!(city.inbox(Who::Worker("chen-lijuan")).await.total, 0);

    // lin-ming pushes it point-to-point (直通).
    let reply = city
        .refer(
            case,
            LIN_MING,
            "ecology_env",
            "工业噪声归生态环境局执法，现场已录视频，点对点推送",
            "push",
        )
        .await;
    assert_eq!(reply.status(), common::CaseStatus::Triaged);
    let department = city.department_inbox("ecology_env").await;
    let order = department.take_one().await;
    assert_eq!(order_for(&order), ("ecology_env", "", "", ""));
    assert_eq!(order.suggestion, "", "a department accepts or returns");

    let dispatched = wait_assignee(&city, case, "department ecology_env").await;
    let (actor, summary, referred_at) = referral(&dispatched);
    assert_eq!(actor, "grid_worker:lin-ming");
    assert_eq!(
        summary,
        "referred by worker lin-ming to department ecology_env: \
         工业噪声归生态环境局执法，现场已录视频，点对点推送"
    );
    // The department's deadlines are its own, counted from the push, not from the report.
    assert_eq!(
        order.accept_deadline_ms,
        referred_at + millis(COMPRESSED_ACCEPT)
    );
    assert_eq!(
        order.resolve_deadline_ms,
        referred_at + millis(COMPRESSED_RESOLVE)
    );
    inbox_with(&city, LIN_MING, &[]).await;
    inbox_with(&city, Who::Department("ecology_env"), &[case]).await;
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matter_the_grid_cannot_settle_goes_up_to_the_community_which_settles_it() {
    let city = start_city().await;
    // Help for a resident in difficulty: the catalogue suggests civil affairs, but lin-ming
    // knows the community can arrange it sooner, and makes the call (大事不出社区).
    let reported = city
        .report(
            "lin-ming",
            patrol(
                "lin-ming",
                "app-lin-ming-0102",
                "SJ-07-05",
                "3号楼独居的李奶奶前天在家摔了一跤，腿肿着下不了楼，儿女都在外地，吃饭都成问题",
            ),
        )
        .await;
    let case = reported.case_id.as_str();
    let inbox = inbox_with(&city, LIN_MING, &[case]).await;
    assert_eq!(inbox.items[0].suggestion, "push");
    assert_eq!(inbox.items[0].suggested_department, "civil_affairs");

    city.accept(case, LIN_MING, "accept").await;
    city.refer(
        case,
        LIN_MING,
        "",
        "老人需要有人每天上门送饭照看，网格解决不了，请社区安排志愿者统筹",
        "hand-up",
    )
    .await;
    let office = city.office_inbox("community", YONGJIN_COMMUNITY).await;
    let order = office.take_one().await;
    assert_eq!(order.case_id, case);
    assert_eq!(order_for(&order), ("", "", YONGJIN_COMMUNITY, ""));
    assert_eq!(
        order.suggestion, "push",
        "the community may still push it to civil affairs"
    );
    let dispatched = wait_assignee(&city, case, "community 330102-001-001").await;
    let (actor, summary, _) = referral(&dispatched);
    assert_eq!(actor, "grid_worker:lin-ming");
    assert!(
        summary.starts_with("referred by worker lin-ming to community 330102-001-001: "),
        "{summary}"
    );
    let inbox = inbox_with(&city, COMMUNITY, &[case]).await;
    assert_eq!(inbox.handler, "community:330102-001-001");

    // The community settles it; the grid's other worker checks on site; the resident is rung.
    assert_eq!(
        city.accept(case, COMMUNITY, "accept").await.status(),
        common::CaseStatus::Accepted
    );
    assert_eq!(
        city.resolve(case, COMMUNITY, "settled").await.status(),
        common::CaseStatus::Resolved
    );
    city.verify(case, "chen-lijuan", true, "check").await;
    city.rate(case, OPERATOR, true, "callback").await;
    let closed = city.wait_status(case, "closed").await;
    let actors = typed_actors(&closed);
    for expected in [
        ("CaseReferred", "grid_worker:lin-ming"),
        ("DispatchAccepted", "community:330102-001-001:secretary-1"),
        ("CaseResolved", "community:330102-001-001:secretary-1"),
    ] {
        assert!(actors.contains(&expected), "{expected:?} in {actors:?}");
    }
    inbox_with(&city, COMMUNITY, &[]).await;

    // A small matter lin-ming settles on the spot (自办自结), in the same grid.
    let small = city
        .report(
            "lin-ming",
            patrol(
                "lin-ming",
                "app-lin-ming-0103",
                "SJ-01-04",
                "单元门口堆了一堆装修剩下的木板，推婴儿车过不去",
            ),
        )
        .await;
    let small = small.case_id.as_str();
    let inbox = inbox_with(&city, LIN_MING, &[small]).await;
    assert_eq!(inbox.items[0].suggestion, "settle");
    city.accept(small, LIN_MING, "accept").await;
    city.resolve(small, LIN_MING, "settled").await;
    city.verify(small, "chen-lijuan", true, "check").await;
    city.rate(small, OPERATOR, true, "callback").await;
    city.wait_status(small, "closed").await;

    // Two closed cases in the grid: one settled in the grid, both within the community.
    let day = 86_400_000;
    let settlement = |level: &str| {
        let request = SettlementIndicatorsRequest {
            from_ms: now_ms() - day,
            to_ms: now_ms() + day,
            level: level.to_owned(),
        };
        let mut client = city.query();
        async move {
            client
                .settlement_indicators(request)
                .await
                .unwrap()
                .into_inner()
                .areas
        }
    };
    for (level, area, name) in [
        ("grid", YONGJIN_GRID_1, "涌金社区第一网格"),
        ("community", YONGJIN_COMMUNITY, "涌金社区"),
        ("street", LIULANG_STREET, "柳浪街道"),
    ] {
        let areas = settlement(level).await;
        assert_eq!(areas.len(), 1, "{level}: {areas:?}");
        let row = &areas[0];
        assert_eq!(
            (row.grid_code.as_str(), row.name.as_str()),
            (area, name),
            "{level}"
        );
        assert_eq!(
            (row.closed, row.settled_in_grid, row.settled_in_community),
            (2, 1, 2),
            "{level}"
        );
        assert_eq!((row.grid_share, row.community_share), (0.5, 1.0), "{level}");
    }
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_community_case_from_the_hotline_climbs_to_the_street_one_tier_at_a_time() {
    let city = start_city().await;
    // A dispute with the property company: the catalogue gives it to the community first.
    let mut request = hotline(
        "hotline-0103",
        YONGJIN_GRID_1,
        "小区物业半年没人管了，电梯坏了一个月不修，业委会找物业也不理，物业费倒是照收",
    );
    request.category_code = "SJ-08-01".to_owned();
    let reported = city.report(OPERATOR, request).await;
    let case = reported.case_id.as_str();
    let dispatched = wait_assignee(&city, case, "community 330102-001-001").await;
    assert_eq!(
        dispatched.case.as_ref().unwrap().route,
        "community 330102-001-001"
    );
    let order = city
        .office_inbox("community", YONGJIN_COMMUNITY)
        .await
        .take_one()
        .await;
    assert_eq!(order.suggestion, "settle");

    // A grid worker cannot skip the community, nor a street hand a case it does not hold.
    let skipped = city
        .dispatch("330102-001")
        .refer(ReferRequest {
            actor: Some(STREET.actor(case, "grab")),
            department: "housing".to_owned(),
            participants: vec![],
            up: false,
            reason: "街道直接派".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(skipped.code(), Code::PermissionDenied, "{skipped:?}");

    city.refer(
        case,
        COMMUNITY,
        "",
        "涉及物业退出和业委会改选，社区协调不了，报街道",
        "hand-up",
    )
    .await;
    let office = city.office_inbox("street", LIULANG_STREET).await;
    let order = office.take_one().await;
    assert_eq!(order_for(&order), ("", "", "", LIULANG_STREET));
    wait_assignee(&city, case, "street 330102-001").await;

    // The street is the top tier: it pushes to departments, never further up.
    let top = city
        .dispatch("330102-001")
        .refer(ReferRequest {
            actor: Some(STREET.actor(case, "up")),
            department: String::new(),
            participants: vec![],
            up: true,
            reason: "再往上报".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(top.code(), Code::InvalidArgument, "{top:?}");
    assert!(
        top.message().starts_with("up: a street is the top"),
        "{top:?}"
    );
    city.refer(
        case,
        STREET,
        "housing",
        "物业企业资质和服务问题，转住建部门查处",
        "push",
    )
    .await;
    let reply = wait_assignee(&city, case, "department housing").await;
    let referrals: Vec<&str> = reply
        .timeline
        .iter()
        .filter(|e| e.event_type == "CaseReferred")
        .map(|e| e.actor.as_str())
        .collect();
    assert_eq!(
        referrals,
        [
            "community:330102-001-001:secretary-1",
            "street:330102-001:office-1"
        ]
    );
    city.shut_down().await;
}
