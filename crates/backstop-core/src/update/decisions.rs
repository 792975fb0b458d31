//! Rules and decisions: evaluate every rule of a service against what is
//! known now, decide, and say so — in the event log with the values, and in
//! the service's timeline for the "why" view. In `auto` mode, act.

use std::time::Duration;

use crate::decision::{self, Decision, EnvFacts, Facts, Mode, RuleFacts};
use crate::deploy::Verdict;
use crate::events::Level;
use crate::health::HealthStatus;
use crate::metrics::WindowStats;
use crate::model::{State, TimelineKind};
use crate::msg::Effect;
use crate::rules::{AlarmObservation, Observation, RuleKind, RuleStatus, judge};

use super::compare::compare_all;
use crate::time::{self, Ts};

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
    let mut effects = evaluate_rules(state, service, now);
    effects.extend(decide(state, service, now));
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

fn evaluate_rules(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
    let trial = on_trial(state, service);
    let target = target_of(state, service, trial);
    let compared = compare_all(state, service, trial, target, now);
    let n = state.services[service].rollback.rules.len();
    let mut effects = Vec::new();
    for i in 0..n {
        // Read in place (this runs for every rule at every probe answer).
        let (verdict, env, evidence) = {
            let r = &state.services[service].rollback.rules[i];
            let env = match &r.kind {
                RuleKind::Alarm {
                    env: Some(named), ..
                } => state.services[service]
                    .envs
                    .iter()
                    .position(|e| &e.name == named)
                    .unwrap_or(trial),
                RuleKind::Alarm { env: None, .. } => trial,
                _ => r.env,
            };
            let mut obs = observe(state, service, env, &r.kind, now);
            obs.compare = compared.get(i).cloned().flatten();
            let verdict = judge(&r.kind, &obs, now);
            let evidence = (verdict.met && verdict.observed != r.observed)
                .then(|| evidence(state, service, env, &r.kind, &verdict.observed, &obs));
            (verdict, env, evidence)
        };
        let svc = &mut state.services[service];
        let rule = &mut svc.rollback.rules[i];
        rule.env = env;
        let Some(t) = rule.step(verdict, now, evidence) else {
            continue;
        };
        // A rule on probation says what it would have done, and the journal
        // keeps it (for `report --stats`); it never reaches the decision.
        let probation = if rule.dry_run { "(dry run) " } else { "" };
        // Only a transition is said: the label is made for it alone (this
        // runs for every rule at every probe answer).
        let label = svc
            .envs
            .get(env)
            .map_or_else(|| "?".to_string(), |e| format!("{}/{}", svc.name, e.name));
        let text = match t.to {
            RuleStatus::Firing => format!(
                "{probation}rule {} FIRING: {} {}",
                rule.kind.name(),
                rule.observed,
                rule.kind.threshold()
            ),
            RuleStatus::Pending => {
                let when = rule
                    .fires_at()
                    .map(|at| format!(" — fires at {} if it holds", at.hms()))
                    .unwrap_or_default();
                let note = rule
                    .note
                    .as_ref()
                    .map(|n| format!("; {n}"))
                    .unwrap_or_default();
                format!(
                    "{probation}rule {} pending: {} {}{when}{note}",
                    rule.kind.name(),
                    rule.observed,
                    rule.kind.threshold()
                )
            }
            RuleStatus::Ok => format!(
                "{probation}rule {} ok again ({})",
                rule.kind.name(),
                rule.observed
            ),
        };
        if rule.dry_run && (t.to == RuleStatus::Firing || t.from == RuleStatus::Firing) {
            effects.push(Effect::DryRun {
                service: svc.name.clone(),
                env: svc
                    .envs
                    .get(env)
                    .map(|e| e.name.clone())
                    .unwrap_or_default(),
                rule: rule.kind.name(),
                firing: t.to == RuleStatus::Firing,
                text: text.clone(),
            });
        }
        // The sample that started the condition, and the one that made it fire.
        let first = rule.first_evidence.clone();
        let latest = rule.evidence.back().cloned();
        if t.from == RuleStatus::Ok
            && t.to != RuleStatus::Ok
            && let Some(ev) = &first
        {
            svc.rollback.note(
                ev.at,
                TimelineKind::Evidence,
                format!("{probation}{}", ev.text),
            );
        }
        if t.to == RuleStatus::Firing
            && let Some(ev) = latest
            && Some(&ev) != first.as_ref()
        {
            svc.rollback.note(
                ev.at,
                TimelineKind::Evidence,
                format!("{probation}{}", ev.text),
            );
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
            .push_kind(now, label, level, crate::events::Kind::Rule, text);
    }
    effects
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
            platform_acting: &[],
        };
        if let Some(stable) = decision::target(&f, env) {
            o.baseline = stats(state, service, stable, window, now);
        }
    }
    if let RuleKind::Alarm { name, .. } = kind {
        // `web-*` watches every alarm named so; one in ALARM is what counts.
        let matches = |a: &&crate::model::ExternalAlarm| match name.strip_suffix('*') {
            Some(prefix) => a.name.starts_with(prefix),
            None => &a.name == name,
        };
        o.alarm = svc
            .alarms
            .iter()
            .filter(matches)
            .max_by_key(|a| a.state == crate::rules::AlarmState::Alarm)
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
    let label = state.env_label(crate::model::EnvId { service, env });
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
        RuleKind::Compare { .. } => match &o.compare {
            Some(c) => match &c.comparison {
                Ok(cmp) => format!("{label}: {}", cmp.explain(&c.canary, &c.baseline)),
                Err(why) => format!("{label}: {why}"),
            },
            None => format!("{label}: {observed}"),
        },
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
        .filter(|r| r.status != RuleStatus::Ok && !r.dry_run)
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
    // ECS's own verdicts are evidence like an alarm: a tripped circuit
    // breaker or a failed ECS rollback fires; an ECS rollback under way
    // fires too but blocks backstop's own (never two rollbacks at once).
    let mut rules = rules;
    let mut platform_acting = Vec::new();
    for (env, verdict) in ecs_verdicts(state, service) {
        let text = format!("{}: {}", envs[env].name, verdict.text());
        if matches!(verdict, Verdict::RollingBack(_)) {
            platform_acting.push((env, text.clone()));
        }
        if verdict.fires() {
            rules.push(RuleFacts {
                env,
                status: RuleStatus::Firing,
                always_relevant: true,
                fires_at: None,
                reason: text,
            });
        }
    }
    let svc = &state.services[service];
    let counted = svc.rollback.counted();
    let f = Facts {
        policy: &svc.rollback.policy,
        envs: &envs,
        rules: &rules,
        rollbacks: &counted,
        // A rollback under way is one whichever backstop of the room runs it.
        in_progress: svc
            .rollback
            .in_progress
            .clone()
            .or_else(|| svc.rollback.under_way_elsewhere(&svc.envs)),
        // A console that joined a team drill has no provider of its own:
        // the drill's driver has, and its decision is the one shown.
        can_shift: state.approve_only || svc.traffic.as_ref().is_some_and(|t| t.weights.is_some()),
        // A revert in place only where no traffic provider is configured: a
        // blue/green service whose weights are not read yet is not an ECS one.
        can_revert: svc.traffic.is_none() && svc.deploy.is_some(),
        platform_acting: &platform_acting,
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
        .push_kind(now, name, level, crate::events::Kind::Decision, text);
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
                crate::decision::route(&name(suspect), &name(target)),
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
                crate::decision::route(&name(suspect), &name(target))
            )
        }
        Decision::RolledBack {
            suspect,
            target,
            at,
        } => {
            format!(
                "decision → ROLLED BACK {} at {}",
                crate::decision::route(&name(suspect), &name(target)),
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
    // Auto mode is the driver's: never a console that only watches, nor one
    // another backstop of the room drives for, nor while a change of the
    // service is in flight anywhere in the room.
    if super::may_act(state, service).is_err() || !svc.rollback.elsewhere.is_empty() {
        return Vec::new();
    }
    // Nor while backstop itself is late: what it saw meanwhile may be its
    // own delay. It acts when it is on time again, if the rules still fire.
    if state.late.is_some() {
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
        platform_acting: &[],
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

/// ECS's verdict on each environment's newest service deployment, by
/// environment index. A verdict on a deployment that finished before this
/// console started reading is still shown (the pane), but only one that is
/// not over yet (a rollback under way or failed, a breaker tripped on a
/// deployment still listed as current) is evidence here.
pub(super) fn ecs_verdicts(state: &State, service: usize) -> Vec<(usize, Verdict)> {
    let Some(svc) = state.services.get(service) else {
        return Vec::new();
    };
    let Some(d) = svc.deploy.as_ref() else {
        return Vec::new();
    };
    svc.envs
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((i, d.env(&e.name)?.verdict()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::update::testkit::*;

    use crate::action::Action;
    use crate::decision::{Decision, Policy};
    use crate::health::HealthStatus;

    use crate::model::{EndpointId, ExternalAlarm, Overlay, TimelineKind};
    use crate::msg::{Effect, Msg};

    use crate::rules::{AlarmState, RuleKind, RuleStatus};

    use crate::time::Ts;

    use crate::update::update;

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
