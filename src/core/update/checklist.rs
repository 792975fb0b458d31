//! The rollback checklist: one step at a time. Manual steps are ticked;
//! checks are verified here from what is known, or by the executor with
//! fresh probes; actions that change the world show exactly what they will do
//! and wait for a second key. Auto mode does the same without the keys, and
//! leaves what only a person can do to a person.

use std::time::Duration;

use crate::core::action::Action;
use crate::core::decision::{Decision, RollbackRecord};
use crate::core::events::{Kind, Level};
use crate::core::health::HealthStatus;
use crate::core::model::{EnvId, InputPurpose, Pane, State, TextInput, TimelineKind};
use crate::core::msg::{Effect, StepOutcome, StepWork, TextKey};
use crate::core::runbook::{
    Act, Check, Checklist, Ending, Names, Phase, StepKind, StepStatus, Template,
};

use crate::core::time::{self, Ts};
use crate::core::traffic::rollback_weights;

const LEFT_FOR_A_PERSON: &str = "left for a person (auto mode)";

/// `v1.0.1` (the runbooks' `{suspect_version}`), `v?` before the first answer.
fn version(state: &State, service: usize, env: usize) -> String {
    let v = state.services[service].envs[env]
        .version
        .clone()
        .unwrap_or_else(|| "?".into());
    format!("v{}", v.trim_start_matches('v'))
}

/// Open a checklist for rolling `service` back from `suspect` to `target`.
#[allow(clippy::too_many_arguments)]
pub(super) fn start(
    state: &mut State,
    service: usize,
    suspect: usize,
    target: usize,
    by: String,
    auto: bool,
    reasons: Vec<String>,
    now: Ts,
) -> Vec<Effect> {
    let svc = &state.services[service];
    let (sn, tn) = (
        svc.envs[suspect].name.clone(),
        svc.envs[target].name.clone(),
    );
    let (sv, tv) = (
        version(state, service, suspect),
        version(state, service, target),
    );
    let names = Names {
        service: &svc.name,
        suspect: &sn,
        target: &tn,
        suspect_version: &sv,
        target_version: &tv,
    };
    let runbook = svc.rollback.runbook.clone();
    let mut c = Checklist::new(&runbook, &names, service, suspect, target, &by, auto, now);
    c.reasons = reasons.clone();
    let detected = match &svc.rollback.decision {
        Decision::RollbackRecommended { .. } | Decision::Blocked { .. } => {
            svc.rollback.decision_since
        }
        _ => now,
    };
    c.detected_at = detected;
    let s = &svc.envs[suspect];
    c.began = [s.fault_since, s.degraded_since]
        .into_iter()
        .flatten()
        .min()
        .filter(|b| *b <= detected);
    let began = c.began;
    let name = svc.name.clone();
    let svc = &mut state.services[service];
    svc.rollback.checklist = Some(c);
    svc.rollback.in_progress = Some((suspect, target, now, by.clone()));
    svc.rollback.note(
        now,
        TimelineKind::Action,
        format!(
            "rollback checklist started by {by}: {sn} → {tn} (runbook {})",
            runbook.name
        ),
    );
    let mode = if auto { " in auto mode" } else { "" };
    state.events.push_kind(
        now,
        name.clone(),
        Level::Warn,
        Kind::Incident,
        format!(
            "rollback checklist started by {by}{mode}: {sn} → {tn}, runbook {}",
            runbook.name
        ),
    );
    state.ui.focus = Pane::Checklist;
    let mut fx = vec![Effect::OpenIncident {
        service,
        name,
        suspect: sn,
        target: tn,
        runbook: runbook.name,
        by,
        auto,
        reasons,
        began,
        detected,
    }];
    fx.extend(after_settle(state, service, now));
    fx
}

/// Verifications start by themselves when their turn comes: they change
/// nothing, and their evidence is what the operator waits for.
fn runs_itself(kind: &StepKind) -> bool {
    matches!(
        kind,
        StepKind::Check(_) | StepKind::Action(Act::WaitHealthy { .. } | Act::Smoke)
    )
}

