//! Runbooks and the checklist that walks one.
//!
//! A runbook is what the reference runbooks end with — "before / during /
//! after" — as steps backstop can follow: `manual` steps a person does and
//! ticks, `check`s backstop verifies and shows the evidence of, and
//! `action`s that change the world only after a preview and a second key.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::time::Ts;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Before,
    During,
    After,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::Before, Phase::During, Phase::After];

    pub fn title(self) -> &'static str {
        match self {
            Phase::Before => "BEFORE",
            Phase::During => "DURING",
            Phase::After => "AFTER",
        }
    }
}

/// What a `check` step verifies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Check {
    /// Probe the failing environment `count` more times: the failure is
    /// real, not a blip.
    Reprobe { count: u32 },
    /// The rollback target is healthy now.
    TargetHealthy,
    /// The traffic provider reports all of the suspect's share on the target.
    TrafficOnTarget,
    /// The target's error rate stays under `threshold` for `hold`; fails
    /// after `timeout`.
    ErrorRateBelow {
        threshold: f64,
        hold: Duration,
        timeout: Duration,
    },
}

/// What an `action` step does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Act {
    /// Move the suspect's traffic to the target (the service's TrafficProvider).
    SwitchTraffic,
    /// Put the suspect environment back on its previous revision (DeployProvider).
    RevertDeployment,
    /// Wait until the target is healthy for `probes` probes in a row.
    WaitHealthy { probes: u32, timeout: Duration },
    /// Follow the reverted environment's deployment until it is stable
    /// (one deployment, on the revision the service points at, complete) or
    /// failed.
    WaitStable { timeout: Duration },
    /// The service's smoke tests, against the target.
    Smoke,
    /// Tell the team (the configured notifiers).
    Notify { template: Template },
    /// Set the public status page's incident to `status` (its fixed public text).
    StatusPage {
        status: crate::status_page::PublicStatus,
    },
    /// Run a program (argument vector, no shell) with `TARGET_URL` set.
    Command {
        argv: Vec<String>,
        timeout: Duration,
    },
    /// Undo the database migration that breaks the old code, with the
    /// team's own tool (`["dbmate", "rollback"]`), `DATABASE_URL` set; then
    /// the migration table must show the one before it. An empty `argv` is
    /// the service's `[services.x.database] revert` (see `with_commands`).
    MigrateDown {
        argv: Vec<String>,
        timeout: Duration,
    },
    /// Restart the services of the target (`["supervisorctl", "restart",
    /// "all"]`), then wait until it answers healthy `probes` times in a row
    /// within `timeout`. An empty `argv` is the service's `restart`.
    Restart {
        argv: Vec<String>,
        probes: u32,
        timeout: Duration,
    },
    /// Stop the bad environment (`["docker", "compose", "stop", "green"]`),
    /// then wait until its probes find it stopped (refused, no answer)
    /// within `timeout`. An empty `argv` is the service's `stop`.
    Stop {
        argv: Vec<String>,
        timeout: Duration,
    },
    /// The operator writes a line into the journal.
    Note,
}

/// Messages modelled on the reference runbooks' templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Template {
    /// "ROLLBACK IN PROGRESS v1.2.3 → v1.2.2, reason, ETA".
    RollbackStarted,
    /// "ROLLBACK COMPLETED, now running v1.2.2".
    RollbackCompleted,
    /// Reference 003's update every 5 minutes: progress, status, ETA.
    StatusUpdate,
}

impl Act {
    /// Changes something outside backstop: preview, second key, journal
    /// intent before and outcome after.
    pub fn mutates(&self) -> bool {
        matches!(
            self,
            Act::SwitchTraffic
                | Act::RevertDeployment
                | Act::Notify { .. }
                | Act::StatusPage { .. }
                | Act::Command { .. }
                | Act::MigrateDown { .. }
                | Act::Restart { .. }
                | Act::Stop { .. }
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            Act::SwitchTraffic => "switch-traffic",
            Act::RevertDeployment => "revert-deployment",
            Act::WaitHealthy { .. } => "wait-healthy",
            Act::WaitStable { .. } => "wait-stable",
            Act::Smoke => "smoke",
            Act::Notify { .. } => "notify",
            Act::StatusPage { .. } => "status-page",
            Act::Command { .. } => "command",
            Act::MigrateDown { .. } => "migrate-down",
            Act::Restart { .. } => "restart",
            Act::Stop { .. } => "stop",
            Act::Note => "note",
        }
    }
}

