//! SIGTERM, SIGINT and SIGHUP in the commands without a terminal. The
//! first one asks the command to end at a safe point: a change under way
//! is let finish (its provider is never cut off half-way), then the open
//! rollback is closed as interrupted, with who and why, and the closing
//! object is printed. A second one ends at once; the journal then holds
//! the change's intent without an outcome, which the next start shows as
//! interrupted (as after a crash).
//!
//! Exit code: 128 + the signal's number (129 SIGHUP, 130 SIGINT, 143
//! SIGTERM), what a shell reports for a program the signal ended.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::signal::unix::{SignalKind, signal};

use crate::core::model::State;
use crate::core::runbook::{StepKind, StepStatus};
use crate::engine::Engine;

/// Signals received so far, and the last one's number.
#[derive(Default)]
struct Seen {
    count: AtomicU8,
    number: AtomicU8,
}

/// Listens while it is kept. tokio's handlers stay installed for the life
/// of the process, so after the drop a signal is ignored, not fatal: keep
/// it for as long as the command runs.
pub struct Interrupt {
    seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
    notify: Arc<tokio::sync::Notify>,
}

impl Interrupt {
    /// Start listening (the handlers are in place when this returns).
    /// Needs a tokio runtime.
    pub fn listen() -> Self {
        let seen = Arc::new(Seen::default());
        let notify = Arc::new(tokio::sync::Notify::new());
        let streams = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
        );
        let task = tokio::spawn({
            let seen = seen.clone();
            let notify = notify.clone();
            async move {
                let (Ok(mut term), Ok(mut hup), Ok(mut int)) = streams else {
                    tracing::warn!("cannot listen for signals");
                    return;
                };
                loop {
                    let number = tokio::select! {
                        _ = term.recv() => 15,
                        _ = hup.recv() => 1,
                        _ = int.recv() => 2,
                    };
                    seen.number.store(number, Ordering::SeqCst);
                    let n = seen
                        .count
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                            Some(c.saturating_add(1))
                        })
                        .unwrap_or_default()
                        .saturating_add(1);
                    tracing::info!("{} received ({n})", name(number));
                    notify.notify_waiters();
                    notify.notify_one();
                }
            }
        });
        Interrupt { seen, task, notify }
    }

    /// The signal received, if one was: its name.
    pub fn received(&self) -> Option<&'static str> {
        (self.seen.count.load(Ordering::SeqCst) > 0)
            .then(|| name(self.seen.number.load(Ordering::SeqCst)))
    }

    /// A second signal: end now, safe point or not.
    pub fn insists(&self) -> bool {
        self.seen.count.load(Ordering::SeqCst) > 1
    }

    /// The exit code for the signal received (128 + its number).
    pub fn code(&self) -> u8 {
        128 + self.seen.number.load(Ordering::SeqCst)
    }

    /// Resolves on the first signal (at once if one came already).
    pub async fn wait(&self) {
        while self.received().is_none() {
            self.notify.notified().await;
        }
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn name(number: u8) -> &'static str {
    match number {
        1 => "SIGHUP",
        2 => "SIGINT",
        _ => "SIGTERM",
    }
}

/// A step that changes the world is running in some checklist: not a
/// point to stop at.
pub fn change_under_way(state: &State) -> bool {
    state.services.iter().any(|s| {
        s.rollback
            .checklist
            .as_ref()
            .filter(|c| c.ended.is_none())
            .and_then(|c| c.current())
            .is_some_and(|step| {
                matches!(step.status, StepStatus::Running { .. })
                    && matches!(&step.spec.kind, StepKind::Action(a) if a.mutates())
            })
    })
}

/// Close every open rollback as interrupted, the way a person abandons one
/// (the key, a reason, Enter): the same core path, journaled the same way
/// (`closed`, "aborted: …", by the operator). Call at a safe point.
pub async fn close_open_rollbacks(engine: &mut Engine, why: &str) -> Vec<String> {
    use crate::core::action::Action;
    use crate::core::model::{Overlay, Pane};
    use crate::core::msg::{Msg, TextKey};

    let mut closed = Vec::new();
    for service in 0..engine.state.services.len() {
        let open = engine.state.services[service]
            .rollback
            .checklist
            .as_ref()
            .is_some_and(|c| c.ended.is_none());
        if !open {
            continue;
        }
        // The keys act on the selected service's checklist.
        let first = engine.state.env_ids().position(|id| id.service == service);
        if let Some(i) = first {
            engine.state.ui.selected = i;
        }
        engine.state.ui.focus = Pane::Checklist;
        engine.state.ui.overlay = Overlay::None;
        engine.state.ui.input = None;
        let at = crate::clock::now();
        engine.apply(Msg::Action(Action::Abort, at));
        for c in why.chars() {
            engine.apply(Msg::Text(TextKey::Char(c), at));
        }
        engine.apply(Msg::Text(TextKey::Submit, at));
        let name = engine.state.services[service].name.clone();
        let ended = engine.state.services[service]
            .rollback
            .checklist
            .as_ref()
            .is_none_or(|c| c.ended.is_some());
        if ended {
            closed.push(name);
        } else {
            // Core refused (a change started after all): say so, never
            // claim it closed.
            engine
                .note(&format!(
                    "the rollback of {name} could not be closed as interrupted ({why}); the next start shows what it left"
                ))
                .await;
        }
    }
    if !closed.is_empty() {
        engine
            .note(&format!(
                "rollback of {} closed as interrupted: {why}",
                closed.join(", ")
            ))
            .await;
    }
    closed
}
