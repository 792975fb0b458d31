//! "Why": the chain behind a service's decision — the samples that crossed a
//! threshold, the rules they moved, the decision, and what was done — as a
//! short timeline, oldest first, for the incident in progress (or the last one).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::decision::{guards, reasons, style};
use super::{fit, frame};
use crate::core::action::Action;
use crate::core::events::Level;
use crate::core::model::{State, TimelineEntry, TimelineKind};
use crate::tui::View;

/// The entries of the current incident: since the last return to healthy.
fn incident(entries: &[TimelineEntry], alert: bool) -> (&[TimelineEntry], bool) {
    let is_calm = |e: &TimelineEntry| {
        e.kind == TimelineKind::Decision && e.text.starts_with("decision → HEALTHY")
    };
    let last_calm = entries.iter().rposition(is_calm);
    match (alert, last_calm) {
        (true, Some(i)) => (&entries[i + 1..], true),
        (true, None) => (entries, true),
        // Calm now: show the last incident, the one that ended at `i`.
        (false, Some(i)) => {
            let start = entries[..i].iter().rposition(is_calm).map_or(0, |j| j + 1);
            (&entries[start..=i], false)
        }
        (false, None) => (&entries[..0], false),
    }
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let Some(id) = state.selected_env() else {
        return;
    };
    let svc = &state.services[id.service];
    Clear.render(area, buf);
    let d = &svc.rollback.decision;
    let inner = frame(
        view,
        &format!("Why: {} is {}", svc.name, d.label()),
        true,
        area,
        buf,
    );
    let t = view.theme;
    let w = inner.width as usize;
    let entries: Vec<TimelineEntry> = svc.rollback.timeline.iter().cloned().collect();
    let (chain, current) = incident(&entries, d.is_alert());

    let mut lines = vec![Line::styled(
        " evidence → rule → decision → action",
        t.dim(),
    )];
    if chain.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::raw(" Nothing has happened yet: no rule has left OK."));
    } else if !current {
        lines.push(Line::styled(" No incident now. The last one:", t.bold()));
    }
    // A comparison that is not at rest explains itself whole: samples,
    // estimate, interval, the effect that matters, and so the outcome.
    let compared: Vec<String> = svc
        .rollback
        .rules
        .iter()
        .filter(|r| r.status != crate::core::rules::RuleStatus::Ok)
        .filter_map(|r| {
            let t = r.trial.as_ref()?;
            let c = t.last.as_ref()?;
            let probation = if r.dry_run { " (dry run)" } else { "" };
            Some(format!(
                "{}{probation} since {}: {}",
                r.kind.name(),
                t.since.hms(),
                c.explain(&t.canary, &t.baseline)
            ))
        })
        .flat_map(|text| wrap(&text, w.saturating_sub(5)))
        .collect();
    // Room for the summary below; the newest entries win.
    let room = (inner.height as usize)
        .saturating_sub(8 + compared.len())
        .max(3);
    let skip = chain.len().saturating_sub(room);
    if skip > 0 {
        lines.push(Line::styled(format!(" … {skip} earlier entries",), t.dim()));
    }
    for e in &chain[skip..] {
        let (tag, style) = match e.kind {
            TimelineKind::Evidence => ("evidence", t.dim()),
            TimelineKind::Rule => ("rule    ", t.level(Level::Warn)),
            TimelineKind::Decision => ("decision", t.bold()),
            TimelineKind::Action => ("action  ", t.level(Level::Good)),
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {} ", e.at.hms()), t.dim()),
            Span::styled(format!("{tag}  "), style),
            Span::raw(fit(&e.text, w.saturating_sub(21))),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::raw(" now: "),
        Span::styled(format!(" {} ", d.label()), style(d, t)),
    ]));
    for r in reasons(d, state) {
        lines.push(Line::raw(fit(&format!("   {r}"), w)));
    }
    lines.push(Line::styled(
        fit(&format!("   {}", guards(svc, state)), w),
        t.dim(),
    ));
    for l in compared {
        lines.push(Line::raw(format!("   {l}")));
    }
    // The latest samples of the other rules that are not at rest.
    let live: Vec<String> = svc
        .rollback
        .rules
        .iter()
        .filter(|r| r.status != crate::core::rules::RuleStatus::Ok && r.trial.is_none())
        .filter_map(|r| {
            r.evidence
                .back()
                .map(|e| format!("   latest {}: {} {}", r.kind.name(), e.at.hms(), e.text))
        })
        .collect();
    for l in live {
        lines.push(Line::styled(fit(&l, w), t.dim()));
    }
    let key = |a: Action| super::key(view, a);
    lines.push(Line::styled(
        format!(
            " {} close  {}/{} other service",
            key(Action::Back),
            key(Action::SelectPrev),
            key(Action::SelectNext)
        ),
        t.dim(),
    ));
    Paragraph::new(lines).render(inner, buf);
}

/// `text` in lines of at most `width` columns, broken between words; the
/// lines after the first indented by two.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let indent = if out.is_empty() { 0 } else { 2 };
        if !line.is_empty() && super::width(&line) + 1 + super::width(word) + indent > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out.iter()
        .enumerate()
        .map(|(i, l)| {
            let l = if i == 0 { l.clone() } else { format!("  {l}") };
            fit(&l, width)
        })
        .collect()
}
