//! The canary judged against its baseline: is the environment on trial
//! worse than the one beside it, by an amount that matters, with a
//! confidence that survives being asked every second?
//!
//! Two metrics, each compared over the requests both sides served since the
//! trial began (the canary took its version and share):
//!
//! - **errors**, as a difference of proportions. The test is exact and
//!   conditional: each failure of the service is a coin flip between the
//!   two sides, and if they fail alike, the canary's side comes up with the
//!   canary's share of the requests. The evidence against that is a Beta(1, 1)
//!   mixture martingale (Robbins' method of mixtures; for counts, the test of
//!   Lindon & Malek, 2022): by Ville's inequality its chance of *ever*
//!   crossing 1/α is at most α, however often it is looked at. Inverted, it
//!   gives an always-valid interval for the canary's share of failures,
//!   which maps linearly onto the difference of error rates.
//! - **latency**, as a shift of the distribution: the Mann-Whitney U
//!   statistic (ties corrected) with the Hodges–Lehmann estimate of the
//!   shift and its distribution-free (Moses) interval, taken at the
//!   normal-mixture boundary instead of a fixed 1.96 — the always-valid
//!   boundary of Robbins, as the mSPRT of Johari, Pekelis & Walsh (2017) uses
//!   it — so that looking every second does not inflate false alarms
//!   (asymptotically: the U statistic is treated as normal).
//!
//! Each comparison ends in one of four outcomes: **worse** (the interval
//! lies wholly on the bad side of zero and the estimate is at least the
//! minimum effect: both sure and large enough to matter), **no worse** (the
//! interval lies wholly below the minimum effect), **inconclusive**
//! (neither, yet), **no data** (a side has served nothing). Only "worse"
//! can fire a rule; the rule adds its hold (see `rules`).

use serde::{Deserialize, Serialize};

mod sequential;
mod tally;
mod trial;

pub use sequential::{TAU_AUC, bernoulli_cs, boundary};
pub use tally::Tally;
pub use trial::Trial;

/// Why a comparison rule has nothing to compare.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Uncompared {
    #[error("no environment {0} to compare with")]
    NoSuchBaseline(String),
    #[error("no other environment to compare with")]
    NoBaseline,
    #[error("{0} is on trial and the baseline too")]
    OnTrialItself(String),
    /// A comparison needs two environments serving users at once.
    #[error("{0} takes no traffic beside {1}: nothing to compare")]
    NotSideBySide(String, String),
    /// Health probes are not users' requests: comparisons read a source
    /// that counts requests.
    #[error("no request traffic is counted (health probes are not compared)")]
    NoTraffic,
    /// A metric source that sums requests (CloudWatch) keeps no tally.
    #[error("{0} counts no requests one by one: nothing to compare")]
    NoTally(String),
}

/// What is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Errors,
    Latency,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Errors => "errors",
            Metric::Latency => "latency",
        }
    }

    /// An effect in this metric's unit: `+1.0 pt`, `+50ms`.
    pub fn effect(self, v: f64) -> String {
        match self {
            Metric::Errors => format!("{:+.1} pt", v * 100.0),
            Metric::Latency => format!("{:+.0}ms", v),
        }
    }
}

/// Which way is bad.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Only more errors, or slower, is bad (the default, and Kayenta's for both).
    #[default]
    Increase,
    /// A change either way beyond the minimum effect is bad: a canary that
    /// turned suddenly fast may be answering without doing the work.
    Either,
}

/// How a comparison came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    Worse,
    NoWorse,
    Inconclusive,
    NoData,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Worse => "worse",
            Outcome::NoWorse => "no worse",
            Outcome::Inconclusive => "inconclusive",
            Outcome::NoData => "no data",
        }
    }
}