/// Whether the step whose turn it is now starts without a key.
fn next_starts_itself(state: &State, service: usize) -> bool {
    state.services[service]
        .rollback
        .checklist
        .as_ref()
        .and_then(|c| Some((c.auto, c.current()?)))
        .is_some_and(|(auto, s)| {
            s.status == StepStatus::Current && (auto || runs_itself(&s.spec.kind))
        })
}

/// Do the current step, and every step after it that starts by itself and
/// finishes at once (all of them in auto mode).
fn begin(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
    let mut fx = Vec::new();
    // Each pass settles a step or starts waiting for one; a runbook is finite.
    for _ in 0..256 {
        let Some(c) = state.services[service].rollback.checklist.as_ref() else {
            break;
        };
        let Some(step) = c.current() else { break };
        if !matches!(step.status, StepStatus::Current) {
            break;
        }
        let (settled, more) = do_step(state, service, now);
        fx.extend(more);
        if !(settled && next_starts_itself(state, service)) {
            break;
        }
    }
    fx
}

/// Start the current step. Returns whether it settled at once, and the effects.
fn do_step(state: &mut State, service: usize, now: Ts) -> (bool, Vec<Effect>) {
    let by = state.operator.clone();
    let Some(c) = state.services[service].rollback.checklist.as_ref() else {
        return (false, Vec::new());
    };
    let Some(step) = c.current() else {
        return (false, Vec::new());
    };
    let (kind, title, idx, auto, suspect, target, incident) = (
        step.spec.kind.clone(),
        step.title.clone(),
        c.cursor,
        c.auto,
        c.suspect,
        c.target,
        c.incident,
    );
    let who = if auto {
        "backstop (auto)".to_string()
    } else {
        by.clone()
    };
    let name = state.services[service].name.clone();
    let tname = state.services[service].envs[target].name.clone();
    let sname = state.services[service].envs[suspect].name.clone();
    if let Some(s) = step_mut(state, service) {
        s.started.get_or_insert(now);
        s.by = Some(who.clone());
    }
    let effect = |work: StepWork| Effect::Step {
        service,
        name: name.clone(),
        step: idx,
        title: title.clone(),
        incident,
        by: who.clone(),
        work,
    };
    // A step that takes time is journaled when it starts as well as when it ends.
    let running = |state: &mut State| {
        set_status(state, service, StepStatus::Running { since: now });
        state.events.push_kind(
            now,
            name.clone(),
            Level::Info,
            Kind::Step,
            format!("started by {who}: {title}"),
        );
    };
    match kind {
        StepKind::Manual | StepKind::Action(Act::Note) if auto => {
            settle(
                state,
                service,
                StepStatus::Skipped(LEFT_FOR_A_PERSON.into()),
                &who,
                now,
            );
            (true, Vec::new())
        }
        StepKind::Manual => {
            settle(state, service, StepStatus::Done, &who, now);
            (true, Vec::new())
        }
        StepKind::Action(Act::Note) => {
            state.ui.input = Some(TextInput {
                purpose: InputPurpose::Note { service },
                prompt: format!("{title}: "),
                text: String::new(),
            });
            (false, Vec::new())
        }
        StepKind::Check(Check::Reprobe { count }) => {
            running(state);
            (
                false,
                vec![effect(StepWork::Reprobe {
                    env: suspect,
                    count,
                })],
            )
        }
        StepKind::Check(Check::TargetHealthy) => {
            let env = &state.services[service].envs[target];
            let summary = env
                .endpoints
                .iter()
                .filter_map(|e| {
                    e.last
                        .as_ref()
                        .map(|l| format!("{}: {}", e.role, l.report.summary))
                })
                .next()
                .unwrap_or_default();
            let outcome = match env.status {
                Some(s @ (HealthStatus::Ok | HealthStatus::Degraded)) => {
                    StepOutcome::ok(vec![format!("{tname} is {} ({summary})", s.as_str())])
                }
                Some(s) => StepOutcome::failed(
                    format!(
                        "{tname} is {}: not a safe place to roll back to",
                        s.as_str()
                    ),
                    vec![summary],
                ),
                None => {
                    StepOutcome::failed(format!("{tname} has not answered a probe yet"), vec![])
                }
            };
            (finish(state, service, outcome, &who, now), Vec::new())
        }
        StepKind::Check(Check::TrafficOnTarget) => {
            let outcome = traffic_on_target(state, service, suspect, target);
            (finish(state, service, outcome, &who, now), Vec::new())
        }
        StepKind::Check(Check::ErrorRateBelow { .. }) => {
            running(state);
            (false, Vec::new())
        }
        StepKind::Action(Act::WaitHealthy { probes, .. }) => {
            running(state);
            if let Some(s) = step_mut(state, service) {
                s.progress = Some((0, probes));
            }
            (false, Vec::new())
        }
        StepKind::Action(Act::Smoke) => {
            running(state);
            (false, vec![effect(StepWork::Smoke { env: tname })])
        }
        StepKind::Action(Act::SwitchTraffic) => {
            let Some(from) = state.services[service]
                .traffic
                .as_ref()
                .and_then(|t| t.weights.clone())
            else {
                let outcome = StepOutcome::failed(
                    "the traffic weights are not known (the provider has not been read)",
                    vec![],
                );
                return (finish(state, service, outcome, &who, now), Vec::new());
            };
            let to = rollback_weights(&from, &sname, &tname);
            if auto {
                running(state);
                (false, vec![effect(StepWork::Switch { from, to })])
            } else {
                set_status(state, service, StepStatus::AwaitingPreview);
                (false, vec![effect(StepWork::PreviewSwitch { from, to })])
            }
        }
        StepKind::Action(Act::RevertDeployment) => {
            if auto {
                running(state);
                (false, vec![effect(StepWork::Revert { env: sname })])
            } else {
                set_status(state, service, StepStatus::AwaitingPreview);
                (false, vec![effect(StepWork::PreviewRevert { env: sname })])
            }
        }
        StepKind::Action(Act::Notify { template }) => {
            let text = message(state, service, template, now);
            if auto {
                running(state);
                (false, vec![effect(StepWork::Notify { template, text })])
            } else {
                let mut lines = if state.notifiers.is_empty() {
                    vec!["no notifier is configured ([[notify]]): the message is journaled; tell the team yourself".to_string()]
                } else {
                    vec![format!("to {}:", state.notifiers.join(", "))]
                };
                lines.extend(text.lines().map(|l| format!("  {l}")));
                set_status(state, service, StepStatus::Previewing(lines));
                (false, Vec::new())
            }
        }
        StepKind::Action(Act::Command { argv, timeout }) => {
            if auto {
                running(state);
                (
                    false,
                    vec![effect(StepWork::Command {
                        argv,
                        timeout,
                        env: tname,
                    })],
                )
            } else {
                let lines = vec![
                    format!("$ {}", crate::core::argv::display(&argv)),
                    format!(
                        "with TARGET_URL set to {tname}'s address; killed after {}",
                        time::human(timeout)
                    ),
                ];
                set_status(state, service, StepStatus::Previewing(lines));
                (false, Vec::new())
            }
        }
    }
}

