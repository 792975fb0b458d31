//! One-key changes wait for a second key. `f`, `c`, `a` and `H` are letters
//! that occur in any sentence: typed into the console by a person who thinks
//! a prompt is open, they used to inject a fault, heal, approve a change or
//! give the service away. Now such a key only asks; the confirm key (`y`)
//! does it, and any other key cancels it (and does nothing else).

use std::time::Duration;

use crate::action::Action;
use crate::events::Level;
use crate::model::{Armed, Fault, FaultAsked, Overlay, Pane, State};
use crate::msg::Effect;
use crate::time::Ts;

/// A question left unanswered this long is not answered by a late `y`.
pub const ARMED_FOR: Duration = Duration::from_secs(15);

/// A `y` sooner than this after its question was not an answer to it: a
/// person reads a question before answering it, and a word typed at the
/// keys ("okay", "say") brings its `y` within a tenth of a second of its
/// `a`. The question is cancelled, and says so.
pub const ARMED_READ: Duration = Duration::from_millis(300);

/// Whether a `y` at `at` is typing rather than an answer: it came within
/// [`ARMED_READ`] of the key before it, and that key did not put the question
/// (⏎ opens a preview, arrows choose in it) or answer one (a `y` pressed
/// again because the first came too early). A word typed at a checklist's
/// preview ("okay") would otherwise confirm the step with its last letter.
pub(super) fn is_typing(before: Option<(Action, Ts)>, at: Ts) -> bool {
    before.is_some_and(|(key, when)| {
        at.since(when) < ARMED_READ
            && !matches!(
                key,
                Action::OpenDetail | Action::Increase | Action::Decrease | Action::Confirm
            )
    })
}

/// The keys that change the world (or the war room) in one press.
pub fn needs_second_key(action: Action) -> bool {
    matches!(
        action,
        Action::InjectFault
            | Action::ClearFaults
            | Action::Approve
            | Action::HandOver
            | Action::Escalate
    )
}

/// A key pressed while a question is open: confirm it, cycle the fault it
/// offers, or cancel it. `None` when nothing is armed.
pub(super) fn answer(state: &mut State, action: Action, at: Ts) -> Option<Vec<Effect>> {
    let armed = state.ui.armed.take()?;
    let scope = state.env_label(armed.env);
    if action == Action::InjectFault && armed.action == Action::InjectFault {
        // `f` again: the next fault in the cycle, still only asked.
        let fault = Fault::after(armed.fault);
        state.ui.armed = Some(Armed {
            fault: Some(fault),
            question: fault_question(&scope, Some(fault)),
            at,
            ..armed
        });
        return Some(Vec::new());
    }
    if action != Action::Confirm {
        state.events.push(
            at,
            scope,
            Level::Info,
            format!("{} cancelled: nothing changed", armed.action),
        );
        return Some(Vec::new());
    }
    if at.since(armed.at) < ARMED_READ {
        state.events.push(
            at,
            scope,
            Level::Info,
            format!(
                "{} not done: its y came before the question could be read (typing?); press its key again",
                armed.action
            ),
        );
        return Some(Vec::new());
    }
    if at.since(armed.at) > ARMED_FOR {
        state.events.push(
            at,
            scope,
            Level::Info,
            format!(
                "{} not done: its question waited more than {} s; press its key again",
                armed.action,
                ARMED_FOR.as_secs()
            ),
        );
        return Some(Vec::new());
    }
    if let Some((name, why)) = refused_target(state, armed.action) {
        state.events.push(at, name, Level::Info, why);
        return Some(Vec::new());
    }
    // The selection cannot have moved (any key would have cancelled), but
    // the key acts on the environment it was asked about, whatever happens.
    let index = state.env_ids().position(|id| id == armed.env);
    if let Some(i) = index {
        state.ui.selected = i;
    }
    Some(match armed.action {
        Action::InjectFault | Action::ClearFaults => set_fault(state, &armed),
        Action::Escalate => super::escalation::on_key(state, "", at),
        other => super::room::on_action(state, other, at),
    })
}

