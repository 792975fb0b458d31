//! The drill trend: is the team getting faster? MTTD and MTTR by month and
//! by scenario, as bars against the runbooks' targets (`┆`), each with a
//! sentence; a value over its target says OVER, so no colour is needed.
//!
//! ```text
//! ┏ Drill trend · 7 drills in this journal ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
//! ┃ MTTR: FASTER, 16m40s (2026-09) → 5m (2026-11); within the 15m target        ┃
//! ┃ MTTR by month (median; ┆ 15m)                                              ┃
//! ┃ 2026-09  ████████████████████████┆███▌   16m40s OVER  3 drills              ┃
//! ┃ 2026-11  ████████▌               ┆       5m  1 drill                        ┃
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::frame;
use crate::core::model::{State, TrendView};
use crate::core::time;
use crate::core::trend::{Measure, Trend, chart};
use crate::tui::View;

/// Rows the view wants: two sentences, then four charts with their titles.
pub fn height(state: &State) -> u16 {
    match &state.trend {
        TrendView::Ready(t) if !t.is_empty() => {
            let rows = 2 * (t.by_month.len() + t.by_scenario.len()) + 4 * 2 + 3;
            (rows + 2).min(u16::MAX as usize) as u16
        }
        _ => 7,
    }
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let t = view.theme;
    let title = match &state.trend {
        TrendView::Ready(tr) => {
            let n: usize = tr.by_month.iter().map(|g| g.drills).sum();
            format!("Drill trend · {n} drills in this journal")
        }
        _ => "Drill trend".to_string(),
    };
    let inner = frame(view, &title, true, area, buf);
    let w = inner.width as usize;
    let lines: Vec<Line> = match &state.trend {
        TrendView::Loading => vec![Line::styled(" reading the drills…", t.dim())],
        TrendView::Failed(e) => vec![Line::styled(
            format!(" cannot read the drills: {e}"),
            t.level(crate::core::events::Level::Bad),
        )],
        TrendView::Ready(tr) if tr.is_empty() => vec![
            Line::raw(" No drill is scored in this journal yet."),
            // Short lines: this must read whole at 80 columns.
            Line::styled(" Run one: backstop drill --scenario bad-switch", t.dim()),
            Line::styled(
                " (drills keep their own journal; backstop report --drills",
                t.dim(),
            ),
            Line::styled(" shows them from anywhere).", t.dim()),
        ],
        TrendView::Ready(tr) => body(tr, view, w),
    };
    // Scrolled like help on a short terminal (↑↓), never past the end.
    let max = lines.len().saturating_sub(inner.height as usize);
    let scroll = (state.ui.help_scroll as usize).min(max);
    let more = lines.len() > scroll + inner.height as usize;
    let mut lines: Vec<Line> = lines.into_iter().skip(scroll).collect();
    if more && inner.height > 1 {
        lines.truncate(inner.height as usize - 1);
        lines.push(Line::styled(" ↓ more below (↑↓ scroll)", t.dim()));
    }
    Paragraph::new(lines).render(inner, buf);
}

fn body(tr: &Trend, view: &View<'_>, w: usize) -> Vec<Line<'static>> {
    let t = view.theme;
    let mut lines = Vec::new();
    for m in [Measure::Mttd, Measure::Mttr] {
        let v = tr.verdict(m);
        let style = if v.contains("OVER") || v.contains("SLOWER") {
            t.level(crate::core::events::Level::Bad)
        } else {
            t.bold()
        };
        lines.push(Line::styled(format!(" {v}"), style));
    }
    for (what, groups) in [("month", &tr.by_month), ("scenario", &tr.by_scenario)] {
        for m in [Measure::Mttd, Measure::Mttr] {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!(
                    " {} by {what} (median; ┆ the {} target)",
                    m.name(),
                    time::human(m.target())
                ),
                t.dim(),
            ));
            for l in chart(groups, m, w.saturating_sub(1)) {
                let style = if l.contains(" OVER ") {
                    t.level(crate::core::events::Level::Bad)
                } else {
                    ratatui::style::Style::default()
                };
                lines.push(Line::styled(format!(" {l}"), style));
            }
        }
    }
    lines
}