/// A rule's settings for one comparison.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Test {
    pub metric: Metric,
    /// The smallest difference that matters: a fraction for errors
    /// (0.01 = 1 point), milliseconds for latency.
    pub min_effect: f64,
    /// 0.95: the interval covers the truth, at every look at once, with
    /// this probability.
    pub confidence: f64,
    pub direction: Direction,
}

/// One comparison: the samples, the estimate, the interval and the outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub test: Test,
    pub outcome: Outcome,
    /// Requests (errors) or latencies (latency) on each side.
    pub canary_n: u64,
    pub baseline_n: u64,
    /// Failures (errors) on each side; 0 for latency.
    pub canary_errors: u64,
    pub baseline_errors: u64,
    /// Error rates (errors) or median latencies in ms (latency).
    pub canary_value: Option<f64>,
    pub baseline_value: Option<f64>,
    /// Canary − baseline: a fraction of requests, or ms of shift.
    pub estimate: f64,
    /// The sequential interval of the difference (see `errors` and
    /// `latency` for what it holds fixed); `None` while too few samples
    /// bound it.
    pub interval: Option<(f64, f64)>,
}

impl Comparison {
    fn no_data(test: Test, canary_n: u64, baseline_n: u64) -> Comparison {
        Comparison {
            test,
            outcome: Outcome::NoData,
            canary_n,
            baseline_n,
            canary_errors: 0,
            baseline_errors: 0,
            canary_value: None,
            baseline_value: None,
            estimate: 0.0,
            interval: None,
        }
    }

    /// The outcome of an estimate and its interval against the test.
    fn classify(test: &Test, estimate: f64, interval: Option<(f64, f64)>) -> Outcome {
        let Some((lo, hi)) = interval else {
            return Outcome::Inconclusive;
        };
        let d = test.min_effect;
        let up = lo > 0.0 && estimate >= d;
        let down = test.direction == Direction::Either && hi < 0.0 && estimate <= -d;
        if up || down {
            return Outcome::Worse;
        }
        let below = hi < d;
        let above = test.direction == Direction::Increase || lo > -d;
        if below && above {
            Outcome::NoWorse
        } else {
            Outcome::Inconclusive
        }
    }

    /// The figures, short: `+3.4 pt [+1.2, +9.8]`.
    pub fn short(&self) -> String {
        let m = self.test.metric;
        match (self.outcome, self.interval) {
            (Outcome::NoData, _) => "no data".into(),
            (_, Some((lo, hi))) => format!(
                "{} [{}, {}]",
                m.effect(self.estimate),
                bound(m, lo),
                bound(m, hi)
            ),
            (_, None) => format!("{} [unbounded]", m.effect(self.estimate)),
        }
    }

    /// The comparison in words and numbers, for the "why" view: the
    /// samples, the estimate, the interval, the effect that matters, and
    /// why that makes the outcome.
    pub fn explain(&self, canary: &str, baseline: &str) -> String {
        let t = &self.test;
        let m = t.metric;
        let conf = format!("{:.0} %", t.confidence * 100.0);
        let sides = match m {
            Metric::Errors => format!(
                "{canary} failed {} of {} requests ({}), {baseline} {} of {} ({})",
                self.canary_errors,
                self.canary_n,
                rate(self.canary_value),
                self.baseline_errors,
                self.baseline_n,
                rate(self.baseline_value)
            ),
            Metric::Latency => format!(
                "{canary} median {} over {} requests, {baseline} {} over {}",
                ms(self.canary_value),
                self.canary_n,
                ms(self.baseline_value),
                self.baseline_n
            ),
        };
        if self.outcome == Outcome::NoData {
            let empty = if self.canary_n == 0 { canary } else { baseline };
            return format!("{sides}: no data ({empty} served nothing yet)");
        }
        let what = match m {
            Metric::Errors => "difference",
            Metric::Latency => "shift (Hodges–Lehmann)",
        };
        let interval = match self.interval {
            Some((lo, hi)) => format!(
                "{conf} sequential interval [{}, {}]",
                m.effect(lo),
                m.effect(hi)
            ),
            None => format!("{conf} interval not bounded yet (too few samples)"),
        };
        let matters = format!("{} matters", m.effect(t.min_effect));
        let because = match self.outcome {
            Outcome::Worse => "the whole interval is on the bad side of zero and the estimate is at least the effect that matters: worse".to_string(),
            Outcome::NoWorse => "the whole interval is below the effect that matters: no worse".to_string(),
            Outcome::Inconclusive => match self.interval {
                Some((lo, _)) if lo > 0.0 => "surely higher, but not by an amount that matters yet: inconclusive".to_string(),
                Some(_) => "the interval still holds both no difference and one that matters: inconclusive".to_string(),
                None => "inconclusive".to_string(),
            },
            Outcome::NoData => String::new(),
        };
        format!(
            "{sides}: {what} {}, {interval}; {matters}; {because}",
            m.effect(self.estimate)
        )
    }
}

