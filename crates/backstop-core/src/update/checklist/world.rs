//! Inputs from the world: step outcomes and previews, probes, traffic and
//! deploy reads, and the clock.

use super::*;

/// The provider's split read back after the switch: `None` while no read
/// has come in since.
pub(super) fn traffic_on_target(state: &State, service: usize) -> Option<StepOutcome> {
    let svc = &state.services[service];
    let c = svc.rollback.checklist.as_ref()?;
    let (suspect, target) = (c.suspect, c.target);
    let Some(t) = &svc.traffic else {
        return Some(StepOutcome::failed("no traffic provider to read", vec![]));
    };
    // Not backstop's own write: a read that came after the switch.
    let switched = c
        .steps
        .iter()
        .filter(|s| matches!(s.spec.kind, StepKind::Action(Act::SwitchTraffic)))
        .filter_map(|s| s.finished)
        .max()
        .unwrap_or(c.started);
    if t.read_at.is_none_or(|r| r < switched) {
        return None;
    }
    let Some(w) = &t.weights else {
        return Some(StepOutcome::failed(
            "the traffic weights are not known",
            vec![],
        ));
    };
    let read = t
        .read_at
        .map(|r| format!(" (read {})", r.hms()))
        .unwrap_or_default();
    let split = crate::update::traffic::split(w);
    let (s, tg) = (
        svc.share(suspect).unwrap_or(0),
        svc.share(target).unwrap_or(0),
    );
    Some(if s == 0 && tg > 0 {
        StepOutcome::ok(vec![format!("{split}{read} via {}", t.provider)])
    } else {
        StepOutcome::failed(
            format!("{} still takes {s} %", svc.envs[suspect].name),
            vec![format!("{split}{read}")],
        )
    })
}

/// A traffic read: a traffic-on-target check waiting for one settles.
pub(in crate::update) fn on_traffic_read(
    state: &mut State,
    service: usize,
    now: Ts,
) -> Vec<Effect> {
    let waiting = state
        .services
        .get(service)
        .and_then(|s| s.rollback.checklist.as_ref())
        .and_then(|c| c.current())
        .is_some_and(|s| {
            matches!(s.spec.kind, StepKind::Check(Check::TrafficOnTarget))
                && matches!(s.status, StepStatus::Running { .. })
        });
    if !waiting {
        return Vec::new();
    }
    let Some(outcome) = traffic_on_target(state, service) else {
        return Vec::new();
    };
    let by = current_by(state, service);
    if finish(state, service, outcome, &by, now) {
        after_settle(state, service, now)
    } else {
        Vec::new()
    }
}

/// A step's work reported back.
pub(in crate::update) fn on_done(
    state: &mut State,
    service: usize,
    run: u64,
    step: usize,
    outcome: StepOutcome,
    now: Ts,
) -> Vec<Effect> {
    landed(state, service, run, step, &outcome, now);
    let Some(c) = state
        .services
        .get(service)
        .and_then(|s| s.rollback.checklist.as_ref())
    else {
        return Vec::new();
    };
    // An answer for another checklist, or another step, is old news.
    if c.run != run
        || c.cursor != step
        || !matches!(
            c.current().map(|s| &s.status),
            Some(StepStatus::Running { .. })
        )
    {
        return Vec::new();
    }
    let by = current_by(state, service);
    let outcome = confirmed_elsewhere(state, service, outcome);
    if outcome.is_ok() && verify_after_command(state, service, &outcome.evidence, now) {
        return Vec::new();
    }
    let mut fx = Vec::new();
    if finish(state, service, outcome, &by, now) {
        fx.extend(after_settle(state, service, now));
    }
    fx
}

/// A restart or a stop whose command succeeded is verified by health: the
/// step keeps running, from now, until the probes say so (`on_probe`) or
/// its time is up (`on_tick`). Whether it waits now.
fn verify_after_command(state: &mut State, service: usize, said: &[String], now: Ts) -> bool {
    let Some(step) = step_mut(state, service) else {
        return false;
    };
    let wanted = match step.spec.kind {
        StepKind::Action(Act::Restart { probes, .. }) => probes,
        StepKind::Action(Act::Stop { .. }) => 1,
        _ => return false,
    };
    step.evidence = said.to_vec();
    step.status = StepStatus::Running { since: now };
    step.progress = Some((0, wanted));
    true
}

