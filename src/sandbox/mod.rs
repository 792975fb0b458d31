//! The drill sandbox: sample blue/green services on 127.0.0.1, started inside
//! the process, with faults an operator can inject. It is the world a newcomer
//! sees first and the one drills and tests run against. It plugs into the
//! console like any real backend: its endpoints are probed over real HTTP,
//! and faults are effects the executor carries out.

pub mod server;
pub mod service;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

use crate::config::{Config, EndpointConfig, EnvConfig, ServiceConfig};
use crate::core::model::{Fault, Role};

/// What the sandbox can refuse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SandboxError {
    #[error("the sandbox has no environment {service}/{env}")]
    NoSuchEnvironment { service: String, env: String },
}

/// One environment to start.
#[derive(Clone, Debug)]
pub struct EnvSpec {
    pub service: String,
    pub env: String,
    pub version: String,
}

impl EnvSpec {
    pub fn new(service: &str, env: &str, version: &str) -> Self {
        EnvSpec {
            service: service.into(),
            env: env.into(),
            version: version.into(),
        }
    }
}

/// The default world: service `web`, `blue` on v1.0.0 and `green` on v1.0.1.
pub fn default_world() -> Vec<EnvSpec> {
    vec![
        EnvSpec::new("web", "blue", "1.0.0"),
        EnvSpec::new("web", "green", "1.0.1"),
    ]
}

struct RunningEnv {
    spec: EnvSpec,
    port: u16,
    fault: watch::Sender<Option<Fault>>,
    closed: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The running sandbox. Dropping it stops every service.
pub struct Sandbox {
    envs: Vec<RunningEnv>,
}

impl Sandbox {
    /// Start every environment on an ephemeral port of 127.0.0.1.
    pub async fn start(world: &[EnvSpec]) -> Result<Self> {
        let started = Instant::now();
        let mut envs = Vec::new();
        for spec in world {
            let listener = server::bind(0).context("sandbox: cannot bind a port on 127.0.0.1")?;
            let port = listener.local_addr()?.port();
            let (fault, fault_rx) = watch::channel(None);
            let (closed, closed_rx) = watch::channel(false);
            let app = service::EnvApp {
                env: spec.env.clone(),
                version: spec.version.clone(),
                started,
                fault: fault_rx,
            };
            let task = tokio::spawn(server::serve(listener, service::router(app), closed_rx));
            envs.push(RunningEnv {
                spec: spec.clone(),
                port,
                fault,
                closed,
                task,
            });
        }
        Ok(Sandbox { envs })
    }

    fn find(&self, service: &str, env: &str) -> Option<&RunningEnv> {
        self.envs
            .iter()
            .find(|e| e.spec.service == service && e.spec.env == env)
    }

    /// The base URL of one environment, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self, service: &str, env: &str) -> Option<String> {
        self.find(service, env)
            .map(|e| format!("http://127.0.0.1:{}", e.port))
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

    /// A configuration that watches the sandbox: every environment with its
    /// four health endpoints.
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
            let env = EnvConfig {
                name: e.spec.env.clone(),
                endpoints,
            };
            match services.iter_mut().find(|s| s.name == e.spec.service) {
                Some(s) => s.environments.push(env),
                None => services.push(ServiceConfig {
                    name: e.spec.service.clone(),
                    environments: vec![env],
                }),
            }
        }
        Config {
            file: "(drill sandbox)".into(),
            title: "drill".into(),
            services,
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for e in &self.envs {
            e.task.abort();
        }
    }
}
