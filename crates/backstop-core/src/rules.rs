//! Rollback triggers, as the reference runbooks write them: error rate over
//! 5 % for 60 s, response time over 1000 ms for 60 s, three consecutive failed
//! health checks, degraded for more than two minutes, an alarm in ALARM, and
//! a person asking.
//!
//! Each rule is evaluated per environment (an alarm or a comparison once per
//! service, on the environment it incriminates) and moves `ok → pending →
//! firing`.
//! A rule fires only when its condition has held for its whole hold time (the
//! window, by default), so a blip does not fire: a 5-second outage is 8 % of a
//! minute, but it is not 60 seconds of errors.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::compare::{Comparison, Metric, Outcome, Test, Trial, Uncompared};
use super::metrics::{Percentile, WindowStats};
use super::time::{self, Ts};

/// What a latency rule compares against.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum LatencyLimit {
    /// Milliseconds.
    Absolute(f64),
    /// A multiple of the same percentile on the stable environment
    /// (runbook 004: "p99 > 2× baseline").
    Baseline(f64),
}

/// One trigger, as configured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RuleKind {
    ErrorRate {
        threshold: f64,
        window: Duration,
        hold: Duration,
        min_requests: u64,
    },
    Latency {
        percentile: Percentile,
        limit: LatencyLimit,
        window: Duration,
        hold: Duration,
        min_requests: u64,
        floor_ms: f64,
    },
    HealthFailures {
        count: u32,
        confirm: u32,
    },
    DegradedFor {
        duration: Duration,
    },
    /// An external alarm (CloudWatch…); `env` is the environment it incriminates.
    Alarm {
        name: String,
        env: Option<String>,
    },
    /// The operator asked for a rollback.
    Manual,
    /// The environment on trial against its baseline, statistically (see
    /// `compare`): fires when it has been worse for `hold` and, for errors,
    /// is still failing in the second half of it (a burst that stopped is
    /// not rolled back); inconclusive for `inconclusive_after` asks a person.
    Compare {
        test: Test,
        hold: Duration,
        inconclusive_after: Duration,
        /// The baseline environment; otherwise the one a rollback would go to.
        baseline: Option<String>,
    },
}

impl RuleKind {
    /// The name in configuration and on screen.
    pub fn name(&self) -> String {
        match self {
            RuleKind::ErrorRate { .. } => "error-rate".into(),
            RuleKind::Latency { percentile, .. } => format!("latency {}", percentile.as_str()),
            RuleKind::HealthFailures { .. } => "health-failures".into(),
            RuleKind::DegradedFor { .. } => "degraded-for".into(),
            RuleKind::Alarm { name, .. } => format!("alarm {name}"),
            RuleKind::Manual => "manual".into(),
            RuleKind::Compare { test, .. } => format!("compare {}", test.metric.as_str()),
        }
    }

    /// The threshold as a person reads it: `> 5 % for 1m`, `≥ 3 in a row`.
    pub fn threshold(&self) -> String {
        let for_ = |window: &Duration, hold: &Duration| {
            format!("/{} for {}", time::human(*window), time::human(*hold))
        };
        match self {
            RuleKind::ErrorRate {
                threshold,
                window,
                hold,
                ..
            } => format!("> {} {}", pct(*threshold), for_(window, hold)),
            RuleKind::Latency {
                limit: LatencyLimit::Absolute(ms),
                window,
                hold,
                ..
            } => {
                format!("> {} {}", time::latency(*ms), for_(window, hold))
            }
            RuleKind::Latency {
                limit: LatencyLimit::Baseline(x),
                window,
                hold,
                ..
            } => {
                format!("> {x}× stable {}", for_(window, hold))
            }
            RuleKind::HealthFailures { count, .. } => format!("≥ {count} in a row"),
            RuleKind::DegradedFor { duration } => format!("degraded ≥ {}", time::human(*duration)),
            RuleKind::Alarm { .. } => "in ALARM".into(),
            RuleKind::Manual => "asked by the operator".into(),
            RuleKind::Compare { test, hold, .. } => format!(
                "≥ {} at {:.0} % for {}",
                test.metric.effect(test.min_effect),
                test.confidence * 100.0,
                time::human(*hold)
            ),
        }
    }

