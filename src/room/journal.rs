//! The incident journal: an append-only SQLite file (WAL) that keeps every
//! event, every checklist step, and for every action that changes the world
//! an *intent* written (and synced) before it runs and an *outcome* after.
//! After a crash, an intent without an outcome is an interrupted action.
//!
//! Writes go through one thread that owns the connection, so nothing waits on
//! the disk but the action that must not run before its intent is safe.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::time::Ts;

use super::{Backend, Error, Place, chain};

/// One row to append.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at: Ts,
    pub kind: String,
    pub scope: String,
    pub level: String,
    pub text: String,
    pub operator: String,
    pub incident: Option<i64>,
    pub reference: Option<i64>,
    pub data: Option<Value>,
}

impl Entry {
    pub fn new(at: Ts, kind: &str, scope: &str, text: impl Into<String>, operator: &str) -> Self {
        Entry {
            at,
            kind: kind.into(),
            scope: scope.into(),
            level: "info".into(),
            text: text.into(),
            operator: operator.into(),
            incident: None,
            reference: None,
            data: None,
        }
    }
}

/// A row read back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub id: i64,
    #[serde(flatten)]
    pub entry: Entry,
    /// The backstop that wrote it (none for rows of older backstops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The room it belongs to (none for rows written before rooms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

impl Row {
    /// An intent the journal holds without an outcome, for core.
    pub fn interrupted(self) -> crate::core::model::Interrupted {
        crate::core::model::Interrupted {
            intent: self.id,
            incident: self.entry.incident,
            work: self
                .entry
                .data
                .as_ref()
                .and_then(|d| d.get("work"))
                .and_then(|w| w.as_str())
                .unwrap_or("change")
                .to_string(),
            at: self.entry.at,
            scope: self.entry.scope,
            text: self.entry.text,
            operator: self.entry.operator,
            real: None,
        }
    }
}

/// The lease an intent is written under: the service and the token its
/// driver holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    pub service: String,
    pub token: i64,
}

/// A row exactly as stored, its hash with it (the data as the JSON text
/// that was hashed): what a replica or a copy moves between backends.
#[derive(Clone, Debug, PartialEq)]
pub struct Raw {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub scope: String,
    pub level: String,
    pub text: String,
    pub operator: String,
    pub incident: Option<i64>,
    pub reference: Option<i64>,
    pub data: Option<String>,
    pub hash: Option<String>,
    pub session: Option<String>,
    pub room: Option<String>,
}

impl Raw {
    /// `e` as row `id` of `session` in `room` (`""`: none), chained after
    /// `prev` (the hash of the row before, `""` for the first).
    pub fn of(id: i64, e: &Entry, session: &str, room: &str, prev: &str) -> Raw {
        let mut raw = Raw {
            id,
            at: e.at.millis(),
            kind: e.kind.clone(),
            scope: e.scope.clone(),
            level: e.level.clone(),
            text: e.text.clone(),
            operator: e.operator.clone(),
            incident: e.incident,
            reference: e.reference,
            data: e.data.as_ref().map(Value::to_string),
            hash: None,
            session: Some(session.to_string()),
            room: (!room.is_empty()).then(|| room.to_string()),
        };
        raw.hash = Some(raw.stored().hash(prev));
        raw
    }

    /// The input of its hash.
    pub fn stored(&self) -> chain::Stored<'_> {
        chain::Stored {
            id: self.id,
            at: self.at,
            kind: &self.kind,
            scope: &self.scope,
            level: &self.level,
            text: &self.text,
            operator: &self.operator,
            incident: self.incident,
            reference: self.reference,
            data: self.data.as_deref(),
            session: self.session.as_deref(),
            room: self.room.as_deref(),
        }
    }

    pub fn row(&self) -> Row {
        Row {
            id: self.id,
            entry: Entry {
                at: Ts(self.at),
                kind: self.kind.clone(),
                scope: self.scope.clone(),
                level: self.level.clone(),
                text: self.text.clone(),
                operator: self.operator.clone(),
                incident: self.incident,
                reference: self.reference,
                data: self
                    .data
                    .as_deref()
                    .and_then(|d| serde_json::from_str(d).ok()),
            },
            session: self.session.clone(),
            room: self.room.clone(),
        }
    }
}

