//! Everyone the demo acts as: the hotline operator, the supervisor, an administrator, every
//! department's desk and every grid worker, each with a bearer token of the demo's own.

use std::collections::{BTreeMap, HashMap};

use gridcase_auth::{BearerToken, Caller, Secret, TokenTable};
use gridcase_config::ReferenceData;
use gridcase_domain::GridLevel;

/// Everyone the demo acts as, with a bearer token each: the hotline operator (who also calls
/// residents back), the supervisor, an administrator (for the store's figures), every
/// department's desk, every grid worker, every community and street office and every special
/// grid member of the reference data.
#[derive(Debug)]
pub(super) struct Cast {
    /// Who → (token, caller as `role:id`).
    callers: BTreeMap<String, (String, String)>,
    bearers: HashMap<String, BearerToken>,
    /// A token no service knows, for a caller the demo did not make.
    stranger: BearerToken,
}

pub(super) const OPERATOR: &str = "operator";
pub(super) const SUPERVISOR: &str = "supervisor";
pub(super) const ADMIN: &str = "admin";

pub(super) fn department_key(code: &str) -> String {
    format!("department-{code}")
}

pub(super) fn worker_key(id: &str) -> String {
    format!("worker-{id}")
}

/// A special grid member or volunteer of the reference data.
pub(super) fn member_key(id: &str) -> String {
    format!("member-{id}")
}

/// A community's or street's office (`kind` is `community` or `street`).
pub(super) fn office_key(kind: &str, code: &str) -> String {
    format!("{kind}-{code}")
}

impl Cast {
    pub(super) fn new(reference: &ReferenceData) -> anyhow::Result<Self> {
        let mut specs = vec![
            (OPERATOR.to_owned(), "operator:demo-hotline".to_owned()),
            (SUPERVISOR.to_owned(), "supervisor:demo-command".to_owned()),
            (ADMIN.to_owned(), "admin:demo-admin".to_owned()),
            // The HTTP gateway of the demo's own system calls the services as this caller.
            ("gateway".to_owned(), "gateway:demo-qr-web".to_owned()),
        ];
        for department in reference.departments() {
            let code = department.code.as_str();
            specs.push((department_key(code), format!("department:{code}:demo-desk")));
        }
        for area in reference.grids() {
            for worker in &area.workers {
                let id = worker.id.as_str();
                specs.push((worker_key(id), format!("grid_worker:{id}")));
            }
            let kind = match area.level() {
                GridLevel::Community => "community",
                GridLevel::Street => "street",
                _ => continue,
            };
            let code = area.code.to_string();
            specs.push((
                office_key(kind, &code),
                format!("{kind}:{code}:demo-office"),
            ));
        }
        for member in reference.members() {
            let id = member.id.as_str();
            specs.push((member_key(id), format!("member:{id}")));
        }
        let mut callers = BTreeMap::new();
        let mut bearers = HashMap::new();
        for (who, spec) in specs {
            // Not secret: these callers exist for the demo only.
            let token = format!("demo-{who}-token");
            bearers.insert(who.clone(), BearerToken::new(&Secret::new(token.clone()))?);
            callers.insert(who, (token, spec));
        }
        let stranger = BearerToken::new(&Secret::new("demo-unknown-caller-token"))?;
        Ok(Self {
            callers,
            bearers,
            stranger,
        })
    }

    pub(super) fn len(&self) -> usize {
        self.callers.len()
    }

    /// `token=role:id,…`, the format of `GRIDCASE_TOKENS`.
    pub(super) fn env_value(&self) -> String {
        let entries: Vec<String> = self
            .callers
            .values()
            .map(|(token, spec)| format!("{token}={spec}"))
            .collect();
        entries.join(",")
    }

    /// The callers `table` does not hold with the demo's token.
    pub(super) fn missing_from(&self, table: &TokenTable) -> Vec<String> {
        self.callers
            .values()
            .filter(|(token, spec)| {
                let expected = Caller::parse(spec).map(|caller| caller.actor()).ok();
                table.caller(token).map(Caller::actor) != expected
            })
            .map(|(_, spec)| spec.clone())
            .collect()
    }

    /// The token of `who`; a caller the demo did not make (a grid worker missing from the
    /// reference data) gets one the services refuse, and the demo reports the refusal.
    pub(super) fn bearer(&self, who: &str) -> BearerToken {
        self.bearers.get(who).unwrap_or(&self.stranger).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cast_checks_against_a_token_table() {
        let reference = crate::sample_reference();
        let cast = Cast::new(&reference).unwrap();
        let table = TokenTable::from_env_value(&cast.env_value()).unwrap();
        assert_eq!(table.len(), cast.len());
        assert!(cast.missing_from(&table).is_empty());
        assert_eq!(cast.missing_from(&TokenTable::new()).len(), cast.len());
    }
}