    /// How long the condition must hold before the rule fires; `None` for
    /// rules that fire by count or at once.
    pub fn hold(&self) -> Option<Duration> {
        match self {
            RuleKind::ErrorRate { hold, .. }
            | RuleKind::Latency { hold, .. }
            | RuleKind::Compare { hold, .. } => Some(*hold),
            RuleKind::DegradedFor { duration } => Some(*duration),
            RuleKind::HealthFailures { .. } | RuleKind::Alarm { .. } | RuleKind::Manual => None,
        }
    }

    /// The defaults: the reference runbooks' (000, 001) error rate over
    /// 5 % for 60 s (at least 20 requests), p95 over 1000 ms for 60 s, three
    /// consecutive failed health checks, degraded for two minutes; and the
    /// canary against its baseline (errors by 1 point, latency by 50 ms, at
    /// 95 %, for 15 s), which sees a small canary's failures long before a
    /// threshold over a window can.
    pub fn defaults() -> Vec<RuleKind> {
        let minute = Duration::from_secs(60);
        let compare = |metric, min_effect| RuleKind::Compare {
            test: Test {
                metric,
                min_effect,
                confidence: 0.95,
                direction: super::compare::Direction::Increase,
            },
            hold: Duration::from_secs(15),
            inconclusive_after: Duration::from_secs(600),
            baseline: None,
        };
        vec![
            RuleKind::ErrorRate {
                threshold: 0.05,
                window: minute,
                hold: minute,
                min_requests: 20,
            },
            RuleKind::Latency {
                percentile: Percentile::P95,
                limit: LatencyLimit::Absolute(1000.0),
                window: minute,
                hold: minute,
                min_requests: 20,
                floor_ms: 0.0,
            },
            RuleKind::HealthFailures {
                count: 3,
                confirm: 0,
            },
            RuleKind::DegradedFor {
                duration: Duration::from_secs(120),
            },
            compare(Metric::Errors, 0.01),
            compare(Metric::Latency, 50.0),
        ]
    }

    /// Evaluated once per service (on the environment it points at), not
    /// once per environment.
    pub fn per_service(&self) -> bool {
        matches!(self, RuleKind::Alarm { .. } | RuleKind::Compare { .. })
    }
}

fn pct(f: f64) -> String {
    let p = f * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0} %")
    } else {
        format!("{p:.1} %")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RuleStatus {
    Ok,
    Pending,
    Firing,
}

impl RuleStatus {
    pub fn word(self) -> &'static str {
        match self {
            RuleStatus::Ok => "OK",
            RuleStatus::Pending => "PENDING",
            RuleStatus::Firing => "FIRING",
        }
    }
}

impl fmt::Display for RuleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// What an environment looks like to the rules at one instant. Built by
/// `update` from the state; kept plain so rules are tested with plain values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// Request figures over the rule's window (traffic, else probes).
    pub window: Option<WindowStats>,
    /// The same percentile on the stable environment, for baseline rules.
    pub baseline: Option<WindowStats>,
    /// Consecutive failed probes of the environment's worst endpoint.
    pub consecutive_failures: u32,
    /// Degraded or worse since (continuously), if so.
    pub degraded_since: Option<Ts>,
    /// The external alarm's state, for alarm rules.
    pub alarm: Option<AlarmObservation>,
    /// The operator asked for a rollback of this environment.
    pub manual: Option<String>,
    /// The comparison of the environment on trial with its baseline.
    pub compare: Option<CompareObservation>,
}

