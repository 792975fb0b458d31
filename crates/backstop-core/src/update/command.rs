//! The `:` command line and the `/` filter: lines typed, then run. A command
//! selects what it names and presses the action's key, so it goes through
//! the same refusals, previews and questions as the key.

use crate::action::Action;
use crate::command::{self, Command, Names};
use crate::events::Level;
use crate::filter;
use crate::model::{InputPurpose, Overlay, Pane, State};
use crate::msg::{Effect, TextKey};
use crate::time::Ts;

use super::actions;
use super::line::{filterable, set_filter};

/// The longest command or filter, in characters.
const MAX_LINE: usize = 200;

/// What a command may name, from the state.
pub fn names(state: &State) -> Names {
    Names {
        services: state
            .services
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.envs.iter().map(|e| e.name.clone()).collect(),
                )
            })
            .collect(),
        contexts: state.contexts.clone(),
    }
}

/// A key in the command line or a filter.
pub(super) fn on_text(state: &mut State, key: TextKey, at: Ts) -> Vec<Effect> {
    let Some(input) = state.ui.input.as_mut() else {
        return Vec::new();
    };
    let purpose = input.purpose.clone();
    match key {
        TextKey::Char(c) if !c.is_control() && input.text.chars().count() < MAX_LINE => {
            input.text.push(c)
        }
        TextKey::Paste(text) => {
            let room = MAX_LINE.saturating_sub(input.text.chars().count());
            input.text.extend(
                text.chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(room),
            );
        }
        TextKey::Backspace => {
            input.text.pop();
        }
        TextKey::Complete if purpose == InputPurpose::Command => {
            let line = input.text.clone();
            let names = names(state);
            if let Some(input) = state.ui.input.as_mut() {
                input.text = command::complete(&line, &names);
            }
        }
        TextKey::Older | TextKey::Newer if purpose == InputPurpose::Command => {
            recall(state, key == TextKey::Older)
        }
        TextKey::Cancel => {
            state.ui.input = None;
            // Esc in a filter clears it: the habit of k9s and less.
            if let InputPurpose::Filter { pane } = purpose {
                state.ui.set_filter(pane, "");
            }
            return Vec::new();
        }
        TextKey::Submit => {
            let text = input.text.trim().to_string();
            state.ui.input = None;
            return match purpose {
                InputPurpose::Command => run_line(state, &text, at),
                InputPurpose::Filter { pane } => {
                    set_filter(state, pane, &text);
                    Vec::new()
                }
                _ => Vec::new(),
            };
        }
        _ => {}
    }
    // A filter applies as it is typed.
    if let (InputPurpose::Filter { pane }, Some(input)) = (purpose, state.ui.input.as_ref()) {
        let text = input.text.clone();
        set_filter(state, pane, &text);
    }
    Vec::new()
}

/// ↑ / ↓ through the lines run before.
fn recall(state: &mut State, older: bool) {
    let n = state.ui.history.len();
    if n == 0 {
        return;
    }
    let next = match (state.ui.recall, older) {
        (None, true) => Some(n - 1),
        (None, false) => None,
        (Some(i), true) => Some(i.saturating_sub(1)),
        (Some(i), false) if i + 1 < n => Some(i + 1),
        (Some(_), false) => None,
    };
    state.ui.recall = next;
    let text = next
        .and_then(|i| state.ui.history.get(i).cloned())
        .unwrap_or_default();
    if let Some(input) = state.ui.input.as_mut() {
        input.text = text;
    }
}

/// Run a typed command line; a mistake is said in the event log.
fn run_line(state: &mut State, line: &str, at: Ts) -> Vec<Effect> {
    if line.is_empty() {
        return Vec::new();
    }
    if state.ui.history.last().map(String::as_str) != Some(line) {
        state.ui.history.push(line.to_string());
        if state.ui.history.len() > command::HISTORY {
            state.ui.history.remove(0);
        }
    }
    state.ui.recall = None;
    match command::parse(line, &names(state)) {
        Ok(cmd) => run(state, cmd, at),
        Err(why) => {
            state
                .events
                .push(at, "backstop", Level::Warn, format!(":{line}: {why}"));
            Vec::new()
        }
    }
}

