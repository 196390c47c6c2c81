//! Writes the seed corpus of every fuzz target from real encodings: the events of a case walked
//! along the loop (a resident's report of a burst pipe, in their own words), the store's
//! requests and replies carrying them, a valid request of every gRPC message, and the sample
//! city's configuration files.
//!
//! ```sh
//! deploy/scripts/fuzz.sh seeds
//! ```
//!
//! Seeds are only a start: an input the fuzzer finds interesting stays out of the committed
//! corpus unless it is worth keeping (then copy it in by hand).

use std::path::{Path, PathBuf};

use gridcase_bus::wire::{
    encode, encode_feed, AppendBatchRequest, AppendRequest, RawRecordRef, ReadAllRequest,
    ReadStreamRequest, Reply, StreamPartReply, StreamVersionRequest,
};
use gridcase_domain::{
    apply, codec, decide, Assignee, CaseId, CaseState, CategoryCode, Channel, Command, Contact,
    Danger, DeadlineStage, DepartmentCode, Description, Event, GridCode, Location, Note,
    PersonName, Phone, Priority, Reporter, Route, Timestamp, TrackingCode, Url, WorkerId,
    EVENT_TYPES,
};
use gridcase_eventstore::backup::LogFileWriter;
use gridcase_eventstore::{
    encode_record, AppendResult, ExpectedVersion, Metadata, NewEvent, RecordedEvent, StoreError,
    StoreStats,
};
use gridcase_proto::common::v1 as common;
use gridcase_proto::{dispatch, evaluation, intake, people, query, supervision, triage};
use prost::Message;

mod grpc;
use grpc::grpc_requests;

const CASE: &str = "0190a2b3c4d57e6f8a9b0c1d2e3f4a5b";
const REPORTED_AT: i64 = 1_717_200_000_000;
const HOUR: i64 = 3_600_000;

fn at(hours: i64) -> Timestamp {
    Timestamp::from_millis(REPORTED_AT + hours * HOUR)
}

fn note(text: &str) -> Note {
    Note::parse(text).unwrap()
}

fn water() -> Assignee {
    Assignee::Department(DepartmentCode::parse("water").unwrap())
}

fn worker(id: &str) -> WorkerId {
    WorkerId::parse(id).unwrap()
}

