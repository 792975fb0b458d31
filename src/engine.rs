//! The engine: sources feeding core, core's effects going to the executor.
//! The console draws it; headless commands and tests run it without a
//! terminal. Same machinery either way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::clock::now;
use crate::config::{Config, DeployConfig};
use crate::core::model::{
    EndpointId, EndpointState, EnvState, Origin, ServiceState, State, TrafficState,
};
use crate::core::msg::Msg;
use crate::core::time::Ts;
use crate::core::update::update;
use crate::exec::Executor;
use crate::identity::operator;
use crate::providers::deploy::{DeployProvider, SandboxDeploy};
use crate::providers::traffic::TrafficHandle;
use crate::room::{Entry, Journal, Reader, Redactor};
use crate::sandbox::Sandbox;
use crate::sandbox::metrics::SandboxMetrics;
use crate::sources;
use crate::sources::metrics::MetricSource;
use crate::sources::probe::{ProbeSpec, Prober};

/// Messages applied before the loop looks at keys and the screen again.
pub const DRAIN_LIMIT: usize = 4096;

/// Work done on messages before the loop looks at keys again.
pub const DRAIN_BUDGET: Duration = Duration::from_millis(2);

/// Where the engine keeps what outlives it.
#[derive(Clone, Debug)]
pub struct Storage {
    /// The incident journal (SQLite): with a table, this host's replica of it.
    pub journal: PathBuf,
    /// Exported reports.
    pub reports: PathBuf,
    /// The DynamoDB table the journal lives in, when it is shared between hosts.
    pub table: Option<Arc<crate::room::dynamo::Table>>,
}

impl Storage {
    /// `journal.sqlite` and `reports/` inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Storage {
            journal: dir.join("journal.sqlite"),
            reports: dir.join("reports"),
            table: None,
        }
    }

    /// Where the journal, its leases and its presence are.
    pub fn place(&self) -> crate::room::Place {
        crate::room::Place {
            file: self.journal.clone(),
            table: self.table.clone(),
            room: String::new(),
        }
    }
}

pub struct Engine {
    pub state: State,
    pub rx: mpsc::Receiver<Msg>,
    /// For sources added later (and tests that inject messages).
    pub tx: mpsc::Sender<Msg>,
    executor: Executor,
    tasks: Vec<JoinHandle<()>>,
    journal: Option<Journal>,
    /// A scenario's timeline, and the switch that stops it once scored.
    drill_play: Option<(JoinHandle<Option<String>>, tokio::sync::watch::Sender<bool>)>,
    /// This process, present on the journal (`backstop who`) while it runs.
    _here: Option<crate::room::presence::Here>,
    /// A drill on real providers, present in their room too while it plays.
    _here_real: Option<crate::room::presence::Here>,
    /// How often the clock ticks: a second, or the fastest probe interval
    /// when that is shorter (drills run faster than life).
    pub tick: Duration,
    /// Events already handed to the journal (of all ever recorded).
    journaled: u64,
    /// Each service's checklist as last published for the other consoles
    /// (`None` in a drill's own world, which nobody else shares).
    published: Option<Vec<Published>>,
    /// This console's part in the room's AWS polling (a shared journal
    /// that can be written): the poller's readings reach core through it.
    poller: Option<crate::poller::Poller>,
}

/// A checklist as last published, and when.
#[derive(Default)]
struct Published {
    checklist: Option<crate::core::runbook::Checklist>,
    at: Option<Instant>,
}

/// A checklist's progress within a step (a wait's count, evidence) is
/// published at most this often; a step that starts or ends, at once.
const PUBLISH_PROGRESS: Duration = Duration::from_millis(1000);

impl Engine {
    /// Start every source of `config` (probes, traffic reads, the sandbox's
    /// metrics) and an executor for its providers, journaling into
    /// `storage`. Needs a tokio runtime.
    pub fn start(
        config: &Config,
        origin: Origin,
        sandbox: Option<Arc<Sandbox>>,
        storage: &Storage,
    ) -> Result<Self> {
        Self::start_as(config, origin, sandbox, storage, "console")
    }

