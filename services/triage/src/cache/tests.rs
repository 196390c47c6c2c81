//! The case cache against a fold from scratch: random logs folded in batches, reopened and
//! rebuilt; closed cases leaving memory and coming back from disk; guesses across a restart.

use std::collections::BTreeMap;

use gridcase_domain::event::{CaseMerged, CaseReported, CaseTriaged};
use gridcase_domain::{
    decide, Assignee, Channel, Command, Contact, Coordinates, Danger, DepartmentCode, Description,
    GridLevel, Note, Priority, Route, Timestamp, TrackingCode,
};
use gridcase_testkit::histories::{self, Dice, HOUR_MS};

use super::*;

fn reference() -> Arc<ReferenceData> {
    Arc::new(ReferenceData::load(&gridcase_testkit::sample_config_dir()).unwrap())
}

fn classifier() -> Arc<ClassifierSlot> {
    Arc::new(ClassifierSlot::new(Classifier::keywords()))
}

/// A cache in the model `config` describes.
fn open(config: &ReadModelConfig) -> CaseCache {
    CaseCache::open(config, reference(), classifier()).unwrap()
}

/// A cache in a temporary model.
fn cache() -> CaseCache {
    open(&ReadModelConfig::new(None))
}

fn in_dir(dir: &std::path::Path) -> ReadModelConfig {
    ReadModelConfig::new(Some(dir.to_owned()))
}

fn category(code: &str) -> CategoryCode {
    CategoryCode::parse(code).unwrap()
}

fn note(text: &str) -> Note {
    Note::parse(text).unwrap()
}

/// A place in the sample city, `metres_north` of 涌金苑, in micro-grid `micro_grid`.
fn location(micro_grid: &str, metres_north: f64) -> Location {
    Location::new(
        Some(GridCode::parse(micro_grid).unwrap()),
        None,
        Some(Coordinates::new(30.2533 + metres_north / 111_195.0, 120.1622).unwrap()),
    )
    .unwrap()
}

fn reported(id: u128, category_code: Option<&str>, description: &str) -> Event {
    Event::from(CaseReported {
        case_id: CaseId::from_u128(id),
        tracking_code: TrackingCode::from_u64(1),
        channel: Channel::Hotline,
        reporter: Contact::Anonymous,
        location: location("330102-001-001-001-01", 0.0),
        description: Description::parse(description).unwrap(),
        category: category_code.map(category),
        media: Vec::new(),
        reported_at: Timestamp::from_millis(1_000),
    })
}

/// `event` of `case` as the log records it at `position`.
fn record(case: CaseId, position: u64, event: &Event) -> RecordedEvent {
    histories::record(case, 0, position, event, 0)
}

/// Folds `event` of `case` as the log's next event.
fn fold(cache: &CaseCache, case: CaseId, event: &Event) {
    cache
        .fold(0, &[record(case, cache.next_position(), event)])
        .unwrap();
}

/// Every report time.
const ALL: std::ops::RangeInclusive<i64> = i64::MIN..=i64::MAX;

/// The ids of the open cases `cache` gives a report of `category_code` at `location`.
fn near(cache: &CaseCache, category_code: &CategoryCode, location: &Location) -> Vec<CaseId> {
    let mut ids = cache.with_open_cases_near(Some(category_code), Some(location), ALL, |cases| {
        cases.map(|case| case.case_id).collect::<Vec<_>>()
    });
    ids.sort();
    ids
}

fn triaged_as(code: &str) -> Event {
    Event::from(CaseTriaged {
        category: category(code),
        priority: Priority::Normal,
        route: Route::Department {
            department: DepartmentCode::parse("city_lighting").unwrap(),
        },
        triaged_by: None,
        model: None,
        priority_reason: None,
    })
}

