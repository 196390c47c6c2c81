//! The reports the benchmark sends: the hotline's, with a category chosen by the operator, Chinese
//! words, a grid of the sample city and an address unique to the case, so that every case is
//! routed to one department and none is merged as a duplicate of another.

use gridcase::rng::Rng;
use gridcase_config::{Owner, ReferenceData};
use gridcase_domain::GridLevel;
use gridcase_proto::common::v1::Location;
use gridcase_proto::intake::v1::{Channel, ReportCaseRequest, Reporter};

/// What an operator types in for one category: the words, with `{place}` where the problem is.
struct Complaint {
    category: &'static str,
    words: &'static str,
}

/// Categories owned by one department that a grid worker may not settle himself, so every
/// case goes point-to-point (直通) to that department.
const COMPLAINTS: &[Complaint] = &[
    Complaint {
        category: "BJ-01-07",
        words: "{place}的路灯晚上不亮，已经好几天了，行人走路看不清。",
    },
    Complaint {
        category: "BJ-01-02",
        words: "{place}门口的污水井盖破损，缺了一个角，担心有人踩空。",
    },
    Complaint {
        category: "BJ-01-05",
        words: "{place}人行道上的燃气井盖松动，车开过去哐哐响。",
    },
    Complaint {
        category: "BJ-01-06",
        words: "{place}的电力井盖被压碎了，下面的电缆露在外面。",
    },
    Complaint {
        category: "BJ-01-08",
        words: "{place}路边的消防栓一直在漏水，地面常年是湿的。",
    },
    Complaint {
        category: "BJ-02-01",
        words: "{place}路口的红绿灯坏了，一直黄灯闪烁，车辆通行很乱。",
    },
    Complaint {
        category: "BJ-02-03",
        words: "{place}的道路护栏被车撞歪了，倒向非机动车道。",
    },
    Complaint {
        category: "BJ-04-01",
        words: "{place}有一棵行道树枯死了，树枝随时可能掉下来砸到人。",
    },
    Complaint {
        category: "BJ-05-01",
        words: "{place}老房子外墙开裂，裂缝越来越大，住户很担心。",
    },
    Complaint {
        category: "SJ-01-02",
        words: "{place}空地上堆了很多渣土，一直没人清运，刮风时尘土飞扬。",
    },
    Complaint {
        category: "SJ-03-02",
        words: "{place}旁边的工地夜间施工到凌晨，噪音吵得居民睡不着。",
    },
    Complaint {
        category: "SJ-05-03",
        words: "{place}小区门口经常有车辆违停，把消防通道都堵住了。",
    },
    Complaint {
        category: "SJ-06-02",
        words: "{place}一家小吃店在卖过期食品，有顾客吃了拉肚子。",
    },
    Complaint {
        category: "SJ-06-04",
        words: "{place}单元的电梯坏了三天没人修，老人上下楼很困难。",
    },
    Complaint {
        category: "SJ-09-01",
        words: "{place}旁边的河水发臭发黑，水面上漂着死鱼。",
    },
    Complaint {
        category: "SJ-04-07",
        words: "{place}整栋楼突然停电，已经两个小时了还没来电。",
    },
    Complaint {
        category: "SJ-07-05",
        words: "{place}有一位独居老人生病了没人照顾，希望社区上门看看。",
    },
];

/// Roads the generated addresses lie on, one per grid of the sample city (repeated if the city
/// has more grids).
const ROADS: &[&str] = &[
    "学士路",
    "定安路",
    "清波街",
    "南山路",
    "河坊街",
    "延安路",
    "解放路",
    "紫阳街",
    "中河路",
    "望江路",
    "江城路",
    "候潮路",
    "秋涛路",
    "复兴街",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "胡", "朱",
];
const GIVEN_NAMES: &[&str] = &[
    "建国", "丽华", "伟", "芳", "秀英", "志强", "海燕", "军", "敏", "晓东", "桂兰", "国平",
];

/// A grid of the sample city and how an address in it is written.
struct Place {
    grid: String,
    street: String,
    community: String,
    road: &'static str,
}

/// One kind of report the generator sends, with the department it must reach.
struct ReportKind {
    complaint: &'static Complaint,
    department: String,
}

/// Builds the reports of a run from the reference data.
pub(crate) struct Reports {
    kinds: Vec<ReportKind>,
    places: Vec<Place>,
}

