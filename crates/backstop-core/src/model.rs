//! The console's whole state: what the operator sees, nothing else.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::action::Action;
use super::decision::{Decision, Policy, RollbackRecord};
use super::events::EventLog;
use super::health::{HealthReport, HealthStatus};
use super::metrics::{MetricWindow, Series, WindowStats};
use super::rules::{AlarmState, RuleKind, RuleState};
use super::runbook::{Checklist, Runbooks};
use super::time::Ts;
use super::traffic::{WeightEditor, Weights};

/// What a health endpoint is for. Every role counts toward the environment's
/// status; the role tells the operator which one failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Health,
    Ready,
    Live,
    Detailed,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Health => "health",
            Role::Ready => "ready",
            Role::Live => "live",
            Role::Detailed => "detailed",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change of fault asked of the sandbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAsked {
    Inject(Fault),
    Clear,
}

impl FaultAsked {
    pub fn new(fault: Option<Fault>) -> Self {
        fault.map_or(FaultAsked::Clear, FaultAsked::Inject)
    }

    /// The fault in force once the sandbox has done it.
    pub fn fault(self) -> Option<Fault> {
        match self {
            FaultAsked::Inject(f) => Some(f),
            FaultAsked::Clear => None,
        }
    }
}

/// The faults a drill injects are the drill's (`drill::Fault`).
pub use crate::drill::Fault;

/// Where the console's world comes from, shown in the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A configuration file (path as the operator gave it).
    Config(String),
    /// The embedded drill sandbox: nothing real is touched.
    Drill,
}

/// One probe of one endpoint, as classified.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeResult {
    pub at: Ts,
    pub latency_ms: f64,
    pub report: HealthReport,
    /// backstop itself was this late (ms) while it waited for the answer
    /// (starved of CPU, stopped, asleep): a timeout then is its own, not
    /// the endpoint's, and the latency includes its delay.
    pub late: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EndpointState {
    /// The URL for display, secrets redacted.
    pub url: String,
    pub role: Role,
    pub interval: Duration,
    pub timeout: Duration,
    pub last: Option<ProbeResult>,
    pub consecutive_failures: u32,
    pub last_success: Option<Ts>,
}

impl EndpointState {
    pub fn new(url: String, role: Role, interval: Duration, timeout: Duration) -> Self {
        EndpointState {
            url,
            role,
            interval,
            timeout,
            last: None,
            consecutive_failures: 0,
            last_success: None,
        }
    }

    pub fn status(&self) -> Option<HealthStatus> {
        self.last.as_ref().map(|p| p.report.status)
    }
}

/// One probe's latency; a failed probe's latency says nothing about speed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencySample {
    pub ms: f64,
    pub failed: bool,
}

/// The last latencies of an environment's primary endpoint, for the sparkline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencyHistory {
    samples: VecDeque<LatencySample>,
    /// Samples ever pushed: where the groups of `bars` begin.
    pushed: u64,
}

impl LatencyHistory {
    pub const CAPACITY: usize = 64;
    /// Probes per bar of the trend.
    pub const GROUP: usize = 4;

    pub fn push(&mut self, ms: f64, failed: bool) {
        if self.samples.len() == Self::CAPACITY {
            self.samples.pop_front();
        }
        self.samples.push_back(LatencySample { ms, failed });
        self.pushed += 1;
    }

    /// The trend, oldest first: one bar per `GROUP` probes, groups counted
    /// from the first probe ever, so the bars move once per group rather
    /// than with every probe, and a bar (its group's median) does not
    /// repaint with jitter. A group with a failed probe is failed: that is
    /// the news. The newest group is shown before it is whole; the oldest
    /// is left out when the buffer has cut it.
    pub fn bars(&self) -> Vec<LatencySample> {
        let first = self.pushed - self.samples.len() as u64;
        let cut = (Self::GROUP as u64 - first % Self::GROUP as u64) % Self::GROUP as u64;
        let kept: Vec<LatencySample> = self.samples.iter().skip(cut as usize).copied().collect();
        kept.chunks(Self::GROUP)
            .map(|group| {
                let failed = group.iter().any(|s| s.failed);
                let mut ms: Vec<f64> = group
                    .iter()
                    .filter(|s| s.failed == failed)
                    .map(|s| s.ms)
                    .collect();
                ms.sort_by(f64::total_cmp);
                LatencySample {
                    ms: ms[ms.len() / 2],
                    failed,
                }
            })
            .collect()
    }