    /// As `start`, journaled as `what` started (`backstop verify`…).
    pub fn start_as(
        config: &Config,
        origin: Origin,
        sandbox: Option<Arc<Sandbox>>,
        storage: &Storage,
        what: &str,
    ) -> Result<Self> {
        // A journal that cannot be opened (a read-only file system, a full
        // disk) leaves the panes live and refuses every change, saying why.
        let place = storage.place().in_room(&config.room);
        let (mut journal, down) = match Journal::open_as(
            &place,
            Redactor::new(config.secrets()),
            &crate::identity::session(),
        ) {
            Ok(j) => (j, None),
            Err(e) => {
                let why = format!("{e:#}");
                tracing::error!("journal unavailable, nothing can change: {why}");
                (Journal::unavailable(&storage.journal, &why), Some(why))
            }
        };
        // A console that only watches writes no intent, whatever asks it to.
        let watching = !config.services.is_empty() && config.services.iter().all(|s| s.read_only);
        if watching {
            journal = journal.read_only();
        }
        let reader = match &down {
            None => Some(Reader::at(&place)?),
            Some(_) => None,
        };
        let interrupted = match &reader {
            Some(r) => r.interrupted()?,
            None => Vec::new(),
        };
        let (tx, rx) = mpsc::channel(1024);
        // One console polls AWS for all on a shared journal; the others
        // follow its readings. Alone, or with a journal that cannot carry
        // readings, a console polls for itself; one that reads nothing
        // from AWS takes no part (no election, no rows).
        let reads_aws = config.services.iter().any(|s| {
            s.alarms.is_some()
                || s.metrics.is_some()
                || matches!(s.deploy, Some(DeployConfig::Ecs(_)))
                || s.traffic
                    .as_ref()
                    .is_some_and(|t| matches!(t.kind, crate::config::TrafficKind::Alb(_)))
        });
        let poller = (config.shared && down.is_none() && reads_aws).then(|| {
            crate::poller::Poller::new(
                config
                    .services
                    .iter()
                    .map(|s| {
                        (
                            s.name.clone(),
                            s.environments.iter().map(|e| e.name.clone()).collect(),
                        )
                    })
                    .collect(),
            )
        });
        // The probes' connections live on their own thread's runtime; the
        // executor's waits and smoke probes keep a client of their own.
        // backstop's own lateness: the probes' thread and this runtime each
        // tick, and core hears when it falls late and is on time again.
        let lateness = sources::lateness::Lateness::default();
        sources::spawn_probes(config, &Prober::new()?, &lateness, &tx)?;
        let mut tasks = vec![lateness.spawn_ticker(), lateness.spawn_reports(tx.clone())];
        let prober = Prober::new()?;
        let mut state = initial_state(config, origin, now());
        state.operator = operator();
        state.approve_only = config.approve_only;
        state.journal_down = down.clone();
        state.journal_at = place.table.as_ref().map(|_| place.describe());
        state.session = journal.session.clone();
        state.room = if config.shared {
            config.room.clone()
        } else {
            String::new()
        };
        state.person = crate::identity::person(&state.operator).0;
        state.vouched = crate::identity::vouched(place.table.is_some());
        let tick = tick_of(config);
        // The guards remember rollbacks across restarts: cooldown and limit
        // count what the journal holds.
        let window = config
            .services
            .iter()
            .map(|s| s.policy.rollback_window.max(s.policy.cooldown))
            .max()
            .unwrap_or_default();
        let remembered = match &reader {
            // A free-play drill's sandbox is new: the rollbacks of earlier
            // drills were made in worlds that are gone, and hold no cooldown.
            Some(_) if config.fresh_world => Vec::new(),
            Some(r) => r.rollbacks_since(now().minus(window))?,
            None => Vec::new(),
        };
        for (name, record) in remembered {
            if let Some(svc) = state.services.iter_mut().find(|s| s.name == name) {
                svc.rollback.history.push(record);
            }
        }

        // One SDK setup per distinct AWS settings, loaded on first use.
        let aws = crate::aws::Registry::default();
        let mut traffic = HashMap::new();
        for (i, svc) in config.services.iter().enumerate() {
            let (Some(provider), Some(t)) = (
                crate::providers::traffic::build(svc, sandbox.as_ref(), &aws),
                &svc.traffic,
            ) else {
                continue;
            };
            if let Some(ts) = state.services[i].traffic.as_mut() {
                ts.target = provider.target();
            }
            let handle = TrafficHandle {
                service: i,
                provider,
            };
            // Load balancers are AWS: the room's poller reads them.
            let gate = match (&t.kind, &poller) {
                (crate::config::TrafficKind::Alb(alb), Some(p)) => Some(p.gate(
                    crate::poller::key(&format!("traffic {}", svc.name), &(&svc.name, alb)),
                )),
                _ => None,
            };
            tasks.push(sources::traffic::spawn_reads(
                handle.clone(),
                t.interval,
                gate,
                tx.clone(),
            ));
            traffic.insert(svc.name.clone(), handle);
        }
        tasks.extend(spawn_cloudwatch(config, &aws, poller.as_ref(), &tx));
        if let Some(sb) = &sandbox {
            let extra = sources::metrics::rule_windows(config);
            let source: Arc<dyn MetricSource> = Arc::new(SandboxMetrics {
                sandbox: sb.clone(),
                extra,
            });
            tasks.push(sources::metrics::spawn_poll(
                source,
                tick,
                config,
                None,
                tx.clone(),
            ));
        }
        let mut specs = HashMap::new();
        for (s, svc) in config.services.iter().enumerate() {
            for (e, env) in svc.environments.iter().enumerate() {
                for (p, ep) in env.endpoints.iter().enumerate() {
                    specs.insert(
                        EndpointId {
                            service: s,
                            env: e,
                            endpoint: p,
                        },
                        ProbeSpec::from_config(ep),
                    );
                }
            }
        }
        let mut deploy: HashMap<String, Arc<dyn DeployProvider>> = HashMap::new();
        let clusters = ecs_clusters(config, &aws);
        for (i, svc) in config.services.iter().enumerate() {
            let mut gate = None;
            let (provider, every): (Arc<dyn DeployProvider>, Duration) =
                match (&svc.deploy, &sandbox) {
                    (Some(DeployConfig::Sandbox), Some(sb)) => (
                        Arc::new(SandboxDeploy {
                            sandbox: sb.clone(),
                            service: svc.name.clone(),
                        }),
                        tick.max(Duration::from_millis(100)) * 2,
                    ),
                    (Some(DeployConfig::Ecs(cfg)), _) => {
                        let Some((_, _, shared)) = clusters
                            .iter()
                            .find(|(s, c, _)| *s == cfg.aws && *c == cfg.cluster)
                        else {
                            continue;
                        };
                        // ECS is AWS: the room's poller reads it.
                        gate = poller.as_ref().map(|p| {
                            p.gate(crate::poller::key(
                                &format!("deploy {}", svc.name),
                                &(&svc.name, cfg),
                            ))
                        });
                        (
                            Arc::new(crate::providers::ecs::EcsDeploy::shared(
                                shared.clone(),
                                cfg.clone(),
                            )),
                            config.aws.poll.deployments,
                        )
                    }
                    _ => continue,
                };
            if let Some(d) = state.services[i].deploy.as_mut() {
                d.target = provider.target();
            }
            tasks.push(sources::deploy::spawn_reads(
                i,
                provider.clone(),
                every,
                gate,
                tx.clone(),
            ));
            deploy.insert(svc.name.clone(), provider);
        }
        // Each database's migrations, every half minute: a read, never a write.
        for (i, svc) in config.services.iter().enumerate() {
            if let Some(db) = &svc.database {
                tasks.push(sources::database::spawn_reads(
                    i,
                    db.clone(),
                    sources::database::EVERY,
                    tx.clone(),
                ));
            }
        }
        let shared_world = config.shared;
        let executor = Executor::new(sandbox, traffic, tx.clone())
            .with_probes(prober, specs, lateness)
            .with_deploy(deploy)
            .with_config(config)
            .with_journal(journal.clone())
            .with_reports(storage.reports.clone());
        tracing::info!(
            "engine started on {} ({} services), journal {}",
            config.file,
            config.services.len(),
            place.describe()
        );
        let services: Vec<String> = config.services.iter().map(|s| s.name.clone()).collect();
        // Who joined the journal, as what: the report's "who watched".
        let mut joined = Entry::new(
            now(),
            "event",
            "backstop",
            format!(
                "{what} started on {} by {}{}",
                config.file,
                state.operator,
                if watching { " (read-only)" } else { "" }
            ),
            &state.operator,
        );
        joined.data = Some(serde_json::json!({
            "kind": "presence",
            "action": "joined",
            "role": what,
            "services": services,
            "read_only": watching,
        }));
        journal.append(joined);
        tasks.push(spawn_people(place.clone(), config.lease_expiry, tx.clone()));
        if let Some(p) = &poller {
            tasks.extend(p.spawn(journal.clone(), state.operator.clone()));
        }
        // The war room: what the other backstops on this journal do. A
        // drill's sandbox is its own world, unless the drill is a team's.
        if shared_world {
            tasks.push(crate::room::tail::spawn(
                place.clone(),
                journal.session.clone(),
                tx.clone(),
                journal.reading(),
            ));
        }
        // Being seen is not worth failing over: a journal that cannot say
        // who is here still records everything else.
        let here = crate::room::presence::Here::announce(&place, what, &services, watching)
            .map_err(|e| tracing::warn!("{e}"))
            .ok();
        let mut engine = Engine {
            state,
            rx,
            tx,
            executor,
            tasks,
            journal: Some(journal),
            journaled: 0,
            published: shared_world.then(|| {
                (0..config.services.len())
                    .map(|_| Published::default())
                    .collect()
            }),
            tick,
            drill_play: None,
            _here: here,
            _here_real: None,
            poller,
        };
        // A change without an outcome is in flight on the console that
        // made it while that console holds the service's lease: the room
        // waits for its outcome. Only a change whose driver is gone is
        // interrupted, for the next driver to resolve.
        let (in_flight, interrupted) = in_flight_elsewhere(
            &place,
            interrupted,
            &engine.state.session,
            config.lease_expiry,
        );
        if !in_flight.is_empty() {
            let rows = in_flight
                .iter()
                .filter_map(crate::room::tail::shared)
                .collect();
            engine.apply(Msg::Shared { rows, at: now() });
        }
        if !interrupted.is_empty() {
            let actions = interrupted
                .into_iter()
                .map(crate::room::Row::interrupted)
                .collect();
            engine.apply(Msg::Interrupted { actions, at: now() });
        }
        Ok(engine)
    }

