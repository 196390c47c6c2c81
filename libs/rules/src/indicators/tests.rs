//! The indicators' rules on a small sample: counts, rates, periods, ranking, and hourly buckets.
use super::*;
use gridcase_domain::event::{
    CaseClosed, CaseDispatched, CaseReopened, CaseReported, CaseResolved, CaseVerified,
    DepartmentRated, DispatchAccepted, PostponementApproved, SatisfactionRecorded,
    VerificationFailed,
};
use gridcase_domain::{
    Channel, Contact, DepartmentCode, Description, Location, Note, RatingScore, Timestamp,
    TrackingCode, WorkerId,
};
use std::collections::BTreeMap;

const H: i64 = 3_600_000;
const T0: i64 = 1_700_000_000_000;

/// Weights without the grid's rating of departments (网格评部门), as before it counted.
fn weights() -> IndicatorWeights {
    IndicatorWeights {
        response_rate: 0.15,
        on_time_closure_rate: 0.25,
        closure_rate: 0.15,
        satisfaction_rate: 0.25,
        resolution_rate: 0.20,
        rework_rate: -0.10,
        grid_rating_rate: 0.0,
    }
}

/// The sample city's weights: 0.10 of the residents' satisfaction moved to the grid's rating.
fn weights_with_grid_rating() -> IndicatorWeights {
    IndicatorWeights {
        satisfaction_rate: 0.15,
        grid_rating_rate: 0.10,
        ..weights()
    }
}

fn dept(code: &str) -> Assignee {
    Assignee::Department(DepartmentCode::parse(code).unwrap())
}

fn note() -> Note {
    Note::parse("x").unwrap()
}

fn worker() -> WorkerId {
    WorkerId::parse("lin-ming").unwrap()
}

fn reported(case: CaseId, at: i64) -> Event {
    CaseReported {
        case_id: case,
        tracking_code: TrackingCode::from_u64(1),
        channel: Channel::Hotline,
        reporter: Contact::Anonymous,
        location: Location::new(Some("330102-001-001-001".parse().unwrap()), None, None).unwrap(),
        description: Description::parse("路灯不亮").unwrap(),
        category: None,
        media: vec![],
        reported_at: Timestamp::from_millis(at),
    }
    .into()
}

fn dispatched(to: &str, accept: i64, resolve: i64) -> Event {
    CaseDispatched {
        assignee: dept(to),
        participants: vec![],
        accept_deadline: Some(Timestamp::from_millis(accept)),
        resolve_deadline: Some(Timestamp::from_millis(resolve)),
    }
    .into()
}

fn accepted(by: &str) -> Event {
    DispatchAccepted { by: dept(by) }.into()
}

fn resolved(by: &str) -> Event {
    CaseResolved {
        by: dept(by),
        note: note(),
        evidence: vec![],
    }
    .into()
}

fn verified() -> Event {
    CaseVerified {
        by: worker(),
        note: None,
    }
    .into()
}

fn failed() -> Event {
    VerificationFailed {
        by: worker(),
        reason: note(),
    }
    .into()
}

fn rated(resolved: bool, satisfied: bool) -> Event {
    SatisfactionRecorded {
        resolved,
        satisfied,
        score: 4,
        comment: None,
    }
    .into()
}

fn closed() -> Event {
    CaseClosed { by: None }.into()
}

/// lin-ming's rating of `department`: timeliness, attitude, result.
fn grid_rated(department: &str, [timeliness, attitude, result]: [u32; 3]) -> Event {
    let mark = |value| RatingScore::new("score", value).unwrap();
    DepartmentRated {
        by: worker(),
        department: DepartmentCode::parse(department).unwrap(),
        timeliness: mark(timeliness),
        attitude: mark(attitude),
        result: mark(result),
        note: Some(Note::parse("回复及时，处理彻底，居民认可").unwrap()),
        at: Timestamp::from_millis(T0 + 40 * H),
    }
    .into()
}

type Log = Vec<(CaseId, i64, Event)>;

