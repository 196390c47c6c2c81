//! `grid.toml`: the grid hierarchy with its leaders and grid workers.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use gridcase_domain::{Coordinates, GridCode, GridLevel, PersonName, Phone, WorkerId};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{Result, Source};

/// The file name of the grid hierarchy.
pub const GRID_FILE: &str = "grid.toml";

/// Someone with a role in the grid: a grid leader (网格长) or a grid worker (网格员).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// The id the person acts under; unique across the whole city.
    pub id: WorkerId,
    /// The person's name.
    pub name: PersonName,
    /// A work phone for reminders and escalations.
    pub phone: Phone,
}

/// One node of the grid hierarchy: a district, street, community, grid or micro-grid.
#[derive(Clone, Debug, PartialEq)]
pub struct GridArea {
    /// Where it sits in the hierarchy; the code's level is the area's level.
    pub code: GridCode,
    /// The name people use, e.g. `涌金社区第二网格`.
    pub name: String,
    /// The grid leader (网格长) answerable for this area.
    pub leader: Person,
    /// A centre point for maps and distance checks, if surveyed.
    pub center: Option<Coordinates>,
    /// Grid workers who patrol it; only grids and micro-grids have them,
    /// and every grid has at least one.
    pub workers: Vec<Person>,
}

impl GridArea {
    /// The level of the hierarchy this area is at.
    pub const fn level(&self) -> GridLevel {
        self.code.level()
    }
}

/// The validated hierarchy with its indexes.
#[derive(Clone, Debug)]
pub(crate) struct GridHierarchy {
    pub(crate) areas: BTreeMap<GridCode, GridArea>,
    pub(crate) worker_area: HashMap<WorkerId, GridCode>,
}

/// The file as written: one array of tables per level.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GridFile {
    #[serde(default)]
    district: Vec<AreaEntry>,
    #[serde(default)]
    street: Vec<AreaEntry>,
    #[serde(default)]
    community: Vec<AreaEntry>,
    #[serde(default)]
    grid: Vec<AreaEntry>,
    #[serde(default)]
    micro_grid: Vec<AreaEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AreaEntry {
    code: Spanned<GridCode>,
    name: Spanned<String>,
    leader: Spanned<Person>,
    #[serde(default)]
    center: Option<Coordinates>,
    #[serde(default)]
    workers: Vec<Spanned<Person>>,
}

/// The words used for a level in messages.
pub(crate) const fn level_name(level: GridLevel) -> &'static str {
    match level {
        GridLevel::District => "district",
        GridLevel::Street => "street",
        GridLevel::Community => "community",
        GridLevel::Grid => "grid",
        GridLevel::MicroGrid => "micro-grid",
    }
}

/// How an area is named in messages: `micro-grid 330102-001-001-001-01`.
struct AreaLabel(GridLevel, GridCode);

impl fmt::Display for AreaLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", level_name(self.0), self.1)
    }
}

/// Reads and checks `grid.toml`.
pub(crate) fn load(source: &Source) -> Result<GridHierarchy> {
    let file: GridFile = source.parse()?;
    if file.district.is_empty() {
        return Err(source.invalid_file("district", "at least one [[district]] entry is needed"));
    }
    let sections = [
        (GridLevel::District, file.district),
        (GridLevel::Street, file.street),
        (GridLevel::Community, file.community),
        (GridLevel::Grid, file.grid),
        (GridLevel::MicroGrid, file.micro_grid),
    ];
    let mut checker = Checker {
        source,
        areas: BTreeMap::new(),
        people: HashMap::new(),
        worker_area: HashMap::new(),
    };
    let mut order = Vec::new();
    for (level, entries) in sections {
        for entry in entries {
            order.push((level, *entry.code.get_ref(), entry.code.span()));
            checker.add(level, entry)?;
        }
    }
    // Parents are checked once everything is read, so the file may list
    // levels in any order.
    for (level, code, span) in order {
        if let Some(parent) = code.parent() {
            if !checker.areas.contains_key(&parent) {
                return Err(source.invalid(
                    span,
                    AreaLabel(level, code),
                    format!(
                        "parent {} {parent} is not in {GRID_FILE}",
                        level_name(parent.level())
                    ),
                ));
            }
        }
    }
    Ok(GridHierarchy {
        areas: checker
            .areas
            .into_iter()
            .map(|(code, (area, _))| (code, area))
            .collect(),
        worker_area: checker
            .worker_area
            .into_iter()
            .map(|(id, (code, _))| (id, code))
            .collect(),
    })
}

struct Checker<'a> {
    source: &'a Source,
    /// Each area with the line of its code.
    areas: BTreeMap<GridCode, (GridArea, usize)>,
    /// Everyone seen so far with the line they were first seen on, so that
    /// one id never names two different people.
    people: HashMap<WorkerId, (Person, usize)>,
    /// Which area each grid worker works in, with the line.
    worker_area: HashMap<WorkerId, (GridCode, usize)>,
}

