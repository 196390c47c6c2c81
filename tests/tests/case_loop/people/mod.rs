//! The people of the grid: special grid members report in their own name and earn points;
//! a community enrols a new member; residents earn points by phone (kept as a key id, never
//! the number); a repeat report earns nothing; two exchanges racing on one account cannot
//! spend the same points; a service order goes from the resident's order to their rating; a
//! visit plan with one overdue visit, warned, then visited with a problem reported in one step.

use gridcase_proto::people::v1::{
    AccountOwner, CancelOrderRequest, CareKind, CompleteOrderRequest, ConfirmOrderRequest,
    DispatchOrderRequest, EnrolHouseholdRequest, EnrolMemberRequest, ExchangePointsRequest,
    GetAccountRequest, ListMembersRequest, ListOrdersRequest, ListServicesRequest, MemberKind,
    OrderActionRequest, OrderStatus, PlaceOrderRequest, RecordVisitRequest, VisitProblem,
};

use gridcase_proto::query::v1::{
    BoardRequest, GetHouseholdContactRequest, PeriodRequest, VisitPlanRequest,
};

use super::*;

mod care;
mod orders;
mod scores;

/// Points rules for these tests: enough per report that a few reports buy an item.
const VALID_REPORT: u64 = 20;
const REPORT_FIXED: u64 = 15;
/// 洗衣液一瓶 in the sample shop.
const DETERGENT: (&str, u64) = ("洗衣液一瓶", 30);

/// [`compressed_config`] with the points of a valid report and a fixed problem raised.
fn generous_points(dir: &Path) {
    compressed_config(dir);
    let path = dir.join("points.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "valid_report = 2\n",
            &format!("valid_report = {VALID_REPORT}\n"),
        )
        .replace(
            "report_fixed = 5\n",
            &format!("report_fixed = {REPORT_FIXED}\n"),
        );
    assert!(text.contains(&format!("valid_report = {VALID_REPORT}\n")));
    assert!(text.contains(&format!("report_fixed = {REPORT_FIXED}\n")));
    std::fs::write(&path, text).unwrap();
}

async fn start_people_city() -> City {
    City::start(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: OPERATOR,
            supervisor: SUPERVISOR,
        },
        generous_points,
    )
    .await
}

fn member(id: &str) -> Option<AccountOwner> {
    Some(AccountOwner {
        member_id: id.to_owned(),
        resident_phone: String::new(),
        reporter_of_case: String::new(),
    })
}

fn resident(phone: &str) -> Option<AccountOwner> {
    Some(AccountOwner {
        member_id: String::new(),
        resident_phone: phone.to_owned(),
        reporter_of_case: String::new(),
    })
}

/// Reads `owner`'s account as the community office until its balance is `balance`.
async fn wait_balance(
    city: &City,
    owner: Option<AccountOwner>,
    balance: u64,
) -> gridcase_proto::people::v1::Account {
    let mut people = city.people(YONGJIN_COMMUNITY);
    wait_until(&format!("a balance of {balance}"), WAIT, || {
        let request = GetAccountRequest {
            owner: owner.clone(),
        };
        let mut people = people.clone();
        async move {
            let account = people.get_account(request).await.unwrap().into_inner();
            (account.balance == balance).then_some(account)
        }
    })
    .await;
    people
        .get_account(GetAccountRequest { owner })
        .await
        .unwrap()
        .into_inner()
}

