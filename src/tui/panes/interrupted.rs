//! Actions the journal shows were started but never finished: backstop was
//! killed, or the machine went down, between an intent and its outcome.
//! Nothing else can be done until the operator has checked what they left.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::frame;
use crate::core::action::Action;
use crate::core::events::Level;
use crate::core::model::State;
use crate::tui::View;

pub fn height(state: &State) -> u16 {
    (state.interrupted.len() as u16 * 3).saturating_add(8)
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let n = state.interrupted.len();
    let title = format!("INTERRUPTED: {n} change(s) never finished");
    let inner = frame(view, &title, true, area, buf);
    let t = view.theme;
    let key = |a: Action| super::key(view, a);
    let mut lines = vec![
        Line::raw(" backstop stopped while these changes were under way. Whether they"),
        Line::raw(" happened is unknown: check the real state before anything else."),
        Line::raw(""),
    ];
    for i in &state.interrupted {
        lines.push(Line::styled(
            format!(
                " {} {}  {}  {}",
                i.at.rfc3339(),
                i.operator,
                i.scope,
                i.text
            ),
            t.level(Level::Bad),
        ));
        match &i.real {
            Some(r) => lines.push(Line::styled(format!("   now: {r}"), t.level(Level::Good))),
            None => lines.push(Line::styled("   real state not checked yet", t.dim())),
        }
        lines.push(Line::raw(""));
    }
    let all_checked = state.interrupted.iter().all(|i| i.real.is_some());
    // Resolving them is the driver's: one that is gone is taken over first.
    let gone = state.interrupted.iter().find_map(|i| {
        let service = i.scope.split('/').next().unwrap_or(&i.scope);
        crate::core::update::room::lease(state, service)
            .filter(|l| l.lost && l.session != state.session)
    });
    let hint = if let (true, Some(l)) = (all_checked, gone) {
        format!(
            " {} take it over from {} (you type yes), then resolve them · {} quit",
            key(Action::Confirm),
            crate::core::update::room::short(&l.operator),
            key(Action::Quit)
        )
    } else if all_checked {
        format!(
            " {} acknowledge (journaled as the outcome) · {} quit",
            key(Action::Confirm),
            key(Action::Quit)
        )
    } else {
        format!(
            " {} check the real state now · {} quit",
            key(Action::OpenDetail),
            key(Action::Quit)
        )
    };
    lines.push(Line::styled(hint, t.key()));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}
