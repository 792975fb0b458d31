//! The live tail: every backstop on a journal reads the rows the others
//! write, by id, a few times a second, and hands core what a war room
//! shows — steps, intents and outcomes, notes, the driver's checklist,
//! requests to drive, handovers, approvals. What every console sees for
//! itself (probes, rules, decisions) is not repeated.
//!
//! Ordering comes from the journal's ids, never from the writers' clocks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Backend, Place, Row};
use crate::core::events::Level;
use crate::core::msg::{ApprovalAct, Msg, Shared, SharedWhat};
use crate::core::roles::Change;

/// How often the tail looks for new rows.
pub const EVERY: Duration = Duration::from_millis(250);

/// Rows read at most per look (a burst waits for the next).
const BATCH: usize = 512;

/// How far back a console that starts looks for a checklist in progress.
const LOOK_BACK: i64 = 5_000;

/// Reads that fail in a row before the journal is said not to answer (one
/// locked read of a file is nothing; a table silent for a second is).
const FAILURES: u32 = 3;

/// Tail the journal at `place` as `me`: the others' rows, as `Msg::Shared`;
/// whether they can be read goes to `health`.
pub fn spawn(
    place: Place,
    me: String,
    tx: mpsc::Sender<Msg>,
    health: super::Health,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let room = place.room.clone();
        let file = place.file.clone();
        let open = move || -> Result<Box<dyn Backend>, super::Error> { super::open(&place) };
        let store = match tokio::task::spawn_blocking(open).await {
            Ok(Ok(s)) => Arc::new(Mutex::new(s)),
            Ok(Err(e)) => {
                tracing::warn!("the journal's live tail cannot start: {e}");
                return;
            }
            Err(_) => return,
        };
        let mut after: Option<i64> = None;
        let mut failures = 0;
        let mut every = tokio::time::interval(EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let (s, from, file) = (store.clone(), after, file.clone());
            let read = tokio::task::spawn_blocking(move || {
                let s = s.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match from {
                    Some(a) => s.since(a, BATCH).map(|rows| (rows, false)),
                    // At start: only what is still in progress matters (a
                    // checklist the driver keeps publishing); the history is
                    // the report's.
                    None => {
                        let head = s.head()?;
                        let window = (head - LOOK_BACK).max(0);
                        // A role row is written once, however long ago:
                        // every one is folded, older than the window too,
                        // or this console's answer would be its own.
                        let mut rows: Vec<Row> = if window > 0 {
                            super::Reader::open(&file)
                                .and_then(|r| r.role_rows())
                                .map_err(|e| super::Error::Down(format!("{e:#}")))?
                                .into_iter()
                                .filter(|r| r.id <= window)
                                .collect()
                        } else {
                            Vec::new()
                        };
                        let mut at = window;
                        while at < head {
                            let got = s.since(at, BATCH)?;
                            let Some(last) = got.last() else { break };
                            at = last.id;
                            rows.extend(got);
                        }
                        Ok((rows, true))
                    }
                }
            })
            .await;
            let say = |why: Option<String>| {
                *health
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = why;
            };
            let (rows, first) = match read {
                Ok(Ok(r)) => {
                    failures = 0;
                    say(None);
                    r
                }
                // A locked or missing file now is not a reason to stop: look again.
                Ok(Err(e)) => {
                    failures += 1;
                    if failures >= FAILURES {
                        say(Some(format!("the others' rows cannot be read ({e})")));
                    }
                    continue;
                }
                Err(_) => continue,
            };
            if let Some(last) = rows.last() {
                after = Some(last.id);
            } else if after.is_none() {
                after = Some(0);
            }
            let mut shared: Vec<Shared> = rows
                .iter()
                // Another room's rows are not this room's business (rows
                // written before rooms are every room's).
                .filter(|r| r.room.as_deref().is_none_or(|x| x == room))
                .filter(|r| r.session.is_some())
                .filter_map(shared)
                // This console's own rows it knows, but for its role rows:
                // whether they stood is the journal's order's to say.
                .filter(|s| s.session != me || matches!(s.what, SharedWhat::Role { .. }))
                // At start, what is still in progress: the driver's
                // checklist and who holds the incident's roles.
                .filter(|s| {
                    !first || matches!(s.what, SharedWhat::Checklist(_) | SharedWhat::Role { .. })
                })
                .collect();
            // Who answered an approval request, as the room's proof says.
            let answers: Vec<(usize, String, Option<String>)> = shared
                .iter()
                .enumerate()
                .filter_map(|(i, s)| answer_token(s).map(|t| (i, t, claimed_userid(&rows, s.id))))
                .collect();
            if !answers.is_empty() {
                let s = store.clone();
                let proofs = tokio::task::spawn_blocking(move || {
                    let s = s.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    answers
                        .into_iter()
                        .map(|(i, token, claimed)| (i, s.vouched(&token, claimed.as_deref())))
                        .collect::<Vec<_>>()
                })
                .await
                .unwrap_or_default();
                for (i, proof) in proofs {
                    match proof {
                        Ok(v) => shared[i].vouched = v,
                        Err(e) => tracing::warn!("who answered cannot be read: {e}"),
                    }
                }
            }
            let shared = if first {
                latest_checklists(shared)
            } else {
                shared
            };
            if !shared.is_empty()
                && tx
                    .send(Msg::Shared {
                        rows: shared,
                        at: crate::clock::now(),
                    })
                    .await
                    .is_err()
            {
                break;
            }
        }
    })
}

