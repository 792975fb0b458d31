//! Alarms & rules: every rule on every environment, and every external
//! alarm, with its state, value against threshold, and since when. Firing
//! first, then pending; the rules at rest fill what room is left.
//!
//! ```text
//! FIRING   web/green  health-failures  3/3    ≥ 3 failed probes in a row  40s
//! PENDING  web/green  error-rate       8.1 %  > 5 % /1m for 1m            fires 14:03:10
//! OK       web/blue   error-rate       0.0 %  > 5 % /1m for 1m            3m
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row, Table, Widget};

use super::{fit, frame};
use crate::core::events::Level;
use crate::core::filter;
use crate::core::model::{EnvId, Overlay, Pane, SourceKind, State};
use crate::core::rules::{AlarmState, RuleKind, RuleStatus};
use crate::core::time;
use crate::tui::View;

/// What a row shows, found cheaply; formatted only if it is on screen.
#[derive(Clone, Copy)]
pub(super) enum Source {
    Rule(usize),
    Alarm(usize),
}

#[derive(Clone, Copy)]
pub(super) struct Entry {
    pub status: RuleStatus,
    /// On an environment that takes no traffic: shown, not acted on.
    pub idle: bool,
    pub service: usize,
    source: Source,
    /// Sort key within a status: environment, rule position.
    order: (usize, usize),
}

/// Every row, sorted: acted-on before idle, firing, then pending, then ok.
pub(super) fn entries(state: &State) -> Vec<Entry> {
    let mut out = Vec::new();
    for (s, svc) in state.services.iter().enumerate() {
        let shares = svc.shares();
        for (i, r) in svc.rollback.rules.iter().enumerate() {
            // The manual rule is news only when someone pulled it.
            if r.kind == RuleKind::Manual && r.status == RuleStatus::Ok {
                continue;
            }
            let share = shares.as_ref().and_then(|v| v.get(r.env).map(|(_, p)| *p));
            // A rule on probation is shown like one on an idle
            // environment: below the deciding ones, not counted.
            let idle = r.dry_run
                || (share == Some(0)
                    && !matches!(r.kind, RuleKind::Manual | RuleKind::Alarm { .. }));
            out.push(Entry {
                status: r.status,
                idle,
                service: s,
                source: Source::Rule(i),
                order: (r.env, i),
            });
        }
        // External alarms no rule watches: shown, so nothing is hidden.
        for (i, a) in svc.alarms.iter().enumerate() {
            let watched = svc
                .rollback
                .rules
                .iter()
                .any(|r| matches!(&r.kind, RuleKind::Alarm { name, .. } if *name == a.name));
            if !watched {
                let status = if a.state == AlarmState::Alarm {
                    RuleStatus::Firing
                } else {
                    RuleStatus::Ok
                };
                out.push(Entry {
                    status,
                    idle: false,
                    service: s,
                    source: Source::Alarm(i),
                    order: (usize::MAX, i),
                });
            }
        }
    }
    out.sort_by_key(|e| (e.idle, std::cmp::Reverse(e.status), e.service, e.order));
    out
}

/// The words of one row.
pub(super) struct Line {
    pub status: RuleStatus,
    pub idle: bool,
    pub scope: String,
    pub name: String,
    pub observed: String,
    pub threshold: String,
    pub when: String,
}

pub(super) fn line(state: &State, e: Entry) -> Line {
    let svc = &state.services[e.service];
    match e.source {
        Source::Rule(i) => {
            let r = &svc.rollback.rules[i];
            let when = match (r.status, r.fires_at()) {
                (RuleStatus::Pending, Some(at)) => format!("fires {}", at.hms()),
                _ => time::age(state.now.since(r.since)),
            };
            let observed = match &r.note {
                Some(n) if r.status == RuleStatus::Ok => format!("{} ({n})", r.observed),
                _ => r.observed.clone(),
            };
            let scope = state.env_label(EnvId {
                service: e.service,
                env: r.env,
            });
            Line {
                status: r.status,
                idle: e.idle,
                scope: if e.idle && !r.dry_run {
                    format!("{scope} (idle)")
                } else {
                    scope
                },
                name: if r.dry_run {
                    format!("{} (dry run)", r.kind.name())
                } else {
                    r.kind.name()
                },
                observed,
                threshold: r.kind.threshold(),
                when,
            }
        }
        Source::Alarm(i) => {
            let a = &svc.alarms[i];
            Line {
                status: e.status,
                idle: false,
                scope: svc.name.clone(),
                name: format!("alarm {}", a.name),
                observed: a.state.word().into(),
                threshold: format!("({}, no rule acts on it)", a.source),
                when: time::age(state.now.since(a.since)),
            }
        }
    }
}

