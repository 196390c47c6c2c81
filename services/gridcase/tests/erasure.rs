//! A resident can be forgotten. Their name and phone are sealed with their own key before the
//! report is written; operators (who call back) and the grid worker a case is dispatched to can
//! read them in clear, and every such read is audited; departments and supervisors see the
//! phone masked. `gridcase erase` destroys the key: from then on every report the resident made
//! reads as erased — live, after a restart, in projections rebuilt from position 0 and in
//! `verify` — while the cases and their history stay, and no file of the data directory (sled's
//! included) holds their phone, their name or their key. A household under care (敲门行动) is
//! kept the same way: erasing the person erases it on the visit plan too.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gridcase::system::{sample_config_dir, Service, System, SystemOptions};
use gridcase_auth::TokenTable;
use gridcase_bus::StoreClient;
use gridcase_privacy::audit::{self, AuditRecord};
use gridcase_proto::common::v1::Location;
use gridcase_proto::intake::v1::intake_client::IntakeClient;
use gridcase_proto::intake::v1::{Channel, ReportCaseRequest, Reporter};
use gridcase_proto::people::v1::care_client::CareClient;
use gridcase_proto::people::v1::{CareKind, EnrolHouseholdRequest};
use gridcase_proto::query::v1::query_client::QueryClient;
use gridcase_proto::query::v1::{
    CaseSummary, GetCaseRequest, GetReporterContactReply, GetReporterContactRequest, PlannedVisit,
    VisitPlanRequest,
};
use tonic::transport::Channel as GrpcChannel;
use tonic::Code;

const GRIDCASE: &str = env!("CARGO_BIN_EXE_gridcase");
const OPERATOR: &str = "dev-operator-token-op-001";
const SUPERVISOR: &str = "dev-supervisor-token-sup-001";
const DEPARTMENT: &str = "dev-department-token-urban-mgmt";
const LIN_MING: &str = "dev-grid-worker-token-lin-ming";

/// The resident who asks to be forgotten, and a neighbour who does not.
const CHEN_NAME: &str = "陈秀英";
const CHEN_PHONE: &str = "13967123581";
const NEIGHBOUR_NAME: &str = "周建国";
const NEIGHBOUR_PHONE: &str = "13588260417";

fn report(
    request_id: &str,
    name: &str,
    phone: &str,
    category: &str,
    words: &str,
) -> ReportCaseRequest {
    ReportCaseRequest {
        client_request_id: request_id.to_owned(),
        channel: Channel::Hotline as i32,
        reporter: Some(Reporter {
            name: name.to_owned(),
            phone: phone.to_owned(),
        }),
        location: Some(Location {
            grid_code: "330102-001-001-001".to_owned(),
            address: "涌金苑3幢".to_owned(),
            coordinates: None,
        }),
        description: words.to_owned(),
        category_code: category.to_owned(),
        media_urls: Vec::new(),
        reported_by_worker: String::new(),
        member_id: String::new(),
    }
}

struct Clients {
    intake: IntakeClient<GrpcChannel>,
    query: QueryClient<GrpcChannel>,
}

impl Clients {
    async fn connect(system: &System) -> Self {
        Self {
            intake: IntakeClient::connect(system.endpoint(Service::Intake))
                .await
                .unwrap(),
            query: QueryClient::connect(system.endpoint(Service::Query))
                .await
                .unwrap(),
        }
    }

    async fn report(&mut self, request: ReportCaseRequest, token: &str) -> String {
        self.intake
            .report_case(common::authorized(request, token))
            .await
            .unwrap()
            .into_inner()
            .case_id
    }