/// The name of the proof an answer to an approval request leaves, if the
/// row is one (`vouch::token`).
fn answer_token(s: &Shared) -> Option<String> {
    match &s.what {
        SharedWhat::Approval {
            driver,
            request,
            act: act @ (ApprovalAct::Approve | ApprovalAct::Reject(_)),
        } => Some(super::vouch::token(
            driver,
            *request,
            &s.session,
            act.word(),
        )),
        _ => None,
    }
}

/// The AWS user id row `id` says its writer is (where it left its proof
/// on a table).
fn claimed_userid(rows: &[Row], id: i64) -> Option<String> {
    rows.iter()
        .find(|r| r.id == id)?
        .entry
        .data
        .as_ref()?
        .get("userid")?
        .as_str()
        .map(str::to_string)
}

/// The newest checklist row of each service, and every role row (each
/// stands or not by the ones before it).
fn latest_checklists(rows: Vec<Shared>) -> Vec<Shared> {
    let mut out: Vec<Shared> = Vec::new();
    for r in rows.into_iter().rev() {
        let checklist = matches!(r.what, SharedWhat::Checklist(_));
        if !checklist
            || !out
                .iter()
                .any(|o| o.scope == r.scope && matches!(o.what, SharedWhat::Checklist(_)))
        {
            out.push(r);
        }
    }
    out.reverse();
    out
}

fn level(s: &str) -> Level {
    match s {
        "good" => Level::Good,
        "warn" => Level::Warn,
        "bad" => Level::Bad,
        _ => Level::Info,
    }
}

fn text_of(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_string()
}

