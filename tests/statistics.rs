//! The comparison's statistics against a reference implementation: SciPy's
//! `mannwhitneyu` (U and its tie-corrected deviation), a brute-force
//! Hodges–Lehmann estimate and Moses interval over every pair (NumPy),
//! SciPy's `betaln` for the Beta-mixture bounds, and SciPy's exact binomial
//! test (the fixed-sample version of the errors test) — on a table of
//! edge cases (ties, tiny samples, empty sides) and on generated samples.
//! Python runs from the tests' virtualenv (`scripts/test` installs SciPy).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use backstop::core::compare::{
    Direction, Metric, Outcome, TAU_AUC, Tally, Test, bernoulli_cs, boundary, errors, latency,
    mann_whitney,
};
use backstop::core::rng::SplitMix;
use serde_json::{Value, json};

fn python() -> PathBuf {
    std::env::var_os("BACKSTOP_STATS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/stats-venv/bin/python");
            assert!(
                p.exists(),
                "BACKSTOP_STATS_PYTHON is not set and {} is missing: scripts/test installs SciPy there",
                p.display()
            );
            p
        })
}

/// Latencies already at two significant digits (so the tally keeps them
/// exactly): from a small set (many ties) or a wide one.
fn sample(rng: &mut SplitMix, n: u64, shift: u64, ties: bool) -> Vec<u64> {
    const WIDE: [u64; 12] = [3, 8, 12, 17, 25, 33, 48, 56, 71, 89, 95, 99];
    (0..n)
        .map(|_| {
            let v = if ties {
                [20, 30, 40][rng.below(3) as usize]
            } else {
                WIDE[rng.below(WIDE.len() as u64) as usize]
            };
            v + shift
        })
        .map(|v| if v >= 100 { v / 10 * 10 } else { v })
        .collect()
}

fn tally(values: &[u64]) -> Tally {
    let mut t = Tally::default();
    for v in values {
        t.record(*v as f64, false);
    }
    t
}

fn test(metric: Metric) -> Test {
    Test {
        metric,
        min_effect: if metric == Metric::Errors { 0.01 } else { 10.0 },
        confidence: 0.95,
        direction: Direction::Increase,
    }
}

/// One latency case, with what backstop computed.
fn latency_case(canary: &[u64], baseline: &[u64]) -> Value {
    let (c, b) = (tally(canary), tally(baseline));
    let cmp = latency(&c, &b, test(Metric::Latency));
    let (u, sd) = mann_whitney(&c, &b);
    let pairs = (canary.len() * baseline.len()) as f64;
    let z = if sd > 0.0 && pairs > 0.0 {
        boundary(sd * sd / (pairs * pairs), TAU_AUC, 0.05)
    } else {
        0.0
    };
    json!({
        "canary": canary,
        "baseline": baseline,
        "no_data": cmp.outcome == Outcome::NoData,
        "u": u,
        "sd": sd,
        "z": z,
        "hl": cmp.estimate,
        "interval": cmp.interval.map(|(lo, hi)| vec![lo, hi]),
    })
}

/// One errors case, with what backstop computed.
fn errors_case(nc: u64, xc: u64, nb: u64, xb: u64) -> Value {
    let t = |n, x| Tally {
        requests: n,
        errors: x,
        latency: Vec::new(),
    };
    let cmp = errors(&t(nc, xc), &t(nb, xb), test(Metric::Errors));
    let (q_lo, q_hi) = bernoulli_cs(xc, xb, 0.05);
    json!({
        "nc": nc, "xc": xc, "nb": nb, "xb": xb,
        "no_data": cmp.outcome == Outcome::NoData,
        "q": [q_lo, q_hi],
        "lo": cmp.interval.map(|(lo, _)| lo),
        "estimate": cmp.estimate,
        "worse": cmp.outcome == Outcome::Worse,
    })
}

const CHECK: &str = r#"
import json, math, sys
import numpy as np
from scipy import stats, special

cases = json.load(open(sys.argv[1]))
bad = []
def fail(kind, case, why):
    bad.append(f"{kind}: {why}: {json.dumps(case)[:300]}")

