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

use super::time::Ts;

/// What one environment served since its source began: counts, and
/// latencies to two significant digits (bounded: about 90 values a decade).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub requests: u64,
    pub errors: u64,
    /// (latency in µs to two significant digits, count), by latency.
    pub latency: Vec<(u32, u64)>,
}

/// Latencies above a minute count as a minute (as the metric windows do).
const MAX_US: f64 = 60_000_000.0;

/// `latency_ms` in µs, to two significant digits.
fn quantize(latency_ms: f64) -> u32 {
    let us = (latency_ms * 1000.0).clamp(0.0, MAX_US);
    if us < 100.0 {
        return us.round() as u32;
    }
    let step = 10f64.powi(us.log10().floor() as i32 - 1);
    ((us / step).round() * step) as u32
}

impl Tally {
    pub fn record(&mut self, latency_ms: f64, error: bool) {
        self.requests += 1;
        self.errors += u64::from(error);
        let v = quantize(latency_ms);
        match self.latency.binary_search_by_key(&v, |(x, _)| *x) {
            Ok(i) => self.latency[i].1 += 1,
            Err(i) => self.latency.insert(i, (v, 1)),
        }
    }

    /// What was added since `earlier`, an earlier tally of the same source;
    /// `None` when it is not one (the source started again).
    pub fn since(&self, earlier: &Tally) -> Option<Tally> {
        if self.requests < earlier.requests || self.errors < earlier.errors {
            return None;
        }
        let mut latency = Vec::with_capacity(self.latency.len());
        let mut old = earlier.latency.iter().peekable();
        for &(v, n) in &self.latency {
            let mut before = 0;
            while let Some(&&(w, m)) = old.peek() {
                if w > v {
                    break;
                }
                if w < v {
                    // A value the earlier tally had and this one lost.
                    return None;
                }
                before = m;
                old.next();
            }
            let added = n.checked_sub(before)?;
            if added > 0 {
                latency.push((v, added));
            }
        }
        if old.next().is_some() {
            return None;
        }
        Some(Tally {
            requests: self.requests - earlier.requests,
            errors: self.errors - earlier.errors,
            latency,
        })
    }

    fn latencies(&self) -> u64 {
        self.latency.iter().map(|(_, n)| n).sum()
    }

    /// The median latency in ms, if any was recorded.
    pub fn median_ms(&self) -> Option<f64> {
        let n = self.latencies();
        let half = n.div_ceil(2);
        let mut seen = 0;
        for &(v, c) in &self.latency {
            seen += c;
            if seen >= half && n > 0 {
                return Some(f64::from(v) / 1000.0);
            }
        }
        None
    }
}

