//! The services of the system: which there are, their names, which run as several
//! replicas, and where each listens.

use std::net::SocketAddr;

/// One of the system's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// The event store (the only process that opens sled).
    Store,
    /// Case reports from hotline operators and grid workers.
    Intake,
    /// Classification, duplicates, routing and the manual queue.
    Triage,
    /// Work orders to departments and their answers.
    Dispatch,
    /// Deadlines, warnings, breaches, escalation, urging and postponements.
    Supervision,
    /// On-site checks, ratings and department indicators.
    Evaluation,
    /// Case timelines, lists and boards.
    Query,
    /// The HTTP gateway: residents' QR pages, Open311, posters and community boards.
    Gateway,
}

impl Service {
    /// Every service, in start order (the store first, the gateway that calls the others last).
    pub const ALL: [Service; 8] = [
        Service::Store,
        Service::Intake,
        Service::Triage,
        Service::Dispatch,
        Service::Supervision,
        Service::Evaluation,
        Service::Query,
        Service::Gateway,
    ];

    /// The stage services, which can run as several replicas: all but the store (one sled
    /// writer) and the gateway.
    pub const STAGES: [Service; 6] = [
        Service::Intake,
        Service::Triage,
        Service::Dispatch,
        Service::Supervision,
        Service::Evaluation,
        Service::Query,
    ];

    /// Whether the service can run as several replicas (see [`Service::STAGES`]).
    pub fn is_stage(self) -> bool {
        Service::STAGES.contains(&self)
    }

    /// The services that serve gRPC: all but the HTTP gateway.
    pub const GRPC: [Service; 7] = [
        Service::Store,
        Service::Intake,
        Service::Triage,
        Service::Dispatch,
        Service::Supervision,
        Service::Evaluation,
        Service::Query,
    ];

    /// The service's name, as `up` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Service::Store => "store",
            Service::Intake => "intake",
            Service::Triage => "triage",
            Service::Dispatch => "dispatch",
            Service::Supervision => "supervision",
            Service::Evaluation => "evaluation",
            Service::Query => "query",
            Service::Gateway => "gateway",
        }
    }

    pub(crate) fn index(self) -> usize {
        Service::ALL
            .iter()
            .position(|service| *service == self)
            .unwrap_or_default()
    }
}

/// Where each service's gRPC API (the gateway's HTTP) listens; port 0 picks a free port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses([SocketAddr; 8]);

impl Addresses {
    /// Every service on a free loopback port.
    pub fn any_free() -> Self {
        Self([SocketAddr::from(([127, 0, 0, 1], 0)); 8])
    }

    /// The usual ports on loopback: 7101 (store) to 7107 (query), and 8080 for the gateway.
    pub fn standard() -> Self {
        let mut addresses = Self::any_free();
        for (offset, service) in (0u16..).zip(Service::ALL) {
            addresses.set(service, SocketAddr::from(([127, 0, 0, 1], 7101 + offset)));
        }
        addresses.set(Service::Gateway, SocketAddr::from(([127, 0, 0, 1], 8080)));
        addresses
    }

    /// The address of `service`.
    pub fn get(&self, service: Service) -> SocketAddr {
        self.0[service.index()]
    }

    /// Sets the address of `service`.
    pub fn set(&mut self, service: Service, addr: SocketAddr) {
        self.0[service.index()] = addr;
    }
}
