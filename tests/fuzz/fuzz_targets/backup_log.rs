//! The backup log reader (`gridcase restore` reads a backup's `events.log` with it): any bytes
//! give records in position order, then at most one error, never a panic; every record it
//! yields decodes or is refused by its own checksum; and the records written out again read
//! back the same.
#![no_main]

use gridcase_eventstore::backup::{LogFileReader, LogFileWriter};
use gridcase_eventstore::decode_record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut records = Vec::new();
    let mut items = LogFileReader::new(data);
    for item in items.by_ref() {
        match item {
            Ok(record) => records.push(record),
            Err(_) => break,
        }
    }
    assert!(items.next().is_none(), "nothing after an error");
    for (position, (at, bytes)) in records.iter().enumerate() {
        assert_eq!(*at, position as u64, "positions run from 0 without a gap");
        let _ = decode_record(*at, bytes);
    }
    let mut writer = LogFileWriter::new(Vec::new()).unwrap();
    for (at, bytes) in &records {
        writer.push(*at, bytes).unwrap();
    }
    let written = writer.finish().unwrap();
    let again: Vec<_> = LogFileReader::new(&written[..])
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(again, records);
});