impl Check {
    pub fn name(&self) -> &'static str {
        match self {
            Check::Reprobe { .. } => "reprobe",
            Check::TargetHealthy => "target-healthy",
            Check::TrafficOnTarget => "traffic-on-target",
            Check::ErrorRateBelow { .. } => "error-rate-below",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StepKind {
    Manual,
    Check(Check),
    Action(Act),
}

impl StepKind {
    pub fn label(&self) -> String {
        match self {
            StepKind::Manual => "manual".into(),
            StepKind::Check(c) => format!("check: {}", c.name()),
            StepKind::Action(a) => format!("action: {}", a.name()),
        }
    }

    /// Auto mode runs these without a person; the rest are left for one
    /// (the database is never changed by auto mode).
    pub fn automatable(&self) -> bool {
        !matches!(
            self,
            StepKind::Manual
                | StepKind::Action(Act::Note | Act::MigrateDown { .. } | Act::StatusPage { .. })
        )
    }
}

/// What a service must (or must not) have for a step to be in its checklist:
/// one runbook serves blue/green services and ECS services alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    Traffic,
    NoTraffic,
    Deploy,
    NoDeploy,
    /// A status page is configured (`[status_page]`).
    StatusPage,
    NoStatusPage,
}

impl When {
    pub fn holds(self, caps: Caps) -> bool {
        match self {
            When::Traffic => caps.traffic,
            When::NoTraffic => !caps.traffic,
            When::Deploy => caps.deploy,
            When::NoDeploy => !caps.deploy,
            When::StatusPage => caps.status_page,
            When::NoStatusPage => !caps.status_page,
        }
    }

    pub fn parse(s: &str) -> Option<When> {
        Some(match s {
            "traffic" => When::Traffic,
            "no-traffic" => When::NoTraffic,
            "deploy" => When::Deploy,
            "no-deploy" => When::NoDeploy,
            "status-page" => When::StatusPage,
            "no-status-page" => When::NoStatusPage,
            _ => return None,
        })
    }
}

/// A service's own commands, for the steps that name none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Commands {
    pub restart: Option<Vec<String>>,
    pub stop: Option<Vec<String>>,
    /// `[services.x.database] revert`.
    pub migrate_down: Option<Vec<String>>,
    /// The service has a `[services.x.database]`: without `revert`, its
    /// database step is left to a person rather than left out.
    pub database: bool,
}

/// What a service has: a traffic provider, a deploy provider.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    pub traffic: bool,
    pub deploy: bool,
    pub status_page: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepSpec {
    pub id: String,
    /// May name `{service}`, `{suspect}`, `{target}`, `{suspect_version}`, `{target_version}`.
    pub title: String,
    pub help: String,
    pub kind: StepKind,
    /// Every condition must hold for the step to be in a service's checklist.
    pub when: Vec<When>,
    /// The two-person rule for this step alone: its change waits for a
    /// second person's approval whatever the service's `approvals`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approve: bool,
}

impl StepSpec {
    pub fn applies(&self, caps: Caps) -> bool {
        self.when.iter().all(|w| w.holds(caps))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Runbook {
    pub name: String,
    pub description: String,
    pub before: Vec<StepSpec>,
    pub during: Vec<StepSpec>,
    pub after: Vec<StepSpec>,
    /// Its time targets ("immediate actions in under 2 minutes"), counted
    /// from the checklist's start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
}

/// A time target of a runbook: `title` done within `within` of the
/// checklist's start. It is met when every step it `ends` with that the
/// service's checklist has is settled (a phase's name stands for its steps).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub title: String,
    pub within: Duration,
    pub ends: Vec<String>,
}

/// The three rollbacks of reference 003: immediate (< 5 minutes, the
/// failure is found right away), standard (< 30 minutes: the database and
/// the services too) and emergency (production is down: act in 2 minutes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RollbackType {
    Immediate,
    Standard,
    Emergency,
}

