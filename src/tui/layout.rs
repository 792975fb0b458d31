//! The root layout.
//!
//! ```text
//!  backstop ─ drill ─ DRILL sandbox: nothing real is touched        14:02 UTC
//! ┏ Health ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
//! ┃  SERVICE ENV    VERSION STATUS LATENCY TREND         FAILS SINCE       ┃
//! ┃› web     blue   v1.0.0  OK       2ms   ▁▁▁▁▁▁▁▁▁▁▁▁     0   12m       ┃
//! ┃          green  v1.0.1  CRIT     2ms   ▁▁▁▁▁▁▁▁××××     4   8s  503   ┃
//! ┗━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┛
//! ┌ Events ────────────────────────────────────────────────────────────────┐
//! │ 14:01:51 web/green  OK → CRIT  health: HTTP 503 · status "critical"    │
//! └────────────────────────────────────────────────────────────────────────┘
//!  ↑↓ select  ⏎ detail  Tab pane  f fault  c heal  ? help  q quit
//! ```
//!
//! The focused pane has the heavy border. When the body is too short for
//! both panes, only the focused one is shown (Tab switches). Help and the
//! detail view are drawn over the panes.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Widget;

use super::View;
use super::panes;
use crate::core::model::{Overlay, Pane, State};

/// Below this the screen says it is too small instead of drawing a mess.
const MIN_WIDTH: u16 = 30;
const MIN_HEIGHT: u16 = 6;

/// Draw the whole screen.
pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "backstop: terminal too small ({}×{}); q quits",
            area.width, area.height
        );
        Line::raw(msg).render(area, buf);
        return;
    }
    let [header, body, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    panes::header::render(state, view, header, buf);
    panes::keybar::render(state, view, keys, buf);

    let (health, events) = split_body(state, body);
    if let Some(r) = health {
        panes::health::render(state, view, r, buf);
    }
    if let Some(r) = events {
        panes::events::render(state, view, r, buf);
    }

    match state.ui.overlay {
        Overlay::None => {}
        Overlay::Help => panes::help::render(state, view, overlay_area(body, 72, 30), buf),
        Overlay::Detail => panes::detail::render(state, view, overlay_area(body, 110, 40), buf),
    }
}

/// Health on top, sized to its rows; events below. Only the focused pane when
/// the two do not fit.
fn split_body(state: &State, body: Rect) -> (Option<Rect>, Option<Rect>) {
    let rows = state.env_ids().count() as u16;
    let wanted = rows.saturating_add(3); // borders and the column header
    const MIN_EVENTS: u16 = 4;
    if body.height >= wanted.min(body.height * 3 / 5).max(4) + MIN_EVENTS {
        let health_h = wanted.min(body.height * 3 / 5).max(4);
        let [h, e] =
            Layout::vertical([Constraint::Length(health_h), Constraint::Fill(1)]).areas(body);
        (Some(h), Some(e))
    } else {
        match state.ui.focus {
            Pane::Health => (Some(body), None),
            Pane::Events => (None, Some(body)),
        }
    }
}

/// A centred rectangle of at most `w`×`h` inside `area`, keeping a margin.
fn overlay_area(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2)).max(area.width.min(20));
    let h = h.min(area.height).max(area.height.min(5));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
