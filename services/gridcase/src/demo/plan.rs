//! The day's reports: who reports what, where and when, in the words people use.

use std::collections::HashSet;
use std::time::Duration;

use gridcase::rng::Rng;
use gridcase_config::{GridArea, ReferenceData};
use gridcase_domain::{GridCode, GridLevel};

/// What a report is, for the actors that meet it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A problem reported for the first time.
    Ordinary,
    /// Another report of the problem of an earlier report.
    Repeat,
    /// A call too vague for the rules: an operator classifies it.
    Vague,
    /// A question outside the grid's remit: an operator rejects it.
    OutOfScope,
}

/// One report the day brings.
#[derive(Debug, Clone)]
pub(super) struct PlannedReport {
    pub(super) index: usize,
    /// When it arrives, from the start of the day.
    pub(super) at: Duration,
    pub(super) kind: Kind,
    /// The worker reporting it, for the grid-worker channel; `None` for the hotline.
    pub(super) worker: Option<String>,
    /// The category meant (empty for a question outside the remit).
    pub(super) category: String,
    /// Whether the report names the category code.
    pub(super) explicit_category: bool,
    /// Grid or micro-grid code.
    pub(super) grid: String,
    pub(super) address: String,
    pub(super) coordinates: Option<(f64, f64)>,
    pub(super) description: String,
    /// Name and phone; `None` for an anonymous call or a grid worker.
    pub(super) reporter: Option<(String, String)>,
    pub(super) media: Vec<String>,
}

/// Where a report can be placed.
#[derive(Debug, Clone)]
struct Place {
    code: GridCode,
    /// How people name it: the micro-grid's name, or the community for a grid.
    spoken: String,
    /// Street and community names.
    district_part: String,
    center: Option<(f64, f64)>,
}