/// Logs `(recorded at, event)` of one case.
fn case(log: &mut Log, id: u128, events: &[(i64, Event)]) {
    for (at, event) in events {
        log.push((CaseId::from_u128(id), *at, event.clone()));
    }
}

fn find<'a>(rows: &'a [DepartmentIndicators], code: &str) -> &'a DepartmentIndicators {
    rows.iter().find(|row| row.department == code).unwrap()
}

fn close_to(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a rate");
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

/// [`sample_log`] folded.
fn sample() -> Tally {
    let mut tally = Tally::new();
    for (case, at, event) in sample_log() {
        tally.apply(case, at, &event);
    }
    tally
}

/// Three water cases and one gas case in the period, one water case before it.
fn sample_log() -> Log {
    let mut tally = Log::new();
    // 1: water, accepted on time, resolved, verified, satisfied + resolved, closed at 10h
    // (resolve deadline 24h); the grid rates it 5, 4, 3: 9 of 12 points.
    case(
        &mut tally,
        1,
        &[
            (T0, reported(CaseId::from_u128(1), T0)),
            (T0 + H / 2, dispatched("water", T0 + 2 * H, T0 + 24 * H)),
            (T0 + H, accepted("water")),
            (T0 + 5 * H, resolved("water")),
            (T0 + 6 * H, verified()),
            (T0 + 7 * H, rated(true, true)),
            (T0 + 10 * H, closed()),
            (T0 + 11 * H, grid_rated("water", [5, 4, 3])),
        ],
    );
    // 2: water, accepted late, resolved twice (one failed verification), rated
    // unsatisfied but resolved, closed at 30h, after its 24h deadline; the grid rates it 2, 3,
    // 1: 3 of 12 points.
    case(
        &mut tally,
        2,
        &[
            (T0, reported(CaseId::from_u128(2), T0)),
            (T0 + H / 2, dispatched("water", T0 + 2 * H, T0 + 24 * H)),
            (T0 + 3 * H, accepted("water")),
            (T0 + 5 * H, resolved("water")),
            (T0 + 6 * H, failed()),
            (T0 + 8 * H, resolved("water")),
            (T0 + 9 * H, verified()),
            (T0 + 10 * H, rated(true, false)),
            (T0 + 30 * H, closed()),
            (T0 + 31 * H, grid_rated("water", [2, 3, 1])),
        ],
    );
    // 3: water, accepted on time, postponed (deferred), still open.
    case(
        &mut tally,
        3,
        &[
            (T0 + H, reported(CaseId::from_u128(3), T0 + H)),
            (T0 + 2 * H, dispatched("water", T0 + 3 * H, T0 + 24 * H)),
            (T0 + 2 * H, accepted("water")),
            (
                T0 + 4 * H,
                PostponementApproved {
                    by: worker(),
                    until: Timestamp::from_millis(T0 + 48 * H),
                }
                .into(),
            ),
        ],
    );
    // 4: gas, rated not resolved and reopened, redispatched to gas, not accepted yet.
    case(
        &mut tally,
        4,
        &[
            (T0, reported(CaseId::from_u128(4), T0)),
            (T0 + H, dispatched("gas", T0 + 2 * H, T0 + 24 * H)),
            (T0 + H, accepted("gas")),
            (T0 + 2 * H, resolved("gas")),
            (T0 + 3 * H, verified()),
            (T0 + 4 * H, rated(false, false)),
            (T0 + 4 * H, CaseReopened { reason: note() }.into()),
            (T0 + 5 * H, dispatched("gas", T0 + 6 * H, T0 + 30 * H)),
        ],
    );
    // 5: water, reported before the period: left out.
    case(
        &mut tally,
        5,
        &[
            (T0 - 10 * H, reported(CaseId::from_u128(5), T0 - 10 * H)),
            (T0 - 9 * H, dispatched("water", T0 - 8 * H, T0 + 14 * H)),
            (T0 - 9 * H, accepted("water")),
        ],
    );
    tally
}

#[test]
fn water_counts_and_rates_are_exact() {
    let rows = sample().indicators(T0, T0 + 24 * H, &weights());
    let water = find(&rows, "water");
    assert_eq!(water.dispatched, 3);
    assert_eq!(water.accepted_on_time, 2);
    close_to(water.response_rate, 2.0 / 3.0);
    assert_eq!(water.resolved, 3);
    assert_eq!(water.verifications_failed, 1);
    close_to(water.rework_rate, 1.0 / 3.0);
    assert_eq!((water.due, water.deferred), (2, 1));
    assert_eq!((water.closed, water.closed_on_time), (2, 1));
    close_to(water.closure_rate, 1.0);
    close_to(water.on_time_closure_rate, 0.5);
    assert_eq!(
        (water.ratings, water.satisfied, water.resolved_answers),
        (2, 1, 2)
    );
    close_to(water.satisfaction_rate, 0.5);
    close_to(water.resolution_rate, 1.0);
    close_to(water.mean_hours_to_close, 20.0);
    close_to(water.p90_hours_to_close, 30.0);
    let expected =
        0.15 * (2.0 / 3.0) + 0.25 * 0.5 + 0.15 * 1.0 + 0.25 * 0.5 + 0.20 * 1.0 - 0.10 * (1.0 / 3.0);
    assert!((water.score - expected).abs() < 1e-9);
}

#[test]
fn grid_ratings_enter_the_score_with_their_weight() {
    let rows = sample().indicators(T0, T0 + 24 * H, &weights_with_grid_rating());
    let water = find(&rows, "water");
    // Two ratings, (9 + 3) of 2 × 12 points: (5,4,3) is 0.75, (2,3,1) is 0.25.
    assert_eq!(water.grid_ratings, 2);
    assert_eq!(water.grid_rating_rate, Some(0.5));
    let expected = 0.15 * (2.0 / 3.0) + 0.25 * 0.5 + 0.15 * 1.0 + 0.15 * 0.5 + 0.20 * 1.0
        - 0.10 * (1.0 / 3.0)
        + 0.10 * 0.5;
    assert!((water.score - expected).abs() < 1e-9, "{}", water.score);
    // Nobody rated gas from the grid: the rate is absent and adds nothing, as an absent
    // satisfaction rate does. Its score is its response rate's alone.
    let gas = find(&rows, "gas");
    assert_eq!((gas.grid_ratings, gas.grid_rating_rate), (0, None));
    assert!((gas.score - 0.15 * 0.5).abs() < 1e-9, "{}", gas.score);
    // With a weight of 0 the ratings are counted but do not score.
    let unweighted = sample().indicators(T0, T0 + 24 * H, &weights());
    assert_eq!(find(&unweighted, "water").grid_rating_rate, Some(0.5));
}

#[test]
fn grid_ratings_count_for_the_department_rated_lead_or_participant() {
    let code = |c: &str| DepartmentCode::parse(c).unwrap();
    let mut log = Log::new();
    let joint: Event = CaseDispatched {
        assignee: dept("housing"),
        participants: vec![code("urban_mgmt")],
        accept_deadline: Some(Timestamp::from_millis(T0 + 2 * H)),
        resolve_deadline: Some(Timestamp::from_millis(T0 + 48 * H)),
    }
    .into();
    case(
        &mut log,
        1,
        &[
            (T0, reported(CaseId::from_u128(1), T0)),
            (T0, joint),
            (T0 + H, accepted("housing")),
            (T0 + 5 * H, resolved("housing")),
            (T0 + 6 * H, verified()),
            (T0 + 7 * H, closed()),
            // Rated after the period: the case counts in the period of its report, with all
            // its events.
            (T0 + 30 * H, grid_rated("housing", [5, 5, 5])),
            (T0 + 30 * H, grid_rated("urban_mgmt", [1, 2, 1])),
        ],
    );
    let mut tally = Tally::new();
    for (case, at, event) in &log {
        tally.apply(*case, *at, event);
    }
    let rows = tally.indicators(T0, T0 + 24 * H, &weights_with_grid_rating());
    let housing = find(&rows, "housing");
    assert_eq!(
        (housing.grid_ratings, housing.grid_rating_rate),
        (1, Some(1.0))
    );
    let urban = find(&rows, "urban_mgmt");
    // (1 + 2 + 1 - 3) / 12.
    assert_eq!(urban.grid_ratings, 1);
    close_to(urban.grid_rating_rate, 1.0 / 12.0);
    // The participant owns no dispatch: its score is the grid's rating alone.
    assert_eq!((urban.dispatched, urban.due), (0, 0));
    assert!((urban.score - 0.10 / 12.0).abs() < 1e-12, "{}", urban.score);
    // Housing: response, on-time closure, closure, rework 0 of 1, grid rating 1.
    let expected = 0.15 + 0.25 + 0.15 + 0.10;
    assert!((housing.score - expected).abs() < 1e-9, "{}", housing.score);
}

#[test]
fn zero_denominators_are_absent_and_reopened_cases_are_open() {
    let rows = sample().indicators(T0, T0 + 24 * H, &weights());
    let gas = find(&rows, "gas");
    assert_eq!(gas.dispatched, 2);
    assert_eq!(gas.accepted_on_time, 1);
    close_to(gas.response_rate, 0.5);
    assert_eq!((gas.resolved, gas.verifications_failed), (1, 0));
    close_to(gas.rework_rate, 0.0);
    assert_eq!((gas.due, gas.closed, gas.closed_on_time), (1, 0, 0));
    close_to(gas.closure_rate, 0.0);
    assert_eq!(
        (gas.ratings, gas.satisfied, gas.resolved_answers),
        (1, 0, 0)
    );
    assert_eq!(gas.mean_hours_to_close, None);
    assert_eq!(gas.p90_hours_to_close, None);
    // Ranked: water ahead of gas.
    assert_eq!(rows[0].department, "water");
    assert_eq!(rows.len(), 2);

    // A period with only the deferred case: no closure denominators.
    let rows = sample().indicators(T0 + H, T0 + 2 * H, &weights());
    let water = find(&rows, "water");
    assert_eq!((water.due, water.deferred), (0, 1));
    assert_eq!(water.closure_rate, None);
    assert_eq!(water.on_time_closure_rate, None);
    assert_eq!(water.satisfaction_rate, None);
    assert_eq!(water.rework_rate, None);
    close_to(water.response_rate, 1.0);
    assert!((water.score - 0.15).abs() < 1e-9);
}

#[test]
fn the_period_selects_by_report_time() {
    let tally = sample();
    let rows = tally.indicators(T0 - 24 * H, T0, &weights());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].dispatched, 1);
    assert!(tally
        .indicators(T0 + 24 * H, T0 + 48 * H, &weights())
        .is_empty());
    assert_eq!(tally.events(), 33);
}

