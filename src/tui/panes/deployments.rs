//! Deployments: per service, the version each environment reports and which
//! one is live (the largest share of traffic), so the operator reads "green
//! v1.0.1 takes 10 %" at a glance; and, where a deploy provider is
//! configured (ECS), each environment's service, its rollouts with their
//! counts, the revision a revert goes back to, and how old the data is.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use std::time::Duration;

use super::{fit, frame};
use crate::core::deploy::{EnvDeploy, Stability, Verdict};
use crate::core::events::Level;
use crate::core::filter;
use crate::core::model::{Overlay, Pane, ServiceState, State};
use crate::core::time::{self, Ts};
use crate::tui::View;

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let focused = state.ui.focus == Pane::Deployments && state.ui.overlay == Overlay::None;
    let shown = (0..state.services.len())
        .filter(|i| filter::service_shown(state, Pane::Deployments, *i))
        .count();
    let title = super::filtered_title(
        state,
        Pane::Deployments,
        "Deployments",
        shown,
        state.services.len(),
    );
    let inner = frame(view, &title, focused, area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let name_w = state
        .services
        .iter()
        .map(|s| super::width(&s.name))
        .max()
        .unwrap_or(0)
        .clamp(6, 16);
    // A line per service, and one per deployed environment; only the
    // services from the selected one's window on are built.
    let sel = state.selected_env().map_or(0, |id| id.service);
    let first = sel.saturating_sub(inner.height.saturating_sub(1) as usize);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    for (i, s) in state.services.iter().enumerate().skip(first) {
        if lines.len() >= inner.height as usize {
            break;
        }
        if !filter::service_shown(state, Pane::Deployments, i) {
            continue;
        }
        lines.push(line(s, view, name_w, width));
        lines.extend(deploy_lines(s, state, view, width));
        lines.extend(database_line(s, view, width));
    }
    Paragraph::new(lines).render(inner, buf);
}

/// Rows wanted: a line per service and per deployed environment.
pub fn height(state: &State) -> u16 {
    let rows: usize = state
        .services
        .iter()
        .map(|s| {
            1 + s.deploy.as_ref().map_or(0, |d| d.envs.len().max(1))
                + usize::from(s.database.is_some())
        })
        .sum();
    (rows as u16).saturating_add(2)
}

/// The database's migrations: the current one, and in red what the old
/// code would meet on a rollback.
fn database_line<'a>(svc: &ServiceState, view: &View<'_>, width: usize) -> Option<Line<'a>> {
    let t = view.theme;
    let read = svc.database.as_ref()?;
    let (text, style) = match &read.result {
        Ok(schema) => {
            let text = schema.summary(None);
            let bad = !read.warning().is_empty();
            (text, if bad { t.level(Level::Bad) } else { t.dim() })
        }
        Err(e) => (format!("cannot read: {e}"), t.level(Level::Bad)),
    };
    Some(Line::from(vec![
        Span::raw("  db     "),
        Span::styled(fit(&text, width.saturating_sub(9)), style),
    ]))
}

fn deploy_lines<'a>(
    svc: &ServiceState,
    state: &State,
    view: &View<'_>,
    width: usize,
) -> Vec<Line<'a>> {
    let t = view.theme;
    let Some(d) = &svc.deploy else {
        return Vec::new();
    };
    let age = |at: Ts| time::age(Duration::from_secs(state.now.since(at).as_secs()));
    let mut out = Vec::new();
    if let Some((e, since)) = &d.error {
        let old = d.read_at.map_or_else(
            || "no data yet".to_string(),
            |r| format!("data {} old", age(r)),
        );
        out.push(Line::styled(
            fit(
                &format!("  {}: {e} (failing for {}; {old})", d.provider, age(*since)),
                width,
            ),
            t.level(Level::Bad),
        ));
    }
    if d.envs.is_empty() && d.error.is_none() {
        out.push(Line::styled(
            fit(
                &format!("  {} {}: not read yet", d.provider, d.target),
                width,
            ),
            t.dim(),
        ));
    }
    for e in &d.envs {
        let style = match e.stability() {
            Stability::Stable => t.dim(),
            Stability::Rolling { .. } => t.level(Level::Warn),
            Stability::Failed(_) => t.level(Level::Bad),
        };
        let prev = e
            .previous
            .as_deref()
            .map(|p| format!(" · revert → {p}"))
            .unwrap_or_default();
        // The data's age only once it is old: a fresh read every few
        // seconds must not redraw the line every second.
        let read = d
            .read_at
            .filter(|r| state.now.since(*r).as_secs() >= 60)
            .map(|r| format!(" · data {} old", age(r)))
            .unwrap_or_default();
        out.push(Line::from(vec![
            Span::raw(format!("  {:<6} ", e.env)),
            Span::styled(
                fit(
                    &format!(
                        "{} {} on {}: {}{prev}{read}",
                        d.provider,
                        e.name,
                        e.current,
                        e.summary()
                    ),
                    width.saturating_sub(9),
                ),
                style,
            ),
        ]));
        out.extend(service_deployments(e, view, width));
    }
    out
}

/// ECS's own deployments under the environment: the current one and the
/// two before it (the pane is small; `status` lists five), each in ECS's
/// words, its verdict in the colour of what it means.
fn service_deployments<'a>(e: &EnvDeploy, view: &View<'_>, width: usize) -> Vec<Line<'a>> {
    let t = view.theme;
    let mut out = Vec::new();
    for (i, d) in e.deployments.iter().take(3).enumerate() {
        let style = match d.verdict() {
            Some(Verdict::RollingBack(_)) => t.level(Level::Warn),
            Some(Verdict::RollbackFailed(_) | Verdict::Tripped(_)) => t.level(Level::Bad),
            _ if i == 0 && d.in_progress() => t.level(Level::Warn),
            _ => t.dim(),
        };
        let label = if i == 0 {
            "ECS deployment"
        } else {
            "  earlier"
        };
        out.push(Line::styled(
            fit(
                &format!("         {label} {}: {}", d.id(), d.summary()),
                width,
            ),
            style,
        ));
    }
    if let Some(err) = &e.deployments_error {
        out.push(Line::styled(
            fit(
                &format!("         ECS deployments not readable: {err}"),
                width,
            ),
            t.level(Level::Warn),
        ));
    }
    out
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
        used += super::width(&text);
        spans.push(if is_live {
            Span::styled(text, t.bold())
        } else {
            Span::raw(text)
        });
    }
    Line::from(spans)
}