impl RollbackType {
    pub const ALL: [RollbackType; 3] = [Self::Immediate, Self::Standard, Self::Emergency];

    pub fn name(self) -> &'static str {
        match self {
            Self::Immediate => "immediate",
            Self::Standard => "standard",
            Self::Emergency => "emergency",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == word)
    }
}

impl fmt::Display for RollbackType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a service's rollbacks follow: the runbook its team named, or one of
/// the three types, chosen for each rollback by `rollback_type::choose`.
// One per service, built once: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Runbooks {
    Named(Runbook),
    Typed {
        immediate: Runbook,
        standard: Runbook,
        emergency: Runbook,
    },
}

/// A runbook alone is the one every rollback follows.
impl From<Runbook> for Runbooks {
    fn from(r: Runbook) -> Self {
        Runbooks::Named(r)
    }
}

impl Runbooks {
    pub fn is_typed(&self) -> bool {
        matches!(self, Runbooks::Typed { .. })
    }

    /// The runbook a rollback of type `t` follows (the named one, whatever `t`).
    pub fn of(&self, t: RollbackType) -> &Runbook {
        match self {
            Runbooks::Named(r) => r,
            Runbooks::Typed {
                immediate,
                standard,
                emergency,
            } => match t {
                RollbackType::Immediate => immediate,
                RollbackType::Standard => standard,
                RollbackType::Emergency => emergency,
            },
        }
    }

    /// As people read it: `default`, or `immediate / standard / emergency (by rule)`.
    pub fn describe(&self) -> String {
        match self {
            Runbooks::Named(r) => r.name.clone(),
            Runbooks::Typed {
                immediate,
                standard,
                emergency,
            } => format!(
                "{} / {} / {} (a rule chooses)",
                immediate.name, standard.name, emergency.name
            ),
        }
    }

    /// Waits and holds `speed` times shorter (see `Runbook::scaled`).
    pub fn scaled(&self, speed: f64) -> Runbooks {
        self.map(|r| r.scaled(speed))
    }

    /// Every runbook, each changed by `f` (drills' `scaled`).
    pub fn map(&self, f: impl Fn(&Runbook) -> Runbook) -> Runbooks {
        match self {
            Runbooks::Named(r) => Runbooks::Named(f(r)),
            Runbooks::Typed {
                immediate,
                standard,
                emergency,
            } => Runbooks::Typed {
                immediate: f(immediate),
                standard: f(standard),
                emergency: f(emergency),
            },
        }
    }
}

/// Which type a checklist follows, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typed {
    pub kind: RollbackType,
    /// The rule's reason, or who changed it and from what.
    pub why: String,
}

/// A target as a checklist meets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetRun<'a> {
    pub target: &'a Target,
    /// Time from the checklist's start to when its steps settled, if they have.
    pub took: Option<Duration>,
}

impl TargetRun<'_> {
    pub fn met(&self) -> Option<bool> {
        self.took.map(|t| t <= self.target.within)
    }
}

/// A target as the journal keeps it and the report scores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetScore {
    pub title: String,
    pub within_secs: u64,
    /// From the checklist's start to the target's last step; `None`: not reached.
    pub took_secs: Option<u64>,
}

impl TargetScore {
    pub fn met(&self) -> Option<bool> {
        self.took_secs.map(|t| t <= self.within_secs)
    }
}

/// `1m12s`, `45s`, `2m`: a countdown's figures.
pub fn short(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 60, s % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s:02}s"),
    }
}

