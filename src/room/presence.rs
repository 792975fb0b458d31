//! Who is here: every console and headless command on a journal announces
//! itself beside the journal (its file, or its table) and heartbeats; one
//! that vanishes (its SSH session dropped, killed) drops out after `GONE`
//! without a heartbeat. `backstop who` lists them, with the services each
//! one drives (holds the live lease of).
//!
//! Presence is for people to read: on a table shared between hosts it
//! compares the writers' wall clocks (NTP keeps them within far less than
//! `GONE`); nothing that decides who may act rests on it — leases do.

use std::time::Duration;

use serde::Serialize;

use super::{Backend, Error, Place};

/// Silent this long, a session is gone.
pub const GONE: Duration = Duration::from_secs(15);
/// How often a session says it is still here.
const BEAT: Duration = Duration::from_secs(5);

/// One session, as `backstop who` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Person {
    pub session: String,
    pub operator: String,
    /// The room it is in: the configuration whose war room it joined.
    pub room: String,
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
    /// The incident roles it holds: `comms web`, `scribe web` (filled by
    /// `backstop who`, which reads the role rows; the header has its own).
    pub roles: Vec<String>,
    /// `last_seen` in milliseconds, for ages.
    #[serde(skip)]
    pub last_seen_ms: i64,
    /// `since` in milliseconds.
    #[serde(skip)]
    pub since_ms: i64,
}

/// A session's presence, as stored.
#[derive(Clone, Debug)]
pub struct Present {
    pub session: String,
    pub operator: String,
    pub what: String,
    pub services: Vec<String>,
    pub since_ms: i64,
    pub last_seen_ms: i64,
    pub read_only: bool,
    /// The room it is in.
    pub room: String,
}

/// This process, present on a journal until dropped.
pub struct Here {
    backend: std::sync::Arc<std::sync::Mutex<Box<dyn Backend>>>,
    session: String,
    beat: tokio::task::JoinHandle<()>,
}

impl Here {
    /// Announce this process in the room at `place`, and keep saying so.
    pub fn announce(
        place: impl Into<Place>,
        what: &str,
        services: &[String],
        read_only: bool,
    ) -> Result<Here, Error> {
        let place = place.into();
        let session = crate::identity::session();
        let now = crate::clock::now().millis();
        let backend = super::open(&place)?;
        let me = Present {
            session: session.clone(),
            operator: crate::identity::operator(),
            what: what.to_string(),
            services: services.to_vec(),
            since_ms: now,
            last_seen_ms: now,
            read_only,
            room: place.room.clone(),
        };
        backend.present(&me)?;
        let backend = std::sync::Arc::new(std::sync::Mutex::new(backend));
        let b = backend.clone();
        let beat = tokio::spawn(async move {
            let mut every = tokio::time::interval(BEAT);
            loop {
                every.tick().await;
                let (b, me) = (b.clone(), me.clone());
                let _ = tokio::task::spawn_blocking(move || {
                    let b = b.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if let Err(e) = b.beat(&me, crate::clock::now().millis()) {
                        tracing::debug!("presence: {e}");
                    }
                })
                .await;
            }
        });
        Ok(Here {
            backend,
            session,
            beat,
        })
    }
}

impl Drop for Here {
    fn drop(&mut self) {
        self.beat.abort();
        // Leaving cleanly: gone at once, not after `GONE`.
        let b = self
            .backend
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = b.leave(&self.session) {
            tracing::warn!("presence: {e}");
        }
    }
}

/// Everyone present on the journal at `place` now, oldest first: sessions
/// seen within `GONE`, each a driver of the services whose live lease it
/// holds. A journal nobody uses has nobody.
pub fn who(place: impl Into<Place>, now_ms: i64, expiry: Duration) -> Result<Vec<Person>, Error> {
    let place = place.into();
    let gone = GONE.as_millis() as i64;
    if place.table.is_none() && !place.file.exists() {
        return Ok(Vec::new());
    }
    let present = super::open(&place)?.people()?;
    let mut present: Vec<Present> = present
        .into_iter()
        .filter(|p| p.last_seen_ms >= now_ms - gone)
        .collect();
    if present.is_empty() {
        return Ok(Vec::new());
    }
    present.sort_by(|a, b| (a.since_ms, &a.session).cmp(&(b.since_ms, &b.session)));
    // Each room's leases: a session drives what it holds in its own room.
    let mut leases: Vec<(String, String, super::Holder)> = Vec::new();
    let mut rooms: Vec<String> = present.iter().map(|p| p.room.clone()).collect();
    rooms.sort();
    rooms.dedup();
    for room in rooms {
        let held = super::open(&place.clone().in_room(&room))?.leases()?;
        leases.extend(held.into_iter().map(|(s, h)| (room.clone(), s, h)));
    }
    let mut people = Vec::new();
    for p in present {
        let mut driven: Vec<String> = leases
            .iter()
            // The AWS poller's lease makes nobody a driver.
            .filter(|(room, s, _)| *room == p.room && s != super::lease::POLLER)
            .filter(|(_, _, h)| h.session == p.session && !h.lost(now_ms, expiry))
            .map(|(_, s, _)| s.clone())
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
            room: p.room,
            role: role.into(),
            what: p.what,
            services: driven,
            since: crate::core::time::Ts(p.since_ms).rfc3339(),
            last_seen: crate::core::time::Ts(p.last_seen_ms).rfc3339(),
            read_only: p.read_only,
            roles: Vec::new(),
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
        let now = crate::clock::now().millis();
        assert_eq!(
            who(&path, now, crate::room::lease::EXPIRY).unwrap(),
            vec![],
            "a journal nobody uses"
        );
        let here = Here::announce(&path, "console", &["web".into(), "api".into()], false).unwrap();
        let people = who(&path, now + 1_000, crate::room::lease::EXPIRY).unwrap();
        assert_eq!(people.len(), 1);
        assert_eq!(people[0].role, "observer");
        assert_eq!(people[0].services, ["web", "api"]);
        // It takes the lease of web: it drives web.
        let driving = crate::room::lease::Driving::take(
            &path,
            "web",
            &crate::identity::operator(),
            crate::room::Claim::Free,
            crate::room::lease::EXPIRY,
        )
        .unwrap();
        let people = who(&path, now + 2_000, crate::room::lease::EXPIRY).unwrap();
        assert_eq!(
            (people[0].role.as_str(), people[0].services.clone()),
            ("driver", vec!["web".to_string()])
        );
        // Judged by the expiry given (the configuration in force): under a
        // 1-second one, a heartbeat 2 s old is a lost driver's.
        let strict = who(&path, now + 2_000, Duration::from_secs(1)).unwrap();
        assert_eq!(strict[0].role, "observer");
        drop(driving);
        // Silent past GONE (killed, the SSH session dropped): not listed.
        assert_eq!(
            who(&path, now + 60_000, crate::room::lease::EXPIRY).unwrap(),
            vec![]
        );
        // Leaving cleanly removes it at once.
        drop(here);
        assert_eq!(
            who(&path, now + 3_000, crate::room::lease::EXPIRY).unwrap(),
            vec![]
        );
    }
}
