//! Triage reading residents' own words with the model learnt from the corpus: a plain report is
//! routed with the model's version recorded, an unclear one waits with three suggestions, a
//! danger to people makes a case an emergency — routed at once or flagged at the top of the
//! queue with a deadline in minutes — and the supervisors hear of it; and operators'
//! classifications, retrained with `gridcase train`, change the next decision.

use async_nats::jetstream::{self, consumer::pull};
use gridcase_bus::subjects::{ALERTS_ALL, ALERTS_STREAM};
use gridcase_proto::triage::v1::EmergencyAlert;
use prost::Message as _;

use super::*;

/// The sample city with its corpus, the compressed SLA of the other tests, and an emergency's
/// triage deadline cut from ten minutes to [`DANGER_TRIAGE`].
fn config_with_corpus(dir: &Path) {
    compressed_config(dir);
    gridcase_config::Corpus::copy_files(&gridcase::system::sample_config_dir(), dir).unwrap();
    let sla = dir.join("sla.toml");
    let text = std::fs::read_to_string(&sla).unwrap();
    assert!(
        text.contains("triage = \"10m\""),
        "the sample's danger table moved"
    );
    let text = text.replace(
        "triage = \"10m\"",
        &format!("triage = \"{}s\"", DANGER_TRIAGE.as_secs()),
    );
    std::fs::write(&sla, text).unwrap();
}

/// How long an operator has for an emergency the model could not classify, in these tests.
const DANGER_TRIAGE: Duration = Duration::from_secs(6);

async fn start_city_with_corpus() -> City {
    City::start(
        CityOptions {
            tokens: token_table(CALLERS),
            operator: OPERATOR,
            supervisor: SUPERVISOR,
        },
        config_with_corpus,
    )
    .await
}

/// The supervisors' console: every alert published so far, waiting until there are `count`.
async fn alerts(city: &City, count: usize) -> Vec<EmergencyAlert> {
    let nats = gridcase_bus::connect(city.system.nats_url()).await.unwrap();
    let js = jetstream::new(nats);
    let stream = wait_until("the alert stream", WAIT, || async {
        js.get_stream(ALERTS_STREAM).await.ok()
    })
    .await;
    let consumer = stream
        .create_consumer(pull::Config {
            filter_subject: ALERTS_ALL.to_owned(),
            ack_policy: jetstream::consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut alerts = Vec::new();
    let started = Instant::now();
    while alerts.len() < count {
        assert!(
            started.elapsed() < WAIT,
            "only {} of {count} alerts came: {alerts:?}",
            alerts.len()
        );
        let mut batch = consumer
            .fetch()
            .max_messages(count - alerts.len())
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .unwrap();
        while let Some(message) = futures::StreamExt::next(&mut batch).await {
            let message = message.unwrap();
            alerts.push(EmergencyAlert::decode(message.payload.as_ref()).unwrap());
        }
    }
    alerts
}

fn queued<'a>(
    queue: &'a [gridcase_proto::triage::v1::QueuedCase],
    case: &str,
) -> &'a gridcase_proto::triage::v1::QueuedCase {
    queue
        .iter()
        .find(|item| item.case_id == case)
        .unwrap_or_else(|| panic!("{case} is not in the queue: {queue:?}"))
}

