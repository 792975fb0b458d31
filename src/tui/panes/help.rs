//! Help, generated from the keymap and the `Action` list: what you read here
//! is what the keys do, including your own bindings. When the list is taller
//! than the screen, it flows into two columns, whole groups at a time.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{fit, frame};
use crate::core::action::Action;
use crate::core::model::State;
use crate::tui::View;

const FOOTER: &str = " ctrl-c always quits. `backstop keys` prints this list.";
/// One column's width: keys, then the description.
const COLUMN: u16 = 76;

/// A group of actions and its title.
type Group = (&'static str, Vec<Action>);

/// Each group of actions: its title and its actions.
fn groups() -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for a in Action::ALL {
        match out.last_mut() {
            Some((g, list)) if *g == a.group() => list.push(*a),
            _ => out.push((a.group(), vec![*a])),
        }
    }
    out
}

/// Rows of one column holding `groups`: title, actions, a blank between.
fn rows(groups: &[Group]) -> u16 {
    groups
        .iter()
        .map(|(_, a)| a.len() as u16 + 2)
        .sum::<u16>()
        .saturating_sub(1)
}

/// The overlay's size within `body`: one column if it fits, else two.
pub fn size(body: Rect) -> (u16, u16) {
    let g = groups();
    let one = rows(&g) + 4;
    if one <= body.height || body.width < 2 * 44 {
        return (COLUMN, one);
    }
    let (a, b) = split(&g);
    (2 * COLUMN, rows(a).max(rows(b)) + 4)
}

/// Two columns of whole groups, as even as they come.
fn split(g: &[Group]) -> (&[Group], &[Group]) {
    let total = rows(g);
    let at = (1..g.len())
        .min_by_key(|i| rows(&g[..*i]).abs_diff(total.saturating_sub(rows(&g[..*i]))))
        .unwrap_or(g.len());
    g.split_at(at)
}

fn column(view: &View<'_>, groups: &[Group], width: usize) -> Vec<Line<'static>> {
    let t = view.theme;
    let mut lines = Vec::new();
    for (group, actions) in groups {
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(format!(" {group}"), t.bold()));
        for a in actions {
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
                Span::raw(fit(a.description(), width.saturating_sub(19))),
            ]));
        }
    }
    lines
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let inner = frame(view, "Help · keys from keymap.toml", true, area, buf);
    let g = groups();
    let [body, footer] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    if rows(&g) <= body.height || inner.width < 2 * 44 {
        // Too short for all of it: ↑↓ scroll, and the footer says there is more.
        let lines = column(view, &g, inner.width as usize);
        let max = (lines.len() as u16).saturating_sub(body.height);
        let scroll = state.ui.help_scroll.min(max);
        Paragraph::new(lines).scroll((scroll, 0)).render(body, buf);
        if max > 0 {
            let more = if scroll < max {
                " ↓ more below (↑↓ scroll)"
            } else {
                " ↑ more above"
            };
            Line::styled(more, view.theme.key()).render(footer, buf);
            return;
        }
    } else {
        let (a, b) = split(&g);
        let [left, right] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(body);
        Paragraph::new(column(view, a, left.width as usize)).render(left, buf);
        Paragraph::new(column(view, b, right.width as usize)).render(right, buf);
    }
    Line::styled(FOOTER, view.theme.dim()).render(footer, buf);
}
