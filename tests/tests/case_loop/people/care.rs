//! Care visits (敲门行动): a visit plan with an overdue visit, warned, then visited with a
//! problem reported in one step.

use super::*;

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
