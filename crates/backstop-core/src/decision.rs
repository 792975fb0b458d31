//! The rollback decision for one service, from its rules, with the guards of
//! the runbooks: a cooldown after a rollback (300 s), at most so many
//! rollbacks in a window (3), and never "rolling back" onto an environment
//! that is failing itself — that is an escalation, not a rollback.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::health::HealthStatus;
use super::rules::{RuleKind, RuleStatus};
use super::time::{self, Ts};

/// What backstop does when a rollback is warranted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Recommend; the operator decides.
    #[default]
    Advise,
    /// Roll back by itself when a rule fires and the guards allow.
    Auto,
    /// Show the rules, decide nothing.
    Off,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Advise => "advise",
            Mode::Auto => "auto",
            Mode::Off => "off",
        }
    }
}

/// A service's rollback policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub mode: Mode,
    pub cooldown: Duration,
    pub max_rollbacks: u32,
    /// The window `max_rollbacks` counts over.
    pub rollback_window: Duration,
    /// The environment to roll back to; otherwise the healthiest other one.
    pub stable: Option<String>,
    pub rules: Vec<RuleKind>,
    /// Rules on probation (`dry_run = true`): evaluated, shown and
    /// journaled, never deciding.
    pub dry_run: Vec<RuleKind>,
    /// The two-person rule: with 2, every change a checklist makes waits
    /// for a second person's approval from another console.
    pub approvals: u8,
    /// How long a change waits for its approval.
    pub approval_expiry: Duration,
    /// The driver may run a change without its approval, with a reason
    /// (loud in the journal and the report).
    pub allow_override: bool,
    /// A team on one shared login takes approvals from self-declared names
    /// (`--operator`): compared, and said so in the preview, the journal
    /// and the report. Otherwise (the default) an approval counts only
    /// from a second account the room vouches for.
    pub self_declared_approvers: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Advise,
            cooldown: Duration::from_secs(300),
            max_rollbacks: 3,
            rollback_window: Duration::from_secs(24 * 3600),
            stable: None,
            rules: RuleKind::defaults(),
            dry_run: Vec::new(),
            approvals: 1,
            approval_expiry: Duration::from_secs(120),
            allow_override: false,
            self_declared_approvers: false,
        }
    }
}

impl Policy {
    /// Every duration divided by `speed`, for drills run faster than life:
    /// a 60 s window at speed 4 is 15 s, and a blip that would not fire at
    /// 1× does not fire at 4× either (only the ratios decide).
    pub fn scaled(&self, speed: f64) -> Policy {
        let s = |d: Duration| Duration::from_secs_f64(d.as_secs_f64() / speed.max(0.001));
        let scale = |r: &RuleKind| match r.clone() {
            RuleKind::ErrorRate {
                threshold,
                window,
                hold,
                min_requests,
            } => RuleKind::ErrorRate {
                threshold,
                window: s(window),
                hold: s(hold),
                min_requests,
            },
            RuleKind::Latency {
                percentile,
                limit,
                window,
                hold,
                min_requests,
                floor_ms,
            } => RuleKind::Latency {
                percentile,
                limit,
                window: s(window),
                hold: s(hold),
                min_requests,
                floor_ms,
            },
            RuleKind::DegradedFor { duration } => RuleKind::DegradedFor {
                duration: s(duration),
            },
            RuleKind::Compare {
                test,
                hold,
                inconclusive_after,
                baseline,
            } => RuleKind::Compare {
                test,
                hold: s(hold),
                inconclusive_after: s(inconclusive_after),
                baseline,
            },
            other => other,
        };
        Policy {
            cooldown: s(self.cooldown),
            rollback_window: s(self.rollback_window),
            rules: self.rules.iter().map(scale).collect(),
            dry_run: self.dry_run.iter().map(scale).collect(),
            ..self.clone()
        }
    }
}

/// A rollback that happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackRecord {
    pub at: Ts,
    pub from: String,
    pub to: String,
    pub by: String,
}

/// A rollback under way: from its checklist's start until the during phase
/// is settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnderWay {
    pub suspect: usize,
    pub target: usize,
    pub since: Ts,
    pub by: String,
}