/// A case of the sample city walked along the loop, returned once and reopened once, with a
/// danger flagged, deadlines warned and breached, an escalation and an urge on the way.
fn history() -> Vec<Event> {
    let commands = vec![
        Command::Report {
            case_id: CaseId::parse(CASE).unwrap(),
            tracking_code: TrackingCode::from_u64(20_240_601_017),
            channel: Channel::QrCode,
            reporter: Contact::clear(Reporter {
                name: Some(PersonName::parse("李阿姨").unwrap()),
                phone: Some(Phone::parse("13812345678").unwrap()),
            }),
            location: Location::new(
                Some(GridCode::parse("330102-001-001-001").unwrap()),
                None,
                None,
            )
            .unwrap(),
            description: Description::parse(
                "小区门口的水管爆了，水一直往外冒，路上都是水，老人小孩走路要滑倒",
            )
            .unwrap(),
            category: None,
            media: vec![Url::parse("https://oss.example.cn/reports/burst-pipe.jpg").unwrap()],
            reported_at: at(0),
        },
        Command::FlagDanger {
            danger: Danger::DeepWater,
            reason: note("积水：路上都是水"),
            triage_by: at(1),
        },
        Command::Triage {
            category: CategoryCode::parse("BJ-01-01").unwrap(),
            priority: Priority::Urgent,
            route: Route::Department {
                department: DepartmentCode::parse("housing").unwrap(),
            },
            triaged_by: Some(worker("op-001")),
            model: None,
            priority_reason: Some(note("积水：路上都是水")),
        },
        Command::Dispatch {
            assignee: Assignee::Department(DepartmentCode::parse("housing").unwrap()),
            participants: vec![],
            accept_deadline: Some(at(2)),
            resolve_deadline: Some(at(24)),
            report_in: None,
        },
        Command::Return {
            by: Assignee::Department(DepartmentCode::parse("housing").unwrap()),
            reason: note("供水管道归自来水公司，不属于物业管理"),
        },
        Command::Triage {
            category: CategoryCode::parse("BJ-01-01").unwrap(),
            priority: Priority::Urgent,
            route: Route::joint(
                DepartmentCode::parse("water").unwrap(),
                vec![DepartmentCode::parse("urban_mgmt").unwrap()],
            )
            .unwrap(),
            triaged_by: Some(worker("op-001")),
            model: None,
            priority_reason: None,
        },
        Command::Dispatch {
            assignee: water(),
            participants: vec![DepartmentCode::parse("urban_mgmt").unwrap()],
            accept_deadline: Some(at(3)),
            resolve_deadline: Some(at(26)),
            report_in: None,
        },
        Command::WarnDeadline {
            stage: DeadlineStage::Accept,
            deadline: at(3),
        },
        Command::BreachDeadline {
            stage: DeadlineStage::Accept,
            deadline: at(3),
        },
        Command::Escalate {
            to: GridCode::parse("330102-001-001").unwrap(),
            at: at(4),
        },
        Command::Urge {
            by: worker("supervisor-01"),
            note: note("居民多次来电，请尽快处理"),
        },
        Command::Accept { by: water() },
        Command::ReportProgress {
            by: water(),
            note: note("抢修队已到现场，已关闭阀门"),
        },
        Command::RequestPostponement {
            by: water(),
            until: at(48),
            reason: note("需要更换整段管道，配件明天到"),
        },
        Command::ApprovePostponement {
            by: worker("supervisor-01"),
        },
        Command::Resolve {
            by: water(),
            note: note("已更换管道，恢复供水，路面积水已清理"),
            evidence: vec![Url::parse("https://oss.example.cn/evidence/after.jpg").unwrap()],
        },
        Command::FailVerification {
            by: worker("lin-ming"),
            reason: note("接口处还在渗水"),
        },
        Command::Resolve {
            by: water(),
            note: note("接口重新做了密封"),
            evidence: vec![],
        },
        Command::Verify {
            by: worker("lin-ming"),
            note: Some(note("现场已无渗水")),
        },
        Command::RecordSatisfaction {
            resolved: false,
            satisfied: false,
            score: 2,
            comment: Some(note("过了两天又开始漏了")),
        },
        Command::Reopen {
            reason: note("居民反映问题仍在"),
        },
        Command::Merge {
            into: CaseId::from_u128(0x0190_a2b3_c4d5_7e6f_8a9b_0c1d_2e3f_0001),
        },
    ];
    let mut state = CaseState::default();
    let mut events = Vec::new();
    for command in commands {
        let decided =
            decide(&state, command.clone()).unwrap_or_else(|e| panic!("{command:?} refused: {e}"));
        for event in decided {
            state = apply(state, &event);
            events.push(event);
        }
    }
    events
}

fn new_events(history: &[Event]) -> Vec<NewEvent> {
    history
        .iter()
        .enumerate()
        .map(|(index, event)| {
            let encoded = codec::encode(event);
            NewEvent {
                event_id: 0x0190_a2b3_c4d5_7e6f_0000_0000_0000_0000 + index as u128,
                event_type: encoded.event_type.to_owned(),
                schema_version: encoded.schema_version,
                metadata: Metadata {
                    correlation_id: Some(0x0190_a2b3_c4d5_7e6f_8a9b_0c1d_2e3f_4a5b),
                    causation_id: (index > 0).then_some(index as u128),
                    actor: Some(if index == 0 {
                        "gateway:qr".to_owned()
                    } else {
                        "operator:op-001".to_owned()
                    }),
                },
                payload: encoded.payload,
            }
        })
        .collect()
}

fn recorded(events: &[NewEvent]) -> Vec<RecordedEvent> {
    events
        .iter()
        .enumerate()
        .map(|(index, event)| RecordedEvent {
            position: 1_000 + index as u64,
            stream_id: format!("case-{CASE}"),
            stream_version: index as u64,
            event_id: event.event_id,
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            recorded_at_ms: REPORTED_AT + index as i64 * 60_000,
            metadata: event.metadata.clone(),
            payload: event.payload.clone(),
        })
        .collect()
}

/// Writes seeds into one target's corpus directory.
struct Corpus {
    dir: PathBuf,
    count: usize,
}

impl Corpus {
    fn new(root: &Path, target: &str) -> Self {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir, count: 0 }
    }

    fn add(&mut self, bytes: &[u8]) {
        std::fs::write(self.dir.join(format!("seed-{:03}", self.count)), bytes).unwrap();
        self.count += 1;
    }

    fn add_selected(&mut self, selector: u8, bytes: &[u8]) {
        let mut input = vec![selector];
        input.extend_from_slice(bytes);
        self.add(&input);
    }

    fn add_message(&mut self, selector: u8, message: &impl Message) {
        self.add_selected(selector, &message.encode_to_vec());
    }
}

