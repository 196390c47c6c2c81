//! The whole case loop — collect, triage, dispatch, resolve, evaluate — through every branch,
//! against the real system: a nats-server child and the seven services, started with
//! `gridcase::system::System` on free ports, a sled store in a temp dir and a copy of the sample
//! city's reference data whose SLA for one category is compressed to seconds.
//!
//! The tests call the gRPC APIs as hotline consoles, grid-worker apps, the QR gateway,
//! departments and supervisors do, and read outcomes back from the query service and intake's
//! status lookup, polling with a deadline. Department systems (and grid-worker apps) are
//! simulated as JetStream consumers of their work-order subjects that decode the protobuf
//! `WorkOrder`, as a department's own system written in any language would.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use gridcase::system::Service;
use gridcase_domain::Event;
use gridcase_proto::common::v1::{self as common, Coordinates, Location};
use gridcase_proto::dispatch::v1::{
    AcceptRequest, Priority as WorkOrderPriority, ReportProgressRequest, ReturnRequest,
};
use gridcase_proto::evaluation::v1::DepartmentIndicatorsRequest;
use gridcase_proto::intake::v1::{
    Channel as ReportChannel, ReportCaseRequest, ReportCaseResponse, Reporter,
};
use gridcase_proto::query::v1::{GetCaseReply, ListCasesRequest};
use gridcase_proto::supervision::v1::Colour;
use gridcase_proto::triage::v1::triage_case_request::Route as TriageRoute;
use gridcase_proto::triage::v1::{ListManualQueueRequest, TriageCaseRequest};
use gridcase_testkit::{token_table, wait_until};
use gridcase_tests::{case_status, event_types, City, CityOptions, Who, WAIT};
use tonic::Code;

/// The category whose SLA the tests compress: 工业噪声 (industrial noise), owned by ecology_env.
const COMPRESSED_CATEGORY: &str = "SJ-09-03";
/// Its compressed policy, in natural hours, warning halfway to each deadline. The close
/// deadline is ten minutes, so that its warning falls outside every test.
const COMPRESSED_ACCEPT: Duration = Duration::from_secs(4);
const COMPRESSED_RESOLVE: Duration = Duration::from_secs(12);

/// 涌金社区第一网格: grid workers lin-ming (listed first) and chen-lijuan.
const YONGJIN_GRID_1: &str = "330102-001-001-001";
const YONGJIN_COMMUNITY: &str = "330102-001-001";
const LIULANG_STREET: &str = "330102-001";

/// Who calls the system: `(who, role)`; each holds the token `token_of(who)`.
const CALLERS: &[(&str, &str)] = &[
    ("op-1", "operator:op-1"),
    ("sup-1", "supervisor:sup-1"),
    ("qr-web", "gateway:qr-web"),
    ("lin-ming", "grid_worker:lin-ming"),
    ("chen-lijuan", "grid_worker:chen-lijuan"),
    // A worker of 涌金社区第二网格, the grid beside lin-ming's.
    ("yu-gang", "grid_worker:yu-gang"),
    ("urban_mgmt", "department:urban_mgmt:clerk-1"),
    ("ecology_env", "department:ecology_env:clerk-1"),
    (
        "market_supervision",
        "department:market_supervision:clerk-1",
    ),
    ("landscape", "department:landscape:clerk-1"),
    ("housing", "department:housing:clerk-1"),
    ("civil_affairs", "department:civil_affairs:clerk-1"),
    ("justice", "department:justice:clerk-1"),
    (YONGJIN_COMMUNITY, "community:330102-001-001:secretary-1"),
    (LIULANG_STREET, "street:330102-001:office-1"),
    ("wang-yan", "grid_leader:330102-001-001-001:wang-yan"),
    ("330102-001-002", "community:330102-001-002:secretary-1"),
    ("sf-zhao-lei", "member:sf-zhao-lei"),
    ("jd-wu-peng", "member:jd-wu-peng"),
    ("xu-lanying", "member:xu-lanying"),
    ("he-guifang", "member:he-guifang"),
];

