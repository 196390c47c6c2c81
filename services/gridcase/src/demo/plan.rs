//! The day's reports: who reports what, where and when, in the words people use.

use std::collections::HashSet;
use std::time::Duration;

use gridcase::rng::Rng;
use gridcase_config::{GridArea, ReferenceData};
use gridcase_domain::people::MemberKind;
use gridcase_domain::{GridCode, GridLevel};
use gridcase_triage::Classifier;

use super::words::{
    CATEGORY_WEIGHTS, HONORIFICS, HOTLINE_ASKS, HOTLINE_OPENERS, HOURLY, OUT_OF_SCOPE_CALLS,
    PATROL_CLOSERS, PATROL_OPENERS, PHRASES, SPOTS, SURNAMES, VAGUE_CALLS,
};

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
    /// The special grid member reporting it from their own app, on the special-member channel.
    pub(super) member: Option<String>,
    /// Name and phone; `None` for an anonymous call, a grid worker or a member.
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

fn phrases_of(code: &str) -> Option<&'static [&'static str]> {
    PHRASES
        .iter()
        .find(|(category, _)| *category == code)
        .map(|(_, phrases)| *phrases)
}

/// The day's reports in arrival order, spread over `window` with the hotline's daily rhythm.
pub(super) fn plan_day(
    reference: &ReferenceData,
    classifier: &Classifier,
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
        // Every third ordinary call from a place a special member serves is theirs instead:
        // the courier, rider or building head who saw it reports it from their own app.
        let member = (kind == Kind::Ordinary && !by_worker && index.is_multiple_of(3))
            .then(|| member_serving(reference, &place.code, index / 3))
            .flatten();
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
                if let Some((_, opener)) = &member {
                    format!("{opener}{said}{phrase}，{}", rng.pick(MEMBER_CLOSERS))
                } else if by_worker {
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
        let reporter = (!by_worker && member.is_none() && !rng.chance(0.15)).then(|| {
            // One caller in five is one of the neighbourhood's regulars, who call about
            // everything they see and collect points for it.
            if rng.chance(0.2) {
                let (name, phone) = *rng.pick(REGULAR_CALLERS);
                (name.to_owned(), phone.to_owned())
            } else {
                resident(&mut rng)
            }
        });
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
            member: member.map(|(id, _)| id),
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
            member: None,
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
    // Triage's model routes what it understands and leaves what it is unsure of to the
    // operator; a report it would send to the wrong category names its category instead, as
    // a caller who knows the centre's categories would.
    for report in &mut reports {
        if matches!(report.kind, Kind::Ordinary | Kind::Repeat) && !report.explicit_category {
            let classified = classifier
                .classify(reference, None, &report.description)
                .category();
            if classified.is_some_and(|code| code.to_string() != report.category) {
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

/// Residents who call the hotline often, by name and phone: their points add up over the day.
pub(super) const REGULAR_CALLERS: &[(&str, &str)] = &[
    ("李阿姨", "13757120001"),
    ("周师傅", "13905710002"),
    ("陈老伯", "15868100003"),
    ("吴女士", "18969010004"),
];

/// How a member's report ends.
const MEMBER_CLOSERS: &[&str] = &[
    "麻烦尽快派人来看看",
    "拍了照片，请社区转给管的部门",
    "我每天都从这里过，修好了我再看看",
    "电动车经过很危险，请处理一下",
];

/// One of the special members of the reference data serving `place` (the `turn`th, round
/// the list), with how they come to see it in their own words.
fn member_serving(
    reference: &ReferenceData,
    place: &GridCode,
    turn: usize,
) -> Option<(String, String)> {
    let serving: Vec<_> = reference
        .members()
        .filter(|m| m.grids.iter().any(|grid| place.is_within(grid)))
        .collect();
    let member = serving.get(turn % serving.len().max(1))?;
    let opener = match member.kind {
        MemberKind::Courier => "送件路过",
        MemberKind::DeliveryRider => "送餐经过",
        MemberKind::RideHailingDriver => "拉客经过",
        MemberKind::BuildingHead => "楼栋长巡楼看到",
        MemberKind::Volunteer | MemberKind::PartyMember => "志愿巡查时发现",
    };
    Some((member.id.to_string(), opener.to_owned()))
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

    fn sample_classifier(reference: &ReferenceData) -> Classifier {
        Classifier::from_corpus(
            &gridcase::system::sample_config_dir(),
            reference,
            gridcase_triage::DEFAULT_CONFIDENCE,
        )
        .unwrap()
        .expect("the sample city has a corpus")
    }

    #[test]
    fn the_model_routes_most_phrases_as_meant_and_none_elsewhere() {
        let reference = crate::sample_reference();
        let classifier = sample_classifier(&reference);
        let (mut right, mut total) = (0, 0);
        for (code, phrases) in PHRASES {
            for phrase in *phrases {
                total += 1;
                match classifier.classify(&reference, None, phrase).category() {
                    Some(classified) if classified.to_string() == *code => right += 1,
                    Some(classified) => {
                        // The day names the category of such a report; count it as not routed.
                        eprintln!("{phrase}: {code} read as {classified}");
                    }
                    None => {}
                }
            }
        }
        assert!(
            right * 10 >= total * 6,
            "only {right} of {total} phrases are routed as meant"
        );
    }

    #[test]
    fn a_planned_day_is_routed_as_meant_or_left_to_operators() {
        let reference = crate::sample_reference();
        let classifier = sample_classifier(&reference);
        for seed in 0..20 {
            let plan = plan_day(
                &reference,
                &classifier,
                300,
                seed,
                1,
                Duration::from_secs(24),
            );
            assert_eq!(plan.len(), 300);
            assert!(plan.windows(2).all(|pair| pair[0].at <= pair[1].at));
            for report in &plan {
                let classified = classifier
                    .classify(&reference, None, &report.description)
                    .category();
                match report.kind {
                    Kind::Ordinary | Kind::Repeat if !report.explicit_category => {
                        if let Some(classified) = classified {
                            assert_eq!(
                                classified.to_string(),
                                report.category,
                                "{}",
                                report.description
                            );
                        }
                    }
                    Kind::Ordinary | Kind::Repeat => {}
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
            assert!(plan
                .iter()
                .any(|r| r.kind == Kind::Ordinary && !r.explicit_category));
        }
    }

    #[test]
    fn the_same_seed_plans_the_same_day() {
        let reference = crate::sample_reference();
        let classifier = sample_classifier(&reference);
        let day = |seed| {
            plan_day(&reference, &classifier, 50, seed, 1, Duration::from_secs(4))
                .into_iter()
                .map(|r| (r.at, r.description, r.grid))
                .collect::<Vec<_>>()
        };
        assert_eq!(day(7), day(7));
        assert_ne!(day(7), day(8));
    }
}