/// Rows the pane would like: its lines and borders.
pub fn height(state: &State) -> u16 {
    let rows: usize = state
        .services
        .iter()
        .map(|s| {
            s.rollback
                .rules
                .iter()
                .filter(|r| r.kind != RuleKind::Manual || r.status != RuleStatus::Ok)
                .count()
                + s.alarms.len()
        })
        .sum();
    let sources = state
        .sources
        .iter()
        .filter(|s| s.kind == SourceKind::Alarms && s.name.starts_with("cloudwatch"))
        .count();
    (rows + sources + 2).min(u16::MAX as usize) as u16
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let focused = state.ui.focus == Pane::Alarms && state.ui.overlay == Overlay::None;
    let every = entries(state);
    let count = every.len();
    // The `/` filter: by state (`firing`), scope, rule, value or threshold.
    let all: Vec<Entry> = match state.ui.filter(Pane::Alarms) {
        Some(q) => every
            .into_iter()
            .filter(|e| {
                let l = line(state, *e);
                let idle = if l.idle { "idle" } else { "" };
                filter::matches(
                    q,
                    &[
                        l.status.word(),
                        &l.scope,
                        &l.name,
                        &l.observed,
                        &l.threshold,
                        idle,
                    ],
                )
            })
            .collect(),
        None => every,
    };
    let title = super::filtered_title(state, Pane::Alarms, "Alarms & rules", all.len(), count);
    let inner = frame(view, &title, focused, area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    if all.is_empty()
        && let Some(none) = super::nothing_matches(state, Pane::Alarms)
    {
        ratatui::text::Line::styled(none, view.theme.dim()).render(inner, buf);
        return;
    }
    // Where the external alarms come from, and how fresh they are.
    let status = super::source_lines(state, SourceKind::Alarms, view, inner.width as usize);
    let top = (status.len() as u16).min(inner.height.saturating_sub(1));
    for (i, l) in status.into_iter().take(top as usize).enumerate() {
        l.render(
            Rect {
                y: inner.y + i as u16,
                height: 1,
                ..inner
            },
            buf,
        );
    }
    let inner = Rect {
        y: inner.y + top,
        height: inner.height - top,
        ..inner
    };
    let t = view.theme;
    let firing = all
        .iter()
        .filter(|l| l.status == RuleStatus::Firing && !l.idle)
        .count();
    let pending = all
        .iter()
        .filter(|l| l.status == RuleStatus::Pending && !l.idle)
        .count();
    let shown = inner.height as usize;
    let visible: Vec<Line> = all.iter().take(shown).map(|e| line(state, *e)).collect();
    let mut rows: Vec<Row> = visible
        .iter()
        .map(|l| {
            let style = match l.status {
                _ if l.idle => t.dim(),
                RuleStatus::Firing => t.level(Level::Bad),
                RuleStatus::Pending => t.level(Level::Warn),
                RuleStatus::Ok => t.dim(),
            };
            Row::new(vec![
                Cell::from(l.status.word()).style(style),
                Cell::from(fit(&l.scope, 27)),
                Cell::from(fit(&l.name, 22)),
                Cell::from(l.observed.clone()).style(if l.status == RuleStatus::Ok {
                    Style::new()
                } else {
                    t.bold()
                }),
                Cell::from(l.threshold.clone()).style(t.dim()),
                Cell::from(l.when.clone()),
            ])
        })
        .collect();
    // Say what does not fit rather than hide it silently.
    let mut table_area = inner;
    if all.len() > shown && shown > 1 {
        let hidden = all.len() - shown + 1;
        rows.truncate(shown - 1);
        table_area.height -= 1;
        let note = format!("… {hidden} more below ({firing} firing, {pending} pending in all)");
        let last = Rect {
            y: inner.y + inner.height - 1,
            height: 1,
            ..inner
        };
        ratatui::text::Line::styled(note, t.dim()).render(last, buf);
    }
    let scope_w = visible
        .iter()
        .map(|l| super::width(&l.scope))
        .max()
        .unwrap_or(5)
        .clamp(5, 27) as u16;
    let name_w = visible
        .iter()
        .map(|l| super::width(&l.name))
        .max()
        .unwrap_or(5)
        .clamp(5, 22) as u16;
    let widths = [
        Constraint::Length(7),
        Constraint::Length(scope_w),
        Constraint::Length(name_w),
        Constraint::Length(12),
        Constraint::Fill(1),
        Constraint::Length(14),
    ];
    Table::new(rows, widths)
        .column_spacing(1)
        .render(table_area, buf);
}