fn actor(department: &str, grid_worker: &str, request_id: &str) -> Option<dispatch::v1::Actor> {
    Some(dispatch::v1::Actor {
        case_id: CASE.to_owned(),
        department: department.to_owned(),
        grid_worker: grid_worker.to_owned(),
        request_id: request_id.to_owned(),
        ..Default::default()
    })
}

fn main() {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: seeds <corpus directory>"),
    );
    let history = history();
    let new = new_events(&history);
    let records = recorded(&new);
    let record_bytes: Vec<Vec<u8>> = records.iter().map(encode_record).collect();

    let mut corpus = Corpus::new(&root, "stored_record");
    record_bytes.iter().for_each(|bytes| corpus.add(bytes));

    // A backup's log file: the whole history, a first part of it, and an empty log.
    let mut corpus = Corpus::new(&root, "backup_log");
    for take in [records.len(), 3, 0] {
        let mut log = LogFileWriter::new(Vec::new()).unwrap();
        // A backup's log starts at position 0.
        for (position, bytes) in record_bytes.iter().take(take).enumerate() {
            log.push(position as u64, bytes).unwrap();
        }
        corpus.add(&log.finish().unwrap());
    }

    let mut corpus = Corpus::new(&root, "event_payload");
    for event in &history {
        let encoded = codec::encode(event);
        let selector = EVENT_TYPES
            .iter()
            .position(|name| *name == encoded.event_type)
            .unwrap() as u8;
        let mut input = vec![selector, encoded.schema_version as u8];
        input.extend_from_slice(&encoded.payload);
        corpus.add(&input);
    }
    let reserved = gridcase_domain::TrackingCodeReserved {
        case_id: CaseId::parse(CASE).unwrap(),
    }
    .encode();
    let mut input = vec![EVENT_TYPES.len() as u8, 1];
    input.extend_from_slice(&reserved.payload);
    corpus.add(&input);

    let mut corpus = Corpus::new(&root, "feed");
    for (record, bytes) in records.iter().zip(&record_bytes) {
        corpus.add(&encode_feed(record.position, bytes));
    }

    let stream = format!("case-{CASE}");
    let append = AppendRequest {
        stream: stream.clone(),
        expected: ExpectedVersion::NoStream,
        events: new[..1].to_vec(),
    };
    let mut corpus = Corpus::new(&root, "store_request");
    corpus.add_selected(0, &encode(&append));
    corpus.add_selected(
        0,
        &encode(&AppendRequest {
            stream: stream.clone(),
            expected: ExpectedVersion::Exact(0),
            events: new[1..4].to_vec(),
        }),
    );
    corpus.add_selected(
        1,
        &encode(&AppendBatchRequest {
            appends: vec![
                append.clone(),
                AppendRequest {
                    stream: "tracking-20240601017".to_owned(),
                    expected: ExpectedVersion::Any,
                    events: new[4..6].to_vec(),
                },
            ],
        }),
    );
    corpus.add_selected(
        2,
        &encode(&ReadAllRequest {
            from_position: 1_000,
            max: 500,
        }),
    );
    corpus.add_selected(
        3,
        &encode(&ReadStreamRequest {
            stream: stream.clone(),
            from_version: 0,
            max: 1_000,
        }),
    );
    corpus.add_selected(4, &encode(&StreamVersionRequest { stream }));

    let appended = AppendResult {
        first_position: 1_000,
        last_position: 1_002,
        stream_version: 2,
        duplicate: false,
    };
    let raw: Vec<RawRecordRef<'_>> = records
        .iter()
        .zip(&record_bytes)
        .take(4)
        .map(|(record, bytes)| RawRecordRef {
            position: record.position,
            bytes,
        })
        .collect();
    let mut corpus = Corpus::new(&root, "store_reply");
    corpus.add_selected(0, &encode::<Reply<AppendResult>>(&Ok(appended)));
    corpus.add_selected(
        0,
        &encode::<Reply<AppendResult>>(&Err(StoreError::WrongExpectedVersion {
            stream: format!("case-{CASE}"),
            expected: ExpectedVersion::NoStream,
            current: Some(4),
        })),
    );
    corpus.add_selected(
        1,
        &encode::<Reply<Vec<Reply<AppendResult>>>>(&Ok(vec![
            Ok(appended),
            Err(StoreError::InvalidRequest(
                "events: an append needs at least one event".to_owned(),
            )),
        ])),
    );
    corpus.add_selected(2, &encode::<Reply<Vec<RawRecordRef<'_>>>>(&Ok(raw.clone())));
    corpus.add_selected(
        3,
        &encode::<Reply<StreamPartReply<'_>>>(&Ok(StreamPartReply {
            records: raw,
            at_end: true,
        })),
    );
    corpus.add_selected(4, &encode::<Reply<Option<u64>>>(&Ok(Some(21))));
    corpus.add_selected(
        5,
        &encode::<Reply<StoreStats>>(&Ok(StoreStats {
            events: 2_514,
            streams: 300,
            disk_bytes: 4_194_304,
        })),
    );
    corpus.add_selected(6, &encode::<Reply<u64>>(&Ok(2_514)));

    grpc_requests(&mut Corpus::new(&root, "grpc_requests"));
    vault_requests(&root);

    let mut corpus = Corpus::new(&root, "reference_data");
    for (index, (_, text)) in gridcase_fuzz::REFERENCE_FILES.iter().enumerate() {
        corpus.add_selected(index as u8, text.as_bytes());
    }

    let mut corpus = Corpus::new(&root, "auth_config");
    corpus.add_selected(0, gridcase_fuzz::TOKENS_FILE.as_bytes());
    corpus.add_selected(
        1,
        b"a-long-random-token-0001=operator:op-007,another-long-token-0002=department:water:clerk-02,third-long-token-00003=grid_worker:lin-ming",
    );
    for role in [
        "operator",
        "department:water",
        "grid_worker:lin-ming",
        "gateway",
    ] {
        corpus.add_selected(2, role.as_bytes());
    }
    for caller in [
        "operator:op-001",
        "department:urban_mgmt:clerk-01",
        "grid_worker:lin-ming",
        "supervisor:supervisor-01",
    ] {
        corpus.add_selected(3, caller.as_bytes());
    }
    corpus.add_selected(4, b"grid_worker");
    corpus.add_selected(
        5,
        b"# NATS login of water to gridcase's work orders. Keep it secret.\n\
          url = \"nats://127.0.0.1:4222\"\nuser = \"dept-water\"\npassword = \"k3YqZ8pW2mN5xR7t\"\n\
          inbox_prefix = \"_INBOX_dept_water\"\nstream = \"GRIDCASE_DISPATCH\"\n\
          consumer = \"dept-water\"\n",
    );

    let mut corpus = Corpus::new(&root, "service_settings");
    corpus.add_selected(0, gridcase_fuzz::GATEWAY_FILE.as_bytes());
    corpus.add_selected(
        1,
        gridcase_query::index::page_token((REPORTED_AT, CaseId::parse(CASE).unwrap())).as_bytes(),
    );
    corpus.add_selected(2, gridcase_triage::model::MAGIC);
    corpus.add_selected(3, &[]);

    println!("seed corpus written under {}", root.display());
}

