//! Residents' names and phone numbers (PIPL personal data) in gridcase.
//!
//! - [`KeyVault`]: a key per person; a report's contact is sealed with it before it is written
//!   to the immutable log, and erasing the person destroys the key (crypto-shredding), so every
//!   copy of the log — the store, the event feed, backups, projections rebuilt from position 0
//!   — reads the contact as erased while the rest of the case history stays intact.
//! - [`Vault`]: how services reach the keys (the store node serves them over NATS: [`serve`]).
//! - [`audit`]: the record of every read of a contact in clear and of every erasure.

pub mod audit;
mod keys;
mod remote;

pub use keys::{KeyVault, Opened, VaultError, SECRET_FILE};
pub use remote::{answer, serve, EraseTarget, Erasure, Vault, MAX_OPEN};
