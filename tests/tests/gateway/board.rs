//! Community boards: a street's public page of each community's monthly figures, after
//! residents' reports went through the whole loop — counts, category and department names,
//! and never a reporter's name, phone or words.

use gridcase_gateway::board::Month;
use gridcase_proto::common::v1::Location;
use gridcase_proto::intake::v1::{Channel as ReportChannel, ReportCaseRequest, Reporter};
use gridcase_proto::query::v1::{CommunityFigures, PublicBoardRequest};
use gridcase_testkit::wait_until;
use gridcase_tests::{Who, WAIT};

use super::*;

const LIULANG_STREET: &str = "330102-001";
const YONGJIN_COMMUNITY: &str = "330102-001-001";
const QINGBOMEN_COMMUNITY: &str = "330102-001-002";

/// What residents told the hotline: `(request id, grid, category, their words)`; an empty
/// category is left to triage's rules.
const REPORTS: &[(&str, &str, &str, &str)] = &[
    (
        "console-2-000101",
        "330102-001-001-001-02",
        "",
        "涌金苑门口的路灯不亮好几天了，晚上很黑",
    ),
    (
        "console-2-000102",
        "330102-001-001-001-03",
        "SJ-01-04",
        "南山路218号院楼道口堆满了旧家具和纸箱，老人上下楼很不方便",
    ),
    (
        "console-2-000103",
        "330102-001-001-002-01",
        "BJ-01-02",
        "定安新村3幢旁边的下水道井盖松动了，踩上去咣当响",
    ),
    (
        "console-2-000104",
        "330102-001-002-001",
        "SJ-09-02",
        "楼下烧烤店油烟味太大，晚上窗户都不敢开",
    ),
];

const REPORTER_NAMES: [&str; 4] = ["王建国", "李秀英", "张卫东", "刘芳"];
const REPORTER_PHONES: [&str; 4] = ["13812345678", "13923456789", "13734567890", "15845678901"];

fn hotline(index: usize) -> ReportCaseRequest {
    let (request_id, grid, category, words) = REPORTS[index];
    ReportCaseRequest {
        client_request_id: request_id.to_owned(),
        channel: ReportChannel::Hotline as i32,
        reporter: Some(Reporter {
            name: REPORTER_NAMES[index].to_owned(),
            phone: REPORTER_PHONES[index].to_owned(),
        }),
        location: Some(Location {
            grid_code: grid.to_owned(),
            address: String::new(),
            coordinates: None,
        }),
        description: words.to_owned(),
        category_code: category.to_owned(),
        media_urls: Vec::new(),
        reported_by_worker: String::new(),
        member_id: String::new(),
    }
}

/// The community's section of the board page.
fn section<'a>(page: &'a str, community: &str) -> &'a str {
    let start = page
        .find(&format!("<section id=\"c-{community}\">"))
        .unwrap_or_else(|| panic!("no section of {community} in\n{page}"));
    let rest = &page[start..];
    &rest[..rest.find("</section>").unwrap()]
}

/// The cells of the table row headed `label`.
fn row(section: &str, label: &str) -> Vec<String> {
    let start = section
        .find(&format!("<tr><th>{label}</th>"))
        .unwrap_or_else(|| panic!("no row {label} in\n{section}"));
    let rest = &section[start..];
    rest[..rest.find("</tr>").unwrap()]
        .split("<td>")
        .skip(1)
        .map(|cell| cell.trim_end_matches("</td>").to_owned())
        .collect()
}

/// `this` in the column of the month the cases were reported in, `other` in the other one.
fn by_month(column: usize, this: &str, other: &str) -> Vec<String> {
    let mut cells = vec![other.to_owned(), other.to_owned()];
    this.clone_into(&mut cells[column]);
    cells
}

