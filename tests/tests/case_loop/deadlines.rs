//! Time: deadlines warned, breached and escalated one rung at a time with notices to the
//! department and each rung's leader, and a department that was offline catching up.

use gridcase_proto::dispatch::v1::{Notice, NoticeKind};

use super::*;

/// The escalation ladder cut to seconds: the grid leader at the first breach, the community
/// [`RUNG_GAP`] later, the street another gap later, the district out of reach.
fn compressed_ladder(dir: &Path) {
    compressed_config(dir);
    let path = dir.join("escalation.toml");
    let gap = RUNG_GAP.as_secs();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "after_breach = \"24h\"",
            &format!("after_breach = \"{gap}s\""),
        )
        .replace(
            "after_breach = \"3d\"",
            &format!("after_breach = \"{}s\"", 2 * gap),
        );
    assert_eq!(text.matches("s\"").count(), 2, "two rungs cut to seconds");
    std::fs::write(&path, text).unwrap();
}

/// The gap between two rungs of [`compressed_ladder`].
const RUNG_GAP: Duration = Duration::from_secs(6);

/// 王艳, the leader (网格长) of 涌金社区第一网格; 朱雅琴 leads 涌金社区, 陆伟 柳浪街道.
const GRID_LEADER: &str = "wang-yan";
const COMMUNITY_LEADER: &str = "zhu-yaqin";
const STREET_LEADER: &str = "lu-wei";

