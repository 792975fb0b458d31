//! The end of a drill: the clock's marks as MTTD and MTTR against the
//! runbooks' targets, the checklist, and whether the expectation held.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::frame;
use crate::core::drill::{TARGET_MTTD, TARGET_MTTR, TARGET_SAFE, TARGET_SWITCH};
use crate::core::events::Level;
use crate::core::model::State;
use crate::core::runbook::short;
use crate::core::time;
use crate::tui::View;

pub fn height(state: &State) -> u16 {
    let checks = state
        .drill
        .as_ref()
        .and_then(|d| d.score.as_ref())
        .map_or(0, |s| {
            s.checks.len()
                + s.wrong_actions.len()
                + usize::from(!s.crew.drivers.is_empty())
                + s.crew.approvals.len()
                + s.crew.handovers.len()
                + s.targets.len()
                + 1
        });
    (checks as u16).saturating_add(15)
}

fn measure(secs: Option<f64>, target: Duration) -> (String, bool) {
    match secs {
        Some(s) => {
            let d = Duration::from_secs_f64(s);
            // Colour is a second channel: a missed target says so in words.
            let missed = if d < target { "" } else { ", MISSED" };
            (
                format!(
                    "{} (target < {}{missed})",
                    time::human(d),
                    time::human(target)
                ),
                d < target,
            )
        }
        None => ("—".to_string(), true),
    }
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let Some(d) = &state.drill else { return };
    let Some(s) = &d.score else { return };
    Clear.render(area, buf);
    let verdict = if s.held {
        "EXPECTATION HELD"
    } else {
        "EXPECTATION NOT HELD"
    };
    let inner = frame(
        view,
        &format!("Drill {}: {verdict}", d.scenario),
        true,
        area,
        buf,
    );
    let t = view.theme;
    let mut lines = vec![Line::raw(format!(" {}", d.title))];
    if s.speed != 1.0 {
        lines.push(Line::styled(
            format!(
                " run at {}x; times below are the scenario's own (wall time × {})",
                s.speed, s.speed
            ),
            t.dim(),
        ));
    }
    lines.push(Line::raw(""));
    for (label, value, target) in [
        ("MTTD (detected − fault)", s.mttd_secs, TARGET_MTTD),
        ("MTTR (verified − detected)", s.mttr_secs, TARGET_MTTR),
        ("switch (done − decided)", s.switch_secs, TARGET_SWITCH),
        ("time to safe (switch − fault)", s.safe_secs, TARGET_SAFE),
    ] {
        let (text, ok) = measure(value, target);
        let style = if ok {
            t.level(Level::Good)
        } else {
            t.level(Level::Bad)
        };
        lines.push(Line::styled(format!(" {label:<29} {text}"), style));
    }
    // The rollback type's own phases, each against its runbook target.
    for ts in &s.targets {
        let within = short(Duration::from_secs(ts.within_secs));
        let (text, ok) = match ts.took_secs {
            Some(took) if ts.met() == Some(true) => (
                format!("{} of {within}", short(Duration::from_secs(took))),
                true,
            ),
            Some(took) => (
                format!("{} of {within}, MISSED", short(Duration::from_secs(took))),
                false,
            ),
            None => (format!("not reached (target {within})"), false),
        };
        let style = if ok {
            t.level(Level::Good)
        } else {
            t.level(Level::Bad)
        };
        lines.push(Line::styled(
            format!(" {:<29} {text}", format!("{}:", ts.title)),
            style,
        ));
    }
    // How the team was told: the first message, then the cadence.
    if let Some(talk) = &s.talk {
        let (first_ok, updates_ok) = talk.on_time();
        let first = talk.first_message_secs.map_or_else(
            || "none sent".to_string(),
            |v| short(Duration::from_secs_f64(v)),
        );
        let style = |ok| {
            if ok {
                t.level(Level::Good)
            } else {
                t.level(Level::Bad)
            }
        };
        lines.push(Line::styled(
            format!(
                " {:<29} {first} (target < {})",
                "first message",
                short(crate::core::drill::TARGET_FIRST_MESSAGE)
            ),
            style(first_ok),
        ));
        lines.push(Line::styled(
            format!(
                " {:<29} {} sent, {} late or missed",
                "updates on the cadence", talk.updates, talk.late
            ),
            style(updates_ok),
        ));
    }
    lines.push(Line::raw(format!(
        " first rule: {} · rollbacks: {} · checklist: {} done, {} skipped",
        s.first_rule.as_deref().unwrap_or("none"),
        s.rollbacks,
        s.steps_done,
        s.steps_skipped
    )));
    lines.push(Line::raw(""));
    for c in &s.checks {
        let (ok, text) = (&c.held, &c.what);
        let (mark, style) = if *ok {
            ("✓", t.level(Level::Good))
        } else {
            ("✗", t.level(Level::Bad))
        };
        lines.push(Line::styled(format!(" {mark} {text}"), style));
    }
    for w in &s.wrong_actions {
        lines.push(Line::styled(format!("   {w}"), t.level(Level::Bad)));
    }
    // The team: who drove, who approved, each handover.
    if !s.crew.drivers.is_empty() {
        lines.push(Line::raw(format!(" Drove: {}", s.crew.drivers.join(", "))));
    }
    for a in s.crew.approvals.iter().chain(&s.crew.handovers) {
        lines.push(Line::raw(format!("   {a}")));
    }
    lines.push(Line::raw(""));
    let report = match &d.report {
        Some(Ok(path)) => format!(" Report: {path}"),
        Some(Err(e)) => format!(" The report could not be written: {e}"),
        None => " Writing the report…".to_string(),
    };
    lines.push(Line::raw(report));
    lines.push(Line::styled(
        " Past drills: backstop report --drills. Esc closes.",
        t.dim(),
    ));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}
