//! What departments answer over gRPC: accept, progress, resolve, return, postpone — and what is refused.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn accept_progress_and_resolve_then_rework_sends_a_second_work_order() {
    let mut harness = Harness::start(3).await;
    let (case, _) = harness.gas_case().await;
    harness.wait_status(case, CaseStatus::Dispatched).await;
    let first = harness.pull("dept-gas", 1).await.remove(0);

    assert_eq!(
        harness.accept(case, "gas", "acc-1").await.unwrap(),
        "accepted"
    );
    // The same request again is recorded once.
    let events = harness.events().await;
    let again = harness
        .client()
        .accept(AcceptRequest {
            actor: Some(actor(case, "gas", "acc-1")),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(again.repeated);
    assert_eq!(harness.events().await, events);

    let progress = harness
        .client()
        .report_progress(ReportProgressRequest {
            actor: Some(actor(case, "gas", "prog-1")),
            note: "已到现场，正在更换井盖".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(progress.status(), common::CaseStatus::Accepted);
    let resolved = harness
        .client()
        .resolve(ResolveRequest {
            actor: Some(actor(case, "gas", "res-1")),
            note: "井盖已更换".into(),
            evidence_urls: vec!["https://media.example.cn/done.jpg".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.status(), common::CaseStatus::Resolved);
    let loaded = harness.cases.load(case).await.unwrap();
    assert_eq!(loaded.state.status, Some(CaseStatus::Resolved));
    assert_eq!(resolved.version, loaded.version.unwrap());
    assert_eq!(
        loaded.timeline.last().unwrap().actor.as_deref(),
        Some("department:gas:clerk-1")
    );

    // The on-site check fails: the case comes back to the gas company for rework.
    harness
        .record(
            case,
            Command::FailVerification {
                by: worker("lin-ming"),
                reason: Note::parse("井盖仍然松动").unwrap(),
            },
        )
        .await;
    let loaded = harness.cases.load(case).await.unwrap();
    let failed_version = loaded.version.unwrap();
    let second = harness.pull("dept-gas", 1).await.remove(0);
    assert_eq!(second.work_order_id, format!("{case}-{failed_version}"));
    assert_ne!(second.work_order_id, first.work_order_id);
    assert_eq!(second.rework_count, 1);
    assert_eq!(second.department, "gas");
    assert_eq!(second.case_id, first.case_id);
    assert_eq!(second.accept_deadline_ms, first.accept_deadline_ms);
    assert_eq!(loaded.state.status, Some(CaseStatus::Accepted));
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_return_sends_the_case_back_to_triage() {
    let mut harness = Harness::start(4).await;
    let (case, _) = harness.gas_case().await;
    harness.wait_status(case, CaseStatus::Dispatched).await;
    let reply = harness
        .client()
        .r#return(ReturnRequest {
            actor: Some(actor(case, "gas", "ret-1")),
            reason: "不是燃气井盖，属于市政".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status(), common::CaseStatus::Reported);
    let state = harness.cases.load(case).await.unwrap().state;
    assert_eq!(state.status, Some(CaseStatus::Reported));
    assert_eq!(
        state.returned_by,
        vec![Assignee::Department(department("gas"))]
    );
    assert_eq!(state.assignee, None);
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postponement_is_requested_for_a_later_deadline() {
    let mut harness = Harness::start(5).await;
    let (case, _) = harness.gas_case().await;
    let loaded = harness.wait_status(case, CaseStatus::Dispatched).await;
    let deadline = loaded.state.resolve_deadline.unwrap();
    harness.accept(case, "gas", "acc-1").await.unwrap();
    let request = |until_ms: i64, request_id: &str| RequestPostponementRequest {
        actor: Some(actor(case, "gas", request_id)),
        until_ms,
        reason: "需要更换整段管道".into(),
    };
    let events = harness.events().await;
    let early = harness
        .client()
        .request_postponement(request(deadline.as_millis(), "post-0"))
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition, "{early:?}");
    assert_eq!(harness.events().await, events);

    let until = deadline.plus_millis(48 * HOUR_MS);
    let reply = harness
        .client()
        .request_postponement(request(until.as_millis(), "post-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status(), common::CaseStatus::Accepted);
    let state = harness.cases.load(case).await.unwrap().state;
    let pending = state.pending_postponement.unwrap();
    assert_eq!(pending.until, until);
    assert_eq!(pending.by, Assignee::Department(department("gas")));
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_refused_and_write_nothing() {
    let mut harness = Harness::start(7).await;
    let (case, _) = harness.gas_case().await;
    harness.wait_status(case, CaseStatus::Dispatched).await;
    harness.accept(case, "gas", "acc-1").await.unwrap();
    let (other, _) = harness.gas_case().await;
    harness.wait_status(other, CaseStatus::Dispatched).await;
    let events = harness.events().await;
    let client = harness.client();
    let id = case.to_string();
    let with = |department: &str, grid_worker: &str, request_id: &str, case_id: &str| Actor {
        case_id: case_id.into(),
        department: department.into(),
        grid_worker: grid_worker.into(),
        request_id: request_id.into(),
        ..Default::default()
    };
    let water = harness.client_as("water");
    let accept = |actor: Actor| {
        let mut client = client.clone();
        async move {
            client
                .accept(AcceptRequest { actor: Some(actor) })
                .await
                .unwrap_err()
        }
    };
    let checks: Vec<(&str, tonic::Status, Code, &str)> = vec![
        (
            "bad case id",
            accept(with("gas", "", "r", "not-a-case")).await,
            Code::InvalidArgument,
            "actor.case_id",
        ),
        (
            "both actors",
            accept(with("gas", "lin-ming", "r", &id)).await,
            Code::InvalidArgument,
            "actor",
        ),
        (
            "no actor",
            accept(with("", "", "r", &id)).await,
            Code::InvalidArgument,
            "actor",
        ),
        (
            "unknown department",
            accept(with("no_such_dept", "", "r", &id)).await,
            Code::InvalidArgument,
            "actor.department",
        ),
        (
            "unknown worker",
            accept(with("", "nobody-here", "r", &id)).await,
            Code::InvalidArgument,
            "actor.grid_worker",
        ),
        (
            "empty request id",
            accept(with("gas", "", "", &id)).await,
            Code::InvalidArgument,
            "actor.request_id",
        ),
        (
            "accepting twice",
            accept(with("gas", "", "acc-2", &id)).await,
            Code::FailedPrecondition,
            "cannot accept",
        ),
        (
            "another department",
            water
                .clone()
                .accept(AcceptRequest {
                    actor: Some(with("water", "", "r", &other.to_string())),
                })
                .await
                .unwrap_err(),
            Code::PermissionDenied,
            "not the assignee",
        ),
        (
            "acting for another department",
            accept(with("water", "", "r", &other.to_string())).await,
            Code::PermissionDenied,
            "may not act for department:water",
        ),
        (
            "unknown case",
            accept(with("gas", "", "r", &CaseId::from_u128(99).to_string())).await,
            Code::NotFound,
            "does not exist",
        ),
        (
            "empty reason",
            client
                .clone()
                .r#return(ReturnRequest {
                    actor: Some(with("gas", "", "r", &id)),
                    reason: String::new(),
                })
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "reason:",
        ),
        (
            "oversize note",
            client
                .clone()
                .report_progress(ReportProgressRequest {
                    actor: Some(with("gas", "", "r", &id)),
                    note: "长".repeat(1001),
                })
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "note:",
        ),
        (
            "bad evidence url",
            client
                .clone()
                .resolve(ResolveRequest {
                    actor: Some(with("gas", "", "r", &id)),
                    note: "修好了".into(),
                    evidence_urls: vec!["https://ok.example.cn/a.jpg".into(), "ftp://x".into()],
                })
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "evidence_urls[1]",
        ),
        (
            "resolving before accepting",
            client
                .clone()
                .resolve(ResolveRequest {
                    actor: Some(with("gas", "", "r", &other.to_string())),
                    note: "修好了".into(),
                    evidence_urls: vec![],
                })
                .await
                .unwrap_err(),
            Code::FailedPrecondition,
            "cannot resolve",
        ),
    ];
    for (what, status, code, message) in checks {
        assert_eq!(status.code(), code, "{what}: {status:?}");
        assert!(
            status.message().contains(message),
            "{what}: {:?}",
            status.message()
        );
    }
    let long_id = accept(with("gas", "", &"x".repeat(129), &id)).await;
    assert_eq!(long_id.code(), Code::InvalidArgument);
    assert_eq!(harness.events().await, events);
    harness.shut_down().await;
}