/// What a comparison rule sees: its last comparison, or why there is none.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareObservation {
    pub comparison: Result<Comparison, Uncompared>,
    /// The canary failed within two holds (errors; always for latency): a
    /// worse trial whose canary stopped failing that long ago was a burst,
    /// and counts as met no longer. (Two, so that a quiet canary's sparse
    /// failures keep the hold running.)
    pub failing: bool,
    /// The canary failed in the second half of the hold (errors; always
    /// for latency): what firing needs, so that a burst shorter than half
    /// the hold never fires.
    pub still: bool,
    /// How long the comparison has been inconclusive, if it is.
    pub inconclusive_for: Option<Duration>,
    /// The two environments' names, for the explanation.
    pub canary: String,
    pub baseline: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlarmObservation {
    pub state: AlarmState,
    pub reason: String,
}

/// An external alarm's state, as CloudWatch names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn word(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// A rule's verdict on one observation.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Is the condition met now?
    pub met: bool,
    /// For counting rules (health failures): fire regardless of hold.
    pub fire_now: bool,
    /// The observed value, for the operator: `8.1 %`, `1.2 s`, `2/3`.
    pub observed: String,
    /// Why the verdict is what it is when data is lacking, if so.
    pub note: Option<String>,
    /// The hold may end in firing (false: a comparison whose canary has
    /// stopped failing waits).
    pub may_fire: bool,
    /// Unmet, but a person should look (a comparison inconclusive too long).
    pub ask: bool,
}

/// Judge one observation against one rule.
pub fn judge(kind: &RuleKind, o: &Observation, now: Ts) -> Verdict {
    let met = |met: bool, fire_now: bool, observed: String, note: Option<String>| Verdict {
        met,
        fire_now,
        observed,
        note,
        may_fire: true,
        ask: false,
    };
    let not = |observed: String, note: Option<String>| met(false, false, observed, note);
    match kind {
        RuleKind::ErrorRate {
            threshold,
            min_requests,
            ..
        } => {
            let Some(w) = &o.window else {
                return not("—".into(), Some("no request data".into()));
            };
            let observed = format!("{:.1} %", w.error_rate * 100.0);
            if w.requests < *min_requests {
                return not(
                    observed,
                    Some(format!("{} of {min_requests} requests needed", w.requests)),
                );
            }
            met(w.error_rate > *threshold, false, observed, None)
        }
        RuleKind::Latency {
            percentile,
            limit,
            min_requests,
            floor_ms,
            ..
        } => {
            let Some(w) = &o.window else {
                return not("—".into(), Some("no request data".into()));
            };
            let Some(v) = w.percentile(*percentile) else {
                return not("—".into(), Some("no latency data".into()));
            };
            if w.requests < *min_requests {
                return not(
                    time::latency(v),
                    Some(format!("{} of {min_requests} requests needed", w.requests)),
                );
            }
            match limit {
                LatencyLimit::Absolute(ms) => met(v > *ms, false, time::latency(v), None),
                LatencyLimit::Baseline(x) => {
                    let base = o
                        .baseline
                        .as_ref()
                        .filter(|b| b.requests >= *min_requests)
                        .and_then(|b| b.percentile(*percentile));
                    let Some(base) = base.filter(|b| *b > 0.0) else {
                        return not(
                            time::latency(v),
                            Some("no baseline from the stable environment".into()),
                        );
                    };
                    let ratio = v / base;
                    let observed =
                        format!("{} = {ratio:.1}× {}", time::latency(v), time::latency(base));
                    // Tiny latencies double with noise: below the floor it is not news.
                    met(ratio > *x && v >= *floor_ms, false, observed, None)
                }
            }
        }
        RuleKind::HealthFailures { count, .. } => {
            let n = o.consecutive_failures;
            met(n > 0, n >= *count, format!("{n}/{count}"), None)
        }
        RuleKind::DegradedFor { duration } => match o.degraded_since {
            Some(since) => met(
                true,
                false,
                format!(
                    "{} of {}",
                    time::human(Duration::from_secs(now.since(since).as_secs())),
                    time::human(*duration)
                ),
                None,
            ),
            None => not("not degraded".into(), None),
        },
        RuleKind::Alarm { .. } => match &o.alarm {
            Some(a) if a.state == AlarmState::Alarm => {
                met(true, true, "ALARM".into(), Some(a.reason.clone()))
            }
            Some(a) => not(
                a.state.word().into(),
                (!a.reason.is_empty()).then(|| a.reason.clone()),
            ),
            None => not("—".into(), Some("alarm not seen yet".into())),
        },
        RuleKind::Compare {
            inconclusive_after, ..
        } => {
            let Some(c) = &o.compare else {
                return not("—".into(), Some("not compared yet".into()));
            };
            let cmp = match &c.comparison {
                Ok(cmp) => cmp,
                Err(why) => return not("no data".into(), Some(why.to_string())),
            };
            let observed = match cmp.outcome {
                Outcome::NoData => "no data".to_string(),
                o => format!("{}: {}", o.word(), cmp.short()),
            };
            let ask = cmp.outcome == Outcome::Inconclusive
                && c.inconclusive_for.is_some_and(|d| d >= *inconclusive_after);
            let note = if ask {
                Some(format!(
                    "inconclusive for {}: a person decides",
                    time::human(*inconclusive_after)
                ))
            } else if cmp.outcome == Outcome::Worse && !c.still {
                Some("worse, but the canary stopped failing: a burst is not rolled back".into())
            } else {
                None
            };
            Verdict {
                met: cmp.outcome == Outcome::Worse && c.failing,
                fire_now: false,
                observed,
                note,
                may_fire: c.still,
                ask,
            }
        }
        RuleKind::Manual => match &o.manual {
            Some(by) => met(true, true, format!("asked by {by}"), None),
            None => not("—".into(), None),
        },
    }
}

