//! The codec's tests: every event type round-trips, old schema versions upcast, bad bytes
//! are refused.

use super::*;
use crate::event::*;
use crate::values::*;

fn department(code: &str) -> DepartmentCode {
    DepartmentCode::parse(code).unwrap()
}

fn worker(id: &str) -> WorkerId {
    WorkerId::parse(id).unwrap()
}

fn note(text: &str) -> Note {
    Note::parse(text).unwrap()
}

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

fn score(mark: u32) -> RatingScore {
    RatingScore::new("score", mark).unwrap()
}

/// One event of every type, with optional fields filled where possible.
fn one_of_each() -> Vec<Event> {
    let at = Timestamp::from_millis(1_700_000_000_000);
    let grid = GridCode::parse("330102-001-002-003").unwrap();
    vec![
        CaseReported {
            case_id: CaseId::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
            tracking_code: TrackingCode::from_u64(123_456_789),
            channel: Channel::QrCode,
            reporter: Contact::Sealed(SealedContact {
                key_id: 0x5eed,
                nonce: [7; 12],
                ciphertext: vec![0xa5; 40],
            }),
            location: Location::new(
                Some(grid),
                Some(Address::parse("文三路 90 号").unwrap()),
                Some(Coordinates::new(30.28, 120.13).unwrap()),
            )
            .unwrap(),
            description: Description::parse("路灯不亮").unwrap(),
            category: Some(CategoryCode::parse("BJ-01-02").unwrap()),
            media: vec![url("https://oss.example.cn/1.jpg")],
            reported_at: at,
        }
        .into(),
        CaseTriaged {
            category: CategoryCode::parse("SJ-05-03").unwrap(),
            priority: Priority::Urgent,
            route: Route::joint(department("water"), vec![department("power")]).unwrap(),
            triaged_by: Some(worker("operator-1")),
            model: Some(ModelVerdict {
                version: "v3-1a2b3c4d".into(),
                confidence: 912,
            }),
            priority_reason: Some(note("消防通道堵塞：消防通道被堵")),
        }
        .into(),
        CaseMerged {
            into: CaseId::from_u128(99),
        }
        .into(),
        CaseRejected {
            reason: note("不属于受理范围"),
        }
        .into(),
        CaseDispatched {
            assignee: Assignee::Department(department("water")),
            participants: vec![department("power")],
            accept_deadline: Some(at.plus_millis(3_600_000)),
            resolve_deadline: None,
        }
        .into(),
        DispatchAccepted {
            by: Assignee::Worker(worker("li-si")),
        }
        .into(),
        DispatchReturned {
            by: Assignee::Department(department("water")),
            reason: note("not ours"),
        }
        .into(),
        ProgressReported {
            by: Assignee::Department(department("water")),
            note: note("crew on site"),
        }
        .into(),
        PostponementRequested {
            by: Assignee::Department(department("water")),
            until: at.plus_millis(86_400_000),
            reason: note("parts on order"),
        }
        .into(),
        PostponementApproved {
            by: worker("supervisor"),
            until: at.plus_millis(86_400_000),
        }
        .into(),
        PostponementRefused {
            by: worker("supervisor"),
            reason: note("too long"),
        }
        .into(),
        CaseResolved {
            by: Assignee::Department(department("water")),
            note: note("pipe fixed"),
            evidence: vec![
                url("https://oss.example.cn/2.jpg"),
                url("http://x.cn/3.mp4"),
            ],
        }
        .into(),
        CaseVerified {
            by: worker("li-si"),
            note: None,
        }
        .into(),
        VerificationFailed {
            by: worker("li-si"),
            reason: note("still leaking"),
        }
        .into(),
        SatisfactionRecorded {
            resolved: true,
            satisfied: false,
            score: 3,
            comment: Some(note("slow")),
        }
        .into(),
        CaseClosed { by: None }.into(),
        CaseReopened {
            reason: note("leaking again"),
        }
        .into(),
        DeadlineWarned {
            stage: DeadlineStage::Accept,
            deadline: at,
        }
        .into(),
        DeadlineBreached {
            stage: DeadlineStage::Resolve,
            deadline: at,
        }
        .into(),
        CaseEscalated {
            level: 2,
            to: grid.parent().unwrap(),
            at: Some(Timestamp::from_millis(1_767_700_000_000)),
        }
        .into(),
        CaseUrged {
            by: worker("supervisor"),
            note: note("please hurry"),
        }
        .into(),
        DangerFlagged {
            danger: Danger::Trapped,
            reason: note("人员被困：电梯里面好像有人"),
            triage_by: at,
        }
        .into(),
        CaseReferred {
            by: Assignee::Worker(worker("li-si")),
            route: Route::Community {
                community: grid.at_level(GridLevel::Community).unwrap(),
            },
            reason: note("楼上楼下漏水，物业说不清是谁家的管子"),
        }
        .into(),
        WhistleBlown {
            by: Whistler::Community(grid.at_level(GridLevel::Community).unwrap()),
            lead: department("housing"),
            participants: vec![department("urban_mgmt"), department("water")],
            report_in_minutes: Some(60),
            reason: note("老旧小区外墙脱落，住建、城管、水务都要来"),
        }
        .into(),
        ReportInCalled {
            departments: vec![department("housing"), department("urban_mgmt")],
            called_at: Timestamp::from_millis(1_767_700_000_000),
            deadline: Timestamp::from_millis(1_767_707_200_000),
        }
        .into(),
        DepartmentReportedIn {
            department: department("housing"),
            opinion: note("住建局已派人，今天下午到现场"),
            at: Timestamp::from_millis(1_767_701_000_000),
        }
        .into(),
        QueuedForOperator {
            reason: note("no confident category (best 41%, routing needs 85%)"),
            triage_by: Timestamp::from_millis(1_767_707_200_000),
        }
        .into(),
        DepartmentRated {
            by: worker("lin-ming"),
            department: department("urban_mgmt"),
            timeliness: score(5),
            attitude: score(4),
            result: score(3),
            note: Some(note("回复及时，处理彻底，居民认可")),
            at: Timestamp::from_millis(1_767_800_000_000),
        }
        .into(),
    ]
}