const OPERATOR: &str = "op-1";
const SUPERVISOR: &str = "sup-1";
const GATEWAY: &str = "qr-web";

/// The actor a department's clerk is recorded as.
fn clerk(department: &str) -> String {
    format!("department:{department}:clerk-1")
}

fn now_ms() -> i64 {
    gridcase_runtime::now().as_millis()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap()
}

/// The sample city's reference data with the SLA of [`COMPRESSED_CATEGORY`] cut to seconds.
fn compressed_config(dir: &Path) {
    gridcase_testkit::copy_sample_config(dir);
    let sla = dir.join("sla.toml");
    let mut text = std::fs::read_to_string(&sla).unwrap();
    text.push_str(&format!(
        "\n# Compressed for the case-loop tests.\n[[category]]\ncode = \"{COMPRESSED_CATEGORY}\"\n\
         accept = \"{}s\"\nresolve = \"{}s\"\nclose = \"10m\"\nhours = \"natural\"\nwarn_at = 0.5\n",
        COMPRESSED_ACCEPT.as_secs(),
        COMPRESSED_RESOLVE.as_secs(),
    ));
    std::fs::write(&sla, text).unwrap();
}

/// The city with the compressed SLA, called by [`CALLERS`].
async fn start_city() -> City {
    City::start(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: OPERATOR,
            supervisor: SUPERVISOR,
        },
        compressed_config,
    )
    .await
}

fn count(reply: &GetCaseReply, event_type: &str) -> usize {
    reply
        .timeline
        .iter()
        .filter(|e| e.event_type == event_type)
        .count()
}

/// `(event type, actor)` of every timeline entry.
/// This month (local time) and `gridcase report`'s CSV of it, read as the supervisor.
async fn month_report(city: &City) -> (String, String) {
    let month = {
        let local =
            gridcase_config::Date::from_unix_days((now_ms() + 8 * 3_600_000) / 86_400_000).unwrap();
        format!("{}-{:02}", local.year(), local.month())
    };
    let csv = gridcase::report::report(&gridcase::report::ReportArgs {
        period: month.clone(),
        format: gridcase::report::Format::Csv,
        config: None,
        token: gridcase_testkit::token_of(SUPERVISOR),
        query: Some(city.endpoint(Service::Query)),
        evaluation: Some(city.endpoint(Service::Evaluation)),
    })
    .await
    .unwrap();
    (month, csv)
}

fn typed_actors(reply: &GetCaseReply) -> Vec<(&str, &str)> {
    reply
        .timeline
        .iter()
        .map(|e| (e.event_type.as_str(), e.actor.as_str()))
        .collect()
}

fn summaries<'a>(reply: &'a GetCaseReply, event_type: &str) -> Vec<&'a str> {
    reply
        .timeline
        .iter()
        .filter(|e| e.event_type == event_type)
        .map(|e| e.summary.as_str())
        .collect()
}

/// A hotline report of `description` in `grid`, by a resident who left a phone number.
fn hotline(request_id: &str, grid: &str, description: &str) -> ReportCaseRequest {
    ReportCaseRequest {
        client_request_id: request_id.to_owned(),
        channel: ReportChannel::Hotline as i32,
        reporter: Some(Reporter {
            name: "王先生".to_owned(),
            phone: "13812345678".to_owned(),
        }),
        location: Some(Location {
            grid_code: grid.to_owned(),
            address: String::new(),
            coordinates: None,
        }),
        description: description.to_owned(),
        category_code: String::new(),
        media_urls: Vec::new(),
        reported_by_worker: String::new(),
        member_id: String::new(),
    }
}

/// Reports as `OPERATOR` and waits until the case is dispatched.
async fn dispatched_case(
    city: &City,
    request: ReportCaseRequest,
) -> (ReportCaseResponse, GetCaseReply) {
    let reported = city.report(OPERATOR, request).await;
    let reply = city.wait_status(&reported.case_id, "dispatched").await;
    (reported, reply)
}

mod deadlines;
mod grid_tiers;
mod handling;
mod people;
mod residents_words;
mod second_rounds;
mod whistle;
