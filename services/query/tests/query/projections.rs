//! The projections over gRPC: timelines, lists and boards live and after a restart, colours,
//! stages and department indicators, and the refusals.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn projections_answer_lists_boards_and_timelines_live_and_after_a_restart() {
    let mut h = Harness::start(1).await;
    let a = h.dispatched(GRID_A, GAS_CATEGORY, "gas").await;
    let b = h.triaged(GRID_B, WATER_CATEGORY, "water").await;
    let c = h.reported(GRID_C).await;
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("sup");

    // The timeline, in order, with actors; the phone masked.
    let reply = get(&mut client, a).await;
    let summary = reply.case.clone().unwrap();
    assert_eq!(summary.status(), common::CaseStatus::Dispatched);
    assert_eq!(summary.category, GAS_CATEGORY);
    assert_eq!(summary.grid_code, GRID_A);
    assert_eq!(summary.assignee, "department gas");
    assert!(summary.accept_deadline_ms > 0 && summary.resolve_deadline_ms > 0);
    assert!(!summary.overdue);
    assert_eq!(summary.reporter_phone_masked, "138****5678");
    assert!(!format!("{reply:?}").contains(PHONE));
    let timeline: Vec<(&str, &str, &str)> = reply
        .timeline
        .iter()
        .map(|e| (e.event_type.as_str(), e.stage.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        timeline,
        [
            ("CaseReported", "intake", "operator:op-7"),
            ("CaseTriaged", "triage", "operator:op-8"),
            ("CaseDispatched", "dispatch", "dispatcher:auto"),
        ]
    );
    assert!(reply
        .timeline
        .windows(2)
        .all(|w| w[0].position < w[1].position && w[0].recorded_at_ms <= w[1].recorded_at_ms));
    assert!(reply.timeline.iter().all(|e| !e.summary.is_empty()));

    // Lists: newest first, filtered, paged.
    let all = list(&mut client, ListCasesRequest::default()).await;
    assert_eq!(ids(&all), [c.to_string(), b.to_string(), a.to_string()]);
    assert_eq!(all.total, 3);
    assert!(all.next_page_token.is_empty());
    let dispatched = list(
        &mut client,
        ListCasesRequest {
            status: common::CaseStatus::Dispatched as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&dispatched), [a.to_string()]);
    let street = list(
        &mut client,
        ListCasesRequest {
            grid_code: "330102-001".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&street), [b.to_string(), a.to_string()]);
    let water = list(
        &mut client,
        ListCasesRequest {
            department: "water".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&water), [b.to_string()]);
    let mut paged = Vec::new();
    let mut token = String::new();
    for _ in 0..3 {
        let page = list(
            &mut client,
            ListCasesRequest {
                page_size: 1,
                page_token: token.clone(),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(page.cases.len(), 1);
        paged.extend(ids(&page));
        token = page.next_page_token;
    }
    assert!(token.is_empty());
    assert_eq!(paged, ids(&all));

    // Board: per street and per community.
    let board = client.board(BoardRequest {}).await.unwrap().into_inner();
    assert_eq!(
        counts(&board, true, "330102-001"),
        (2, vec![("dispatched".into(), 1), ("triaged".into(), 1)])
    );
    assert_eq!(
        counts(&board, true, "330102-002"),
        (1, vec![("reported".into(), 1)])
    );
    assert_eq!(
        counts(&board, false, "330102-001-001"),
        (1, vec![("dispatched".into(), 1)])
    );
    assert_eq!(board.communities.len(), 3);

    // A case written while the service runs appears.
    let d = h.dispatched(GRID_C, GAS_CATEGORY, "gas").await;
    h.wait_caught_up().await;
    assert_eq!(
        get(&mut client, d).await.case.unwrap().status(),
        common::CaseStatus::Dispatched
    );
    let gas = list(
        &mut client,
        ListCasesRequest {
            department: "gas".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&gas), [d.to_string(), a.to_string()]);

    // A restart rebuilds the same answers from the log.
    let before_case = get(&mut client, a).await;
    let before_board = strip(client.board(BoardRequest {}).await.unwrap().into_inner());
    h.stop_service().await;
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("admin");
    assert_eq!(get(&mut client, a).await.timeline, before_case.timeline);
    assert_eq!(
        get(&mut client, a).await.case.map(|s| s.case_id),
        before_case.case.map(|s| s.case_id)
    );
    assert_eq!(
        strip(client.board(BoardRequest {}).await.unwrap().into_inner()),
        before_board
    );
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn colours_stages_and_department_indicators_follow_the_log() {
    let mut h = Harness::start(2).await;
    // Reported up to an hour ago: accepting a minute from now is past the warning point.
    let late = h.dispatched_due(GRID_A, GAS_CATEGORY, "gas", -60_000).await;
    let near = h.dispatched_due(GRID_A, GAS_CATEGORY, "gas", 60_000).await;
    let far = h
        .dispatched_due(GRID_B, WATER_CATEGORY, "water", 100 * HOUR_MS)
        .await;
    let waiting = h.reported(GRID_C).await;
    h.record(
        far,
        "department:water:clerk-1",
        Command::Accept {
            by: Assignee::Department(department("water")),
        },
    )
    .await;
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("sup");

    let colour_and_stage = |reply: GetCaseReply| {
        let summary = reply.case.unwrap();
        (summary.colour, summary.stage)
    };
    assert_eq!(
        colour_and_stage(get(&mut client, late).await),
        ("red".to_owned(), "resolve".to_owned())
    );
    assert_eq!(
        colour_and_stage(get(&mut client, near).await),
        ("yellow".to_owned(), "resolve".to_owned())
    );
    assert_eq!(
        colour_and_stage(get(&mut client, far).await),
        ("green".to_owned(), "resolve".to_owned())
    );
    assert_eq!(
        colour_and_stage(get(&mut client, waiting).await),
        ("green".to_owned(), "triage".to_owned())
    );
    let red = list(
        &mut client,
        ListCasesRequest {
            colour: "red".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&red), [late.to_string()]);
    let refused = client
        .list_cases(ListCasesRequest {
            colour: "purple".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("colour"), "{refused:?}");

    let board = client.board(BoardRequest {}).await.unwrap().into_inner();
    let street = board
        .streets
        .iter()
        .find(|a| a.grid_code == "330102-001")
        .unwrap();
    let sorted = |map: &std::collections::HashMap<String, u64>| {
        let mut pairs: Vec<(String, u64)> = map.iter().map(|(k, v)| (k.clone(), *v)).collect();
        pairs.sort();
        pairs
    };
    assert_eq!(sorted(&street.by_stage), [("resolve".to_owned(), 3)]);
    assert_eq!(
        sorted(&street.by_colour),
        [
            ("green".to_owned(), 1),
            ("red".to_owned(), 1),
            ("yellow".to_owned(), 1)
        ]
    );

    // Indicators: water accepted its one dispatch in time, gas none of its two.
    let period = gridcase_proto::evaluation::v1::DepartmentIndicatorsRequest {
        from_ms: h.base.as_millis() - HOUR_MS,
        to_ms: gridcase_runtime::now().as_millis() + HOUR_MS,
    };
    let reply = client
        .department_indicators(period)
        .await
        .unwrap()
        .into_inner();
    let rows: Vec<(&str, u64, u64, Option<f64>, u32)> = reply
        .departments
        .iter()
        .map(|d| {
            (
                d.department.as_str(),
                d.dispatched,
                d.accepted_on_time,
                d.response_rate,
                d.rank,
            )
        })
        .collect();
    assert_eq!(
        rows,
        // Best score first; too few cases due for either to be ranked.
        [("water", 1, 1, Some(1.0), 0), ("gas", 2, 0, Some(0.0), 0)]
    );
    assert_eq!(
        reply.events_read, 11,
        "4 reports, 3 triages, 3 dispatches, 1 acceptance"
    );
    let empty = client
        .department_indicators(
            gridcase_proto::evaluation::v1::DepartmentIndicatorsRequest {
                from_ms: period.to_ms,
                to_ms: period.to_ms,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert!(empty.message().starts_with("to_ms:"), "{empty:?}");
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_unknown_cases_and_department_callers_are_refused() {
    let mut h = Harness::start(2).await;
    h.reported(GRID_A).await;
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("operator");

    let status = client
        .get_case(GetCaseRequest {
            case_id: "not-a-case".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("case_id"), "{status:?}");

    let status = client
        .get_case(GetCaseRequest {
            case_id: CaseId::from_u128(999).to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    for (request, field) in [
        (
            ListCasesRequest {
                page_size: 500,
                ..Default::default()
            },
            "page_size",
        ),
        (
            ListCasesRequest {
                grid_code: "33-01".into(),
                ..Default::default()
            },
            "grid_code",
        ),
        (
            ListCasesRequest {
                grid_code: "330102-009".into(),
                ..Default::default()
            },
            "grid_code",
        ),
        (
            ListCasesRequest {
                colour: "purple".into(),
                ..Default::default()
            },
            "colour",
        ),
        (
            ListCasesRequest {
                status: 99,
                ..Default::default()
            },
            "status",
        ),
        (
            ListCasesRequest {
                department: "no_such_department".into(),
                ..Default::default()
            },
            "department",
        ),
        (
            ListCasesRequest {
                page_token: "garbage".into(),
                ..Default::default()
            },
            "page_token",
        ),
    ] {
        let status = client.list_cases(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with(field), "{field}: {status:?}");
    }

    let mut gas = h.client_as("gas");
    let status = gas.board(BoardRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = gas
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    h.shut_down().await;
}
