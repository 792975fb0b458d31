//! The detail of one environment: every endpoint with its last answer and checks.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{fit, frame};
use crate::core::health::HealthStatus;
use crate::core::model::State;
use crate::core::time;
use crate::tui::View;

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let Some(id) = state.selected_env() else {
        return;
    };
    let Some(env) = state.env(id) else { return };
    let t = view.theme;
    let title = format!("{} · detail", state.env_label(id));
    let inner = frame(view, &title, true, area, buf);
    let w = inner.width as usize;

    let mut lines = Vec::new();
    let mut head = vec![
        Span::styled(
            format!(" {} ", env.status.map_or("····", HealthStatus::badge)),
            t.status(env.status),
        ),
        Span::raw(format!(
            " version {}",
            env.version.as_deref().unwrap_or("unknown")
        )),
    ];
    if let Some(at) = env.changed_at {
        head.push(Span::raw(format!(
            " · for {}",
            time::age(state.now.since(at))
        )));
    }
    match env.last_success {
        Some(at) => head.push(Span::raw(format!(" · last success {}", at.hms()))),
        None => head.push(Span::raw(" · no success yet")),
    }
    if let Some(f) = env.fault {
        head.push(Span::styled(
            format!(" · drill fault: {}", f.label()),
            t.level(crate::core::events::Level::Warn),
        ));
    }
    lines.push(Line::from(head));

    for ep in &env.endpoints {
        lines.push(Line::raw(""));
        let status = ep.status();
        let mut first = vec![
            Span::styled(
                format!(" {:<5}", status.map_or("····", HealthStatus::badge)),
                t.status(status),
            ),
            Span::styled(format!("{:<9}", ep.role.as_str()), t.bold()),
        ];
        if let Some(p) = &ep.last {
            let code = p
                .report
                .http_status
                .map_or_else(|| "---".to_string(), |c| c.to_string());
            first.push(Span::raw(format!(
                "{code} {:>6}  ",
                time::latency(p.latency_ms)
            )));
        }
        first.push(Span::styled(fit(&ep.url, w.saturating_sub(30)), t.dim()));
        lines.push(Line::from(first));
        let Some(p) = &ep.last else {
            lines.push(Line::styled("      not probed yet", t.dim()));
            continue;
        };
        let mut facts = format!("      {}", p.report.summary);
        if ep.consecutive_failures > 0 {
            facts.push_str(&format!(" · {} failed in a row", ep.consecutive_failures));
        }
        // Least important last: it is what a narrow screen cuts.
        facts.push_str(&format!(
            " · every {}, timeout {}",
            time::human(ep.interval),
            time::human(ep.timeout)
        ));
        lines.push(Line::raw(fit(&facts, w)));
        let name_w = p
            .report
            .checks
            .iter()
            .map(|c| super::width(&c.name))
            .max()
            .unwrap_or(0)
            .min(24);
        for c in &p.report.checks {
            let detail = if c.detail.is_empty() {
                String::new()
            } else {
                format!("  {}", c.detail)
            };
            let name = format!("{:<name_w$}", fit(&c.name, name_w));
            lines.push(Line::from(vec![
                Span::raw("      "),
                Span::styled(format!("{:<5}", c.status.badge()), t.status(Some(c.status))),
                Span::raw(fit(&format!("{name}{detail}"), w.saturating_sub(11))),
            ]));
        }
    }
    Paragraph::new(lines).render(inner, buf);
}
