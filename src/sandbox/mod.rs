//! The drill sandbox: sample blue/green services on 127.0.0.1, started inside
//! the process, with a weighted router in front of each service, synthetic
//! traffic through it, and faults an operator can inject. It is the world a
//! newcomer sees first and the one drills and tests run against.
//!
//! It plugs into the console like any real backend: its endpoints are probed
//! over real HTTP, its router is a `TrafficProvider`, its traffic a
//! `MetricSource`, and faults are effects the executor carries out.

pub mod desk;
pub mod drill;
pub mod latency;
pub mod metrics;
pub mod router;
pub mod server;
pub mod service;
pub mod traffic;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

use crate::config::{Config, EndpointConfig, EnvConfig, ServiceConfig, TrafficConfig, TrafficKind};

use crate::core::model::{Fault, Role};
use crate::core::time::Ts;
use crate::core::traffic::Weights;
use crate::sources::metrics::NamedSnapshot;

/// What the sandbox can refuse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SandboxError {
    #[error("the sandbox has no environment {service}/{env}")]
    NoSuchEnvironment { service: String, env: String },
    #[error("the sandbox has no service {0}")]
    NoSuchService(String),
    #[error("{service}/{env} has no previous version to go back to")]
    NoPreviousVersion { service: String, env: String },
}

/// One environment to start.
#[derive(Clone, Debug)]
pub struct EnvSpec {
    pub service: String,
    pub env: String,
    pub version: String,
    /// The version it ran before (what a revert goes back to).
    pub previous: Option<String>,
    /// Initial share of the service's traffic, in percent.
    pub weight: u32,
    /// How long its ordinary requests take before any fault.
    pub latency: latency::Latency,
}

impl EnvSpec {
    pub fn new(service: &str, env: &str, version: &str, weight: u32) -> Self {
        EnvSpec {
            service: service.into(),
            env: env.into(),
            version: version.into(),
            previous: None,
            weight,
            latency: latency::Latency::Instant,
        }
    }

    /// Answering like a real service (`Latency::REQUESTS`), as the drills do.
    pub fn realistic(mut self) -> Self {
        self.latency = latency::Latency::REQUESTS;
        self
    }
}

/// The default world: service `web`, `blue` on v1.0.0 taking 90 % and
/// `green` on v1.0.1 taking 10 % — a canary in progress.
/// Its services answer like real ones: tens of milliseconds, with a tail.
pub fn default_world() -> Vec<EnvSpec> {
    let mut blue = EnvSpec::new("web", "blue", "1.0.0", 90).realistic();
    blue.previous = Some("0.9.9".into());
    let mut green = EnvSpec::new("web", "green", "1.0.1", 10).realistic();
    green.previous = Some("1.0.0".into());
    vec![blue, green]
}

/// Options of a sandbox run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Synthetic requests per second, per service.
    pub rate: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options { rate: 50.0 }
    }
}

struct RunningEnv {
    spec: EnvSpec,
    /// Versions it has run, oldest first; the last is the one running.
    history: std::sync::Mutex<Vec<String>>,
    version: Arc<std::sync::RwLock<String>>,
    port: u16,
    fault: watch::Sender<Option<Fault>>,
    closed: watch::Sender<bool>,
    task: JoinHandle<()>,
}

struct RunningService {
    name: String,
    router: router::Router,
    generator: Option<traffic::Generator>,
}

/// The running sandbox. Dropping it stops every service.
pub struct Sandbox {
    envs: Vec<RunningEnv>,
    services: Vec<RunningService>,
}

impl Sandbox {
    /// Start every environment, a router per service, and synthetic traffic
    /// (none when `options.rate` is 0).
    pub async fn start(world: &[EnvSpec], options: &Options) -> Result<Self> {
        let started = Instant::now();
        let mut envs = Vec::new();
        for spec in world {
            let listener = server::bind(0).context("sandbox: cannot bind a port on 127.0.0.1")?;
            let port = listener.local_addr()?.port();
            let (fault, fault_rx) = watch::channel(None);
            let (closed, closed_rx) = watch::channel(false);
            let version = Arc::new(std::sync::RwLock::new(spec.version.clone()));
            let app = service::EnvApp {
                env: spec.env.clone(),
                version: version.clone(),
                started,
                fault: fault_rx,
                served: Arc::new(AtomicU64::new(0)),
                latency: spec.latency,
                seed: latency::seed(&spec.service, &spec.env),
                probed: Arc::new(AtomicU64::new(0)),
            };
            let task = tokio::spawn(server::serve(listener, service::router(app), closed_rx));
            let history = std::sync::Mutex::new(
                spec.previous
                    .iter()
                    .cloned()
                    .chain(std::iter::once(spec.version.clone()))
                    .collect(),
            );
            envs.push(RunningEnv {
                spec: spec.clone(),
                history,
                version,
                port,
                fault,
                closed,
                task,
            });
        }
        let mut services: Vec<RunningService> = Vec::new();
        for name in service_names(world) {
            let mine: Vec<&RunningEnv> = envs.iter().filter(|e| e.spec.service == name).collect();
            let upstreams = mine
                .iter()
                .map(|e| (e.spec.env.clone(), format!("http://127.0.0.1:{}", e.port)))
                .collect();
            let weights =
                Weights::from_percents(mine.iter().map(|e| (e.spec.env.as_str(), e.spec.weight)));
            let router = router::Router::start(upstreams, &weights)?;
            let generator = if options.rate > 0.0 {
                Some(traffic::Generator::start(router.url(), options.rate)?)
            } else {
                None
            };
            services.push(RunningService {
                name,
                router,
                generator,
            });
        }
        Ok(Sandbox { envs, services })
    }

