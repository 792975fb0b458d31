//! The room's rules as the journal itself judges them, at the instant an
//! intent is written: one change of a service at a time, and a rollback
//! only inside the cooldown and the rollback limit counted over every row
//! of the room — whichever console, command or driver wrote them. Each
//! console judges the same rules from what it has seen (`decision`), to
//! show them and to decide; the journal judges them from everything, so
//! two consoles together cannot do what neither may alone.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::decision::{Block, Policy, RollbackRecord, count_guard};
use crate::time::Ts;

/// The guards a rollback (a switch or a revert) is written under: its
/// intent carries them, so the journal judges it with the service's own
/// policy, and the record says what held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guard {
    pub cooldown_ms: u64,
    pub max_rollbacks: u32,
    pub window_ms: u64,
}

impl Guard {
    pub fn of(policy: &Policy) -> Guard {
        Guard {
            cooldown_ms: policy.cooldown.as_millis() as u64,
            max_rollbacks: policy.max_rollbacks,
            window_ms: policy.rollback_window.as_millis() as u64,
        }
    }

    /// How far back the rollbacks that can matter go.
    pub fn reach(&self) -> Duration {
        Duration::from_millis(self.cooldown_ms.max(self.window_ms))
    }

    fn policy(&self) -> Policy {
        Policy {
            cooldown: Duration::from_millis(self.cooldown_ms),
            max_rollbacks: self.max_rollbacks,
            rollback_window: Duration::from_millis(self.window_ms),
            ..Policy::default()
        }
    }
}

/// A change of the service whose intent has no outcome yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    pub intent: i64,
    pub operator: String,
    pub text: String,
}

/// Whether the journal takes an intent for a service now: nothing of the
/// service is still without an outcome (in flight on another console, or
/// interrupted and not yet resolved), and a rollback (`guard`) is outside
/// the cooldown and under the limit of `rollbacks` (the instants of every
/// rollback of the service that succeeded, from every row of the room).
pub fn judge(
    service: &str,
    open: &[Open],
    rollbacks: &[Ts],
    guard: Option<&Guard>,
    now: Ts,
) -> Result<(), String> {
    if let Some(o) = open.first() {
        return Err(format!(
            "a change of {service} has no outcome yet — {} by {} (row {}): it is in flight on another console, or was interrupted and must be resolved first",
            o.text, o.operator, o.intent
        ));
    }
    let Some(g) = guard else {
        return Ok(());
    };
    let records: Vec<RollbackRecord> = rollbacks
        .iter()
        .map(|at| RollbackRecord {
            at: *at,
            from: String::new(),
            to: String::new(),
            by: String::new(),
        })
        .collect();
    count_guard(&g.policy(), &records, now).map_err(|b| match b {
        Block::Cooldown { .. } | Block::MaxRollbacks { .. } => {
            format!(
                "{service}: {} (judged from every row of the room)",
                b.describe(now)
            )
        }
        other => other.describe(now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn guard() -> Guard {
        Guard::of(&Policy::default())
    }

    #[test]
    fn one_change_at_a_time_and_the_guards_of_every_row() {
        let now = Ts(100 * MIN);
        assert_eq!(judge("web", &[], &[], Some(&guard()), now), Ok(()));
        let open = [Open {
            intent: 7,
            operator: "alice".into(),
            text: "switch traffic of web".into(),
        }];
        let e = judge("web", &open, &[], None, now).unwrap_err();
        assert!(e.contains("no outcome yet") && e.contains("row 7"), "{e}");
        // Cooldown (5 minutes by default) from a rollback another console made.
        let e = judge("web", &[], &[Ts(98 * MIN)], Some(&guard()), now).unwrap_err();
        assert!(e.starts_with("web: cooldown: 3m left"), "{e}");
        // Not a rollback: no cooldown to keep.
        assert_eq!(judge("web", &[], &[Ts(98 * MIN)], None, now), Ok(()));
        // Three in the window (24 h by default): the limit.
        let three = [Ts(10 * MIN), Ts(20 * MIN), Ts(30 * MIN)];
        let e = judge("web", &[], &three, Some(&guard()), now).unwrap_err();
        assert!(e.contains("3 rollbacks in the last 24h"), "{e}");
        assert_eq!(
            judge("web", &[], &three[..2], Some(&guard()), now),
            Ok(()),
            "two are under the limit"
        );
    }

    #[test]
    fn a_guard_travels_as_json_and_reaches_back_far_enough() {
        let g = guard();
        let back: Guard = serde_json::from_value(serde_json::to_value(g).unwrap()).unwrap();
        assert_eq!(back, g);
        assert_eq!(g.reach(), Duration::from_secs(24 * 3600));
    }
}
