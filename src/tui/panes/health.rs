//! Environment health: one row per environment of every service.
//!
//! ```text
//!   SERVICE ENV    VERSION STATUS LATENCY TREND          FAILS SINCE
//! › web     blue   v1.0.0  OK       2ms   ▁▁▁▁▁▁▁▁▁▁▁▁       0 12m
//!           green  v1.0.1  CRIT     —     ▁▁▁▁▁▁▁▁××××       4 8s    503
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, StatefulWidget, Table, TableState};

use super::frame;
use crate::core::model::{EnvState, LatencySample, Overlay, Pane, State};
use crate::core::time;
use crate::tui::View;

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let focused = state.ui.focus == Pane::Health && state.ui.overlay == Overlay::None;
    let inner = frame(view, "Health", focused, area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let t = view.theme;

    let svc_w = state
        .services
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(7, 16) as u16;
    let env_w = state
        .services
        .iter()
        .flat_map(|s| &s.envs)
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(3, 10) as u16;
    let note_w: u16 = if state.is_drill() { 8 } else { 0 };
    // marker, service, env, version, status, latency, fails, since + spacing
    let fixed = 2 + svc_w + env_w + 8 + 6 + 7 + 5 + 5 + 8 + note_w;
    let trend_w = inner.width.saturating_sub(fixed).min(32);

    let header = Row::new([
        "SERVICE", "ENV", "VERSION", "STATUS", "LATENCY", "TREND", "FAILS", "SINCE", "",
    ])
    .style(t.dim());
    let mut rows = Vec::new();
    for svc in &state.services {
        for (e, env) in svc.envs.iter().enumerate() {
            let name = if e == 0 {
                svc.name.clone()
            } else {
                String::new()
            };
            rows.push(row(state, view, name, env, trend_w as usize));
        }
    }
    let widths = [
        Constraint::Length(svc_w),
        Constraint::Length(env_w),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(trend_w),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(note_w),
    ];
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(t.selected())
        .highlight_symbol("› ");
    let mut ts = TableState::default().with_selected(Some(state.ui.selected));
    StatefulWidget::render(table, inner, buf, &mut ts);
}

fn row<'a>(
    state: &State,
    view: &View<'_>,
    service: String,
    env: &EnvState,
    trend_w: usize,
) -> Row<'a> {
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
    let note = env
        .fault
        .map(|f| short_fault(f).to_string())
        .unwrap_or_default();
    Row::new(vec![
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
    ])
}

fn short_fault(f: crate::core::model::Fault) -> &'static str {
    use crate::core::model::Fault;
    match f {
        Fault::Unhealthy => "⚡503",
        Fault::Degraded => "⚡degr",
        Fault::Slow => "⚡slow",
        Fault::Refused => "⚡refuse",
    }
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
    let mut spans = Vec::new();
    for s in samples.skip(skip) {
        if s.failed {
            spans.push(Span::styled(
                "×",
                view.theme
                    .status(Some(crate::core::health::HealthStatus::Critical)),
            ));
        } else {
            let level = STEPS.iter().filter(|t| s.ms > **t).count();
            spans.push(Span::raw(BARS[level].to_string()));
        }
    }
    Line::from(spans)
}
