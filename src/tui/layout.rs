//! The root layout.
//!
//! Wide terminals (at least 120×30) show every pane:
//!
//! ```text
//!  backstop ─ drill   DRILL sandbox: nothing real is touched            14:02 UTC
//! ┏ Health ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓┌ Traffic ─────────────────────────────┐
//! ┃  SERVICE ENV   VERSION STATUS LATENCY  ┃│web  via sandbox router 127.0.0.1:4100│
//! ┃› web     blue  v1.0.0  OK       2ms    ┃│  blue  █████████░  90 %  45.0 r/s    │
//! ┃          green v1.0.1  CRIT     2ms    ┃│  green █░░░░░░░░░  10 %   5.0 r/s    │
//! ┗━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┛└──────────────────────────────────────┘
//! ┌ Metrics · 1m window ───────────────────┐┌ Deployments ─────────────────────────┐
//! │ ENV       SOURCE  REQ/S  ERR  P95 …    ││web  blue v1.0.0 LIVE 90 % · green …  │
//! └────────────────────────────────────────┘└──────────────────────────────────────┘
//! ┌ Events ──────────────────────────────────────────────────────────────────────┐
//! │ 14:01:51 web/green  OK → CRIT  health: HTTP 503 · status "critical"          │
//! └──────────────────────────────────────────────────────────────────────────────┘
//!  ↑↓ select  ⏎ detail  Tab pane  w weights  f fault  c heal  ? help  q quit
//! ```
//!
//! Narrower or shorter terminals show the focused pane alone (Tab walks the
//! panes); with Health focused, the event log sits below it when there is
//! room. The focused pane has the heavy border. Help, the detail view and the
//! weights dialog are drawn over the panes.

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
/// From this size on, every pane is on screen at once.
const GRID_WIDTH: u16 = 120;
const GRID_HEIGHT: u16 = 30;

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
    // A decision that needs eyes sits under the header, on every layout; it
    // gives way only on terminals too short for anything else.
    let banner_h = panes::banner::height(state).min(area.height.saturating_sub(8));
    let [header, banner, body, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_h),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    panes::header::render(state, view, header, buf);
    panes::banner::render(state, view, banner, buf);
    panes::keybar::render(state, view, keys, buf);

    for (pane, rect) in pane_areas(state, body) {
        match pane {
            Pane::Health => panes::health::render(state, view, rect, buf),
            Pane::Traffic => panes::traffic::render(state, view, rect, buf),
            Pane::Alarms => panes::alarms::render(state, view, rect, buf),
            Pane::Decision => panes::decision::render(state, view, rect, buf),
            Pane::Metrics => panes::metrics::render(state, view, rect, buf),
            Pane::Deployments => panes::deployments::render(state, view, rect, buf),
            Pane::Events => panes::events::render(state, view, rect, buf),
            Pane::Checklist => panes::checklist::render(state, view, rect, buf),
        }
    }

    match state.ui.overlay {
        Overlay::None => {}
        Overlay::Help => {
            let (w, h) = panes::help::size(body);
            panes::help::render(state, view, overlay_area(body, w, h), buf);
        }
        Overlay::Detail => panes::detail::render(state, view, overlay_area(body, 110, 40), buf),
        Overlay::Weights => panes::weights::render(
            state,
            view,
            overlay_area(body, 90, panes::weights::height(state)),
            buf,
        ),
        Overlay::Why => panes::why::render(state, view, overlay_area(body, 120, 40), buf),
        Overlay::People => panes::people::render(
            state,
            view,
            overlay_area(body, 100, panes::people::height(state)),
            buf,
        ),
        Overlay::Trend => panes::trend::render(
            state,
            view,
            overlay_area(body, 110, panes::trend::height(state)),
            buf,
        ),
        Overlay::DrillScore => panes::score::render(
            state,
            view,
            overlay_area(body, 90, panes::score::height(state)),
            buf,
        ),
        Overlay::Interrupted => panes::interrupted::render(
            state,
            view,
            overlay_area(body, 110, panes::interrupted::height(state)),
            buf,
        ),
    }
}

