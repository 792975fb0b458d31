//! Leases in a DynamoDB table shared between hosts: one item per service
//! of a room (`pk = "lease"`), changed only by conditional writes, so of
//! any number of hosts asking at once exactly one is granted.
//!
//! Clocks are not trusted across hosts. A holder bumps the item's `beat`
//! at every heartbeat; a waiter remembers when, on its own monotonic
//! clock, it first saw the lease's current version (token and beat), and
//! judges it dead only when that version has not moved for the expiry.
//! It then takes it with a write conditioned on that very version: if the
//! holder came back in between, the write is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{Fault, LEASES, Table, V, get_bool, get_n, get_s, key, key_of, n, s};
use crate::room::lease::{Claim, Holder, Lease, Taken};

/// When this process first saw each lease's current version.
struct Seen {
    token: i64,
    beat: i64,
    at: Instant,
    /// The same instant on this host's wall clock (for `Holder::heartbeat_ms`).
    wall_ms: i64,
}

fn seen() -> &'static Mutex<HashMap<(String, String), Seen>> {
    static SEEN: OnceLock<Mutex<HashMap<(String, String), Seen>>> = OnceLock::new();
    SEEN.get_or_init(Default::default)
}

/// The sort key of `service`'s lease in `room` (a room of no name: the
/// leases of before rooms).
pub fn key_of_service(room: &str, service: &str) -> i64 {
    if room.is_empty() {
        key_of(service)
    } else {
        key_of(&format!("{room}\n{service}"))
    }
}

/// What a lease is remembered by in this process.
fn seen_key(table: &Table, room: &str, service: &str) -> (String, String) {
    (table.name.clone(), format!("{room}\n{service}"))
}

/// Note the version seen now; when it was first seen (wall ms).
fn observe(table: &Table, room: &str, service: &str, token: i64, beat: i64) -> i64 {
    let mut all = seen()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let k = seen_key(table, room, service);
    match all.get(&k) {
        Some(s) if s.token == token && s.beat == beat => s.wall_ms,
        _ => {
            let wall_ms = crate::clock::now().millis();
            all.insert(
                k,
                Seen {
                    token,
                    beat,
                    at: Instant::now(),
                    wall_ms,
                },
            );
            wall_ms
        }
    }
}

/// How long this process has seen `service`'s lease keep one version.
pub fn watched_for(table: &Table, room: &str, service: &str) -> Duration {
    seen()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&seen_key(table, room, service))
        .map_or(Duration::ZERO, |s| s.at.elapsed())
}

/// A lease item, as read.
struct Item {
    holder: Holder,
    beat: i64,
    released: bool,
}

/// A lease item of `room`, as read (one of another room: `None`).
fn item_of(table: &Table, room: &str, m: &HashMap<String, V>) -> Option<(String, Item)> {
    if get_s(m, "room").unwrap_or_default() != room {
        return None;
    }
    let service = get_s(m, "service")?;
    let token = get_n(m, "token")?;
    let beat = get_n(m, "beat").unwrap_or(0);
    let heartbeat_ms = observe(table, room, &service, token, beat);
    Some((
        service,
        Item {
            holder: Holder {
                session: get_s(m, "session")?,
                operator: get_s(m, "operator")?,
                token,
                since_ms: get_n(m, "since_ms").unwrap_or(0),
                heartbeat_ms,
                local: false,
            },
            beat,
            released: get_bool(m, "released"),
        },
    ))
}

fn read(table: &Arc<Table>, room: &str, service: &str) -> Result<Option<Item>, Fault> {
    let k = key(LEASES, key_of_service(room, service));
    let got = table.call(move |c, t| async move {
        c.get_item()
            .table_name(&t)
            .set_key(Some(k))
            .consistent_read(true)
            .send()
            .await
            .map(|o| o.item().cloned())
            .map_err(|e| crate::room::dynamo::fault("GetItem", &e))
    })?;
    Ok(got.and_then(|m| item_of(table, room, &m)).map(|(_, i)| i))
}

pub fn holder(table: &Arc<Table>, room: &str, service: &str) -> Result<Option<Holder>, Fault> {
    Ok(read(table, room, service)?
        .filter(|i| !i.released)
        .map(|i| i.holder))
}

pub(crate) fn all(table: &Arc<Table>, room: &str) -> Result<Vec<(String, Holder)>, Fault> {
    let items = table.call(|c, t| async move {
        c.query()
            .table_name(&t)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(LEASES))
            .consistent_read(true)
            .send()
            .await
            .map(|o| o.items().to_vec())
            .map_err(|e| crate::room::dynamo::fault("Query", &e))
    })?;
    let mut held: Vec<(String, Holder)> = items
        .iter()
        .filter_map(|m| item_of(table, room, m))
        .filter(|(_, i)| !i.released)
        .map(|(s, i)| (s, i.holder))
        .collect();
    held.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(held)
}