    fn find(&self, service: &str, env: &str) -> Option<&RunningEnv> {
        self.envs
            .iter()
            .find(|e| e.spec.service == service && e.spec.env == env)
    }

    fn service(&self, name: &str) -> Result<&RunningService, SandboxError> {
        self.services
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| SandboxError::NoSuchService(name.into()))
    }

    /// The base URL of one environment, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self, service: &str, env: &str) -> Option<String> {
        self.find(service, env)
            .map(|e| format!("http://127.0.0.1:{}", e.port))
    }

    /// The URL of a service's router (what users would call).
    pub fn router_url(&self, service: &str) -> Result<String, SandboxError> {
        Ok(self.service(service)?.router.url())
    }

    pub fn weights(&self, service: &str) -> Result<Weights, SandboxError> {
        Ok(self.service(service)?.router.weights())
    }

    pub fn set_weights(&self, service: &str, weights: &Weights) -> Result<Weights, SandboxError> {
        let s = self.service(service)?;
        s.router.set_weights(weights);
        Ok(s.router.weights())
    }

    /// Set (or clear, with `None`) the fault of one environment.
    pub fn set_fault(
        &self,
        service: &str,
        env: &str,
        fault: Option<Fault>,
    ) -> Result<(), SandboxError> {
        let e = self
            .find(service, env)
            .ok_or_else(|| SandboxError::NoSuchEnvironment {
                service: service.into(),
                env: env.into(),
            })?;
        e.fault.send_replace(fault);
        e.closed.send_replace(fault == Some(Fault::Refused));
        Ok(())
    }

    /// The environments of `service`, in the world's order.
    pub fn envs_of(&self, service: &str) -> Vec<String> {
        self.envs
            .iter()
            .filter(|e| e.spec.service == service)
            .map(|e| e.spec.env.clone())
            .collect()
    }

    /// The version an environment runs, and the one before it.
    pub fn revisions(
        &self,
        service: &str,
        env: &str,
    ) -> Result<(String, Option<String>), SandboxError> {
        let e = self
            .find(service, env)
            .ok_or_else(|| SandboxError::NoSuchEnvironment {
                service: service.into(),
                env: env.into(),
            })?;
        let h = e
            .history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = h.last().cloned().unwrap_or_default();
        let previous = h.len().checked_sub(2).map(|i| h[i].clone());
        Ok((current, previous))
    }

    /// Deploy `version` to an environment (a drill's new release): it
    /// becomes the running version, the one before it what a revert goes
    /// back to.
    pub fn deploy(&self, service: &str, env: &str, version: &str) -> Result<(), SandboxError> {
        let e = self
            .find(service, env)
            .ok_or_else(|| SandboxError::NoSuchEnvironment {
                service: service.into(),
                env: env.into(),
            })?;
        e.history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(version.to_string());
        *e.version
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = version.to_string();
        Ok(())
    }

    /// Put an environment back on its previous version: the bad release,
    /// and any fault injected into it, are gone. Returns (from, to).
    pub fn revert(&self, service: &str, env: &str) -> Result<(String, String), SandboxError> {
        let e = self
            .find(service, env)
            .ok_or_else(|| SandboxError::NoSuchEnvironment {
                service: service.into(),
                env: env.into(),
            })?;
        let mut h = e
            .history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if h.len() < 2 {
            return Err(SandboxError::NoPreviousVersion {
                service: service.into(),
                env: env.into(),
            });
        }
        let from = h.pop().unwrap_or_default();
        let to = h.last().cloned().unwrap_or_default();
        *e.version
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = to.clone();
        e.fault.send_replace(None);
        e.closed.send_replace(false);
        Ok((from, to))
    }

    /// What the synthetic traffic observed, per environment, over 1 and 5
    /// minutes and the `extra` windows.
    pub fn snapshots(&self, now: Ts, extra: &[Duration]) -> Vec<NamedSnapshot> {
        let mut out = Vec::new();
        for s in &self.services {
            let Some(g) = &s.generator else { continue };
            let observed = g
                .observed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for e in self.envs.iter().filter(|e| e.spec.service == s.name) {
                let (one_min, five_min) = observed.stats(&e.spec.env, now);
                let extra = extra
                    .iter()
                    .map(|w| observed.window(&e.spec.env, now, *w))
                    .collect();
                out.push(NamedSnapshot {
                    service: s.name.clone(),
                    env: e.spec.env.clone(),
                    one_min,
                    five_min,
                    extra,
                    tally: observed.tally(&e.spec.env),
                });
            }
        }
        out
    }

    /// A configuration that watches the sandbox: every environment with its
    /// four health endpoints, and the router as each service's traffic provider.
    pub fn config(&self, interval: Duration, timeout: Duration) -> Config {
        let mut services: Vec<ServiceConfig> = Vec::new();
        for e in &self.envs {
            let base = format!("http://127.0.0.1:{}", e.port);
            let endpoints = [
                ("/api/health", Role::Health),
                ("/api/health/ready", Role::Ready),
                ("/api/health/live", Role::Live),
                ("/api/health/detailed", Role::Detailed),
            ]
            .into_iter()
            .filter_map(|(path, role)| {
                Some(EndpointConfig {
                    url: Url::parse(&format!("{base}{path}")).ok()?,
                    role,
                    interval,
                    timeout,
                    headers: Vec::new(),
                    format: None,
                })
            })
            .collect();
            let url = Url::parse(&format!("{base}/"))
                .unwrap_or_else(|_| unreachable!("a loopback address parses"));
            let env = EnvConfig {
                name: e.spec.env.clone(),
                endpoints,
                url,
            };
            match services.iter_mut().find(|s| s.name == e.spec.service) {
                Some(s) => s.environments.push(env),
                None => services.push(ServiceConfig {
                    name: e.spec.service.clone(),
                    environments: vec![env],
                    traffic: Some(TrafficConfig {
                        kind: TrafficKind::Sandbox,
                        interval: Duration::from_secs(1),
                    }),
                    policy: crate::core::decision::Policy::default(),
                    runbook: typed_runbooks(),
                    deploy: Some(crate::config::DeployConfig::Sandbox),
                    smoke: drill_smoke(),
                    alarms: None,
                    metrics: None,
                    read_only: false,
                    database: None,
                }),
            }
        }
        Config {
            file: "(drill sandbox)".into(),
            title: "drill".into(),
            services,
            notifiers: Vec::new(),
            aws: Default::default(),
            lease_expiry: crate::room::lease::EXPIRY,
            shared: false,
            approve_only: false,
            fresh_world: false,
            room: "drill".into(),
            journal: Default::default(),
            severities: crate::core::severity::defaults(),
            status_page: None,
            escalation: None,
        }
    }
}