/// A sample that crossed a threshold, kept as evidence for the "why" view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub at: Ts,
    pub text: String,
}

/// One rule on one environment, with its history.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleState {
    pub kind: RuleKind,
    /// Index of the environment in its service.
    pub env: usize,
    pub status: RuleStatus,
    /// When `status` was entered.
    pub since: Ts,
    /// Since when the condition has been met continuously, if it is.
    pub met_since: Option<Ts>,
    pub observed: String,
    pub note: Option<String>,
    /// The sample that started the current run of the condition.
    pub first_evidence: Option<Evidence>,
    /// The last samples that met the condition (bounded).
    pub evidence: VecDeque<Evidence>,
    /// Evaluated, shown and journaled, never deciding: a rule on probation.
    pub dry_run: bool,
    /// A comparison rule's trial (what it compares since when).
    pub trial: Option<Trial>,
}

/// How a rule moved, for the event log and the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: RuleStatus,
    pub to: RuleStatus,
}

impl RuleState {
    pub const EVIDENCE: usize = 8;

    pub fn new(kind: RuleKind, env: usize, now: Ts) -> Self {
        RuleState {
            kind,
            env,
            status: RuleStatus::Ok,
            since: now,
            met_since: None,
            observed: "—".into(),
            note: None,
            first_evidence: None,
            evidence: VecDeque::new(),
            dry_run: false,
            trial: None,
        }
    }

