//! What flows into core (`Msg`) and out of it (`Effect`).

use super::action::Action;
use super::metrics::WindowStats;
use super::model::{EndpointId, ExternalAlarm, Fault, Interrupted, ProbeResult};
use super::runbook::StepSummary;
use super::time::Ts;
use super::traffic::Weights;

/// One environment's request metrics from a metric source.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvSnapshot {
    pub service: usize,
    pub env: usize,
    pub one_min: WindowStats,
    pub five_min: WindowStats,
    /// Other windows the rules asked for.
    pub extra: Vec<WindowStats>,
    /// Everything served since the source began, where the source counts
    /// requests one by one (what comparison rules read).
    pub tally: Option<crate::compare::Tally>,
}

/// Something that happened. Every message carries its time: core never reads a clock.
#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    /// The clock moved (ages on screen, deadlines).
    Tick(Ts),
    /// A health endpoint answered (or did not).
    Probed {
        endpoint: EndpointId,
        result: ProbeResult,
    },
    /// Several answers, in the order they came. Each is recorded as a
    /// `Probed` would be, in its turn; the rules and decision of each
    /// service they touch are judged once, when all are in. (Thousands of
    /// endpoints would otherwise wake the console, and judge, thousands of
    /// times a second.)
    ProbedMany(Vec<(EndpointId, ProbeResult)>),
    /// The operator gave a command.
    Action(Action, Ts),
    /// The sandbox applied (or cleared, `None`) a fault.
    FaultSet {
        service: String,
        env: String,
        fault: Option<Fault>,
        at: Ts,
    },
    /// An effect could not be carried out.
    EffectFailed {
        effect: String,
        error: String,
        at: Ts,
    },
    /// A traffic provider was read.
    TrafficRead {
        service: usize,
        result: Result<Weights, String>,
        at: Ts,
    },
    /// A metric source reported its windows.
    Metrics {
        source: String,
        snapshots: Vec<EnvSnapshot>,
        at: Ts,
    },
    /// The provider's description of a weight change, for the preview:
    /// the answer to exactly one `PreviewWeights` request.
    WeightsPreview {
        service: usize,
        request: u64,
        result: Result<Vec<String>, String>,
        at: Ts,
    },
    /// Weights were changed; `log` is what the provider printed.
    WeightsSet {
        service: usize,
        from: Weights,
        to: Weights,
        by: String,
        log: Vec<String>,
        at: Ts,
    },
    /// A weight change failed; nothing was left half-applied.
    WeightsFailed {
        service: usize,
        error: String,
        log: Vec<String>,
        at: Ts,
    },
    /// An alarm source reported the alarms it watches, by service.
    Alarms {
        source: String,
        alarms: Vec<(usize, ExternalAlarm)>,
        /// The services this source watches: their alarms are replaced by
        /// this answer (one deleted in CloudWatch goes away here too).
        covered: Vec<usize>,
        at: Ts,
    },
    /// A deploy provider was read: every environment it manages.
    DeployRead {
        service: usize,
        result: Result<Vec<crate::deploy::EnvDeploy>, String>,
        at: Ts,
    },
    /// A service's database was read: its migration tool's table.
    DatabaseRead {
        service: usize,
        result: Result<crate::migration::Schema, crate::migration::ReadError>,
        at: Ts,
    },
    /// A polled source (alarms, metrics) could not be read.
    SourceFailed {
        source: String,
        kind: super::model::SourceKind,
        error: String,
        at: Ts,
    },
    /// A rollback asked for without keys (`backstop rollback`): as the
    /// start-rollback key on `env`, by `by`; `auto` runs the runbook's
    /// automatable path without prompts.
    Rollback {
        env: super::model::EnvId,
        by: String,
        auto: bool,
        at: Ts,
    },
    /// The drill's report was written (its path), or could not be.
    DrillReported {
        result: Result<String, String>,
        at: Ts,
    },
    /// A drill scenario's step was played.
    DrillStep { text: String, at: Ts },
    /// The drill's time is up.
    DrillEnd { at: Ts },
    /// A key while the operator types a line.
    Text(TextKey, Ts),
    /// The exact change a checklist step will make (or why it cannot be
    /// described): the answer to exactly one preview request.
    StepPreview {
        service: usize,
        /// The checklist it belongs to (a late answer must not settle another).
        run: u64,
        step: usize,
        /// The request it answers: only the latest one is ever shown.
        request: u64,
        result: Result<Vec<String>, String>,
        at: Ts,
    },
    /// A checklist step's work finished.
    StepDone {
        service: usize,
        run: u64,
        step: usize,
        outcome: StepOutcome,
        at: Ts,
    },
    /// The journal recorded the incident a checklist belongs to.
    IncidentOpened { service: usize, id: i64, at: Ts },
    /// An update to the team went out (or did not): see `Effect::SendUpdate`.
    UpdateSent {
        service: usize,
        run: u64,
        by: String,
        outcome: StepOutcome,
        at: Ts,
    },
    /// An incident's report was written.
    ReportWritten { incident: i64, path: String, at: Ts },
    /// The drills scored in the journal, for the trend view (or why not).
    DrillsRead {
        result: Result<Vec<crate::trend::DrillPoint>, String>,
        at: Ts,
    },
    /// The journal holds actions that never finished (found at start).
    Interrupted { actions: Vec<Interrupted>, at: Ts },
    /// What the world looks like now, for an interrupted action.
    RealState { intent: i64, text: String, at: Ts },
    /// Who is on the journal now, and who holds each service's lease.
    People {
        people: Vec<super::model::Present>,
        leases: Vec<super::model::LeaseView>,
        at: Ts,
    },
    /// Rows other backstops wrote to the shared journal, in its order.
    Shared { rows: Vec<Shared>, at: Ts },
    /// The journal stopped storing what it is handed (why), or stores it
    /// again (`None`): nothing may change while it does not.
    JournalHealth { down: Option<String>, at: Ts },
    /// backstop itself is late by this much (ms) — starved of CPU, stopped,
    /// asleep — or on time again (`None`).
    Late { by_ms: Option<u64>, at: Ts },
    /// The pager answered a page (`Effect::Page`).
    Paged {
        service: usize,
        key: String,
        level: usize,
        act: crate::escalation::PageAct,
        outcome: StepOutcome,
        at: Ts,
    },
    /// What reading a page's acknowledgement found (`Effect::ReadAck`).
    AckRead {
        service: usize,
        key: String,
        read: crate::escalation::AckRead,
        at: Ts,
    },
    /// A lease asked of the executor was taken, handed over or refused.
    LeaseDone {
        service: String,
        act: LeaseAct,
        result: Result<String, String>,
        at: Ts,
    },
}

