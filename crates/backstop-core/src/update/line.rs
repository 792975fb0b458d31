//! Opening the `:` command line and the `/` filter, and what a filter does
//! to the view (the selection kept on a row it shows, `n`/`N` through the
//! event log). Apart from running a command, which acts through the keys'
//! own handler.

use crate::events::Level;
use crate::filter;
use crate::model::{InputPurpose, Pane, State, TextInput};
use crate::time::Ts;

pub(super) fn open_command_line(state: &mut State) {
    state.ui.recall = None;
    state.ui.input = Some(TextInput {
        purpose: InputPurpose::Command,
        prompt: ":".into(),
        text: String::new(),
    });
}

/// The panes a `/` filters, and what it filters there.
pub fn filterable(pane: Pane) -> bool {
    !matches!(pane, Pane::Checklist)
}

pub(super) fn open_filter(state: &mut State, at: Ts) {
    let pane = state.ui.focus;
    if !filterable(pane) {
        state.events.push(
            at,
            "backstop",
            Level::Info,
            format!("the {} has no list to filter", pane.title()),
        );
        return;
    }
    let text = state.ui.filter(pane).unwrap_or_default().to_string();
    state.ui.input = Some(TextInput {
        purpose: InputPurpose::Filter { pane },
        prompt: "/".into(),
        text,
    });
}

/// Set a pane's filter, and keep the selection on a row it shows.
pub(super) fn set_filter(state: &mut State, pane: Pane, text: &str) {
    state.ui.set_filter(pane, text);
    match pane {
        Pane::Health => {
            let ids: Vec<_> = state.env_ids().collect();
            let here = ids.get(state.ui.selected).copied();
            if here.is_some_and(|id| !filter::env_shown(state, id))
                && let Some(i) = ids.iter().position(|id| filter::env_shown(state, *id))
            {
                state.ui.selected = i;
            }
        }
        // The newest match in view, at the bottom of the log.
        Pane::Events => {
            state.ui.events_scroll = filter::event_matches_all(state)
                .last()
                .map_or(0, |i| state.events.len() - 1 - i);
        }
        _ => {}
    }
}

/// `n` / `N` in the event log: the next older / newer matching line moves
/// to the bottom of the view.
pub(super) fn jump(state: &mut State, older: bool, at: Ts) {
    let matches = filter::event_matches_all(state);
    if matches.is_empty() {
        let why = if state.ui.filter(Pane::Events).is_some() {
            "no event matches the filter"
        } else {
            "no filter on the event log: / sets one"
        };
        state.events.push(at, "backstop", Level::Info, why);
        return;
    }
    let len = state.events.len();
    let bottom = len - 1 - state.ui.events_scroll.min(len - 1);
    let target = if older {
        matches
            .iter()
            .rev()
            .find(|i| **i < bottom)
            .or(matches.last())
    } else {
        matches.iter().find(|i| **i > bottom).or(matches.first())
    };
    if let Some(i) = target {
        state.ui.events_scroll = len - 1 - i;
    }
}