/// A re-probe that finds the health endpoint fine does not make an error
/// rate, a latency or an alarm a blip: if such a rule still fires on the
/// suspect, the failure is confirmed by it.
pub(super) fn confirmed_elsewhere(state: &State, service: usize, o: StepOutcome) -> StepOutcome {
    let svc = &state.services[service];
    let Some(c) = svc.rollback.checklist.as_ref() else {
        return o;
    };
    let reprobe = c
        .current()
        .is_some_and(|s| matches!(s.spec.kind, StepKind::Check(Check::Reprobe { .. })));
    if o.is_ok() || !reprobe {
        return o;
    }
    let firing: Vec<String> = svc
        .rollback
        .rules
        .iter()
        .filter(|r| {
            r.status == crate::rules::RuleStatus::Firing && r.env == c.suspect && !r.dry_run
        })
        .filter(|r| {
            matches!(
                r.kind,
                crate::rules::RuleKind::ErrorRate { .. }
                    | crate::rules::RuleKind::Latency { .. }
                    | crate::rules::RuleKind::Compare { .. }
                    | crate::rules::RuleKind::Alarm { .. }
                    // Re-probes pass on degraded (it answers); the rule
                    // still firing says it still is degraded.
                    | crate::rules::RuleKind::DegradedFor { .. }
            )
        })
        .map(|r| format!("{} {} still firing", r.kind.name(), r.observed))
        .collect();
    if firing.is_empty() {
        return o;
    }
    let mut evidence = o.evidence;
    evidence.push(format!(
        "health answers fine, but the failure shows where the rules measure: {}",
        firing.join("; ")
    ));
    StepOutcome::ok(evidence)
}

/// A provider's preview: shown only if it answers the request the step is
/// waiting on (not an earlier one for the same step, made from other
/// weights or revisions). One that could not be made fails the step
/// (retry, skip or abandon).
pub(in crate::update) fn on_preview(
    state: &mut State,
    service: usize,
    run: u64,
    step: usize,
    request: u64,
    result: Result<Vec<String>, String>,
    now: Ts,
) -> Vec<Effect> {
    // What the database says of going back, said before the change is
    // confirmed (and to whoever approves it): the old code meets the
    // schema the new release left.
    let schema_warning = state
        .services
        .get(service)
        .and_then(|s| s.database.as_ref())
        .map(crate::migration::Read::warning)
        .unwrap_or_default();
    let Some(c) = state
        .services
        .get_mut(service)
        .and_then(|s| s.rollback.checklist.as_mut())
    else {
        return Vec::new();
    };
    if c.run != run || c.cursor != step || c.ended.is_some() {
        return Vec::new();
    }
    let Some(s) = c.current_mut() else {
        return Vec::new();
    };
    if s.status != StepStatus::AwaitingPreview || s.request != request {
        return Vec::new();
    }
    match result {
        Ok(mut lines) => {
            let rollback = matches!(
                s.pending,
                Some(crate::msg::StepWork::Switch { .. } | crate::msg::StepWork::Revert { .. })
            );
            if rollback {
                lines.extend(schema_warning);
            }
            s.status = StepStatus::Previewing(lines);
            Vec::new()
        }
        Err(e) => {
            s.pending = None;
            let by = current_by(state, service);
            finish(state, service, StepOutcome::failed(e, vec![]), &by, now);
            Vec::new()
        }
    }
}

pub(in crate::update) fn on_incident(state: &mut State, service: usize, id: i64) {
    if let Some(c) = state
        .services
        .get_mut(service)
        .and_then(|s| s.rollback.checklist.as_mut())
    {
        c.incident = Some(id);
    }
}

