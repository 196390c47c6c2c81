//! The reference data loader: one of the six TOML files of the sample city (chosen by the first
//! byte) replaced by arbitrary text, the others as shipped, checked as `ReferenceData::load`
//! checks a directory. The answer is reference data or an error naming the replaced file or a
//! later one, never a panic; loaded data answers its lookups.
#![no_main]

use gridcase_config::{ReferenceData, FILES};
use gridcase_fuzz::{reference_text, split};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (selector, bytes) = split(data);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let replaced_at = usize::from(selector) % FILES.len();
    let replaced = FILES[replaced_at];
    let loaded = ReferenceData::from_texts(|name| {
        if name == replaced {
            Some(text)
        } else {
            reference_text(name)
        }
    });
    match loaded {
        Ok(reference) => {
            for area in reference.grids() {
                let _ = reference.children(&area.code).count();
                let _ = reference.workers_of(&area.code);
            }
            for department in reference.departments() {
                assert!(reference.department(&department.code).is_some());
            }
            for category in reference.categories() {
                assert!(reference.category(&category.code).is_some());
            }
            let _ = reference.indicator_weights();
            let _ = reference.indicator_settings();
        }
        Err(error) => {
            assert!(!error.to_string().is_empty());
            // The files before the replaced one are the sample's and load; the error is in the
            // replaced file or in a later one that refers to what it no longer holds.
            let named = FILES.iter().position(|file| error.file().ends_with(file));
            assert!(
                named.is_some_and(|named| named >= replaced_at),
                "{replaced} replaced, yet: {error}"
            );
        }
    }
});