/// Things a resident or a grid worker says, per category. Each holds a keyword of its
/// category (see `deploy/config/categories.toml`); the unit tests check that triage's keyword
/// rules classify every one as meant.
pub(super) const PHRASES: &[(&str, &[&str])] = &[
    (
        "BJ-01-01",
        &[
            "自来水井盖松动，车一压就哐哐响",
            "水表井盖翘起来了，走路容易绊倒",
        ],
    ),
    (
        "BJ-01-02",
        &[
            "污水井盖破了一个角，往外冒脏水",
            "下水道井盖移位了，晚上容易踩空",
        ],
    ),
    ("BJ-01-03", &["雨水井盖丢了，路上留了个大洞"]),
    ("BJ-01-04", &["雨水箅子被树叶糊住了，一下雨就排不出去"]),
    ("BJ-01-05", &["燃气井盖被车压裂了"]),
    ("BJ-01-06", &["电缆井盖缺了一块，旁边就是学生上学的路"]),
    (
        "BJ-01-07",
        &[
            "路灯不亮好几天了，晚上黑漆漆的",
            "路灯坏了一排，晚上走路看不见",
        ],
    ),
    ("BJ-01-08", &["消火栓被车撞歪了，一直在往外渗水"]),
    ("BJ-01-09", &["配电箱门开着，里面的线露在外面"]),
    ("BJ-02-01", &["路口红绿灯坏了，车子乱成一团"]),
    ("BJ-02-02", &["路名牌被风吹歪了，外地人老是找不到路"]),
    ("BJ-02-03", &["道路中间的隔离栏被撞坏了好几节"]),
    ("BJ-02-04", &["公交站的候车亭玻璃碎了一地"]),
    ("BJ-02-05", &["人行道上地砖松动，一踩就溅一脚泥水"]),
    ("BJ-03-01", &["公厕好几天没人打扫，进去都下不了脚"]),
    ("BJ-03-02", &["路边垃圾桶坏了，盖子都没了"]),
    ("BJ-03-03", &["垃圾房门锁坏了，分类亭里乱七八糟"]),
    (
        "BJ-04-01",
        &["行道树枯死了一棵，没人来修剪", "树枝挡路，电动自行车过不去"],
    ),
    ("BJ-04-02", &["绿化带里的草坪被人踩秃了"]),
    ("BJ-04-03", &["古树的树干开了一道口子，怕哪天折断"]),
    (
        "BJ-05-01",
        &[
            "老房子外墙脱落，差点砸到过路的人",
            "楼房墙体开裂，住户很担心",
        ],
    ),
    (
        "BJ-05-02",
        &[
            "楼道灯坏了一个多月，老人上下楼很不方便",
            "单元门的门禁坏了，谁都能进",
        ],
    ),
    (
        "SJ-01-01",
        &[
            "垃圾满了没人清，苍蝇到处飞",
            "暴露垃圾堆在路边，天热味道很重",
        ],
    ),
    (
        "SJ-01-02",
        &["有人偷倒建筑垃圾，倒了一大片", "装修垃圾扔在楼下好几天了"],
    ),
    ("SJ-01-03", &["路面脏得很，到处是油污"]),
    ("SJ-01-04", &["楼下空地乱堆杂物，占了一大片"]),
    ("SJ-01-05", &["电线杆上贴满了小广告"]),
    ("SJ-01-06", &["墙上被人乱写乱画，很难看"]),
    ("SJ-01-07", &["楼下饭店油烟直排，窗户都不敢开"]),
    ("SJ-01-08", &["有人在空地上烧垃圾，烟很大"]),
    ("SJ-02-01", &["楼顶新装了一块广告牌，没看到审批公示"]),
    ("SJ-02-02", &["店招被风吹得摇摇晃晃"]),
    ("SJ-02-03", &["有人在路边树上拉横幅，挡住了视线"]),
    ("SJ-03-01", &["工地扬尘很大，窗台上全是灰"]),
    ("SJ-03-02", &["工地半夜施工，吵得睡不着"]),
    ("SJ-03-03", &["有人在挖路，也没看到施工公告"]),
    ("SJ-03-04", &["工地围挡破了一大段，行人从边上走"]),
    ("SJ-04-01", &["楼道里闻到很重的煤气味"]),
    ("SJ-04-02", &["楼下电瓶车着火了，冒着浓烟"]),
    ("SJ-04-03", &["路面突然塌陷出一个坑"]),
    ("SJ-04-04", &["自来水管爆管了，路上全是水"]),
    ("SJ-04-05", &["下雨后路口积水很深，车都开不过去"]),
    ("SJ-04-06", &["大风过后树倒了，横在路中间"]),
    ("SJ-04-07", &["整栋楼突然停电了"]),
    ("SJ-05-01", &["水果摊占道经营，人都走不过去"]),
    ("SJ-05-02", &["流动摊贩推车叫卖，挤在学校门口"]),
    ("SJ-05-03", &["有人乱停车，把小区出口挡住了"]),
    ("SJ-05-04", &["共享单车摆满了路口，行人过不去"]),
    ("SJ-05-05", &["饭店把桌子摆到门外搞店外经营"]),
    ("SJ-06-01", &["新开的小作坊没有营业执照"]),
    ("SJ-06-02", &["超市在卖过期食品"]),
    ("SJ-06-03", &["停车场乱收费，也不开发票"]),
    ("SJ-06-04", &["电梯坏了好几天，老人下不了楼"]),
    ("SJ-07-01", &["楼上漏水到我家，和邻居沟通不了"]),
    (
        "SJ-07-02",
        &[
            "晚上广场舞音响太大，孩子没法写作业",
            "隔壁装修噪音从早到晚不停",
        ],
    ),
    ("SJ-07-03", &["隔壁房子被改成隔断房，住了很多人"]),
    ("SJ-07-04", &["有人从楼上拉线飞线充电"]),
    ("SJ-07-05", &["小区里有位独居老人好几天没见出门"]),
    ("SJ-08-01", &["物业不作为，小区里的问题一直没人管"]),
    ("SJ-08-02", &["顶楼住户私自搭建阳光房"]),
    ("SJ-08-03", &["有人把小区绿化挖了种菜"]),
    ("SJ-09-01", &["河水发臭，还漂着死鱼"]),
    ("SJ-09-02", &["附近厂房一到晚上就有刺鼻的异味"]),
    ("SJ-09-03", &["工厂噪音太大，机器轰鸣到深夜"]),
];