    /// An engine from parts, for tests that bring their own state and executor.
    pub fn from_parts(
        state: State,
        rx: mpsc::Receiver<Msg>,
        tx: mpsc::Sender<Msg>,
        executor: Executor,
    ) -> Self {
        Engine {
            state,
            rx,
            tx,
            executor,
            tasks: Vec::new(),
            journal: None,
            journaled: 0,
            published: None,
            tick: Duration::from_secs(1),
            drill_play: None,
            _here: None,
            _here_real: None,
            poller: None,
        }
    }

    /// Begin `scenario` on the running sandbox: the drill clock starts now
    /// and its timeline plays at `o.speed`.
    pub fn begin_drill(
        &mut self,
        sandbox: Arc<Sandbox>,
        scenario: &crate::core::drill::Scenario,
        o: &crate::sandbox::drill::DrillOptions,
    ) -> Result<()> {
        let service = self
            .state
            .services
            .iter()
            .position(|s| s.name == scenario.service)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "drill {} plays on service {}, which the sandbox does not run",
                    scenario.name,
                    scenario.service
                )
            })?;
        let at = now();
        // A scenario is a rehearsal of its own: the rollbacks of earlier
        // drills in the drills' journal do not hold this one back
        // (cooldown, limit). Production's guards are production's: a drill
        // on real providers is judged there, and counted nowhere.
        for s in &mut self.state.services {
            s.rollback.history.clear();
        }
        // On real providers the drill takes the service's lease in their
        // room, for as long as it plays: production's consoles see a drill
        // drive it and cannot act meanwhile; every change to the real
        // provider is journaled there, under that lease's fence.
        if let (Some(_), Some(room)) = (&o.real, &o.real_room) {
            let world = Journal::open_as(
                &room.place,
                Redactor::new(room.secrets.clone()),
                &crate::identity::session(),
            )
            .map_err(|e| {
                anyhow::anyhow!("the drill cannot write in {}: {e}", room.place.describe())
            })?
            .for_drill();
            let driving = crate::room::lease::Driving::take(
                &room.place,
                &scenario.service,
                &self.state.operator,
                crate::room::Claim::Free,
                room.expiry,
            )
            .map_err(|e| anyhow::anyhow!("the drill cannot drive {}: {e}", scenario.service))?;
            let mut took = Entry::new(
                at,
                "event",
                &scenario.service,
                format!(
                    "a DRILL ({}) drives {} on its real providers (lease {})",
                    scenario.name, scenario.service, driving.lease.token
                ),
                &self.state.operator,
            );
            took.level = "warn".into();
            took.data = Some(serde_json::json!({
                "kind": "lease", "action": "take", "service": scenario.service, "to": self.state.operator,
            }));
            world.append(took);
            self._here_real = crate::room::presence::Here::announce(
                &room.place,
                "drill",
                std::slice::from_ref(&scenario.service),
                false,
            )
            .map_err(|e| tracing::warn!("{e}"))
            .ok();
            self.executor.with_world(world, driving);
        }
        // Changes an earlier drill left without an outcome were made on a
        // sandbox that ended with its process: there is nothing to check.
        // Recorded as abandoned, so they do not stop every later drill.
        if o.real.is_none() && !self.state.interrupted.is_empty() {
            for i in std::mem::take(&mut self.state.interrupted) {
                if let Some(j) = &self.journal {
                    let mut e = Entry::new(
                        at,
                        "outcome",
                        &i.scope,
                        format!(
                            "abandoned: {} (an earlier drill's sandbox ended with its process)",
                            i.text
                        ),
                        &self.state.operator,
                    );
                    e.level = "warn".into();
                    e.reference = Some(i.intent);
                    e.incident = i.incident;
                    j.append(e);
                }
            }
            if self.state.ui.overlay == crate::core::model::Overlay::Interrupted {
                self.state.ui.overlay = crate::core::model::Overlay::None;
            }
        }
        let run = crate::core::drill::DrillRun::new(scenario, service, o.speed, o.seed, at);
        self.state.drill = Some(run);
        let mode = if o.auto { "auto" } else { "advise" };
        self.apply(Msg::DrillStep {
            text: format!(
                "drill {} begins at {}x, seed {}, {mode} mode: {}",
                scenario.name, o.speed, o.seed, scenario.title
            ),
            at,
        });
        let real = o.real.as_ref().and_then(|svc| {
            crate::providers::traffic::build(svc, None, &crate::aws::Registry::default())
        });
        if let (Some(p), Some(d)) = (&real, self.state.drill.as_mut()) {
            d.real_target = Some(p.target());
        }
        let real = real.map(|provider| {
            let (journal, fence, holding) = self.executor.holding_of(&scenario.service);
            crate::sandbox::drill::Real {
                provider,
                journal,
                fence,
                holding,
            }
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let play = crate::sandbox::drill::play(
            sandbox,
            scenario.scaled(o.speed),
            o.seed,
            real,
            stopped,
            self.tx.clone(),
        );
        self.drill_play = Some((play, stop));
        Ok(())
    }

    /// Stop a scenario's timeline (if it still plays) and wait, up to 30 s,
    /// for it to put a real provider back as it found it. Returns what it
    /// put back, to tell the operator.
    pub async fn finish_drill(&mut self) -> Option<String> {
        let (play, stop) = self.drill_play.take()?;
        let _ = stop.send(true);
        match tokio::time::timeout(Duration::from_secs(30), play).await {
            Ok(Ok(note)) => note,
            _ => Some("the drill's timeline did not stop in 30 s".into()),
        }
    }

    /// Every change to `service` from now on is journaled only under this
    /// lease token: the fence a lost lease cannot pass.
    pub fn drive_under(&self, service: &str, token: Option<i64>) {
        self.executor.drive_under(service, token);
    }

    /// The smoke tests of `service` against `env` (see `Executor::smoke`).
    pub async fn smoke(
        &self,
        service: usize,
        env: &str,
    ) -> Result<Vec<crate::providers::smoke::Result>, String> {
        self.executor
            .smoke(service, env, &self.state.operator)
            .await
    }

    /// What a checklist step's work would change, from its provider.
    pub async fn preview(
        &self,
        service: &str,
        work: &crate::core::msg::StepWork,
    ) -> Result<Vec<String>, String> {
        self.executor.preview(service, work).await
    }

    /// Apply one message, journal what it recorded, and start its effects.
    pub fn apply(&mut self, msg: Msg) {
        let tick = matches!(msg, Msg::Tick(_));
        // The room's AWS readings become the messages this console's own
        // sources would have sent: core sees the same values either way.
        let msg = match msg {
            Msg::Shared { rows, at } if rows.iter().any(is_readings) => {
                let (readings, rows): (Vec<_>, Vec<_>) = rows.into_iter().partition(is_readings);
                for r in readings {
                    if let (Some(p), crate::core::msg::SharedWhat::Readings(v)) =
                        (&self.poller, &r.what)
                    {
                        for m in p.relayed(v, now()) {
                            self.apply(m);
                        }
                    }
                }
                if rows.is_empty() {
                    return;
                }
                Msg::Shared { rows, at }
            }
            other => other,
        };
        let effects = update(&mut self.state, msg);
        if tick {
            self.journal_health();
        }
        self.journal_events();
        self.publish_checklists();
        for effect in effects {
            self.executor.run(effect);
        }
        // Scored: the rest of the timeline would only change what was scored.
        if let Some((_, stop)) = &self.drill_play
            && self.state.drill.as_ref().is_some_and(|d| d.ended.is_some())
        {
            let _ = stop.send(true);
        }
    }

    /// A journal that stopped storing (a table that does not answer) or
    /// stores again: core hears of it at the next tick, so the header says
    /// it and nothing acts meanwhile. (A journal that could never be opened
    /// stays down, whatever its writer says.)
    fn journal_health(&mut self) {
        let Some(j) = &self.journal else { return };
        if j.down().is_some() {
            return;
        }
        let down = j.trouble();
        if down != self.state.journal_down {
            self.apply(Msg::JournalHealth { down, at: now() });
        }
    }

    /// Journal a line about this run itself (why it ended early…), as
    /// `backstop`'s, and wait until it is written.
    pub async fn note(&self, text: &str) {
        tracing::info!("{text}");
        if let Some(j) = &self.journal {
            j.append(Entry::new(
                now(),
                "event",
                "backstop",
                text,
                &self.state.operator,
            ));
            j.flush().await;
        }
    }

    /// Put each checklist that changed on the journal, for the consoles
    /// that follow it (the war room): a step that starts or ends at once,
    /// progress within a step at most every [`PUBLISH_PROGRESS`].
    fn publish_checklists(&mut self) {
        let (Some(published), Some(j)) = (self.published.as_mut(), &self.journal) else {
            return;
        };
        for (svc, p) in self.state.services.iter().zip(published.iter_mut()) {
            let Some(c) = &svc.rollback.checklist else {
                p.checklist = None;
                continue;
            };
            if p.checklist.as_ref() == Some(c) {
                continue;
            }
            let shape = |c: &crate::core::runbook::Checklist| {
                (
                    c.cursor,
                    c.ended.is_some(),
                    c.incident,
                    c.steps
                        .iter()
                        .map(|s| (std::mem::discriminant(&s.status), s.by.clone()))
                        .collect::<Vec<_>>(),
                )
            };
            let moved = p
                .checklist
                .as_ref()
                .is_none_or(|old| shape(old) != shape(c));
            if !moved && p.at.is_some_and(|at| at.elapsed() < PUBLISH_PROGRESS) {
                continue;
            }
            let Ok(data) = serde_json::to_value(c) else {
                continue;
            };
            let step = c.current().map_or(String::new(), |s| s.title.clone());
            let text = match &c.ended {
                Some((_, ending)) => format!("checklist {ending}"),
                None => format!(
                    "checklist at step {}/{}: {step}",
                    c.cursor + 1,
                    c.steps.len()
                ),
            };
            let mut e = Entry::new(
                self.state.now,
                "checklist",
                &svc.name,
                text,
                &self.state.operator,
            );
            e.incident = c.incident;
            e.data = Some(serde_json::json!({ "checklist": data }));
            j.append(e);
            p.checklist = Some(c.clone());
            p.at = Some(Instant::now());
        }
    }

    /// This backstop leaves the journal: a row says so (the report's "who
    /// watched" ends here), written before the process goes.
    pub async fn leave(&self) {
        if let Some(j) = &self.journal {
            let mut e = Entry::new(
                now(),
                "event",
                "backstop",
                format!("{} left", self.state.operator),
                &self.state.operator,
            );
            e.data = Some(serde_json::json!({ "kind": "presence", "action": "left" }));
            j.append(e);
            j.flush().await;
        }
    }

    /// Hand the events recorded since the last call to the journal.
    fn journal_events(&mut self) {
        let total = self.state.events.total();
        if total == self.journaled {
            return;
        }
        if let Some(j) = &self.journal {
            // What other consoles did is in the journal already.
            for e in self
                .state
                .events
                .since(self.journaled)
                .filter(|e| e.kind != crate::core::events::Kind::Room)
            {
                let mut entry = Entry::new(
                    e.at,
                    "event",
                    &e.scope,
                    e.text.clone(),
                    &self.state.operator,
                );
                entry.level = e.level.as_str().into();
                entry.data = Some(event_data(e));
                j.append(entry);
            }
        }
        self.journaled = total;
    }

    /// Apply what is waiting, up to [`DRAIN_LIMIT`] messages or
    /// [`DRAIN_BUDGET`] of work, whichever comes first, so a key pressed
    /// meanwhile waits at most about that long.
    pub fn drain(&mut self) {
        let start = Instant::now();
        for _ in 0..DRAIN_LIMIT {
            match self.rx.try_recv() {
                Ok(m) => self.apply(m),
                Err(_) => break,
            }
            if start.elapsed() > DRAIN_BUDGET {
                break;
            }
        }
    }

    /// Without a terminal: process messages, with the clock ticking every
    /// second, until `done` holds (true) or `timeout` passes (false).
    pub async fn run_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&State) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        let mut ticker = tokio::time::interval(self.tick);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            if done(&self.state) {
                return true;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return done(&self.state),
                Some(msg) = self.rx.recv() => {
                    self.apply(msg);
                    self.drain();
                }
                _ = ticker.tick() => self.apply(Msg::Tick(now())),
            }
        }
    }
}

