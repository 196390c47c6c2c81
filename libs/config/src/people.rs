//! `members.toml`: the special grid members and volunteers a city starts with (communities
//! enrol more over the API); `points.toml`: how many points (积分) each deed earns, and the
//! points shop's (积分超市) items and prices.

use std::collections::BTreeMap;

use gridcase_domain::people::{EarnReason, MemberKind};
use gridcase_domain::{GridCode, GridLevel, MemberId, PersonName};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{Result, Source};
use crate::grid::GridHierarchy;

/// The file name of the member registry.
pub const MEMBERS_FILE: &str = "members.toml";
/// The file name of the points rules.
pub const POINTS_FILE: &str = "points.toml";

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
