//! Roles and callers: what a caller may do, and who it is.

use std::fmt;

use crate::AuthError;

/// The kinds of caller, without what they name: what an RPC's allow-list is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoleKind {
    /// A hotline operator at the command centre.
    Operator,
    /// A grid worker's app.
    GridWorker,
    /// A handling department.
    Department,
    /// A command-centre supervisor.
    Supervisor,
    /// A system administrator.
    Admin,
    /// The QR web gateway, acting for residents.
    Gateway,
    /// A community office (社区), a handling tier above its grids.
    Community,
    /// A street office (街道), a handling tier above its communities.
    Street,
    /// A grid leader (网格长), who may blow the whistle on a case of their grid.
    GridLeader,
    /// A special grid member or volunteer (特殊网格员), who reports in their own name.
    Member,
}

impl RoleKind {
    /// Every kind, for listing.
    pub const ALL: [RoleKind; 10] = [
        Self::Operator,
        Self::GridWorker,
        Self::Department,
        Self::Supervisor,
        Self::Admin,
        Self::Gateway,
        Self::Community,
        Self::Street,
        Self::GridLeader,
        Self::Member,
    ];

    /// The kind's name as written in token tables and actors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::GridWorker => "grid_worker",
            Self::Department => "department",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
            Self::Gateway => "gateway",
            Self::Community => "community",
            Self::Street => "street",
            Self::GridLeader => "grid_leader",
            Self::Member => "member",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Result<Self, AuthError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|kind| kind.as_str()).collect();
                AuthError::BadRole(format!(
                    "unknown role {name:?}, expected one of {}",
                    known.join(", ")
                ))
            })
    }

    /// True for kinds that name something: `grid_worker:<worker>`, `department:<code>`,
    /// `community:<grid code>`, `street:<grid code>`, `grid_leader:<grid code>`,
    /// `member:<member id>`.
    fn is_qualified(self) -> bool {
        matches!(
            self,
            Self::GridWorker
                | Self::Department
                | Self::Community
                | Self::Street
                | Self::GridLeader
                | Self::Member
        )
    }
}

impl fmt::Display for RoleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a caller may do, and for whom.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// A hotline operator.
    Operator,
    /// A grid worker, by worker id.
    GridWorker(String),
    /// A handling department, by department code.
    Department(String),
    /// A command-centre supervisor.
    Supervisor,
    /// A system administrator.
    Admin,
    /// The QR web gateway, acting for residents.
    Gateway,
    /// A community office, by its grid code (`330102-001-002`).
    Community(String),
    /// A street office, by its grid code (`330102-001`).
    Street(String),
    /// A grid leader, by the grid code of the grid they lead (`330102-001-001-001`).
    GridLeader(String),
    /// A special grid member or volunteer, by member id (`sf-zhao-lei`).
    Member(String),
}

impl Role {
    /// The role's kind.
    pub fn kind(&self) -> RoleKind {
        match self {
            Self::Operator => RoleKind::Operator,
            Self::GridWorker(_) => RoleKind::GridWorker,
            Self::Department(_) => RoleKind::Department,
            Self::Supervisor => RoleKind::Supervisor,
            Self::Admin => RoleKind::Admin,
            Self::Gateway => RoleKind::Gateway,
            Self::Community(_) => RoleKind::Community,
            Self::Street(_) => RoleKind::Street,
            Self::GridLeader(_) => RoleKind::GridLeader,
            Self::Member(_) => RoleKind::Member,
        }
    }

    /// Parses `operator`, `supervisor`, `admin`, `gateway`, `grid_worker:<worker id>`,
    /// `department:<code>`, `community:<grid code>`, `street:<grid code>` or
    /// `grid_leader:<grid code>` or `member:<member id>`.
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        let (kind, qualifier) = match text.split_once(':') {
            Some((kind, qualifier)) => (RoleKind::parse(kind)?, Some(qualifier)),
            None => (RoleKind::parse(text)?, None),
        };
        Self::from_parts(kind, qualifier)
    }

    fn from_parts(kind: RoleKind, qualifier: Option<&str>) -> Result<Self, AuthError> {
        let named = |what: &str| -> Result<String, AuthError> {
            let value = qualifier.ok_or_else(|| {
                AuthError::BadRole(format!("role {kind} needs a {what}: {kind}:<{what}>"))
            })?;
            check_name(value, &format!("{kind} {what}"))?;
            Ok(value.to_owned())
        };
        let role = match kind {
            RoleKind::GridWorker => Self::GridWorker(named("worker id")?),
            RoleKind::Department => Self::Department(named("department code")?),
            RoleKind::Operator => Self::Operator,
            RoleKind::Supervisor => Self::Supervisor,
            RoleKind::Admin => Self::Admin,
            RoleKind::Gateway => Self::Gateway,
            RoleKind::Community => Self::Community(named("community code")?),
            RoleKind::Street => Self::Street(named("street code")?),
            RoleKind::GridLeader => Self::GridLeader(named("grid code")?),
            RoleKind::Member => Self::Member(named("member id")?),
        };
        if !kind.is_qualified() {
            if let Some(extra) = qualifier {
                return Err(AuthError::BadRole(format!(
                    "role {kind} takes no qualifier, got {kind}:{extra}"
                )));
            }
        }
        Ok(role)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GridWorker(worker) => write!(f, "grid_worker:{worker}"),
            Self::Department(code) => write!(f, "department:{code}"),
            Self::Community(code) => write!(f, "community:{code}"),
            Self::Street(code) => write!(f, "street:{code}"),
            Self::GridLeader(code) => write!(f, "grid_leader:{code}"),
            Self::Member(member) => write!(f, "member:{member}"),
            other => f.write_str(other.kind().as_str()),
        }
    }
}

