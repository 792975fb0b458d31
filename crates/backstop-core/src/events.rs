//! The event log: state transitions with timestamps, newest last, bounded.

use std::collections::VecDeque;

use super::time::Ts;

/// How an event reads at a glance (and which colour it gets, when there is colour).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Good,
    Warn,
    Bad,
}

/// What an event is about, for the journal and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Info,
    /// An environment's health changed.
    Health,
    /// A rule changed state.
    Rule,
    /// A decision changed.
    Decision,
    /// Traffic weights were read or changed.
    Traffic,
    /// A deployment changed: a new revision, a rollout done or failed.
    Deploy,
    /// A checklist step started or finished.
    Step,
    /// An incident opened, was verified recovered, or closed.
    Incident,
    /// A note the operator wrote.
    Note,
    /// A message sent to the team.
    Message,
    /// A drill: a fault injected or cleared, a scenario's step.
    Drill,
    /// What another console on the journal did (the war room): shown, and
    /// never journaled again — it is in the journal already.
    Room,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Info => "info",
            Kind::Health => "health",
            Kind::Rule => "rule",
            Kind::Decision => "decision",
            Kind::Traffic => "traffic",
            Kind::Deploy => "deploy",
            Kind::Step => "step",
            Kind::Incident => "incident",
            Kind::Note => "note",
            Kind::Message => "message",
            Kind::Drill => "drill",
            Kind::Room => "room",
        }
    }
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Good => "good",
            Level::Warn => "warn",
            Level::Bad => "bad",
        }
    }
}

/// What an event states as data beside its words, for the journal (reports
/// count from it, never from the text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    /// An environment's service now points at another revision (a deploy,
    /// or a revert, as the deploy provider read it).
    Deploy {
        env: String,
        from: String,
        to: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub at: Ts,
    /// What it concerns: `web/green`, `web`, or `backstop`.
    pub scope: String,
    pub text: String,
    pub level: Level,
    pub kind: Kind,
    pub detail: Option<Detail>,
}

/// The last [`EventLog::CAPACITY`] events. Older ones live in the journal,
/// not in memory: the console may run for weeks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventLog {
    entries: VecDeque<Event>,
    /// Events ever recorded, including those dropped from memory.
    total: u64,
}

impl EventLog {
    pub const CAPACITY: usize = 2000;

    pub fn push(
        &mut self,
        at: Ts,
        scope: impl Into<String>,
        level: Level,
        text: impl Into<String>,
    ) {
        self.push_kind(at, scope, level, Kind::Info, text);
    }

    pub fn push_kind(
        &mut self,
        at: Ts,
        scope: impl Into<String>,
        level: Level,
        kind: Kind,
        text: impl Into<String>,
    ) {
        self.push_event(Event {
            at,
            scope: scope.into(),
            text: text.into(),
            level,
            kind,
            detail: None,
        });
    }

    pub fn push_event(&mut self, event: Event) {
        if self.entries.len() == Self::CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(event);
        self.total += 1;
    }

    /// The events recorded after the first `seen` (of all ever recorded), as
    /// far as memory still holds them: what a journal has not written yet.
    pub fn since(&self, seen: u64) -> impl Iterator<Item = &Event> {
        let new = self.total.saturating_sub(seen) as usize;
        let skip = self.entries.len().saturating_sub(new);
        self.entries.iter().skip(skip)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Event> + ExactSizeIterator {
        self.entries.iter()
    }

    pub fn last(&self) -> Option<&Event> {
        self.entries.back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest() {
        let mut log = EventLog::default();
        for i in 0..(EventLog::CAPACITY as i64 + 10) {
            log.push(Ts(i), "web", Level::Info, format!("e{i}"));
        }
        assert_eq!(log.len(), EventLog::CAPACITY);
        assert_eq!(log.total(), EventLog::CAPACITY as u64 + 10);
        assert_eq!(log.iter().next().map(|e| e.text.as_str()), Some("e10"));
    }
}
