//! `members.toml`: the special grid members and volunteers a city starts with (communities
//! enrol more over the API); `points.toml`: how many points (积分) each deed earns, and the
//! points shop's (积分超市) items and prices; `care.toml`: the services residents order
//! (群众点单) and how often households under care are visited (敲门行动).

use std::collections::BTreeMap;

use gridcase_domain::people::{CareKind, EarnReason, MemberKind};
use gridcase_domain::{GridCode, GridLevel, MemberId, PersonName, ServiceCode};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{Result, Source};
use crate::grid::GridHierarchy;

/// The file name of the member registry.
pub const MEMBERS_FILE: &str = "members.toml";
/// The file name of the points rules.
pub const POINTS_FILE: &str = "points.toml";
/// The file name of the community services and the care visits' frequencies.
pub const CARE_FILE: &str = "care.toml";

/// A special grid member or volunteer of the reference data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Their id: their role is `member:<id>`.
    pub id: MemberId,
    /// What kind of member.
    pub kind: MemberKind,
    /// The name the community shows.
    pub name: PersonName,
    /// The community that enrolled them.
    pub community: GridCode,
    /// The grids (or micro-grids) they serve, inside that community.
    pub grids: Vec<GridCode>,
}

/// The points rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointsRules {
    /// Points for each reason; a reason worth 0 earns nothing.
    pub earn: BTreeMap<EarnReason, u32>,
    /// The points shop: item name → price in points.
    pub shop: BTreeMap<String, u32>,
}

