//! The services' own settings and tokens: the gateway's `gateway.toml`, the query service's
//! page tokens, and the triage model file (as read from disk, and with its framing made valid
//! so the body behind the checksum is reached too).
#![no_main]

use gridcase_fuzz::split;
use gridcase_gateway::settings::GatewaySettings;
use gridcase_query::index::{page_token, parse_page_token};
use gridcase_triage::model::{ModelFile, MAGIC};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (selector, bytes) = split(data);
    match selector % 4 {
        0 => {
            if let Ok(text) = std::str::from_utf8(bytes) {
                if let Ok(settings) = GatewaySettings::parse(text) {
                    let _ = settings.limits.request_timeout();
                    let _ = settings.public_url("/q/330102-001-001-001");
                }
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(bytes) {
                if let Some(key) = parse_page_token(text) {
                    assert_eq!(parse_page_token(&page_token(key)), Some(key));
                }
            }
        }
        2 => {
            if let Ok(model) = ModelFile::from_bytes(bytes) {
                let _ = model.into_classifier(0.6);
            }
        }
        _ => {
            let mut framed = MAGIC.to_vec();
            framed.extend_from_slice(bytes);
            framed.extend_from_slice(&crc32fast::hash(bytes).to_be_bytes());
            if let Ok(model) = ModelFile::from_bytes(&framed) {
                assert!(ModelFile::from_bytes(&model.to_bytes()).is_ok());
                let classifier = model.into_classifier(0.6);
                let _ = classifier.classify(
                    gridcase_fuzz::reference(),
                    None,
                    "楼道里的灯坏了一个多星期，晚上上楼看不见",
                );
            }
        }
    }
});