fn is_readings(r: &crate::core::msg::Shared) -> bool {
    matches!(r.what, crate::core::msg::SharedWhat::Readings(_))
}

impl Engine {
    /// Whether this console polls AWS for the room (or follows the poller's
    /// readings); `None` when it polls for itself (no shared journal).
    pub fn polls_aws(&self) -> Option<bool> {
        self.poller.as_ref().map(crate::poller::Poller::polls)
    }
}

/// Changes without an outcome, split: those whose session holds its
/// service's live lease in the room (in flight there), and the others
/// (interrupted).
fn in_flight_elsewhere(
    place: &crate::room::Place,
    open: Vec<crate::room::Row>,
    me: &str,
    expiry: Duration,
) -> (Vec<crate::room::Row>, Vec<crate::room::Row>) {
    if open.is_empty() {
        return (Vec::new(), Vec::new());
    }
    // Who holds what; a lease table that cannot be read now leaves every
    // other session's change in flight (nothing here offers to resolve
    // what a live driver may still be doing: a take-over would show it).
    let held = crate::room::lease::Leases::open(place).and_then(|l| l.all());
    if let Err(e) = &held {
        tracing::warn!(
            "the leases cannot be read at start ({e}): other sessions' changes count as in flight"
        );
    }
    let now_ms = now().millis();
    open.into_iter().partition(|r| {
        let service = r.entry.scope.split('/').next().unwrap_or(&r.entry.scope);
        let theirs = r.session.as_deref().is_some_and(|s| s != me);
        match &held {
            Err(_) => theirs,
            Ok(held) => {
                theirs
                    && held.iter().any(|(svc, h)| {
                        svc == service
                            && Some(h.session.as_str()) == r.session.as_deref()
                            && !h.lost(now_ms, expiry)
                    })
            }
        }
    })
}