/// How often a category comes up, relative to 1.5 for the rest (everyday nuisances often,
/// emergencies rarely).
const CATEGORY_WEIGHTS: &[(&str, f64)] = &[
    ("SJ-01-01", 6.0),
    ("SJ-05-01", 5.0),
    ("SJ-05-03", 5.0),
    ("BJ-01-07", 5.0),
    ("SJ-07-02", 5.0),
    ("SJ-01-07", 4.0),
    ("SJ-03-02", 4.0),
    ("SJ-01-04", 3.0),
    ("SJ-01-05", 3.0),
    ("SJ-05-04", 3.0),
    ("SJ-05-05", 3.0),
    ("SJ-05-02", 3.0),
    ("SJ-08-01", 3.0),
    ("SJ-06-04", 3.0),
    ("SJ-07-01", 3.0),
    ("SJ-07-04", 3.0),
    ("BJ-05-02", 3.0),
    ("BJ-03-02", 2.5),
    ("SJ-03-01", 2.5),
    ("SJ-04-01", 0.6),
    ("SJ-04-02", 0.6),
    ("SJ-04-03", 0.5),
    ("SJ-04-04", 0.8),
];

const SPOTS: &[&str] = &[
    "门口",
    "北门口",
    "东侧",
    "西侧路边",
    "3号楼下",
    "5号楼旁边",
    "地下车库入口",
    "小区主干道",
    "南门对面",
    "菜场旁边",
];
const HOTLINE_OPENERS: &[&str] = &[
    "市民来电反映：",
    "来电人称，",
    "居民来电：",
    "热线来电反映，",
];
const HOTLINE_ASKS: &[&str] = &[
    "希望尽快处理。",
    "请相关部门尽快来看看。",
    "已经好几天了，一直没人管。",
    "影响居民正常生活，请尽快处理。",
    "来电人要求处理后回电。",
];
const PATROL_OPENERS: &[&str] = &["巡查发现", "日常巡查中发现", "网格巡查："];
const PATROL_CLOSERS: &[&str] = &[
    "，已拍照上报。",
    "，现场已提醒，请尽快派单。",
    "，已拍照取证。",
];
const VAGUE_CALLS: &[&str] = &[
    "那边的问题之前反映过好几次，一直没人管，麻烦派人来看看。",
    "那一块现在情况很乱，居民意见很大，请网格上门了解一下。",
    "那里的事情说不太清楚，来电人希望有人到现场看看。",
];
const OUT_OF_SCOPE_CALLS: &[&str] = &[
    "咨询公积金提取需要准备哪些材料。",
    "询问孩子小学入学报名的时间和手续。",
    "咨询医保异地就医怎么办理备案。",
    "反映网购的商品一直没发货，要求帮忙催一下商家。",
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗",
];
const HONORIFICS: &[&str] = &["先生", "女士", "阿姨", "师傅"];
/// Reports per hour of the day (the hotline's and the patrols' rhythm).
const HOURLY: [f64; 24] = [
    1.0, 0.6, 0.4, 0.3, 0.3, 0.6, 1.5, 3.5, 6.0, 7.5, 7.0, 6.0, 4.5, 4.5, 5.5, 6.0, 6.0, 5.0, 4.0,
    4.5, 4.5, 3.0, 2.0, 1.5,
];

fn phrases_of(code: &str) -> Option<&'static [&'static str]> {
    PHRASES
        .iter()
        .find(|(category, _)| *category == code)
        .map(|(_, phrases)| *phrases)
}

