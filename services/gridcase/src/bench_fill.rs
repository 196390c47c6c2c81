//! Filling a benchmark's store with years of cases fast: whole case histories — reported,
//! triaged, dispatched, accepted, resolved, verified, rated, closed — decided by the domain's
//! own rules and appended one case per append straight through the store API (a window of
//! appends in flight), instead of one command at a time through intake. The reports' words
//! are the training corpus's residents' reports; the cases are spread evenly over the years
//! asked for, and those of the last weeks are left open at some stage of the loop.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use gridcase_bus::StoreClient;
use gridcase_config::{Corpus, ReferenceData, Split};
use gridcase_domain::{
    decide, Address, CaseId, CaseState, CategoryCode, Channel, Command, Contact, Description,
    Event, GridLevel, Location, Note, Phone, Reporter, Route, Timestamp, TrackingCode, WorkerId,
};
use gridcase_eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent};

use gridcase::rng::Rng;

/// Appends in flight at once.
const WINDOW: usize = 512;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Cases reported in the last this-many days are still open.
const OPEN_DAYS: i64 = 14;

/// What the cases are made of: the corpus's reports, the grids, each category's route.
struct Material {
    reports: Vec<(CategoryCode, String)>,
    grids: Vec<gridcase_domain::GridCode>,
    routes: Vec<Option<Route>>,
    priorities: Vec<gridcase_domain::Priority>,
}

impl Material {
    fn new(reference: &ReferenceData, config_dir: &std::path::Path) -> anyhow::Result<Self> {
        let corpus = Corpus::load(config_dir, reference).context("loading the corpus")?;
        let reports: Vec<(CategoryCode, String)> = corpus
            .split(Split::Train)
            .filter_map(|r| Some((r.category?, r.text.clone())))
            .collect();
        anyhow::ensure!(!reports.is_empty(), "the corpus has no categorised reports");
        let grids: Vec<_> = reference
            .grids()
            .filter(|g| g.code.level() == GridLevel::Grid)
            .map(|g| g.code)
            .collect();
        anyhow::ensure!(!grids.is_empty(), "the grid has no grids");
        let routes = reports
            .iter()
            .map(|(category, _)| reference.default_route(category))
            .collect();
        let priorities = reports
            .iter()
            .map(|(category, _)| {
                reference
                    .category(category)
                    .map_or(gridcase_domain::Priority::Normal, |c| c.priority)
            })
            .collect();
        Ok(Self {
            reports,
            grids,
            routes,
            priorities,
        })
    }

    /// The events of case number `index`, reported at `reported_ms`.
    fn history(&self, salt: u128, index: u64, reported_ms: i64, now_ms: i64) -> Vec<Event> {
        let mut rng = Rng::new(index.wrapping_mul(0x9e37_79b9) ^ 0x5eed);
        let case = CaseId::from_u128((salt << 64) | u128::from(index));
        let at = |offset_ms: i64, base: i64| Timestamp::from_millis(base + offset_ms);
        let pick = rng.below(self.reports.len());
        let (category, text) = &self.reports[pick];
        let grid = *rng.pick(&self.grids);
        let mut state = CaseState::default();
        let mut events = Vec::with_capacity(8);
        let mut step = |state: &mut CaseState, command: Command| -> bool {
            match decide(state, command) {
                Ok(new) => {
                    for event in new {
                        *state = gridcase_domain::apply(std::mem::take(state), &event);
                        events.push(event);
                    }
                    true
                }
                Err(_) => false,
            }
        };
        let phone = Phone::parse(&format!("139{:08}", index % 100_000_000)).ok();
        let reported_ok = step(
            &mut state,
            Command::Report {
                case_id: case,
                tracking_code: TrackingCode::from_u64(index + 1),
                channel: if rng.chance(0.7) {
                    Channel::Hotline
                } else {
                    Channel::QrCode
                },
                reporter: Contact::clear(Reporter { name: None, phone }),
                location: match Location::new(Some(grid), Address::parse("门口").ok(), None) {
                    Ok(location) => location,
                    Err(_) => return events,
                },
                description: match Description::parse(text) {
                    Ok(description) => description,
                    Err(_) => return events,
                },
                category: None,
                media: vec![],
                reported_at: at(0, reported_ms),
            },
        );
        let Some(Some(route)) = self.routes.get(pick).cloned().filter(|_| reported_ok) else {
            return events;
        };
        // Cases of the last weeks stop somewhere along the loop; older ones are closed.
        let open = now_ms - reported_ms < OPEN_DAYS * DAY_MS;
        let stop_after = if open { 1 + rng.below(5) } else { usize::MAX };
        let (assignee, participants) = (route.assignee(), route.participants().to_vec());
        let note = |text: &str| Note::parse(text).ok();
        let worker = WorkerId::parse("bench-verifier").ok();
        let accept_in = HOUR_MS * i64::try_from(1 + rng.below(3)).unwrap_or(1);
        let commands = [
            Command::Triage {
                category: *category,
                priority: self.priorities[pick],
                route,
                triaged_by: None,
                model: None,
                priority_reason: None,
            },
            Command::Dispatch {
                assignee: assignee.clone(),
                participants,
                accept_deadline: Some(at(accept_in, reported_ms)),
                resolve_deadline: Some(at(3 * DAY_MS, reported_ms)),
                report_in: None,
            },
            Command::Accept {
                by: assignee.clone(),
            },
            Command::Resolve {
                by: assignee,
                note: match note("已到现场处理完毕，恢复正常") {
                    Some(note) => note,
                    None => return events,
                },
                evidence: vec![],
            },
            Command::Verify {
                by: match worker {
                    Some(worker) => worker,
                    None => return events,
                },
                note: None,
            },
        ];
        for (done, command) in commands.into_iter().enumerate() {
            if done + 1 >= stop_after || !step(&mut state, command) {
                return events;
            }
        }
        if rng.chance(0.7) {
            let satisfied = rng.chance(0.9);
            step(
                &mut state,
                Command::RecordSatisfaction {
                    resolved: satisfied || rng.chance(0.5),
                    satisfied,
                    score: if satisfied { 5 } else { 2 },
                    comment: None,
                },
            );
        }
        step(&mut state, Command::Close { by: None });
        events
    }
}