/// An event's `data` in the journal: its kind, and what it states as data
/// (`{"kind":"deploy","env":"green","from":"web:6","to":"web:7"}`), which
/// `backstop report --stats` counts.
fn event_data(e: &crate::core::events::Event) -> serde_json::Value {
    use crate::core::events::Detail;
    match &e.detail {
        Some(Detail::Deploy { env, from, to }) => serde_json::json!({
            "kind": e.kind.as_str(), "env": env, "from": from, "to": to,
        }),
        None => serde_json::json!({ "kind": e.kind.as_str() }),
    }
}

/// Who is on the journal, every two seconds, for the header; a driver is
/// lost by the `lease_expiry` of the configuration in force (a context
/// switch starts the engine again, with the new one).
fn spawn_people(
    journal: crate::room::Place,
    expiry: Duration,
    tx: mpsc::Sender<Msg>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(2));
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let me = crate::identity::session();
        loop {
            every.tick().await;
            let path = journal.clone();
            let Ok(Ok(people)) = tokio::task::spawn_blocking(move || {
                crate::room::presence::who(path, now().millis(), expiry)
            })
            .await
            else {
                continue;
            };
            let path = journal.clone();
            let at = now().millis();
            let leases = tokio::task::spawn_blocking(move || {
                crate::room::lease::Leases::open(path).and_then(|l| l.all())
            })
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            // The AWS poller's election is no service's driver.
            .filter(|(service, _)| service != crate::poller::LEASE)
            .map(|(service, h)| crate::core::model::LeaseView {
                lost: h.lost(at, expiry),
                quiet_s: (at - h.heartbeat_ms).max(0) / 1000,
                service,
                operator: h.operator,
                session: h.session,
                token: h.token,
                since: Ts(h.since_ms),
            })
            .collect();
            let people = people
                .into_iter()
                .map(|p| crate::core::model::Present {
                    session: p.session.clone(),
                    what: p.what.clone(),
                    since: Ts(p.since_ms),
                    read_only: p.read_only,
                    me: p.session == me,
                    drives: if p.role == "driver" {
                        p.services
                    } else {
                        Vec::new()
                    },
                    operator: p.operator,
                })
                .collect();
            if tx
                .send(Msg::People {
                    people,
                    leases,
                    at: now(),
                })
                .await
                .is_err()
            {
                break;
            }
        }
    })
}

