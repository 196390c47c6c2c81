//! The shipped sample city loads and answers the lookups the stage services
//! make; broken copies of it are refused with the file, line, entry and reason.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gridcase_config::{ConfigError, HoursMode, Owner, ReferenceData, FILES};
use gridcase_domain::{
    CategoryCode, CategoryKind, DepartmentCode, GridCode, GridLevel, Priority, Route, WorkerId,
};

mod broken;

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config")
}

fn sample() -> ReferenceData {
    ReferenceData::load(&sample_dir()).unwrap_or_else(|error| panic!("{error}"))
}

fn grid(code: &str) -> GridCode {
    GridCode::parse(code).unwrap()
}

fn category(code: &str) -> CategoryCode {
    CategoryCode::parse(code).unwrap()
}

fn department(code: &str) -> DepartmentCode {
    DepartmentCode::parse(code).unwrap()
}

fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

#[test]
fn the_sample_city_has_the_promised_size() {
    let data = sample();
    let count = |level| data.grids().filter(|area| area.level() == level).count();
    assert_eq!(count(GridLevel::District), 1);
    assert!(count(GridLevel::Street) >= 2);
    assert!(count(GridLevel::Community) >= 4);
    assert!(count(GridLevel::Grid) >= 10);
    for area in data.grids().filter(|area| area.level() == GridLevel::Grid) {
        let micro_grids = data.children(&area.code).count();
        assert!(
            (2..=4).contains(&micro_grids),
            "{} has {micro_grids} micro-grids",
            area.code
        );
        assert!(
            (1..=3).contains(&area.workers.len()),
            "{} has {} workers",
            area.code,
            area.workers.len()
        );
    }
    assert!(data.departments().count() >= 8);
    assert!(data.joint_groups().count() >= 1);
    let categories: Vec<_> = data.categories().collect();
    assert!(categories.len() >= 30);
    for kind in [CategoryKind::Component, CategoryKind::Incident] {
        assert!(categories.iter().any(|category| category.kind() == kind));
    }
    assert!(categories.iter().any(|category| category.self_handle));
    assert!(categories
        .iter()
        .any(|category| matches!(category.owner, Owner::JointGroup(_))));
    assert_eq!(data.escalation_ladder().len(), 4);
}

#[test]
fn grid_lookups_walk_the_hierarchy() {
    let data = sample();
    let first_grid = grid("330102-001-001-001");
    let area = data.grid(&first_grid).unwrap();
    assert_eq!(area.name, "涌金社区第一网格");
    assert!(area.center.is_some());

    // A micro-grid without workers of its own is covered by its grid's.
    let micro = grid("330102-001-001-001-01");
    assert!(data.grid(&micro).unwrap().workers.is_empty());
    assert_eq!(data.workers_of(&micro), area.workers.as_slice());
    // So is one that is not listed at all.
    assert_eq!(
        data.workers_of(&grid("330102-001-001-001-99")),
        area.workers.as_slice()
    );
    // A micro-grid with its own worker uses them.
    let staffed = grid("330102-003-001-002-01");
    let own = &data.grid(&staffed).unwrap().workers;
    assert_eq!(own.len(), 1);
    assert_eq!(data.workers_of(&staffed), own.as_slice());
    assert_eq!(
        data.grid_of_worker(&own[0].id).map(|area| area.code),
        Some(staffed)
    );
    // Above grid level nobody patrols.
    assert!(data.workers_of(&grid("330102-001-001")).is_empty());

    let worker = &area.workers[0];
    assert_eq!(
        data.grid_of_worker(&worker.id).map(|area| area.code),
        Some(first_grid)
    );
    assert_eq!(data.worker(&worker.id), Some(worker));
    assert!(data
        .grid_of_worker(&WorkerId::parse("nobody").unwrap())
        .is_none());

    let community = data.grid(&grid("330102-001-001")).unwrap();
    assert_eq!(
        data.leader_at(&micro, GridLevel::Community),
        Some(&community.leader)
    );
    assert_eq!(data.leader_at(&micro, GridLevel::Grid), Some(&area.leader));
    assert!(data
        .leader_at(&grid("330102-001-001"), GridLevel::Grid)
        .is_none());
    assert!(data
        .leader_at(&grid("330109-001-001"), GridLevel::District)
        .is_none());
}

