//! Who is here: every console and headless command on a journal announces
//! itself beside the journal (its file, or its table) and heartbeats; one
//! that vanishes (its SSH session dropped, killed) drops out after `GONE`
//! without a heartbeat. `backstop who` lists them, with the services each
//! one drives (holds the live lease of).
//!
//! Presence is for people to read: on a table shared between hosts it
//! compares the writers' wall clocks (NTP keeps them within far less than
//! `GONE`); nothing that decides who may act rests on it — leases do.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, params};
use serde::Serialize;

use super::Place;
use super::lease::SCHEMA as LEASES;

use super::dynamo::presence as dynamo;

/// Silent this long, a session is gone.
pub const GONE: Duration = Duration::from_secs(15);
/// How often a session says it is still here.
const BEAT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS presence (
    session      TEXT PRIMARY KEY,
    operator     TEXT NOT NULL,
    what         TEXT NOT NULL,
    services     TEXT NOT NULL,
    since_ms     INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    read_only    INTEGER NOT NULL DEFAULT 0
)";

/// One session, as `backstop who` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Person {
    pub session: String,
    pub operator: String,
    /// `driver` (holds the lease of a service) or `observer`.
    pub role: String,
    /// What it is: `console`, `backstop rollback`, …
    pub what: String,
    /// The services it drives, or else those it watches.
    pub services: Vec<String>,
    /// RFC 3339.
    pub since: String,
    pub last_seen: String,
    pub read_only: bool,
    /// `last_seen` in milliseconds, for ages.
    #[serde(skip)]
    pub last_seen_ms: i64,
    /// `since` in milliseconds.
    #[serde(skip)]
    pub since_ms: i64,
}

/// A session's presence, as stored.
#[derive(Clone, Debug)]
pub(crate) struct Present {
    pub session: String,
    pub operator: String,
    pub what: String,
    pub services: Vec<String>,
    pub since_ms: i64,
    pub last_seen_ms: i64,
    pub read_only: bool,
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    let conn = crate::room::lease::shared(path, SCHEMA)?;
    conn.execute_batch(LEASES)?;
    Ok(conn)
}

/// Where presence is kept: beside a file's rows, or a table's.
enum Beside {
    File(std::sync::Mutex<Connection>, std::path::PathBuf),
    Table(std::sync::Arc<crate::room::dynamo::Table>),
}

impl Beside {
    fn put(&self, p: &Present) -> Result<(), String> {
        match self {
            Beside::File(conn, path) => conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .execute(
                    "INSERT INTO presence (session, operator, what, services, since_ms, last_seen_ms, read_only)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)
                     ON CONFLICT(session) DO UPDATE SET last_seen_ms = ?5",
                    params![
                        p.session,
                        p.operator,
                        p.what,
                        serde_json::to_string(&p.services).unwrap_or_default(),
                        p.since_ms,
                        p.read_only
                    ],
                )
                .map(|_| ())
                .map_err(|e| format!("presence in {}: {e}", path.display())),
            Beside::Table(t) => dynamo::put(t, p),
        }
    }

    fn beat(&self, p: &Present, now_ms: i64) -> Result<(), String> {
        match self {
            Beside::File(conn, path) => conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .execute(
                    "UPDATE presence SET last_seen_ms = ?2 WHERE session = ?1",
                    params![p.session, now_ms],
                )
                .map(|_| ())
                .map_err(|e| format!("presence in {}: {e}", path.display())),
            Beside::Table(t) => dynamo::put(
                t,
                &Present {
                    last_seen_ms: now_ms,
                    ..p.clone()
                },
            ),
        }
    }

    fn remove(&self, session: &str) {
        match self {
            Beside::File(conn, _) => {
                let _ = conn
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .execute("DELETE FROM presence WHERE session = ?1", params![session]);
            }
            Beside::Table(t) => {
                if let Err(e) = dynamo::remove(t, session) {
                    tracing::warn!("{e}");
                }
            }
        }
    }
}

/// This process, present on a journal until dropped.
pub struct Here {
    beside: std::sync::Arc<Beside>,
    session: String,
    beat: tokio::task::JoinHandle<()>,
}

