//! The decision per service: what backstop recommends and why in a line, the
//! guards, and the keys that act on it. The selected service gets the detail.
//!
//! ```text
//! web      ROLLBACK RECOMMENDED  40s   mode advise
//!   green → blue (ok) · cooldown ok · 0 of 3 rollbacks in 24h
//!   green health-failures 3/3 ≥ 3 failed probes in a row
//!   r roll back  e why
//! checkout HEALTHY   mode advise
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{fit, frame};
use crate::core::action::Action;
use crate::core::decision::Decision;
use crate::core::events::Level;
use crate::core::filter;
use crate::core::model::{Overlay, Pane, ServiceState, State};
use crate::core::time;
use crate::tui::{Theme, View};

pub fn style(d: &Decision, t: Theme) -> Style {
    match d {
        Decision::RollbackRecommended { .. } | Decision::Blocked { .. } => t
            .level(Level::Bad)
            .add_modifier(ratatui::style::Modifier::REVERSED),
        Decision::Watch { .. } | Decision::RollingBack { .. } => t
            .level(Level::Warn)
            .add_modifier(ratatui::style::Modifier::BOLD),
        Decision::RolledBack { .. } => t
            .level(Level::Good)
            .add_modifier(ratatui::style::Modifier::BOLD),
        Decision::Healthy => t.level(Level::Good),
        Decision::Off => t.dim(),
    }
}

/// The guards, in one line: `green → blue (ok) · cooldown ok · 0 of 3 rollbacks in 24h`.
pub fn guards(svc: &ServiceState, state: &State) -> String {
    let p = &svc.rollback.policy;
    let now = state.now;
    let recent = svc
        .rollback
        .history
        .iter()
        .filter(|r| now.since(r.at) < p.rollback_window)
        .count();
    let cooldown = match svc.rollback.history.last() {
        Some(last) if last.at.plus(p.cooldown) > now => format!(
            "cooldown {} left",
            time::human(last.at.plus(p.cooldown).since(now))
        ),
        _ => "cooldown ok".into(),
    };
    let route = match &svc.rollback.decision {
        Decision::RollbackRecommended {
            suspect, target, ..
        }
        | Decision::RollingBack {
            suspect, target, ..
        }
        | Decision::RolledBack {
            suspect, target, ..
        } => {
            let t = &svc.envs[*target];
            let route = crate::core::decision::route(&svc.envs[*suspect].name, &t.name);
            if suspect == target {
                format!("{route} · ")
            } else {
                format!(
                    "{route} ({}) · ",
                    t.status.map_or("unknown", |s| s.as_str())
                )
            }
        }
        _ => String::new(),
    };
    format!(
        "{route}{cooldown} · {recent} of {} rollbacks in {}",
        p.max_rollbacks,
        time::human(p.rollback_window)
    )
}

/// The reasons of a decision, one per line.
pub fn reasons(d: &Decision, state: &State) -> Vec<String> {
    match d {
        Decision::Watch {
            deadline, reasons, ..
        } => {
            let mut r = reasons.clone();
            r.push(format!(
                "watching until {} ({} left)",
                deadline.hms(),
                time::human(deadline.since(state.now))
            ));
            r
        }
        Decision::RollbackRecommended { reasons, .. } => reasons.clone(),
        Decision::Blocked { block, reasons, .. } => {
            let mut r = vec![format!("BLOCKED: {}", block.describe(state.now))];
            r.extend(reasons.iter().cloned());
            r
        }
        Decision::RollingBack { since, by, .. } => vec![format!("since {} by {by}", since.hms())],
        Decision::RolledBack { at, .. } => vec![format!("at {}", at.hms())],
        Decision::Healthy | Decision::Off => Vec::new(),
    }
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let focused = state.ui.focus == Pane::Decision && state.ui.overlay == Overlay::None;
    let shown = (0..state.services.len())
        .filter(|i| filter::service_shown(state, Pane::Decision, *i))
        .count();
    let title = super::filtered_title(
        state,
        Pane::Decision,
        "Decision",
        shown,
        state.services.len(),
    );
    let inner = frame(view, &title, focused, area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let t = view.theme;
    let w = inner.width as usize;
    let key = |a: Action| super::key(view, a);
    let selected = state.selected_env().map_or(0, |id| id.service);
    let name_w = state
        .services
        .iter()
        .map(|s| super::width(&s.name))
        .max()
        .unwrap_or(0)
        .clamp(6, 16);
    // The selected service first, with detail; the others in a line each.
    let order =
        std::iter::once(selected).chain((0..state.services.len()).filter(|i| *i != selected));
    let mut lines = Vec::new();
    for i in order {
        if !filter::service_shown(state, Pane::Decision, i) {
            continue;
        }
        let svc = &state.services[i];
        let d = &svc.rollback.decision;
        let age = if d.is_alert() {
            format!(
                "  {}",
                time::age(state.now.since(svc.rollback.decision_since))
            )
        } else {
            String::new()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<name_w$} ", fit(&svc.name, name_w)), t.bold()),
            Span::styled(format!(" {} ", d.label()), style(d, t)),
            Span::raw(age),
            Span::styled(
                format!("   mode {}", svc.rollback.policy.mode.as_str()),
                t.dim(),
            ),
        ]));
        if i != selected {
            continue;
        }
        if d.is_alert() || !svc.rollback.history.is_empty() {
            lines.push(Line::styled(
                fit(&format!("  {}", guards(svc, state)), w),
                t.dim(),
            ));
        }
        for r in reasons(d, state) {
            lines.push(Line::raw(fit(&format!("  {r}"), w)));
        }
        if matches!(d, Decision::RollbackRecommended { .. }) {
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(key(Action::StartRollback), t.key()),
                Span::raw(" open the rollback checklist  "),
                Span::styled(key(Action::Explain), t.key()),
                Span::raw(" why"),
            ]));
        } else if d.is_alert() {
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(key(Action::Explain), t.key()),
                Span::raw(" why"),
            ]));
        }
    }
    Paragraph::new(lines).render(inner, buf);
}

/// Rows the pane would like.
pub fn height(state: &State) -> u16 {
    let selected = state.selected_env().map_or(0, |id| id.service);
    let extra = state
        .services
        .get(selected)
        .map_or(0, |s| reasons(&s.rollback.decision, state).len() + 2);
    (state.services.len() + extra + 2) as u16
}
