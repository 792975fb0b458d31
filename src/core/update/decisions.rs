//! Rules and decisions: evaluate every rule of a service against what is
//! known now, decide, and say so — in the event log with the values, and in
//! the service's timeline for the "why" view. In `auto` mode, act.

use std::time::Duration;

use crate::core::decision::{self, Decision, EnvFacts, Facts, Mode, RuleFacts};
use crate::core::events::Level;
use crate::core::health::HealthStatus;
use crate::core::metrics::WindowStats;
use crate::core::model::{State, TimelineKind};
use crate::core::msg::Effect;
use crate::core::rules::{AlarmObservation, Observation, RuleKind, RuleStatus, judge};
use crate::core::time::{self, Ts};

/// Re-evaluate every service (on the clock tick).
pub(super) fn refresh_all(state: &mut State, now: Ts) -> Vec<Effect> {
    (0..state.services.len())
        .flat_map(|s| refresh(state, s, now))
        .collect()
}

/// Re-evaluate one service's rules and decision.
pub(super) fn refresh(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
    if service >= state.services.len() {
        return Vec::new();
    }
    evaluate_rules(state, service, now);
    let mut effects = decide(state, service, now);
    let started = auto_rollback(state, service, now);
    if !started.is_empty() {
        effects.extend(started);
        // The decision now reads "rolling back".
        effects.extend(decide(state, service, now));
    }
    effects
}

fn window_of(kind: &RuleKind) -> Option<Duration> {
    match kind {
        RuleKind::ErrorRate { window, .. } | RuleKind::Latency { window, .. } => Some(*window),
        _ => None,
    }
}

/// Request figures of one environment over `window`: the traffic source when
/// there is one, else the health probes.
fn stats(
    state: &State,
    service: usize,
    env: usize,
    window: Duration,
    now: Ts,
) -> Option<WindowStats> {
    let e = state.services.get(service)?.envs.get(env)?;
    let secs = window.as_secs() as u32;
    match &e.metrics.traffic {
        Some(t) => t.window(secs).copied(),
        None => Some(e.metrics.probes.stats(now, window)),
    }
}

/// The environment an alarm without one incriminates: the one on trial — the
/// smaller share when two take traffic (a canary), else the one taking it.
fn on_trial(state: &State, service: usize) -> usize {
    let svc = &state.services[service];
    let Some(shares) = svc.shares() else {
        return svc.envs.len().saturating_sub(1);
    };
    let taking: Vec<(usize, u32)> = shares
        .iter()
        .enumerate()
        .filter(|(_, (_, p))| *p > 0)
        .map(|(i, (_, p))| (i, *p))
        .collect();
    taking
        .iter()
        .min_by_key(|(i, p)| (*p, std::cmp::Reverse(*i)))
        .map_or(0, |(i, _)| *i)
}

fn evaluate_rules(state: &mut State, service: usize, now: Ts) {
    let trial = on_trial(state, service);
    let n = state.services[service].rollback.rules.len();
    for i in 0..n {
        let (kind, mut env, prev_observed) = {
            let r = &state.services[service].rollback.rules[i];
            (r.kind.clone(), r.env, r.observed.clone())
        };
        if let RuleKind::Alarm { env: named, .. } = &kind {
            env = named
                .as_ref()
                .and_then(|n| {
                    state.services[service]
                        .envs
                        .iter()
                        .position(|e| &e.name == n)
                })
                .unwrap_or(trial);
        }
        let obs = observe(state, service, env, &kind, now);
        let verdict = judge(&kind, &obs, now);
        let label = state.env_label(crate::core::model::EnvId { service, env });
        let evidence = (verdict.met && verdict.observed != prev_observed)
            .then(|| evidence(state, service, env, &kind, &verdict.observed, &obs));
        let svc = &mut state.services[service];
        let rule = &mut svc.rollback.rules[i];
        rule.env = env;
        let Some(t) = rule.step(verdict, now, evidence) else {
            continue;
        };
        let text = match t.to {
            RuleStatus::Firing => format!(
                "rule {} FIRING: {} {}",
                kind.name(),
                rule.observed,
                kind.threshold()
            ),
            RuleStatus::Pending => {
                let when = rule
                    .fires_at()
                    .map(|at| format!(" — fires at {} if it holds", at.hms()))
                    .unwrap_or_default();
                format!(
                    "rule {} pending: {} {}{when}",
                    kind.name(),
                    rule.observed,
                    kind.threshold()
                )
            }
            RuleStatus::Ok => format!("rule {} ok again ({})", kind.name(), rule.observed),
        };
        // The sample that started the condition, and the one that made it fire.
        let first = rule.first_evidence.clone();
        let latest = rule.evidence.back().cloned();
        if t.from == RuleStatus::Ok
            && t.to != RuleStatus::Ok
            && let Some(ev) = &first
        {
            svc.rollback
                .note(ev.at, TimelineKind::Evidence, ev.text.clone());
        }
        if t.to == RuleStatus::Firing
            && let Some(ev) = latest
            && Some(&ev) != first.as_ref()
        {
            svc.rollback.note(ev.at, TimelineKind::Evidence, ev.text);
        }
        svc.rollback
            .note(now, TimelineKind::Rule, format!("{label}: {text}"));
        let level = match t.to {
            RuleStatus::Firing => Level::Bad,
            RuleStatus::Pending => Level::Warn,
            RuleStatus::Ok => Level::Good,
        };
        state
            .events
            .push_kind(now, label, level, crate::core::events::Kind::Rule, text);
    }
}

fn observe(state: &State, service: usize, env: usize, kind: &RuleKind, now: Ts) -> Observation {
    let svc = &state.services[service];
    let e = &svc.envs[env];
    let mut o = Observation {
        consecutive_failures: e.consecutive_failures(),
        degraded_since: e.degraded_since,
        manual: svc
            .rollback
            .manual
            .as_ref()
            .filter(|(m, _, _)| *m == env)
            .map(|(_, by, _)| by.clone()),
        ..Observation::default()
    };
    if let Some(window) = window_of(kind) {
        o.window = stats(state, service, env, window, now);
        let facts = env_facts(state, service);
        let rules = [];
        let f = Facts {
            policy: &svc.rollback.policy,
            envs: &facts,
            rules: &rules,
            rollbacks: &[],
            in_progress: None,
            can_shift: true,
            can_revert: false,
        };
        if let Some(stable) = decision::target(&f, env) {
            o.baseline = stats(state, service, stable, window, now);
        }
    }
    if let RuleKind::Alarm { name, .. } = kind {
        // `web-*` watches every alarm named so; one in ALARM is what counts.
        let matches = |a: &&crate::core::model::ExternalAlarm| match name.strip_suffix('*') {
            Some(prefix) => a.name.starts_with(prefix),
            None => &a.name == name,
        };
        o.alarm = svc
            .alarms
            .iter()
            .filter(matches)
            .max_by_key(|a| a.state == crate::core::rules::AlarmState::Alarm)
            .map(|a| AlarmObservation {
                state: a.state,
                reason: a.reason.clone(),
            });
    }
    o
}