#[test]
fn the_open_cases_near_a_report_follow_category_and_status() {
    let cache = cache();
    let case = CaseId::from_u128(1);
    let here = location("330102-001-001-001-01", 30.0);
    let elsewhere = location("330102-001-001-001-02", 2_000.0);
    fold(&cache, case, &reported(1, Some("BJ-01-07"), "路灯不亮"));
    assert_eq!(near(&cache, &category("BJ-01-07"), &here), vec![case]);
    assert!(near(&cache, &category("BJ-01-07"), &elsewhere).is_empty());
    assert!(near(&cache, &category("SJ-01-01"), &here).is_empty());
    // Triage corrects the category: the case moves with it.
    fold(&cache, case, &triaged_as("SJ-01-01"));
    assert!(near(&cache, &category("BJ-01-07"), &here).is_empty());
    assert_eq!(near(&cache, &category("SJ-01-01"), &here), vec![case]);
    // Without a category or a place there is nothing to look at.
    assert!(cache.with_open_cases_near(None, Some(&here), ALL, |cases| cases.next().is_none()));
    assert!(
        cache.with_open_cases_near(Some(&category("SJ-01-01")), None, ALL, |cases| cases
            .next()
            .is_none())
    );
    // Merged into another: no longer open, gone from memory, kept on disk.
    let merged = Event::from(CaseMerged {
        into: CaseId::from_u128(2),
    });
    fold(&cache, case, &merged);
    assert!(near(&cache, &category("SJ-01-01"), &here).is_empty());
    assert!(!cache.in_memory(case));
    let stored = cache.get(case).unwrap().unwrap();
    assert_eq!(stored.state.status, Some(CaseStatus::Merged));
    assert_eq!(stored.description, "路灯不亮");
}

#[test]
fn a_closed_case_leaves_memory_and_its_reopen_finds_it_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config = in_dir(dir.path());
    let case = CaseId::from_u128(7);
    let here = location("330102-001-001-001-01", 0.0);
    let department = || Assignee::Department(DepartmentCode::parse("urban_mgmt").unwrap());
    let mut state = CaseState::default();
    let mut events = Vec::new();
    for command in [
        Command::Report {
            case_id: case,
            tracking_code: TrackingCode::from_u64(7),
            channel: Channel::Hotline,
            reporter: Contact::Anonymous,
            location: here.clone(),
            description: Description::parse("路灯不亮").unwrap(),
            category: None,
            media: Vec::new(),
            reported_at: Timestamp::from_millis(1_000),
        },
        Command::Triage {
            category: category("BJ-01-07"),
            priority: Priority::Normal,
            route: Route::Department {
                department: DepartmentCode::parse("urban_mgmt").unwrap(),
            },
            triaged_by: None,
            model: None,
            priority_reason: None,
        },
        Command::Dispatch {
            assignee: department(),
            participants: Vec::new(),
            accept_deadline: Some(Timestamp::from_millis(2 * HOUR_MS)),
            resolve_deadline: Some(Timestamp::from_millis(20 * HOUR_MS)),
            report_in: None,
        },
        Command::Accept { by: department() },
        Command::Resolve {
            by: department(),
            note: note("已修好"),
            evidence: Vec::new(),
        },
        Command::Verify {
            by: gridcase_domain::WorkerId::parse("wang-li").unwrap(),
            note: None,
        },
        Command::Close { by: None },
    ] {
        for event in decide(&state, command).unwrap() {
            state = apply(std::mem::take(&mut state), &event);
            events.push(event);
        }
    }
    {
        let cache = open(&config);
        for event in &events {
            fold(&cache, case, event);
        }
        assert!(!cache.in_memory(case), "closed: not in memory");
        assert_eq!(cache.open_cases(), 0);
        assert!(near(&cache, &category("BJ-01-07"), &here).is_empty());
        assert_eq!(cache.get(case).unwrap().unwrap().state, state);
    }
    // A restart reads no closed case; the reopen finds it on disk.
    let cache = open(&config);
    assert_eq!(cache.rebuilt(), None);
    assert_eq!(cache.open_cases(), 0);
    let reopen = decide(
        &state,
        Command::Reopen {
            reason: note("又坏了"),
        },
    )
    .unwrap();
    for event in &reopen {
        state = apply(std::mem::take(&mut state), event);
        fold(&cache, case, event);
    }
    assert!(cache.in_memory(case));
    let cached = cache.get(case).unwrap().unwrap();
    assert_eq!(cached.state, state);
    assert_eq!(cached.state.reopen_count, 1);
    assert_eq!(cached.description, "路灯不亮");
    assert_eq!(cached.category, Some(category("BJ-01-07")));
    assert_eq!(near(&cache, &category("BJ-01-07"), &here), vec![case]);
    let waiting = cache.awaiting_triage(None);
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].state, state);
}