/// The initial state for a configuration: every endpoint known, none probed.
pub fn initial_state(config: &Config, origin: Origin, at: Ts) -> State {
    let services = config
        .services
        .iter()
        .map(|s| {
            let envs = s
                .environments
                .iter()
                .map(|e| {
                    let endpoints = e
                        .endpoints
                        .iter()
                        .map(|ep| {
                            EndpointState::new(ep.display_url(), ep.role, ep.interval, ep.timeout)
                        })
                        .collect();
                    EnvState::new(e.name.clone(), endpoints)
                })
                .collect();
            let traffic = s
                .traffic
                .as_ref()
                // Where the weights live is the provider's to say (`TrafficProvider::target`),
                // once it is built.
                .map(|t| TrafficState::new(t.kind.name(), String::new()));
            ServiceState::new(
                s.name.clone(),
                envs,
                traffic,
                s.policy.clone(),
                s.runbook.clone(),
                at,
            )
        })
        .collect();
    let mut state = State::new(config.title.clone(), origin, services, at);
    for (svc, cfg) in state.services.iter_mut().zip(&config.services) {
        svc.deploy = cfg
            .deploy
            .as_ref()
            .map(|d| crate::core::deploy::DeployState::new(d.kind(), ""));
    }
    for (svc, cfg) in state.services.iter_mut().zip(&config.services) {
        svc.read_only = cfg.read_only;
    }
    state.severities = config.severities.clone();
    state.escalation = config
        .escalation
        .as_ref()
        .map(|e| crate::core::escalation::Chain {
            via: e.describe(),
            levels: e
                .chain
                .iter()
                .map(|l| crate::core::escalation::Level {
                    name: l.name.clone(),
                    after: l.after,
                })
                .collect(),
        });
    state.status_page = config
        .status_page
        .as_ref()
        .map(|p| crate::core::status_page::View {
            via: p.describe(),
            public: p.names.clone(),
        });
    state.notifiers = config
        .notifiers
        .iter()
        .map(|n| match &n.url {
            Some(_) => format!("{} (${})", n.kind.as_str(), n.url_env),
            None => format!("{} (${}, NOT SET: will fail)", n.kind.as_str(), n.url_env),
        })
        .collect();
    state
}

