//! `[services.<name>.rollback]` (mode and guards) and `[[services.<name>.rules]]`
//! (the triggers). Without `rules`, the reference runbooks' defaults apply.

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::HumanDuration;
use crate::core::compare::{Direction, Metric, Test};
use crate::core::decision::{Mode, Policy};
use crate::core::metrics::{HORIZON, Percentile};
use crate::core::rules::{LatencyLimit, RuleKind};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRollback {
    mode: Option<Mode>,
    cooldown: Option<Spanned<HumanDuration>>,
    max_rollbacks: Option<Spanned<u32>>,
    max_rollbacks_window: Option<Spanned<HumanDuration>>,
    stable: Option<Spanned<String>>,
    pub(crate) runbook: Option<Spanned<String>>,
    /// The service's own commands for the runbooks' `restart` and `stop` steps.
    pub(crate) restart: Option<Spanned<Vec<String>>>,
    pub(crate) stop: Option<Spanned<Vec<String>>>,
    approvals: Option<Spanned<u8>>,
    approval_expiry: Option<Spanned<HumanDuration>>,
    allow_override: Option<bool>,
    verified_approvers: Option<Spanned<bool>>,
    self_declared_approvers: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    kind: Spanned<String>,
    threshold: Option<Spanned<String>>,
    window: Option<Spanned<HumanDuration>>,
    #[serde(rename = "for")]
    hold: Option<Spanned<HumanDuration>>,
    min_requests: Option<Spanned<u64>>,
    percentile: Option<Percentile>,
    min_latency: Option<Spanned<HumanDuration>>,
    count: Option<Spanned<u32>>,
    confirm: Option<Spanned<u32>>,
    duration: Option<Spanned<HumanDuration>>,
    name: Option<Spanned<String>>,
    env: Option<Spanned<String>>,
    metric: Option<Spanned<String>>,
    min_effect: Option<Spanned<String>>,
    confidence: Option<Spanned<String>>,
    inconclusive_after: Option<Spanned<HumanDuration>>,
    baseline: Option<Spanned<String>>,
    direction: Option<Spanned<String>>,
    /// Evaluated, shown and journaled, never deciding.
    dry_run: Option<bool>,
}

const KINDS: &str = "\"error-rate\", \"latency\", \"health-failures\", \"degraded-for\", \"alarm\", \"compare\" or \"manual\"";

/// The policy of one service from its tables (both optional).
pub(crate) fn policy(
    rollback: Option<&RawRollback>,
    rules: Option<Vec<RawRule>>,
    service: &str,
    envs: &[String],
    err: &mut impl FnMut(Range<usize>, String),
) -> Policy {
    let mut p = Policy::default();
    if let Some(r) = rollback {
        if let Some(m) = r.mode {
            p.mode = m;
        }
        if let Some(c) = &r.cooldown {
            p.cooldown = c.get_ref().0;
            if let Some(e) =
                super::duration::over(c.get_ref().0, Duration::from_secs(24 * 3600), "cooldown")
            {
                err(c.span(), e);
            }
        }
        if let Some(m) = &r.max_rollbacks {
            if *m.get_ref() == 0 {
                err(
                    m.span(),
                    "max_rollbacks must be at least 1 (use mode = \"off\" to turn decisions off)"
                        .into(),
                );
            }
            p.max_rollbacks = *m.get_ref();
        }
        if let Some(w) = &r.max_rollbacks_window {
            if w.get_ref().0.is_zero() {
                err(
                    w.span(),
                    "max_rollbacks_window must be more than zero".into(),
                );
            }
            p.rollback_window = w.get_ref().0;
        }
        if let Some(s) = &r.stable {
            known_env(s, service, envs, err);
            p.stable = Some(s.get_ref().clone());
        }
        if let Some(a) = &r.approvals {
            if !(1..=2).contains(a.get_ref()) {
                err(
                    a.span(),
                    "approvals must be 1 (the driver alone) or 2 (the two-person rule)".into(),
                );
            }
            p.approvals = *a.get_ref();
        }
        if let Some(x) = &r.approval_expiry {
            let d = x.get_ref().0;
            if d.is_zero() {
                err(x.span(), "approval_expiry must be more than zero".into());
            } else if let Some(e) =
                super::duration::over(d, Duration::from_secs(3600), "approval_expiry")
            {
                err(x.span(), e);
            }
            p.approval_expiry = d;
        }
        p.allow_override = r.allow_override.unwrap_or(false);
        // Approvals from a second vouched account are the default now; the
        // old key may only say so.
        if let Some(v) = &r.verified_approvers
            && !*v.get_ref()
        {
            err(
                v.span(),
                "approvals come from a second vouched account by default; a team on one shared login opts in to names instead with self_declared_approvers = true".into(),
            );
        }
        p.self_declared_approvers = r.self_declared_approvers.unwrap_or(false);
    }
    if let Some(rules) = rules {
        // Deciding rules listed replace the defaults; rules on probation
        // alone leave them deciding.
        if rules.iter().any(|r| r.dry_run != Some(true)) {
            p.rules.clear();
        }
        for r in rules {
            let dry_run = r.dry_run.unwrap_or(false);
            if dry_run && r.kind.get_ref() == "manual" {
                err(
                    r.kind.span(),
                    "the manual rule is always there and always decides: it cannot be on probation"
                        .into(),
                );
                continue;
            }
            if let Some(kind) = rule(r, service, envs, err) {
                if dry_run {
                    p.dry_run.push(kind);
                } else {
                    p.rules.push(kind);
                }
            }
        }
    }
    p
}

