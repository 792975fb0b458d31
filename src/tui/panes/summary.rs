//! The selected service at a glance, for terminals too small for the grid:
//! its decision, the rules and alarms that are not at rest, and a count of
//! those at rest — and, in one line, any other service where something
//! fires, so a small screen hides nothing that is on fire.
//!
//! ```text
//! ┌ Rules & alarms · web ────────────────────────────────────────────────┐
//! │ ROLLBACK RECOMMENDED   green → blue (ok) · cooldown ok · 0 of 3 rollb…│
//! │ FIRING  green health-failures 4/3  ≥ 3 in a row  5s                   │
//! │ PENDING green error-rate 8.0 %  > 5 % /1m for 1m  fires 14:01:30      │
//! │ 5 rules OK · also firing: checkout (1)                                │
//! └───────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::alarms::{self, Entry};
use super::{fit, frame};
use crate::core::events::Level;
use crate::core::model::State;
use crate::core::rules::RuleStatus;
use crate::tui::View;

/// Lines of rules not at rest shown at most; the rest are counted.
const MOST: usize = 4;

/// What the pane shows of `state`, found once for its height and its lines.
struct Glance {
    service: usize,
    /// Firing and pending, most urgent first.
    awake: Vec<Entry>,
    at_rest: usize,
    /// Other services with something firing: (name, how many).
    elsewhere: Vec<(String, usize)>,
}

fn glance(state: &State) -> Glance {
    let service = state.selected_env().map_or(0, |id| id.service);
    let mut awake = Vec::new();
    let mut at_rest = 0;
    let mut elsewhere: Vec<(String, usize)> = Vec::new();
    for e in alarms::entries(state) {
        if e.service == service {
            if e.status == RuleStatus::Ok {
                at_rest += 1;
            } else {
                awake.push(e);
            }
        } else if e.status == RuleStatus::Firing && !e.idle {
            let name = &state.services[e.service].name;
            match elsewhere.last_mut() {
                Some((n, count)) if n == name => *count += 1,
                _ => elsewhere.push((name.clone(), 1)),
            }
        }
    }
    Glance {
        service,
        awake,
        at_rest,
        elsewhere,
    }
}

/// Rows the pane would like: the decision, the rules awake (a few), the
/// line of counts, borders.
pub fn height(state: &State) -> u16 {
    if state.services.is_empty() {
        return 3;
    }
    let g = glance(state);
    let awake = g.awake.len().min(MOST + 1);
    let counts = usize::from(!g.awake.is_empty() || !g.elsewhere.is_empty());
    let db = usize::from(!database_warning(state, g.service).is_empty());
    (2 + 1 + awake + db + counts) as u16
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let g = glance(state);
    let Some(svc) = state.services.get(g.service) else {
        frame(view, "Rules & alarms", false, area, buf);
        return;
    };
    let title = format!("Rules & alarms · {}", svc.name);
    let inner = frame(view, &title, false, area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let t = view.theme;
    let w = inner.width as usize;
    let d = &svc.rollback.decision;
    let rules_ok = match g.at_rest {
        0 if g.awake.is_empty() => "no rules".to_string(),
        n if g.awake.is_empty() => format!("all {n} rules OK"),
        1 => "1 rule OK".to_string(),
        n => format!("{n} rules OK"),
    };
    // The decision; when calm, the whole story in one line.
    let mut head = vec![
        Span::styled(format!(" {} ", d.label()), super::decision::style(d, t)),
        Span::raw("  "),
    ];
    if d.is_alert() || !svc.rollback.history.is_empty() {
        head.push(Span::styled(super::decision::guards(svc, state), t.dim()));
    } else {
        head.push(Span::styled(
            format!("mode {} · {rules_ok}", svc.rollback.policy.mode.as_str()),
            t.dim(),
        ));
    }
    let mut lines = vec![cut(Line::from(head), w)];
    // Rules awake, most urgent first; what does not fit is counted.
    let room = (inner.height as usize).saturating_sub(2);
    let show = g.awake.len().min(room);
    let prefix = format!("{}/", svc.name);
    for e in g.awake.iter().take(show) {
        let l = alarms::line(state, *e);
        let style = match l.status {
            _ if l.idle => t.dim(),
            RuleStatus::Firing => t.level(Level::Bad),
            RuleStatus::Pending => t.level(Level::Warn),
            RuleStatus::Ok => t.dim(),
        };
        let scope = l.scope.strip_prefix(&prefix).unwrap_or(&l.scope);
        lines.push(cut(
            Line::from(vec![
                Span::styled(format!(" {:<8}", l.status.word()), style),
                Span::raw(format!("{scope} {} ", l.name)),
                Span::styled(l.observed, t.bold()),
                Span::styled(format!("  {}  ", l.threshold), t.dim()),
                Span::raw(l.when),
            ]),
            w,
        ));
    }
    // What a rollback would meet in the database, on the small screen too.
    let db = database_warning(state, g.service);
    if let Some(first) = db.first() {
        // "⚠ the database (dbmate): …" reads "dbmate: …" after its label.
        let text = first.trim_start_matches("⚠ the database ");
        let text = match text.strip_prefix('(') {
            Some(rest) => rest.replacen(')', "", 1),
            None => text.to_string(),
        };
        let text = text.as_str();
        lines.push(Line::from(vec![
            Span::styled(" DB      ", t.level(Level::Bad)),
            Span::styled(fit(text, w.saturating_sub(9)), t.level(Level::Bad)),
        ]));
    }
    let mut counts = Vec::new();
    if g.awake.len() > show {
        counts.push(format!("… {} more", g.awake.len() - show));
    }
    if !g.awake.is_empty() {
        counts.push(rules_ok);
    }
    if !g.elsewhere.is_empty() {
        let others: Vec<String> = g
            .elsewhere
            .iter()
            .map(|(n, c)| format!("{n} ({c})"))
            .collect();
        counts.push(format!("also firing: {}", others.join(", ")));
    }
    if !counts.is_empty() {
        let style = if g.elsewhere.is_empty() {
            t.dim()
        } else {
            t.level(Level::Bad)
        };
        lines.push(Line::styled(
            fit(&format!(" {}", counts.join(" · ")), w),
            style,
        ));
    }
    Paragraph::new(lines).render(inner, buf);
}

/// The selected service's database warning (empty when none is known).
fn database_warning(state: &State, service: usize) -> Vec<String> {
    state
        .services
        .get(service)
        .and_then(|s| s.database.as_ref())
        .map(crate::core::migration::Read::warning)
        .unwrap_or_default()
}

/// `line` cut to `w` columns, its styles kept.
fn cut(line: Line<'static>, w: usize) -> Line<'static> {
    let mut left = w;
    let mut spans = Vec::new();
    for s in line.spans {
        if left == 0 {
            break;
        }
        let text = fit(&s.content, left);
        left -= super::width(&text);
        spans.push(Span::styled(text, s.style));
    }
    Line::from(spans)
}