impl Drop for Engine {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some((play, _)) = &self.drill_play {
            play.abort();
        }
    }
}

/// A second, or the fastest probe interval if shorter (not under 50 ms).
fn tick_of(config: &Config) -> Duration {
    config
        .services
        .iter()
        .flat_map(|s| &s.environments)
        .flat_map(|e| &e.endpoints)
        .map(|e| e.interval)
        .min()
        .unwrap_or(Duration::from_secs(1))
        .clamp(Duration::from_millis(50), Duration::from_secs(1))
}

/// CloudWatch alarm and metric polls: one of each per distinct AWS
/// settings, covering every service that uses them (fewer, fuller calls).
fn spawn_cloudwatch(
    config: &Config,
    aws: &crate::aws::Registry,
    poller: Option<&crate::poller::Poller>,
    tx: &mpsc::Sender<Msg>,
) -> Vec<JoinHandle<()>> {
    use crate::aws::alarms::CloudWatchAlarms;
    use crate::aws::metrics::CloudWatchMetrics;
    use crate::config::aws::AwsSettings;
    let mut tasks = Vec::new();
    let mut alarms: Vec<(AwsSettings, Vec<(usize, crate::config::aws::AlarmsConfig)>)> = Vec::new();
    let mut metrics: Vec<(AwsSettings, Vec<crate::aws::metrics::Target>)> = Vec::new();
    for (i, svc) in config.services.iter().enumerate() {
        if let Some(a) = &svc.alarms {
            match alarms.iter_mut().find(|(s, _)| *s == a.aws) {
                Some((_, v)) => v.push((i, a.clone())),
                None => alarms.push((a.aws.clone(), vec![(i, a.clone())])),
            }
        }
        if let Some(m) = &svc.metrics {
            let targets = CloudWatchMetrics::targets(&svc.name, m);
            match metrics.iter_mut().find(|(s, _)| *s == m.aws) {
                Some((_, v)) => v.extend(targets),
                None => metrics.push((m.aws.clone(), targets)),
            }
        }
    }
    for (settings, wants) in alarms {
        // CloudWatch is AWS: the room's poller reads it. The key names the
        // services and alarms asked for, so a console that asks for other
        // ones reads them itself.
        let gate = poller.map(|p| {
            let asked: Vec<(&str, &crate::config::aws::AlarmsConfig)> = wants
                .iter()
                .map(|(i, a)| (config.services[*i].name.as_str(), a))
                .collect();
            p.gate(crate::poller::key("alarms", &asked))
        });
        let source = Arc::new(CloudWatchAlarms::new(aws.get(&settings), wants));
        tasks.push(crate::aws::alarms::spawn(
            source,
            config.aws.poll.alarms,
            gate,
            tx.clone(),
        ));
    }
    let extra = sources::metrics::rule_windows(config);
    for (settings, targets) in metrics {
        let gate = poller.map(|p| {
            p.gate(crate::poller::key(
                "metrics",
                &(&settings, &targets, &extra, config.aws.poll.metrics),
            ))
        });
        let source: Arc<dyn MetricSource> = Arc::new(CloudWatchMetrics::new(
            aws.get(&settings),
            targets,
            extra.clone(),
        ));
        tasks.push(sources::metrics::spawn_poll(
            source,
            config.aws.poll.metrics,
            config,
            gate,
            tx.clone(),
        ));
    }
    tasks
}