/// A row another backstop wrote to the shared journal: what this console
/// shows of the war room.
#[derive(Clone, Debug, PartialEq)]
pub struct Shared {
    pub id: i64,
    pub at: Ts,
    /// The service (or `service/env`, or `backstop`).
    pub scope: String,
    pub operator: String,
    pub session: String,
    /// Who the operator is, to compare two people (`identity::person`).
    pub person: String,
    /// The account something other than the person vouches wrote it: for
    /// an approval, the proof the room holds (the owner of its file on
    /// this host, its AWS principal on a table; `None` without proof); for
    /// other rows, the account the writer's machine reported.
    pub vouched: Option<String>,
    pub what: SharedWhat,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SharedWhat {
    /// A line for the events log: a step, an intent, an outcome, a note…
    Line {
        level: crate::events::Level,
        text: String,
    },
    /// The intent of a change it makes (row `Shared::id`): in flight until
    /// its outcome comes. `route`: where a rollback (a switch or a revert)
    /// takes users from and to.
    Change {
        work: String,
        text: String,
        route: Option<(String, String)>,
    },
    /// The outcome of change `intent`: it landed (`good`), or not.
    Resolved {
        intent: i64,
        good: bool,
        level: crate::events::Level,
        text: String,
    },
    /// Its checklist for the service, as it stands now.
    Checklist(Box<crate::runbook::Checklist>),
    /// Asks whoever drives the service to hand it over.
    AskToDrive,
    /// It took the service's lease (free, or a lost driver's): it drives.
    Drives { text: String },
    /// The driver handed the service to this session.
    HandedOver { session: String, operator: String },
    /// The two-person rule: a change asked for approval, or a verdict on one.
    Approval {
        /// The driver's session, whose request it is.
        driver: String,
        request: u64,
        act: ApprovalAct,
    },
    /// A role of the service's incident taken, handed over or given up
    /// (`roles`): this console's own rows come back too, so every console
    /// folds the same rows in the journal's order.
    Role {
        role: crate::roles::Role,
        change: crate::roles::Change,
        /// The session the writer saw holding it.
        from: Option<String>,
        incident: Option<i64>,
    },
    /// AWS readings the room's poller published (the row's `readings`).
    /// The engine turns them into the messages this console's own sources
    /// would have sent before `update` sees them: core never reads these.
    Readings(serde_json::Value),
}

/// What a console does with a service's lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseAct {
    /// Ask its driver to hand it over.
    Ask,
    /// Hand it to the session that asked.
    HandOver { session: String, operator: String },
    /// Take it: it was handed to us, or is free, or its driver is lost (a
    /// person confirmed, the lost driver named: `from`). The checklist it
    /// carries on belongs to `incident`.
    Take {
        from: Option<String>,
        incident: Option<i64>,
    },
}

