//! The executor: the only code that changes the world. It carries out the
//! `Effect`s core emits, each on a task of its own, and answers each with an
//! outcome `Msg`, so the render loop never waits on the world.
//!
//! Every change to production is journaled: an intent, on disk before the
//! change starts, and an outcome after (see `journal`). Without a journal
//! (some tests) the changes run unrecorded.

mod comms;
mod escalation;
mod incident;
mod room;
mod steps;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::mpsc;
use url::Url;

use crate::clock::now;
use crate::config::{Config, NotifierConfig, SmokeCheck};
use crate::core::model::{EndpointId, ProbeResult};
use crate::core::msg::StepWork;
use crate::core::msg::{Effect, Msg};
use crate::core::time::Ts;
use crate::providers::deploy::DeployProvider;
use crate::providers::traffic::{TrafficHandle, TrafficProvider};
use crate::room::{Claim, Entry, Fence, Journal};
use crate::sandbox::Sandbox;
use crate::sources::probe::{ProbeSpec, Prober};

/// An incident's number in the journal, once its row is on disk (`None`
/// until then; the sender dropped if it could not be written).
type IncidentNumber = tokio::sync::watch::Receiver<Option<i64>>;

/// What the executor knows of one service beyond its providers.
#[derive(Clone, Debug, Default)]
pub struct ServiceInfo {
    pub name: String,
    /// Each environment's name and address (smoke tests, `TARGET_URL`).
    pub envs: Vec<(String, Url)>,
    pub smoke: Vec<SmokeCheck>,
    /// Its rollback policy: the guards the room judges its rollbacks by.
    pub policy: crate::core::decision::Policy,
    /// Its database (a migrate-down step runs with its URL, then reads it).
    pub database: Option<crate::config::database::DatabaseConfig>,
}

impl ServiceInfo {
    pub fn from_config(config: &Config) -> Vec<ServiceInfo> {
        config
            .services
            .iter()
            .map(|s| ServiceInfo {
                name: s.name.clone(),
                envs: s
                    .environments
                    .iter()
                    .map(|e| (e.name.clone(), e.url.clone()))
                    .collect(),
                smoke: s.smoke.clone(),
                policy: s.policy.clone(),
                database: s.database.clone(),
            })
            .collect()
    }

    fn url(&self, env: &str) -> Option<&Url> {
        self.envs.iter().find(|(n, _)| n == env).map(|(_, u)| u)
    }
}

/// Everything the executor acts through. Cheap to clone: a task takes a copy.
#[derive(Clone, Default)]
pub(crate) struct Backends {
    sandbox: Option<Arc<Sandbox>>,
    traffic: HashMap<String, TrafficHandle>,
    deploy: HashMap<String, Arc<dyn DeployProvider>>,
    /// For re-probes: the prober and every endpoint's request.
    probes: Option<(Prober, Arc<HashMap<EndpointId, ProbeSpec>>)>,
    journal: Option<Journal>,
    notifiers: Arc<Vec<NotifierConfig>>,
    /// The public status page, if one is configured.
    status_page: Option<Arc<dyn crate::providers::status_page::StatusPage>>,
    /// The on-call chain's pager, if one is configured.
    pager: Option<Arc<dyn crate::providers::escalation::Pager>>,
    services: Arc<Vec<ServiceInfo>>,
    /// Where exported reports go.
    reports: Option<PathBuf>,
    /// The leases this backstop drives services under: every intent for
    /// such a service is written only if its lease is still current.
    fences: Arc<Mutex<HashMap<String, i64>>>,
    /// The leases it took itself, at its first change of a service (kept
    /// alive until the process ends).
    driving: Arc<Mutex<HashMap<String, crate::room::lease::Driving>>>,
    /// One lease taken at a time: two changes that start together (an
    /// emergency switch and its step) must not both take it — the second
    /// holder object would replace the first, whose drop gives the lease up.
    taking: Arc<tokio::sync::Mutex<()>>,
    /// Services this backstop only watches: it changes none of them.
    read_only: Arc<std::collections::HashSet<String>>,
    /// How long a lease outlives its last heartbeat (`lease_expiry`).
    expiry: std::time::Duration,
    /// A world others on the journal share (a team drill's sandbox too).
    shared: bool,
    /// A drill on real providers: the production journal, where its
    /// changes to them are journaled under the lease it holds there.
    world: Arc<Mutex<Option<Journal>>>,
    /// How late backstop itself is: re-probes are marked with it.
    lateness: crate::sources::lateness::Lateness,
}

