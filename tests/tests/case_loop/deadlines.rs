//! Time: deadlines warned, breached and escalated, and a department that was offline catching up.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_warn_breach_and_escalate_once_even_across_a_supervision_restart() {
    let mut city = start_city().await;
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

    // Live: the accept deadline warns halfway, breaches, and escalates to the community; the
    // resolve deadline then warns halfway too.
    let warned = city
        .wait_case(&case, "accept breach and resolve warning", |reply| {
            count(reply, "DeadlineWarned") == 2 && count(reply, "CaseEscalated") == 1
        })
        .await;
    assert_eq!(
        event_types(&warned)[3..],
        [
            "DeadlineWarned",
            "DeadlineBreached",
            "CaseEscalated",
            "DeadlineWarned"
        ]
    );
    let recorded_at = |event_type: &str, nth: usize| recorded_at_of(&warned, event_type, nth);
    assert!(recorded_at("DeadlineWarned", 0) >= reported_at + millis(COMPRESSED_ACCEPT) / 2);
    assert!(recorded_at("DeadlineBreached", 0) >= summary.accept_deadline_ms);
    assert!(recorded_at("DeadlineWarned", 1) >= reported_at + millis(COMPRESSED_RESOLVE) / 2);
    assert_eq!(
        summaries(&warned, "CaseEscalated"),
        [format!("escalated to level 1 ({YONGJIN_COMMUNITY})")]
    );
    for entry in &warned.timeline[3..] {
        assert_eq!(entry.actor, "supervision:timer", "{entry:?}");
    }
    assert_eq!(city.colour(&case).await.colour, Colour::Red as i32);

    // Across a restart: the resolve deadline passes while supervision is down.
    city.system
        .stop_service(Service::Supervision)
        .await
        .unwrap();
    assert!(
        now_ms() < summary.resolve_deadline_ms,
        "the machine was too slow: supervision stopped after the resolve deadline"
    );
    wait_until(
        "the resolve deadline to pass while supervision is down",
        WAIT,
        || async { (now_ms() > summary.resolve_deadline_ms + 500).then_some(()) },
    )
    .await;
    let while_down = city.case(&case).await;
    assert_eq!(count(&while_down, "DeadlineBreached"), 1);
    assert!(while_down.case.as_ref().unwrap().overdue);
    let restarted_at = now_ms();
    city.system
        .start_service(Service::Supervision)
        .await
        .unwrap();
    let breached = city
        .wait_case(&case, "the resolve breach after the restart", |reply| {
            count(reply, "CaseEscalated") == 2
        })
        .await;
    assert!(recorded_at_of(&breached, "DeadlineBreached", 1) >= restarted_at);
    assert_eq!(
        summaries(&breached, "CaseEscalated"),
        [
            format!("escalated to level 1 ({YONGJIN_COMMUNITY})"),
            format!("escalated to level 2 ({LIULANG_STREET})"),
        ]
    );

    // The restarted ticker looks at both breached deadlines on every tick (200 ms); nothing
    // may be recorded twice. Once supervision's own table has caught up, watch it for ten
    // ticks: absence cannot be polled for.
    let settled = breached.case.as_ref().unwrap().version;
    let counts =
        |colour: &CaseColourReply| (colour.warnings, colour.breaches, colour.escalation_level);
    wait_until("supervision to catch up", WAIT, || async {
        let colour = city.colour(&case).await;
        if counts(&colour) == (2, 2, 2) {
            Ok(())
        } else {
            Err(format!("{colour:?}"))
        }
    })
    .await;
    // Watching for two seconds is the behaviour under test (nothing is recorded again), not a
    // wait for something to happen.
    let watch_until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < watch_until {
        let colour = city.colour(&case).await;
        assert_eq!(counts(&colour), (2, 2, 2), "{colour:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let last = city.case(&case).await;
    assert_eq!(
        last.case.as_ref().unwrap().version,
        settled,
        "{:?}",
        typed_actors(&last)
    );
    assert_eq!(count(&last, "DeadlineWarned"), 2);
    assert_eq!(count(&last, "DeadlineBreached"), 2);
    assert_eq!(count(&last, "CaseEscalated"), 2);
    assert_eq!(last.case.as_ref().unwrap().escalation_level, 2);
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
