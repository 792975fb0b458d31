//! How long a sample environment takes to answer before any fault. On
//! loopback everything answers in under a millisecond, so every latency
//! column read `<1ms` and every sparkline was flat: nothing like a real
//! service. A drill's environments answer like one — tens of milliseconds,
//! log-normal, with a slow tail — so a newcomer sees what the panes look like
//! on production. Draws are deterministic per request number (and differ per
//! environment), so a drill is the same every time.

use crate::core::rng::SplitMix;
use std::time::Duration;

/// The answer time of one kind of request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Latency {
    /// At once: for tests that send thousands of requests one after another.
    Instant,
    /// Log-normal around `median_ms` (spread `sigma`), and one answer in
    /// `1 / tail_every` waits an exponential extra of mean `tail_ms`;
    /// never more than `max_ms`.
    Realistic {
        median_ms: f64,
        sigma: f64,
        tail_every: u64,
        tail_ms: f64,
        max_ms: f64,
    },
}

impl Latency {
    /// An ordinary request of a web service: p50 ≈ 40 ms, p95 ≈ 90 ms,
    /// p99 ≈ 250 ms, some answers near a second.
    pub const REQUESTS: Latency = Latency::Realistic {
        median_ms: 40.0,
        sigma: 0.5,
        tail_every: 50,
        tail_ms: 250.0,
        max_ms: 900.0,
    };

    /// A health endpoint that asks its database and cache: p50 ≈ 15 ms, a
    /// small tail, and never more than 45 ms — inside the probe timeout of a
    /// drill even at 20× (2 s / speed × 0.8: 80 ms).
    pub const HEALTH: Latency = Latency::Realistic {
        median_ms: 15.0,
        sigma: 0.45,
        tail_every: 40,
        tail_ms: 10.0,
        max_ms: 45.0,
    };

    /// The same service in a drill run `speed` times faster than life:
    /// every duration of the world shrinks alike, its answer times too (at
    /// 10× a one-second tail would stretch a five-second blip by ten).
    pub fn faster(self, speed: f64) -> Latency {
        match self {
            Latency::Instant => Latency::Instant,
            Latency::Realistic {
                median_ms,
                sigma,
                tail_every,
                tail_ms,
                max_ms,
            } => {
                let s = speed.max(1.0);
                Latency::Realistic {
                    median_ms: median_ms / s,
                    sigma,
                    tail_every,
                    tail_ms: tail_ms / s,
                    max_ms: max_ms / s,
                }
            }
        }
    }

    /// The wait for request number `n` of the environment seeded `seed`.
    pub fn draw(&self, seed: u64, n: u64) -> Duration {
        let Latency::Realistic {
            median_ms,
            sigma,
            tail_every,
            tail_ms,
            max_ms,
        } = *self
        else {
            return Duration::ZERO;
        };
        let mut rng = SplitMix(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        // A standard normal from four uniforms (Irwin–Hall): enough for a
        // believable shape, no dependency.
        let z = ((0..4).map(|_| rng.unit()).sum::<f64>() - 2.0) * 3f64.sqrt();
        let mut ms = median_ms * (sigma * z).exp();
        if tail_every > 0 && rng.next_u64().is_multiple_of(tail_every) {
            ms += -tail_ms * (1.0 - rng.unit()).ln();
        }
        Duration::from_secs_f64(ms.min(max_ms) / 1000.0)
    }
}

/// A seed per environment, so blue and green do not answer in lockstep.
pub fn seed(service: &str, env: &str) -> u64 {
    // FNV-1a: stable across runs and platforms (std's hasher is not).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in service.bytes().chain([b'/']).chain(env.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    /// A drill at 10× answers ten times sooner, draw for draw: durations of
    /// the world shrink alike, so a blip stays a blip.
    #[test]
    fn a_faster_drill_answers_sooner_in_proportion() {
        let fast = Latency::REQUESTS.faster(10.0);
        for n in 0..500 {
            let (a, b) = (Latency::REQUESTS.draw(7, n), fast.draw(7, n));
            let ratio = a.as_secs_f64() / b.as_secs_f64();
            assert!((ratio - 10.0).abs() < 0.01, "request {n}: {a:?} then {b:?}");
        }
        assert_eq!(
            Latency::REQUESTS.faster(0.5),
            Latency::REQUESTS,
            "never slower"
        );
        assert_eq!(Latency::Instant.faster(10.0), Latency::Instant);
    }

    use super::*;

    fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * p) as usize]
    }

    fn sample(l: Latency, n: u64) -> Vec<f64> {
        let s = seed("web", "green");
        (0..n)
            .map(|i| l.draw(s, i).as_secs_f64() * 1000.0)
            .collect()
    }

    #[test]
    fn requests_take_tens_of_milliseconds_with_a_tail() {
        let v = sample(Latency::REQUESTS, 20_000);
        let (p50, p95, p99) = (
            percentile(v.clone(), 0.50),
            percentile(v.clone(), 0.95),
            percentile(v.clone(), 0.99),
        );
        assert!((30.0..55.0).contains(&p50), "p50 {p50}");
        assert!((70.0..140.0).contains(&p95), "p95 {p95}");
        assert!((150.0..600.0).contains(&p99), "p99 {p99}");
        assert!(
            p95 < 1000.0,
            "far from the default latency rule (p95 > 1 s)"
        );
        assert!(v.iter().all(|ms| *ms <= 900.0));
    }

    #[test]
    fn health_answers_fast_and_never_near_a_probe_timeout() {
        let v = sample(Latency::HEALTH, 20_000);
        assert!((10.0..20.0).contains(&percentile(v.clone(), 0.5)));
        assert!(v.iter().all(|ms| *ms <= 45.0));
    }

    #[test]
    fn the_same_request_waits_the_same_and_environments_differ() {
        let l = Latency::REQUESTS;
        assert_eq!(l.draw(7, 42), l.draw(7, 42));
        assert_ne!(seed("web", "blue"), seed("web", "green"));
        assert_eq!(Latency::Instant.draw(1, 1), Duration::ZERO);
    }
}
