//! The journal in one SQLite file (WAL), shared by every backstop on one
//! machine: the console, headless commands, observers. Each write is one
//! `BEGIN IMMEDIATE` transaction, so two processes appending at once cannot
//! both chain to the same row, and an intent under a lease is checked
//! against the lease table in the transaction that writes it.

use std::path::Path;

use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Backend, Claim, Entry, Error, Fence, Holder, Lease, Present, Raw, Row, Taken};
use crate::core::time::Ts;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS journal (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,      -- ms since the epoch, UTC
    kind     TEXT    NOT NULL,      -- event, incident, intent, outcome, closed, checklist
    scope    TEXT    NOT NULL,      -- web, web/green, backstop
    level    TEXT    NOT NULL,
    text     TEXT    NOT NULL,
    operator TEXT    NOT NULL,
    incident INTEGER,               -- the incident an intent, outcome or closing belongs to
    ref      INTEGER,               -- an outcome's intent
    data     TEXT,                  -- JSON
    hash     TEXT,                  -- sha256(previous row's hash, this row), hex: see chain.rs
    session  TEXT,                  -- the backstop that wrote it (identity::session)
    room     TEXT                   -- the room it belongs to (none: written before rooms)
);
CREATE INDEX IF NOT EXISTS journal_kind ON journal(kind);
CREATE INDEX IF NOT EXISTS journal_ref ON journal(ref);
CREATE TRIGGER IF NOT EXISTS journal_append_only_update BEFORE UPDATE ON journal
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS journal_append_only_delete BEFORE DELETE ON journal
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
-- `INSERT OR REPLACE` / `REPLACE INTO` on an existing id deletes the row
-- without firing the delete trigger: refuse the insert before it can.
CREATE TRIGGER IF NOT EXISTS journal_append_only_replace BEFORE INSERT ON journal
    WHEN EXISTS (SELECT 1 FROM journal WHERE id = NEW.id)
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
-- An intent has exactly one outcome, whoever writes it.
CREATE TRIGGER IF NOT EXISTS journal_one_outcome BEFORE INSERT ON journal
    WHEN NEW.kind = 'outcome' AND NEW.ref IS NOT NULL
     AND EXISTS (SELECT 1 FROM journal WHERE kind = 'outcome' AND ref = NEW.ref)
    BEGIN SELECT RAISE(ABORT, 'an intent has exactly one outcome'); END;
";

pub(super) const COLUMNS: &str =
    "id, at, kind, scope, level, text, operator, incident, ref, data, session, room";

/// The leases, beside the rows: one per service of a room (a table of its
/// own: it changes, the journal never does).
const LEASES: &str = "CREATE TABLE IF NOT EXISTS leases (
    room         TEXT NOT NULL DEFAULT '',
    service      TEXT NOT NULL,
    session      TEXT NOT NULL,
    operator     TEXT NOT NULL,
    token        INTEGER NOT NULL,
    since_ms     INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL,
    released     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room, service)
)";

/// Who is here: one row per session, in its room.
const PRESENCE: &str = "CREATE TABLE IF NOT EXISTS presence (
    session      TEXT PRIMARY KEY,
    operator     TEXT NOT NULL,
    what         TEXT NOT NULL,
    services     TEXT NOT NULL,
    since_ms     INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    read_only    INTEGER NOT NULL DEFAULT 0,
    room         TEXT NOT NULL DEFAULT ''
)";

/// One journal file, bound to one room: its rows, leases and people.
pub struct Sqlite {
    conn: Connection,
    file: String,
    path: std::path::PathBuf,
    room: String,
}

impl Sqlite {
    pub fn open(path: &Path, room: &str) -> Result<Self, Error> {
        Ok(Sqlite {
            conn: connect(path).map_err(|e| unusable(path, &e))?,
            file: path.display().to_string(),
            path: path.to_path_buf(),
            room: room.to_string(),
        })
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        Error::Unusable(format!("the journal {}: {e}", self.file))
    }
}

/// An error opening the file as one sentence, or who may write it.
fn unusable(path: &Path, e: &anyhow::Error) -> Error {
    if let Some(p) = super::access::denied(path) {
        return p;
    }
    Error::Unusable(format!("{e:#}"))
}

impl Backend for Sqlite {
    fn append(&mut self, session: &str, rows: &[Entry]) -> Result<i64, Error> {
        insert_all(&self.conn, session, &self.room, rows).map_err(|e| self.err(e))
    }

