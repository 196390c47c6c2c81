//! A case's colour (green, yellow, red) against its deadlines, at any moment.

use gridcase_config::ReferenceData;
use gridcase_domain::{CaseState, Timestamp};
use serde::{Deserialize, Serialize};

use super::running;

/// A case's standing against its deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Colour {
    /// Nothing near, past, warned or breached.
    #[default]
    Green,
    /// Warned (or at a warning point), not breached.
    Yellow,
    /// Breached (or past a running deadline).
    Red,
}

impl Colour {
    /// Every colour, best first.
    pub const ALL: [Colour; 3] = [Colour::Green, Colour::Yellow, Colour::Red];

    /// `"green"`, `"yellow"` or `"red"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Yellow => "yellow",
            Colour::Red => "red",
        }
    }

    /// Parses `"green"`, `"yellow"` or `"red"`.
    pub fn parse(text: &str) -> Option<Colour> {
        Colour::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// The colour of `state` at `now`: red if a breach is recorded or a running deadline has
/// passed; yellow if a warning is recorded or a running deadline reached its warning point;
/// green otherwise.
pub fn colour(state: &CaseState, reference: &ReferenceData, now: Timestamp) -> Colour {
    ColourClock::of(state, reference).at(now)
}

/// A case's colour as a function of time until its next event: the colour its recorded
/// warnings and breaches give it, turning yellow at its earliest running warning point and red
/// at its earliest running deadline. Worked out once per event, it answers [`colour`] for any
/// moment with two comparisons.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColourClock {
    recorded: Colour,
    yellow_at: Option<Timestamp>,
    red_at: Option<Timestamp>,
}

impl ColourClock {
    /// The clock of `state` under `reference`'s SLA policies.
    pub fn of(state: &CaseState, reference: &ReferenceData) -> Self {
        let recorded = if !state.deadline_breaches.is_empty() {
            Colour::Red
        } else if !state.deadline_warnings.is_empty() {
            Colour::Yellow
        } else {
            Colour::Green
        };
        let timers = running(state, reference);
        Self {
            recorded,
            yellow_at: timers.iter().map(|t| t.warn_at).min(),
            red_at: timers.iter().map(|t| t.deadline).min(),
        }
    }

    /// The colour at `now`.
    pub fn at(&self, now: Timestamp) -> Colour {
        let passed = |moment: Option<Timestamp>| moment.is_some_and(|m| now >= m);
        if self.recorded == Colour::Red || passed(self.red_at) {
            Colour::Red
        } else if self.recorded == Colour::Yellow || passed(self.yellow_at) {
            Colour::Yellow
        } else {
            Colour::Green
        }
    }

    /// The first moment after `now` at which [`ColourClock::at`] gives another colour; `None`
    /// if it stays as it is until the case's next event.
    pub fn next_change(&self, now: Timestamp) -> Option<Timestamp> {
        let ahead = |moment: Option<Timestamp>| moment.filter(|m| *m > now);
        match self.at(now) {
            Colour::Red => None,
            Colour::Yellow => ahead(self.red_at),
            Colour::Green => [ahead(self.yellow_at), ahead(self.red_at)]
                .into_iter()
                .flatten()
                .min(),
        }
    }
}
