//! Every gRPC request conversion: arbitrary bytes decoded as one of the request messages
//! (chosen by the first byte) and run through the checks its handler applies before it touches
//! a store — the `TryFrom` or parse function, against the sample city's reference data where the
//! handler checks it. The answer must be a value or an error, never a panic; a command built from
//! an accepted request is decided on a case in the stage it needs, and its events must survive
//! the codec.
#![no_main]

use gridcase_domain::{
    codec, decide, Assignee, CaseId, CaseState, CaseStatus, Command, PendingPostponement,
    Timestamp, WorkerId,
};
use gridcase_fuzz::{reference, split};
use gridcase_proto::{dispatch, evaluation, intake, people, query, store, supervision, triage};
use libfuzzer_sys::fuzz_target;
use prost::Message;

/// A case in `status`, dispatched to `assignee`, with a postponement pending when `pending`.
fn case_in(status: CaseStatus, assignee: Assignee, pending: bool) -> CaseState {
    let at = Timestamp::from_millis(1_717_200_000_000);
    CaseState {
        status: Some(status),
        case_id: Some(CaseId::from_u128(1)),
        reported_at: Some(at),
        pending_postponement: pending.then(|| PendingPostponement {
            by: assignee.clone(),
            until: at.plus_millis(86_400_000),
        }),
        resolve_deadline: Some(at.plus_millis(3_600_000)),
        assignee: Some(assignee),
        version: 5,
        ..CaseState::default()
    }
}

fn supervisor() -> WorkerId {
    WorkerId::parse("supervisor-1").unwrap()
}

/// Decides `command` on `state`; what is accepted must encode and decode to the same events.
fn decided(state: &CaseState, command: Command) {
    if let Ok(events) = decide(state, command) {
        for event in events {
            let encoded = codec::encode(&event);
            let back = codec::decode(encoded.event_type, encoded.schema_version, &encoded.payload);
            assert_eq!(back, Ok(event));
        }
    }
}

/// A department API request: actor checked against the reference data, then its command decided
/// on a case at the stage the command needs.
fn department_request<R>(request: &R, status: CaseStatus)
where
    R: gridcase_dispatch::service::ActRequest,
{
    let Ok(actor) = gridcase_dispatch::service::Actor::parse(request.actor(), reference()) else {
        return;
    };
    let _ = actor.name();
    if let Ok(command) = request.command(actor.assignee.clone(), reference()) {
        decided(&case_in(status, actor.assignee, false), command);
    }
}

fn decode<M: Message + Default>(bytes: &[u8]) -> Option<M> {
    M::decode(bytes).ok()
}

