//! A new report as the domain sees it, converted from the gRPC request and checked: first each
//! field on its own (`TryFrom`), then against the reference data (known grids, categories and
//! grid workers). Every error names the field as the caller wrote it.

use gridcase_config::ReferenceData;
use gridcase_domain::{
    Address, CaseId, CategoryCode, Channel, Command, Contact, Coordinates, Description, GridCode,
    Location, MemberId, PersonName, Phone, Reporter, Timestamp, TrackingCode, Url, WorkerId,
};
use gridcase_proto::common::v1 as common;
use gridcase_proto::intake::v1 as pb;

/// Most media links one report may carry.
pub const MAX_MEDIA: usize = 20;

pub use gridcase_grpc::InvalidInput;

/// A validated new report.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    /// The caller's id for the request; the case id derives from it.
    pub client_request_id: String,
    /// How it reached the centre.
    pub channel: Channel,
    /// Who reported it.
    pub reporter: Reporter,
    /// Where the problem is.
    pub location: Location,
    /// What is wrong.
    pub description: Description,
    /// The category, if the reporter chose one.
    pub category: Option<CategoryCode>,
    /// Photos or videos.
    pub media: Vec<Url>,
    /// The grid worker who reports it, for the grid-worker channel.
    pub reported_by_worker: Option<WorkerId>,
    /// The special member the QR gateway reports for, by the member code it checked.
    pub member: Option<MemberId>,
}

impl NewReport {
    /// Checks the report against the reference data: its grid, category and grid worker must
    /// be known.
    pub fn check_reference(&self, reference: &ReferenceData) -> Result<(), InvalidInput> {
        if let Some(grid) = self.location.grid() {
            if reference.grid(&grid).is_none() {
                return Err(InvalidInput::new(
                    "location.grid_code",
                    format!("{grid} is not a known grid"),
                ));
            }
        }
        if let Some(category) = &self.category {
            if reference.category(category).is_none() {
                return Err(InvalidInput::new(
                    "category_code",
                    format!("{category} is not in the category catalogue"),
                ));
            }
        }
        if let Some(worker) = &self.reported_by_worker {
            if reference.worker(worker).is_none() {
                return Err(InvalidInput::new(
                    "reported_by_worker",
                    format!("{worker} is not a known grid worker"),
                ));
            }
        }
        Ok(())
    }

    /// The domain command that records this report as case `case_id`, its reporter's name and
    /// phone as `contact` (sealed with their key).
    pub fn to_command(
        &self,
        case_id: CaseId,
        tracking_code: TrackingCode,
        reported_at: Timestamp,
        contact: Contact,
    ) -> Command {
        Command::Report {
            case_id,
            tracking_code,
            channel: self.channel,
            reporter: contact,
            location: self.location.clone(),
            description: self.description.clone(),
            category: self.category,
            media: self.media.clone(),
            reported_at,
        }
    }
}

impl TryFrom<pb::ReportCaseRequest> for NewReport {
    type Error = InvalidInput;

    fn try_from(request: pb::ReportCaseRequest) -> Result<Self, Self::Error> {
        let client_request_id = parse_request_id(&request.client_request_id)?;
        let channel = parse_channel(request.channel)?;
        let reporter = parse_reporter(request.reporter)?;
        let location = parse_location(request.location)?;
        let description =
            Description::parse(&request.description).map_err(InvalidInput::at("description"))?;
        let category = optional(&request.category_code)
            .map(|code| CategoryCode::parse(code).map_err(InvalidInput::at("category_code")))
            .transpose()?;
        let media = parse_media(&request.media_urls)?;
        let reported_by_worker = optional(&request.reported_by_worker)
            .map(|id| WorkerId::parse(id).map_err(InvalidInput::at("reported_by_worker")))
            .transpose()?;
        let member = optional(&request.member_id)
            .map(|id| MemberId::parse(id).map_err(InvalidInput::at("member_id")))
            .transpose()?;
        if member.is_some() && channel != Channel::SpecialMember {
            return Err(InvalidInput::new(
                "member_id",
                "a member's report is on the special_member channel",
            ));
        }
        if channel == Channel::GridWorker && reported_by_worker.is_none() {
            return Err(InvalidInput::new(
                "reported_by_worker",
                "required for the grid_worker channel",
            ));
        }
        Ok(Self {
            client_request_id,
            channel,
            reporter,
            location,
            description,
            category,
            media,
            reported_by_worker,
            member,
        })
    }
}