fn run(state: &mut State, cmd: Command, at: Ts) -> Vec<Effect> {
    match cmd {
        Command::Action {
            action,
            service,
            env,
        } => {
            if let Some(service) = service {
                select(state, &service, env.as_deref());
            }
            // The command is the key: modal views see it as they would the key.
            actions::on_action(state, action, at)
        }
        Command::Weights {
            service,
            env,
            percent,
        } => {
            select(state, &service, Some(&env));
            let mut fx = actions::on_action(state, Action::SetWeights, at);
            if state.ui.overlay == Overlay::Weights
                && let Some(editor) = state.ui.editor.as_mut()
            {
                editor.set_selected(percent);
                // The dialog's Enter: the provider's preview; `y` applies it.
                fx.extend(actions::on_action(state, Action::OpenDetail, at));
            }
            fx
        }
        Command::Context(name) => {
            if let Some(why) = stays(state, &name) {
                state.events.push(at, "backstop", Level::Warn, why);
            } else {
                state.switch_context = Some(name);
            }
            Vec::new()
        }
        Command::Type { kind, service } => {
            let i = match service {
                Some(name) => state.services.iter().position(|s| s.name == name),
                None => super::checklist::focused_checklist(state),
            };
            let result = match i {
                None => Err("no rollback checklist is open".to_string()),
                Some(i) => super::may_act(state, i).and_then(|()| {
                    let by = state.operator.clone();
                    super::checklist::retype(state, i, kind, &by, at).map_err(|e| e.to_string())
                }),
            };
            result.unwrap_or_else(|why| {
                state
                    .events
                    .push(at, "backstop", Level::Warn, format!(":type {kind}: {why}"));
                Vec::new()
            })
        }
        Command::Severity { level, reason } => super::comms::declare(state, level, &reason, at)
            .unwrap_or_else(|why| {
                state
                    .events
                    .push(at, "backstop", Level::Warn, format!(":sev {level}: {why}"));
                Vec::new()
            }),
        Command::Role(asked) => {
            let word = asked.as_ref().map_or("", |(r, _)| r.word());
            super::roles::command(state, asked, at).unwrap_or_else(|why| {
                state
                    .events
                    .push(at, "backstop", Level::Warn, format!(":role {word}: {why}"));
                Vec::new()
            })
        }
        Command::Page(reason) => super::escalation::on_key(state, &reason, at),
        Command::Note(text) => super::roles::note(state, text, at).unwrap_or_else(|why| {
            state
                .events
                .push(at, "backstop", Level::Warn, format!(":note: {why}"));
            Vec::new()
        }),
        Command::Filter(text) => {
            let pane = state.ui.focus;
            if filterable(pane) {
                set_filter(state, pane, &text);
            }
            Vec::new()
        }
    }
}

/// Why the console may not leave this context now: the sources of the old
/// one stop at a switch, so a change on its way or a rollback still open
/// would be left behind unwatched.
fn stays(state: &State, name: &str) -> Option<String> {
    if state.context.as_ref().is_some_and(|c| c.name == name) {
        return Some(format!("already in context {name}"));
    }
    for (i, svc) in state.services.iter().enumerate() {
        if let Some(what) = super::change_on_its_way(state, i) {
            return Some(format!(
                "{what} is on its way: wait for its outcome, then switch to {name}"
            ));
        }
        if svc
            .rollback
            .checklist
            .as_ref()
            .is_some_and(|c| c.ended.is_none())
        {
            return Some(format!(
                "the rollback of {} is open here: finish or abandon it (X) before switching to {name}",
                svc.name
            ));
        }
    }
    None
}

