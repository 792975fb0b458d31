//! The bottom line: the keys that work now, read from the keymap. When the
//! line is too narrow the least needed hints go first; help and quit stay.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::core::action::Action;
use crate::core::command;
use crate::core::model::{Followed, InputPurpose, Overlay, Pane, State};
use crate::core::runbook::StepStatus;
use crate::core::traffic::EditStage;
use crate::core::update::{command_names, focused_checklist, room, shown_checklist};
use crate::tui::View;

/// A hint: the actions whose first keys are shown, the label, and how much
/// it matters (higher stays longer).
type Hint = (Vec<Action>, &'static str, u8);

fn hints(state: &State) -> Vec<Hint> {
    use Action::*;
    match state.ui.overlay {
        Overlay::Interrupted => {
            if state.interrupted.iter().all(|i| i.real.is_some()) {
                vec![(vec![Confirm], "acknowledge", 10), (vec![Quit], "quit", 9)]
            } else {
                vec![
                    (vec![OpenDetail], "check the real state", 10),
                    (vec![Quit], "quit", 9),
                ]
            }
        }
        Overlay::DrillScore => vec![(vec![Back], "close", 9), (vec![Quit], "quit", 10)],
        Overlay::Trend => vec![
            (vec![SelectPrev, SelectNext], "scroll", 5),
            (vec![Back], "close", 9),
            (vec![Quit], "quit", 10),
        ],
        Overlay::People => vec![
            (vec![Back], "close", 9),
            (vec![Drive], "ask to drive", 6),
            (vec![Quit], "quit", 10),
        ],
        Overlay::Help => vec![
            (vec![SelectPrev, SelectNext], "scroll", 5),
            (vec![Back], "close help", 9),
            (vec![Quit], "quit", 10),
        ],
        Overlay::Why => vec![
            (vec![Back], "close", 9),
            (vec![SelectPrev, SelectNext], "other service", 5),
            (vec![Quit], "quit", 10),
        ],
        Overlay::Weights => match state.ui.editor.as_ref().map(|e| &e.stage) {
            Some(EditStage::Previewing(_)) => {
                vec![
                    (vec![Confirm], "APPLY", 10),
                    (vec![Back], "cancel", 9),
                    (vec![Decrease, Increase], "change again", 5),
                ]
            }
            Some(EditStage::Applying) => vec![],
            Some(EditStage::Failed(_)) => vec![(vec![Back], "close", 10)],
            _ => vec![
                (vec![Decrease, Increase], "change", 8),
                (vec![SelectPrev, SelectNext], "environment", 6),
                (vec![OpenDetail], "preview", 9),
                (vec![Back], "cancel", 10),
            ],
        },
        Overlay::Detail => vec![
            (vec![SelectPrev, SelectNext], "other environment", 6),
            (vec![Back], "close", 9),
            (vec![Help], "help", 7),
            (vec![Quit], "quit", 10),
        ],
        Overlay::None if state.ui.focus == Pane::Checklist => checklist_hints(state),
        Overlay::None => {
            let alert = state
                .services
                .iter()
                .any(|s| s.rollback.decision.is_alert());
            let selected = state
                .selected_env()
                .and_then(|id| state.services.get(id.service));
            let elsewhere =
                selected.is_some_and(|s| room::driven_elsewhere(state, &s.name).is_some());
            // The keys that act are offered only where they would: the same
            // question every acting key meets (`update::may_act`).
            let may_act = state
                .selected_env()
                .is_some_and(|id| crate::core::update::may_act(state, id.service).is_ok());
            let watching = selected.is_some_and(|s| s.read_only);
            let asked = selected.is_some_and(|s| s.rollback.asked.is_some());
            let mut h = vec![
                (vec![SelectPrev, SelectNext], "select", 6),
                (vec![OpenDetail], "detail", 5),
                (vec![NextPane], "pane", 7),
                (vec![SetWeights], "weights", 4),
                (vec![StartRollback], "roll back", if alert { 8 } else { 2 }),
                (vec![Explain], "why", if alert { 7 } else { 1 }),
                (vec![CycleWindow], "window", 1),
            ];
            if state.is_drill() {
                h.push((vec![InjectFault], "fault", 3));
                h.push((vec![ClearFaults], "heal", 2));
                h.push((vec![DrillTrend], "trend", 1));
            }
            if !may_act {
                // Another console drives it, or this one only watches.
                h.retain(|(a, _, _)| {
                    !a.iter().any(|a| {
                        matches!(a, SetWeights | StartRollback | InjectFault | ClearFaults)
                    })
                });
            }
            if elsewhere && !state.approve_only && !watching && state.journal_down.is_none() {
                h.push((vec![Drive], "ask to drive", 8));
            }
            if asked {
                h.push((vec![HandOver], "HAND OVER", 9));
            }
            if state.people.len() > 1 {
                h.push((vec![People], "people", 3));
            }
            h.push((vec![Help], "help", 9));
            h.push((vec![Quit], "quit", 10));
            h
        }
    }
}

/// The selected service (or the checklist's) is only watched from here.
fn watching_only(state: &State) -> bool {
    let service = if state.ui.focus == Pane::Checklist {
        focused_checklist(state)
    } else {
        state.selected_env().map(|id| id.service)
    };
    service
        .and_then(|s| state.services.get(s))
        .is_some_and(|s| s.read_only)
}

/// Keys for a checklist another console drives: approve or reject what
/// it asks a second person for, or ask to drive.
fn followed_hints(state: &State, service: usize, f: &Followed) -> Vec<Hint> {
    use Action::*;
    let mut h = match f.checklist.current().map(|s| &s.status) {
        Some(StepStatus::AwaitingApproval { .. })
            if f.checklist.ended.is_none() && room::may_answer(state, service, f) =>
        {
            vec![(vec![Approve], "APPROVE", 10), (vec![Reject], "reject", 9)]
        }
        _ => vec![],
    };
    let watching = state.services.get(service).is_some_and(|s| s.read_only);
    if !state.approve_only && !watching && state.journal_down.is_none() {
        h.push((vec![Drive], "ask to drive", 6));
    }
    h.push((vec![NextPane], "live panes", 7));
    h.push((vec![Explain], "why", 3));
    h.push((vec![Help], "help", 4));
    h.push((vec![Quit], "quit", 9));
    h
}

/// Keys for the step in hand.
fn checklist_hints(state: &State) -> Vec<Hint> {
    use Action::*;
    if let Some((service, Some(f))) = shown_checklist(state) {
        return followed_hints(state, service, f);
    }
    let service = focused_checklist(state);
    let c = service.and_then(|s| state.services[s].rollback.checklist.as_ref());
    let allow_override = service.is_some_and(|s| state.services[s].rollback.policy.allow_override);
    let mut h = match c.map(|c| (c.ended.is_some(), c.current().map(|s| &s.status))) {
        Some((true, _)) => vec![
            (vec![OpenDetail], "put away", 8),
            (vec![ExportReport], "export report", 7),
        ],
        Some((false, Some(StepStatus::Previewing(_)))) => vec![
            (vec![Confirm], "DO IT", 10),
            (vec![Back], "not now", 9),
            (vec![Skip], "skip", 6),
        ],
        Some((false, Some(StepStatus::Failed(_)))) => vec![
            (vec![OpenDetail], "retry", 9),
            (vec![Skip], "skip", 8),
            (vec![Abort], "abandon", 7),
        ],
        Some((false, Some(StepStatus::AwaitingApproval { .. }))) => {
            let mut h = vec![(vec![Back], "withdraw", 7), (vec![Abort], "abandon", 5)];
            if allow_override {
                h.push((vec![Override], "override", 6));
            }
            h
        }
        Some((false, Some(StepStatus::Running { .. } | StepStatus::AwaitingPreview))) => {
            vec![(vec![Abort], "abandon", 5)]
        }
        Some((false, Some(_))) => vec![
            (vec![OpenDetail], "do step", 10),
            (vec![Skip], "skip", 8),
            (vec![Abort], "abandon", 6),
        ],
        _ => vec![],
    };
    if service.is_some_and(|s| state.services[s].rollback.asked.is_some()) {
        h.push((vec![HandOver], "HAND OVER", 9));
    }
    h.push((vec![NextPane], "live panes", 7));
    h.push((vec![Explain], "why", 3));
    h.push((vec![Help], "help", 4));
    h.push((vec![Quit], "quit", 9));
    h
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    // Typing a reason, a note, a command or a filter: the line is the prompt.
    if let Some(input) = &state.ui.input {
        let after = match input.purpose {
            InputPurpose::Command => {
                let mut found = command::candidates(&input.text, &command_names(state));
                // A word typed whole needs no suggestion of itself.
                let last = input.text.split_whitespace().last().unwrap_or_default();
                if !input.text.ends_with(' ') && found.len() == 1 && found[0] == last {
                    found.clear();
                }
                let shown: Vec<&str> = found.iter().take(6).map(String::as_str).collect();
                let more = if found.len() > shown.len() {
                    " …"
                } else {
                    ""
                };
                if shown.is_empty() || input.text.trim().is_empty() {
                    "  Tab complete · ↑↓ history · ⏎ run · Esc cancel".to_string()
                } else {
                    format!("  {}{more} · Tab · ⏎ run · Esc", shown.join(" "))
                }
            }
            InputPurpose::Filter { pane } => {
                format!("  filters {} · ⏎ keep · Esc clear", pane.title())
            }
            _ => "  ⏎ done · Esc cancel".to_string(),
        };
        let line = Line::from(vec![
            Span::styled(format!(" {}", input.prompt), view.theme.bold()),
            Span::raw(input.text.clone()),
            Span::styled("▏", view.theme.key()),
            Span::styled(after, view.theme.dim()),
        ]);
        // The end of the line (what is being typed) matters most: keep it in view.
        let width: usize = line.spans.iter().map(|s| super::width(&s.content)).sum();
        let skip = width.saturating_sub(area.width as usize);
        let text: String = line
            .spans
            .iter()
            .map(|s| s.content.as_ref())
            .collect::<String>()
            .chars()
            .skip(skip)
            .collect();
        if skip > 0 {
            Line::raw(text).render(area, buf);
        } else {
            line.render(area, buf);
        }
        return;
    }
    // A one-key change asks before it acts: the question is the line.
    if let Some(armed) = &state.ui.armed {
        let confirm = view
            .keymap
            .keys_for(Action::Confirm)
            .first()
            .map_or_else(|| "confirm".to_string(), |k| k.short());
        Line::from(vec![
            Span::styled(format!(" {} ", armed.question), view.theme.bold()),
            Span::styled(confirm, view.theme.key()),
            Span::raw(" do it · "),
            Span::styled("any other key cancels", view.theme.dim()),
        ])
        .render(area, buf);
        return;
    }
    let mut hints = hints(state);
    if watching_only(state) {
        // The keys that would act are not offered (the header says READ-ONLY).
        let on_checklist = state.ui.focus == Pane::Checklist && state.ui.overlay == Overlay::None;
        hints.retain(|(actions, _, _)| {
            !actions.iter().any(|a| {
                matches!(
                    a,
                    Action::StartRollback
                        | Action::SetWeights
                        | Action::InjectFault
                        | Action::ClearFaults
                        | Action::Confirm
                        | Action::Skip
                        | Action::Abort
                ) || (on_checklist && *a == Action::OpenDetail)
            })
        });
    }
    let mut items: Vec<(String, &str, u8)> = hints
        .into_iter()
        .filter_map(|(actions, label, prio)| {
            let keys: String = actions
                .iter()
                .filter_map(|a| view.keymap.keys_for(*a).first().map(|k| k.short()))
                .collect();
            // Unbound by the user: do not advertise it.
            (!keys.is_empty()).then_some((keys, label, prio))
        })
        .collect();
    let width = |items: &[(String, &str, u8)]| -> usize {
        1 + items
            .iter()
            .map(|(k, l, _)| super::width(k) + 1 + super::width(l) + 2)
            .sum::<usize>()
    };
    while width(&items) > area.width as usize && !items.is_empty() {
        let least = items
            .iter()
            .enumerate()
            .min_by_key(|(_, (_, _, p))| *p)
            .map(|(i, _)| i)
            .unwrap_or(0);
        items.remove(least);
    }
    let mut spans = vec![Span::raw(" ")];
    for (keys, label, _) in items {
        spans.push(Span::styled(keys, view.theme.key()));
        spans.push(Span::raw(format!(" {label}  ")));
    }
    Line::from(spans).render(area, buf);
}
