//! Synthetic traffic: real HTTP requests through the sandbox router at a
//! steady rate, each recorded by the environment that answered it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::router::ENV_HEADER;
use crate::core::compare::Tally;
use crate::core::metrics::{MetricWindow, WindowStats};
use crate::core::time::Ts;

/// Requests in flight at most; beyond that, ticks are skipped and counted
/// (a slow environment must not make the generator eat all memory).
const MAX_IN_FLIGHT: usize = 512;

/// Per-environment windows of what the generator observed, and its tally
/// since it started (what comparison rules read).
#[derive(Default)]
pub struct Observed {
    windows: HashMap<String, MetricWindow>,
    tallies: HashMap<String, Tally>,
    /// Requests that got no answer naming an environment (router down).
    pub lost: u64,
    /// Ticks skipped because too many requests were in flight.
    pub skipped: u64,
}

impl Observed {
    pub fn record(&mut self, env: &str, at: Ts, latency_ms: f64, error: bool) {
        self.windows
            .entry(env.to_string())
            .or_insert_with(|| MetricWindow::new(Duration::from_secs(10)))
            .record(at, latency_ms, error);
        self.tallies
            .entry(env.to_string())
            .or_default()
            .record(latency_ms, error);
    }

    /// Everything `env` served since the generator started (an empty
    /// tally before its first request: it is served nothing, not unknown).
    pub fn tally(&self, env: &str) -> Option<Tally> {
        Some(self.tallies.get(env).cloned().unwrap_or_default())
    }

    /// Figures for `env` over any window (zeros before any request).
    pub fn window(&self, env: &str, now: Ts, window: Duration) -> WindowStats {
        match self.windows.get(env) {
            Some(w) => w.stats(now, window),
            None => WindowStats {
                window_secs: window.as_secs() as u32,
                ..WindowStats::default()
            },
        }
    }

    /// One- and five-minute figures for `env` (zeros before any request).
    pub fn stats(&self, env: &str, now: Ts) -> (WindowStats, WindowStats) {
        match self.windows.get(env) {
            Some(w) => (
                w.stats(now, Duration::from_secs(60)),
                w.stats(now, Duration::from_secs(300)),
            ),
            None => (
                WindowStats {
                    window_secs: 60,
                    ..WindowStats::default()
                },
                WindowStats {
                    window_secs: 300,
                    ..WindowStats::default()
                },
            ),
        }
    }
}

/// A running generator. Dropping it stops it.
pub struct Generator {
    pub observed: Arc<Mutex<Observed>>,
    task: JoinHandle<()>,
}

impl Generator {
    /// Send `rate` requests a second to `url`.
    pub fn start(url: String, rate: f64) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(MAX_IN_FLIGHT)
            .timeout(Duration::from_secs(10))
            .build()?;
        let observed = Arc::new(Mutex::new(Observed::default()));
        let obs = observed.clone();
        let period = Duration::from_secs_f64(1.0 / rate.max(0.1));
        let task = tokio::spawn(async move {
            let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
            let mut ticker = tokio::time::interval(period);
            // Behind schedule: catch up at once, as real users keep arriving.
            ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
            loop {
                ticker.tick().await;
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    obs.lock().unwrap_or_else(PoisonError::into_inner).skipped += 1;
                    continue;
                };
                let (client, url, obs) = (client.clone(), url.clone(), obs.clone());
                tokio::spawn(async move {
                    let started = Instant::now();
                    let seen = match client.get(&url).send().await {
                        Ok(resp) => {
                            let env = resp
                                .headers()
                                .get(ENV_HEADER)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string);
                            let failed = resp.status().is_server_error();
                            // Read the body: the connection goes back to the pool, and
                            // the latency is the whole answer's, as a user sees it.
                            let _ = resp.bytes().await;
                            env.map(|env| (env, failed))
                        }
                        Err(_) => None,
                    };
                    let ms = started.elapsed().as_secs_f64() * 1000.0;
                    let mut o = obs.lock().unwrap_or_else(PoisonError::into_inner);
                    match seen {
                        Some((env, failed)) => o.record(&env, crate::clock::now(), ms, failed),
                        None => o.lost += 1,
                    }
                    drop(permit);
                });
            }
        });
        Ok(Generator { observed, task })
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        self.task.abort();
    }
}
