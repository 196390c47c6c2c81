//! `departments.toml`: the departments cases are dispatched to, and the
//! joint groups that take matters of unclear ownership (社区吹哨、部门报到).

use std::collections::{BTreeMap, BTreeSet};

use gridcase_domain::{DepartmentCode, PersonName, Phone, Route};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{Result, Source};

/// The file name of the departments and joint groups.
pub const DEPARTMENTS_FILE: &str = "departments.toml";

/// A department that receives work orders in its own system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Department {
    /// The code used in dispatch subjects, e.g. `urban_mgmt`.
    pub code: DepartmentCode,
    /// The official name, e.g. `区城市管理局`.
    pub name: String,
    /// Who the centre calls when the system link is not enough, if given.
    pub contact: Option<Contact>,
}

/// A duty desk or named person at a department.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The desk or person, e.g. `指挥中心值班室`.
    pub name: PersonName,
    /// Their phone.
    pub phone: Phone,
}

/// A standing multi-department consultation (联合会商) for a kind of matter
/// no single department owns; the lead department owns the outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JointGroup {
    /// The code categories refer to, e.g. `illegal_building`; lowercase
    /// letters, digits and `_`, 2 to 32 characters.
    pub code: String,
    /// What the group is for, e.g. `违法建设联合整治`.
    pub name: String,
    /// The department that leads and owns the case.
    pub lead: DepartmentCode,
    /// The other departments consulted; never empty, never the lead.
    pub participants: Vec<DepartmentCode>,
}

impl JointGroup {
    /// The dispatch route this group stands for.
    pub fn route(&self) -> Route {
        Route::Joint {
            lead: self.lead.clone(),
            participants: self.participants.clone(),
        }
    }
}