/// `None` for an empty or all-blank optional text field.
fn optional(text: &str) -> Option<&str> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then_some(trimmed)
}

fn parse_request_id(id: &str) -> Result<String, InvalidInput> {
    gridcase_grpc::request_id("client_request_id", id).map(str::to_owned)
}

pub(crate) fn parse_channel(value: i32) -> Result<Channel, InvalidInput> {
    let field = "channel";
    match pb::Channel::try_from(value) {
        Ok(pb::Channel::Unspecified) => Err(InvalidInput::new(
            field,
            "must be set (hotline, qr_code, grid_worker, special_member or web)",
        )),
        Ok(pb::Channel::Hotline) => Ok(Channel::Hotline),
        Ok(pb::Channel::QrCode) => Ok(Channel::QrCode),
        Ok(pb::Channel::GridWorker) => Ok(Channel::GridWorker),
        Ok(pb::Channel::SpecialMember) => Ok(Channel::SpecialMember),
        Ok(pb::Channel::Web) => Ok(Channel::Web),
        Err(_) => Err(InvalidInput::new(
            field,
            format!("{value} is not a known channel"),
        )),
    }
}

fn parse_reporter(reporter: Option<pb::Reporter>) -> Result<Reporter, InvalidInput> {
    let Some(reporter) = reporter else {
        return Ok(Reporter::anonymous());
    };
    let name = optional(&reporter.name)
        .map(|name| PersonName::parse(name).map_err(InvalidInput::at("reporter.name")))
        .transpose()?;
    let phone = optional(&reporter.phone)
        .map(|phone| Phone::parse(phone).map_err(InvalidInput::at("reporter.phone")))
        .transpose()?;
    Ok(Reporter { name, phone })
}

fn parse_location(location: Option<common::Location>) -> Result<Location, InvalidInput> {
    let field = "location";
    let Some(location) = location else {
        return Err(InvalidInput::new(
            field,
            "required: a grid code, an address or coordinates",
        ));
    };
    let grid = optional(&location.grid_code)
        .map(|code| GridCode::parse(code).map_err(InvalidInput::at("location.grid_code")))
        .transpose()?;
    let address = optional(&location.address)
        .map(|address| Address::parse(address).map_err(InvalidInput::at("location.address")))
        .transpose()?;
    let coordinates = location
        .coordinates
        .map(|point| {
            Coordinates::new(point.lat, point.lon).map_err(InvalidInput::at("location.coordinates"))
        })
        .transpose()?;
    Location::new(grid, address, coordinates).map_err(InvalidInput::at(field))
}