    /// The case's summary as a supervisor sees it, once the query service has it and `ready`
    /// holds of it.
    async fn summary(&mut self, case: &str, ready: impl Fn(&CaseSummary) -> bool) -> CaseSummary {
        let started = Instant::now();
        loop {
            let reply = self
                .query
                .get_case(common::authorized(
                    GetCaseRequest {
                        case_id: case.to_owned(),
                    },
                    SUPERVISOR,
                ))
                .await;
            if let Ok(reply) = reply {
                let summary = reply.into_inner().case.unwrap();
                if ready(&summary) {
                    return summary;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "case {case} never got there"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Chen's household on lin-ming's visit plan, once the query service has it and `ready`
    /// holds of it.
    async fn household(&mut self, ready: impl Fn(&PlannedVisit) -> bool) -> PlannedVisit {
        let started = Instant::now();
        loop {
            let plan = self
                .query
                .visit_plan(common::authorized(VisitPlanRequest::default(), LIN_MING))
                .await
                .unwrap()
                .into_inner();
            if let Some(household) = plan.households.into_iter().find(|h| ready(h)) {
                return household;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the household never got there"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn contact(
        &mut self,
        case: &str,
        purpose: &str,
        token: &str,
    ) -> Result<GetReporterContactReply, tonic::Status> {
        self.query
            .get_reporter_contact(common::authorized(
                GetReporterContactRequest {
                    case_id: case.to_owned(),
                    purpose: purpose.to_owned(),
                },
                token,
            ))
            .await
            .map(tonic::Response::into_inner)
    }
}

fn gridcase(args: &[&str], data: &Path) -> String {
    let output = Command::new(GRIDCASE)
        .args(args)
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "gridcase {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let bytes = std::fs::read(&path).unwrap_or_default();
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(path);
                }
            }
        }
    }
    found
}

/// The key files of the vault in `data`, with their bytes.
fn keys(data: &Path) -> Vec<(String, Vec<u8>)> {
    let dir = data.join(gridcase::backup::KEYS_DIR);
    let mut keys: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.len() == 32)
        .map(|name| (name.clone(), std::fs::read(dir.join(&name)).unwrap()))
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_erased_resident_is_gone_from_every_view_and_every_file_while_the_cases_stay() {
    common::private_sample_tokens();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = TokenTable::load(&sample_config_dir().join("tokens.toml")).unwrap();
    let options = SystemOptions::on_free_ports(data.clone(), sample_config_dir(), tokens);
    let system = System::start(options.clone()).await.unwrap();
    let mut clients = Clients::connect(&system).await;

    // Chen reports twice, her neighbour once; a grid worker reports litter he clears himself,
    // giving the name and number of the resident who pointed it out.
    let lamp = clients
        .report(
            report(
                "erasure-1",
                CHEN_NAME,
                CHEN_PHONE,
                "BJ-01-07",
                "我家楼下那盏路灯坏了一个多礼拜了，晚上黑乎乎的，我腿脚不好不敢出门",
            ),
            OPERATOR,
        )
        .await;
    let stairs = clients
        .report(
            report(
                "erasure-2",
                CHEN_NAME,
                &format!("+86 {CHEN_PHONE}"),
                "",
                "楼道里堆了好几辆旧自行车和纸箱，着火了人都跑不出去",
            ),
            OPERATOR,
        )
        .await;
    let neighbour = clients
        .report(
            report(
                "erasure-3",
                NEIGHBOUR_NAME,
                NEIGHBOUR_PHONE,
                "BJ-01-07",
                "小区门口路灯一闪一闪的，晚上骑车眼睛都花了",
            ),
            OPERATOR,
        )
        .await;
    let litter = clients
        .report(
            ReportCaseRequest {
                channel: Channel::GridWorker as i32,
                reported_by_worker: "lin-ming".to_owned(),
                ..report(
                    "erasure-4",
                    "杨大姐",
                    "13757100928",
                    "SJ-01-01",
                    "花坛边上有人倒了一堆装修垃圾，居民杨大姐反映的，我去清掉",
                )
            },
            LIN_MING,
        )
        .await;

    // Chen lives alone: her grid worker puts her under care, her name and phone sealed with
    // the key her reports are sealed with.
    let mut care = CareClient::connect(system.endpoint(Service::Intake))
        .await
        .unwrap();
    care.enrol_household(common::authorized(
        EnrolHouseholdRequest {
            request_id: "erasure-care-1".to_owned(),
            kind: CareKind::ElderlyAlone as i32,
            grid_code: "330102-001-001-001".to_owned(),
            name: CHEN_NAME.to_owned(),
            phone: CHEN_PHONE.to_owned(),
            last_visited_at_ms: 0,
        },
        LIN_MING,
    ))
    .await
    .unwrap();
    let household = clients.household(|h| !h.erased).await;
    assert_eq!(
        (
            household.name_masked.as_str(),
            household.phone_masked.as_str()
        ),
        ("陈**", "139****3581")
    );

    // Departments and supervisors see the phone masked, once the case is dispatched.
    let summary = clients.summary(&lamp, |s| !s.assignee.is_empty()).await;
    assert_eq!(summary.reporter_phone_masked, "139****3581");
    assert!(!summary.reporter_erased);
    let summary = clients
        .summary(&litter, |s| s.assignee.contains("lin-ming"))
        .await;
    assert_eq!(summary.reporter_phone_masked, "137****0928");

    // In clear only for the operator and the grid worker the case is dispatched to.
    let read = clients
        .contact(&lamp, "回访：路灯修好了没有", OPERATOR)
        .await;
    let read = read.unwrap();
    assert_eq!(
        (read.name.as_str(), read.phone.as_str()),
        (CHEN_NAME, CHEN_PHONE)
    );
    assert!(!read.erased && read.audit_position > 0);
    let read = clients
        .contact(&litter, "告知处理结果", LIN_MING)
        .await
        .unwrap();
    assert_eq!(read.phone, "13757100928");
    for token in [SUPERVISOR, DEPARTMENT, LIN_MING] {
        let refused = clients.contact(&lamp, "想看看", token).await.unwrap_err();
        assert_eq!(
            refused.code(),
            Code::PermissionDenied,
            "{token}: {refused:?}"
        );
    }
    let refused = clients.contact(&lamp, "  ", OPERATOR).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("purpose"),
        "{}",
        refused.message()
    );
    let refused = clients
        .contact("not-a-case", "回访", OPERATOR)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("case_id"),
        "{}",
        refused.message()
    );