    /// Apply a verdict at `now`; the transition, if the status changed.
    pub fn step(&mut self, v: Verdict, now: Ts, evidence: Option<String>) -> Option<Transition> {
        self.observed = v.observed;
        self.note = v.note;
        let status = if v.met {
            let started = self.met_since.is_none();
            let since = *self.met_since.get_or_insert(now);
            if let Some(text) = evidence {
                if started {
                    self.first_evidence = Some(Evidence {
                        at: now,
                        text: text.clone(),
                    });
                }
                if self.evidence.len() == Self::EVIDENCE {
                    self.evidence.pop_front();
                }
                self.evidence.push_back(Evidence { at: now, text });
            }
            let held = self.kind.hold().is_some_and(|h| now.since(since) >= h);
            // `may_fire` gates the start of firing only: a rule that fired
            // stays fired while its condition is met.
            let firing = self.status == RuleStatus::Firing;
            if v.fire_now || (held && (v.may_fire || firing)) {
                RuleStatus::Firing
            } else {
                RuleStatus::Pending
            }
        } else {
            self.met_since = None;
            if v.ask {
                RuleStatus::Pending
            } else {
                RuleStatus::Ok
            }
        };
        if status == self.status {
            return None;
        }
        let t = Transition {
            from: self.status,
            to: status,
        };
        self.status = status;
        self.since = now;
        Some(t)
    }

