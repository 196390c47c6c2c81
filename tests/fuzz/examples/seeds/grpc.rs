//! Seeds of the `grpc_requests` target: one valid request of every gRPC message.

use super::*;

/// One valid request of every gRPC message the services take, in the selector order of the
/// `grpc_requests` target.
pub(crate) fn grpc_requests(corpus: &mut Corpus) {
    corpus.add_message(
        0,
        &intake::v1::ReportCaseRequest {
            client_request_id: "hotline-20240601-0042".to_owned(),
            channel: intake::v1::Channel::Hotline as i32,
            reporter: Some(intake::v1::Reporter {
                name: "陈先生".to_owned(),
                phone: "13912345678".to_owned(),
            }),
            location: Some(common::Location {
                grid_code: "330102-001-001-001".to_owned(),
                address: "涌金社区 7 幢 2 单元".to_owned(),
                coordinates: Some(common::Coordinates {
                    lat: 30.2533,
                    lon: 120.1622,
                }),
            }),
            description: "楼道里的灯坏了一个多星期，晚上上楼看不见，老人摔了一跤".to_owned(),
            category_code: String::new(),
            media_urls: vec!["https://oss.example.cn/reports/stair-light.jpg".to_owned()],
            reported_by_worker: String::new(),
            member_id: String::new(),
        },
    );
    corpus.add_message(
        0,
        &intake::v1::ReportCaseRequest {
            client_request_id: "worker-lin-ming-0007".to_owned(),
            channel: intake::v1::Channel::GridWorker as i32,
            reporter: None,
            location: Some(common::Location {
                grid_code: "330102-001-001-002".to_owned(),
                address: String::new(),
                coordinates: None,
            }),
            description: "路边井盖不见了，小孩子放学要经过这里".to_owned(),
            category_code: "BJ-01-01".to_owned(),
            media_urls: vec![],
            reported_by_worker: "lin-ming".to_owned(),
            member_id: String::new(),
        },
    );
    corpus.add_message(
        1,
        &intake::v1::GetCaseStatusRequest {
            tracking_code: "20240601017".to_owned(),
        },
    );
    corpus.add_message(
        2,
        &triage::v1::ListManualQueueRequest {
            grid_code: "330102-001".to_owned(),
            limit: 50,
        },
    );
    for route in [
        triage::v1::triage_case_request::Route::Department("water".to_owned()),
        triage::v1::triage_case_request::Route::SelfHandleWorker("lin-ming".to_owned()),
        triage::v1::triage_case_request::Route::Joint(triage::v1::JointRoute {
            lead: "water".to_owned(),
            participants: vec!["urban_mgmt".to_owned(), "housing".to_owned()],
        }),
    ] {
        corpus.add_message(
            3,
            &triage::v1::TriageCaseRequest {
                case_id: CASE.to_owned(),
                category_code: "BJ-01-01".to_owned(),
                priority: "urgent".to_owned(),
                route: Some(route),
                request_id: "triage-op-001-0042".to_owned(),
            },
        );
    }
    corpus.add_message(
        4,
        &triage::v1::RejectCaseRequest {
            case_id: CASE.to_owned(),
            reason: "属于司法程序，请向法院咨询".to_owned(),
            request_id: "reject-op-001-0043".to_owned(),
        },
    );
    corpus.add_message(
        5,
        &dispatch::v1::AcceptRequest {
            actor: actor("water", "", "water-accept-0042"),
        },
    );
    corpus.add_message(
        6,
        &dispatch::v1::ReturnRequest {
            actor: actor("housing", "", "housing-return-0042"),
            reason: "供水管道归自来水公司，不属于物业管理".to_owned(),
        },
    );
    corpus.add_message(
        7,
        &dispatch::v1::ReportProgressRequest {
            actor: actor("", "lin-ming", "lin-ming-progress-01"),
            note: "已到现场，正在联系物业".to_owned(),
        },
    );
    corpus.add_message(
        8,
        &dispatch::v1::RequestPostponementRequest {
            actor: actor("water", "", "water-postpone-0042"),
            until_ms: REPORTED_AT + 48 * HOUR,
            reason: "需要更换整段管道，配件明天到".to_owned(),
        },
    );
    corpus.add_message(
        9,
        &dispatch::v1::ResolveRequest {
            actor: actor("water", "", "water-resolve-0042"),
            note: "已更换管道，恢复供水".to_owned(),
            evidence_urls: vec!["https://oss.example.cn/evidence/after.jpg".to_owned()],
        },
    );
    corpus.add_message(
        10,
        &supervision::v1::UrgeCaseRequest {
            case_id: CASE.to_owned(),
            note: "居民多次来电，请尽快处理".to_owned(),
            request_id: "urge-supervisor-01-7".to_owned(),
        },
    );
    corpus.add_message(
        11,
        &supervision::v1::ApprovePostponementRequest {
            case_id: CASE.to_owned(),
            request_id: "approve-supervisor-01-3".to_owned(),
        },
    );
    corpus.add_message(
        12,
        &supervision::v1::RefusePostponementRequest {
            case_id: CASE.to_owned(),
            reason: "积水影响通行，不予延期".to_owned(),
            request_id: "refuse-supervisor-01-4".to_owned(),
        },
    );
    corpus.add_message(
        13,
        &supervision::v1::GetCaseColourRequest {
            case_id: CASE.to_owned(),
        },
    );
    for (passed, note) in [(true, "现场已无渗水"), (false, "接口处还在渗水")] {
        corpus.add_message(
            14,
            &evaluation::v1::VerifyCaseRequest {
                case_id: CASE.to_owned(),
                passed,
                note: note.to_owned(),
                request_id: "verify-lin-ming-0042".to_owned(),
            },
        );
    }
    corpus.add_message(
        15,
        &evaluation::v1::RecordRatingRequest {
            case_id: CASE.to_owned(),
            resolved: false,
            satisfied: false,
            score: 2,
            comment: "过了两天又开始漏了".to_owned(),
            request_id: "rating-qr-0042".to_owned(),
        },
    );
    corpus.add_message(
        16,
        &evaluation::v1::CloseCaseRequest {
            case_id: CASE.to_owned(),
            request_id: "close-op-001-0042".to_owned(),
        },
    );
    corpus.add_message(
        17,
        &evaluation::v1::DepartmentIndicatorsRequest {
            from_ms: REPORTED_AT,
            to_ms: REPORTED_AT + 30 * 24 * HOUR,
        },
    );
    corpus.add_message(
        18,
        &query::v1::GetCaseRequest {
            case_id: CASE.to_owned(),
        },
    );
    corpus.add_message(
        19,
        &query::v1::ListCasesRequest {
            status: common::CaseStatus::Dispatched as i32,
            grid_code: "330102-001".to_owned(),
            department: "water".to_owned(),
            category: "BJ-01-01".to_owned(),
            overdue_only: true,
            page_size: 20,
            page_token: gridcase_query::index::page_token((
                REPORTED_AT,
                CaseId::parse(CASE).unwrap(),
            )),
            colour: "red".to_owned(),
        },
    );
    corpus.add_message(
        20,
        &query::v1::PublicCasesRequest {
            tracking_codes: vec!["20240601017".to_owned()],
            category: "BJ-01-01".to_owned(),
            reported_from_ms: REPORTED_AT,
            reported_to_ms: 0,
            state: query::v1::PublicState::Open as i32,
            limit: 50,
            count_all: true,
        },
    );
    corpus.add_message(
        21,
        &query::v1::PublicBoardRequest {
            area_code: "330102-001".to_owned(),
            from_ms: REPORTED_AT,
            to_ms: REPORTED_AT + 7 * 24 * HOUR,
        },
    );
    corpus.add_message(22, &query::v1::BoardRequest {});
    corpus.add_selected(23, &[]);
    corpus.add_message(
        24,
        &query::v1::GetReporterContactRequest {
            case_id: CASE.to_owned(),
            purpose: "回访：问问路灯修好没有".to_owned(),
        },
    );
    corpus.add_message(
        25,
        &dispatch::v1::ReferRequest {
            actor: actor("", "lin-ming", "app-refer-1"),
            department: String::new(),
            participants: vec![],
            up: true,
            reason: "楼上楼下漏水说不清是谁家的管子，请社区协调".to_owned(),
        },
    );
    corpus.add_message(
        25,
        &dispatch::v1::ReferRequest {
            actor: actor("", "lin-ming", "app-refer-2"),
            department: "housing".to_owned(),
            participants: vec!["justice".to_owned()],
            up: false,
            reason: "物业和业主各执一词，请住建牵头会商".to_owned(),
        },
    );
    corpus.add_message(
        26,
        &query::v1::ListInboxRequest {
            handler: "community:330102-001-001".to_owned(),
            page_size: 20,
            page_token: String::new(),
        },
    );
    corpus.add_message(
        27,
        &query::v1::SettlementIndicatorsRequest {
            from_ms: 1_717_200_000_000,
            to_ms: 1_719_792_000_000,
            level: "community".to_owned(),
        },
    );
    corpus.add_message(
        28,
        &dispatch::v1::WhistleRequest {
            actor: Some(dispatch::v1::Actor {
                case_id: CASE.to_owned(),
                community: "330102-001-001".to_owned(),
                request_id: "office-whistle-1".to_owned(),
                ..Default::default()
            }),
            lead: "housing".to_owned(),
            participants: vec!["urban_mgmt".to_owned(), "justice".to_owned()],
            report_in_minutes: 30,
            reason: "外墙瓷砖脱落砸坏车辆，物业和业主互相推诿，社区吹哨请住建牵头".to_owned(),
        },
    );
    corpus.add_message(
        29,
        &dispatch::v1::ReportInRequest {
            actor: actor("housing", "", "dept-report-in-1"),
            opinion: "住建局已报到：属房屋本体维修，由住建局牵头，今天下午到现场".to_owned(),
        },
    );
    corpus.add_message(
        30,
        &people::v1::EnrolMemberRequest {
            request_id: "enrol-2026-11-001".to_owned(),
            member_id: "jd-wu-peng".to_owned(),
            kind: people::v1::MemberKind::Courier as i32,
            name: "京东 吴鹏".to_owned(),
            grid_codes: vec![
                "330102-001-001-001".to_owned(),
                "330102-001-001-002-01".to_owned(),
            ],
        },
    );
    corpus.add_message(
        31,
        &people::v1::ExchangePointsRequest {
            request_id: "shop-counter-2026-11-30-07".to_owned(),
            owner: Some(people::v1::AccountOwner {
                member_id: String::new(),
                resident_phone: "13757120001".to_owned(),
                reporter_of_case: String::new(),
            }),
            item: "大米五斤".to_owned(),
        },
    );
    corpus.add_message(
        32,
        &query::v1::PeriodRequest {
            from_ms: 1_793_462_400_000,
            to_ms: 1_796_054_400_000,
        },
    );
    corpus.add_message(
        33,
        &evaluation::v1::RateDepartmentRequest {
            request_id: "app-lin-ming-rate-0042".to_owned(),
            case_id: CASE.to_owned(),
            department_code: "water".to_owned(),
            timeliness: 5,
            attitude: 4,
            result: 3,
            note: "回复及时，处理彻底，居民认可".to_owned(),
        },
    );
    corpus.add_message(
        34,
        &people::v1::PlaceOrderRequest {
            request_id: "hotline-order-2026-11-30-003".to_owned(),
            service_code: "escort".to_owned(),
            grid_code: "330102-001-001-001".to_owned(),
            resident_phone: "13805710432".to_owned(),
            details: "我腿脚不好，周四上午要去市一医院复查，孩子都在外地，想请人陪我去一趟"
                .to_owned(),
        },
    );
    corpus.add_message(
        35,
        &people::v1::EnrolHouseholdRequest {
            request_id: "ledger-yongjin-017".to_owned(),
            kind: people::v1::CareKind::ElderlyAlone as i32,
            grid_code: "330102-001-001-001".to_owned(),
            name: "王秀英".to_owned(),
            phone: "13957100101".to_owned(),
            last_visited_at_ms: 1_796_000_000_000,
        },
    );
    corpus.add_message(
        36,
        &query::v1::VisitPlanRequest {
            worker_id: "lin-ming".to_owned(),
            area_code: String::new(),
        },
    );
    corpus.add_selected(37, &[]);
}