/// Why a comparison rule has nothing to compare.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Uncompared {
    #[error("no environment {0} to compare with")]
    NoSuchBaseline(String),
    #[error("no other environment to compare with")]
    NoBaseline,
    #[error("{0} is on trial and the baseline too")]
    OnTrialItself(String),
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
    /// The always-valid interval of the difference; `None` while too few
    /// samples bound it.
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
                "{conf} always-valid interval [{}, {}]",
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

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// ln B(a, b).
fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// The Beta(1, 1) mixture's always-valid interval for the probability of
/// "heads", after `heads` of `heads + tails` flips: every p whose mixture
/// martingale has not reached 1/α.
pub fn bernoulli_cs(heads: u64, tails: u64, alpha: f64) -> (f64, f64) {
    let (h, t) = (heads as f64, tails as f64);
    let ln_b = ln_beta(1.0 + h, 1.0 + t);
    let limit = (1.0 / alpha).ln();
    // ln M(p) = ln B − h ln p − t ln(1 − p): convex, least at h / (h + t),
    // where it is at most 0 (a mean is at most its largest value).
    let ln_m = |p: f64| {
        let a = if h > 0.0 { h * p.ln() } else { 0.0 };
        let b = if t > 0.0 { t * (1.0 - p).ln() } else { 0.0 };
        ln_b - a - b
    };
    let mid = if h + t > 0.0 { h / (h + t) } else { 0.5 };
    let solve = |mut inside: f64, mut outside: f64| {
        for _ in 0..80 {
            let m = 0.5 * (inside + outside);
            if ln_m(m) < limit {
                inside = m;
            } else {
                outside = m;
            }
        }
        inside
    };
    let lo = if heads == 0 || ln_m(f64::MIN_POSITIVE) < limit {
        0.0
    } else {
        solve(mid, 0.0)
    };
    let hi = if tails == 0 || ln_m(1.0 - f64::EPSILON) < limit {
        1.0
    } else {
        solve(mid, 1.0)
    };
    (lo, hi)
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
    // The failures are few: the conditional interval cannot see how high
    // the canary's rate might be when little has failed anywhere, so the
    // upper end is also the canary's own always-valid upper bound, less
    // the baseline's rate.
    let (_, own_hi) = bernoulli_cs(xc, nc - xc, alpha);
    let pb = xb as f64 / nbf;
    let lo = diff(q_lo);
    let hi = diff(q_hi).max(own_hi - pb);
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

/// The normal-mixture boundary in standard deviations, for a statistic of
/// variance `v` mixed at scale `tau`: wide while the data are few, about
/// 3 once they are many, and valid for every look at once.
pub fn boundary(v: f64, tau: f64, alpha: f64) -> f64 {
    let k = tau * tau / v;
    ((1.0 + 1.0 / k) * ((1.0 + k).ln() + 2.0 * (1.0 / alpha).ln())).sqrt()
}

/// The mixing scale of the latency test, as a probability that the canary
/// is slower: tuned to shifts that move it by about a tenth.
pub const TAU_AUC: f64 = 0.1;

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
    let pairs = nc * nb;
    let estimate = pair_quantile(cv, bv, pairs.div_ceil(2));
    let interval = if var <= 0.0 {
        // Every value the same: no shift, and nothing to doubt about it.
        Some((estimate, estimate))
    } else {
        let z = boundary(var / (ncf * nbf).powi(2), TAU_AUC, alpha);
        let k = (ncf * nbf / 2.0 - z * var.sqrt()).floor();
        (k >= 1.0).then(|| {
            let k = k as u64;
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
fn pair_quantile(cv: &[(u32, u64)], bv: &[(u32, u64)], rank: u64) -> f64 {
    let (Some(c0), Some(c1), Some(b0), Some(b1)) = (cv.first(), cv.last(), bv.first(), bv.last())
    else {
        return 0.0;
    };
    // Pairs with a difference at most x.
    let at_most = |x: i64| -> u64 {
        let mut total = 0u64;
        let mut j = 0; // baseline values below v − x
        let mut below = 0u64;
        let all: u64 = bv.iter().map(|b| b.1).sum();
        for &(v, a) in cv {
            let floor = i64::from(v) - x;
            while j < bv.len() && i64::from(bv[j].0) < floor {
                below += bv[j].1;
                j += 1;
            }
            total += a * (all - below);
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

/// One comparison rule's trial: what the two sides had served when it
/// began, so that the test sees only what came after (the sequence of
/// evidence starts there), and how the outcome has run since.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    /// What starts a new trial when it changes: the canary, its version
    /// and share, and the baseline.
    pub key: String,
    /// The two environments' names, for the explanation.
    pub canary: String,
    pub baseline: String,
    pub since: Ts,
    pub canary_start: Tally,
    pub baseline_start: Tally,
    pub last: Option<Comparison>,
    pub inconclusive_since: Option<Ts>,
    /// The canary's failures in the trial so far, and when they grew
    /// lately (bounded): to tell a burst that stopped from failures that
    /// go on.
    failures: u64,
    grew: std::collections::VecDeque<Ts>,
}

impl Trial {
    pub fn new(
        key: String,
        names: (String, String),
        since: Ts,
        canary: Tally,
        baseline: Tally,
    ) -> Trial {
        Trial {
            key,
            canary: names.0,
            baseline: names.1,
            since,
            canary_start: canary,
            baseline_start: baseline,
            last: None,
            inconclusive_since: None,
            failures: 0,
            grew: std::collections::VecDeque::new(),
        }
    }

    /// Note the canary's failures so far at `now`, remembering when they
    /// grew for `keep`.
    pub fn note_failures(&mut self, now: Ts, failures: u64, keep: std::time::Duration) {
        if failures > self.failures {
            self.grew.push_back(now);
        }
        self.failures = failures;
        while self.grew.front().is_some_and(|at| now.since(*at) >= keep) {
            self.grew.pop_front();
        }
    }

    /// Did the canary fail within the last `span` (at most `keep`)?
    pub fn failed_within(&self, now: Ts, span: std::time::Duration) -> bool {
        self.grew.iter().any(|at| now.since(*at) < span)
    }
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

    #[test]
    fn quantized_to_two_significant_digits() {
        assert_eq!(quantize(0.0421), 42);
        assert_eq!(quantize(1.234), 1200);
        assert_eq!(quantize(987.6), 990_000);
        assert_eq!(quantize(1e9), 60_000_000);
        let mut t = Tally::default();
        for ms in [10.0, 10.04, 20.0, 10.0] {
            t.record(ms, false);
        }
        assert_eq!(t.latency, vec![(10_000, 3), (20_000, 1)]);
        assert_eq!(t.median_ms(), Some(10.0));
    }

    #[test]
    fn since_subtracts_and_refuses_a_restarted_source() {
        let mut a = Tally::default();
        a.record(10.0, false);
        let mut b = a.clone();
        b.record(10.0, true);
        b.record(30.0, false);
        let d = b.since(&a).unwrap();
        assert_eq!((d.requests, d.errors), (2, 1));
        assert_eq!(d.latency, vec![(10_000, 1), (30_000, 1)]);
        assert_eq!(a.since(&b), None);
        let mut other = Tally::default();
        other.record(5.0, false);
        other.record(5.0, false);
        assert_eq!(other.since(&a), None, "a value the earlier one had is gone");
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        for (n, f) in [(1.0, 1.0f64), (5.0, 24.0), (11.0, 3_628_800.0)] {
            assert!((ln_gamma(n) - f.ln()).abs() < 1e-10, "{n}");
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-10);
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
            text.starts_with("green failed 3 of 75 requests (4.0 %), blue 0 of 1425 (0.0 %): difference +4.0 pt, 95 % always-valid interval [+"),
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

    #[test]
    fn the_boundary_is_wide_early_and_about_three_later() {
        let alpha = 0.05;
        let tau = 0.1;
        let early = boundary(1.0, tau, alpha);
        let later = boundary(0.0001, tau, alpha);
        assert!(early > 10.0, "{early}");
        assert!((2.5..3.5).contains(&later), "{later}");
    }

    #[test]
    fn failures_within_a_span() {
        let mut t = Trial::new(
            "k".into(),
            ("green".into(), "blue".into()),
            Ts(0),
            Tally::default(),
            Tally::default(),
        );
        let keep = std::time::Duration::from_secs(10);
        let five = std::time::Duration::from_secs(5);
        t.note_failures(Ts(0), 0, keep);
        t.note_failures(Ts(3000), 2, keep);
        t.note_failures(Ts(6000), 2, keep);
        assert!(t.failed_within(Ts(6000), five), "failed at 3 s");
        t.note_failures(Ts(9000), 2, keep);
        assert!(!t.failed_within(Ts(9000), five), "nothing since 3 s");
        t.note_failures(Ts(10_000), 3, keep);
        assert!(t.failed_within(Ts(10_000), five));
    }

    /// SplitMix64: a seeded, dependency-free source of simulated traffic.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Deploys whose canary is exactly like its baseline, judged every
    /// second for ten minutes: how many are ever called worse; and how many
    /// a fixed-sample test (a pooled two-proportion z over 1.645, one-sided
    /// 95 %) repeated every second would have called worse.
    fn false_alarms(deploys: u32, metric: Metric, seed: u64) -> (f64, f64) {
        let mut rng = Rng(seed);
        let t = test(metric, if metric == Metric::Errors { 0.0 } else { 1.0 });
        let (mut alarms, mut naive) = (0, 0);
        for _ in 0..deploys {
            let (mut canary, mut baseline) = (Tally::default(), Tally::default());
            let mut naive_fired = false;
            for _second in 0..600 {
                // 20 requests a second, 5 % of them to the canary; 1 % fail
                // on both; latency 20 ms plus an exponential tail of 15 ms.
                for _ in 0..20 {
                    let side = if rng.next() < 0.05 {
                        &mut canary
                    } else {
                        &mut baseline
                    };
                    let ms = 20.0 - 15.0 * (1.0 - rng.next()).ln();
                    side.record(ms, rng.next() < 0.01);
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

    /// Looking every second does not inflate false alarms: with no minimum
    /// effect at all (any difference would do), fewer than 5 % of identical
    /// deploys are ever called worse at 95 %. A test repeated every second
    /// at a fixed 1.96 would call most of them worse sooner or later.
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
