//! A comparison rule's trial: where its evidence starts, and how the
//! canary's failures ran lately.

use super::{Comparison, Tally};
use crate::time::Ts;

/// One comparison rule's trial: what the two sides had served when it
/// began, so that the test sees only what came after (the sequence of
/// evidence starts there), and how the outcome has run since.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    /// What starts a new trial when it changes: the canary and the
    /// baseline, and their shares.
    pub key: String,
    /// The two environments' names, for the explanation.
    pub canary: String,
    pub baseline: String,
    pub since: Ts,
    pub canary_start: Tally,
    pub baseline_start: Tally,
    pub last: Option<Comparison>,
    /// The requests each side had served at `last`.
    pub served: (u64, u64),
    pub inconclusive_since: Option<Ts>,
    /// The canary's failures in the trial so far, and when they grew
    /// lately (bounded): to tell a burst that stopped from failures that
    /// go on.
    failures: u64,
    grew: std::collections::VecDeque<Ts>,
}

impl Trial {
    pub fn new(
        key: String,
        names: (String, String),
        since: Ts,
        canary: Tally,
        baseline: Tally,
    ) -> Trial {
        Trial {
            key,
            canary: names.0,
            baseline: names.1,
            since,
            canary_start: canary,
            baseline_start: baseline,
            last: None,
            served: (0, 0),
            inconclusive_since: None,
            failures: 0,
            grew: std::collections::VecDeque::new(),
        }
    }

    /// Note the canary's failures so far at `now`, remembering when they
    /// grew for `keep`.
    pub fn note_failures(&mut self, now: Ts, failures: u64, keep: std::time::Duration) {
        if failures > self.failures {
            self.grew.push_back(now);
        }
        self.failures = failures;
        while self.grew.front().is_some_and(|at| now.since(*at) >= keep) {
            self.grew.pop_front();
        }
    }

    /// Did the canary fail within the last `span` (at most `keep`)?
    pub fn failed_within(&self, now: Ts, span: std::time::Duration) -> bool {
        self.grew.iter().any(|at| now.since(*at) < span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_within_a_span() {
        let mut t = Trial::new(
            "k".into(),
            ("green".into(), "blue".into()),
            Ts(0),
            Tally::default(),
            Tally::default(),
        );
        let keep = std::time::Duration::from_secs(10);
        let five = std::time::Duration::from_secs(5);
        t.note_failures(Ts(0), 0, keep);
        t.note_failures(Ts(3000), 2, keep);
        t.note_failures(Ts(6000), 2, keep);
        assert!(t.failed_within(Ts(6000), five), "failed at 3 s");
        t.note_failures(Ts(9000), 2, keep);
        assert!(!t.failed_within(Ts(9000), five), "nothing since 3 s");
        t.note_failures(Ts(10_000), 3, keep);
        assert!(t.failed_within(Ts(10_000), five));
    }
}
