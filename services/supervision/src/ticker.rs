//! The ticker: every tick, finds the due timers in the table and records warnings, breaches
//! and escalations.
//!
//! Command ids derive from (case, stage, deadline, kind), so a restart — or a table that has not
//! yet seen the events the ticker itself wrote — never records a warning, breach or escalation
//! twice: the case store recognises a command id already in the stream.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gridcase_casestore::ids::{command_id, legacy};
use gridcase_casestore::people::PeopleStore;
use gridcase_casestore::{CaseError, CaseStore, CommandContext};
use gridcase_config::ReferenceData;
use gridcase_domain::{
    CaseId, CaseState, CaseStatus, Command, DeadlineStage, DomainError, Timestamp,
};
use gridcase_eventstore::EventStore;

use crate::table::CaseTable;
use gridcase_rules::deadlines::{self as timers, Due, Timer};

/// The actor of the commands the timers record.
pub const TIMER_ACTOR: &str = "supervision:timer";

/// What a timer command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `WarnDeadline`.
    Warn,
    /// `BreachDeadline`.
    Breach,
    /// `Escalate` after a breach.
    Escalate,
}

impl Kind {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Warn => "warn",
            Self::Breach => "breach",
            Self::Escalate => "escalate",
        }
    }
}

/// The context of `kind` for the deadline (`stage`, `deadline`) of `case`: one command per
/// deadline and kind, however often the ticker finds it due.
pub fn timer_context(
    case: CaseId,
    stage: DeadlineStage,
    deadline: Timestamp,
    kind: Kind,
) -> CommandContext {
    let command_id = command_id(
        crate::SERVICE,
        &[
            b"timer",
            &case.to_bytes(),
            stage.as_str().as_bytes(),
            &deadline.as_millis().to_be_bytes(),
            kind.as_str().as_bytes(),
        ],
    );
    CommandContext::new(command_id, TIMER_ACTOR).also_known_as(legacy::supervision_timer(
        case,
        stage,
        deadline,
        kind.as_str(),
    ))
}

/// The context of the escalation of `case` to rung `level` of the ladder.
pub fn escalation_context(case: CaseId, level: u8) -> CommandContext {
    let command_id = command_id(crate::SERVICE, &[b"escalation", &case.to_bytes(), &[level]]);
    CommandContext::new(command_id, TIMER_ACTOR)
        .also_known_as(legacy::supervision_escalation(case, level))
}

/// Records what due timers ask for.
#[derive(Debug)]
pub struct Ticker<S> {
    cases: CaseStore<S>,
    reference: Arc<ReferenceData>,
    table: Arc<CaseTable>,
    /// Command ids this process has carried out (or found refused for good), by case; saves
    /// loading the case again while the table has not caught up with the events written. Kept
    /// only for the cases still due, so it holds nothing for a case the table has moved on.
    done: HashMap<CaseId, HashSet<u128>>,
    /// Households under care (敲门行动), warned of visits due and overdue.
    people: PeopleStore<S>,
    /// The visit warning last carried out per household still due.
    warned: HashMap<gridcase_domain::HouseholdId, u128>,
}

impl<S: EventStore> Ticker<S> {
    /// A ticker acting on cases in `store`, reading timers from `table`.
    pub fn new(store: S, reference: Arc<ReferenceData>, table: Arc<CaseTable>) -> Self {
        Self {
            people: PeopleStore::new(store.clone()),
            cases: CaseStore::new(store),
            reference,
            table,
            done: HashMap::new(),
            warned: HashMap::new(),
        }
    }

