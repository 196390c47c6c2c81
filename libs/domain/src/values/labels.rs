//! Small closed vocabularies with stable snake_case names.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::validation::ValidationError;

/// A danger to people recognised in a report, whatever its category: what makes a case an
/// emergency (or, for a hazard such as a blocked fire lane, urgent).
///
/// Variant order is part of the postcard format; append new variants only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Danger {
    /// Fire or smoke.
    Fire,
    /// A smell of gas or a gas leak.
    Gas,
    /// Something collapsed or is collapsing: a road, a wall, a building.
    Collapse,
    /// A hole someone could fall into: an open manhole, a pit in the road.
    OpenHole,
    /// People trapped, e.g. in a lift.
    Trapped,
    /// Deep water where people are: flooding, someone in the water.
    DeepWater,
    /// Live wires down or exposed near people.
    LiveWire,
    /// Someone, often old and alone, not seen for days.
    NotSeen,
    /// Someone hurt, collapsed, pinned down, or threatening to take their own life.
    Injured,
    /// A blocked fire lane or fire exit: urgent rather than an emergency.
    FireLane,
}

impl Danger {
    /// Every danger, in declaration order.
    pub const ALL: [Danger; 10] = [
        Danger::Fire,
        Danger::Gas,
        Danger::Collapse,
        Danger::OpenHole,
        Danger::Trapped,
        Danger::DeepWater,
        Danger::LiveWire,
        Danger::NotSeen,
        Danger::Injured,
        Danger::FireLane,
    ];

    /// Stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Danger::Fire => "fire",
            Danger::Gas => "gas",
            Danger::Collapse => "collapse",
            Danger::OpenHole => "open_hole",
            Danger::Trapped => "trapped",
            Danger::DeepWater => "deep_water",
            Danger::LiveWire => "live_wire",
            Danger::NotSeen => "not_seen",
            Danger::Injured => "injured",
            Danger::FireLane => "fire_lane",
        }
    }

    /// What operators call it.
    pub const fn label_zh(self) -> &'static str {
        match self {
            Danger::Fire => "火情",
            Danger::Gas => "燃气泄漏",
            Danger::Collapse => "坍塌",
            Danger::OpenHole => "坑洞",
            Danger::Trapped => "人员被困",
            Danger::DeepWater => "深水",
            Danger::LiveWire => "电线带电",
            Danger::NotSeen => "多日未见",
            Danger::Injured => "人身危险",
            Danger::FireLane => "消防通道堵塞",
        }
    }

    /// The priority it calls for: urgent for a blocked fire lane, emergency otherwise.
    pub const fn priority(self) -> Priority {
        match self {
            Danger::FireLane => Priority::Urgent,
            _ => Priority::Emergency,
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|danger| danger.as_str() == s)
            .ok_or_else(|| ValidationError::new("danger", format!("{s:?} is not a known danger")))
    }
}

impl fmt::Display for Danger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How pressing a case is. Ordered by urgency: `Emergency` is the greatest,
/// so `max()` picks the most pressing.
///
/// Variant order is part of the postcard format; append new variants only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Danger to life or property: act now.
    Emergency,
    /// Needs attention within hours.
    Urgent,
    /// The usual case.
    Normal,
    /// Can wait for routine work.
    Low,
}

impl Priority {
    /// Every priority, most pressing first.
    pub const ALL: [Priority; 4] = [
        Priority::Emergency,
        Priority::Urgent,
        Priority::Normal,
        Priority::Low,
    ];

    /// Stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "emergency",
            Priority::Urgent => "urgent",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|priority| priority.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "priority",
                    format!("{s:?} is not one of emergency, urgent, normal, low"),
                )
            })
    }

    const fn urgency(self) -> u8 {
        match self {
            Priority::Emergency => 3,
            Priority::Urgent => 2,
            Priority::Normal => 1,
            Priority::Low => 0,
        }
    }
}

impl Ord for Priority {
    fn cmp(&self, other: &Self) -> Ordering {
        self.urgency().cmp(&other.urgency())
    }
}

impl PartialOrd for Priority {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// How a case reached the centre.
///
/// Variant order is part of the postcard format; append new variants only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The 12345-style city hotline.
    Hotline,
    /// A resident scanned a QR code posted in the neighbourhood.
    QrCode,
    /// A grid worker found it on patrol.
    GridWorker,
    /// A special member (e.g. a volunteer or deputy) reported it.
    SpecialMember,
    /// The web portal or app.
    Web,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 5] = [
        Channel::Hotline,
        Channel::QrCode,
        Channel::GridWorker,
        Channel::SpecialMember,
        Channel::Web,
    ];

    /// Stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Hotline => "hotline",
            Channel::QrCode => "qr_code",
            Channel::GridWorker => "grid_worker",
            Channel::SpecialMember => "special_member",
            Channel::Web => "web",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|channel| channel.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "channel",
                    format!(
                        "{s:?} is not one of hotline, qr_code, grid_worker, special_member, web"
                    ),
                )
            })
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emergency_is_the_most_pressing() {
        assert!(Priority::Emergency > Priority::Urgent);
        assert!(Priority::Urgent > Priority::Normal);
        assert!(Priority::Normal > Priority::Low);
        assert_eq!(Priority::ALL.into_iter().max(), Some(Priority::Emergency));
    }

    #[test]
    fn names_round_trip() {
        for priority in Priority::ALL {
            assert_eq!(Priority::parse(&priority.to_string()), Ok(priority));
        }
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(&channel.to_string()), Ok(channel));
        }
        assert_eq!(Channel::QrCode.as_str(), "qr_code");
        assert_eq!(Channel::SpecialMember.as_str(), "special_member");
    }

    #[test]
    fn unknown_names_are_refused() {
        assert_eq!(
            Priority::parse("high").unwrap_err().to_string(),
            "priority: \"high\" is not one of emergency, urgent, normal, low"
        );
        assert!(Channel::parse("Hotline").is_err());
    }
}
