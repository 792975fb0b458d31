//! Metrics: per environment, request rate, error rate and latency
//! percentiles over the chosen window, with error-rate and p95 sparklines.
//! Environments with a traffic source show their requests; the others show
//! their health probes, counted the same way.
//!
//! ```text
//!  ENV          SRC      REQ/S   ERR %   P50   P95   P99  ERRORS      P95
//!  web/blue     traffic   45.0   0.0 %   2ms   4ms   9ms  ▁▁▁▁▁▁▁▁    ▁▁▁▁▁▁▁▁
//!  web/green    traffic    5.0   8.0 %   2ms   5ms  11ms  ▁▁▁▂▅▇██    ▁▁▁▁▁▁▁▁
//! ```

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table, Widget};

use super::{fit, frame, percent, rate};
use crate::core::events::Level;
use crate::core::filter;
use crate::core::metrics::{Series, WindowStats};
use crate::core::model::{EnvState, MetricWindowChoice, Overlay, Pane, SourceKind, State};
use crate::core::time;
use crate::tui::View;

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let focused = state.ui.focus == Pane::Metrics && state.ui.overlay == Overlay::None;
    // The `/` filter, on the environments' names and states.
    let ids: Vec<(usize, crate::core::model::EnvId)> = state
        .env_ids()
        .enumerate()
        .filter(|(_, id)| {
            state
                .ui
                .filter(Pane::Metrics)
                .is_none_or(|q| filter::matches(q, &filter::env_fields(state, *id)))
        })
        .collect();
    let title = super::filtered_title(
        state,
        Pane::Metrics,
        &format!("Metrics · {} window", state.ui.window.label()),
        ids.len(),
        state.env_ids().count(),
    );
    let inner = frame(view, &title, focused, area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let status = super::source_lines(state, SourceKind::Metrics, view, inner.width as usize);
    let top = (status.len() as u16).min(inner.height.saturating_sub(2));
    for (i, l) in status.into_iter().take(top as usize).enumerate() {
        l.render(
            Rect {
                y: inner.y + inner.height - top + i as u16,
                height: 1,
                ..inner
            },
            buf,
        );
    }
    let inner = Rect {
        height: inner.height - top,
        ..inner
    };
    let t = view.theme;
    let label_w = state
        .env_ids()
        .map(|id| super::width(&state.env_label(id)))
        .max()
        .unwrap_or(0)
        .clamp(8, 24);
    let spark_w = (inner.width as usize).saturating_sub(label_w + 8 + 7 + 8 + 3 * 7 + 8) / 2;
    let spark_w = spark_w.min(40);
    let visible = inner.height.saturating_sub(1).max(1) as usize;
    let selected = ids.iter().position(|(i, _)| *i == state.ui.selected);
    let offset = selected.unwrap_or(0).saturating_sub(visible - 1);
    let all = [
        label_w as u16,
        7,
        6,
        7,
        6,
        6,
        6,
        spark_w as u16,
        spark_w as u16,
    ];
    // The environment, its error rate and p95 first; sparklines last.
    let kept = super::columns_that_fit(&all, &[0, 3, 5, 2, 6, 1, 4, 7, 8], inner.width);
    let pick = |cells| super::kept_cells(cells, &kept);
    let rows: Vec<Row> = ids
        .iter()
        .skip(offset)
        .take(visible)
        .filter_map(|&(i, id)| {
            let env = state.env(id)?;
            let (cells, style) = row(state, view, state.env_label(id), env, spark_w);
            let mut r = Row::new(pick(cells)).style(style);
            if i == state.ui.selected {
                r = r.style(t.selected());
            }
            Some(r)
        })
        .collect();
    let header = Row::new(pick(
        [
            "ENV", "SOURCE", "REQ/S", "ERR", "P50", "P95", "P99", "ERRORS", "P95",
        ]
        .into_iter()
        .map(Cell::from)
        .collect(),
    ))
    .style(t.dim());
    let widths: Vec<Constraint> = kept.iter().map(|i| Constraint::Length(all[*i])).collect();
    Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .render(inner, buf);
}

/// One environment's cells, every column, and the row's style.
fn row(
    state: &State,
    view: &View<'_>,
    label: String,
    env: &EnvState,
    spark_w: usize,
) -> (Vec<Cell<'static>>, ratatui::style::Style) {
    let t = view.theme;
    let window = state.ui.window;
    let (source, stats, errors, p95) = match &env.metrics.traffic {
        Some(m) => {
            let (s, e, p) = match window {
                MetricWindowChoice::OneMinute => {
                    (m.one_min, &env.metrics.error_1m, &env.metrics.p95_1m)
                }
                MetricWindowChoice::FiveMinutes => {
                    (m.five_min, &env.metrics.error_5m, &env.metrics.p95_5m)
                }
            };
            ("traffic", s, Some(e), Some(p))
        }
        None => {
            let secs = if window == MetricWindowChoice::OneMinute {
                60
            } else {
                300
            };
            (
                "probes",
                env.metrics
                    .probes
                    .stats(state.now, Duration::from_secs(secs)),
                None,
                None,
            )
        }
    };
    let ms = |v: Option<f64>| v.map_or_else(|| "—".to_string(), time::latency);
    let err_style = match stats.error_rate {
        e if e >= 0.05 => t.level(Level::Bad),
        e if e >= 0.01 => t.level(Level::Warn),
        _ => ratatui::style::Style::new(),
    };
    // Probes come every few seconds: per minute reads better than per second.
    let req = if source == "probes" {
        format!("{}/m", rate(stats.rate * 60.0))
    } else {
        rate(stats.rate)
    };
    let cells = vec![
        Cell::from(fit(&label, 24)),
        Cell::from(source).style(t.dim()),
        Cell::from(Line::raw(req).right_aligned()),
        Cell::from(Line::styled(percent(stats.error_rate), err_style).right_aligned()),
        Cell::from(Line::raw(ms(stats.p50_ms)).right_aligned()),
        Cell::from(Line::raw(ms(stats.p95_ms)).right_aligned()),
        Cell::from(Line::raw(ms(stats.p99_ms)).right_aligned()),
        Cell::from(
            errors
                .map(|s| spark(s, spark_w, &ERROR_STEPS))
                .unwrap_or_default(),
        ),
        Cell::from(
            p95.map(|s| spark(s, spark_w, &LATENCY_STEPS))
                .unwrap_or_default(),
        ),
    ];
    let style = if stats == WindowStats::default() {
        t.dim()
    } else {
        ratatui::style::Style::new()
    };
    (cells, style)
}

/// Error-rate bands: 0.1 %, 1 %, 2 %, 5 %, 10 %, 20 %, 50 %.
const ERROR_STEPS: [f64; 7] = [0.001, 0.01, 0.02, 0.05, 0.10, 0.20, 0.50];
/// Latency bands in ms, as in the health pane.
const LATENCY_STEPS: [f64; 7] = [5.0, 20.0, 50.0, 100.0, 250.0, 500.0, 1000.0];
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The newest points at the right, one character each, in absolute bands so
/// a steady value draws a steady line.
fn spark(series: &Series, width: usize, steps: &[f64; 7]) -> String {
    let n = series.points().len();
    series
        .points()
        .skip(n.saturating_sub(width))
        .map(|v| BARS[steps.iter().filter(|s| v > **s).count()])
        .collect()
}