async fn manual_queue(city: &City) -> Vec<gridcase_proto::triage::v1::QueuedCase> {
    city.triage(OPERATOR)
        .list_manual_queue(ListManualQueueRequest::default())
        .await
        .unwrap()
        .into_inner()
        .cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residents_words_are_routed_queued_with_suggestions_or_raised_as_emergencies() {
    let city = start_city_with_corpus().await;

    // A plain report in a resident's words: routed by the model, its version recorded.
    let plain = city
        .report(OPERATOR, hotline("words-1", YONGJIN_GRID_1, PLAIN))
        .await;
    let routed = city
        .wait_case(&plain.case_id, "triaged by the model", |reply| {
            count(reply, "CaseTriaged") == 1
        })
        .await;
    let summary = summaries(&routed, "CaseTriaged")[0].to_owned();
    assert!(
        summary.starts_with(&format!("triaged as {PLAIN_CATEGORY} "))
            && summary.contains("; model corpus-"),
        "{summary}"
    );

    // A report the model cannot place waits for an operator with three suggestions.
    let unclear = city
        .report(OPERATOR, hotline("words-2", YONGJIN_GRID_1, UNCLEAR))
        .await;
    // An emergency the model cannot place: flagged, first in the queue, a deadline in seconds
    // here (minutes in production), and the supervisors alerted.
    let danger = city
        .report(
            OPERATOR,
            hotline("words-3", YONGJIN_GRID_1, UNPLACED_DANGER),
        )
        .await;
    let flagged = city
        .wait_case(&danger.case_id, "flagged as an emergency", |reply| {
            count(reply, "DangerFlagged") == 1
        })
        .await;
    assert_eq!(
        summaries(&flagged, "DangerFlagged")[0]
            .split(", to be")
            .next(),
        Some(format!("flagged as an emergency ({UNPLACED_DANGER_REASON})").as_str())
    );
    let queue = wait_until("both cases in the manual queue", WAIT, || async {
        let queue = manual_queue(&city).await;
        let listed = |case: &str| queue.iter().any(|item| item.case_id == case);
        (listed(&unclear.case_id) && listed(&danger.case_id)).then_some(queue)
    })
    .await;
    assert_eq!(
        queue[0].case_id, danger.case_id,
        "the emergency comes first"
    );
    let emergency = queued(&queue, &danger.case_id);
    assert_eq!(emergency.priority, "emergency");
    assert_eq!(emergency.danger, UNPLACED_DANGER_KIND);
    assert_eq!(emergency.danger_reason, UNPLACED_DANGER_REASON);
    assert_eq!(emergency.suggestions.len(), 3, "{emergency:?}");
    assert!(
        emergency
            .suggestions
            .iter()
            .any(|s| s.category_code == UNPLACED_DANGER_CATEGORY),
        "{emergency:?}"
    );
    let reported_at = emergency.reported_at_ms;
    assert!(
        emergency.triage_by_ms > reported_at
            && emergency.triage_by_ms <= now_ms() + millis(DANGER_TRIAGE),
        "{emergency:?}"
    );
    let waiting = queued(&queue, &unclear.case_id);
    assert!(
        waiting
            .reason
            .starts_with("reads as no category of the catalogue"),
        "{waiting:?}"
    );
    assert_eq!(waiting.suggestions.len(), 3, "{waiting:?}");
    assert!(waiting
        .suggestions
        .windows(2)
        .all(|pair| pair[0].confidence >= pair[1].confidence));
    assert!(waiting.suggestions.iter().all(|s| !s.name.is_empty()));
    assert!(waiting.model_version.starts_with("corpus-"), "{waiting:?}");
    assert!(!waiting.because.is_empty(), "{waiting:?}");
    assert_eq!(waiting.danger, "");
    // Not an emergency, but not left without a deadline: the manual queue's two hours.
    assert!(
        waiting.triage_by_ms > now_ms() + 3_600_000
            && waiting.triage_by_ms <= now_ms() + 2 * 3_600_000,
        "{waiting:?}"
    );

    // A person trapped in a lift: routed at once as an emergency, the reason recorded.
    let lift = city
        .report(OPERATOR, hotline("words-4", YONGJIN_GRID_1, TRAPPED))
        .await;
    let routed_lift = city
        .wait_case(&lift.case_id, "the lift routed", |reply| {
            count(reply, "CaseTriaged") == 1
        })
        .await;
    let summary = summaries(&routed_lift, "CaseTriaged")[0];
    assert!(
        summary.contains("with priority emergency") && summary.contains(TRAPPED_REASON),
        "{summary}"
    );
    // A blocked fire lane: urgent, with its reason.
    let lane = city
        .report(OPERATOR, hotline("words-5", YONGJIN_GRID_1, FIRE_LANE))
        .await;
    let routed_lane = city
        .wait_case(&lane.case_id, "the fire lane routed", |reply| {
            count(reply, "CaseTriaged") == 1
        })
        .await;
    let summary = summaries(&routed_lane, "CaseTriaged")[0];
    assert!(
        summary.contains("with priority urgent") && summary.contains("消防通道堵塞"),
        "{summary}"
    );

    // The supervisors heard of both emergencies, and of nothing else.
    let heard = alerts(&city, 2).await;
    let waiting_alert = heard
        .iter()
        .find(|alert| alert.case_id == danger.case_id)
        .expect("an alert for the flagged case");
    assert!(!waiting_alert.routed);
    assert_eq!(waiting_alert.danger, UNPLACED_DANGER_KIND);
    assert_eq!(waiting_alert.triage_by_ms, emergency.triage_by_ms);
    assert_eq!(waiting_alert.tracking_code, danger.tracking_code);
    let lift_alert = heard
        .iter()
        .find(|alert| alert.case_id == lift.case_id)
        .expect("an alert for the lift");
    assert!(lift_alert.routed);
    assert_eq!(lift_alert.danger, "trapped");
    assert!(!lift_alert.route.is_empty());

    // Nobody triaged the emergency in time: supervision warns, breaches and escalates it.
    let overdue = city
        .wait_case(&danger.case_id, "the triage deadline breached", |reply| {
            count(reply, "DeadlineBreached") == 1 && count(reply, "CaseEscalated") == 1
        })
        .await;
    assert_eq!(count(&overdue, "DeadlineWarned"), 1);
    assert_eq!(case_status(&overdue), "reported");
    // An operator triages it at last; the timer stops with it.
    let triaged = city
        .triage(OPERATOR)
        .triage_case(TriageCaseRequest {
            case_id: danger.case_id.clone(),
            category_code: UNPLACED_DANGER_CATEGORY.to_owned(),
            priority: String::new(),
            route: None,
            request_id: "op-danger-1".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(triaged.status(), common::CaseStatus::Triaged);
    let after = city
        .wait_case(&danger.case_id, "the operator's triage", |reply| {
            count(reply, "CaseTriaged") == 1
        })
        .await;
    let summary = summaries(&after, "CaseTriaged")[0];
    assert!(summary.contains("with priority emergency"), "{summary}");
    assert!(
        !summary.contains("; model"),
        "an operator chose it: {summary}"
    );
    // Triage takes the case off its queue when its own feed brings the decision, which may be
    // after the query service has shown it.
    wait_until("the triaged case off the manual queue", WAIT, || async {
        let queue = manual_queue(&city).await;
        queue
            .iter()
            .all(|item| item.case_id != danger.case_id)
            .then_some(())
    })
    .await;
    city.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_classifications_teach_the_next_model() {
    let city = start_city_with_corpus().await;
    // Before: the model does not know this way of putting it.
    let before = city
        .report(OPERATOR, hotline("teach-0", YONGJIN_GRID_1, TAUGHT[0]))
        .await;
    wait_until("the first report queued", WAIT, || async {
        manual_queue(&city)
            .await
            .iter()
            .any(|item| item.case_id == before.case_id)
            .then_some(())
    })
    .await;
    // Operators classify it and two more like it by hand.
    let mut cases = vec![before.case_id.clone()];
    for (index, text) in TAUGHT[1..TAUGHT.len() - 1].iter().enumerate() {
        let reported = city
            .report(
                OPERATOR,
                hotline(&format!("teach-{}", index + 1), YONGJIN_GRID_1, text),
            )
            .await;
        cases.push(reported.case_id);
    }
    for (index, case) in cases.iter().enumerate() {
        wait_until("the report queued", WAIT, || async {
            manual_queue(&city)
                .await
                .iter()
                .any(|item| &item.case_id == case)
                .then_some(())
        })
        .await;
        city.triage(OPERATOR)
            .triage_case(TriageCaseRequest {
                case_id: case.clone(),
                category_code: TAUGHT_CATEGORY.to_owned(),
                priority: String::new(),
                route: None,
                request_id: format!("op-teach-{index}"),
            })
            .await
            .unwrap();
    }
    // Retrained from the log: the new model is written, checked and loaded by triage.
    let store = city.store_client().await;
    let head = store.head().await.unwrap();
    let outcome = gridcase::train::run(gridcase::train::TrainArgs {
        nats: city.system.nats_url().to_owned(),
        shards: 1,
        config: Some(city.system.options().config.clone()),
        data: city.system.options().data.clone(),
        up_to: Some(head),
        confidence: gridcase_triage::DEFAULT_CONFIDENCE,
        force: false,
    })
    .await
    .unwrap();
    assert_eq!(outcome.operator_examples, 3);
    assert!(outcome.version.starts_with("v1-"), "{outcome:?}");
    assert_eq!(
        outcome.loaded_by_triage.as_deref(),
        Some(outcome.version.as_str())
    );
    assert!(
        !outcome.held_out.worse_than(&outcome.replaced.1),
        "{outcome:?}"
    );
    // After: a fourth resident putting it the same way is routed by the new model.
    let after = city
        .report(
            OPERATOR,
            hotline("teach-9", YONGJIN_GRID_1, TAUGHT[TAUGHT.len() - 1]),
        )
        .await;
    let routed = city
        .wait_case(&after.case_id, "routed by the new model", |reply| {
            count(reply, "CaseTriaged") == 1
        })
        .await;
    let summary = summaries(&routed, "CaseTriaged")[0];
    assert!(
        summary.starts_with(&format!("triaged as {TAUGHT_CATEGORY} "))
            && summary.contains(&format!("; model {}", outcome.version)),
        "{summary}"
    );
    // Training again with nothing new is refused only if it is worse; a second run is the
    // next version.
    let again = gridcase::train::run(gridcase::train::TrainArgs {
        nats: city.system.nats_url().to_owned(),
        shards: 1,
        config: Some(city.system.options().config.clone()),
        data: city.system.options().data.clone(),
        up_to: None,
        confidence: gridcase_triage::DEFAULT_CONFIDENCE,
        force: false,
    })
    .await
    .unwrap();
    assert!(again.version.starts_with("v2-"), "{again:?}");
    city.shut_down().await;
}

/// A plain report, as a resident says it, and where it belongs.
const PLAIN: &str = "我家楼下那盏灯连着三个晚上都不亮了，黑咕隆咚的，老人晚上出门怕摔";
const PLAIN_CATEGORY: &str = "BJ-01-07";
/// A report the model reads as no category of the catalogue.
const UNCLEAR: &str = "你们能不能派个人来我们这边看一下，情况挺麻烦的";
/// A danger the model cannot place (which of six kinds of cover?), what the rules call it, and
/// where an operator puts it.
const UNPLACED_DANGER: &str = "3栋门口的井盖不见了，黑洞洞的一个坑";
const UNPLACED_DANGER_KIND: &str = "open_hole";
const UNPLACED_DANGER_REASON: &str = "坑洞：黑洞洞";
const UNPLACED_DANGER_CATEGORY: &str = "BJ-01-03";
/// A lift stuck between floors with someone inside.
const TRAPPED: &str = "我们楼的电梯卡在两层中间了，里面好像有人，喊了半天没人应";
const TRAPPED_REASON: &str = "人员被困：电梯、里面好像有人";
/// A fire lane blocked by cars (and a fire that has not broken out).
const FIRE_LANE: &str = "小区消防通道又被私家车堵得死死的，真着火了消防车都进不来";
/// Reports about something the corpus never mentions — the fitness equipment in a residential
/// compound — and the category operators give them; the last one comes after training.
const TAUGHT: [&str; 4] = [
    "小区健身器材的单杠断了一根，孩子差点摔下来",
    "小区里那个转腰的健身器材轴承坏了，转起来咯吱咯吱响",
    "广场上的健身器材漫步机踏板掉了一个",
    "公园边上的健身器材拉力器的钢丝断了",
];
const TAUGHT_CATEGORY: &str = "BJ-05-02";