/// The day's reports in arrival order, spread over `window` with the hotline's daily rhythm.
pub(super) fn plan_day(
    reference: &ReferenceData,
    cases: usize,
    seed: u64,
    run: u64,
    window: Duration,
) -> Vec<PlannedReport> {
    let mut rng = Rng::new(seed);
    let places = places(reference);
    let workers: Vec<(String, &GridArea)> = reference
        .grids()
        .flat_map(|area| area.workers.iter().map(move |w| (w.id.to_string(), area)))
        .collect();
    let categories: Vec<(String, f64, bool)> = reference
        .categories()
        .map(|category| {
            let code = category.code.to_string();
            let weight = CATEGORY_WEIGHTS
                .iter()
                .find(|(weighted, _)| *weighted == code)
                .map_or(1.5, |(_, weight)| *weight);
            (code, weight, category.self_handle)
        })
        .collect();
    let share = |fraction: f64, minimum: usize| {
        ((cases as f64 * fraction).round() as usize).max(if cases >= 20 { minimum } else { 0 })
    };
    let repeats = share(0.04, 1);
    let vague = share(0.03, 1);
    let out_of_scope = share(0.02, 1);
    let ordinary = cases.saturating_sub(repeats + vague + out_of_scope).max(1);
    let (repeats, vague, out_of_scope) = if ordinary + repeats + vague + out_of_scope > cases {
        (0, 0, 0)
    } else {
        (repeats, vague, out_of_scope)
    };

    let mut times: Vec<Duration> = (0..ordinary + vague + out_of_scope)
        .map(|_| {
            let hour = rng.weighted(&HOURLY) as f64 + rng.unit();
            window.mul_f64(hour / 24.0)
        })
        .collect();
    times.sort();
    let mut kinds: Vec<Kind> = std::iter::repeat_n(Kind::Ordinary, ordinary)
        .chain(std::iter::repeat_n(Kind::Vague, vague))
        .chain(std::iter::repeat_n(Kind::OutOfScope, out_of_scope))
        .collect();
    // Shuffle the unusual calls into the day (Fisher–Yates).
    for i in (1..kinds.len()).rev() {
        let j = rng.below(i + 1);
        kinds.swap(i, j);
    }

    let mut used: HashSet<(String, String)> = HashSet::new();
    let mut reports: Vec<PlannedReport> = Vec::with_capacity(cases);
    for (at, kind) in times.into_iter().zip(kinds) {
        let index = reports.len();
        let by_worker = kind == Kind::Ordinary && rng.chance(0.4);
        let (worker, place) = if by_worker {
            let (id, area) = rng.pick(&workers);
            (Some(id.clone()), worker_place(area, &places, &mut rng))
        } else {
            (None, rng.pick(&places).clone())
        };
        let category = if kind == Kind::OutOfScope {
            String::new()
        } else {
            pick_category(&categories, by_worker, &place, &mut used, &mut rng)
        };
        let spot = *rng.pick(SPOTS);
        let said = format!("{}{spot}", place.spoken);
        let description = match kind {
            Kind::OutOfScope => rng.pick(OUT_OF_SCOPE_CALLS).to_string(),
            Kind::Vague => format!(
                "{}{said}{}",
                rng.pick(HOTLINE_OPENERS),
                rng.pick(VAGUE_CALLS)
            ),
            _ => {
                let phrase = describe(reference, &category, &mut rng);
                if by_worker {
                    format!(
                        "{}{said}{phrase}{}",
                        rng.pick(PATROL_OPENERS),
                        rng.pick(PATROL_CLOSERS)
                    )
                } else {
                    format!(
                        "{}{said}{phrase}，{}",
                        rng.pick(HOTLINE_OPENERS),
                        rng.pick(HOTLINE_ASKS)
                    )
                }
            }
        };
        let explicit_category = match kind {
            Kind::Ordinary if by_worker => rng.chance(0.85),
            Kind::Ordinary => rng.chance(0.25),
            _ => false,
        };
        let gps = by_worker || rng.chance(0.3);
        let coordinates = place.center.filter(|_| gps).map(|(lat, lon)| {
            (
                lat + (rng.unit() - 0.5) * 0.0003,
                lon + (rng.unit() - 0.5) * 0.0003,
            )
        });
        let reporter = (!by_worker && !rng.chance(0.15)).then(|| resident(&mut rng));
        let media = if by_worker {
            (0..1 + rng.below(2))
                .map(|k| format!("https://media.example.cn/patrol/{run}/{index}-{k}.jpg"))
                .collect()
        } else {
            Vec::new()
        };
        reports.push(PlannedReport {
            index,
            at,
            kind,
            worker,
            category,
            explicit_category,
            grid: place.code.to_string(),
            address: format!("{}{said}", place.district_part),
            coordinates,
            description,
            reporter,
            media,
        });
    }

    // Repeats: another resident calls about a problem reported shortly before, at the same
    // micro-grid, so triage merges it into the first report while that is still open.
    let originals: Vec<usize> = reports
        .iter()
        .filter(|r| {
            r.kind == Kind::Ordinary
                && GridCode::parse(&r.grid).is_ok_and(|g| g.level() == GridLevel::MicroGrid)
        })
        .map(|r| r.index)
        .collect();
    for _ in 0..repeats {
        if originals.is_empty() {
            break;
        }
        let original = reports[*rng.pick(&originals)].clone();
        let phrase = describe(reference, &original.category, &mut rng);
        let spoken = places
            .iter()
            .find(|place| place.code.to_string() == original.grid)
            .map_or_else(String::new, |place| place.spoken.clone());
        reports.push(PlannedReport {
            index: reports.len(),
            at: original.at + Duration::from_millis(rng.millis(250, 900)),
            kind: Kind::Repeat,
            worker: None,
            explicit_category: false,
            description: format!(
                "又有居民来电反映：{spoken}{phrase}，{}",
                rng.pick(HOTLINE_ASKS)
            ),
            reporter: Some(resident(&mut rng)),
            coordinates: None,
            media: Vec::new(),
            ..original
        });
    }
    reports.sort_by_key(|report| report.at);
    // The generator's words should classify as meant; a catalogue without phrases here may
    // not, and then the report names its category.
    for report in &mut reports {
        if matches!(report.kind, Kind::Ordinary | Kind::Repeat) && !report.explicit_category {
            let classified = gridcase_rules::classify(reference, None, &report.description).code();
            if classified.map(|code| code.to_string()) != Some(report.category.clone()) {
                report.explicit_category = true;
            }
        }
    }
    reports
}