/// The two-person rule's rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalAct {
    /// The driver asks a second person to approve exactly this change.
    Ask {
        step: String,
        title: String,
        lines: Vec<String>,
    },
    Approve,
    Reject(String),
    /// The driver ran it without a second person (allowed by configuration).
    Override(String),
    /// Nobody answered in time.
    Expire,
    /// The driver's console refused a verdict (the same person, not verified…).
    Refuse(String),
}

impl ApprovalAct {
    pub fn word(&self) -> &'static str {
        match self {
            ApprovalAct::Ask { .. } => "ask",
            ApprovalAct::Approve => "approve",
            ApprovalAct::Reject(_) => "reject",
            ApprovalAct::Override(_) => "override",
            ApprovalAct::Expire => "expire",
            ApprovalAct::Refuse(_) => "refuse",
        }
    }
}

/// Keys that edit a line of text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextKey {
    Char(char),
    /// Text pasted at once (bracketed paste): never a key, never a submit.
    Paste(String),
    Backspace,
    Submit,
    Cancel,
    /// Tab: complete the word (the command line).
    Complete,
    /// ↑ / ↓: the previous / next line of the history (the command line).
    Older,
    Newer,
}

/// How a step's work ended, and what was found or done on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepOutcome {
    pub verdict: Verdict,
    /// What was found or done, line by line.
    pub evidence: Vec<String>,
}

/// Done, done with something the operator should know, or failed: one of
/// them, never a mix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Done,
    /// Done, but the operator should know (a notification that failed).
    Warned(String),
    Failed(String),
}

impl StepOutcome {
    pub fn ok(evidence: Vec<String>) -> Self {
        StepOutcome {
            verdict: Verdict::Done,
            evidence,
        }
    }

    pub fn warned(warning: impl Into<String>, evidence: Vec<String>) -> Self {
        StepOutcome {
            verdict: Verdict::Warned(warning.into()),
            evidence,
        }
    }

    pub fn failed(error: impl Into<String>, evidence: Vec<String>) -> Self {
        StepOutcome {
            verdict: Verdict::Failed(error.into()),
            evidence,
        }
    }

    /// Done, with or without a warning.
    pub fn is_ok(&self) -> bool {
        !matches!(self.verdict, Verdict::Failed(_))
    }

    pub fn error(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::Failed(e) => Some(e),
            _ => None,
        }
    }

    pub fn warning(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::Warned(w) => Some(w),
            _ => None,
        }
    }
}

/// A step's work is the runbook's (`runbook::StepWork`); named here too, where
/// the executor's messages are.
pub use crate::runbook::StepWork;

impl Msg {
    pub fn at(&self) -> Ts {
        match self {
            Msg::Tick(at) | Msg::Action(_, at) => *at,
            Msg::Probed { result, .. } => result.at,
            Msg::ProbedMany(answers) => answers.iter().map(|(_, r)| r.at).max().unwrap_or(Ts(0)),
            Msg::FaultSet { at, .. }
            | Msg::EffectFailed { at, .. }
            | Msg::TrafficRead { at, .. }
            | Msg::Metrics { at, .. }
            | Msg::WeightsPreview { at, .. }
            | Msg::WeightsSet { at, .. }
            | Msg::WeightsFailed { at, .. }
            | Msg::Alarms { at, .. }
            | Msg::Text(_, at)
            | Msg::DeployRead { at, .. }
            | Msg::DatabaseRead { at, .. }
            | Msg::SourceFailed { at, .. }
            | Msg::DrillStep { at, .. }
            | Msg::DrillReported { at, .. }
            | Msg::Rollback { at, .. }
            | Msg::DrillEnd { at }
            | Msg::StepPreview { at, .. }
            | Msg::StepDone { at, .. }
            | Msg::Paged { at, .. }
            | Msg::AckRead { at, .. }
            | Msg::UpdateSent { at, .. }
            | Msg::IncidentOpened { at, .. }
            | Msg::Interrupted { at, .. }
            | Msg::RealState { at, .. }
            | Msg::People { at, .. }
            | Msg::Shared { at, .. }
            | Msg::JournalHealth { at, .. }
            | Msg::Late { at, .. }
            | Msg::LeaseDone { at, .. }
            | Msg::ReportWritten { at, .. }
            | Msg::DrillsRead { at, .. } => *at,
        }
    }
}