impl Runbook {
    /// The same runbook with its waits and holds `speed` times shorter: for
    /// drills and tests that run faster than life (as `Policy::scaled`).
    pub fn scaled(&self, speed: f64) -> Runbook {
        let s = |d: Duration| Duration::from_secs_f64(d.as_secs_f64() / speed.max(0.001));
        let scale = |steps: &[StepSpec]| -> Vec<StepSpec> {
            steps
                .iter()
                .cloned()
                .map(|mut st| {
                    st.kind = match st.kind {
                        StepKind::Check(Check::ErrorRateBelow {
                            threshold,
                            hold,
                            timeout,
                        }) => StepKind::Check(Check::ErrorRateBelow {
                            threshold,
                            hold: s(hold),
                            timeout: s(timeout),
                        }),
                        StepKind::Action(Act::WaitHealthy { probes, timeout }) => {
                            StepKind::Action(Act::WaitHealthy {
                                probes,
                                timeout: s(timeout),
                            })
                        }
                        StepKind::Action(Act::WaitStable { timeout }) => {
                            StepKind::Action(Act::WaitStable {
                                timeout: s(timeout),
                            })
                        }
                        StepKind::Action(Act::Restart {
                            argv,
                            probes,
                            timeout,
                        }) => StepKind::Action(Act::Restart {
                            argv,
                            probes,
                            timeout: s(timeout),
                        }),
                        StepKind::Action(Act::Stop { argv, timeout }) => {
                            StepKind::Action(Act::Stop {
                                argv,
                                timeout: s(timeout),
                            })
                        }
                        other => other,
                    };
                    st
                })
                .collect()
        };
        Runbook {
            name: self.name.clone(),
            description: self.description.clone(),
            before: scale(&self.before),
            during: scale(&self.during),
            after: scale(&self.after),
            targets: self
                .targets
                .iter()
                .cloned()
                .map(|t| Target {
                    within: s(t.within),
                    ..t
                })
                .collect(),
        }
    }

    /// The runbook with the service's own commands in the steps that name
    /// none (`restart`, `stop`, `migrate-down` without `argv`); such a step
    /// is left out for a service without that command.
    pub fn with_commands(&self, cmds: &Commands) -> Runbook {
        let fill = |steps: &[StepSpec]| -> Vec<StepSpec> {
            steps
                .iter()
                .cloned()
                .filter_map(|mut st| {
                    let (argv, own) = match &mut st.kind {
                        StepKind::Action(Act::Restart { argv, .. }) => (argv, &cmds.restart),
                        StepKind::Action(Act::Stop { argv, .. }) => (argv, &cmds.stop),
                        StepKind::Action(Act::MigrateDown { argv, .. }) => {
                            (argv, &cmds.migrate_down)
                        }
                        _ => return Some(st),
                    };
                    if argv.is_empty() {
                        match own {
                            Some(own) => *argv = own.clone(),
                            // The standard rollback exists for this step:
                            // with no command to run it, a person does it.
                            None if cmds.database
                                && matches!(st.kind, StepKind::Action(Act::MigrateDown { .. })) =>
                            {
                                st.kind = StepKind::Manual;
                                st.help = "No `revert` command is configured for this database: undo the release's migrations with the team's tool (the DB line says which, and whether they break the old code), then ⏎.".into();
                            }
                            None => return None,
                        }
                    }
                    Some(st)
                })
                .collect()
        };
        Runbook {
            before: fill(&self.before),
            during: fill(&self.during),
            after: fill(&self.after),
            ..self.clone()
        }
    }

    /// The steps that apply to a service with `caps`.
    pub fn for_caps(&self, caps: Caps) -> Runbook {
        // A step that runs the service's own command, and none was given
        // (`with_commands`), cannot be in a checklist.
        let runnable = |s: &StepSpec| {
            !matches!(
                &s.kind,
                StepKind::Action(
                    Act::Restart { argv, .. } | Act::Stop { argv, .. } | Act::MigrateDown { argv, .. }
                ) if argv.is_empty()
            )
        };
        let keep = |steps: &[StepSpec]| -> Vec<StepSpec> {
            steps
                .iter()
                .filter(|s| s.applies(caps) && runnable(s))
                .cloned()
                .collect()
        };
        Runbook {
            name: self.name.clone(),
            description: self.description.clone(),
            before: keep(&self.before),
            during: keep(&self.during),
            after: keep(&self.after),
            targets: self.targets.clone(),
        }
    }

    pub fn steps(&self) -> impl Iterator<Item = (Phase, &StepSpec)> {
        self.before
            .iter()
            .map(|s| (Phase::Before, s))
            .chain(self.during.iter().map(|s| (Phase::During, s)))
            .chain(self.after.iter().map(|s| (Phase::After, s)))
    }
}