    pub fn samples(
        &self,
    ) -> impl DoubleEndedIterator<Item = LatencySample> + ExactSizeIterator + '_ {
        self.samples.iter().copied()
    }

    /// Median of the last five probes: the number shown, steady against
    /// jitter. Failed probes count: a timeout's latency is the news.
    pub fn recent_median(&self) -> Option<f64> {
        let mut last: Vec<f64> = self.samples.iter().rev().take(5).map(|s| s.ms).collect();
        if last.is_empty() {
            return None;
        }
        last.sort_by(f64::total_cmp);
        Some(last[last.len() / 2])
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnvState {
    pub name: String,
    pub endpoints: Vec<EndpointState>,
    /// Worst status over the endpoints probed so far; `None` before the first answer.
    pub status: Option<HealthStatus>,
    /// When `status` last changed.
    pub changed_at: Option<Ts>,
    pub last_success: Option<Ts>,
    pub version: Option<String>,
    pub latency: LatencyHistory,
    /// The sandbox fault active on this environment (drills only).
    pub fault: Option<Fault>,
    /// Since when a fault has been in force (drills: the start MTTD counts from).
    pub fault_since: Option<Ts>,
    /// Degraded or worse, continuously, since this instant.
    pub degraded_since: Option<Ts>,
    /// A fault change asked of the sandbox and not yet confirmed: the next
    /// `inject-fault` cycles on from it, so quick presses walk the cycle.
    pub fault_asked: Option<FaultAsked>,
    pub metrics: EnvMetrics,
}

/// Request metrics from a traffic source, with their history.
#[derive(Clone, Debug, PartialEq)]
pub struct TrafficMetrics {
    /// Where they come from: `sandbox traffic`, `cloudwatch`.
    pub source: String,
    pub at: Ts,
    pub one_min: WindowStats,
    pub five_min: WindowStats,
    /// Other windows the rules asked for.
    pub extra: Vec<WindowStats>,
    /// Everything served since the source began, if it counts requests.
    pub tally: Option<crate::compare::Tally>,
}

impl TrafficMetrics {
    /// The figures over a window of `secs` seconds, if the source reports it.
    pub fn window(&self, secs: u32) -> Option<&WindowStats> {
        [&self.one_min, &self.five_min]
            .into_iter()
            .chain(self.extra.iter())
            .find(|w| w.window_secs == secs)
    }
}

/// What is known of an environment's requests and probes over time.
#[derive(Clone, Debug)]
pub struct EnvMetrics {
    pub traffic: Option<TrafficMetrics>,
    /// Error rate (0–1) of the 1-minute and 5-minute windows, one point per update.
    pub error_1m: Series,
    pub error_5m: Series,
    /// p95 latency (ms) of the 1-minute and 5-minute windows.
    pub p95_1m: Series,
    pub p95_5m: Series,
    /// The health probes themselves, as requests: failures and latency.
    pub probes: MetricWindow,
}

impl Default for EnvMetrics {
    fn default() -> Self {
        EnvMetrics {
            traffic: None,
            error_1m: Series::default(),
            error_5m: Series::default(),
            p95_1m: Series::default(),
            p95_5m: Series::default(),
            // Probes are sparse: a histogram per 30 s is plenty.
            probes: MetricWindow::new(Duration::from_secs(30)),
        }
    }
}

impl PartialEq for EnvMetrics {
    /// Histograms are not compared; what they summarise is.
    fn eq(&self, other: &Self) -> bool {
        self.traffic == other.traffic
            && self.error_1m == other.error_1m
            && self.p95_1m == other.p95_1m
    }
}

impl EnvState {
    pub fn new(name: impl Into<String>, endpoints: Vec<EndpointState>) -> Self {
        EnvState {
            name: name.into(),
            endpoints,
            status: None,
            changed_at: None,
            last_success: None,
            version: None,
            latency: LatencyHistory::default(),
            fault: None,
            degraded_since: None,
            fault_since: None,
            fault_asked: None,
            metrics: EnvMetrics::default(),
        }
    }

    /// The endpoint whose latency is charted: the first `health` one, else the first.
    pub fn primary_endpoint(&self) -> usize {
        self.endpoints
            .iter()
            .position(|e| e.role == Role::Health)
            .unwrap_or(0)
    }

    /// Consecutive failed probes of the worst endpoint.
    pub fn consecutive_failures(&self) -> u32 {
        self.endpoints
            .iter()
            .map(|e| e.consecutive_failures)
            .max()
            .unwrap_or(0)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServiceState {
    pub name: String,
    pub envs: Vec<EnvState>,
    /// `None` when no traffic provider is configured for the service.
    pub traffic: Option<TrafficState>,
    pub rollback: RollbackState,
    /// External alarms (CloudWatch…) about this service.
    pub alarms: Vec<ExternalAlarm>,
    /// `None` when no deploy provider is configured for the service.
    pub deploy: Option<crate::deploy::DeployState>,
    /// Its database's migrations, once read (`[services.x.database]`).
    pub database: Option<crate::migration::Read>,
    /// This console only watches this service: it shows everything and
    /// acts on nothing.
    pub read_only: bool,
}

impl ServiceState {
    pub fn new(
        name: impl Into<String>,
        envs: Vec<EnvState>,
        traffic: Option<TrafficState>,
        policy: Policy,
        runbook: impl Into<Runbooks>,
        now: Ts,
    ) -> Self {
        let rollback = RollbackState::new(policy, runbook.into(), envs.len(), now);
        ServiceState {
            name: name.into(),
            envs,
            traffic,
            rollback,
            alarms: Vec::new(),
            deploy: None,
            database: None,
            read_only: false,
        }
    }

    /// Each environment's share of traffic in percent, when a provider reports it.
    pub fn shares(&self) -> Option<Vec<(String, u32)>> {
        let w = self.traffic.as_ref()?.weights.as_ref()?;
        Some(
            w.0.iter()
                .map(|e| e.env.clone())
                .zip(w.percents())
                .collect(),
        )
    }

    pub fn share(&self, env: usize) -> Option<u32> {
        let name = &self.envs.get(env)?.name;
        self.shares()?
            .into_iter()
            .find(|(e, _)| e == name)
            .map(|(_, p)| p)
    }
}

/// An alarm another system evaluates (CloudWatch: OK, ALARM, INSUFFICIENT_DATA).
/// Serialisable: the war room's AWS poller publishes what it read.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExternalAlarm {
    pub name: String,
    pub state: AlarmState,
    pub reason: String,
    /// When it entered its state (as the alarm system says).
    pub since: Ts,
    /// `cloudwatch`.
    pub source: String,
}

/// One line of a service's incident timeline: the "why" view reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: Ts,
    pub kind: TimelineKind,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineKind {
    /// A sample that crossed a threshold.
    Evidence,
    /// A rule changed state.
    Rule,
    /// The decision changed.
    Decision,
    /// Something was done: a rollback started, finished or failed.
    Action,
}

/// Everything about deciding and carrying out rollbacks for one service.
#[derive(Clone, Debug, PartialEq)]
pub struct RollbackState {
    pub policy: Policy,
    /// The runbook a rollback of this service follows (or, typed, the three
    /// a rule chooses from).
    pub runbook: Runbooks,
    /// The checklist being followed (or just finished), if any.
    pub checklist: Option<Checklist>,
    /// Every rule on every environment it applies to.
    pub rules: Vec<RuleState>,
    pub decision: Decision,
    pub decision_since: Ts,
    /// When a rule first fired for the current incident (the first
    /// recommendation or block since the service was last healthy): MTTD's
    /// end and MTTR's start.
    pub detected_at: Option<Ts>,
    /// Auto mode stands down for this suspect after a person abandoned its
    /// rollback, until the decision changes.
    pub auto_held: Option<usize>,
    /// The journal's number of the last incident, after its checklist is put away.
    pub last_incident: Option<i64>,
    pub history: Vec<RollbackRecord>,
    /// A rollback under way.
    pub in_progress: Option<crate::decision::UnderWay>,
    /// The operator asked to roll back this environment: (env, by, at).
    /// It is served (and cleared) when a checklist starts, or refused.
    pub manual: Option<(usize, String, Ts)>,
    pub timeline: VecDeque<TimelineEntry>,
    /// Changes sent to the executor whose outcome has not come back. They
    /// count for the guards as if done, and their outcome is recorded even
    /// if the checklist that sent them was abandoned meanwhile.
    pub in_flight: Vec<InFlight>,
    /// Changes of this service other backstops of the room sent and whose
    /// outcome has not come yet (from the journal): they count for the
    /// guards as if done, and no change is made here until they land.
    pub elsewhere: Vec<Elsewhere>,
    /// The driver's checklist as another console publishes it: what this
    /// console's checklist pane follows when it has none of its own.
    pub followed: Option<Followed>,
    /// Someone asked this console, which drives the service, to hand it over.
    pub asked: Option<Asker>,
    /// Who holds the incident's roles beside the driver, as the journal's
    /// rows say (`roles`).
    pub roles: crate::roles::Roles,
    /// The on-call chain paged for this service's incident, if it was.
    pub paging: Option<crate::escalation::Paging>,
    /// The due time the update prompt last opened for here (it opens once
    /// per due time, whoever's checklist it is).
    pub prompted: Option<Ts>,
    /// An approval that came while a line was being typed: (request, who).
    /// Nothing changes behind a person typing, so it runs when the line
    /// closes (the next tick), if the step still waits on that request.
    pub approved_meanwhile: Option<(u64, String)>,
    /// Production is down and the emergency rollback's switch is ready:
    /// previewed by the provider as soon as the rule fired, shown in the
    /// banner, one `y` away (`update::emergency`).
    pub ready: Option<Ready>,
}

/// An emergency switch previewed before any key (see `RollbackState::ready`).
#[derive(Clone, Debug, PartialEq)]
pub struct Ready {
    pub suspect: usize,
    pub target: usize,
    pub from: crate::traffic::Weights,
    pub to: crate::traffic::Weights,
    pub request: u64,
    /// The provider's description, once it answered (`None`: asked).
    pub lines: Option<Vec<String>>,
    /// When it was shown: a `y` sooner than `ARMED_READ` after is typing.
    pub shown: Option<Ts>,
}

/// Another console's checklist for a service, as last published.
#[derive(Clone, Debug, PartialEq)]
pub struct Followed {
    pub operator: String,
    /// Who the operator is (`identity::person`), to compare with this console's.
    pub person: String,
    /// The account its machine reported (see `Shared::vouched`).
    pub vouched: Option<String>,
    pub session: String,
    pub checklist: crate::runbook::Checklist,
    /// When it was published (the journal's row).
    pub at: Ts,
}

/// A change another backstop of the room made, whose outcome is not in
/// the journal yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Elsewhere {
    /// The intent's row.
    pub intent: i64,
    pub operator: String,
    pub session: String,
    /// `switch-traffic`, `revert-deployment`, `notify`, …
    pub work: String,
    pub text: String,
    pub at: Ts,
    /// A rollback's suspect and target, by environment name.
    pub route: Option<(String, String)>,
}

/// A person who asked to drive a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asker {
    pub operator: String,
    pub session: String,
    pub at: Ts,
}

