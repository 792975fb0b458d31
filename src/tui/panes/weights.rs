//! The set-weights dialog: choose the split, read the provider's own words
//! for exactly what will change, then confirm with a second key.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::{fit, frame, gauge};
use crate::core::action::Action;
use crate::core::events::Level;
use crate::core::model::State;
use crate::core::traffic::EditStage;
use crate::tui::View;

/// Rows the dialog needs, borders included.
pub fn height(state: &State) -> u16 {
    let Some(ed) = &state.ui.editor else { return 8 };
    let stage = match &ed.stage {
        EditStage::Previewing(lines) => lines.len() + 4,
        EditStage::Failed(_) => 3,
        _ => 1,
    };
    (2 + 2 + ed.from.0.len() + 1 + stage + 1) as u16
}

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let Some(ed) = &state.ui.editor else { return };
    let Some(svc) = state.services.get(ed.service) else {
        return;
    };
    Clear.render(area, buf);
    let via = svc
        .traffic
        .as_ref()
        .map(|t| t.target.clone())
        .unwrap_or_default();
    let inner = frame(
        view,
        &format!("Set weights · {} · via {via}", svc.name),
        true,
        area,
        buf,
    );
    let t = view.theme;
    let key = |a: Action| super::key(view, a);
    let w = inner.width as usize;
    let env_w = ed
        .from
        .0
        .iter()
        .map(|e| super::width(&e.env))
        .max()
        .unwrap_or(0)
        .min(12);
    let gauge_w = w.saturating_sub(env_w + 28).clamp(4, 30);

    let mut lines = vec![
        Line::raw(""),
        Line::styled(format!("    {:<env_w$}   NOW      AFTER", "ENV"), t.dim()),
    ];
    let now = ed.from.percents();
    for (i, e) in ed.from.0.iter().enumerate() {
        let mark = if i == ed.cursor { "  › " } else { "    " };
        let after = ed.to[i];
        let style = if after != now[i] {
            t.bold()
        } else {
            ratatui::style::Style::new()
        };
        lines.push(Line::from(vec![
            Span::raw(mark),
            Span::raw(format!("{:<env_w$}", fit(&e.env, env_w))),
            Span::raw(format!(" {:>4} %  → ", now[i])),
            Span::styled(format!("{after:>3} %  "), style),
            Span::raw(gauge(f64::from(after), gauge_w)),
        ]));
    }
    lines.push(Line::raw(""));
    match &ed.stage {
        EditStage::Editing => {
            lines.push(Line::styled(
                format!(
                    "  {}/{} change  {}/{} environment  {} preview  {} cancel",
                    key(Action::Decrease),
                    key(Action::Increase),
                    key(Action::SelectPrev),
                    key(Action::SelectNext),
                    key(Action::OpenDetail),
                    key(Action::Back)
                ),
                t.dim(),
            ));
        }
        EditStage::AwaitingPreview => lines.push(Line::styled(
            "  asking the provider what exactly will change…",
            t.dim(),
        )),
        EditStage::Previewing(preview) => {
            lines.push(Line::styled("  The change, exactly:", t.bold()));
            for p in preview {
                lines.push(Line::raw(format!("    {p}")));
            }
            lines.push(Line::raw(""));
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(format!(" {} ", key(Action::Confirm)), t.drill()),
                Span::styled(format!(" apply it, as {}   ", state.operator), t.bold()),
                Span::styled(
                    format!(
                        "{} cancel   {}/{} change again",
                        key(Action::Back),
                        key(Action::Decrease),
                        key(Action::Increase)
                    ),
                    t.dim(),
                ),
            ]));
        }
        EditStage::Applying => lines.push(Line::styled(
            "  applying… (the outcome appears here and in the event log)",
            t.level(Level::Warn),
        )),
        EditStage::Failed(e) => {
            lines.push(Line::styled(format!("  FAILED: {e}"), t.level(Level::Bad)));
            lines.push(Line::styled(
                format!("  {} close", key(Action::Back)),
                t.dim(),
            ));
        }
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}