/// What the sample that met the condition was, in words.
fn evidence(
    state: &State,
    service: usize,
    env: usize,
    kind: &RuleKind,
    observed: &str,
    o: &Observation,
) -> String {
    let label = state.env_label(crate::core::model::EnvId { service, env });
    match kind {
        RuleKind::ErrorRate { window, .. } => {
            let (errors, requests) = o.window.map_or((0, 0), |w| (w.errors, w.requests));
            format!(
                "{label} error rate {observed} over {} ({errors} of {requests} requests)",
                time::human(*window)
            )
        }
        RuleKind::Latency {
            percentile, window, ..
        } => {
            format!(
                "{label} {} {observed} over {}",
                percentile.as_str(),
                time::human(*window)
            )
        }
        RuleKind::HealthFailures { count, .. } => {
            let e = &state.services[service].envs[env];
            let worst = e
                .endpoints
                .iter()
                .filter(|p| p.consecutive_failures > 0)
                .max_by_key(|p| p.consecutive_failures);
            let what = worst
                .and_then(|p| {
                    p.last
                        .as_ref()
                        .map(|l| format!("{}: {}", p.role, l.report.summary))
                })
                .unwrap_or_default();
            format!("{label} {what} ({}/{count})", o.consecutive_failures)
        }
        RuleKind::DegradedFor { .. } => {
            let since = o.degraded_since.map(|t| t.hms()).unwrap_or_default();
            format!("{label} degraded since {since}")
        }
        RuleKind::Alarm { name, .. } => {
            let reason = o
                .alarm
                .as_ref()
                .map(|a| a.reason.clone())
                .unwrap_or_default();
            format!("alarm {name} in ALARM: {reason}")
        }
        RuleKind::Manual => format!("{label}: rollback {observed}"),
    }
}

fn env_facts(state: &State, service: usize) -> Vec<EnvFacts> {
    let svc = &state.services[service];
    let shares = svc.shares();
    svc.envs
        .iter()
        .map(|e| EnvFacts {
            name: e.name.clone(),
            status: e.status,
            share: shares
                .as_ref()
                .and_then(|s| s.iter().find(|(n, _)| n == &e.name).map(|(_, p)| *p)),
        })
        .collect()
}

fn decide(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
    let envs = env_facts(state, service);
    let svc = &state.services[service];
    let rules: Vec<RuleFacts> = svc
        .rollback
        .rules
        .iter()
        .filter(|r| r.status != RuleStatus::Ok)
        .map(|r| RuleFacts {
            env: r.env,
            status: r.status,
            always_relevant: matches!(r.kind, RuleKind::Manual | RuleKind::Alarm { .. }),
            fires_at: r.fires_at(),
            // "green error-rate 8 % > 5 %"; an operator's request reads
            // "green: rollback asked by ops@bastion".
            reason: match r.kind {
                RuleKind::Manual => format!("{}: rollback {}", envs[r.env].name, r.observed),
                _ => format!(
                    "{} {} {} {}",
                    envs[r.env].name,
                    r.kind.name(),
                    r.observed,
                    r.kind.threshold()
                ),
            },
        })
        .collect();
    let counted = svc.rollback.counted();
    let f = Facts {
        policy: &svc.rollback.policy,
        envs: &envs,
        rules: &rules,
        rollbacks: &counted,
        in_progress: svc.rollback.in_progress.clone(),
        can_shift: svc.traffic.as_ref().is_some_and(|t| t.weights.is_some()),
        // A revert in place only where no traffic provider is configured: a
        // blue/green service whose weights are not read yet is not an ECS one.
        can_revert: svc.traffic.is_none() && svc.deploy.is_some(),
    };
    let d = decision::decide(&f, now);
    let before = svc.rollback.decision.clone();
    let name = svc.name.clone();
    if d.same_as(&before) {
        // Same decision; keep its wording current (values, deadlines).
        state.services[service].rollback.decision = d;
        return Vec::new();
    }
    let text = describe(&d, &envs, now);
    let level = match &d {
        Decision::RollbackRecommended { .. } | Decision::Blocked { .. } => Level::Bad,
        Decision::Watch { .. } | Decision::RollingBack { .. } => Level::Warn,
        Decision::RolledBack { .. } => Level::Good,
        Decision::Healthy if before.is_alert() => Level::Good,
        _ => Level::Info,
    };
    let svc = &mut state.services[service];
    match &d {
        Decision::RollbackRecommended { .. } | Decision::Blocked { .. } => {
            svc.rollback.detected_at.get_or_insert(now);
        }
        Decision::Healthy | Decision::Off | Decision::RolledBack { .. } => {
            svc.rollback.detected_at = None
        }
        Decision::Watch { .. } | Decision::RollingBack { .. } => {}
    }
    // Auto mode stands down after an abandoned rollback until the service is
    // calm again (or another rollback has happened).
    if matches!(
        &d,
        Decision::Healthy | Decision::Off | Decision::RolledBack { .. }
    ) {
        svc.rollback.auto_held = None;
    }
    svc.rollback.decision = d;
    svc.rollback.decision_since = now;
    svc.rollback.note(now, TimelineKind::Decision, text.clone());
    state
        .events
        .push_kind(now, name, level, crate::core::events::Kind::Decision, text);
    Vec::new()
}

