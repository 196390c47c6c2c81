//! Lists from the indexes: keyset pages while cases arrive, and agreement with a full scan.

use super::*;

/// All cases' ids of a list, page after page of `size`.
async fn all_pages(client: &mut Client, request: ListCasesRequest, size: u32) -> Vec<String> {
    let mut ids_seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(
            client,
            ListCasesRequest {
                page_size: size,
                page_token: token.clone(),
                ..request.clone()
            },
        )
        .await;
        ids_seen.extend(ids(&page));
        if page.next_page_token.is_empty() {
            return ids_seen;
        }
        token = page.next_page_token;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keyset_pages_neither_skip_nor_repeat_while_cases_arrive() {
    let mut h = Harness::start(5).await;
    let mut first = Vec::new();
    for grid in [GRID_A, GRID_B, GRID_C, GRID_A, GRID_B, GRID_C, GRID_A] {
        first.push(h.reported(grid).await.to_string());
    }
    first.reverse(); // newest first
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("sup");
    let page = |token: String| ListCasesRequest {
        page_size: 3,
        page_token: token,
        ..Default::default()
    };
    let one = list(&mut client, page(String::new())).await;
    assert_eq!(one.total, 7);
    // New reports arrive between the pages: newer than every case listed so far.
    h.reported(GRID_B).await;
    h.reported(GRID_C).await;
    h.wait_caught_up().await;
    let two = list(&mut client, page(one.next_page_token.clone())).await;
    h.reported(GRID_A).await;
    h.wait_caught_up().await;
    let three = list(&mut client, page(two.next_page_token.clone())).await;
    assert!(three.next_page_token.is_empty(), "{three:?}");
    let seen: Vec<String> = [ids(&one), ids(&two), ids(&three)].concat();
    assert_eq!(seen, first, "every case once, newest first, none skipped");
    assert_eq!(three.total, 10, "the total follows the arrivals");
    h.shut_down().await;
}

/// A deterministic xorshift, so a failure can be replayed.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn indexed_lists_agree_with_a_full_scan_on_random_cases() {
    let mut h = Harness::start(6).await;
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let grids = [GRID_A, GRID_B, GRID_C];
    let categories = [(GAS_CATEGORY, "gas"), (WATER_CATEGORY, "water")];
    for _ in 0..48 {
        let grid = grids[random.below(3)];
        let (category, department) = categories[random.below(2)];
        match random.below(3) {
            0 => h.reported(grid).await,
            1 => h.triaged(grid, category, department).await,
            _ => h.dispatched(grid, category, department).await,
        };
    }
    h.start_service().await;
    h.wait_caught_up().await;
    let mut client = h.client_as("sup");
    let everything = list(
        &mut client,
        ListCasesRequest {
            page_size: 200,
            ..Default::default()
        },
    )
    .await
    .cases;
    assert_eq!(everything.len(), 48);
    let statuses = [
        common::CaseStatus::Unspecified,
        common::CaseStatus::Reported,
        common::CaseStatus::Triaged,
        common::CaseStatus::Dispatched,
    ];
    let areas = ["", "330102-001", "330102-001-002", GRID_A, "330102"];
    let departments = ["", "gas", "water"];
    let category_filters = ["", GAS_CATEGORY, WATER_CATEGORY];
    for status in statuses {
        for area in areas {
            for department in departments {
                for category in category_filters {
                    let request = ListCasesRequest {
                        status: status as i32,
                        grid_code: area.into(),
                        department: department.into(),
                        category: category.into(),
                        ..Default::default()
                    };
                    let expected: Vec<String> = everything
                        .iter()
                        .filter(|c| {
                            status == common::CaseStatus::Unspecified || c.status() == status
                        })
                        .filter(|c| {
                            area.is_empty()
                                || c.grid_code == area
                                || c.grid_code.starts_with(&format!("{area}-"))
                        })
                        .filter(|c| {
                            let named = format!("department {department}");
                            department.is_empty() || c.route == named || c.assignee == named
                        })
                        .filter(|c| category.is_empty() || c.category == category)
                        .map(|c| c.case_id.clone())
                        .collect();
                    let paged = all_pages(&mut client, request.clone(), 4).await;
                    assert_eq!(paged, expected, "{request:?}");
                    let total = list(&mut client, request.clone()).await.total;
                    assert_eq!(total, expected.len() as u64, "total of {request:?}");
                }
            }
        }
    }
    h.shut_down().await;
}
