//! Talking during an incident: its severity, and the cadence of updates to
//! the team (reference 003: the first message within a minute, then one
//! every 5 minutes — progress, current status, ETA — until it is resolved).
//!
//! This is the incident's own record, kept with its checklist: the classes
//! it is measured against (`severity::Class`) are the team's configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::Ts;

/// How bad an incident is, and who said so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Severity {
    /// 1 is the worst.
    pub level: u8,
    /// The rule's reason, or the reason a person gave.
    pub why: String,
    /// Who declared it; `None` while it is only the rule's proposal.
    pub by: Option<String>,
    pub at: Ts,
}

impl Severity {
    /// `SEV1`, and `SEV1?` while nobody has declared it.
    pub fn label(&self) -> String {
        let proposed = if self.by.is_none() { "?" } else { "" };
        format!("SEV{}{proposed}", self.level)
    }
}

/// An update the team was sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    pub at: Ts,
    pub by: String,
    /// How late it was, if the cadence asked for it earlier.
    pub late: Option<Duration>,
}

/// The incident's communication: its severity and the updates sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comms {
    pub severity: Option<Severity>,
    /// Every message sent to the team: the checklist's and the updates.
    pub updates: Vec<Update>,
    /// When the incident opened: the first update is due an interval after.
    pub opened: Option<Ts>,
}

/// Where the cadence stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cadence {
    /// No cadence: no severity, or a class without one.
    None,
    /// The next update is due in this long.
    In(Duration),
    /// The update is late by this long.
    Late(Duration),
}

impl Comms {
    pub fn opened(at: Ts) -> Self {
        Comms {
            opened: Some(at),
            ..Comms::default()
        }
    }

    /// When the next update is due, updates every `every`: an interval
    /// after the last one (or after the opening). Changing the severity
    /// changes `every`, and so the due time, at once.
    pub fn due(&self, every: Option<Duration>) -> Option<Ts> {
        self.severity.as_ref()?;
        let last = self.updates.last().map(|u| u.at).or(self.opened)?;
        Some(last.plus(every?))
    }

    pub fn cadence(&self, every: Option<Duration>, now: Ts) -> Cadence {
        match self.due(every) {
            None => Cadence::None,
            Some(due) if now < due => Cadence::In(due.since(now)),
            Some(due) => Cadence::Late(now.since(due)),
        }
    }

    /// Record an update sent at `at`, and how late it was.
    pub fn sent(&mut self, at: Ts, by: &str, every: Option<Duration>) {
        let late = self
            .due(every)
            .filter(|due| at > *due)
            .map(|due| at.since(due));
        self.updates.push(Update {
            at,
            by: by.to_string(),
            late,
        });
    }

    /// Updates that came late, and whether one is late now.
    pub fn missed(&self, every: Option<Duration>, now: Ts) -> usize {
        let late_now = matches!(self.cadence(every, now), Cadence::Late(_));
        self.updates.iter().filter(|u| u.late.is_some()).count() + usize::from(late_now)
    }
}

impl Cadence {
    /// `update in 4m`, `update due`, `update 2m late`: minutes only, so the
    /// line changes once a minute (a ticking second costs bandwidth over SSH).
    pub fn words(self) -> Option<String> {
        let minutes = |d: Duration| d.as_secs() / 60;
        match self {
            Cadence::None => None,
            Cadence::In(d) if d.as_secs() < 60 => Some("update in <1m".into()),
            Cadence::In(d) => Some(format!("update in {}m", minutes(d) + 1)),
            Cadence::Late(d) if d.as_secs() < 60 => Some("UPDATE DUE".into()),
            Cadence::Late(d) => Some(format!("UPDATE {}m LATE", minutes(d))),
        }
    }

    pub fn is_late(self) -> bool {
        matches!(self, Cadence::Late(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE: Option<Duration> = Some(Duration::from_secs(300));

    fn sev(level: u8) -> Severity {
        Severity {
            level,
            why: "x".into(),
            by: Some("alice".into()),
            at: Ts(0),
        }
    }

    #[test]
    fn due_an_interval_after_the_last_update_and_late_after() {
        let mut c = Comms::opened(Ts(0));
        assert_eq!(c.due(FIVE), None, "no severity: no cadence");
        c.severity = Some(sev(1));
        assert_eq!(c.due(FIVE), Some(Ts(300_000)));
        assert_eq!(
            c.cadence(FIVE, Ts(10_000)),
            Cadence::In(Duration::from_secs(290))
        );
        assert_eq!(
            c.cadence(FIVE, Ts(10_000)).words().as_deref(),
            Some("update in 5m")
        );
        assert_eq!(
            c.cadence(FIVE, Ts(299_500)).words().as_deref(),
            Some("update in <1m")
        );
        assert_eq!(
            c.cadence(FIVE, Ts(300_000)).words().as_deref(),
            Some("UPDATE DUE")
        );
        assert_eq!(
            c.cadence(FIVE, Ts(430_000)).words().as_deref(),
            Some("UPDATE 2m LATE")
        );
        assert_eq!(c.missed(FIVE, Ts(430_000)), 1);
        c.sent(Ts(430_000), "alice", FIVE);
        assert_eq!(c.updates[0].late, Some(Duration::from_secs(130)));
        assert_eq!(c.due(FIVE), Some(Ts(730_000)));
        assert_eq!(c.missed(FIVE, Ts(500_000)), 1, "the late one still counts");
        c.sent(Ts(600_000), "bob", FIVE);
        assert_eq!(c.updates[1].late, None);
    }

    #[test]
    fn a_class_without_a_cadence_is_never_late() {
        let mut c = Comms::opened(Ts(0));
        c.severity = Some(sev(3));
        assert_eq!(c.cadence(None, Ts(99_000_000)), Cadence::None);
        assert_eq!(c.missed(None, Ts(99_000_000)), 0);
    }

    #[test]
    fn a_proposal_is_marked_until_declared() {
        let mut s = sev(2);
        assert_eq!(s.label(), "SEV2");
        s.by = None;
        assert_eq!(s.label(), "SEV2?");
    }
}