#[test]
fn guesses_are_made_once_live_and_kept_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = in_dir(dir.path());
    let (early, late) = (CaseId::from_u128(1), CaseId::from_u128(2));
    let here = location("330102-001-001-001-01", 0.0);
    {
        let cache = open(&config);
        fold(&cache, early, &reported(1, None, "河坊街路灯不亮好几天了"));
        // Before going live a report is not guessed.
        assert_eq!(cache.get(early).unwrap().unwrap().category, None);
        cache.go_live().unwrap();
        let guessed = cache.get(early).unwrap().unwrap().category;
        assert!(guessed.is_some(), "guessed on going live");
        fold(&cache, late, &reported(2, None, "小区门口路灯坏了"));
        assert_eq!(cache.get(late).unwrap().unwrap().category, guessed);
    }
    // Resumed, not live yet: the guesses are read back with the cases.
    let cache = open(&config);
    assert!(!cache.is_live());
    let guessed = cache.get(early).unwrap().unwrap().category.unwrap();
    assert_eq!(near(&cache, &guessed, &here), vec![early, late]);
    // Rejected before triage: no guess is kept.
    let rejected = Event::from(gridcase_domain::event::CaseRejected {
        reason: note("重复"),
    });
    fold(&cache, late, &rejected);
    assert_eq!(cache.get(late).unwrap().unwrap().category, None);
    assert_eq!(near(&cache, &guessed, &here), vec![early]);
}

/// Residents' words the keyword classifier files under several categories, or none.
const WORDS: &[&str] = &[
    "路灯不亮",
    "小区门口路灯坏了",
    "楼下垃圾满了没人管",
    "楼下餐馆油烟很大，窗户都不敢开",
    "井盖缺失，有人掉进去的危险",
    "小区里那个转腰的健身器材轴承坏了，转起来咯吱咯吱响",
    "红绿灯坏了",
];

/// The commands of case `n`'s life, as far as `dice` lets it get.
fn life(dice: &mut Dice, reference: &ReferenceData, n: u64) -> Vec<Command> {
    let grids: Vec<GridCode> = reference
        .grids()
        .filter(|g| g.code.level() == GridLevel::MicroGrid)
        .map(|g| g.code)
        .step_by(3)
        .take(6)
        .collect();
    let categories: Vec<_> = reference
        .categories()
        .filter_map(|c| Some((c.code, reference.default_route(&c.code)?)))
        .take(6)
        .collect();
    let (category, route) = categories[dice.below(categories.len())].clone();
    let case = CaseId::from_u128(u128::from(n) + 1);
    let coordinates = dice
        .chance(50)
        .then(|| Coordinates::new(30.2533 + dice.below(40) as f64 * 0.0002, 120.1622).unwrap());
    let mut commands = vec![Command::Report {
        case_id: case,
        tracking_code: TrackingCode::from_u64(n + 1),
        channel: Channel::Hotline,
        reporter: Contact::Anonymous,
        location: Location::new(Some(grids[dice.below(grids.len())]), None, coordinates).unwrap(),
        description: Description::parse(WORDS[dice.below(WORDS.len())]).unwrap(),
        category: dice.chance(20).then_some(category),
        media: Vec::new(),
        reported_at: Timestamp::from_millis(i64::try_from(n).unwrap() * 60_000),
    }];
    let (assignee, participants) = (route.assignee(), route.participants().to_vec());
    let triage = Command::Triage {
        category,
        priority: Priority::Normal,
        route,
        triaged_by: None,
        model: None,
        priority_reason: None,
    };
    let rest = match dice.below(10) {
        0 | 1 => vec![],
        2 => vec![Command::FlagDanger {
            danger: Danger::Fire,
            reason: note("火情：冒黑烟"),
            triage_by: Timestamp::from_millis(i64::try_from(n).unwrap() * 60_000 + 600_000),
        }],
        3 => vec![Command::Reject {
            reason: note("不属于受理范围"),
        }],
        4 if n > 0 => vec![Command::Merge {
            into: CaseId::from_u128(u128::from(dice.below(n as usize) as u64) + 1),
        }],
        _ => vec![
            triage.clone(),
            Command::Dispatch {
                assignee: assignee.clone(),
                participants,
                accept_deadline: Some(Timestamp::from_millis(100 * HOUR_MS)),
                resolve_deadline: Some(Timestamp::from_millis(200 * HOUR_MS)),
                report_in: None,
            },
            if dice.chance(20) {
                Command::Return {
                    by: assignee.clone(),
                    reason: note("不属于我们"),
                }
            } else {
                Command::Accept {
                    by: assignee.clone(),
                }
            },
            Command::Resolve {
                by: assignee,
                note: note("已处理"),
                evidence: vec![],
            },
            Command::Verify {
                by: gridcase_domain::WorkerId::parse("wang-li").unwrap(),
                note: None,
            },
            Command::Close { by: None },
            Command::Reopen {
                reason: note("又坏了"),
            },
            triage,
        ],
    };
    let steps = dice.below(rest.len() + 1);
    commands.extend(rest.into_iter().take(steps));
    commands
}