/// `(kind, stage, escalation level)` of each notice, in order.
fn notice_kinds(notices: &[Notice]) -> Vec<(NoticeKind, &str, u32)> {
    notices
        .iter()
        .map(|n| (n.kind(), n.stage.as_str(), n.escalation_level))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_warn_breach_and_climb_the_ladder_at_its_pace_across_a_supervision_restart() {
    let mut city = City::start(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: OPERATOR,
            supervisor: SUPERVISOR,
        },
        compressed_ladder,
    )
    .await;
    let (reported, dispatched) = dispatched_case(
        &city,
        ReportCaseRequest {
            category_code: COMPRESSED_CATEGORY.to_owned(),
            ..hotline(
                "console-8-000001",
                YONGJIN_GRID_1,
                "附近厂房设备噪音白天夜里都很大",
            )
        },
    )
    .await;
    let case = reported.case_id.clone();
    // The department's own system, logged in as itself, takes the work order.
    let ecology = city.department_inbox("ecology_env").await;
    assert_eq!(ecology.take_one().await.case_id, case);
    let summary = dispatched.case.clone().unwrap();
    let reported_at = summary.reported_at_ms;
    assert_eq!(
        summary.accept_deadline_ms,
        reported_at + millis(COMPRESSED_ACCEPT)
    );
    assert_eq!(
        summary.resolve_deadline_ms,
        reported_at + millis(COMPRESSED_RESOLVE)
    );

    // Live: the accept deadline warns halfway, breaches, and the case climbs its first rung:
    // the grid's own leader (网格长督办).
    let first = city
        .wait_case(&case, "the accept breach and the first rung", |reply| {
            count(reply, "CaseEscalated") == 1
        })
        .await;
    city.system
        .stop_service(Service::Supervision)
        .await
        .unwrap();
    assert!(
        now_ms() < reported_at + millis(COMPRESSED_RESOLVE) / 2,
        "the machine was too slow: supervision stopped after the resolve warning point"
    );
    assert_eq!(
        event_types(&first)[3..],
        ["DeadlineWarned", "DeadlineBreached", "CaseEscalated"]
    );
    let recorded_at = |event_type: &str, nth: usize| recorded_at_of(&first, event_type, nth);
    assert!(recorded_at("DeadlineWarned", 0) >= reported_at + millis(COMPRESSED_ACCEPT) / 2);
    assert!(recorded_at("DeadlineBreached", 0) >= summary.accept_deadline_ms);
    assert_eq!(
        summaries(&first, "CaseEscalated"),
        [format!("escalated to level 1 ({YONGJIN_GRID_1})")]
    );
    for entry in &first.timeline[3..] {
        assert_eq!(entry.actor, "supervision:timer", "{entry:?}");
    }
    // The grid leader's app gets the rung; the department hears of the warning, the breach
    // and the rung on its own subject.
    let grid_leader = city.leader_inbox(GRID_LEADER).await;
    let rung = grid_leader.notices(1).await.remove(0);
    assert_eq!(
        (rung.kind(), rung.case_id.as_str(), rung.escalation_level),
        (NoticeKind::Escalation, case.as_str(), 1)
    );
    assert_eq!(rung.rung, "网格长督办");
    assert_eq!(
        (rung.recipient.as_str(), rung.for_leader),
        (GRID_LEADER, true)
    );
    assert_eq!(rung.escalated_to_name, "涌金社区第一网格");
    assert_eq!(rung.handler, "ecology_env");
    assert_eq!(rung.tracking_code, reported.tracking_code);
    let heard = ecology.notices(3).await;
    assert_eq!(
        notice_kinds(&heard),
        [
            (NoticeKind::DeadlineWarning, "accept", 0),
            (NoticeKind::DeadlineBreach, "accept", 0),
            (NoticeKind::Escalation, "", 1),
        ]
    );
    assert_eq!(heard[1].deadline_ms, summary.accept_deadline_ms);
    assert!(heard[1].summary.starts_with("超时：签收期限"), "{heard:?}");
    assert!(heard
        .iter()
        .all(|n| n.recipient == "ecology_env" && !n.for_leader));

    // Supervision went down before the resolve deadline's warning point and the community's
    // rung; it stays down past both and past the resolve deadline.
    let first_breach = summary.accept_deadline_ms;
    wait_until(
        "the resolve deadline to pass while supervision is down",
        WAIT,
        || async { (now_ms() > summary.resolve_deadline_ms + 1_000).then_some(()) },
    )
    .await;
    let while_down = city.case(&case).await;
    assert_eq!(count(&while_down, "CaseEscalated"), 1);
    assert!(while_down.case.as_ref().unwrap().overdue);
    let restarted_at = now_ms();
    city.system
        .start_service(Service::Supervision)
        .await
        .unwrap();

    // After the restart: the resolve breach, and one rung — the community — though two rungs'
    // times have passed by the ladder and a second deadline broke. The street comes a whole
    // gap after the community was reached, not at once.
    let climbed = city
        .wait_case(&case, "the street's rung after the restart", |reply| {
            count(reply, "CaseEscalated") == 3
        })
        .await;
    assert!(recorded_at_of(&climbed, "DeadlineBreached", 1) >= restarted_at);
    assert_eq!(
        summaries(&climbed, "CaseEscalated"),
        [
            format!("escalated to level 1 ({YONGJIN_GRID_1})"),
            format!("escalated to level 2 ({YONGJIN_COMMUNITY})"),
            format!("escalated to level 3 ({LIULANG_STREET})"),
        ]
    );
    let rungs: Vec<i64> = city
        .stored_events(&case)
        .await
        .into_iter()
        .filter_map(|event| match event {
            Event::CaseEscalated(escalated) => Some(escalated.at.unwrap().as_millis()),
            _ => None,
        })
        .collect();
    assert_eq!(rungs.len(), 3);
    assert!(rungs[0] >= first_breach);
    assert!(
        rungs[1] >= restarted_at,
        "the community's rung waited for supervision"
    );
    assert!(
        rungs[2] - rungs[1] >= millis(RUNG_GAP),
        "the street's rung keeps the ladder's pace after a late rung: {rungs:?}"
    );
    // Each rung reached its own leader, and the department heard of each.
    for (leader, level, area) in [
        (COMMUNITY_LEADER, 2, "涌金社区"),
        (STREET_LEADER, 3, "柳浪街道"),
    ] {
        let notice = city.leader_inbox(leader).await.notices(1).await.remove(0);
        assert_eq!(
            (notice.kind(), notice.escalation_level, notice.for_leader),
            (NoticeKind::Escalation, level, true),
            "{leader}: {notice:?}"
        );
        assert_eq!(notice.escalated_to_name, area);
        assert_eq!(notice.case_id, case);
    }
    assert_eq!(
        notice_kinds(&ecology.notices(3).await),
        [
            (NoticeKind::DeadlineBreach, "resolve", 0),
            (NoticeKind::Escalation, "", 2),
            (NoticeKind::Escalation, "", 3),
        ]
    );
    assert_eq!(
        grid_leader.waiting().await,
        0,
        "the grid leader got one rung"
    );

    // Nothing is recorded twice: the fourth rung (7 days) is far off and the breaches are in.
    let last = city.case(&case).await;
    assert_eq!(count(&last, "DeadlineWarned"), 1);
    assert_eq!(count(&last, "DeadlineBreached"), 2);
    assert_eq!(last.case.as_ref().unwrap().escalation_level, 3);
    let colour = city.colour(&case).await;
    assert_eq!(colour.colour, Colour::Red as i32);
    assert_eq!(colour.status(), common::CaseStatus::Dispatched);
    city.shut_down().await;
}