/// Where each visible pane goes.
pub fn pane_areas(state: &State, body: Rect) -> Vec<(Pane, Rect)> {
    let envs = state.env_ids().count() as u16;
    if body.width >= GRID_WIDTH && body.height >= GRID_HEIGHT - 2 {
        return grid(state, body, envs);
    }
    // One pane, sized to its content, with the event log under it when both fit.
    let focus = state.ui.focus;
    let wanted = match focus {
        Pane::Health | Pane::Metrics => envs.saturating_add(3),
        Pane::Traffic => panes::traffic::height(state),
        Pane::Alarms => panes::alarms::height(state),
        Pane::Decision => panes::decision::height(state),
        Pane::Deployments => panes::deployments::height(state),
        Pane::Events => body.height,
        // The checklist is what the operator works through: most of the screen.
        Pane::Checklist => panes::checklist::height(state).min(body.height.saturating_sub(4)),
    };
    let cap = if focus == Pane::Checklist {
        body.height.saturating_sub(4)
    } else {
        body.height * 3 / 5
    };
    let height = wanted.min(cap).max(4);
    if focus != Pane::Events && body.height >= height + 4 {
        let [top, events] =
            Layout::vertical([Constraint::Length(height), Constraint::Fill(1)]).areas(body);
        return vec![(focus, top), (Pane::Events, events)];
    }
    vec![(focus, body)]
}

fn grid(state: &State, body: Rect, envs: u16) -> Vec<(Pane, Rect)> {
    if state.has_checklist() {
        return grid_with_checklist(state, body, envs);
    }
    let top = (envs + 3)
        .max(panes::traffic::height(state))
        .clamp(5, body.height * 3 / 10);
    let rules = panes::alarms::height(state)
        .max(panes::decision::height(state))
        .clamp(4, body.height / 4);
    let lower = (envs + 3)
        .max(panes::deployments::height(state))
        .clamp(4, body.height / 5);
    let [top_r, rules_r, lower_r, events] = Layout::vertical([
        Constraint::Length(top),
        Constraint::Length(rules),
        Constraint::Length(lower),
        Constraint::Fill(1),
    ])
    .areas(body);
    let split = |r: Rect| -> [Rect; 2] {
        Layout::horizontal([Constraint::Percentage(58), Constraint::Fill(1)]).areas(r)
    };
    let [health, traffic] = split(top_r);
    let [alarms, decision] = split(rules_r);
    let [metrics, deployments] = split(lower_r);
    vec![
        (Pane::Health, health),
        (Pane::Traffic, traffic),
        (Pane::Alarms, alarms),
        (Pane::Decision, decision),
        (Pane::Metrics, metrics),
        (Pane::Deployments, deployments),
        (Pane::Events, events),
    ]
}

/// While a rollback runs, the checklist takes the middle of the screen; the
/// live panes stay beside it: health and traffic above, the decision and one
/// more pane (metrics, or the alarms or deployments when focused) to its right.
fn grid_with_checklist(state: &State, body: Rect, envs: u16) -> Vec<(Pane, Rect)> {
    let top = (envs + 3)
        .max(panes::traffic::height(state))
        .clamp(5, body.height / 4);
    let events = (body.height / 6).max(4);
    let [top_r, middle, events_r] = Layout::vertical([
        Constraint::Length(top),
        Constraint::Fill(1),
        Constraint::Length(events),
    ])
    .areas(body);
    let split = |r: Rect| -> [Rect; 2] {
        Layout::horizontal([Constraint::Percentage(58), Constraint::Fill(1)]).areas(r)
    };
    let [health, traffic] = split(top_r);
    let [checklist, side] = split(middle);
    let decision_h = panes::decision::height(state).clamp(4, side.height / 2);
    let [decision, other] =
        Layout::vertical([Constraint::Length(decision_h), Constraint::Fill(1)]).areas(side);
    let other_pane = match state.ui.focus {
        p @ (Pane::Alarms | Pane::Deployments) => p,
        _ => Pane::Metrics,
    };
    vec![
        (Pane::Health, health),
        (Pane::Traffic, traffic),
        (Pane::Checklist, checklist),
        (Pane::Decision, decision),
        (other_pane, other),
        (Pane::Events, events_r),
    ]
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