/// Something core wants done in the world. Only the executor carries these out.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Set (or with `None` clear) the sandbox fault of one environment.
    SetFault {
        service: String,
        env: String,
        fault: Option<Fault>,
    },
    /// Ask the service's traffic provider to describe a change (changes
    /// nothing); the answer carries `request`.
    PreviewWeights {
        service: String,
        from: Weights,
        to: Weights,
        request: u64,
    },
    /// Change the weights, if they are still `from` (someone else may have
    /// moved them since the preview: then nothing is changed).
    SetWeights {
        service: String,
        from: Weights,
        to: Weights,
        by: String,
    },
    /// Probe an endpoint again at once, `times` times: a failure is confirmed
    /// (or not) before its interval comes round.
    Reprobe { endpoint: EndpointId, times: u32 },
    /// Record an incident in the journal; the answer is `IncidentOpened`.
    OpenIncident {
        service: usize,
        name: String,
        suspect: String,
        target: String,
        runbook: String,
        /// The rollback type and the rule's reason, when the service's rollbacks are typed.
        typed: Option<crate::runbook::Typed>,
        /// The severity the rule proposed.
        severity: Option<crate::comms::Severity>,
        by: String,
        auto: bool,
        reasons: Vec<String>,
        began: Option<Ts>,
        detected: Ts,
    },
    /// Journal that a person changed the rollback type before the first change.
    Retype {
        service: usize,
        name: String,
        incident: Option<i64>,
        from: crate::runbook::RollbackType,
        to: crate::runbook::RollbackType,
        runbook: String,
        by: String,
    },
    /// Journal a severity a person declared for an incident.
    Severity {
        service: usize,
        name: String,
        incident: Option<i64>,
        level: u8,
        why: String,
        by: String,
    },
    /// Send an update to the team through the notifiers (journaled as a
    /// message: intent, then outcome); the answer is `UpdateSent`.
    SendUpdate {
        service: usize,
        name: String,
        run: u64,
        incident: Option<i64>,
        text: String,
        by: String,
    },
    /// Record how an incident ended, with its steps.
    CloseIncident {
        incident: Option<i64>,
        service: usize,
        name: String,
        ending: String,
        by: String,
        recovered: Option<Ts>,
        steps: Vec<StepSummary>,
        /// Its runbook's time targets, scored.
        targets: Vec<crate::runbook::TargetScore>,
        /// Its severity and the updates the team was sent.
        comms: crate::comms::Comms,
        /// Updates that came late, or never came, under its cadence.
        missed: usize,
    },
    /// Do a checklist step's work; the answer is `StepPreview` or `StepDone`.
    Step {
        service: usize,
        name: String,
        /// Which checklist of the service (see `Checklist::run`).
        run: u64,
        step: usize,
        title: String,
        incident: Option<i64>,
        by: String,
        work: StepWork,
    },
    /// Look at the real state an interrupted action left.
    CheckReal {
        intent: i64,
        scope: String,
        /// The intent's kind of work: `switch-traffic`, `notify`, …
        work: String,
    },
    /// Record that an operator saw an interrupted action and its real state.
    AckInterrupted {
        intent: i64,
        /// Where the change was made (`web`, `web/green`): its driver resolves it.
        scope: String,
        incident: Option<i64>,
        by: String,
        text: String,
    },
    /// Write an incident's report to the data directory.
    ExportReport { incident: i64 },
    /// Read the drills scored in the journal (the trend view); changes nothing.
    ReadDrills,
    /// Journal a drill's score and write its report (Markdown and JSON).
    DrillReport {
        score: crate::drill::Score,
        title: String,
        steps: Vec<(Ts, String)>,
        started: Ts,
    },
    /// Page a level of the on-call chain, or resolve the pager's incident
    /// (journaled as intent and outcome); the answer is `Msg::Paged`.
    Page {
        service: usize,
        name: String,
        incident: Option<i64>,
        key: String,
        level: usize,
        act: crate::escalation::PageAct,
        summary: String,
        severity: u8,
        by: String,
    },
    /// Read whether the page was acknowledged; an acknowledgement found is
    /// journaled. The answer is `Msg::AckRead`.
    ReadAck {
        service: usize,
        name: String,
        incident: Option<i64>,
        key: String,
        level: usize,
    },
    /// Journal a role row (`roles`): it stands once the journal's order
    /// says so, on every console alike.
    Role {
        service: String,
        incident: Option<i64>,
        role: crate::roles::Role,
        change: crate::roles::Change,
        from: Option<String>,
        by: String,
    },
    /// Journal a note for the incident's timeline (`:note TEXT`), marked
    /// when the scribe wrote it.
    Note {
        service: String,
        incident: Option<i64>,
        text: String,
        by: String,
        scribe: bool,
    },
    /// Journal that a rule on probation (`dry_run`) fired, or stopped
    /// firing: what `report --stats` counts against the rollbacks.
    DryRun {
        service: String,
        env: String,
        rule: String,
        firing: bool,
        text: String,
    },
    /// Ask for, hand over or take a service's lease (journaled).
    Lease { service: String, act: LeaseAct },
    /// Journal a two-person-rule row: an ask, a verdict, an override.
    Approval {
        service: String,
        incident: Option<i64>,
        driver: String,
        request: u64,
        act: ApprovalAct,
    },
}

