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
    // Typed rollbacks: the rule chooses immediate, standard or emergency.
    let typed = svc
        .rollback
        .runbook
        .is_typed()
        .then(|| crate::rollback_type::choose(svc, suspect));
    let kind = typed.as_ref().map_or(RollbackType::Immediate, |t| t.kind);
    let mut c = fresh(state, service, kind, (suspect, target), &by, auto, now);
    let svc = &state.services[service];
    let (sn, tn) = (
        svc.envs[suspect].name.clone(),
        svc.envs[target].name.clone(),
    );
    let book = c.runbook.clone();
    c.typed = typed.clone();
    c.reasons = reasons.clone();
    let severity = crate::triage::propose(svc, suspect, now);
    c.comms.severity = Some(severity.clone());
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
            book
        ),
    );
    if let Some(t) = &typed {
        svc.rollback.note(
            now,
            TimelineKind::Decision,
            format!("rollback type {}: {}", t.kind, t.why),
        );
    }
    let mode = if auto { " in auto mode" } else { "" };
    state.events.push_kind(
        now,
        name.clone(),
        Level::Warn,
        Kind::Incident,
        format!(
            "rollback checklist started by {by}{mode}: {}, runbook {}",
            crate::decision::route(&sn, &tn),
            book
        ),
    );
    state.ui.focus = Pane::Checklist;
    let mut fx = vec![Effect::OpenIncident {
        service,
        name,
        suspect: sn,
        target: tn,
        runbook: book,
        typed,
        severity: Some(severity),
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

/// What a service has, for the steps of its runbook.
pub(in crate::update) fn caps(
    state: &State,
    svc: &crate::model::ServiceState,
) -> crate::runbook::Caps {
    crate::runbook::Caps {
        traffic: svc.traffic.is_some(),
        deploy: svc.deploy.is_some(),
        status_page: state.status_page.is_some(),
    }
}

/// A new checklist of `service`'s `kind` of rollback (its runbook, or the
/// one it names), from `suspect` to `target`, with the steps for what the
/// service has (a traffic provider, a deploy provider).
fn fresh(
    state: &State,
    service: usize,
    kind: RollbackType,
    (suspect, target): (usize, usize),
    by: &str,
    auto: bool,
    at: Ts,
) -> Checklist {
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
    let runbook = svc.rollback.runbook.of(kind).for_caps(caps(state, svc));
    Checklist::new(&runbook, &names, service, suspect, target, by, auto, at)
}

/// Why `:type` keeps the rollback type as it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetypeRefused {
    #[error("{0} follows the runbook its configuration names: it has no rollback types")]
    Named(String),
    #[error("{0} has no rollback checklist under way")]
    NoChecklist(String),
    #[error("the checklist already follows the {0} rollback")]
    Already(RollbackType),
    #[error(
        "the {0} rollback has made (or is making) its first change: the type is kept; abandon the checklist to start another"
    )]
    Changed(RollbackType),
    #[error("a step is under way: change the type once it has answered")]
    StepUnderWay,
}

/// `:type KIND`: the checklist of `service` follows another rollback type.
/// Only before its first change (nothing sent, nothing changed), so what
/// was done stays under the runbook that did it; the steps already settled
/// that the new runbook has too are kept as they are.
pub(in crate::update) fn retype(
    state: &mut State,
    service: usize,
    kind: RollbackType,
    by: &str,
    now: Ts,
) -> Result<Vec<Effect>, RetypeRefused> {
    let svc = &state.services[service];
    if !svc.rollback.runbook.is_typed() {
        return Err(RetypeRefused::Named(svc.name.clone()));
    }
    let Some(c) = svc
        .rollback
        .checklist
        .as_ref()
        .filter(|c| c.ended.is_none())
    else {
        return Err(RetypeRefused::NoChecklist(svc.name.clone()));
    };
    let from = c.typed.as_ref().map_or(RollbackType::Immediate, |t| t.kind);
    if from == kind {
        return Err(RetypeRefused::Already(kind));
    }
    // A message sent stays sent; any other change started (a switch, a
    // revert, a migration, a restart, a stop, a command), or waiting for a
    // second person's approval, is the rollback's first change.
    let changed = c.steps.iter().any(|s| {
        matches!(&s.spec.kind, StepKind::Action(a) if a.mutates() && !matches!(a, Act::Notify { .. } | Act::StatusPage { .. }))
            && matches!(
                s.status,
                StepStatus::Running { .. }
                    | StepStatus::Done
                    | StepStatus::Warned(_)
                    | StepStatus::Failed(_)
                    | StepStatus::AwaitingApproval { .. }
            )
    }) || svc
        .rollback
        .in_flight
        .iter()
        .any(|f| {
            f.work.mutates()
                && !matches!(f.work, StepWork::Notify { .. } | StepWork::StatusPage { .. })
        });
    if changed {
        return Err(RetypeRefused::Changed(from));
    }
    // A step under way (a message being sent, a re-probe) answers the
    // checklist it was started by: retyping now would lose its outcome.
    if !svc.rollback.in_flight.is_empty()
        || c.steps
            .iter()
            .any(|s| matches!(s.status, StepStatus::Running { .. }))
    {
        return Err(RetypeRefused::StepUnderWay);
    }
    let fresh = fresh(
        state,
        service,
        kind,
        (c.suspect, c.target),
        &c.started_by,
        c.auto,
        c.started,
    );
    let why = format!(
        "changed by {by} from {from} ({})",
        c.typed.as_ref().map_or("", |t| t.why.as_str())
    );
    let name = svc.name.clone();
    let svc = &mut state.services[service];
    let Some(c) = svc.rollback.checklist.as_mut() else {
        return Ok(Vec::new());
    };
    // Keep what is settled where the new runbook has the same step.
    let mut steps = fresh.steps;
    for s in &mut steps {
        if let Some(old) = c
            .steps
            .iter()
            .find(|o| o.spec.id == s.spec.id && o.status.settled())
        {
            *s = old.clone();
        } else {
            s.status = StepStatus::Waiting;
        }
    }
    c.cursor = steps
        .iter()
        .position(|s| !s.status.settled())
        .unwrap_or(steps.len());
    if let Some(cur) = steps.get_mut(c.cursor) {
        cur.status = StepStatus::Current;
    }
    c.steps = steps;
    c.targets = fresh.targets;
    c.runbook = fresh.runbook.clone();
    let book = fresh.runbook;
    c.typed = Some(Typed {
        kind,
        why: why.clone(),
    });
    svc.rollback.note(
        now,
        TimelineKind::Decision,
        format!("rollback type {kind}: {why}"),
    );
    state.events.push_kind(
        now,
        name.clone(),
        Level::Warn,
        Kind::Incident,
        format!("rollback type changed by {by}: {from} → {kind} (runbook {book})"),
    );
    let incident = state.services[service]
        .rollback
        .checklist
        .as_ref()
        .and_then(|c| c.incident);
    let mut fx = vec![Effect::Retype {
        service,
        name,
        incident,
        from,
        to: kind,
        runbook: book,
        by: by.to_string(),
    }];
    fx.extend(after_settle(state, service, now));
    Ok(fx)
}
