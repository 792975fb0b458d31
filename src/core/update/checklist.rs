//! The rollback checklist: one step at a time. Manual steps are ticked;
//! checks are verified here from what is known, or by the executor with
//! fresh probes; actions that change the world show exactly what they will do
//! and wait for a second key. Auto mode does the same without the keys, and
//! leaves what only a person can do to a person.

use std::time::Duration;

use crate::core::action::Action;
use crate::core::decision::{Decision, RollbackRecord};
use crate::core::deploy::Stability;
use crate::core::events::{Kind, Level};
use crate::core::health::HealthStatus;
use crate::core::model::{EnvId, InputPurpose, Pane, State, TextInput, TimelineKind};
use crate::core::msg::{Effect, StepOutcome, StepWork, TextKey, Verdict};
use crate::core::runbook::{
    Act, Check, Checklist, Ending, Names, Phase, StepKind, StepStatus, Template,
};

use crate::core::time::{self, Ts};
use crate::core::traffic::rollback_weights;

const LEFT_FOR_A_PERSON: &str = "left for a person (auto mode)";
/// The longest reason or note, in characters.
const MAX_LINE: usize = 500;
/// How long traffic-on-target waits for the provider's next read.
const READ_BACK: Duration = Duration::from_secs(60);

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
    // The steps for what this service has (a traffic provider, a deploy provider).
    let runbook = svc.rollback.runbook.for_caps(crate::core::runbook::Caps {
        traffic: svc.traffic.is_some(),
        deploy: svc.deploy.is_some(),
    });
    let mut c = Checklist::new(&runbook, &names, service, suspect, target, &by, auto, now);
    c.reasons = reasons.clone();
    // Detection: the first rule that fired in this incident (not the latest
    // change of wording), or now, for an operator's own request.
    let detected = match &svc.rollback.decision {
        Decision::RollbackRecommended { .. } | Decision::Blocked { .. } => svc
            .rollback
            .detected_at
            .unwrap_or(svc.rollback.decision_since),
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
    state.checklist_runs += 1;
    c.run = state.checklist_runs;
    let svc = &mut state.services[service];
    svc.rollback.checklist = Some(c);
    svc.rollback.in_progress = Some(crate::core::decision::UnderWay {
        suspect,
        target,
        since: now,
        by: by.clone(),
    });
    // A person's request is served by this checklist: it must not fire again
    // once the checklist is over (in auto mode, at every cooldown's end).
    svc.rollback.manual = None;
    svc.rollback.note(
        now,
        TimelineKind::Action,
        format!(
            "rollback checklist started by {by}: {} (runbook {})",
            crate::core::decision::route(&sn, &tn),
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
            "rollback checklist started by {by}{mode}: {}, runbook {}",
            crate::core::decision::route(&sn, &tn),
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

/// A rollback of `env`'s service as it would go, changing nothing: the
/// checklist it would follow and, for each step that changes the world,
/// what to ask its provider to preview (`backstop rollback --dry-run`).
/// `Err` says why no checklist would start (a guard, a decision of off).
pub fn plan(
    state: &State,
    env: EnvId,
    now: Ts,
) -> Result<(Checklist, Vec<(usize, StepWork)>), String> {
    let mut s = state.clone();
    let seen = s.events.total();
    let by = s.operator.clone();
    let _ = super::actions::request_rollback(&mut s, env, by, false, now);
    let Some(c) = s.services[env.service].rollback.checklist.clone() else {
        let why = s
            .events
            .since(seen)
            .last()
            .map_or_else(|| "no rollback would start".to_string(), |e| e.text.clone());
        return Err(why);
    };
    let svc = &s.services[env.service];
    let (sname, tname) = (
        svc.envs[c.suspect].name.clone(),
        svc.envs[c.target].name.clone(),
    );
    let mut works = Vec::new();
    for (i, step) in c.steps.iter().enumerate() {
        let work = match &step.spec.kind {
            StepKind::Action(Act::SwitchTraffic) => svc
                .traffic
                .as_ref()
                .and_then(|t| t.weights.clone())
                .map(|from| StepWork::PreviewSwitch {
                    to: rollback_weights(&from, &sname, &tname),
                    from,
                    request: 0,
                }),
            StepKind::Action(Act::RevertDeployment) => {
                let (expect, to) = super::deploy::revisions(&s, env.service, c.suspect)
                    .map_or((None, None), |(cur, prev)| (Some(cur), prev));
                Some(StepWork::PreviewRevert {
                    env: sname.clone(),
                    expect,
                    to,
                    request: 0,
                })
            }
            StepKind::Action(Act::Notify { template }) => Some(StepWork::Notify {
                template: *template,
                text: message(&s, env.service, *template, now),
            }),
            StepKind::Action(Act::Command { argv, timeout }) => Some(StepWork::Command {
                argv: argv.clone(),
                timeout: *timeout,
                env: tname.clone(),
            }),
            _ => None,
        };
        if let Some(w) = work {
            works.push((i, w));
        }
    }
    Ok((c, works))
}

/// Verifications start by themselves when their turn comes: they change
/// nothing, and their evidence is what the operator waits for.
fn runs_itself(kind: &StepKind) -> bool {
    matches!(
        kind,
        StepKind::Check(_)
            | StepKind::Action(Act::WaitHealthy { .. } | Act::WaitStable { .. } | Act::Smoke)
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
fn begin(state: &mut State, service: usize, now: Ts, person: bool) -> Vec<Effect> {
    let mut fx = Vec::new();
    let mut person = person;
    // Each pass settles a step or starts waiting for one; a runbook is finite.
    for _ in 0..256 {
        let Some(c) = state.services[service].rollback.checklist.as_ref() else {
            break;
        };
        let Some(step) = c.current() else { break };
        if !matches!(step.status, StepStatus::Current) {
            break;
        }
        // Nothing acts behind a person typing a reason or a note: a change
        // that would start by itself waits until the line is closed.
        let mutates = matches!(&step.spec.kind, StepKind::Action(a) if a.mutates());
        if !person && mutates && state.ui.input.is_some() {
            break;
        }
        let (settled, more) = do_step(state, service, now, person);
        person = false;
        fx.extend(more);
        if !(settled && next_starts_itself(state, service)) {
            break;
        }
    }
    fx
}

/// Start the current step. Returns whether it settled at once, and the
/// effects. A `person` at the keys gets previews even in auto mode.
fn do_step(state: &mut State, service: usize, now: Ts, person: bool) -> (bool, Vec<Effect>) {
    let by = state.operator.clone();
    let Some(c) = state.services[service].rollback.checklist.as_ref() else {
        return (false, Vec::new());
    };
    let Some(step) = c.current() else {
        return (false, Vec::new());
    };
    let (kind, title, idx, auto, suspect, target, incident, run) = (
        step.spec.kind.clone(),
        step.title.clone(),
        c.cursor,
        c.auto && !person,
        c.suspect,
        c.target,
        c.incident,
        c.run,
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
        run,
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
                purpose: InputPurpose::Note {
                    service,
                    run,
                    step: idx,
                },
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
        StepKind::Check(Check::TrafficOnTarget) => match traffic_on_target(state, service) {
            Some(outcome) => (finish(state, service, outcome, &who, now), Vec::new()),
            // Not read back since the switch yet: the next read settles it.
            None => {
                running(state);
                (false, Vec::new())
            }
        },
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
        StepKind::Action(Act::WaitStable { .. }) => {
            running(state);
            // What is known already may settle it; the next read will otherwise.
            (false, on_deploy(state, service, now))
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
            if suspect == target {
                let outcome = StepOutcome::failed(
                    format!("there is no other environment to switch {sname}'s traffic to"),
                    vec![],
                );
                return (finish(state, service, outcome, &who, now), Vec::new());
            }
            let to = rollback_weights(&from, &sname, &tname);
            let work = StepWork::Switch {
                from: from.clone(),
                to: to.clone(),
            };
            if auto && may_act_alone(state, service, &work, now) {
                running(state);
                (false, vec![effect(work)])
            } else {
                let request = await_preview(state, service, work);
                (
                    false,
                    vec![effect(StepWork::PreviewSwitch { from, to, request })],
                )
            }
        }
        StepKind::Action(Act::RevertDeployment) => {
            // Pinned to what was read: from this revision, to that one.
            let Some((current, previous)) = super::deploy::revisions(state, service, suspect)
            else {
                let outcome = StepOutcome::failed(
                    format!(
                        "{sname}'s deployment has not been read yet: see the Deployments pane, then retry"
                    ),
                    vec![],
                );
                return (finish(state, service, outcome, &who, now), Vec::new());
            };
            let work = StepWork::Revert {
                env: sname.clone(),
                expect: Some(current.clone()),
                to: previous.clone(),
            };
            if auto && may_act_alone(state, service, &work, now) {
                running(state);
                reverting(state, service, &work);
                (false, vec![effect(work)])
            } else {
                let request = await_preview(state, service, work);
                (
                    false,
                    vec![effect(StepWork::PreviewRevert {
                        env: sname,
                        expect: Some(current),
                        to: previous,
                        request,
                    })],
                )
            }
        }
        StepKind::Action(Act::Notify { template }) => {
            let text = message(state, service, template, now);
            let work = StepWork::Notify {
                template,
                text: text.clone(),
            };
            if auto && may_act_alone(state, service, &work, now) {
                running(state);
                (false, vec![effect(work)])
            } else {
                let mut lines = if state.notifiers.is_empty() {
                    vec!["no notifier is configured ([[notify]]): the message is journaled; tell the team yourself".to_string()]
                } else {
                    vec![format!("to {}:", state.notifiers.join(", "))]
                };
                lines.extend(text.lines().map(|l| format!("  {l}")));
                preview(state, service, work, lines);
                (false, Vec::new())
            }
        }
        StepKind::Action(Act::Command { argv, timeout }) => {
            let lines = vec![
                format!("$ {}", crate::core::argv::display(&argv)),
                format!(
                    "with TARGET_URL set to {tname}'s address; killed after {}",
                    time::human(timeout)
                ),
            ];
            let work = StepWork::Command {
                argv,
                timeout,
                env: tname,
            };
            if auto && may_act_alone(state, service, &work, now) {
                running(state);
                (false, vec![effect(work)])
            } else {
                preview(state, service, work, lines);
                (false, Vec::new())
            }
        }
    }
}

/// The provider is asked what `work` would change; only the answer to this
/// request is shown, and the second key runs `work` itself.
fn await_preview(state: &mut State, service: usize, work: StepWork) -> u64 {
    state.preview_requests += 1;
    let request = state.preview_requests;
    if let Some(s) = step_mut(state, service) {
        s.status = StepStatus::AwaitingPreview;
        s.pending = Some(work);
        s.request = request;
    }
    request
}

/// Auto mode acts alone only inside its guards, checked again at the moment
/// of each change. Outside them it stops: the checklist is a person's from
/// here, and the change waits for a preview and a key.
fn may_act_alone(state: &mut State, service: usize, work: &StepWork, now: Ts) -> bool {
    let Some(why) = auto_refusal(state, service, work, now) else {
        return true;
    };
    stop_auto(state, service, &why, now);
    false
}

/// Why auto mode may not make this change now, if it may not: changes from
/// last time unchecked, the target not healthy, or the rollbacks done and
/// on their way at the cooldown or the limit.
pub fn auto_refusal(state: &State, service: usize, work: &StepWork, now: Ts) -> Option<String> {
    let svc = state.services.get(service)?;
    let c = svc.rollback.checklist.as_ref()?;
    if !state.interrupted.is_empty() {
        return Some("changes interrupted last time are not checked yet".into());
    }
    if c.suspect != c.target {
        let t = &svc.envs[c.target];
        if !matches!(t.status, Some(HealthStatus::Ok | HealthStatus::Degraded)) {
            return Some(format!(
                "{} is {}: not a safe place to roll back to",
                t.name,
                t.status.map_or("not verified", HealthStatus::as_str)
            ));
        }
    }
    if matches!(work, StepWork::Switch { .. } | StepWork::Revert { .. })
        && let Err(block) =
            crate::core::decision::count_guard(&svc.rollback.policy, &svc.rollback.counted(), now)
    {
        return Some(block.describe(now));
    }
    None
}

/// A person took a hand (a skip, a retry) or a guard stopped auto mode:
/// from here every change of this checklist is previewed and confirmed.
fn stop_auto(state: &mut State, service: usize, why: &str, now: Ts) {
    let name = state.services[service].name.clone();
    let Some(c) = state.services[service].rollback.checklist.as_mut() else {
        return;
    };
    if !c.auto {
        return;
    }
    c.auto = false;
    c.auto_stopped = Some(why.to_string());
    let text = format!(
        "auto mode stopped: {why}; a person decides from here (Enter previews the change, y makes it)"
    );
    state.services[service]
        .rollback
        .note(now, TimelineKind::Action, text.clone());
    state
        .events
        .push_kind(now, name, Level::Warn, Kind::Incident, text);
}

/// `work` with the preview core can make itself (a message, a command).
fn preview(state: &mut State, service: usize, work: StepWork, lines: Vec<String>) {
    if let Some(s) = step_mut(state, service) {
        s.status = StepStatus::Previewing(lines);
        s.pending = Some(work);
    }
}

/// The second key: run exactly what the preview showed. If the traffic
/// moved since, the preview is made again instead.
/// Remember where a revert starts from, for wait-stable.
fn reverting(state: &mut State, service: usize, work: &StepWork) {
    if let StepWork::Revert { expect, to, .. } = work
        && let Some(c) = state.services[service].rollback.checklist.as_mut()
    {
        c.reverted_from = expect.clone();
        c.reverted_to = to.clone();
    }
}

fn confirm(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
    let by = state.operator.clone();
    let Some(c) = state.services[service].rollback.checklist.as_ref() else {
        return Vec::new();
    };
    let Some(step) = c.current() else {
        return Vec::new();
    };
    let (StepStatus::Previewing(_), Some(work)) = (&step.status, step.pending.clone()) else {
        return Vec::new();
    };
    let (title, idx, incident, run) = (step.title.clone(), c.cursor, c.incident, c.run);
    let name = state.services[service].name.clone();
    if let Some(other) = super::change_on_its_way(state, service) {
        state.events.push(
            now,
            name,
            Level::Warn,
            format!("{other} is on its way: nothing changed; confirm again after its outcome"),
        );
        return Vec::new();
    }
    if let Some(moved) = super::moved_since_preview(state, service, &work) {
        state.events.push(
            now,
            name.clone(),
            Level::Warn,
            format!("{moved}: nothing changed; here is the new preview"),
        );
        set_status(state, service, StepStatus::Current);
        if let Some(s) = step_mut(state, service) {
            s.pending = None;
        }
        return begin(state, service, now, true);
    }
    reverting(state, service, &work);
    set_status(state, service, StepStatus::Running { since: now });
    state.events.push_kind(
        now,
        name.clone(),
        Level::Warn,
        Kind::Step,
        format!("confirmed by {by}: {title}"),
    );
    if let Some(s) = step_mut(state, service) {
        s.by = Some(by.clone());
    }
    vec![Effect::Step {
        service,
        name,
        run,
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
fn settle(state: &mut State, service: usize, status: StepStatus, by: &str, now: Ts) {
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
enum Recovery {
    Done { skipped_checks: usize },
    NotDone,
}

/// A during phase with a switch or revert recovers only if one was done; a
/// phase of manual steps, if a person did at least one of them.
fn recovery(c: &Checklist) -> Recovery {
    let during = || c.steps.iter().filter(|s| s.phase == Phase::During);
    let is_change = |s: &&crate::core::runbook::StepRun| {
        matches!(
            s.spec.kind,
            StepKind::Action(Act::SwitchTraffic | Act::RevertDeployment)
        )
    };
    let done = |s: &&crate::core::runbook::StepRun| s.status == StepStatus::Done;
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

/// The provider's split read back after the switch: `None` while no read
/// has come in since.
fn traffic_on_target(state: &State, service: usize) -> Option<StepOutcome> {
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
    let split = super::traffic::split(w);
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
pub(super) fn on_traffic_read(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
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

/// Who the current step is attributed to.
fn current_by(state: &State, service: usize) -> String {
    state.services[service]
        .rollback
        .checklist
        .as_ref()
        .and_then(|c| c.current())
        .and_then(|s| s.by.clone())
        .unwrap_or_else(|| state.operator.clone())
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
    // A revert in place: the revisions come from the deploy provider.
    let revert = (c.suspect == c.target).then(|| {
        let d = svc.deploy.as_ref().and_then(|d| d.env(&s.name));
        let cur = d.map_or_else(|| v(s), |d| d.current.clone());
        let prev = d
            .and_then(|d| d.previous.clone())
            .unwrap_or_else(|| "the previous revision".into());
        (cur, prev)
    });
    match template {
        Template::RollbackStarted => {
            let reason = if c.reasons.is_empty() {
                "asked by the operator".to_string()
            } else {
                c.reasons.join("; ")
            };
            let (version, status) = match &revert {
                Some((cur, prev)) => (
                    format!("{cur} → {prev} ({}, revert)", s.name),
                    "reverting to the previous revision",
                ),
                None => (
                    format!("{} → {} ({} → {})", v(s), v(t), s.name, t.name),
                    "switching traffic to the previous version",
                ),
            };
            format!(
                "ROLLBACK IN PROGRESS: {}\nVersion: {version}\nReason: {reason}\nStatus: {status}\nBy: {}\nETA: 5 minutes",
                svc.name, c.started_by
            )
        }
        Template::RollbackCompleted => {
            let recovered = c.recovered.unwrap_or(now);
            let impact = time::human(Duration::from_secs(
                recovered.since(c.detected_at).as_secs(),
            ));
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
    let mut fx = Vec::new();
    if finish(state, service, outcome, &by, now) {
        fx.extend(after_settle(state, service, now));
    }
    fx
}

/// A change's outcome came back: it is no longer on its way, and a switch or
/// revert that succeeded is a rollback — recorded once, even if its
/// checklist was abandoned or put away while it ran.
fn landed(state: &mut State, service: usize, run: u64, step: usize, o: &StepOutcome, now: Ts) {
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
            crate::core::decision::route(&f.from, &f.to),
            f.by
        ),
    );
}

/// A re-probe that finds the health endpoint fine does not make an error
/// rate, a latency or an alarm a blip: if such a rule still fires on the
/// suspect, the failure is confirmed by it.
fn confirmed_elsewhere(state: &State, service: usize, o: StepOutcome) -> StepOutcome {
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
        .filter(|r| r.status == crate::core::rules::RuleStatus::Firing && r.env == c.suspect)
        .filter(|r| {
            matches!(
                r.kind,
                crate::core::rules::RuleKind::ErrorRate { .. }
                    | crate::core::rules::RuleKind::Latency { .. }
                    | crate::core::rules::RuleKind::Alarm { .. }
                    // Re-probes pass on degraded (it answers); the rule
                    // still firing says it still is degraded.
                    | crate::core::rules::RuleKind::DegradedFor { .. }
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

/// After a step settles: the next one, if it starts by itself.
fn after_settle(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
    if next_starts_itself(state, service) {
        begin(state, service, now, false)
    } else {
        Vec::new()
    }
}

/// Tell the journal how each checklist that has ended ended, once.
pub(super) fn close_out(state: &mut State) -> Vec<Effect> {
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
        });
    }
    fx
}

/// A provider's preview: shown only if it answers the request the step is
/// waiting on (not an earlier one for the same step, made from other
/// weights or revisions). One that could not be made fails the step
/// (retry, skip or abandon).
pub(super) fn on_preview(
    state: &mut State,
    service: usize,
    run: u64,
    step: usize,
    request: u64,
    result: Result<Vec<String>, String>,
    now: Ts,
) -> Vec<Effect> {
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
        Ok(lines) => {
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
            let incident = c.incident;
            let svc = &mut state.services[service].rollback;
            svc.last_incident = incident.or(svc.last_incident);
            svc.checklist = None;
            state.ui.focus = Pane::Health;
        }
        return Vec::new();
    }
    let (run, cursor) = (c.run, c.cursor);
    let status = c.current().map(|s| s.status.clone());
    match (action, status) {
        (Action::OpenDetail, Some(StepStatus::Current)) => begin(state, service, now, true),
        (Action::OpenDetail, Some(StepStatus::Failed(_))) => {
            // Retry: a person's hand, so auto mode stops here and every
            // change from now on is previewed and confirmed.
            stop_auto(state, service, "a person retried a failed step", now);
            set_status(state, service, StepStatus::Current);
            if let Some(s) = step_mut(state, service) {
                s.evidence.push(format!("retried at {}", now.hms()));
            }
            begin(state, service, now, true)
        }
        (Action::Confirm, Some(StepStatus::Previewing(_))) => confirm(state, service, now),
        (Action::Back, Some(StepStatus::Previewing(_) | StepStatus::AwaitingPreview)) => {
            set_status(state, service, StepStatus::Current);
            if let Some(s) = step_mut(state, service) {
                s.pending = None;
            }
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
                purpose: InputPurpose::SkipReason {
                    service,
                    run,
                    step: cursor,
                },
                prompt: format!("Skip \"{title}\" because: "),
                text: String::new(),
            });
            Vec::new()
        }
        (Action::Abort, Some(StepStatus::Running { .. })) if running_mutates(state, service) => {
            let name = state.services[service].name.clone();
            state.events.push(
                now,
                name,
                Level::Warn,
                "a change is under way: wait for its outcome, then abandon if you must",
            );
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

fn current_status(state: &State, service: usize) -> Option<StepStatus> {
    state.services[service]
        .rollback
        .checklist
        .as_ref()
        .and_then(|c| c.current())
        .map(|s| s.status.clone())
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
        if matches!(key, TextKey::Paste(_)) {
            state.events.push(
                now,
                "backstop",
                Level::Info,
                "pasted text ignored: there is no line to type into, and pasted text never acts as keys",
            );
        }
        return Vec::new();
    };
    match key {
        TextKey::Char(c) => {
            if input.text.chars().count() < MAX_LINE && !c.is_control() {
                input.text.push(c);
            }
            Vec::new()
        }
        TextKey::Paste(text) => {
            // Line breaks and other control characters become spaces: a
            // paste fills the line, and only a typed Enter submits it.
            let room = MAX_LINE.saturating_sub(input.text.chars().count());
            input.text.extend(
                text.chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(room),
            );
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
            submitted(state, purpose, text, &by, now)
        }
    }
}

/// Changes that waited while a line was typed go on by themselves, at the
/// next tick after it was closed: never in the key that closed it.
pub(super) fn resume(state: &mut State, now: Ts) -> Vec<Effect> {
    let mut fx = Vec::new();
    for service in 0..state.services.len() {
        if state.ui.input.is_none() && next_starts_itself(state, service) {
            fx.extend(begin(state, service, now, false));
        }
    }
    fx
}

/// A typed line was submitted: a note, a skip's reason, an abandon's reason.
fn submitted(
    state: &mut State,
    purpose: InputPurpose,
    text: String,
    by: &str,
    now: Ts,
) -> Vec<Effect> {
    let by = by.to_string();
    // The checklist may have moved on while the line was typed.
    let still = |state: &State, service: usize, run: u64, step: usize| {
        state.services[service]
            .rollback
            .checklist
            .as_ref()
            .is_some_and(|c| c.run == run && c.cursor == step && c.ended.is_none())
    };
    match purpose {
        InputPurpose::Note { service, run, step } if !still(state, service, run, step) => {
            let name = state.services[service].name.clone();
            state.events.push(
                now,
                name,
                Level::Warn,
                "the checklist moved on while you typed: the note was not recorded",
            );
            Vec::new()
        }
        InputPurpose::SkipReason { service, run, step }
            if !still(state, service, run, step)
                || (running_mutates(state, service)
                    && matches!(
                        current_status(state, service),
                        Some(StepStatus::Running { .. })
                    )) =>
        {
            let name = state.services[service].name.clone();
            state.events.push(
                now,
                name,
                Level::Warn,
                "the checklist moved on while you typed: nothing was skipped",
            );
            Vec::new()
        }
        InputPurpose::Note { service, .. } => {
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
        InputPurpose::SkipReason { service, .. } => {
            // A person's hand: auto mode stops and asks from here.
            stop_auto(state, service, "a person skipped a step", now);
            if let Some(s) = step_mut(state, service) {
                s.status = StepStatus::Current;
                s.pending = None;
            }
            settle(state, service, StepStatus::Skipped(text), &by, now);
            after_settle(state, service, now)
        }
        InputPurpose::AbortReason { service }
            if running_mutates(state, service)
                && matches!(
                    current_status(state, service),
                    Some(StepStatus::Running { .. })
                ) =>
        {
            let name = state.services[service].name.clone();
            state.events.push(
                now,
                name,
                Level::Warn,
                "a change started while you typed: nothing was abandoned; wait for its outcome",
            );
            Vec::new()
        }
        InputPurpose::AbortReason { service } => abort(state, service, text, &by, now),
    }
}

fn abort(state: &mut State, service: usize, why: String, by: &str, now: Ts) -> Vec<Effect> {
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

/// A deploy read: a wait-stable step follows the reverted environment.
pub(super) fn on_deploy(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
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
    let stability = if pointed {
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