impl Backends {
    /// Where changes are journaled: this engine's journal, or — a drill on
    /// real providers — the production room's.
    fn changes(&self) -> Option<Journal> {
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .or_else(|| self.journal.clone())
    }

    /// The fence an intent about `scope` (`web` or `web/green`) is written
    /// under. The first change of a service takes its lease (one driver per
    /// service: taking a free lease is implicit in the first acting key);
    /// if someone else drives it, the answer says who, and nothing changes.
    async fn fence(&self, scope: &str) -> Result<Option<Fence>, String> {
        let service = scope.split('/').next().unwrap_or(scope).to_string();
        if self.read_only.contains(&service) {
            return Err(format!(
                "this backstop only watches {service} (read-only): nothing was changed"
            ));
        }
        let held = |token: i64| Fence {
            service: service.clone(),
            token,
        };
        // A lease lost while held (taken over, or the journal out of reach
        // for its expiry) is never acted under: it is taken again, or the
        // answer names who drives now.
        let lost = self
            .driving
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&service)
            .is_some_and(crate::room::lease::Driving::lost);
        if lost {
            let gone = self
                .driving
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&service);
            self.fences
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&service);
            // Dropping it gives up what may be left of it, off this thread.
            if let Some(d) = gone {
                let _ = tokio::task::spawn_blocking(move || drop(d)).await;
            }
        }
        if let Some(t) = self
            .fences
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&service)
        {
            return Ok(Some(held(*t)));
        }
        if self.journal.is_none() {
            return Ok(None);
        }
        if self.rehearsal(&service) {
            return Ok(None);
        }
        // Only a free lease is taken here: a driver that is gone is taken
        // over by a person, explicitly (`LeaseAct::Take` with `from`).
        let (token, _) = self.take_lease(&service, Claim::Free).await?;
        Ok(Some(held(token)))
    }

    /// The lease `fence` names, to look at again right before each write
    /// a provider makes: still this backstop's token, and not lost.
    pub(crate) fn holding(&self, fence: Option<&Fence>) -> crate::providers::LeaseCheck {
        use crate::providers::LeaseLost;
        let (Some(f), Some(journal)) = (fence.cloned(), self.changes()) else {
            return crate::providers::LeaseCheck::none();
        };
        let driving = self.driving.clone();
        crate::providers::LeaseCheck::new(move || {
            let (f, place, driving) = (f.clone(), journal.place.clone(), driving.clone());
            Box::pin(async move {
                let lost = driving
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(&f.service)
                    .is_some_and(crate::room::lease::Driving::lost);
                let service = f.service.clone();
                let unreadable = |source| LeaseLost::Unreadable {
                    service: f.service.clone(),
                    source,
                };
                let now = tokio::task::spawn_blocking(move || {
                    crate::room::lease::Leases::open(&place).and_then(|l| l.holder(&service))
                })
                .await
                .map_err(|e| unreadable(crate::room::Error::Unusable(e.to_string())))?
                .map_err(unreadable)?;
                match now {
                    Some(h) if h.token == f.token && !lost => Ok(()),
                    Some(h) => Err(LeaseLost::TakenOver {
                        service: f.service.clone(),
                        token: f.token,
                        holder: h.operator,
                        now: h.token,
                    }),
                    None => Err(LeaseLost::Released {
                        service: f.service.clone(),
                        token: f.token,
                    }),
                }
            })
        })
    }

    /// A drill's sandbox is nobody's production: rehearsals on one machine
    /// do not take each other's leases (a drill against a real load
    /// balancer does).
    fn rehearsal(&self, service: &str) -> bool {
        !self.shared
            && self
                .traffic
                .get(service)
                .map(|h| h.provider.kind() == "sandbox")
                .or_else(|| self.deploy.get(service).map(|d| d.kind() == "sandbox"))
                .unwrap_or(false)
    }

    /// Take the lease of `service` (free, ours already, handed to us, or
    /// its driver lost), keep it alive, and write every intent under it
    /// from now on. Its token and the lost driver it was taken from, or
    /// who holds it.
    async fn take_lease(
        &self,
        service: &str,
        claim: Claim,
    ) -> Result<(i64, Option<crate::room::lease::Holder>), String> {
        let Some(journal) = self.changes() else {
            return Err("no journal: there is no lease to take".into());
        };
        let _one_at_a_time = self.taking.lock().await;
        // Held already (taken here — by a change that started with this one
        // and took it first —, or by a headless command before it planned):
        // a second holder object would give it up when dropped.
        if let Some(t) = self
            .fences
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(service)
        {
            return Ok((*t, None));
        }
        let place = journal.place.clone();
        let name = service.to_string();
        let expiry = self.expiry;
        let taken = tokio::task::spawn_blocking(move || {
            crate::room::lease::Driving::take(
                &place,
                &name,
                &crate::identity::operator(),
                claim,
                expiry,
            )
        })
        .await
        .map_err(|e| format!("cannot take the lease of {service}: {e}"))?
        .map_err(|e| e.to_string())?;
        let (token, took_over) = (taken.lease.token, taken.lease.took_over.clone());
        self.fences
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(service.to_string(), token);
        self.driving
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(service.to_string(), taken);
        Ok((token, took_over))
    }

    /// Who holds the lease of `service` now.
    async fn holder(&self, service: &str) -> Option<crate::room::lease::Holder> {
        let place = self.changes()?.place.clone();
        let name = service.to_string();
        tokio::task::spawn_blocking(move || {
            crate::room::lease::Leases::open(&place)
                .and_then(|l| l.holder(&name))
                .ok()
                .flatten()
        })
        .await
        .ok()
        .flatten()
    }

    /// Hand the lease of `service` this backstop drives to session `to`:
    /// the new holder's token, after which this backstop's is stale.
    async fn hand_over(&self, service: &str, to: &str, to_operator: &str) -> Result<i64, String> {
        let driving = self
            .driving
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(service);
        let Some(driving) = driving else {
            return Err(format!(
                "this console does not hold the lease of {service}: nothing to hand over"
            ));
        };
        let (to, op) = (to.to_string(), to_operator.to_string());
        let handed =
            tokio::task::spawn_blocking(move || driving.hand(&to, &op).map(|l| (l, driving)))
                .await
                .map_err(|e| format!("cannot hand {service} over: {e}"))?;
        self.fences
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(service);
        handed
            .map(|(l, _released)| l.token)
            .map_err(|e| e.to_string())
    }
}