#[test]
fn departments_and_categories_resolve_to_routes() {
    let data = sample();
    assert!(data.department(&department("urban_mgmt")).is_some());
    assert!(data.department(&department("urban_mgnt")).is_none());
    let group = data.joint_group("illegal_building").unwrap();
    assert_eq!(group.lead, department("urban_mgmt"));
    assert!(data.joint_group("nothing").is_none());

    let noise = data.category(&category("SJ-03-02")).unwrap();
    assert_eq!(noise.name, "夜间施工噪音");
    assert_eq!(noise.major_name, "施工管理");
    assert!(noise.keywords.iter().any(|keyword| keyword == "夜间施工"));
    assert_eq!(
        data.default_route(&category("SJ-03-02")),
        Some(Route::Department {
            department: department("urban_mgmt")
        })
    );
    assert_eq!(
        data.default_route(&category("SJ-08-02")),
        Some(group.route())
    );
    assert_eq!(data.default_route(&category("SJ-99-99")), None);
}

#[test]
fn deadlines_come_per_priority_with_category_overrides() {
    let data = sample();
    let emergency = data.sla_for(Priority::Emergency, None);
    assert_eq!(
        (emergency.accept, emergency.resolve, emergency.close),
        (hours(1), hours(2), hours(24))
    );
    assert_eq!(emergency.hours, HoursMode::Natural);
    assert_eq!(emergency.warn_at, 0.5);

    // Working days last 09:00–17:30.
    let working_day = Duration::from_secs(8 * 3600 + 1800);
    assert_eq!(data.calendar().working_day_length(), working_day);
    let normal = data.sla_for(Priority::Normal, None);
    assert_eq!(normal.hours, HoursMode::Working);
    assert_eq!(normal.resolve, working_day * 7);

    // A category without an override gets the priority's deadlines.
    assert_eq!(
        data.sla_for(Priority::Normal, Some(&category("SJ-03-02"))),
        normal
    );
    // 小区违法搭建 stretches resolve and close, keeps accept.
    let building = data.sla_for(Priority::Normal, Some(&category("SJ-08-02")));
    assert_eq!(building.resolve, working_day * 30);
    assert_eq!(building.close, working_day * 40);
    assert_eq!(building.accept, normal.accept);
    // 燃气泄漏 is faster whatever priority the case has.
    let gas = data.sla_for(Priority::Urgent, Some(&category("SJ-04-01")));
    assert_eq!(gas.accept, Duration::from_secs(15 * 60));
    assert_eq!(gas.hours, HoursMode::Natural);

    let calendar = data.calendar();
    let date = |y, m, d| gridcase_config::Date::new(y, m, d).unwrap();
    assert!(data.holidays().contains(&date(2025, 10, 1)));
    assert!(!calendar.is_working_day(date(2025, 10, 1)));
    assert!(calendar.is_working_day(date(2025, 9, 28)), "调休补班");
    assert!(!calendar.is_working_day(date(2025, 9, 27)));
    assert_eq!(calendar.utc_offset_minutes(), 480);
}