/// Write the lease item for a new holder, only if the item is still as it
/// was read (`None`: there was none).
fn put_holder(
    table: &Arc<Table>,
    room: &str,
    service: &str,
    holder: &Holder,
    was: Option<(i64, i64)>,
) -> Result<bool, Fault> {
    let mut m = key(LEASES, key_of_service(room, service));
    m.insert("service".into(), s(service));
    if !room.is_empty() {
        m.insert("room".into(), s(room));
    }
    m.insert("session".into(), s(&holder.session));
    m.insert("operator".into(), s(&holder.operator));
    m.insert("token".into(), n(holder.token));
    m.insert("since_ms".into(), n(holder.since_ms));
    m.insert("heartbeat_ms".into(), n(holder.since_ms));
    m.insert("beat".into(), n(0));
    m.insert("released".into(), V::Bool(false));
    let answer = table.call(move |c, t| async move {
        let put = c.put_item().table_name(&t).set_item(Some(m));
        let put = match was {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some((token, beat)) => put
                .condition_expression("#t = :t AND beat = :b")
                .expression_attribute_names("#t", "token")
                .expression_attribute_values(":t", n(token))
                .expression_attribute_values(":b", n(beat)),
        };
        put.send()
            .await
            .map(|_| ())
            .map_err(|e| crate::room::dynamo::fault("PutItem", &e))
    });
    match answer {
        Ok(()) => Ok(true),
        Err(Fault::Refused(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn take(
    table: &Arc<Table>,
    room: &str,
    service: &str,
    session: &str,
    operator: &str,
    now_ms: i64,
    expiry: Duration,
    claim: Claim,
) -> Result<Taken, Fault> {
    // Two rounds: a write refused because the item moved under us is
    // answered from what it became.
    for _ in 0..2 {
        let current = read(table, room, service)?;
        let mine = |token| Holder {
            session: session.into(),
            operator: operator.into(),
            token,
            since_ms: now_ms,
            heartbeat_ms: now_ms,
            local: false,
        };
        let (next, was, took_over) = match current {
            None => (1, None, None),
            Some(i) if i.released => (i.holder.token + 1, Some((i.holder.token, i.beat)), None),
            Some(i) if i.holder.session == session => {
                let lease = Lease {
                    service: service.into(),
                    session: session.into(),
                    operator: i.holder.operator.clone(),
                    token: i.holder.token,
                    since_ms: i.holder.since_ms,
                    took_over: None,
                };
                if renew(table, room, &lease, now_ms)? {
                    return Ok(Taken::Granted(lease));
                }
                continue;
            }
            Some(i) => {
                // Dead only when its version has stood still for the
                // expiry on this process's own clock.
                let dead = watched_for(table, room, service) >= expiry;
                let may = match claim {
                    Claim::Free => false,
                    Claim::TakeOver => dead,
                    Claim::Force => true,
                };
                if !may {
                    return Ok(Taken::HeldBy(i.holder));
                }
                (
                    i.holder.token + 1,
                    Some((i.holder.token, i.beat)),
                    Some(i.holder),
                )
            }
        };
        if put_holder(table, room, service, &mine(next), was)? {
            return Ok(Taken::Granted(Lease {
                service: service.into(),
                session: session.into(),
                operator: operator.into(),
                token: next,
                since_ms: now_ms,
                took_over,
            }));
        }
    }
    match holder(table, room, service)? {
        Some(h) => Ok(Taken::HeldBy(h)),
        None => Err(Fault::Down(format!(
            "the lease of {service} keeps changing: try again"
        ))),
    }
}

/// Change `lease`'s item with `set` (values named in `values`), only while
/// it is still this holder's — and, when `held`, not given up: whether it was.
fn update_own(
    table: &Arc<Table>,
    room: &str,
    lease: &Lease,
    set: &'static str,
    held: bool,
    values: Vec<(&'static str, V)>,
) -> Result<bool, Fault> {
    let (k, session, token) = (
        key(LEASES, key_of_service(room, &lease.service)),
        lease.session.clone(),
        lease.token,
    );
    let answer = table.call(move |c, t| async move {
        let mut u = c
            .update_item()
            .table_name(&t)
            .set_key(Some(k))
            .update_expression(set)
            .expression_attribute_names("#s", "session")
            .expression_attribute_names("#t", "token")
            .expression_attribute_values(":s", s(&session))
            .expression_attribute_values(":t", n(token));
        u = if held {
            u.condition_expression("#s = :s AND #t = :t AND released = :f")
                .expression_attribute_values(":f", V::Bool(false))
        } else {
            u.condition_expression("#s = :s AND #t = :t")
        };
        if set.contains("#o") {
            u = u.expression_attribute_names("#o", "operator");
        }
        for (name, v) in values {
            u = u.expression_attribute_values(name, v);
        }
        u.send()
            .await
            .map(|_| ())
            .map_err(|e| crate::room::dynamo::fault("UpdateItem", &e))
    });
    match answer {
        Ok(()) => Ok(true),
        Err(Fault::Refused(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A heartbeat moves the lease's version: `false` when it is not ours any more.
pub(crate) fn renew(
    table: &Arc<Table>,
    room: &str,
    lease: &Lease,
    now_ms: i64,
) -> Result<bool, Fault> {
    update_own(
        table,
        room,
        lease,
        "SET beat = beat + :one, heartbeat_ms = :now",
        true,
        vec![(":one", n(1)), (":now", n(now_ms))],
    )
}

/// Give it up (not ours any more: nothing to give up).
pub(crate) fn release(table: &Arc<Table>, room: &str, lease: &Lease) -> Result<(), Fault> {
    update_own(
        table,
        room,
        lease,
        "SET released = :yes, beat = beat + :one",
        false,
        vec![(":yes", V::Bool(true)), (":one", n(1))],
    )
    .map(|_| ())
}

pub(crate) fn hand(
    table: &Arc<Table>,
    room: &str,
    lease: &Lease,
    to: &str,
    to_operator: &str,
    now_ms: i64,
) -> Result<Option<Lease>, Fault> {
    let handed = update_own(
        table,
        room,
        lease,
        "SET #s = :to, #o = :op, #t = :next, since_ms = :now, heartbeat_ms = :now, beat = :zero",
        true,
        vec![
            (":to", s(to)),
            (":op", s(to_operator)),
            (":next", n(lease.token + 1)),
            (":now", n(now_ms)),
            (":zero", n(0)),
        ],
    )?;
    Ok(handed.then(|| Lease {
        service: lease.service.clone(),
        session: to.into(),
        operator: to_operator.into(),
        token: lease.token + 1,
        since_ms: now_ms,
        took_over: None,
    }))
}
