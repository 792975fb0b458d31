//! Operator commands. Modal views (help, the weights dialog) take the keys
//! first, so a key pressed in one never acts behind it.

use crate::core::action::Action;
use crate::core::decision::Decision;
use crate::core::events::Level;
use crate::core::model::TimelineKind;
use crate::core::model::{Fault, MetricWindowChoice, Overlay, Pane, State};
use crate::core::msg::Effect;
use crate::core::time::Ts;
use crate::core::traffic::{EditStage, Purpose, WeightEditor};

pub(super) fn on_action(state: &mut State, action: Action, at: Ts) -> Vec<Effect> {
    if action == Action::Quit {
        state.quit = true;
        return Vec::new();
    }
    match state.ui.overlay {
        // Help is modal: it closes on help or back and swallows everything else.
        Overlay::Help => {
            if matches!(action, Action::Help | Action::Back) {
                state.ui.overlay = Overlay::None;
            }
            return Vec::new();
        }
        Overlay::Weights => return weights_dialog(state, action, at),
        // The why view reads like help: it closes, or moves to the next service.
        Overlay::Why => {
            match action {
                Action::Explain | Action::Back => state.ui.overlay = Overlay::None,
                Action::SelectNext | Action::SelectPrev => {
                    move_selection(state, action == Action::SelectNext)
                }
                Action::Rollback => {
                    state.ui.overlay = Overlay::None;
                    return rollback(state, at);
                }
                _ => {}
            }
            return Vec::new();
        }
        Overlay::None | Overlay::Detail => {}
    }
    match action {
        Action::Quit => {}
        Action::Help => state.ui.overlay = Overlay::Help,
        Action::Back => {
            if state.ui.overlay != Overlay::None {
                state.ui.overlay = Overlay::None;
            } else {
                state.ui.events_scroll = 0;
            }
        }
        Action::NextPane | Action::PrevPane => {
            state.ui.overlay = Overlay::None;
            let i = Pane::ORDER
                .iter()
                .position(|p| *p == state.ui.focus)
                .unwrap_or(0);
            let n = Pane::ORDER.len();
            let j = if action == Action::NextPane {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            state.ui.focus = Pane::ORDER[j];
        }
        Action::SelectNext | Action::SelectPrev => {
            move_selection(state, action == Action::SelectNext)
        }
        Action::OpenDetail => {
            if state.ui.focus != Pane::Events {
                state.ui.overlay = if state.ui.overlay == Overlay::Detail {
                    Overlay::None
                } else {
                    Overlay::Detail
                };
            }
        }
        Action::CycleWindow => {
            state.ui.window = match state.ui.window {
                MetricWindowChoice::OneMinute => MetricWindowChoice::FiveMinutes,
                MetricWindowChoice::FiveMinutes => MetricWindowChoice::OneMinute,
            };
        }
        Action::SetWeights => open_weights_dialog(state, at),
        Action::Rollback => return rollback(state, at),
        Action::Explain => state.ui.overlay = Overlay::Why,
        // Outside the dialog these have nothing to act on.
        Action::Increase | Action::Decrease | Action::Confirm => {}
        Action::InjectFault | Action::ClearFaults => return fault_effect(state, action, at),
    }
    Vec::new()
}

fn move_selection(state: &mut State, down: bool) {
    // The detail view follows the selection, so it stays on the environment list.
    if state.ui.focus == Pane::Events && state.ui.overlay == Overlay::None {
        let max = state.events.len().saturating_sub(1);
        state.ui.events_scroll = if down {
            state.ui.events_scroll.saturating_sub(1)
        } else {
            (state.ui.events_scroll + 1).min(max)
        };
        return;
    }
    let count = state.env_ids().count();
    if count == 0 {
        return;
    }
    let sel = state.ui.selected.min(count - 1);
    state.ui.selected = if down {
        (sel + 1).min(count - 1)
    } else {
        sel.saturating_sub(1)
    };
}

fn fault_effect(state: &mut State, action: Action, at: Ts) -> Vec<Effect> {
    if !state.is_drill() {
        state.events.push(
            at,
            "backstop",
            Level::Warn,
            format!("{action} works only in a drill (backstop drill)"),
        );
        return Vec::new();
    }
    let Some(id) = state.selected_env() else {
        return Vec::new();
    };
    let service = state.services[id.service].name.clone();
    let env = state.services[id.service].envs[id.env].name.clone();
    let Some(e) = state.env_mut(id) else {
        return Vec::new();
    };
    let current = e.fault_requested.unwrap_or(e.fault);
    let fault: Option<Fault> = match action {
        Action::InjectFault => Some(Fault::after(current)),
        _ => None,
    };
    e.fault_requested = Some(fault);
    vec![Effect::SetFault {
        service,
        env,
        fault,
    }]
}

fn open_weights_dialog(state: &mut State, at: Ts) {
    let Some(id) = state.selected_env() else {
        return;
    };
    let svc = &state.services[id.service];
    let why_not = match &svc.traffic {
        None => Some(format!("{} has no traffic provider configured", svc.name)),
        Some(t) => match &t.weights {
            None => Some(format!(
                "the weights of {} are not known yet ({})",
                svc.name,
                t.error.as_deref().unwrap_or("not read yet")
            )),
            Some(w) if w.0.len() < 2 => Some(format!(
                "{} has a single environment: nothing to shift",
                svc.name
            )),
            Some(_) => None,
        },
    };
    if let Some(why) = why_not {
        state.events.push(
            at,
            svc.name.clone(),
            Level::Warn,
            format!("cannot set weights: {why}"),
        );
        return;
    }
    let Some(weights) = svc.traffic.as_ref().and_then(|t| t.weights.clone()) else {
        return;
    };
    let env_name = &svc.envs[id.env].name;
    let cursor = weights
        .0
        .iter()
        .position(|w| &w.env == env_name)
        .unwrap_or(0);
    state.ui.editor = Some(WeightEditor::new(id.service, weights, cursor));
    state.ui.overlay = Overlay::Weights;
}

/// Keys in the set-weights dialog: choose, preview (first key), apply (second key).
fn weights_dialog(state: &mut State, action: Action, at: Ts) -> Vec<Effect> {
    let Some(editor) = state.ui.editor.as_mut() else {
        state.ui.overlay = Overlay::None;
        return Vec::new();
    };
    let service = state
        .services
        .get(editor.service)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    match (&editor.stage, action) {
        // Once sent, the change runs to its outcome; the dialog shows it.
        (EditStage::Applying, _) => {}
        (_, Action::Back) => {
            // Cancelling a rollback the operator asked for withdraws the request.
            if let Purpose::Rollback { manual: true, .. } = &editor.purpose {
                let s = editor.service;
                state.services[s].rollback.manual = None;
                state
                    .events
                    .push(at, service, Level::Info, "rollback request withdrawn");
            }
            state.ui.editor = None;
            state.ui.overlay = Overlay::None;
        }
        (EditStage::Failed(_), Action::OpenDetail | Action::Confirm) => {
            state.ui.editor = None;
            state.ui.overlay = Overlay::None;
        }
        (EditStage::Editing, Action::SelectNext | Action::SelectPrev) => {
            editor.move_cursor(action == Action::SelectNext);
        }
        (EditStage::Editing, Action::Increase | Action::Decrease) => {
            editor.step(action == Action::Increase)
        }
        (EditStage::Editing, Action::OpenDetail) => {
            if !editor.changes_anything() {
                state
                    .events
                    .push(at, service, Level::Info, "set weights: nothing to change");
                return Vec::new();
            }
            editor.stage = EditStage::AwaitingPreview;
            return vec![Effect::PreviewWeights {
                service,
                from: editor.from.clone(),
                to: editor.target(),
            }];
        }
        // Changing the choice after a preview discards the preview.
        (EditStage::Previewing(_), Action::Increase | Action::Decrease) => {
            editor.stage = EditStage::Editing;
            editor.step(action == Action::Increase);
        }
        (EditStage::Previewing(_), Action::SelectNext | Action::SelectPrev) => {
            editor.stage = EditStage::Editing;
            editor.move_cursor(action == Action::SelectNext);
        }
        (EditStage::Previewing(_), Action::Confirm) => {
            editor.stage = EditStage::Applying;
            let by = state.operator.clone();
            let (from, to) = (editor.from.clone(), editor.target());
            let purpose = editor.purpose.clone();
            if let Purpose::Rollback {
                suspect, target, ..
            } = &purpose
            {
                let s = editor.service;
                let svc = &mut state.services[s];
                let idx = |n: &str| svc.envs.iter().position(|e| e.name == n).unwrap_or(0);
                let (si, ti) = (idx(suspect), idx(target));
                svc.rollback.in_progress = Some((si, ti, at, by.clone()));
                svc.rollback.note(
                    at,
                    TimelineKind::Action,
                    format!("rollback {suspect} → {target} confirmed by {by}"),
                );
            }
            state.events.push(
                at,
                service.clone(),
                Level::Info,
                format!(
                    "set weights confirmed by {by}: {}",
                    crate::core::traffic::Weights::describe_change(&from, &to)
                ),
            );
            return vec![Effect::SetWeights {
                service,
                from,
                to,
                by,
                purpose,
            }];
        }
        _ => {}
    }
    Vec::new()
}

/// `rollback`: the recommended rollback, through the same preview and second
/// key as any traffic change. With no rule firing, it is the operator's own
/// request (the manual rule), still within the guards.
fn rollback(state: &mut State, at: Ts) -> Vec<Effect> {
    let Some(id) = state.selected_env() else {
        return Vec::new();
    };
    let s = id.service;
    let name = state.services[s].name.clone();
    let mut asked = false;
    if matches!(
        state.services[s].rollback.decision,
        Decision::Healthy | Decision::Watch { .. } | Decision::RolledBack { .. }
    ) {
        let by = state.operator.clone();
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
    match &svc.rollback.decision {
        Decision::RollbackRecommended {
            suspect, target, ..
        } => {
            let Some(from) = svc.traffic.as_ref().and_then(|t| t.weights.clone()) else {
                return effects;
            };
            let (sn, tn) = (
                svc.envs[*suspect].name.clone(),
                svc.envs[*target].name.clone(),
            );
            let editor = WeightEditor::rollback(s, from, &sn, &tn, asked);
            effects.push(Effect::PreviewWeights {
                service: name,
                from: editor.from.clone(),
                to: editor.target(),
            });
            state.ui.editor = Some(editor);
            state.ui.overlay = Overlay::Weights;
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
                format!("rollback blocked: {why} (w moves traffic by hand)"),
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
            "rollback decisions are off for this service (mode = off); w moves traffic by hand",
        ),
        _ => {}
    }
    effects
}