pub struct Executor {
    b: Backends,
    /// The incident each service's checklist belongs to, as it is being
    /// journaled: the steps that follow the opening in the same batch carry
    /// no number yet, and their tasks wait for it (the render loop never does).
    incidents: Mutex<HashMap<usize, IncidentNumber>>,
    tx: mpsc::Sender<Msg>,
}

impl Executor {
    pub fn new(
        sandbox: Option<Arc<Sandbox>>,
        traffic: HashMap<String, TrafficHandle>,
        tx: mpsc::Sender<Msg>,
    ) -> Self {
        Executor {
            b: Backends {
                sandbox,
                traffic,
                ..Backends::default()
            },
            incidents: Mutex::new(HashMap::new()),
            tx,
        }
    }

    /// Let the executor re-probe endpoints (rule confirmations, checklist
    /// checks), each answer marked with backstop's own lateness.
    pub fn with_probes(
        mut self,
        prober: Prober,
        specs: HashMap<EndpointId, ProbeSpec>,
        lateness: crate::sources::lateness::Lateness,
    ) -> Self {
        self.b.probes = Some((prober, Arc::new(specs)));
        self.b.lateness = lateness;
        self
    }

    /// Record intents, outcomes and incidents in `journal`.
    pub fn with_journal(mut self, journal: Journal) -> Self {
        self.b.journal = Some(journal);
        self
    }

    /// Deploy providers by service name.
    pub fn with_deploy(mut self, deploy: HashMap<String, Arc<dyn DeployProvider>>) -> Self {
        self.b.deploy = deploy;
        self
    }

    /// Smoke checks, addresses and notifiers from the configuration.
    pub fn with_config(mut self, config: &Config) -> Self {
        self.b.services = Arc::new(ServiceInfo::from_config(config));
        self.b.read_only = Arc::new(
            config
                .services
                .iter()
                .filter(|s| s.read_only)
                .map(|s| s.name.clone())
                .collect(),
        );
        self.b.notifiers = Arc::new(config.notifiers.clone());
        self.b.status_page = config
            .status_page
            .as_ref()
            .map(crate::providers::status_page::build);
        self.b.pager = config
            .escalation
            .as_ref()
            .map(crate::providers::escalation::build);
        self.b.shared = config.shared;
        self.b.expiry = config.lease_expiry;
        self
    }