/// `cases` random case histories interleaved into one log.
fn random_log(seed: u64, cases: u64, reference: &ReferenceData) -> Vec<RecordedEvent> {
    let mut dice = Dice(seed);
    let mut lives: Vec<(CaseId, CaseState, std::vec::IntoIter<Command>)> = (0..cases)
        .map(|n| {
            let case = CaseId::from_u128(u128::from(n) + 1);
            (
                case,
                CaseState::default(),
                life(&mut dice, reference, n).into_iter(),
            )
        })
        .collect();
    let mut log = Vec::new();
    while !lives.is_empty() {
        // Earlier cases first, mostly, as a log fills.
        let at = dice.below(lives.len().min(8));
        let (case, state, commands) = &mut lives[at];
        let Some(command) = commands.next() else {
            lives.remove(at);
            continue;
        };
        let Ok(events) = decide(state, command) else {
            lives.remove(at);
            continue;
        };
        for event in events {
            *state = apply(std::mem::take(state), &event);
            log.push(histories::record(
                *case,
                state.version,
                log.len() as u64,
                &event,
                0,
            ));
        }
    }
    log
}

/// Everything the cache answers: the records on disk, the open cases in memory, the open
/// cases near every open case's place for each category, and the manual queue (its cases
/// and what the API lists from them) for the whole city and each street and grid.
fn answers(cache: &Arc<CaseCache>, reference: &Arc<ReferenceData>) -> Vec<String> {
    let stored = cache.stored().unwrap();
    let mut out: Vec<String> = stored.iter().map(|entry| format!("{entry:?}")).collect();
    let open: BTreeMap<CaseId, CachedCase> = stored
        .into_iter()
        .filter(|(_, cached)| cached.state.is_open())
        .collect();
    out.push(format!("open {:?}", open.keys().collect::<Vec<_>>()));
    for case in open.keys() {
        assert!(cache.in_memory(*case), "open case {case} in memory");
    }
    assert_eq!(cache.open_cases(), open.len(), "only open cases in memory");
    let categories: BTreeSet<CategoryCode> =
        open.values().filter_map(|cached| cached.category).collect();
    for cached in open.values() {
        let Some(location) = &cached.state.location else {
            continue;
        };
        for category in &categories {
            out.push(format!("near {:?}", near(cache, category, location)));
        }
    }
    let api = crate::service::TriageApi::new(
        gridcase_eventstore::MemoryStore::new(),
        Arc::clone(reference),
        classifier(),
        Arc::clone(cache),
    );
    let mut areas: Vec<Option<GridCode>> = vec![None];
    areas.extend(
        reference
            .grids()
            .filter(|g| g.code.level() != GridLevel::District)
            .map(|g| Some(g.code)),
    );
    for area in areas {
        let mut waiting: Vec<String> = cache
            .awaiting_triage(area.as_ref())
            .iter()
            .map(|cached| format!("{cached:?}"))
            .collect();
        waiting.sort();
        let expected: Vec<String> = open
            .values()
            .filter(|cached| cached.awaits_triage())
            .filter(|cached| {
                area.is_none_or(|area| cached.grid().is_some_and(|g| g.is_within(&area)))
            })
            .map(|cached| format!("{cached:?}"))
            .collect();
        let mut expected = expected;
        expected.sort();
        assert_eq!(waiting, expected, "awaiting triage in {area:?}");
        out.push(format!("awaiting {area:?} {waiting:?}"));
        let queue: Vec<(String, String)> = api
            .manual_queue(area, 1_000)
            .into_iter()
            .map(|item| (item.case_id, item.reason))
            .collect();
        out.push(format!("queue {area:?} {queue:?}"));
    }
    out
}

