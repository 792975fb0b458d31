//! What an environment served, counted one request at a time: the
//! comparisons' samples.

use serde::{Deserialize, Serialize};

/// What one environment served since its source began: counts, and
/// latencies to two significant digits and at least 0.1 ms (bounded: about
/// 90 values a decade, at most about 450 — a few hundred bytes for the
/// usual spread of one environment).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub requests: u64,
    pub errors: u64,
    /// (latency in µs to two significant digits, count), by latency.
    pub latency: Vec<(u32, u64)>,
}

/// Latencies above a minute count as a minute (as the metric windows do).
const MAX_US: f64 = 60_000_000.0;

/// `latency_ms` in µs, to two significant digits, and to 0.1 ms below a
/// millisecond (finer is loopback noise, and memory).
fn quantize(latency_ms: f64) -> u32 {
    let us = (latency_ms * 1000.0).clamp(0.0, MAX_US);
    let step = if us < 1000.0 {
        100.0
    } else {
        10f64.powi(us.log10().floor() as i32 - 1)
    };
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

    pub(super) fn latencies(&self) -> u64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantized_to_two_significant_digits() {
        assert_eq!(quantize(0.0421), 0);
        assert_eq!(quantize(0.36), 400);
        assert_eq!(quantize(7.25), 7300);
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
}