#[test]
fn rates_and_percentiles() {
    assert_eq!(rate(1, 0), None);
    assert_eq!(rate(0, 4), Some(0.0));
    assert_eq!(rate(3, 4), Some(0.75));
    assert_eq!(percentile(&[], 90.0), None);
    let values: Vec<f64> = (1..=10).map(f64::from).collect();
    assert_eq!(percentile(&values, 90.0), Some(9.0));
    assert_eq!(percentile(&[5.0, 1.0], 90.0), Some(5.0));
    assert_eq!(percentile(&[7.0], 90.0), Some(7.0));
}

fn ranking_row(department: &str, due: u64, score: f64) -> DepartmentIndicators {
    DepartmentIndicators {
        department: department.to_owned(),
        due,
        score,
        ..DepartmentIndicators::default()
    }
}

#[test]
fn departments_with_too_few_cases_are_reported_unranked_after_the_ranked() {
    let rows = vec![
        ranking_row("quiet", 2, 0.99),
        ranking_row("busy", 12, 0.80),
        ranking_row("late", 10, 0.40),
        ranking_row("new", 0, 0.0),
    ];
    let ranks: Vec<(String, u32)> = ranked(rows, 10)
        .into_iter()
        .map(|(rank, row)| (row.department, rank))
        .collect();
    let ranks: Vec<(&str, u32)> = ranks.iter().map(|(d, r)| (d.as_str(), *r)).collect();
    assert_eq!(ranks, [("busy", 1), ("late", 2), ("quiet", 0), ("new", 0)]);
}

