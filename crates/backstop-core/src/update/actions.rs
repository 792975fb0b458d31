//! Operator commands. Modal views (help, dialogs, interrupted actions, a line
//! being typed) take the keys first, so a key pressed in one never acts
//! behind it.

use crate::action::Action;
use crate::events::Level;
use crate::model::{MetricWindowChoice, Overlay, Pane, State};
use crate::msg::Effect;
use crate::time::Ts;
use crate::traffic::{EditStage, WeightEditor};

use super::checklist;

pub(super) fn on_action(state: &mut State, action: Action, at: Ts) -> Vec<Effect> {
    if action == Action::Quit {
        // Leaving in the middle of a change leaves it unknown: say so first.
        if let Some(name) = change_under_way(state)
            && !state.ui.quit_armed
        {
            state.ui.quit_armed = true;
            state.events.push(at, name, Level::Bad, "a change is under way: wait for its outcome, or quit again to leave anyway (it will show as interrupted)");
            return Vec::new();
        }
        state.quit = true;
        return Vec::new();
    }
    state.ui.quit_armed = false;
    // A question is open (a one-key change asked for its second key): this
    // key answers it, and does nothing else.
    if let Some(fx) = super::armed::answer(state, action, at) {
        return fx;
    }
    // A read-only console watches, and a service another console drives is
    // theirs: the keys that act are refused here — in every view, the why
    // view's `r` and the interrupted changes' acknowledgement too — and the
    // executor and the journal (the lease's fence) refuse any change behind
    // them.
    if let Some((name, why)) = super::armed::refused_target(state, action) {
        state.events.push(at, name, Level::Info, why);
        return Vec::new();
    }
    match state.ui.overlay {
        // Help is modal: it closes on help or back and swallows everything else.
        Overlay::Help => {
            match action {
                Action::Help | Action::Back => {
                    state.ui.overlay = Overlay::None;
                    state.ui.help_scroll = 0;
                }
                // The renderer stops at the end; this only says which way.
                Action::SelectNext => {
                    state.ui.help_scroll = state.ui.help_scroll.saturating_add(1).min(200)
                }
                Action::SelectPrev => state.ui.help_scroll = state.ui.help_scroll.saturating_sub(1),
                _ => {}
            }
            return Vec::new();
        }
        Overlay::Weights => return weights_dialog(state, action, at),
        Overlay::Interrupted => return interrupted(state, action),
        // The score stays until it is read.
        Overlay::DrillScore => {
            if matches!(action, Action::Back | Action::OpenDetail) {
                state.ui.overlay = Overlay::None;
            }
            return Vec::new();
        }
        // The trend view reads like help: it closes on its key or back.
        Overlay::Trend => {
            match action {
                Action::DrillTrend | Action::Back => {
                    state.ui.overlay = Overlay::None;
                    state.ui.help_scroll = 0;
                }
                // The renderer stops at the end; this only says which way.
                Action::SelectNext => {
                    state.ui.help_scroll = state.ui.help_scroll.saturating_add(1).min(200)
                }
                Action::SelectPrev => state.ui.help_scroll = state.ui.help_scroll.saturating_sub(1),
                _ => {}
            }
            return Vec::new();
        }
        // The people view closes on its key or back, like help.
        Overlay::People => {
            if matches!(action, Action::People | Action::Back) {
                state.ui.overlay = Overlay::None;
            }
            return Vec::new();
        }
        // The why view reads like help: it closes, or moves to the next service.
        Overlay::Why => {
            match action {
                Action::Explain | Action::Back => state.ui.overlay = Overlay::None,
                Action::SelectNext | Action::SelectPrev => {
                    move_selection(state, action == Action::SelectNext)
                }
                Action::StartRollback => {
                    state.ui.overlay = Overlay::None;
                    return start_rollback(state, at);
                }
                _ => {}
            }
            return Vec::new();
        }
        Overlay::None | Overlay::Detail => {}
    }
    if super::armed::needs_second_key(action) && super::armed::arm(state, action, at).is_some() {
        return Vec::new();
    }
    if matches!(
        action,
        Action::Drive | Action::HandOver | Action::Approve | Action::Reject | Action::Override
    ) {
        return super::room::on_action(state, action, at);
    }
    // An emergency switch on the banner takes `y` even where the checklist
    // pane has the focus, as long as no checklist is open to answer it (a
    // service's emergency is only offered with none of its own open).
    if action == Action::Confirm
        && state.ui.overlay == Overlay::None
        && state.services.iter().all(|s| {
            s.rollback
                .checklist
                .as_ref()
                .is_none_or(|c| c.ended.is_some())
        })
        && let Some(fx) = super::emergency::confirm(state, at)
    {
        return fx;
    }
    // The checklist pane takes the keys that act on steps.
    if state.ui.focus == Pane::Checklist
        && state.ui.overlay == Overlay::None
        && matches!(
            action,
            Action::OpenDetail | Action::Confirm | Action::Skip | Action::Abort | Action::Back
        )
    {
        return checklist::on_action(state, action, at);
    }
    match action {
        Action::Quit => {}
        Action::Help => state.ui.overlay = Overlay::Help,
        Action::Back => {
            if state.ui.overlay != Overlay::None {
                state.ui.overlay = Overlay::None;
            } else if state.ui.filter(state.ui.focus).is_some() {
                // Esc clears the focused pane's filter first.
                let pane = state.ui.focus;
                super::line::set_filter(state, pane, "");
            } else {
                state.ui.events_scroll = 0;
            }
        }
        Action::CommandLine => super::line::open_command_line(state),
        Action::Filter => super::line::open_filter(state, at),
        Action::NextMatch | Action::PrevMatch => {
            if state.ui.focus == Pane::Events {
                super::line::jump(state, action == Action::NextMatch, at);
            } else {
                state.events.push(
                    at,
                    "backstop",
                    Level::Info,
                    format!("{action}: jumps between the matches of the event log's filter (Tab to the log, / to filter)"),
                );
            }
        }
        Action::NextPane | Action::PrevPane => {
            state.ui.overlay = Overlay::None;
            state.ui.focus = next_pane(state, action == Action::NextPane);
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
        Action::StartRollback => return start_rollback(state, at),
        Action::Explain => state.ui.overlay = Overlay::Why,
        Action::People => state.ui.overlay = Overlay::People,
        Action::DrillTrend => {
            state.ui.overlay = Overlay::Trend;
            state.trend = crate::model::TrendView::Loading;
            return vec![Effect::ReadDrills];
        }
        Action::ExportReport => return export(state, at),
        // Asked first (`armed`): here only when it cannot page, to say why.
        Action::Escalate => return super::escalation::on_key(state, "", at),
        Action::StatusUpdate => {
            if let Err(why) = super::comms::open(state, at) {
                state
                    .events
                    .push(at, "backstop", Level::Warn, format!("update: {why}"));
            }
        }
        // An emergency switch on the banner: `y` makes it.
        Action::Confirm => return super::emergency::confirm(state, at).unwrap_or_default(),
        // Outside the dialogs and the checklist these have nothing to act on.
        Action::Increase | Action::Decrease | Action::Skip | Action::Abort => {}
        Action::InjectFault | Action::ClearFaults => {
            return super::armed::fault_effect(state, action, at);
        }
        Action::Drive | Action::HandOver | Action::Approve | Action::Reject | Action::Override => {}
    }
    Vec::new()
}

/// The service with a checklist step changing the world right now.
fn change_under_way(state: &State) -> Option<String> {
    state.services.iter().find_map(|s| {
        let step = s.rollback.checklist.as_ref()?.current()?;
        let changing = matches!(step.status, crate::runbook::StepStatus::Running { .. })
            && matches!(&step.spec.kind, crate::runbook::StepKind::Action(a) if a.mutates());
        changing.then(|| s.name.clone())
    })
}

/// The next pane in order, passing over the checklist when there is none.
fn next_pane(state: &State, forward: bool) -> Pane {
    let has_checklist = state
        .services
        .iter()
        .any(|s| s.rollback.checklist.is_some());
    let order: Vec<Pane> = Pane::ORDER
        .into_iter()
        .filter(|p| *p != Pane::Checklist || has_checklist)
        .collect();
    let i = order.iter().position(|p| *p == state.ui.focus).unwrap_or(0);
    let n = order.len();
    order[if forward {
        (i + 1) % n
    } else {
        (i + n - 1) % n
    }]
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
    // Only the rows the Health filter shows are walked over.
    let shown: Vec<usize> = state
        .env_ids()
        .enumerate()
        .filter(|(_, id)| crate::filter::env_shown(state, *id))
        .map(|(i, _)| i)
        .collect();
    let Some(&last) = shown.last() else {
        return;
    };
    let sel = state.ui.selected;
    state.ui.selected = if down {
        shown.iter().copied().find(|i| *i > sel).unwrap_or(last)
    } else {
        shown
            .iter()
            .rev()
            .copied()
            .find(|i| *i < sel)
            .unwrap_or(shown[0])
    };
}

fn open_weights_dialog(state: &mut State, at: Ts) {
    let Some(id) = state.selected_env() else {
        return;
    };
    let svc = &state.services[id.service];
    let why_not = match &svc.traffic {
        // A weight set by hand would skip the second person: under the
        // two-person rule traffic moves through the checklist's approved steps.
        _ if svc.rollback.policy.approvals >= 2 => Some(format!(
            "{} is under the two-person rule (approvals = 2): traffic moves through the rollback checklist, where a second person approves each change",
            svc.name
        )),
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
            Some(_) => super::change_on_its_way(state, id.service)
                .map(|c| format!("{c} is on its way: wait for its outcome")),
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
        (_, Action::Back) | (EditStage::Failed(_), Action::OpenDetail | Action::Confirm) => {
            state.ui.editor = None;
            state.ui.overlay = Overlay::None;
        }
        (EditStage::Editing, Action::SelectNext | Action::SelectPrev) => {
            editor.move_cursor(action == Action::SelectNext)
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
            state.preview_requests += 1;
            editor.request = state.preview_requests;
            editor.stage = EditStage::AwaitingPreview;
            return vec![Effect::PreviewWeights {
                service,
                from: editor.from.clone(),
                to: editor.target(),
                request: editor.request,
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
            let index = editor.service;
            if let Some(other) = super::change_on_its_way(state, index) {
                state.events.push(
                    at,
                    service,
                    Level::Warn,
                    format!(
                        "{other} is on its way: nothing changed; confirm again after its outcome"
                    ),
                );
                return Vec::new();
            }
            let now_weights = state
                .services
                .get(index)
                .and_then(|s| s.traffic.as_ref())
                .and_then(|t| t.weights.clone());
            let Some(editor) = state.ui.editor.as_mut() else {
                return Vec::new();
            };
            // The one test of a moved world: the weights exactly as previewed.
            if let Some(w) = now_weights
                && !w.unchanged_since(&editor.from)
            {
                let to = editor.to.clone();
                *editor = WeightEditor::new(index, w.clone(), editor.cursor);
                if to.len() == editor.to.len() {
                    editor.to = to;
                }
                state.preview_requests += 1;
                editor.request = state.preview_requests;
                editor.stage = EditStage::AwaitingPreview;
                let (from, to, request) = (editor.from.clone(), editor.target(), editor.request);
                state.events.push(
                    at,
                    service.clone(),
                    Level::Warn,
                    format!(
                        "the traffic moved since the preview (now {}): nothing changed; here is the new preview",
                        super::traffic::split(&w)
                    ),
                );
                return vec![Effect::PreviewWeights {
                    service,
                    from,
                    to,
                    request,
                }];
            }
            editor.stage = EditStage::Applying;
            let by = state.operator.clone();
            let (from, to) = (editor.from.clone(), editor.target());
            let change = crate::traffic::Weights::describe_change(&from, &to);
            state.events.push(
                at,
                service.clone(),
                Level::Info,
                format!("set weights confirmed by {by}: {change}"),
            );
            return vec![Effect::SetWeights {
                service,
                from,
                to,
                by,
            }];
        }
        _ => {}
    }
    Vec::new()
}

/// `start-rollback`: the guided checklist for the selected service. With no
/// rule firing it is the operator's own request (the manual rule), still
/// within the guards. A service with one environment, or none that backstop
/// can move traffic to, gets its runbook all the same: that is what the
/// manual and revert runbooks are for.
fn start_rollback(state: &mut State, at: Ts) -> Vec<Effect> {
    let Some(id) = state.selected_env() else {
        return Vec::new();
    };
    let by = state.operator.clone();
    super::request::request_rollback(state, id, by, false, at)
}

/// The interrupted-actions view: check the real state (first key), then
/// acknowledge what was found (second key). Nothing else until then.
fn interrupted(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::OpenDetail => state
            .interrupted
            .iter()
            .filter(|i| i.real.is_none())
            .map(|i| Effect::CheckReal {
                intent: i.intent,
                scope: i.scope.clone(),
                work: i.work.clone(),
            })
            .collect(),
        Action::Confirm if state.interrupted.iter().all(|i| i.real.is_some()) => {
            // Resolving them is the driver's: a driver that is gone is taken
            // over first, on a typed `yes`; another refusal is said.
            for i in &state.interrupted {
                let name = i.scope.split('/').next().unwrap_or(&i.scope).to_string();
                let Some(s) = state.services.iter().position(|x| x.name == name) else {
                    continue;
                };
                let lost = super::room::lease(state, &name)
                    .filter(|l| l.lost && l.session != state.session);
                let watching = state.journal_down.is_some()
                    || state.approve_only
                    || state.services[s].read_only;
                if let (Some(l), false) = (lost, watching) {
                    let (from, quiet) = (l.operator.clone(), l.quiet_s);
                    state.ui.input = Some(crate::model::TextInput {
                        purpose: crate::model::InputPurpose::TakeOver {
                            service: s,
                            from: from.clone(),
                        },
                        prompt: format!(
                            "{} drove {name} and is gone (no heartbeat for {quiet}s). Type yes to take it over and resolve these changes: ",
                            super::room::short(&from)
                        ),
                        text: String::new(),
                    });
                    return Vec::new();
                }
                if let Err(why) = super::may_act(state, s) {
                    state.events.push(state.now, name, Level::Info, why);
                    return Vec::new();
                }
            }
            let by = state.operator.clone();
            let fx = state
                .interrupted
                .drain(..)
                .map(|i| Effect::AckInterrupted {
                    intent: i.intent,
                    scope: i.scope.clone(),
                    incident: i.incident,
                    by: by.clone(),
                    text: format!(
                        "interrupted: \"{}\"; real state checked: {}",
                        i.text,
                        i.real.unwrap_or_default()
                    ),
                })
                .collect();
            state.ui.overlay = Overlay::None;
            fx
        }
        _ => Vec::new(),
    }
}

/// Write the report of the selected service's last incident.
fn export(state: &mut State, at: Ts) -> Vec<Effect> {
    let Some(id) = state.selected_env() else {
        return Vec::new();
    };
    // The checklist's incident, from whichever service has one open (the
    // checklist pane may be focused on another row), else the last one.
    let service = super::checklist::focused_checklist(state).unwrap_or(id.service);
    let svc = &state.services[service];
    let incident = svc
        .rollback
        .checklist
        .as_ref()
        .and_then(|c| c.incident)
        .or(svc.rollback.last_incident);
    match incident {
        Some(incident) => vec![Effect::ExportReport { incident }],
        None => {
            state.events.push(
                at,
                svc.name.clone(),
                Level::Info,
                "no incident of this service in this session to report",
            );
            Vec::new()
        }
    }
}
