//! The key vault's requests (`gridcase.v1.keys.{seal,open,erase}`, answered by the store node):
//! any body on any of its subjects gets a reply that decodes as the vault's `Result`, and never
//! a panic. A body that decodes as a reporter is sealed, and what is sealed opens to the same
//! reporter; sealed contacts from elsewhere open or read as erased.
#![no_main]

use std::sync::OnceLock;

use gridcase_bus::subjects::{KEYS_ACCOUNT, KEYS_ERASE, KEYS_OPEN, KEYS_SEAL};
use gridcase_domain::{Contact, Reporter};
use gridcase_privacy::{answer, Erasure, KeyVault, Opened};
use libfuzzer_sys::fuzz_target;

fn vault() -> &'static KeyVault {
    static VAULT: OnceLock<KeyVault> = OnceLock::new();
    VAULT.get_or_init(|| KeyVault::in_memory().expect("a random source"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let vault = vault();
    match selector % 4 {
        0 => {
            let reply: Result<Contact, String> =
                postcard::from_bytes(&answer(vault, KEYS_SEAL, body)).expect("a seal reply");
            if let (Ok(reporter), Ok(contact)) = (postcard::from_bytes::<Reporter>(body), reply) {
                let opened = vault.open_contact(&contact).expect("an in-memory vault");
                if reporter.is_anonymous() {
                    assert_eq!(opened, Opened::Anonymous);
                } else {
                    assert_eq!(opened, Opened::Reporter(reporter));
                }
            }
        }
        1 => {
            let reply: Result<Vec<Opened>, String> =
                postcard::from_bytes(&answer(vault, KEYS_OPEN, body)).expect("an open reply");
            // Nothing but this target's own seals exists in the vault, and fuzzed ciphertexts
            // of those do not authenticate: whatever opens was sealed here.
            let _ = reply;
        }
        2 => {
            let reply: Result<u128, String> =
                postcard::from_bytes(&answer(vault, KEYS_ACCOUNT, body)).expect("an account reply");
            // A phone's account is the id its contacts are sealed under.
            if let (Ok(phone), Ok(key)) = (postcard::from_bytes(body), reply) {
                assert_eq!(vault.key_for_phone(&phone), key);
            }
        }
        _ => {
            let reply: Result<Erasure, String> =
                postcard::from_bytes(&answer(vault, KEYS_ERASE, body)).expect("an erase reply");
            let _ = reply;
        }
    }
});
