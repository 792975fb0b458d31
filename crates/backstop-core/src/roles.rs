//! The incident's roles beside the driver (who holds the lease and is the
//! incident commander): the communications lead, who gets the update
//! prompts, and the scribe, whose notes the timeline marks. A role is taken
//! and handed over explicitly, like the lease, and never moves by itself —
//! not when the severity changes, not when its holder goes quiet.
//!
//! Roles live in the journal's rows, and every console folds the same rows
//! in the journal's order by the same rule (`Roles::apply`): a row stands
//! only if its writer saw the role as it then was. Two people taking the
//! same free role at once both write; the first row in the journal wins on
//! every console, and the second is told it lost — one answer in the room,
//! never one per console.

use serde::{Deserialize, Serialize};

use crate::time::Ts;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Comms,
    Scribe,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Comms, Role::Scribe];

    /// Its word in commands and rows.
    pub fn word(self) -> &'static str {
        match self {
            Role::Comms => "comms",
            Role::Scribe => "scribe",
        }
    }

    /// As people say it.
    pub fn title(self) -> &'static str {
        match self {
            Role::Comms => "communications lead",
            Role::Scribe => "scribe",
        }
    }

    pub fn parse(word: &str) -> Option<Role> {
        match word {
            "comms" | "communications" | "comms-lead" => Some(Role::Comms),
            "scribe" => Some(Role::Scribe),
            _ => None,
        }
    }
}

/// Who holds a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub operator: String,
    pub session: String,
    pub since: Ts,
    /// The incident it was taken for: a role ends with its incident.
    pub incident: Option<i64>,
}

/// What a row does with a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The writer takes it: free, or from `from`'s holder (named, so a
    /// person confirmed whom they take it from).
    Take,
    /// Its holder hands it to another session.
    Hand { session: String, operator: String },
    /// Its holder gives it up.
    Release,
}

/// One role row, as the journal holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleRow {
    pub role: Role,
    pub change: Change,
    /// The session the writer saw holding the role (`None`: free).
    pub from: Option<String>,
    pub operator: String,
    pub session: String,
    pub at: Ts,
    pub incident: Option<i64>,
}

/// Why a role row changed nothing: it was written from a view the journal
/// had already moved past, or by someone who did not hold the role.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Lost {
    #[error("{} took the {} first", .0, .1.title())]
    Raced(String, Role),
    #[error("only its holder hands over or gives up the {}", .0.title())]
    NotHolder(Role),
}

/// The roles of one service's incident.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    pub comms: Option<Holder>,
    pub scribe: Option<Holder>,
}

impl Roles {
    /// Who holds `role` (for whichever incident).
    pub fn get(&self, role: Role) -> Option<&Holder> {
        match role {
            Role::Comms => self.comms.as_ref(),
            Role::Scribe => self.scribe.as_ref(),
        }
    }

    /// Who holds `role` for `incident`: a holder of an earlier incident
    /// holds nothing now.
    pub fn of_incident(&self, role: Role, incident: Option<i64>) -> Option<&Holder> {
        self.get(role).filter(|h| h.incident == incident)
    }

    fn slot(&mut self, role: Role) -> &mut Option<Holder> {
        match role {
            Role::Comms => &mut self.comms,
            Role::Scribe => &mut self.scribe,
        }
    }

    /// The roles `session` holds for `incident`.
    pub fn held(&self, session: &str, incident: Option<i64>) -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|r| {
                self.of_incident(*r, incident)
                    .is_some_and(|h| h.session == session)
            })
            .collect()
    }

    /// Apply `row`, the next in the journal's order.
    pub fn apply(&mut self, row: &RoleRow) -> Result<(), Lost> {
        let held = self.of_incident(row.role, row.incident);
        let now = held.map(|h| h.session.clone());
        if row.from != now {
            let by = held.map_or_else(|| "nobody".to_string(), |h| h.operator.clone());
            return Err(Lost::Raced(by, row.role));
        }
        let next = match &row.change {
            Change::Take => Some(Holder {
                operator: row.operator.clone(),
                session: row.session.clone(),
                since: row.at,
                incident: row.incident,
            }),
            Change::Hand { .. } | Change::Release if now.as_deref() != Some(&row.session) => {
                return Err(Lost::NotHolder(row.role));
            }
            Change::Hand { session, operator } => Some(Holder {
                operator: operator.clone(),
                session: session.clone(),
                since: row.at,
                incident: row.incident,
            }),
            Change::Release => None,
        };
        *self.slot(row.role) = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(role: Role, change: Change, from: Option<&str>, who: &str, at: i64) -> RoleRow {
        RoleRow {
            role,
            change,
            from: from.map(str::to_string),
            operator: format!("{who}@host"),
            session: who.to_string(),
            at: Ts(at),
            incident: Some(12),
        }
    }

    #[test]
    fn the_first_row_in_the_journal_wins_and_only_the_holder_hands_over() {
        let mut r = Roles::default();
        // Alice and Bob both saw the role free: Alice's row came first.
        assert_eq!(
            r.apply(&row(Role::Comms, Change::Take, None, "alice", 1)),
            Ok(())
        );
        assert_eq!(
            r.apply(&row(Role::Comms, Change::Take, None, "bob", 2)),
            Err(Lost::Raced("alice@host".into(), Role::Comms))
        );
        assert_eq!(r.held("alice", Some(12)), vec![Role::Comms]);
        // Bob cannot hand away what he does not hold, even naming Alice.
        let hand = |to: &str| Change::Hand {
            session: to.into(),
            operator: format!("{to}@host"),
        };
        assert_eq!(
            r.apply(&row(Role::Comms, hand("bob"), Some("alice"), "bob", 3)),
            Err(Lost::NotHolder(Role::Comms))
        );
        assert_eq!(
            r.apply(&row(Role::Comms, hand("carol"), Some("alice"), "alice", 4)),
            Ok(())
        );
        assert_eq!(r.comms.as_ref().unwrap().session, "carol");
        assert_eq!(r.comms.as_ref().unwrap().since, Ts(4));
        // Taking it over names whom from; a stale name loses.
        assert!(
            r.apply(&row(Role::Comms, Change::Take, Some("alice"), "dave", 5))
                .is_err()
        );
        assert_eq!(
            r.apply(&row(Role::Comms, Change::Take, Some("carol"), "dave", 6)),
            Ok(())
        );
        // The scribe is its own role.
        assert_eq!(r.scribe, None);
        assert_eq!(
            r.apply(&row(Role::Scribe, Change::Take, None, "dave", 7)),
            Ok(())
        );
        assert_eq!(r.held("dave", Some(12)), vec![Role::Comms, Role::Scribe]);
        assert_eq!(
            r.apply(&row(Role::Scribe, Change::Release, Some("dave"), "dave", 8)),
            Ok(())
        );
        assert_eq!(r.held("dave", Some(12)), vec![Role::Comms]);
        // The next incident starts with its roles free.
        assert_eq!(r.held("dave", Some(13)), vec![]);
        let mut next = row(Role::Comms, Change::Take, None, "erin", 9);
        next.incident = Some(13);
        assert_eq!(r.apply(&next), Ok(()));
    }

    #[test]
    fn words_parse_back() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.word()), Some(r));
        }
        assert_eq!(Role::parse("driver"), None);
    }
}