/// The second key: run what the preview showed.
fn confirm(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
    let by = state.operator.clone();
    let Some(c) = state.services[service].rollback.checklist.as_ref() else {
        return Vec::new();
    };
    let Some(step) = c.current() else {
        return Vec::new();
    };
    if !matches!(step.status, StepStatus::Previewing(_)) {
        return Vec::new();
    }
    let (kind, title, idx, suspect, target, incident) = (
        step.spec.kind.clone(),
        step.title.clone(),
        c.cursor,
        c.suspect,
        c.target,
        c.incident,
    );
    let name = state.services[service].name.clone();
    let (sname, tname) = (
        state.services[service].envs[suspect].name.clone(),
        state.services[service].envs[target].name.clone(),
    );
    let work = match kind {
        StepKind::Action(Act::SwitchTraffic) => {
            let Some(from) = state.services[service]
                .traffic
                .as_ref()
                .and_then(|t| t.weights.clone())
            else {
                return Vec::new();
            };
            let to = rollback_weights(&from, &sname, &tname);
            StepWork::Switch { from, to }
        }
        StepKind::Action(Act::RevertDeployment) => StepWork::Revert { env: sname },
        StepKind::Action(Act::Notify { template }) => StepWork::Notify {
            template,
            text: message(state, service, template, now),
        },
        StepKind::Action(Act::Command { argv, timeout }) => StepWork::Command {
            argv,
            timeout,
            env: tname,
        },
        _ => return Vec::new(),
    };
    set_status(state, service, StepStatus::Running { since: now });
    state.events.push_kind(
        now,
        name.clone(),
        Level::Warn,
        Kind::Step,
        format!("confirmed by {by}: {title}"),
    );
    vec![Effect::Step {
        service,
        name,
        step: idx,
        title,
        incident,
        by,
        work,
    }]
}