#[test]
fn a_model_resumed_from_its_checkpoint_or_rebuilt_answers_as_one_folded_from_scratch() {
    let reference = reference();
    for seed in [0x9e37_79b9_7f4a_7c15, 0xdead_beef_cafe_f00d, 42] {
        let log = random_log(seed, 300, &reference);
        let scratch = Arc::new(cache());
        scratch.fold(0, &log).unwrap();
        scratch.go_live().unwrap();
        let expected = answers(&scratch, &reference);
        assert!(scratch.open_cases() > 20, "{}", scratch.open_cases());
        assert!(scratch.awaiting_triage(None).len() > 10);
        let streets_waiting = reference
            .grids()
            .filter(|g| g.code.level() == GridLevel::Street)
            .filter(|g| !scratch.awaiting_triage(Some(&g.code)).is_empty())
            .count();
        assert!(streets_waiting > 1, "{streets_waiting}");
        assert!(scratch.stored().unwrap().len() > scratch.open_cases());

        // Folded in random batches, closed and opened again on the same directory at
        // random points, going live at random points.
        let dir = tempfile::tempdir().unwrap();
        let config = in_dir(dir.path());
        let mut dice = Dice(seed ^ 0x5555);
        let mut cache = open(&config);
        assert_eq!(cache.rebuilt(), Some("new"));
        let mut at = 0;
        let mut restarts = 0;
        while at < log.len() {
            let end = (at + 1 + dice.below(40)).min(log.len());
            cache.fold(0, &log[at..end]).unwrap();
            at = end;
            if dice.chance(10) {
                cache.go_live().unwrap();
            }
            if dice.chance(15) {
                drop(cache);
                cache = open(&config);
                restarts += 1;
                assert_eq!(cache.rebuilt(), None);
                assert_eq!(cache.next_position(), at as u64, "resumed, not from 0");
            }
        }
        assert!(restarts > 3);
        cache.go_live().unwrap();
        let cache = Arc::new(cache);
        assert_same(&answers(&cache, &reference), &expected, seed);
        drop(cache);

        // Asked to rebuild: emptied, folded again from position 0.
        let rebuilt = open(&ReadModelConfig {
            rebuild: true,
            ..config
        });
        assert_eq!(rebuilt.rebuilt(), Some("asked to rebuild"));
        assert_eq!((rebuilt.next_position(), rebuilt.open_cases()), (0, 0));
        rebuilt.fold(0, &log).unwrap();
        rebuilt.go_live().unwrap();
        assert_same(&answers(&Arc::new(rebuilt), &reference), &expected, seed);
    }
}

/// Fails naming the first answer that differs.
fn assert_same(answers: &[String], expected: &[String], seed: u64) {
    for (answer, expected) in answers.iter().zip(expected) {
        assert_eq!(answer, expected, "seed {seed:x}");
    }
    assert_eq!(answers.len(), expected.len(), "seed {seed:x}");
}