#[test]
fn the_sample_covers_every_type() {
    let names: Vec<&str> = one_of_each().iter().map(Event::type_name).collect();
    assert_eq!(names, EVENT_TYPES);
}

#[test]
fn every_event_round_trips() {
    for event in one_of_each() {
        let encoded = encode(&event);
        assert_eq!(encoded.event_type, event.type_name());
        assert_eq!(
            Some(encoded.schema_version),
            current_schema_version(encoded.event_type)
        );
        let decoded = decode(encoded.event_type, encoded.schema_version, &encoded.payload);
        assert_eq!(decoded, Ok(event));
    }
}

#[test]
fn four_types_are_version_2_and_everything_else_version_1() {
    for event in one_of_each() {
        let expected = if [
            "SatisfactionRecorded",
            "CaseTriaged",
            "CaseReported",
            "CaseEscalated",
        ]
        .contains(&event.type_name())
        {
            2
        } else {
            1
        };
        assert_eq!(
            encode(&event).schema_version,
            expected,
            "{}",
            event.type_name()
        );
    }
    assert_eq!(current_schema_version("Nope"), None);
}

#[test]
fn satisfaction_v1_is_upcast() {
    for satisfied in [true, false] {
        let v1 = legacy::SatisfactionRecordedV1 {
            satisfied,
            score: 4,
        };
        let bytes = postcard::to_allocvec(&v1).unwrap();
        let event = decode("SatisfactionRecorded", 1, &bytes).unwrap();
        assert_eq!(
            event,
            Event::SatisfactionRecorded(SatisfactionRecorded {
                resolved: satisfied,
                satisfied,
                score: 4,
                comment: None,
            })
        );
    }
}

#[test]
fn escalation_v1_is_upcast_without_its_moment() {
    let to = GridCode::parse("330102-001-002").unwrap();
    let v1 = legacy::CaseEscalatedV1 { level: 1, to };
    let bytes = postcard::to_allocvec(&v1).unwrap();
    assert_eq!(
        decode("CaseEscalated", 1, &bytes),
        Ok(Event::CaseEscalated(CaseEscalated {
            level: 1,
            to,
            at: None
        }))
    );
}

#[test]
fn report_v1_is_upcast_with_its_reporter_in_clear() {
    let Event::CaseReported(v2) = one_of_each().remove(0) else {
        panic!("the sample starts with a report")
    };
    let reporter = Reporter {
        name: Some(PersonName::parse("王五").unwrap()),
        phone: Some(Phone::parse("13812345678").unwrap()),
    };
    let v1 = legacy::CaseReportedV1 {
        case_id: v2.case_id,
        tracking_code: v2.tracking_code,
        channel: v2.channel,
        reporter: reporter.clone(),
        location: v2.location.clone(),
        description: v2.description.clone(),
        category: v2.category,
        media: v2.media.clone(),
        reported_at: v2.reported_at,
    };
    let bytes = postcard::to_allocvec(&v1).unwrap();
    let Event::CaseReported(upcast) = decode("CaseReported", 1, &bytes).unwrap() else {
        panic!("not a report")
    };
    assert_eq!(upcast.reporter, Contact::Clear(reporter));
    assert_eq!(upcast.description, v2.description);
    let anonymous = legacy::CaseReportedV1 {
        reporter: Reporter::anonymous(),
        ..v1
    };
    let bytes = postcard::to_allocvec(&anonymous).unwrap();
    let Event::CaseReported(upcast) = decode("CaseReported", 1, &bytes).unwrap() else {
        panic!("not a report")
    };
    assert_eq!(upcast.reporter, Contact::Anonymous);
    // Version 2 bytes do not read as version 1.
    assert!(decode("CaseReported", 1, &encode(&v2.into()).payload).is_err());
}

