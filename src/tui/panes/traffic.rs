//! Traffic split: per service, each environment's share as a gauge, its live
//! request and error rate, the provider, and the last change with its author.
//!
//! ```text
//! web  via sandbox router 127.0.0.1:41000
//!   blue   ██████████████████░░  90 %   45.0 r/s   0.0 % err
//!   green  ██░░░░░░░░░░░░░░░░░░  10 %    5.0 r/s   8.0 % err
//!   changed 14:01 by ops@bastion: blue 100 → 90 %, green 0 → 10 %
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{fit, frame, gauge, percent, rate};
use crate::core::events::Level;
use crate::core::filter;
use crate::core::model::{EnvState, MetricWindowChoice, Overlay, Pane, ServiceState, State};
use crate::core::time;
use crate::core::traffic::Server;
use crate::tui::View;

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let focused = state.ui.focus == Pane::Traffic && state.ui.overlay == Overlay::None;
    let shown = (0..state.services.len())
        .filter(|i| filter::service_shown(state, Pane::Traffic, *i))
        .count();
    let title = super::filtered_title(state, Pane::Traffic, "Traffic", shown, state.services.len());
    let inner = frame(view, &title, focused, area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    // Start at the first service that keeps the selected one in view, and
    // build only what fits: with many services the rest would cost most of
    // the frame.
    let selected = state.selected_env().map_or(0, |id| id.service);
    let height = inner.height as usize;
    let mut first = selected;
    let mut used = state
        .services
        .get(selected)
        .map_or(0, |s| line_count(state, s));
    while first > 0 && used + line_count(state, &state.services[first - 1]) <= height {
        first -= 1;
        used += line_count(state, &state.services[first]);
    }
    let mut lines = Vec::with_capacity(height);
    for (i, svc) in state.services.iter().enumerate().skip(first) {
        if lines.len() >= height {
            break;
        }
        if !filter::service_shown(state, Pane::Traffic, i) {
            continue;
        }
        lines.extend(service_lines(
            state,
            view,
            svc,
            i == selected,
            inner.width as usize,
        ));
    }
    Paragraph::new(lines).render(inner, buf);
}

/// Rows the pane needs to show every service, borders included.
pub fn height(state: &State) -> u16 {
    (state
        .services
        .iter()
        .map(|s| line_count(state, s))
        .sum::<usize>()
        + 2)
    .min(u16::MAX as usize) as u16
}

/// How many lines `service_lines` makes for `svc`, without making them.
fn line_count(state: &State, svc: &ServiceState) -> usize {
    let Some(t) = &svc.traffic else { return 1 };
    let body = match &t.weights {
        Some(w) => w.0.len(),
        None => usize::from(t.error.is_none()),
    };
    let stale = t
        .read_at
        .is_some_and(|at| state.now.since(at).as_secs() >= 30);
    1 + body + usize::from(t.error.is_some() || stale) + usize::from(t.last_change.is_some())
}

fn service_lines<'a>(
    state: &State,
    view: &View<'_>,
    svc: &ServiceState,
    selected: bool,
    width: usize,
) -> Vec<Line<'a>> {
    let t = view.theme;
    let name_style = if selected {
        t.bold().add_modifier(ratatui::style::Modifier::UNDERLINED)
    } else {
        t.bold()
    };
    let Some(traffic) = &svc.traffic else {
        return vec![Line::from(vec![
            Span::styled(svc.name.clone(), name_style),
            Span::styled("  no traffic provider configured", t.dim()),
        ])];
    };
    let mut out = vec![Line::from(vec![
        Span::styled(svc.name.clone(), name_style),
        Span::styled(
            fit(
                &format!("  via {}", traffic.target),
                width.saturating_sub(svc.name.len()),
            ),
            t.dim(),
        ),
    ])];
    let env_w = svc
        .envs
        .iter()
        .map(|e| super::width(&e.name))
        .max()
        .unwrap_or(0)
        .min(12);
    let gauge_w = width.saturating_sub(env_w + 38).clamp(4, 30);
    match &traffic.weights {
        Some(w) => {
            for (ew, pct) in w.0.iter().zip(w.percents()) {
                let env = svc.envs.iter().find(|e| e.name == ew.env);
                let tag = match ew.server {
                    Server::Active => String::new(),
                    Server::Backup => " backup".into(),
                    Server::Down => " down".into(),
                };
                let mut spans = vec![
                    Span::raw(format!("  {:<env_w$} ", fit(&ew.env, env_w))),
                    Span::raw(gauge(f64::from(pct), gauge_w)),
                    Span::styled(format!(" {pct:>3} %"), t.bold()),
                ];
                spans.extend(live_figures(state, view, env));
                spans.push(Span::styled(tag, t.dim()));
                out.push(Line::from(spans));
            }
        }
        None if traffic.error.is_none() => out.push(Line::styled("  reading…", t.dim())),
        None => {}
    }
    if let Some(e) = &traffic.error {
        out.push(Line::styled(
            fit(&format!("  cannot read: {e}"), width),
            t.level(Level::Bad),
        ));
    } else if let Some(at) = traffic.read_at
        && state.now.since(at).as_secs() >= 30
    {
        // Only when stale: a ticking age would repaint every second.
        out.push(Line::styled(
            format!("  last read {} ago", time::age(state.now.since(at))),
            t.level(Level::Warn),
        ));
    }
    if let Some(c) = &traffic.last_change {
        let what = c
            .from
            .as_ref()
            .map(|f| crate::core::traffic::Weights::describe_change(f, &c.to))
            .unwrap_or_default();
        out.push(Line::styled(
            fit(
                &format!("  changed {} by {}: {what}", c.at.hm(), c.by),
                width,
            ),
            t.dim(),
        ));
    }
    out
}

/// `  45.0 r/s   0.0 % err` from the traffic source, in the chosen window.
fn live_figures<'a>(state: &State, view: &View<'_>, env: Option<&EnvState>) -> Vec<Span<'a>> {
    let Some(m) = env.and_then(|e| e.metrics.traffic.as_ref()) else {
        return Vec::new();
    };
    let w = match state.ui.window {
        MetricWindowChoice::OneMinute => &m.one_min,
        MetricWindowChoice::FiveMinutes => &m.five_min,
    };
    let err_style = if w.error_rate >= 0.05 {
        view.theme.level(Level::Bad)
    } else if w.error_rate >= 0.01 {
        view.theme.level(Level::Warn)
    } else {
        ratatui::style::Style::new()
    };
    vec![
        Span::raw(format!(" {:>6} r/s ", rate(w.rate))),
        Span::styled(format!("{:>7} err", percent(w.error_rate)), err_style),
    ]
}
