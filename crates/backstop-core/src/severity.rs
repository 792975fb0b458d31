//! The team's severity classes: what each means, how fast it must be
//! answered, how often the team hears, and the rollback it calls for. The
//! defaults are reference 002's three, with reference 003's cadence.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::runbook::RollbackType;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Class {
    /// 1 is the worst.
    pub level: u8,
    /// `critical`.
    pub name: String,
    /// When it applies, in the team's words.
    pub criteria: String,
    /// Respond within this long.
    pub respond_within: Duration,
    /// An update to the team this often (`None`: no cadence).
    pub update_every: Option<Duration>,
    /// The rollback type it calls for, where the service's rollbacks are
    /// typed (`None`: the rule chooses).
    pub rollback: Option<RollbackType>,
}

const MIN: u64 = 60;

/// Reference 002's classes, with reference 003's 5-minute updates for the
/// two that roll back at once.
pub fn defaults() -> Vec<Class> {
    let class =
        |level, name: &str, criteria: &str, within: u64, every: Option<u64>, rollback| Class {
            level,
            name: name.into(),
            criteria: criteria.into(),
            respond_within: Duration::from_secs(within * MIN),
            update_every: every.map(|m| Duration::from_secs(m * MIN)),
            rollback,
        };
    vec![
        class(
            1,
            "critical",
            "complete service outage, data loss: immediate rollback and escalation",
            5,
            Some(5),
            Some(RollbackType::Emergency),
        ),
        class(
            2,
            "high",
            "significant degradation of the version users are on: assess, roll back if needed",
            15,
            Some(5),
            None,
        ),
        class(
            3,
            "medium",
            "minor issues, limited user impact (a canary, latency): monitor and plan a fix",
            30,
            Some(30),
            None,
        ),
    ]
}

/// The class of `level`, if the team has one.
pub fn class(classes: &[Class], level: u8) -> Option<&Class> {
    classes.iter().find(|c| c.level == level)
}

/// How often the team hears under `level` (`None`: no cadence).
pub fn every(classes: &[Class], level: Option<u8>) -> Option<Duration> {
    class(classes, level?)?.update_every
}

/// The classes in a clock `speed` times the wall's (a drill's).
pub fn scaled(classes: &[Class], speed: f64) -> Vec<Class> {
    let s = |d: Duration| d.div_f64(speed.max(0.001));
    classes
        .iter()
        .map(|c| Class {
            respond_within: s(c.respond_within),
            update_every: c.update_every.map(s),
            ..c.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_references() {
        let d = defaults();
        assert_eq!(d.len(), 3);
        assert_eq!(class(&d, 1).map(|c| c.respond_within.as_secs()), Some(300));
        assert_eq!(every(&d, Some(2)), Some(Duration::from_secs(300)));
        assert_eq!(every(&d, None), None);
        assert_eq!(
            class(&d, 1).and_then(|c| c.rollback),
            Some(RollbackType::Emergency)
        );
        let fast = scaled(&d, 10.0);
        assert_eq!(every(&fast, Some(1)), Some(Duration::from_secs(30)));
    }
}