fn rule(
    r: RawRule,
    service: &str,
    envs: &[String],
    err: &mut impl FnMut(Range<usize>, String),
) -> Option<RuleKind> {
    let kind = r.kind.get_ref().as_str();
    let at = r.kind.span();
    let allowed: &[&str] = match kind {
        "error-rate" => &["threshold", "window", "for", "min_requests"],
        "latency" => &[
            "threshold",
            "window",
            "for",
            "min_requests",
            "percentile",
            "min_latency",
        ],
        "health-failures" => &["count", "confirm"],
        "degraded-for" => &["duration"],
        "alarm" => &["name", "env"],
        "compare" => &[
            "metric",
            "min_effect",
            "confidence",
            "for",
            "inconclusive_after",
            "baseline",
            "direction",
        ],
        "manual" => &[],
        other => {
            err(at, format!("unknown rule kind {other:?}: expected {KINDS}"));
            return None;
        }
    };
    let present: Vec<(&str, Option<Range<usize>>)> = vec![
        ("threshold", r.threshold.as_ref().map(Spanned::span)),
        ("window", r.window.as_ref().map(Spanned::span)),
        ("for", r.hold.as_ref().map(Spanned::span)),
        ("min_requests", r.min_requests.as_ref().map(Spanned::span)),
        ("percentile", r.percentile.map(|_| at.clone())),
        ("min_latency", r.min_latency.as_ref().map(Spanned::span)),
        ("count", r.count.as_ref().map(Spanned::span)),
        ("confirm", r.confirm.as_ref().map(Spanned::span)),
        ("duration", r.duration.as_ref().map(Spanned::span)),
        ("name", r.name.as_ref().map(Spanned::span)),
        ("env", r.env.as_ref().map(Spanned::span)),
        ("metric", r.metric.as_ref().map(Spanned::span)),
        ("min_effect", r.min_effect.as_ref().map(Spanned::span)),
        ("confidence", r.confidence.as_ref().map(Spanned::span)),
        (
            "inconclusive_after",
            r.inconclusive_after.as_ref().map(Spanned::span),
        ),
        ("baseline", r.baseline.as_ref().map(Spanned::span)),
        ("direction", r.direction.as_ref().map(Spanned::span)),
    ];
    let mut ok = true;
    for (key, span) in present {
        if let Some(span) = span
            && !allowed.contains(&key)
        {
            err(span, format!("`{key}` does not apply to a {kind:?} rule"));
            ok = false;
        }
    }
    let window = r
        .window
        .as_ref()
        .map_or(Duration::from_secs(60), |w| w.get_ref().0);
    if let Some(w) = &r.window
        && (w.get_ref().0 < Duration::from_secs(1) || w.get_ref().0 > HORIZON)
    {
        err(
            w.span(),
            format!(
                "window must be between 1s and {} (the metric windows kept)",
                crate::core::time::human(HORIZON)
            ),
        );
        ok = false;
    }
    let hold = r.hold.as_ref().map_or(window, |h| h.get_ref().0);
    let min_requests = r.min_requests.as_ref().map_or(20, |m| *m.get_ref());
    let kind = match kind {
        "error-rate" => {
            let threshold = match &r.threshold {
                Some(t) => match percent(t.get_ref()) {
                    Ok(v) => v,
                    Err(e) => {
                        err(t.span(), e);
                        return None;
                    }
                },
                None => 0.05,
            };
            RuleKind::ErrorRate {
                threshold,
                window,
                hold,
                min_requests,
            }
        }
        "latency" => {
            let limit = match &r.threshold {
                Some(t) => match latency_limit(t.get_ref()) {
                    Ok(v) => v,
                    Err(e) => {
                        err(t.span(), e);
                        return None;
                    }
                },
                None => LatencyLimit::Absolute(1000.0),
            };
            let floor_ms = r
                .min_latency
                .as_ref()
                .map_or(100.0, |m| m.get_ref().0.as_secs_f64() * 1000.0);
            RuleKind::Latency {
                percentile: r.percentile.unwrap_or(Percentile::P95),
                limit,
                window,
                hold,
                min_requests,
                floor_ms,
            }
        }
        "health-failures" => {
            let count = r.count.as_ref().map_or(3, |c| *c.get_ref());
            if let Some(c) = &r.count
                && *c.get_ref() == 0
            {
                err(c.span(), "count must be at least 1".into());
                ok = false;
            }
            let confirm = r.confirm.as_ref().map_or(0, |c| *c.get_ref());
            if let Some(c) = &r.confirm
                && *c.get_ref() > 10
            {
                err(c.span(), "confirm: at most 10 re-probes".into());
                ok = false;
            }
            RuleKind::HealthFailures { count, confirm }
        }
        "degraded-for" => RuleKind::DegradedFor {
            duration: r
                .duration
                .as_ref()
                .map_or(Duration::from_secs(120), |d| d.get_ref().0),
        },
        "alarm" => {
            let Some(name) = r.name else {
                err(
                    at,
                    "an \"alarm\" rule needs `name`, the alarm's name".into(),
                );
                return None;
            };
            if let Some(e) = &r.env
                && !known_env(e, service, envs, err)
            {
                ok = false;
            }
            RuleKind::Alarm {
                name: name.into_inner(),
                env: r.env.map(Spanned::into_inner),
            }
        }
        "compare" => compare(&r, service, envs, err)?,
        _ => RuleKind::Manual,
    };
    ok.then_some(kind)
}

