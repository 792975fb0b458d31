//! Opening a checklist, and planning one without opening it (`rollback --dry-run`).

use super::*;

/// Open a checklist for rolling `service` back from `suspect` to `target`.
#[allow(clippy::too_many_arguments)]
pub(in crate::update) fn start(
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
    let runbook = svc.rollback.runbook.for_caps(crate::runbook::Caps {
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
    svc.rollback.in_progress = Some(crate::decision::UnderWay {
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
            crate::decision::route(&sn, &tn),
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
            crate::decision::route(&sn, &tn),
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
    // Starting a rollback is the first acting key: it takes the lease, so
    // nobody else starts one meanwhile (the fence stops any change anyway).
    let name = &state.services[service].name;
    if !state.session.is_empty() && !crate::update::room::drives(state, name) {
        fx.push(Effect::Lease {
            service: name.clone(),
            act: crate::msg::LeaseAct::Take {
                from: None,
                incident: None,
            },
        });
    }
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
    let _ = crate::update::actions::request_rollback(&mut s, env, by, false, now);
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
                let (expect, to) = crate::update::deploy::revisions(&s, env.service, c.suspect)
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
            StepKind::Action(Act::MigrateDown { argv, timeout }) => {
                crate::migration::plan_undo(s.services[env.service].database.as_ref())
                    .ok()
                    .flatten()
                    .map(|u| StepWork::MigrateDown {
                        argv: argv.clone(),
                        timeout: *timeout,
                        from: u.migration.version,
                        to: u.to,
                    })
            }
            _ => None,
        };
        if let Some(w) = work {
            works.push((i, w));
        }
    }
    Ok((c, works))
}