/// Why a warranted rollback is not offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Cooldown {
        until: Ts,
    },
    MaxRollbacks {
        count: u32,
        window: Duration,
    },
    /// The only place to go is failing too: escalate.
    TargetUnhealthy {
        target: String,
        status: Option<HealthStatus>,
    },
    /// There is no other environment.
    NoTarget,
    /// Nothing configured can move the traffic.
    NoMeans,
    /// The platform is rolling the suspect back on its own verdict (an ECS
    /// circuit breaker or deployment alarm): a second rollback on top of
    /// it would fight it, so backstop waits and says so.
    PlatformActing {
        what: String,
    },
}

impl Block {
    pub fn describe(&self, now: Ts) -> String {
        match self {
            Block::Cooldown { until } => format!(
                "cooldown: {} left after the last rollback",
                time::human(until.since(now))
            ),
            Block::MaxRollbacks { count, window } => {
                format!(
                    "{count} rollbacks in the last {}: the limit; escalate",
                    time::human(*window)
                )
            }
            Block::TargetUnhealthy { target, status } => format!(
                "{target} is {} too: nowhere safe to roll back to; escalate",
                status.map_or("not verified yet".to_string(), |s| s.as_str().to_string())
            ),
            Block::NoTarget => "no other environment to roll back to; escalate".into(),
            Block::NoMeans => "no traffic or deploy provider configured: roll back by hand".into(),
            Block::PlatformActing { what } => {
                format!("{what}: ECS acts on its own verdict; backstop waits and does not fight it")
            }
        }
    }
}

/// The decision for one service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Off,
    Healthy,
    /// A rule is pending: watch until the deadline.
    Watch {
        env: usize,
        deadline: Ts,
        reasons: Vec<String>,
    },
    RollbackRecommended {
        suspect: usize,
        target: usize,
        reasons: Vec<String>,
    },
    RollingBack {
        suspect: usize,
        target: usize,
        since: Ts,
        by: String,
    },
    RolledBack {
        suspect: usize,
        target: usize,
        at: Ts,
    },
    Blocked {
        suspect: usize,
        block: Block,
        reasons: Vec<String>,
    },
}

impl Decision {
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Off => "OFF",
            Decision::Healthy => "HEALTHY",
            Decision::Watch { .. } => "WATCH",
            Decision::RollbackRecommended { .. } => "ROLLBACK RECOMMENDED",
            Decision::RollingBack { .. } => "ROLLING BACK",
            Decision::RolledBack { .. } => "ROLLED BACK",
            Decision::Blocked { .. } => "BLOCKED",
        }
    }

    /// Needs the operator's eyes.
    pub fn is_alert(&self) -> bool {
        !matches!(self, Decision::Off | Decision::Healthy)
    }

    /// Same kind and same environments: a change of wording is not a new decision.
    pub fn same_as(&self, other: &Decision) -> bool {
        use Decision::*;
        match (self, other) {
            (Watch { env: a, .. }, Watch { env: b, .. }) => a == b,
            (
                RollbackRecommended {
                    suspect: a,
                    target: b,
                    ..
                },
                RollbackRecommended {
                    suspect: c,
                    target: d,
                    ..
                },
            ) => a == c && b == d,
            (
                Blocked {
                    suspect: a,
                    block: b,
                    ..
                },
                Blocked {
                    suspect: c,
                    block: d,
                    ..
                },
            ) => a == c && std::mem::discriminant(b) == std::mem::discriminant(d),
            (RollingBack { .. }, RollingBack { .. }) | (RolledBack { .. }, RolledBack { .. }) => {
                true
            }
            _ => self == other,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What `decide` needs to know about one environment.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvFacts {
    pub name: String,
    pub status: Option<HealthStatus>,
    /// Share of traffic in percent; `None` when no provider reports it.
    pub share: Option<u32>,
}

impl EnvFacts {
    fn takes_traffic(&self) -> bool {
        self.share.is_none_or(|s| s > 0)
    }

    fn safe(&self) -> bool {
        matches!(self.status, Some(HealthStatus::Ok | HealthStatus::Degraded))
    }
}

/// A rule's state, as `decide` sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleFacts {
    pub env: usize,
    pub status: RuleStatus,
    /// Fires regardless of traffic share (the operator asked; an alarm).
    pub always_relevant: bool,
    /// When a pending rule would fire.
    pub fires_at: Option<Ts>,
    /// `green error-rate 8.1 % > 5 % /1m for 1m`.
    pub reason: String,
}

/// Everything that goes into one decision.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts<'a> {
    pub policy: &'a Policy,
    pub envs: &'a [EnvFacts],
    pub rules: &'a [RuleFacts],
    pub rollbacks: &'a [RollbackRecord],
    /// A rollback under way.
    pub in_progress: Option<UnderWay>,
    /// Traffic can be moved (a provider is configured).
    pub can_shift: bool,
    /// A deploy provider can put an environment back on its previous revision.
    pub can_revert: bool,
    /// Environments the platform is rolling back itself (ECS's own
    /// rollback under way), with ECS's words.
    pub platform_acting: &'a [(usize, String)],
}