/// Who holds a service's lease, as this console last read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseView {
    pub service: String,
    pub operator: String,
    pub session: String,
    pub token: i64,
    pub since: Ts,
    /// The holder's heartbeat is gone (or its process): anyone may take
    /// the lease over, after a confirmation naming it.
    pub lost: bool,
    /// Seconds since its last heartbeat.
    pub quiet_s: i64,
}

/// A session on the journal, as the header counts them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Present {
    pub operator: String,
    pub session: String,
    /// What it is: `console`, `backstop rollback`, …
    pub what: String,
    pub since: Ts,
    pub read_only: bool,
    /// The services whose lease it holds.
    pub drives: Vec<String>,
    /// This very console.
    pub me: bool,
}

/// A change on its way: which checklist step sent it, and what it does.
#[derive(Clone, Debug, PartialEq)]
pub struct InFlight {
    pub run: u64,
    pub step: usize,
    pub work: crate::runbook::StepWork,
    pub at: Ts,
    pub by: String,
    /// Environment names: where users come from and go to.
    pub from: String,
    pub to: String,
}

impl InFlight {
    /// A switch or a revert: what the cooldown and the limit count.
    pub fn is_rollback(&self) -> bool {
        matches!(
            self.work,
            crate::runbook::StepWork::Switch { .. } | crate::runbook::StepWork::Revert { .. }
        )
    }
}