/// Replaces every known secret (header values, webhook URLs) with `***`
/// before anything is written.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        // Longest first, so a secret containing another is replaced whole.
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 4).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }

    fn entry(&self, mut e: Entry) -> Entry {
        e.text = self.apply(&e.text);
        e.scope = self.apply(&e.scope);
        e.operator = self.apply(&e.operator);
        if let Some(d) = e.data.as_mut() {
            self.value(d);
        }
        e
    }

    /// Every string inside a JSON value (not its serialised form, where a
    /// secret with a quote in it would be escaped and slip through).
    fn value(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.apply(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x)),
            Value::Object(o) => o.values_mut().for_each(|x| self.value(x)),
            _ => {}
        }
    }
}

enum Cmd {
    Append(Entry),
    /// Append and answer with the row id once it is committed to disk;
    /// with a fence, only if that lease is still the current one.
    Durable(
        Entry,
        Option<Fence>,
        tokio::sync::oneshot::Sender<Result<i64, Error>>,
    ),
    /// Append and answer once committed, for a caller without a runtime.
    Now(Entry, mpsc::Sender<Result<i64, Error>>),
    /// Answer once everything sent before is written.
    Flush(tokio::sync::oneshot::Sender<()>),
    /// Every sender is gone (the writer's own signal, never sent).
    Stop,
}

/// Where writes go. Cheap to clone.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Cmd>,
    /// The journal's file (for a table: this host's replica of it).
    pub path: PathBuf,
    /// Where its rows live: leases and presence are kept beside them.
    pub place: Place,
    /// Who writes: every row names this session.
    pub session: String,
    /// A read-only console's journal: it records what it sees, and no
    /// intent, incident, outcome, lease or approval — nothing through it
    /// can change the world or the room.
    read_only: bool,
    /// Why nothing can be written (the file could not be opened: a
    /// read-only file system, a full disk): every intent is refused.
    down: Option<std::sync::Arc<str>>,
    /// Why the rows just handed over are not stored yet (a table that does
    /// not answer), as the writer last found: the header says it.
    trouble: Health,
    /// Why the others' rows cannot be read, as the live tail last found.
    reading: Health,
    /// A drill writes here about the real providers it changes: its rows
    /// say so (`data.drill`, which the guards leave out), and the drill's
    /// incident number is its own journal's, kept as `data.drill_incident`.
    drill: bool,
}

/// Why a journal does not answer, as the last one to try it found (`None`: it does).
pub type Health = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// Every writer thread started, so the process can wait for the rows it
/// handed over before it exits: a headless command ends right after its
/// last row is queued, and a thread is not waited for by itself.
static WRITERS: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>> =
    std::sync::Mutex::new(Vec::new());