#[test]
fn the_holiday_calendar_covers_2025_to_2027_consistently() {
    use gridcase_config::{Date, Weekday};
    let data = sample();
    let calendar = data.calendar();
    let date = |y, m, d| Date::new(y, m, d).unwrap();
    for year in 2025..=2027 {
        assert!(calendar.covers_year(year), "{year}");
    }
    assert!(!calendar.covers_year(2028));
    let weekend = [Weekday::Saturday, Weekday::Sunday];
    for day in calendar.make_up_workdays() {
        assert!(weekend.contains(&day.weekday()), "make-up day {day}");
        assert!(!calendar.holidays().contains(day), "{day}");
    }
    // 2027 (provisional): 春节 Friday 02-05 to Saturday 02-13, worked on Sunday 02-14.
    for day in 5..=13 {
        assert!(
            !calendar.is_working_day(date(2027, 2, day)),
            "2027-02-{day}"
        );
    }
    assert!(calendar.is_working_day(date(2027, 2, 14)));
    assert!(!calendar.is_working_day(date(2027, 1, 1)), "元旦");
    assert!(!calendar.is_working_day(date(2027, 4, 5)), "清明节");
    assert!(!calendar.is_working_day(date(2027, 5, 5)), "劳动节");
    assert!(!calendar.is_working_day(date(2027, 6, 9)), "端午节");
    assert!(!calendar.is_working_day(date(2027, 9, 15)), "中秋节");
    assert!(!calendar.is_working_day(date(2027, 10, 7)), "国庆节");
    assert!(calendar.is_working_day(date(2027, 10, 9)), "调休补班");
    assert!(calendar.is_working_day(date(2027, 10, 8)));
}

#[test]
fn a_year_missing_from_the_holiday_calendar_is_reported() {
    let data = sample();
    let calendar = data.calendar();
    // Beijing local noon on a date.
    let noon = |y, m, d| {
        let days = gridcase_config::Date::new(y, m, d).unwrap().unix_days();
        gridcase_domain::Timestamp::from_millis(days * 86_400_000 + 4 * 3_600_000)
    };
    let years = |now| {
        calendar
            .missing_holiday_years(now)
            .into_iter()
            .map(|missing| missing.year)
            .collect::<Vec<_>>()
    };
    assert_eq!(years(noon(2026, 6, 1)), []);
    assert_eq!(years(noon(2026, 12, 1)), [], "2027 is listed");
    assert_eq!(years(noon(2027, 11, 30)), []);
    assert_eq!(years(noon(2027, 12, 1)), [2028]);
    let missing = calendar.missing_holiday_years(noon(2028, 1, 2));
    assert_eq!(
        missing
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["the holiday calendar in sla.toml lists no holidays for 2028: working-hour deadlines in \
          2028 will count public holidays as working days; add the State Council's dates for \
          2028"]
    );
}

#[test]
fn escalation_climbs_and_weights_add_up() {
    let data = sample();
    let levels: Vec<_> = data
        .escalation_ladder()
        .iter()
        .map(|step| (step.level, step.grid_level))
        .collect();
    assert_eq!(
        levels,
        [
            (1, GridLevel::Grid),
            (2, GridLevel::Community),
            (3, GridLevel::Street),
            (4, GridLevel::District),
        ]
    );
    assert_eq!(data.escalation_step(2).unwrap().after_breach, hours(24));
    assert!(data.escalation_step(5).is_none());

    let weights = data.indicator_weights();
    let positive = weights.response_rate
        + weights.on_time_closure_rate
        + weights.closure_rate
        + weights.satisfaction_rate
        + weights.resolution_rate
        + weights.grid_rating_rate;
    assert!((positive - 1.0).abs() < 1e-9);
    assert!(weights.rework_rate < 0.0);
    // 网格评部门 weighs 0.10 beside the residents' satisfaction (0.15).
    assert_eq!(
        (weights.satisfaction_rate, weights.grid_rating_rate),
        (0.15, 0.10)
    );
}

#[test]
fn a_city_that_does_not_rate_departments_from_the_grid_leaves_the_weight_out() {
    let dir = tempfile::tempdir().unwrap();
    for name in FILES {
        std::fs::copy(sample_dir().join(name), dir.path().join(name)).unwrap();
    }
    let path = dir.path().join("indicators.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let without = text.replacen("grid_rating_rate = 0.10\n", "", 1).replacen(
        "satisfaction_rate = 0.15",
        "satisfaction_rate = 0.25",
        1,
    );
    assert!(!without.contains("grid_rating_rate ="));
    std::fs::write(&path, without).unwrap();
    let data = ReferenceData::load(dir.path()).unwrap_or_else(|error| panic!("{error}"));
    let weights = data.indicator_weights();
    assert_eq!(
        (weights.satisfaction_rate, weights.grid_rating_rate),
        (0.25, 0.0)
    );
}
