//! The selected service's environments in one line, without a frame: what
//! stays at the top of a small terminal while the checklist, the why view
//! or the people view fills the rest, so the operator confirming a switch
//! sees it land.
//!
//! ```text
//!  web  blue OK 90 % · green CRIT 10 % health-failures
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::core::events::Level;
use crate::core::model::{EnvId, State};
use crate::tui::View;

pub fn render(state: &State, view: &View<'_>, area: Rect, buf: &mut Buffer) {
    let Some((id, svc)) = state
        .selected_env()
        .and_then(|id| Some((id, state.services.get(id.service)?)))
    else {
        return;
    };
    let t = view.theme;
    let mut spans = vec![Span::styled(format!(" {}  ", svc.name), t.bold())];
    for (i, env) in svc.envs.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", t.dim()));
        }
        spans.push(Span::raw(format!("{} ", env.name)));
        spans.push(Span::styled(
            env.status.map_or("····", |s| s.badge()),
            t.status(env.status),
        ));
        if svc.traffic.is_some() {
            let share = svc
                .share(i)
                .map_or_else(|| "—".into(), |p| format!("{p} %"));
            spans.push(Span::raw(format!(" {share}")));
        }
        let firing = super::health::firing_rules(
            state,
            EnvId {
                service: id.service,
                env: i,
            },
        );
        if !firing.is_empty() {
            spans.push(Span::styled(format!(" {firing}"), t.level(Level::Bad)));
        }
    }
    Line::from(spans).render(area, buf);
}