/// Hourly buckets kept as a read model keeps them — each event takes the case's old part
/// out of its report hour's bucket and puts the new part in — add up to the same rows as
/// the whole tally, for a period of whole hours.
#[test]
fn hourly_buckets_moved_event_by_event_add_up_to_the_tally() {
    let mut tracks: HashMap<CaseId, CaseIndicators> = HashMap::new();
    let mut buckets: HashMap<(i64, DepartmentCode), Totals> = HashMap::new();
    for (case, at, event) in sample_log() {
        let track = tracks.entry(case).or_default();
        let hour = |track: &CaseIndicators| track.reported_at_ms().map(|ms| ms / H);
        if let Some(hour) = hour(track) {
            for (department, part) in track.parts() {
                buckets
                    .entry((hour, department))
                    .or_default()
                    .subtract(&part);
            }
        }
        track.apply(at, &event);
        if let Some(hour) = hour(track) {
            for (department, part) in track.parts() {
                buckets.entry((hour, department)).or_default().add(&part);
            }
        }
    }
    let (from, to) = (T0, T0 + 24 * H);
    let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
    for ((hour, department), bucket) in &buckets {
        if (from / H..to / H).contains(hour) && !bucket.is_empty() {
            totals
                .entry(department.to_string())
                .or_default()
                .add(bucket);
        }
    }
    let from_buckets = rows(
        totals.iter().map(|(d, t)| (d.as_str(), t.clone())),
        &weights(),
    );
    assert_eq!(from_buckets, sample().indicators(from, to, &weights()));
    assert!(from_buckets
        .iter()
        .any(|row| row.closed > 0 && row.p90_hours_to_close.is_some()));
}