/// Where one step of a running checklist stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepStatus {
    /// Not reached yet.
    Waiting,
    /// The operator's turn.
    Current,
    /// Asking the provider what exactly will change.
    AwaitingPreview,
    /// The exact change is shown; the second key runs it.
    Previewing(Vec<String>),
    /// The two-person rule: the change previewed (`lines`) waits for a
    /// second person's approval, asked as `request` at `asked`.
    AwaitingApproval {
        lines: Vec<String>,
        request: u64,
        asked: Ts,
    },
    Running {
        since: Ts,
    },
    Done,
    /// Done, with something the operator should know (a notification failed).
    Warned(String),
    Failed(String),
    Skipped(String),
}

impl StepStatus {
    /// Finished, one way or another: the checklist may move on.
    pub fn settled(&self) -> bool {
        matches!(
            self,
            StepStatus::Done | StepStatus::Warned(_) | StepStatus::Skipped(_)
        )
    }

    pub fn mark(&self) -> &'static str {
        match self {
            StepStatus::Waiting => "·",
            StepStatus::Current
            | StepStatus::AwaitingPreview
            | StepStatus::Previewing(_)
            | StepStatus::AwaitingApproval { .. } => "▶",
            StepStatus::Running { .. } => "…",
            StepStatus::Done => "✓",
            StepStatus::Warned(_) => "!",
            StepStatus::Failed(_) => "✗",
            StepStatus::Skipped(_) => "-",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRun {
    pub phase: Phase,
    pub spec: StepSpec,
    /// The title with the placeholders filled.
    pub title: String,
    pub status: StepStatus,
    pub started: Option<Ts>,
    pub finished: Option<Ts>,
    pub by: Option<String>,
    /// What the step found or did, shown under it and journaled.
    pub evidence: Vec<String>,
    /// For waits: how far (done, of).
    pub progress: Option<(u32, u32)>,
    /// For "stays under" checks: since when it has been under.
    pub ok_since: Option<Ts>,
    /// The change a preview showed: the second key runs exactly this.
    pub pending: Option<StepWork>,
    /// The preview request whose answer may be shown for `pending`.
    pub request: u64,
}

/// One step as it ended, for the journal and the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepSummary {
    pub phase: Phase,
    pub id: String,
    pub title: String,
    /// `done`, `skipped: why`, `failed: error`, `not done`.
    pub outcome: String,
    pub by: Option<String>,
    pub started: Option<Ts>,
    /// When it settled.
    pub at: Option<Ts>,
    pub evidence: Vec<String>,
}

/// How a checklist ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ending {
    Completed,
    Aborted(String),
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::Completed => f.write_str("completed"),
            Ending::Aborted(why) => write!(f, "aborted: {why}"),
        }
    }
}

/// A runbook being followed for one service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checklist {
    /// The journal's number for this incident, once it has one.
    pub incident: Option<i64>,
    pub service: usize,
    pub suspect: usize,
    pub target: usize,
    pub runbook: String,
    pub started: Ts,
    pub started_by: String,
    /// Run by auto mode: no prompts, manual steps left for a person.
    pub auto: bool,
    pub steps: Vec<StepRun>,
    /// The step whose turn it is.
    pub cursor: usize,
    pub ended: Option<(Ts, Ending)>,
    /// Why the rollback: the rules that fired, or the operator's request.
    pub reasons: Vec<String>,
    /// When the failure was first detected (the decision's time), for MTTR.
    pub detected_at: Ts,
    /// When the suspect went bad, if known (a drill's fault, the first
    /// failed probe), for MTTD.
    pub began: Option<Ts>,
    /// When the during phase finished: users on the good version, verified.
    pub recovered: Option<Ts>,
    /// The journal has been told how it ended.
    pub close_sent: bool,
    /// Who ended it (completed the last step, or abandoned it).
    pub ended_by: Option<String>,
    /// This checklist's number in the session: answers carry it.
    pub run: u64,
    /// The revision a revert started from: wait-stable waits until the
    /// service no longer points at it.
    pub reverted_from: Option<String>,
    /// The revision it goes back to.
    pub reverted_to: Option<String>,
    /// Why auto mode stopped and handed this checklist to a person, if it did.
    pub auto_stopped: Option<String>,
    /// The rollback type it follows, when the service's rollbacks are typed.
    #[serde(default)]
    pub typed: Option<Typed>,
    /// Its runbook's time targets, each with the ids of the steps it ends
    /// with that this checklist has (targets ending with none are left out).
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Its severity and the updates the team was sent.
    #[serde(default)]
    pub comms: crate::comms::Comms,
}