fn vault_requests(root: &Path) {
    // The key vault: a reporter to seal, contacts to open, a person to erase.
    let mut corpus = Corpus::new(root, "vault_request");
    let resident = Reporter {
        name: Some(PersonName::parse("陈秀英").unwrap()),
        phone: Some(Phone::parse("13967123581").unwrap()),
    };
    corpus.add_selected(0, &postcard::to_allocvec(&resident).unwrap());
    corpus.add_selected(0, &postcard::to_allocvec(&Reporter::anonymous()).unwrap());
    let vault = gridcase_privacy::KeyVault::in_memory().unwrap();
    let Contact::Sealed(sealed) = vault.seal(&resident).unwrap() else {
        unreachable!("a resident with a phone is sealed")
    };
    corpus.add_selected(1, &postcard::to_allocvec(&vec![sealed.clone()]).unwrap());
    corpus.add_selected(
        2,
        &postcard::to_allocvec(resident.phone.as_ref().unwrap()).unwrap(),
    );
    let erase = gridcase_privacy::EraseTarget::Phone(resident.phone.clone().unwrap());
    corpus.add_selected(3, &postcard::to_allocvec(&erase).unwrap());
    let erase = gridcase_privacy::EraseTarget::Key(sealed.key_id);
    corpus.add_selected(3, &postcard::to_allocvec(&erase).unwrap());
}
