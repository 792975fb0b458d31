//! The event log: state transitions with timestamps, newest at the bottom.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{fit, frame};
use crate::core::filter;
use crate::core::model::{Overlay, Pane, State};
use crate::tui::View;

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let focused = state.ui.focus == Pane::Events && state.ui.overlay == Overlay::None;
    let scroll = state
        .ui
        .events_scroll
        .min(state.events.len().saturating_sub(1));
    // The `/` filter searches the log: every line stays (the context of a
    // match matters), matching lines are marked, `n`/`N` walk them.
    let query = state.ui.filter(Pane::Events);
    let matches = filter::event_matches_all(state);
    let mut title = if scroll > 0 {
        format!("Events · {scroll} newer below · Esc follows")
    } else {
        "Events".to_string()
    };
    if let Some(q) = query {
        let bottom = state.events.len().saturating_sub(1 + scroll);
        let at = matches.iter().filter(|i| **i >= bottom).count();
        // Matches are counted from the newest, as `n` walks back in time.
        title = match matches.len() {
            0 => format!("Events · /{q} · no match · Esc clears"),
            n if matches.contains(&bottom) => {
                format!("Events · /{q} · match {at} of {n} · n older · N newer")
            }
            n => format!("Events · /{q} · {n} matches · n older · N newer"),
        };
    }
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
        let hit = query.is_some_and(|q| filter::event_matches(q, e));
        // A match is marked in the margin (no colour needed) and bold.
        let (mark, time_style) = if hit {
            ("›", view.theme.key())
        } else {
            (" ", view.theme.dim())
        };
        let line = Line::from(vec![
            Span::styled(format!("{mark}{} ", e.at.hms()), time_style),
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
