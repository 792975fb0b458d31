//! Emergency is fast. When production is down — every probe of the
//! environment users are on fails (`rollback_type::choose` says emergency)
//! — the emergency rollback's switch is previewed by the traffic provider
//! as soon as the rule fires, before any key, and the banner shows it. One
//! `y` opens the emergency checklist and makes exactly that switch: the same
//! path as the checklist's own confirmation, so every guard still holds
//! (the room's question, the lease and its fence, the target healthy, the
//! cooldown and the limit, the two-person rule, the world unchanged since
//! the preview).

use crate::decision::Decision;
use crate::events::Level;
use crate::model::{Ready, State};
use crate::msg::{Effect, StepWork};
use crate::runbook::{Act, Check, RollbackType, StepKind, StepStatus};
use crate::time::Ts;
use crate::traffic::rollback_weights;

use super::armed::ARMED_READ;

/// After every message: ask for the preview of each service whose
/// emergency switch is wanted and not previewed from the weights of now;
/// forget those no longer wanted.
pub(super) fn refresh(state: &mut State) -> Vec<Effect> {
    let mut fx = Vec::new();
    for i in 0..state.services.len() {
        let want = wanted(state, i);
        let rb = &state.services[i].rollback;
        let same = match (&want, &rb.ready) {
            (Some(w), Some(r)) => {
                (w.suspect, w.target, &w.from, &w.to) == (r.suspect, r.target, &r.from, &r.to)
            }
            (None, None) => true,
            _ => false,
        };
        if same {
            continue;
        }
        let Some(mut w) = want else {
            state.services[i].rollback.ready = None;
            continue;
        };
        state.preview_requests += 1;
        w.request = state.preview_requests;
        fx.push(Effect::PreviewWeights {
            service: state.services[i].name.clone(),
            from: w.from.clone(),
            to: w.to.clone(),
            request: w.request,
        });
        state.services[i].rollback.ready = Some(w);
    }
    fx
}

/// The switch an emergency wants now, if it does: typed rollbacks, the rule
/// recommends one and calls it an emergency, nothing under way, this
/// console may act, the emergency runbook's first change is the switch
/// (only instant checks before it), the target healthy, the split known.
fn wanted(state: &State, i: usize) -> Option<Ready> {
    let svc = &state.services[i];
    let rb = &svc.rollback;
    if !rb.runbook.is_typed() || state.approve_only {
        return None;
    }
    let Decision::RollbackRecommended {
        suspect, target, ..
    } = rb.decision
    else {
        return None;
    };
    if rb.checklist.as_ref().is_some_and(|c| c.ended.is_none()) || !rb.in_flight.is_empty() {
        return None;
    }
    super::may_act(state, i).ok()?;
    let ty = crate::rollback_type::choose(svc, suspect);
    if ty.kind != RollbackType::Emergency {
        return None;
    }
    let caps = super::checklist::caps(state, svc);
    let book = rb.runbook.of(RollbackType::Emergency).for_caps(caps);
    let first_change = book
        .steps()
        .find(|(_, s)| !matches!(s.kind, StepKind::Check(Check::TargetHealthy)))?;
    if !matches!(first_change.1.kind, StepKind::Action(Act::SwitchTraffic)) {
        return None;
    }
    let t = &svc.envs[target];
    if t.status.is_none_or(|s| s.is_failure()) {
        return None;
    }
    // A database warning (the old code meets a dropped column, a schema
    // not read) wants reading in full before the switch: the banner has no
    // room for it, so `r` and the checklist's own preview carry it.
    if svc
        .database
        .as_ref()
        .is_some_and(|d| !d.warning().is_empty())
    {
        return None;
    }
    let from = svc.traffic.as_ref()?.weights.clone()?;
    let to = rollback_weights(&from, &svc.envs[suspect].name, &t.name);
    if to == from {
        return None;
    }
    Some(Ready {
        suspect,
        target,
        from,
        to,
        request: 0,
        lines: None,
        shown: None,
    })
}

