//! How late backstop itself is. A probe that timed out because backstop
//! could not run (the machine starved of CPU, the process stopped with
//! Ctrl-Z or SIGSTOP, a laptop asleep) says nothing about the endpoint,
//! and a latency measured across such a gap is backstop's own. A ticker on
//! each runtime that matters — the probes' thread, the console's loop —
//! expects to wake every `TICK`; how much later it wakes is the lateness.
//!
//! Nothing is dropped for it: every probe's answer still reaches core,
//! marked with the lateness it was measured across, and core decides what
//! it may mean (`ProbeResult::late`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::core::msg::Msg;

/// How often a ticker expects to wake.
pub const TICK: Duration = Duration::from_millis(100);

/// Lateness past this is backstop's, not noise: the console says so, and
/// auto mode holds.
pub const LATE: Duration = Duration::from_millis(500);

/// An answer waited for across more lateness than this is marked with it.
pub const MARK: Duration = Duration::from_millis(100);

/// On time again after this long without lateness past `LATE`.
const SETTLED: Duration = Duration::from_secs(5);

/// What the tickers have seen, shared by the probes and the engine.
#[derive(Clone, Default)]
pub struct Lateness(Arc<Mutex<Seen>>);

#[derive(Default)]
struct Seen {
    /// Each ticker's last wake.
    last: Vec<Option<Instant>>,
    /// Wakes that came late by more than a tick, and by how much (the
    /// last minute's).
    late: VecDeque<(Instant, Duration)>,
}

impl Lateness {
    /// A ticker on the runtime it is spawned on, which reports to this.
    pub fn spawn_ticker(&self) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        let slot = {
            let mut s = me.lock();
            s.last.push(Some(Instant::now()));
            s.last.len() - 1
        };
        tokio::spawn(async move {
            let mut every = tokio::time::interval(TICK);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                me.woke(slot, Instant::now());
            }
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ticker `slot` woke at `at`.
    fn woke(&self, slot: usize, at: Instant) {
        let mut s = self.lock();
        if let Some(Some(before)) = s.last.get(slot).copied() {
            let late = at.saturating_duration_since(before).saturating_sub(TICK);
            if late > TICK {
                tracing::debug!("ticker {slot} woke {late:?} late");
                s.late.push_back((at, late));
            }
        }
        if let Some(l) = s.last.get_mut(slot) {
            *l = Some(at);
        }
        while s
            .late
            .front()
            .is_some_and(|(t, _)| at.saturating_duration_since(*t) > Duration::from_secs(60))
        {
            s.late.pop_front();
        }
    }

    /// How late backstop was at worst since `since`, up to now: the wakes
    /// that came late, and a ticker that has not woken for longer than it
    /// should have (the process just resumed, its tickers not yet run).
    pub fn since(&self, since: Instant) -> Duration {
        let now = Instant::now();
        let s = self.lock();
        let seen = s
            .late
            .iter()
            .filter(|(at, _)| *at >= since)
            .map(|(_, d)| *d)
            .max()
            .unwrap_or_default();
        let waiting = s
            .last
            .iter()
            .flatten()
            .map(|l| now.saturating_duration_since(*l).saturating_sub(TICK))
            .max()
            .unwrap_or_default();
        seen.max(waiting)
    }

    /// The lateness to mark an answer with, waited for since `start`: only
    /// past `MARK`, which the machine's ordinary jitter never reaches.
    pub fn mark(&self, start: Instant) -> Option<u64> {
        let late = self.since(start);
        (late >= MARK).then_some(late.as_millis() as u64)
    }

    /// Tell core when backstop falls late (past `LATE`) and when it is on
    /// time again, as `Msg::Late` (journaled there).
    pub fn spawn_reports(&self, tx: mpsc::Sender<Msg>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(250));
            let mut said: Option<Duration> = None;
            let mut calm_since = Instant::now();
            loop {
                every.tick().await;
                let worst = me.since(Instant::now() - Duration::from_secs(1));
                let now = Instant::now();
                if worst > LATE {
                    calm_since = now;
                    // Said again only when it is much worse.
                    if said.is_none_or(|s| worst > s * 2) {
                        said = Some(worst);
                        let late_ms = worst.as_millis() as u64;
                        tracing::warn!("backstop itself is late by {late_ms} ms");
                        let msg = Msg::Late {
                            by_ms: Some(late_ms),
                            at: super::now(),
                        };
                        if tx.send(msg).await.is_err() {
                            return;
                        }
                    }
                } else if said.is_some() && now.duration_since(calm_since) >= SETTLED {
                    said = None;
                    let msg = Msg::Late {
                        by_ms: None,
                        at: super::now(),
                    };
                    if tx.send(msg).await.is_err() {
                        return;
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_wake_counts_from_when_it_happened() {
        let l = Lateness::default();
        let t0 = Instant::now();
        l.lock().last.push(Some(t0));
        l.woke(0, t0 + TICK);
        assert!(l.since(t0) < TICK, "on time");
        // Stopped for three seconds: the next wake is late by that.
        l.woke(0, t0 + TICK + Duration::from_secs(3));
        let late = l.since(t0);
        assert!(late >= Duration::from_millis(2800), "{late:?}");
        // Asked about the time after that wake, nothing was late.
        assert!(l.since(t0 + TICK + Duration::from_secs(4)) < TICK);
    }

    #[test]
    fn a_ticker_that_has_not_woken_yet_says_how_long_it_waits() {
        let l = Lateness::default();
        l.lock()
            .last
            .push(Some(Instant::now() - Duration::from_secs(5)));
        assert!(l.since(Instant::now()) >= Duration::from_secs(4));
    }
}

#[cfg(test)]
mod runtime_tests {
    use super::*;

    /// The runtime blocked (as a stopped process, or a starved one, is):
    /// core hears that backstop is late, then that it is on time again.
    #[tokio::test(flavor = "current_thread")]
    async fn a_blocked_runtime_is_reported_late_then_on_time() {
        let l = Lateness::default();
        let (tx, mut rx) = mpsc::channel(8);
        let _t = l.spawn_ticker();
        let _r = l.spawn_reports(tx);
        tokio::time::sleep(Duration::from_millis(300)).await;
        std::thread::sleep(Duration::from_millis(1500));
        let first = tokio::time::timeout(Duration::from_secs(3), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(first, Msg::Late { by_ms: Some(ms), .. } if ms >= 1000),
            "{first:?}"
        );
        let next = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(next, Msg::Late { by_ms: None, .. }), "{next:?}");
    }
}