/// An interval's end, without its unit (the estimate beside it has one).
fn bound(m: Metric, v: f64) -> String {
    match m {
        Metric::Errors => format!("{:+.1}", v * 100.0),
        Metric::Latency => format!("{v:+.0}"),
    }
}

fn rate(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |r| format!("{:.1} %", r * 100.0))
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |x| format!("{x:.0}ms"))
}

/// Errors: the canary's error rate minus the baseline's.
pub fn errors(canary: &Tally, baseline: &Tally, test: Test) -> Comparison {
    let (nc, nb) = (canary.requests, baseline.requests);
    if nc == 0 || nb == 0 {
        return Comparison::no_data(test, nc, nb);
    }
    let (xc, xb) = (canary.errors.min(nc), baseline.errors.min(nb));
    let alpha = (1.0 - test.confidence).clamp(1e-9, 0.5);
    let (ncf, nbf) = (nc as f64, nb as f64);
    let failures = (xc + xb) as f64;
    // The canary's share of the failures, q; under "they fail alike" it is
    // the canary's share of the requests. The difference of error rates
    // the failures seen imply is linear in q, and 0 at that share.
    let (q_lo, q_hi) = bernoulli_cs(xc, xb, alpha);
    let diff = |q: f64| failures * (q / ncf - (1.0 - q) / nbf);
    // The mapping holds the failures seen fixed, so when little has failed
    // anywhere it cannot see how high the canary's rate might be: the
    // upper end is also the canary's own upper bound less the baseline's
    // lower one (each side's own Beta mixture). The lower end is the test
    // itself, exact: above zero only if the canary's share of failures is
    // surely above its share of requests.
    let (_, own_hi) = bernoulli_cs(xc, nc - xc, alpha);
    let (base_lo, _) = bernoulli_cs(xb, nb - xb, alpha);
    let pb = xb as f64 / nbf;
    let lo = diff(q_lo);
    let hi = diff(q_hi).max(own_hi - base_lo);
    let estimate = xc as f64 / ncf - pb;
    let interval = Some((lo, hi));
    Comparison {
        test,
        outcome: Comparison::classify(&test, estimate, interval),
        canary_n: nc,
        baseline_n: nb,
        canary_errors: xc,
        baseline_errors: xb,
        canary_value: Some(xc as f64 / ncf),
        baseline_value: Some(pb),
        estimate,
        interval,
    }
}