/// `decision → ROLLBACK RECOMMENDED: green → blue (…)`
pub fn describe(d: &Decision, envs: &[EnvFacts], now: Ts) -> String {
    let name = |i: &usize| envs.get(*i).map_or("?", |e| e.name.as_str()).to_string();
    match d {
        Decision::Off => "decision → OFF (mode off)".into(),
        Decision::Healthy => "decision → HEALTHY".into(),
        Decision::Watch {
            env,
            deadline,
            reasons,
        } => {
            format!(
                "decision → WATCH {} until {}: {}",
                name(env),
                deadline.hms(),
                reasons.join("; ")
            )
        }
        Decision::RollbackRecommended {
            suspect,
            target,
            reasons,
        } => {
            let t = &envs[*target];
            // The target's health, unless the rollback is a revert in place.
            let status = if suspect == target {
                String::new()
            } else {
                format!(" ({})", t.status.map_or("unknown", HealthStatus::as_str))
            };
            format!(
                "decision → ROLLBACK RECOMMENDED: {}{status}: {}",
                crate::core::decision::route(&name(suspect), &name(target)),
                reasons.join("; ")
            )
        }
        Decision::RollingBack {
            suspect,
            target,
            by,
            ..
        } => {
            format!(
                "decision → ROLLING BACK {} (by {by})",
                crate::core::decision::route(&name(suspect), &name(target))
            )
        }
        Decision::RolledBack {
            suspect,
            target,
            at,
        } => {
            format!(
                "decision → ROLLED BACK {} at {}",
                crate::core::decision::route(&name(suspect), &name(target)),
                at.hms()
            )
        }
        Decision::Blocked {
            suspect,
            block,
            reasons,
        } => {
            format!(
                "decision → BLOCKED on {}: {}; {}",
                name(suspect),
                block.describe(now),
                reasons.join("; ")
            )
        }
    }
}

/// In auto mode a recommended rollback is carried out at once: the
/// runbook's automatable path, within the guards `decide` already checked.
fn auto_rollback(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
    let svc = &state.services[service];
    if svc.rollback.policy.mode != Mode::Auto || svc.rollback.in_progress.is_some() {
        return Vec::new();
    }
    // Changes whose outcome is unknown come first: a person checks them.
    if !state.interrupted.is_empty() {
        return Vec::new();
    }
    if svc
        .rollback
        .checklist
        .as_ref()
        .is_some_and(|c| c.ended.is_none())
    {
        return Vec::new();
    }
    let Decision::RollbackRecommended {
        suspect,
        target,
        reasons,
    } = svc.rollback.decision.clone()
    else {
        return Vec::new();
    };
    // Stood down for this suspect; or a person asked for this rollback, and
    // a person's rollback is guided, with previews, whatever the mode.
    if svc.rollback.auto_held == Some(suspect) || svc.rollback.manual.is_some() {
        return Vec::new();
    }
    super::checklist::start(
        state,
        service,
        suspect,
        target,
        "backstop (auto)".into(),
        true,
        reasons,
        now,
    )
}

/// Where `suspect` would be rolled back to, whatever the guards say.
pub(super) fn target_of(state: &State, service: usize, suspect: usize) -> Option<usize> {
    let envs = env_facts(state, service);
    let svc = &state.services[service];
    let f = Facts {
        policy: &svc.rollback.policy,
        envs: &envs,
        rules: &[],
        rollbacks: &[],
        in_progress: None,
        can_shift: true,
        can_revert: false,
    };
    decision::target(&f, suspect)
}