fn parse_media(urls: &[String]) -> Result<Vec<Url>, InvalidInput> {
    if urls.len() > MAX_MEDIA {
        return Err(InvalidInput::new(
            "media_urls",
            format!("{} links, at most {MAX_MEDIA}", urls.len()),
        ));
    }
    urls.iter()
        .enumerate()
        .map(|(index, url)| {
            Url::parse(url).map_err(InvalidInput::at(format!("media_urls[{index}]")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> pb::ReportCaseRequest {
        pb::ReportCaseRequest {
            client_request_id: "console-7/2026-11-22/0001".into(),
            channel: pb::Channel::Hotline as i32,
            reporter: Some(pb::Reporter {
                name: "王芳".into(),
                phone: "+86 138 1234 5678".into(),
            }),
            location: Some(common::Location {
                grid_code: "330102-001-001-001".into(),
                address: "  涌金路 12 号门口 ".into(),
                coordinates: Some(common::Coordinates {
                    lat: 30.2533,
                    lon: 120.1622,
                }),
            }),
            description: "井盖缺失，有人掉进去的危险".into(),
            category_code: "BJ-01-05".into(),
            media_urls: vec!["https://media.example.cn/a.jpg".into()],
            reported_by_worker: String::new(),
            member_id: String::new(),
        }
    }

    fn refusal(change: impl FnOnce(&mut pb::ReportCaseRequest)) -> InvalidInput {
        let mut request = request();
        change(&mut request);
        NewReport::try_from(request).unwrap_err()
    }

    #[test]
    fn a_full_request_converts_to_normalised_domain_values() {
        let report = NewReport::try_from(request()).unwrap();
        assert_eq!(report.channel, Channel::Hotline);
        assert_eq!(
            report.reporter.phone.as_ref().map(Phone::as_str),
            Some("13812345678")
        );
        assert_eq!(
            report.location.address().map(Address::as_str),
            Some("涌金路 12 号门口")
        );
        assert_eq!(
            report.location.grid().unwrap().to_string(),
            "330102-001-001-001"
        );
        assert_eq!(report.category.as_ref().unwrap().to_string(), "BJ-01-05");
        assert_eq!(report.media.len(), 1);
        assert_eq!(report.reported_by_worker, None);
    }

    #[test]
    fn empty_optional_fields_mean_absent() {
        let mut request = request();
        request.reporter = Some(pb::Reporter::default());
        request.category_code = "  ".into();
        request.media_urls.clear();
        request.location = Some(common::Location {
            address: "涌金路 12 号".into(),
            ..Default::default()
        });
        let report = NewReport::try_from(request).unwrap();
        assert!(report.reporter.is_anonymous());
        assert_eq!(report.category, None);
        assert_eq!(report.location.grid(), None);
        assert_eq!(report.location.coordinates(), None);
    }

    #[test]
    fn every_refusal_names_the_field() {
        type Change = Box<dyn FnOnce(&mut pb::ReportCaseRequest)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "client_request_id",
                Box::new(|r| r.client_request_id.clear()),
            ),
            (
                "client_request_id",
                Box::new(|r| r.client_request_id = "x".repeat(129)),
            ),
            ("channel", Box::new(|r| r.channel = 0)),
            ("channel", Box::new(|r| r.channel = 42)),
            (
                "reporter.name",
                Box::new(|r| r.reporter.as_mut().unwrap().name = "名".repeat(51)),
            ),
            (
                "reporter.phone",
                Box::new(|r| r.reporter.as_mut().unwrap().phone = "12345".into()),
            ),
            ("location", Box::new(|r| r.location = None)),
            (
                "location",
                Box::new(|r| r.location = Some(common::Location::default())),
            ),
            (
                "location.grid_code",
                Box::new(|r| r.location.as_mut().unwrap().grid_code = "33-01".into()),
            ),
            (
                "location.coordinates",
                Box::new(|r| {
                    r.location.as_mut().unwrap().coordinates = Some(common::Coordinates {
                        lat: 91.0,
                        lon: 120.0,
                    })
                }),
            ),
            ("description", Box::new(|r| r.description = " ".into())),
            (
                "category_code",
                Box::new(|r| r.category_code = "XX-1".into()),
            ),
            (
                "media_urls[1]",
                Box::new(|r| r.media_urls.push("ftp://media.example.cn/b.jpg".into())),
            ),
            (
                "media_urls",
                Box::new(|r| r.media_urls = vec!["https://a.cn/x".into(); MAX_MEDIA + 1]),
            ),
            (
                "reported_by_worker",
                Box::new(|r| r.reported_by_worker = "Bad Id".into()),
            ),
            (
                "reported_by_worker",
                Box::new(|r| r.channel = pb::Channel::GridWorker as i32),
            ),
        ];
        for (field, change) in cases {
            let error = refusal(change);
            assert_eq!(error.field, field, "{error}");
            assert!(
                error.to_string().starts_with(&format!("{field}: ")),
                "{error}"
            );
        }
    }

    #[test]
    fn an_oversize_description_says_how_long_it_is() {
        let error = refusal(|r| r.description = "很".repeat(2417));
        assert_eq!(
            error.to_string(),
            "description: 2417 characters, at most 2000"
        );
    }

    #[test]
    fn reference_data_decides_known_grids_categories_and_workers() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config");
        let reference = ReferenceData::load(&dir).unwrap();
        let mut report = NewReport::try_from(request()).unwrap();
        report.check_reference(&reference).unwrap();

        report.reported_by_worker = Some(WorkerId::parse("lin-ming").unwrap());
        report.check_reference(&reference).unwrap();

        report.reported_by_worker = Some(WorkerId::parse("nobody-here").unwrap());
        let error = report.check_reference(&reference).unwrap_err();
        assert_eq!(
            error.to_string(),
            "reported_by_worker: nobody-here is not a known grid worker"
        );

        report.reported_by_worker = None;
        report.category = Some(CategoryCode::parse("BJ-99-99").unwrap());
        assert_eq!(
            report.check_reference(&reference).unwrap_err().field,
            "category_code"
        );

        report.category = None;
        report.location =
            Location::new(Some("330102-009-001".parse().unwrap()), None, None).unwrap();
        assert_eq!(
            report.check_reference(&reference).unwrap_err().to_string(),
            "location.grid_code: 330102-009-001 is not a known grid"
        );
    }
}