/// A probe result: waits count the target's healthy probes in a row.
pub(in crate::update) fn on_probe(
    state: &mut State,
    env: EnvId,
    primary: bool,
    now: Ts,
) -> Vec<Effect> {
    if !primary {
        return Vec::new();
    }
    let status = state.env(env).and_then(|e| e.status);
    let Some(c) = state
        .services
        .get_mut(env.service)
        .and_then(|s| s.rollback.checklist.as_mut())
    else {
        return Vec::new();
    };
    let (target, suspect) = (c.target, c.suspect);
    let Some(step) = c.current_mut() else {
        return Vec::new();
    };
    if !matches!(step.status, StepStatus::Running { .. }) {
        return Vec::new();
    }
    let probes = match (&step.spec.kind, step.progress) {
        (StepKind::Action(Act::WaitHealthy { probes, .. }), _) if env.env == target => *probes,
        // A restart waits once its command has succeeded (progress set).
        (StepKind::Action(Act::Restart { probes, .. }), Some(_)) if env.env == target => *probes,
        (StepKind::Action(Act::Stop { .. }), Some(_)) if env.env == suspect => {
            return stopped(state, env, now);
        }
        _ => return Vec::new(),
    };
    let (n, _) = step.progress.unwrap_or((0, probes));
    let n = if status == Some(HealthStatus::Ok) {
        n + 1
    } else {
        0
    };
    step.progress = Some((n, probes));
    if n < probes {
        return Vec::new();
    }
    let tname = state.services[env.service].envs[env.env].name.clone();
    let by = state.services[env.service]
        .rollback
        .checklist
        .as_ref()
        .and_then(|c| c.current())
        .and_then(|s| s.by.clone())
        .unwrap_or_default();
    finish(
        state,
        env.service,
        StepOutcome::ok(vec![format!(
            "{tname} healthy for {probes} probes in a row"
        )]),
        &by,
        now,
    );
    after_settle(state, env.service, now)
}

/// A stop verified: every endpoint of the stopped environment unreachable.
fn stopped(state: &mut State, env: EnvId, now: Ts) -> Vec<Effect> {
    let e = &state.services[env.service].envs[env.env];
    let all_down = !e.endpoints.is_empty()
        && e.endpoints
            .iter()
            .all(|ep| ep.status() == Some(HealthStatus::Unreachable));
    if !all_down {
        return Vec::new();
    }
    let said = format!(
        "{} stopped: its {} endpoint(s) no longer answer",
        e.name,
        e.endpoints.len()
    );
    let by = current_by(state, env.service);
    finish(state, env.service, StepOutcome::ok(vec![said]), &by, now);
    after_settle(state, env.service, now)
}

/// The clock: error-rate watches and time limits.
pub(in crate::update) fn on_tick(state: &mut State, now: Ts) -> Vec<Effect> {
    let mut fx = Vec::new();
    for service in 0..state.services.len() {
        let Some(c) = state.services[service].rollback.checklist.as_ref() else {
            continue;
        };
        let Some(step) = c.current() else { continue };
        let StepStatus::Running { since } = step.status else {
            continue;
        };
        let by = step.by.clone().unwrap_or_default();
        let target = c.target;
        let outcome = match step.spec.kind.clone() {
            StepKind::Action(Act::WaitHealthy { probes, timeout })
                if now.since(since) >= timeout =>
            {
                let n = step.progress.map_or(0, |p| p.0);
                Some(StepOutcome::failed(
                    format!(
                        "not healthy {probes} probes in a row within {} ({n} so far)",
                        time::human(timeout)
                    ),
                    vec![],
                ))
            }
            StepKind::Check(Check::ErrorRateBelow {
                threshold,
                hold,
                timeout,
            }) => error_rate_below(state, service, target, threshold, hold, timeout, since, now),
            StepKind::Action(Act::Restart {
                probes, timeout, ..
            }) if step.progress.is_some() && now.since(since) >= timeout => {
                let n = step.progress.map_or(0, |p| p.0);
                Some(StepOutcome::failed(
                    format!(
                        "restarted, but not healthy {probes} probes in a row within {} ({n} so far)",
                        time::human(timeout)
                    ),
                    step.evidence.clone(),
                ))
            }
            StepKind::Action(Act::Stop { timeout, .. })
                if step.progress.is_some() && now.since(since) >= timeout =>
            {
                Some(StepOutcome::failed(
                    format!(
                        "the stop command succeeded, but its probes still get answers after {}",
                        time::human(timeout)
                    ),
                    step.evidence.clone(),
                ))
            }
            StepKind::Action(Act::WaitStable { timeout }) if now.since(since) >= timeout => {
                Some(StepOutcome::failed(
                    format!("not stable within {}", time::human(timeout)),
                    step.evidence.last().cloned().into_iter().collect(),
                ))
            }
            StepKind::Check(Check::TrafficOnTarget) if now.since(since) >= READ_BACK => {
                Some(StepOutcome::failed(
                    format!(
                        "no read-back from the traffic provider within {} of the switch (see the Traffic pane)",
                        time::human(READ_BACK)
                    ),
                    vec![],
                ))
            }
            _ => None,
        };
        if let Some(o) = outcome
            && finish(state, service, o, &by, now)
        {
            fx.extend(after_settle(state, service, now));
        }
    }
    fx
}