/// A special member's own report on the special-member channel, without a name or phone.
fn by_member(request_id: &str, grid: &str, description: &str, category: &str) -> ReportCaseRequest {
    ReportCaseRequest {
        channel: ReportChannel::SpecialMember as i32,
        reporter: None,
        category_code: category.to_owned(),
        ..hotline(request_id, grid, description)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_members_report_in_their_own_name_and_earn_points_for_valid_and_fixed_reports() {
    let city = start_people_city().await;
    let report = by_member(
        "courier-app-0001",
        YONGJIN_GRID_1,
        "送件路过清波街口，那个绿色垃圾桶盖子没了，桶身也裂开了，垃圾被风吹得满地都是",
        "BJ-03-02",
    );

    // The special-member channel is a member's own, and a member reports on no other.
    let mut as_hotline = report.clone();
    as_hotline.channel = ReportChannel::Hotline as i32;
    let refused = city
        .intake("sf-zhao-lei")
        .report_case(as_hotline)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused
        .message()
        .starts_with("channel: a special grid member"));
    let refused = city
        .intake(OPERATOR)
        .report_case(report.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused
        .message()
        .starts_with("channel: the special_member channel"));

    // The member's report is a case with the member as its actor, and earns a valid report.
    let reported = city.report("sf-zhao-lei", report).await;
    let case = reported.case_id.as_str();
    let dispatched = city.wait_status(case, "dispatched").await;
    assert_eq!(
        typed_actors(&dispatched)[0],
        ("CaseReported", "member:sf-zhao-lei")
    );
    let account = wait_balance(&city, member("sf-zhao-lei"), VALID_REPORT).await;
    assert_eq!(account.account_id, "member-sf-zhao-lei");
    assert_eq!((account.earned, account.spent), (VALID_REPORT, 0));
    assert_eq!(account.entries.len(), 1);
    let entry = &account.entries[0];
    assert_eq!(
        (
            entry.reason.as_str(),
            entry.points,
            entry.case_id.as_str(),
            entry.actor.as_str()
        ),
        ("valid_report", 20, case, "evaluation:points")
    );

    // Fixed and checked on site: the problem the member reported earns its points too.
    city.accept(case, Who::Department("urban_mgmt"), "accept")
        .await;
    city.resolve(case, Who::Department("urban_mgmt"), "resolve")
        .await;
    city.verify(case, "lin-ming", true, "verify").await;
    let account = wait_balance(&city, member("sf-zhao-lei"), VALID_REPORT + REPORT_FIXED).await;
    let reasons: Vec<(&str, i64, &str)> = account
        .entries
        .iter()
        .map(|e| (e.reason.as_str(), e.points, e.case_id.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [("valid_report", 20, case), ("report_fixed", 15, case)]
    );

    // A member reads their own account, and no one else's.
    let own = city
        .people("sf-zhao-lei")
        .get_account(GetAccountRequest {
            owner: member("sf-zhao-lei"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.balance, 35);
    let other = city
        .people("sf-zhao-lei")
        .get_account(GetAccountRequest {
            owner: member("mt-qian-xiaojun"),
        })
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::PermissionDenied, "{other:?}");

    // Someone not enrolled cannot report as a member; once the community enrols him, he can.
    let courier_report = || {
        by_member(
            "courier-app-0002",
            YONGJIN_GRID_1,
            "涌金路菜场门口的路灯一闪一闪的，晚上骑车过去什么都看不清",
            "",
        )
    };
    let refused = city
        .intake("jd-wu-peng")
        .report_case(courier_report())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("jd-wu-peng is not enrolled"));
    let enrol = |request_id: &str, id: &str, grids: &[&str]| EnrolMemberRequest {
        request_id: request_id.to_owned(),
        member_id: id.to_owned(),
        kind: MemberKind::Courier as i32,
        name: "京东 吴鹏".to_owned(),
        grid_codes: grids.iter().map(|g| (*g).to_owned()).collect(),
    };
    let refused = city
        .people("330102-001-002")
        .enrol_member(enrol("enrol-1", "jd-wu-peng", &[YONGJIN_GRID_1]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let enrolled = city
        .people(YONGJIN_COMMUNITY)
        .enrol_member(enrol("enrol-1", "jd-wu-peng", &[YONGJIN_GRID_1]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(enrolled.community_code, YONGJIN_COMMUNITY);
    assert!(enrolled.enrolled_at_ms > 0 && !enrolled.from_reference_data);
    // The same request again is the same enrolment; another request for the id is refused,
    // and so is an id of the reference data.
    let again = city
        .people(YONGJIN_COMMUNITY)
        .enrol_member(enrol("enrol-1", "jd-wu-peng", &[YONGJIN_GRID_1]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, enrolled);
    for taken in ["jd-wu-peng", "sf-zhao-lei"] {
        let refused = city
            .people(YONGJIN_COMMUNITY)
            .enrol_member(enrol("enrol-2", taken, &[YONGJIN_GRID_1]))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        assert_eq!(
            refused.message(),
            format!("member_id: {taken} is already enrolled")
        );
    }
    let members = city
        .people(YONGJIN_COMMUNITY)
        .list_members(ListMembersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .members;
    let listed: Vec<(&str, bool)> = members
        .iter()
        .map(|m| (m.member_id.as_str(), m.from_reference_data))
        .collect();
    assert_eq!(
        listed,
        [
            ("he-guifang", true),
            ("jd-wu-peng", false),
            ("mt-qian-xiaojun", true),
            ("sf-zhao-lei", true),
            ("xu-lanying", true),
        ]
    );
    let reported = city.report("jd-wu-peng", courier_report()).await;
    city.wait_status(&reported.case_id, "dispatched").await;
    wait_balance(&city, member("jd-wu-peng"), VALID_REPORT).await;
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residents_earn_points_by_phone_and_two_racing_exchanges_cannot_overspend() {
    let city = start_people_city().await;
    const MRS_LI: &str = "13757120001";
    const MR_ZHOU: &str = "13905710002";
    let bin = |request_id: &str, phone: &str, lat: f64| ReportCaseRequest {
        reporter: Some(Reporter {
            name: "李阿姨".to_owned(),
            phone: phone.to_owned(),
        }),
        category_code: "BJ-03-02".to_owned(),
        location: Some(Location {
            grid_code: YONGJIN_GRID_1.to_owned(),
            address: String::new(),
            coordinates: Some(Coordinates { lat, lon: 120.1622 }),
        }),
        ..hotline(request_id, YONGJIN_GRID_1, "路口的垃圾桶破了，垃圾撒了一地")
    };
    // Mrs Li reports the broken bin; Mr Zhou reports the same bin 20 m on: a repeat, merged,
    // which earns him nothing.
    let (first, _) = dispatched_case(&city, bin("console-13-1", MRS_LI, 30.2533)).await;
    let repeat = city
        .report(OPERATOR, bin("console-13-2", MR_ZHOU, 30.25348))
        .await;
    city.wait_status(&repeat.case_id, "merged").await;
    // Her second report, of another problem in another grid, earns again.
    let mut lamp = hotline(
        "console-13-3",
        "330102-001-002-001",
        "清波门小区3幢楼下的路灯坏了一个礼拜了，晚上老人出来散步黑乎乎的",
    );
    lamp.reporter = Some(Reporter {
        name: "李阿姨".to_owned(),
        phone: MRS_LI.to_owned(),
    });
    let (second, _) = dispatched_case(&city, lamp).await;
    let account = wait_balance(&city, resident(MRS_LI), 2 * VALID_REPORT).await;
    assert!(account.account_id.starts_with("resident-"));
    assert!(!account.account_id.contains(MRS_LI) && account.account_id.len() == 41);
    let cases: BTreeSet<&str> = account.entries.iter().map(|e| e.case_id.as_str()).collect();
    assert_eq!(
        cases,
        BTreeSet::from([first.case_id.as_str(), second.case_id.as_str()])
    );
    let zhou = city
        .people(YONGJIN_COMMUNITY)
        .get_account(GetAccountRequest {
            owner: resident(MR_ZHOU),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((zhou.balance, zhou.entries.len()), (0, 0));

    // Two counters of the community's shop exchange her 40 points for a 30-point item at
    // once: one is recorded, the other refused, and the balance never goes below zero.
    let exchange = |request_id: &str| ExchangePointsRequest {
        request_id: request_id.to_owned(),
        owner: resident(MRS_LI),
        item: DETERGENT.0.to_owned(),
    };
    let mut counter_a = city.people(YONGJIN_COMMUNITY);
    let mut counter_b = city.people(YONGJIN_COMMUNITY);
    let (a, b) = tokio::join!(
        counter_a.exchange_points(exchange("counter-a-1")),
        counter_b.exchange_points(exchange("counter-b-1")),
    );
    let (won, lost, winner) = match (a, b) {
        (Ok(won), Err(lost)) => (won.into_inner(), lost, "counter-a-1"),
        (Err(lost), Ok(won)) => (won.into_inner(), lost, "counter-b-1"),
        other => panic!("exactly one exchange must win: {other:?}"),
    };
    assert_eq!(lost.code(), Code::FailedPrecondition, "{lost:?}");
    assert_eq!(
        lost.message(),
        "points: the balance is 10, less than the 30 asked"
    );
    let after = won.account.unwrap();
    assert_eq!(
        (after.balance, after.earned, after.spent),
        (10, 40, DETERGENT.1)
    );
    let last = after.entries.last().unwrap();
    assert_eq!(
        (
            last.reason.as_str(),
            last.points,
            last.item.as_str(),
            last.community_code.as_str()
        ),
        ("exchange", -30, DETERGENT.0, YONGJIN_COMMUNITY)
    );
    assert_eq!(last.actor, "community:330102-001-001:secretary-1");
    // The winning request again is the same exchange, not a second one.
    let retried = counter_a
        .exchange_points(exchange(winner))
        .await
        .unwrap()
        .into_inner();
    assert!(retried.already_exchanged);
    assert_eq!(retried.account.unwrap().balance, 10);
    city.shut_down().await;
}
