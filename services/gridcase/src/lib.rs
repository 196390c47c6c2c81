//! The gridcase command's library: the whole system in one process ([`system`]), shared by
//! `gridcase up`, `gridcase demo`, the pipeline benchmark and the cross-service tests, and the
//! seeded generator ([`rng`]) and the text tables ([`table`]) of the demo and the benchmarks,
//! retraining triage's category model from operators' classifications ([`train`]) and
//! departments' NATS login files ([`nats_login`]).

pub mod backup;
pub mod erase;
pub mod member_code;
pub mod nats_login;
pub mod processes;
pub mod report;
pub mod rng;
pub mod system;
pub mod table;
pub mod train;
