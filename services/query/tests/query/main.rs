//! The query service against a real nats-server and a real sled store (in-process): cases are
//! reported, triaged and dispatched through the case store, and the service's projections are
//! read over gRPC — before and after a restart, and for cases written while it runs.

use gridcase_auth::TokenTable;
use gridcase_domain::{
    Address, Assignee, CaseId, CategoryCode, Channel, Command, Contact, DepartmentCode,
    Description, GridCode, Location, Note, Phone, Priority, Reporter, Route, Timestamp,
    TrackingCode, Url, WorkerId,
};
use gridcase_proto::common::v1 as common;
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::query::v1::{
    BoardReply, BoardRequest, GetCaseReply, GetCaseRequest, ListCasesReply, ListCasesRequest,
    PublicBoardRequest, PublicCasesRequest, PublicState,
};
use gridcase_query::QueryConfig;
use gridcase_testkit::sample_config_dir as config_dir;
use gridcase_testkit::{wait_until, AuthedChannel, Sandbox, ServiceHarness, WAIT};
use tonic::Code;

mod checkpoint;
mod lists;
mod projections;
mod public;

const PHONE: &str = "13812345678";
/// 燃气井盖 (gas manhole cover), owned by the gas company.
const GAS_CATEGORY: &str = "BJ-01-05";
/// 上水井盖 (water manhole cover), owned by the water company.
const WATER_CATEGORY: &str = "BJ-01-01";
/// Two grids in street 330102-001 (different communities) and one in street 330102-002.
const GRID_A: &str = "330102-001-001-001";
const GRID_B: &str = "330102-001-002-001";
const GRID_C: &str = "330102-002-001-001";
const HOUR_MS: i64 = 3_600_000;

type Client = QueryClient<AuthedChannel>;

const CALLERS: &[(&str, &str)] = &[
    ("sup", "supervisor:sup-1"),
    ("admin", "admin:root-1"),
    ("operator", "operator:op-1"),
    ("gas", "department:gas:clerk-1"),
    ("gateway", "gateway:qr-web"),
];

fn tokens() -> TokenTable {
    gridcase_testkit::token_table(CALLERS)
}

fn department(code: &str) -> DepartmentCode {
    DepartmentCode::parse(code).unwrap()
}

/// The store running in this process, and the query service once the test starts it.
struct Harness {
    service: ServiceHarness,
    next_case: u128,
    base: Timestamp,
}

gridcase_testkit::derefs_to_service_harness!(Harness, service);

impl Harness {
    async fn start(salt: u128) -> Self {
        let service =
            ServiceHarness::stopped_in(Sandbox::start(), "query", |nats, listener, stop| {
                gridcase_query::run(
                    QueryConfig::new(config_dir(), tokens()),
                    nats,
                    listener,
                    stop,
                )
            })
            .await;
        Self {
            service,
            next_case: salt << 64,
            base: gridcase_runtime::now().plus_millis(-HOUR_MS),
        }
    }

    fn client_as(&self, who: &str) -> Client {
        self.service.client_as(who)
    }

    async fn shut_down(self) {
        self.service.shut_down().await;
    }

    /// Waits until the service reflects every event the store holds now.
    async fn wait_caught_up(&self) {
        let head = self.events().await;
        let client = self.client_as("sup");
        wait_until(
            &format!("the query service to catch up to event {head}"),
            WAIT,
            || {
                let mut client = client.clone();
                async move {
                    let reply = client.board(BoardRequest {}).await.unwrap().into_inner();
                    (reply.caught_up_to >= head).then_some(())
                }
            },
        )
        .await;
    }

    async fn record(&mut self, case: CaseId, actor: &str, command: Command) {
        self.record_as(case, actor, command).await;
    }

    /// A case reported in `grid`, each one a minute after the previous.
    async fn reported(&mut self, grid: &str) -> CaseId {
        self.next_case += 1;
        let case = CaseId::from_u128(self.next_case);
        let minutes = i64::try_from(self.next_case & 0xffff).unwrap();
        let reported_at = self.base.plus_millis(minutes * 60_000);
        self.record(
            case,
            "operator:op-7",
            Command::Report {
                case_id: case,
                tracking_code: TrackingCode::from_u64(self.next_case as u64),
                channel: Channel::Hotline,
                reporter: Contact::clear(Reporter {
                    name: None,
                    phone: Some(Phone::parse(PHONE).unwrap()),
                }),
                location: Location::new(
                    Some(GridCode::parse(grid).unwrap()),
                    Some(Address::parse("涌金路 12 号门口").unwrap()),
                    None,
                )
                .unwrap(),
                description: Description::parse("井盖缺失，有人掉进去的危险").unwrap(),
                category: None,
                media: vec![],
                reported_at,
            },
        )
        .await;
        case
    }

    async fn triaged(&mut self, grid: &str, category: &str, to: &str) -> CaseId {
        let case = self.reported(grid).await;
        self.record(
            case,
            "operator:op-8",
            Command::Triage {
                category: CategoryCode::parse(category).unwrap(),
                priority: Priority::Urgent,
                route: Route::Department {
                    department: department(to),
                },
                triaged_by: None,
                model: None,
                priority_reason: None,
            },
        )
        .await;
        case
    }

    async fn dispatched(&mut self, grid: &str, category: &str, to: &str) -> CaseId {
        self.dispatched_due(grid, category, to, HOUR_MS).await
    }

    /// A case dispatched to `to` that must be accepted `accept_in_ms` from now (negative: the
    /// deadline has passed).
    async fn dispatched_due(
        &mut self,
        grid: &str,
        category: &str,
        to: &str,
        accept_in_ms: i64,
    ) -> CaseId {
        let case = self.triaged(grid, category, to).await;
        let now = gridcase_runtime::now();
        self.record(
            case,
            "dispatcher:auto",
            Command::Dispatch {
                assignee: Assignee::Department(department(to)),
                participants: vec![],
                accept_deadline: Some(now.plus_millis(accept_in_ms)),
                resolve_deadline: Some(now.plus_millis(accept_in_ms.max(0) + 10 * HOUR_MS)),
                report_in: None,
            },
        )
        .await;
        case
    }
}

async fn get(client: &mut Client, case: CaseId) -> GetCaseReply {
    client
        .get_case(GetCaseRequest {
            case_id: case.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn list(client: &mut Client, request: ListCasesRequest) -> ListCasesReply {
    client.list_cases(request).await.unwrap().into_inner()
}

fn ids(reply: &ListCasesReply) -> Vec<String> {
    reply.cases.iter().map(|c| c.case_id.clone()).collect()
}

fn counts(board: &BoardReply, street: bool, grid: &str) -> (u64, Vec<(String, u64)>) {
    let areas = if street {
        &board.streets
    } else {
        &board.communities
    };
    let area = areas
        .iter()
        .find(|a| a.grid_code == grid)
        .unwrap_or_else(|| panic!("no area {grid} on the board: {board:?}"));
    let mut by_status: Vec<(String, u64)> = area
        .by_status
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    by_status.sort();
    (area.total, by_status)
}

fn strip(mut board: BoardReply) -> BoardReply {
    board.caught_up_to = 0;
    board
}
