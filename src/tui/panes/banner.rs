//! The banner under the header: every service whose decision needs eyes, in
//! one line each, so on any pane and any terminal the operator sees it first.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::decision::style;
use super::fit;
use crate::core::action::Action;
use crate::core::decision::Decision;
use crate::core::model::State;
use crate::core::roles::Role;
use crate::tui::View;

/// What the banner says of a service: its decision — or, while another
/// console drives its rollback, that rollback (this console's own rules
/// would still be recommending one, or be blocked without a provider).
fn shown(state: &State, service: usize) -> std::borrow::Cow<'_, Decision> {
    let rb = &state.services[service].rollback;
    match rb.followed.as_ref().filter(|f| {
        f.checklist.ended.is_none() && rb.checklist.as_ref().is_none_or(|c| c.ended.is_some())
    }) {
        Some(f) => std::borrow::Cow::Owned(Decision::RollingBack {
            suspect: f.checklist.suspect,
            target: f.checklist.target,
            since: f.checklist.started,
            by: f.checklist.started_by.clone(),
        }),
        None => std::borrow::Cow::Borrowed(&rb.decision),
    }
}

/// Services to show, most urgent first.
fn alerting(state: &State) -> Vec<usize> {
    let rank = |d: &Decision| match d {
        Decision::RollbackRecommended { .. } | Decision::Blocked { .. } => 0,
        Decision::RollingBack { .. } => 1,
        Decision::Watch { .. } => 2,
        _ => 3,
    };
    let mut v: Vec<usize> = (0..state.services.len())
        .filter(|i| shown(state, *i).is_alert())
        .collect();
    v.sort_by_key(|i| rank(&shown(state, *i)));
    v
}

/// Lines the banner takes (0 when all is calm; at most 3).
pub fn height(state: &State) -> u16 {
    alerting(state).len().min(3) as u16
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let t = view.theme;
    let key = |a: Action| super::key(view, a);
    let list = alerting(state);
    let rows = area.height as usize;
    for (row, i) in list.iter().take(rows).enumerate() {
        let svc = &state.services[*i];
        let d = &*shown(state, *i);
        let route = match d {
            Decision::RollbackRecommended {
                suspect, target, ..
            }
            | Decision::RollingBack {
                suspect, target, ..
            }
            | Decision::RolledBack {
                suspect, target, ..
            } => {
                format!(
                    " {}",
                    crate::core::decision::route(&svc.envs[*suspect].name, &svc.envs[*target].name)
                )
            }
            Decision::Watch { env, .. } => format!(" {}", svc.envs[*env].name),
            Decision::Blocked { suspect, .. } => format!(" {}", svc.envs[*suspect].name),
            _ => String::new(),
        };
        // Production is down and the switch is previewed: the banner is
        // the preview, and `y` makes it.
        let ready = svc
            .rollback
            .ready
            .as_ref()
            .filter(|r| r.lines.is_some() && matches!(d, Decision::RollbackRecommended { .. }));
        let why = match ready {
            // The change itself, in the fewest words (the provider's whole
            // preview is the checklist's, once it opens).
            Some(r) => crate::core::traffic::Weights::describe_change(&r.from, &r.to),
            None => super::decision::reasons(d, state)
                .into_iter()
                .next()
                .unwrap_or_default(),
        };
        let more = if row + 1 == rows && list.len() > rows {
            format!("  (+{} more)", list.len() - rows)
        } else {
            String::new()
        };
        // Another console drives it: say who, and offer to ask.
        let driver = crate::core::update::room::lease(state, &svc.name)
            .filter(|l| l.session != state.session);
        let watching = svc.read_only || state.journal_down.is_some();
        let hint = match d {
            // This console only watches: its keys act on nothing.
            _ if watching => format!("  watching only · {} why", key(Action::Explain)),
            _ if driver.is_some() && state.approve_only => format!(
                "  {} drives · {} why",
                driver.map_or("", |l| crate::core::update::room::short(&l.operator)),
                key(Action::Explain)
            ),
            _ if driver.is_some() => format!(
                "  {} drives · {} ask · {} why",
                driver.map_or("", |l| crate::core::update::room::short(&l.operator)),
                key(Action::Drive),
                key(Action::Explain)
            ),
            // A team drill's joiner: its driver rolls back, not this console.
            Decision::RollbackRecommended { .. } if state.approve_only => {
                format!(
                    "  the drill's driver rolls back · {} why",
                    key(Action::Explain)
                )
            }
            Decision::RollbackRecommended { .. } if ready.is_some() => format!(
                "  {} switch · {} why",
                key(Action::Confirm),
                key(Action::Explain)
            ),
            Decision::RollbackRecommended { .. } => format!(
                "  {} roll back · {} why",
                key(Action::StartRollback),
                key(Action::Explain)
            ),
            // No rollback will fix it: the next thing is a person.
            Decision::Blocked { .. } if crate::core::update::escalation::offered(state, *i) => {
                format!(
                    "  {} pages on-call · {} why",
                    key(Action::Escalate),
                    key(Action::Explain)
                )
            }
            _ => format!("  {} why", key(Action::Explain)),
        };
        // A late update shows on every pane, in words.
        let late = crate::core::update::open_incidents(state)
            .into_iter()
            .find(|(s, _)| s == i)
            .map(|(_, c)| crate::core::update::cadence(state, c))
            .filter(|c| c.is_late())
            .and_then(|c| c.words())
            .map_or_else(String::new, |w| {
                // Whose it is to write: the communications lead's, if not ours.
                match crate::core::update::roles::holder(state, *i, Role::Comms) {
                    Some(h) if h.session != state.session => format!(
                        " {w}: {} (comms) writes it ",
                        crate::core::update::room::short(&h.operator)
                    ),
                    _ => format!(" {w}: {} writes it ", key(Action::StatusUpdate)),
                }
            });
        let head = format!(" {} ", svc.name);
        // The change names both environments: the route would repeat it.
        let route = if ready.is_some() {
            String::new()
        } else {
            route
        };
        let label = match ready {
            Some(_) => " EMERGENCY ".to_string(),
            None => format!(" {} ", d.label()),
        };
        let used = super::width(&head)
            + super::width(&label)
            + super::width(&route)
            + super::width(&hint)
            + super::width(&late)
            + more.len()
            + 3;
        let line = Line::from(vec![
            Span::styled(head, t.bold()),
            Span::styled(label, style(d, t)),
            Span::styled(route, t.bold()),
            Span::raw(fit(
                // The change right after its label: no route to separate it from.
                &if ready.is_some() {
                    format!(" {why}")
                } else {
                    format!(" · {why}")
                },
                (area.width as usize).saturating_sub(used),
            )),
            Span::styled(late, t.drill()),
            Span::styled(hint, t.key()),
            Span::raw(more),
        ]);
        line.render(
            Rect {
                y: area.y + row as u16,
                height: 1,
                ..area
            },
            buf,
        );
    }
}
