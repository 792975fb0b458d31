//! The journal cannot be rewritten in place, and what is rewritten behind
//! backstop's back (another SQLite client, triggers dropped) shows: a real
//! journal file written by backstop, edited with rusqlite, then checked by
//! the real binary (`journal verify`, `report`).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use backstop::core::time::Ts;
use backstop::room::{Entry, Journal, Redactor};
use common::{Home, run, stderr, stdout};
use rusqlite::Connection;
use serde_json::Value;

/// A journal of five rows written by backstop; the first an incident.
fn written(home: &Home) -> PathBuf {
    let path = home.path().join("journal.sqlite");
    let j = Journal::open(&path, Redactor::default()).unwrap();
    let mut incident = Entry::new(Ts(1_000), "incident", "web", "rollback of web", "ops");
    incident.data =
        Some(serde_json::json!({ "service": "web", "suspect": "green", "target": "blue" }));
    j.append_now(incident).unwrap();
    for i in 2..=5 {
        let mut e = Entry::new(Ts(1_000 * i), "event", "web", format!("event {i}"), "ops");
        e.data = Some(serde_json::json!({ "kind": "probe", "n": i }));
        j.append_now(e).unwrap();
    }
    path
}

/// `backstop journal verify --json` on `path`: exit code and the object.
fn verify(home: &Home, path: &Path) -> (Option<i32>, Value) {
    let mut c = home.command();
    c.args([
        "--journal",
        path.to_str().unwrap(),
        "journal",
        "verify",
        "--json",
    ]);
    let out = run(c);
    let v = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
    (out.status.code(), v)
}

fn report(home: &Home, path: &Path, format: &str) -> String {
    let mut c = home.command();
    c.args([
        "--journal",
        path.to_str().unwrap(),
        "report",
        "--format",
        format,
    ]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn replace_cannot_rewrite_a_row() {
    let home = Home::new();
    let path = written(&home);
    let conn = Connection::open(&path).unwrap();
    for verb in ["REPLACE INTO", "INSERT OR REPLACE INTO"] {
        let e = conn
            .execute(
                &format!(
                    "{verb} journal (id, at, kind, scope, level, text, operator) \
                     VALUES (2, 2000, 'event', 'web', 'info', 'nothing happened', 'mallory')"
                ),
                [],
            )
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{verb}: {e}");
    }
    let e = conn
        .execute(
            "INSERT INTO journal (id, at, kind, scope, level, text, operator) \
             VALUES (2, 2000, 'event', 'web', 'info', 'x', 'mallory') \
             ON CONFLICT(id) DO UPDATE SET text = excluded.text",
            [],
        )
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "upsert: {e}");
    let text: String = conn
        .query_row("SELECT text FROM journal WHERE id = 2", [], |r| r.get(0))
        .unwrap();
    assert_eq!(text, "event 2");
    let (code, v) = verify(&home, &path);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["holds"], true);
    assert_eq!(v["rows"], 5);
    assert_eq!(v["head"]["id"], 5);
    assert_eq!(v["head"]["hash"].as_str().unwrap().len(), 64);
}

#[test]
fn an_edited_row_breaks_the_chain_there_and_the_report_says_so() {
    let home = Home::new();
    let path = written(&home);
    assert!(report(&home, &path, "md").contains("- Journal: the hash chain holds (5 rows)"));
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER journal_append_only_update;
         UPDATE journal SET text = 'nothing happened' WHERE id = 3;",
    )
    .unwrap();
    let (code, v) = verify(&home, &path);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["holds"], false);
    assert_eq!(v["broken"]["id"], 3, "{v}");
    let json: Value = serde_json::from_str(&report(&home, &path, "json")).unwrap();
    assert_eq!(json["journal_chain"]["holds"], false);
    let md = report(&home, &path, "md");
    assert!(md.contains("the hash chain is BROKEN at row 3"), "{md}");

    // Recomputing the edited row's hash does not hide it: the row after it
    // was chained to the old one.
    let (prev, at, data, session, room): (String, i64, String, String, Option<String>) = conn
        .query_row(
            "SELECT (SELECT hash FROM journal WHERE id = 2), at, data, session, room FROM journal WHERE id = 3",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    let forged = backstop::room::chain::Stored {
        id: 3,
        at,
        kind: "event",
        scope: "web",
        level: "info",
        text: "nothing happened",
        operator: "ops",
        incident: None,
        reference: None,
        data: Some(&data),
        session: Some(&session),
        room: room.as_deref(),
    }
    .hash(&prev);
    // (Opening the journal, backstop put its trigger back.)
    conn.execute_batch("DROP TRIGGER journal_append_only_update")
        .unwrap();
    conn.execute("UPDATE journal SET hash = ?1 WHERE id = 3", [&forged])
        .unwrap();
    let mut text = home.command();
    text.args(["--journal", path.to_str().unwrap(), "journal", "verify"]);
    let out = run(text);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("BROKEN at row 4"), "{}", stdout(&out));
}

#[test]
fn a_removed_row_breaks_the_chain_at_the_row_after_it() {
    let home = Home::new();
    let path = written(&home);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER journal_append_only_delete;
         DELETE FROM journal WHERE id = 2;",
    )
    .unwrap();
    let (code, v) = verify(&home, &path);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["broken"]["id"], 3, "{v}");
}

#[test]
fn an_old_journal_is_upgraded_and_chained_from_where_the_chain_begins() {
    let home = Home::new();
    let path = home.path().join("old.sqlite");
    // The schema of backstops before the chain, with rows in it.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE journal (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL,
            scope TEXT NOT NULL, level TEXT NOT NULL, text TEXT NOT NULL, operator TEXT NOT NULL,
            incident INTEGER, ref INTEGER, data TEXT);
         INSERT INTO journal (at, kind, scope, level, text, operator) VALUES
            (1, 'event', 'web', 'info', 'one', 'ops'),
            (2, 'event', 'web', 'info', 'two', 'ops'),
            (3, 'event', 'web', 'info', 'three', 'ops');",
    )
    .unwrap();
    drop(conn);
    let j = Journal::open(&path, Redactor::default()).unwrap();
    j.append_now(Entry::new(Ts(4), "event", "web", "four", "ops"))
        .unwrap();
    j.append_now(Entry::new(Ts(5), "event", "web", "five", "ops"))
        .unwrap();
    let (code, v) = verify(&home, &path);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        (v["rows"].clone(), v["unchained"].clone()),
        (5.into(), 3.into())
    );
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .contains("rows 1–3 were written before the chain began"),
        "{v}"
    );
    // A chained row that loses its hash is not "from before the chain".
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER journal_append_only_update;
         UPDATE journal SET hash = NULL WHERE id = 5;",
    )
    .unwrap();
    let (code, v) = verify(&home, &path);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["broken"]["id"], 5, "{v}");
}

/// Two backstops appending to one file at once (a console and a headless
/// rollback): each row still chains to the one really before it.
#[test]
fn two_writers_at_once_keep_one_chain() {
    let home = Home::new();
    let path = written(&home);
    let writers: Vec<_> = ["console", "ci"]
        .into_iter()
        .map(|who| {
            let path = path.clone();
            std::thread::spawn(move || {
                let j = Journal::open(&path, Redactor::default()).unwrap();
                for i in 0..40 {
                    j.append_now(Entry::new(
                        Ts(10_000 + i),
                        "event",
                        "web",
                        format!("{who} {i}"),
                        who,
                    ))
                    .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let (code, v) = verify(&home, &path);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["rows"], 85);
}
