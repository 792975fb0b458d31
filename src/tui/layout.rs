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
//! Smaller terminals (80×24 is the one most people open) give each part the
//! rows its content needs and the event log what is left. The first screen
//! shows health with each environment's share of traffic and its firing
//! rule, the selected service's decision and the rules that are not at
//! rest, and the events:
//!
//! ```text
//!  backstop ─ drill   DRILL sandbox: nothing real is touched       14:02 UTC
//! ┏ Health ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
//! ┃  SERVICE ENV   VERSION STATUS TRAFFIC LATENCY TREND     FAILS SINCE   ┃
//! ┃› web     blue  v1.0.0  OK        90 %     2ms ▁▁▁▁▁▁        0 12m     ┃
//! ┃          green v1.0.1  OK        10 %     2ms ▁▁▁▁▁▁        0 12m     ┃
//! ┗━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┛
//! ┌ Rules & alarms · web ─────────────────────────────────────────────────┐
//! │ HEALTHY   mode advise · all 8 rules OK                                 │
//! └───────────────────────────────────────────────────────────────────────┘
//! ┌ Events ───────────────────────────────────────────────────────────────┐
//! ```
//!
//! `Tab` shows any other pane over the events. The checklist, the why view
//! and the people view keep the selected service's environments in one line
//! at the top (`strip`). The focused pane has the heavy border. Help, the
//! detail view and the weights dialog are drawn over the panes.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Widget};

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

    for (part, rect) in pane_areas(state, body) {
        match part {
            Part::Pane(Pane::Health) => panes::health::render(state, view, rect, buf),
            Part::Pane(Pane::Traffic) => panes::traffic::render(state, view, rect, buf),
            Part::Pane(Pane::Alarms) => panes::alarms::render(state, view, rect, buf),
            Part::Pane(Pane::Decision) => panes::decision::render(state, view, rect, buf),
            Part::Pane(Pane::Metrics) => panes::metrics::render(state, view, rect, buf),
            Part::Pane(Pane::Deployments) => panes::deployments::render(state, view, rect, buf),
            Part::Pane(Pane::Events) => panes::events::render(state, view, rect, buf),
            Part::Pane(Pane::Checklist) => panes::checklist::render(state, view, rect, buf),
            Part::Summary => panes::summary::render(state, view, rect, buf),
            Part::Strip => panes::strip::render(state, view, rect, buf),
        }
    }
    // The why and people views keep the selected service's line on top of
    // a small screen: the evidence beside the world it is about.
    let body = if !is_grid(body) && matches!(state.ui.overlay, Overlay::Why | Overlay::People) {
        let [strip, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(body);
        Clear.render(strip, buf);
        panes::strip::render(state, view, strip, buf);
        rest
    } else {
        body
    };

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

/// What goes into a rectangle of the body: a pane, or one of the small
/// screen's two parts that are not panes (no focus, no keys of their own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Pane(Pane),
    /// The selected service's decision and rules (`panes::summary`).
    Summary,
    /// The selected service's environments in one line (`panes::strip`).
    Strip,
}

/// Whether every pane fits at once.
fn is_grid(body: Rect) -> bool {
    body.width >= GRID_WIDTH && body.height >= GRID_HEIGHT - 2
}

/// Event lines a small screen keeps, when it can (and their frame).
const EVENTS_MIN: u16 = 5 + 2;

/// Where each visible part goes.
pub fn pane_areas(state: &State, body: Rect) -> Vec<(Part, Rect)> {
    let envs = state.env_ids().count() as u16;
    if is_grid(body) {
        return grid(state, body, envs);
    }
    match state.ui.focus {
        Pane::Health => overview(state, body, envs),
        Pane::Checklist => checklist(state, body),
        focus => single(state, body, focus),
    }
}

