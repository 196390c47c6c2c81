//! The model against the in-memory tally and against itself: random case histories folded in
//! random batches must give, for any period, the indicators the tally of the whole log gives;
//! a model reopened from its checkpoint half way must end the same as one folded in one go,
//! and a model asked to rebuild starts from position 0.

use std::sync::Arc;

use gridcase_config::ReferenceData;
use gridcase_domain::CaseId;
use gridcase_eventstore::{ReadModelConfig, RecordedEvent};
use gridcase_indicator_store::hour_of;
use gridcase_rules::indicators::Tally;
use gridcase_testkit::histories::{random_log, Dice, HOUR_MS};

use super::IndicatorModel;

fn reference() -> Arc<ReferenceData> {
    Arc::new(ReferenceData::load(&gridcase_testkit::sample_config_dir()).unwrap())
}

fn fold_in_batches(model: &IndicatorModel, log: &[RecordedEvent], dice: &mut Dice) {
    let mut at = 0;
    while at < log.len() {
        let end = (at + 1 + dice.below(40)).min(log.len());
        model.fold(0, &log[at..end]).unwrap();
        at = end;
    }
}

#[test]
fn any_period_matches_the_tally_and_a_resumed_model_matches_one_built_at_once() {
    let reference = reference();
    let now_ms = 1_780_000_000_000;
    let log = random_log(0x5EED_1234, 400, &reference, now_ms);
    let dir = tempfile::tempdir().unwrap();
    let config = ReadModelConfig::new(Some(dir.path().to_owned()));
    let half = log.len() / 2;
    let mut dice = Dice(99);
    {
        let model = IndicatorModel::open(&config).unwrap();
        assert_eq!(model.rebuilt(), Some("new"));
        fold_in_batches(&model, &log[..half], &mut dice);
    }
    let resumed = IndicatorModel::open(&config).unwrap();
    assert_eq!(
        (resumed.rebuilt(), resumed.position(0)),
        (None, half as u64)
    );
    fold_in_batches(&resumed, &log[half..], &mut dice);
    let at_once = IndicatorModel::open(&ReadModelConfig::new(None)).unwrap();
    at_once.fold(0, &log).unwrap();

    let mut tally = Tally::new();
    for record in &log {
        let case = CaseId::parse(&record.stream_id).unwrap();
        let event = gridcase_casestore::decode(case, record).unwrap();
        tally.apply(case, record.recorded_at_ms, &event);
    }
    let weights = reference.indicator_weights();
    let mut departments = 0;
    for (from, to) in [
        (now_ms - 100 * HOUR_MS, now_ms + HOUR_MS),
        (hour_of(now_ms - 30 * HOUR_MS), hour_of(now_ms)),
        (now_ms - 50 * HOUR_MS + 123_456, now_ms - 3 * HOUR_MS - 7),
        (now_ms - 10 * HOUR_MS + 1, now_ms - 10 * HOUR_MS + 60_000),
    ] {
        // Rounded: the hours to close are summed in another order.
        let expected = format!("{:.6?}", tally.indicators(from, to, weights));
        for model in [&resumed, &at_once] {
            let (rows, events) = model.report(from, to, weights).unwrap();
            assert_eq!(format!("{rows:.6?}"), expected, "{from}..{to}");
            assert_eq!(events, tally.events());
            departments = departments.max(rows.len());
        }
    }
    assert!(
        departments > 3,
        "the histories must reach departments: {departments}"
    );
    drop(resumed);

    let rebuilt = IndicatorModel::open(&ReadModelConfig {
        rebuild: true,
        ..config
    })
    .unwrap();
    assert_eq!(
        (rebuilt.rebuilt(), rebuilt.position(0)),
        (Some("asked to rebuild"), 0)
    );
    let (rows, events) = rebuilt
        .report(now_ms - 100 * HOUR_MS, now_ms, weights)
        .unwrap();
    assert!(
        rows.is_empty() && events == 0,
        "a rebuilt model starts empty"
    );
}
