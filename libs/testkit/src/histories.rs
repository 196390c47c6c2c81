//! Random case histories for tests of read models: each case's life decided by the domain's
//! own rules as far as a deterministic die lets it get (some returned, some never closed),
//! interleaved into one log as a real log interleaves them.

use gridcase_config::ReferenceData;
use gridcase_domain::{
    apply, decide, Address, CaseId, CaseState, Channel, Command, Contact, Description, Event,
    GridCode, GridLevel, Location, Note, Phone, Reporter, Timestamp, TrackingCode, WorkerId,
};
use gridcase_eventstore::{Metadata, RecordedEvent};

/// One hour, in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;

/// A small deterministic generator (xorshift), so a failure replays.
#[derive(Debug, Clone)]
pub struct Dice(pub u64);

impl Dice {
    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// The commands of one case's life, as far as `dice` lets it get, from `reported_ms`.
pub fn life(dice: &mut Dice, reference: &ReferenceData, n: u64, now_ms: i64) -> Vec<Command> {
    let grids: Vec<GridCode> = reference
        .grids()
        .filter(|g| matches!(g.code.level(), GridLevel::Grid | GridLevel::MicroGrid))
        .map(|g| g.code)
        .collect();
    let categories: Vec<_> = reference
        .categories()
        .filter_map(|c| Some((c.code, reference.default_route(&c.code)?)))
        .collect();
    let (category, route) = categories[dice.below(categories.len())].clone();
    let reported_at =
        Timestamp::from_millis(now_ms - i64::try_from(dice.below(72)).unwrap() * HOUR_MS - 1_000);
    let mut commands = vec![Command::Report {
        case_id: CaseId::from_u128(u128::from(n) + 1),
        tracking_code: TrackingCode::from_u64(n + 1),
        channel: Channel::Hotline,
        reporter: Contact::clear(Reporter {
            name: None,
            phone: Phone::parse("13812345678").ok(),
        }),
        location: Location::new(
            Some(grids[dice.below(grids.len())]),
            Some(Address::parse("解放路 3 号楼下").unwrap()),
            None,
        )
        .unwrap(),
        description: Description::parse("楼下井盖松了，踩上去晃得厉害").unwrap(),
        category: None,
        media: vec![],
        reported_at,
    }];
    let (assignee, participants) = (route.assignee(), route.participants().to_vec());
    // Deadlines from hours ago (red, overdue) to a day ahead (green).
    let accept = now_ms + (i64::try_from(dice.below(30)).unwrap() - 6) * HOUR_MS;
    let note = || Note::parse("已处理").unwrap();
    let worker = || WorkerId::parse("wang-li").unwrap();
    let rest = [
        Command::Triage {
            category,
            priority: gridcase_domain::Priority::Normal,
            route,
            triaged_by: None,
            model: None,
            priority_reason: None,
        },
        Command::Dispatch {
            assignee: assignee.clone(),
            participants,
            accept_deadline: Some(Timestamp::from_millis(accept)),
            resolve_deadline: Some(Timestamp::from_millis(accept + 24 * HOUR_MS)),
            report_in: None,
        },
        if dice.chance(15) {
            Command::Return {
                by: assignee.clone(),
                reason: Note::parse("不属于我们").unwrap(),
            }
        } else {
            Command::Accept {
                by: assignee.clone(),
            }
        },
        Command::Resolve {
            by: assignee,
            note: note(),
            evidence: vec![],
        },
        Command::Verify {
            by: worker(),
            note: None,
        },
        Command::RecordSatisfaction {
            resolved: true,
            satisfied: dice.chance(80),
            score: 4,
            comment: None,
        },
        Command::Close { by: None },
    ];
    let steps = dice.below(rest.len() + 1);
    commands.extend(rest.into_iter().take(steps));
    commands
}

/// `cases` random case histories interleaved into one log.
pub fn random_log(
    seed: u64,
    cases: u64,
    reference: &ReferenceData,
    now_ms: i64,
) -> Vec<RecordedEvent> {
    let mut dice = Dice(seed);
    let mut lives: Vec<(CaseId, CaseState, std::vec::IntoIter<Command>)> = (0..cases)
        .map(|n| {
            let case = CaseId::from_u128(u128::from(n) + 1);
            let commands = life(&mut dice, reference, n, now_ms);
            (case, CaseState::default(), commands.into_iter())
        })
        .collect();
    let mut log = Vec::new();
    while !lives.is_empty() {
        let at = dice.below(lives.len());
        let (case, state, commands) = &mut lives[at];
        let Some(command) = commands.next() else {
            lives.swap_remove(at);
            continue;
        };
        let Ok(events) = decide(state, command) else {
            lives.swap_remove(at);
            continue;
        };
        for event in events {
            *state = apply(std::mem::take(state), &event);
            log.push(record(
                *case,
                state.version,
                log.len() as u64,
                &event,
                now_ms,
            ));
        }
    }
    log
}

/// The log's record of `event`, the `version`th of `case`, at `position`.
pub fn record(
    case: CaseId,
    version: u64,
    position: u64,
    event: &Event,
    now_ms: i64,
) -> RecordedEvent {
    let encoded = gridcase_domain::encode(event);
    RecordedEvent {
        position,
        stream_id: gridcase_casestore::stream_name(case),
        stream_version: version.saturating_sub(1),
        event_id: u128::from(position) + 1,
        event_type: encoded.event_type.to_owned(),
        schema_version: encoded.schema_version,
        recorded_at_ms: now_ms - 1_000_000 + i64::try_from(position).unwrap(),
        metadata: Metadata::default(),
        payload: encoded.payload,
    }
}