impl RollbackState {
    pub const TIMELINE: usize = 200;

    pub fn new(policy: Policy, runbook: Runbooks, envs: usize, now: Ts) -> Self {
        let mut rules = Vec::new();
        let deciding = policy
            .rules
            .iter()
            .chain(std::iter::once(&RuleKind::Manual))
            .map(|k| (k, false));
        for (kind, dry_run) in deciding.chain(policy.dry_run.iter().map(|k| (k, true))) {
            // An alarm or a comparison is one instance: it names (or is
            // given) its environment.
            let envs = if kind.per_service() { 0..1 } else { 0..envs };
            rules.extend(envs.map(|e| RuleState {
                dry_run,
                ..RuleState::new(kind.clone(), e, now)
            }));
        }
        RollbackState {
            policy,
            runbook,
            checklist: None,
            rules,
            decision: Decision::Healthy,
            decision_since: now,
            detected_at: None,
            auto_held: None,
            last_incident: None,
            history: Vec::new(),
            in_progress: None,
            manual: None,
            timeline: VecDeque::new(),
            in_flight: Vec::new(),
            elsewhere: Vec::new(),
            followed: None,
            roles: crate::roles::Roles::default(),
            paging: None,
            prompted: None,
            asked: None,
            approved_meanwhile: None,
            ready: None,
        }
    }