/// A `compare` rule: `metric = "errors"` (`min_effect = "1%"`) or
/// `"latency"` (`min_effect = "50ms"`), `confidence = "95%"`, `for`,
/// `inconclusive_after`, `baseline`, `direction`.
fn compare(
    r: &RawRule,
    service: &str,
    envs: &[String],
    err: &mut impl FnMut(Range<usize>, String),
) -> Option<RuleKind> {
    let at = r.kind.span();
    let Some(metric) = &r.metric else {
        err(
            at,
            "a \"compare\" rule needs `metric`: \"errors\" or \"latency\"".into(),
        );
        return None;
    };
    let metric = match metric.get_ref().as_str() {
        "errors" => Metric::Errors,
        "latency" => Metric::Latency,
        other => {
            err(
                metric.span(),
                format!("unknown metric {other:?}: expected \"errors\" or \"latency\""),
            );
            return None;
        }
    };
    let min_effect = match (&r.min_effect, metric) {
        (None, Metric::Errors) => 0.01,
        (None, Metric::Latency) => 50.0,
        (Some(m), Metric::Errors) => match percent(m.get_ref()) {
            Ok(v) => v,
            Err(_) => {
                err(
                    m.span(),
                    format!(
                        "min_effect {:?} of errors is in points of error rate, like \"1%\"",
                        m.get_ref()
                    ),
                );
                return None;
            }
        },
        (Some(m), Metric::Latency) => match HumanDuration::parse(m.get_ref()) {
            Ok(d) if !d.0.is_zero() => d.0.as_secs_f64() * 1000.0,
            _ => {
                err(
                    m.span(),
                    format!(
                        "min_effect {:?} of latency is a duration, like \"50ms\"",
                        m.get_ref()
                    ),
                );
                return None;
            }
        },
    };
    let confidence = match &r.confidence {
        None => 0.95,
        Some(c) => match percent(c.get_ref()) {
            Ok(v) if (0.5..1.0).contains(&v) => v,
            _ => {
                err(
                    c.span(),
                    format!(
                        "confidence {:?} must be between 50% and 100%, like \"95%\"",
                        c.get_ref()
                    ),
                );
                return None;
            }
        },
    };
    let direction = match r.direction.as_ref().map(|d| (d, d.get_ref().as_str())) {
        None | Some((_, "increase")) => Direction::Increase,
        Some((d, "either")) if metric == Metric::Errors => {
            err(
                d.span(),
                "direction \"either\" is for latency: failing less than the baseline is no reason to roll back".into(),
            );
            return None;
        }
        Some((_, "either")) => Direction::Either,
        Some((d, other)) => {
            err(
                d.span(),
                format!(
                    "unknown direction {other:?}: expected \"increase\" (the default) or \"either\""
                ),
            );
            return None;
        }
    };
    if let Some(b) = &r.baseline
        && !known_env(b, service, envs, err)
    {
        return None;
    }
    for (key, d) in [
        ("for", &r.hold),
        ("inconclusive_after", &r.inconclusive_after),
    ] {
        if let Some(d) = d
            && d.get_ref().0.is_zero()
        {
            err(
                d.span(),
                format!("{key} of a \"compare\" rule must be more than zero"),
            );
            return None;
        }
    }
    Some(RuleKind::Compare {
        test: Test {
            metric,
            min_effect,
            confidence,
            direction,
        },
        hold: r
            .hold
            .as_ref()
            .map_or(Duration::from_secs(15), |h| h.get_ref().0),
        inconclusive_after: r
            .inconclusive_after
            .as_ref()
            .map_or(Duration::from_secs(600), |d| d.get_ref().0),
        baseline: r.baseline.as_ref().map(|b| b.get_ref().clone()),
    })
}