fn step_mut(state: &mut State, service: usize) -> Option<&mut crate::core::runbook::StepRun> {
    state.services[service]
        .rollback
        .checklist
        .as_mut()?
        .current_mut()
}

fn set_status(state: &mut State, service: usize, status: StepStatus) {
    if let Some(s) = step_mut(state, service) {
        s.status = status;
    }
}

/// Settle the current step from an outcome; whether it settled.
fn finish(state: &mut State, service: usize, o: StepOutcome, by: &str, now: Ts) -> bool {
    if let Some(s) = step_mut(state, service) {
        s.evidence.extend(o.evidence.iter().cloned());
    }
    let status = match (o.ok, o.warning, o.error) {
        (true, Some(w), _) => StepStatus::Warned(w),
        (true, None, _) => StepStatus::Done,
        (false, _, e) => StepStatus::Failed(e.unwrap_or_else(|| "failed".into())),
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
fn settle(state: &mut State, service: usize, status: StepStatus, by: &str, now: Ts) {
    let name = state.services[service].name.clone();
    let Some(c) = state.services[service].rollback.checklist.as_mut() else {
        return;
    };
    let Some(step) = c.current() else { return };
    let (title, kind, phase) = (step.title.clone(), step.spec.kind.clone(), step.phase);
    let during_was_done = c.phase_done(Phase::During);
    let (text, level) = match &status {
        StepStatus::Done => (format!("done by {by}: {title}"), Level::Good),
        StepStatus::Warned(w) => (format!("done with a warning: {title}: {w}"), Level::Warn),
        StepStatus::Skipped(why) => (format!("skipped by {by}: {title} — {why}"), Level::Warn),
        _ => (title.clone(), Level::Info),
    };
    let completed = c.settle(status.clone(), by, now);
    let (suspect, target, detected) = (c.suspect, c.target, c.detected_at);
    let rolled_back = matches!(
        kind,
        StepKind::Action(Act::SwitchTraffic | Act::RevertDeployment)
    ) && status == StepStatus::Done;
    let during_done = !during_was_done && c.phase_done(Phase::During) && phase == Phase::During;
    let counts = c.counts();
    state
        .events
        .push_kind(now, name.clone(), level, Kind::Step, text);
    let svc = &mut state.services[service];
    let (sn, tn) = (
        svc.envs[suspect].name.clone(),
        svc.envs[target].name.clone(),
    );
    if rolled_back {
        // The rollback itself: what the cooldown and the limit count.
        svc.rollback.history.push(RollbackRecord {
            at: now,
            from: sn.clone(),
            to: tn.clone(),
            by: by.to_string(),
        });
        svc.rollback.note(
            now,
            TimelineKind::Action,
            format!("rolled back {sn} → {tn} by {by}"),
        );
    }
    if during_done {
        let tv = svc.envs[target]
            .version
            .clone()
            .unwrap_or_else(|| "?".into());
        let took = time::human(Duration::from_secs(now.since(detected).as_secs()));
        let text = format!(
            "recovered: users on {tn} (v{}) and verified, {took} after detection",
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

fn traffic_on_target(state: &State, service: usize, suspect: usize, target: usize) -> StepOutcome {
    let svc = &state.services[service];
    let Some(t) = &svc.traffic else {
        return StepOutcome::failed("no traffic provider to read", vec![]);
    };
    let Some(w) = &t.weights else {
        return StepOutcome::failed("the traffic weights are not known", vec![]);
    };
    let read = t
        .read_at
        .map(|r| format!(" (read {})", r.hms()))
        .unwrap_or_default();
    let split = super::traffic::split(w);
    let (s, tg) = (
        svc.share(suspect).unwrap_or(0),
        svc.share(target).unwrap_or(0),
    );
    if s == 0 && tg > 0 {
        StepOutcome::ok(vec![format!("{split}{read} via {}", t.provider)])
    } else {
        StepOutcome::failed(
            format!("{} still takes {s} %", svc.envs[suspect].name),
            vec![format!("{split}{read}")],
        )
    }
}

/// The message for the team, modelled on the reference templates.
pub fn message(state: &State, service: usize, template: Template, now: Ts) -> String {
    let svc = &state.services[service];
    let Some(c) = &svc.rollback.checklist else {
        return String::new();
    };
    let (s, t) = (&svc.envs[c.suspect], &svc.envs[c.target]);
    let v = |e: &crate::core::model::EnvState| {
        e.version
            .clone()
            .map_or("?".into(), |v| format!("v{}", v.trim_start_matches('v')))
    };
    match template {
        Template::RollbackStarted => {
            let reason = if c.reasons.is_empty() {
                "asked by the operator".to_string()
            } else {
                c.reasons.join("; ")
            };
            format!(
                "ROLLBACK IN PROGRESS: {}\nVersion: {} → {} ({} → {})\nReason: {reason}\nStatus: switching traffic to the previous version\nBy: {}\nETA: 5 minutes",
                svc.name,
                v(s),
                v(t),
                s.name,
                t.name,
                c.started_by
            )
        }
        Template::RollbackCompleted => {
            let impact = time::human(Duration::from_secs(now.since(c.detected_at).as_secs()));
            format!(
                "ROLLBACK COMPLETED: {}\nVersion: now running {} on {}\nStatus: {} healthy, traffic verified\nImpact: {impact} from detection to recovery\nNext steps: post-mortem, regression test, re-deploy the fix",
                svc.name,
                v(t),
                t.name,
                t.name
            )
        }
    }
}

/// A step's work reported back.
pub(super) fn on_done(
    state: &mut State,
    service: usize,
    step: usize,
    outcome: StepOutcome,
    now: Ts,
) -> Vec<Effect> {
    let Some(c) = state
        .services
        .get(service)
        .and_then(|s| s.rollback.checklist.as_ref())
    else {
        return Vec::new();
    };
    // A preview that could not be made fails the step as well (retry, skip or abort).
    if c.cursor != step
        || !matches!(
            c.current().map(|s| &s.status),
            Some(StepStatus::Running { .. } | StepStatus::AwaitingPreview)
        )
    {
        return Vec::new();
    }
    let by = c.steps[step]
        .by
        .clone()
        .unwrap_or_else(|| state.operator.clone());
    let mut fx = Vec::new();
    if finish(state, service, outcome, &by, now) {
        fx.extend(after_settle(state, service, now));
    }
    fx
}

/// After a step settles: the next one, if it starts by itself.
fn after_settle(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
    if next_starts_itself(state, service) {
        begin(state, service, now)
    } else {
        Vec::new()
    }
}

/// Tell the journal how each checklist that has ended ended, once.
pub(super) fn close_out(state: &mut State) -> Vec<Effect> {
    let by = state.operator.clone();
    let mut fx = Vec::new();
    for (service, svc) in state.services.iter_mut().enumerate() {
        let Some(c) = svc.rollback.checklist.as_mut() else {
            continue;
        };
        let Some((_, ending)) = &c.ended else {
            continue;
        };
        if c.close_sent {
            continue;
        }
        c.close_sent = true;
        let by = if c.auto {
            "backstop (auto)".to_string()
        } else {
            by.clone()
        };
        let (ending, recovered, steps) = (ending.to_string(), c.recovered, c.summary());
        fx.push(Effect::CloseIncident {
            incident: c.incident,
            service,
            name: svc.name.clone(),
            ending,
            by,
            recovered,
            steps,
        });
    }
    fx
}

pub(super) fn on_preview(state: &mut State, service: usize, step: usize, lines: Vec<String>) {
    if let Some(c) = state
        .services
        .get_mut(service)
        .and_then(|s| s.rollback.checklist.as_mut())
        && c.cursor == step
        && let Some(s) = c.current_mut()
        && s.status == StepStatus::AwaitingPreview
    {
        s.status = StepStatus::Previewing(lines);
    }
}

pub(super) fn on_incident(state: &mut State, service: usize, id: i64) {
    if let Some(c) = state
        .services
        .get_mut(service)
        .and_then(|s| s.rollback.checklist.as_mut())
    {
        c.incident = Some(id);
    }
}

/// A probe result: waits count the target's healthy probes in a row.
pub(super) fn on_probe(state: &mut State, env: EnvId, primary: bool, now: Ts) -> Vec<Effect> {
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
    if c.target != env.env {
        return Vec::new();
    }
    let Some(step) = c.current_mut() else {
        return Vec::new();
    };
    let (StepKind::Action(Act::WaitHealthy { probes, .. }), StepStatus::Running { .. }) =
        (&step.spec.kind, &step.status)
    else {
        return Vec::new();
    };
    let probes = *probes;
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

/// The clock: error-rate watches and time limits.
pub(super) fn on_tick(state: &mut State, now: Ts) -> Vec<Effect> {
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
fn error_rate_below(
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
    let below = stats.error_rate < threshold;
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
            vec![format!("now {}", pct(stats.error_rate))],
        )
    })
}

/// Keys for the checklist pane.
pub(super) fn on_action(state: &mut State, action: Action, now: Ts) -> Vec<Effect> {
    let Some(service) = focused_checklist(state) else {
        return Vec::new();
    };
    let Some(c) = state.services[service].rollback.checklist.as_ref() else {
        return Vec::new();
    };
    if c.ended.is_some() {
        // A finished checklist stays on screen until it is put away.
        if matches!(action, Action::OpenDetail | Action::Back) {
            state.services[service].rollback.checklist = None;
            state.ui.focus = Pane::Health;
        }
        return Vec::new();
    }
    let status = c.current().map(|s| s.status.clone());
    match (action, status) {
        (Action::OpenDetail, Some(StepStatus::Current)) => begin(state, service, now),
        (Action::OpenDetail, Some(StepStatus::Failed(_))) => {
            // Retry.
            set_status(state, service, StepStatus::Current);
            if let Some(s) = step_mut(state, service) {
                s.evidence.push(format!("retried at {}", now.hms()));
            }
            begin(state, service, now)
        }
        (Action::Confirm, Some(StepStatus::Previewing(_))) => confirm(state, service, now),
        (Action::Back, Some(StepStatus::Previewing(_) | StepStatus::AwaitingPreview)) => {
            set_status(state, service, StepStatus::Current);
            Vec::new()
        }
        (Action::Back, _) => {
            state.ui.focus = Pane::Health;
            Vec::new()
        }
        (Action::Skip, Some(StepStatus::Running { .. })) if running_mutates(state, service) => {
            let name = state.services[service].name.clone();
            state.events.push(
                now,
                name,
                Level::Warn,
                "a change is under way: it cannot be skipped; wait for its outcome",
            );
            Vec::new()
        }
        (Action::Skip, Some(_)) => {
            let title = state.services[service]
                .rollback
                .checklist
                .as_ref()
                .and_then(|c| c.current())
                .map(|s| s.title.clone())
                .unwrap_or_default();
            state.ui.input = Some(TextInput {
                purpose: InputPurpose::SkipReason { service },
                prompt: format!("Skip \"{title}\" because: "),
                text: String::new(),
            });
            Vec::new()
        }
        (Action::Abort, _) => {
            state.ui.input = Some(TextInput {
                purpose: InputPurpose::AbortReason { service },
                prompt: "Abandon the rollback checklist because: ".into(),
                text: String::new(),
            });
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn running_mutates(state: &State, service: usize) -> bool {
    state.services[service]
        .rollback
        .checklist
        .as_ref()
        .and_then(|c| c.current())
        .is_some_and(|s| matches!(&s.spec.kind, StepKind::Action(a) if a.mutates()))
}

/// The service whose checklist the keys act on: the selected one's, else
/// the only one open.
pub fn focused_checklist(state: &State) -> Option<usize> {
    let selected = state.selected_env().map(|id| id.service);
    if let Some(s) = selected
        && state.services[s].rollback.checklist.is_some()
    {
        return Some(s);
    }
    state
        .services
        .iter()
        .position(|s| s.rollback.checklist.is_some())
}

/// Typing a line.
pub(super) fn on_text(state: &mut State, key: TextKey, now: Ts) -> Vec<Effect> {
    let Some(input) = state.ui.input.as_mut() else {
        return Vec::new();
    };
    match key {
        TextKey::Char(c) => {
            if input.text.chars().count() < 500 && !c.is_control() {
                input.text.push(c);
            }
            Vec::new()
        }
        TextKey::Backspace => {
            input.text.pop();
            Vec::new()
        }
        TextKey::Cancel => {
            state.ui.input = None;
            Vec::new()
        }
        TextKey::Submit => {
            let text = input.text.trim().to_string();
            if text.is_empty() {
                // A reason or a note must say something.
                return Vec::new();
            }
            let purpose = input.purpose.clone();
            state.ui.input = None;
            let by = state.operator.clone();
            match purpose {
                InputPurpose::Note { service } => {
                    let name = state.services[service].name.clone();
                    state.events.push_kind(
                        now,
                        name,
                        Level::Info,
                        Kind::Note,
                        format!("note by {by}: {text}"),
                    );
                    if let Some(s) = step_mut(state, service) {
                        s.evidence.push(text);
                    }
                    settle(state, service, StepStatus::Done, &by, now);
                    after_settle(state, service, now)
                }
                InputPurpose::SkipReason { service } => {
                    if let Some(s) = step_mut(state, service) {
                        s.status = StepStatus::Current;
                    }
                    settle(state, service, StepStatus::Skipped(text), &by, now);
                    after_settle(state, service, now)
                }
                InputPurpose::AbortReason { service } => abort(state, service, text, &by, now),
            }
        }
    }
}

fn abort(state: &mut State, service: usize, why: String, by: &str, now: Ts) -> Vec<Effect> {
    let name = state.services[service].name.clone();
    let svc = &mut state.services[service];
    let Some(c) = svc.rollback.checklist.as_mut() else {
        return Vec::new();
    };
    c.ended = Some((now, Ending::Aborted(why.clone())));
    svc.rollback.in_progress = None;
    svc.rollback.manual = None;
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