impl Checker<'_> {
    fn add(&mut self, level: GridLevel, entry: AreaEntry) -> Result<()> {
        let source = self.source;
        let code = *entry.code.get_ref();
        let code_span = entry.code.span();
        let label = AreaLabel(level, code);
        if code.level() != level {
            return Err(source.invalid(
                code_span,
                &label,
                format!(
                    "code names a {}, not a {}",
                    level_name(code.level()),
                    level_name(level)
                ),
            ));
        }
        if let Some((_, line)) = self.areas.get(&code) {
            return Err(source.invalid(
                code_span,
                &label,
                format!("code is already used at line {line}"),
            ));
        }
        let name = source.checked_name(&entry.name, &label)?;
        self.note_person(&entry.leader, &label)?;
        if level < GridLevel::Grid {
            if let Some(worker) = entry.workers.first() {
                return Err(source.invalid(
                    worker.span(),
                    &label,
                    "only grids and micro-grids have grid workers",
                ));
            }
        }
        if level == GridLevel::Grid && entry.workers.is_empty() {
            return Err(source.invalid(code_span, &label, "a grid needs at least one grid worker"));
        }
        for worker in &entry.workers {
            self.note_person(worker, &label)?;
            let id = &worker.get_ref().id;
            let line = source.line_of(worker.span());
            if let Some((other, other_line)) = self.worker_area.get(id) {
                let reason = if *other == code {
                    format!("grid worker {id} is listed twice")
                } else {
                    format!(
                        "grid worker {id} already works in {} (line {other_line}); a grid worker belongs to one grid",
                        AreaLabel(other.level(), *other)
                    )
                };
                return Err(source.invalid(worker.span(), &label, reason));
            }
            self.worker_area.insert(id.clone(), (code, line));
        }
        let area = GridArea {
            code,
            name,
            leader: entry.leader.into_inner(),
            center: entry.center,
            workers: entry.workers.into_iter().map(Spanned::into_inner).collect(),
        };
        let line = source.line_of(code_span);
        self.areas.insert(code, (area, line));
        Ok(())
    }

    fn note_person(&mut self, person: &Spanned<Person>, label: &AreaLabel) -> Result<()> {
        let seen = person.get_ref();
        match self.people.get(&seen.id) {
            Some((known, line)) if known != seen => Err(self.source.invalid(
                person.span(),
                label,
                format!(
                    "person {} has a different name or phone at line {line}; one id is one person",
                    seen.id
                ),
            )),
            Some(_) => Ok(()),
            None => {
                let line = self.source.line_of(person.span());
                self.people.insert(seen.id.clone(), (seen.clone(), line));
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEADER: &str = r#"leader = { id = "li-ming", name = "李明", phone = "13800000001" }"#;

    fn hierarchy(extra: &str) -> String {
        format!(
            r#"[[district]]
code = "330102"
name = "清河区"
{LEADER}

[[street]]
code = "330102-001"
name = "柳浪街道"
{LEADER}

[[community]]
code = "330102-001-001"
name = "涌金社区"
{LEADER}

[[grid]]
code = "330102-001-001-001"
name = "涌金社区第一网格"
{LEADER}
workers = [{{ id = "wang-fang", name = "王芳", phone = "13800000002" }}]
{extra}"#
        )
    }

    fn load_text(text: &str) -> Result<GridHierarchy> {
        load(&Source::from_text(GRID_FILE, text))
    }

    #[test]
    fn a_minimal_hierarchy_loads() {
        let grid = load_text(&hierarchy("")).unwrap();
        assert_eq!(grid.areas.len(), 4);
        let worker = WorkerId::parse("wang-fang").unwrap();
        assert_eq!(grid.worker_area[&worker].to_string(), "330102-001-001-001");
    }

    #[test]
    fn a_section_holds_only_its_level() {
        let text = hierarchy("[[street]]\ncode = \"330102-001-002\"\nname = \"x\"\nleader = { id = \"li-ming\", name = \"李明\", phone = \"13800000001\" }\n");
        let error = load_text(&text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "grid.toml:22: street 330102-001-002: code names a community, not a street"
        );
    }

    #[test]
    fn one_id_is_one_person() {
        let text = hierarchy(
            "[[micro_grid]]\ncode = \"330102-001-001-001-01\"\nname = \"涌金苑1幢\"\nleader = { id = \"li-ming\", name = \"李敏\", phone = \"13800000001\" }\n",
        );
        let error = load_text(&text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "grid.toml:24: micro-grid 330102-001-001-001-01: person li-ming has a different name or phone at line 4; one id is one person"
        );
    }

    #[test]
    fn upper_levels_have_no_workers() {
        let text = hierarchy("").replacen(
            "name = \"涌金社区\"\n",
            "name = \"涌金社区\"\nworkers = [{ id = \"zhao-lei\", name = \"赵磊\", phone = \"13800000003\" }]\n",
            1,
        );
        let error = load_text(&text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "grid.toml:14: community 330102-001-001: only grids and micro-grids have grid workers"
        );
    }
}