/// Values for a runbook's titles.
pub struct Names<'a> {
    pub service: &'a str,
    pub suspect: &'a str,
    pub target: &'a str,
    pub suspect_version: &'a str,
    pub target_version: &'a str,
}

impl Names<'_> {
    pub fn fill(&self, s: &str) -> String {
        s.replace("{service}", self.service)
            .replace("{suspect_version}", self.suspect_version)
            .replace("{target_version}", self.target_version)
            .replace("{suspect}", self.suspect)
            .replace("{target}", self.target)
    }
}

impl Checklist {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        runbook: &Runbook,
        names: &Names<'_>,
        service: usize,
        suspect: usize,
        target: usize,
        by: &str,
        auto: bool,
        now: Ts,
    ) -> Self {
        let steps = runbook
            .steps()
            .map(|(phase, spec)| StepRun {
                phase,
                spec: StepSpec {
                    help: names.fill(&spec.help),
                    ..spec.clone()
                },
                title: names.fill(&spec.title),
                status: StepStatus::Waiting,
                started: None,
                finished: None,
                by: None,
                evidence: Vec::new(),
                progress: None,
                ok_since: None,
                pending: None,
                request: 0,
            })
            .collect::<Vec<StepRun>>();
        let phase_of = |word: &str| {
            Phase::ALL
                .into_iter()
                .find(|p| p.title().eq_ignore_ascii_case(word))
        };
        let targets = runbook
            .targets
            .iter()
            .map(|t| Target {
                ends: t
                    .ends
                    .iter()
                    .flat_map(|e| match phase_of(e) {
                        Some(p) => runbook
                            .steps()
                            .filter(|(q, _)| *q == p)
                            .map(|(_, s)| s.id.clone())
                            .collect::<Vec<_>>(),
                        None => vec![e.clone()],
                    })
                    .filter(|id| steps.iter().any(|s| &s.spec.id == id))
                    .collect(),
                ..t.clone()
            })
            .filter(|t| !t.ends.is_empty())
            .collect();
        let mut c = Checklist {
            incident: None,
            service,
            suspect,
            target,
            runbook: runbook.name.clone(),
            started: now,
            started_by: by.to_string(),
            auto,
            steps,
            cursor: 0,
            ended: None,
            reasons: Vec::new(),
            detected_at: now,
            began: None,
            recovered: None,
            close_sent: false,
            ended_by: None,
            run: 0,
            reverted_from: None,
            reverted_to: None,
            auto_stopped: None,
            typed: None,
            targets,
            comms: crate::comms::Comms::opened(now),
        };
        if let Some(first) = c.steps.first_mut() {
            first.status = StepStatus::Current;
        }
        c
    }

    pub fn current(&self) -> Option<&StepRun> {
        self.steps.get(self.cursor).filter(|_| self.ended.is_none())
    }

    pub fn current_mut(&mut self) -> Option<&mut StepRun> {
        if self.ended.is_some() {
            return None;
        }
        self.steps.get_mut(self.cursor)
    }

    /// Settle the current step and make the next one current; the end when
    /// there is none. Returns whether the checklist just completed.
    pub fn settle(&mut self, status: StepStatus, by: &str, now: Ts) -> bool {
        let Some(step) = self.current_mut() else {
            return false;
        };
        // A skip is the skipper's, whoever started the step.
        if matches!(status, StepStatus::Skipped(_)) {
            step.by = Some(by.to_string());
        }
        step.status = status;
        step.finished = Some(now);
        step.pending = None;
        step.by.get_or_insert_with(|| by.to_string());
        self.cursor += 1;
        match self.steps.get_mut(self.cursor) {
            Some(next) => {
                next.status = StepStatus::Current;
                false
            }
            None => {
                self.ended = Some((now, Ending::Completed));
                self.ended_by = Some(by.to_string());
                true
            }
        }
    }

    /// The first step of a phase that is not settled, if any (the during
    /// phase being done is when the rollback itself is done).
    pub fn phase_done(&self, phase: Phase) -> bool {
        self.steps
            .iter()
            .filter(|s| s.phase == phase)
            .all(|s| s.status.settled())
    }

    /// Each step as the journal and the report keep it.
    pub fn summary(&self) -> Vec<StepSummary> {
        self.steps
            .iter()
            .map(|s| StepSummary {
                phase: s.phase,
                id: s.spec.id.clone(),
                title: s.title.clone(),
                outcome: match &s.status {
                    StepStatus::Done => "done".into(),
                    StepStatus::Warned(w) => format!("done, warning: {w}"),
                    StepStatus::Skipped(why) => format!("skipped: {why}"),
                    StepStatus::Failed(e) => format!("failed: {e}"),
                    StepStatus::Running { .. } => "running".into(),
                    StepStatus::Waiting
                    | StepStatus::Current
                    | StepStatus::AwaitingPreview
                    | StepStatus::Previewing(_) => "not done".into(),
                    StepStatus::AwaitingApproval { .. } => "not done (awaiting approval)".into(),
                },
                by: s.by.clone(),
                started: s.started,
                at: s.finished,
                evidence: s.evidence.clone(),
            })
            .collect()
    }

    /// Each time target and how long its steps took, if they have settled.
    pub fn target_runs(&self) -> Vec<TargetRun<'_>> {
        self.targets
            .iter()
            .map(|t| {
                let ends: Vec<&StepRun> = self
                    .steps
                    .iter()
                    .filter(|s| t.ends.contains(&s.spec.id))
                    .collect();
                let took = if ends.iter().all(|s| s.status.settled()) {
                    ends.iter()
                        .filter_map(|s| s.finished)
                        .max()
                        .map(|at| at.since(self.started))
                } else {
                    None
                };
                TargetRun { target: t, took }
            })
            .collect()
    }

    /// The targets as the journal keeps them.
    pub fn target_scores(&self) -> Vec<TargetScore> {
        self.target_scores_at(1.0)
    }

    /// The targets in a clock `speed` times the wall's (a drill's scenario
    /// time), scaled before they are rounded to whole seconds.
    pub fn target_scores_at(&self, speed: f64) -> Vec<TargetScore> {
        let secs = |d: Duration| (d.as_secs_f64() * speed).round() as u64;
        self.target_runs()
            .into_iter()
            .map(|r| TargetScore {
                title: r.target.title.clone(),
                within_secs: secs(r.target.within),
                took_secs: r.took.map(secs),
            })
            .collect()
    }

    /// The countdown of the first target not met yet: `immediate actions:
    /// 1m12s left of 2m`, or `… 40s over 2m` once missed.
    pub fn countdown(&self, now: Ts) -> Option<(String, bool)> {
        if self.ended.is_some() {
            return None;
        }
        let run = self.target_runs().into_iter().find(|r| r.took.is_none())?;
        let (title, within) = (&run.target.title, run.target.within);
        let spent = now.since(self.started);
        Some(match within.checked_sub(spent) {
            Some(left) => (
                format!("{title}: {} left of {}", short(left), short(within)),
                false,
            ),
            None => (
                format!("{title}: {} over {}", short(spent - within), short(within)),
                true,
            ),
        })
    }

    pub fn counts(&self) -> (usize, usize, usize) {
        let done = self
            .steps
            .iter()
            .filter(|s| matches!(s.status, StepStatus::Done | StepStatus::Warned(_)))
            .count();
        let skipped = self
            .steps
            .iter()
            .filter(|s| matches!(s.status, StepStatus::Skipped(_)))
            .count();
        (done, skipped, self.steps.len())
    }
}