    // Nothing in clear anywhere, even before the erasure: every contact is sealed.
    for needle in [CHEN_PHONE, NEIGHBOUR_PHONE, CHEN_NAME, NEIGHBOUR_NAME] {
        let found = files_containing(&data, needle.as_bytes());
        assert!(found.is_empty(), "{needle} in clear in {found:?}");
    }
    let keys_before = keys(&data);

    // Chen asks to be forgotten.
    let said = gridcase(
        &[
            "erase",
            "--phone",
            "139-6712-3581",
            "--reason",
            "个人信息删除申请 2026-0417",
            "--nats",
            &system.nats_address(),
        ],
        &data,
    );
    assert!(said.contains("erased: key"), "{said}");
    let keys_after = keys(&data);
    assert_eq!(keys_after.len() + 1, keys_before.len(), "one key destroyed");
    let destroyed: Vec<&(String, Vec<u8>)> = keys_before
        .iter()
        .filter(|key| !keys_after.contains(key))
        .collect();
    assert_eq!(destroyed.len(), 1);
    let destroyed_key = destroyed[0].1.clone();
    assert!(said.contains(&destroyed[0].0), "{said}");

    // At once, everywhere: her two cases read as erased, the neighbour's does not.
    let read = clients.contact(&lamp, "回访", OPERATOR).await.unwrap();
    assert!(read.erased && read.name.is_empty() && read.phone.is_empty());
    for case in [&lamp, &stairs] {
        let summary = clients.summary(case, |_| true).await;
        assert!(summary.reporter_erased, "{case}");
        assert_eq!(summary.reporter_phone_masked, "");
    }
    let summary = clients.summary(&neighbour, |_| true).await;
    assert_eq!(summary.reporter_phone_masked, "135****0417");
    assert!(!summary.reporter_erased);
    let household = clients.household(|h| h.erased).await;
    assert!(household.name_masked.is_empty() && household.phone_masked.is_empty());