impl PointsRules {
    /// What `reason` earns.
    pub fn points_for(&self, reason: EarnReason) -> u32 {
        self.earn.get(&reason).copied().unwrap_or(0)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MembersFile {
    #[serde(default)]
    member: Vec<Spanned<MemberEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberEntry {
    id: Spanned<String>,
    kind: Spanned<String>,
    name: Spanned<String>,
    community: Spanned<String>,
    grids: Spanned<Vec<String>>,
}

/// Reads and checks `members.toml` against the grid hierarchy.
pub(crate) fn load_members(
    source: &Source,
    grid: &GridHierarchy,
) -> Result<BTreeMap<MemberId, Member>> {
    let file: MembersFile = source.parse()?;
    let mut members = BTreeMap::new();
    for entry in file.member {
        let entry = entry.into_inner();
        let what = format!("member {}", entry.id.get_ref());
        let at = |span: std::ops::Range<usize>, reason: String| source.invalid(span, &what, reason);
        let id =
            MemberId::parse(entry.id.get_ref()).map_err(|e| at(entry.id.span(), e.to_string()))?;
        let kind = MemberKind::parse(entry.kind.get_ref())
            .map_err(|e| at(entry.kind.span(), e.to_string()))?;
        let name = PersonName::parse(entry.name.get_ref())
            .map_err(|e| at(entry.name.span(), e.to_string()))?;
        let community = GridCode::parse(entry.community.get_ref())
            .map_err(|e| at(entry.community.span(), e.to_string()))?;
        if community.level() != GridLevel::Community || !grid.areas.contains_key(&community) {
            return Err(at(
                entry.community.span(),
                format!("community {community} is not a known community"),
            ));
        }
        let mut grids = Vec::new();
        for code in entry.grids.get_ref() {
            let code = GridCode::parse(code).map_err(|e| at(entry.grids.span(), e.to_string()))?;
            if !grid.areas.contains_key(&code) || !code.is_strictly_within(&community) {
                return Err(at(
                    entry.grids.span(),
                    format!("grid {code} is not a known grid of community {community}"),
                ));
            }
            grids.push(code);
        }
        if grids.is_empty() {
            return Err(at(
                entry.grids.span(),
                "a member serves at least one grid".into(),
            ));
        }
        let member = Member {
            id: id.clone(),
            kind,
            name,
            community,
            grids,
        };
        if members.insert(id.clone(), member).is_some() {
            return Err(at(entry.id.span(), format!("member {id} is listed twice")));
        }
    }
    Ok(members)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PointsFile {
    earn: EarnEntry,
    #[serde(default)]
    item: Vec<Spanned<ItemEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EarnEntry {
    valid_report: u32,
    report_fixed: u32,
    order_completed: u32,
    care_visit: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemEntry {
    name: Spanned<String>,
    points: Spanned<u32>,
}

/// Longest item name of the shop, in characters.
const MAX_ITEM_CHARS: usize = 50;

/// Reads and checks `points.toml`.
pub(crate) fn load_points(source: &Source) -> Result<PointsRules> {
    let file: PointsFile = source.parse()?;
    let earn = BTreeMap::from([
        (EarnReason::ValidReport, file.earn.valid_report),
        (EarnReason::ReportFixed, file.earn.report_fixed),
        (EarnReason::OrderCompleted, file.earn.order_completed),
        (EarnReason::CareVisit, file.earn.care_visit),
    ]);
    let mut shop = BTreeMap::new();
    for item in file.item {
        let item = item.into_inner();
        let name = item.name.get_ref().trim().to_owned();
        let what = format!("item {name:?}");
        let length = name.chars().count();
        if length == 0 || length > MAX_ITEM_CHARS {
            return Err(source.invalid(item.name.span(), &what, "name must be 1 to 50 characters"));
        }
        if *item.points.get_ref() == 0 {
            return Err(source.invalid(item.points.span(), &what, "points must be more than 0"));
        }
        if shop.insert(name, *item.points.get_ref()).is_some() {
            return Err(source.invalid(item.name.span(), &what, "the item is listed twice"));
        }
    }
    Ok(PointsRules { earn, shop })
}

/// A service of the community service list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// Its code.
    pub code: ServiceCode,
    /// What residents call it, e.g. 助老陪诊.
    pub name: String,
    /// Hours from the order to the dispatch.
    pub dispatch_within_hours: u32,
    /// Hours from the order to the completion.
    pub complete_within_hours: u32,
}

/// The community services and the care visits' frequencies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CareRules {
    /// The services, by code.
    pub services: BTreeMap<ServiceCode, Service>,
    /// Days between visits, per kind of household.
    pub visit_every_days: BTreeMap<CareKind, u32>,
    /// Hours before a visit's due time that its grid worker is warned.
    pub visit_warn_before_hours: u32,
}

impl CareRules {
    /// Days between visits to a household of `kind`.
    pub fn every_days(&self, kind: CareKind) -> u32 {
        self.visit_every_days.get(&kind).copied().unwrap_or(7)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CareFile {
    visit_warn_before_hours: u32,
    service: Vec<Spanned<ServiceEntry>>,
    visit_every_days: Spanned<BTreeMap<String, Spanned<u32>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceEntry {
    code: Spanned<String>,
    name: Spanned<String>,
    dispatch_within_hours: Spanned<u32>,
    complete_within_hours: Spanned<u32>,
}

/// Reads and checks `care.toml`.
pub(crate) fn load_care(source: &Source) -> Result<CareRules> {
    let file: CareFile = source.parse()?;
    let mut services = BTreeMap::new();
    for entry in file.service {
        let entry = entry.into_inner();
        let what = format!("service {}", entry.code.get_ref());
        let at = |span: std::ops::Range<usize>, reason: String| source.invalid(span, &what, reason);
        let code = ServiceCode::parse(entry.code.get_ref())
            .map_err(|e| at(entry.code.span(), e.to_string()))?;
        let name = entry.name.get_ref().trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_ITEM_CHARS {
            return Err(at(
                entry.name.span(),
                "name must be 1 to 50 characters".into(),
            ));
        }
        let dispatch = *entry.dispatch_within_hours.get_ref();
        let complete = *entry.complete_within_hours.get_ref();
        if dispatch == 0 {
            return Err(at(
                entry.dispatch_within_hours.span(),
                "dispatch_within_hours must be more than 0".into(),
            ));
        }
        if complete < dispatch {
            return Err(at(
                entry.complete_within_hours.span(),
                format!("complete_within_hours ({complete}) is less than dispatch_within_hours ({dispatch})"),
            ));
        }
        let service = Service {
            code: code.clone(),
            name,
            dispatch_within_hours: dispatch,
            complete_within_hours: complete,
        };
        if services.insert(code.clone(), service).is_some() {
            return Err(at(
                entry.code.span(),
                format!("service {code} is listed twice"),
            ));
        }
    }
    if services.is_empty() {
        return Err(source.invalid_file("service", "list at least one service"));
    }
    let mut visit_every_days = BTreeMap::new();
    let span = file.visit_every_days.span();
    for (name, days) in file.visit_every_days.into_inner() {
        let Some(kind) = CareKind::from_name(&name) else {
            return Err(source.invalid(
                days.span(),
                "visit_every_days",
                format!(
                    "{name:?} is not a kind of household under care (elderly_alone, disabled, low_income, left_behind_child)"
                ),
            ));
        };
        if *days.get_ref() == 0 || *days.get_ref() > 366 {
            return Err(source.invalid(
                days.span(),
                "visit_every_days",
                format!("{name}: days must be 1 to 366"),
            ));
        }
        visit_every_days.insert(kind, *days.get_ref());
    }
    if let Some(missing) = CareKind::ALL
        .into_iter()
        .find(|kind| !visit_every_days.contains_key(kind))
    {
        return Err(source.invalid(
            span,
            "visit_every_days",
            format!("{} has no frequency", missing.as_str()),
        ));
    }
    Ok(CareRules {
        services,
        visit_every_days,
        visit_warn_before_hours: file.visit_warn_before_hours,
    })
}
