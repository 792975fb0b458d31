//! The rollback checklist: one step at a time. Manual steps are ticked;
//! checks are verified here from what is known, or by the executor with
//! fresh probes; actions that change the world show exactly what they will do
//! and wait for a second key. Auto mode does the same without the keys, and
//! leaves what only a person can do to a person.

use std::time::Duration;

use crate::action::Action;
use crate::decision::{Decision, RollbackRecord};
use crate::deploy::Stability;
use crate::events::{Kind, Level};
use crate::health::HealthStatus;
use crate::model::{EnvId, InputPurpose, Pane, State, TextInput, TimelineKind};
use crate::msg::{Effect, StepOutcome, StepWork, TextKey, Verdict};
use crate::runbook::{
    Act, Check, Checklist, Ending, Names, Phase, RollbackType, StepKind, StepStatus, Template,
    Typed,
};

use crate::time::{self, Ts};
use crate::traffic::rollback_weights;

mod keys;
mod message;
mod settle;
mod start;
mod step;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod typed_tests;
mod world;

// The rooms see each other through these.
use settle::*;
use step::*;
use world::*;

pub(super) use keys::{on_action, on_text, resume};
pub use message::message;
pub(super) use settle::{abort, close_out};
pub(super) use start::{caps, retype, start};
pub(super) use step::{Go, go};
pub(super) use world::{
    on_deploy, on_done, on_incident, on_preview, on_probe, on_tick, on_traffic_read,
};

const LEFT_FOR_A_PERSON: &str = "left for a person (auto mode)";

/// The longest reason or note, in characters.
const MAX_LINE: usize = 500;

/// How long traffic-on-target waits for the provider's next read.
const READ_BACK: Duration = Duration::from_secs(60);

/// `v1.0.1` (the runbooks' `{suspect_version}`), `v?` before the first answer.
fn version(state: &State, service: usize, env: usize) -> String {
    let v = state.services[service].envs[env]
        .version
        .clone()
        .unwrap_or_else(|| "?".into());
    format!("v{}", v.trim_start_matches('v'))
}

/// Verifications start by themselves when their turn comes: they change
/// nothing, and their evidence is what the operator waits for.
fn runs_itself(kind: &StepKind) -> bool {
    matches!(
        kind,
        StepKind::Check(_)
            | StepKind::Action(Act::WaitHealthy { .. } | Act::WaitStable { .. } | Act::Smoke)
    )
}

/// Whether the step whose turn it is now starts without a key.
///
/// A note step opens its line as soon as it is current (once: Esc closes it,
/// Enter opens it again), so what the person types goes into the note and
/// never to the keys; it waits while another line is being typed.
fn next_starts_itself(state: &State, service: usize) -> bool {
    let typing = state.ui.input.is_some();
    state.services[service]
        .rollback
        .checklist
        .as_ref()
        .and_then(|c| Some((c.auto, c.current()?)))
        .is_some_and(|(auto, s)| {
            let note = matches!(s.spec.kind, StepKind::Action(Act::Note))
                && s.started.is_none()
                && !typing;
            s.status == StepStatus::Current && (auto || runs_itself(&s.spec.kind) || note)
        })
}

fn step_mut(state: &mut State, service: usize) -> Option<&mut crate::runbook::StepRun> {
    state.services[service]
        .rollback
        .checklist
        .as_mut()?
        .current_mut()
}

fn set_status(state: &mut State, service: usize, status: StepStatus) {
    if let Some(s) = step_mut(state, service) {
        s.status = status;
    }
}

/// Who the current step is attributed to.
fn current_by(state: &State, service: usize) -> String {
    state.services[service]
        .rollback
        .checklist
        .as_ref()
        .and_then(|c| c.current())
        .and_then(|s| s.by.clone())
        .unwrap_or_else(|| state.operator.clone())
}

/// After a step settles: the next one, if it starts by itself.
fn after_settle(state: &mut State, service: usize, now: Ts) -> Vec<Effect> {
    if next_starts_itself(state, service) {
        begin(state, service, now, false)
    } else {
        Vec::new()
    }
}

fn current_status(state: &State, service: usize) -> Option<StepStatus> {
    state.services[service]
        .rollback
        .checklist
        .as_ref()
        .and_then(|c| c.current())
        .map(|s| s.status.clone())
}

fn running_mutates(state: &State, service: usize) -> bool {
    state.services[service]
        .rollback
        .checklist
        .as_ref()
        .and_then(|c| c.current())
        .is_some_and(|s| matches!(&s.spec.kind, StepKind::Action(a) if a.mutates()))
}

/// The service whose checklist the keys act on: the selected one's, else
/// the only one open.
pub fn focused_checklist(state: &State) -> Option<usize> {
    let selected = state.selected_env().map(|id| id.service);
    if let Some(s) = selected
        && state.services[s].rollback.checklist.is_some()
    {
        return Some(s);
    }
    state
        .services
        .iter()
        .position(|s| s.rollback.checklist.is_some())
}

impl State {
    /// A checklist is on screen: this console's own (in progress, or
    /// finished and not put away), or one it follows.
    pub fn has_checklist(&self) -> bool {
        shown_checklist(self).is_some()
    }
}

/// How long another console's finished checklist stays on this one's screen.
pub const FOLLOWED_ENDED_SHOWN: Duration = Duration::from_secs(600);

/// The checklist the pane shows: this console's own (as `focused_checklist`),
/// else the one it follows for the selected service (or any), published by
/// the console that drives it. `Some(followed)` when it is another's.
pub fn shown_checklist(state: &State) -> Option<(usize, Option<&crate::model::Followed>)> {
    if let Some(s) = focused_checklist(state) {
        return Some((s, None));
    }
    let shown = |s: usize| {
        state.services[s]
            .rollback
            .followed
            .as_ref()
            .filter(|f| match &f.checklist.ended {
                None => true,
                Some((at, _)) => state.now.since(*at) < FOLLOWED_ENDED_SHOWN,
            })
    };
    let selected = state.selected_env().map(|id| id.service);
    if let Some(s) = selected
        && let Some(f) = shown(s)
    {
        return Some((s, Some(f)));
    }
    (0..state.services.len()).find_map(|s| shown(s).map(|f| (s, Some(f))))
}

/// Whether step `step` of `service`'s checklist `run` sends a message to the team.
pub(super) fn is_message(state: &State, service: usize, run: u64, step: usize) -> bool {
    state
        .services
        .get(service)
        .and_then(|s| s.rollback.checklist.as_ref())
        .filter(|c| c.run == run)
        .and_then(|c| c.steps.get(step))
        .is_some_and(|s| matches!(&s.spec.kind, StepKind::Action(Act::Notify { .. })))
}