/// Select `service`'s `env`, as `j`/`k` would; the detail and dialogs follow
/// the selection. Without an environment: the one its decision names as the
/// suspect (`:rollback web` rolls back what is failing), else the selection
/// if it is on that service already, else its first.
fn select(state: &mut State, service: &str, env: Option<&str>) {
    let here = state.selected_env();
    let Some(s) = state.services.iter().position(|x| x.name == service) else {
        return;
    };
    let suspect = match &state.services[s].rollback.decision {
        crate::decision::Decision::RollbackRecommended { suspect, .. } => Some(*suspect),
        _ => None,
    };
    let want = match env {
        Some(e) => state.services[s].envs.iter().position(|x| x.name == e),
        None => suspect
            .or(here.filter(|h| h.service == s).map(|h| h.env))
            .or(Some(0)),
    };
    let target = state
        .env_ids()
        .position(|id| id.service == s && Some(id.env) == want);
    if let Some(i) = target {
        state.ui.selected = i;
        // A filter hiding it would hide what the command acts on.
        if let Some(id) = state.selected_env()
            && !filter::env_shown(state, id)
        {
            state.ui.set_filter(Pane::Health, "");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::testkit::*;
    use crate::action::Action;
    use crate::decision::Policy;
    use crate::events::Level;
    use crate::health::HealthStatus;
    use crate::model::{Overlay, Pane, State};
    use crate::msg::{Effect, Msg, TextKey};
    use crate::time::Ts;

    fn typed(s: &mut State, opener: Action, line: &str) -> Vec<Effect> {
        update(s, Msg::Action(opener, Ts(100)));
        for c in line.chars() {
            update(s, Msg::Text(TextKey::Char(c), Ts(100)));
        }
        update(s, Msg::Text(TextKey::Submit, Ts(100)))
    }

    #[test]
    fn a_command_goes_through_the_keys_question() {
        let mut s = state(Policy::default());
        assert!(typed(&mut s, Action::CommandLine, "fault web green").is_empty());
        assert_eq!(s.ui.selected, 1, "the command selected web/green");
        let q = s.ui.armed.as_ref().expect("asked, as the key asks");
        assert_eq!(q.question, "Inject \"503 critical\" into web/green?");
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(900)));
        assert!(
            matches!(&fx[..], [Effect::SetFault { env, .. }] if env == "green"),
            "{fx:?}"
        );
    }

    #[test]
    fn weights_open_the_dialog_set_and_ask_the_preview() {
        let mut s = state(Policy::default());
        let fx = typed(&mut s, Action::CommandLine, "weights web green 0");
        assert_eq!(s.ui.overlay, Overlay::Weights);
        let Some(Effect::PreviewWeights { to, .. }) = fx.first() else {
            panic!("{fx:?}")
        };
        assert_eq!(to.percents(), vec![100, 0]);
        // Nothing changes before the second key.
        assert!(!fx.iter().any(|e| matches!(e, Effect::SetWeights { .. })));
    }

    #[test]
    fn rollback_by_name_opens_the_checklist() {
        let mut s = state(Policy::default());
        probe(&mut s, 0, 1000, HealthStatus::Ok);
        for t in [1000, 3000, 5000] {
            probe(&mut s, 1, t, HealthStatus::Critical);
        }
        // Blue is selected; `:rollback web` names the service, and the
        // decision says which environment is failing.
        assert_eq!(s.ui.selected, 0);
        let fx = typed(&mut s, Action::CommandLine, "rollback web");
        let said: Vec<_> = s.events.iter().map(|e| e.text.clone()).collect();
        assert!(
            s.services[0].rollback.checklist.is_some(),
            "{fx:?} {said:?}"
        );
        assert_eq!(s.ui.focus, Pane::Checklist);
        assert_eq!(
            s.services[0].rollback.checklist.as_ref().unwrap().suspect,
            1
        );
    }

    #[test]
    fn mistakes_are_said_and_history_recalls_lines() {
        let mut s = state(Policy::default());
        typed(&mut s, Action::CommandLine, "rolback");
        let last = s.events.last().unwrap();
        assert_eq!(last.level, Level::Warn);
        assert!(
            last.text.starts_with(":rolback: unknown command"),
            "{}",
            last.text
        );
        typed(&mut s, Action::CommandLine, "why");
        assert_eq!(s.ui.overlay, Overlay::Why);
        update(&mut s, Msg::Action(Action::Back, Ts(1)));
        update(&mut s, Msg::Action(Action::CommandLine, Ts(1)));
        update(&mut s, Msg::Text(TextKey::Older, Ts(1)));
        assert_eq!(s.ui.input.as_ref().unwrap().text, "why");
        update(&mut s, Msg::Text(TextKey::Older, Ts(1)));
        assert_eq!(s.ui.input.as_ref().unwrap().text, "rolback");
        update(&mut s, Msg::Text(TextKey::Newer, Ts(1)));
        update(&mut s, Msg::Text(TextKey::Newer, Ts(1)));
        assert_eq!(s.ui.input.as_ref().unwrap().text, "");
        for c in "rep".chars() {
            update(&mut s, Msg::Text(TextKey::Char(c), Ts(1)));
        }
        update(&mut s, Msg::Text(TextKey::Complete, Ts(1)));
        assert_eq!(s.ui.input.as_ref().unwrap().text, "report ");
    }

    #[test]
    fn a_context_switch_waits_for_an_open_rollback() {
        let mut s = state(Policy::default());
        s.contexts = vec!["prod".into(), "staging".into()];
        s.context = Some(crate::model::ContextView {
            name: "staging".into(),
            production: false,
            color: None,
        });
        typed(&mut s, Action::CommandLine, "context staging");
        assert_eq!(s.switch_context, None);
        assert!(
            s.events
                .last()
                .unwrap()
                .text
                .contains("already in context staging")
        );
        probe(&mut s, 0, 1000, HealthStatus::Ok);
        typed(&mut s, Action::CommandLine, "rollback web green");
        assert!(s.services[0].rollback.checklist.is_some());
        typed(&mut s, Action::CommandLine, "context prod");
        assert_eq!(s.switch_context, None, "not away from an open rollback");
        assert!(
            s.events
                .last()
                .unwrap()
                .text
                .contains("finish or abandon it"),
            "{}",
            s.events.last().unwrap().text
        );
        // Abandoned: the switch goes ahead.
        s.services[0].rollback.checklist = None;
        typed(&mut s, Action::CommandLine, "context prod");
        assert_eq!(s.switch_context.as_deref(), Some("prod"));
    }

    #[test]
    fn no_key_acts_while_the_command_line_is_open() {
        let mut s = state(Policy::default());
        update(&mut s, Msg::Action(Action::CommandLine, Ts(1)));
        assert!(update(&mut s, Msg::Action(Action::InjectFault, Ts(1))).is_empty());
        assert!(update(&mut s, Msg::Action(Action::StartRollback, Ts(1))).is_empty());
        assert!(s.services[0].rollback.checklist.is_none());
        update(&mut s, Msg::Text(TextKey::Cancel, Ts(1)));
        assert!(s.ui.input.is_none());
    }

    #[test]
    fn a_filter_hides_rows_the_selection_skips_them_and_esc_clears_it() {
        let mut s = state(Policy::default());
        probe(&mut s, 0, 1000, HealthStatus::Ok);
        probe(&mut s, 1, 1000, HealthStatus::Critical);
        typed(&mut s, Action::Filter, "crit");
        assert_eq!(s.ui.filter(Pane::Health), Some("crit"));
        assert_eq!(s.ui.selected, 1, "on the one row shown");
        update(&mut s, Msg::Action(Action::SelectPrev, Ts(2)));
        assert_eq!(s.ui.selected, 1, "blue is hidden: nothing above");
        update(&mut s, Msg::Action(Action::Back, Ts(2)));
        assert_eq!(s.ui.filter(Pane::Health), None);
        update(&mut s, Msg::Action(Action::SelectPrev, Ts(2)));
        assert_eq!(s.ui.selected, 0);
        // Esc while typing clears it too.
        update(&mut s, Msg::Action(Action::Filter, Ts(3)));
        update(&mut s, Msg::Text(TextKey::Char('b'), Ts(3)));
        assert_eq!(s.ui.filter(Pane::Health), Some("b"), "applied as typed");
        update(&mut s, Msg::Text(TextKey::Cancel, Ts(3)));
        assert_eq!(s.ui.filter(Pane::Health), None);
    }

    #[test]
    fn n_and_shift_n_walk_the_event_logs_matches() {
        let mut s = state(Policy::default());
        for i in 0..10 {
            let text = if i % 3 == 0 {
                format!("needle {i}")
            } else {
                format!("hay {i}")
            };
            s.events.push(Ts(i), "web", Level::Info, text);
        }
        while s.ui.focus != Pane::Events {
            update(&mut s, Msg::Action(Action::NextPane, Ts(20)));
        }
        typed(&mut s, Action::Filter, "needle");
        let bottom = |s: &State| {
            let n = s.events.len();
            s.events
                .iter()
                .nth(n - 1 - s.ui.events_scroll)
                .unwrap()
                .text
                .clone()
        };
        assert_eq!(bottom(&s), "needle 9");
        update(&mut s, Msg::Action(Action::NextMatch, Ts(21)));
        assert_eq!(bottom(&s), "needle 6");
        update(&mut s, Msg::Action(Action::NextMatch, Ts(21)));
        assert_eq!(bottom(&s), "needle 3");
        update(&mut s, Msg::Action(Action::PrevMatch, Ts(21)));
        assert_eq!(bottom(&s), "needle 6");
    }
}