    /// From now on, write every intent for `service` only under this lease
    /// token (`None`: the lease was given up).
    pub fn drive_under(&self, service: &str, token: Option<i64>) {
        let mut f = self
            .b
            .fences
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match token {
            Some(t) => f.insert(service.to_string(), t),
            None => f.remove(service),
        };
    }

    /// A drill on real providers: its changes are journaled in `world`
    /// (production's room), under the lease `driving` it took there.
    pub fn with_world(&self, world: Journal, driving: crate::room::lease::Driving) {
        let service = driving.lease.service.clone();
        self.drive_under(&service, Some(driving.lease.token));
        self.b
            .driving
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(service, driving);
        *self
            .b
            .world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(world);
    }

    /// The lease check a drill's own changes to a real provider are made under.
    pub fn holding_of(
        &self,
        service: &str,
    ) -> (Option<Journal>, Option<Fence>, crate::providers::LeaseCheck) {
        let world = self.b.changes();
        let token = self
            .b
            .fences
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(service)
            .copied();
        let fence = token.map(|token| Fence {
            service: service.to_string(),
            token,
        });
        let holding = self.b.holding(fence.as_ref());
        (world, fence, holding)
    }

    /// Write exported reports into `dir`.
    pub fn with_reports(mut self, dir: PathBuf) -> Self {
        self.b.reports = Some(dir);
        self
    }

    /// Start carrying out `effect`; the outcome arrives later as a `Msg`.
    /// What a step's work would change, asked of its provider, changing
    /// nothing (`backstop rollback --dry-run`).
    pub async fn preview(&self, service: &str, work: &StepWork) -> Result<Vec<String>, String> {
        match work {
            StepWork::PreviewSwitch { from, to, .. } | StepWork::Switch { from, to } => {
                steps::preview_weights(&self.b, service, from, to).await
            }
            StepWork::PreviewRevert {
                env, expect, to, ..
            }
            | StepWork::Revert { env, expect, to } => {
                steps::preview_revert(&self.b, service, env, expect.as_deref(), to.as_deref()).await
            }
            StepWork::Notify { text, .. } => {
                let to: Vec<String> = self
                    .b
                    .notifiers
                    .iter()
                    .map(|n| n.kind.as_str().to_string())
                    .collect();
                let head = if to.is_empty() {
                    "no notifier is configured: tell the team by hand; the message, as it reads now:"
                        .to_string()
                } else {
                    format!("message to {}, as it reads now:", to.join(", "))
                };
                let mut lines = vec![head];
                lines.extend(text.lines().map(|l| format!("  {l}")));
                Ok(lines)
            }
            StepWork::StatusPage { status, text } => Ok(vec![
                format!("the status page's incident → {status}, published exactly:"),
                format!("  “{text}”"),
            ]),
            StepWork::Command { argv, timeout, env } => Ok(vec![format!(
                "run `{}` (TARGET_URL of {env}, at most {})",
                crate::providers::command::display(argv),
                crate::core::time::human(*timeout)
            )]),
            StepWork::MigrateDown {
                argv,
                timeout,
                from,
                to,
            } => Ok(vec![format!(
                "run `{}` (DATABASE_URL of {service}, at most {}): undoes {from}, leaving {}",
                crate::providers::command::display(argv),
                crate::core::time::human(*timeout),
                to.as_deref().unwrap_or("no migration")
            )]),
            StepWork::Reprobe { .. } | StepWork::Smoke { .. } => Ok(Vec::new()),
        }
    }

    /// The smoke tests of `service` against `env`, as `backstop verify`
    /// runs them: those that may change something journaled and fenced like
    /// any change (see `steps::smoke_journaled`). Each check's result, or
    /// why none ran.
    pub async fn smoke(
        &self,
        service: usize,
        env: &str,
        by: &str,
    ) -> Result<Vec<crate::providers::smoke::Result>, String> {
        let name = self
            .b
            .services
            .get(service)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let run = steps::Smoke {
            service,
            name,
            env: env.to_string(),
            incident: None,
            by: by.to_string(),
            title: format!("smoke tests against {env}"),
            step: None,
        };
        let ran = steps::smoke_journaled(&self.b, &run).await;
        match (ran.results.is_empty(), ran.outcome.error()) {
            (true, Some(why)) => Err(why.to_string()),
            _ => Ok(ran.results),
        }
    }