impl Here {
    /// Announce this process on the journal at `place`, and keep saying so.
    pub fn announce(
        place: impl Into<Place>,
        what: &str,
        services: &[String],
        read_only: bool,
    ) -> Result<Here, String> {
        let place = place.into();
        let session = crate::identity::session();
        let now = crate::sources::now().millis();
        let beside = match &place.table {
            Some(t) => Beside::Table(t.clone()),
            None => Beside::File(
                std::sync::Mutex::new(
                    open(&place.file)
                        .map_err(|e| format!("presence in {}: {e}", place.file.display()))?,
                ),
                place.file.clone(),
            ),
        };
        let me = Present {
            session: session.clone(),
            operator: crate::identity::operator(),
            what: what.to_string(),
            services: services.to_vec(),
            since_ms: now,
            last_seen_ms: now,
            read_only,
        };
        beside.put(&me)?;
        let beside = std::sync::Arc::new(beside);
        let b = beside.clone();
        let beat = tokio::spawn(async move {
            let mut every = tokio::time::interval(BEAT);
            loop {
                every.tick().await;
                let (b, me) = (b.clone(), me.clone());
                let _ = tokio::task::spawn_blocking(move || {
                    if let Err(e) = b.beat(&me, crate::sources::now().millis()) {
                        tracing::debug!("{e}");
                    }
                })
                .await;
            }
        });
        Ok(Here {
            beside,
            session,
            beat,
        })
    }
}

impl Drop for Here {
    fn drop(&mut self) {
        self.beat.abort();
        // Leaving cleanly: gone at once, not after `GONE`.
        self.beside.remove(&self.session);
    }
}

/// Everyone present on the journal at `place` now, oldest first: sessions
/// seen within `GONE`, each a driver of the services whose live lease it
/// holds. A journal nobody uses has nobody.
pub fn who(place: impl Into<Place>, now_ms: i64) -> Result<Vec<Person>, String> {
    let place = place.into();
    let gone = GONE.as_millis() as i64;
    let present = match &place.table {
        Some(t) => dynamo::list(t)?,
        None => {
            if !place.file.exists() {
                return Ok(Vec::new());
            }
            let path = &place.file;
            let err = |e: rusqlite::Error| format!("{}: {e}", path.display());
            let conn = open(path).map_err(err)?;
            let mut st = conn
                .prepare(
                    "SELECT session, operator, what, services, since_ms, last_seen_ms, read_only
                     FROM presence ORDER BY since_ms, session",
                )
                .map_err(err)?;
            st.query_map([], |r| {
                Ok(Present {
                    session: r.get(0)?,
                    operator: r.get(1)?,
                    what: r.get(2)?,
                    services: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                    since_ms: r.get(4)?,
                    last_seen_ms: r.get(5)?,
                    read_only: r.get::<_, i64>(6)? != 0,
                })
            })
            .map_err(err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(err)?
        }
    };
    let mut present: Vec<Present> = present
        .into_iter()
        .filter(|p| p.last_seen_ms >= now_ms - gone)
        .collect();
    if present.is_empty() {
        return Ok(Vec::new());
    }
    present.sort_by(|a, b| (a.since_ms, &a.session).cmp(&(b.since_ms, &b.session)));
    let leases = crate::room::lease::Leases::open(&place)
        .and_then(|l| l.all())
        .map_err(|e| e.to_string())?;
    let expiry = crate::room::lease::expiry();
    let mut people = Vec::new();
    for p in present {
        let mut driven: Vec<String> = leases
            .iter()
            // The AWS poller's lease makes nobody a driver.
            .filter(|(s, _)| s != crate::poller::LEASE)
            .filter(|(_, h)| h.session == p.session && !h.lost(now_ms, expiry))
            .map(|(s, _)| s.clone())
            .collect();
        let role = if driven.is_empty() {
            "observer"
        } else {
            "driver"
        };
        if driven.is_empty() {
            driven = p.services;
        }
        people.push(Person {
            session: p.session,
            operator: p.operator,
            role: role.into(),
            what: p.what,
            services: driven,
            since: crate::core::time::Ts(p.since_ms).rfc3339(),
            last_seen: crate::core::time::Ts(p.last_seen_ms).rfc3339(),
            read_only: p.read_only,
            last_seen_ms: p.last_seen_ms,
            since_ms: p.since_ms,
        });
    }
    Ok(people)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn present_until_gone_and_drivers_by_their_lease() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        let now = crate::sources::now().millis();
        assert_eq!(who(&path, now).unwrap(), vec![], "a journal nobody uses");
        let here = Here::announce(&path, "console", &["web".into(), "api".into()], false).unwrap();
        let people = who(&path, now + 1_000).unwrap();
        assert_eq!(people.len(), 1);
        assert_eq!(people[0].role, "observer");
        assert_eq!(people[0].services, ["web", "api"]);
        // It takes the lease of web: it drives web.
        let driving =
            crate::room::lease::Driving::take(&path, "web", &crate::identity::operator()).unwrap();
        let people = who(&path, now + 2_000).unwrap();
        assert_eq!(
            (people[0].role.as_str(), people[0].services.clone()),
            ("driver", vec!["web".to_string()])
        );
        drop(driving);
        // Silent past GONE (killed, the SSH session dropped): not listed.
        assert_eq!(who(&path, now + 60_000).unwrap(), vec![]);
        // Leaving cleanly removes it at once.
        drop(here);
        assert_eq!(who(&path, now + 3_000).unwrap(), vec![]);
    }
}
