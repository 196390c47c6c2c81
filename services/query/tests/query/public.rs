//! What the public may see: cases by tracking code or filter, and community boards.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn public_cases_and_boards_show_no_personal_data_and_follow_the_log() {
    let mut h = Harness::start(4).await;
    let open = h.dispatched(GRID_A, GAS_CATEGORY, "gas").await;
    let closed = h.dispatched(GRID_A, WATER_CATEGORY, "water").await;
    let elsewhere = h.reported(GRID_C).await;
    let water = Assignee::Department(department("water"));
    let checker = WorkerId::parse("lin-ming").unwrap();
    for command in [
        Command::Accept { by: water.clone() },
        Command::Resolve {
            by: water,
            note: Note::parse("已更换新井盖并加固").unwrap(),
            evidence: vec![Url::parse("https://gw.example.cn/media/ab12.jpg").unwrap()],
        },
        Command::Verify {
            by: checker,
            note: None,
        },
        Command::RecordSatisfaction {
            resolved: true,
            satisfied: true,
            score: 5,
            comment: None,
        },
        Command::Close { by: None },
    ] {
        h.record(closed, "department:water:clerk-2", command).await;
    }
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("gateway");
    let codes = |reply: &gridcase_proto::query::v1::PublicCasesReply| -> Vec<String> {
        reply.cases.iter().map(|c| c.case_id.clone()).collect()
    };

    // Newest first, by state, without the reporter's phone.
    let all = client
        .public_cases(PublicCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        codes(&all),
        [elsewhere.to_string(), closed.to_string(), open.to_string()]
    );
    assert_eq!((all.total, all.more), (3, false));
    assert!(!format!("{all:?}").contains(PHONE));
    // Not even masked (the last four digits alone could turn up by chance in an id).
    assert!(!format!("{all:?}").contains("****5678"));
    let only_closed = client
        .public_cases(PublicCasesRequest {
            state: PublicState::Closed as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(codes(&only_closed), [closed.to_string()]);
    let limited = client
        .public_cases(PublicCasesRequest {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (limited.cases.len(), limited.total, limited.more),
        (1, 1, true),
        "the scan stops at the limit"
    );
    let counted = client
        .public_cases(PublicCasesRequest {
            limit: 1,
            count_all: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (counted.cases.len(), counted.total, counted.more),
        (1, 3, true)
    );

    // By tracking code (lowercase, no dash): the resolution, evidence and the stages.
    let tracking = TrackingCode::from_u64(closed.as_u128() as u64).to_string();
    let by_code = client
        .public_cases(PublicCasesRequest {
            tracking_codes: vec![tracking.replace('-', "").to_lowercase(), "ZZZZ-ZZZZ".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_code.cases.len(), 1, "{by_code:?}");
    let case = &by_code.cases[0];
    assert_eq!(case.tracking_code, tracking);
    assert_eq!(case.status(), common::CaseStatus::Closed);
    assert_eq!(case.state(), PublicState::Closed);
    assert_eq!(case.department, "water");
    assert_eq!(case.resolution_note, "已更换新井盖并加固");
    assert_eq!(case.evidence_urls, ["https://gw.example.cn/media/ab12.jpg"]);
    assert_eq!(case.address, "涌金路 12 号门口");
    assert_eq!(case.channel, "hotline");
    assert_eq!(case.rating_score, 5);
    assert_eq!(case.expected_at_ms, 0, "a closed case expects nothing");
    let stages: Vec<common::CaseStatus> = case.stages.iter().map(|s| s.status()).collect();
    assert_eq!(
        stages,
        [
            common::CaseStatus::Reported,
            common::CaseStatus::Triaged,
            common::CaseStatus::Dispatched,
            common::CaseStatus::Accepted,
            common::CaseStatus::Resolved,
            common::CaseStatus::Verified,
            common::CaseStatus::Closed,
        ]
    );
    assert!(case.updated_at_ms >= case.reported_at_ms);

    // The board of street 330102-001: its two communities, one with both cases.
    let now = gridcase_runtime::now().as_millis();
    let board = client
        .public_board(PublicBoardRequest {
            area_code: "330102-001".into(),
            from_ms: now - 30 * 24 * HOUR_MS,
            to_ms: now + HOUR_MS,
        })
        .await
        .unwrap()
        .into_inner();
    let rows: Vec<&str> = board
        .communities
        .iter()
        .map(|c| c.community_code.as_str())
        .collect();
    assert_eq!(rows, ["330102-001-001", "330102-001-002"]);
    let row = &board.communities[0];
    assert_eq!(
        (
            row.reported,
            row.closed,
            row.closed_on_time,
            row.ratings,
            row.satisfied
        ),
        (2, 1, 1, 1, 1)
    );
    let top: Vec<(&str, u64)> = row
        .top_categories
        .iter()
        .map(|c| (c.category.as_str(), c.cases))
        .collect();
    assert_eq!(
        top,
        [(WATER_CATEGORY, 1), (GAS_CATEGORY, 1)],
        "ties by code"
    );
    let departments: Vec<(&str, u64, u64)> = row
        .departments
        .iter()
        .map(|d| (d.department.as_str(), d.due, d.on_time))
        .collect();
    assert_eq!(departments, [("water", 1, 1)]);
    assert_eq!(board.communities[1].reported, 0);

    // The gateway reads only what is public.
    let refused = client
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    h.shut_down().await;
}