/// What a war room shows of one row, if anything.
pub fn shared(r: &Row) -> Option<Shared> {
    let e = &r.entry;
    let data = e.data.as_ref();
    let field = |k: &str| data.and_then(|d| d.get(k));
    let line = || SharedWhat::Line {
        level: level(&e.level),
        text: e.text.clone(),
    };
    let what = match e.kind.as_str() {
        "checklist" => {
            let c = serde_json::from_value(field("checklist")?.clone()).ok()?;
            SharedWhat::Checklist(Box::new(c))
        }
        // A change in flight, and how it ended: the room's guards count
        // them on every console.
        "intent" => SharedWhat::Change {
            work: text_of(field("work")),
            text: e.text.clone(),
            route: match (
                field("suspect").and_then(Value::as_str),
                field("target").and_then(Value::as_str),
            ) {
                (Some(from), Some(to))
                    if matches!(
                        field("work").and_then(Value::as_str),
                        Some("switch-traffic" | "revert-deployment")
                    ) && field("drill").and_then(Value::as_bool) != Some(true) =>
                {
                    Some((from.to_string(), to.to_string()))
                }
                _ => None,
            },
        },
        "outcome" => match e.reference {
            Some(intent) => SharedWhat::Resolved {
                intent,
                good: e.level == "good",
                level: level(&e.level),
                text: e.text.clone(),
            },
            None => line(),
        },
        "incident" | "closed" => line(),
        "event" => match field("kind").and_then(Value::as_str)? {
            "lease" => match field("action").and_then(Value::as_str)? {
                "request" => SharedWhat::AskToDrive,
                "take" | "takeover" => SharedWhat::Drives {
                    text: e.text.clone(),
                },
                "handover" => SharedWhat::HandedOver {
                    session: text_of(field("to_session")),
                    operator: text_of(field("to")),
                },
                _ => line(),
            },
            "approval" => SharedWhat::Approval {
                driver: text_of(field("driver")),
                request: field("request").and_then(Value::as_u64)?,
                act: match field("action").and_then(Value::as_str)? {
                    "ask" => ApprovalAct::Ask {
                        step: text_of(field("step")),
                        title: text_of(field("title")),
                        lines: serde_json::from_value(field("lines")?.clone()).ok()?,
                    },
                    "approve" => ApprovalAct::Approve,
                    "reject" => ApprovalAct::Reject(text_of(field("reason"))),
                    "override" => ApprovalAct::Override(text_of(field("reason"))),
                    "expire" => ApprovalAct::Expire,
                    _ => ApprovalAct::Refuse(text_of(field("reason"))),
                },
            },
            "presence" if field("action").and_then(Value::as_str) == Some("left") => {
                SharedWhat::Line {
                    level: Level::Info,
                    text: "left".into(),
                }
            }
            "presence" => SharedWhat::Line {
                level: Level::Info,
                text: format!(
                    "joined ({}{})",
                    text_of(field("role")),
                    if field("read_only").and_then(Value::as_bool) == Some(true) {
                        ", read-only"
                    } else {
                        ""
                    }
                ),
            },
            // The room's AWS poller: what it read, for this console to
            // show as if it had read it; and who polls, as a line.
            "reading" => SharedWhat::Readings(field("readings")?.clone()),
            "poller" => line(),
            "step" => line(),
            "note" => line(),
            "role" => SharedWhat::Role {
                role: crate::core::roles::Role::parse(field("role")?.as_str()?)?,
                change: match field("action").and_then(Value::as_str)? {
                    "take" => Change::Take,
                    "hand" => Change::Hand {
                        session: text_of(field("to_session")),
                        operator: text_of(field("to")),
                    },
                    "release" => Change::Release,
                    _ => return None,
                },
                from: field("from").and_then(Value::as_str).map(str::to_string),
                incident: e.incident,
            },
            "message" => line(),
            "incident" => line(),
            // Probes, rules, decisions, traffic, deploys: every console
            // sees those for itself.
            _ => return None,
        },
        _ => return None,
    };
    let (person, _) = crate::identity::person(&e.operator);
    // An answer to an approval request is vouched for by its proof alone
    // (`vouch`, looked up by the tail); other rows by the writer's word.
    let vouched = match &what {
        SharedWhat::Approval {
            act: ApprovalAct::Approve | ApprovalAct::Reject(_),
            ..
        } => None,
        _ => crate::identity::machine_of(&e.operator),
    };
    Some(Shared {
        id: r.id,
        at: e.at,
        scope: e.scope.clone(),
        operator: e.operator.clone(),
        session: r.session.clone().unwrap_or_default(),
        person,
        vouched,
        what,
    })
}
