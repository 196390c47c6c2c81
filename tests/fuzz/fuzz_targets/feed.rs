//! The feed decoder: a message of the JetStream event feed (`gridcase.v1.events.>`) decodes
//! to the recorded event or an error, and an event that decodes is what encoding it again
//! gives back.
#![no_main]

use gridcase_bus::wire::{decode_feed, encode_feed};
use gridcase_eventstore::encode_record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = decode_feed(data) {
        let message = encode_feed(event.position, &encode_record(&event));
        assert_eq!(decode_feed(&message), Ok(event));
    }
});