/// Ask first, if the key would change anything: it runs on a copy, and only
/// a key that would emit an effect is held back. A key that would only say
/// why it cannot act says so at once.
pub(super) fn arm(state: &mut State, action: Action, at: Ts) -> Option<()> {
    let id = state.selected_env()?;
    let mut trial = state.clone();
    let fx = match action {
        Action::InjectFault | Action::ClearFaults => fault_effect(&mut trial, action, at),
        Action::Escalate => super::escalation::on_key(&mut trial, "", at),
        _ => super::room::on_action(&mut trial, action, at),
    };
    if fx.is_empty() {
        return None;
    }
    let scope = state.env_label(id);
    let (fault, question) = match action {
        Action::InjectFault => {
            let current = state
                .env(id)
                .and_then(|e| e.fault_asked.map_or(e.fault, FaultAsked::fault));
            let fault = Fault::after(current);
            (Some(fault), fault_question(&scope, Some(fault)))
        }
        Action::ClearFaults => (None, fault_question(&scope, None)),
        Action::Approve => (None, approve_question(state, &fx)),
        Action::Escalate => (None, super::escalation::question(state, &fx)),
        _ => (None, handover_question(&fx)),
    };
    state.ui.armed = Some(Armed {
        action,
        env: id,
        fault,
        question,
        at,
    });
    Some(())
}

fn fault_question(scope: &str, fault: Option<Fault>) -> String {
    match fault {
        Some(f) => format!("Inject \"{}\" into {scope}?", f.label()),
        None => format!("Heal {scope} (clear its faults)?"),
    }
}

/// `Approve "Switch traffic from green to blue" that alice asks for on
/// web?`: the person and the change, never a session's id.
fn approve_question(state: &State, fx: &[Effect]) -> String {
    let Some(Effect::Approval {
        service, driver, ..
    }) = fx.first()
    else {
        return "Approve the change?".into();
    };
    let followed = state
        .services
        .iter()
        .find(|s| &s.name == service)
        .and_then(|s| s.rollback.followed.as_ref())
        .filter(|f| &f.session == driver);
    let who = followed.map_or("its driver", |f| crate::update::room::short(&f.operator));
    match followed.and_then(|f| f.checklist.current()) {
        Some(step) => format!(
            "Approve \"{}\" that {who} asks for on {service}?",
            step.title
        ),
        None => format!("Approve the change {who} asks for on {service}?"),
    }
}

fn handover_question(fx: &[Effect]) -> String {
    match fx.first() {
        Some(Effect::Lease { service, act }) => match act {
            crate::msg::LeaseAct::HandOver { operator, .. } => {
                format!("Hand {service} over to {operator}?")
            }
            _ => format!("Hand {service} over?"),
        },
        _ => "Hand the service over?".into(),
    }
}

/// The fault the question offered, exactly: not the one after whatever
/// the sandbox reported meanwhile.
fn set_fault(state: &mut State, armed: &Armed) -> Vec<Effect> {
    if !state.is_drill() {
        return Vec::new();
    }
    let service = state.services[armed.env.service].name.clone();
    let env = state.services[armed.env.service].envs[armed.env.env]
        .name
        .clone();
    let Some(e) = state.env_mut(armed.env) else {
        return Vec::new();
    };
    e.fault_asked = Some(FaultAsked::new(armed.fault));
    vec![Effect::SetFault {
        service,
        env,
        fault: armed.fault,
    }]
}

/// The service an acting key would act on and why it may not (see
/// `update::may_act`), whatever view it is pressed in.
pub(super) fn refused_target(state: &State, action: Action) -> Option<(String, String)> {
    let overlay = state.ui.overlay;
    let on_checklist = state.ui.focus == Pane::Checklist && overlay == Overlay::None;
    let service = match (overlay, action) {
        (Overlay::Weights, Action::Confirm) => state.ui.editor.as_ref()?.service,
        (
            Overlay::None | Overlay::Detail | Overlay::Why,
            Action::StartRollback | Action::SetWeights | Action::InjectFault | Action::ClearFaults,
        ) => state.selected_env()?.service,
        (Overlay::None, Action::OpenDetail | Action::Confirm | Action::Skip | Action::Abort)
            if on_checklist =>
        {
            super::checklist::shown_checklist(state)?.0
        }
        _ => return None,
    };
    let name = state.services.get(service)?.name.clone();
    super::may_act(state, service).err().map(|why| (name, why))
}

