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

/// [`generous_points`] with the ranking minimums lowered to this test's handful of cases.
fn small_rankings(dir: &Path) {
    generous_points(dir);
    let path = dir.join("indicators.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("min_cases_for_ranking = 10", "min_cases_for_ranking = 3")
        .replace("min_activity = 5", "min_activity = 3");
    assert!(text.contains("min_activity = 3") && text.contains("min_cases_for_ranking = 3"));
    std::fs::write(&path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grid_workers_communities_and_streets_are_scored_from_their_cases() {
    let city = City::start(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: OPERATOR,
            supervisor: SUPERVISOR,
        },
        small_rankings,
    )
    .await;
    let from_ms = now_ms();
    // chen-lijuan finds two small matters on patrol and settles them; lin-ming checks them.
    let mut settled = Vec::new();
    for (n, (micro_grid, words)) in [
        (
            "330102-001-001-001-03",
            "南山路218号院3号楼楼道口堆了好几捆旧纸板，人过不去",
        ),
        (
            "330102-001-001-001-01",
            "涌金公寓地下车库入口两边堆满了装修垃圾袋",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let reported = city
            .report(
                "chen-lijuan",
                ReportCaseRequest {
                    client_request_id: format!("app-chen-lijuan-score-{n}"),
                    channel: ReportChannel::GridWorker as i32,
                    reporter: None,
                    category_code: "SJ-01-04".to_owned(),
                    reported_by_worker: "chen-lijuan".to_owned(),
                    ..hotline("", micro_grid, words)
                },
            )
            .await;
        let case = reported.case_id;
        city.wait_status(&case, "dispatched").await;
        let worker = Who::Worker("chen-lijuan");
        city.accept(&case, worker, "accept").await;
        city.resolve(&case, worker, "done").await;
        city.verify(&case, "lin-ming", true, "check").await;
        settled.push(case);
    }
    // The first is rated satisfied, the second resolved but not satisfying.
    city.rate(&settled[0], OPERATOR, true, "callback").await;
    let mut evaluation = city.evaluation(OPERATOR);
    evaluation
        .record_rating(gridcase_proto::evaluation::v1::RecordRatingRequest {
            case_id: settled[1].clone(),
            resolved: true,
            satisfied: false,
            score: 3,
            comment: "清是清走了，就是拖了两天".to_owned(),
            request_id: "callback".to_owned(),
        })
        .await
        .unwrap();
    // A resident's call in the same grid goes to urban_mgmt; lin-ming checks it; satisfied.
    let (bin, _) = dispatched_case(
        &city,
        ReportCaseRequest {
            category_code: "BJ-03-02".to_owned(),
            ..hotline(
                "console-13-scores",
                YONGJIN_GRID_1,
                "涌金路口那个垃圾桶的盖子被人拿走了，苍蝇蚊子到处飞",
            )
        },
    )
    .await;
    city.accept(&bin.case_id, Who::Department("urban_mgmt"), "accept")
        .await;
    city.resolve(&bin.case_id, Who::Department("urban_mgmt"), "resolve")
        .await;
    city.verify(&bin.case_id, "lin-ming", true, "check").await;
    city.rate(&bin.case_id, OPERATOR, true, "callback").await;
    for case in settled.iter().chain([&bin.case_id]) {
        city.wait_status(case, "closed").await;
    }
    let to_ms = now_ms() + 1;

    let mut query = city.query_as(YONGJIN_COMMUNITY);
    let workers = query
        .grid_worker_indicators(gridcase_proto::query::v1::PeriodRequest { from_ms, to_ms })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(workers.min_activity, 3);
    let row = |id: &str| {
        workers
            .workers
            .iter()
            .find(|w| w.worker_id == id)
            .unwrap()
            .clone()
    };
    let chen = row("chen-lijuan");
    assert_eq!(
        (
            chen.found_on_patrol,
            chen.settled_in_grid,
            chen.checks,
            chen.ratings,
            chen.satisfied
        ),
        (2, 2, 0, 3, 2)
    );
    assert_eq!(
        (chen.name.as_str(), chen.grid_name.as_str()),
        ("陈丽娟", "涌金社区第一网格")
    );
    // 0.3 × 2/3 + 0.2 × 0 (no check) + 0.1 × 0 (no visit) + 0.2 × 2/2 + 0.2 × 2/2
    assert!(
        (chen.score - (0.3 * 2.0 / 3.0 + 0.4)).abs() < 1e-9,
        "{chen:?}"
    );
    let lin = row("lin-ming");
    assert_eq!(
        (
            lin.found_on_patrol,
            lin.settled_in_grid,
            lin.checks,
            lin.checks_on_time
        ),
        (0, 0, 3, 3)
    );
    assert_eq!(
        (lin.on_time_check_rate, lin.ratings, lin.satisfied),
        (Some(1.0), 3, 2)
    );
    // 0.3 × 2/3 + 0.2 × 1
    assert!(
        (lin.score - (0.3 * 2.0 / 3.0 + 0.2)).abs() < 1e-9,
        "{lin:?}"
    );
    let ranked: Vec<(&str, u32)> = workers
        .workers
        .iter()
        .filter(|w| w.rank > 0)
        .map(|w| (w.worker_id.as_str(), w.rank))
        .collect();
    assert_eq!(ranked, [("chen-lijuan", 1), ("lin-ming", 2)]);

    for (level, code) in [("community", YONGJIN_COMMUNITY), ("street", LIULANG_STREET)] {
        let areas = query
            .area_indicators(gridcase_proto::query::v1::SettlementIndicatorsRequest {
                from_ms,
                to_ms,
                level: level.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(areas.areas.len(), 1, "{areas:?}");
        let area = &areas.areas[0];
        assert_eq!(area.grid_code, code);
        assert_eq!(
            (
                area.cases,
                area.closed,
                area.ratings,
                area.satisfied,
                area.resolved
            ),
            (3, 3, 3, 2, 3)
        );
        assert_eq!(
            (area.settled_in_grid, area.settled_in_community, area.rank),
            (2, 2, 1)
        );
        assert_eq!(area.grid_share, Some(2.0 / 3.0));
    }

    // The month's report, as CSV, from the same services.
    let (month, csv) = month_report(&city).await;
    let lines: Vec<&str> = csv.lines().collect();
    let at = lines
        .iter()
        .position(|line| *line == format!("grid workers,{month}"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert_eq!(
        lines[at + 1],
        "rank,worker,name,grid,found on patrol,settled in grid,checks,on time,visits,visits on time,ratings,satisfied,score"
    );
    assert_eq!(
        lines[at + 2],
        "1,chen-lijuan,陈丽娟,涌金社区第一网格,2,2,0,—,0,—,3,66.7%,0.600"
    );
    assert_eq!(
        lines[at + 3],
        "2,lin-ming,林明,涌金社区第一网格,0,0,3,100.0%,0,—,3,66.7%,0.400"
    );
    assert!(
        lines.contains(&format!("communities,{month}").as_str()),
        "{csv}"
    );
    assert!(
        lines.contains(&"1,330102-001-001,涌金社区,3,3,3,66.7%,100.0%,66.7%,66.7%"),
        "{csv}"
    );
    assert!(
        lines.contains(&format!("departments,{month}").as_str()),
        "{csv}"
    );
    city.shut_down().await;
}

/// points.toml's order_completed.
const ORDER_COMPLETED: u64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_order_goes_from_the_residents_order_to_their_rating_and_the_member_earns_points()
{
    let city = start_people_city().await;
    let services = city
        .people(YONGJIN_COMMUNITY)
        .list_services(ListServicesRequest {})
        .await
        .unwrap()
        .into_inner()
        .services;
    let escort = services.iter().find(|s| s.code == "escort").unwrap();
    assert_eq!(
        (escort.name.as_str(), escort.dispatch_within_hours),
        ("助老陪诊", 8)
    );

    // 群众点单: the hotline takes Mrs Li's order; the retry of the same request is the same order.
    let phone = "13805710432";
    let place = PlaceOrderRequest {
        request_id: "hotline-order-0001".to_owned(),
        service_code: "escort".to_owned(),
        grid_code: YONGJIN_GRID_1.to_owned(),
        resident_phone: phone.to_owned(),
        details: "我腿脚不好，周四上午要去市一医院复查，孩子都在外地，想请人陪我去一趟".to_owned(),
    };
    let placed = city
        .people(OPERATOR)
        .place_order(place.clone())
        .await
        .unwrap()
        .into_inner();
    let again = city
        .people(OPERATOR)
        .place_order(place)
        .await
        .unwrap()
        .into_inner();
    assert!(!placed.repeated && again.repeated);
    let order = placed.order.unwrap();
    assert_eq!(again.order.unwrap().order_id, order.order_id);
    assert_eq!(order.status, OrderStatus::Placed as i32);
    assert_eq!(order.community_code, YONGJIN_COMMUNITY);
    assert_eq!(order.dispatch_due_ms - order.placed_at_ms, 8 * 3_600_000);
    assert_eq!(order.complete_due_ms - order.placed_at_ms, 72 * 3_600_000);
    assert!(!order.dispatch_overdue);
    let id = order.order_id.clone();

    // 社区派单: to a volunteer of the community, not to a building head, and not by another
    // community's office.
    let dispatch = |member: &str| DispatchOrderRequest {
        request_id: format!("dispatch-{member}"),
        order_id: id.clone(),
        member_id: member.to_owned(),
    };
    let refused = city
        .people(YONGJIN_COMMUNITY)
        .dispatch_order(dispatch("he-guifang"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused
        .message()
        .contains("orders go to party members and volunteers"));
    let refused = city
        .people("330102-001-002")
        .dispatch_order(dispatch("xu-lanying"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let dispatched = city
        .people(YONGJIN_COMMUNITY)
        .dispatch_order(dispatch("xu-lanying"))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    assert_eq!(dispatched.status, OrderStatus::Dispatched as i32);
    assert_eq!(dispatched.member_id, "xu-lanying");

    // 党员接单: only the member it is given to takes it on and completes it.
    let action = |request_id: &str| OrderActionRequest {
        request_id: request_id.to_owned(),
        order_id: id.clone(),
    };
    let refused = city
        .people("he-guifang")
        .accept_order(action("accept-1"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(
        refused.message(),
        "member_id: the order is given to xu-lanying, not he-guifang"
    );
    let complete = CompleteOrderRequest {
        request_id: "complete-1".to_owned(),
        order_id: id.clone(),
        note: "陪李阿姨做完检查，取了药送到家，医生说下个月再复查".to_owned(),
    };
    let refused = city
        .people("xu-lanying")
        .complete_order(complete.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused
        .message()
        .contains("only an accepted order can be completed"));
    city.people("xu-lanying")
        .accept_order(action("accept-1"))
        .await
        .unwrap();
    let completed = city
        .people("xu-lanying")
        .complete_order(complete)
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    assert_eq!(completed.status, OrderStatus::Completed as i32);
    assert!(!completed.completion_overdue);

    // The resident confirms and rates, with the phone she ordered with; the volunteer earns
    // points for it, once.
    let confirm = |phone: &str| ConfirmOrderRequest {
        request_id: "confirm-1".to_owned(),
        order_id: id.clone(),
        resident_phone: phone.to_owned(),
        rating: 5,
        comment: "小许人很好，一直陪着排队拿药，谢谢社区".to_owned(),
    };
    let refused = city
        .people(OPERATOR)
        .confirm_order(confirm("13905710000"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(
        refused.message(),
        "resident_phone: is not the phone the order was placed with"
    );
    let confirmed = city
        .people(OPERATOR)
        .confirm_order(confirm(phone))
        .await
        .unwrap()
        .into_inner();
    let again = city
        .people(OPERATOR)
        .confirm_order(confirm(phone))
        .await
        .unwrap()
        .into_inner();
    assert!(!confirmed.repeated && again.repeated);
    let confirmed = confirmed.order.unwrap();
    assert_eq!(
        (confirmed.status, confirmed.rating),
        (OrderStatus::Confirmed as i32, 5)
    );
    let account = wait_balance(&city, member("xu-lanying"), ORDER_COMPLETED).await;
    let entries: Vec<(&str, i64, &str)> = account
        .entries
        .iter()
        .map(|e| (e.reason.as_str(), e.points, e.order_id.as_str()))
        .collect();
    assert_eq!(entries, [("order_completed", 10, id.as_str())]);

    // Confirmed is final; and the community's list shows the order with its rating.
    let refused = city
        .people(YONGJIN_COMMUNITY)
        .cancel_order(CancelOrderRequest {
            request_id: "cancel-1".to_owned(),
            order_id: id.clone(),
            reason: "居民说不用了".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    let listed = wait_until("the order in the community's list", WAIT, || {
        let mut people = city.people(YONGJIN_COMMUNITY);
        async move {
            let orders = people
                .list_orders(ListOrdersRequest::default())
                .await
                .unwrap()
                .into_inner()
                .orders;
            orders
                .into_iter()
                .find(|o| o.status == OrderStatus::Confirmed as i32)
        }
    })
    .await;
    assert_eq!(listed.order_id, id);
    assert_eq!(
        (
            listed.member_id.as_str(),
            listed.rating,
            listed.service_name.as_str()
        ),
        ("xu-lanying", 5, "助老陪诊")
    );
}

/// points.toml's care_visit.
const CARE_VISIT: u64 = 3;

const DAY_MS: i64 = 86_400_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_plan_shows_the_overdue_visit_supervision_warns_of_it_and_the_visit_reports_a_problem(
) {
    let city = start_people_city().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // From the community's paper ledger: Mrs Wang, living alone, last visited ten days ago
    // (visits every 7 days: 3 days overdue); Mr Zhou, disabled, visited two days ago (every 14).
    let enrol = |request_id: &str, kind: CareKind, name: &str, phone: &str, days_ago: i64| {
        EnrolHouseholdRequest {
            request_id: request_id.to_owned(),
            kind: kind as i32,
            grid_code: YONGJIN_GRID_1.to_owned(),
            name: name.to_owned(),
            phone: phone.to_owned(),
            last_visited_at_ms: now - days_ago * DAY_MS,
        }
    };
    let wang = city
        .care(YONGJIN_COMMUNITY)
        .enrol_household(enrol(
            "ledger-001",
            CareKind::ElderlyAlone,
            "王秀英",
            "13957100101",
            10,
        ))
        .await
        .unwrap()
        .into_inner();
    let zhou = city
        .care("lin-ming")
        .enrol_household(enrol(
            "ledger-002",
            CareKind::Disabled,
            "周建国",
            "13957100102",
            2,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(wang.next_due_ms < now && zhou.next_due_ms > now);
    // The next grid's worker cannot enrol a household of this grid.
    let refused = city
        .care("yu-gang")
        .enrol_household(enrol(
            "ledger-003",
            CareKind::LowIncome,
            "赵四",
            "13957100103",
            1,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    // lin-ming's plan: Mrs Wang first, overdue, masked; supervision warns of her visit.
    let plan = || {
        let mut query = city.query_as("lin-ming");
        async move {
            query
                .visit_plan(VisitPlanRequest::default())
                .await
                .unwrap()
                .into_inner()
        }
    };
    let warned = wait_until("the overdue visit warned", WAIT, || {
        let plan = plan();
        async move {
            let plan = plan.await;
            (plan.households.first()?.warnings == ["overdue"]).then_some(plan)
        }
    })
    .await;
    assert_eq!(warned.overdue, 1);
    let first = &warned.households[0];
    assert_eq!(first.household_id, wang.household_id);
    assert_eq!(
        (
            first.kind_label.as_str(),
            first.name_masked.as_str(),
            first.phone_masked.as_str(),
            first.overdue
        ),
        ("独居老人", "王**", "139****0101", true)
    );
    let second = &warned.households[1];
    assert_eq!(
        (second.household_id.as_str(), second.overdue),
        (zhou.household_id.as_str(), false)
    );
    // The supervisors' board counts the community's households and the overdue visit.
    let board = city
        .query()
        .board(BoardRequest {})
        .await
        .unwrap()
        .into_inner();
    let yongjin = board
        .communities
        .iter()
        .find(|c| c.grid_code == YONGJIN_COMMUNITY)
        .unwrap();
    assert_eq!(
        (yongjin.households_under_care, yongjin.visits_overdue),
        (2, 1)
    );
    // The grid worker reads her name and phone to go, under audit; a supervisor may not.
    let contact = city
        .query_as("lin-ming")
        .get_household_contact(GetHouseholdContactRequest {
            household_id: wang.household_id.clone(),
            purpose: "上门走访".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (contact.name.as_str(), contact.phone.as_str()),
        ("王秀英", "13957100101")
    );
    let refused = city
        .query()
        .get_household_contact(GetHouseholdContactRequest {
            household_id: wang.household_id.clone(),
            purpose: "抽查".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    // The visit, late, finds a problem: reported as a case in the same call.
    let visited = city
        .care("lin-ming")
        .record_visit(RecordVisitRequest {
            request_id: "visit-wang-1".to_owned(),
            household_id: wang.household_id.clone(),
            note: "王阿姨身体还好，就是说楼道灯坏了一个礼拜，晚上下楼倒垃圾看不见".to_owned(),
            visited_at_ms: 0,
            problem: Some(VisitProblem {
                description: "涌金3幢2单元楼道灯不亮一个星期了，独居老人晚上下楼怕摔".to_owned(),
                category_code: String::new(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!visited.on_time);
    assert_eq!(visited.next_due_ms / DAY_MS, (now + 7 * DAY_MS) / DAY_MS);
    let case = city
        .wait_case(&visited.case_id, "reported from the visit", |_| true)
        .await;
    assert_eq!(
        typed_actors(&case)[0],
        ("CaseReported", "grid_worker:lin-ming")
    );
    // The volunteer of the grid visits Mr Zhou on time and earns her points.
    let by_volunteer = city
        .care("xu-lanying")
        .record_visit(RecordVisitRequest {
            request_id: "visit-zhou-1".to_owned(),
            household_id: zhou.household_id.clone(),
            note: "周叔叔的轮椅刹车有点松，已经帮他拧紧了，家里米和油都还有".to_owned(),
            visited_at_ms: 0,
            problem: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(by_volunteer.on_time && by_volunteer.case_id.is_empty());
    let account = wait_balance(&city, member("xu-lanying"), CARE_VISIT).await;
    assert_eq!(account.entries[0].reason, "care_visit");
    assert_eq!(account.entries[0].household_id, zhou.household_id);
    // A building head of another micro-grid may not visit here.
    let refused = city
        .care("he-guifang")
        .record_visit(RecordVisitRequest {
            request_id: "visit-zhou-2".to_owned(),
            household_id: zhou.household_id.clone(),
            note: "顺路看看".to_owned(),
            visited_at_ms: 0,
            problem: None,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    // Nothing overdue now; the plan counts lin-ming's late visit, and the scores his visit.
    let plan = wait_until("the visits in the plan", WAIT, || {
        let plan = plan();
        async move {
            let plan = plan.await;
            plan.households
                .iter()
                .all(|h| h.visits == 1)
                .then_some(plan)
        }
    })
    .await;
    assert_eq!(plan.overdue, 0);
    let wang_now = plan
        .households
        .iter()
        .find(|h| h.household_id == wang.household_id)
        .unwrap();
    assert_eq!(
        (wang_now.visits_on_time, wang_now.last_visitor.as_str()),
        (0, "grid_worker:lin-ming")
    );
    let scores = city
        .query()
        .grid_worker_indicators(PeriodRequest {
            from_ms: now - DAY_MS,
            to_ms: now + DAY_MS,
        })
        .await
        .unwrap()
        .into_inner();
    let lin = scores
        .workers
        .iter()
        .find(|w| w.worker_id == "lin-ming")
        .unwrap();
    assert_eq!(
        (lin.visits, lin.visits_on_time, lin.on_time_visit_rate),
        (1, 0, Some(0.0))
    );
}