/// What filling took.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Filled {
    /// Events appended.
    pub(crate) events: u64,
    /// Seconds it took.
    pub(crate) seconds: f64,
}

/// Appends the generated case histories numbered `cases` to `store`, the `total` numbers
/// (from 0) reported evenly over the `years` before now.
pub(crate) async fn fill(
    store: &StoreClient,
    reference: &ReferenceData,
    config_dir: &std::path::Path,
    cases: std::ops::Range<u64>,
    total: u64,
    years: f64,
) -> anyhow::Result<Filled> {
    let material = Arc::new(Material::new(reference, config_dir)?);
    let now_ms = gridcase_runtime::now().as_millis();
    let span_ms = (years * 365.0 * DAY_MS as f64) as i64;
    let started = Instant::now();
    let window = Arc::new(tokio::sync::Semaphore::new(WINDOW));
    let mut tasks = tokio::task::JoinSet::new();
    let mut events = 0u64;
    let (first, count) = (cases.start, cases.end - cases.start);
    for index in cases {
        let permit = Arc::clone(&window).acquire_owned().await?;
        let start_ms = now_ms - span_ms + (span_ms as f64 * index as f64 / total as f64) as i64;
        let history = material.history(0xB1, index, start_ms, now_ms);
        let Some(Event::CaseReported(reported)) = history.first() else {
            anyhow::bail!("case {index} could not be reported");
        };
        let stream = gridcase_casestore::stream_name(reported.case_id);
        let base = reported.case_id.as_u128() << 8;
        let new_events: Vec<NewEvent> = history
            .iter()
            .enumerate()
            .map(|(i, event)| {
                let encoded = gridcase_domain::encode(event);
                NewEvent {
                    event_id: base | i as u128,
                    event_type: encoded.event_type.to_owned(),
                    schema_version: encoded.schema_version,
                    metadata: Metadata {
                        actor: Some("operator:bench-fill".to_owned()),
                        ..Metadata::default()
                    },
                    payload: encoded.payload,
                }
            })
            .collect();
        events += new_events.len() as u64;
        let store = store.clone();
        tasks.spawn(async move {
            let appended = store
                .append(&stream, ExpectedVersion::Any, new_events)
                .await;
            drop(permit);
            appended.map(|_| ())
        });
        while let Some(done) = tasks.try_join_next() {
            done??;
        }
        if index > first && (index - first).is_multiple_of(50_000) {
            eprint!("\rfilling the store: {}/{count} cases", index - first);
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    eprintln!();
    Ok(Filled {
        events,
        seconds: started.elapsed().as_secs_f64(),
    })
}
