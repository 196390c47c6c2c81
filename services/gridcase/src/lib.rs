//! The gridcase command's library: the whole system in one process ([`system`]), shared by
//! `gridcase up`, `gridcase demo`, the pipeline benchmark and the cross-service tests, and the
//! seeded generator ([`rng`]) and the text tables ([`table`]) of the demo and the benchmarks,
//! and retraining triage's category model from operators' classifications ([`train`]).

pub mod rng;
pub mod system;
pub mod table;
pub mod train;