/// The drill's smoke tests: health says ok, and an ordinary request works.
fn drill_smoke() -> Vec<crate::config::SmokeCheck> {
    use crate::config::{BodyCondition, BodyTest, SmokeCheck, SmokeKind};
    vec![
        SmokeCheck {
            name: "health says ok".into(),
            kind: SmokeKind::Http {
                method: "GET".into(),
                path: "/api/health".into(),
                status: 200,
                max_time: Duration::from_secs(1),
                body: vec![BodyCondition {
                    pointer: "/status".into(),
                    test: BodyTest::Equals(serde_json::json!("ok")),
                }],
            },
        },
        SmokeCheck {
            name: "an order page answers".into(),
            kind: SmokeKind::Http {
                method: "GET".into(),
                path: "/api/orders".into(),
                status: 200,
                max_time: Duration::from_secs(1),
                body: vec![],
            },
        },
    ]
}

fn service_names(world: &[EnvSpec]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for e in world {
        if !names.contains(&e.service) {
            names.push(e.service.clone());
        }
    }
    names
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for e in &self.envs {
            e.task.abort();
        }
    }
}

/// The drills rehearse what production gets: the three rollback types, a
/// rule choosing among them. The sandbox has no restart, stop or database
/// command, so those steps are left out.
fn typed_runbooks() -> crate::core::runbook::Runbooks {
    use crate::core::runbook::{Commands, RollbackType};
    let catalog = crate::config::runbook::Catalog::builtin();
    let [immediate, standard, emergency] = RollbackType::ALL.map(|t| {
        catalog
            .get(t.name())
            .map(|l| l.runbook.with_commands(&Commands::default()))
            .unwrap_or_else(|| panic!("the {t} runbook is built in"))
    });
    crate::core::runbook::Runbooks::Typed {
        immediate,
        standard,
        emergency,
    }
}