#[cfg(test)]
pub(super) fn rule_status(
    state: &State,
    service: usize,
    env: usize,
    name: &str,
) -> Option<RuleStatus> {
    state.services[service]
        .rollback
        .rules
        .iter()
        .find(|r| r.env == env && r.kind.name() == name)
        .map(|r| r.status)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::core::action::Action;
    use crate::core::decision::{Decision, Mode, Policy};
    use crate::core::health::{HealthReport, HealthStatus};
    use crate::core::model::Pane;
    use crate::core::model::{
        EndpointId, EndpointState, EnvState, ExternalAlarm, Interrupted, Origin, Overlay,
        ProbeResult, Role, ServiceState, State, TimelineKind, TrafficState,
    };
    use crate::core::msg::{Effect, Msg};
    use crate::core::msg::{StepOutcome, StepWork, TextKey};
    use crate::core::rules::{AlarmState, RuleKind, RuleStatus};
    use crate::core::runbook::{StepStatus, Template};
    use crate::core::time::Ts;
    use crate::core::traffic::Weights;
    use crate::core::update::update;

    fn state(policy: Policy) -> State {
        let env = |name: &str| {
            EnvState::new(
                name,
                vec![EndpointState::new(
                    "http://x".into(),
                    Role::Health,
                    Duration::from_secs(2),
                    Duration::from_secs(1),
                )],
            )
        };
        let traffic = Some(TrafficState::new("sandbox", "router"));
        let svc = ServiceState::new(
            "web",
            vec![env("blue"), env("green")],
            traffic,
            policy,
            crate::config::runbook::Catalog::builtin()
                .get("default")
                .unwrap()
                .runbook
                .clone(),
            Ts(0),
        );
        let mut s = State::new("drill", Origin::Drill, vec![svc], Ts(0));
        s.operator = "ops@bastion".into();
        update(
            &mut s,
            Msg::TrafficRead {
                service: 0,
                result: Ok(Weights::from_percents([("blue", 90), ("green", 10)])),
                at: Ts(0),
            },
        );
        s
    }

    fn probe(s: &mut State, env: usize, at: i64, status: HealthStatus) -> Vec<Effect> {
        let report = HealthReport {
            status,
            http_status: Some(if status.is_failure() { 503 } else { 200 }),
            version: None,
            checks: vec![],
            summary: format!("HTTP {}", if status.is_failure() { 503 } else { 200 }),
            error: None,
        };
        let result = ProbeResult {
            at: Ts(at),
            latency_ms: 2.0,
            report,
        };
        update(
            s,
            Msg::Probed {
                endpoint: EndpointId {
                    service: 0,
                    env,
                    endpoint: 0,
                },
                result,
            },
        )
    }

    /// The provider's answer to the latest preview request.
    fn preview_answer(s: &mut State, step: usize, lines: Vec<String>, at: i64) {
        let request = s.preview_requests;
        let run = s.services[0]
            .rollback
            .checklist
            .as_ref()
            .map_or(0, |c| c.run);
        update(
            s,
            Msg::StepPreview {
                service: 0,
                run,
                step,
                request,
                result: Ok(lines),
                at: Ts(at),
            },
        );
    }

    fn decision(s: &State) -> &Decision {
        &s.services[0].rollback.decision
    }

    #[test]
    fn three_failed_probes_recommend_a_rollback_with_its_reasons() {
        let mut s = state(Policy::default());
        probe(&mut s, 0, 1000, HealthStatus::Ok);
        probe(&mut s, 1, 1000, HealthStatus::Critical);
        assert_eq!(
            super::rule_status(&s, 0, 1, "health-failures"),
            Some(RuleStatus::Pending)
        );
        assert!(matches!(decision(&s), Decision::Watch { env: 1, .. }));
        probe(&mut s, 1, 3000, HealthStatus::Critical);
        probe(&mut s, 1, 5000, HealthStatus::Critical);
        assert_eq!(
            super::rule_status(&s, 0, 1, "health-failures"),
            Some(RuleStatus::Firing)
        );
        match decision(&s) {
            Decision::RollbackRecommended {
                suspect: 1,
                target: 0,
                reasons,
            } => {
                assert_eq!(reasons[0], "green health-failures 3/3 ≥ 3 in a row");
            }
            d => panic!("{d:?}"),
        }
        assert!(s.events.iter().any(|e| {
            e.text
                .starts_with("decision → ROLLBACK RECOMMENDED: green → blue (ok)")
        }));
        // The timeline links evidence → rule → decision.
        let kinds: Vec<TimelineKind> = s.services[0]
            .rollback
            .timeline
            .iter()
            .map(|e| e.kind)
            .collect();
        let first = |k| kinds.iter().position(|x| *x == k).unwrap_or(usize::MAX);
        assert!(first(TimelineKind::Evidence) < first(TimelineKind::Rule));
        assert!(first(TimelineKind::Rule) < first(TimelineKind::Decision));
        assert!(
            s.services[0]
                .rollback
                .timeline
                .iter()
                .any(|e| e.text.contains("(3/3)")),
            "the sample that fired it"
        );
        // A blip of one or two failures clears without a rollback.
        let mut b = state(Policy::default());
        probe(&mut b, 0, 1000, HealthStatus::Ok);
        probe(&mut b, 1, 1000, HealthStatus::Critical);
        probe(&mut b, 1, 3000, HealthStatus::Critical);
        probe(&mut b, 1, 5000, HealthStatus::Ok);
        assert_eq!(decision(&b), &Decision::Healthy);
    }

    /// The executor's part, done at once: every step's work succeeds (a
    /// switch also shows the new split). Returns every effect seen.
    fn answer(s: &mut State, fx: Vec<Effect>, at: i64) -> Vec<Effect> {
        let mut pending: std::collections::VecDeque<Effect> = fx.into();
        let mut seen = Vec::new();
        while let Some(e) = pending.pop_front() {
            if let Effect::Step {
                service,
                run,
                step,
                work,
                ..
            } = &e
            {
                if let StepWork::Switch { to, .. } = work {
                    pending.extend(update(
                        s,
                        Msg::TrafficRead {
                            service: *service,
                            result: Ok(to.clone()),
                            at: Ts(at),
                        },
                    ));
                }
                pending.extend(update(
                    s,
                    Msg::StepDone {
                        service: *service,
                        run: *run,
                        step: *step,
                        outcome: StepOutcome::ok(vec![]),
                        at: Ts(at),
                    },
                ));
            }
            seen.push(e);
        }
        seen
    }

    #[test]
    fn auto_mode_walks_the_runbook_then_guards_the_cooldown() {
        let mut s = state(Policy {
            mode: Mode::Auto,
            ..Policy::default()
        });
        probe(&mut s, 0, 1000, HealthStatus::Ok);
        let mut fx = Vec::new();
        for t in [1000, 3000, 5000] {
            fx = probe(&mut s, 1, t, HealthStatus::Critical);
        }
        assert!(
            matches!(&fx[0], Effect::OpenIncident { auto: true, suspect, target, .. } if suspect == "green" && target == "blue"),
            "{fx:?}"
        );
        let seen = answer(&mut s, fx, 5500);
        let works: Vec<&StepWork> = seen
            .iter()
            .filter_map(|e| match e {
                Effect::Step { work, .. } => Some(work),
                _ => None,
            })
            .collect();
        assert!(
            matches!(works[0], StepWork::Reprobe { env: 1, count: 3 }),
            "{works:?}"
        );
        assert!(
            matches!(
                works[1],
                StepWork::Notify {
                    template: Template::RollbackStarted,
                    ..
                }
            ),
            "{works:?}"
        );
        let to = Weights::from_percents([("blue", 100), ("green", 0)]);
        assert!(
            matches!(works[2], StepWork::Switch { to: t, .. } if *t == to),
            "auto mode switches without a preview: {works:?}"
        );
        assert!(
            matches!(decision(&s), Decision::RollingBack { .. }),
            "{:?}",
            decision(&s)
        );
        // The switch is what the guards count.
        assert_eq!(s.services[0].rollback.history.len(), 1);
        let c = s.services[0].rollback.checklist.as_ref().unwrap();
        assert_eq!(
            c.steps[1].status,
            StepStatus::Skipped("left for a person (auto mode)".into()),
            "a manual step"
        );
        // No second rollback while the first is under way.
        assert!(probe(&mut s, 1, 6000, HealthStatus::Critical).is_empty());
        // Waits for blue healthy three probes in a row, then on by itself.
        let mut fx = Vec::new();
        for t in [7000, 9000, 11_000] {
            fx.extend(probe(&mut s, 0, t, HealthStatus::Ok));
        }
        let seen = answer(&mut s, fx, 11_000);
        assert!(seen.iter().any(|e| matches!(e, Effect::Step { work: StepWork::Smoke { env, .. }, .. } if env == "blue")), "{seen:?}");
        // The error rate holds under 1 % for a minute.
        let mut fx = Vec::new();
        for t in (13_000..=80_000).step_by(2000) {
            fx.extend(probe(&mut s, 0, t, HealthStatus::Ok));
            fx.extend(update(&mut s, Msg::Tick(Ts(t))));
        }
        let seen = answer(&mut s, fx, 80_000);
        assert!(
            seen.iter().any(|e| matches!(
                e,
                Effect::Step {
                    work: StepWork::Notify {
                        template: Template::RollbackCompleted,
                        ..
                    },
                    ..
                }
            )),
            "{seen:?}"
        );
        let closed: Vec<&Effect> = seen
            .iter()
            .filter(|e| matches!(e, Effect::CloseIncident { .. }))
            .collect();
        assert!(
            matches!(closed[..], [Effect::CloseIncident { ending, recovered: Some(_), .. }] if ending == "completed"),
            "{closed:?}"
        );
        assert!(matches!(
            decision(&s),
            Decision::RolledBack {
                suspect: 1,
                target: 0,
                ..
            }
        ));
        assert!(
            s.events
                .iter()
                .any(|e| e.text.starts_with("recovered: users on blue"))
        );
        // Blue fails now, within the cooldown: blocked, not a loop.
        for t in [90_000, 92_000, 94_000] {
            assert!(
                probe(&mut s, 0, t, HealthStatus::Critical).is_empty(),
                "no rollback inside the cooldown"
            );
        }
        match decision(&s) {
            Decision::Blocked { block, .. } => {
                assert!(block.describe(Ts(94_000)).starts_with("cooldown:"))
            }
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn the_operator_asks_for_a_rollback_and_gets_the_checklist() {
        let mut s = state(Policy::default());
        probe(&mut s, 0, 1000, HealthStatus::Ok);
        probe(&mut s, 1, 1000, HealthStatus::Ok);
        update(&mut s, Msg::Action(Action::SelectNext, Ts(2000)));
        let fx = update(&mut s, Msg::Action(Action::StartRollback, Ts(2000)));
        assert!(
            matches!(
                &fx[..],
                [
                    Effect::OpenIncident { auto: false, .. },
                    Effect::Step {
                        work: StepWork::Reprobe { env: 1, .. },
                        ..
                    }
                ]
            ),
            "{fx:?}"
        );
        assert_eq!(s.ui.focus, Pane::Checklist);
        assert!(
            s.events
                .iter()
                .any(|e| e.text == "ops@bastion asks to roll back green")
        );
        // Green answers healthy: the check says so, and the operator decides.
        update(
            &mut s,
            Msg::StepDone {
                service: 0,
                run: 1,
                step: 0,
                outcome: StepOutcome::failed("every re-probe answered healthy", vec![]),
                at: Ts(3000),
            },
        );
        let c = s.services[0].rollback.checklist.as_ref().unwrap();
        assert!(matches!(&c.steps[0].status, StepStatus::Failed(e) if e.contains("healthy")));
        // Abandoning takes a reason, and ends it.
        update(&mut s, Msg::Action(Action::Abort, Ts(4000)));
        for ch in "false alarm".chars() {
            update(&mut s, Msg::Text(TextKey::Char(ch), Ts(4000)));
        }
        let fx = update(&mut s, Msg::Text(TextKey::Submit, Ts(4000)));
        assert!(
            matches!(&fx[..], [Effect::CloseIncident { ending, .. }] if ending == "aborted: false alarm"),
            "{fx:?}"
        );
        assert_eq!(s.services[0].rollback.manual, None);
        update(&mut s, Msg::Tick(Ts(5000)));
        assert_eq!(decision(&s), &Decision::Healthy);
    }

    #[test]
    fn a_guided_switch_previews_and_waits_for_the_second_key() {
        let mut s = state(Policy::default());
        probe(&mut s, 0, 1000, HealthStatus::Ok);
        for t in [1000, 3000, 5000] {
            probe(&mut s, 1, t, HealthStatus::Critical);
        }
        update(&mut s, Msg::Action(Action::SelectNext, Ts(5000)));
        let fx = update(&mut s, Msg::Action(Action::StartRollback, Ts(5000)));
        answer(&mut s, fx, 5000);
        // Manual step: Enter ticks it.
        update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
        // The notification is previewed in core (it is the message itself).
        assert!(update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000))).is_empty());
        let c = s.services[0].rollback.checklist.as_ref().unwrap();
        assert!(
            matches!(&c.steps[2].status, StepStatus::Previewing(l) if l.iter().any(|l| l.contains("ROLLBACK IN PROGRESS")))
        );
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(6000)));
        answer(&mut s, fx, 6000);
        // Target healthy checked itself; the switch waits for the operator.
        let c = s.services[0].rollback.checklist.as_ref().unwrap();
        assert_eq!(c.steps[3].status, StepStatus::Done, "{:?}", c.steps[3]);
        assert_eq!(c.steps[4].status, StepStatus::Current);
        let fx = update(&mut s, Msg::Action(Action::OpenDetail, Ts(7000)));
        assert!(
            matches!(
                &fx[..],
                [Effect::Step {
                    work: StepWork::PreviewSwitch { .. },
                    ..
                }]
            ),
            "{fx:?}"
        );
        // Confirm before the preview arrived does nothing.
        assert!(update(&mut s, Msg::Action(Action::Confirm, Ts(7000))).is_empty());
        preview_answer(&mut s, 4, vec!["web via sandbox".into()], 7100);
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(7200)));
        assert!(
            matches!(&fx[..], [Effect::Step { work: StepWork::Switch { .. }, by, .. }] if by == "ops@bastion"),
            "{fx:?}"
        );
        // While it runs, it cannot be skipped.
        update(&mut s, Msg::Action(Action::Skip, Ts(7300)));
        assert!(s.ui.input.is_none());
        assert!(
            s.services[0].rollback.history.is_empty(),
            "not until the outcome"
        );
        answer(&mut s, fx, 7500);
        assert_eq!(s.services[0].rollback.history.len(), 1);
        assert_eq!(s.services[0].rollback.history[0].by, "ops@bastion");
    }

    fn typed(s: &mut State, text: &str, at: i64) -> Vec<Effect> {
        for ch in text.chars() {
            update(s, Msg::Text(TextKey::Char(ch), Ts(at)));
        }
        update(s, Msg::Text(TextKey::Submit, Ts(at)))
    }

    fn current(s: &State) -> (usize, StepStatus) {
        let c = s.services[0].rollback.checklist.as_ref().unwrap();
        (
            c.cursor,
            c.current()
                .map(|x| x.status.clone())
                .unwrap_or(StepStatus::Waiting),
        )
    }

    /// Green fails three times with blue healthy: a recommendation, and the
    /// operator opens the checklist (step 0, the re-probe, is running).
    fn recommended_and_started(policy: Policy) -> State {
        let mut s = state(policy);
        probe(&mut s, 0, 1000, HealthStatus::Ok);
        for t in [1000, 3000, 5000] {
            probe(&mut s, 1, t, HealthStatus::Critical);
        }
        update(&mut s, Msg::Action(Action::SelectNext, Ts(5000)));
        update(&mut s, Msg::Action(Action::StartRollback, Ts(5000)));
        s
    }

    #[test]
    fn a_skip_typed_while_the_checklist_moves_on_skips_nothing() {
        let mut s = recommended_and_started(Policy::default());
        assert!(matches!(current(&s), (0, StepStatus::Running { .. })));
        update(&mut s, Msg::Action(Action::Skip, Ts(5100)));
        // The re-probe finishes while the reason is typed.
        update(
            &mut s,
            Msg::StepDone {
                service: 0,
                run: 1,
                step: 0,
                outcome: StepOutcome::ok(vec![]),
                at: Ts(5200),
            },
        );
        assert_eq!(current(&s), (1, StepStatus::Current));
        typed(&mut s, "no time", 5300);
        assert_eq!(
            current(&s),
            (1, StepStatus::Current),
            "step 1 was not skipped"
        );
        let c = s.services[0].rollback.checklist.as_ref().unwrap();
        assert_eq!(c.steps[0].status, StepStatus::Done);
        assert!(
            s.events
                .iter()
                .any(|e| e.text.contains("moved on while you typed"))
        );
    }

    /// Walk to the switch and confirm it: the change is running.
    fn switching(s: &mut State) -> Vec<Effect> {
        let fx = update(s, Msg::Action(Action::OpenDetail, Ts(5000)));
        answer(s, fx, 5000); // (the re-probe had been answered below)
        update(s, Msg::Action(Action::OpenDetail, Ts(6000))); // logs reviewed
        update(s, Msg::Action(Action::OpenDetail, Ts(6000))); // message preview
        let fx = update(s, Msg::Action(Action::Confirm, Ts(6000)));
        answer(s, fx, 6000);
        let fx = update(s, Msg::Action(Action::OpenDetail, Ts(7000)));
        assert!(
            matches!(
                &fx[..],
                [Effect::Step {
                    work: StepWork::PreviewSwitch { .. },
                    ..
                }]
            ),
            "{fx:?}"
        );
        preview_answer(s, 4, vec!["web via sandbox".into()], 7100);
        update(s, Msg::Action(Action::Confirm, Ts(7200)))
    }

    fn reprobed(s: &mut State) {
        update(
            s,
            Msg::StepDone {
                service: 0,
                run: 1,
                step: 0,
                outcome: StepOutcome::ok(vec![]),
                at: Ts(5100),
            },
        );
    }

    #[test]
    fn a_running_change_cannot_be_abandoned() {
        let mut s = recommended_and_started(Policy::default());
        reprobed(&mut s);
        let fx = switching(&mut s);
        assert!(matches!(
            &fx[..],
            [Effect::Step {
                work: StepWork::Switch { .. },
                run: 1,
                ..
            }]
        ));
        update(&mut s, Msg::Action(Action::Abort, Ts(7300)));
        assert!(s.ui.input.is_none(), "no abandon while the switch runs");
        assert!(
            s.events
                .iter()
                .any(|e| e.text.starts_with("a change is under way"))
        );
        // Its answer arrives: the rollback counts.
        answer(&mut s, fx, 7400);
        assert_eq!(s.services[0].rollback.history.len(), 1);
    }

    #[test]
    fn a_late_answer_of_an_abandoned_checklist_settles_nothing_in_the_next() {
        let mut s = recommended_and_started(Policy::default());
        // The re-probe runs (it changes nothing: it may be abandoned).
        update(&mut s, Msg::Action(Action::Abort, Ts(5100)));
        typed(&mut s, "wrong service", 5100);
        update(&mut s, Msg::Action(Action::OpenDetail, Ts(5200))); // put away
        assert_eq!(
            s.services[0].rollback.last_incident, None,
            "never journaled here"
        );
        update(&mut s, Msg::Action(Action::StartRollback, Ts(5300)));
        let c = s.services[0].rollback.checklist.as_ref().unwrap();
        assert_eq!(c.run, 2);
        assert!(matches!(current(&s), (0, StepStatus::Running { .. })));
        update(
            &mut s,
            Msg::StepDone {
                service: 0,
                run: 1,
                step: 0,
                outcome: StepOutcome::ok(vec!["old news".into()]),
                at: Ts(5400),
            },
        );
        assert!(
            matches!(current(&s), (0, StepStatus::Running { .. })),
            "run 1's answer is not run 2's"
        );
    }

    #[test]
    fn a_switch_previewed_then_outdated_is_previewed_again_not_run() {
        let mut s = recommended_and_started(Policy::default());
        reprobed(&mut s);
        // Someone moves the traffic between the preview and the key.
        let fx = update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
        assert!(fx.is_empty());
        update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(6000)));
        answer(&mut s, fx, 6000);
        update(&mut s, Msg::Action(Action::OpenDetail, Ts(7000)));
        preview_answer(
            &mut s,
            4,
            vec!["blue 90 → 100 %, green 10 → 0 %".into()],
            7100,
        );
        update(
            &mut s,
            Msg::TrafficRead {
                service: 0,
                result: Ok(Weights::from_percents([("blue", 50), ("green", 50)])),
                at: Ts(7150),
            },
        );
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(7200)));
        match &fx[..] {
            [
                Effect::Step {
                    work: StepWork::PreviewSwitch { from, .. },
                    ..
                },
            ] => assert_eq!(from.percents(), [50, 50]),
            other => panic!("expected a new preview, got {other:?}"),
        }
        assert!(s.services[0].rollback.history.is_empty());
    }

    #[test]
    fn auto_mode_stands_down_after_an_abandon_and_while_changes_are_unchecked() {
        let auto = Policy {
            mode: Mode::Auto,
            ..Policy::default()
        };
        let mut s = state(auto.clone());
        probe(&mut s, 0, 1000, HealthStatus::Ok);
        for t in [1000, 3000, 5000] {
            probe(&mut s, 1, t, HealthStatus::Critical);
        }
        assert!(
            s.services[0].rollback.checklist.is_some(),
            "auto mode started"
        );
        // The re-probe is running: a person abandons.
        update(&mut s, Msg::Action(Action::Abort, Ts(5500)));
        typed(&mut s, "known issue, fixing forward", 5500);
        update(&mut s, Msg::Action(Action::OpenDetail, Ts(5600)));
        for t in [7000, 9000] {
            let fx = probe(&mut s, 1, t, HealthStatus::Critical);
            assert!(
                fx.iter().all(|e| !matches!(e, Effect::OpenIncident { .. })),
                "{fx:?}"
            );
        }
        assert!(s.services[0].rollback.checklist.is_none());
        assert_eq!(s.services[0].rollback.auto_held, Some(1));

        // A fresh start with an interrupted change found in the journal.
        let mut s = state(auto);
        update(
            &mut s,
            Msg::Interrupted {
                actions: vec![Interrupted {
                    intent: 9,
                    at: Ts(0),
                    scope: "web".into(),
                    text: "switch traffic of web".into(),
                    operator: "ops".into(),
                    incident: Some(8),
                    work: "switch-traffic".into(),
                    real: None,
                }],
                at: Ts(500),
            },
        );
        probe(&mut s, 0, 1000, HealthStatus::Ok);
        for t in [1000, 3000, 5000] {
            let fx = probe(&mut s, 1, t, HealthStatus::Critical);
            assert!(fx.is_empty(), "{fx:?}");
        }
        assert!(matches!(decision(&s), Decision::RollbackRecommended { .. }));
    }

    #[test]
    fn skipping_the_switch_is_not_a_recovery() {
        let mut s = recommended_and_started(Policy::default());
        reprobed(&mut s);
        for at in [6000, 6001] {
            update(&mut s, Msg::Action(Action::Skip, Ts(at)));
            typed(&mut s, "later", at);
        }
        // target healthy ran itself; now the switch: skipped too.
        assert_eq!(current(&s).0, 4);
        update(&mut s, Msg::Action(Action::Skip, Ts(6100)));
        typed(&mut s, "the LB console is faster", 6100);
        assert!(s.services[0].rollback.history.is_empty());
        assert!(s.events.iter().all(|e| !e.text.starts_with("recovered")));
    }

    /// One environment on ECS, no traffic provider: the rollback is a revert.
    fn ecs_state() -> State {
        let env = EnvState::new(
            "prod",
            vec![EndpointState::new(
                "http://x".into(),
                Role::Health,
                Duration::from_secs(2),
                Duration::from_secs(1),
            )],
        );
        let book = crate::config::runbook::Catalog::builtin()
            .get("default")
            .unwrap()
            .runbook
            .clone();
        let mut svc = ServiceState::new("web", vec![env], None, Policy::default(), book, Ts(0));
        svc.deploy = Some(crate::core::deploy::DeployState::new("ecs", "cluster prod"));
        let mut s = State::new("prod", Origin::Drill, vec![svc], Ts(0));
        s.operator = "ops@bastion".into();
        s
    }

    fn deployed(
        s: &mut State,
        at: i64,
        current: &str,
        rollouts: &[(&str, bool, crate::core::deploy::RolloutPhase, u32)],
    ) -> Vec<Effect> {
        use crate::core::deploy::{EnvDeploy, Rollout};
        let env = EnvDeploy {
            env: "prod".into(),
            name: "web".into(),
            current: current.into(),
            rollouts: rollouts
                .iter()
                .map(|(rev, primary, phase, running)| Rollout {
                    id: format!("ecs-svc/{rev}"),
                    primary: *primary,
                    status: if *primary { "PRIMARY" } else { "ACTIVE" }.into(),
                    phase: *phase,
                    revision: (*rev).into(),
                    running: *running,
                    desired: 2,
                    pending: 2 - running,
                    failed: 0,
                    reason: (*phase == crate::core::deploy::RolloutPhase::Failed)
                        .then(|| "tasks failed to start".into()),
                    created: None,
                })
                .collect(),
            previous: Some("web:1".into()),
            history: vec!["web:1".into(), "web:2".into()],
        };
        update(
            s,
            Msg::DeployRead {
                service: 0,
                result: Ok(vec![env]),
                at: Ts(at),
            },
        )
    }

    #[test]
    fn on_ecs_a_revert_is_recommended_and_wait_stable_follows_the_rollout() {
        use crate::core::deploy::RolloutPhase::*;
        let mut s = ecs_state();
        deployed(&mut s, 500, "web:2", &[("web:2", true, Completed, 2)]);
        for t in [1000, 3000, 5000] {
            probe(&mut s, 0, t, HealthStatus::Critical);
        }
        assert!(
            matches!(
                decision(&s),
                Decision::RollbackRecommended {
                    suspect: 0,
                    target: 0,
                    ..
                }
            ),
            "a revert in place: {:?}",
            decision(&s)
        );
        let fx = update(&mut s, Msg::Action(Action::StartRollback, Ts(5100)));
        answer(&mut s, fx, 5100);
        let c = s.services[0].rollback.checklist.as_ref().unwrap();
        let ids: Vec<&str> = c.steps.iter().map(|x| x.spec.id.as_str()).collect();
        assert!(
            !ids.contains(&"target-healthy") && !ids.contains(&"switch-traffic"),
            "{ids:?}"
        );
        // Review, message, then the revert: previewed with the revision it starts from.
        update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
        update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(6000)));
        answer(&mut s, fx, 6000);
        let fx = update(&mut s, Msg::Action(Action::OpenDetail, Ts(7000)));
        assert!(
            matches!(
                &fx[..],
                [Effect::Step {
                    work: StepWork::PreviewRevert { .. },
                    ..
                }]
            ),
            "{fx:?}"
        );
        preview_answer(&mut s, 3, vec!["web:2 → web:1".into()], 7100);
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(7200)));
        assert!(
            matches!(&fx[..], [Effect::Step { work: StepWork::Revert { expect: Some(e), .. }, .. }] if e == "web:2"),
            "{fx:?}"
        );
        answer(&mut s, fx, 7300);
        assert_eq!(current(&s).0, 4, "wait-stable");
        // The read from before the revert says nothing; neither does ECS still on web:2.
        deployed(&mut s, 7400, "web:2", &[("web:2", true, Completed, 2)]);
        assert!(matches!(current(&s), (4, StepStatus::Running { .. })));
        // Real AWS: a new PRIMARY deployment rolls in while the old one drains.
        deployed(
            &mut s,
            9000,
            "web:1",
            &[
                ("web:1", true, InProgress, 1),
                ("web:2", false, Completed, 1),
            ],
        );
        let c = s.services[0].rollback.checklist.as_ref().unwrap();
        assert_eq!(c.steps[4].progress, Some((1, 2)));
        assert!(matches!(current(&s), (4, StepStatus::Running { .. })));
        deployed(&mut s, 12_000, "web:1", &[("web:1", true, Completed, 2)]);
        let c = s.services[0].rollback.checklist.as_ref().unwrap();
        assert_eq!(c.steps[4].status, StepStatus::Done, "{:?}", c.steps[4]);
        assert_eq!(
            c.steps[4].evidence.last().unwrap(),
            "web: web:1 stable (web:1 PRIMARY COMPLETED 2/2)"
        );
    }

    #[test]
    fn a_failed_rollout_fails_wait_stable() {
        use crate::core::deploy::RolloutPhase::*;
        let mut s = ecs_state();
        deployed(&mut s, 500, "web:2", &[("web:2", true, Completed, 2)]);
        for t in [1000, 3000, 5000] {
            probe(&mut s, 0, t, HealthStatus::Critical);
        }
        let fx = update(&mut s, Msg::Action(Action::StartRollback, Ts(5100)));
        answer(&mut s, fx, 5100);
        for at in [6000, 6001] {
            update(&mut s, Msg::Action(Action::Skip, Ts(at)));
            typed(&mut s, "later", at);
        }
        update(&mut s, Msg::Action(Action::OpenDetail, Ts(7000)));
        preview_answer(&mut s, 3, vec![], 7100);
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(7200)));
        answer(&mut s, fx, 7300);
        deployed(
            &mut s,
            9000,
            "web:1",
            &[("web:1", true, Failed, 0), ("web:2", false, Completed, 2)],
        );
        assert!(
            matches!(current(&s), (4, StepStatus::Failed(e)) if e == "the rollout of web:1 failed: tasks failed to start"),
            "{:?}",
            current(&s)
        );
    }

    #[test]
    fn a_blue_green_service_with_unread_weights_is_never_reverted_in_place() {
        // Traffic provider and deploy provider, weights not read (yet): not a
        // revert of the failing environment, and never a switch onto itself.
        let mut s = ecs_state();
        s.services[0].traffic = Some(TrafficState::new("alb", "listener"));
        for t in [1000, 3000, 5000] {
            probe(&mut s, 0, t, HealthStatus::Critical);
        }
        match decision(&s) {
            Decision::Blocked { block, .. } => assert!(
                matches!(
                    block,
                    crate::core::decision::Block::NoTarget | crate::core::decision::Block::NoMeans
                ),
                "{block:?}"
            ),
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn a_revert_before_the_deployment_was_read_refuses() {
        let mut s = ecs_state();
        for t in [1000, 3000, 5000] {
            probe(&mut s, 0, t, HealthStatus::Critical);
        }
        let fx = update(&mut s, Msg::Action(Action::StartRollback, Ts(5100)));
        answer(&mut s, fx, 5100);
        update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
        update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000)));
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(6000)));
        answer(&mut s, fx, 6000);
        let fx = update(&mut s, Msg::Action(Action::OpenDetail, Ts(7000)));
        assert!(fx.is_empty(), "nothing asked of the provider: {fx:?}");
        assert!(
            matches!(current(&s), (3, StepStatus::Failed(e)) if e.contains("has not been read yet")),
            "{:?}",
            current(&s)
        );
    }

    #[test]
    fn a_failing_target_blocks_and_says_escalate() {
        let mut s = state(Policy::default());
        for t in [1000, 3000, 5000] {
            probe(&mut s, 0, t, HealthStatus::Critical);
            probe(&mut s, 1, t, HealthStatus::Critical);
        }
        match decision(&s) {
            Decision::Blocked { block, .. } => assert!(block.describe(Ts(0)).contains("escalate")),
            d => panic!("{d:?}"),
        }
        // The operator's key says so instead of opening a dialog.
        update(&mut s, Msg::Action(Action::StartRollback, Ts(6000)));
        assert_eq!(s.ui.overlay, Overlay::None);
        assert!(
            s.events
                .last()
                .is_some_and(|e| e.text.starts_with("rollback blocked:"))
        );
    }

    #[test]
    fn an_external_alarm_fires_its_rule() {
        let mut policy = Policy::default();
        policy.rules.push(RuleKind::Alarm {
            name: "web-5xx".into(),
            env: None,
        });
        let mut s = state(policy);
        probe(&mut s, 0, 1000, HealthStatus::Ok);
        probe(&mut s, 1, 1000, HealthStatus::Ok);
        let alarm = |state| ExternalAlarm {
            name: "web-5xx".into(),
            state,
            reason: "Threshold Crossed: 1 datapoint [12.0]".into(),
            since: Ts(1500),
            source: "cloudwatch".into(),
        };
        update(
            &mut s,
            Msg::Alarms {
                source: "cloudwatch".into(),
                alarms: vec![(0, alarm(AlarmState::Ok))],
                covered: vec![0],
                at: Ts(1500),
            },
        );
        assert_eq!(decision(&s), &Decision::Healthy);
        update(
            &mut s,
            Msg::Alarms {
                source: "cloudwatch".into(),
                alarms: vec![(0, alarm(AlarmState::Alarm))],
                covered: vec![0],
                at: Ts(2000),
            },
        );
        // No environment named: the one on trial (the 10 % canary).
        assert!(
            matches!(
                decision(&s),
                Decision::RollbackRecommended {
                    suspect: 1,
                    target: 0,
                    ..
                }
            ),
            "{:?}",
            decision(&s)
        );
        assert!(
            s.events
                .iter()
                .any(|e| e.text.starts_with("alarm web-5xx OK → ALARM"))
        );
    }

    #[test]
    fn confirm_asks_for_re_probes_on_the_first_failure() {
        let policy = Policy {
            rules: vec![RuleKind::HealthFailures {
                count: 3,
                confirm: 2,
            }],
            ..Policy::default()
        };
        let mut s = state(policy);
        let fx = probe(&mut s, 1, 1000, HealthStatus::Critical);
        assert_eq!(
            fx,
            vec![Effect::Reprobe {
                endpoint: EndpointId {
                    service: 0,
                    env: 1,
                    endpoint: 0
                },
                times: 2
            }]
        );
        assert!(
            probe(&mut s, 1, 1250, HealthStatus::Critical).is_empty(),
            "only the first failure asks"
        );
    }
}
