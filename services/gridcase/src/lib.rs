//! The gridcase command's library: the whole system in one process ([`system`]), shared by
//! `gridcase up`, `gridcase demo`, the pipeline benchmark and the cross-service tests, and the
//! seeded generator ([`rng`]) the demo and the benchmarks draw from.

pub mod rng;
pub mod system;
