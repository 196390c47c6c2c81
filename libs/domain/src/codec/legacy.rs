//! Payload shapes that are no longer written but are still in stores.
//!
//! They are frozen: postcard decodes by position, so changing a field here
//! would silently misread every old event of that version.

use serde::{Deserialize, Serialize};

use crate::event::{CaseEscalated, CaseReported, CaseTriaged, Route, SatisfactionRecorded};
use crate::values::{
    CaseId, CategoryCode, Channel, Contact, Description, GridCode, Location, Priority, Reporter,
    Timestamp, TrackingCode, Url, WorkerId,
};

/// `CaseReported` schema version 1, from before the reporter's name and phone were sealed
/// with their person's key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseReportedV1 {
    /// The new case.
    pub case_id: CaseId,
    /// The code the reporter can quote on the phone.
    pub tracking_code: TrackingCode,
    /// How it reached the centre.
    pub channel: Channel,
    /// Who reported it, in clear.
    pub reporter: Reporter,
    /// Where the problem is.
    pub location: Location,
    /// What is wrong, in the reporter's words.
    pub description: Description,
    /// The catalogue category, if the reporter chose one.
    pub category: Option<CategoryCode>,
    /// Photos or videos.
    pub media: Vec<Url>,
    /// When it was reported.
    pub reported_at: Timestamp,
}

impl From<CaseReportedV1> for CaseReported {
    /// Version 1 kept the reporter in clear: it stays so ([`Contact::Clear`]), and cannot be
    /// erased by destroying a key.
    fn from(v1: CaseReportedV1) -> Self {
        CaseReported {
            case_id: v1.case_id,
            tracking_code: v1.tracking_code,
            channel: v1.channel,
            reporter: Contact::clear(v1.reporter),
            location: v1.location,
            description: v1.description,
            category: v1.category,
            media: v1.media,
            reported_at: v1.reported_at,
        }
    }
}

/// `CaseTriaged` schema version 1, from before triage recorded the text model that chose
/// the category and the reason for a raised priority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseTriagedV1 {
    /// The confirmed catalogue category.
    pub category: CategoryCode,
    /// How pressing it is.
    pub priority: Priority,
    /// Who handles it.
    pub route: Route,
    /// The operator who triaged, if a person did.
    pub triaged_by: Option<WorkerId>,
}

impl From<CaseTriagedV1> for CaseTriaged {
    /// Version 1 recorded neither a model nor a reason: both are unknown.
    fn from(v1: CaseTriagedV1) -> Self {
        CaseTriaged {
            category: v1.category,
            priority: v1.priority,
            route: v1.route,
            triaged_by: v1.triaged_by,
            model: None,
            priority_reason: None,
        }
    }
}

/// `SatisfactionRecorded` schema version 1, from before the centre
/// asked separately whether the problem was actually resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SatisfactionRecordedV1 {
    /// Whether the resident was satisfied.
    pub satisfied: bool,
    /// 1 to 5.
    pub score: u8,
}

impl From<SatisfactionRecordedV1> for SatisfactionRecorded {
    /// Version 1 asked only about satisfaction, and a satisfied resident
    /// had in practice confirmed the fix, so `resolved` takes its value.
    fn from(v1: SatisfactionRecordedV1) -> Self {
        SatisfactionRecorded {
            resolved: v1.satisfied,
            satisfied: v1.satisfied,
            score: v1.score,
            comment: None,
        }
    }
}

/// `CaseEscalated` schema version 1, from before a rung recorded when it was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEscalatedV1 {
    /// The rung.
    pub level: u8,
    /// The area watching the case.
    pub to: GridCode,
}

impl From<CaseEscalatedV1> for CaseEscalated {
    /// The moment is unknown: the next rung then follows the ladder from the first breach.
    fn from(v1: CaseEscalatedV1) -> Self {
        CaseEscalated {
            level: v1.level,
            to: v1.to,
            at: None,
        }
    }
}