impl Effect {
    /// Changes the world outside backstop (production, or a drill's faults):
    /// what the safety rules are about.
    pub fn mutates(&self) -> bool {
        match self {
            Effect::SetWeights { .. } => true,
            Effect::Step { work, .. } => work.mutates(),
            _ => false,
        }
    }

    /// A one-line description for the event log and the journal.
    pub fn describe(&self) -> String {
        match self {
            Effect::SetFault {
                service,
                env,
                fault: Some(f),
            } => {
                format!("inject fault \"{}\" into {service}/{env}", f.label())
            }
            Effect::SetFault {
                service,
                env,
                fault: None,
            } => format!("clear faults of {service}/{env}"),
            Effect::PreviewWeights {
                service, from, to, ..
            } => {
                format!(
                    "preview weights of {service}: {}",
                    Weights::describe_change(from, to)
                )
            }
            Effect::SetWeights {
                service,
                from,
                to,
                by,
            } => {
                format!(
                    "set weights of {service}: {} (by {by})",
                    Weights::describe_change(from, to)
                )
            }
            Effect::Reprobe { endpoint, times } => {
                format!(
                    "re-probe endpoint {}/{}/{} {times} times",
                    endpoint.service, endpoint.env, endpoint.endpoint
                )
            }
            Effect::OpenIncident {
                name,
                suspect,
                target,
                runbook,
                by,
                ..
            } => {
                format!(
                    "open incident: roll {name} back from {suspect} to {target} (runbook {runbook}, by {by})"
                )
            }
            Effect::CloseIncident { name, ending, .. } => {
                format!("close incident of {name}: {ending}")
            }
            Effect::Retype {
                name, from, to, by, ..
            } => format!("rollback type of {name}: {from} → {to} (by {by})"),
            Effect::Severity {
                name, level, by, ..
            } => format!("severity of {name}'s incident: SEV{level} (by {by})"),
            Effect::SendUpdate { name, by, .. } => format!("send an update on {name} (by {by})"),
            Effect::Step {
                name, title, work, ..
            } => format!("{name}: {title} ({})", work.name()),
            Effect::CheckReal { scope, .. } => format!("check the real state of {scope}"),
            Effect::AckInterrupted { intent, by, .. } => {
                format!("interrupted action {intent} acknowledged by {by}")
            }
            Effect::ExportReport { incident } => {
                format!("export the report of incident {incident}")
            }
            Effect::DrillReport { score, .. } => format!("report the drill {}", score.scenario),
            Effect::ReadDrills => "read the drills' scores".to_string(),
            Effect::Lease { service, act } => match act {
                LeaseAct::Ask => format!("ask to drive {service}"),
                LeaseAct::HandOver { operator, .. } => format!("hand {service} over to {operator}"),
                LeaseAct::Take { from: Some(f), .. } => format!("take {service} over from {f}"),
                LeaseAct::Take { from: None, .. } => format!("drive {service}"),
            },
            Effect::Role {
                service,
                role,
                change,
                ..
            } => match change {
                crate::roles::Change::Take => format!("take the {} of {service}", role.title()),
                crate::roles::Change::Hand { operator, .. } => {
                    format!("hand the {} of {service} to {operator}", role.title())
                }
                crate::roles::Change::Release => {
                    format!("give up the {} of {service}", role.title())
                }
            },
            Effect::Page {
                name, level, act, ..
            } => format!("page ({}) level {} for {name}", act.word(), level + 1),
            Effect::ReadAck { name, .. } => format!("read the page's acknowledgement for {name}"),
            Effect::DryRun { service, rule, .. } => {
                format!("journal the dry-run rule {rule} of {service}")
            }
            Effect::Note {
                service, scribe, ..
            } => format!(
                "note for {service}{}",
                if *scribe { " (scribe)" } else { "" }
            ),
            Effect::Approval {
                service,
                request,
                act,
                ..
            } => format!("{} approval {request} of {service}", act.word()),
        }
    }
}
