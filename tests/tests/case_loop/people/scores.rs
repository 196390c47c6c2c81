//! Grid workers, a community and a street scored from a handful of cases, with exact numbers,
//! and the month's report as CSV.

use super::*;

/// [`generous_points`] with the ranking minimums lowered to this test's handful of cases.
fn small_rankings(dir: &Path) {
    generous_points(dir);
    let path = dir.join("indicators.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("min_cases_for_ranking = 10", "min_cases_for_ranking = 3")
        .replace("min_activity = 5", "min_activity = 3");
    assert!(text.contains("min_activity = 3") && text.contains("min_cases_for_ranking = 3"));
    std::fs::write(&path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grid_workers_communities_and_streets_are_scored_from_their_cases() {
    let city = City::start(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: OPERATOR,
            supervisor: SUPERVISOR,
        },
        small_rankings,
    )
    .await;
    let from_ms = now_ms();
    // chen-lijuan finds two small matters on patrol and settles them; lin-ming checks them.
    let mut settled = Vec::new();
    for (n, (micro_grid, words)) in [
        (
            "330102-001-001-001-03",
            "南山路218号院3号楼楼道口堆了好几捆旧纸板，人过不去",
        ),
        (
            "330102-001-001-001-01",
            "涌金公寓地下车库入口两边堆满了装修垃圾袋",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let reported = city
            .report(
                "chen-lijuan",
                ReportCaseRequest {
                    client_request_id: format!("app-chen-lijuan-score-{n}"),
                    channel: ReportChannel::GridWorker as i32,
                    reporter: None,
                    category_code: "SJ-01-04".to_owned(),
                    reported_by_worker: "chen-lijuan".to_owned(),
                    ..hotline("", micro_grid, words)
                },
            )
            .await;
        let case = reported.case_id;
        city.wait_status(&case, "dispatched").await;
        let worker = Who::Worker("chen-lijuan");
        city.accept(&case, worker, "accept").await;
        city.resolve(&case, worker, "done").await;
        city.verify(&case, "lin-ming", true, "check").await;
        settled.push(case);
    }
    // The first is rated satisfied, the second resolved but not satisfying.
    city.rate(&settled[0], OPERATOR, true, "callback").await;
    let mut evaluation = city.evaluation(OPERATOR);
    evaluation
        .record_rating(gridcase_proto::evaluation::v1::RecordRatingRequest {
            case_id: settled[1].clone(),
            resolved: true,
            satisfied: false,
            score: 3,
            comment: "清是清走了，就是拖了两天".to_owned(),
            request_id: "callback".to_owned(),
        })
        .await
        .unwrap();
    // A resident's call in the same grid goes to urban_mgmt; lin-ming checks it; satisfied.
    let (bin, _) = dispatched_case(
        &city,
        ReportCaseRequest {
            category_code: "BJ-03-02".to_owned(),
            ..hotline(
                "console-13-scores",
                YONGJIN_GRID_1,
                "涌金路口那个垃圾桶的盖子被人拿走了，苍蝇蚊子到处飞",
            )
        },
    )
    .await;
    city.accept(&bin.case_id, Who::Department("urban_mgmt"), "accept")
        .await;
    city.resolve(&bin.case_id, Who::Department("urban_mgmt"), "resolve")
        .await;
    city.verify(&bin.case_id, "lin-ming", true, "check").await;
    city.rate(&bin.case_id, OPERATOR, true, "callback").await;
    for case in settled.iter().chain([&bin.case_id]) {
        city.wait_status(case, "closed").await;
    }
    let to_ms = now_ms() + 1;

    let mut query = city.query_as(YONGJIN_COMMUNITY);
    let workers = query
        .grid_worker_indicators(gridcase_proto::query::v1::PeriodRequest { from_ms, to_ms })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(workers.min_activity, 3);
    let row = |id: &str| {
        workers
            .workers
            .iter()
            .find(|w| w.worker_id == id)
            .unwrap()
            .clone()
    };
    let chen = row("chen-lijuan");
    assert_eq!(
        (
            chen.found_on_patrol,
            chen.settled_in_grid,
            chen.checks,
            chen.ratings,
            chen.satisfied
        ),
        (2, 2, 0, 3, 2)
    );
    assert_eq!(
        (chen.name.as_str(), chen.grid_name.as_str()),
        ("陈丽娟", "涌金社区第一网格")
    );
    // 0.3 × 2/3 + 0.2 × 0 (no check) + 0.1 × 0 (no visit) + 0.2 × 2/2 + 0.2 × 2/2
    assert!(
        (chen.score - (0.3 * 2.0 / 3.0 + 0.4)).abs() < 1e-9,
        "{chen:?}"
    );
    let lin = row("lin-ming");
    assert_eq!(
        (
            lin.found_on_patrol,
            lin.settled_in_grid,
            lin.checks,
            lin.checks_on_time
        ),
        (0, 0, 3, 3)
    );
    assert_eq!(
        (lin.on_time_check_rate, lin.ratings, lin.satisfied),
        (Some(1.0), 3, 2)
    );
    // 0.3 × 2/3 + 0.2 × 1
    assert!(
        (lin.score - (0.3 * 2.0 / 3.0 + 0.2)).abs() < 1e-9,
        "{lin:?}"
    );
    let ranked: Vec<(&str, u32)> = workers
        .workers
        .iter()
        .filter(|w| w.rank > 0)
        .map(|w| (w.worker_id.as_str(), w.rank))
        .collect();
    assert_eq!(ranked, [("chen-lijuan", 1), ("lin-ming", 2)]);

    for (level, code) in [("community", YONGJIN_COMMUNITY), ("street", LIULANG_STREET)] {
        let areas = query
            .area_indicators(gridcase_proto::query::v1::SettlementIndicatorsRequest {
                from_ms,
                to_ms,
                level: level.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(areas.areas.len(), 1, "{areas:?}");
        let area = &areas.areas[0];
        assert_eq!(area.grid_code, code);
        assert_eq!(
            (
                area.cases,
                area.closed,
                area.ratings,
                area.satisfied,
                area.resolved
            ),
            (3, 3, 3, 2, 3)
        );
        assert_eq!(
            (area.settled_in_grid, area.settled_in_community, area.rank),
            (2, 2, 1)
        );
        assert_eq!(area.grid_share, Some(2.0 / 3.0));
    }

    // The month's report, as CSV, from the same services.
    let (month, csv) = month_report(&city).await;
    let lines: Vec<&str> = csv.lines().collect();
    let at = lines
        .iter()
        .position(|line| *line == format!("grid workers,{month}"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert_eq!(
        lines[at + 1],
        "rank,worker,name,grid,found on patrol,settled in grid,checks,on time,visits,visits on time,ratings,satisfied,score"
    );
    assert_eq!(
        lines[at + 2],
        "1,chen-lijuan,陈丽娟,涌金社区第一网格,2,2,0,—,0,—,3,66.7%,0.600"
    );
    assert_eq!(
        lines[at + 3],
        "2,lin-ming,林明,涌金社区第一网格,0,0,3,100.0%,0,—,3,66.7%,0.400"
    );
    assert!(
        lines.contains(&format!("communities,{month}").as_str()),
        "{csv}"
    );
    assert!(
        lines.contains(&"1,330102-001-001,涌金社区,3,3,3,66.7%,100.0%,66.7%,66.7%"),
        "{csv}"
    );
    assert!(
        lines.contains(&format!("departments,{month}").as_str()),
        "{csv}"
    );
    city.shut_down().await;
}
