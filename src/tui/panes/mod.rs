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
pub mod score;
pub mod traffic;
pub mod weights;
pub mod why;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Widget};

use super::View;

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

/// Cut `s` to `width` characters, marking the cut with `…`.
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
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
