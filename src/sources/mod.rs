//! Sources observe the world and send `Msg`s to core. They never change it.

pub mod answers;
pub mod database;
pub mod deploy;
pub mod http1;
pub mod lateness;
pub mod metrics;
pub mod probe;
pub mod terminal;
pub mod traffic;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::time::MissedTickBehavior;

use crate::clock::now;
use crate::config::Config;
use crate::core::model::{EndpointId, ProbeResult};
use crate::core::msg::Msg;
use answers::Answers;
use probe::{ProbeSpec, Prober};

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
    lateness: &lateness::Lateness,
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
    let lateness = lateness.clone();
    std::thread::Builder::new()
        .name("probes".into())
        .spawn(move || {
            rt.block_on(async move {
                // This thread's own lateness: its probes wait on it.
                let _ticker = lateness.spawn_ticker();
                run_probes(specs, prober, lateness, tx, IN_FLIGHT).await
            })
        })?;
    Ok(())
}

/// Probes in flight at most. Each holds a connection; past this, a probe
/// waits its turn (and its timeout starts when it goes). Without a bound, a
/// machine too busy to read answers in time spirals: every probe that times
/// out closes its connection and the next one opens another, and at 10,000
/// endpoints that was 18,000 sockets and 400 MB within 20 seconds.
const IN_FLIGHT: usize = 1024;

/// Probes start on a grid of this step: a wake of the probes' thread then
/// serves a few probes (at 2,000 endpoints, twenty) rather than one each.
const STEP: Duration = Duration::from_millis(10);

/// The first answers come within this, whatever the interval.
const FIRST_ROUND: Duration = Duration::from_secs(1);

/// When the `k`th of `n` endpoints probes, from the start: first, and then
/// again every `interval` from the second time on.
/// Endpoints are spread evenly over their interval, on the grid of `STEP`:
/// all at the same instant, 10,000 probes would need thousands of
/// connections at once and answer in one burst a second. The first round is
/// spread over a second at most, so a long interval does not keep the
/// screen empty.
fn place(k: usize, n: usize, interval: Duration) -> (Duration, Duration) {
    let at = |span: Duration| {
        let nanos = span.as_nanos() * k as u128 / n.max(1) as u128;
        let step = STEP.as_nanos();
        Duration::from_nanos(u64::try_from(nanos / step * step).unwrap_or(u64::MAX))
    };
    let (first, slot) = (at(interval.min(FIRST_ROUND)), at(interval));
    // Its slot in the rounds, or the next one: never more than an interval
    // after the first probe.
    let then = if slot > first { slot } else { slot + interval };
    (first, then)
}

/// The probes' thread: every endpoint's task, until the receiver has gone
/// (dropping the runtime then ends them all); `in_flight` probes at most.
async fn run_probes(
    specs: Vec<(EndpointId, ProbeSpec, Duration)>,
    prober: Prober,
    lateness: lateness::Lateness,
    tx: mpsc::Sender<Msg>,
    in_flight: usize,
) {
    let answers = Arc::new(Answers::default());
    let forward = answers.clone();
    let to = tx.clone();
    tokio::spawn(async move { forward.forward(to).await });
    let turns = Arc::new(Semaphore::new(in_flight));
    let start = tokio::time::Instant::now();
    let n = specs.len();
    for (k, (id, spec, interval)) in specs.into_iter().enumerate() {
        let prober = prober.clone();
        let answers = answers.clone();
        let turns = turns.clone();
        let lateness = lateness.clone();
        let (first, then) = place(k, n, interval);
        tokio::spawn(async move {
            tokio::time::sleep_until(start + first).await;
            let mut ticker = tokio::time::interval_at(start + then, interval);
            // A round missed (a probe that took its whole interval, results
            // that waited for a busy console) is skipped, and the endpoint
            // keeps its place in the spread; delayed, every late probe would
            // restart at the same instant and the rounds bunch up again.
            ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                let Ok(turn) = turns.acquire().await else {
                    return;
                };
                let started = std::time::Instant::now();
                let probed = prober.probe(&spec).await;
                drop(turn);
                let result = ProbeResult {
                    at: now(),
                    latency_ms: probed.latency_ms,
                    report: probed.report,
                    late: lateness.mark(started),
                };
                answers.put((id, result)).await;
                ticker.tick().await;
            }
        });
    }
    tx.closed().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Endpoints that all hang never hold more than their share of
    /// connections: a probe waits its turn, and its own timeout starts
    /// when it goes.
    #[tokio::test]
    async fn probes_in_flight_are_bounded() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port on loopback");
        let port = listener.local_addr().expect("its address").port();
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (o, m) = (open.clone(), most.clone());
        tokio::spawn(async move {
            // Every connection held, unanswered, until the prober drops it.
            while let Ok((mut stream, _)) = listener.accept().await {
                let now = o.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                m.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                let o = o.clone();
                tokio::spawn(async move {
                    let mut sink = [0u8; 1024];
                    while tokio::io::AsyncReadExt::read(&mut stream, &mut sink)
                        .await
                        .is_ok_and(|n| n > 0)
                    {}
                    o.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                });
            }
        });
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}/health")).expect("a URL");
        let specs = (0..12)
            .map(|endpoint| {
                let id = EndpointId {
                    service: 0,
                    env: 0,
                    endpoint,
                };
                let spec = ProbeSpec::new(url.clone(), Duration::from_millis(300));
                (id, spec, Duration::from_secs(1))
            })
            .collect();
        let (tx, mut rx) = mpsc::channel(64);
        let prober = Prober::new().expect("a prober");
        let probes = tokio::spawn(run_probes(
            specs,
            prober,
            lateness::Lateness::default(),
            tx,
            3,
        ));
        // All twelve answer, three at a time: each times out after 300 ms.
        let mut answered = 0;
        while answered < 12 {
            match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                Ok(Some(Msg::ProbedMany(v))) => answered += v.len(),
                other => panic!("answers stopped at {answered}: {other:?}"),
            }
        }
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 3);
        drop(rx);
        let _ = probes.await;
    }

    #[test]
    fn endpoints_are_spread_over_their_interval_on_a_grid() {
        let second = Duration::from_secs(1);
        let places: Vec<_> = (0..2000).map(|k| place(k, 2000, second)).collect();
        // Every tenth of the endpoints a tenth of the way further.
        assert_eq!(places[0], (Duration::ZERO, second));
        assert_eq!(places[200].0, Duration::from_millis(100));
        assert_eq!(places[1999].0, Duration::from_millis(990));
        // On the grid, twenty to a step, all within the interval, and
        // every round in the same place.
        for (k, (first, then)) in places.iter().enumerate() {
            assert_eq!(first.as_nanos() % STEP.as_nanos(), 0);
            assert!(*first < second);
            assert_eq!(first.as_millis() as usize / 10, k / 20);
            assert_eq!(*then, *first + second);
        }
    }

    #[test]
    fn a_long_interval_still_answers_within_the_first_second() {
        let minute = Duration::from_secs(60);
        // First within the second, then at its place in the minute.
        assert_eq!(
            place(3, 4, minute),
            (Duration::from_millis(750), Duration::from_secs(45))
        );
        // The first of all has its place at the start: next a minute on.
        assert_eq!(place(0, 4, minute), (Duration::ZERO, minute));
        // A fast interval: every round within it.
        let fast = Duration::from_millis(50);
        for k in 0..7 {
            let (first, then) = place(k, 7, fast);
            assert!(first < fast);
            assert_eq!(then, first + fast);
        }
    }
}
