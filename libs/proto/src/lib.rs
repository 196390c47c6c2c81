//! Protobuf messages and gRPC services of gridcase, generated from `proto/`.
//!
//! Generated types stay at the edge: services convert them into domain types with `TryFrom`,
//! and the domain never imports this crate.

pub mod convert;

/// The encoded file descriptor set of every proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/gridcase_descriptor.bin"));

/// Messages several APIs share: case status, the case after an action, locations.
pub mod common {
    /// Version 1.
    #[allow(
        missing_docs,
        clippy::all,
        missing_debug_implementations,
        unreachable_pub
    )]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/gridcase.common.v1.rs"));
    }
}

/// The event store's admin API.
pub mod store {
    /// Version 1.
    #[allow(
        missing_docs,
        clippy::all,
        missing_debug_implementations,
        unreachable_pub
    )]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/gridcase.store.v1.rs"));
    }
}

/// The intake API: new reports and status by tracking code.
pub mod intake {
    /// Version 1.
    #[allow(
        missing_docs,
        clippy::all,
        missing_debug_implementations,
        unreachable_pub
    )]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/gridcase.intake.v1.rs"));
    }
}

/// Manual triage for operators.
pub mod triage {
    /// Version 1.
    #[allow(
        missing_docs,
        clippy::all,
        missing_debug_implementations,
        unreachable_pub
    )]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/gridcase.triage.v1.rs"));
    }
}

/// Work orders to departments and the department API.
pub mod dispatch {
    /// Version 1.
    #[allow(
        missing_docs,
        clippy::all,
        missing_debug_implementations,
        unreachable_pub
    )]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/gridcase.dispatch.v1.rs"));
    }
}

/// Supervision: deadlines, urging and postponement approval.
pub mod supervision {
    /// Version 1.
    #[allow(
        missing_docs,
        clippy::all,
        missing_debug_implementations,
        unreachable_pub
    )]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/gridcase.supervision.v1.rs"));
    }
}

/// Evaluation: on-site verification, ratings and indicators.
pub mod evaluation {
    /// Version 1.
    #[allow(
        missing_docs,
        clippy::all,
        missing_debug_implementations,
        unreachable_pub
    )]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/gridcase.evaluation.v1.rs"));
    }
}

/// Query: case timelines, lists and boards.
pub mod query {
    /// Version 1.
    #[allow(
        missing_docs,
        clippy::all,
        missing_debug_implementations,
        unreachable_pub
    )]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/gridcase.query.v1.rs"));
    }
}

/// People: special grid members, volunteers and points.
pub mod people {
    /// Version 1.
    #[allow(
        missing_docs,
        clippy::all,
        missing_debug_implementations,
        unreachable_pub
    )]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/gridcase.people.v1.rs"));
    }
}