    /// The rollbacks the guards count: those done — by any backstop of
    /// the room —, and those sent whose outcome is not back yet, here or
    /// elsewhere (a switch on its way is a switch).
    pub fn counted(&self) -> Vec<RollbackRecord> {
        let mut all = self.history.clone();
        all.extend(
            self.in_flight
                .iter()
                .filter(|f| f.is_rollback())
                .map(|f| RollbackRecord {
                    at: f.at,
                    from: f.from.clone(),
                    to: f.to.clone(),
                    by: f.by.clone(),
                }),
        );
        all.extend(self.elsewhere.iter().filter_map(|e| {
            let (from, to) = e.route.clone()?;
            Some(RollbackRecord {
                at: e.at,
                from,
                to,
                by: e.operator.clone(),
            })
        }));
        all.sort_by_key(|r| r.at);
        all
    }

    /// A rollback of this service under way in another backstop of the
    /// room: the checklist its driver publishes, or a switch or revert of
    /// theirs whose outcome has not come.
    pub fn under_way_elsewhere(&self, envs: &[EnvState]) -> Option<crate::decision::UnderWay> {
        if let Some(f) = self
            .followed
            .as_ref()
            .filter(|f| f.checklist.ended.is_none())
        {
            return Some(crate::decision::UnderWay {
                suspect: f.checklist.suspect,
                target: f.checklist.target,
                since: f.checklist.started,
                by: f.operator.clone(),
            });
        }
        let e = self.elsewhere.iter().find(|e| e.route.is_some())?;
        let (from, to) = e.route.as_ref()?;
        let idx = |name: &str| envs.iter().position(|x| x.name == name);
        Some(crate::decision::UnderWay {
            suspect: idx(from)?,
            target: idx(to)?,
            since: e.at,
            by: e.operator.clone(),
        })
    }

    pub fn note(&mut self, at: Ts, kind: TimelineKind, text: impl Into<String>) {
        if self.timeline.len() == Self::TIMELINE {
            self.timeline.pop_front();
        }
        self.timeline.push_back(TimelineEntry {
            at,
            kind,
            text: text.into(),
        });
    }
}

/// A change of weights, and who or what made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightChange {
    pub at: Ts,
    /// `ops@bastion-1`, or `outside backstop` when a read found it changed.
    pub by: String,
    pub from: Option<Weights>,
    pub to: Weights,
}

/// Where a service's traffic goes, as its provider last reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrafficState {
    /// `sandbox`, `nginx`, `command`, `alb`.
    pub provider: String,
    /// Where the weights are held, e.g. `upstream web_pool in /etc/nginx/conf.d/web.conf`.
    pub target: String,
    pub weights: Option<Weights>,
    pub read_at: Option<Ts>,
    /// The last read failed with this (shown in the pane until a read succeeds).
    pub error: Option<String>,
    pub last_change: Option<WeightChange>,
}

impl TrafficState {
    pub fn new(provider: impl Into<String>, target: impl Into<String>) -> Self {
        TrafficState {
            provider: provider.into(),
            target: target.into(),
            weights: None,
            read_at: None,
            error: None,
            last_change: None,
        }
    }
}

/// Identifies an endpoint by position in the configuration (fixed at startup).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EndpointId {
    pub service: usize,
    pub env: usize,
    pub endpoint: usize,
}

/// Identifies an environment by position in the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnvId {
    pub service: usize,
    pub env: usize,
}

/// The panes the operator can focus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pane {
    Health,
    /// The rollback checklist (only while there is one).
    Checklist,
    Traffic,
    Alarms,
    Decision,
    Metrics,
    Deployments,
    Events,
}

impl Pane {
    pub const ORDER: [Pane; 8] = [
        Pane::Health,
        Pane::Checklist,
        Pane::Traffic,
        Pane::Alarms,
        Pane::Decision,
        Pane::Metrics,
        Pane::Deployments,
        Pane::Events,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Health => "Health",
            Pane::Checklist => "Rollback checklist",
            Pane::Traffic => "Traffic",
            Pane::Alarms => "Alarms & rules",
            Pane::Decision => "Decision",
            Pane::Metrics => "Metrics",
            Pane::Deployments => "Deployments",
            Pane::Events => "Events",
        }
    }
}

/// Which metric window the panes show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricWindowChoice {
    OneMinute,
    FiveMinutes,
}

