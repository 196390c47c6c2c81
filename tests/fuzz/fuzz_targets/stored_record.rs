//! The stored record decoder: the bytes sled hands back for a position, decoded in full
//! (`decode_record`, what `RawRecord::decode` does) and viewed without copying
//! (`view_record`), then the event payload inside decoded as a case event.
#![no_main]

use gridcase_eventstore::{decode_record, encode_record, view_record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let position = 7;
    let decoded = decode_record(position, data);
    let viewed = view_record(position, data);
    match (&decoded, &viewed) {
        (Ok(event), Ok(view)) => {
            assert_eq!(view.stream_id, event.stream_id);
            assert_eq!(view.stream_version, event.stream_version);
            assert_eq!(view.event_id, event.event_id);
            assert_eq!(view.event_type, event.event_type);
            assert_eq!(view.correlation_id, event.metadata.correlation_id);
            assert_eq!(view.causation_id, event.metadata.causation_id);
            // What decodes encodes again to a record that decodes to the same event.
            assert_eq!(
                decode_record(position, &encode_record(event)).as_ref(),
                Ok(event)
            );
            let case = gridcase_domain::CaseId::from_u128(event.event_id);
            if let Ok(case_event) = gridcase_casestore::decode(case, event) {
                let encoded = gridcase_domain::encode(&case_event);
                assert_eq!(encoded.event_type, case_event.type_name());
            }
        }
        (Err(_), Err(_)) => {}
        _ => panic!("decode and view disagree: {decoded:?} / {viewed:?}"),
    }
});
