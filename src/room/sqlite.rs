//! The journal in one SQLite file (WAL), shared by every backstop on one
//! machine: the console, headless commands, observers. Each write is one
//! `BEGIN IMMEDIATE` transaction, so two processes appending at once cannot
//! both chain to the same row, and an intent under a lease is checked
//! against the lease table in the transaction that writes it.

use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Entry, Fence, Raw, Row, Store};
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
    session  TEXT                   -- the backstop that wrote it (identity::session)
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
";

pub(super) const COLUMNS: &str =
    "id, at, kind, scope, level, text, operator, incident, ref, data, session";

/// One journal file.
pub struct Sqlite {
    conn: Connection,
}

impl Sqlite {
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Sqlite {
            conn: connect(path)?,
        })
    }
}

impl Store for Sqlite {
    fn append(&mut self, session: &str, rows: &[Entry]) -> Result<i64, String> {
        insert_all(&self.conn, session, rows).map_err(|e| e.to_string())
    }

    fn append_fenced(&mut self, session: &str, e: &Entry, f: &Fence) -> Result<i64, String> {
        insert_fenced(&self.conn, session, e, f)
    }

    fn since(&self, after: i64, limit: usize) -> Result<Vec<Row>, String> {
        let run = || -> rusqlite::Result<Vec<Row>> {
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM journal WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))?;
            st.query_map(params![after, limit as i64], row)?.collect()
        };
        run().map_err(|e| e.to_string())
    }

    fn head(&self) -> Result<i64, String> {
        self.conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM journal", [], |r| r.get(0))
            .map_err(|e| e.to_string())
    }
}

/// Append rows in one transaction; the id of the last. `IMMEDIATE` takes
/// the write lock before the chain's last hash is read.
fn insert_all(conn: &Connection, session: &str, rows: &[Entry]) -> rusqlite::Result<i64> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let mut last = 0;
    for e in rows {
        match insert(conn, session, e) {
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

/// One row, only if the lease is still `f`'s, checked in the same transaction.
fn insert_fenced(conn: &Connection, session: &str, e: &Entry, f: &Fence) -> Result<i64, String> {
    let run = || -> rusqlite::Result<Result<i64, String>> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let current: Option<(i64, String)> = conn
            .query_row(
                "SELECT token, operator FROM leases WHERE service = ?1 AND released = 0",
                params![f.service],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if current.as_ref().map(|(t, _)| *t) != Some(f.token) {
            conn.execute_batch("ROLLBACK")?;
            let now = match current {
                Some((t, who)) => format!("{who} drives it now (lease {t})"),
                None => "nobody holds it now".to_string(),
            };
            return Ok(Err(format!(
                "the lease of {} (token {}) is no longer this backstop's: {now}; nothing was changed",
                f.service, f.token
            )));
        }
        match insert(conn, session, e) {
            Ok(id) => {
                conn.execute_batch("COMMIT")?;
                Ok(Ok(id))
            }
            Err(err) => {
                conn.execute_batch("ROLLBACK")?;
                Err(err)
            }
        }
    };
    run().unwrap_or_else(|e| Err(e.to_string()))
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
    // The leases live beside the journal: an intent is checked against them
    // in the transaction that writes it.
    conn.execute_batch(crate::room::lease::SCHEMA)
        .context("cannot create the journal's lease table")?;
    upgrade(conn)
}

/// Journals of older backstops lack later columns: add them. Rows already
/// there stay as they are (they cannot be changed): before the hash chain
/// they are unchained, and `journal verify` says so; before sessions they
/// name none, and their hash leaves it out.
fn upgrade(conn: &Connection) -> Result<()> {
    let has = |column: &str| -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info('journal') WHERE name = ?1",
            [column],
            |r| r.get(0),
        )
    };
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
fn insert(conn: &Connection, session: &str, e: &Entry) -> rusqlite::Result<i64> {
    let (last, prev): (i64, Option<String>) = conn
        .query_row(
            "SELECT id, hash FROM journal ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, None));
    let raw = Raw::of(last + 1, e, session, prev.as_deref().unwrap_or(""));
    insert_raw(conn, &raw)?;
    Ok(raw.id)
}

fn insert_raw(conn: &Connection, r: &Raw) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO journal (id, at, kind, scope, level, text, operator, incident, ref, data, hash, session) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
            r.session
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
        "SELECT id, at, kind, scope, level, text, operator, incident, ref, data, hash, session \
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
    })
}
