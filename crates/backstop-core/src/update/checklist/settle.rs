//! Settling a step, the ends of phases and of the checklist, abandoning it,
//! and the outcome of a change landing.

use super::*;

/// Settle the current step from an outcome; whether it settled.
pub(super) fn finish(state: &mut State, service: usize, o: StepOutcome, by: &str, now: Ts) -> bool {
    if let Some(s) = step_mut(state, service) {
        s.evidence.extend(o.evidence.iter().cloned());
    }
    let status = match o.verdict {
        Verdict::Done => StepStatus::Done,
        Verdict::Warned(w) => StepStatus::Warned(w),
        Verdict::Failed(e) => StepStatus::Failed(e),
    };
    if let StepStatus::Failed(e) = &status {
        let name = state.services[service].name.clone();
        let title = step_mut(state, service)
            .map(|s| s.title.clone())
            .unwrap_or_default();
        set_status(state, service, status.clone());
        state.events.push_kind(
            now,
            name,
            Level::Bad,
            Kind::Step,
            format!("step failed: {title}: {e}"),
        );
        return false;
    }
    settle(state, service, status, by, now);
    true
}

/// Settle the current step, log it, move on; handle the ends of phases and of the checklist.
pub(super) fn settle(state: &mut State, service: usize, status: StepStatus, by: &str, now: Ts) {
    let name = state.services[service].name.clone();
    let Some(c) = state.services[service].rollback.checklist.as_mut() else {
        return;
    };
    let Some(step) = c.current() else { return };
    let (title, phase) = (step.title.clone(), step.phase);
    let during_was_done = c.phase_done(Phase::During);
    let (text, level) = match &status {
        StepStatus::Done => (format!("done by {by}: {title}"), Level::Good),
        StepStatus::Warned(w) => (format!("done with a warning: {title}: {w}"), Level::Warn),
        StepStatus::Skipped(why) => (format!("skipped by {by}: {title} — {why}"), Level::Warn),
        _ => (title.clone(), Level::Info),
    };
    let completed = c.settle(status.clone(), by, now);
    // The rollback itself is recorded when its outcome comes back (`landed`).
    let (target, detected) = (c.target, c.detected_at);
    let during_done = !during_was_done && c.phase_done(Phase::During) && phase == Phase::During;
    let recovery = during_done.then(|| recovery(c));
    let counts = c.counts();
    state
        .events
        .push_kind(now, name.clone(), level, Kind::Step, text);
    let svc = &mut state.services[service];
    let tn = svc.envs[target].name.clone();
    match recovery {
        Some(Recovery::Done { skipped_checks }) => {
            let tv = svc.envs[target]
                .version
                .clone()
                .unwrap_or_else(|| "?".into());
            let took = time::human(Duration::from_secs(now.since(detected).as_secs()));
            let verified = match skipped_checks {
                0 => "and verified".to_string(),
                n => format!("with {n} check(s) skipped"),
            };
            let text = format!(
                "recovered: users on {tn} (v{}) {verified}, {took} after detection",
                tv.trim_start_matches('v')
            );
            svc.rollback.in_progress = None;
            if let Some(c) = svc.rollback.checklist.as_mut() {
                c.recovered = Some(now);
            }
            svc.rollback.note(now, TimelineKind::Action, text.clone());
            state
                .events
                .push_kind(now, name.clone(), Level::Good, Kind::Incident, text);
        }
        Some(Recovery::NotDone) => {
            svc.rollback.in_progress = None;
            let text = "the during steps are settled but no switch or revert was done: not recorded as recovered";
            svc.rollback.note(now, TimelineKind::Action, text);
            state
                .events
                .push_kind(now, name.clone(), Level::Warn, Kind::Incident, text);
        }
        None => {}
    }
    if completed {
        let svc = &mut state.services[service];
        svc.rollback.in_progress = None;
        let text = format!(
            "rollback checklist completed: {} done, {} skipped of {}",
            counts.0, counts.1, counts.2
        );
        svc.rollback.note(now, TimelineKind::Action, text.clone());
        state
            .events
            .push_kind(now, name, Level::Good, Kind::Incident, text);
    }
}

/// Whether the rollback itself happened in the during phase.
pub(super) enum Recovery {
    Done { skipped_checks: usize },
    NotDone,
}

