//! The bottom line: the keys that work now, read from the keymap.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::core::action::Action;
use crate::core::model::{Overlay, State};
use crate::tui::View;

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let hints: Vec<(Vec<Action>, &str)> = match state.ui.overlay {
        Overlay::Help => vec![
            (vec![Action::Back], "close help"),
            (vec![Action::Quit], "quit"),
        ],
        Overlay::Detail => vec![
            (
                vec![Action::SelectPrev, Action::SelectNext],
                "other environment",
            ),
            (vec![Action::Back], "close"),
            (vec![Action::Help], "help"),
            (vec![Action::Quit], "quit"),
        ],
        Overlay::None => {
            let mut h = vec![
                (vec![Action::SelectPrev, Action::SelectNext], "select"),
                (vec![Action::OpenDetail], "detail"),
                (vec![Action::NextPane], "pane"),
            ];
            if state.is_drill() {
                h.push((vec![Action::InjectFault], "fault"));
                h.push((vec![Action::ClearFaults], "heal"));
            }
            h.push((vec![Action::Help], "help"));
            h.push((vec![Action::Quit], "quit"));
            h
        }
    };
    let mut spans = vec![Span::raw(" ")];
    let mut width = 1;
    for (actions, label) in hints {
        let keys: String = actions
            .iter()
            .filter_map(|a| view.keymap.keys_for(*a).first().map(|k| k.short()))
            .collect::<Vec<_>>()
            .join("");
        if keys.is_empty() {
            continue; // unbound by the user: do not advertise it
        }
        let item = keys.chars().count() + 1 + label.len() + 2;
        if width + item > area.width as usize {
            break;
        }
        width += item;
        spans.push(Span::styled(keys, view.theme.key()));
        spans.push(Span::raw(format!(" {label}  ")));
    }
    Line::from(spans).render(area, buf);
}