pub(super) fn fault_effect(state: &mut State, action: Action, at: Ts) -> Vec<Effect> {
    if !state.is_drill() {
        state.events.push(
            at,
            "backstop",
            Level::Warn,
            format!("{action} works only in a drill (backstop drill)"),
        );
        return Vec::new();
    }
    let Some(id) = state.selected_env() else {
        return Vec::new();
    };
    let service = state.services[id.service].name.clone();
    let env = state.services[id.service].envs[id.env].name.clone();
    let Some(e) = state.env_mut(id) else {
        return Vec::new();
    };
    let current = e.fault_asked.map_or(e.fault, FaultAsked::fault);
    let fault: Option<Fault> = match action {
        Action::InjectFault => Some(Fault::after(current)),
        _ => None,
    };
    e.fault_asked = Some(FaultAsked::new(fault));
    vec![Effect::SetFault {
        service,
        env,
        fault,
    }]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::testkit::*;
    use crate::action::Action;
    use crate::decision::Policy;
    use crate::model::{Fault, InputPurpose};
    use crate::msg::{Effect, Msg, TextKey};
    use crate::time::Ts;

    fn on_green() -> crate::model::State {
        let mut s = state(Policy::default());
        update(&mut s, Msg::Action(Action::SelectNext, Ts(1)));
        s
    }

    fn set_fault(fx: &[Effect]) -> Option<Option<Fault>> {
        match fx {
            [Effect::SetFault { fault, .. }] => Some(*fault),
            _ => None,
        }
    }

    #[test]
    fn a_fault_key_asks_and_the_confirm_key_injects_what_it_asked() {
        let mut s = on_green();
        assert!(update(&mut s, Msg::Action(Action::InjectFault, Ts(2))).is_empty());
        let q = s.ui.armed.as_ref().unwrap();
        assert_eq!(q.question, "Inject \"503 critical\" into web/green?");
        // A second `f` offers the next fault; `y` injects that one.
        assert!(update(&mut s, Msg::Action(Action::InjectFault, Ts(3))).is_empty());
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(1004)));
        assert_eq!(set_fault(&fx), Some(Some(Fault::Degraded)));
        assert!(s.ui.armed.is_none());
    }

    #[test]
    fn any_other_key_cancels_and_does_nothing_else() {
        let mut s = on_green();
        update(&mut s, Msg::Action(Action::ClearFaults, Ts(2)));
        assert!(s.ui.armed.is_some());
        // `j` cancels: the selection stays where the question was asked.
        assert!(update(&mut s, Msg::Action(Action::SelectNext, Ts(3))).is_empty());
        assert!(s.ui.armed.is_none());
        assert_eq!(s.ui.selected, 1);
        assert!(s.events.last().unwrap().text.contains("cancelled"));
        // And a `y` afterwards has nothing to confirm.
        assert!(update(&mut s, Msg::Action(Action::Confirm, Ts(4))).is_empty());
    }

    #[test]
    fn words_typed_at_the_keys_change_nothing() {
        // A sentence typed where no line is open, as fast as people type
        // (80 ms a key), with every pair a one-key change and its confirm
        // key make: `fy`, `cy`, `ay`, `Hy`. Every letter bound to such a
        // change only asks, and its `y` comes too soon to answer it.
        let keymap_of = |c: char| match c {
            'f' => Some(Action::InjectFault),
            'c' => Some(Action::ClearFaults),
            'a' => Some(Action::Approve),
            'H' => Some(Action::HandOver),
            'y' => Some(Action::Confirm),
            _ => None,
        };
        let mut s = on_green();
        for (i, c) in "okay, say yes: the fy cy and Hy flags".chars().enumerate() {
            if let Some(a) = keymap_of(c) {
                let fx = update(&mut s, Msg::Action(a, Ts(1000 + 80 * i as i64)));
                assert!(fx.is_empty(), "{c:?} acted: {fx:?}");
            }
        }
        // Read, then answered: the same two keys do it.
        update(&mut s, Msg::Action(Action::InjectFault, Ts(10_000)));
        let fx = update(&mut s, Msg::Action(Action::Confirm, Ts(10_900)));
        assert!(set_fault(&fx).is_some(), "{fx:?}");
    }

    #[test]
    fn a_late_confirmation_does_not_act() {
        let mut s = on_green();
        update(&mut s, Msg::Action(Action::InjectFault, Ts(1000)));
        let late = 1000 + super::ARMED_FOR.as_millis() as i64 + 1;
        assert!(update(&mut s, Msg::Action(Action::Confirm, Ts(late))).is_empty());
        assert!(s.events.last().unwrap().text.contains("waited more than"));
    }

    #[test]
    fn a_y_on_the_heels_of_a_letter_is_typing_but_not_after_the_key_that_asked() {
        let t = |ms: i64| Ts(10_000 + ms);
        assert!(
            super::is_typing(Some((Action::Approve, t(0))), t(80)),
            "\"ay\""
        );
        assert!(
            super::is_typing(Some((Action::Skip, t(0))), t(120)),
            "\"sy\""
        );
        assert!(
            !super::is_typing(Some((Action::Approve, t(0))), t(400)),
            "a pause, then y"
        );
        assert!(
            !super::is_typing(Some((Action::OpenDetail, t(0))), t(80)),
            "⏎ put the question"
        );
        assert!(!super::is_typing(None, t(0)));
    }

    #[test]
    fn typing_a_line_closes_the_question() {
        let mut s = on_green();
        update(&mut s, Msg::Action(Action::InjectFault, Ts(2)));
        update(&mut s, Msg::Text(TextKey::Char('y'), Ts(3)));
        assert!(s.ui.armed.is_none());
        assert!(update(&mut s, Msg::Action(Action::Confirm, Ts(4))).is_empty());
    }

    #[test]
    fn a_key_that_cannot_act_says_why_without_asking() {
        let mut s = on_green();
        s.origin = crate::model::Origin::Config("backstop.toml".into());
        update(&mut s, Msg::Action(Action::InjectFault, Ts(2)));
        assert!(s.ui.armed.is_none());
        assert!(s.events.last().unwrap().text.contains("only in a drill"));
        // Approve with nothing waiting: said, not asked.
        update(&mut s, Msg::Action(Action::Approve, Ts(3)));
        assert!(s.ui.armed.is_none());
    }

    #[test]
    fn a_current_note_step_takes_the_typing_at_once() {
        let mut s = recommended_and_started(Policy::default());
        // Keep the review (manual) and the root cause (a note) only.
        {
            let c = s.services[0].rollback.checklist.as_mut().unwrap();
            c.steps
                .retain(|st| st.spec.id == "review-errors" || st.spec.id == "root-cause");
            c.cursor = 0;
            c.steps[0].status = crate::runbook::StepStatus::Current;
        }
        assert!(s.ui.input.is_none());
        update(&mut s, Msg::Action(Action::OpenDetail, Ts(6000))); // reviewed
        let input = s.ui.input.as_ref().expect("the note's line is open");
        assert!(matches!(input.purpose, InputPurpose::Note { .. }));
        // While it is open, no key acts.
        assert!(update(&mut s, Msg::Action(Action::ClearFaults, Ts(6001))).is_empty());
        assert!(update(&mut s, Msg::Action(Action::InjectFault, Ts(6001))).is_empty());
        // Esc closes it for good (a tick does not reopen it); Enter does.
        update(&mut s, Msg::Text(TextKey::Cancel, Ts(6002)));
        update(&mut s, Msg::Tick(Ts(7000)));
        assert!(s.ui.input.is_none());
        update(&mut s, Msg::Action(Action::OpenDetail, Ts(7001)));
        assert!(s.ui.input.is_some());
        for ch in "cf".chars() {
            update(&mut s, Msg::Text(TextKey::Char(ch), Ts(7002)));
        }
        update(&mut s, Msg::Text(TextKey::Submit, Ts(7003)));
        assert!(s.events.iter().any(|e| e.text.ends_with(": cf")));
    }
}
