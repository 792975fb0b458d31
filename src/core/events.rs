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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub at: Ts,
    /// What it concerns: `web/green`, `web`, or `backstop`.
    pub scope: String,
    pub text: String,
    pub level: Level,
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
        if self.entries.len() == Self::CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(Event {
            at,
            scope: scope.into(),
            text: text.into(),
            level,
        });
        self.total += 1;
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
