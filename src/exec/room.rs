//! The war room's effects: taking, asking for and handing over a
//! service's lease, and the two-person rule's rows. Each is journaled, so
//! every console on the journal sees it (the live tail) and the report
//! keeps it.

use serde_json::json;
use tokio::sync::mpsc;

use super::Backends;
use crate::clock::now;
use crate::core::msg::{ApprovalAct, LeaseAct, Msg};
use crate::core::roles::{Change, Role};
use crate::room::{Entry, Reader};

/// Carry out `act` on `service`'s lease and answer with `Msg::LeaseDone`.
pub(super) async fn lease(b: Backends, service: String, act: LeaseAct, tx: mpsc::Sender<Msg>) {
    let Some(journal) = b.journal.clone() else {
        return;
    };
    let me = crate::identity::operator();
    let row = |action: &str, text: String, data: serde_json::Value| {
        let mut e = Entry::new(now(), "event", &service, text, &me);
        let mut d = json!({ "kind": "lease", "action": action, "service": service });
        if let (Some(d), Some(extra)) = (d.as_object_mut(), data.as_object()) {
            d.extend(extra.clone());
        }
        e.data = Some(d);
        e
    };
    let result = match &act {
        LeaseAct::Ask => {
            let holder = b.holder(&service).await;
            let from = holder.as_ref().map(|h| h.operator.clone());
            journal.append(row(
                "request",
                "asks to drive".into(),
                json!({ "from": from, "to": me }),
            ));
            Ok(match from {
                Some(f) => format!(
                    "asked {} to hand {service} over",
                    crate::core::update::room::short(&f)
                ),
                None => format!("nobody drives {service} now: D takes it"),
            })
        }
        LeaseAct::HandOver { session, operator } => {
            match b.hand_over(&service, session, operator).await {
                Ok(token) => {
                    let mut e = row(
                        "handover",
                        format!(
                            "handed {service} over to {}",
                            crate::core::update::room::short(operator)
                        ),
                        json!({ "from": me, "to": operator, "to_session": session, "token": token }),
                    );
                    e.level = "warn".into();
                    journal.append(e);
                    Ok(format!(
                        "{service} handed over to {}: you watch it now",
                        crate::core::update::room::short(operator)
                    ))
                }
                Err(e) => Err(e),
            }
        }
        // Rehearsals take no lease (see `Backends::fence`).
        LeaseAct::Take { .. } if b.rehearsal(&service) => return,
        // Taking a driver's that is gone only on a person's confirmation
        // (`from`): a free lease, or one handed to this console, otherwise.
        LeaseAct::Take { from, .. } => match b
            .take_lease(
                &service,
                if from.is_some() {
                    crate::room::Claim::TakeOver
                } else {
                    crate::room::Claim::Free
                },
            )
            .await
        {
            Ok((token, lost)) => {
                // A person confirmed the take-over (`from`), or the lease
                // had just expired when it was taken: either way it is one.
                let from = from.clone().or(lost.map(|h| h.operator));
                let (action, text) = match &from {
                    Some(f) => (
                        "takeover",
                        format!(
                            "took {service} over from {} (lease {token}, confirmed by a person)",
                            crate::core::update::room::short(f)
                        ),
                    ),
                    None => ("take", format!("drives {service} (lease {token})")),
                };
                let mut e = row(action, text.clone(), json!({ "from": from, "to": me }));
                if from.is_some() {
                    e.level = "warn".into();
                }
                journal.append(e);
                // A lost driver may have left a change half made: it is
                // resolved before anything else, as at a start.
                interrupted(&journal.place, &service, &tx).await;
                Ok(format!("you drive {service} (lease {token})"))
            }
            Err(e) => Err(e),
        },
    };
    let _ = tx
        .send(Msg::LeaseDone {
            service,
            act,
            result,
            at: now(),
        })
        .await;
}

/// Changes of `service` the journal holds without an outcome.
pub(super) async fn interrupted(place: &crate::room::Place, service: &str, tx: &mpsc::Sender<Msg>) {
    let (place, name) = (place.clone(), service.to_string());
    let found = tokio::task::spawn_blocking(move || {
        Reader::at(&place)
            .and_then(|r| r.interrupted())
            .map(|rows| {
                rows.into_iter()
                    .filter(|r| r.entry.scope.split('/').next() == Some(name.as_str()))
                    .collect::<Vec<_>>()
            })
    })
    .await;
    let Ok(Ok(rows)) = found else { return };
    if rows.is_empty() {
        return;
    }
    let actions = rows
        .into_iter()
        .map(crate::room::Row::interrupted)
        .collect();
    let _ = tx.send(Msg::Interrupted { actions, at: now() }).await;
}

/// A two-person-rule row to journal.
pub(super) struct Approval {
    pub service: String,
    pub incident: Option<i64>,
    pub driver: String,
    pub request: u64,
    pub act: ApprovalAct,
}