/// Every micro-grid, and every grid as a place of its own.
fn places(reference: &ReferenceData) -> Vec<Place> {
    let name_at = |code: &GridCode, level: GridLevel| {
        code.at_level(level)
            .and_then(|ancestor| reference.grid(&ancestor))
            .map(|area| area.name.clone())
            .unwrap_or_default()
    };
    reference
        .grids()
        .filter(|area| matches!(area.level(), GridLevel::Grid | GridLevel::MicroGrid))
        .map(|area| {
            let community = name_at(&area.code, GridLevel::Community);
            let street = name_at(&area.code, GridLevel::Street);
            let center = std::iter::once(area.code)
                .chain(area.code.ancestors())
                .filter_map(|code| reference.grid(&code).and_then(|a| a.center))
                .map(|c| (c.lat(), c.lon()))
                .next();
            let spoken = if area.level() == GridLevel::MicroGrid {
                area.name.clone()
            } else {
                community.clone()
            };
            Place {
                code: area.code,
                spoken,
                district_part: format!("{street}{community}"),
                center,
            }
        })
        .collect()
}

/// Where a grid worker finds a problem: in their micro-grid, or in one of their grid's.
fn worker_place(area: &GridArea, places: &[Place], rng: &mut Rng) -> Place {
    let own: Vec<&Place> = places
        .iter()
        .filter(|place| {
            place.code == area.code
                || (area.level() == GridLevel::Grid && place.code.parent() == Some(area.code))
        })
        .collect();
    if own.is_empty() {
        places[0].clone()
    } else {
        (*rng.pick(&own)).clone()
    }
}

