//! The engine: sources feeding core, core's effects going to the executor.
//! The console draws it; headless commands and tests run it without a
//! terminal. Same machinery either way.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::app::{initial_state, operator};
use crate::config::Config;
use crate::core::model::{EndpointId, Origin, State};
use crate::core::msg::Msg;
use crate::core::update::update;
use crate::exec::{Executor, TrafficHandle};
use crate::sandbox::Sandbox;
use crate::sources::metrics::{MetricSource, SandboxMetrics};
use crate::sources::probe::{ProbeSpec, Prober};
use crate::sources::{self, now};

/// Messages applied before the loop looks at keys and the screen again.
pub const DRAIN_LIMIT: usize = 512;

pub struct Engine {
    pub state: State,
    pub rx: mpsc::Receiver<Msg>,
    /// For sources added later (and tests that inject messages).
    pub tx: mpsc::Sender<Msg>,
    executor: Executor,
    tasks: Vec<JoinHandle<()>>,
}

impl Engine {
    /// Start every source of `config` (probes, traffic reads, the sandbox's
    /// metrics) and an executor for its providers. Needs a tokio runtime.
    pub fn start(config: &Config, origin: Origin, sandbox: Option<Arc<Sandbox>>) -> Result<Self> {
        let (tx, rx) = mpsc::channel(1024);
        let prober = Prober::new()?;
        let mut tasks = sources::spawn_probes(config, &prober, &tx);
        let mut state = initial_state(config, origin, now());
        state.operator = operator();

        let mut traffic = HashMap::new();
        for (i, svc) in config.services.iter().enumerate() {
            let (Some(provider), Some(t)) = (
                crate::providers::traffic::build(svc, sandbox.as_ref()),
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
            tasks.push(sources::traffic::spawn_reads(
                handle.clone(),
                t.interval,
                tx.clone(),
            ));
            traffic.insert(svc.name.clone(), handle);
        }
        if let Some(sb) = &sandbox {
            let extra = sources::metrics::rule_windows(config);
            let source: Arc<dyn MetricSource> = Arc::new(SandboxMetrics {
                sandbox: sb.clone(),
                extra,
            });
            tasks.push(sources::metrics::spawn_poll(
                source,
                Duration::from_secs(1),
                config,
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
        let executor = Executor::new(sandbox, traffic, tx.clone()).with_probes(prober, specs);
        tracing::info!(
            "engine started on {} ({} services)",
            config.file,
            config.services.len()
        );
        Ok(Engine {
            state,
            rx,
            tx,
            executor,
            tasks,
        })
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
        }
    }

    /// Apply one message and start its effects.
    pub fn apply(&mut self, msg: Msg) {
        for effect in update(&mut self.state, msg) {
            self.executor.run(effect);
        }
    }

    /// Apply what is waiting, up to [`DRAIN_LIMIT`] messages.
    pub fn drain(&mut self) {
        for _ in 0..DRAIN_LIMIT {
            match self.rx.try_recv() {
                Ok(m) => self.apply(m),
                Err(_) => break,
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
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
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

impl Drop for Engine {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