/// A during phase with a switch or revert recovers only if one was done; a
/// phase of manual steps, if a person did at least one of them.
pub(super) fn recovery(c: &Checklist) -> Recovery {
    let during = || c.steps.iter().filter(|s| s.phase == Phase::During);
    let is_change = |s: &&crate::runbook::StepRun| {
        matches!(
            s.spec.kind,
            StepKind::Action(Act::SwitchTraffic | Act::RevertDeployment)
        )
    };
    let done = |s: &&crate::runbook::StepRun| s.status == StepStatus::Done;
    let rolled_back = if during().any(|s| is_change(&s)) {
        during().filter(is_change).any(|s| done(&s))
    } else {
        during().any(|s| done(&s))
    };
    if !rolled_back {
        return Recovery::NotDone;
    }
    let skipped_checks = during()
        .filter(|s| !is_change(s) && matches!(s.status, StepStatus::Skipped(_)))
        .count();
    Recovery::Done { skipped_checks }
}

/// Tell the journal how each checklist that has ended ended, once.
pub(in crate::update) fn close_out(state: &mut State) -> Vec<Effect> {
    let mut fx = Vec::new();
    let classes = state.severities.clone();
    for (service, svc) in state.services.iter_mut().enumerate() {
        let Some(c) = svc.rollback.checklist.as_mut() else {
            continue;
        };
        let Some((ended, ending)) = &c.ended else {
            continue;
        };
        if c.close_sent {
            continue;
        }
        c.close_sent = true;
        svc.rollback.last_incident = c.incident.or(svc.rollback.last_incident);
        let by = c.ended_by.clone().unwrap_or_else(|| c.started_by.clone());
        let (ending, recovered, steps) = (ending.to_string(), c.recovered, c.summary());
        fx.push(Effect::CloseIncident {
            incident: c.incident,
            service,
            name: svc.name.clone(),
            ending,
            by,
            recovered,
            steps,
            targets: c.target_scores(),
            missed: c.comms.missed(
                crate::severity::every(&classes, c.comms.severity.as_ref().map(|s| s.level)),
                *ended,
            ),
            comms: c.comms.clone(),
        });
    }
    fx
}

pub(in crate::update) fn abort(
    state: &mut State,
    service: usize,
    why: String,
    by: &str,
    now: Ts,
) -> Vec<Effect> {
    let name = state.services[service].name.clone();
    let svc = &mut state.services[service];
    let Some(c) = svc.rollback.checklist.as_mut() else {
        return Vec::new();
    };
    c.ended = Some((now, Ending::Aborted(why.clone())));
    c.ended_by = Some(by.to_string());
    let suspect = c.suspect;
    svc.rollback.in_progress = None;
    svc.rollback.manual = None;
    // Auto mode must not start the same rollback again behind the person.
    svc.rollback.auto_held = Some(suspect);
    svc.rollback.note(
        now,
        TimelineKind::Action,
        format!("rollback checklist abandoned by {by}: {why}"),
    );
    state.events.push_kind(
        now,
        name,
        Level::Bad,
        Kind::Incident,
        format!("rollback checklist abandoned by {by}: {why}"),
    );
    Vec::new()
}

/// A change's outcome came back: it is no longer on its way, and a switch or
/// revert that succeeded is a rollback — recorded once, even if its
/// checklist was abandoned or put away while it ran.
pub(super) fn landed(
    state: &mut State,
    service: usize,
    run: u64,
    step: usize,
    o: &StepOutcome,
    now: Ts,
) {
    let Some(svc) = state.services.get_mut(service) else {
        return;
    };
    let Some(i) = svc
        .rollback
        .in_flight
        .iter()
        .position(|f| f.run == run && f.step == step)
    else {
        return;
    };
    let f = svc.rollback.in_flight.remove(i);
    if !(f.is_rollback() && o.is_ok()) {
        return;
    }
    // What the cooldown and the limit count.
    svc.rollback.history.push(RollbackRecord {
        at: now,
        from: f.from.clone(),
        to: f.to.clone(),
        by: f.by.clone(),
    });
    svc.rollback.note(
        now,
        TimelineKind::Action,
        format!(
            "rolled back {} by {}",
            crate::decision::route(&f.from, &f.to),
            f.by
        ),
    );
}
