//! The query model's checkpoint across a kill -9: the query service runs as its own process
//! with its model in a directory, is killed with SIGKILL while cases keep arriving, and is
//! started again on the same model. Every case's timeline must then hold each of its events
//! exactly once (none applied twice, none skipped), the counters must count every case once,
//! and a model rebuilt from position 0 with `--rebuild` must answer the same.

use std::path::Path;
use std::time::Duration;

use gridcase_eventstore::EventStore;
use gridcase_testkit::ServiceProcess;

use super::*;

const QUERY_BIN: &str = env!("CARGO_BIN_EXE_gridcase-query");

/// The query service as a child process; killed with SIGKILL when dropped.
struct QueryProcess {
    process: ServiceProcess,
    client: Client,
}

impl QueryProcess {
    async fn spawn(h: &Harness, model: &Path, rebuild: bool) -> Self {
        let args: &[&str] = if rebuild { &["--rebuild"] } else { &[] };
        let caller = ("sup", "supervisor:sup-1");
        let process =
            ServiceProcess::spawn(h.sandbox(), QUERY_BIN, &config_dir(), model, caller, args).await;
        let client =
            QueryClient::with_interceptor(process.channel(), gridcase_testkit::bearer("sup"));
        Self { process, client }
    }

    fn kill(&mut self) {
        self.process.kill();
    }

    async fn caught_up_to(&mut self) -> u64 {
        match self.client.board(BoardRequest {}).await {
            Ok(reply) => reply.into_inner().caught_up_to,
            Err(_) => 0,
        }
    }

    async fn wait_for(&mut self, head: u64) {
        let started = std::time::Instant::now();
        while self.caught_up_to().await < head {
            assert!(started.elapsed() < WAIT, "query did not reach event {head}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Everything the service answers about `cases`, but the log positions replies carry.
async fn answers(client: &mut Client, cases: &[CaseId]) -> Vec<String> {
    let mut out = Vec::new();
    for case in cases {
        let mut reply = get(client, *case).await;
        reply.caught_up_to = 0;
        out.push(format!("{reply:?}"));
    }
    let mut board = client.board(BoardRequest {}).await.unwrap().into_inner();
    board.caught_up_to = 0;
    out.push(format!("{board:?}"));
    let mut all = list(
        client,
        ListCasesRequest {
            page_size: 200,
            ..Default::default()
        },
    )
    .await;
    all.caught_up_to = 0;
    out.push(format!("{all:?}"));
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkpoint_survives_kill_9_with_no_event_applied_twice_or_skipped() {
    let mut h = Harness::start(0xc4).await;
    let model = h.sandbox().path("query-model");
    let mut cases = Vec::new();
    for _ in 0..30 {
        cases.push(h.dispatched(GRID_A, GAS_CATEGORY, "gas").await);
    }
    let mut query = QueryProcess::spawn(&h, &model, false).await;
    // Cases keep arriving while the process folds; it is killed part way.
    let head_before = h.events().await;
    query.wait_for(head_before / 2).await;
    for round in 0..40 {
        let grid = [GRID_A, GRID_B, GRID_C][round % 3];
        cases.push(h.dispatched(grid, WATER_CATEGORY, "water").await);
        if round == 20 {
            query.kill();
        }
    }
    let head = h.events().await;
    let mut query = QueryProcess::spawn(&h, &model, false).await;
    query.wait_for(head).await;

    for case in &cases {
        let reply = get(&mut query.client, *case).await;
        let stream = h
            .store()
            .read_stream(&gridcase_casestore::stream_name(*case), 0, 1_000)
            .await
            .unwrap();
        let logged: Vec<u64> = stream.iter().map(|e| e.position).collect();
        let shown: Vec<u64> = reply.timeline.iter().map(|e| e.position).collect();
        assert_eq!(shown, logged, "case {case}: each event exactly once");
    }
    let board = query
        .client
        .board(BoardRequest {})
        .await
        .unwrap()
        .into_inner();
    let counted: u64 = board.streets.iter().map(|s| s.total).sum();
    assert_eq!(counted, cases.len() as u64, "every case counted once");
    let resumed = answers(&mut query.client, &cases).await;
    drop(query);

    let mut rebuilt = QueryProcess::spawn(&h, &model, true).await;
    rebuilt.wait_for(head).await;
    assert_eq!(answers(&mut rebuilt.client, &cases).await, resumed);
    drop(rebuilt);
    h.shut_down().await;
}
