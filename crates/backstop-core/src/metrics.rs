//! Sliding metric windows: request rate, error rate and latency percentiles
//! over the last minute or five, with memory fixed by construction.
//!
//! Counts are kept per second, so rates and error rates are exact over the
//! window. Latencies go into HDR histograms (2 significant digits, 1 ms to
//! 60 s) per `span` of time; percentiles merge the histograms that overlap
//! the window, so their far edge may reach one span further back. Nothing is
//! ever sorted, and nothing grows with the number of samples.

use std::collections::VecDeque;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::time::Ts;

/// The longest window kept.
pub const HORIZON: Duration = Duration::from_secs(300);
/// Latencies above this are counted as this (a minute is "down" anyway).
const MAX_MS: u64 = 60_000;

/// Figures over one window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowStats {
    /// The window's length in seconds (1 min, 5 min).
    pub window_secs: u32,
    pub requests: u64,
    pub errors: u64,
    /// Requests per second over the part of the window that has data.
    pub rate: f64,
    /// `errors / requests`, 0 when there were none.
    pub error_rate: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl WindowStats {
    pub fn percentile(&self, p: Percentile) -> Option<f64> {
        match p {
            Percentile::P50 => self.p50_ms,
            Percentile::P95 => self.p95_ms,
            Percentile::P99 => self.p99_ms,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Percentile {
    P50,
    P95,
    P99,
}

impl Percentile {
    pub fn as_str(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P95 => "p95",
            Percentile::P99 => "p99",
        }
    }
}

#[derive(Clone, Debug)]
struct Second {
    sec: i64,
    total: u32,
    errors: u32,
}

#[derive(Clone, Debug)]
struct Span {
    start_sec: i64,
    hist: Histogram<u32>,
}

/// A sliding window over the last [`HORIZON`].
#[derive(Clone, Debug)]
pub struct MetricWindow {
    span_secs: i64,
    seconds: VecDeque<Second>,
    spans: VecDeque<Span>,
    first_sec: Option<i64>,
    /// Grows with every sample: what the last figures were computed from.
    version: u64,
    /// The last figures asked for (version, second, window): one service's
    /// rules ask for the same window of the same environment several times
    /// per probe answer, and merging histograms is most of their cost.
    last: std::cell::Cell<Option<(u64, i64, i64, WindowStats)>>,
}

impl MetricWindow {
    /// `span` is the histogram granularity: 10 s for request traffic, longer
    /// for sparse samples such as probes (fewer histograms, same answers).
    pub fn new(span: Duration) -> Self {
        MetricWindow {
            span_secs: i64::try_from(span.as_secs().max(1)).unwrap_or(10),
            seconds: VecDeque::new(),
            spans: VecDeque::new(),
            first_sec: None,
            version: 0,
            last: std::cell::Cell::new(None),
        }
    }

    /// Record one request (or probe). Samples may arrive slightly out of
    /// order; one older than the horizon is dropped.
    pub fn record(&mut self, at: Ts, latency_ms: f64, error: bool) {
        let sec = at.millis().div_euclid(1000);
        let newest = self.seconds.back().map_or(sec, |s| s.sec.max(sec));
        if sec <= newest - HORIZON.as_secs() as i64 {
            return;
        }
        self.version += 1;
        self.first_sec = Some(self.first_sec.map_or(sec, |f| f.min(sec)));

        match self.seconds.iter_mut().rev().find(|s| s.sec == sec) {
            Some(s) => {
                s.total += 1;
                s.errors += u32::from(error);
            }
            None => {
                let item = Second {
                    sec,
                    total: 1,
                    errors: u32::from(error),
                };
                let pos = self
                    .seconds
                    .iter()
                    .rposition(|s| s.sec < sec)
                    .map_or(0, |i| i + 1);
                self.seconds.insert(pos, item);
            }
        }

        let start = sec - sec.rem_euclid(self.span_secs);
        let value = (latency_ms.max(0.0).round() as u64).min(MAX_MS);
        match self.spans.iter_mut().rev().find(|s| s.start_sec == start) {
            Some(s) => s.hist.saturating_record(value),
            None => {
                // Bounds and precision are constants that hdrhistogram accepts.
                if let Ok(mut hist) = Histogram::new_with_bounds(1, MAX_MS, 2) {
                    hist.saturating_record(value);
                    let pos = self
                        .spans
                        .iter()
                        .rposition(|s| s.start_sec < start)
                        .map_or(0, |i| i + 1);
                    self.spans.insert(
                        pos,
                        Span {
                            start_sec: start,
                            hist,
                        },
                    );
                }
            }
        }
        self.expire(newest.max(sec));
    }

    fn expire(&mut self, newest_sec: i64) {
        let oldest = newest_sec - HORIZON.as_secs() as i64;
        while self.seconds.front().is_some_and(|s| s.sec <= oldest) {
            self.seconds.pop_front();
        }
        while self
            .spans
            .front()
            .is_some_and(|s| s.start_sec + self.span_secs <= oldest)
        {
            self.spans.pop_front();
        }
    }

    /// Figures over the `window` ending at `now` (at most [`HORIZON`]).
    pub fn stats(&self, now: Ts, window: Duration) -> WindowStats {
        let window = window.min(HORIZON);
        let now_sec = now.millis().div_euclid(1000);
        let w = window.as_secs().max(1) as i64;
        // The figures depend on the samples, the second and the window only.
        if let Some((v, sec, win, stats)) = self.last.get()
            && (v, sec, win) == (self.version, now_sec, w)
        {
            return stats;
        }
        let stats = self.compute(now_sec, w);
        self.last.set(Some((self.version, now_sec, w, stats)));
        stats
    }

    fn compute(&self, now_sec: i64, w: i64) -> WindowStats {
        let from = now_sec - w; // exclusive
        let (mut requests, mut errors, mut in_current) = (0u64, 0u64, 0u64);
        for s in self
            .seconds
            .iter()
            .filter(|s| s.sec > from && s.sec <= now_sec)
        {
            requests += u64::from(s.total);
            errors += u64::from(s.errors);
            if s.sec == now_sec {
                in_current += u64::from(s.total);
            }
        }
        // The rate counts complete seconds only (the current one is still
        // filling), over the part of the window that has been observed, so
        // neither the last second nor the first minute reads as a drop.
        let complete = self.first_sec.map_or(0, |f| (now_sec - f).clamp(0, w - 1));
        let mut merged: Option<Histogram<u32>> = None;
        for s in self
            .spans
            .iter()
            .filter(|s| s.start_sec + self.span_secs > from + 1 && s.start_sec <= now_sec)
        {
            match &mut merged {
                Some(m) => {
                    let _ = m.add(&s.hist);
                }
                None => merged = Some(s.hist.clone()),
            }
        }
        // The middle of the value's bucket, not its top: the top would read
        // 998 ms as 1003 ms and cross a 1000 ms threshold that was not crossed.
        let pct = |q: f64| {
            merged
                .as_ref()
                .filter(|h| !h.is_empty())
                .map(|h| h.median_equivalent(h.value_at_quantile(q)) as f64)
        };
        WindowStats {
            window_secs: w as u32,
            requests,
            errors,
            rate: if complete == 0 {
                0.0
            } else {
                (requests - in_current) as f64 / complete as f64
            },
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            p50_ms: pct(0.50),
            p95_ms: pct(0.95),
            p99_ms: pct(0.99),
        }
    }

    /// Buckets held now: bounded whatever the number of samples.
    pub fn buckets(&self) -> (usize, usize) {
        (self.seconds.len(), self.spans.len())
    }
}

/// A bounded history of one number, for sparklines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    points: VecDeque<f64>,
}

impl Series {
    pub const CAPACITY: usize = 300;

    pub fn push(&mut self, v: f64) {
        if self.points.len() == Self::CAPACITY {
            self.points.pop_front();
        }
        self.points.push_back(v);
    }

    pub fn points(&self) -> impl DoubleEndedIterator<Item = f64> + ExactSizeIterator + '_ {
        self.points.iter().copied()
    }

    pub fn last(&self) -> Option<f64> {
        self.points.back().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);
    const FIVE: Duration = Duration::from_secs(300);

    fn at(sec: i64) -> Ts {
        Ts(1_800_000_000_000 + sec * 1000)
    }

    /// Figures asked twice in one second are computed once; a sample
    /// recorded in between is in the second answer, whatever the second.
    #[test]
    fn figures_asked_again_see_every_new_sample() {
        let mut w = MetricWindow::new(Duration::from_secs(30));
        w.record(at(10), 20.0, false);
        let first = w.stats(at(10), MIN);
        assert_eq!(first, w.stats(at(10), MIN));
        w.record(at(10), 900.0, true);
        let second = w.stats(at(10), MIN);
        assert_eq!((second.requests, second.errors), (2, 1));
        assert!(second.p99_ms > first.p99_ms, "{first:?} then {second:?}");
        // Another window, or a later second, is its own question.
        assert_eq!(w.stats(at(10), FIVE).requests, 2);
        assert_eq!(w.stats(at(80), MIN).requests, 0);
    }

    #[test]
    fn exact_counts_rates_and_percentiles() {
        let mut w = MetricWindow::new(Duration::from_secs(10));
        // 60 seconds, 10 requests a second; latency 1..=100 ms cycling; every
        // 20th request fails.
        let mut n = 0u64;
        for sec in 0..60 {
            for i in 0..10 {
                n += 1;
                w.record(
                    at(sec).plus(Duration::from_millis(i * 100)),
                    (n % 100 + 1) as f64,
                    n.is_multiple_of(20),
                );
            }
        }
        let s = w.stats(at(59), MIN);
        assert_eq!(s.requests, 600);
        assert_eq!(s.errors, 30);
        assert!((s.error_rate - 0.05).abs() < 1e-12);
        assert!((s.rate - 10.0).abs() < 1e-12);
        assert_eq!(s.p50_ms, Some(50.0));
        assert_eq!(s.p95_ms, Some(95.0));
        assert_eq!(s.p99_ms, Some(99.0));
        assert_eq!(s.window_secs, 60);
    }

    #[test]
    fn the_window_slides() {
        let mut w = MetricWindow::new(Duration::from_secs(10));
        for sec in 0..120 {
            // Errors only in the first minute.
            w.record(at(sec), 5.0, sec < 60);
        }
        let last_min = w.stats(at(119), MIN);
        assert_eq!((last_min.requests, last_min.errors), (60, 0));
        let five = w.stats(at(119), FIVE);
        assert_eq!((five.requests, five.errors), (120, 60));
        // Rate over the observed part of the five-minute window: 1/s, not 0.4/s.
        assert!((five.rate - 1.0).abs() < 1e-12);
        // Nothing recorded for a while: the window empties.
        let later = w.stats(at(119 + 61), MIN);
        assert_eq!(later.requests, 0);
        assert_eq!(later.error_rate, 0.0);
        assert_eq!(later.p95_ms, None);
    }

    #[test]
    fn percentiles_see_slow_requests_and_cap_at_a_minute() {
        let mut w = MetricWindow::new(Duration::from_secs(10));
        for i in 0..100 {
            w.record(at(0), if i < 90 { 10.0 } else { 1500.0 }, false);
        }
        let s = w.stats(at(0), MIN);
        assert_eq!(s.p50_ms, Some(10.0));
        // 2 significant digits: 1500 is held exactly, p95 lands on it.
        assert_eq!(s.p95_ms, Some(1500.0));
        for _ in 0..10 {
            w.record(at(1), 10_000_000.0, false);
        }
        let p99 = w.stats(at(1), MIN).p99_ms.unwrap_or(0.0);
        assert!((59_000.0..=60_500.0).contains(&p99), "{p99}");
    }

    #[test]
    fn late_samples_land_in_their_second_and_ancient_ones_are_dropped() {
        let mut w = MetricWindow::new(Duration::from_secs(10));
        w.record(at(10), 1.0, false);
        w.record(at(5), 1.0, true);
        w.record(at(10 - 400), 1.0, true);
        let s = w.stats(at(10), MIN);
        assert_eq!((s.requests, s.errors), (2, 1));
    }

    #[test]
    fn memory_stays_flat_over_ten_million_samples() {
        let mut w = MetricWindow::new(Duration::from_secs(10));
        // Ten million samples over about 28 hours: 100 a second.
        let mut max = (0, 0);
        for i in 0..10_000_000i64 {
            w.record(
                Ts(1_800_000_000_000 + i * 10),
                (i % 997) as f64,
                i % 13 == 0,
            );
            if i % 100_000 == 0 {
                let b = w.buckets();
                max = (max.0.max(b.0), max.1.max(b.1));
            }
        }
        assert!(max.0 <= 300, "seconds kept: {}", max.0);
        assert!(max.1 <= 31, "histograms kept: {}", max.1);
        let s = w.stats(Ts(1_800_000_000_000 + 9_999_999 * 10), MIN);
        assert_eq!(s.requests, 6000);
    }

    #[test]
    fn series_is_bounded() {
        let mut s = Series::default();
        for i in 0..1000 {
            s.push(f64::from(i));
        }
        assert_eq!(s.points().len(), Series::CAPACITY);
        assert_eq!(s.last(), Some(999.0));
    }
}
