//! Rollback drills: a scenario (a timeline of deploys, weight changes and
//! faults against the sandbox, and what should happen), the drill clock that
//! marks each moment of the response, and the score.
//!
//! The clock's marks, as the reference runbooks define them: the fault
//! injected; the first detection (the first rule FIRING); the rollback
//! decided (ROLLBACK RECOMMENDED); the rollback executed (the switch or
//! revert done); verified healthy (the during phase settled). MTTD is
//! detection − fault, MTTR is verified − detection.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::time::Ts;

/// One moment of a scenario's timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// From the drill's start.
    pub at: Duration,
    pub action: DrillAction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "do")]
pub enum DrillAction {
    /// A new release on an environment.
    Deploy {
        env: String,
        version: String,
    },
    /// The traffic split (a switch is 0/100, a canary step 95/5).
    Weights {
        weights: Vec<(String, u32)>,
    },
    Fault {
        env: String,
        fault: Fault,
    },
    Heal {
        env: String,
    },
    /// The fault on and off, every `every`, for `length`.
    Flap {
        env: String,
        fault: Fault,
        every: Duration,
        length: Duration,
    },
}

impl DrillAction {
    pub fn describe(&self) -> String {
        match self {
            DrillAction::Deploy { env, version } => format!("deploy v{version} to {env}"),
            DrillAction::Weights { weights } => {
                let w: Vec<String> = weights.iter().map(|(e, p)| format!("{e} {p} %")).collect();
                format!("traffic: {}", w.join(" · "))
            }
            DrillAction::Fault { env, fault } => format!("fault on {env}: {}", fault.label()),
            DrillAction::Heal { env } => format!("heal {env}"),
            DrillAction::Flap {
                env,
                fault,
                every,
                length,
            } => format!(
                "{env} flaps ({}) every {} for {}",
                fault.label(),
                super::time::human(*every),
                super::time::human(*length)
            ),
        }
    }
}

/// What should happen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    /// The rule that should fire first (`error-rate`, `health-failures`…).
    pub fires: Option<String>,
    /// A rollback should be carried out (false: none must be).
    pub rollback: bool,
    /// Exactly this many rollbacks, when it matters (a loop is a failure).
    pub rollbacks: Option<u32>,
    /// The decision should block and say escalate.
    pub escalate: bool,
}

/// A drill scenario.
/// An environment as a scenario starts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartingEnv {
    pub env: String,
    pub version: String,
    /// The revision before it (what a revert goes back to).
    pub previous: Option<String>,
    /// Its share of the traffic, in percent.
    pub weight: u32,
}

/// One part of a drill's expectation, and whether it held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "HeldWire")]
pub struct Held {
    pub held: bool,
    /// What was expected, with what happened: `no rollback (0 done)`.
    pub what: String,
}

/// Scores journaled before `Held` had names wrote `[true, "…"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum HeldWire {
    Named { held: bool, what: String },
    Pair(bool, String),
}

impl From<HeldWire> for Held {
    fn from(w: HeldWire) -> Self {
        match w {
            HeldWire::Named { held, what } | HeldWire::Pair(held, what) => Held { held, what },
        }
    }
}

