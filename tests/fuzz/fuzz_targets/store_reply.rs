//! The store's reply side of its wire protocol, as its clients read it: a reply body decodes
//! to the store's result or an unavailable error, and stored records carried in read replies
//! decode (checksum first) to events or a corrupt-record error.
#![no_main]

use gridcase_bus::wire::{decode_reply, RawRecordRef, Reply, StreamPartReply};
use gridcase_eventstore::{decode_record, AppendResult, StoreError, StoreStats};
use libfuzzer_sys::fuzz_target;

fn records(records: &[RawRecordRef<'_>]) {
    for record in records {
        match decode_record(record.position, record.bytes) {
            Ok(event) => assert_eq!(event.position, record.position),
            Err(StoreError::Corrupt { position, .. }) => assert_eq!(position, record.position),
            Err(other) => panic!("a bad record is corrupt, not {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (operation, body) = gridcase_fuzz::split(data);
    match operation % 7 {
        0 => {
            let _: Reply<AppendResult> = decode_reply(body);
        }
        1 => {
            let _: Reply<Vec<Reply<AppendResult>>> = decode_reply(body);
        }
        2 => {
            if let Ok(read) = decode_reply::<Vec<RawRecordRef<'_>>>(body) {
                records(&read);
            }
        }
        3 => {
            if let Ok(part) = decode_reply::<StreamPartReply<'_>>(body) {
                records(&part.records);
            }
        }
        4 => {
            let _: Reply<Option<u64>> = decode_reply(body);
        }
        5 => {
            let _: Reply<StoreStats> = decode_reply(body);
        }
        _ => {
            let _: Reply<u64> = decode_reply(body);
        }
    }
});
