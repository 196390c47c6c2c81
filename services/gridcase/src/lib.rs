//! The gridcase command's library: the whole system in one process ([`system`]), shared by
//! `gridcase up`, `gridcase demo`, the pipeline benchmark and the cross-service tests.

pub mod system;