    pub fn run(&self, effect: Effect) {
        tracing::info!("effect: {}", effect.describe());
        let tx = self.tx.clone();
        match effect {
            Effect::Lease { service, act } => {
                // A checklist carried on from another driver belongs to its
                // incident: the steps it journals say so.
                if let crate::core::msg::LeaseAct::Take {
                    incident: Some(id), ..
                } = &act
                    && let Some(i) = self.b.services.iter().position(|s| s.name == service)
                {
                    let (_, number) = tokio::sync::watch::channel(Some(*id));
                    self.incidents
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(i, number);
                }
                tokio::spawn(room::lease(self.b.clone(), service, act, tx));
            }
            Effect::Role {
                service,
                incident,
                role,
                change,
                from,
                by,
            } => room::role(
                &self.b,
                &room::RoleRow {
                    service,
                    incident,
                    role,
                    change,
                    from,
                    by,
                },
            ),
            Effect::Note {
                service,
                incident,
                text,
                by,
                scribe,
            } => room::note(&self.b, &service, incident, &text, &by, scribe),
            Effect::DryRun {
                service,
                env,
                rule,
                firing,
                text,
            } => room::dry_run(&self.b, &service, &env, &rule, firing, &text),
            Effect::Page {
                service,
                name,
                incident,
                key,
                level,
                act,
                summary,
                severity,
                by,
            } => {
                let p = escalation::Paged {
                    service,
                    name,
                    incident,
                    key,
                    level,
                    act,
                    summary,
                    severity,
                    by,
                };
                tokio::spawn(escalation::page(self.b.clone(), p, tx));
            }
            Effect::ReadAck {
                service,
                name,
                incident,
                key,
                level,
            } => {
                let a = escalation::Asked {
                    service,
                    name,
                    incident,
                    key,
                    level,
                };
                tokio::spawn(escalation::read_ack(self.b.clone(), a, tx));
            }
            Effect::Approval {
                service,
                incident,
                driver,
                request,
                act,
            } => {
                let answer = matches!(
                    act,
                    crate::core::msg::ApprovalAct::Approve
                        | crate::core::msg::ApprovalAct::Reject(_)
                );
                let row = room::Approval {
                    service,
                    incident,
                    driver,
                    request,
                    act,
                };
                if answer {
                    // Its proof first, on a task: then the row.
                    tokio::spawn(room::answer(self.b.clone(), row, tx));
                } else {
                    // In order with what the same update asked for.
                    room::approval(&self.b, &row);
                }
            }
            Effect::SetFault {
                service,
                env,
                fault,
            } => {
                // Drills only: the sandbox is never production, so no intent.
                let described = Effect::SetFault {
                    service: service.clone(),
                    env: env.clone(),
                    fault,
                }
                .describe();
                let outcome = match &self.b.sandbox {
                    _ if self.b.read_only.contains(&service) => failed(
                        described,
                        format!("this backstop only watches {service} (read-only)"),
                    ),
                    Some(sb) => match sb.set_fault(&service, &env, fault) {
                        Ok(()) => Msg::FaultSet {
                            service,
                            env,
                            fault,
                            at: now(),
                        },
                        Err(e) => failed(described, e.to_string()),
                    },
                    None => failed(described, "no drill sandbox is running"),
                };
                send(tx, outcome);
            }
            Effect::PreviewWeights {
                service,
                from,
                to,
                request,
            } => {
                let Some(h) = self.traffic_handle(&service, &tx) else {
                    return;
                };
                tokio::spawn(async move {
                    let result = h.provider.preview(&from, &to).await.map_err(|e| e.message);
                    let msg = Msg::WeightsPreview {
                        service: h.service,
                        request,
                        result,
                        at: now(),
                    };
                    let _ = tx.send(msg).await;
                });
            }
            Effect::SetWeights {
                service,
                from,
                to,
                by,
            } => {
                let Some(h) = self.traffic_handle(&service, &tx) else {
                    return;
                };
                let journal = self.b.changes();
                let b = self.b.clone();
                tokio::spawn(async move {
                    let fence = match b.fence(&service).await {
                        Ok(f) => f,
                        Err(error) => {
                            let _ = tx
                                .send(Msg::WeightsFailed {
                                    service: h.service,
                                    error,
                                    log: Vec::new(),
                                    at: now(),
                                })
                                .await;
                            return;
                        }
                    };
                    let holding = b.holding(fence.as_ref());
                    let set = set_weights_journaled(
                        journal.as_ref(),
                        fence,
                        holding,
                        h.provider.as_ref(),
                        &service,
                        &from,
                        &to,
                        &by,
                    )
                    .await;
                    let msg = match set {
                        Ok(applied) => Msg::WeightsSet {
                            service: h.service,
                            from,
                            to: applied.weights,
                            by,
                            log: applied.log,
                            at: now(),
                        },
                        Err(e) => Msg::WeightsFailed {
                            service: h.service,
                            error: e.message,
                            log: e.log,
                            at: now(),
                        },
                    };
                    let _ = tx.send(msg).await;
                });
            }
            Effect::Reprobe { endpoint, times } => {
                let Some((prober, spec)) = self
                    .b
                    .probes
                    .as_ref()
                    .and_then(|(p, specs)| Some((p.clone(), specs.get(&endpoint)?.clone())))
                else {
                    return;
                };
                let lateness = self.b.lateness.clone();
                tokio::spawn(async move {
                    for _ in 0..times {
                        // A short pause: a confirmation, not a flood.
                        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                        let started = std::time::Instant::now();
                        let probed = prober.probe(&spec).await;
                        let result = ProbeResult {
                            at: now(),
                            latency_ms: probed.latency_ms,
                            report: probed.report,
                            late: lateness.mark(started),
                        };
                        if tx.send(Msg::Probed { endpoint, result }).await.is_err() {
                            break;
                        }
                    }
                });
            }
            Effect::OpenIncident { .. } => self.open_incident(effect),
            Effect::CloseIncident { .. } => self.close_incident(effect),
            Effect::Retype { .. } => self.retype(effect),
            Effect::Severity {
                service,
                name,
                incident,
                level,
                why,
                by,
            } => {
                let opening = incident
                    .is_none()
                    .then(|| self.incident_of(service))
                    .flatten();
                let d = comms::Declared {
                    name,
                    incident,
                    level,
                    why,
                    by,
                };
                tokio::spawn(comms::severity(self.b.clone(), d, opening));
            }
            Effect::SendUpdate {
                service,
                name,
                run,
                incident,
                text,
                by,
            } => {
                let opening = incident
                    .is_none()
                    .then(|| self.incident_of(service))
                    .flatten();
                let u = comms::Update {
                    service,
                    name,
                    run,
                    incident,
                    text,
                    by,
                };
                tokio::spawn(comms::send_update(self.b.clone(), u, opening, tx));
            }
            Effect::Step {
                service,
                name,
                run,
                step,
                title,
                incident,
                by,
                work,
            } => {
                let opening = match incident {
                    Some(_) => None,
                    None => self.incident_of(service),
                };
                let job = steps::Job {
                    service,
                    name,
                    run,
                    step,
                    title,
                    incident,
                    by,
                    work,
                };
                let b = self.b.clone();
                tokio::spawn(async move {
                    let mut job = job;
                    if let Some(number) = opening {
                        job.incident = steps::incident_number(number).await;
                    }
                    steps::run(b, job, tx).await;
                });
            }
            Effect::CheckReal {
                intent,
                scope,
                work,
            } => {
                tokio::spawn(incident::check_real(
                    self.b.clone(),
                    intent,
                    scope,
                    work,
                    tx,
                ));
            }
            Effect::AckInterrupted {
                intent,
                scope,
                incident,
                by,
                text,
            } => {
                let outcome = incident::Resolution {
                    intent,
                    scope,
                    incident,
                    by,
                    text,
                };
                tokio::spawn(incident::acknowledge(self.b.clone(), outcome, tx));
            }
            Effect::ExportReport { incident } => {
                tokio::spawn(incident::export(self.b.clone(), incident, tx));
            }
            Effect::ReadDrills => {
                tokio::spawn(incident::read_drills(self.b.clone(), tx));
            }
            Effect::DrillReport {
                score,
                title,
                steps,
                started,
            } => {
                tokio::spawn(incident::drill_report(
                    self.b.clone(),
                    score,
                    title,
                    steps,
                    started,
                    tx,
                ));
            }
        }
    }