/// A category for a new problem at `place`, weighted by how common it is (grid workers find
/// the small matters they may settle themselves more often), preferring one not yet reported
/// in that grid today so that only the planned repeats are duplicates.
fn pick_category(
    categories: &[(String, f64, bool)],
    by_worker: bool,
    place: &Place,
    used: &mut HashSet<(String, String)>,
    rng: &mut Rng,
) -> String {
    let weights: Vec<f64> = categories
        .iter()
        .map(|(_, weight, self_handle)| {
            if by_worker && *self_handle {
                weight * 3.0
            } else {
                *weight
            }
        })
        .collect();
    let grid = place
        .code
        .at_level(GridLevel::Grid)
        .unwrap_or(place.code)
        .to_string();
    let mut code = categories[rng.weighted(&weights)].0.clone();
    for _ in 0..20 {
        if !used.contains(&(code.clone(), grid.clone())) {
            break;
        }
        code = categories[rng.weighted(&weights)].0.clone();
    }
    used.insert((code.clone(), grid));
    code
}

/// What someone says about a problem of `category`.
fn describe(reference: &ReferenceData, category: &str, rng: &mut Rng) -> String {
    if let Some(phrases) = phrases_of(category) {
        return rng.pick(phrases).to_string();
    }
    let keyword = gridcase_domain::CategoryCode::parse(category)
        .ok()
        .and_then(|code| reference.category(&code))
        .and_then(|entry| entry.keywords.first().cloned())
        .unwrap_or_default();
    format!("{keyword}的问题比较突出")
}

/// A resident calling: a name as the operator notes it, and a mobile number.
fn resident(rng: &mut Rng) -> (String, String) {
    let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(HONORIFICS));
    let second = rng.pick(&['3', '5', '7', '8', '9']);
    let rest: String = (0..9)
        .map(|_| char::from(b'0' + rng.below(10) as u8))
        .collect();
    (name, format!("1{second}{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ReferenceData {
        ReferenceData::load(&gridcase::system::sample_config_dir()).unwrap()
    }

    #[test]
    fn every_phrase_is_classified_as_its_category() {
        let reference = sample();
        for (code, phrases) in PHRASES {
            for phrase in *phrases {
                let classified = gridcase_rules::classify(&reference, None, phrase).code();
                assert_eq!(
                    classified.map(|c| c.to_string()).as_deref(),
                    Some(*code),
                    "{phrase}"
                );
            }
        }
    }

    #[test]
    fn a_planned_day_classifies_as_meant_and_leaves_the_rest_to_operators() {
        let reference = sample();
        for seed in 0..20 {
            let plan = plan_day(&reference, 300, seed, 1, Duration::from_secs(24));
            assert_eq!(plan.len(), 300);
            assert!(plan.windows(2).all(|pair| pair[0].at <= pair[1].at));
            for report in &plan {
                let classified =
                    gridcase_rules::classify(&reference, None, &report.description).code();
                match report.kind {
                    Kind::Ordinary | Kind::Repeat => {
                        assert_eq!(
                            classified.map(|c| c.to_string()),
                            Some(report.category.clone()),
                            "{}",
                            report.description
                        );
                    }
                    Kind::Vague | Kind::OutOfScope => {
                        assert_eq!(classified, None, "{}", report.description)
                    }
                }
                assert!(report.description.chars().count() <= 2000);
                assert!(report.address.chars().count() <= 200);
            }
            let kinds = |kind| plan.iter().filter(|r| r.kind == kind).count();
            assert_eq!(kinds(Kind::Repeat), 12);
            assert_eq!(kinds(Kind::Vague), 9);
            assert_eq!(kinds(Kind::OutOfScope), 6);
            assert!(plan.iter().any(|r| r.worker.is_some()));
            assert!(plan.iter().any(|r| r.explicit_category));
        }
    }

    #[test]
    fn the_same_seed_plans_the_same_day() {
        let reference = sample();
        let day = |seed| {
            plan_day(&reference, 50, seed, 1, Duration::from_secs(4))
                .into_iter()
                .map(|r| (r.at, r.description, r.grid))
                .collect::<Vec<_>>()
        };
        assert_eq!(day(7), day(7));
        assert_ne!(day(7), day(8));
    }
}
