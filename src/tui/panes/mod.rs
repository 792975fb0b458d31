//! One file per pane. Each renders a part of `&State` into a rectangle.

pub mod alarms;
pub mod banner;
pub mod checklist;
pub mod decision;
pub mod deployments;
pub mod detail;
pub mod events;
pub mod header;
pub mod health;
pub mod help;
pub mod interrupted;
pub mod keybar;
pub mod metrics;
pub mod people;
pub mod score;
pub mod strip;
pub mod summary;
pub mod traffic;
pub mod trend;
pub mod weights;
pub mod why;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Widget};

use super::View;
use crate::core::model::{Pane, State};

/// A pane's frame: heavy border when focused, the title in it.
pub fn frame(view: &View<'_>, title: &str, focused: bool, area: Rect, buf: &mut Buffer) -> Rect {
    let block = Block::bordered()
        .title(format!(" {title} "))
        .border_type(view.theme.border_type(focused))
        .border_style(view.theme.border(focused));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// A list pane's title with its `/` filter, so a filtered list never passes
/// for the whole: `Health · /crit · 2 of 50`.
pub fn filtered_title(state: &State, pane: Pane, title: &str, shown: usize, all: usize) -> String {
    match state.ui.filter(pane) {
        Some(q) => format!("{title} · /{q} · {shown} of {all}"),
        None => title.to_string(),
    }
}

/// What a list pane says when its filter hides every row.
pub fn nothing_matches(state: &State, pane: Pane) -> Option<String> {
    state
        .ui
        .filter(pane)
        .map(|q| format!(" nothing matches /{q} · Esc clears the filter"))
}

/// The columns `s` takes on a terminal: a wide character (CJK, most
/// emoji) takes two, so names line up whatever they are written in.
pub fn width(s: &str) -> usize {
    ratatui::text::Span::raw(s).width()
}

/// Cut `s` to `width` columns, marking the cut with `…`.
pub fn fit(s: &str, width: usize) -> String {
    if self::width(s) <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = self::width(c.encode_utf8(&mut [0; 4]));
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// The columns of a table that fit in `width`, most important first
/// (`priority` lists every column): a narrow terminal loses whole columns
/// rather than a cut from every one — a right-aligned `120ms` cut to `20ms`
/// would lie. Returns the kept columns in table order.
pub fn columns_that_fit(widths: &[u16], priority: &[usize], width: u16) -> Vec<usize> {
    let mut kept: Vec<usize> = Vec::new();
    let mut used: u16 = 0;
    for &c in priority {
        let w = widths[c];
        // One column of spacing before every column but the first.
        let need = if kept.is_empty() { w } else { w + 1 };
        if w > 0 && used + need <= width {
            kept.push(c);
            used += need;
        }
    }
    kept.sort_unstable();
    kept
}

/// The cells of the columns `columns_that_fit` kept.
pub fn kept_cells<'a>(
    cells: Vec<ratatui::widgets::Cell<'a>>,
    kept: &[usize],
) -> Vec<ratatui::widgets::Cell<'a>> {
    cells
        .into_iter()
        .enumerate()
        .filter(|(i, _)| kept.contains(i))
        .map(|(_, c)| c)
        .collect()
}

/// A text gauge, readable without colour: `██████░░░░` for 60 % in 10 cells.
pub fn gauge(pct: f64, width: usize) -> String {
    let filled = ((pct.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize;
    let mut s = "█".repeat(filled.min(width));
    s.push_str(&"░".repeat(width - filled.min(width)));
    s
}

/// `4.8`, `45`, `1.2k` requests a second: whole numbers from 10 on, so the
/// figure does not flicker with every request over SSH.
pub fn rate(r: f64) -> String {
    if r >= 1000.0 {
        format!("{:.1}k", r / 1000.0)
    } else if r >= 10.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// `0.0 %`, `8.1 %`, `100 %`.
pub fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    if p >= 99.95 {
        "100 %".into()
    } else {
        format!("{p:.1} %")
    }
}

/// Status lines of the polled sources of one kind (CloudWatch): when their
/// data is from, and their error while they fail. The time has minute
/// resolution so the line does not redraw every second.
pub fn source_lines(
    state: &crate::core::model::State,
    kind: crate::core::model::SourceKind,
    view: &View<'_>,
    width: usize,
) -> Vec<ratatui::text::Line<'static>> {
    use crate::core::events::Level;
    let t = view.theme;
    state
        .sources
        .iter()
        .filter(|s| s.kind == kind && s.name.starts_with("cloudwatch"))
        .map(|s| {
            let asof = s.ok_at.map_or_else(
                || "no data yet".to_string(),
                |at| {
                    let old = state.now.since(at);
                    if old.as_secs() >= 120 {
                        format!("data {} old", crate::core::time::age(old))
                    } else {
                        format!("as of {}", at.hm())
                    }
                },
            );
            match &s.error {
                Some((e, _)) => ratatui::text::Line::styled(
                    fit(&format!("{}: {e} · {asof}", s.name), width),
                    t.level(Level::Bad),
                ),
                None => {
                    let what = match (kind, s.items) {
                        (crate::core::model::SourceKind::Alarms, 1) => "1 alarm".to_string(),
                        (crate::core::model::SourceKind::Alarms, n) => format!("{n} alarms"),
                        (crate::core::model::SourceKind::Metrics, 1) => "1 environment".to_string(),
                        (crate::core::model::SourceKind::Metrics, n) => format!("{n} environments"),
                    };
                    ratatui::text::Line::styled(
                        fit(&format!("{}: {what} · {asof}", s.name), width),
                        t.dim(),
                    )
                }
            }
        })
        .collect()
}

/// The first key bound to `a`, as the key bar writes it; unbound, the
/// action's own name (what to bind in `keymap.toml`).
pub fn key(view: &View<'_>, a: crate::core::action::Action) -> String {
    view.keymap
        .keys_for(a)
        .first()
        .map_or_else(|| a.name().to_string(), |k| k.short())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_measured_and_cut_in_terminal_columns() {
        assert_eq!(width("blue"), 4);
        assert_eq!(width("決済"), 4, "a wide character takes two columns");
        assert_eq!(fit("note: 決済が失敗", 10), "note: 決…");
        assert_eq!(
            width(&fit("note: 決済が失敗", 10)),
            9,
            "never past the width"
        );
        assert_eq!(fit("blue", 4), "blue");
        assert_eq!(fit("blue", 0), "");
    }
}
