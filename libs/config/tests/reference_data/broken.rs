//! Broken reference data: each way of breaking the sample is refused with the file, line,
//! entry and reason; a missing file is named; texts held in memory are checked the same way.

use super::*;

/// One way to break the sample.
struct Case {
    /// What the case checks, for failure messages.
    what: &'static str,
    file: &'static str,
    /// The text to change; must occur in the file.
    from: &'static str,
    to: &'static str,
    /// `Some(entry)` for an entry-level error, `None` for a parse error.
    entry: Option<&'static str>,
    /// Part of the reason (or parser message).
    reason: &'static str,
    /// The expected line is the last line of the broken file containing this.
    line_of: Option<&'static str>,
}

/// A copy of the sample in a temp dir with `case` applied.
fn broken_copy(case: &Case) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    for name in FILES {
        std::fs::copy(sample_dir().join(name), dir.path().join(name)).unwrap();
    }
    let path = dir.path().join(case.file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(case.from),
        "{}: {:?} is not in {}",
        case.what,
        case.from,
        case.file
    );
    let broken = text.replacen(case.from, case.to, 1);
    std::fs::write(&path, &broken).unwrap();
    (dir, broken)
}

fn last_line_containing(text: &str, needle: &str) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.contains(needle))
        .map(|(index, _)| index + 1)
        .last()
}

const WORKER_OF_FIRST_GRID: &str = r#"{ id = "lin-ming", name = "林明", phone = "18747589100" }"#;