/// One shared reader per ECS cluster (and AWS settings): the services of a
/// cluster are described together, once per polling round.
fn ecs_clusters(
    config: &Config,
    aws: &crate::aws::Registry,
) -> Vec<(
    crate::config::aws::AwsSettings,
    String,
    Arc<crate::providers::ecs::EcsCluster>,
)> {
    let mut groups: Vec<(crate::config::aws::AwsSettings, String, Vec<String>)> = Vec::new();
    for svc in &config.services {
        if let Some(DeployConfig::Ecs(cfg)) = &svc.deploy {
            let names = cfg.services.iter().map(|(_, s)| s.clone());
            match groups
                .iter_mut()
                .find(|(s, c, _)| *s == cfg.aws && *c == cfg.cluster)
            {
                Some((_, _, v)) => v.extend(names),
                None => groups.push((cfg.aws.clone(), cfg.cluster.clone(), names.collect())),
            }
        }
    }
    // An answer serves the round it was made in: half a polling interval.
    let fresh = config.aws.poll.deployments / 2;
    groups
        .into_iter()
        .map(|(settings, cluster, names)| {
            let shared =
                crate::providers::ecs::EcsCluster::new(aws.get(&settings), &cluster, names, fresh);
            (settings, cluster, shared)
        })
        .collect()
}
