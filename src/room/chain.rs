//! The journal's hash chain: each row carries the SHA-256 of the hash of
//! the row before it and of its own canonical content, so a row edited,
//! removed or slipped in behind backstop's back (the triggers dropped, the
//! file opened with any SQLite tool) breaks the chain at that row.
//!
//! Whoever can rewrite the file can also recompute every hash after the
//! change: `backstop journal verify` prints the newest hash, and a copy of
//! it kept elsewhere anchors everything up to it. Rows written before the
//! chain existed (journals of older backstops) have no hash; the chain
//! begins at the first row that has one, and verification says so.

use anyhow::Result;
use rusqlite::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// One row as stored, the input of its hash.
pub struct Stored<'a> {
    pub id: i64,
    pub at: i64,
    pub kind: &'a str,
    pub scope: &'a str,
    pub level: &'a str,
    pub text: &'a str,
    pub operator: &'a str,
    pub incident: Option<i64>,
    pub reference: Option<i64>,
    /// The JSON text exactly as stored (not re-serialised: key order and
    /// number formatting must not change the hash).
    pub data: Option<&'a str>,
    /// The session that wrote it; rows of older backstops have none, and
    /// their hash is computed without it.
    pub session: Option<&'a str>,
    /// The room it belongs to; rows written before rooms have none, and
    /// their hash is computed without it.
    pub room: Option<&'a str>,
}

impl Stored<'_> {
    /// A JSON array of every column: unambiguous (no separator can be
    /// forged inside a field) and the same wherever it is computed.
    fn canonical(&self) -> String {
        let mut columns = serde_json::json!([
            self.id,
            self.at,
            self.kind,
            self.scope,
            self.level,
            self.text,
            self.operator,
            self.incident,
            self.reference,
            self.data
        ]);
        if let (Some(session), Some(all)) = (self.session, columns.as_array_mut()) {
            all.push(session.into());
            if let Some(room) = self.room {
                all.push(room.into());
            }
        }
        columns.to_string()
    }

    /// This row's hash after `prev` (the row before's hash, `""` for the
    /// first row of the chain), in hex.
    pub fn hash(&self, prev: &str) -> String {
        let mut h = Sha256::new();
        h.update(prev.as_bytes());
        h.update(self.canonical().as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What `backstop journal verify` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Every row read.
    pub rows: u64,
    /// Rows at the start written before the chain existed (no hash).
    pub unchained: u64,
    /// The newest row and its hash: keep it elsewhere to anchor the chain.
    pub head: Option<(i64, String)>,
    /// The first row that does not fit, and why.
    pub broken: Option<(i64, String)>,
}

impl Verdict {
    pub fn holds(&self) -> bool {
        self.broken.is_none()
    }

    /// One paragraph for a person.
    pub fn text(&self) -> String {
        let mut s = match &self.broken {
            Some((id, why)) => format!("the hash chain is BROKEN at row {id}: {why}"),
            None => format!("the hash chain holds ({} rows)", self.rows),
        };
        if self.unchained > 0 {
            s.push_str(&format!(
                "; rows 1–{} were written before the chain began and cannot be checked",
                self.unchained
            ));
        }
        if let Some((id, hash)) = &self.head
            && self.broken.is_none()
        {
            s.push_str(&format!("; newest row {id}, hash {hash}"));
        }
        s
    }
}

/// Read every row in order and recompute the chain.
pub fn verify(conn: &Connection) -> Result<Verdict> {
    let mut st = conn.prepare(
        "SELECT id, at, kind, scope, level, text, operator, incident, ref, data, hash, session, room \
         FROM journal ORDER BY id",
    )?;
    let mut rows = st.query([])?;
    let mut v = Verdict {
        rows: 0,
        unchained: 0,
        head: None,
        broken: None,
    };
    // The hash of the row before, once the chain has begun.
    let mut prev: Option<String> = None;
    while let Some(r) = rows.next()? {
        v.rows += 1;
        let (kind, scope, level, text, operator): (String, String, String, String, String) =
            (r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?);
        let data: Option<String> = r.get(9)?;
        let session: Option<String> = r.get(11)?;
        let room: Option<String> = r.get(12)?;
        let stored = Stored {
            id: r.get(0)?,
            at: r.get(1)?,
            kind: &kind,
            scope: &scope,
            level: &level,
            text: &text,
            operator: &operator,
            incident: r.get(7)?,
            reference: r.get(8)?,
            data: data.as_deref(),
            session: session.as_deref(),
            room: room.as_deref(),
        };
        let hash: Option<String> = r.get(10)?;
        let id = stored.id;
        match (hash, &prev) {
            (None, None) => v.unchained += 1,
            (None, Some(_)) => {
                v.broken = Some((id, "it has no hash, but the chain began before it".into()));
                break;
            }
            (Some(h), before) => {
                if h != stored.hash(before.as_deref().unwrap_or("")) {
                    v.broken = Some((
                        id,
                        "its hash does not match its content and the row before it (this row was changed, or one before it was removed, changed or slipped in)".into(),
                    ));
                    break;
                }
                v.head = Some((id, h.clone()));
                prev = Some(h);
            }
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, text: &str) -> Stored<'_> {
        Stored {
            id,
            at: 1,
            kind: "event",
            scope: "web",
            level: "info",
            text,
            operator: "ops",
            incident: None,
            reference: None,
            data: Some("{\"kind\":\"probe\"}"),
            session: None,
            room: None,
        }
    }

    #[test]
    fn a_hash_depends_on_the_row_before_and_every_column() {
        let first = row(1, "a").hash("");
        assert_eq!(first.len(), 64);
        assert_eq!(first, row(1, "a").hash(""), "the same every time");
        assert_ne!(row(1, "a").hash(&first), first);
        assert_ne!(row(1, "b").hash(""), first);
        assert_ne!(row(2, "a").hash(""), first);
        // No separator to forge: moving text between columns changes it.
        let mut moved = row(1, "a");
        moved.scope = "weba";
        moved.text = "";
        assert_ne!(moved.hash(""), row(1, "a").hash(""));
        // The session is part of a row that has one.
        let mut signed = row(1, "a");
        signed.session = Some("alice#1-2");
        assert_ne!(signed.hash(""), first);
    }
}