    /// When a pending rule fires if nothing changes (for "watch until").
    pub fn fires_at(&self) -> Option<Ts> {
        let hold = self.kind.hold()?;
        (self.status == RuleStatus::Pending)
            .then(|| self.met_since.map(|s| s.plus(hold)))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(requests: u64, error_rate: f64, p95: f64) -> WindowStats {
        WindowStats {
            window_secs: 60,
            requests,
            errors: (requests as f64 * error_rate) as u64,
            rate: requests as f64 / 60.0,
            error_rate,
            p50_ms: Some(p95 / 2.0),
            p95_ms: Some(p95),
            p99_ms: Some(p95 * 1.5),
        }
    }

    fn obs(requests: u64, error_rate: f64) -> Observation {
        Observation {
            window: Some(stats(requests, error_rate, 10.0)),
            ..Observation::default()
        }
    }

    fn minute() -> RuleKind {
        RuleKind::defaults().remove(0)
    }

    #[test]
    fn error_rate_needs_its_hold_and_enough_requests() {
        let rule = minute();
        let mut s = RuleState::new(rule.clone(), 1, Ts(0));
        // 1 failure of 2 is 50 %, but too little to judge.
        let v = judge(&rule, &obs(2, 0.5), Ts(0));
        assert!(!v.met);
        assert_eq!(v.note.as_deref(), Some("2 of 20 requests needed"));
        assert_eq!(s.step(v, Ts(0), None), None);
        // Over the threshold: pending, then firing once it held for a minute.
        let t = s.step(
            judge(&rule, &obs(300, 0.081), Ts(1000)),
            Ts(1000),
            Some("8.1 %".into()),
        );
        assert_eq!(
            t,
            Some(Transition {
                from: RuleStatus::Ok,
                to: RuleStatus::Pending
            })
        );
        assert_eq!(s.fires_at(), Some(Ts(61_000)));
        assert_eq!(
            s.step(judge(&rule, &obs(300, 0.08), Ts(60_999)), Ts(60_999), None),
            None
        );
        let t = s.step(judge(&rule, &obs(300, 0.08), Ts(61_000)), Ts(61_000), None);
        assert_eq!(t.map(|t| t.to), Some(RuleStatus::Firing));
        assert_eq!(s.observed, "8.0 %");
        // Back under: ok at once.
        let t = s.step(judge(&rule, &obs(300, 0.01), Ts(62_000)), Ts(62_000), None);
        assert_eq!(t.map(|t| t.to), Some(RuleStatus::Ok));
        assert_eq!(s.met_since, None);
    }

    #[test]
    fn a_dip_restarts_the_hold() {
        let rule = minute();
        let mut s = RuleState::new(rule.clone(), 0, Ts(0));
        s.step(judge(&rule, &obs(300, 0.08), Ts(0)), Ts(0), None);
        s.step(judge(&rule, &obs(300, 0.04), Ts(30_000)), Ts(30_000), None);
        s.step(judge(&rule, &obs(300, 0.08), Ts(31_000)), Ts(31_000), None);
        s.step(judge(&rule, &obs(300, 0.08), Ts(61_000)), Ts(61_000), None);
        assert_eq!(
            s.status,
            RuleStatus::Pending,
            "held only 30 s since the dip"
        );
        s.step(judge(&rule, &obs(300, 0.08), Ts(91_000)), Ts(91_000), None);
        assert_eq!(s.status, RuleStatus::Firing);
    }

    #[test]
    fn latency_absolute_and_against_the_stable_baseline() {
        let abs = RuleKind::defaults().remove(1);
        let o = Observation {
            window: Some(stats(100, 0.0, 1200.0)),
            ..Observation::default()
        };
        assert!(judge(&abs, &o, Ts(0)).met);
        assert_eq!(judge(&abs, &o, Ts(0)).observed, "1.2s");
        let rel = RuleKind::Latency {
            percentile: Percentile::P99,
            limit: LatencyLimit::Baseline(2.0),
            window: Duration::from_secs(60),
            hold: Duration::ZERO,
            min_requests: 20,
            floor_ms: 100.0,
        };
        let mut o = Observation {
            window: Some(stats(100, 0.0, 200.0)),
            baseline: Some(stats(100, 0.0, 80.0)),
            ..Observation::default()
        };
        let v = judge(&rel, &o, Ts(0));
        assert!(v.met, "{v:?}");
        assert_eq!(v.observed, "300ms = 2.5× 120ms");
        o.baseline = None;
        assert_eq!(
            judge(&rel, &o, Ts(0)).note.as_deref(),
            Some("no baseline from the stable environment")
        );
        // 3 ms against 1 ms is 3×, and nobody should be paged for it.
        let tiny = Observation {
            window: Some(stats(100, 0.0, 3.0)),
            baseline: Some(stats(100, 0.0, 1.0)),
            ..Observation::default()
        };
        assert!(!judge(&rel, &tiny, Ts(0)).met);
    }

    #[test]
    fn health_failures_count_and_fire_at_once() {
        let rule = RuleKind::HealthFailures {
            count: 3,
            confirm: 0,
        };
        let mut s = RuleState::new(rule.clone(), 1, Ts(0));
        let o = |n| Observation {
            consecutive_failures: n,
            ..Observation::default()
        };
        assert_eq!(
            s.step(judge(&rule, &o(1), Ts(1)), Ts(1), None)
                .map(|t| t.to),
            Some(RuleStatus::Pending)
        );
        s.step(judge(&rule, &o(2), Ts(2)), Ts(2), None);
        assert_eq!(
            s.step(judge(&rule, &o(3), Ts(3)), Ts(3), None)
                .map(|t| t.to),
            Some(RuleStatus::Firing)
        );
        assert_eq!(s.observed, "3/3");
        assert_eq!(
            s.step(judge(&rule, &o(0), Ts(4)), Ts(4), None)
                .map(|t| t.to),
            Some(RuleStatus::Ok)
        );
    }

    #[test]
    fn degraded_for_watches_until_its_deadline() {
        let rule = RuleKind::DegradedFor {
            duration: Duration::from_secs(120),
        };
        let mut s = RuleState::new(rule.clone(), 1, Ts(0));
        let o = Observation {
            degraded_since: Some(Ts(10_000)),
            ..Observation::default()
        };
        s.step(judge(&rule, &o, Ts(10_000)), Ts(10_000), None);
        assert_eq!(s.status, RuleStatus::Pending);
        assert_eq!(s.fires_at(), Some(Ts(130_000)));
        assert_eq!(judge(&rule, &o, Ts(70_000)).observed, "1m of 2m");
        s.step(judge(&rule, &o, Ts(130_000)), Ts(130_000), None);
        assert_eq!(s.status, RuleStatus::Firing);
    }

    #[test]
    fn alarms_and_manual_fire_at_once() {
        let rule = RuleKind::Alarm {
            name: "web-5xx".into(),
            env: None,
        };
        let o = Observation {
            alarm: Some(AlarmObservation {
                state: AlarmState::Alarm,
                reason: "Threshold Crossed".into(),
            }),
            ..Observation::default()
        };
        assert!(judge(&rule, &o, Ts(0)).fire_now);
        let o = Observation {
            alarm: Some(AlarmObservation {
                state: AlarmState::InsufficientData,
                reason: String::new(),
            }),
            ..Observation::default()
        };
        assert!(!judge(&rule, &o, Ts(0)).met);
        let o = Observation {
            manual: Some("ops@bastion".into()),
            ..Observation::default()
        };
        assert_eq!(
            judge(&RuleKind::Manual, &o, Ts(0)).observed,
            "asked by ops@bastion"
        );
    }

    #[test]
    fn thresholds_read_like_the_runbooks() {
        let d = RuleKind::defaults();
        assert_eq!(d[0].threshold(), "> 5 % /1m for 1m");
        assert_eq!(d[1].threshold(), "> 1.0s /1m for 1m");
        assert_eq!(d[2].threshold(), "≥ 3 in a row");
        assert_eq!(d[3].threshold(), "degraded ≥ 2m");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    fn rule() -> RuleKind {
        RuleKind::ErrorRate {
            threshold: 0.05,
            window: WINDOW,
            hold: WINDOW,
            min_requests: 20,
        }
    }

    fn observation(requests: u64, error_rate: f64) -> Observation {
        Observation {
            window: Some(WindowStats {
                window_secs: 60,
                requests,
                error_rate,
                ..WindowStats::default()
            }),
            ..Observation::default()
        }
    }

    /// A stream of evaluations: (seconds since the previous one, requests, error rate).
    fn stream() -> impl Strategy<Value = Vec<(u8, u64, f64)>> {
        prop::collection::vec((1u8..15, 0u64..200, 0.0f64..0.2), 1..200)
    }

    proptest! {
        /// Whenever the rule fires, its condition was met at every evaluation
        /// of the hold before, and the run of it is at least the hold long.
        #[test]
        fn never_fires_unless_the_condition_held_for_its_window(samples in stream()) {
            let kind = rule();
            let mut s = RuleState::new(kind.clone(), 0, Ts(0));
            let mut t = 0i64;
            let mut history: Vec<(i64, bool)> = Vec::new();
            for (dt, requests, err) in samples {
                t += i64::from(dt) * 1000;
                let o = observation(requests, err);
                let v = judge(&kind, &o, Ts(t));
                history.push((t, v.met));
                s.step(v, Ts(t), None);
                if s.status == RuleStatus::Firing {
                    // The run of `met` that ends now.
                    let run_start = history.iter().rev().take_while(|(_, m)| *m).last().map(|(at, _)| *at);
                    let Some(start) = run_start else { return Err(TestCaseError::fail("firing with the condition unmet")) };
                    prop_assert!(t - start >= WINDOW.as_millis() as i64, "fired after {} ms of the condition", t - start);
                }
            }
        }

        /// A condition met continuously for the window always fires.
        #[test]
        fn a_condition_held_for_the_window_always_fires(prefix in stream(), gaps in prop::collection::vec(1u8..10, 1..40)) {
            let kind = rule();
            let mut s = RuleState::new(kind.clone(), 0, Ts(0));
            let mut t = 0i64;
            for (dt, requests, err) in prefix {
                t += i64::from(dt) * 1000;
                s.step(judge(&kind, &observation(requests, err), Ts(t)), Ts(t), None);
            }
            let start = t + 1000;
            t = start;
            let mut gaps = gaps.into_iter().cycle();
            while t - start < WINDOW.as_millis() as i64 {
                s.step(judge(&kind, &observation(300, 0.08), Ts(t)), Ts(t), None);
                t += i64::from(gaps.next().unwrap_or(1)) * 1000;
            }
            s.step(judge(&kind, &observation(300, 0.08), Ts(t)), Ts(t), None);
            prop_assert_eq!(s.status, RuleStatus::Firing);
        }
    }
}
