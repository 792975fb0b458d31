//! Help, generated from the keymap and the `Action` list: what you read here
//! is what the keys do, including your own bindings.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{fit, frame};
use crate::core::action::Action;
use crate::core::model::State;
use crate::tui::View;

pub fn render(_state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let inner = frame(view, "Help · keys from keymap.toml", true, area, buf);
    let t = view.theme;
    let mut lines = Vec::new();
    let mut group = "";
    for a in Action::ALL {
        if a.group() != group {
            group = a.group();
            if !lines.is_empty() {
                lines.push(Line::raw(""));
            }
            lines.push(Line::styled(format!(" {group}"), t.bold()));
        }
        let keys: Vec<String> = view
            .keymap
            .keys_for(*a)
            .iter()
            .map(|k| k.to_string())
            .collect();
        let keys = if keys.is_empty() {
            "—".to_string()
        } else {
            keys.join(" ")
        };
        lines.push(Line::from(vec![
            Span::styled(format!("   {:<16}", fit(&keys, 15)), t.key()),
            Span::raw(fit(
                a.description(),
                (inner.width as usize).saturating_sub(19),
            )),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " ctrl-c always quits. `backstop keys` prints this list.",
        t.dim(),
    ));
    Paragraph::new(lines).render(inner, buf);
}
