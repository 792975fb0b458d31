//! Sources observe the world and send `Msg`s to core. They never change it.

pub mod answers;
pub mod deploy;
pub mod metrics;
pub mod probe;
pub mod terminal;
pub mod traffic;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Semaphore, mpsc};
use tokio::time::MissedTickBehavior;

use crate::config::Config;
use crate::core::model::{EndpointId, ProbeResult};
use crate::core::msg::Msg;
use crate::core::time::Ts;
use answers::Answers;
use probe::{ProbeSpec, Prober};

/// The wall clock, read here and nowhere in core.
pub fn now() -> Ts {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Ts(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// One task per health endpoint, each probing at its own interval. A slow
/// endpoint delays only itself: the next probe starts at the next tick after
/// the previous one ends (timeouts are shorter than intervals).
///
/// The probes run on a thread of their own with a single-threaded runtime:
/// thousands of them wake each other, their connections and their timers
/// all the time, and on the shared multi-threaded runtime every such wake
/// could cross threads (a futex and a context switch each; the profile at
/// 10,000 endpoints had a fifth of the process there). The thread ends when
/// the console or command that reads the results has gone. Answers reach it
/// a few milliseconds' worth at a time (`answers`).
pub fn spawn_probes(
    config: &Config,
    prober: &Prober,
    tx: &mpsc::Sender<Msg>,
) -> std::io::Result<()> {
    let mut specs = Vec::new();
    for (s, svc) in config.services.iter().enumerate() {
        for (e, env) in svc.environments.iter().enumerate() {
            for (p, ep) in env.endpoints.iter().enumerate() {
                let id = EndpointId {
                    service: s,
                    env: e,
                    endpoint: p,
                };
                specs.push((id, ProbeSpec::from_config(ep), ep.interval));
            }
        }
    }
    if specs.is_empty() {
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let prober = prober.clone();
    let tx = tx.clone();
    std::thread::Builder::new()
        .name("probes".into())
        .spawn(move || rt.block_on(run_probes(specs, prober, tx)))?;
    Ok(())
}

/// Probes in flight at most. Each holds a connection; past this, a probe
/// waits its turn (and its timeout starts when it goes). Without a bound, a
/// machine too busy to read answers in time spirals: every probe that times
/// out closes its connection and the next one opens another, and at 10,000
/// endpoints that was 18,000 sockets and 400 MB within 20 seconds.
const IN_FLIGHT: usize = 1024;

/// The probes' thread: every endpoint's task, until the receiver has gone
/// (dropping the runtime then ends them all).
async fn run_probes(
    specs: Vec<(EndpointId, ProbeSpec, Duration)>,
    prober: Prober,
    tx: mpsc::Sender<Msg>,
) {
    let answers = Arc::new(Answers::default());
    let forward = answers.clone();
    let to = tx.clone();
    tokio::spawn(async move { forward.forward(to).await });
    let turns = Arc::new(Semaphore::new(IN_FLIGHT));
    // The first probes are spread evenly over the first interval, and so
    // every later round: all at the same instant, 10,000 probes would need
    // thousands of connections at once and answer in one burst per second.
    // (From when this thread runs, not when it was asked for.)
    let start = tokio::time::Instant::now();
    let n = u32::try_from(specs.len()).unwrap_or(u32::MAX);
    for (k, (id, spec, interval)) in (0u32..).zip(specs) {
        let prober = prober.clone();
        let answers = answers.clone();
        let turns = turns.clone();
        let first = start + interval / n * k;
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval_at(first, interval);
            // A round missed (a probe that took its whole interval, results
            // that waited for a busy console) is skipped, and the endpoint
            // keeps its place in the spread; delayed, every late probe would
            // restart at the same instant and the rounds bunch up again.
            ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                ticker.tick().await;
                let Ok(turn) = turns.acquire().await else {
                    return;
                };
                let probed = prober.probe(&spec).await;
                drop(turn);
                let result = ProbeResult {
                    at: now(),
                    latency_ms: probed.latency_ms,
                    report: probed.report,
                };
                answers.put((id, result)).await;
            }
        });
    }
    tx.closed().await;
}