/// The work of one checklist step, for the executor.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StepWork {
    /// Probe every endpoint of an environment `count` more times.
    Reprobe { env: usize, count: u32 },
    /// Describe moving the traffic (changes nothing).
    PreviewSwitch {
        from: crate::traffic::Weights,
        to: crate::traffic::Weights,
        request: u64,
    },
    Switch {
        from: crate::traffic::Weights,
        to: crate::traffic::Weights,
    },
    /// Describe putting an environment on its previous revision: from
    /// `expect` to `to`, as core last read them (refused if they moved).
    PreviewRevert {
        env: String,
        expect: Option<String>,
        to: Option<String>,
        request: u64,
    },
    Revert {
        env: String,
        /// The revision the preview was made from: refused if it moved.
        expect: Option<String>,
        /// The revision the preview said it goes back to.
        to: Option<String>,
    },
    /// Run the service's smoke tests against an environment.
    Smoke { env: String },
    /// Send a message to every configured notifier.
    Notify { template: Template, text: String },
    /// Set the status page's incident to `status`, publishing `text`.
    StatusPage {
        status: crate::status_page::PublicStatus,
        text: String,
    },
    /// Run a program with `TARGET_URL` set.
    Command {
        argv: Vec<String>,
        timeout: std::time::Duration,
        env: String,
    },
    /// Undo migration `from` with the team's tool; the table must then
    /// show `to` as current (`None`: no migration left).
    MigrateDown {
        argv: Vec<String>,
        timeout: std::time::Duration,
        from: String,
        to: Option<String>,
    },
}