/// Decide. Pure: the same facts give the same decision.
pub fn decide(f: &Facts<'_>, now: Ts) -> Decision {
    if f.policy.mode == Mode::Off {
        return Decision::Off;
    }
    if let Some(u) = &f.in_progress {
        return Decision::RollingBack {
            suspect: u.suspect,
            target: u.target,
            since: u.since,
            by: u.by.clone(),
        };
    }
    let relevant = |r: &&RuleFacts| {
        r.always_relevant || f.envs.get(r.env).is_some_and(EnvFacts::takes_traffic)
    };
    let firing: Vec<&RuleFacts> = f
        .rules
        .iter()
        .filter(relevant)
        .filter(|r| r.status == RuleStatus::Firing)
        .collect();
    if let Some(suspect) = suspect(f, &firing) {
        let reasons: Vec<String> = firing
            .iter()
            .filter(|r| r.env == suspect)
            .map(|r| r.reason.clone())
            .collect();
        return match guard(f, suspect, now) {
            Ok(target) => Decision::RollbackRecommended {
                suspect,
                target,
                reasons,
            },
            Err(block) => Decision::Blocked {
                suspect,
                block,
                reasons,
            },
        };
    }
    let pending: Vec<&RuleFacts> = f
        .rules
        .iter()
        .filter(relevant)
        .filter(|r| r.status == RuleStatus::Pending)
        .collect();
    if let Some(first) = pending
        .iter()
        .min_by_key(|r| r.fires_at.unwrap_or(Ts(i64::MAX)))
    {
        return Decision::Watch {
            env: first.env,
            deadline: first.fires_at.unwrap_or(now),
            reasons: pending
                .iter()
                .filter(|r| r.env == first.env)
                .map(|r| r.reason.clone())
                .collect(),
        };
    }
    if let Some(last) = f.rollbacks.last()
        && now.since(last.at) < f.policy.cooldown
    {
        let idx = |name: &str| f.envs.iter().position(|e| e.name == name).unwrap_or(0);
        return Decision::RolledBack {
            suspect: idx(&last.from),
            target: idx(&last.to),
            at: last.at,
        };
    }
    Decision::Healthy
}

/// The environment the firing rules point at: the one with most of them;
/// on a tie, the one with the smaller share (the canary).
fn suspect(f: &Facts<'_>, firing: &[&RuleFacts]) -> Option<usize> {
    let mut counts: Vec<(usize, usize)> = Vec::new();
    for r in firing {
        match counts.iter_mut().find(|(e, _)| *e == r.env) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.env, 1)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|(e, n)| {
            (
                *n,
                std::cmp::Reverse(f.envs.get(*e).and_then(|x| x.share).unwrap_or(0)),
                std::cmp::Reverse(*e),
            )
        })
        .map(|(e, _)| e)
}

/// `green → blue`; a rollback in place (a revert) is `prod → its previous revision`.
pub fn route(suspect: &str, target: &str) -> String {
    if suspect == target {
        format!("{suspect} → its previous revision")
    } else {
        format!("{suspect} → {target}")
    }
}

/// Where to roll back to, or why not. Without a traffic provider but with
/// a deploy provider, the rollback is a revert in place: the target is the
/// suspect itself, on its previous revision.
fn guard(f: &Facts<'_>, suspect: usize, now: Ts) -> Result<usize, Block> {
    if let Some((_, what)) = f.platform_acting.iter().find(|(e, _)| *e == suspect) {
        return Err(Block::PlatformActing { what: what.clone() });
    }
    count_guard(f.policy, f.rollbacks, now)?;
    if !f.can_shift && f.can_revert {
        return Ok(suspect);
    }
    let target = target(f, suspect).ok_or(Block::NoTarget)?;
    let t = &f.envs[target];
    if !t.safe() {
        return Err(Block::TargetUnhealthy {
            target: t.name.clone(),
            status: t.status,
        });
    }
    if !f.can_shift {
        return Err(Block::NoMeans);
    }
    Ok(target)
}