    /// Ticks every `period` until `shutdown`, starting once the table has folded the log as it
    /// stood at start: a table still replaying history would take long-accepted cases for
    /// dispatched ones.
    pub async fn run(mut self, period: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        tokio::select! {
            () = &mut shutdown => return,
            () = self.wait_caught_up() => {}
        }
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = interval.tick() => {}
            }
            // A tick with many cases due while the store does not answer can take long: it
            // gives way to the shutdown. Whatever it had not recorded is recorded by the next
            // start, under the same command ids.
            tokio::select! {
                () = &mut shutdown => break,
                () = self.tick(gridcase_runtime::now()) => {}
            }
        }
        tracing::debug!("ticker stopped");
    }

    async fn wait_caught_up(&self) {
        let mut backoff = gridcase_bus::retry::Backoff::new();
        let heads = loop {
            match self.cases.store().heads().await {
                Ok(heads) => break heads,
                Err(error) => {
                    tracing::warn!(%error, "reading the store's heads; trying again");
                    backoff.wait().await;
                }
            }
        };
        let behind = |(shard, head): (usize, &u64)| self.table.position(shard) < *head;
        while heads.iter().enumerate().any(behind) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let head: u64 = heads.iter().sum();
        tracing::info!(head, shards = ?heads, "timer table caught up; ticking");
    }

    /// Records everything due at `now`: the cases' deadlines, then the visits'.
    pub async fn tick(&mut self, now: Timestamp) {
        self.tick_cases(now).await;
        match self.table.households_due_by(now) {
            Ok(due) => {
                crate::care::warn(&self.people, &self.reference, due, now, &mut self.warned).await;
            }
            Err(error) => {
                tracing::error!(%error, "reading the due visits; trying at the next tick");
            }
        }
    }

    async fn tick_cases(&mut self, now: Timestamp) {
        let due = match self.table.due_by(now) {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "reading the due timers; trying at the next tick");
                return;
            }
        };
        let due_cases: HashSet<CaseId> = due.iter().map(|(case, _)| *case).collect();
        self.done.retain(|case, _| due_cases.contains(case));
        for (case, state) in due {
            let mut breached = false;
            for timer in timers::running(&state, &self.reference) {
                match timers::due(&state, &timer, now) {
                    Due::Nothing => {}
                    Due::Warn => {
                        let reference = Arc::clone(&self.reference);
                        let context = timer_context(case, timer.stage, timer.deadline, Kind::Warn);
                        self.once(case, context, Kind::Warn, |fresh| {
                            still_running(fresh, &reference, &timer, "warn")?;
                            Ok(Command::WarnDeadline {
                                stage: timer.stage,
                                deadline: timer.deadline,
                            })
                        })
                        .await;
                    }
                    Due::Breach => {
                        let reference = Arc::clone(&self.reference);
                        let context =
                            timer_context(case, timer.stage, timer.deadline, Kind::Breach);
                        let outcome = self
                            .once(case, context, Kind::Breach, |fresh| {
                                still_running(fresh, &reference, &timer, "breach")?;
                                Ok(Command::BreachDeadline {
                                    stage: timer.stage,
                                    deadline: timer.deadline,
                                })
                            })
                            .await;
                        if outcome == Outcome::Recorded {
                            breached = true;
                            metrics::counter!("supervision_breaches_total").increment(1);
                        }
                    }
                }
            }
            // One rung at a time, when its time has come; a breach just recorded may bring
            // the first (the escalation decides on the case as it now is).
            if breached || timers::rung_due(&state, &self.reference, now) {
                self.climb(case, state.escalation_level.saturating_add(1), now)
                    .await;
            }
        }
    }

    /// Escalates `case` to rung `level` of the ladder if its current state has that rung due.
    async fn climb(&mut self, case: CaseId, level: u8, now: Timestamp) {
        let reference = Arc::clone(&self.reference);
        let context = escalation_context(case, level);
        self.once(case, context, Kind::Escalate, |fresh: &CaseState| {
            if fresh.escalation_level.saturating_add(1) != level
                || !timers::rung_due(fresh, &reference, now)
            {
                return Err(DomainError::WrongStatus {
                    action: "escalate",
                    status: fresh.status.unwrap_or(CaseStatus::Reported),
                    expected: "due for this rung of the escalation ladder",
                });
            }
            timers::escalation_target(fresh, &reference)
                .map(|to| Command::Escalate { to, at: now })
                .ok_or(DomainError::EscalationLimit {
                    level: fresh.escalation_level,
                })
        })
        .await;
    }

    /// Executes the command `make` builds from the case's current state under `context`,
    /// once: what became of it.
    async fn once(
        &mut self,
        case: CaseId,
        context: CommandContext,
        kind: Kind,
        make: impl Fn(&CaseState) -> Result<Command, DomainError>,
    ) -> Outcome {
        let command_id = context.command_id;
        if self
            .done
            .get(&case)
            .is_some_and(|done| done.contains(&command_id))
        {
            return Outcome::Recorded;
        }
        let executed = self
            .cases
            .execute(case, &context, |state| make(state).map_err(CaseError::from))
            .await;
        match executed {
            Ok(executed) => {
                if !executed.repeated && !executed.events.is_empty() {
                    tracing::info!(
                        case = %case,
                        kind = kind.as_str(),
                        version = executed.version,
                        "deadline action recorded"
                    );
                }
                self.done.entry(case).or_default().insert(command_id);
                Outcome::Recorded
            }
            Err(CaseError::Domain(error)) => {
                // The case moved on (accepted, resolved, closed) or cannot climb further. Not
                // remembered for a warning or a breach: a reopened case can run the same
                // deadline again. A refused rung stays refused: the rung a case stands on only
                // grows.
                tracing::debug!(case = %case, kind = kind.as_str(), %error, "deadline action skipped");
                if kind == Kind::Escalate {
                    self.done.entry(case).or_default().insert(command_id);
                }
                Outcome::Refused
            }
            Err(error) => {
                tracing::warn!(case = %case, kind = kind.as_str(), %error, "deadline action failed; trying again");
                Outcome::Failed
            }
        }
    }
}

/// What became of a timer's command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// It is in the case's stream (recorded now or before).
    Recorded,
    /// The case's current state refuses it.
    Refused,
    /// It could not be tried (the store was unreachable); the next tick tries again.
    Failed,
}

/// Refuses a warning or breach of `timer` unless the deadline still runs in `state` — the
/// case's state as just read from its stream, which the table may lag behind.
fn still_running(
    state: &CaseState,
    reference: &ReferenceData,
    timer: &Timer,
    action: &'static str,
) -> Result<(), DomainError> {
    let running = timers::running(state, reference)
        .iter()
        .any(|t| t.stage == timer.stage && t.deadline == timer.deadline);
    if running {
        Ok(())
    } else {
        Err(DomainError::WrongStatus {
            action,
            status: state.status.unwrap_or(CaseStatus::Reported),
            expected: "running this deadline",
        })
    }
}