impl MetricWindowChoice {
    pub fn label(self) -> &'static str {
        match self {
            MetricWindowChoice::OneMinute => "1m",
            MetricWindowChoice::FiveMinutes => "5m",
        }
    }
}

/// What covers the panes, if anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    /// The checks of the selected environment.
    Detail,
    /// The set-weights dialog (its state is [`UiState::editor`]).
    Weights,
    /// Why the selected service's decision is what it is.
    Why,
    /// A drill's score, when it ends.
    DrillScore,
    /// Actions a crash or a kill interrupted (from the journal), before anything else.
    Interrupted,
    /// Who is on the journal: every console and headless command, and what each drives.
    People,
    /// The drills' MTTD and MTTR by month and scenario against the targets.
    Trend,
}

/// What the trend view shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum TrendView {
    #[default]
    Loading,
    Ready(crate::trend::Trend),
    Failed(String),
}

/// What the operator is typing, and what for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextInput {
    pub purpose: InputPurpose,
    pub prompt: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputPurpose {
    /// Why the current step of a service's checklist is skipped.
    /// The step is named, so a checklist that moved on while the operator
    /// typed does not skip another one.
    SkipReason {
        service: usize,
        run: u64,
        step: usize,
    },
    /// The note a `note` step records.
    Note {
        service: usize,
        run: u64,
        step: usize,
    },
    /// Why the checklist is abandoned.
    AbortReason { service: usize },
    /// Why a change another console's driver asked approval for is rejected.
    RejectReason {
        service: usize,
        driver: String,
        request: u64,
    },
    /// Why the driver runs a change without the second person's approval.
    OverrideReason { service: usize, request: u64 },
    /// `yes` takes the service over from a driver whose heartbeat is gone.
    TakeOver { service: usize, from: String },
    /// An update to the team on an incident (prefilled, edited, sent on Enter).
    Update { service: usize, run: u64 },
    /// The `:` command line.
    Command,
    /// The `/` filter of a list pane, applied as it is typed.
    Filter { pane: Pane },
}

/// A polled source and how its reads go: the panes show the age of its
/// data, and its error while it fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceStatus {
    /// `cloudwatch alarms (eu-west-1)`.
    pub name: String,
    pub kind: SourceKind,
    pub ok_at: Option<Ts>,
    /// The last error, and since when reads fail.
    pub error: Option<(String, Ts)>,
    /// What the last good read held: alarms or environments.
    pub items: usize,
}

/// What a polled source feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Alarms,
    Metrics,
}

/// An action whose intent is in the journal and whose outcome is not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interrupted {
    /// The intent's row in the journal.
    pub intent: i64,
    pub at: Ts,
    pub scope: String,
    pub text: String,
    pub operator: String,
    /// The incident it belonged to, if any.
    pub incident: Option<i64>,
    /// `switch-traffic`, `revert-deployment`, `notify`, `command`, `set-weights`.
    pub work: String,
    /// What a check of the real state found, once made.
    pub real: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UiState {
    pub focus: Pane,
    /// Index into [`State::env_ids`].
    pub selected: usize,
    pub overlay: Overlay,
    /// Rows scrolled back from the newest event; 0 follows the newest.
    pub events_scroll: usize,
    pub window: MetricWindowChoice,
    pub editor: Option<WeightEditor>,
    /// A line being typed (a skip reason, a note).
    pub input: Option<TextInput>,
    /// Quit was pressed while a change was under way; a second press quits.
    pub quit_armed: bool,
    /// Lines the help is scrolled by, on terminals too short for all of it.
    pub help_scroll: u16,
    /// A one-key change waiting for its confirmation key (see [`Armed`]).
    pub armed: Option<Armed>,
    /// The key pressed last, and when: a `y` hard on the heels of another
    /// letter is typing, not an answer (`update::armed::is_typing`).
    pub last_key: Option<(crate::action::Action, Ts)>,
    /// Command lines run, oldest first (at most `command::HISTORY`).
    pub history: Vec<String>,
    /// The history line ↑/↓ shows in the command line, if any.
    pub recall: Option<usize>,
    /// The `/` filter of each list pane that has one.
    pub filters: Vec<(Pane, String)>,
}

impl UiState {
    /// The filter on `pane`, if one is set.
    pub fn filter(&self, pane: Pane) -> Option<&str> {
        self.filters
            .iter()
            .find(|(p, q)| *p == pane && !q.is_empty())
            .map(|(_, q)| q.as_str())
    }

    /// Set (or, with an empty text, clear) the filter on `pane`.
    pub fn set_filter(&mut self, pane: Pane, text: &str) {
        self.filters.retain(|(p, _)| *p != pane);
        if !text.trim().is_empty() {
            self.filters.push((pane, text.trim().to_string()));
        }
    }
}

