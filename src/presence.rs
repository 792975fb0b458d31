//! Who is here: every console and headless command on a journal announces
//! itself in the journal's file and heartbeats; one that vanishes (its SSH
//! session dropped, killed) drops out after `GONE` without a heartbeat.
//! `backstop who` lists them, with the services each one drives (holds the
//! lease of).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::lease::SCHEMA as LEASES;

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

fn open(path: &Path) -> rusqlite::Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    let conn = crate::lease::shared(path, SCHEMA)?;
    conn.execute_batch(LEASES)?;
    Ok(conn)
}

/// This process, present on a journal until dropped.
pub struct Here {
    path: std::path::PathBuf,
    session: String,
    beat: tokio::task::JoinHandle<()>,
}

impl Here {
    /// Announce this process on the journal at `path`, and keep saying so.
    pub fn announce(
        path: &Path,
        what: &str,
        services: &[String],
        read_only: bool,
    ) -> Result<Here, String> {
        let session = crate::identity::session();
        let now = crate::sources::now().millis();
        let conn = open(path).map_err(|e| format!("presence in {}: {e}", path.display()))?;
        conn.execute(
            "INSERT INTO presence (session, operator, what, services, since_ms, last_seen_ms, read_only)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)
             ON CONFLICT(session) DO UPDATE SET last_seen_ms = ?5",
            params![
                session,
                crate::identity::operator(),
                what,
                serde_json::to_string(services).unwrap_or_default(),
                now,
                read_only
            ],
        )
        .map_err(|e| format!("presence in {}: {e}", path.display()))?;
        let conn = std::sync::Arc::new(std::sync::Mutex::new(conn));
        let id = session.clone();
        let beat = tokio::spawn(async move {
            let mut every = tokio::time::interval(BEAT);
            loop {
                every.tick().await;
                let (conn, id) = (conn.clone(), id.clone());
                let _ = tokio::task::spawn_blocking(move || {
                    conn.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .execute(
                            "UPDATE presence SET last_seen_ms = ?2 WHERE session = ?1",
                            params![id, crate::sources::now().millis()],
                        )
                })
                .await;
            }
        });
        Ok(Here {
            path: path.to_path_buf(),
            session,
            beat,
        })
    }
}

impl Drop for Here {
    fn drop(&mut self) {
        self.beat.abort();
        // Leaving cleanly: gone at once, not after `GONE`.
        if let Ok(conn) = open(&self.path) {
            let _ = conn.execute(
                "DELETE FROM presence WHERE session = ?1",
                params![self.session],
            );
        }
    }
}

/// Everyone present on the journal at `path` now, oldest first: sessions
/// seen within `GONE`, each a driver of the services whose live lease it
/// holds. A journal nobody uses has nobody.
pub fn who(path: &Path, now_ms: i64) -> Result<Vec<Person>, String> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let err = |e: rusqlite::Error| format!("{}: {e}", path.display());
    let conn = open(path).map_err(err)?;
    let gone = GONE.as_millis() as i64;
    let mut st = conn
        .prepare(
            "SELECT session, operator, what, services, since_ms, last_seen_ms, read_only
             FROM presence WHERE last_seen_ms >= ?1 ORDER BY since_ms, session",
        )
        .map_err(err)?;
    let rows = st
        .query_map(params![now_ms - gone], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)? != 0,
            ))
        })
        .map_err(err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(err)?;
    let lease_expiry = crate::lease::expiry().as_millis() as i64;
    let mut people = Vec::new();
    for (session, operator, what, services, since, seen, read_only) in rows {
        let mut driven = conn
            .prepare(
                "SELECT service FROM leases
                 WHERE session = ?1 AND released = 0 AND heartbeat_ms >= ?2
                 AND service != ?3 ORDER BY service",
            )
            .map_err(err)?
            // The AWS poller's lease makes nobody a driver.
            .query_map(
                params![session, now_ms - lease_expiry, crate::poller::LEASE],
                |r| r.get::<_, String>(0),
            )
            .map_err(err)?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(err)?;
        let watched: Vec<String> = serde_json::from_str(&services).unwrap_or_default();
        let role = if driven.is_empty() {
            "observer"
        } else {
            "driver"
        };
        if driven.is_empty() {
            driven = watched;
        }
        people.push(Person {
            session,
            operator,
            role: role.into(),
            what,
            services: driven,
            since: crate::core::time::Ts(since).rfc3339(),
            last_seen: crate::core::time::Ts(seen).rfc3339(),
            read_only,
            last_seen_ms: seen,
            since_ms: since,
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
            crate::lease::Driving::take(&path, "web", &crate::identity::operator()).unwrap();
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