/// Whether `name` is one of the service's environments; if not, said at
/// its place.
fn known_env(
    name: &Spanned<String>,
    service: &str,
    envs: &[String],
    err: &mut impl FnMut(Range<usize>, String),
) -> bool {
    let known = envs.iter().any(|e| e == name.get_ref());
    if !known {
        err(
            name.span(),
            format!(
                "service `{service}` has no environment `{}`",
                name.get_ref()
            ),
        );
    }
    known
}

/// `"5%"`, `"0.5 %"` → 0.05, 0.005.
pub(crate) fn percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let Some(num) = t.strip_suffix('%') else {
        return Err(format!(
            "error-rate threshold {s:?} needs a percent sign, like \"5%\""
        ));
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v < 100.0 => Ok(v / 100.0),
        _ => Err(format!(
            "error-rate threshold {s:?} must be between 0% and 100%, like \"5%\""
        )),
    }
}

/// `"1000ms"`, `"1.5s"` → absolute; `"2x"` → a multiple of the stable environment's.
fn latency_limit(s: &str) -> Result<LatencyLimit, String> {
    let t = s.trim();
    if let Some(x) = t.strip_suffix('x').or_else(|| t.strip_suffix('×')) {
        return match x.trim().parse::<f64>() {
            Ok(v) if v > 1.0 => Ok(LatencyLimit::Baseline(v)),
            _ => Err(format!(
                "latency threshold {s:?}: a multiple of the baseline must be more than 1, like \"2x\""
            )),
        };
    }
    HumanDuration::parse(t)
        .map(|d| LatencyLimit::Absolute(d.0.as_secs_f64() * 1000.0))
        .map_err(|_| format!("latency threshold {s:?} must be a duration like \"1000ms\" or a multiple like \"2x\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(percent("5%"), Ok(0.05));
        assert_eq!(percent(" 0.5 % "), Ok(0.005));
        assert!(percent("5").unwrap_err().contains("percent sign"));
        assert!(percent("150%").is_err());
        assert_eq!(latency_limit("1000ms"), Ok(LatencyLimit::Absolute(1000.0)));
        assert_eq!(latency_limit("1.5s"), Ok(LatencyLimit::Absolute(1500.0)));
        assert_eq!(latency_limit("2x"), Ok(LatencyLimit::Baseline(2.0)));
        assert!(latency_limit("1x").is_err());
        assert!(latency_limit("fast").is_err());
    }
}