/// An answer (approve, reject): its proof first, where only this account
/// can leave it (`room::vouch`) — the driver's console counts the answer
/// only by that proof —, then its row.
pub(super) async fn answer(b: Backends, a: Approval, tx: mpsc::Sender<Msg>) {
    let Some(journal) = &b.journal else { return };
    let what = format!("{} approval of {}", a.act.word(), a.service);
    if b.read_only.contains(&a.service) {
        let why = format!(
            "this backstop only watches {} (read-only): it answers nothing",
            a.service
        );
        let _ = tx.send(super::failed(what, why)).await;
        return;
    }
    let token = crate::room::vouch::token(&a.driver, a.request, &journal.session, a.act.word());
    let place = journal.place.clone();
    let proof = tokio::task::spawn_blocking(move || {
        crate::room::open(&place).and_then(|r| r.vouch(&token))
    })
    .await
    .unwrap_or_else(|e| Err(crate::room::Error::Unusable(e.to_string())));
    if let Err(e) = proof {
        let why = format!(
            "your answer cannot be vouched for, so the driver's console would not count it: {e}"
        );
        let _ = tx.send(super::failed(what, why)).await;
        return;
    }
    approval(&b, &a);
}

/// Journal one two-person-rule row.
pub(super) fn approval(b: &Backends, a: &Approval) {
    let Some(journal) = &b.journal else { return };
    let me = crate::identity::operator();
    let (level, text) = match &a.act {
        ApprovalAct::Ask { title, .. } => {
            ("warn", format!("asks a second person to approve: {title}"))
        }
        ApprovalAct::Approve => ("good", "approved the change".to_string()),
        ApprovalAct::Reject(why) => ("warn", format!("rejected the change: {why}")),
        ApprovalAct::Override(why) => ("bad", format!("OVERRODE the two-person rule: {why}")),
        ApprovalAct::Expire => ("warn", "the approval request expired".to_string()),
        ApprovalAct::Refuse(why) => ("warn", format!("refused an approval: {why}")),
    };
    let mut data = json!({
        "kind": "approval",
        "action": a.act.word(),
        "request": a.request,
        "driver": a.driver,
    });
    if let Some(d) = data.as_object_mut() {
        // On a table, where this principal left its proof.
        if journal.place.table.is_some()
            && let Some(id) = crate::identity::aws_userid()
        {
            d.insert("userid".into(), json!(id));
        }
        match &a.act {
            ApprovalAct::Ask { step, title, lines } => {
                d.insert("step".into(), json!(step));
                d.insert("title".into(), json!(title));
                d.insert("lines".into(), json!(lines));
            }
            ApprovalAct::Reject(why) | ApprovalAct::Override(why) | ApprovalAct::Refuse(why) => {
                d.insert("reason".into(), json!(why));
            }
            ApprovalAct::Approve | ApprovalAct::Expire => {}
        }
    }
    let mut e = Entry::new(now(), "event", &a.service, text, &me);
    e.level = level.into();
    e.incident = a.incident;
    e.data = Some(data);
    journal.append(e);
}

/// A role row (`core::roles`): written as it was asked; whether it stands
/// is the journal's order's to say, on every console alike.
pub(super) struct RoleRow {
    pub service: String,
    pub incident: Option<i64>,
    pub role: Role,
    pub change: Change,
    pub from: Option<String>,
    pub by: String,
}

pub(super) fn role(b: &Backends, r: &RoleRow) {
    let Some(journal) = &b.journal else { return };
    let title = r.role.title();
    let service = &r.service;
    let (action, text, to) = match &r.change {
        Change::Take => ("take", format!("takes the {title} of {service}"), None),
        Change::Hand { session, operator } => (
            "hand",
            format!("hands the {title} of {service} to {operator}"),
            Some((session, operator)),
        ),
        Change::Release => (
            "release",
            format!("gives up the {title} of {service}"),
            None,
        ),
    };
    let mut e = Entry::new(now(), "event", service, text, &r.by);
    e.incident = r.incident;
    e.data = Some(json!({
        "kind": "role",
        "role": r.role.word(),
        "action": action,
        "from": r.from,
        "to_session": to.map(|(s, _)| s),
        "to": to.map(|(_, o)| o),
    }));
    journal.append(e);
}

/// A rule on probation fired (or stopped): an event row the statistics
/// count, written by whichever console saw it (the statistics count each
/// firing once per service and minute).
pub(super) fn dry_run(
    b: &Backends,
    service: &str,
    env: &str,
    rule: &str,
    firing: bool,
    text: &str,
) {
    let Some(journal) = &b.journal else { return };
    let mut e = Entry::new(now(), "event", service, text.to_string(), "backstop");
    e.data = Some(json!({ "kind": "dry-run", "rule": rule, "env": env, "firing": firing }));
    journal.append(e);
}

/// A note for the incident's timeline, marked when its writer is the scribe.
pub(super) fn note(
    b: &Backends,
    service: &str,
    incident: Option<i64>,
    text: &str,
    by: &str,
    scribe: bool,
) {
    let Some(journal) = &b.journal else { return };
    // The mark is in the text, so the report's timeline and every
    // console's log read it as written.
    let mark = if scribe { "scribe" } else { "note" };
    let mut e = Entry::new(now(), "event", service, format!("({mark}) {text}"), by);
    e.incident = incident;
    e.data = Some(json!({ "kind": "note", "scribe": scribe }));
    journal.append(e);
}
