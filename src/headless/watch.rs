//! `backstop watch`: the monitor loop of runbook 001 without a terminal.
//! The rules evaluate as in the console and every event is printed (a line
//! each, or JSON lines). With `--auto` the decision engine carries out the
//! runbook's automatable path within the guards.
//!
//! Exit codes: 0 the window ended calm (or a signal ended it, calm), 1 a
//! rollback is required (recommended without --auto, blocked by a guard,
//! or an automatic one that failed and needs a person), 2 error, 3 rolled
//! back and verified, 128 + n when signal n interrupted a rollback (it is
//! closed as interrupted once no change is under way).

use std::time::Duration;

use anyhow::Result;

use super::interrupt::{self, Interrupt};
use super::session::{self, wanted};
use super::{EventLines, exit, out};
use crate::config::Config;
use crate::core::decision::{Decision, Mode};
use crate::core::model::State;
use crate::core::runbook::StepStatus;
use crate::engine::Storage;

/// Exit code: a rollback was carried out and verified.
pub const ROLLED_BACK: u8 = 3;

pub struct Args {
    pub service: Option<String>,
    pub auto: bool,
    /// How long to watch; until a signal when `None`.
    pub window: Option<Duration>,
    pub json: bool,
}

/// How the watch ends, and why.
#[derive(Debug, PartialEq)]
pub enum Ending {
    RolledBack(String),
    Required(String),
}

/// What ends the watch in `state`, if anything does yet.
pub fn ending(state: &State, auto: bool) -> Option<Ending> {
    for s in &state.services {
        if let Some(c) = &s.rollback.checklist {
            let route = format!(
                "{}: {} → {}",
                s.name, s.envs[c.suspect].name, s.envs[c.target].name
            );
            if c.ended.is_some() {
                return Some(match c.recovered {
                    Some(_) => Ending::RolledBack(format!("rolled back {route}, verified")),
                    None => Ending::Required(format!("the rollback {route} ended unverified")),
                });
            }
            // Headless, nobody is there to take the hand auto mode gave back.
            if let Some(why) = &c.auto_stopped {
                return Some(Ending::Required(format!(
                    "the rollback {route} needs a person: auto mode stopped: {why}"
                )));
            }
            if let Some(step) = c.current()
                && let StepStatus::Failed(e) = &step.status
            {
                return Some(Ending::Required(format!(
                    "the rollback {route} needs a person: {} failed: {e}",
                    step.title
                )));
            }
            continue;
        }
        match &s.rollback.decision {
            Decision::Blocked { .. } => {
                let why = wanted(&s.rollback.decision).unwrap_or_default();
                return Some(Ending::Required(format!(
                    "{}: rollback wanted but blocked ({}); escalate",
                    s.name,
                    why.join("; ")
                )));
            }
            Decision::RollbackRecommended { reasons, .. } if !auto => {
                return Some(Ending::Required(format!(
                    "{}: rollback recommended: {}",
                    s.name,
                    reasons.join("; ")
                )));
            }
            // Auto mode acts in the same update that recommends; a
            // recommendation left standing is auto mode standing down.
            Decision::RollbackRecommended {
                suspect, reasons, ..
            } => {
                let why = if !state.interrupted.is_empty() {
                    "changes in the journal have no outcome: a person checks them first".to_string()
                } else if s.rollback.auto_held == Some(*suspect) {
                    format!(
                        "a person abandoned the last automatic rollback of {}",
                        s.envs[*suspect].name
                    )
                } else {
                    "auto mode did not act".to_string()
                };
                return Some(Ending::Required(format!(
                    "{}: rollback recommended ({}) but not started: {why}",
                    s.name,
                    reasons.join("; ")
                )));
            }
            _ => {}
        }
    }
    None
}

/// The service whose rollback is under way, if one is.
fn under_way(state: &State) -> Option<&str> {
    state
        .services
        .iter()
        .find(|s| {
            s.rollback
                .checklist
                .as_ref()
                .is_some_and(|c| c.ended.is_none())
        })
        .map(|s| s.name.as_str())
}

