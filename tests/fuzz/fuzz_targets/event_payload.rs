//! The domain's event codec: a payload under any event type and schema version decodes to an
//! event or an error, and an event that decodes encodes (at the current version) to bytes that
//! decode to the same event; the same for the people's events and their codec.
#![no_main]

use gridcase_domain::{codec, EVENT_TYPES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = gridcase_fuzz::split(data);
    let (version, payload) = gridcase_fuzz::split(rest);
    let event_type = EVENT_TYPES
        .get(usize::from(selector) % (EVENT_TYPES.len() + 2))
        .copied()
        .unwrap_or(if selector % 2 == 0 {
            gridcase_domain::TrackingCodeReserved::EVENT_TYPE
        } else {
            "DepartmentPraised"
        });
    let schema_version = u16::from(version % 4);
    if let Ok(event) = codec::decode(event_type, schema_version, payload) {
        assert_eq!(event.type_name(), event_type);
        let encoded = codec::encode(&event);
        let again = codec::decode(encoded.event_type, encoded.schema_version, &encoded.payload);
        assert_eq!(again.as_ref(), Ok(&event));
        // Text formats carry events too (JSON in the query service's read models).
        let _ = format!("{event:?}");
    }
    // The people's events (members, points) have a codec of their own.
    use gridcase_domain::people::{decode_people, encode_people, PEOPLE_EVENT_TYPES};
    let people_type = PEOPLE_EVENT_TYPES[usize::from(selector) % PEOPLE_EVENT_TYPES.len()];
    if let Ok(event) = decode_people(people_type, schema_version, payload) {
        assert_eq!(event.type_name(), people_type);
        let encoded = encode_people(&event);
        let again = decode_people(encoded.event_type, encoded.schema_version, &encoded.payload);
        assert_eq!(again.as_ref(), Ok(&event));
    }
    if let Some(reserved) = gridcase_domain::TrackingCodeReserved::from_payload(payload) {
        assert_eq!(reserved.encode().payload, payload);
    }
});
