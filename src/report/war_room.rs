//! The war room as the journal records it: who joined and left (presence),
//! who held each service's lease and how it changed hands, and the
//! approvals asked and given. All are `event` rows, told apart by
//! `data.kind`; reports read them here, and only here.

use serde::Serialize;
use serde_json::Value;

use crate::core::time::Ts;
use crate::room::Row;

/// The `data.kind`s of the war room's rows.
pub const KINDS: [&str; 3] = ["presence", "lease", "approval"];

/// The person a recorded operator (or a session, `operator#pid-started`)
/// names, as `identity::person` compares people; `None` for an empty one.
pub fn person_key(recorded: &str) -> Option<String> {
    let key = crate::identity::person(without_approver(without_session(recorded))).0;
    (!key.is_empty()).then_some(key)
}

/// `alice (…), approved by carol` → `alice (…)`: who made a change, not
/// who approved it (counted apart), nor an override's mark.
fn without_approver(s: &str) -> &str {
    [", approved by ", ", two-person rule OVERRIDDEN"]
        .iter()
        .filter_map(|m| s.find(m))
        .min()
        .map_or(s, |i| &s[..i])
}

/// `alice (…)#4242-1764400000000` → `alice (…)`: a session is its operator,
/// the process's number and its start.
fn without_session(s: &str) -> &str {
    match s.rsplit_once('#') {
        Some((op, tail))
            if tail
                .split_once('-')
                .is_some_and(|(p, t)| is_digits(p) && is_digits(t)) =>
        {
            op
        }
        _ => s,
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn data_kind(r: &Row) -> Option<&str> {
    r.entry.data.as_ref()?.get("kind")?.as_str()
}

fn text(d: &Value, key: &str) -> Option<String> {
    d.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The service a row is about: its scope up to the first `/`.
pub fn service_of(scope: &str) -> &str {
    scope.split('/').next().unwrap_or(scope)
}

/// A console or a command joining or leaving the journal.
#[derive(Clone, Debug, PartialEq)]
pub struct Presence {
    pub at: Ts,
    pub operator: String,
    pub joined: bool,
    pub role: String,
    /// `None`: every service (the row names none).
    pub services: Option<Vec<String>>,
    pub read_only: bool,
}

impl Presence {
    pub fn of(r: &Row) -> Option<Presence> {
        if data_kind(r) != Some("presence") {
            return None;
        }
        let d = r.entry.data.as_ref()?;
        let joined = match d.get("action")?.as_str()? {
            "joined" => true,
            "left" => false,
            _ => return None,
        };
        let services = super::strings_of(d, "services");
        Some(Presence {
            at: r.entry.at,
            operator: r.entry.operator.clone(),
            joined,
            role: text(d, "role").unwrap_or_default(),
            services: (!services.is_empty()).then_some(services),
            read_only: d.get("read_only").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    pub fn covers(&self, service: &str) -> bool {
        self.services
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == service))
    }
}

/// A service's lease taken, handed over, taken over, asked for or released.
#[derive(Clone, Debug, PartialEq)]
pub struct Lease {
    pub at: Ts,
    pub service: String,
    pub action: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Lease {
    pub fn of(r: &Row) -> Option<Lease> {
        if data_kind(r) != Some("lease") {
            return None;
        }
        let d = r.entry.data.as_ref()?;
        Some(Lease {
            at: r.entry.at,
            service: text(d, "service").unwrap_or_else(|| service_of(&r.entry.scope).to_string()),
            action: text(d, "action")?,
            from: text(d, "from"),
            to: text(d, "to"),
        })
    }

    /// The one who drives after it, when it gave someone the wheel.
    pub fn driver(&self) -> Option<&str> {
        matches!(&self.action[..], "take" | "handover" | "takeover")
            .then_some(self.to.as_deref())
            .flatten()
    }
}

/// One step of a change's approval: asked, approved, rejected, overridden,
/// expired or refused.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Approval {
    #[serde(serialize_with = "super::rfc3339")]
    pub at: Ts,
    pub by: String,
    pub action: String,
    pub request: Option<i64>,
    pub step: Option<String>,
    pub reason: Option<String>,
    #[serde(skip)]
    pub service: String,
    #[serde(skip)]
    pub incident: Option<i64>,
}

impl Approval {
    pub fn of(r: &Row) -> Option<Approval> {
        if data_kind(r) != Some("approval") {
            return None;
        }
        let d = r.entry.data.as_ref()?;
        Some(Approval {
            at: r.entry.at,
            by: r.entry.operator.clone(),
            action: text(d, "action")?,
            request: d.get("request").and_then(Value::as_i64),
            step: text(d, "step"),
            reason: text(d, "reason"),
            service: service_of(&r.entry.scope).to_string(),
            incident: r.entry.incident,
        })
    }
}

/// Someone who watched an incident: present on the journal, for its
/// service, at some time between its opening and its end.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Watcher {
    /// As recorded (self-declared or not, AWS's name, the login).
    pub who: String,
    /// The key that compares people (`identity::person`).
    pub person: String,
    /// Not self-declared.
    pub verified: bool,
    pub role: String,
    pub read_only: bool,
    /// When they joined (before the incident, when they were already there).
    #[serde(serialize_with = "super::rfc3339")]
    pub joined: Ts,
}

/// Who watched `service` between `from` and `to`: those who joined before
/// and had not left at `from`, then those who joined meanwhile; one line a
/// person, with the session that made them present. Presence rows come in
/// time order.
///
/// A session that was killed writes no `left`: it stays present here.
pub fn watchers(presence: &[Presence], service: &str, from: Ts, to: Ts) -> Vec<Watcher> {
    // Sessions open per person just before `from`, and the last join.
    let mut open: std::collections::BTreeMap<String, (u32, &Presence)> = Default::default();
    let mut during: Vec<&Presence> = Vec::new();
    for p in presence.iter().filter(|p| p.covers(service) && p.at <= to) {
        if p.at >= from {
            if p.joined {
                during.push(p);
            }
            continue;
        }
        let Some(key) = person_key(&p.operator) else {
            continue;
        };
        let e = open.entry(key).or_insert((0, p));
        if p.joined {
            *e = (e.0 + 1, p);
        } else {
            e.0 = e.0.saturating_sub(1);
        }
    }
    let mut already: Vec<&Presence> = open
        .into_values()
        .filter(|(n, _)| *n > 0)
        .map(|(_, p)| p)
        .collect();
    already.sort_by_key(|p| p.at);
    let mut out: Vec<Watcher> = Vec::new();
    for p in already.into_iter().chain(during) {
        let (person, verified) = crate::identity::person(without_session(&p.operator));
        if person.is_empty() || out.iter().any(|w| w.person == person) {
            continue;
        }
        out.push(Watcher {
            who: p.operator.clone(),
            person,
            verified,
            role: p.role.clone(),
            read_only: p.read_only,
            joined: p.at,
        });
    }
    out
}

/// A change of an incident role that stood (`core::roles`): the rows
/// folded in the journal's order, as every console folded them.
#[derive(Clone, Debug, Serialize)]
pub struct RoleChange {
    #[serde(serialize_with = "super::rfc3339")]
    pub at: Ts,
    /// `communications lead`, `scribe`.
    pub role: String,
    /// Who holds it after the change (`None`: given up).
    pub holder: Option<String>,
    /// Who wrote the row.
    pub by: String,
}

/// The role changes among an incident's own rows.
pub fn role_changes(own: &[Row]) -> Vec<RoleChange> {
    use crate::core::msg::SharedWhat;
    use crate::core::roles::{RoleRow, Roles};
    let mut roles = Roles::default();
    let mut out = Vec::new();
    for r in own {
        let Some(s) = crate::room::tail::shared(r) else {
            continue;
        };
        let SharedWhat::Role {
            role,
            change,
            from,
            incident,
        } = s.what
        else {
            continue;
        };
        let row = RoleRow {
            role,
            change,
            from,
            operator: r.entry.operator.clone(),
            session: r.session.clone().unwrap_or_default(),
            at: r.entry.at,
            incident,
        };
        if roles.apply(&row).is_ok() {
            out.push(RoleChange {
                at: r.entry.at,
                role: role.title().to_string(),
                holder: roles.get(role).map(|h| h.operator.clone()),
                by: r.entry.operator.clone(),
            });
        }
    }
    out
}