fuzz_target!(|data: &[u8]| {
    let (selector, bytes) = split(data);
    let reference = reference();
    match selector % 38 {
        0 => {
            let Some(request) = decode::<intake::v1::ReportCaseRequest>(bytes) else {
                return;
            };
            let Ok(report) = gridcase_intake::NewReport::try_from(request) else {
                return;
            };
            let _ = report.check_reference(reference);
            let case_id = gridcase_intake::ids::case_id_for(
                &gridcase_bus::ShardMap::one("0"),
                &report.client_request_id,
                0,
            );
            let command = report.to_command(
                case_id,
                gridcase_domain::TrackingCode::from_u64(424_242),
                Timestamp::from_millis(1_717_200_000_000),
                gridcase_domain::Contact::clear(report.reporter.clone()),
            );
            // Every report that passes the request's checks opens a case.
            let events = decide(&CaseState::default(), command.clone())
                .unwrap_or_else(|e| panic!("{command:?} refused: {e}"));
            assert_eq!(events.len(), 1);
            decided(&CaseState::default(), command);
        }
        1 => {
            if let Some(request) = decode::<intake::v1::GetCaseStatusRequest>(bytes) {
                if let Ok(code) = gridcase_intake::service::status_query(&request) {
                    assert_eq!(
                        gridcase_domain::TrackingCode::parse(&code.to_string()),
                        Ok(code)
                    );
                }
            }
        }
        2 => {
            if let Some(request) = decode::<triage::v1::ListManualQueueRequest>(bytes) {
                let _ = gridcase_triage::service::queue_request(reference, &request);
            }
        }
        3 => {
            if let Some(request) = decode::<triage::v1::TriageCaseRequest>(bytes) {
                let _ = gridcase_triage::service::validate_triage(reference, request);
            }
        }
        4 => {
            if let Some(request) = decode::<triage::v1::RejectCaseRequest>(bytes) {
                if let Ok((_, reason, _)) = gridcase_triage::service::reject_request(&request) {
                    let state =
                        case_in(CaseStatus::Reported, Assignee::Worker(supervisor()), false);
                    decided(&state, Command::Reject { reason });
                }
            }
        }
        5 => {
            if let Some(request) = decode::<dispatch::v1::AcceptRequest>(bytes) {
                department_request(&request, CaseStatus::Dispatched);
            }
        }
        6 => {
            if let Some(request) = decode::<dispatch::v1::ReturnRequest>(bytes) {
                department_request(&request, CaseStatus::Accepted);
            }
        }
        7 => {
            if let Some(request) = decode::<dispatch::v1::ReportProgressRequest>(bytes) {
                department_request(&request, CaseStatus::Accepted);
            }
        }
        8 => {
            if let Some(request) = decode::<dispatch::v1::RequestPostponementRequest>(bytes) {
                department_request(&request, CaseStatus::Accepted);
            }
        }
        9 => {
            if let Some(request) = decode::<dispatch::v1::ResolveRequest>(bytes) {
                department_request(&request, CaseStatus::Accepted);
            }
        }
        10 => {
            if let Some(request) = decode::<supervision::v1::UrgeCaseRequest>(bytes) {
                if let Ok((_, note, _)) = gridcase_supervision::service::urge_request(&request) {
                    let state =
                        case_in(CaseStatus::Accepted, Assignee::Worker(supervisor()), false);
                    decided(
                        &state,
                        Command::Urge {
                            by: supervisor(),
                            note,
                        },
                    );
                }
            }
        }
        11 => {
            if let Some(request) = decode::<supervision::v1::ApprovePostponementRequest>(bytes) {
                let _ = gridcase_supervision::service::approve_request(&request);
            }
        }
        12 => {
            if let Some(request) = decode::<supervision::v1::RefusePostponementRequest>(bytes) {
                if let Ok((_, reason, _)) = gridcase_supervision::service::refuse_request(&request)
                {
                    let department = gridcase_domain::DepartmentCode::parse("water").unwrap();
                    let state =
                        case_in(CaseStatus::Accepted, Assignee::Department(department), true);
                    decided(
                        &state,
                        Command::RefusePostponement {
                            by: supervisor(),
                            reason,
                        },
                    );
                }
            }
        }
        13 => {
            if let Some(request) = decode::<supervision::v1::GetCaseColourRequest>(bytes) {
                let _ = gridcase_supervision::service::colour_request(&request);
            }
        }
        14 => {
            if let Some(request) = decode::<evaluation::v1::VerifyCaseRequest>(bytes) {
                if gridcase_evaluation::service::verify_request(&request).is_ok() {
                    let by = WorkerId::parse("li-si").unwrap();
                    if let Ok(command) = gridcase_evaluation::service::verify_command(&request, by)
                    {
                        let state =
                            case_in(CaseStatus::Resolved, Assignee::Worker(supervisor()), false);
                        decided(&state, command);
                    }
                }
            }
        }
        15 => {
            if let Some(request) = decode::<evaluation::v1::RecordRatingRequest>(bytes) {
                if let Ok((_, score, comment, _)) =
                    gridcase_evaluation::service::rating_request(&request)
                {
                    let reopen =
                        gridcase_evaluation::service::not_resolved_reason(comment.as_ref());
                    let state =
                        case_in(CaseStatus::Verified, Assignee::Worker(supervisor()), false);
                    decided(
                        &state,
                        Command::RecordSatisfaction {
                            resolved: request.resolved,
                            satisfied: request.satisfied,
                            score,
                            comment,
                        },
                    );
                    let closed = CaseState {
                        status: Some(CaseStatus::Closed),
                        ..state
                    };
                    decided(&closed, Command::Reopen { reason: reopen });
                }
            }
        }
        16 => {
            if let Some(request) = decode::<evaluation::v1::CloseCaseRequest>(bytes) {
                let _ = gridcase_evaluation::service::close_request(&request);
            }
        }
        17 => {
            if let Some(request) = decode::<evaluation::v1::DepartmentIndicatorsRequest>(bytes) {
                let _ = gridcase_grpc::check_period(request.from_ms, request.to_ms);
            }
        }
        18 => {
            if let Some(request) = decode::<query::v1::GetCaseRequest>(bytes) {
                let _ = gridcase_query::service::case_request(&request);
            }
        }
        19 => {
            if let Some(request) = decode::<query::v1::ListCasesRequest>(bytes) {
                let now = Timestamp::from_millis(1_717_200_000_000);
                let _ = gridcase_query::service::ListRequest::parse(&request, reference, now);
            }
        }
        20 => {
            if let Some(request) = decode::<query::v1::PublicCasesRequest>(bytes) {
                let _ = gridcase_query::PublicFilters::parse(&request, reference);
            }
        }
        21 => {
            if let Some(request) = decode::<query::v1::PublicBoardRequest>(bytes) {
                if let Ok((area, communities)) = gridcase_query::board_area(&request, reference) {
                    assert!(communities
                        .iter()
                        .all(|community| community.is_within(&area)));
                }
            }
        }
        22 => {
            let _ = decode::<query::v1::BoardRequest>(bytes);
        }
        23 => {
            let _ = decode::<store::v1::StatsRequest>(bytes);
        }
        24 => {
            if let Some(request) = decode::<query::v1::GetReporterContactRequest>(bytes) {
                if let Ok((_, purpose)) = gridcase_query::service::contact_request(&request) {
                    let chars = purpose.chars().count();
                    assert!(chars > 0 && chars <= gridcase_query::service::MAX_PURPOSE_CHARS);
                }
            }
        }
        25 => {
            if let Some(request) = decode::<dispatch::v1::ReferRequest>(bytes) {
                department_request(&request, CaseStatus::Accepted);
            }
        }
        26 => {
            if let Some(request) = decode::<query::v1::ListInboxRequest>(bytes) {
                let lin_ming = gridcase_auth::Role::GridWorker("lin-ming".to_owned());
                for caller in [lin_ming, gridcase_auth::Role::Supervisor] {
                    if let Ok(handler) =
                        gridcase_query::service::inbox_handler(&request, &caller, reference)
                    {
                        assert!(!handler.actor_name().is_empty());
                    }
                }
            }
        }
        27 => {
            if let Some(request) = decode::<query::v1::SettlementIndicatorsRequest>(bytes) {
                if let Ok((from, to, _)) = gridcase_query::service::settlement_request(&request) {
                    assert!(from < to);
                }
            }
        }
        28 => {
            if let Some(request) = decode::<dispatch::v1::WhistleRequest>(bytes) {
                department_request(&request, CaseStatus::Dispatched);
            }
        }
        29 => {
            if let Some(request) = decode::<dispatch::v1::ReportInRequest>(bytes) {
                department_request(&request, CaseStatus::Accepted);
            }
        }
        30 => {
            if let Some(request) = decode::<people::v1::EnrolMemberRequest>(bytes) {
                let at = Timestamp::from_millis(1_717_200_000_000);
                if let Ok((_, member, enrolled)) =
                    gridcase_evaluation::people::enrolment(&request, reference, at)
                {
                    // What the request's checks accept, the domain enrols and the codec keeps.
                    let events = gridcase_domain::people::enrol(None, &member, enrolled)
                        .unwrap_or_else(|e| panic!("{request:?} refused: {e}"));
                    people_round_trip(&events);
                }
            }
        }
        31 => {
            if let Some(request) = decode::<people::v1::ExchangePointsRequest>(bytes) {
                if let Ok((_, price)) = gridcase_evaluation::people::shop_item(&request, reference)
                {
                    assert!(price > 0);
                }
                let _ = gridcase_evaluation::people::owner(request.owner.as_ref());
            }
        }
        32 => {
            if let Some(request) = decode::<query::v1::PeriodRequest>(bytes) {
                if let Ok((from, to)) =
                    gridcase_query::service::scores::period(request.from_ms, request.to_ms)
                {
                    assert!(from < to);
                }
            }
        }
        33 => {
            if let Some(request) = decode::<evaluation::v1::RateDepartmentRequest>(bytes) {
                if let Ok(rating) =
                    gridcase_evaluation::service::department_rating_request(&request, reference)
                {
                    // lin-ming rates a closed case of his grid that the department handled.
                    let by = WorkerId::parse("lin-ming").unwrap();
                    let grid = reference.grid_of_worker(&by).unwrap().code;
                    let department = rating.department.clone();
                    let state = CaseState {
                        location: gridcase_domain::Location::new(Some(grid), None, None).ok(),
                        route: Some(gridcase_domain::Route::Department {
                            department: department.clone(),
                        }),
                        ..case_in(CaseStatus::Closed, Assignee::Department(department), false)
                    };
                    let at = Timestamp::from_millis(1_717_200_000_000);
                    decided(&state, rating.command(by, grid, at));
                }
            }
        }
        34 => {
            if let Some(request) = decode::<people::v1::PlaceOrderRequest>(bytes) {
                let at = Timestamp::from_millis(1_717_200_000_000);
                if let Ok((_, _, placed)) =
                    gridcase_evaluation::people::orders::placing(&request, reference, at)
                {
                    // What the request's checks accept, the order's state machine places and
                    // the codec keeps.
                    let events = gridcase_domain::people::Order::decide(
                        None,
                        gridcase_domain::people::OrderCommand::Place(placed),
                    )
                    .unwrap_or_else(|e| panic!("{request:?} refused: {e}"));
                    people_round_trip(&events);
                }
            }
        }
        35 => {
            if let Some(request) = decode::<people::v1::EnrolHouseholdRequest>(bytes) {
                let now = Timestamp::from_millis(1_797_000_000_000);
                if let Ok((_, kind, grid, person, last_visited)) =
                    gridcase_intake::care::enrolment(&request, reference, now)
                {
                    assert!(person.name.is_some() && person.phone.is_some());
                    assert!(last_visited.is_none_or(|at| at <= now));
                    let enrolled = gridcase_domain::people::HouseholdEnrolled {
                        kind,
                        grid,
                        person: gridcase_domain::SealedContact {
                            key_id: 1,
                            nonce: [0; 12],
                            ciphertext: vec![0; 16],
                        },
                        last_visited,
                        at: now,
                    };
                    let events = gridcase_domain::people::Household::decide(
                        None,
                        gridcase_domain::people::CareCommand::Enrol(enrolled),
                    )
                    .unwrap_or_else(|e| panic!("{request:?} refused: {e}"));
                    people_round_trip(&events);
                }
            }
        }
        36 => {
            if let Some(request) = decode::<query::v1::VisitPlanRequest>(bytes) {
                let caller = gridcase_auth::Role::GridWorker("lin-ming".to_owned());
                let _ = gridcase_query::service::care::plan_request(&request, &caller, reference);
            }
        }
        _ => {
            let _ = decode::<store::v1::VerifyRequest>(bytes);
        }
    }
});

/// People's events survive the codec.
fn people_round_trip(events: &[gridcase_domain::people::PeopleEvent]) {
    for event in events {
        let encoded = gridcase_domain::people::encode_people(event);
        let back = gridcase_domain::people::decode_people(
            encoded.event_type,
            encoded.schema_version,
            &encoded.payload,
        );
        assert_eq!(back.as_ref(), Ok(event));
    }
}