    fn append_fenced(&mut self, session: &str, e: &Entry, f: &Fence) -> Result<i64, Error> {
        let room = self.room.clone();
        insert_fenced(&self.conn, session, &room, e, f).map_err(|x| match x {
            Fenced::Refused(r) => r,
            Fenced::Sql(s) => self.err(s),
        })
    }

    fn since(&self, after: i64, limit: usize) -> Result<Vec<Row>, Error> {
        let run = || -> rusqlite::Result<Vec<Row>> {
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM journal WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))?;
            st.query_map(params![after, limit as i64], row)?.collect()
        };
        run().map_err(|e| self.err(e))
    }

    fn head(&self) -> Result<i64, Error> {
        self.conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM journal", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn holder(&self, service: &str) -> Result<Option<Holder>, Error> {
        self.conn
            .query_row(
                "SELECT session, operator, token, since_ms, heartbeat_ms FROM leases
                 WHERE room = ?1 AND service = ?2 AND released = 0",
                params![self.room, service],
                holder_of,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn take(
        &mut self,
        service: &str,
        session: &str,
        operator: &str,
        now_ms: i64,
        expiry: Duration,
        claim: Claim,
    ) -> Result<Taken, Error> {
        let room = self.room.clone();
        take_lease(
            &mut self.conn,
            &room,
            service,
            session,
            operator,
            now_ms,
            expiry,
            claim,
        )
        .map_err(|e| self.err(e))
    }

    fn renew(&self, lease: &Lease, now_ms: i64) -> Result<bool, Error> {
        let n = self
            .conn
            .execute(
                "UPDATE leases SET heartbeat_ms = ?5
                 WHERE room = ?1 AND service = ?2 AND session = ?3 AND token = ?4 AND released = 0",
                params![self.room, lease.service, lease.session, lease.token, now_ms],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    fn release(&self, lease: &Lease) -> Result<(), Error> {
        self.conn
            .execute(
                "UPDATE leases SET released = 1
                 WHERE room = ?1 AND service = ?2 AND session = ?3 AND token = ?4",
                params![self.room, lease.service, lease.session, lease.token],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn hand(
        &mut self,
        lease: &Lease,
        to: &str,
        to_operator: &str,
        now_ms: i64,
    ) -> Result<Option<Lease>, Error> {
        // One statement: the check (still ours) and the change are atomic.
        let n = self
            .conn
            .execute(
                "UPDATE leases SET session = ?5, operator = ?6, token = token + 1,
                    since_ms = ?7, heartbeat_ms = ?7
                 WHERE room = ?1 AND service = ?2 AND session = ?3 AND token = ?4 AND released = 0",
                params![
                    self.room,
                    lease.service,
                    lease.session,
                    lease.token,
                    to,
                    to_operator,
                    now_ms
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok((n == 1).then(|| Lease {
            service: lease.service.clone(),
            session: to.into(),
            operator: to_operator.into(),
            token: lease.token + 1,
            since_ms: now_ms,
            took_over: None,
        }))
    }

    fn leases(&self) -> Result<Vec<(String, Holder)>, Error> {
        let run = || -> rusqlite::Result<Vec<(String, Holder)>> {
            let mut st = self.conn.prepare_cached(
                "SELECT service, session, operator, token, since_ms, heartbeat_ms FROM leases
                 WHERE room = ?1 AND released = 0 ORDER BY service",
            )?;
            st.query_map([&self.room], |r| {
                Ok((
                    r.get(0)?,
                    Holder {
                        session: r.get(1)?,
                        operator: r.get(2)?,
                        token: r.get(3)?,
                        since_ms: r.get(4)?,
                        heartbeat_ms: r.get(5)?,
                        local: true,
                    },
                ))
            })?
            .collect()
        };
        run().map_err(|e| self.err(e))
    }

    fn present(&self, p: &Present) -> Result<(), Error> {
        self.conn
            .execute(
                "INSERT INTO presence (session, operator, what, services, since_ms, last_seen_ms, read_only, room)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(session) DO UPDATE SET last_seen_ms = ?6",
                params![
                    p.session,
                    p.operator,
                    p.what,
                    serde_json::to_string(&p.services).unwrap_or_default(),
                    p.since_ms,
                    p.last_seen_ms,
                    p.read_only,
                    p.room
                ],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn beat(&self, p: &Present, now_ms: i64) -> Result<(), Error> {
        self.conn
            .execute(
                "UPDATE presence SET last_seen_ms = ?2 WHERE session = ?1",
                params![p.session, now_ms],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn leave(&self, session: &str) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM presence WHERE session = ?1", params![session])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn vouch(&self, token: &str) -> Result<(), Error> {
        let dir = super::vouch::dir(&self.path);
        super::vouch::leave(&dir, token).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => super::access::denied(&dir.join(token))
                .unwrap_or_else(|| Error::Unusable(format!("{}: {e}", dir.display()))),
            _ => Error::Unusable(format!(
                "cannot leave the proof of this answer in {}: {e}",
                dir.display()
            )),
        })
    }

    fn vouched(&self, token: &str, _claimed: Option<&str>) -> Result<Option<String>, Error> {
        Ok(super::vouch::owner(&super::vouch::dir(&self.path), token))
    }

    fn people(&self) -> Result<Vec<Present>, Error> {
        let run = || -> rusqlite::Result<Vec<Present>> {
            let mut st = self.conn.prepare(
                "SELECT session, operator, what, services, since_ms, last_seen_ms, read_only, room
                 FROM presence ORDER BY since_ms, session",
            )?;
            st.query_map([], |r| {
                Ok(Present {
                    session: r.get(0)?,
                    operator: r.get(1)?,
                    what: r.get(2)?,
                    services: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                    since_ms: r.get(4)?,
                    last_seen_ms: r.get(5)?,
                    read_only: r.get::<_, i64>(6)? != 0,
                    room: r.get(7)?,
                })
            })?
            .collect()
        };
        run().map_err(|e| self.err(e))
    }
}

fn holder_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Holder> {
    Ok(Holder {
        session: r.get(0)?,
        operator: r.get(1)?,
        token: r.get(2)?,
        since_ms: r.get(3)?,
        heartbeat_ms: r.get(4)?,
        local: true,
    })
}

/// Take the lease of `service` in `room`: see `Backend::take`. One
/// `BEGIN IMMEDIATE` transaction, so of many asking at once exactly one
/// is granted.
#[allow(clippy::too_many_arguments)]
fn take_lease(
    conn: &mut Connection,
    room: &str,
    service: &str,
    session: &str,
    operator: &str,
    now_ms: i64,
    expiry: Duration,
    claim: Claim,
) -> rusqlite::Result<Taken> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let row: Option<(Holder, bool)> = tx
        .query_row(
            "SELECT session, operator, token, since_ms, heartbeat_ms, released FROM leases
             WHERE room = ?1 AND service = ?2",
            params![room, service],
            |r| Ok((holder_of(r)?, r.get::<_, i64>(5)? != 0)),
        )
        .optional()?;
    let lease = match row {
        Some((h, false)) if h.session == session => {
            // Ours already: a heartbeat.
            tx.execute(
                "UPDATE leases SET heartbeat_ms = ?3 WHERE room = ?1 AND service = ?2",
                params![room, service, now_ms],
            )?;
            Lease {
                service: service.into(),
                session: session.into(),
                operator: h.operator,
                token: h.token,
                since_ms: h.since_ms,
                took_over: None,
            }
        }
        Some((h, false))
            if match claim {
                Claim::Free => true,
                Claim::TakeOver => !h.lost(now_ms, expiry),
                Claim::Force => false,
            } =>
        {
            return Ok(Taken::HeldBy(h));
        }
        previous => {
            let token = previous.as_ref().map_or(1, |(h, _)| h.token + 1);
            // A live holder's lease taken (lost or forced), not a free one.
            let took_over = previous.filter(|(_, released)| !released).map(|(h, _)| h);
            tx.execute(
                "INSERT INTO leases (room, service, session, operator, token, since_ms, heartbeat_ms, released)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 0)
                 ON CONFLICT(room, service) DO UPDATE SET session = ?3, operator = ?4,
                    token = ?5, since_ms = ?6, heartbeat_ms = ?6, released = 0",
                params![room, service, session, operator, token, now_ms],
            )?;
            Lease {
                service: service.into(),
                session: session.into(),
                operator: operator.into(),
                token,
                since_ms: now_ms,
                took_over,
            }
        }
    };
    tx.commit()?;
    Ok(Taken::Granted(lease))
}

/// Append rows in one transaction; the id of the last. `IMMEDIATE` takes
/// the write lock before the chain's last hash is read. An outcome for an
/// intent that has one already is not written (an intent has exactly
/// one); the rest of the batch is.
fn insert_all(
    conn: &Connection,
    session: &str,
    room: &str,
    rows: &[Entry],
) -> rusqlite::Result<i64> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let mut last = 0;
    for e in rows {
        let written = match answered(conn, e) {
            Ok(Some(by)) => {
                tracing::warn!(
                    "journal: a second outcome for change {} was not recorded ({by} answered it): {}",
                    e.reference.unwrap_or_default(),
                    e.text
                );
                continue;
            }
            Ok(None) => insert(conn, session, room, e),
            Err(err) => Err(err),
        };
        match written {
            Ok(id) => last = id,
            Err(err) => {
                conn.execute_batch("ROLLBACK")?;
                return Err(err);
            }
        }
    }
    conn.execute_batch("COMMIT")?;
    Ok(last)
}

/// Who wrote the outcome `e` would answer, if it is an outcome of an
/// intent that has one already.
fn answered(conn: &Connection, e: &Entry) -> rusqlite::Result<Option<String>> {
    let (Some(intent), "outcome") = (e.reference, e.kind.as_str()) else {
        return Ok(None);
    };
    conn.query_row(
        "SELECT operator FROM journal WHERE kind = 'outcome' AND ref = ?1 LIMIT 1",
        [intent],
        |r| r.get(0),
    )
    .optional()
}

/// Why a fenced write was not made.
enum Fenced {
    /// The room's rules refused it.
    Refused(Error),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for Fenced {
    fn from(e: rusqlite::Error) -> Self {
        Fenced::Sql(e)
    }
}

/// One row, only if the lease is still `f`'s and — for an intent — the
/// room's rules hold over every row (`core::room::judge`), checked in the
/// same transaction that writes it.
fn insert_fenced(
    conn: &Connection,
    session: &str,
    room: &str,
    e: &Entry,
    f: &Fence,
) -> Result<i64, Fenced> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let checked = (|| -> Result<(), Fenced> {
        let current: Option<(i64, String)> = conn
            .query_row(
                "SELECT token, operator FROM leases WHERE room = ?1 AND service = ?2 AND released = 0",
                params![room, f.service],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if current.as_ref().map(|(t, _)| *t) != Some(f.token) {
            let now = match current {
                Some((t, who)) => format!("{who} drives it now (lease {t})"),
                None => "nobody holds it now".to_string(),
            };
            return Err(Fenced::Refused(Error::Fenced {
                service: f.service.clone(),
                token: f.token,
                now,
            }));
        }
        if let Some(by) = answered(conn, e)? {
            return Err(Fenced::Refused(Error::Answered {
                intent: e.reference.unwrap_or_default(),
                by,
            }));
        }
        if e.kind == "intent" {
            rules(conn, room, &f.service, e).map_err(|why| Fenced::Refused(Error::Guarded(why)))?;
        }
        Ok(())
    })();
    let written = checked.and_then(|()| insert(conn, session, room, e).map_err(Fenced::Sql));
    match written {
        Ok(id) => {
            conn.execute_batch("COMMIT")?;
            Ok(id)
        }
        Err(err) => {
            conn.execute_batch("ROLLBACK")?;
            Err(err)
        }
    }
}

/// The room's rules over every row of `room` (and of the rows written
/// before rooms, which count everywhere), for an intent about `service`.
pub(super) fn rules(conn: &Connection, room: &str, service: &str, e: &Entry) -> Result<(), String> {
    let sql = |e: rusqlite::Error| format!("the journal cannot judge the change: {e}");
    let mut st = conn
        .prepare_cached(
            "SELECT i.id, i.operator, i.text FROM journal i WHERE i.kind = 'intent'
             AND (i.room = ?1 OR i.room IS NULL)
             AND (i.scope = ?2 OR substr(i.scope, 1, length(?2) + 1) = ?2 || '/')
             AND NOT EXISTS (SELECT 1 FROM journal o WHERE o.kind = 'outcome' AND o.ref = i.id)
             ORDER BY i.id",
        )
        .map_err(sql)?;
    let open = st
        .query_map(params![room, service], |r| {
            Ok(crate::core::room::Open {
                intent: r.get(0)?,
                operator: r.get(1)?,
                text: r.get(2)?,
            })
        })
        .map_err(sql)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql)?;
    let guard: Option<crate::core::room::Guard> = e
        .data
        .as_ref()
        .and_then(|d| d.get("guard"))
        .and_then(|g| serde_json::from_value(g.clone()).ok());
    let rollbacks = match &guard {
        Some(g) => rollbacks(conn, room, service, e.at.minus(g.reach())).map_err(sql)?,
        None => Vec::new(),
    };
    crate::core::room::judge(service, &open, &rollbacks, guard.as_ref(), e.at)
}

/// When each rollback of `service` (a switch or a revert that succeeded,
/// outside drills) since `since` landed, in `room`.
pub(super) fn rollbacks(
    conn: &Connection,
    room: &str,
    service: &str,
    since: Ts,
) -> rusqlite::Result<Vec<Ts>> {
    let mut st = conn.prepare_cached(
        "SELECT o.at FROM journal o JOIN journal i ON o.ref = i.id
         WHERE o.kind = 'outcome' AND o.level = 'good' AND o.at >= ?3 AND i.kind = 'intent'
         AND (i.room = ?1 OR i.room IS NULL)
         AND (i.scope = ?2 OR substr(i.scope, 1, length(?2) + 1) = ?2 || '/')
         AND json_extract(i.data, '$.work') IN ('switch-traffic', 'revert-deployment')
         AND COALESCE(json_extract(i.data, '$.drill'), 0) = 0
         ORDER BY o.id",
    )?;
    st.query_map(params![room, service, since.millis()], |r| {
        Ok(Ts(r.get(0)?))
    })?
    .collect()
}

pub(super) fn connect(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Two backstops creating one journal at the same instant may be told
    // "database is locked" at once, whatever the busy timeout: try again
    // for a while rather than refuse to start.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the journal {}", path.display()))?;
        // SQLite opens any file; the first statement finds out what it is
        // (`file is not a database`): say which file.
        match set_up(&conn) {
            Ok(()) => return Ok(conn),
            Err(e) if busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot use the journal {}", path.display()));
            }
        }
    }
}

/// SQLite's "busy" or "locked", somewhere in the chain.
fn busy(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    })
}

fn set_up(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!("journal: WAL mode refused ({mode})");
    }
    // An intent must survive a crash of the process and of the machine.
    conn.execute_batch("PRAGMA synchronous=FULL;")?;
    conn.execute_batch(SCHEMA)
        .context("cannot create the journal's table")?;
    // The leases and the people live beside the rows: an intent is
    // checked against its lease in the transaction that writes it.
    conn.execute_batch(LEASES)
        .context("cannot create the journal's lease table")?;
    conn.execute_batch(PRESENCE)
        .context("cannot create the journal's presence table")?;
    upgrade(conn)
}

/// Journals of older backstops lack later columns: add them. Rows already
/// there stay as they are (they cannot be changed): before the hash chain
/// they are unchained, and `journal verify` says so; before sessions they
/// name none, and their hash leaves it out.
fn upgrade(conn: &Connection) -> Result<()> {
    let has_in = |table: &str, column: &str| -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
            [table, column],
            |r| r.get(0),
        )
    };
    let has = |column: &str| has_in("journal", column);
    // Rooms: rows name theirs (older rows none: they count in every room),
    // leases are one per service of a room, people say where they are.
    if !has("room")?
        && let Err(e) = conn.execute_batch("ALTER TABLE journal ADD COLUMN room TEXT")
        && !has("room")?
    {
        return Err(e).context("cannot add the room column to the journal");
    }
    if !has_in("presence", "room")?
        && let Err(e) =
            conn.execute_batch("ALTER TABLE presence ADD COLUMN room TEXT NOT NULL DEFAULT ''")
        && !has_in("presence", "room")?
    {
        return Err(e).context("cannot add the room column to the journal's presence");
    }
    if !has_in("leases", "room")? {
        // Its key changes (a service of a room), which SQLite cannot
        // alter: the table is made again, its leases carried over (in no
        // room: held before rooms), in one transaction.
        let moved = conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;
             ALTER TABLE leases RENAME TO leases_before_rooms;
             {LEASES};
             INSERT INTO leases (room, service, session, operator, token, since_ms, heartbeat_ms, released)
                 SELECT '', service, session, operator, token, since_ms, heartbeat_ms, released
                 FROM leases_before_rooms;
             DROP TABLE leases_before_rooms;
             COMMIT;"
        ));
        if let Err(e) = moved {
            let _ = conn.execute_batch("ROLLBACK");
            if !has_in("leases", "room")? {
                return Err(e).context("cannot give the journal's leases their rooms");
            }
        }
    }
    if !has("hash")? {
        conn.execute_batch("ALTER TABLE journal ADD COLUMN hash TEXT")
            .context("cannot add the hash chain to the journal")?;
        let rows: i64 = conn.query_row("SELECT COUNT(*) FROM journal", [], |r| r.get(0))?;
        tracing::warn!(
            "journal upgraded to a hash chain: its {rows} earlier rows are not chained; the chain begins with the next row"
        );
    }
    if !has("session")? {
        // Two backstops upgrading at once: the loser finds the column there.
        if let Err(e) = conn.execute_batch("ALTER TABLE journal ADD COLUMN session TEXT")
            && !has("session")?
        {
            return Err(e).context("cannot add the session column to the journal");
        }
    }
    Ok(())
}

