//! Asking for a rollback: the same question for every way to ask (a key,
//! the why view, `:`, the emergency banner, `backstop rollback`), then the
//! runbook's checklist for what the decision names.

use crate::decision::{Block, Decision};
use crate::events::Level;
use crate::model::{Pane, State, TimelineKind};
use crate::msg::Effect;
use crate::time::Ts;

use super::checklist;

/// A rollback of `id`'s service asked for by `by`: the runbook's checklist
/// for what the decision names (or `id`, when nothing fires), within the
/// guards. `auto` runs its automatable path without prompts (`backstop
/// rollback --yes`).
pub(super) fn request_rollback(
    state: &mut State,
    id: crate::model::EnvId,
    by: String,
    auto: bool,
    at: Ts,
) -> Vec<Effect> {
    let s = id.service;
    let name = state.services[s].name.clone();
    // Every way to ask (a key, the why view, `:`, `backstop rollback`)
    // meets the same question first.
    if let Err(why) = super::may_act(state, s) {
        state.events.push(at, name, Level::Info, why);
        return Vec::new();
    }
    if let Some(c) = &state.services[s].rollback.checklist
        && c.ended.is_none()
    {
        state.ui.focus = Pane::Checklist;
        return Vec::new();
    }
    let mut asked = false;
    if matches!(
        state.services[s].rollback.decision,
        Decision::Healthy | Decision::Watch { .. } | Decision::RolledBack { .. }
    ) {
        let env = state.services[s].envs[id.env].name.clone();
        state.services[s].rollback.manual = Some((id.env, by.clone(), at));
        state.services[s].rollback.note(
            at,
            TimelineKind::Action,
            format!("{by} asked to roll back {env}"),
        );
        state.events.push(
            at,
            name.clone(),
            Level::Warn,
            format!("{by} asks to roll back {env}"),
        );
        asked = true;
    }
    let mut effects = super::decisions::refresh(state, s, at);
    let svc = &state.services[s];
    let single = svc.envs.len() == 1;
    match svc.rollback.decision.clone() {
        Decision::RollbackRecommended {
            suspect,
            target,
            reasons,
        } => {
            effects.extend(checklist::start(
                state, s, suspect, target, by, auto, reasons, at,
            ));
        }
        // Nothing to move traffic with, or nowhere to move it: the runbook
        // (manual, or a revert) is how it is done.
        Decision::Blocked {
            suspect,
            block: Block::NoMeans | Block::NoTarget,
            reasons,
        } => {
            let target = if single {
                suspect
            } else {
                super::decisions::target_of(state, s, suspect).unwrap_or(suspect)
            };
            effects.extend(checklist::start(
                state, s, suspect, target, by, auto, reasons, at,
            ));
        }
        Decision::Blocked { block, .. } => {
            let why = block.describe(at);
            if asked {
                state.services[s].rollback.manual = None;
            }
            state.events.push(
                at,
                name,
                Level::Bad,
                format!("rollback blocked: {why} (traffic can still be moved by hand: w in the console)"),
            );
        }
        Decision::RollingBack { .. } => {
            state
                .events
                .push(at, name, Level::Warn, "a rollback is already under way")
        }
        Decision::Off => state.events.push(
            at,
            name,
            Level::Warn,
            "rollback decisions are off for this service (mode = off); traffic can still be moved by hand: w in the console",
        ),
        _ => {}
    }
    effects
}
