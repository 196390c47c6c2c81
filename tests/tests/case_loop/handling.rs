//! Cases handled the first time round: settled in the grid, by one department, by a joint consultation.

use gridcase_proto::dispatch::v1::ReportInRequest;

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
