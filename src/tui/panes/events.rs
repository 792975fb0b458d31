//! The event log: state transitions with timestamps, newest at the bottom.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{fit, frame};
use crate::core::model::{Overlay, Pane, State};
use crate::tui::View;

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let focused = state.ui.focus == Pane::Events && state.ui.overlay == Overlay::None;
    let scroll = state
        .ui
        .events_scroll
        .min(state.events.len().saturating_sub(1));
    let title = if scroll > 0 {
        format!("Events · {scroll} newer below · Esc follows")
    } else {
        "Events".to_string()
    };
    let inner = frame(view, &title, focused, area, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    if state.events.is_empty() {
        Line::styled(" waiting for the first answers…", view.theme.dim()).render(inner, buf);
        return;
    }
    let scope_w = state
        .events
        .iter()
        .map(|e| super::width(&e.scope))
        .max()
        .unwrap_or(0)
        .clamp(8, 24);
    let visible = inner.height as usize;
    let end = state.events.len() - scroll;
    let start = end.saturating_sub(visible);
    for (row, e) in state
        .events
        .iter()
        .skip(start)
        .take(end - start)
        .enumerate()
    {
        let text_w = (inner.width as usize).saturating_sub(10 + scope_w + 2);
        let line = Line::from(vec![
            Span::styled(format!(" {} ", e.at.hms()), view.theme.dim()),
            Span::styled(
                format!("{:<scope_w$}  ", fit(&e.scope, scope_w)),
                view.theme.bold(),
            ),
            Span::styled(fit(&e.text, text_w), view.theme.level(e.level)),
        ]);
        let r = Rect {
            y: inner.y + row as u16,
            height: 1,
            ..inner
        };
        line.render(r, buf);
    }
}
