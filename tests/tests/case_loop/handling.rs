//! Cases handled the first time round: settled in the grid, by one department, by a joint
//! consultation; and the grid's rating of the department that handled one (网格评部门).

use gridcase_proto::dispatch::v1::ReportInRequest;
use gridcase_proto::evaluation::v1::RateDepartmentRequest;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_worker_settles_a_small_matter_on_the_spot() {
    let city = start_city().await;
    // chen-lijuan is the second worker of her grid: the case is hers because she reported it.
    let reported = city
        .report(
            "chen-lijuan",
            ReportCaseRequest {
                client_request_id: "app-chen-lijuan-0001".to_owned(),
                channel: ReportChannel::GridWorker as i32,
                reporter: None,
                location: Some(Location {
                    grid_code: "330102-001-001-001-03".to_owned(),
                    address: "南山路218号院3号楼楼道口".to_owned(),
                    coordinates: None,
                }),
                description: "楼道口杂物堆放，影响通行".to_owned(),
                category_code: "SJ-01-04".to_owned(),
                media_urls: vec!["https://media.example.cn/before.jpg".to_owned()],
                reported_by_worker: "chen-lijuan".to_owned(),
                member_id: String::new(),
            },
        )
        .await;
    let case = reported.case_id.as_str();

    let app = city.worker_inbox("chen-lijuan").await;
    let order = app.take_one().await;
    assert_eq!(order.case_id, case);
    assert_eq!(order.grid_worker, "chen-lijuan");
    assert_eq!(order.department, "");
    assert_eq!(order.category_code, "SJ-01-04");
    assert_eq!(order.category_name, "乱堆物堆料");
    assert_eq!(order.tracking_code, reported.tracking_code);
    assert_eq!(order.reporter_phone_masked, "");
    assert_eq!(order.rework_count, 0);
    assert_eq!(
        order.location.as_ref().map(|l| l.grid_code.as_str()),
        Some("330102-001-001-001-03")
    );

    let dispatched = city.wait_status(case, "dispatched").await;
    let summary = dispatched.case.as_ref().unwrap();
    assert_eq!(summary.route, "self-handled by worker chen-lijuan");
    assert_eq!(summary.assignee, "worker chen-lijuan");

    let worker = Who::Worker("chen-lijuan");
    assert_eq!(
        city.accept(case, worker, "accept").await.status(),
        common::CaseStatus::Accepted
    );
    assert_eq!(
        city.resolve(case, worker, "done").await.status(),
        common::CaseStatus::Resolved
    );
    assert_eq!(
        city.verify(case, "lin-ming", true, "check-1")
            .await
            .status(),
        common::CaseStatus::Verified
    );
    assert_eq!(
        city.rate(case, OPERATOR, true, "callback-1").await.status(),
        common::CaseStatus::Closed
    );

    let closed = city.wait_status(case, "closed").await;
    assert_eq!(
        typed_actors(&closed),
        [
            ("CaseReported", "grid_worker:chen-lijuan"),
            ("CaseTriaged", "triage:rules"),
            ("CaseDispatched", "service:dispatch"),
            ("DispatchAccepted", "grid_worker:chen-lijuan"),
            ("CaseResolved", "grid_worker:chen-lijuan"),
            ("CaseVerified", "grid_worker:lin-ming"),
            ("SatisfactionRecorded", "operator:op-1"),
            ("CaseClosed", "operator:op-1"),
        ]
    );
    assert_eq!(
        summaries(&closed, "CaseReported"),
        ["reported via grid_worker (grid 330102-001-001-001-03)"]
    );
    assert_eq!(
        city.status(&reported.tracking_code).await.status(),
        common::CaseStatus::Closed
    );
    // No other worker of the grid was given the case.
    assert_eq!(city.worker_inbox("lin-ming").await.waiting().await, 0);
    assert_eq!(app.waiting().await, 0);
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_department_takes_a_case_from_report_to_close() {
    let city = start_city().await;
    let request = ReportCaseRequest {
        location: Some(Location {
            grid_code: "330102-001-001-001-02".to_owned(),
            address: "涌金苑6幢南侧".to_owned(),
            coordinates: Some(Coordinates {
                lat: 30.2531,
                lon: 120.1625,
            }),
        }),
        media_urls: vec!["https://media.example.cn/lamp.jpg".to_owned()],
        ..hotline(
            "console-7-000123",
            "",
            "涌金苑门口的路灯不亮好几天了，晚上很黑",
        )
    };
    let reported = city.report(OPERATOR, request.clone()).await;
    let case = reported.case_id.as_str();
    assert!(!reported.already_reported);

    // The rules classify by the caller's words and route to the category's department.
    let inbox = city.department_inbox("urban_mgmt").await;
    let order = inbox.take_one().await;
    let dispatched = city.wait_status(case, "dispatched").await;
    let summary = dispatched.case.clone().unwrap();
    assert_eq!(summary.category, "BJ-01-07");
    assert_eq!(summary.route, "department urban_mgmt");
    assert_eq!(summary.assignee, "department urban_mgmt");
    assert_eq!(summary.reporter_phone_masked, "138****5678");

    assert_eq!(order.case_id, case);
    assert!(
        order.work_order_id.starts_with(case),
        "{}",
        order.work_order_id
    );
    assert_eq!(order.tracking_code, reported.tracking_code);
    assert_eq!(order.department, "urban_mgmt");
    assert_eq!(order.grid_worker, "");
    assert!(order.participants.is_empty());
    assert_eq!(order.category_code, "BJ-01-07");
    assert_eq!(order.category_name, "路灯");
    assert_eq!(order.priority, WorkOrderPriority::Normal as i32);
    assert_eq!(order.description, "涌金苑门口的路灯不亮好几天了，晚上很黑");
    let location = order.location.clone().unwrap();
    assert_eq!(location.grid_code, "330102-001-001-001-02");
    assert_eq!(location.address, "涌金苑6幢南侧");
    assert_eq!(
        location.coordinates,
        Some(Coordinates {
            lat: 30.2531,
            lon: 120.1625
        })
    );
    assert_eq!(order.media_urls, ["https://media.example.cn/lamp.jpg"]);
    assert_eq!(order.reporter_phone_masked, "138****5678");
    assert_eq!(order.rework_count, 0);
    assert_eq!(order.accept_deadline_ms, summary.accept_deadline_ms);
    assert_eq!(order.resolve_deadline_ms, summary.resolve_deadline_ms);
    assert!(order.accept_deadline_ms > summary.reported_at_ms);
    assert!(order.resolve_deadline_ms >= order.accept_deadline_ms);

    // A console retrying the report after a lost reply gets the same case, not a second one.
    let retried = city
        .report(
            OPERATOR,
            ReportCaseRequest {
                description: "重复提交：路灯不亮".to_owned(),
                ..request
            },
        )
        .await;
    assert_eq!(retried.case_id, reported.case_id);
    assert_eq!(retried.tracking_code, reported.tracking_code);
    assert!(retried.already_reported);

    let status = city.status(&reported.tracking_code).await;
    assert_eq!(status.case_id, case);
    assert_eq!(status.status(), common::CaseStatus::Dispatched);
    assert_eq!(status.category_code, "BJ-01-07");

    let urban = Who::Department("urban_mgmt");
    let accepted = city.accept(case, urban, "accept").await;
    assert_eq!(accepted.status(), common::CaseStatus::Accepted);
    assert!(!accepted.repeated);
    // The department system retrying its accept is recorded once.
    let again = city.accept(case, urban, "accept").await;
    assert!(again.repeated);
    assert_eq!(again.version, accepted.version);
    let progress = city
        .dispatch("urban_mgmt")
        .report_progress(ReportProgressRequest {
            actor: Some(urban.actor(case, "progress")),
            note: "已联系供电抢修，更换灯泡中".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(progress.status(), common::CaseStatus::Accepted);
    assert_eq!(
        city.resolve(case, urban, "resolve").await.status(),
        common::CaseStatus::Resolved
    );
    assert_eq!(
        city.status(&reported.tracking_code).await.status(),
        common::CaseStatus::Resolved
    );
    assert_eq!(
        city.verify(case, "lin-ming", true, "check").await.status(),
        common::CaseStatus::Verified
    );
    let rated = city.rate(case, GATEWAY, true, "qr-rating").await;
    assert_eq!(rated.status(), common::CaseStatus::Closed);

    let closed = city.wait_written(case, rated.version).await;
    assert_eq!(case_status(&closed), "closed");
    assert_eq!(
        typed_actors(&closed),
        [
            ("CaseReported", "operator:op-1"),
            ("CaseTriaged", "triage:rules"),
            ("CaseDispatched", "service:dispatch"),
            ("DispatchAccepted", clerk("urban_mgmt").as_str()),
            ("ProgressReported", clerk("urban_mgmt").as_str()),
            ("CaseResolved", clerk("urban_mgmt").as_str()),
            ("CaseVerified", "grid_worker:lin-ming"),
            ("SatisfactionRecorded", "gateway:qr-web"),
            ("CaseClosed", "gateway:qr-web"),
        ]
    );
    // The city has no corpus: the catalogue's keywords classified it.
    assert_eq!(
        summaries(&closed, "CaseTriaged"),
        ["triaged as BJ-01-07 with priority normal, route department urban_mgmt; model keywords at 100.0%"]
    );
    assert!(closed.caught_up_to > closed.timeline.last().unwrap().position);
    assert_eq!(
        city.status(&reported.tracking_code).await.status(),
        common::CaseStatus::Closed
    );
    // One dispatch, one work order.
    assert_eq!(inbox.waiting().await, 0);
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joint_case_goes_to_the_lead_with_the_participants_named() {
    let city = start_city().await;
    // 餐饮油烟 belongs to the joint group lampblack: ecology_env leads, urban_mgmt and
    // market_supervision take part.
    let (reported, dispatched) = dispatched_case(
        &city,
        hotline(
            "console-2-000777",
            YONGJIN_GRID_1,
            "楼下饭店油烟太大，排烟管道直对住户窗户",
        ),
    )
    .await;
    let case = reported.case_id.as_str();
    let summary = dispatched.case.clone().unwrap();
    assert_eq!(summary.category, "SJ-01-07");
    assert_eq!(
        summary.route,
        "joint, led by ecology_env with urban_mgmt, market_supervision"
    );
    assert_eq!(summary.assignee, "department ecology_env");

    // What dispatch does for a joint case: the work order on the lead's subject, naming the
    // participants, and a copy for the consultation on each participant's subject.
    let lead = city.department_inbox("ecology_env").await;
    let order = lead.take_one().await;
    assert_eq!(order.case_id, case);
    assert_eq!(order.department, "ecology_env");
    let participants: BTreeSet<&str> = order.participants.iter().map(String::as_str).collect();
    assert_eq!(
        participants,
        BTreeSet::from(["market_supervision", "urban_mgmt"])
    );
    assert!(!order.for_consultation);
    // A joint group from the catalogue is a whistle blown automatically: every department
    // reports in within the policy's time for a normal case (two hours) from the triage.
    let triaged_at = dispatched
        .timeline
        .iter()
        .find(|e| e.event_type == "CaseTriaged")
        .unwrap()
        .recorded_at_ms;
    assert_eq!(order.report_in_deadline_ms, triaged_at + 2 * 3_600_000);
    assert_eq!(order.whistled_by, "");
    for participant in ["urban_mgmt", "market_supervision"] {
        let inbox = city.department_inbox(participant).await;
        let copy = inbox.take_one().await;
        assert_eq!(copy.case_id, case);
        assert_eq!(copy.department, "ecology_env");
        assert_eq!(copy.recipient, participant);
        assert!(
            copy.for_consultation,
            "{participant}'s copy is for consultation"
        );
        assert_eq!(copy.report_in_deadline_ms, order.report_in_deadline_ms);
        assert_eq!(inbox.waiting().await, 0, "{participant} got one copy");
        let listed = city
            .query()
            .list_cases(ListCasesRequest {
                department: participant.to_owned(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let ids: Vec<&str> = listed.cases.iter().map(|c| c.case_id.as_str()).collect();
        assert_eq!(ids, [case], "cases involving {participant}");
    }

    // Every department called reports in with its opinion (部门报到).
    for (department, opinion) in [
        (
            "ecology_env",
            "生态环境局牵头，明天上午带检测设备到店核查油烟净化器",
        ),
        ("urban_mgmt", "城管配合检查排烟管道是否违规改装"),
        ("market_supervision", "市场监管核查经营许可和环评手续"),
    ] {
        city.dispatch(department)
            .report_in(ReportInRequest {
                actor: Some(Who::Department(department).actor(case, "report-in")),
                opinion: opinion.to_owned(),
            })
            .await
            .unwrap();
    }
    let reported_in = city
        .wait_case(case, "three report-ins", |reply| {
            count(reply, "DepartmentReportedIn") == 3
        })
        .await;
    assert_eq!(count(&reported_in, "ReportInCalled"), 1);

    // Only the lead acts on the work order.
    let refused = city
        .dispatch("urban_mgmt")
        .accept(AcceptRequest {
            actor: Some(Who::Department("urban_mgmt").actor(case, "accept")),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let ecology = Who::Department("ecology_env");
    assert_eq!(
        city.accept(case, ecology, "accept").await.status(),
        common::CaseStatus::Accepted
    );
    assert_eq!(
        city.resolve(case, ecology, "resolve").await.status(),
        common::CaseStatus::Resolved
    );
    assert_eq!(
        city.verify(case, "lin-ming", true, "check").await.status(),
        common::CaseStatus::Verified
    );
    assert_eq!(
        city.rate(case, GATEWAY, true, "rating").await.status(),
        common::CaseStatus::Closed
    );
    let closed = city.wait_status(case, "closed").await;
    let actors: Vec<(&str, &str)> = typed_actors(&closed)
        .into_iter()
        .filter(|(event_type, _)| matches!(*event_type, "DispatchAccepted" | "CaseResolved"))
        .collect();
    let lead_clerk = clerk("ecology_env");
    assert_eq!(
        actors,
        [
            ("DispatchAccepted", lead_clerk.as_str()),
            ("CaseResolved", lead_clerk.as_str())
        ]
    );
    assert_eq!(lead.waiting().await, 0);
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grid_rates_the_department_that_handled_a_closed_case() {
    let city = start_city().await;
    // A street light in a micro-grid of lin-ming's grid: urban management's.
    let (reported, _) = dispatched_case(
        &city,
        hotline(
            "console-7-000456",
            "330102-001-001-001-02",
            "涌金苑门口的路灯不亮好几天了，晚上很黑",
        ),
    )
    .await;
    let case = reported.case_id.as_str();
    let urban = Who::Department("urban_mgmt");
    city.accept(case, urban, "accept").await;
    city.resolve(case, urban, "resolve").await;
    city.verify(case, "lin-ming", true, "check").await;
    let rating = |request_id: &str, department: &str| RateDepartmentRequest {
        request_id: request_id.to_owned(),
        case_id: case.to_owned(),
        department_code: department.to_owned(),
        timeliness: 5,
        attitude: 4,
        result: 3,
        note: "回复及时，处理彻底，居民认可".to_owned(),
    };
    let refused = |who: &str, request: RateDepartmentRequest| {
        let mut client = city.evaluation(who);
        async move {
            let status = client.rate_department(request).await.unwrap_err();
            assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
            status.message().to_owned()
        }
    };
    // Not before the case is closed: the resident has not had their say.
    assert_eq!(
        refused("lin-ming", rating("app-lin-ming-rate-0", "urban_mgmt")).await,
        "cannot rate the department: case is verified, not closed"
    );
    assert_eq!(
        city.rate(case, GATEWAY, true, "qr-rating").await.status(),
        common::CaseStatus::Closed
    );

    // lin-ming, of the case's grid, rates urban management: timeliness 5, attitude 4, result 3.
    let rated = city
        .evaluation("lin-ming")
        .rate_department(rating("app-lin-ming-rate-1", "urban_mgmt"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rated.status(), common::CaseStatus::Closed);
    assert!(!rated.repeated);
    // A second rating of the department on the case is refused, whoever of the grid gives it.
    for who in ["lin-ming", "chen-lijuan"] {
        assert_eq!(
            refused(who, rating(&format!("app-{who}-rate-2"), "urban_mgmt")).await,
            "cannot rate the department: urban_mgmt is already rated on this case; the grid \
             rates each department once per case"
        );
    }
    // A worker of another grid may not rate the case; nor is a department rated that did not
    // handle it.
    assert_eq!(
        refused("yu-gang", rating("app-yu-gang-rate-1", "urban_mgmt")).await,
        "cannot rate the department: the case is in grid 330102-001-001-001-02, not in grid \
         330102-001-001-002 where worker yu-gang works; a grid worker rates the departments on \
         cases of their own grid"
    );
    assert_eq!(
        refused("lin-ming", rating("app-lin-ming-rate-3", "water")).await,
        "cannot rate the department: water did not handle this case; it was handled by urban_mgmt"
    );

    let closed = city.wait_written(case, rated.version).await;
    let last = closed.timeline.last().unwrap();
    assert_eq!(
        (last.event_type.as_str(), last.actor.as_str()),
        ("DepartmentRated", "grid_worker:lin-ming")
    );
    assert_eq!(
        summaries(&closed, "DepartmentRated"),
        [
            "urban_mgmt rated by grid worker lin-ming: timeliness 5, attitude 4, result 3 \
          (回复及时，处理彻底，居民认可)"
        ]
    );
    assert_eq!(count(&closed, "DepartmentRated"), 1);

    // The rating in urban management's indicators: (5 + 4 + 3 - 3) / 12 = 0.75, weighed 0.10
    // beside the resident's satisfaction (0.15). Accepted and closed on time, satisfied and
    // resolved, no rework: 0.15 + 0.25 + 0.15 + 0.15 + 0.20 + 0.10 × 0.75 = 0.975.
    let period = DepartmentIndicatorsRequest {
        from_ms: 0,
        to_ms: now_ms() + 60_000,
    };
    let from_evaluation = city
        .evaluation(SUPERVISOR)
        .department_indicators(period)
        .await
        .unwrap()
        .into_inner();
    let from_query = city
        .query()
        .department_indicators(period)
        .await
        .unwrap()
        .into_inner();
    for reply in [&from_evaluation, &from_query] {
        let [row] = reply.departments.as_slice() else {
            panic!("one department expected: {reply:?}")
        };
        assert_eq!(row.department, "urban_mgmt");
        assert_eq!((row.grid_ratings, row.grid_rating_rate), (1, Some(0.75)));
        assert_eq!(
            (row.ratings, row.satisfaction_rate, row.resolution_rate),
            (1, Some(1.0), Some(1.0))
        );
        assert_eq!(
            (row.response_rate, row.on_time_closure_rate, row.rework_rate),
            (Some(1.0), Some(1.0), Some(0.0))
        );
        assert!((row.score - 0.975).abs() < 1e-9, "{}", row.score);
    }

    // gridcase report prints the grid's rating beside the other rates.
    let (month, csv) = month_report(&city).await;
    let lines: Vec<&str> = csv.lines().collect();
    let at = lines
        .iter()
        .position(|line| *line == format!("departments,{month}"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert_eq!(
        lines[at + 1],
        "rank,department,name,dispatched,response,on time,closure,satisfied,resolved,rework,\
         grid rating,score"
    );
    assert_eq!(
        lines[at + 2],
        "—,urban_mgmt,清河区城市管理局（综合行政执法局）,1,100.0%,100.0%,100.0%,100.0%,100.0%,\
         0.0%,75.0%,0.975"
    );
    city.shut_down().await;
}