impl Held {
    fn new(held: bool, what: impl Into<String>) -> Self {
        Held {
            held,
            what: what.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub title: String,
    pub description: String,
    /// The sandbox service it plays on.
    pub service: String,
    /// Versions and shares to start from, one per environment.
    pub world: Vec<StartingEnv>,
    pub timeline: Vec<Step>,
    pub expect: Expectation,
    /// When the drill ends, whatever happened.
    pub ends: Duration,
    /// The fastest it stays faithful at (timing margins that speed would eat).
    pub max_speed: Option<f64>,
}

impl Scenario {
    /// The same scenario `speed` times faster: every time in it.
    pub fn scaled(&self, speed: f64) -> Scenario {
        let s = |d: Duration| Duration::from_secs_f64(d.as_secs_f64() / speed.max(0.001));
        let mut out = self.clone();
        for step in &mut out.timeline {
            step.at = s(step.at);
            if let DrillAction::Flap { every, length, .. } = &mut step.action {
                *every = s(*every);
                *length = s(*length);
            }
        }
        out.ends = s(self.ends);
        out
    }
}

/// A drill in progress, and its clock.
#[derive(Clone, Debug, PartialEq)]
pub struct DrillRun {
    pub scenario: String,
    pub title: String,
    pub service: usize,
    pub speed: f64,
    pub seed: u64,
    pub started: Ts,
    pub expect: Expectation,
    /// The scenario's steps done so far, with their times.
    pub steps: Vec<(Ts, String)>,
    pub fault_at: Option<Ts>,
    /// The first rule that fired, and when.
    pub detected: Option<(Ts, String)>,
    pub decided: Option<Ts>,
    pub executed: Option<Ts>,
    pub verified: Option<Ts>,
    pub escalated: Option<Ts>,
    /// Rollbacks before the drill began (the history is the service's).
    pub rollbacks_before: usize,
    pub rollbacks: u32,
    /// Traffic moved onto an environment that was failing.
    pub wrong_actions: Vec<String>,
    pub ended: Option<Ts>,
    pub score: Option<Score>,
    /// Where the report went (or why it did not), once written.
    pub report: Option<Result<String, String>>,
    /// A real provider the drill changes (`--target aws`): its name.
    pub real_target: Option<String>,
}

impl DrillRun {
    pub fn new(scenario: &Scenario, service: usize, speed: f64, seed: u64, started: Ts) -> Self {
        DrillRun {
            scenario: scenario.name.clone(),
            title: scenario.title.clone(),
            service,
            speed,
            seed,
            started,
            expect: scenario.expect.clone(),
            steps: Vec::new(),
            fault_at: None,
            detected: None,
            decided: None,
            executed: None,
            verified: None,
            escalated: None,
            rollbacks_before: 0,
            rollbacks: 0,
            wrong_actions: Vec::new(),
            ended: None,
            score: None,
            report: None,
            real_target: None,
        }
    }
}

/// How a drill went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub scenario: String,
    pub speed: f64,
    pub seed: u64,
    /// Detection − fault, in the scenario's own time (wall time × speed).
    pub mttd_secs: Option<f64>,
    /// Verified − detection, in the scenario's own time.
    pub mttr_secs: Option<f64>,
    /// Executed − decided: how long the switch took to happen.
    pub switch_secs: Option<f64>,
    /// Executed − fault: users back on the good version ("time to safe").
    #[serde(default)]
    pub safe_secs: Option<f64>,
    /// The checklist's time targets (its rollback type's), scored in the
    /// scenario's own time.
    #[serde(default)]
    pub targets: Vec<crate::runbook::TargetScore>,
    pub first_rule: Option<String>,
    pub rollbacks: u32,
    pub escalated: bool,
    pub steps_done: usize,
    pub steps_skipped: usize,
    pub wrong_actions: Vec<String>,
    /// Each expectation and whether it held: `✓ error-rate fired first`.
    pub checks: Vec<Held>,
    pub held: bool,
    /// Who did the steps, who approved their changes, and each handover.
    #[serde(default)]
    pub crew: Crew,
    /// How the team was told: a drill rehearses talking as well as switching.
    #[serde(default)]
    pub talk: Option<Talk>,
}

/// The drill's communication, in the scenario's own time: the first
/// message after the checklist opened (reference 003: within a minute),
/// and the updates on the severity's cadence.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Talk {
    /// First message − the checklist's opening.
    pub first_message_secs: Option<f64>,
    pub updates: usize,
    /// Updates late, or due and never sent.
    pub late: usize,
}

impl Talk {
    /// From the drill's checklist; `every` is its severity's interval.
    pub fn of(c: &crate::runbook::Checklist, every: Option<Duration>, end: Ts, speed: f64) -> Talk {
        Talk {
            first_message_secs: c
                .comms
                .updates
                .first()
                .map(|u| u.at.since(c.started).as_secs_f64() * speed),
            updates: c.comms.updates.len(),
            late: c.comms.missed(every, end),
        }
    }

    /// The first message within its target, and no update late.
    pub fn on_time(&self) -> (bool, bool) {
        (
            self.first_message_secs
                .is_some_and(|s| s <= TARGET_FIRST_MESSAGE.as_secs_f64()),
            self.late == 0,
        )
    }
}

/// The people of a drill, read from its checklist: a team rehearses the
/// handover and the two-person rule, not only the switch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crew {
    /// Everyone who did a step, in the order they first did one.
    pub drivers: Vec<String>,
    /// `bob approved Switch traffic from green to blue`.
    pub approvals: Vec<String>,
    /// `alice → bob before Wait until blue is healthy`.
    pub handovers: Vec<String>,
}