#[tokio::test(flavor = "multi_thread")]
async fn a_street_board_counts_each_communitys_cases_without_personal_data() {
    let city = city().await;
    let http = http();
    let base = base(&city);

    // An unknown area, and a grid (boards are for streets and communities), are not found.
    for area in ["330102-009", "330102-001-001-001", "nonsense"] {
        let reply = http
            .get(format!("{base}/board/{area}"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 404, "{area}");
        assert!(reply
            .text()
            .await
            .unwrap()
            .contains("没有这个街道或社区的公示栏"));
    }

    let mut cases = Vec::new();
    for index in 0..REPORTS.len() {
        cases.push(city.report("op-1", hotline(index)).await.case_id);
    }
    let lamp = cases[0].as_str();

    // The street lamp goes to the city management bureau, which fixes it; the grid worker
    // checks on site and the resident is satisfied.
    let dispatched = city.wait_status(lamp, "dispatched").await;
    let summary = dispatched.case.unwrap();
    assert_eq!(summary.category, "BJ-01-07");
    assert_eq!(summary.assignee, "department urban_mgmt");
    let bureau = Who::Department("urban_mgmt");
    city.accept(lamp, bureau, "accept").await;
    city.resolve(lamp, bureau, "fixed").await;
    city.verify(lamp, "lin-ming", true, "check-1").await;
    city.rate(lamp, "op-1", true, "callback-1").await;
    city.wait_status(lamp, "closed").await;
    for case in &cases[1..] {
        city.case(case).await;
    }

    // The gateway keeps a board for a minute: view it only once query counts everything, so
    // the first view — the one this test reads — is already complete.
    let reported_month = Month::containing(summary.reported_at_ms, 480)
        .unwrap()
        .month;
    let figures = |reply: &gridcase_proto::query::v1::PublicBoardReply, code: &str| {
        reply
            .communities
            .iter()
            .find(|c| c.community_code == code)
            .cloned()
            .unwrap_or_default()
    };
    wait_until("query to count the street's cases", WAIT, || async {
        let month = Month::containing(summary.reported_at_ms, 480).unwrap();
        let reply = city
            .query()
            .public_board(PublicBoardRequest {
                area_code: LIULANG_STREET.to_owned(),
                from_ms: month.from_ms,
                to_ms: month.to_ms,
            })
            .await
            .map_err(|status| status.to_string())?
            .into_inner();
        let yongjin: CommunityFigures = figures(&reply, YONGJIN_COMMUNITY);
        let qingbomen = figures(&reply, QINGBOMEN_COMMUNITY);
        if yongjin.reported == 3
            && yongjin.closed == 1
            && yongjin.ratings == 1
            && yongjin.departments.len() == 1
            && qingbomen.reported == 1
        {
            Ok(())
        } else {
            Err(format!("{yongjin:?} {qingbomen:?}"))
        }
    })
    .await;

    let reply = http
        .get(format!("{base}/board/{LIULANG_STREET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let page = reply.text().await.unwrap();
    assert!(page.contains("柳浪街道"), "{page}");
    let column = usize::from(!page.contains(&format!("本月（{reported_month}月）")));

    let yongjin = section(&page, YONGJIN_COMMUNITY);
    assert!(yongjin.contains("<h2>涌金社区</h2>"));
    assert_eq!(row(yongjin, "反映问题"), by_month(column, "3", "0"));
    assert_eq!(row(yongjin, "已办结"), by_month(column, "1", "0"));
    assert_eq!(
        row(yongjin, "按时办结"),
        by_month(column, "1（100%）", "0（—）")
    );
    assert_eq!(
        row(yongjin, "群众满意"),
        by_month(column, "1/1（100%）", "暂无评价")
    );
    for category in ["路灯 1 件", "乱堆物堆料 1 件", "污水井盖 1 件"] {
        assert!(yongjin.contains(category), "{category}\n{yongjin}");
    }
    assert!(
        yongjin.contains("清河区城市管理局（综合行政执法局） 按时 1/1（100%）"),
        "{yongjin}"
    );

    let qingbomen = section(&page, QINGBOMEN_COMMUNITY);
    assert!(qingbomen.contains("<h2>清波门社区</h2>"));
    assert_eq!(row(qingbomen, "反映问题"), by_month(column, "1", "0"));
    assert_eq!(row(qingbomen, "已办结"), by_month(column, "0", "0"));
    assert!(qingbomen.contains("废气异味 1 件"), "{qingbomen}");

    // No reporter, no phone (whole or masked), no resident's words.
    for (index, (_, _, _, words)) in REPORTS.iter().enumerate() {
        let phone = REPORTER_PHONES[index];
        let masked = format!("{}****{}", &phone[..3], &phone[7..]);
        for private in [REPORTER_NAMES[index], phone, masked.as_str(), words] {
            assert!(!page.contains(private), "the board shows {private}");
        }
    }
    for fragment in ["晚上很黑", "旧家具", "咣当响", "烧烤店"] {
        assert!(!page.contains(fragment), "the board shows {fragment}");
    }

    // A community's own board, first viewed now, shows the same figures.
    let community = http
        .get(format!("{base}/board/{YONGJIN_COMMUNITY}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        row(section(&community, YONGJIN_COMMUNITY), "反映问题"),
        by_month(column, "3", "0")
    );
    assert!(!community.contains(QINGBOMEN_COMMUNITY));

    // Without query a board not yet kept says the system is busy, with the hotline.
    let mut city = city;
    city.system.stop_service(Service::Query).await.unwrap();
    let reply = http
        .get(format!("{base}/board/330102-002"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 503);
    assert!(reply.text().await.unwrap().contains("12345"));
    city.shut_down().await;
}