/// The guards that count rollbacks: the cooldown after the last one and the
/// limit per window. `rollbacks` in order, those on their way included.
pub fn count_guard(policy: &Policy, rollbacks: &[RollbackRecord], now: Ts) -> Result<(), Block> {
    if let Some(last) = rollbacks.iter().map(|r| r.at).max() {
        let until = last.plus(policy.cooldown);
        if until > now {
            return Err(Block::Cooldown { until });
        }
    }
    let recent = rollbacks
        .iter()
        .filter(|r| now.since(r.at) < policy.rollback_window)
        .count() as u32;
    if recent >= policy.max_rollbacks {
        return Err(Block::MaxRollbacks {
            count: recent,
            window: policy.rollback_window,
        });
    }
    Ok(())
}

/// The configured stable environment, else the healthiest other one with
/// the most traffic.
pub fn target(f: &Facts<'_>, suspect: usize) -> Option<usize> {
    if let Some(stable) = &f.policy.stable
        && let Some(i) = f.envs.iter().position(|e| &e.name == stable)
        && i != suspect
    {
        return Some(i);
    }
    (0..f.envs.len()).filter(|i| *i != suspect).max_by_key(|i| {
        (
            f.envs[*i].safe(),
            f.envs[*i].share.unwrap_or(0),
            std::cmp::Reverse(*i),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use HealthStatus::*;

    fn env(name: &str, status: HealthStatus, share: u32) -> EnvFacts {
        EnvFacts {
            name: name.into(),
            status: Some(status),
            share: Some(share),
        }
    }

    fn rule(env: usize, status: RuleStatus, reason: &str) -> RuleFacts {
        RuleFacts {
            env,
            status,
            always_relevant: false,
            fires_at: Some(Ts(120_000)),
            reason: reason.into(),
        }
    }

    fn facts<'a>(
        policy: &'a Policy,
        envs: &'a [EnvFacts],
        rules: &'a [RuleFacts],
        rollbacks: &'a [RollbackRecord],
    ) -> Facts<'a> {
        Facts {
            policy,
            envs,
            rules,
            rollbacks,
            in_progress: None,
            can_shift: true,
            can_revert: false,
            platform_acting: &[],
        }
    }

    /// The reference decision tree (runbook 000), row by row.
    #[test]
    fn the_reference_decision_tree() {
        let p = Policy::default();
        let envs = [env("blue", Ok, 90), env("green", Ok, 10)];
        // HTTP 200 + "ok": nothing fires → healthy (smoke tests come next).
        assert_eq!(
            decide(&facts(&p, &envs, &[], &[]), Ts(0)),
            Decision::Healthy
        );

        // HTTP 200 + "degraded": watch two minutes…
        let envs = [env("blue", Ok, 90), env("green", Degraded, 10)];
        let watching = [rule(1, RuleStatus::Pending, "green degraded-for")];
        assert_eq!(
            decide(&facts(&p, &envs, &watching, &[]), Ts(0)),
            Decision::Watch {
                env: 1,
                deadline: Ts(120_000),
                reasons: vec!["green degraded-for".into()]
            }
        );
        // …improves → verified; stays degraded → roll back.
        assert_eq!(
            decide(
                &facts(&p, &[env("blue", Ok, 90), env("green", Ok, 10)], &[], &[]),
                Ts(121_000)
            ),
            Decision::Healthy
        );
        let stayed = [rule(1, RuleStatus::Firing, "green degraded-for")];
        assert_eq!(
            decide(&facts(&p, &envs, &stayed, &[]), Ts(121_000)),
            Decision::RollbackRecommended {
                suspect: 1,
                target: 0,
                reasons: vec!["green degraded-for".into()]
            }
        );

        // HTTP 503 or no answer: roll back (three failed checks in a row).
        let envs = [env("blue", Ok, 90), env("green", Critical, 10)];
        let failing = [rule(1, RuleStatus::Firing, "green health-failures 3/3")];
        assert!(matches!(
            decide(&facts(&p, &envs, &failing, &[]), Ts(0)),
            Decision::RollbackRecommended {
                suspect: 1,
                target: 0,
                ..
            }
        ));
        let envs = [env("blue", Ok, 90), env("green", Unreachable, 10)];
        assert!(matches!(
            decide(&facts(&p, &envs, &failing, &[]), Ts(0)),
            Decision::RollbackRecommended {
                suspect: 1,
                target: 0,
                ..
            }
        ));
    }

    #[test]
    fn guards() {
        let p = Policy::default();
        let envs = [env("blue", Ok, 0), env("green", Critical, 100)];
        let firing = [rule(1, RuleStatus::Firing, "green health-failures 3/3")];
        let last = RollbackRecord {
            at: Ts(0),
            from: "green".into(),
            to: "blue".into(),
            by: "auto".into(),
        };

        // Cooldown: five minutes after the last rollback.
        let d = decide(
            &facts(&p, &envs, &firing, std::slice::from_ref(&last)),
            Ts(299_000),
        );
        assert_eq!(
            d,
            Decision::Blocked {
                suspect: 1,
                block: Block::Cooldown { until: Ts(300_000) },
                reasons: vec!["green health-failures 3/3".into()]
            }
        );
        assert!(matches!(
            decide(
                &facts(&p, &envs, &firing, std::slice::from_ref(&last)),
                Ts(300_000)
            ),
            Decision::RollbackRecommended { .. }
        ));

        // At most three in the window.
        let three: Vec<RollbackRecord> = (0..3)
            .map(|i| RollbackRecord {
                at: Ts(i * 400_000),
                ..last.clone()
            })
            .collect();
        let d = decide(&facts(&p, &envs, &firing, &three), Ts(1_300_000));
        assert!(
            matches!(
                d,
                Decision::Blocked {
                    block: Block::MaxRollbacks { count: 3, .. },
                    ..
                }
            ),
            "{d:?}"
        );

        // Never roll back onto a failing environment: escalate.
        let both = [env("blue", Critical, 0), env("green", Critical, 100)];
        let d = decide(&facts(&p, &both, &firing, &[]), Ts(0));
        assert!(
            matches!(&d, Decision::Blocked { block: Block::TargetUnhealthy { target, .. }, .. } if target == "blue"),
            "{d:?}"
        );
        let unknown = [
            EnvFacts {
                name: "blue".into(),
                status: None,
                share: Some(0),
            },
            env("green", Critical, 100),
        ];
        assert!(matches!(
            decide(&facts(&p, &unknown, &firing, &[]), Ts(0)),
            Decision::Blocked {
                block: Block::TargetUnhealthy { status: None, .. },
                ..
            }
        ));

        // Nowhere else to go.
        let alone = [env("green", Critical, 100)];
        let firing0 = [rule(0, RuleStatus::Firing, "x")];
        assert!(matches!(
            decide(&facts(&p, &alone, &firing0, &[]), Ts(0)),
            Decision::Blocked {
                block: Block::NoTarget,
                ..
            }
        ));

        // Nothing to move traffic with.
        let mut f = facts(&p, &envs, &firing, &[]);
        f.can_shift = false;
        assert!(matches!(
            decide(&f, Ts(0)),
            Decision::Blocked {
                block: Block::NoMeans,
                ..
            }
        ));
    }

    #[test]
    fn idle_environments_do_not_trigger_but_alarms_and_people_do() {
        let p = Policy::default();
        // Green takes no traffic: its failures are no reason to roll back.
        let envs = [env("blue", Ok, 100), env("green", Critical, 0)];
        let firing = [rule(1, RuleStatus::Firing, "green health-failures")];
        assert_eq!(
            decide(&facts(&p, &envs, &firing, &[]), Ts(0)),
            Decision::Healthy
        );
        let mut asked = firing[0].clone();
        asked.always_relevant = true;
        let envs = [env("blue", Ok, 0), env("green", Ok, 100)];
        asked.env = 1;
        assert!(matches!(
            decide(&facts(&p, &envs, &[asked], &[]), Ts(0)),
            Decision::RollbackRecommended {
                suspect: 1,
                target: 0,
                ..
            }
        ));
    }

    #[test]
    fn the_stable_environment_and_the_healthiest_target() {
        let mut p = Policy::default();
        let envs = [
            env("blue", Ok, 50),
            env("green", Critical, 25),
            env("canary", Ok, 25),
        ];
        let firing = [rule(1, RuleStatus::Firing, "x")];
        assert!(matches!(
            decide(&facts(&p, &envs, &firing, &[]), Ts(0)),
            Decision::RollbackRecommended { target: 0, .. }
        ));
        p.stable = Some("canary".into());
        assert!(matches!(
            decide(&facts(&p, &envs, &firing, &[]), Ts(0)),
            Decision::RollbackRecommended { target: 2, .. }
        ));
        // A failing blue is passed over for a healthy canary when no stable is named.
        p.stable = None;
        let envs = [
            env("blue", Critical, 50),
            env("green", Critical, 25),
            env("canary", Ok, 25),
        ];
        assert!(matches!(
            decide(&facts(&p, &envs, &firing, &[]), Ts(0)),
            Decision::RollbackRecommended { target: 2, .. }
        ));
    }

    #[test]
    fn scaling_keeps_the_ratios() {
        let p = Policy::default().scaled(4.0);
        assert_eq!(p.cooldown, Duration::from_secs(75));
        assert!(
            matches!(p.rules[0], RuleKind::ErrorRate { window, hold, threshold, .. } if window == Duration::from_secs(15) && hold == window && threshold == 0.05)
        );
        assert!(
            matches!(p.rules[2], RuleKind::HealthFailures { count: 3, .. }),
            "counts do not scale"
        );
    }

    #[test]
    fn off_in_progress_and_rolled_back() {
        let mut p = Policy::default();
        let envs = [env("blue", Ok, 100), env("green", Ok, 0)];
        let mut f = facts(&p, &envs, &[], &[]);
        f.in_progress = Some(UnderWay {
            suspect: 1,
            target: 0,
            since: Ts(5),
            by: "auto".into(),
        });
        assert!(matches!(decide(&f, Ts(6)), Decision::RollingBack { .. }));
        let last = [RollbackRecord {
            at: Ts(0),
            from: "green".into(),
            to: "blue".into(),
            by: "ops".into(),
        }];
        assert_eq!(
            decide(&facts(&p, &envs, &[], &last), Ts(10_000)),
            Decision::RolledBack {
                suspect: 1,
                target: 0,
                at: Ts(0)
            }
        );
        assert_eq!(
            decide(&facts(&p, &envs, &[], &last), Ts(300_000)),
            Decision::Healthy
        );
        p.mode = Mode::Off;
        assert_eq!(
            decide(
                &facts(&p, &envs, &[rule(1, RuleStatus::Firing, "x")], &[]),
                Ts(0)
            ),
            Decision::Off
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the order of events — rules firing and clearing, targets
        /// going up and down, time jumping — acting on every recommendation
        /// never breaks the cooldown or the limit on rollbacks per window.
        #[test]
        fn guards_are_never_violated(events in prop::collection::vec((1u32..400, any::<bool>(), any::<bool>(), any::<bool>()), 1..300)) {
            let policy = Policy::default();
            let mut t = 0i64;
            let mut history: Vec<RollbackRecord> = Vec::new();
            for (dt, firing, target_ok, on_green) in events {
                t += i64::from(dt) * 1000;
                let suspect = usize::from(on_green);
                let envs = [
                    EnvFacts { name: "blue".into(), status: Some(if target_ok || on_green { HealthStatus::Ok } else { HealthStatus::Critical }), share: Some(50) },
                    EnvFacts { name: "green".into(), status: Some(if target_ok || !on_green { HealthStatus::Ok } else { HealthStatus::Critical }), share: Some(50) },
                ];
                let rules: Vec<RuleFacts> = if firing {
                    vec![RuleFacts { env: suspect, status: crate::rules::RuleStatus::Firing, always_relevant: false, fires_at: None, reason: "x".into() }]
                } else {
                    Vec::new()
                };
                let f = Facts { policy: &policy, envs: &envs, rules: &rules, rollbacks: &history, in_progress: None, can_shift: true, can_revert: false, platform_acting: &[] };
                if let Decision::RollbackRecommended { suspect, target, .. } = decide(&f, Ts(t)) {
                    prop_assert!(envs[target].safe(), "rolled back onto a failing environment");
                    prop_assert_ne!(suspect, target);
                    if let Some(last) = history.last() {
                        prop_assert!(Ts(t).since(last.at) >= policy.cooldown, "cooldown broken");
                    }
                    history.push(RollbackRecord { at: Ts(t), from: envs[suspect].name.clone(), to: envs[target].name.clone(), by: "auto".into() });
                    let in_window = history.iter().filter(|r| Ts(t).since(r.at) < policy.rollback_window).count() as u32;
                    prop_assert!(in_window <= policy.max_rollbacks, "{in_window} rollbacks in the window");
                }
            }
        }
    }
}