#[test]
fn broken_reference_data_is_refused_with_file_line_entry_and_reason() {
    let cases = [
        Case {
            what: "a member of an unknown kind",
            file: "members.toml",
            from: "kind = \"delivery_rider\"",
            to: "kind = \"postman\"",
            entry: Some("member mt-qian-xiaojun"),
            reason: "kind: \"postman\" is not a member kind",
            line_of: Some("postman"),
        },
        Case {
            what: "a member serving a grid of another community",
            file: "members.toml",
            from: "grids = [\"330102-001-002-001\", \"330102-001-002-002\"]",
            to: "grids = [\"330102-001-002-001\", \"330102-001-001-002\"]",
            entry: Some("member dd-sun-jianguo"),
            reason: "grid 330102-001-001-002 is not a known grid of community 330102-001-002",
            line_of: Some("\"330102-001-002-001\", \"330102-001-001-002\""),
        },
        Case {
            what: "a member listed twice",
            file: "members.toml",
            from: "id = \"gao-zhiqiang\"",
            to: "id = \"xu-lanying\"",
            entry: Some("member xu-lanying"),
            reason: "member xu-lanying is listed twice",
            line_of: Some("id = \"xu-lanying\""),
        },
        Case {
            what: "grid workers' weights not summing to 1",
            file: "indicators.toml",
            from: "found_on_patrol = 0.2",
            to: "found_on_patrol = 0.3",
            entry: Some("grid_workers"),
            reason: "the weights sum to 1.1",
            line_of: Some("[grid_workers]"),
        },
        Case {
            what: "a shop item for nothing",
            file: "points.toml",
            from: "points = 30",
            to: "points = 0",
            entry: Some("item \"洗衣液一瓶\""),
            reason: "points must be more than 0",
            line_of: Some("points = 0"),
        },
        Case {
            what: "a points rule missing",
            file: "points.toml",
            from: "report_fixed = 5\n",
            to: "",
            entry: None,
            reason: "missing field `report_fixed`",
            line_of: Some("[earn]"),
        },
        Case {
            what: "a service due complete before it is due dispatched",
            file: "care.toml",
            from: "dispatch_within_hours = 24\ncomplete_within_hours = 168",
            to: "dispatch_within_hours = 24\ncomplete_within_hours = 12",
            entry: Some("service haircut"),
            reason: "complete_within_hours (12) is less than dispatch_within_hours (24)",
            line_of: Some("complete_within_hours = 12"),
        },
        Case {
            what: "a kind of household with no visit frequency",
            file: "care.toml",
            from: "left_behind_child = 14\n",
            to: "",
            entry: Some("visit_every_days"),
            reason: "left_behind_child has no frequency",
            line_of: Some("[visit_every_days]"),
        },
        Case {
            what: "an unknown kind of household",
            file: "care.toml",
            from: "disabled = 14",
            to: "disabled_person = 14",
            entry: Some("visit_every_days"),
            reason: "\"disabled_person\" is not a kind of household under care",
            line_of: Some("disabled_person = 14"),
        },
        Case {
            what: "unknown department in a category",
            file: "categories.toml",
            from: "department = \"urban_mgmt\"\npriority = \"urgent\"\nself_handle = false\n\n[[category]]\ncode = \"SJ-03-03\"",
            to: "department = \"urban_mgnt\"\npriority = \"urgent\"\nself_handle = false\n\n[[category]]\ncode = \"SJ-03-03\"",
            entry: Some("category SJ-03-02"),
            reason: "default department \"urban_mgnt\" is not in departments.toml",
            line_of: Some("urban_mgnt"),
        },
        Case {
            what: "unknown joint group in a category",
            file: "categories.toml",
            from: "joint_group = \"lampblack\"",
            to: "joint_group = \"lamp_black\"",
            entry: Some("category SJ-01-07"),
            reason: "joint group \"lamp_black\" is not in departments.toml",
            line_of: Some("lamp_black"),
        },
        Case {
            what: "duplicate category code",
            file: "categories.toml",
            from: "code = \"SJ-03-02\"",
            to: "code = \"SJ-03-01\"",
            entry: Some("category SJ-03-01"),
            reason: "code is already used at line",
            line_of: Some("code = \"SJ-03-01\""),
        },
        Case {
            what: "category with both department and joint group",
            file: "categories.toml",
            from: "joint_group = \"lampblack\"",
            to: "joint_group = \"lampblack\"\ndepartment = \"urban_mgmt\"",
            entry: Some("category SJ-01-07"),
            reason: "give either department or joint_group, not both",
            line_of: Some("joint_group = \"lampblack\""),
        },
        Case {
            what: "category with neither department nor joint group",
            file: "categories.toml",
            from: "joint_group = \"lampblack\"\n",
            to: "",
            entry: Some("category SJ-01-07"),
            reason: "give a default department or a joint_group",
            line_of: Some("code = \"SJ-01-07\""),
        },
        Case {
            what: "unknown priority in a category",
            file: "categories.toml",
            from: "priority = \"emergency\"",
            to: "priority = \"critical\"",
            entry: Some("category SJ-04-01"),
            reason: "priority \"critical\" is not one of emergency, urgent, normal, low",
            line_of: Some("critical"),
        },
        Case {
            what: "one major category spelt two ways",
            file: "categories.toml",
            from: "name = \"污水井盖\"\nmajor_name = \"公用设施\"",
            to: "name = \"污水井盖\"\nmajor_name = \"公共设施\"",
            entry: Some("category BJ-01-02"),
            reason: "major name \"公共设施\" differs from \"公用设施\" given for BJ-01 at line",
            line_of: Some("major_name = \"公共设施\""),
        },
        Case {
            what: "misspelt field",
            file: "categories.toml",
            from: "self_handle = true",
            to: "self_handel = true",
            entry: None,
            reason: "unknown field `self_handel`",
            line_of: Some("self_handel"),
        },
        Case {
            what: "malformed category code",
            file: "categories.toml",
            from: "code = \"BJ-01-01\"",
            to: "code = \"BJ-1-01\"",
            entry: None,
            reason: "category: major must be 2 digits, got \"1\"",
            line_of: Some("BJ-1-01"),
        },
        Case {
            what: "duplicate department code",
            file: "departments.toml",
            from: "code = \"landscape\"",
            to: "code = \"transport\"",
            entry: Some("department transport"),
            reason: "code is already used at line",
            line_of: Some("code = \"transport\""),
        },
        Case {
            what: "joint group lead is also a participant",
            file: "departments.toml",
            from: "participants = [\"planning\", \"housing\"]",
            to: "participants = [\"planning\", \"housing\", \"urban_mgmt\"]",
            entry: Some("joint group illegal_building"),
            reason: "lead department urban_mgmt is also listed as a participant",
            line_of: Some("\"housing\", \"urban_mgmt\"]"),
        },
        Case {
            what: "joint group with an unknown participant",
            file: "departments.toml",
            from: "participants = [\"housing\", \"fire_rescue\"]",
            to: "participants = [\"housing\", \"fire\"]",
            entry: Some("joint group group_rental"),
            reason: "participant department \"fire\" is not in departments.toml",
            line_of: Some("\"fire\"]"),
        },
        Case {
            what: "toml syntax error",
            file: "departments.toml",
            from: "name = \"清河区民政局\"",
            to: "name = \"清河区民政局",
            entry: None,
            reason: "invalid basic string",
            line_of: Some("清河区民政局"),
        },
        Case {
            what: "micro-grid whose parent grid is missing",
            file: "grid.toml",
            from: "code = \"330102-001-001-001-01\"",
            to: "code = \"330102-001-001-009-01\"",
            entry: Some("micro-grid 330102-001-001-009-01"),
            reason: "parent grid 330102-001-001-009 is not in grid.toml",
            line_of: Some("330102-001-001-009-01"),
        },
        Case {
            what: "grid worker in two grids",
            file: "grid.toml",
            from: "workers = [{ id = \"lin-weidong\"",
            to: "workers = [{ id = \"lin-ming\", name = \"林明\", phone = \"18747589100\" }, { id = \"lin-weidong\"",
            entry: Some("micro-grid 330102-002-002-001-03"),
            reason: "grid worker lin-ming already works in grid 330102-001-001-001 (line",
            line_of: Some(WORKER_OF_FIRST_GRID),
        },
        Case {
            what: "one id used for two people",
            file: "grid.toml",
            from: "workers = [{ id = \"lin-weidong\", name = \"林卫东\"",
            to: "workers = [{ id = \"lin-ming\", name = \"林卫东\"",
            entry: Some("micro-grid 330102-002-002-001-03"),
            reason: "person lin-ming has a different name or phone at line",
            line_of: Some("id = \"lin-ming\", name = \"林卫东\""),
        },
        Case {
            what: "duplicate grid code",
            file: "grid.toml",
            from: "code = \"330102-001-001-002\"",
            to: "code = \"330102-001-001-001\"",
            entry: Some("grid 330102-001-001-001"),
            reason: "code is already used at line",
            line_of: Some("code = \"330102-001-001-001\""),
        },
        Case {
            what: "area filed under the wrong level",
            file: "grid.toml",
            from: "code = \"330102-002\"",
            to: "code = \"330102-009-001\"",
            entry: Some("street 330102-009-001"),
            reason: "code names a community, not a street",
            line_of: Some("330102-009-001"),
        },
        Case {
            what: "malformed phone",
            file: "grid.toml",
            from: "phone = \"18747589100\"",
            to: "phone = \"1874758910\"",
            entry: None,
            reason: "phone:",
            line_of: Some("1874758910\""),
        },
        Case {
            what: "warn fraction of 1 or more",
            file: "sla.toml",
            from: "warn_at = 0.75",
            to: "warn_at = 1.5",
            entry: Some("priority urgent"),
            reason: "warn_at 1.5 must be between 0 and 1, exclusive",
            line_of: Some("warn_at = 1.5"),
        },
        Case {
            what: "warn fraction of 0",
            file: "sla.toml",
            from: "warn_at = 0.75",
            to: "warn_at = 0.0",
            entry: Some("priority urgent"),
            reason: "warn_at 0 must be between 0 and 1, exclusive",
            line_of: Some("warn_at = 0.0"),
        },
        Case {
            what: "accept deadline after resolve deadline",
            file: "sla.toml",
            from: "accept = \"1d\"",
            to: "accept = \"8d\"",
            entry: Some("priority normal"),
            reason: "accept 8d must not be longer than resolve 7d",
            line_of: Some("accept = \"8d\""),
        },
        Case {
            what: "resolve deadline after close deadline",
            file: "sla.toml",
            from: "resolve = \"2h\"",
            to: "resolve = \"36h\"",
            entry: Some("priority emergency"),
            reason: "resolve 36h must not be longer than close 24h",
            line_of: Some("resolve = \"36h\""),
        },
        Case {
            what: "override out of order once merged with a priority",
            file: "sla.toml",
            from: "resolve = \"30d\"\nclose = \"40d\"",
            to: "resolve = \"30d\"",
            entry: Some("category SJ-08-02"),
            reason: "resolve 30d must not be longer than close 24h (from priority emergency)",
            line_of: Some("resolve = \"30d\""),
        },
        Case {
            what: "unknown priority in sla",
            file: "sla.toml",
            from: "[priority.low]",
            to: "[priority.lowest]",
            entry: Some("priority lowest"),
            reason: "\"lowest\" is not one of emergency, urgent, normal, low",
            line_of: Some("[priority.lowest]"),
        },
        Case {
            what: "override of an unknown category",
            file: "sla.toml",
            from: "code = \"SJ-08-02\"",
            to: "code = \"SJ-08-09\"",
            entry: Some("category SJ-08-09"),
            reason: "no such category in categories.toml",
            line_of: Some("SJ-08-09"),
        },
        Case {
            what: "unknown hours mode",
            file: "sla.toml",
            from: "hours = \"natural\"\nwarn_at = 0.5",
            to: "hours = \"office\"\nwarn_at = 0.5",
            entry: Some("priority emergency"),
            reason: "hours \"office\" must be natural or working",
            line_of: Some("\"office\""),
        },
        Case {
            what: "malformed duration",
            file: "sla.toml",
            from: "accept = \"2h\"",
            to: "accept = \"2 hours\"",
            entry: Some("priority urgent"),
            reason: "accept \"2 hours\" is not a duration",
            line_of: Some("2 hours"),
        },
        Case {
            what: "make-up working day on a weekday",
            file: "sla.toml",
            from: "2025-10-11,",
            to: "2025-10-10,",
            entry: Some("calendar"),
            reason: "make-up working day 2025-10-10 falls on fri, already a working day",
            line_of: Some("2025-10-10,"),
        },
        Case {
            what: "impossible holiday date",
            file: "sla.toml",
            from: "2026-04-04,",
            to: "2026-04-31,",
            entry: None,
            reason: "invalid date",
            line_of: Some("2026-04-31"),
        },
        Case {
            what: "escalation going down",
            file: "escalation.toml",
            from: "grid_level = \"community\"",
            to: "grid_level = \"micro_grid\"",
            entry: Some("step 2"),
            reason: "grid_level micro-grid is not above step 1's grid; escalation only goes up",
            line_of: Some("micro_grid"),
        },
        Case {
            what: "escalation levels out of order",
            file: "escalation.toml",
            from: "level = 3",
            to: "level = 5",
            entry: Some("step 5"),
            reason: "levels must count 1, 2, 3 … in file order, expected 3",
            line_of: Some("level = 5"),
        },
        Case {
            what: "positive weights not summing to 1",
            file: "indicators.toml",
            from: "response_rate = 0.15",
            to: "response_rate = 0.25",
            entry: Some("weights"),
            reason: "they must sum to 1",
            line_of: Some("[weights]"),
        },
        Case {
            what: "grid rating weight above 1",
            file: "indicators.toml",
            from: "grid_rating_rate = 0.10",
            to: "grid_rating_rate = 1.10",
            entry: Some("weights"),
            reason: "grid_rating_rate 1.1 must be between 0 and 1",
            line_of: Some("grid_rating_rate = 1.10"),
        },
        Case {
            what: "grid rating weight counted with the positive weights",
            file: "indicators.toml",
            from: "grid_rating_rate = 0.10",
            to: "grid_rating_rate = 0.20",
            entry: Some("weights"),
            reason: "they must sum to 1",
            line_of: Some("[weights]"),
        },
        Case {
            what: "grid rating weight left out without giving its share back",
            file: "indicators.toml",
            from: "grid_rating_rate = 0.10\n",
            to: "",
            entry: Some("weights"),
            reason: "they must sum to 1",
            line_of: Some("[weights]"),
        },
        Case {
            what: "rework weight that rewards rework",
            file: "indicators.toml",
            from: "rework_rate = -0.10",
            to: "rework_rate = 0.10",
            entry: Some("weights"),
            reason: "rework_rate 0.1 must be between -1 and 0, it is a penalty",
            line_of: Some("rework_rate = 0.10"),
        },
    ];
    for case in &cases {
        let (dir, broken) = broken_copy(case);
        let error = match ReferenceData::load(dir.path()) {
            Ok(_) => panic!("{}: the broken copy loaded", case.what),
            Err(error) => error,
        };
        let message = error.to_string();
        assert_eq!(
            error.file(),
            dir.path().join(case.file),
            "{}: {message}",
            case.what
        );
        match (&error, case.entry) {
            (ConfigError::Invalid { entry, reason, .. }, Some(expected)) => {
                assert_eq!(entry, expected, "{}: {message}", case.what);
                assert!(
                    reason.contains(case.reason),
                    "{}: {message}\nexpected reason: {}",
                    case.what,
                    case.reason
                );
            }
            (
                ConfigError::Syntax {
                    message: reason, ..
                },
                None,
            ) => {
                assert!(
                    reason.contains(case.reason),
                    "{}: {message}\nexpected message: {}",
                    case.what,
                    case.reason
                );
            }
            _ => panic!("{}: unexpected kind of error: {message}", case.what),
        }
        let expected_line = case
            .line_of
            .map(|needle| last_line_containing(&broken, needle).unwrap());
        assert_eq!(error.line(), expected_line, "{}: {message}", case.what);
        assert!(
            message.starts_with(&format!(
                "{}:{}",
                dir.path().join(case.file).display(),
                expected_line.map_or(String::new(), |line| line.to_string())
            )),
            "{}: {message}",
            case.what
        );
        assert!(
            !message.ends_with('.'),
            "{}: no trailing period: {message}",
            case.what
        );
    }
}