impl Reports {
    pub(crate) fn from_reference(reference: &ReferenceData) -> anyhow::Result<Self> {
        let mut kinds = Vec::new();
        for complaint in COMPLAINTS {
            let Some(category) = reference
                .categories()
                .find(|category| category.code.to_string() == complaint.category)
            else {
                continue;
            };
            if let (Owner::Department(department), false) = (&category.owner, category.self_handle)
            {
                kinds.push(ReportKind {
                    complaint,
                    department: department.as_str().to_owned(),
                });
            }
        }
        anyhow::ensure!(
            !kinds.is_empty(),
            "the reference data has none of the benchmark's single-department categories"
        );
        let name_of = |code: Option<gridcase_domain::GridCode>| {
            code.and_then(|code| reference.grid(&code))
                .map(|area| area.name.clone())
                .unwrap_or_default()
        };
        let places: Vec<Place> = reference
            .grids()
            .filter(|area| area.level() == GridLevel::Grid)
            .zip(ROADS.iter().cycle())
            .map(|(area, road)| {
                let community = area.code.parent();
                let street = community.as_ref().and_then(|code| code.parent());
                Place {
                    grid: area.code.to_string(),
                    street: name_of(street),
                    community: name_of(community),
                    road,
                }
            })
            .collect();
        anyhow::ensure!(!places.is_empty(), "the reference data has no grids");
        Ok(Self { kinds, places })
    }

    /// How many categories the reports are of.
    pub(super) fn categories(&self) -> usize {
        self.kinds.len()
    }

    /// How many grids the reports are in.
    pub(super) fn grids(&self) -> usize {
        self.places.len()
    }

    /// Report `index` of level `level`: the same arguments always give the same report, and no
    /// two reports of a run share a client request id or an address.
    pub(crate) fn report(&self, level: usize, index: u64) -> (ReportCaseRequest, &str) {
        let mut random = Rng::new((level as u64) << 40 | index);
        let kind = random.pick(&self.kinds);
        let place = random.pick(&self.places);
        // Unique per case: the level and index make the house and room numbers.
        let house = 1 + index % 500;
        let room = format!("{}-{}", level + 1, index / 500 + 1);
        let address = format!("{}{}{}号{}室", place.street, place.road, house, room);
        let spoken_place = format!("{}{}{}号", place.community, place.road, house);
        let reporter = (random.below(10) != 0).then(|| Reporter {
            name: format!("{}{}", random.pick(SURNAMES), random.pick(GIVEN_NAMES)),
            phone: format!(
                "1{}{:09}",
                random.pick(&["3", "5", "8", "9"]),
                random.next_u64() % 1_000_000_000
            ),
        });
        let request = ReportCaseRequest {
            client_request_id: format!("pipeline-bench-{level}-{index}"),
            channel: Channel::Hotline as i32,
            reporter,
            location: Some(Location {
                grid_code: place.grid.clone(),
                address,
                coordinates: None,
            }),
            description: kind.complaint.words.replace("{place}", &spoken_place),
            category_code: kind.complaint.category.to_owned(),
            media_urls: Vec::new(),
            reported_by_worker: String::new(),
            member_id: String::new(),
        };
        (request, &kind.department)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use gridcase_domain::{CategoryCode, GridCode};

    use super::*;

    #[test]
    fn every_report_is_for_one_department_at_its_own_address() {
        let reference = crate::sample_reference();
        let reports = Reports::from_reference(&reference).unwrap();
        assert_eq!(reports.kinds.len(), COMPLAINTS.len());
        let mut ids = HashSet::new();
        let mut addresses = HashSet::new();
        for level in 0..3 {
            for index in 0..2_000 {
                let (request, department) = reports.report(level, index);
                let category = reference
                    .category(&CategoryCode::parse(&request.category_code).unwrap())
                    .unwrap();
                assert!(!category.self_handle, "{}", request.category_code);
                assert!(
                    matches!(&category.owner, Owner::Department(d) if d.as_str() == department)
                );
                let location = request.location.unwrap();
                let grid = GridCode::parse(&location.grid_code).unwrap();
                assert_eq!(grid.level(), GridLevel::Grid);
                assert!(reference.grid(&grid).is_some());
                assert!(location.coordinates.is_none());
                assert!(!request.description.contains("{place}"));
                assert_eq!(request.channel, Channel::Hotline as i32);
                if let Some(reporter) = request.reporter {
                    assert_eq!(reporter.phone.len(), 11, "{}", reporter.phone);
                    assert!(reporter.phone.starts_with('1'));
                }
                assert!(ids.insert(request.client_request_id));
                assert!(addresses.insert(location.address));
            }
        }
    }
}
