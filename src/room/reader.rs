//! Reading the journal back: reports, the interrupted changes, the
//! guards' memory. Always from a SQLite file (a table's rows from this
//! host's replica of it), so every report is the same query.

use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

use super::sqlite::{COLUMNS, row};
use super::{Place, Row, chain, dynamo, sqlite};
use crate::core::decision::RollbackRecord;
use crate::core::msg::{Shared, SharedWhat};
use crate::core::roles::{Holder, Role, RoleRow, Roles};
use crate::core::time::Ts;

/// Reading the journal: reports, and what was interrupted.
pub struct Reader {
    conn: Connection,
    /// The room it reads for (`""`: every room): what was interrupted and
    /// the guards' memory are a room's.
    room: String,
}

impl Reader {
    /// The journal at `place`. A table's rows are read from this host's
    /// replica, brought up to date first; a table that does not answer
    /// leaves the replica as it was, and the log says so.
    pub fn at(place: &Place) -> Result<Self> {
        if let Some(t) = &place.table
            && let Err(e) = dynamo::sync(t, &place.file)
        {
            tracing::warn!(
                "the journal's replica {} may be behind: {e:#}",
                place.file.display()
            );
        }
        Ok(Self::open(&place.file)?.in_room(&place.room))
    }

    /// As `at`, but a table that does not answer is an error: a report or a
    /// verification must not be read from a replica that may be behind.
    pub fn at_current(place: &Place) -> Result<Self> {
        if let Some(t) = &place.table {
            dynamo::sync(t, &place.file).with_context(|| {
                format!(
                    "cannot bring this host's replica ({}) up to date",
                    place.file.display()
                )
            })?;
        }
        Ok(Self::open(&place.file)?.in_room(&place.room))
    }

    pub fn open(path: &Path) -> Result<Self> {
        if !path.exists() {
            anyhow::bail!(
                "no journal at {} (nothing has been recorded yet)",
                path.display()
            );
        }
        let conn = sqlite::connect(path)?;
        Ok(Reader {
            conn,
            room: String::new(),
        })
    }

    /// The same reader, for `room` only (rows written before rooms count in
    /// every room).
    pub fn in_room(mut self, room: &str) -> Self {
        self.room = room.to_string();
        self
    }