/// Latency: the canary's shift against the baseline.
pub fn latency(canary: &Tally, baseline: &Tally, test: Test) -> Comparison {
    let (nc, nb) = (canary.latencies(), baseline.latencies());
    let mut c = Comparison::no_data(test, nc, nb);
    c.canary_value = canary.median_ms();
    c.baseline_value = baseline.median_ms();
    if nc == 0 || nb == 0 {
        return c;
    }
    let alpha = (1.0 - test.confidence).clamp(1e-9, 0.5);
    let (ncf, nbf) = (nc as f64, nb as f64);
    let (_, sd) = mann_whitney(canary, baseline);
    let var = sd * sd;
    let (cv, bv) = (&canary.latency, &baseline.latency);
    // Pairs counted in u128: a long trial's two sides multiply past u64.
    let pairs = u128::from(nc) * u128::from(nb);
    let estimate = pair_quantile(cv, bv, pairs.div_ceil(2));
    let interval = if var <= 0.0 {
        // Every value the same: no shift, and nothing to doubt about it.
        Some((estimate, estimate))
    } else {
        let z = boundary(var / (ncf * nbf).powi(2), TAU_AUC, alpha);
        let k = (ncf * nbf / 2.0 - z * var.sqrt()).floor();
        (k >= 1.0).then(|| {
            let k = k as u128;
            (
                pair_quantile(cv, bv, k + 1),
                pair_quantile(cv, bv, pairs - k),
            )
        })
    };
    c.estimate = estimate;
    c.interval = interval;
    c.outcome = Comparison::classify(&test, estimate, interval);
    c
}

/// The Mann-Whitney U of the canary against the baseline (pairs where the
/// canary was slower, ties counting half) and its standard deviation under
/// "no difference", ties corrected: the test the latency interval inverts,
/// and what the reference tests hold against SciPy's.
pub fn mann_whitney(canary: &Tally, baseline: &Tally) -> (f64, f64) {
    let (nc, nb) = (canary.latencies() as f64, baseline.latencies() as f64);
    let (u, ties) = rank_sums(&canary.latency, &baseline.latency);
    let n = nc + nb;
    if nc == 0.0 || nb == 0.0 {
        return (u, 0.0);
    }
    let var = nc * nb / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)).max(1.0));
    (u, var.max(0.0).sqrt())
}

/// U and the ties' correction of its variance (the sum of t³ − t over the
/// values shared by t requests), in one merge of the two sorted tallies.
fn rank_sums(cv: &[(u32, u64)], bv: &[(u32, u64)]) -> (f64, f64) {
    let (mut u, mut ties) = (0.0, 0.0);
    let mut below = 0u64; // baseline requests faster than the current value
    let (mut i, mut j) = (0, 0);
    loop {
        let v = match (cv.get(i), bv.get(j)) {
            (Some(a), Some(b)) => a.0.min(b.0),
            (Some(a), None) => a.0,
            (None, Some(b)) => b.0,
            (None, None) => break,
        };
        let at_c = cv.get(i).filter(|x| x.0 == v).map_or(0, |x| x.1);
        let at_b = bv.get(j).filter(|x| x.0 == v).map_or(0, |x| x.1);
        u += at_c as f64 * (below as f64 + 0.5 * at_b as f64);
        let t = (at_c + at_b) as f64;
        ties += t * t * t - t;
        below += at_b;
        i += usize::from(at_c > 0);
        j += usize::from(at_b > 0);
    }
    (u, ties)
}