pub async fn run(config: Config, storage: &Storage, a: Args) -> Result<u8> {
    let mut config = match session::only(config, a.service.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            out::err_line(format_args!("backstop watch: {e}"));
            return Ok(exit::USAGE);
        }
    };
    if a.auto {
        for s in &mut config.services {
            if s.policy.mode != Mode::Off {
                s.policy.mode = Mode::Auto;
            }
        }
    } else {
        session::advise_only(&mut config);
    }
    // Acting needs the lease of every service it may act on: one driver per
    // service, whoever else watches.
    let mut driving = Vec::new();
    if a.auto {
        let operator = crate::identity::operator();
        for s in &config.services {
            match crate::room::lease::Driving::take(
                storage.place().in_room(&config.room),
                &s.name,
                &operator,
                crate::room::Claim::Free,
                config.lease_expiry,
            ) {
                Ok(d) => driving.push(d),
                // Someone else drives it: the room said no (1). The journal
                // cannot be used at all: nothing would be recorded (2).
                Err(why) => {
                    out::err_line(format_args!("backstop watch: {why}"));
                    return Ok(if why.is_refusal() {
                        exit::FAILING
                    } else {
                        exit::USAGE
                    });
                }
            }
        }
    }
    let mut engine = match session::start(&config, storage, "backstop watch") {
        Ok(e) => e,
        Err(e) => {
            out::err_line(format_args!("backstop watch: {e}"));
            return Ok(exit::USAGE);
        }
    };
    for d in &driving {
        engine.drive_under(&d.lease.service, Some(d.lease.token));
        if let Some(text) = d.lease.take_over_text(crate::clock::now().millis()) {
            engine.note(&text).await;
        }
    }
    let mut lines = EventLines::new(a.json).redacting(&config);
    let interrupt = Interrupt::listen();
    if !a.json {
        let names: Vec<&str> = config.services.iter().map(|s| s.name.as_str()).collect();
        let how = if a.auto {
            "rolling back by itself within the guards (--auto)"
        } else {
            "advising only (--auto would roll back)"
        };
        let until = a.window.map_or_else(
            || "until interrupted".to_string(),
            |w| format!("for {}", crate::core::time::human(w)),
        );
        out::line(format_args!("watching {} {until}, {how}", names.join(", ")));
    }
    let _reader = out::watch_reader();
    let deadline = a.window.map(|w| tokio::time::Instant::now() + w);
    let mut end = None;
    loop {
        let left = deadline.map_or(Duration::from_secs(1), |d| {
            d.saturating_duration_since(tokio::time::Instant::now())
                .min(Duration::from_secs(1))
        });
        let mut found = None;
        engine
            .run_until(left, |s| {
                lines.print_new(s);
                found = ending(s, a.auto);
                found.is_some()
                    || interrupt.insists()
                    || (interrupt.received().is_some() && !interrupt::change_under_way(s))
            })
            .await;
        lines.print_new(&engine.state);
        if found.is_some() {
            end = found;
            break;
        }
        // A signal ends the watch, but never in the middle of a change
        // (a second one does not wait).
        if interrupt.insists()
            || (interrupt.received().is_some() && !interrupt::change_under_way(&engine.state))
            || deadline.is_some_and(|d| tokio::time::Instant::now() >= d)
        {
            break;
        }
        // Nobody reads the watch any more: stop, but never in the middle
        // of a rollback (it ends the loop itself when it is done).
        if out::gone() && under_way(&engine.state).is_none() {
            engine
                .note("backstop watch stopped: standard output was closed (the reader went away)")
                .await;
            break;
        }
    }
    // A signal with a rollback open: closed as interrupted, who and why.
    let mut interrupted = None;
    if end.is_none()
        && let Some(signal) = interrupt.received()
        && under_way(&engine.state).is_some()
    {
        let why = format!(
            "interrupted by {signal} (backstop watch, pid {}), stopped at a safe point",
            std::process::id()
        );
        if interrupt::change_under_way(&engine.state) {
            let text = format!(
                "{signal} twice while a change was under way: stopped without its outcome; the next backstop shows it as interrupted"
            );
            engine.note(&format!("backstop watch: {text}")).await;
            interrupted = Some(text);
        } else {
            let closed = interrupt::close_open_rollbacks(&mut engine, &why).await;
            lines.print_new(&engine.state);
            interrupted = Some(if closed.is_empty() {
                format!(
                    "{signal} ended the watch, but the rollback under way could not be closed as interrupted: look at it in the console"
                )
            } else {
                format!("the rollback of {} was {why}", closed.join(", "))
            });
        }
    }
    // The window closed on a rollback under way: not calm.
    if end.is_none()
        && interrupted.is_none()
        && let Some(name) = under_way(&engine.state)
    {
        end = Some(Ending::Required(format!(
            "{name}: a rollback is under way and was not finished when the watch ended"
        )));
    }
    let (code, outcome, text) = match (end, interrupted) {
        (Some(Ending::RolledBack(t)), _) => (ROLLED_BACK, "rolled-back", t),
        (Some(Ending::Required(t)), _) => (exit::FAILING, "rollback-required", t),
        (None, Some(t)) => (interrupt.code(), "interrupted", t),
        (None, None) if interrupt.received().is_some() => (
            exit::OK,
            "calm",
            format!(
                "calm until {} ended the watch",
                interrupt.received().unwrap_or("a signal")
            ),
        ),
        (None, None) => (exit::OK, "calm", "the window ended calm".to_string()),
    };
    if a.json {
        out::line(serde_json::json!({ "end": outcome, "exit": code, "text": text }));
    } else {
        out::line(format_args!("watch ended: {text}"));
    }
    Ok(code)
}