    /// Intents with no outcome: actions interrupted by a crash or a kill.
    pub fn interrupted(&self) -> Result<Vec<Row>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM journal i WHERE kind = 'intent' \
             AND (?1 = '' OR room = ?1 OR room IS NULL) AND NOT EXISTS \
             (SELECT 1 FROM journal o WHERE o.kind = 'outcome' AND o.ref = i.id) ORDER BY id"
        );
        let mut st = self.conn.prepare(&sql)?;
        let rows = st
            .query_map([&self.room], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every incident, newest first.
    pub fn incidents(&self) -> Result<Vec<Row>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM journal WHERE kind = 'incident' ORDER BY id DESC"
        ))?;
        let rows = st
            .query_map([], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The incidents never closed, newest first, each with the severity in
    /// force (the last a person declared, else the rule's proposal).
    pub fn open_incidents(&self) -> Result<Vec<(Row, Option<crate::core::comms::Severity>)>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM journal AS i WHERE kind = 'incident' AND NOT EXISTS \
             (SELECT 1 FROM journal AS c WHERE c.kind = 'closed' AND c.incident = i.id) \
             ORDER BY id DESC"
        ))?;
        let open = st
            .query_map([], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::new();
        for inc in open {
            let declared = self
                .of_incident(inc.id)?
                .into_iter()
                .rev()
                .find(|r| r.entry.kind == "severity");
            let severity = match declared {
                Some(r) => r.entry.data.as_ref().and_then(|d| {
                    Some(crate::core::comms::Severity {
                        level: u8::try_from(d.get("level")?.as_u64()?).ok()?,
                        why: d.get("why")?.as_str()?.to_string(),
                        by: Some(r.entry.operator.clone()),
                        at: r.entry.at,
                    })
                }),
                None => inc.entry.data.as_ref().and_then(|d| {
                    Some(crate::core::comms::Severity {
                        level: u8::try_from(d.get("severity")?.as_u64()?).ok()?,
                        why: d.get("severity_why")?.as_str()?.to_string(),
                        by: None,
                        at: inc.entry.at,
                    })
                }),
            };
            out.push((inc, severity));
        }
        Ok(out)
    }

    /// Who holds each role of the incidents still open, as every console
    /// folds the role rows (`core::roles`): (room, service, role, holder).
    pub fn roles(&self) -> Result<Vec<(String, String, Role, Holder)>> {
        let rows = self.role_rows()?;
        let mut folded: Vec<(String, String, Roles)> = Vec::new();
        for r in &rows {
            let Some(Shared {
                what:
                    SharedWhat::Role {
                        role,
                        change,
                        from,
                        incident,
                    },
                ..
            }) = super::tail::shared(r)
            else {
                continue;
            };
            let room = r.room.clone().unwrap_or_default();
            let service = r
                .entry
                .scope
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let i = match folded
                .iter()
                .position(|(m, s, _)| *m == room && *s == service)
            {
                Some(i) => i,
                None => {
                    folded.push((room, service, Roles::default()));
                    folded.len() - 1
                }
            };
            // A row that lost its race changes nothing, here as anywhere.
            let _ = folded[i].2.apply(&RoleRow {
                role,
                change,
                from,
                operator: r.entry.operator.clone(),
                session: r.session.clone().unwrap_or_default(),
                at: r.entry.at,
                incident,
            });
        }
        let open: Vec<i64> = self.open_incidents()?.iter().map(|(r, _)| r.id).collect();
        Ok(folded
            .into_iter()
            .flat_map(|(room, service, roles)| {
                let open = &open;
                Role::ALL.into_iter().filter_map(move |role| {
                    let h = roles.get(role)?.clone();
                    h.incident
                        .is_some_and(|i| open.contains(&i))
                        .then(|| (room.clone(), service.clone(), role, h))
                })
            })
            .collect())
    }

    /// Every role row (`core::roles`), in the journal's order.
    pub fn role_rows(&self) -> Result<Vec<Row>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM journal WHERE kind = 'event' AND \
             (CASE WHEN json_valid(data) THEN json_extract(data, '$.kind') END) = 'role' ORDER BY id"
        ))?;
        let rows = st
            .query_map([], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every drill's score row, oldest first.
    pub fn drills(&self) -> Result<Vec<Row>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM journal WHERE kind = 'drill' ORDER BY id"
        ))?;
        let rows = st
            .query_map([], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn incident(&self, id: i64) -> Result<Option<Row>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM journal WHERE kind = 'incident' AND id = ?1"
        ))?;
        Ok(st.query_row([id], row).optional()?)
    }

    /// Everything about one service between two instants, in order.
    pub fn between(&self, service: &str, from: Ts, to: Ts) -> Result<Vec<Row>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM journal WHERE at >= ?1 AND at <= ?2 \
             AND (scope = ?3 OR substr(scope, 1, length(?3) + 1) = ?3 || '/') ORDER BY id"
        ))?;
        let rows = st
            .query_map(params![from.millis(), to.millis(), service], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Rows that belong to an incident (intents, outcomes, its closing).
    pub fn of_incident(&self, id: i64) -> Result<Vec<Row>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM journal WHERE incident = ?1 ORDER BY id"
        ))?;
        let rows = st
            .query_map([id], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every row of these kinds (`incident`, `intent`, …), in time order.
    pub fn of_kinds(&self, kinds: &[&str]) -> Result<Vec<Row>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM journal WHERE kind IN (SELECT value FROM json_each(?1)) \
             ORDER BY at, id"
        ))?;
        let rows = st
            .query_map([serde_json::to_string(kinds)?], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Events of these kinds of data (`deploy`, `presence`, `lease`,
    /// `approval`) up to `until`, in time order.
    pub fn events_of(&self, kinds: &[&str], until: Ts) -> Result<Vec<Row>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM journal WHERE kind = 'event' AND at <= ?2 \
             AND (CASE WHEN json_valid(data) THEN json_extract(data, '$.kind') END) \
             IN (SELECT value FROM json_each(?1)) \
             ORDER BY at, id"
        ))?;
        let rows = st
            .query_map(params![serde_json::to_string(kinds)?, until.millis()], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Rollbacks done since `since` (a switch or revert whose outcome was
    /// good), by service name: the guards' memory across restarts.
    pub fn rollbacks_since(&self, since: Ts) -> Result<Vec<(String, RollbackRecord)>> {
        let sql = "SELECT inc.scope, o.at, o.operator, json_extract(inc.data, '$.suspect'), json_extract(inc.data, '$.target') \
                   FROM journal o JOIN journal i ON o.ref = i.id JOIN journal inc ON inc.id = i.incident \
                   WHERE o.kind = 'outcome' AND o.level = 'good' AND o.at >= ?1 AND i.kind = 'intent' \
                   AND inc.kind = 'incident' AND (?2 = '' OR i.room = ?2 OR i.room IS NULL) \
                   AND COALESCE(json_extract(i.data, '$.drill'), 0) = 0 \
                   AND json_extract(i.data, '$.work') IN ('switch-traffic', 'revert-deployment') ORDER BY o.id";
        let mut st = self.conn.prepare(sql)?;
        let rows = st
            .query_map(params![since.millis(), self.room], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    RollbackRecord {
                        at: Ts(r.get(1)?),
                        by: r.get(2)?,
                        from: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                        to: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The last change of `service`'s weights that backstop made (the
    /// weights dialog, a drill, or a checklist's switch): when, by whom,
    /// and what, from its good outcome and the intent it answers.
    pub fn last_weight_change(&self, service: &str) -> Result<Option<(Ts, String, String)>> {
        let sql = "SELECT o.at, i.operator, o.text FROM journal o JOIN journal i ON o.ref = i.id \
                   WHERE o.kind = 'outcome' AND o.level = 'good' AND i.kind = 'intent' \
                   AND (i.scope = ?1 OR i.scope LIKE ?1 || '/%') \
                   AND json_extract(i.data, '$.work') IN ('set-weights', 'switch-traffic') \
                   ORDER BY o.id DESC LIMIT 1";
        let mut st = self.conn.prepare(sql)?;
        let mut rows = st.query_map([service], |r| Ok((Ts(r.get(0)?), r.get(1)?, r.get(2)?)))?;
        Ok(rows.next().transpose()?)
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    pub fn integrity(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// Recompute the hash chain over every row.
    pub fn verify(&self) -> Result<chain::Verdict> {
        chain::verify(&self.conn)
    }

    pub fn count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM journal", [], |r| r.get(0))?)
    }
}