    // The audit holds both reads in clear and the erasure, with who did them.
    let admin = gridcase::backup::connect_admin(&data, &system.nats_address())
        .await
        .unwrap();
    let store = StoreClient::new(admin, "0");
    let audit = audit::read_all(&store).await.unwrap();
    let who: Vec<(&str, Option<&str>)> = audit
        .iter()
        .map(|(record, _, actor)| {
            let kind = match record {
                AuditRecord::Read(read) if read.case_id.to_string() == lamp => "read lamp",
                AuditRecord::Read(read) if read.case_id.to_string() == litter => "read litter",
                AuditRecord::Read(_) => "read other",
                AuditRecord::Erased(erased) if erased.destroyed => "erased",
                AuditRecord::Erased(_) => "nothing erased",
                AuditRecord::HouseholdRead(_) => "read household",
            };
            (kind, actor.as_deref())
        })
        .collect();
    assert_eq!(
        who,
        [
            ("read lamp", Some("operator:op-001")),
            ("read litter", Some("grid_worker:lin-ming")),
            ("erased", Some("admin:cli")),
            ("read lamp", Some("operator:op-001")),
        ]
    );
    drop(store);
    system.shut_down().await.unwrap();

    // verify counts her two reports as erased and the log as sound.
    let said = gridcase(&["verify"], &data);
    assert!(said.contains("the log is sound"), "{said}");
    assert!(
        said.contains("reporters: 2 sealed, 2 erased (key destroyed), 0 anonymous, 0 in clear"),
        "{said}"
    );

    // Restart with the query model thrown away: it is rebuilt from position 0 and still shows
    // her erased, the cases intact.
    std::fs::remove_dir_all(data.join("query")).unwrap();
    let system = System::start(options).await.unwrap();
    let mut clients = Clients::connect(&system).await;
    for case in [&lamp, &stairs] {
        let summary = clients.summary(case, |_| true).await;
        assert!(summary.reporter_erased, "{case}");
        assert!(summary.version >= 1 && !summary.tracking_code.is_empty());
    }
    let lamp_summary = clients.summary(&lamp, |_| true).await;
    assert!(!lamp_summary.assignee.is_empty(), "the case history stays");
    let read = clients.contact(&neighbour, "回访", OPERATOR).await.unwrap();
    assert_eq!(read.phone, NEIGHBOUR_PHONE);

    // An erasure named by case: the reporter of the grid worker's litter case.
    let said = gridcase(
        &[
            "erase",
            "--case",
            &litter,
            "--reason",
            "个人信息删除申请 2026-0452",
            "--nats",
            &system.nats_address(),
        ],
        &data,
    );
    assert!(said.contains("erased: key"), "{said}");
    let summary = clients.summary(&litter, |_| true).await;
    assert!(summary.reporter_erased && summary.reporter_phone_masked.is_empty());
    let read = clients.contact(&neighbour, "回访", OPERATOR).await.unwrap();
    assert_eq!(read.phone, NEIGHBOUR_PHONE, "only that reporter is erased");
    system.shut_down().await.unwrap();

    // Nothing readable of her remains in any file: not her phone, not her name, not her key.
    for needle in [CHEN_PHONE.as_bytes(), CHEN_NAME.as_bytes(), &destroyed_key] {
        let found = files_containing(&data, needle);
        assert!(
            found.is_empty(),
            "{} found in {found:?}",
            String::from_utf8_lossy(needle)
        );
    }
}