impl Crew {
    /// From the steps' attributions, in order (`alice`, or `alice, approved
    /// by bob`): a change of driver between two steps is a handover.
    pub fn of(c: &crate::runbook::Checklist) -> Crew {
        let mut crew = Crew::default();
        let mut last: Option<String> = None;
        for s in &c.steps {
            let Some(by) = &s.by else { continue };
            let (driver, approver) = match by.split_once(", approved by ") {
                Some((d, a)) => (d.to_string(), Some(a.to_string())),
                None => (
                    by.split(", two-person rule")
                        .next()
                        .unwrap_or(by)
                        .to_string(),
                    None,
                ),
            };
            if !crew.drivers.contains(&driver) {
                crew.drivers.push(driver.clone());
            }
            if let Some(a) = approver {
                crew.approvals.push(format!("{a} approved {}", s.title));
            }
            if let Some(l) = &last
                && *l != driver
            {
                crew.handovers
                    .push(format!("{l} → {driver} before {}", s.title));
            }
            last = Some(driver);
        }
        crew
    }
}

/// The score, once the drill has ended.
pub fn score(
    d: &DrillRun,
    steps_done: usize,
    steps_skipped: usize,
    crew: Crew,
    targets: Vec<crate::runbook::TargetScore>,
    talk: Option<Talk>,
) -> Score {
    let life = |later: Option<Ts>, earlier: Option<Ts>| match (later, earlier) {
        (Some(l), Some(e)) if l >= e => Some(l.since(e).as_secs_f64() * d.speed),
        _ => None,
    };
    let detected = d.detected.as_ref().map(|(t, _)| *t);
    let mut checks = Vec::new();
    let first = d.detected.as_ref().map(|(_, r)| r.clone());
    if let Some(want) = &d.expect.fires {
        let ok = first
            .as_deref()
            .is_some_and(|f| f.starts_with(want.as_str()));
        let got = first.clone().unwrap_or_else(|| "none".into());
        checks.push(Held::new(ok, format!("{want} fires first (first: {got})")));
    }
    if d.expect.rollback {
        let ok = d.rollbacks >= 1 && d.verified.is_some();
        checks.push(Held::new(
            ok,
            format!(
                "rolled back and verified ({} rollback(s), {})",
                d.rollbacks,
                if d.verified.is_some() {
                    "verified"
                } else {
                    "not verified"
                }
            ),
        ));
    } else {
        checks.push(Held::new(
            d.rollbacks == 0,
            format!("no rollback ({} done)", d.rollbacks),
        ));
    }
    if let Some(n) = d.expect.rollbacks {
        checks.push(Held::new(
            d.rollbacks == n,
            format!("exactly {n} rollback(s) ({} done)", d.rollbacks),
        ));
    }
    if d.expect.escalate {
        checks.push(Held::new(
            d.escalated.is_some(),
            "blocked: escalation, not a loop".to_string(),
        ));
    }
    checks.push(Held::new(
        d.wrong_actions.is_empty(),
        format!(
            "no traffic moved onto a failing environment ({})",
            d.wrong_actions.len()
        ),
    ));
    let held = checks.iter().all(|c| c.held);
    Score {
        scenario: d.scenario.clone(),
        speed: d.speed,
        seed: d.seed,
        mttd_secs: life(detected, d.fault_at),
        mttr_secs: life(d.verified, detected),
        switch_secs: life(d.executed, d.decided),
        safe_secs: life(d.executed, d.fault_at),
        targets,
        first_rule: first,
        rollbacks: d.rollbacks,
        escalated: d.escalated.is_some(),
        steps_done,
        steps_skipped,
        wrong_actions: d.wrong_actions.clone(),
        checks,
        held,
        crew,
        talk,
    }
}

/// The runbooks' targets: MTTD < 5 min, MTTR < 15 min, a switch < 1 min,
/// and users on the good version within reference 003's two minutes of
/// emergency "immediate actions", counted from the fault itself.
pub const TARGET_MTTD: Duration = Duration::from_secs(300);
pub const TARGET_MTTR: Duration = Duration::from_secs(900);
pub const TARGET_SWITCH: Duration = Duration::from_secs(60);
pub const TARGET_SAFE: Duration = Duration::from_secs(120);
/// Reference 003: the incident channel hears within a minute.
pub const TARGET_FIRST_MESSAGE: Duration = Duration::from_secs(60);

/// A fault the drill sandbox can inject into one environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Health answers 503 `critical` (the database check fails).
    Unhealthy,
    /// Health answers 200 `degraded` (a dependency is slow).
    Degraded,
    /// Every answer takes longer than the probe timeout.
    Slow,
    /// The port refuses connections.
    Refused,
    /// Ordinary requests fail with 500 this many times in a hundred; health
    /// endpoints still answer ok (a bad release that passes its health check).
    ErrorRate(u8),
    /// Ordinary requests take this many milliseconds longer; health
    /// endpoints are unaffected (a slow release).
    Latency(u32),
}

