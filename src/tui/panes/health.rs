//! Environment health: one row per environment of every service.
//!
//! ```text
//!   SERVICE ENV    VERSION STATUS LATENCY TREND          FAILS SINCE
//! › web     blue   v1.0.0  OK       2ms   ▁▁▁▁▁▁▁▁▁▁▁▁       0 12m
//!           green  v1.0.1  CRIT     2ms   ▁▁▁▁▁▁▁▁××××       4 8s    503
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, StatefulWidget, Table, TableState, Widget};

use super::frame;
use crate::core::filter;
use crate::core::model::{EnvId, EnvState, LatencySample, Overlay, Pane, State};
use crate::core::time;
use crate::tui::View;

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let focused = state.ui.focus == Pane::Health && state.ui.overlay == Overlay::None;
    // The `/` filter: only the rows it shows (every row without one).
    let ids: Vec<(usize, EnvId)> = if state.ui.filter(Pane::Health).is_some() {
        state
            .env_ids()
            .enumerate()
            .filter(|(_, id)| filter::env_shown(state, *id))
            .collect()
    } else {
        state.env_ids().enumerate().collect()
    };
    let all = state.env_ids().count();
    let title = super::filtered_title(state, Pane::Health, "Health", ids.len(), all);
    let inner = frame(view, &title, focused, area, buf);
    if ids.is_empty()
        && let Some(none) = super::nothing_matches(state, Pane::Health)
    {
        Line::styled(none, view.theme.dim()).render(inner, buf);
        return;
    }
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let t = view.theme;

    let svc_w = state
        .services
        .iter()
        .map(|s| super::width(&s.name))
        .max()
        .unwrap_or(0)
        .clamp(7, 16) as u16;
    let env_w = state
        .services
        .iter()
        .flat_map(|s| &s.envs)
        .map(|e| super::width(&e.name))
        .max()
        .unwrap_or(0)
        .clamp(3, 10) as u16;
    let note_w: u16 = if state.is_drill() { 8 } else { 0 };
    // marker, service, env, version, status, latency, fails, since + spacing
    let fixed = 2 + svc_w + env_w + 8 + 6 + 7 + 5 + 5 + 8 + note_w;
    let trend_w = inner.width.saturating_sub(fixed).min(32);

    let fault = if state.is_drill() { "FAULT" } else { "" };
    let all = [svc_w, env_w, 8, 6, 7, trend_w, 5, 5, note_w];
    // Where and how it is first; the trend and the drill's fault last.
    let kept = super::columns_that_fit(
        &all,
        &[0, 1, 3, 6, 4, 2, 7, 8, 5],
        inner.width.saturating_sub(2),
    );
    let pick = |cells| super::kept_cells(cells, &kept);
    let header = Row::new(pick(
        [
            "SERVICE", "ENV", "VERSION", "STATUS", "LATENCY", "TREND", "FAILS", "SINCE", fault,
        ]
        .into_iter()
        .map(Cell::from)
        .collect(),
    ))
    .style(t.dim());
    // Build only the rows that fit: with hundreds of environments the
    // invisible ones would cost most of the frame. The window keeps the
    // selection in view.
    let visible = inner.height.saturating_sub(1).max(1) as usize;
    let selected = ids.iter().position(|(i, _)| *i == state.ui.selected);
    let offset = selected.unwrap_or(0).saturating_sub(visible - 1);
    let mut rows = Vec::with_capacity(visible);
    let mut last_service = None;
    for (row, (_, id)) in ids.iter().enumerate().skip(offset).take(visible) {
        let svc = &state.services[id.service];
        let env = &svc.envs[id.env];
        // The service name on its first row shown, and on the top row when scrolled into it.
        let first = last_service != Some(id.service);
        last_service = Some(id.service);
        let name = if first || row == offset {
            svc.name.clone()
        } else {
            String::new()
        };
        rows.push(Row::new(pick(cells(
            state,
            view,
            name,
            env,
            trend_w as usize,
        ))));
    }
    let widths: Vec<Constraint> = kept.iter().map(|i| Constraint::Length(all[*i])).collect();
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(t.selected())
        .highlight_symbol("› ");
    let mut ts = TableState::default().with_selected(selected.map(|p| p - offset));
    StatefulWidget::render(table, inner, buf, &mut ts);
}

/// One environment's cells, every column.
fn cells(
    state: &State,
    view: &View<'_>,
    service: String,
    env: &EnvState,
    trend_w: usize,
) -> Vec<Cell<'static>> {
    let t = view.theme;
    let status = env.status;
    let badge = status.map_or("····", |s| s.badge());
    let version = env.version.as_deref().map_or_else(
        || "—".to_string(),
        |v| {
            if v.starts_with(|c: char| c.is_ascii_digit()) {
                format!("v{v}")
            } else {
                v.to_string()
            }
        },
    );
    let latency = env
        .latency
        .recent_median()
        .map_or_else(|| "—".to_string(), time::latency);
    let since = env
        .changed_at
        .map_or_else(|| "—".to_string(), |at| time::age(state.now.since(at)));
    let fails = env.consecutive_failures();
    let note = env.fault.map(|f| f.short()).unwrap_or_default();
    vec![
        Cell::from(service).style(t.bold()),
        Cell::from(env.name.clone()),
        Cell::from(version),
        Cell::from(badge).style(t.status(status)),
        Cell::from(Line::raw(latency).right_aligned()),
        Cell::from(sparkline(env.latency.samples(), trend_w, view)),
        Cell::from(
            Line::styled(
                fails.to_string(),
                if fails > 0 {
                    t.status(status)
                } else {
                    Style::new()
                },
            )
            .right_aligned(),
        ),
        Cell::from(since),
        Cell::from(note).style(t.level(crate::core::events::Level::Warn)),
    ]
}

/// Latency thresholds (ms) of the sparkline's eight heights. Absolute, not
/// scaled to the data: steady latency draws a flat line that does not
/// repaint with every millisecond of jitter, and a bar's height means the
/// same on every row.
const STEPS: [f64; 7] = [5.0, 20.0, 50.0, 100.0, 250.0, 500.0, 1000.0];
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The newest samples at the right; `×` for a failed probe.
pub fn sparkline<'a>(
    samples: impl DoubleEndedIterator<Item = LatencySample> + ExactSizeIterator,
    width: usize,
    view: &View<'_>,
) -> Line<'a> {
    let skip = samples.len().saturating_sub(width);
    // One span per run of failed or answered probes, not one per character.
    let mut spans: Vec<Span<'a>> = Vec::new();
    let mut run = String::new();
    let mut run_failed = false;
    let failed_style = view
        .theme
        .status(Some(crate::core::health::HealthStatus::Critical));
    for s in samples.skip(skip) {
        if s.failed != run_failed && !run.is_empty() {
            let text = std::mem::take(&mut run);
            spans.push(if run_failed {
                Span::styled(text, failed_style)
            } else {
                Span::raw(text)
            });
        }
        run_failed = s.failed;
        run.push(if s.failed {
            '×'
        } else {
            BARS[STEPS.iter().filter(|t| s.ms > **t).count()]
        });
    }
    if !run.is_empty() {
        spans.push(if run_failed {
            Span::styled(run, failed_style)
        } else {
            Span::raw(run)
        });
    }
    Line::from(spans)
}