    fn incident_of(&self, service: usize) -> Option<IncidentNumber> {
        self.incidents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&service)
            .cloned()
    }

    /// Journal a new incident on a task of its own: the loop goes on at
    /// once, and the steps sent meanwhile wait for the number on theirs.
    fn open_incident(&self, effect: Effect) {
        let Effect::OpenIncident {
            service,
            ref name,
            ref suspect,
            ref target,
            ref runbook,
            ref typed,
            ref severity,
            ref by,
            auto,
            ref reasons,
            began,
            detected,
        } = effect
        else {
            return;
        };
        let Some(journal) = &self.b.journal else {
            return;
        };
        let mut e = Entry::new(
            now(),
            "incident",
            name,
            format!("roll {name} back from {suspect} to {target}"),
            by,
        );
        e.level = "warn".into();
        e.data = Some(json!({
            "service": name,
            "suspect": suspect,
            "target": target,
            "runbook": runbook,
            "type": typed.as_ref().map(|t| t.kind),
            "type_why": typed.as_ref().map(|t| &t.why),
            "severity": severity.as_ref().map(|s| s.level),
            "severity_why": severity.as_ref().map(|s| &s.why),
            "auto": auto,
            "reasons": reasons,
            "began": began.map(Ts::millis),
            "detected": detected.millis(),
        }));
        let (number, waiting) = tokio::sync::watch::channel(None);
        self.incidents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(service, waiting);
        let (journal, tx, described) = (journal.clone(), self.tx.clone(), effect.describe());
        tokio::spawn(async move {
            let msg = match journal.append_durable(e).await {
                Ok(id) => {
                    let _ = number.send(Some(id));
                    Msg::IncidentOpened {
                        service,
                        id,
                        at: now(),
                    }
                }
                Err(error) => failed(
                    described,
                    format!(
                        "the journal cannot record it ({error}); changes will not run unrecorded"
                    ),
                ),
            };
            let _ = tx.send(msg).await;
        });
    }

    /// Journal a change of rollback type, under the incident once it has its number.
    fn retype(&self, effect: Effect) {
        let Effect::Retype {
            service,
            name,
            incident,
            from,
            to,
            runbook,
            by,
        } = effect
        else {
            return;
        };
        let Some(journal) = self.b.journal.clone() else {
            return;
        };
        let opening = match incident {
            Some(_) => None,
            None => self.incident_of(service),
        };
        let mut e = Entry::new(
            now(),
            "retyped",
            &name,
            format!("rollback type {from} → {to} (runbook {runbook})"),
            &by,
        );
        e.level = "warn".into();
        e.data = Some(json!({ "from": from, "to": to, "runbook": runbook }));
        tokio::spawn(async move {
            e.incident = match opening {
                Some(number) => steps::incident_number(number).await,
                None => incident,
            };
            journal.append(e);
        });
    }

    fn close_incident(&self, effect: Effect) {
        let Effect::CloseIncident {
            incident,
            service,
            name,
            ending,
            by,
            recovered,
            steps,
            targets,
            comms,
            missed,
        } = effect
        else {
            return;
        };
        let opening = self
            .incidents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&service);
        let Some(journal) = self.b.journal.clone() else {
            return;
        };
        let mut e = Entry::new(now(), "closed", &name, format!("incident {ending}"), &by);
        e.level = if ending == "completed" { "good" } else { "bad" }.into();
        e.data = Some(json!({
            "ending": ending,
            "recovered": recovered.map(Ts::millis),
            "steps": steps,
            "targets": targets,
            "severity": comms.severity,
            "updates": comms.updates,
            "missed_updates": missed,
        }));
        match (incident, opening) {
            (None, Some(number)) => {
                tokio::spawn(async move {
                    e.incident = steps::incident_number(number).await;
                    journal.append(e);
                });
            }
            (incident, _) => {
                e.incident = incident;
                journal.append(e);
            }
        }
    }

    fn traffic_handle(&self, service: &str, tx: &mpsc::Sender<Msg>) -> Option<TrafficHandle> {
        let h = self.b.traffic.get(service).cloned();
        if h.is_none() {
            send(
                tx.clone(),
                failed(
                    "set weights".into(),
                    format!("{service} has no traffic provider"),
                ),
            );
        }
        h
    }
}