#[allow(clippy::too_many_arguments)]
pub(super) fn error_rate_below(
    state: &mut State,
    service: usize,
    target: usize,
    threshold: f64,
    hold: Duration,
    timeout: Duration,
    since: Ts,
    now: Ts,
) -> Option<StepOutcome> {
    let env = &state.services[service].envs[target];
    let stats = match &env.metrics.traffic {
        Some(t) => t.one_min,
        None => env.metrics.probes.stats(now, Duration::from_secs(60)),
    };
    let name = env.name.clone();
    // No requests measured is no evidence: it does not count as under.
    let below = stats.requests > 0 && stats.error_rate < threshold;
    let step = step_mut(state, service)?;
    let pct = |f: f64| format!("{:.1} %", f * 100.0);
    if below {
        let ok_since = *step.ok_since.get_or_insert(now);
        let held = now.since(ok_since);
        step.progress = Some((held.as_secs() as u32, hold.as_secs() as u32));
        if held >= hold {
            return Some(StepOutcome::ok(vec![format!(
                "{name} error rate {} < {} for {}",
                pct(stats.error_rate),
                pct(threshold),
                time::human(hold)
            )]));
        }
    } else {
        step.ok_since = None;
        step.progress = Some((0, hold.as_secs() as u32));
    }
    (now.since(since) >= timeout).then(|| {
        StepOutcome::failed(
            format!(
                "{name} error rate did not stay under {} for {} within {}",
                pct(threshold),
                time::human(hold),
                time::human(timeout)
            ),
            vec![if stats.requests == 0 {
                format!("no requests measured on {name}")
            } else {
                format!("now {}", pct(stats.error_rate))
            }],
        )
    })
}

/// A deploy read: a wait-stable step follows the reverted environment.
pub(in crate::update) fn on_deploy(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
    let Some(svc) = state.services.get(service) else {
        return Vec::new();
    };
    let Some(c) = svc.rollback.checklist.as_ref() else {
        return Vec::new();
    };
    let Some(step) = c.current() else {
        return Vec::new();
    };
    if !matches!(step.spec.kind, StepKind::Action(Act::WaitStable { .. }))
        || !matches!(step.status, StepStatus::Running { .. })
    {
        return Vec::new();
    }
    let env_name = svc.envs[c.suspect].name.clone();
    let Some(deploy) = svc.deploy.as_ref() else {
        return Vec::new();
    };
    // Only a read made after the step began says anything about the rollout.
    let since = step.started.unwrap_or(c.started);
    if deploy.read_at.is_none_or(|r| r < since) {
        return Vec::new();
    }
    let Some(d) = deploy.env(&env_name).cloned() else {
        return Vec::new();
    };
    // Until the service points at the revision reverted to, any answer is
    // from before the revert (or ECS has not taken it yet).
    let pointed = match (&c.reverted_to, &c.reverted_from) {
        (Some(to), _) => *to == d.current,
        (None, Some(from)) => *from != d.current,
        (None, None) => true,
    };
    // ECS's own rollback that failed leaves the service where it was (not
    // on the revision reverted to): its failure, once it ended after this
    // step began, is the answer, in ECS's words.
    let native_failed = d.current_deployment().is_some_and(|x| {
        x.status == "ROLLBACK_FAILED"
            && x.finished
                .or(x.rollback.as_ref().and_then(|r| r.started))
                .is_some_and(|t| t >= since)
    });
    let stability = if pointed || native_failed {
        d.stability()
    } else {
        Stability::Rolling {
            running: 0,
            desired: 0,
            pending: 0,
        }
    };
    let outcome = match stability {
        Stability::Stable => StepOutcome::ok(vec![format!(
            "{}: {} stable ({})",
            d.name,
            d.current,
            d.summary()
        )]),
        Stability::Failed(why) => StepOutcome::failed(
            format!("the rollout of {} failed: {why}", d.current),
            vec![d.summary()],
        ),
        Stability::Rolling {
            running, desired, ..
        } => {
            if let Some(s) = step_mut(state, service) {
                s.progress = Some((running, desired));
                let line = d.summary();
                if s.evidence.last() != Some(&line) {
                    s.evidence.push(line);
                }
            }
            return Vec::new();
        }
    };
    let by = current_by(state, service);
    if finish(state, service, outcome, &by, now) {
        after_settle(state, service, now)
    } else {
        Vec::new()
    }
}