/// Append one row, chained to the newest: inside a write transaction.
fn insert(conn: &Connection, session: &str, room: &str, e: &Entry) -> rusqlite::Result<i64> {
    let (last, prev): (i64, Option<String>) = conn
        .query_row(
            "SELECT id, hash FROM journal ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, None));
    let raw = Raw::of(last + 1, e, session, room, prev.as_deref().unwrap_or(""));
    insert_raw(conn, &raw)?;
    Ok(raw.id)
}

fn insert_raw(conn: &Connection, r: &Raw) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO journal (id, at, kind, scope, level, text, operator, incident, ref, data, hash, session, room) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            r.id,
            r.at,
            r.kind,
            r.scope,
            r.level,
            r.text,
            r.operator,
            r.incident,
            r.reference,
            r.data,
            r.hash,
            r.session,
            r.room
        ],
    )?;
    Ok(())
}

/// This host's replica of a shared journal: rows copied as they are (ids,
/// hashes, sessions), those it has already skipped; the newest id it holds.
pub(super) fn mirror(conn: &Connection, rows: &[Raw]) -> rusqlite::Result<i64> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let copy = || -> rusqlite::Result<i64> {
        for r in rows {
            let known: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM journal WHERE id = ?1)",
                [r.id],
                |x| x.get(0),
            )?;
            if !known {
                insert_raw(conn, r)?;
            }
        }
        conn.query_row("SELECT COALESCE(MAX(id), 0) FROM journal", [], |r| r.get(0))
    };
    match copy() {
        Ok(head) => {
            conn.execute_batch("COMMIT")?;
            Ok(head)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK")?;
            Err(e)
        }
    }
}