/// The provider's answer to an emergency preview. Whether it was one.
pub(super) fn on_preview(
    state: &mut State,
    service: usize,
    request: u64,
    result: &Result<Vec<String>, String>,
    at: Ts,
) -> bool {
    let Some(svc) = state.services.get_mut(service) else {
        return false;
    };
    let Some(r) = svc.rollback.ready.as_mut().filter(|r| r.request == request) else {
        return false;
    };
    match result {
        Ok(lines) => {
            r.lines = Some(lines.clone());
            r.shown = Some(at);
        }
        Err(e) => {
            // Kept, unshown: the same switch is not asked again after every
            // message (a provider that cannot preview would be asked in a
            // loop); a changed world asks anew.
            let name = svc.name.clone();
            r.lines = None;
            state.events.push(
                at,
                name,
                Level::Bad,
                format!("the emergency switch cannot be previewed: {e} (r opens the checklist)"),
            );
        }
    }
    true
}

/// The service whose emergency switch a `y` makes: the selected one's,
/// else the only one ready.
pub fn ready_service(state: &State) -> Option<usize> {
    let shown = |i: &usize| {
        state.services[*i]
            .rollback
            .ready
            .as_ref()
            .is_some_and(|r| r.lines.is_some())
    };
    if let Some(i) = state.selected_env().map(|id| id.service).filter(shown) {
        return Some(i);
    }
    let mut all = (0..state.services.len()).filter(shown);
    match (all.next(), all.next()) {
        (Some(i), None) => Some(i),
        _ => None,
    }
}

/// `y` with an emergency switch on the banner: the emergency checklist
/// opens and its switch — exactly the change previewed — goes. `None` when
/// no switch is ready (the key means nothing here then).
pub(super) fn confirm(state: &mut State, at: Ts) -> Option<Vec<Effect>> {
    let service = ready_service(state)?;
    let ready = state.services[service].rollback.ready.clone()?;
    let (lines, shown) = (ready.lines.clone()?, ready.shown?);
    let name = state.services[service].name.clone();
    if at.since(shown) < ARMED_READ {
        state.events.push(
            at,
            name,
            Level::Info,
            "the emergency switch is not made: its y came before the preview could be read (typing?); press y again",
        );
        return Some(Vec::new());
    }
    // Open the checklist as `r` would, on the rule's suspect and target.
    let by = state.operator.clone();
    let env = crate::model::EnvId {
        service,
        env: ready.suspect,
    };
    let mut fx = super::request::request_rollback(state, env, by, false, at);
    let svc = &mut state.services[service];
    let Some(c) = svc
        .rollback
        .checklist
        .as_mut()
        .filter(|c| c.ended.is_none())
    else {
        // Refused (a guard): the event log says why.
        return Some(fx);
    };
    let at_switch = c.current().is_some_and(|s| {
        matches!(s.spec.kind, StepKind::Action(Act::SwitchTraffic))
            && s.status == StepStatus::Current
    });
    let (suspect, target) = (c.suspect, c.target);
    if !at_switch || (suspect, target) != (ready.suspect, ready.target) {
        // Something else first (a check that did not pass): the checklist
        // is open and says what; the switch waits for its own preview.
        return Some(fx);
    }
    // The preview on the banner is the step's preview: the world is
    // compared with it again at the key, as for any switch.
    let mut shown_lines = lines;
    shown_lines.extend(
        svc.database
            .as_ref()
            .map(crate::migration::Read::warning)
            .unwrap_or_default(),
    );
    if let Some(step) = c.current_mut() {
        step.pending = Some(StepWork::Switch {
            from: ready.from.clone(),
            to: ready.to.clone(),
        });
        step.request = ready.request;
        step.started.get_or_insert(at);
        step.status = StepStatus::Previewing(shown_lines);
    }
    svc.rollback.ready = None;
    fx.extend(super::checklist::go(
        state,
        service,
        at,
        super::checklist::Go::Key,
    ));
    Some(fx)
}
