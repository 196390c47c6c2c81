//! The reference data of gridcase: the grid hierarchy with its leaders and
//! grid workers, the departments and joint groups, the category catalogue,
//! the deadline policies with their working-hours calendar, the escalation
//! ladder, the indicator weights, the special grid members and volunteers,
//! and the points rules. It is read from TOML files in one directory
//! (`deploy/config/` ships a sample city) and checked as a whole
//! at start: bad reference data is refused with the file, the line, the
//! entry and the reason, so no service ever runs on half-valid rules.
//!
//! This crate is data, validation and lookups only. Classifying a
//! description, picking a worker or computing a deadline from a clock
//! belong to the services that call these lookups.

mod calendar;
mod categories;
mod corpus;
mod departments;
mod error;
mod escalation;
mod grid;
mod indicators;
mod people;
mod sla;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use gridcase_domain::{
    CategoryCode, DepartmentCode, GridCode, GridLevel, MemberId, Priority, Route, WorkerId,
};

pub use calendar::{Calendar, Date, HoursMode, MissingHolidayYear, TimeOfDay, Weekday};
pub use categories::{Category, Owner, CATEGORIES_FILE};
pub use corpus::{Corpus, LabelledReport, Split, CORPUS_DIR, NO_CATEGORY};
pub use departments::{Contact, Department, JointGroup, DEPARTMENTS_FILE, WORKER_SUBJECT_TOKEN};
pub use error::{ConfigError, Result};
pub use escalation::{EscalationStep, ESCALATION_FILE};
pub use grid::{GridArea, Person, GRID_FILE};
pub use indicators::{
    GridWorkerSettings, GridWorkerWeights, IndicatorSettings, IndicatorWeights, PeriodLength,
    INDICATORS_FILE,
};
pub use people::{CareRules, Member, PointsRules, Service, CARE_FILE, MEMBERS_FILE, POINTS_FILE};
pub use sla::{DangerPolicy, ReportInPolicy, SlaPolicy, SLA_FILE};

use error::Source;

/// Every file [`ReferenceData::load`] reads, in the order it reads them.
pub const FILES: [&str; 9] = [
    GRID_FILE,
    DEPARTMENTS_FILE,
    CATEGORIES_FILE,
    SLA_FILE,
    ESCALATION_FILE,
    INDICATORS_FILE,
    MEMBERS_FILE,
    POINTS_FILE,
    CARE_FILE,
];

/// All reference data, validated, with the lookups the stage services need.
#[derive(Clone, Debug)]
pub struct ReferenceData {
    grid: grid::GridHierarchy,
    departments: departments::Departments,
    categories: BTreeMap<CategoryCode, Category>,
    sla: sla::Sla,
    escalation: Vec<EscalationStep>,
    indicators: IndicatorSettings,
    members: BTreeMap<MemberId, Member>,
    points: PointsRules,
    care: CareRules,
}

impl ReferenceData {
    /// Reads and checks the files in `dir` (see [`FILES`]), stopping at the
    /// first problem.
    pub fn load(dir: &Path) -> Result<ReferenceData> {
        Self::from_sources(|name| Source::read(dir, name))
    }