/// Rows after `after` exactly as stored, oldest first, at most `limit`.
pub(super) fn raw_since(conn: &Connection, after: i64, limit: usize) -> rusqlite::Result<Vec<Raw>> {
    let mut st = conn.prepare_cached(
        "SELECT id, at, kind, scope, level, text, operator, incident, ref, data, hash, session, room \
         FROM journal WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    st.query_map(params![after, limit as i64], |r| {
        Ok(Raw {
            id: r.get(0)?,
            at: r.get(1)?,
            kind: r.get(2)?,
            scope: r.get(3)?,
            level: r.get(4)?,
            text: r.get(5)?,
            operator: r.get(6)?,
            incident: r.get(7)?,
            reference: r.get(8)?,
            data: r.get(9)?,
            hash: r.get(10)?,
            session: r.get(11)?,
            room: r.get(12)?,
        })
    })?
    .collect()
}

pub(super) fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let data: Option<String> = r.get(9)?;
    Ok(Row {
        id: r.get(0)?,
        entry: Entry {
            at: Ts(r.get(1)?),
            kind: r.get(2)?,
            scope: r.get(3)?,
            level: r.get(4)?,
            text: r.get(5)?,
            operator: r.get(6)?,
            incident: r.get(7)?,
            reference: r.get(8)?,
            data: data.and_then(|d| serde_json::from_str(&d).ok()),
        },
        session: r.get(10)?,
        room: r.get(11)?,
    })
}