/// Ids and qualifiers are short identifiers: letters, digits, `-`, `_`, `.`.
fn check_name(value: &str, what: &str) -> Result<(), AuthError> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(AuthError::BadRole(format!(
            "{what} {value:?} must be 1 to 64 letters, digits, '-', '_' or '.'"
        )))
    }
}

/// An authenticated caller: its role and who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// What it may do.
    pub role: Role,
    /// Who it is (an operator's staff id, a department clerk, …); for a grid worker, the worker
    /// id.
    pub id: String,
}

impl Caller {
    /// A caller with `role` and `id`. A grid worker's id is its worker id, and a member's their
    /// member id: `id` may be left out and must match if given; every other role needs one.
    pub fn new(role: Role, id: Option<&str>) -> Result<Self, AuthError> {
        let id = match (&role, id) {
            (Role::GridWorker(person) | Role::Member(person), None) => person.clone(),
            (Role::GridWorker(person) | Role::Member(person), Some(id)) if id != person => {
                return Err(AuthError::BadRole(format!(
                    "a grid worker's or member's id is their own: {role} cannot have id {id:?}"
                )))
            }
            (_, Some(id)) => id.to_owned(),
            (_, None) => return Err(AuthError::BadRole(format!("role {role} needs an id"))),
        };
        check_name(&id, "caller id")?;
        Ok(Self { role, id })
    }

    /// Parses `role:id` (`operator:op-001`, `department:urban_mgmt:clerk-01`,
    /// `grid_worker:lin-ming`).
    pub fn parse(spec: &str) -> Result<Self, AuthError> {
        let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
        let kind = RoleKind::parse(kind)?;
        let rest = (!rest.is_empty()).then_some(rest);
        if kind.is_qualified() {
            let (qualifier, id) = match rest.map(|rest| rest.split_once(':')) {
                Some(Some((qualifier, id))) => (Some(qualifier), Some(id)),
                Some(None) => (rest, None),
                None => (None, None),
            };
            Self::new(Role::from_parts(kind, qualifier)?, id)
        } else {
            Self::new(Role::from_parts(kind, None)?, rest)
        }
    }

    /// The caller as an event actor, `role:id`: `operator:op-001`, `grid_worker:lin-ming`,
    /// `department:urban_mgmt:clerk-01`; a member is `member:<member id>`.
    pub fn actor(&self) -> String {
        match &self.role {
            Role::GridWorker(_) | Role::Member(_) => self.role.to_string(),
            role => format!("{role}:{}", self.id),
        }
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.actor())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_print_round_trip() {
        for text in [
            "operator",
            "supervisor",
            "admin",
            "gateway",
            "grid_worker:lin-ming",
            "department:urban_mgmt",
            "community:330102-001-002",
            "street:330102-001",
        ] {
            assert_eq!(Role::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            Role::parse("department:urban_mgmt").unwrap(),
            Role::Department("urban_mgmt".into())
        );
        assert_eq!(
            Role::parse("grid_worker:lin-ming").unwrap().kind(),
            RoleKind::GridWorker
        );
        for (bad, expected) in [
            ("janitor", "unknown role \"janitor\""),
            ("department", "role department needs a department code"),
            ("grid_worker:", "grid_worker worker id \"\" must be"),
            ("operator:x", "role operator takes no qualifier"),
            ("department:urban mgmt", "must be 1 to 64"),
        ] {
            let message = Role::parse(bad).unwrap_err().to_string();
            assert!(message.contains(expected), "{bad}: {message}");
        }
    }

    #[test]
    fn callers_parse_as_role_and_id() {
        let operator = Caller::parse("operator:op-001").unwrap();
        assert_eq!(operator.role, Role::Operator);
        assert_eq!(operator.actor(), "operator:op-001");
        let worker = Caller::parse("grid_worker:lin-ming").unwrap();
        assert_eq!(worker.id, "lin-ming");
        assert_eq!(worker.actor(), "grid_worker:lin-ming");
        let clerk = Caller::parse("department:urban_mgmt:clerk-01").unwrap();
        assert_eq!(clerk.role, Role::Department("urban_mgmt".into()));
        assert_eq!(clerk.actor(), "department:urban_mgmt:clerk-01");
        assert!(Caller::parse("operator").is_err());
        assert!(Caller::parse("grid_worker:lin-ming:someone-else").is_err());
    }
}