    /// Checks reference data held in memory: `text_of` gives the text of each file of
    /// [`FILES`] by name, `None` for a missing one. The checks are [`ReferenceData::load`]'s;
    /// errors name the file without a directory.
    pub fn from_texts<'a>(text_of: impl Fn(&str) -> Option<&'a str>) -> Result<ReferenceData> {
        Self::from_sources(|name| match text_of(name) {
            Some(text) => Ok(Source::from_text(name, text)),
            None => Err(ConfigError::Read {
                file: name.into(),
                error: std::io::Error::from(std::io::ErrorKind::NotFound),
            }),
        })
    }

    fn from_sources(mut source: impl FnMut(&str) -> Result<Source>) -> Result<ReferenceData> {
        let grid = grid::load(&source(GRID_FILE)?)?;
        let departments = departments::load(&source(DEPARTMENTS_FILE)?)?;
        let categories = categories::load(&source(CATEGORIES_FILE)?, &departments)?;
        let sla = sla::load(&source(SLA_FILE)?, &categories)?;
        let escalation = escalation::load(&source(ESCALATION_FILE)?)?;
        let indicators = indicators::load(&source(INDICATORS_FILE)?)?;
        let members = people::load_members(&source(MEMBERS_FILE)?, &grid)?;
        let points = people::load_points(&source(POINTS_FILE)?)?;
        let care = people::load_care(&source(CARE_FILE)?)?;
        Ok(ReferenceData {
            grid,
            departments,
            categories,
            sla,
            escalation,
            indicators,
            members,
            points,
            care,
        })
    }

    // --- grid hierarchy ---

    /// The area with this code, at any level.
    pub fn grid(&self, code: &GridCode) -> Option<&GridArea> {
        self.grid.areas.get(code)
    }

    /// Every area, parents before children.
    pub fn grids(&self) -> impl Iterator<Item = &GridArea> {
        self.grid.areas.values()
    }

    /// The areas one level below `code`, in code order.
    pub fn children<'a>(&'a self, code: &'a GridCode) -> impl Iterator<Item = &'a GridArea> {
        // Codes sort parent-first and a subtree is contiguous, so the
        // range from `code` holds its descendants until the first outsider.
        self.grid
            .areas
            .range(code..)
            .map(|(_, area)| area)
            .take_while(move |area| area.code.is_within(code))
            .filter(move |area| area.code.parent().as_ref() == Some(code))
    }

    /// The grid or micro-grid a grid worker works in.
    pub fn grid_of_worker(&self, worker: &WorkerId) -> Option<&GridArea> {
        let code = self.grid.worker_area.get(worker)?;
        self.grid.areas.get(code)
    }

    /// A grid worker by id.
    pub fn worker(&self, worker: &WorkerId) -> Option<&Person> {
        self.grid_of_worker(worker)?
            .workers
            .iter()
            .find(|person| &person.id == worker)
    }

    /// The grid workers responsible for `code`: its own if it is a grid or a
    /// micro-grid with workers, else those of the nearest grid above it.
    /// Empty above grid level. `code` itself need not be listed, so a case
    /// placed in an unsurveyed micro-grid still finds its grid's workers.
    pub fn workers_of(&self, code: &GridCode) -> &[Person] {
        std::iter::once(*code)
            .chain(code.ancestors())
            .take_while(|candidate| candidate.level() >= GridLevel::Grid)
            .filter_map(|candidate| self.grid.areas.get(&candidate))
            .map(|area| area.workers.as_slice())
            .find(|workers| !workers.is_empty())
            .unwrap_or(&[])
    }

    /// The grid leader (网格长) of `code`'s area at `level`, for escalation;
    /// `None` if `level` is below `code` or that area is not listed.
    pub fn leader_at(&self, code: &GridCode, level: GridLevel) -> Option<&Person> {
        let area = self.grid.areas.get(&code.at_level(level)?)?;
        Some(&area.leader)
    }

    // --- departments ---

    /// A department by code.
    pub fn department(&self, code: &DepartmentCode) -> Option<&Department> {
        self.departments.departments.get(code)
    }

    /// Every department, in code order.
    pub fn departments(&self) -> impl Iterator<Item = &Department> {
        self.departments.departments.values()
    }

    /// A joint group by its code (e.g. `illegal_building`).
    pub fn joint_group(&self, code: &str) -> Option<&JointGroup> {
        self.departments.joint_groups.get(code)
    }

    /// Every joint group, in code order.
    pub fn joint_groups(&self) -> impl Iterator<Item = &JointGroup> {
        self.departments.joint_groups.values()
    }

    // --- categories ---

    /// A minor category by code.
    pub fn category(&self, code: &CategoryCode) -> Option<&Category> {
        self.categories.get(code)
    }

    /// Every minor category, in code order (部件 before 事件).
    pub fn categories(&self) -> impl Iterator<Item = &Category> {
        self.categories.values()
    }

    /// The route a case of this category takes unless triage decides
    /// otherwise: its default department, or its joint group's consultation.
    pub fn default_route(&self, code: &CategoryCode) -> Option<Route> {
        match &self.category(code)?.owner {
            Owner::Department(department) => Some(Route::Department {
                department: department.clone(),
            }),
            Owner::JointGroup(group) => self.joint_group(group).map(JointGroup::route),
        }
    }

    // --- deadlines ---

    /// The deadlines for a case of `priority`, with the category's override
    /// merged in if `category` has one.
    pub fn sla_for(&self, priority: Priority, category: Option<&CategoryCode>) -> SlaPolicy {
        category
            .and_then(|code| self.sla.by_category.get(&(*code, priority)))
            .copied()
            // Loading refuses a file that leaves out a priority, so this index holds.
            .unwrap_or_else(|| self.sla.by_priority[&priority])
    }

    /// How fast an operator must triage a case flagged as an emergency.
    pub fn danger_policy(&self) -> DangerPolicy {
        self.sla.danger
    }

    /// How fast an operator must triage a case the rules left in the manual queue (综合研判).
    pub fn manual_policy(&self) -> DangerPolicy {
        self.sla.manual
    }

    /// How fast the departments a whistle names must report in (吹哨报到).
    pub fn report_in_policy(&self) -> ReportInPolicy {
        self.sla.report_in
    }

    /// Working hours and the holiday calendar.
    pub fn calendar(&self) -> &Calendar {
        &self.sla.calendar
    }

    /// Public holidays (法定节假日); see [`Calendar`] for make-up working days.
    pub fn holidays(&self) -> &BTreeSet<Date> {
        self.sla.calendar.holidays()
    }

    // --- supervision and evaluation ---

    /// The escalation ladder, first rung first.
    pub fn escalation_ladder(&self) -> &[EscalationStep] {
        &self.escalation
    }

    /// The rung with this level (1-based), if the ladder is that tall.
    pub fn escalation_step(&self, level: u8) -> Option<&EscalationStep> {
        self.escalation.iter().find(|step| step.level == level)
    }

    /// The composite score's weights.
    pub fn indicator_weights(&self) -> &IndicatorWeights {
        &self.indicators.weights
    }

    /// The indicator weights and period settings.
    pub fn indicator_settings(&self) -> &IndicatorSettings {
        &self.indicators
    }

    // --- people of the grid ---

    /// A special grid member or volunteer of `members.toml`.
    pub fn member(&self, id: &MemberId) -> Option<&Member> {
        self.members.get(id)
    }

    /// Every member of `members.toml`, by id.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// The points rules and shop of `points.toml`.
    pub fn points(&self) -> &PointsRules {
        &self.points
    }

    /// The community services and the care visits' frequencies of `care.toml`.
    pub fn care(&self) -> &CareRules {
        &self.care
    }
}
