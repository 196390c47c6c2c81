//! Enrolment of special grid members and volunteers.

use serde::{Deserialize, Serialize};

use super::{MemberEnrolled, PeopleError, PeopleEvent};
use crate::values::ValidationError;

/// The kinds of special grid member the seeds name: people whose work takes them through the
/// streets (couriers, drivers, riders), the heads of buildings, volunteers and party members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MemberKind {
    /// 快递员.
    Courier,
    /// 网约车司机.
    RideHailingDriver,
    /// 外卖骑手.
    DeliveryRider,
    /// 楼栋长/单元长.
    BuildingHead,
    /// 志愿者.
    Volunteer,
    /// 党员.
    PartyMember,
}

impl MemberKind {
    /// Every kind, in the order of the proto enum.
    pub const ALL: [MemberKind; 6] = [
        Self::Courier,
        Self::RideHailingDriver,
        Self::DeliveryRider,
        Self::BuildingHead,
        Self::Volunteer,
        Self::PartyMember,
    ];

    /// The snake_case name used in files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Courier => "courier",
            Self::RideHailingDriver => "ride_hailing_driver",
            Self::DeliveryRider => "delivery_rider",
            Self::BuildingHead => "building_head",
            Self::Volunteer => "volunteer",
            Self::PartyMember => "party_member",
        }
    }

    /// The name a community uses.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Courier => "快递员",
            Self::RideHailingDriver => "网约车司机",
            Self::DeliveryRider => "外卖骑手",
            Self::BuildingHead => "楼栋长",
            Self::Volunteer => "志愿者",
            Self::PartyMember => "党员",
        }
    }

    /// The kind named `s` (see [`MemberKind::as_str`]).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
                ValidationError::new(
                    "kind",
                    format!("{s:?} is not a member kind ({})", names.join(", ")),
                )
            })
    }
}

/// Enrols a member whose stream holds `existing` (`None` for a new stream): refused when the
/// id is taken, and when the member serves no grid.
pub fn enrol(
    existing: Option<&MemberEnrolled>,
    member: &crate::MemberId,
    enrolled: MemberEnrolled,
) -> Result<Vec<PeopleEvent>, PeopleError> {
    if existing.is_some() {
        return Err(PeopleError::AlreadyEnrolled {
            member: member.to_string(),
        });
    }
    if enrolled.grids.is_empty() {
        return Err(ValidationError::new("grid_codes", "a member serves at least one grid").into());
    }
    Ok(vec![PeopleEvent::MemberEnrolled(enrolled)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GridCode, MemberId, PersonName, Timestamp};

    fn enrolled(grids: &[&str]) -> MemberEnrolled {
        MemberEnrolled {
            kind: MemberKind::Courier,
            name: PersonName::parse("顺丰 赵师傅").unwrap(),
            community: GridCode::parse("330102-001-001").unwrap(),
            grids: grids.iter().map(|g| GridCode::parse(g).unwrap()).collect(),
            at: Timestamp::from_millis(1),
        }
    }

    #[test]
    fn a_member_is_enrolled_once_and_serves_a_grid() {
        let id = MemberId::parse("sf-zhao-lei").unwrap();
        let first = enrolled(&["330102-001-001-001"]);
        assert_eq!(
            enrol(None, &id, first.clone()).unwrap(),
            vec![PeopleEvent::MemberEnrolled(first.clone())]
        );
        assert_eq!(
            enrol(Some(&first), &id, first.clone())
                .unwrap_err()
                .to_string(),
            "member_id: sf-zhao-lei is already enrolled"
        );
        assert_eq!(
            enrol(None, &id, enrolled(&[])).unwrap_err().to_string(),
            "grid_codes: a member serves at least one grid"
        );
    }

    #[test]
    fn kinds_parse_from_their_names_only() {
        for kind in MemberKind::ALL {
            assert_eq!(MemberKind::parse(kind.as_str()), Ok(kind));
        }
        assert!(MemberKind::parse("快递员")
            .unwrap_err()
            .to_string()
            .starts_with("kind: \"快递员\" is not a member kind (courier, "));
    }
}