impl Fault {
    /// The order `inject-fault` walks through.
    pub const CYCLE: [Fault; 6] = [
        Fault::Unhealthy,
        Fault::Degraded,
        Fault::Slow,
        Fault::Refused,
        Fault::ErrorRate(8),
        Fault::Latency(1500),
    ];

    /// The fault after `current` in the cycle.
    pub fn after(current: Option<Fault>) -> Fault {
        match current {
            None => Self::CYCLE[0],
            Some(f) => {
                let i = Self::CYCLE.iter().position(|c| *c == f).unwrap_or(0);
                Self::CYCLE[(i + 1) % Self::CYCLE.len()]
            }
        }
    }

    pub fn label(self) -> String {
        match self {
            Fault::Unhealthy => "503 critical".into(),
            Fault::Degraded => "degraded dependency".into(),
            Fault::Slow => "slow (over timeout)".into(),
            Fault::Refused => "connection refused".into(),
            Fault::ErrorRate(p) => format!("{p} % of requests fail"),
            Fault::Latency(ms) => format!("requests +{ms} ms"),
        }
    }

    /// A few characters for a table cell.
    pub fn short(self) -> String {
        match self {
            Fault::Unhealthy => "503".into(),
            Fault::Degraded => "degraded".into(),
            Fault::Slow => "slow".into(),
            Fault::Refused => "refused".into(),
            Fault::ErrorRate(p) => format!("{p}% 5xx"),
            Fault::Latency(ms) => format!("+{ms}ms"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> DrillRun {
        let s = Scenario {
            name: "canary".into(),
            title: "Canary".into(),
            description: String::new(),
            service: "web".into(),
            world: vec![],
            timeline: vec![],
            expect: Expectation {
                fires: Some("error-rate".into()),
                rollback: true,
                rollbacks: None,
                escalate: false,
            },
            ends: Duration::from_secs(600),
            max_speed: None,
        };
        DrillRun::new(&s, 0, 10.0, 1, Ts(0))
    }

    #[test]
    fn the_score_measures_in_scenario_time_and_checks_the_expectation() {
        let mut d = run();
        d.fault_at = Some(Ts(1_000));
        d.detected = Some((Ts(4_000), "error-rate".into()));
        d.decided = Some(Ts(4_000));
        d.executed = Some(Ts(5_000));
        d.verified = Some(Ts(10_000));
        d.rollbacks = 1;
        let s = score(&d, 9, 5, Crew::default(), vec![], None);
        // Wall seconds × speed 10.
        assert_eq!(s.mttd_secs, Some(30.0));
        assert_eq!(s.mttr_secs, Some(60.0));
        assert_eq!(s.switch_secs, Some(10.0));
        assert!(s.held, "{:?}", s.checks);
        d.wrong_actions
            .push("traffic moved onto green while it was CRIT".into());
        d.detected = Some((Ts(4_000), "latency p95".into()));
        let s = score(&d, 9, 5, Crew::default(), vec![], None);
        assert!(!s.held);
        assert_eq!(s.checks.iter().filter(|c| !c.held).count(), 2);
    }

    #[test]
    fn scaling_shortens_every_time_of_the_scenario() {
        let s = Scenario {
            timeline: vec![Step {
                at: Duration::from_secs(20),
                action: DrillAction::Flap {
                    env: "green".into(),
                    fault: Fault::Unhealthy,
                    every: Duration::from_secs(10),
                    length: Duration::from_secs(60),
                },
            }],
            ends: Duration::from_secs(600),
            ..Scenario {
                name: String::new(),
                title: String::new(),
                description: String::new(),
                service: "web".into(),
                world: vec![],
                timeline: vec![],
                expect: Expectation::default(),
                ends: Duration::ZERO,
                max_speed: None,
            }
        };
        let f = s.scaled(10.0);
        assert_eq!(f.timeline[0].at, Duration::from_secs(2));
        assert_eq!(f.ends, Duration::from_secs(60));
        assert!(
            matches!(f.timeline[0].action, DrillAction::Flap { every, .. } if every == Duration::from_secs(1))
        );
    }

    #[test]
    fn scores_journaled_with_unnamed_checks_still_read() {
        let old: Vec<Held> = serde_json::from_str(r#"[[true, "no rollback (0 done)"]]"#).unwrap();
        let new: Vec<Held> =
            serde_json::from_str(r#"[{"held": true, "what": "no rollback (0 done)"}]"#).unwrap();
        assert_eq!(old, new);
        assert_eq!(
            serde_json::to_value(&new[0]).unwrap(),
            serde_json::json!({"held": true, "what": "no rollback (0 done)"})
        );
    }
}