/// A key that would change the world at once, pressed: it waits for the
/// confirm key, and any other key cancels it. A letter typed by mistake
/// (a note typed before its prompt was open) only asks a question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Armed {
    pub action: Action,
    /// The environment the key was pressed on.
    pub env: EnvId,
    /// The fault an inject-fault key will inject (a second press picks the next).
    pub fault: Option<Fault>,
    /// The question, as the key line asks it.
    pub question: String,
    pub at: Ts,
}

#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub now: Ts,
    pub title: String,
    pub origin: Origin,
    pub services: Vec<ServiceState>,
    pub events: EventLog,
    pub ui: UiState,
    pub quit: bool,
    /// Who is at the keyboard: `user@host`, and `from ADDRESS` over SSH.
    /// Every change made from this console is attributed to it.
    pub operator: String,
    /// The notifiers a notify step sends to, as shown: `slack ($SLACK_WEBHOOK_URL)`.
    pub notifiers: Vec<String>,
    /// Interrupted actions found in the journal at start.
    pub interrupted: Vec<Interrupted>,
    /// Checklists opened so far: each gets the next number.
    pub checklist_runs: u64,
    /// Preview requests made so far: each gets the next number, and an
    /// answer is shown only if it carries the latest one.
    pub preview_requests: u64,
    /// Who else is on this journal (consoles and headless commands), as
    /// last heard: the war room.
    pub people: Vec<Present>,
    /// Who holds each service's lease (services nobody drives are absent).
    pub leases: Vec<LeaseView>,
    /// This console's session on the journal (`operator#pid-start`): rows
    /// and leases name it.
    pub session: String,
    /// The war room it is in (`[journal] room`, else the configuration's
    /// name): its leases, checklists, approvals and people.
    pub room: String,
    /// Who the operator is when two people are compared (the two-person
    /// rule): their AWS name, else the name they declared, else `user@host`.
    pub person: String,
    /// The account something other than the person vouches this console
    /// runs under (the kernel's on this host's file, AWS's principal on a
    /// shared table): what the two-person rule compares by default.
    pub vouched: Option<String>,
    /// This console joined a team drill to watch and approve: the keys that
    /// act are the drill's driver's.
    pub approve_only: bool,
    /// Why the journal cannot be written, if it cannot: nothing may change
    /// unrecorded, so every acting key is refused with this reason.
    pub journal_down: Option<String>,
    /// backstop itself is late (starved of CPU, stopped, asleep): by how
    /// much at worst (ms), and since when. Meanwhile auto mode holds, and
    /// a probe that timed out across it counts as unknown.
    pub late: Option<(u64, Ts)>,
    /// Where the journal is shared between hosts (`DynamoDB table t`),
    /// shown beside the configuration's file; `None` for this host's file.
    pub journal_at: Option<String>,
    /// Polled sources (CloudWatch alarms, metrics): when each last answered.
    pub sources: Vec<SourceStatus>,
    /// The drill being run from a scenario, with its clock.
    pub drill: Option<crate::drill::DrillRun>,
    /// The contexts (configurations side by side) this console can switch to.
    pub contexts: Vec<String>,
    /// The context shown, if the configuration came from one, and whether
    /// it is production (the header colours it so).
    pub context: Option<ContextView>,
    /// `:context NAME` asked for another context: the console switches.
    pub switch_context: Option<String>,
    /// The drills' trend, as last read for its view.
    pub trend: TrendView,
    /// The team's severity classes (reference 002's by default).
    pub severities: Vec<crate::severity::Class>,
    /// The public status page, if one is configured: how previews name it.
    pub status_page: Option<crate::status_page::View>,
    /// The on-call chain (`[escalation]`), if one is configured.
    pub escalation: Option<crate::escalation::Chain>,
}

/// The context the header names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextView {
    pub name: String,
    pub production: bool,
    /// The header's colour for it, as configured (`red`, `#rrggbb`).
    pub color: Option<String>,
}