impl StepWork {
    /// `switch traffic`, `revert deployment`, …: for people.
    pub fn name(&self) -> &'static str {
        work_name(self)
    }

    /// Changes the world: journaled as intent before, outcome after.
    pub fn mutates(&self) -> bool {
        matches!(
            self,
            StepWork::Switch { .. }
                | StepWork::Revert { .. }
                | StepWork::Notify { .. }
                | StepWork::StatusPage { .. }
                | StepWork::Command { .. }
                | StepWork::MigrateDown { .. }
        )
    }
}

fn work_name(w: &StepWork) -> &'static str {
    match w {
        StepWork::Reprobe { .. } => "re-probe",
        StepWork::PreviewSwitch { .. } => "preview traffic switch",
        StepWork::Switch { .. } => "switch traffic",
        StepWork::PreviewRevert { .. } => "preview revert",
        StepWork::Revert { .. } => "revert deployment",
        StepWork::Smoke { .. } => "smoke tests",
        StepWork::Notify { .. } => "notify",
        StepWork::StatusPage { .. } => "status page",
        StepWork::Command { .. } => "command",
        StepWork::MigrateDown { .. } => "migrate down",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> Runbook {
        let step = |id: &str, kind| StepSpec {
            when: vec![],
            approve: false,
            id: id.into(),
            title: format!("{id} {{target}}"),
            help: String::new(),
            kind,
        };
        Runbook {
            name: "t".into(),
            description: String::new(),
            before: vec![step("a", StepKind::Manual)],
            during: vec![step("b", StepKind::Action(Act::SwitchTraffic))],
            after: vec![step("c", StepKind::Action(Act::Note))],
            targets: vec![],
        }
    }

    fn names() -> Names<'static> {
        Names {
            service: "web",
            suspect: "green",
            target: "blue",
            suspect_version: "1.0.1",
            target_version: "1.0.0",
        }
    }

    #[test]
    fn walks_its_steps_in_order_and_completes() {
        let mut c = Checklist::new(&book(), &names(), 0, 1, 0, "ops", false, Ts(0));
        assert_eq!(c.steps[0].status, StepStatus::Current);
        assert_eq!(c.steps[1].title, "b blue");
        assert!(!c.settle(StepStatus::Done, "ops", Ts(1)));
        assert_eq!(c.cursor, 1);
        assert!(c.phase_done(Phase::Before));
        assert!(!c.phase_done(Phase::During));
        assert!(!c.settle(StepStatus::Done, "ops", Ts(2)));
        assert!(c.settle(StepStatus::Skipped("not now".into()), "ops", Ts(3)));
        assert_eq!(c.ended, Some((Ts(3), Ending::Completed)));
        assert_eq!(c.counts(), (2, 1, 3));
        assert!(c.current().is_none());
    }

    #[test]
    fn what_mutates_and_what_is_automatable() {
        assert!(Act::SwitchTraffic.mutates());
        assert!(
            !Act::WaitHealthy {
                probes: 3,
                timeout: Duration::from_secs(60)
            }
            .mutates()
        );
        assert!(!StepKind::Manual.automatable());
        assert!(!StepKind::Action(Act::Note).automatable());
        assert!(StepKind::Check(Check::TargetHealthy).automatable());
    }
}
