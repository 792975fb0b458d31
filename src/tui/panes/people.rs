//! The people on the journal — the war room at a glance: every console and
//! headless command, whether it drives (holds a service's lease) or watches,
//! what it is, and since when; a driver whose heartbeat is gone is marked.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{fit, frame};
use crate::core::action::Action;
use crate::core::events::Level;
use crate::core::model::State;
use crate::core::update::room;
use crate::tui::View;

/// Rows the view wants: one per person, a title, a line for lost drivers.
pub fn height(state: &State) -> u16 {
    (state.people.len().max(1) + state.leases.len() + 5) as u16
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let t = view.theme;
    let inner = frame(view, "People on this journal", true, area, buf);
    let w = inner.width as usize;
    let mut lines = vec![Line::styled(
        fit(
            "  ROLE        WHO                                 WHAT              SINCE",
            w,
        ),
        t.dim(),
    )];
    if state.people.is_empty() {
        lines.push(Line::styled(
            " Nobody else is heard on this journal.",
            t.dim(),
        ));
    }
    for p in &state.people {
        let drives: Vec<&str> = state
            .leases
            .iter()
            .filter(|l| l.session == p.session)
            .map(|l| l.service.as_str())
            .collect();
        // Beside the lease, the incident's roles (`:role`).
        let mut roles: Vec<String> = crate::core::update::roles::held_by(state, &p.session)
            .into_iter()
            .map(|(r, s)| format!("{} {s}", r.word().to_uppercase()))
            .collect();
        if !drives.is_empty() {
            roles.insert(0, format!("DRIVES {}", drives.join(", ")));
        }
        let role = if !roles.is_empty() {
            roles.join(", ")
        } else if p.read_only {
            "read-only".to_string()
        } else {
            "watches".to_string()
        };
        let who = if p.me {
            format!("{} (this console)", room::short(&p.operator))
        } else {
            room::short(&p.operator).to_string()
        };
        let style = if roles.is_empty() {
            ratatui::style::Style::default()
        } else {
            t.bold()
        };
        lines.push(Line::from(vec![Span::styled(
            fit(
                &format!("  {role:<11} {who:<35} {:<17} {}", p.what, p.since.hms()),
                w,
            ),
            style,
        )]));
    }
    // A lease whose holder is gone: the service waits for someone to take it.
    for l in state.leases.iter().filter(|l| l.lost) {
        lines.push(Line::styled(
            fit(
                &format!(
                    "  {} drove {} — no heartbeat for {}s: D takes it over",
                    room::short(&l.operator),
                    l.service,
                    l.quiet_s
                ),
                w,
            ),
            t.level(Level::Bad),
        ));
    }
    lines.push(Line::raw(""));
    let key = |a: Action| super::key(view, a);
    lines.push(Line::styled(
        fit(
            &format!(
                "  {} ask to drive the selected service · {} close · `backstop who` prints this",
                key(Action::Drive),
                key(Action::Back)
            ),
            w,
        ),
        t.dim(),
    ));
    Paragraph::new(lines).render(inner, buf);
}