#[test]
fn report_in_timeliness_counts_for_every_department_called() {
    use gridcase_domain::event::{DepartmentReportedIn, ReportInCalled};
    let code = |c: &str| DepartmentCode::parse(c).unwrap();
    let mut log = Log::new();
    let joint: Event = CaseDispatched {
        assignee: dept("housing"),
        participants: vec![code("urban_mgmt"), code("water")],
        accept_deadline: Some(Timestamp::from_millis(T0 + 2 * H)),
        resolve_deadline: Some(Timestamp::from_millis(T0 + 48 * H)),
    }
    .into();
    let called: Event = ReportInCalled {
        departments: vec![code("housing"), code("urban_mgmt"), code("water")],
        called_at: Timestamp::from_millis(T0),
        deadline: Timestamp::from_millis(T0 + H / 2),
    }
    .into();
    let reported_in = |c: &str, at: i64| -> Event {
        DepartmentReportedIn {
            department: code(c),
            opinion: note(),
            at: Timestamp::from_millis(at),
        }
        .into()
    };
    case(
        &mut log,
        1,
        &[
            (T0, reported(CaseId::from_u128(1), T0)),
            (T0, joint),
            (T0, called),
            // housing on time, urban_mgmt on the deadline's millisecond, water late.
            (T0 + 10 * 60_000, reported_in("housing", T0 + 10 * 60_000)),
            (T0 + H / 2, reported_in("urban_mgmt", T0 + H / 2)),
            (T0 + H, reported_in("water", T0 + H)),
        ],
    );
    let mut tally = Tally::new();
    for (case, at, event) in &log {
        tally.apply(*case, *at, event);
    }
    let rows = tally.indicators(T0, T0 + 24 * H, &weights());
    let counts = |c: &str| {
        let row = find(&rows, c);
        (row.called_to_report_in, row.reported_in_on_time)
    };
    assert_eq!(counts("housing"), (1, 1));
    assert_eq!(counts("urban_mgmt"), (1, 1));
    assert_eq!(counts("water"), (1, 0));
    close_to(find(&rows, "water").report_in_rate, 0.0);
    close_to(find(&rows, "housing").report_in_rate, 1.0);
    // The lead alone owns the dispatch.
    assert_eq!(find(&rows, "housing").dispatched, 1);
    assert_eq!(find(&rows, "water").dispatched, 0);
}
