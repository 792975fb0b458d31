//! What makes the comparisons safe to look at every second: the Beta
//! mixture's confidence sequence for a proportion (Robbins' method of
//! mixtures; Ville's inequality bounds the chance it is *ever* wrong) and
//! the normal-mixture boundary (the mSPRT's) for an asymptotically normal
//! statistic.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials() {
        for (n, f) in [(1.0, 1.0f64), (5.0, 24.0), (11.0, 3_628_800.0)] {
            assert!((ln_gamma(n) - f.ln()).abs() < 1e-10, "{n}");
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-10);
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
}