fn recorded_at_of(reply: &GetCaseReply, event_type: &str, nth: usize) -> i64 {
    reply
        .timeline
        .iter()
        .filter(|e| e.event_type == event_type)
        .nth(nth)
        .unwrap_or_else(|| panic!("no {event_type} #{nth}"))
        .recorded_at_ms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_that_was_offline_gets_every_work_order_it_missed() {
    let city = start_city().await;
    let report = |n: u32, grid: &str| ReportCaseRequest {
        category_code: "SJ-07-05".to_owned(),
        ..hotline(
            &format!("console-9-{n}"),
            grid,
            "独居老人无人照料，请社区上门看看",
        )
    };
    let (first, _) = dispatched_case(&city, report(1, "330102-001-002-001")).await;
    let online = city.department_inbox("civil_affairs").await;
    assert_eq!(online.take_one().await.case_id, first.case_id);
    // The department's system goes offline.
    drop(online);

    let (second, _) = dispatched_case(&city, report(2, "330102-002-001-002")).await;
    let (third, _) = dispatched_case(&city, report(3, "330102-003-002-002")).await;
    // Both work orders are published and wait on the server for the durable consumer.
    let observer = city.department_inbox("civil_affairs").await;
    wait_until("the missed work orders to be published", WAIT, || async {
        (observer.waiting().await >= 2).then_some(())
    })
    .await;
    drop(observer);

    // Back online: exactly what it missed, not what it had acknowledged.
    let back = city.department_inbox("civil_affairs").await;
    let caught_up = back.take(2).await;
    let cases: BTreeSet<&str> = caught_up.iter().map(|o| o.case_id.as_str()).collect();
    assert_eq!(
        cases,
        BTreeSet::from([second.case_id.as_str(), third.case_id.as_str()])
    );
    assert_eq!(back.waiting().await, 0);
    for order in &caught_up {
        assert_eq!(order.department, "civil_affairs");
        let accepted = city
            .accept(&order.case_id, Who::Department("civil_affairs"), "accept")
            .await;
        assert_eq!(accepted.status(), common::CaseStatus::Accepted);
    }
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urges_and_postponement_decisions_reach_the_departments_own_system() {
    use gridcase_proto::dispatch::v1::RequestPostponementRequest;
    use gridcase_proto::supervision::v1::{
        ApprovePostponementRequest, RefusePostponementRequest, UrgeCaseRequest,
    };

    let city = start_city().await;
    let (reported, dispatched) = dispatched_case(
        &city,
        ReportCaseRequest {
            category_code: "BJ-04-01".to_owned(),
            ..hotline(
                "console-8-000002",
                YONGJIN_GRID_1,
                "小区门口那棵大树歪了好几天了，刮风的时候枝子直往电线上靠",
            )
        },
    )
    .await;
    let case = reported.case_id.clone();
    let department = "landscape".to_owned();
    let inbox = city.department_inbox(&department).await;
    assert_eq!(inbox.take_one().await.case_id, case);
    city.accept(&case, Who::Department(&department), "accept")
        .await;

    let mut supervisor = city.supervision(SUPERVISOR);
    supervisor
        .urge_case(UrgeCaseRequest {
            case_id: case.clone(),
            note: "居民又打来电话，说树枝已经压到电线了，请今天就去处理".to_owned(),
            request_id: "urge-1".to_owned(),
        })
        .await
        .unwrap();
    let resolve_deadline = dispatched.case.as_ref().unwrap().resolve_deadline_ms;
    let postpone = |n: i64, request_id: &str| RequestPostponementRequest {
        actor: Some(Who::Department(&department).actor(&case, request_id)),
        until_ms: resolve_deadline + n * 24 * 3_600_000,
        reason: "需要等供电公司配合断电才能修剪".to_owned(),
    };
    let mut clerk = city.dispatch(&department);
    clerk
        .request_postponement(postpone(2, "postpone-1"))
        .await
        .unwrap();
    supervisor
        .refuse_postponement(RefusePostponementRequest {
            case_id: case.clone(),
            reason: "有安全隐患，先做临时加固，不能等两天".to_owned(),
            request_id: "refuse-1".to_owned(),
        })
        .await
        .unwrap();
    clerk
        .request_postponement(postpone(1, "postpone-2"))
        .await
        .unwrap();
    supervisor
        .approve_postponement(ApprovePostponementRequest {
            case_id: case.clone(),
            request_id: "approve-1".to_owned(),
        })
        .await
        .unwrap();

    // The department's system, reading its own consumer with its own login, sees each
    // decision as a notice, in order, next to its work orders.
    let notices = inbox.notices(3).await;
    let kinds: Vec<NoticeKind> = notices.iter().map(Notice::kind).collect();
    assert_eq!(
        kinds,
        [
            NoticeKind::Urge,
            NoticeKind::PostponementRefused,
            NoticeKind::PostponementApproved
        ]
    );
    for notice in &notices {
        assert_eq!(notice.case_id, case);
        assert_eq!(notice.tracking_code, reported.tracking_code);
        assert_eq!(notice.recipient, department);
        assert_eq!(notice.handler, department);
        assert_eq!(notice.by, SUPERVISOR);
        assert!(!notice.for_leader);
    }
    assert_eq!(
        notices[0].summary,
        "督办：居民又打来电话，说树枝已经压到电线了，请今天就去处理"
    );
    assert_eq!(notices[1].note, "有安全隐患，先做临时加固，不能等两天");
    assert_eq!(notices[2].until_ms, resolve_deadline + 24 * 3_600_000);
    assert!(notices[2]
        .summary
        .starts_with("延期申请已批准：办结期限延至 "));
    assert_eq!(inbox.waiting().await, 0);
    city.shut_down().await;
}