#[test]
fn triage_v1_is_upcast_with_no_model_and_no_reason() {
    let v1 = legacy::CaseTriagedV1 {
        category: CategoryCode::parse("BJ-01-07").unwrap(),
        priority: Priority::Normal,
        route: Route::Department {
            department: department("urban_mgmt"),
        },
        triaged_by: None,
    };
    let bytes = postcard::to_allocvec(&v1).unwrap();
    let Event::CaseTriaged(triaged) = decode("CaseTriaged", 1, &bytes).unwrap() else {
        panic!("not a triage")
    };
    assert_eq!(triaged.category, v1.category);
    assert_eq!(triaged.route, v1.route);
    assert_eq!((triaged.model, triaged.priority_reason), (None, None));
    // Version 2 bytes carry two more fields: they do not read as version 1.
    let v2 = encode(&Event::CaseTriaged(CaseTriaged {
        model: Some(ModelVerdict {
            version: "corpus-00000001".into(),
            confidence: 700,
        }),
        ..CaseTriaged::from(v1)
    }));
    assert!(decode("CaseTriaged", 1, &v2.payload).is_err());
}

#[test]
fn v2_bytes_do_not_pass_as_v1() {
    let encoded = encode(&Event::SatisfactionRecorded(SatisfactionRecorded {
        resolved: true,
        satisfied: true,
        score: 5,
        comment: None,
    }));
    assert_eq!(
        decode("SatisfactionRecorded", 1, &encoded.payload),
        Err(CodecError::BadPayload {
            event_type: "SatisfactionRecorded",
            schema_version: 1,
            message: "2 trailing bytes".into(),
        })
    );
}

#[test]
fn unknown_type_and_version_are_named() {
    assert_eq!(
        decode("DepartmentPraised", 1, &[]).unwrap_err().to_string(),
        "unknown event type \"DepartmentPraised\""
    );
    assert_eq!(
        decode("CaseClosed", 2, &[0]).unwrap_err().to_string(),
        "CaseClosed: unknown schema version 2"
    );
    assert_eq!(
        decode("SatisfactionRecorded", 0, &[])
            .unwrap_err()
            .to_string(),
        "SatisfactionRecorded: unknown schema version 0"
    );
}

#[test]
fn department_rating_is_version_1_and_its_layout_holds() {
    let rated = DepartmentRated {
        by: worker("lin-ming"),
        department: department("water"),
        timeliness: score(5),
        attitude: score(4),
        result: score(2),
        note: None,
        at: Timestamp::from_millis(1),
    };
    let encoded = encode(&rated.clone().into());
    assert_eq!(
        (encoded.event_type, encoded.schema_version),
        ("DepartmentRated", 1)
    );
    // The layout postcard writes, field by field: stored bytes must keep decoding.
    let mut expected = vec![8];
    expected.extend_from_slice(b"lin-ming");
    expected.push(5);
    expected.extend_from_slice(b"water");
    expected.extend_from_slice(&[5, 4, 2, 0, 2]);
    assert_eq!(encoded.payload, expected);
    assert_eq!(
        decode("DepartmentRated", 1, &expected),
        Ok(Event::DepartmentRated(rated))
    );
    // A mark out of 1 to 5 in stored bytes is an error, never a rating.
    for bad in [0, 6] {
        let mut corrupt = expected.clone();
        corrupt[15] = bad;
        let error = decode("DepartmentRated", 1, &corrupt).unwrap_err();
        assert!(matches!(error, CodecError::BadPayload { .. }), "{error}");
    }
    assert_eq!(
        decode("DepartmentRated", 2, &expected)
            .unwrap_err()
            .to_string(),
        "DepartmentRated: unknown schema version 2"
    );
}

#[test]
fn bad_bytes_name_type_version_and_cause() {
    let error = decode("CaseMerged", 1, &[1, 2, 3]).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("CaseMerged v1: bad payload: "),
        "{message}"
    );
    assert!(matches!(error, CodecError::BadPayload { .. }));
}

/// A tiny deterministic generator, so the garbage is the same on every run.
fn garbage(seed: u64, length: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..length)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}

#[test]
fn truncated_payloads_are_errors_for_every_type() {
    for event in one_of_each() {
        let encoded = encode(&event);
        for cut in 0..encoded.payload.len() {
            let result = decode(
                encoded.event_type,
                encoded.schema_version,
                &encoded.payload[..cut],
            );
            assert!(result.is_err(), "{} cut at {cut}", encoded.event_type);
        }
    }
}

#[test]
fn garbage_never_panics_for_any_type_or_version() {
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff; 64],
        vec![0x00; 64],
        vec![0x80; 64],
        // A huge length prefix followed by nothing.
        vec![0xff, 0xff, 0xff, 0xff, 0x0f],
    ];
    for seed in 0..200 {
        inputs.push(garbage(seed, (seed as usize * 7) % 300));
    }
    // Flipping bytes of valid payloads reaches deeper into the decoders.
    for event in one_of_each() {
        let payload = encode(&event).payload;
        for index in 0..payload.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut mutated = payload.clone();
                mutated[index] ^= flip;
                inputs.push(mutated);
            }
        }
    }
    for event_type in EVENT_TYPES {
        for schema_version in 0..=3 {
            for input in &inputs {
                // Any outcome but a panic is fine.
                let _ = decode(event_type, schema_version, input);
            }
        }
    }
}
