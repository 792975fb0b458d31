//! Escalation: who is paged, in which order, and how long each level has
//! to acknowledge before the next one is paged (`[escalation]`), and where
//! the paging of one service stands. The pager itself (PagerDuty, Opsgenie,
//! a command) is the shell's; what is paged when is decided here.

use std::time::Duration;

use crate::time::Ts;

/// The chain, as the console shows and follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// How it is paged, for previews (`PagerDuty: payments on-call, then
    /// DBA on-call`); never a secret.
    pub via: String,
    pub levels: Vec<Level>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    pub name: String,
    /// Unacknowledged this long: the next level is paged (`None` on the last).
    pub after: Option<Duration>,
}

/// What a page asks of the pager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageAct {
    Trigger,
    /// The incident is over: the pager's incident is resolved.
    Resolve,
}

impl PageAct {
    pub fn word(self) -> &'static str {
        match self {
            PageAct::Trigger => "trigger",
            PageAct::Resolve => "resolve",
        }
    }
}

/// Where a level's page is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Asked of the pager; no answer yet.
    Sending,
    /// The pager took it.
    Sent,
    /// The pager refused it, or could not be reached: nobody was paged.
    Failed(String),
}

/// The paging of one service's incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paging {
    /// The deduplication key: one pager incident per backstop incident.
    pub key: String,
    pub incident: Option<i64>,
    /// The level paged last (0: the first).
    pub level: usize,
    /// When it was paged.
    pub at: Ts,
    pub sent: Sent,
    /// Who acknowledged it, and when (as the pager says).
    pub acked: Option<(String, Ts)>,
    /// The pager's incident was resolved.
    pub resolved: bool,
    /// When the acknowledgement is next read.
    pub next_read: Ts,
    /// When it was last asked for, and last read as not (or not knowably)
    /// acknowledged: a level is escalated past only on a read made after
    /// its wait ended, never on one from before.
    pub asked: Option<Ts>,
    pub read: Option<Ts>,
    /// Its incident ended without completing (abandoned): nothing more is
    /// read or paged by itself; the pager's incident is left to people.
    pub over: bool,
    /// Why acknowledgements cannot be read, while they cannot.
    pub unreadable: Option<String>,
    pub severity: u8,
    pub summary: String,
}

/// How often an unacknowledged page's acknowledgement is read.
pub const READ_EVERY: Duration = Duration::from_secs(10);

impl Paging {
    /// Waiting for an acknowledgement: paged, not acknowledged, not over.
    pub fn waiting(&self) -> bool {
        self.sent == Sent::Sent && self.acked.is_none() && !self.resolved && !self.over
    }

    /// When the next level is paged if nobody acknowledges, and who that is.
    pub fn escalates<'c>(&self, chain: &'c Chain) -> Option<(Ts, &'c Level)> {
        if !self.waiting() {
            return None;
        }
        let after = chain.levels.get(self.level)?.after?;
        let next = chain.levels.get(self.level + 1)?;
        Some((self.at.plus(after), next))
    }
}

/// What reading a page's acknowledgement found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckRead {
    Acked { by: String, at: Ts },
    NotYet,
    Unreadable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_page_escalates_after_its_levels_wait_and_the_last_level_does_not() {
        let chain = Chain {
            via: "PagerDuty".into(),
            levels: vec![
                Level {
                    name: "payments on-call".into(),
                    after: Some(Duration::from_secs(300)),
                },
                Level {
                    name: "DBA on-call".into(),
                    after: None,
                },
            ],
        };
        let mut p = Paging {
            key: "backstop/room/web/12".into(),
            incident: Some(12),
            level: 0,
            at: Ts(1000),
            sent: Sent::Sending,
            acked: None,
            resolved: false,
            next_read: Ts(1000),
            asked: None,
            read: None,
            over: false,
            unreadable: None,
            severity: 1,
            summary: "SEV1 web".into(),
        };
        assert_eq!(p.escalates(&chain), None, "not sent yet");
        p.sent = Sent::Sent;
        let (at, next) = p.escalates(&chain).unwrap();
        assert_eq!((at, next.name.as_str()), (Ts(301_000), "DBA on-call"));
        p.level = 1;
        assert_eq!(p.escalates(&chain), None, "the chain ends");
        p.level = 0;
        p.acked = Some(("alice".into(), Ts(2000)));
        assert_eq!(p.escalates(&chain), None, "acknowledged");
    }
}
