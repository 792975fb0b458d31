//! The top line: what world this is, and the time.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::core::model::{Origin, State};
use crate::tui::View;

/// Who drives the selected service and how many watch:
/// `DRIVER alice@bastion · 3 watching`. Nothing when this console is alone.
fn war_room(state: &State) -> Option<String> {
    let service = &state.services.get(state.selected_env()?.service)?.name;
    // The lease says who drives (a row on the journal updates it at once);
    // presence says who else is here.
    let driver = crate::core::update::room::lease(state, service);
    let watching = state
        .people
        .iter()
        .filter(|p| driver.is_none_or(|d| d.session != p.session))
        .count();
    match driver {
        Some(d) => {
            let who = if d.session == state.session {
                "you".to_string()
            } else if d.lost {
                format!("{} (LOST)", crate::core::update::room::short(&d.operator))
            } else {
                crate::core::update::room::short(&d.operator).to_string()
            };
            Some(format!(
                "{}DRIVER {who}{} · {watching} watching",
                room(state),
                roles(state)
            ))
        }
        None if state.people.len() > 1 => Some(format!("{}{watching} watching", room(state))),
        None => None,
    }
}

/// ` · COMMS bob · SCRIBE you`: the selected service's incident roles.
fn roles(state: &State) -> String {
    let Some(service) = state.selected_env().map(|e| e.service) else {
        return String::new();
    };
    crate::core::roles::Role::ALL
        .into_iter()
        .filter_map(|r| {
            let h = crate::core::update::roles::holder(state, service, r)?;
            let who = if h.session == state.session {
                "you"
            } else {
                crate::core::update::room::short(&h.operator)
            };
            Some(format!(" · {} {who}", r.word().to_uppercase()))
        })
        .collect()
}

/// The worst incident open in the room: `SEV1 web · update in 4m` (and
/// `SEV1 web`, where that does not fit), and whether it is loud (severity
/// 1, or its update late: then it is shown in the drill colour).
fn incident(state: &State) -> Option<(String, String, bool)> {
    let incidents = crate::core::update::open_incidents(state);
    let (service, c) = incidents.first()?;
    let sev = c.comms.severity.as_ref()?;
    let cadence = crate::core::update::cadence(state, c);
    let more = match incidents.len() {
        1 => String::new(),
        n => format!(" (+{})", n - 1),
    };
    let words = cadence
        .words()
        .map_or_else(String::new, |w| format!(" · {w}"));
    let name = &state.services[*service].name;
    Some((
        format!(" {} {name}{words}{more} ", sev.label()),
        format!(" {} {name}{more} ", sev.label()),
        cadence.is_late() || sev.level == 1,
    ))
}

/// `room payments · `: the war room these people share (none for a
/// drill's own world).
fn room(state: &State) -> String {
    match state.room.as_str() {
        "" => String::new(),
        r => format!("room {r} · "),
    }
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let t = view.theme;
    let mut left = vec![Span::styled(" backstop", t.bold()), Span::raw(" ─ ")];
    let incident = incident(state);
    // The context first, always: nobody rolls back staging thinking it is
    // prod, or the reverse. Production says so in words, not only in red.
    if let Some(c) = &state.context {
        let badge = if c.production {
            format!(" {} · PRODUCTION ", c.name)
        } else {
            format!(" {} ", c.name)
        };
        left.push(Span::styled(
            badge,
            t.context(c.production, c.color.as_deref()),
        ));
        left.push(Span::raw(" "));
    }
    left.push(Span::raw(state.title.clone()));
    match &state.origin {
        Origin::Drill => {
            // A scenario's clock, in its own time: what the score measures.
            let clock = state.drill.as_ref().map(|d| {
                let at = d.ended.unwrap_or(state.now);
                let secs = (at.since(d.started).as_secs_f64() * d.speed) as u64;
                let end = if d.ended.is_some() { " ended" } else { "" };
                format!("  T+{:02}:{:02} at {}x{end}", secs / 60, secs % 60, d.speed)
            });
            // A drill on real providers must not claim nothing real is touched.
            let (long, short) = match state.drill.as_ref().and_then(|d| d.real_target.as_ref()) {
                Some(t) => (
                    format!(" DRILL: real weights change on {t} "),
                    " DRILL on AWS ".to_string(),
                ),
                None => (
                    " DRILL sandbox: nothing real is touched ".to_string(),
                    " DRILL sandbox ".to_string(),
                ),
            };
            let used = Line::from(left.clone()).width()
                + 2
                + clock.as_ref().map_or(0, String::len)
                + incident.as_ref().map_or(0, |(t, _, _)| super::width(t) + 2);
            // On a narrow terminal the clock matters more than the sentence.
            let badge = if used + super::width(&long) <= area.width as usize {
                long
            } else {
                short
            };
            left.push(Span::raw("  "));
            left.push(Span::styled(badge, t.drill()));
            if let Some(c) = clock {
                left.push(Span::styled(c, t.bold()));
            }
        }
        Origin::Config(_) => {}
    }
    // Minutes only: a ticking seconds counter would rewrite the line every
    // second for nobody (and cost bandwidth over SSH).
    let clock = format!("{} UTC ", state.now.hm());
    if state.journal_down.is_some() {
        // Nothing can change: say it where every screen looks first.
        left.push(Span::raw("  "));
        left.push(Span::styled(
            " JOURNAL DOWN: nothing can change ",
            t.drill(),
        ));
    }
    if let Some((ms, _)) = state.late {
        // backstop's own delay: what it sees meanwhile may be its own.
        left.push(Span::raw("  "));
        left.push(Span::styled(
            format!(
                " backstop is late by {} ",
                crate::core::time::human(std::time::Duration::from_millis(ms))
            ),
            t.drill(),
        ));
    }
    // An incident's severity and its next update, on every screen.
    if let Some((long, short, loud)) = incident {
        let used = Line::from(left.clone()).width() + 2 + clock.len();
        let text = if used + super::width(&long) <= area.width as usize {
            long
        } else {
            short
        };
        left.push(Span::raw("  "));
        left.push(Span::styled(text, if loud { t.drill() } else { t.bold() }));
    }
    if state.services.iter().any(|s| s.read_only) {
        // Colour is a second channel: the word says it.
        left.push(Span::raw("  "));
        left.push(Span::styled(" READ-ONLY ", t.drill()));
    }
    // Who drives matters more in a war room than which file this is.
    let mut tail = Vec::new();
    if let Some(room) = war_room(state) {
        tail.push(Span::raw("  "));
        tail.push(Span::styled(room, t.bold()));
    }
    if let Origin::Config(path) = &state.origin {
        let with_path: Vec<Span> = left
            .iter()
            .cloned()
            .chain([Span::styled(
                match &state.journal_at {
                    Some(j) => format!("  ({path} · journal on {j})"),
                    None => format!("  ({path})"),
                },
                t.dim(),
            )])
            .chain(tail.iter().cloned())
            .collect();
        if Line::from(with_path.clone()).width() + clock.len() + 2 <= area.width as usize {
            left = with_path;
            tail.clear();
        }
    }
    if !tail.is_empty() {
        let used = Line::from(left.clone()).width() + clock.len() + 2;
        if used + Line::from(tail.clone()).width() <= area.width as usize {
            left.extend(tail);
        }
    }
    let left = Line::from(left);
    let room = area.width as usize;
    if left.width() + clock.len() <= room {
        Line::raw(clock).right_aligned().render(area, buf);
    }
    left.render(area, buf);
}