fn failed(effect: String, error: impl Into<String>) -> Msg {
    Msg::EffectFailed {
        effect,
        error: error.into(),
        at: now(),
    }
}

/// A weight change outside a checklist — the `w` dialog, a drill's
/// scenario or its restore on a real load balancer: the intent on disk
/// first, with the exact weights before and after, then the change (which
/// the provider refuses if the weights moved), then its outcome with the
/// weights read back. No intent, no change.
#[allow(clippy::too_many_arguments)]
pub async fn set_weights_journaled(
    journal: Option<&Journal>,
    fence: Option<Fence>,
    holding: crate::providers::LeaseCheck,
    provider: &dyn TrafficProvider,
    service: &str,
    from: &crate::core::traffic::Weights,
    to: &crate::core::traffic::Weights,
    by: &str,
) -> Result<crate::providers::traffic::Applied, crate::providers::traffic::TrafficError> {
    use crate::core::traffic::Weights;
    use crate::providers::traffic::TrafficError;
    let change = Weights::describe_change(from, to);
    let mut e = Entry::new(
        now(),
        "intent",
        service,
        format!("set weights: {change}"),
        by,
    );
    e.level = "warn".into();
    e.data = Some(json!({
        "work": "set-weights",
        "provider": provider.kind(),
        "target": provider.target(),
        "from": from,
        "to": to,
    }));
    let intent = record_intent(journal, e, fence.clone())
        .await
        .map_err(TrafficError::new)?;
    let result = provider.set(from, to, &holding).await;
    let (ok, text, data) = match &result {
        Ok(applied) => {
            let change = Weights::describe_change(from, &applied.weights);
            tracing::info!("weights of {service} set by {by}: {change}");
            (
                true,
                format!("weights set: {change}"),
                Some(json!({ "weights": applied.weights })),
            )
        }
        Err(e) => {
            tracing::warn!("set weights of {service} failed: {}", e.message);
            (
                false,
                format!("setting weights failed: {}", e.message),
                None,
            )
        }
    };
    record_outcome(journal, intent, None, service, by, ok, text, data);
    result
}

