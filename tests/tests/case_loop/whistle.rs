//! 社区吹哨、部门报到: a community blows the whistle on a case waiting on it, two departments
//! are called, one reports in on time and one late; the late one is warned, breached and the
//! case escalates; the lead resolves and the grid worker gets the on-site check as a task.

use gridcase_proto::dispatch::v1::{Notice, NoticeKind, ReportInRequest, WhistleRequest};

use super::*;

/// The time departments have to report in, cut to seconds for this test.
const REPORT_IN: Duration = Duration::from_secs(5);

/// [`compressed_config`] with the report-in policy cut to [`REPORT_IN`].
fn compressed_report_in(dir: &Path) {
    compressed_config(dir);
    let path = dir.join("sla.toml");
    let seconds = REPORT_IN.as_secs();
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "urgent = \"30m\"\nother = \"2h\"",
        &format!("urgent = \"{seconds}s\"\nother = \"{seconds}s\""),
    );
    assert!(
        text.contains(&format!("other = \"{seconds}s\"")),
        "the report-in policy is cut"
    );
    std::fs::write(&path, text).unwrap();
}

const COMMUNITY: Who<'static> = Who::Community(YONGJIN_COMMUNITY);

fn kinds(notices: &[Notice]) -> Vec<(NoticeKind, &str)> {
    notices
        .iter()
        .map(|n| (n.kind(), n.stage.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_community_whistle_calls_two_departments_and_the_late_one_is_breached() {
    let city = City::start(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: OPERATOR,
            supervisor: SUPERVISOR,
        },
        compressed_report_in,
    )
    .await;
    let period_start = now_ms();
    // 物业服务纠纷 with a grid goes to the community first (大事不出社区).
    let mut request = hotline(
        "console-12-000001",
        YONGJIN_GRID_1,
        "我们楼外墙的瓷砖一块块往下掉，昨天差点砸到小孩，物业说要住建局来定，城管说不归他们",
    );
    request.category_code = "SJ-08-01".to_owned();
    let reported = city.report(OPERATOR, request).await;
    let case = reported.case_id.as_str();
    city.wait_case(case, "dispatched to the community", |reply| {
        case_status(reply) == "dispatched"
            && reply.case.as_ref().unwrap().assignee == "community 330102-001-001"
    })
    .await;
    let office = city.office_inbox("community", YONGJIN_COMMUNITY).await;
    assert_eq!(office.take_one().await.case_id, case);

    // Bad whistles change nothing: no departments besides the lead, a time out of range, a
    // department blowing it.
    let whistle = |participants: Vec<&str>, minutes: u32, request_id: &str| WhistleRequest {
        actor: Some(COMMUNITY.actor(case, request_id)),
        lead: "housing".to_owned(),
        participants: participants.into_iter().map(str::to_owned).collect(),
        report_in_minutes: minutes,
        reason: "外墙瓷砖脱落有砸人危险，请住建局牵头、城管配合，到现场定责处置".to_owned(),
    };
    let mut community = city.dispatch(YONGJIN_COMMUNITY);
    for (bad, field) in [
        (whistle(vec![], 0, "w-0"), "participants"),
        (whistle(vec!["urban_mgmt"], 2, "w-1"), "report_in_minutes"),
        (whistle(vec!["housing"], 0, "w-2"), "participants"),
    ] {
        let refused = community.whistle(bad).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert!(refused.message().contains(field), "{refused:?}");
    }
    let by_department = city
        .dispatch("housing")
        .whistle(WhistleRequest {
            actor: Some(Who::Department("housing").actor(case, "w-3")),
            ..whistle(vec!["urban_mgmt"], 0, "w-3")
        })
        .await
        .unwrap_err();
    assert_eq!(
        by_department.code(),
        Code::PermissionDenied,
        "{by_department:?}"
    );
    assert_eq!(city.case(case).await.case.unwrap().version, 3);

    // The community blows the whistle with the policy's time: housing leads, urban_mgmt
    // takes part.
    let blown = community
        .whistle(whistle(vec!["urban_mgmt"], 0, "whistle"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(blown.status(), common::CaseStatus::Triaged);
    let dispatched = city
        .wait_case(case, "the joint dispatch", |reply| {
            count(reply, "ReportInCalled") == 1
        })
        .await;
    assert_eq!(
        dispatched.case.as_ref().unwrap().route,
        "joint, led by housing with urban_mgmt"
    );
    // Each department gets the call on its own subject, with the report-in deadline.
    let housing = city.department_inbox("housing").await;
    let urban = city.department_inbox("urban_mgmt").await;
    let lead_order = housing.take_one().await;
    let copy = urban.take_one().await;
    for order in [&lead_order, &copy] {
        assert_eq!(order.case_id, case);
        assert_eq!(order.whistled_by, "community:330102-001-001");
        assert!(order.report_in_deadline_ms > 0);
    }
    assert!(!lead_order.for_consultation && copy.for_consultation);
    let deadline = lead_order.report_in_deadline_ms;
    let called_at = recorded_at(&dispatched, "WhistleBlown");
    assert_eq!(deadline, called_at + millis(REPORT_IN));

    // Housing reports in at once; a second report-in is refused; a department not called
    // cannot report in.
    let report_in = |who: &'static str, request_id: &str, opinion: &str| ReportInRequest {
        actor: Some(Who::Department(who).actor(case, request_id)),
        opinion: opinion.to_owned(),
    };
    city.dispatch("housing")
        .report_in(report_in(
            "housing",
            "report-in",
            "住建局已到：外墙属房屋本体，由住建局牵头组织维修，先拉警戒线",
        ))
        .await
        .unwrap();
    let twice = city
        .dispatch("housing")
        .report_in(report_in("housing", "report-in-again", "再报到一次"))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition, "{twice:?}");
    assert!(twice.message().contains("already reported in"), "{twice:?}");
    let stranger = city
        .dispatch("landscape")
        .report_in(report_in("landscape", "report-in", "园林也来看看"))
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::PermissionDenied, "{stranger:?}");

    // urban_mgmt lets the time pass: warned, then breached, and the case climbs its first rung.
    let breached = city
        .wait_case(case, "the report-in breach and the first rung", |reply| {
            count(reply, "CaseEscalated") == 1
        })
        .await;
    assert!(recorded_at(&breached, "DeadlineBreached") >= deadline);
    // Only the department that has not reported in hears of the report-in deadline.
    let heard = urban.notices(2).await;
    assert_eq!(
        kinds(&heard),
        [
            (NoticeKind::DeadlineWarning, "report_in"),
            (NoticeKind::DeadlineBreach, "report_in")
        ]
    );
    assert!(heard.iter().all(|n| n.recipient == "urban_mgmt"));
    assert_eq!(heard[1].deadline_ms, deadline);
    // It reports in late; that is recorded, and counts against it.
    city.dispatch("urban_mgmt")
        .report_in(report_in(
            "urban_mgmt",
            "report-in",
            "城管到场，配合清理脱落瓷砖、设置临时围挡",
        ))
        .await
        .unwrap();

    // The lead accepts and resolves; the on-site check goes to the grid's worker as a task.
    let lead = Who::Department("housing");
    city.accept(case, lead, "accept").await;
    city.resolve(case, lead, "resolve").await;
    let worker = city.worker_inbox("lin-ming").await;
    let task = worker.notices(1).await.remove(0);
    assert_eq!(task.kind(), NoticeKind::VerificationTask);
    assert_eq!(
        (
            task.case_id.as_str(),
            task.recipient.as_str(),
            task.by.as_str()
        ),
        (case, "lin-ming", "housing")
    );
    assert!(!task.media_urls.is_empty());
    assert_eq!(task.location.as_ref().unwrap().grid_code, YONGJIN_GRID_1);
    city.verify(case, "lin-ming", true, "check").await;

    let timeline = city.case(case).await;
    let whistle_part: Vec<&str> = event_types(&timeline)
        .into_iter()
        .filter(|t| {
            matches!(
                *t,
                "WhistleBlown"
                    | "CaseDispatched"
                    | "ReportInCalled"
                    | "DepartmentReportedIn"
                    | "DeadlineBreached"
            )
        })
        .collect();
    assert_eq!(
        whistle_part,
        [
            "CaseDispatched",
            "WhistleBlown",
            "CaseDispatched",
            "ReportInCalled",
            "DepartmentReportedIn",
            "DeadlineBreached",
            "DepartmentReportedIn"
        ]
    );
    assert!(
        summaries(&timeline, "WhistleBlown")[0].starts_with(
            "whistle blown by community 330102-001-001: housing leads, urban_mgmt take part"
        ),
        "{:?}",
        summaries(&timeline, "WhistleBlown")
    );

    // Report-in timeliness in the department indicators: housing 1 of 1, urban_mgmt 0 of 1.
    let indicators = city
        .evaluation(SUPERVISOR)
        .department_indicators(DepartmentIndicatorsRequest {
            from_ms: period_start,
            to_ms: now_ms() + 60_000,
        })
        .await
        .unwrap()
        .into_inner();
    let row = |code: &str| {
        let row = indicators
            .departments
            .iter()
            .find(|row| row.department == code)
            .unwrap_or_else(|| panic!("no row for {code}: {indicators:?}"));
        (
            row.called_to_report_in,
            row.reported_in_on_time,
            row.report_in_rate,
        )
    };
    assert_eq!(row("housing"), (1, 1, Some(1.0)));
    assert_eq!(row("urban_mgmt"), (1, 0, Some(0.0)));
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_leader_blows_the_whistle_on_a_case_of_their_grid() {
    let city = start_city().await;
    // chen-lijuan finds it on patrol: the case waits on her call.
    let reported = city
        .report(
            "chen-lijuan",
            ReportCaseRequest {
                client_request_id: "app-chen-lijuan-0912".to_owned(),
                channel: ReportChannel::GridWorker as i32,
                reporter: None,
                location: Some(Location {
                    grid_code: "330102-001-001-001-02".to_owned(),
                    address: "南山路210号后门".to_owned(),
                    coordinates: None,
                }),
                description: "后门小饭馆把泔水直接倒进雨水井，井口一圈油污，臭得很".to_owned(),
                category_code: "SJ-01-07".to_owned(),
                media_urls: vec!["https://media.example.cn/drain.jpg".to_owned()],
                reported_by_worker: "chen-lijuan".to_owned(),
                member_id: String::new(),
            },
        )
        .await;
    let case = reported.case_id.as_str();
    city.wait_case(case, "waiting on chen-lijuan", |reply| {
        case_status(reply) == "dispatched"
            && reply.case.as_ref().unwrap().assignee == "worker chen-lijuan"
    })
    .await;
    let whistle = |grid_leader: &str, request_id: &str| WhistleRequest {
        actor: Some(gridcase_proto::dispatch::v1::Actor {
            case_id: case.to_owned(),
            grid_leader: grid_leader.to_owned(),
            request_id: request_id.to_owned(),
            ..Default::default()
        }),
        lead: "ecology_env".to_owned(),
        participants: vec!["urban_mgmt".to_owned(), "water".to_owned()],
        report_in_minutes: 60,
        reason: "餐馆泔水倒入雨水管网，涉及环保、城管和排水，网格长吹哨".to_owned(),
    };
    let mut leader = city.dispatch("wang-yan");
    // Only for the grid they lead.
    let elsewhere = leader
        .whistle(whistle("330102-001-001-002", "w-elsewhere"))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::PermissionDenied, "{elsewhere:?}");
    leader
        .whistle(whistle(YONGJIN_GRID_1, "w-1"))
        .await
        .unwrap();
    let called = city
        .wait_case(case, "the joint dispatch", |reply| {
            count(reply, "ReportInCalled") == 1
        })
        .await;
    assert_eq!(
        called.case.as_ref().unwrap().route,
        "joint, led by ecology_env with urban_mgmt, water"
    );
    assert!(
        summaries(&called, "WhistleBlown")[0].starts_with(&format!(
            "whistle blown by the grid leader of {YONGJIN_GRID_1}: ecology_env leads, urban_mgmt, \
             water take part, report in within 60 min"
        )),
        "{:?}",
        summaries(&called, "WhistleBlown")
    );
    let order = city.department_inbox("ecology_env").await.take_one().await;
    assert_eq!(order.whistled_by, format!("grid_leader:{YONGJIN_GRID_1}"));
    assert_eq!(
        order.report_in_deadline_ms,
        recorded_at(&called, "WhistleBlown") + 60 * 60_000
    );
    // The case no longer waits on a worker: the grid leader cannot whistle on it again.
    let again = leader
        .whistle(whistle(YONGJIN_GRID_1, "w-2"))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::PermissionDenied, "{again:?}");
    assert!(
        again.message().contains("not waiting on a grid worker"),
        "{again:?}"
    );
    city.shut_down().await;
}

fn recorded_at(reply: &GetCaseReply, event_type: &str) -> i64 {
    reply
        .timeline
        .iter()
        .find(|e| e.event_type == event_type)
        .unwrap_or_else(|| panic!("no {event_type}"))
        .recorded_at_ms
}