/// Wait, at most `limit` in all, for the writers of journals that are gone
/// (every handle dropped) to write what they were handed. Called once the
/// runtime is shut down, so no task still holds a journal.
pub fn written_before_exit(limit: std::time::Duration) {
    let deadline = std::time::Instant::now() + limit;
    let writers = std::mem::take(
        &mut *WRITERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    for w in writers {
        while !w.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        if w.is_finished() {
            let _ = w.join();
        }
    }
}

impl Journal {
    /// Open (creating) the journal at `path` and start its writer thread.
    pub fn open(path: &Path, redactor: Redactor) -> Result<Self, Error> {
        Self::open_as(path, redactor, &crate::identity::session())
    }

    /// As `open`, writing as `session` (tests play several backstops in one process).
    pub fn open_as(
        place: impl Into<Place>,
        redactor: Redactor,
        session: &str,
    ) -> Result<Self, Error> {
        let place = place.into();
        let mut store = super::open(&place)?;
        let (tx, rx) = mpsc::channel::<Cmd>();
        let me = session.to_string();
        let trouble = std::sync::Arc::new(std::sync::Mutex::new(None));
        let said = trouble.clone();
        let thread = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer(store.as_mut(), &me, &redactor, &rx, &said))
            .map_err(|e| Error::Unusable(format!("cannot start the journal's writer: {e}")))?;
        WRITERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(thread);
        Ok(Journal {
            tx,
            path: place.file.clone(),
            place,
            session: session.to_string(),
            read_only: false,
            down: None,
            trouble,
            reading: Health::default(),
            drill: false,
        })
    }

    /// A journal that cannot be written (`why`): nothing it is handed is
    /// kept, and every intent is refused with the reason, so nothing
    /// changes unrecorded while the panes go on showing the world.
    pub fn unavailable(path: &Path, why: &str) -> Self {
        let (tx, _) = mpsc::channel::<Cmd>();
        Journal {
            tx,
            path: path.to_path_buf(),
            place: Place::from(path),
            session: crate::identity::session(),
            read_only: true,
            down: Some(why.into()),
            trouble: Health::default(),
            reading: Health::default(),
            drill: false,
        }
    }

    /// Why what was written lately is not stored yet (the table does not
    /// answer): kept in order, written when it answers again.
    pub fn trouble(&self) -> Option<String> {
        let said = |h: &Health| {
            h.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        };
        said(&self.trouble).or_else(|| said(&self.reading))
    }

    /// Where the live tail says whether the others' rows can be read.
    pub fn reading(&self) -> Health {
        self.reading.clone()
    }

    /// Why this journal cannot be written, if it cannot.
    pub fn down(&self) -> Option<&str> {
        self.down.as_deref()
    }

    /// This journal only records what its console sees (a read-only
    /// console): see `acting`.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// This journal is a drill's record in the room of the real providers
    /// it changes: see `drill`.
    pub fn for_drill(mut self) -> Self {
        self.drill = true;
        self
    }

    /// A drill's row, marked as one.
    fn marked(&self, mut e: Entry) -> Entry {
        if !self.drill {
            return e;
        }
        let mut data = match e.data.take() {
            Some(Value::Object(m)) => m,
            Some(other) => {
                let mut m = serde_json::Map::new();
                m.insert("value".into(), other);
                m
            }
            None => serde_json::Map::new(),
        };
        data.insert("drill".into(), Value::Bool(true));
        if let Some(i) = e.incident.take() {
            data.insert("drill_incident".into(), Value::from(i));
        }
        e.data = Some(Value::Object(data));
        e
    }

    /// What a read-only backstop may not write, if `e` is that: a row
    /// that acts on the world or the room.
    fn refused(&self, e: &Entry) -> Option<Error> {
        if !self.read_only {
            return None;
        }
        acting(e).map(Error::ReadOnly)
    }

    /// Append, without waiting.
    pub fn append(&self, e: Entry) {
        if let Some(why) = self.refused(&e) {
            tracing::error!("journal: not recorded ({why}): {}", e.text);
            return;
        }
        let _ = self.tx.send(Cmd::Append(self.marked(e)));
    }

    /// Append and block until it is on disk, for callers without a runtime
    /// (tools and tests; never the render loop, which must not wait on a disk).
    pub fn append_now(&self, e: Entry) -> Result<i64, Error> {
        if let Some(why) = &self.down {
            return Err(Error::Unusable(format!(
                "the journal cannot be written ({why})"
            )));
        }
        if let Some(why) = self.refused(&e) {
            return Err(why);
        }
        let (done, wait) = mpsc::channel();
        self.tx
            .send(Cmd::Now(self.marked(e), done))
            .map_err(|_| Error::Closed)?;
        wait.recv().map_err(|_| Error::Closed)?
    }

    /// Wait until every row appended before is written (readers see them).
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Cmd::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Append and wait until it is on disk: for an intent, before the action runs.
    pub async fn append_durable(&self, e: Entry) -> Result<i64, Error> {
        self.append_fenced(e, None).await
    }

    /// An intent under a lease: written, and on disk, only if `fence` is
    /// still the service's current lease — checked in the same transaction
    /// that writes it, so a driver that lost its lease (stopped, asleep,
    /// cut off) cannot act whatever its screen shows.
    pub async fn append_fenced(&self, e: Entry, fence: Option<Fence>) -> Result<i64, Error> {
        if let Some(why) = &self.down {
            return Err(Error::Unusable(format!(
                "the journal cannot be written ({why})"
            )));
        }
        if let Some(why) = self.refused(&e) {
            return Err(why);
        }
        let (done, wait) = tokio::sync::oneshot::channel();
        self.tx
            .send(Cmd::Durable(self.marked(e), fence, done))
            .map_err(|_| Error::Closed)?;
        wait.await.map_err(|_| Error::Closed)?
    }
}