/// Journal an intent and wait until it is on disk. `Ok(None)` without a
/// journal; an error means the change must not run.
pub(crate) async fn record_intent(
    journal: Option<&Journal>,
    e: Entry,
    fence: Option<Fence>,
) -> Result<Option<i64>, String> {
    let Some(j) = journal else {
        return Ok(None);
    };
    j.append_fenced(e, fence)
        .await
        .map(Some)
        .map_err(|e| format!("cannot record the intent in the journal ({e}); nothing was changed"))
}

/// Journal how a change ended, pointing at its intent.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record_outcome(
    journal: Option<&Journal>,
    intent: Option<i64>,
    incident: Option<i64>,
    scope: &str,
    by: &str,
    ok: bool,
    text: String,
    data: Option<serde_json::Value>,
) {
    let Some(j) = journal else {
        return;
    };
    let mut e = Entry::new(now(), "outcome", scope, text, by);
    e.level = if ok { "good" } else { "bad" }.into();
    e.reference = intent;
    e.incident = incident;
    e.data = data;
    j.append(e);
}

/// Send an outcome that is already known. In order: outcomes of quick
/// successive effects must arrive as they happened (the fifth fault injected
/// is the one in force, and the screen must say so). Never blocks: the loop
/// that receives may be the caller; only a full channel defers to a task.
fn send(tx: mpsc::Sender<Msg>, msg: Msg) {
    if let Err(mpsc::error::TrySendError::Full(msg)) = tx.try_send(msg) {
        tokio::spawn(async move {
            let _ = tx.send(msg).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Fault;
    use crate::sandbox::{EnvSpec, Options};

    #[tokio::test]
    async fn outcomes_of_quick_effects_arrive_in_order() {
        let world = [EnvSpec::new("web", "green", "1.0.1", 100)];
        let sb = Arc::new(
            Sandbox::start(&world, &Options { rate: 0.0 })
                .await
                .unwrap(),
        );
        let (tx, mut rx) = mpsc::channel(16);
        let ex = Executor::new(Some(sb), HashMap::new(), tx);
        for f in Fault::CYCLE {
            ex.run(Effect::SetFault {
                service: "web".into(),
                env: "green".into(),
                fault: Some(f),
            });
        }
        let mut seen = Vec::new();
        for _ in Fault::CYCLE {
            if let Some(Msg::FaultSet { fault, .. }) = rx.recv().await {
                seen.push(fault);
            }
        }
        assert_eq!(
            seen,
            Fault::CYCLE.iter().copied().map(Some).collect::<Vec<_>>()
        );
    }
}
