//! `categories.toml`: the case catalogue (部件/事件, 大类/小类) with the
//! defaults triage starts from.

use std::collections::{BTreeMap, BTreeSet};

use gridcase_domain::{CategoryCode, CategoryKind, DepartmentCode, Priority};
use serde::Deserialize;
use toml::Spanned;

use crate::departments::{Departments, DEPARTMENTS_FILE};
use crate::error::{Result, Source};

/// The file name of the category catalogue.
pub const CATEGORIES_FILE: &str = "categories.toml";

/// The longest keyword accepted; keywords are short phrases, not sentences.
const MAX_KEYWORD_CHARS: usize = 20;

/// A minor category (小类) of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Category {
    /// The code, e.g. `BJ-01-01` or `SJ-04-01`.
    pub code: CategoryCode,
    /// The minor category's name, e.g. `上水井盖`.
    pub name: String,
    /// The name of its major category (大类), e.g. `公用设施`.
    pub major_name: String,
    /// Words in a description that point to this category, for triage.
    pub keywords: Vec<String>,
    /// Who handles it unless triage decides otherwise.
    pub owner: Owner,
    /// The priority a new case of this category starts with.
    pub priority: Priority,
    /// Whether a grid worker may settle it on the spot (自办自结): the grid worker's default
    /// suggestion, and why triage routes a hotline case of it to the grid.
    pub self_handle: bool,
    /// Whether the community office handles it when its grid cannot (大事不出社区), before any
    /// department: triage routes a case of it with a known grid to its community, and a grid
    /// worker is advised to hand it up.
    pub community: bool,
}

impl Category {
    /// Component (部件) or incident (事件).
    pub const fn kind(&self) -> CategoryKind {
        self.code.kind()
    }
}

/// The default owner of a category: exactly one department or one joint group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// Clear ownership: dispatched point-to-point (直通).
    Department(DepartmentCode),
    /// Unclear or shared ownership: the code of a joint group in `departments.toml`.
    JointGroup(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoriesFile {
    #[serde(default)]
    category: Vec<CategoryEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryEntry {
    code: Spanned<CategoryCode>,
    name: Spanned<String>,
    major_name: Spanned<String>,
    keywords: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    department: Option<Spanned<String>>,
    #[serde(default)]
    joint_group: Option<Spanned<String>>,
    priority: Spanned<String>,
    self_handle: bool,
    #[serde(default)]
    community: bool,
}

/// Reads and checks `categories.toml` against the departments already loaded.
pub(crate) fn load(
    source: &Source,
    departments: &Departments,
) -> Result<BTreeMap<CategoryCode, Category>> {
    let file: CategoriesFile = source.parse()?;
    if file.category.is_empty() {
        return Err(source.invalid_file("category", "at least one [[category]] entry is needed"));
    }
    let mut categories = BTreeMap::new();
    let mut lines = BTreeMap::new();
    // The first name seen for each major category, with its line, so that
    // one 大类 is not spelt two ways.
    let mut majors: BTreeMap<(CategoryKind, u8), (String, usize)> = BTreeMap::new();
    for entry in file.category {
        let code = *entry.code.get_ref();
        let label = format!("category {code}");
        if let Some(line) = lines.get(&code) {
            return Err(source.invalid(
                entry.code.span(),
                label,
                format!("code is already used at line {line}"),
            ));
        }
        let name = source.checked_name(&entry.name, &label)?;
        let major_name = source.checked_name(&entry.major_name, &label)?;
        let major_key = (code.kind(), code.major());
        match majors.get(&major_key) {
            Some((known, line)) if *known != major_name => {
                return Err(source.invalid(
                    entry.major_name.span(),
                    &label,
                    format!(
                        "major name {major_name:?} differs from {known:?} given for {}-{:02} at line {line}",
                        code.kind().prefix(),
                        code.major()
                    ),
                ));
            }
            Some(_) => {}
            None => {
                let line = source.line_of(entry.major_name.span());
                majors.insert(major_key, (major_name.clone(), line));
            }
        }
        let keywords = check_keywords(source, &entry.keywords, &label)?;
        let owner = match (&entry.department, &entry.joint_group) {
            (Some(department), None) => {
                let text = department.get_ref();
                match DepartmentCode::parse(text) {
                    Ok(code) if departments.departments.contains_key(&code) => {
                        Owner::Department(code)
                    }
                    _ => {
                        return Err(source.invalid(
                            department.span(),
                            &label,
                            format!("default department {text:?} is not in {DEPARTMENTS_FILE}"),
                        ))
                    }
                }
            }
            (None, Some(group)) => {
                let text = group.get_ref();
                if !departments.joint_groups.contains_key(text.as_str()) {
                    return Err(source.invalid(
                        group.span(),
                        &label,
                        format!("joint group {text:?} is not in {DEPARTMENTS_FILE}"),
                    ));
                }
                Owner::JointGroup(text.clone())
            }
            (Some(_), Some(group)) => {
                return Err(source.invalid(
                    group.span(),
                    &label,
                    "give either department or joint_group, not both",
                ))
            }
            (None, None) => {
                return Err(source.invalid(
                    entry.code.span(),
                    &label,
                    "give a default department or a joint_group",
                ))
            }
        };
        let priority = Priority::parse(entry.priority.get_ref()).map_err(|error| {
            source.invalid(
                entry.priority.span(),
                &label,
                format!("priority {}", error.reason),
            )
        })?;
        lines.insert(code, source.line_of(entry.code.span()));
        categories.insert(
            code,
            Category {
                code,
                name,
                major_name,
                keywords,
                owner,
                priority,
                self_handle: entry.self_handle,
                community: entry.community,
            },
        );
    }
    Ok(categories)
}

fn check_keywords(
    source: &Source,
    keywords: &Spanned<Vec<Spanned<String>>>,
    label: &str,
) -> Result<Vec<String>> {
    if keywords.get_ref().is_empty() {
        return Err(source.invalid(
            keywords.span(),
            label,
            "keywords must not be empty, triage classifies by them",
        ));
    }
    let mut seen = BTreeSet::new();
    let mut checked = Vec::new();
    for keyword in keywords.get_ref() {
        let text = keyword.get_ref().trim();
        let length = text.chars().count();
        if length == 0 || length > MAX_KEYWORD_CHARS {
            return Err(source.invalid(
                keyword.span(),
                label,
                format!("keyword {text:?} must be 1 to {MAX_KEYWORD_CHARS} characters"),
            ));
        }
        if !seen.insert(text) {
            return Err(source.invalid(
                keyword.span(),
                label,
                format!("keyword {text:?} is listed twice"),
            ));
        }
        checked.push(text.to_owned());
    }
    Ok(checked)
}
