//! Deployments, first cut: per service, the version each environment reports
//! and which one is live (the largest share of traffic), so the operator
//! reads "green v1.0.1 takes 10 %" at a glance.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{fit, frame};
use crate::core::model::{Overlay, Pane, ServiceState, State};
use crate::tui::View;

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let focused = state.ui.focus == Pane::Deployments && state.ui.overlay == Overlay::None;
    let inner = frame(view, "Deployments", focused, area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let name_w = state
        .services
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, 16);
    // One line per service; only those on screen are built.
    let sel = state.selected_env().map_or(0, |id| id.service);
    let first = sel.saturating_sub(inner.height.saturating_sub(1) as usize);
    let lines: Vec<Line> = state
        .services
        .iter()
        .skip(first)
        .take(inner.height as usize)
        .map(|s| line(s, view, name_w, inner.width as usize))
        .collect();
    Paragraph::new(lines).render(inner, buf);
}

fn version(v: Option<&str>) -> String {
    match v {
        Some(v) if v.starts_with(|c: char| c.is_ascii_digit()) => format!("v{v}"),
        Some(v) => v.to_string(),
        None => "v?".to_string(),
    }
}

fn line<'a>(svc: &ServiceState, view: &View<'_>, name_w: usize, width: usize) -> Line<'a> {
    let t = view.theme;
    let mut spans = vec![Span::styled(
        format!("{:<name_w$} ", fit(&svc.name, name_w)),
        t.bold(),
    )];
    let weights = svc.traffic.as_ref().and_then(|tr| tr.weights.as_ref());
    let Some(w) = weights else {
        let versions: Vec<String> = svc
            .envs
            .iter()
            .map(|e| format!("{} {}", e.name, version(e.version.as_deref())))
            .collect();
        let why = if svc.traffic.is_some() {
            "weights not read yet"
        } else {
            "no traffic provider: live unknown"
        };
        spans.push(Span::raw(versions.join(" · ")));
        spans.push(Span::styled(format!("  ({why})"), t.dim()));
        return Line::from(spans);
    };
    let live = w.live().map(str::to_string);
    let pct = w.percents();
    let mut parts: Vec<(String, bool)> = Vec::new();
    for env in &svc.envs {
        let share =
            w.0.iter()
                .position(|x| x.env == env.name)
                .map_or(0, |i| pct[i]);
        let v = version(env.version.as_deref());
        if live.as_deref() == Some(env.name.as_str()) {
            parts.push((format!("{} {v} LIVE {share} %", env.name), true));
        } else if share > 0 {
            parts.push((format!("{} {v} takes {share} %", env.name), false));
        } else {
            parts.push((format!("{} {v} idle", env.name), false));
        }
    }
    let mut used = name_w + 1;
    for (i, (text, is_live)) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", t.dim()));
            used += 3;
        }
        let text = fit(&text, width.saturating_sub(used));
        used += text.chars().count();
        spans.push(if is_live {
            Span::styled(text, t.bold())
        } else {
            Span::raw(text)
        });
    }
    Line::from(spans)
}