/// The validated file.
#[derive(Clone, Debug)]
pub(crate) struct Departments {
    pub(crate) departments: BTreeMap<DepartmentCode, Department>,
    pub(crate) joint_groups: BTreeMap<String, JointGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepartmentsFile {
    #[serde(default)]
    department: Vec<DepartmentEntry>,
    #[serde(default)]
    joint_group: Vec<JointGroupEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepartmentEntry {
    code: Spanned<DepartmentCode>,
    name: Spanned<String>,
    #[serde(default)]
    contact: Option<Contact>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JointGroupEntry {
    code: Spanned<String>,
    name: Spanned<String>,
    lead: Spanned<String>,
    participants: Spanned<Vec<Spanned<String>>>,
}

use gridcase_domain::RESERVED_SUBJECT_TOKENS;
pub use gridcase_domain::WORKER_SUBJECT_TOKEN;

/// Reads and checks `departments.toml`.
pub(crate) fn load(source: &Source) -> Result<Departments> {
    let file: DepartmentsFile = source.parse()?;
    if file.department.is_empty() {
        return Err(
            source.invalid_file("department", "at least one [[department]] entry is needed")
        );
    }
    let mut departments = BTreeMap::new();
    let mut lines = BTreeMap::new();
    for entry in file.department {
        let code = entry.code.get_ref().clone();
        let label = format!("department {code}");
        if let Some(token) = RESERVED_SUBJECT_TOKENS
            .into_iter()
            .find(|&token| code.as_str() == token)
        {
            let whose = if token == WORKER_SUBJECT_TOKEN {
                "grid workers'"
            } else {
                "the offices'"
            };
            return Err(source.invalid(
                entry.code.span(),
                label,
                format!(
                    "code {token:?} is reserved: {whose} work orders go to \
                     gridcase.v1.dispatch.{token}.<{token} id>"
                ),
            ));
        }
        if let Some(line) = lines.get(&code) {
            return Err(source.invalid(
                entry.code.span(),
                label,
                format!("code is already used at line {line}"),
            ));
        }
        let name = source.checked_name(&entry.name, &label)?;
        lines.insert(code.clone(), source.line_of(entry.code.span()));
        departments.insert(
            code.clone(),
            Department {
                code,
                name,
                contact: entry.contact,
            },
        );
    }

    let mut joint_groups = BTreeMap::new();
    let mut group_lines = BTreeMap::new();
    for entry in file.joint_group {
        let code = entry.code.get_ref().trim().to_owned();
        let label = format!("joint group {code}");
        if let Err(reason) = check_group_code(&code) {
            return Err(source.invalid(entry.code.span(), label, reason));
        }
        if let Some(line) = group_lines.get(&code) {
            return Err(source.invalid(
                entry.code.span(),
                label,
                format!("code is already used at line {line}"),
            ));
        }
        let name = source.checked_name(&entry.name, &label)?;
        let known = |reference: &Spanned<String>, role: &str| {
            let text = reference.get_ref();
            match DepartmentCode::parse(text) {
                Ok(code) if departments.contains_key(&code) => Ok(code),
                _ => Err(source.invalid(
                    reference.span(),
                    &label,
                    format!("{role} department {text:?} is not in {DEPARTMENTS_FILE}"),
                )),
            }
        };
        let lead = known(&entry.lead, "lead")?;
        if entry.participants.get_ref().is_empty() {
            return Err(source.invalid(
                entry.participants.span(),
                &label,
                "a joint group needs at least one participant besides the lead",
            ));
        }
        let mut participants = Vec::new();
        let mut seen = BTreeSet::new();
        for reference in entry.participants.get_ref() {
            let participant = known(reference, "participant")?;
            if participant == lead {
                return Err(source.invalid(
                    reference.span(),
                    &label,
                    format!("lead department {lead} is also listed as a participant"),
                ));
            }
            if !seen.insert(participant.clone()) {
                return Err(source.invalid(
                    reference.span(),
                    &label,
                    format!("participant {participant} is listed twice"),
                ));
            }
            participants.push(participant);
        }
        group_lines.insert(code.clone(), source.line_of(entry.code.span()));
        joint_groups.insert(
            code.clone(),
            JointGroup {
                code,
                name,
                lead,
                participants,
            },
        );
    }
    Ok(Departments {
        departments,
        joint_groups,
    })
}

/// Joint group codes follow the department code rules so they are safe in
/// subjects, logs and URLs alike.
fn check_group_code(code: &str) -> std::result::Result<(), String> {
    DepartmentCode::parse(code)
        .map(drop)
        .map_err(|error| format!("code {}", error.reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Departments> {
        load(&Source::from_text(DEPARTMENTS_FILE, text))
    }

    const DEPARTMENTS: &str = r#"[[department]]
code = "urban_mgmt"
name = "区城市管理局"

[[department]]
code = "housing"
name = "区住房和城乡建设局"
contact = { name = "值班室", phone = "0571-87000001" }
"#;

    #[test]
    fn joint_groups_resolve_to_joint_routes() {
        let text = format!(
            "{DEPARTMENTS}\n[[joint_group]]\ncode = \"illegal_building\"\nname = \"违法建设联合整治\"\nlead = \"urban_mgmt\"\nparticipants = [\"housing\"]\n"
        );
        let loaded = load_text(&text).unwrap();
        let group = &loaded.joint_groups["illegal_building"];
        assert_eq!(
            group.route(),
            Route::joint(
                DepartmentCode::parse("urban_mgmt").unwrap(),
                vec![DepartmentCode::parse("housing").unwrap()]
            )
            .unwrap()
        );
        let housing = &loaded.departments[&DepartmentCode::parse("housing").unwrap()];
        assert_eq!(
            housing.contact.as_ref().unwrap().phone.as_str(),
            "0571-87000001"
        );
    }

    #[test]
    fn the_worker_subject_is_no_department_code() {
        let text = format!("{DEPARTMENTS}\n[[department]]\ncode = \"worker\"\nname = \"网格员\"\n");
        assert_eq!(
            load_text(&text).unwrap_err().to_string(),
            "departments.toml:11: department worker: code \"worker\" is reserved: grid workers' \
             work orders go to gridcase.v1.dispatch.worker.<worker id>"
        );
    }

    #[test]
    fn joint_group_codes_are_slugs() {
        let text = format!(
            "{DEPARTMENTS}\n[[joint_group]]\ncode = \"违建\"\nname = \"违法建设联合整治\"\nlead = \"urban_mgmt\"\nparticipants = [\"housing\"]\n"
        );
        assert_eq!(
            load_text(&text).unwrap_err().to_string(),
            "departments.toml:11: joint group 违建: code must start with a lowercase letter"
        );
    }

    #[test]
    fn a_joint_group_needs_participants() {
        let text = format!(
            "{DEPARTMENTS}\n[[joint_group]]\ncode = \"solo\"\nname = \"独办\"\nlead = \"urban_mgmt\"\nparticipants = []\n"
        );
        assert_eq!(
            load_text(&text).unwrap_err().to_string(),
            "departments.toml:14: joint group solo: a joint group needs at least one participant besides the lead"
        );
    }
}
