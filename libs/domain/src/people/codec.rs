//! Storing the people's events as bytes: postcard under the type name and schema version 1,
//! like case events (see [`crate::codec`]), and never changed in place either.

use super::PeopleEvent;
use crate::codec::{to_bytes, CodecError, EncodedEvent, Payload};

/// The type names of [`PeopleEvent`], none of them a case event's.
pub const PEOPLE_EVENT_TYPES: [&str; 13] = [
    "MemberEnrolled",
    "PointsEarned",
    "PointsExchanged",
    "OrderPlaced",
    "OrderDispatched",
    "OrderAccepted",
    "OrderCompleted",
    "OrderConfirmed",
    "OrderCancelled",
    "HouseholdEnrolled",
    "HouseholdVisited",
    "HouseholdReleased",
    "VisitWarned",
];

/// The feed's subject token for the people's events (`gridcase.v1.events.people.<stream>`).
pub const PEOPLE_STAGE: &str = "people";

/// [`PEOPLE_STAGE`] if `event_type` is one of the people's events.
pub fn people_stage(event_type: &str) -> Option<&'static str> {
    PEOPLE_EVENT_TYPES
        .contains(&event_type)
        .then_some(PEOPLE_STAGE)
}

/// Encodes a people's event at its current schema version (1 for all of them).
pub fn encode_people(event: &PeopleEvent) -> EncodedEvent {
    let payload = match event {
        PeopleEvent::MemberEnrolled(payload) => to_bytes(payload),
        PeopleEvent::PointsEarned(payload) => to_bytes(payload),
        PeopleEvent::PointsExchanged(payload) => to_bytes(payload),
        PeopleEvent::OrderPlaced(payload) => to_bytes(payload),
        PeopleEvent::OrderDispatched(payload) => to_bytes(payload),
        PeopleEvent::OrderAccepted(payload) => to_bytes(payload),
        PeopleEvent::OrderCompleted(payload) => to_bytes(payload),
        PeopleEvent::OrderConfirmed(payload) => to_bytes(payload),
        PeopleEvent::OrderCancelled(payload) => to_bytes(payload),
        PeopleEvent::HouseholdEnrolled(payload) => to_bytes(payload),
        PeopleEvent::HouseholdVisited(payload) => to_bytes(payload),
        PeopleEvent::HouseholdReleased(payload) => to_bytes(payload),
        PeopleEvent::VisitWarned(payload) => to_bytes(payload),
    };
    EncodedEvent {
        event_type: event.type_name(),
        schema_version: 1,
        payload,
    }
}

/// Decodes a stored people's event. Never panics.
pub fn decode_people(
    event_type: &str,
    schema_version: u16,
    payload: &[u8],
) -> Result<PeopleEvent, CodecError> {
    let Some(&event_type) = PEOPLE_EVENT_TYPES
        .iter()
        .find(|&&known| known == event_type)
    else {
        return Err(CodecError::UnknownType {
            event_type: event_type.to_owned(),
        });
    };
    let bytes = Payload {
        event_type,
        schema_version,
        bytes: payload,
    };
    match (event_type, schema_version) {
        ("MemberEnrolled", 1) => bytes.read().map(PeopleEvent::MemberEnrolled),
        ("PointsEarned", 1) => bytes.read().map(PeopleEvent::PointsEarned),
        ("PointsExchanged", 1) => bytes.read().map(PeopleEvent::PointsExchanged),
        ("OrderPlaced", 1) => bytes.read().map(PeopleEvent::OrderPlaced),
        ("OrderDispatched", 1) => bytes.read().map(PeopleEvent::OrderDispatched),
        ("OrderAccepted", 1) => bytes.read().map(PeopleEvent::OrderAccepted),
        ("OrderCompleted", 1) => bytes.read().map(PeopleEvent::OrderCompleted),
        ("OrderConfirmed", 1) => bytes.read().map(PeopleEvent::OrderConfirmed),
        ("OrderCancelled", 1) => bytes.read().map(PeopleEvent::OrderCancelled),
        ("HouseholdEnrolled", 1) => bytes.read().map(PeopleEvent::HouseholdEnrolled),
        ("HouseholdVisited", 1) => bytes.read().map(PeopleEvent::HouseholdVisited),
        ("HouseholdReleased", 1) => bytes.read().map(PeopleEvent::HouseholdReleased),
        ("VisitWarned", 1) => bytes.read().map(PeopleEvent::VisitWarned),
        _ => Err(CodecError::UnknownSchemaVersion {
            event_type,
            schema_version,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::{EarnReason, MemberEnrolled, MemberKind, PointsEarned, PointsSource};
    use crate::{CaseId, GridCode, PersonName, Timestamp};

    #[test]
    fn people_events_round_trip_and_are_not_case_events() {
        let events = [
            PeopleEvent::MemberEnrolled(MemberEnrolled {
                kind: MemberKind::DeliveryRider,
                name: PersonName::parse("美团 钱小军").unwrap(),
                community: GridCode::parse("330102-001-001").unwrap(),
                grids: vec![GridCode::parse("330102-001-001-001").unwrap()],
                at: Timestamp::from_millis(5),
            }),
            PeopleEvent::PointsEarned(PointsEarned {
                reason: EarnReason::ReportFixed,
                points: 10,
                source: PointsSource::Case(CaseId::from_u128(7)),
                at: Timestamp::from_millis(6),
            }),
            PeopleEvent::OrderConfirmed(crate::people::OrderConfirmed {
                rating: 4,
                comment: Some(crate::Note::parse("师傅修得快，就是来晚了一点").unwrap()),
                at: Timestamp::from_millis(7),
            }),
            PeopleEvent::HouseholdVisited(crate::people::HouseholdVisited {
                visitor: crate::people::Visitor::Member(
                    crate::MemberId::parse("he-guifang").unwrap(),
                ),
                note: crate::Note::parse("孩子作业写完了，奶奶说最近睡得好").unwrap(),
                case: Some(CaseId::from_u128(9)),
                due: Timestamp::from_millis(8),
                at: Timestamp::from_millis(7),
            }),
        ];
        for event in events {
            let encoded = encode_people(&event);
            assert_eq!(people_stage(encoded.event_type), Some("people"));
            assert_eq!(crate::stage_of(encoded.event_type), None);
            assert_eq!(
                decode_people(encoded.event_type, 1, &encoded.payload),
                Ok(event)
            );
            assert!(matches!(
                decode_people(encoded.event_type, 2, &encoded.payload),
                Err(CodecError::UnknownSchemaVersion { .. })
            ));
        }
        assert!(matches!(
            decode_people("CaseReported", 2, &[]),
            Err(CodecError::UnknownType { .. })
        ));
        assert!(decode_people("PointsEarned", 1, &[0xff; 3]).is_err());
    }
}
