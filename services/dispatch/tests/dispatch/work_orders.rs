//! Dispatch and the work orders departments pull: deadlines, late consumers, self-handled and joint cases, a restart.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_triaged_case_is_dispatched_with_sla_deadlines_and_a_work_order() {
    let mut harness = Harness::start(1).await;
    let (case, reported_at) = harness.gas_case().await;
    let loaded = harness.wait_status(case, CaseStatus::Dispatched).await;
    let state = &loaded.state;
    assert_eq!(
        state.assignee,
        Some(Assignee::Department(department("gas")))
    );
    // Urgent counts natural hours: accept within 2 h, resolve within 24 h of the report.
    let policy = harness.reference.sla_for(
        Priority::Urgent,
        Some(&CategoryCode::parse(GAS_CATEGORY).unwrap()),
    );
    assert_eq!(policy.accept, Duration::from_secs(2 * 3600));
    assert_eq!(
        state.accept_deadline,
        Some(reported_at.plus_millis(2 * HOUR_MS))
    );
    assert_eq!(
        state.resolve_deadline,
        Some(reported_at.plus_millis(24 * HOUR_MS))
    );
    let dispatch_entry = loaded
        .timeline
        .iter()
        .find(|entry| matches!(entry.event, Event::CaseDispatched(_)))
        .unwrap();
    assert_eq!(dispatch_entry.actor.as_deref(), Some("service:dispatch"));

    let orders = harness.pull("dept-gas", 1).await;
    let order = &orders[0];
    let expected = WorkOrder {
        work_order_id: format!("{case}-{}", dispatch_entry.version),
        case_id: case.to_string(),
        tracking_code: state.tracking_code.unwrap().to_string(),
        category_code: GAS_CATEGORY.into(),
        category_name: harness
            .reference
            .category(&CategoryCode::parse(GAS_CATEGORY).unwrap())
            .unwrap()
            .name
            .clone(),
        priority: PbPriority::Urgent as i32,
        description: "井盖缺失，有人掉进去的危险".into(),
        location: Some(common::Location {
            grid_code: GRID.into(),
            address: "涌金路 12 号门口".into(),
            coordinates: Some(common::Coordinates {
                lat: 30.2533,
                lon: 120.1622,
            }),
        }),
        media_urls: vec!["https://media.example.cn/a.jpg".into()],
        department: "gas".into(),
        grid_worker: String::new(),
        participants: vec![],
        accept_deadline_ms: reported_at.as_millis() + 2 * HOUR_MS,
        resolve_deadline_ms: reported_at.as_millis() + 24 * HOUR_MS,
        dispatched_at_ms: dispatch_entry.recorded_at_ms,
        rework_count: 0,
        reporter_phone_masked: "138****5678".into(),
        recipient: "gas".into(),
        for_consultation: false,
        community: String::new(),
        street: String::new(),
        // A department's order carries no suggestion: it accepts or returns.
        suggestion: String::new(),
        suggested_department: String::new(),
        // No whistle: nobody reports in.
        report_in_deadline_ms: 0,
        whistled_by: String::new(),
    };
    assert_eq!(order, &expected);
    assert_eq!(order.category_name, "燃气井盖");
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_department_that_connects_late_gets_every_work_order() {
    let mut harness = Harness::start(2).await;
    let mut cases = Vec::new();
    for _ in 0..4 {
        let (case, _) = harness.gas_case().await;
        cases.push(case);
    }
    for case in &cases {
        harness.wait_status(*case, CaseStatus::Dispatched).await;
    }
    // The gas company's system connects for the first time only now.
    let orders = harness.pull("dept-gas", 4).await;
    let mut got: Vec<String> = orders.iter().map(|order| order.case_id.clone()).collect();
    got.sort();
    let mut want: Vec<String> = cases.iter().map(ToString::to_string).collect();
    want.sort();
    assert_eq!(got, want);
    // Nothing went to another department's consumer.
    let water = harness
        .jetstream
        .get_stream(gridcase_bus::subjects::DISPATCH_STREAM)
        .await
        .unwrap()
        .consumer_info("dept-water")
        .await
        .unwrap()
        .num_pending;
    assert_eq!(water, 0);
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn self_handled_and_joint_cases_go_to_their_subjects() {
    let mut harness = Harness::start(6).await;
    let (own, _) = harness.report().await;
    harness
        .triage(
            own,
            "BJ-01-07",
            Priority::Normal,
            Route::SelfHandle {
                worker: worker("lin-ming"),
            },
        )
        .await;
    let (joint, _) = harness.report().await;
    harness
        .triage(
            joint,
            "BJ-01-01",
            Priority::Urgent,
            Route::joint(
                department("water"),
                vec![department("urban_mgmt"), department("transport")],
            )
            .unwrap(),
        )
        .await;
    let loaded = harness.wait_status(own, CaseStatus::Dispatched).await;
    let order = harness.pull_worker("lin-ming", 1).await.remove(0);
    assert_eq!(order.case_id, own.to_string());
    assert_eq!(order.grid_worker, "lin-ming");
    assert_eq!(order.department, "");
    assert_eq!(
        order.work_order_id,
        format!("{own}-{}", dispatched_version(&loaded))
    );
    // Working hours: the deadlines come from the calendar walk.
    let state = &loaded.state;
    let policy = harness
        .reference
        .sla_for(Priority::Normal, state.category.as_ref());
    let (accept, resolve) = gridcase_rules::sla::dispatch_deadlines(
        harness.reference.calendar(),
        &policy,
        state.reported_at.unwrap(),
    );
    assert_eq!(state.accept_deadline, accept);
    assert_eq!(state.resolve_deadline, resolve);
    assert_eq!(order.accept_deadline_ms, accept.unwrap().as_millis());

    // The grid worker answers as a grid worker.
    let reply = harness
        .client_as("lin-ming")
        .accept(AcceptRequest {
            actor: Some(Actor {
                case_id: own.to_string(),
                department: String::new(),
                grid_worker: "lin-ming".into(),
                request_id: "w-acc-1".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status(), common::CaseStatus::Accepted);

    harness.wait_status(joint, CaseStatus::Dispatched).await;
    let order = harness.pull("dept-water", 1).await.remove(0);
    assert_eq!(order.case_id, joint.to_string());
    assert_eq!(order.department, "water");
    assert_eq!(order.participants, vec!["urban_mgmt", "transport"]);
    assert!(!order.for_consultation);
    // Each participant gets a copy for the consultation, with an id of its own.
    for participant in ["urban_mgmt", "transport"] {
        let copy = harness
            .pull(&format!("dept-{participant}"), 1)
            .await
            .remove(0);
        assert_eq!(copy.case_id, joint.to_string());
        assert_eq!(copy.recipient, participant);
        assert!(copy.for_consultation);
        assert_eq!(copy.department, "water");
        assert_eq!(
            copy.work_order_id,
            format!("{}-{participant}", order.work_order_id)
        );
    }
    harness.shut_down().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_service_picks_up_where_it_stopped() {
    let mut harness = Harness::start(8).await;
    let (before, _) = harness.gas_case().await;
    harness.wait_status(before, CaseStatus::Dispatched).await;
    let first = harness.pull("dept-gas", 1).await;
    assert_eq!(first[0].case_id, before.to_string());
    harness.stop_service().await;

    // Cases triaged while the service is down wait for it.
    let mut while_down = Vec::new();
    for _ in 0..3 {
        let (case, _) = harness.gas_case().await;
        while_down.push(case);
    }
    for case in &while_down {
        let state = harness.cases.load(*case).await.unwrap().state;
        assert_eq!(state.status, Some(CaseStatus::Triaged));
    }
    harness.start_service().await;
    for case in &while_down {
        let loaded = harness.wait_status(*case, CaseStatus::Dispatched).await;
        // Dispatched once, not once per delivery.
        let dispatches = loaded
            .timeline
            .iter()
            .filter(|entry| matches!(entry.event, Event::CaseDispatched(_)))
            .count();
        assert_eq!(dispatches, 1);
    }
    let orders = harness.pull("dept-gas", 3).await;
    let mut got: Vec<String> = orders.iter().map(|order| order.case_id.clone()).collect();
    got.sort();
    let mut want: Vec<String> = while_down.iter().map(ToString::to_string).collect();
    want.sort();
    assert_eq!(got, want, "each case's work order exactly once");
    let pending = harness
        .jetstream
        .get_stream(gridcase_bus::subjects::DISPATCH_STREAM)
        .await
        .unwrap()
        .consumer_info("dept-gas")
        .await
        .unwrap()
        .num_pending;
    assert_eq!(pending, 0);
    harness.shut_down().await;
}
