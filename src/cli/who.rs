//! `backstop who`: everyone on the journal now, and what each one drives.

use super::*;

pub(super) fn who(journal: &crate::room::Place, json: bool, expiry: std::time::Duration) -> Done {
    let now = crate::clock::now();
    let mut people = crate::room::presence::who(journal, now.millis(), expiry)
        .map_err(|e| Failure::Failing(format!("backstop who: {e}")))?;
    // The incident roles each holds, as the room's rows fold.
    if !people.is_empty() {
        let roles = crate::room::Reader::at(journal)
            .and_then(|r| r.roles())
            .map_err(|e| {
                Failure::Failing(format!("backstop who: the roles cannot be read: {e:#}"))
            })?;
        for p in &mut people {
            p.roles = roles
                .iter()
                .filter(|(room, _, _, h)| *room == p.room && h.session == p.session)
                .map(|(_, service, role, _)| format!("{} {service}", role.word()))
                .collect();
        }
    }
    if json {
        out::line(serde_json::to_string(&people).unwrap_or_else(|_| "[]".into()));
        return Ok(exit::OK);
    }
    if people.is_empty() {
        out::line(format_args!("nobody is on {}", journal.describe()));
    }
    for p in &people {
        let seen = now.since(crate::core::time::Ts(p.last_seen_ms));
        let roles = if p.roles.is_empty() {
            String::new()
        } else {
            format!("  [{}]", p.roles.join(", "))
        };
        out::line(format_args!(
            "{:<9} {:<32} {:<16} {:<18} {}{roles}  (since {}, seen {} ago)",
            p.role.to_uppercase(),
            p.operator,
            format!("room {}", p.room),
            p.what,
            p.services.join(", "),
            p.since,
            crate::core::time::age(seen)
        ));
    }
    Ok(exit::OK)
}