/// The first screen: health (with traffic and what fires), the selected
/// service's decision and rules, then the events — each by the rows it
/// needs, the events taking the rest.
fn overview(state: &State, body: Rect, envs: u16) -> Vec<(Part, Rect)> {
    let health_need = envs.saturating_add(3);
    let summary_need = panes::summary::height(state);
    let events_min = if body.height >= 4 + 3 + EVENTS_MIN {
        EVENTS_MIN
    } else {
        0
    };
    let room = body.height.saturating_sub(events_min);
    // Health first, but never all of it: the decision line and at least
    // half the summary's rules stay on screen.
    let health = health_need
        .min(room.saturating_sub(summary_need.min(room / 2).max(3)))
        .max(4)
        .min(body.height);
    let summary = summary_need.min(room.saturating_sub(health));
    let [h, s, e] = Layout::vertical([
        Constraint::Length(health),
        Constraint::Length(summary),
        Constraint::Fill(1),
    ])
    .areas(body);
    let mut out = vec![(Part::Pane(Pane::Health), h)];
    if s.height > 0 {
        out.push((Part::Summary, s));
    }
    if e.height >= 3 {
        out.push((Part::Pane(Pane::Events), e));
    }
    out
}

/// A rollback on a small screen: the selected service's line on top, the
/// checklist (what the operator works through) most of the rest, and a
/// few events under it when there is room.
fn checklist(state: &State, body: Rect) -> Vec<(Part, Rect)> {
    let strip = u16::from(body.height >= 10);
    let events = if body.height >= 20 { 4 } else { 0 };
    let wanted = panes::checklist::height(state);
    let [s, c, e] = Layout::vertical([
        Constraint::Length(strip),
        Constraint::Min(wanted.min(body.height.saturating_sub(strip + events))),
        Constraint::Length(events),
    ])
    .areas(body);
    let mut out = Vec::new();
    if s.height > 0 {
        out.push((Part::Strip, s));
    }
    out.push((Part::Pane(Pane::Checklist), c));
    if e.height > 0 {
        out.push((Part::Pane(Pane::Events), e));
    }
    out
}

/// Another pane, chosen with `Tab`: sized to its content, the event log
/// under it when both fit.
fn single(state: &State, body: Rect, focus: Pane) -> Vec<(Part, Rect)> {
    let envs = state.env_ids().count() as u16;
    let wanted = match focus {
        Pane::Health | Pane::Metrics => envs.saturating_add(3),
        Pane::Traffic => panes::traffic::height(state),
        Pane::Alarms => panes::alarms::height(state),
        Pane::Decision => panes::decision::height(state),
        Pane::Deployments => panes::deployments::height(state),
        Pane::Events | Pane::Checklist => body.height,
    };
    let height = wanted.min(body.height * 3 / 5).max(4);
    if focus != Pane::Events && body.height >= height + 4 {
        let [top, events] =
            Layout::vertical([Constraint::Length(height), Constraint::Fill(1)]).areas(body);
        return vec![(Part::Pane(focus), top), (Part::Pane(Pane::Events), events)];
    }
    vec![(Part::Pane(focus), body)]
}

fn grid(state: &State, body: Rect, envs: u16) -> Vec<(Part, Rect)> {
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
    [
        (Pane::Health, health),
        (Pane::Traffic, traffic),
        (Pane::Alarms, alarms),
        (Pane::Decision, decision),
        (Pane::Metrics, metrics),
        (Pane::Deployments, deployments),
        (Pane::Events, events),
    ]
    .map(|(p, r)| (Part::Pane(p), r))
    .to_vec()
}

/// While a rollback runs, the checklist takes the middle of the screen; the
/// live panes stay beside it: health and traffic above, the decision and one
/// more pane (metrics, or the alarms or deployments when focused) to its right.
fn grid_with_checklist(state: &State, body: Rect, envs: u16) -> Vec<(Part, Rect)> {
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
    [
        (Pane::Health, health),
        (Pane::Traffic, traffic),
        (Pane::Checklist, checklist),
        (Pane::Decision, decision),
        (other_pane, other),
        (Pane::Events, events_r),
    ]
    .map(|(p, r)| (Part::Pane(p), r))
    .to_vec()
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