#[test]
fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    for name in FILES.iter().filter(|name| **name != "indicators.toml") {
        std::fs::copy(sample_dir().join(name), dir.path().join(name)).unwrap();
    }
    let error = ReferenceData::load(dir.path()).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }), "{error}");
    assert_eq!(error.file(), dir.path().join("indicators.toml"));
    assert!(error.to_string().contains("indicators.toml: cannot read: "));
}

#[test]
fn texts_held_in_memory_are_checked_as_a_directory_is() {
    let texts: Vec<(&str, String)> = FILES
        .iter()
        .map(|name| {
            (
                *name,
                std::fs::read_to_string(sample_dir().join(name)).unwrap(),
            )
        })
        .collect();
    let text_of = |name: &str| {
        texts
            .iter()
            .find(|(file, _)| *file == name)
            .map(|(_, text)| text.as_str())
    };
    let held = ReferenceData::from_texts(text_of).unwrap_or_else(|error| panic!("{error}"));
    let loaded = sample();
    assert_eq!(held.grids().count(), loaded.grids().count());
    assert_eq!(held.departments().count(), loaded.departments().count());
    assert_eq!(held.categories().count(), loaded.categories().count());

    let missing =
        ReferenceData::from_texts(|name| text_of(name).filter(|_| name != "sla.toml")).unwrap_err();
    assert!(matches!(missing, ConfigError::Read { .. }), "{missing}");
    assert_eq!(missing.file(), Path::new("sla.toml"));

    let broken = ReferenceData::from_texts(|name| {
        if name == "departments.toml" {
            Some("[[department]]\ncode = \"水务\"\n")
        } else {
            text_of(name)
        }
    })
    .unwrap_err();
    assert_eq!(broken.file(), Path::new("departments.toml"));
}
