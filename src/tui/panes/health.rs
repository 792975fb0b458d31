//! Environment health: one row per environment of every service, with the
//! share of traffic it takes and the rule firing on it — the three things an
//! on-call engineer reads first, on one line, at any terminal size.
//!
//! ```text
//!   SERVICE ENV   VERSION STATUS TRAFFIC FIRING          LATENCY TREND  FAILS SINCE
//! › web     blue  v1.0.0  OK        90 %                     2ms ▁▁▁▁▁▁     0 12m
//!           green v1.0.1  CRIT      10 % health-failures     2ms ▁▁××××     4 8s
//! ```
//!
//! A narrow terminal loses whole columns, the trend and the times first;
//! the status, the traffic and the firing rule last. With more rows than
//! room, the title says how many are out of view and whether any is failing.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, StatefulWidget, Table, TableState, Widget};

use super::frame;
use crate::core::filter;
use crate::core::model::{EnvId, EnvState, LatencyHistory, LatencySample, Overlay, Pane, State};
use crate::core::rules::RuleStatus;
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
    let inner_h = area.height.saturating_sub(2);
    // Build only the rows that fit: with hundreds of environments the
    // invisible ones would cost most of the frame. The window keeps the
    // selection in view.
    let visible = inner_h.saturating_sub(1).max(1) as usize;
    let selected = ids.iter().position(|(i, _)| *i == state.ui.selected);
    let offset = selected.unwrap_or(0).saturating_sub(visible - 1);
    let title = title(state, &ids, all, offset, visible);
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
    let shown: Vec<EnvId> = ids
        .iter()
        .skip(offset)
        .take(visible)
        .map(|(_, id)| *id)
        .collect();

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
    // The traffic column where any service knows its split; the firing
    // column only while something on screen fires (calm, it is no news).
    let traffic_w: u16 = if state.services.iter().any(|s| s.traffic.is_some()) {
        7
    } else {
        0
    };
    let firing: Vec<String> = shown.iter().map(|id| firing_rules(state, *id)).collect();
    let firing_w = firing
        .iter()
        .map(|f| super::width(f))
        .max()
        .filter(|w| *w > 0)
        .map_or(0, |w| w.clamp(6, 24) as u16);
    // marker, service, env, version, status, traffic, firing, latency,
    // fails, since, note + spacing
    let fixed = 2 + svc_w + env_w + 8 + 6 + traffic_w + firing_w + 7 + 5 + 5 + note_w + 10;
    // A trend of fewer than six bars says nothing: then no column at all.
    let most = (LatencyHistory::CAPACITY / LatencyHistory::GROUP) as u16;
    let trend_w = Some(inner.width.saturating_sub(fixed).min(most))
        .filter(|w| *w >= 6)
        .unwrap_or(0);

    let fault = if state.is_drill() { "FAULT" } else { "" };
    let all = [
        svc_w, env_w, 8, 6, traffic_w, firing_w, 7, trend_w, 5, 5, note_w,
    ];
    // Where and how it is first, then what it takes and what fires on it;
    // the drill's fault, the times and the trend last.
    let kept = super::columns_that_fit(
        &all,
        &[0, 1, 3, 4, 5, 8, 6, 2, 10, 9, 7],
        inner.width.saturating_sub(2),
    );
    let pick = |cells| super::kept_cells(cells, &kept);
    let header = Row::new(pick(
        [
            "SERVICE", "ENV", "VERSION", "STATUS", "TRAFFIC", "FIRING", "LATENCY", "TREND",
            "FAILS", "SINCE", fault,
        ]
        .into_iter()
        .map(Cell::from)
        .collect(),
    ))
    .style(t.dim());
    let mut rows = Vec::with_capacity(visible);
    let mut last_service = None;
    for (row, (id, firing)) in shown.iter().zip(firing).enumerate() {
        let svc = &state.services[id.service];
        let env = &svc.envs[id.env];
        // The service name on its first row shown, and on the top row when scrolled into it.
        let first = last_service != Some(id.service);
        last_service = Some(id.service);
        let name = if first || row == 0 {
            svc.name.clone()
        } else {
            String::new()
        };
        let traffic = match svc.traffic {
            Some(_) => svc
                .share(id.env)
                .map_or_else(|| "—".to_string(), |p| format!("{p} %")),
            None => String::new(),
        };
        rows.push(Row::new(pick(cells(
            state,
            view,
            Names {
                service: name,
                traffic,
                firing,
            },
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

/// The title: the filter, and what is out of view when the rows do not
/// fit — `Health · 7 of 20 envs · ↓ 13 (1 failing)` — so nothing failing
/// hides below.
fn title(
    state: &State,
    ids: &[(usize, EnvId)],
    all: usize,
    offset: usize,
    visible: usize,
) -> String {
    let title = super::filtered_title(state, Pane::Health, "Health", ids.len(), all);
    if ids.len() <= visible {
        return title;
    }
    let failing = |range: &[(usize, EnvId)]| {
        range
            .iter()
            .filter(|(_, id)| {
                let env = &state.services[id.service].envs[id.env];
                env.status.is_some_and(|s| s.is_failure())
            })
            .count()
    };
    let above = &ids[..offset.min(ids.len())];
    let below = &ids[(offset + visible).min(ids.len())..];
    let mut out = format!("{title} · {} of {} envs", visible.min(ids.len()), ids.len());
    for (arrow, range) in [("↑", above), ("↓", below)] {
        match failing(range) {
            0 if range.is_empty() => {}
            0 => out.push_str(&format!(" · {arrow} {}", range.len())),
            n => out.push_str(&format!(" · {arrow} {} ({n} failing)", range.len())),
        }
    }
    out
}

/// The rules firing on an environment, by name: `health-failures +1`.
/// The rules firing on an environment, as the health table and the strip
/// name them: `health-failures`, or `health-failures +1` for more.
pub(super) fn firing_rules(state: &State, id: EnvId) -> String {
    let mut firing = state.services[id.service]
        .rollback
        .rules
        .iter()
        .filter(|r| r.env == id.env && r.status == RuleStatus::Firing && !r.dry_run)
        .map(|r| r.kind.name());
    match (firing.next(), firing.count()) {
        (None, _) => String::new(),
        (Some(first), 0) => first,
        (Some(first), more) => format!("{first} +{more}"),
    }
}

/// The words of a row that are not the environment's own.
struct Names {
    service: String,
    traffic: String,
    firing: String,
}

/// One environment's cells, every column.
fn cells(
    state: &State,
    view: &View<'_>,
    names: Names,
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
        Cell::from(names.service).style(t.bold()),
        Cell::from(env.name.clone()),
        Cell::from(version),
        Cell::from(badge).style(t.status(status)),
        Cell::from(Line::raw(names.traffic).right_aligned()),
        Cell::from(names.firing).style(t.level(crate::core::events::Level::Bad)),
        Cell::from(Line::raw(latency).right_aligned()),
        Cell::from(sparkline(env.latency.bars().into_iter(), trend_w, view)),
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