impl State {
    pub fn new(
        title: impl Into<String>,
        origin: Origin,
        services: Vec<ServiceState>,
        now: Ts,
    ) -> Self {
        State {
            now,
            title: title.into(),
            origin,
            services,
            events: EventLog::default(),
            ui: UiState {
                focus: Pane::Health,
                selected: 0,
                overlay: Overlay::None,
                events_scroll: 0,
                window: MetricWindowChoice::OneMinute,
                editor: None,
                input: None,
                quit_armed: false,
                help_scroll: 0,
                armed: None,
                last_key: None,
                history: Vec::new(),
                recall: None,
                filters: Vec::new(),
            },
            interrupted: Vec::new(),
            checklist_runs: 0,
            preview_requests: 0,
            people: Vec::new(),
            leases: Vec::new(),
            session: String::new(),
            room: String::new(),
            person: String::new(),
            vouched: None,
            approve_only: false,
            journal_down: None,
            late: None,
            journal_at: None,
            sources: Vec::new(),
            drill: None,
            contexts: Vec::new(),
            context: None,
            switch_context: None,
            trend: TrendView::Loading,
            severities: crate::severity::defaults(),
            status_page: None,
            escalation: None,
            quit: false,
            operator: "operator".into(),
            notifiers: Vec::new(),
        }
    }

    /// Every environment in display order.
    pub fn env_ids(&self) -> impl Iterator<Item = EnvId> + '_ {
        self.services
            .iter()
            .enumerate()
            .flat_map(|(s, svc)| (0..svc.envs.len()).map(move |e| EnvId { service: s, env: e }))
    }

    pub fn env(&self, id: EnvId) -> Option<&EnvState> {
        self.services.get(id.service)?.envs.get(id.env)
    }

    pub fn env_mut(&mut self, id: EnvId) -> Option<&mut EnvState> {
        self.services.get_mut(id.service)?.envs.get_mut(id.env)
    }

    pub fn selected_env(&self) -> Option<EnvId> {
        self.env_ids().nth(self.ui.selected)
    }

    /// `web/green`, the way events and the journal name an environment.
    pub fn env_label(&self, id: EnvId) -> String {
        match (self.services.get(id.service), self.env(id)) {
            (Some(s), Some(e)) => format!("{}/{}", s.name, e.name),
            _ => "?".to_string(),
        }
    }

    pub fn find_env(&self, service: &str, env: &str) -> Option<EnvId> {
        let s = self.services.iter().position(|s| s.name == service)?;
        let e = self.services[s].envs.iter().position(|e| e.name == env)?;
        Some(EnvId { service: s, env: e })
    }

    pub fn is_drill(&self) -> bool {
        self.origin == Origin::Drill
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trend_moves_once_per_group_and_a_failure_shows_at_once() {
        let mut h = LatencyHistory::default();
        let ms = |h: &LatencyHistory| h.bars().iter().map(|b| b.ms).collect::<Vec<_>>();
        for v in [10.0, 30.0, 20.0, 12.0] {
            h.push(v, false);
        }
        assert_eq!(
            ms(&h),
            [20.0],
            "the median of the group, not its last probe"
        );
        h.push(50.0, false);
        assert_eq!(
            ms(&h),
            [20.0, 50.0],
            "the newest group shows before it is whole"
        );
        h.push(5.0, true);
        let bars = h.bars();
        assert!(bars[1].failed && !bars[0].failed, "{bars:?}");
        // Past the capacity the oldest, cut group is left out: the bars
        // stay aligned to the groups they had.
        for _ in 0..LatencyHistory::CAPACITY {
            h.push(7.0, false);
        }
        assert_eq!(
            h.bars().len(),
            LatencyHistory::CAPACITY / LatencyHistory::GROUP
        );
        h.push(7.0, false);
        assert_eq!(
            h.bars().len(),
            LatencyHistory::CAPACITY / LatencyHistory::GROUP
        );
        assert!(h.bars().iter().all(|b| b.ms == 7.0 && !b.failed));
    }

    #[test]
    fn fault_cycle_wraps() {
        assert_eq!(Fault::after(None), Fault::Unhealthy);
        assert_eq!(Fault::after(Some(Fault::Unhealthy)), Fault::Degraded);
        assert_eq!(Fault::after(Some(Fault::Refused)), Fault::ErrorRate(8));
        assert_eq!(Fault::after(Some(Fault::Latency(1500))), Fault::Unhealthy);
    }

    #[test]
    fn latency_history_is_bounded_and_median_is_steady() {
        let mut h = LatencyHistory::default();
        for i in 0..1000 {
            h.push(f64::from(i), false);
        }
        assert_eq!(h.samples().len(), LatencyHistory::CAPACITY);
        for ms in [1.0, 2.0, 900.0, 3.0, 2.0] {
            h.push(ms, false);
        }
        assert_eq!(h.recent_median(), Some(2.0));
        for _ in 0..3 {
            h.push(1000.0, true);
        }
        assert_eq!(h.recent_median(), Some(1000.0), "timeouts count");
        assert_eq!(LatencyHistory::default().recent_median(), None);
    }
}
