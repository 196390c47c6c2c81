//! Cases that come round again: returned by a department, sent back after a failed check, reopened by the reporter, or merged as a repeat.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returned_case_is_routed_to_another_department() {
    let city = start_city().await;

    // By the rules: ecology_env sends back a 废气异味 case; the joint group it leads takes it,
    // led by its first member that has not returned it.
    let (odour, _) = dispatched_case(
        &city,
        ReportCaseRequest {
            category_code: "SJ-09-02".to_owned(),
            ..hotline(
                "console-3-000001",
                YONGJIN_GRID_1,
                "小区旁边饭店后厨异味很重",
            )
        },
    )
    .await;
    let odour = odour.case_id.as_str();
    let ecology_inbox = city.department_inbox("ecology_env").await;
    let first = ecology_inbox.take_one().await;
    assert_eq!(
        (first.case_id.as_str(), first.department.as_str()),
        (odour, "ecology_env")
    );
    let returned = city
        .dispatch("ecology_env")
        .r#return(ReturnRequest {
            actor: Some(Who::Department("ecology_env").actor(odour, "return")),
            reason: "系餐饮后厨气味，不属于工业废气，请城管牵头处理".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(returned.status(), common::CaseStatus::Reported);
    let urban_inbox = city.department_inbox("urban_mgmt").await;
    let second = urban_inbox.take_one().await;
    assert_eq!(second.case_id, odour);
    assert_eq!(second.department, "urban_mgmt");
    assert_ne!(second.work_order_id, first.work_order_id);
    // Never back to the department that returned it as the one to act: it stays in the joint
    // consultation (部门报到), so it gets a copy for that, and nothing more.
    let consultation = ecology_inbox.take_one().await;
    assert_eq!(consultation.case_id, odour);
    assert_eq!(consultation.department, "urban_mgmt");
    assert!(consultation.for_consultation);
    assert_eq!(ecology_inbox.waiting().await, 0);
    let redispatched = city
        .wait_case(odour, "a second dispatch", |reply| {
            count(reply, "CaseDispatched") == 2
        })
        .await;
    assert_eq!(
        redispatched.case.as_ref().unwrap().assignee,
        "department urban_mgmt"
    );
    assert_eq!(
        summaries(&redispatched, "CaseDispatched"),
        [
            "dispatched to department ecology_env",
            "dispatched to department urban_mgmt"
        ]
    );
    // Each assignee's deadlines are its own: the first from the report, the one after the
    // return (退单) from the re-triage; the close deadline still counts from the report.
    let reference = gridcase_config::ReferenceData::load(&city.system.options().config).unwrap();
    let summary = redispatched.case.as_ref().unwrap();
    let policy = reference.sla_for(
        gridcase_domain::Priority::parse(&summary.priority).unwrap(),
        Some(&gridcase_domain::CategoryCode::parse("SJ-09-02").unwrap()),
    );
    let deadlines_from = |start_ms: i64| {
        let start = gridcase_domain::Timestamp::from_millis(start_ms);
        let (accept, resolve) =
            gridcase_rules::sla::dispatch_deadlines(reference.calendar(), &policy, start);
        (accept.unwrap().as_millis(), resolve.unwrap().as_millis())
    };
    let triaged_at: Vec<i64> = redispatched
        .timeline
        .iter()
        .filter(|e| e.event_type == "CaseTriaged")
        .map(|e| e.recorded_at_ms)
        .collect();
    assert_eq!(
        (first.accept_deadline_ms, first.resolve_deadline_ms),
        deadlines_from(summary.reported_at_ms)
    );
    assert_eq!(
        (second.accept_deadline_ms, second.resolve_deadline_ms),
        deadlines_from(triaged_at[1])
    );
    let ecology_clerk = clerk("ecology_env");
    let after_return: Vec<(&str, &str)> = typed_actors(&redispatched)[3..].to_vec();
    assert_eq!(
        after_return,
        [
            ("DispatchReturned", ecology_clerk.as_str()),
            ("CaseTriaged", "triage:rules"),
            ("CaseDispatched", "service:dispatch"),
            // The joint group it now goes to is called to report in (吹哨报到).
            ("ReportInCalled", "service:dispatch"),
        ]
    );

    // By an operator: civil_affairs returns a case no one else owns by the rules; it waits in
    // the manual queue, an operator may not send it back to civil_affairs, and sends it on.
    let (elderly, _) = dispatched_case(
        &city,
        ReportCaseRequest {
            category_code: "SJ-07-05".to_owned(),
            ..hotline(
                "console-3-000002",
                "330102-002-001-002",
                "独居老人无人照料，邻居担心",
            )
        },
    )
    .await;
    let elderly = elderly.case_id.as_str();
    let civil_inbox = city.department_inbox("civil_affairs").await;
    assert_eq!(civil_inbox.take_one().await.case_id, elderly);
    city.dispatch("civil_affairs")
        .r#return(ReturnRequest {
            actor: Some(Who::Department("civil_affairs").actor(elderly, "return")),
            reason: "老人与子女存在赡养纠纷，需先行调解".to_owned(),
        })
        .await
        .unwrap();
    let queued = wait_until(
        "the returned case to reach the manual queue",
        WAIT,
        || async {
            let queue = city
                .triage(OPERATOR)
                .list_manual_queue(ListManualQueueRequest::default())
                .await
                .unwrap()
                .into_inner();
            queue.cases.into_iter().find(|c| c.case_id == elderly)
        },
    )
    .await;
    assert!(queued.reason.contains("no route left"), "{}", queued.reason);
    let triage_to = |department: &str, request_id: &str| TriageCaseRequest {
        case_id: elderly.to_owned(),
        category_code: "SJ-07-05".to_owned(),
        priority: String::new(),
        route: Some(TriageRoute::Department(department.to_owned())),
        request_id: request_id.to_owned(),
    };
    let refused = city
        .triage(OPERATOR)
        .triage_case(triage_to("civil_affairs", "back-again"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    let triaged = city
        .triage(OPERATOR)
        .triage_case(triage_to("justice", "to-mediation"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(triaged.route, "department justice");
    let justice_order = city.department_inbox("justice").await.take_one().await;
    assert_eq!(justice_order.case_id, elderly);
    assert_eq!(justice_order.department, "justice");
    assert_eq!(civil_inbox.waiting().await, 0);
    let redispatched = city
        .wait_case(elderly, "a second dispatch", |reply| {
            count(reply, "CaseDispatched") == 2
        })
        .await;
    let triages: Vec<&str> = redispatched
        .timeline
        .iter()
        .filter(|e| e.event_type == "CaseTriaged")
        .map(|e| e.actor.as_str())
        .collect();
    assert_eq!(triages, ["triage:rules", "operator:op-1"]);
    assert_eq!(
        redispatched.case.as_ref().unwrap().assignee,
        "department justice"
    );
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_check_sends_the_case_back_for_rework() {
    let city = start_city().await;
    let period_start = now_ms() - 60_000;
    let (reported, _) = dispatched_case(
        &city,
        ReportCaseRequest {
            category_code: "BJ-04-01".to_owned(),
            ..hotline(
                "console-4-000042",
                YONGJIN_GRID_1,
                "人行道上方行道树有枯树枝随时掉落",
            )
        },
    )
    .await;
    let case = reported.case_id.as_str();
    let inbox = city.department_inbox("landscape").await;
    let first = inbox.take_one().await;
    assert_eq!(first.rework_count, 0);
    let landscape = Who::Department("landscape");
    city.accept(case, landscape, "accept").await;
    city.resolve(case, landscape, "resolve-1").await;

    let failed = city.verify(case, "lin-ming", false, "check-1").await;
    assert_eq!(failed.status(), common::CaseStatus::Accepted);
    let rework = inbox.take_one().await;
    assert_eq!(rework.case_id, case);
    assert_eq!(rework.department, "landscape");
    assert_eq!(rework.rework_count, 1);
    assert_ne!(rework.work_order_id, first.work_order_id);

    assert_eq!(
        city.resolve(case, landscape, "resolve-2").await.status(),
        common::CaseStatus::Resolved
    );
    assert_eq!(
        city.verify(case, "lin-ming", true, "check-2")
            .await
            .status(),
        common::CaseStatus::Verified
    );
    let closed = city.rate(case, OPERATOR, true, "callback").await;
    assert_eq!(closed.status(), common::CaseStatus::Closed);

    let timeline = city.wait_written(case, closed.version).await;
    assert_eq!(
        event_types(&timeline)[3..],
        [
            "DispatchAccepted",
            "CaseResolved",
            "VerificationFailed",
            "CaseResolved",
            "CaseVerified",
            "SatisfactionRecorded",
            "CaseClosed",
        ]
    );
    let failed_by: Vec<&str> = timeline
        .timeline
        .iter()
        .filter(|e| e.event_type == "VerificationFailed")
        .map(|e| e.actor.as_str())
        .collect();
    assert_eq!(failed_by, ["grid_worker:lin-ming"]);

    // The rework counts against the department.
    let indicators = city
        .evaluation(SUPERVISOR)
        .department_indicators(DepartmentIndicatorsRequest {
            from_ms: period_start,
            to_ms: now_ms() + 60_000,
        })
        .await
        .unwrap()
        .into_inner();
    let row = indicators
        .departments
        .iter()
        .find(|row| row.department == "landscape")
        .unwrap();
    assert_eq!(row.dispatched, 1);
    assert_eq!(row.resolved, 2);
    assert_eq!(row.verifications_failed, 1);
    assert_eq!(row.rework_rate, Some(0.5));
    assert_eq!(row.closed, 1);
    assert_eq!(inbox.waiting().await, 0);
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_not_resolved_rating_reopens_the_case() {
    let city = start_city().await;
    let (reported, _) = dispatched_case(
        &city,
        ReportCaseRequest {
            category_code: "BJ-05-02".to_owned(),
            ..hotline(
                "console-5-000009",
                YONGJIN_GRID_1,
                "3幢2单元楼道灯坏了一个月",
            )
        },
    )
    .await;
    let case = reported.case_id.as_str();
    let inbox = city.department_inbox("housing").await;
    let first = inbox.take_one().await;
    let housing = Who::Department("housing");
    city.accept(case, housing, "accept-1").await;
    city.resolve(case, housing, "resolve-1").await;
    city.verify(case, "lin-ming", true, "check-1").await;

    let reopened = city.rate(case, GATEWAY, false, "qr-rating-1").await;
    assert_eq!(reopened.status(), common::CaseStatus::Reported);
    // Back through triage to the same department, as a new work order.
    let second = inbox.take_one().await;
    assert_eq!(second.case_id, case);
    assert_eq!(second.department, "housing");
    assert_ne!(second.work_order_id, first.work_order_id);
    let redispatched = city
        .wait_case(case, "a second dispatch", |reply| {
            count(reply, "CaseDispatched") == 2
        })
        .await;
    assert_eq!(case_status(&redispatched), "dispatched");
    let tail: Vec<(&str, &str)> = typed_actors(&redispatched)[6..].to_vec();
    assert_eq!(
        tail,
        [
            ("SatisfactionRecorded", "gateway:qr-web"),
            ("CaseReopened", "gateway:qr-web"),
            ("CaseTriaged", "triage:rules"),
            ("CaseDispatched", "service:dispatch"),
        ]
    );
    assert_eq!(
        city.status(&reported.tracking_code).await.status(),
        common::CaseStatus::Dispatched
    );

    city.accept(case, housing, "accept-2").await;
    city.resolve(case, housing, "resolve-2").await;
    city.verify(case, "lin-ming", true, "check-2").await;
    let closed = city.rate(case, GATEWAY, true, "qr-rating-2").await;
    assert_eq!(closed.status(), common::CaseStatus::Closed);
    let timeline = city.wait_written(case, closed.version).await;
    assert_eq!(count(&timeline, "CaseReopened"), 1);
    assert_eq!(count(&timeline, "SatisfactionRecorded"), 2);
    assert_eq!(count(&timeline, "CaseClosed"), 1);
    assert_eq!(
        city.status(&reported.tracking_code).await.status(),
        common::CaseStatus::Closed
    );
    assert_eq!(inbox.waiting().await, 0);
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_report_of_the_same_problem_is_merged_into_the_first() {
    let city = start_city().await;
    let at = |request_id: &str, grid: &str, lat: f64, lon: f64| ReportCaseRequest {
        category_code: "BJ-03-02".to_owned(),
        location: Some(Location {
            grid_code: grid.to_owned(),
            address: String::new(),
            coordinates: Some(Coordinates { lat, lon }),
        }),
        ..hotline(request_id, grid, "路口的垃圾桶破了，垃圾撒了一地")
    };
    let (first, _) =
        dispatched_case(&city, at("console-6-1", YONGJIN_GRID_1, 30.2533, 120.1622)).await;
    // About 20 m further north: the same bin.
    let second = city
        .report(
            OPERATOR,
            at("console-6-2", YONGJIN_GRID_1, 30.25348, 120.1622),
        )
        .await;
    // About 1.1 km south, in another community: another bin.
    let (elsewhere, _) = dispatched_case(
        &city,
        at("console-6-3", "330102-001-002-001", 30.2433, 120.1622),
    )
    .await;

    let merged = city.wait_status(&second.case_id, "merged").await;
    assert_eq!(
        typed_actors(&merged),
        [
            ("CaseReported", "operator:op-1"),
            ("CaseMerged", "triage:rules"),
        ]
    );
    assert_eq!(
        city.status(&second.tracking_code).await.status(),
        common::CaseStatus::Merged
    );
    let Some(Event::CaseMerged(into)) = city.stored_events(&second.case_id).await.pop() else {
        panic!("the second report's last event is not its merge");
    };
    assert_eq!(into.into.to_string(), first.case_id);

    // The department hears of each problem once.
    let orders = city.department_inbox("urban_mgmt").await.take(2).await;
    let cases: BTreeSet<&str> = orders.iter().map(|o| o.case_id.as_str()).collect();
    assert_eq!(
        cases,
        BTreeSet::from([first.case_id.as_str(), elsewhere.case_id.as_str()])
    );
    assert_eq!(city.department_inbox("urban_mgmt").await.waiting().await, 0);
    city.shut_down().await;
}