for c in cases["latency"]:
    x, y = np.array(c["canary"], float), np.array(c["baseline"], float)
    if len(x) == 0 or len(y) == 0:
        if not c["no_data"]:
            fail("latency", c, "an empty side is not 'no data'")
        continue
    r = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=False)
    if abs(r.statistic - c["u"]) > 1e-9:
        fail("latency", c, f"U {c['u']} != scipy {r.statistic}")
    mean = len(x) * len(y) / 2
    if c["sd"] > 0 and c["u"] != mean and r.pvalue > 1e-300:
        sd = abs(c["u"] - mean) / stats.norm.isf(r.pvalue / 2)
        if abs(sd - c["sd"]) > 1e-6 * max(1, sd):
            fail("latency", c, f"sd {c['sd']} != scipy's {sd}")
    d = np.sort(np.subtract.outer(x, y).ravel())
    P = len(d)
    hl = d[math.ceil(P / 2) - 1]
    if abs(hl - c["hl"]) > 1e-9:
        fail("latency", c, f"Hodges-Lehmann {c['hl']} != {hl}")
    if c["sd"] > 0:
        k = math.floor(P / 2 - c["z"] * c["sd"])
        want = [float(d[k]), float(d[P - k - 1])] if k >= 1 else None
        if want != c["interval"]:
            fail("latency", c, f"interval {c['interval']} != {want}")

for c in cases["errors"]:
    nc, xc, nb, xb = c["nc"], c["xc"], c["nb"], c["xb"]
    if nc == 0 or nb == 0:
        if not c["no_data"]:
            fail("errors", c, "an empty side is not 'no data'")
        continue
    # The bounds are where the Beta(1,1) mixture reaches 1/alpha (SciPy's betaln).
    def ln_m(q):
        a = xc * math.log(q) if xc else 0.0
        b = xb * math.log(1 - q) if xb else 0.0
        return special.betaln(1 + xc, 1 + xb) - a - b
    for q, open_end in ((c["q"][0], xc == 0), (c["q"][1], xb == 0)):
        if 0 < q < 1 and not open_end:
            if abs(ln_m(q) - math.log(20)) > 1e-6:
                fail("errors", c, f"bound {q}: ln M = {ln_m(q)}, not ln 20")
    est = xc / nc - xb / nb
    if abs(est - c["estimate"]) > 1e-12:
        fail("errors", c, f"estimate {c['estimate']} != {est}")
    # Sequentially worse is at least as sure as the exact test at one look.
    if c["worse"] and xc + xb > 0:
        s = nc / (nc + nb)
        p = stats.binomtest(xc, xc + xb, s, alternative="greater").pvalue
        if p >= 0.05:
            fail("errors", c, f"worse, but the exact test at one look has p = {p}")
print(f"{len(cases['latency'])} latency and {len(cases['errors'])} errors cases checked")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
"#;

#[test]
fn the_statistics_agree_with_scipy() {
    let mut lat = vec![
        // Tiny samples, ties, empty sides, one value everywhere.
        latency_case(&[], &[10, 20]),
        latency_case(&[10], &[]),
        latency_case(&[10], &[10]),
        latency_case(&[10], &[20]),
        latency_case(&[20, 20, 20], &[20, 20]),
        latency_case(&[30, 30, 40], &[20, 30, 30, 30]),
        latency_case(&[90, 95, 99], &[3, 8, 12]),
    ];
    // Seeded: the generated samples are the same on every run.
    let mut rng = SplitMix(20_261_207);
    for i in 0..150 {
        let nc = rng.below(if i % 5 == 0 { 4 } else { 40 });
        let nb = 1 + rng.below(if i % 7 == 0 { 3 } else { 120 });
        let shift = [0, 0, 5, 30][rng.below(4) as usize];
        let ties = i % 2 == 0;
        let canary = sample(&mut rng, nc, shift, ties);
        let baseline = sample(&mut rng, nb, 0, ties);
        lat.push(latency_case(&canary, &baseline));
    }
    let mut err = vec![
        errors_case(0, 0, 100, 1),
        errors_case(20, 0, 0, 0),
        errors_case(20, 1, 2000, 10),
        errors_case(75, 3, 1425, 0),
        errors_case(20, 20, 20, 0),
        errors_case(1, 1, 1, 0),
        errors_case(3000, 16, 30000, 150),
    ];
    for _ in 0..300 {
        let nc = rng.below(200);
        let nb = 1 + rng.below(4000);
        let pc = [0, 1, 2, 5, 10, 30][rng.below(6) as usize];
        let pb = [0, 1, 2][rng.below(3) as usize];
        let xc = (0..nc).filter(|_| rng.below(100) < pc).count() as u64;
        let xb = (0..nb).filter(|_| rng.below(100) < pb).count() as u64;
        err.push(errors_case(nc, xc, nb, xb));
    }
    let worse = err.iter().filter(|c| c["worse"] == true).count();
    assert!(
        worse > 20,
        "the generated cases reach 'worse' ({worse}), so the exact test is checked"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(&file, json!({ "latency": lat, "errors": err }).to_string()).unwrap();
    let script = dir.path().join("check.py");
    std::fs::write(&script, CHECK).unwrap();
    let out = Command::new(python())
        .arg(&script)
        .arg(&file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("latency and"), "{text}");
}