/// What a row does that a read-only backstop may not, if anything: an
/// intent (a change), an incident, an outcome (resolving a change), a
/// checklist of its own, a lease or an approval.
pub fn acting(e: &Entry) -> Option<&'static str> {
    let data_kind = e
        .data
        .as_ref()
        .and_then(|d| d.get("kind"))
        .and_then(Value::as_str);
    match (e.kind.as_str(), data_kind) {
        ("intent", _) => Some("writes no intent"),
        ("incident" | "closed", _) => Some("opens no incident"),
        ("outcome", _) => Some("resolves no change"),
        ("checklist", _) => Some("follows no checklist of its own"),
        ("event", Some("lease")) => Some("takes no lease"),
        ("event", Some("approval")) => Some("approves nothing"),
        _ => None,
    }
}

/// The writer thread. Plain appends that are waiting are committed together
/// (one sync for a burst of events); a durable append commits on its own
/// after them, so its answer means it and everything before it is stored.
/// A backend that does not answer keeps what it was handed; the writer
/// tries it again every second, and says why meanwhile (`trouble`).
fn writer(
    store: &mut dyn Backend,
    me: &str,
    redactor: &Redactor,
    rx: &mpsc::Receiver<Cmd>,
    trouble: &std::sync::Mutex<Option<String>>,
) {
    let say = |why: Option<String>| {
        let mut t = trouble
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *t != why {
            match &why {
                Some(w) => tracing::error!("journal: {w}"),
                None => tracing::info!("journal: stored again"),
            }
            *t = why;
        }
    };
    let said = |r: &Result<i64, Error>, store: &dyn Backend| match r {
        Ok(_) if store.pending() == 0 => None,
        Ok(_) => Some(format!("{} rows not stored yet", store.pending())),
        // A refusal is the room's rule holding, not a journal in trouble.
        Err(e) if e.is_refusal() => None,
        Err(e) => Some(e.to_string()),
    };
    let next_cmd = |store: &dyn Backend| -> Option<Cmd> {
        if store.pending() == 0 {
            return rx.recv().ok();
        }
        match rx.recv_timeout(std::time::Duration::from_secs(1)) {
            Ok(c) => Some(c),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => Some(Cmd::Stop),
        }
    };
    let mut next = None;
    loop {
        let cmd = match next.take() {
            Some(c) => c,
            None => match next_cmd(store) {
                Some(c) => c,
                None if store.pending() == 0 => break,
                None => {
                    // Idle with rows kept: try the backend again.
                    let r = store.flush(me).map(|()| 0);
                    say(said(&r, store));
                    continue;
                }
            },
        };
        match cmd {
            Cmd::Append(e) => {
                let mut batch = vec![e];
                while batch.len() < 1024 {
                    match rx.try_recv() {
                        Ok(Cmd::Append(e)) => batch.push(e),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let batch: Vec<Entry> = batch.into_iter().map(|e| redactor.entry(e)).collect();
                let r = store.append(me, &batch);
                say(said(&r, store));
            }
            Cmd::Durable(e, fence, done) => {
                let e = redactor.entry(e);
                // No action without a durable intent: what is kept from
                // before goes first, and if it cannot, the intent is refused.
                let r = match store.flush(me) {
                    Err(why) => Err(why),
                    Ok(()) => match fence {
                        Some(f) => store.append_fenced(me, &e, &f),
                        None => store.append(me, std::slice::from_ref(&e)),
                    },
                };
                say(said(&r, store));
                let _ = done.send(r);
            }
            Cmd::Now(e, done) => {
                let r = store.append(me, &[redactor.entry(e)]);
                say(said(&r, store));
                let _ = done.send(r);
            }
            Cmd::Flush(done) => {
                let _ = done.send(());
            }
            Cmd::Stop => {
                // Every sender is gone: one last try for what is kept.
                if store.pending() > 0 {
                    let _ = store.flush(me);
                }
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::Reader;
    use rusqlite::Connection;

    #[tokio::test]
    async fn appends_reads_back_and_refuses_to_forget() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let j = Journal::open(
            &path,
            Redactor::new(["https://hooks.slack.com/services/T0/B0/secret".to_string()]),
        )
        .unwrap();
        j.append(Entry::new(Ts(1), "event", "web/green", "OK → CRIT", "ops"));
        let mut intent = Entry::new(
            Ts(2),
            "intent",
            "web",
            "notify slack via https://hooks.slack.com/services/T0/B0/secret",
            "ops",
        );
        intent.incident = Some(7);
        let id = j.append_durable(intent).await.unwrap();
        let r = Reader::open(&path).unwrap();
        let open = r.interrupted().unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].id, id);
        assert_eq!(
            open[0].entry.text, "notify slack via ***",
            "secrets never reach the file"
        );
        let mut out = Entry::new(Ts(3), "outcome", "web", "sent", "ops");
        out.reference = Some(id);
        j.append_durable(out).await.unwrap();
        assert!(r.interrupted().unwrap().is_empty());
        assert_eq!(r.count().unwrap(), 3);
        // Append-only: the database itself refuses.
        let conn = Connection::open(&path).unwrap();
        let e = conn
            .execute("UPDATE journal SET text = 'nothing happened'", [])
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        assert!(
            conn.execute("DELETE FROM journal", [])
                .unwrap_err()
                .to_string()
                .contains("append-only")
        );
        assert_eq!(r.integrity().unwrap(), "ok");
        // A secret inside data, with characters JSON escapes, is caught too.
        let j2 = Journal::open(&path, Redactor::new(["tok\"en-5ecret".to_string()])).unwrap();
        let mut e = Entry::new(Ts(4), "event", "web", "header sent", "ops");
        e.data = Some(serde_json::json!({ "headers": ["Authorization: Bearer tok\"en-5ecret"] }));
        j2.append_durable(e).await.unwrap();
        let last = r.between("web", Ts(4), Ts(4)).unwrap();
        assert_eq!(
            last[0].entry.data,
            Some(serde_json::json!({ "headers": ["Authorization: Bearer ***"] }))
        );
        let raw = std::fs::read(&path).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("B0/secret"));
    }

    /// `status` says who changed a split last: the newest good outcome of a
    /// weight change (the dialog's or a checklist's switch), not a failed
    /// one, and not another service's.
    #[tokio::test]
    async fn the_last_weight_change_is_the_newest_that_succeeded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let j = Journal::open(&path, Redactor::new(Vec::<String>::new())).unwrap();
        let change = |at: i64, scope: &str, work: &str, by: &str, good: bool| {
            let j = &j;
            let (scope, work, by) = (scope.to_string(), work.to_string(), by.to_string());
            async move {
                let mut i = Entry::new(Ts(at), "intent", &scope, "change", &by);
                i.data = Some(serde_json::json!({ "work": work }));
                let id = j.append_durable(i).await.unwrap();
                let text = if good {
                    format!("weights set at {at}")
                } else {
                    "failed".into()
                };
                let mut o = Entry::new(Ts(at + 1), "outcome", &scope, text, &by);
                o.reference = Some(id);
                o.level = if good { "good" } else { "bad" }.into();
                j.append_durable(o).await.unwrap();
            }
        };
        change(10, "web", "set-weights", "ana@laptop", true).await;
        change(20, "web/green", "switch-traffic", "bo@bastion", true).await;
        change(30, "web", "set-weights", "cy@laptop", false).await;
        change(40, "api", "set-weights", "dee@laptop", true).await;
        change(50, "web", "notify", "eve@laptop", true).await;
        let r = Reader::open(&path).unwrap();
        assert_eq!(
            r.last_weight_change("web").unwrap(),
            Some((
                Ts(21),
                "bo@bastion".to_string(),
                "weights set at 20".to_string()
            ))
        );
        assert_eq!(r.last_weight_change("we").unwrap(), None);
    }
}