/// The `rank`-th smallest (1-based) of the pairwise differences
/// canary − baseline, in ms, each pair weighted by its counts; found by
/// bisection on the difference, counting pairs in one merge pass each.
fn pair_quantile(cv: &[(u32, u64)], bv: &[(u32, u64)], rank: u128) -> f64 {
    let (Some(c0), Some(c1), Some(b0), Some(b1)) = (cv.first(), cv.last(), bv.first(), bv.last())
    else {
        return 0.0;
    };
    // Pairs with a difference at most x.
    let all: u64 = bv.iter().map(|b| b.1).sum();
    let at_most = |x: i64| -> u128 {
        let mut total = 0u128;
        let mut j = 0; // baseline values below v − x
        let mut below = 0u64;
        for &(v, a) in cv {
            let floor = i64::from(v) - x;
            while j < bv.len() && i64::from(bv[j].0) < floor {
                below += bv[j].1;
                j += 1;
            }
            total += u128::from(a) * u128::from(all - below);
        }
        total
    };
    let (mut lo, mut hi) = (
        i64::from(c0.0) - i64::from(b1.0),
        i64::from(c1.0) - i64::from(b0.0),
    );
    while lo < hi {
        let mid = lo + (hi - lo).div_euclid(2);
        if at_most(mid) >= rank {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(requests: u64, errors: u64) -> Tally {
        Tally {
            requests,
            errors,
            latency: Vec::new(),
        }
    }

    fn test(metric: Metric, min_effect: f64) -> Test {
        Test {
            metric,
            min_effect,
            confidence: 0.95,
            direction: Direction::Increase,
        }
    }

    fn lat(values: &[(f64, u64)]) -> Tally {
        let mut t = Tally::default();
        for &(ms, n) in values {
            for _ in 0..n {
                t.record(ms, false);
            }
        }
        t
    }

    /// The 8 % canary of the drill: three failures on the canary, none on
    /// the baseline, at 5 % of the requests, is surely worse.
    #[test]
    fn a_few_failures_on_a_small_canary_are_worse() {
        let c = errors(&tally(75, 3), &tally(1425, 0), test(Metric::Errors, 0.01));
        assert_eq!(c.outcome, Outcome::Worse, "{c:?}");
        let (lo, hi) = c.interval.unwrap();
        assert!(lo > 0.0 && hi > c.estimate, "{c:?}");
        assert!((c.estimate - 0.04).abs() < 1e-12);
        let text = c.explain("green", "blue");
        assert!(
            text.starts_with("green failed 3 of 75 requests (4.0 %), blue 0 of 1425 (0.0 %): difference +4.0 pt, 95 % sequential interval [+"),
            "{text}"
        );
        assert!(text.ends_with("worse"), "{text}");
    }

    /// One failure is never enough: a 1 % canary's single failure among a
    /// baseline that fails at the same rate is noise.
    #[test]
    fn one_failure_among_alike_failures_is_not_worse() {
        let c = errors(&tally(20, 1), &tally(2000, 10), test(Metric::Errors, 0.01));
        assert_ne!(c.outcome, Outcome::Worse, "{c:?}");
        let c = errors(
            &tally(3000, 16),
            &tally(30000, 150),
            test(Metric::Errors, 0.01),
        );
        assert_eq!(c.outcome, Outcome::NoWorse, "{c:?}");
        // Nothing served on one side: no data.
        let c = errors(&tally(0, 0), &tally(300, 0), test(Metric::Errors, 0.01));
        assert_eq!(c.outcome, Outcome::NoData);
        // Nothing failed but little served: not yet known to be no worse.
        let c = errors(&tally(20, 0), &tally(2000, 0), test(Metric::Errors, 0.01));
        assert_eq!(c.outcome, Outcome::Inconclusive, "{c:?}");
    }

    #[test]
    fn latency_shift_estimate_and_interval() {
        let base = lat(&[(40.0, 300), (50.0, 300), (60.0, 300)]);
        let slow = lat(&[(140.0, 30), (150.0, 30), (160.0, 30)]);
        let c = latency(&slow, &base, test(Metric::Latency, 50.0));
        assert_eq!(c.outcome, Outcome::Worse, "{c:?}");
        assert!((c.estimate - 100.0).abs() < 1e-9, "{c:?}");
        let same = lat(&[(40.0, 30), (50.0, 30), (60.0, 30)]);
        let c = latency(&same, &base, test(Metric::Latency, 50.0));
        assert_eq!(c.outcome, Outcome::NoWorse, "{c:?}");
        assert_eq!(c.estimate, 0.0);
        // Slower, but by less than matters.
        let bit = lat(&[(50.0, 300), (60.0, 300), (70.0, 300)]);
        let c = latency(&bit, &base, test(Metric::Latency, 50.0));
        assert_eq!(c.outcome, Outcome::NoWorse, "{c:?}");
        assert_eq!(c.estimate, 10.0);
        // Three requests cannot bound a shift.
        let few = lat(&[(140.0, 3)]);
        let c = latency(&few, &base, test(Metric::Latency, 50.0));
        assert_eq!(c.outcome, Outcome::Inconclusive, "{c:?}");
        assert_eq!(c.interval, None);
    }

    #[test]
    fn either_direction_sees_a_suddenly_fast_canary() {
        let base = lat(&[(400.0, 300), (500.0, 300)]);
        let fast = lat(&[(5.0, 100)]);
        let mut t = test(Metric::Latency, 50.0);
        assert_eq!(latency(&fast, &base, t).outcome, Outcome::NoWorse);
        t.direction = Direction::Either;
        assert_eq!(latency(&fast, &base, t).outcome, Outcome::Worse);
    }

    /// Deploys whose canary is exactly like its baseline, judged every
    /// second for ten minutes: how many are ever called worse; and how many
    /// a fixed-sample test (a pooled two-proportion z over 1.645, one-sided
    /// 95 %) repeated every second would have called worse. No minimum
    /// effect for errors (any difference would do); 1 ms for latency (the
    /// tally's resolution is 0.1 ms).
    fn false_alarms(deploys: u32, metric: Metric, seed: u64) -> (f64, f64) {
        let mut rng = crate::rng::SplitMix(seed);
        let t = test(metric, if metric == Metric::Errors { 0.0 } else { 1.0 });
        let (mut alarms, mut naive) = (0, 0);
        for _ in 0..deploys {
            let (mut canary, mut baseline) = (Tally::default(), Tally::default());
            let mut naive_fired = false;
            for _second in 0..600 {
                // 20 requests a second, 5 % of them to the canary; 1 % fail
                // on both; latency 20 ms plus an exponential tail of 15 ms.
                for _ in 0..20 {
                    let side = if rng.unit() < 0.05 {
                        &mut canary
                    } else {
                        &mut baseline
                    };
                    let ms = 20.0 - 15.0 * (1.0 - rng.unit()).ln();
                    side.record(ms, rng.unit() < 0.01);
                }
                naive_fired |= pooled_z(&canary, &baseline) > 1.645;
                let c = match metric {
                    Metric::Errors => errors(&canary, &baseline, t),
                    Metric::Latency => latency(&canary, &baseline, t),
                };
                if c.outcome == Outcome::Worse {
                    alarms += 1;
                    break;
                }
            }
            naive += u32::from(naive_fired);
        }
        let d = f64::from(deploys);
        (f64::from(alarms) / d, f64::from(naive) / d)
    }

    fn pooled_z(c: &Tally, b: &Tally) -> f64 {
        let (nc, nb) = (c.requests as f64, b.requests as f64);
        let p = (c.errors + b.errors) as f64 / (nc + nb);
        let se = (p * (1.0 - p) * (1.0 / nc + 1.0 / nb)).sqrt();
        if se == 0.0 || nc == 0.0 {
            return 0.0;
        }
        (c.errors as f64 / nc - b.errors as f64 / nb) / se
    }

    /// Looking every second does not inflate false alarms: fewer than 5 %
    /// of identical deploys are ever called worse at 95 %, where the same
    /// fixed-sample test repeated every second calls a third of them worse.
    #[test]
    fn false_alarms_stay_within_the_level() {
        let (errors, naive) = false_alarms(2000, Metric::Errors, 1);
        assert!(errors <= 0.05, "errors: {errors}");
        // The simulation can see inflation: the fixed test repeated is far over.
        assert!(naive > 0.2, "a fixed test repeated: {naive}");
        let (latency, _) = false_alarms(1000, Metric::Latency, 2);
        assert!(latency <= 0.05, "latency: {latency}");
        eprintln!(
            "false alarms: errors {errors} (fixed test repeated: {naive}), latency {latency}"
        );
    }
}
