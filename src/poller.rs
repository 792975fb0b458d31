//! One poller of AWS per war room. Consoles on one shared journal watch the
//! same services; if each polled ECS, CloudWatch and the load balancers
//! itself, ten consoles would cost ten times the calls (and the rate
//! limits). So one of them — whoever holds the `@aws-poller` lease in the
//! journal's lease table — polls, and publishes every reading as a journal
//! row; the others feed those readings to core as the very messages their
//! own sources would have sent, with the time the reading was made.
//!
//! - **Election**: every second a follower looks at the lease; a free or lost
//!   one (its holder quit, was killed, or was silent for [`EXPIRY`]) it
//!   takes. The holder renews it every second and releases it when it goes,
//!   so a follower polls within about a second of the poller quitting.
//! - **Cadence**: each AWS source of a console is an *item* (a key naming
//!   what it reads and with which configuration). An item is due when its
//!   interval has passed since its last reading, whoever made it, so a new
//!   poller goes on where the old one stopped instead of polling everything
//!   at once.
//! - **Rows**: one row a second at most (`kind = "event"`, `data.kind =
//!   "reading"`), each reading with its item, time and digest; the value
//!   itself only when it differs from the item's previous publication, or
//!   every 30 s (a deployment or a split that has not moved costs a few
//!   bytes).
//! - **Safety net**: a follower polls an item itself when no usable reading
//!   of it came for its interval plus a grace (the lease table cannot be
//!   read, a console watches services the poller does not), and at its own
//!   start (so a console shows AWS data as soon as it did alone).
//!
//! Local sources (health probes, nginx, command providers, the sandbox) are
//! never gated: each console reads those itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::core::deploy::EnvDeploy;
use crate::core::metrics::WindowStats;
use crate::core::model::{ExternalAlarm, SourceKind};
use crate::core::msg::{EnvSnapshot, Msg};
use crate::core::time::Ts;
use crate::core::traffic::Weights;
use crate::room::{Entry, Journal};

/// The lease that elects the poller (defined with the leases, which keep
/// it out of the room's presence).
pub const LEASE: &str = crate::room::lease::POLLER;

/// The scope of the poller's rows: no service's, so no report lists them
/// among a service's events.
pub const SCOPE: &str = "@aws";

/// A poller silent this long (stopped, cut off) has lost the election. One
/// that quit releases the lease; one killed on this host is seen gone at
/// once (its process is not running).
pub const EXPIRY: Duration = Duration::from_secs(5);

/// How often the holder renews the lease and the others look at it.
pub const ELECTION: Duration = Duration::from_secs(1);

/// Readings are published together, at most once per this.
const FLUSH: Duration = Duration::from_secs(1);

/// An unchanged value is published again in full this often: a follower
/// that read the item itself and got another value (metrics read a moment
/// apart) learns the poller's without polling again and again.
const FULL_EVERY: Duration = Duration::from_secs(30);

/// How often a gated source looks whether it is due.
const CHECK: Duration = Duration::from_millis(250);

/// What a follower waits for beyond an item's interval before it polls the
/// item itself: the poller's own poll time, the row's second, the tail's
/// quarter second, and slack.
fn grace(every: Duration) -> Duration {
    every / 2 + Duration::from_secs(2)
}

/// A reading, by names: what a source of one console read, in terms another
/// console (with its services in another order, or fewer) understands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "of", rename_all = "snake_case")]
pub enum Reading {
    Deploy {
        service: String,
        result: Result<Vec<EnvDeploy>, String>,
    },
    Traffic {
        service: String,
        result: Result<Weights, String>,
    },
    Alarms {
        source: String,
        alarms: Vec<(String, ExternalAlarm)>,
        covered: Vec<String>,
    },
    Metrics {
        source: String,
        snapshots: Vec<Snapshot>,
    },
    Failed {
        source: String,
        alarms: bool,
        error: String,
    },
}

/// One environment's metric windows, by names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub service: String,
    pub env: String,
    pub one_min: WindowStats,
    pub five_min: WindowStats,
    pub extra: Vec<WindowStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tally: Option<crate::core::compare::Tally>,
}

/// One reading as published: the item, when it was read (the poller's
/// clock), the digest of its value, and the value when it changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Published {
    pub item: String,
    pub at: Ts,
    pub digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<Reading>,
}

/// Service names and their environments' names, in this console's order.
pub type Names = Vec<(String, Vec<String>)>;

/// A key for an item: what it is and a digest of the configuration it is
/// read with (two consoles share readings only when they would have made
/// the same calls). Built from `Debug` text, which keeps secrets out
/// (`Secret` prints `***`); only the digest is journaled anyway.
pub fn key(what: &str, config: &impl std::fmt::Debug) -> String {
    format!("{what} #{}", &digest(&format!("{config:?}"))[..12])
}

fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Default)]
struct Item {
    /// The last usable reading: made here, or relayed.
    fresh: Option<Instant>,
    digest: String,
    reading: Option<Reading>,
    /// The digest last published, and when it was last published in full
    /// (the poller's side).
    published: Option<String>,
    full_at: Option<Instant>,
}

struct Inner {
    polls: AtomicBool,
    names: Names,
    items: Mutex<HashMap<String, Item>>,
    pending: Mutex<Vec<Published>>,
}

/// The war room's AWS poller as one console takes part in it. Cheap to clone.
#[derive(Clone)]
pub struct Poller {
    inner: Arc<Inner>,
}

impl Poller {
    /// A console's part, following until elected.
    pub fn new(names: Names) -> Self {
        Poller {
            inner: Arc::new(Inner {
                polls: AtomicBool::new(false),
                names,
                items: Mutex::new(HashMap::new()),
                pending: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Whether this console polls AWS for the room now.
    pub fn polls(&self) -> bool {
        self.inner.polls.load(Ordering::Relaxed)
    }

    fn set_polls(&self, polls: bool) {
        self.inner.polls.store(polls, Ordering::Relaxed);
    }

    /// The source of `key`, read at `every`.
    pub fn gate(&self, key: String) -> Gate {
        Gate {
            poller: self.clone(),
            key: key.into(),
        }
    }

    fn items(&self) -> std::sync::MutexGuard<'_, HashMap<String, Item>> {
        self.inner
            .items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How long until `key` is due here (zero: now).
    fn left(&self, key: &str, every: Duration) -> Duration {
        let polls = self.polls();
        let items = self.items();
        let Some(fresh) = items.get(key).and_then(|i| i.fresh) else {
            return Duration::ZERO;
        };
        let wait = if polls { every } else { every + grace(every) };
        wait.saturating_sub(fresh.elapsed())
    }

    /// A poll of `key` starts now: the next is due an interval from here.
    fn started(&self, key: &str) {
        self.items().entry(key.to_string()).or_default().fresh = Some(Instant::now());
    }

    /// What this console's source of `key` read: kept, and queued for the
    /// room if this console is the poller.
    fn read(&self, key: &str, msg: &Msg) {
        let Some(reading) = by_names(msg, &self.inner.names) else {
            return;
        };
        let Ok(text) = serde_json::to_string(&reading) else {
            return;
        };
        let d = digest(&text);
        let polls = self.polls();
        let changed = {
            let mut items = self.items();
            let item = items.entry(key.to_string()).or_default();
            item.digest = d.clone();
            item.reading = Some(reading.clone());
            let changed = item.published.as_deref() != Some(d.as_str())
                || item.full_at.is_none_or(|t| t.elapsed() >= FULL_EVERY);
            if polls {
                item.published = Some(d.clone());
                if changed {
                    item.full_at = Some(Instant::now());
                }
            }
            changed
        };
        if polls {
            self.inner
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Published {
                    item: key.to_string(),
                    at: msg.at(),
                    digest: d,
                    reading: changed.then_some(reading),
                });
        }
    }

    /// Readings another console published (a `reading` row's `readings`),
    /// as the messages this console's own sources would have sent. A
    /// reading of an item this console does not read is none of its
    /// business; one whose value it does not have (it published only a
    /// digest this console has not seen) is skipped, and the item is polled
    /// here when due.
    pub fn relayed(&self, readings: &Value, now: Ts) -> Vec<Msg> {
        let Ok(readings) = serde_json::from_value::<Vec<Published>>(readings.clone()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut items = self.items();
        for p in readings {
            // Only items registered here (by a gated source) are followed.
            let Some(item) = items.get_mut(&p.item) else {
                continue;
            };
            let reading = match p.reading {
                Some(r) => r,
                None if item.digest == p.digest => match &item.reading {
                    Some(r) => r.clone(),
                    None => continue,
                },
                None => continue,
            };
            item.digest = p.digest;
            item.reading = Some(reading.clone());
            item.fresh = Some(Instant::now());
            // Another host's clock ahead of this one must not move this
            // console's clock forward: a reading is never from the future.
            let at = Ts(p.at.millis().min(now.millis()));
            if let Some(msg) = to_msg(&reading, &self.inner.names, at) {
                out.push(msg);
            }
        }
        out
    }

    /// Register `key` (a gated source): readings of it are followed.
    fn register(&self, key: &str) {
        self.items().entry(key.to_string()).or_default();
    }

    /// Take part in the room on `journal`: the election, and the poller's
    /// publishing. Returns the tasks (aborted with the engine; the lease is
    /// released when the election task ends).
    pub fn spawn(&self, journal: Journal, operator: String) -> Vec<JoinHandle<()>> {
        vec![
            tokio::spawn(elect(self.clone(), journal.clone(), operator.clone())),
            tokio::spawn(publish(self.clone(), journal, operator)),
        ]
    }
}

/// A gated AWS source: it polls when the item is due for this console.
#[derive(Clone)]
pub struct Gate {
    poller: Poller,
    key: Arc<str>,
}

impl Gate {
    /// Wait until this console should poll the item, `every` being its
    /// interval; the poll is counted as started.
    pub async fn due(&self, every: Duration) {
        self.poller.register(&self.key);
        loop {
            let left = self.poller.left(&self.key, every);
            if left.is_zero() {
                self.poller.started(&self.key);
                return;
            }
            tokio::time::sleep(left.min(CHECK)).await;
        }
    }

    /// What the poll read (the message about to go to core).
    pub fn read(&self, msg: &Msg) {
        self.poller.read(&self.key, msg);
    }
}

/// Wait for the next poll: the source's own ticker, or its gate.
pub async fn next(gate: Option<&Gate>, ticker: &mut tokio::time::Interval, every: Duration) {
    match gate {
        Some(g) => g.due(every).await,
        None => {
            ticker.tick().await;
        }
    }
}

/// A source's message as a reading by names (`None`: not a reading).
pub fn by_names(msg: &Msg, names: &Names) -> Option<Reading> {
    let service = |i: usize| names.get(i).map(|(s, _)| s.clone());
    Some(match msg {
        Msg::DeployRead {
            service: i, result, ..
        } => Reading::Deploy {
            service: service(*i)?,
            result: result.clone().map_err(|e| crate::config::redact_urls(&e)),
        },
        Msg::TrafficRead {
            service: i, result, ..
        } => Reading::Traffic {
            service: service(*i)?,
            result: result.clone().map_err(|e| crate::config::redact_urls(&e)),
        },
        Msg::Alarms {
            source,
            alarms,
            covered,
            ..
        } => Reading::Alarms {
            source: source.clone(),
            alarms: alarms
                .iter()
                .filter_map(|(i, a)| Some((service(*i)?, a.clone())))
                .collect(),
            covered: covered.iter().filter_map(|i| service(*i)).collect(),
        },
        Msg::Metrics {
            source, snapshots, ..
        } => Reading::Metrics {
            source: source.clone(),
            snapshots: snapshots
                .iter()
                .filter_map(|s| {
                    let (svc, envs) = names.get(s.service)?;
                    Some(Snapshot {
                        service: svc.clone(),
                        env: envs.get(s.env)?.clone(),
                        one_min: s.one_min,
                        five_min: s.five_min,
                        extra: s.extra.clone(),
                        tally: s.tally.clone(),
                    })
                })
                .collect(),
        },
        Msg::SourceFailed {
            source,
            kind,
            error,
            ..
        } => Reading::Failed {
            source: source.clone(),
            alarms: *kind == SourceKind::Alarms,
            error: crate::config::redact_urls(error),
        },
        _ => return None,
    })
}

/// A reading as the message this console's source would have sent, its
/// services and environments found by name (`None`: none of them here).
pub fn to_msg(r: &Reading, names: &Names, at: Ts) -> Option<Msg> {
    let service = |name: &str| names.iter().position(|(s, _)| s == name);
    Some(match r {
        Reading::Deploy { service: s, result } => Msg::DeployRead {
            service: service(s)?,
            result: result.clone(),
            at,
        },
        Reading::Traffic { service: s, result } => Msg::TrafficRead {
            service: service(s)?,
            result: result.clone(),
            at,
        },
        Reading::Alarms {
            source,
            alarms,
            covered,
        } => Msg::Alarms {
            source: source.clone(),
            alarms: alarms
                .iter()
                .filter_map(|(s, a)| Some((service(s)?, a.clone())))
                .collect(),
            covered: covered.iter().filter_map(|s| service(s)).collect(),
            at,
        },
        Reading::Metrics { source, snapshots } => Msg::Metrics {
            source: source.clone(),
            snapshots: snapshots
                .iter()
                .filter_map(|n| {
                    let s = service(&n.service)?;
                    let e = names[s].1.iter().position(|env| *env == n.env)?;
                    Some(EnvSnapshot {
                        service: s,
                        env: e,
                        one_min: n.one_min,
                        five_min: n.five_min,
                        extra: n.extra.clone(),
                        tally: n.tally.clone(),
                    })
                })
                .collect(),
            at,
        },
        Reading::Failed {
            source,
            alarms,
            error,
        } => Msg::SourceFailed {
            source: source.clone(),
            kind: if *alarms {
                SourceKind::Alarms
            } else {
                SourceKind::Metrics
            },
            error: error.clone(),
            at,
        },
    })
}

/// Gives the poller's lease up when the election ends (the engine stops):
/// a follower takes it within a second instead of waiting for expiry.
struct Held {
    leases: Arc<Mutex<crate::room::lease::Leases>>,
    lease: Option<crate::room::lease::Lease>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(l) = self.lease.take() {
            let leases = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
            if let Err(e) = leases.release(&l) {
                tracing::warn!("cannot give the AWS poller's lease up: {e}");
            }
        }
    }
}

/// The election: hold the lease (renew it) or watch it, every second.
async fn elect(poller: Poller, journal: Journal, operator: String) {
    let place = journal.place.clone();
    let opened =
        tokio::task::spawn_blocking(move || crate::room::lease::Leases::open(&place)).await;
    let leases = match opened {
        Ok(Ok(l)) => Arc::new(Mutex::new(l)),
        other => {
            // No election without the lease table: this console polls for
            // itself, as a console alone does.
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "its task failed".into(),
            };
            tracing::warn!("no AWS poller election ({why}): this console polls AWS itself");
            poller.set_polls(true);
            return;
        }
    };
    let mut held = Held {
        leases: leases.clone(),
        lease: None,
    };
    let session = journal.session.clone();
    let mut every = tokio::time::interval(ELECTION);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let (l, mine, me, who) = (
            leases.clone(),
            held.lease.clone(),
            session.clone(),
            operator.clone(),
        );
        let step = tokio::task::spawn_blocking(move || {
            let mut l = l.lock().unwrap_or_else(PoisonError::into_inner);
            let now = crate::clock::now().millis();
            match mine {
                Some(lease) => match l.renew(&lease, now) {
                    Ok(true) => Ok(Some(lease)),
                    Ok(false) => Ok(None),
                    Err(e) => Err(e.to_string()),
                },
                None => {
                    let free = match l.holder(LEASE).map_err(|e| e.to_string())? {
                        None => true,
                        Some(h) => h.lost(now, EXPIRY),
                    };
                    if !free {
                        return Ok(None);
                    }
                    match l
                        // Not a driver: the next console polls as soon as one is gone.
                        .take(LEASE, &me, &who, now, EXPIRY, crate::room::Claim::TakeOver)
                        .map_err(|e| e.to_string())?
                    {
                        crate::room::lease::Taken::Granted(lease) => Ok(Some(lease)),
                        crate::room::lease::Taken::HeldBy(_) => Ok(None),
                    }
                }
            }
        })
        .await;
        match step {
            Ok(Ok(Some(lease))) => {
                if held.lease.is_none() {
                    let now = crate::clock::now();
                    let mut e = Entry::new(
                        now,
                        "event",
                        SCOPE,
                        match lease.take_over_text(now.millis()) {
                            Some(t) => format!("polls AWS for the room ({t})"),
                            None => format!("polls AWS for the room (lease {})", lease.token),
                        },
                        &operator,
                    );
                    e.data = Some(serde_json::json!({
                        "kind": "poller", "action": "take", "token": lease.token,
                    }));
                    journal.append(e);
                    tracing::info!(
                        "this console polls AWS for the room (lease {})",
                        lease.token
                    );
                }
                held.lease = Some(lease);
                poller.set_polls(true);
            }
            Ok(Ok(None)) => {
                if held.lease.take().is_some() {
                    tracing::warn!("the AWS poller's lease was lost: following the new poller");
                }
                poller.set_polls(false);
            }
            // A busy file now is not a lost election: as we were, next second.
            Ok(Err(e)) => tracing::debug!("AWS poller election: {e}"),
            Err(_) => {}
        }
    }
}

/// The poller's rows: what its sources read in the last second, together.
async fn publish(poller: Poller, journal: Journal, operator: String) {
    let mut every = tokio::time::interval(FLUSH);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let batch = std::mem::take(
            &mut *poller
                .inner
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if batch.is_empty() {
            continue;
        }
        let full = batch.iter().filter(|p| p.reading.is_some()).count();
        let Ok(readings) = serde_json::to_value(&batch) else {
            continue;
        };
        let at = batch.iter().map(|p| p.at).max().unwrap_or(Ts(0));
        let mut e = Entry::new(
            at,
            "event",
            SCOPE,
            format!("{} AWS readings ({full} in full)", batch.len()),
            &operator,
        );
        e.data = Some(serde_json::json!({ "kind": "reading", "readings": readings }));
        journal.append(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::traffic::Weights;

    fn names() -> Names {
        vec![
            ("api".into(), vec!["blue".into(), "green".into()]),
            ("web".into(), vec!["blue".into(), "green".into()]),
        ]
    }

    #[tokio::test]
    async fn a_reading_reaches_another_console_by_names_and_unchanged_ones_cost_a_digest() {
        let poller = Poller::new(names());
        poller.set_polls(true);
        // The follower has its services in another order, and one less.
        let follower = Poller::new(vec![("web".into(), vec!["green".into(), "blue".into()])]);
        let key = "traffic web #1".to_string();
        let (pg, fg) = (poller.gate(key.clone()), follower.gate(key.clone()));
        fg.poller.register(&fg.key);
        let read = Msg::TrafficRead {
            service: 1,
            result: Ok(Weights::from_percents([("blue", 90), ("green", 10)])),
            at: Ts(1_000),
        };
        pg.read(&read);
        pg.read(&Msg::TrafficRead {
            service: 1,
            result: Ok(Weights::from_percents([("blue", 90), ("green", 10)])),
            at: Ts(2_000),
        });
        let batch = std::mem::take(&mut *poller.inner.pending.lock().unwrap());
        assert_eq!(batch.len(), 2);
        assert!(batch[0].reading.is_some(), "the first reading in full");
        assert!(batch[1].reading.is_none(), "the same again: a digest only");
        let rows = serde_json::to_value(&batch).unwrap();
        let msgs = follower.relayed(&rows, Ts(5_000));
        let expected = |at| Msg::TrafficRead {
            service: 0,
            result: Ok(Weights::from_percents([("blue", 90), ("green", 10)])),
            at: Ts(at),
        };
        assert_eq!(msgs, vec![expected(1_000), expected(2_000)]);
        // A digest the follower has no value for says nothing it can use.
        let lone = serde_json::to_value(&batch[1..]).unwrap();
        let other = Poller::new(names());
        other.register(&key);
        assert_eq!(other.relayed(&lone, Ts(5_000)), vec![]);
        // A reading from a clock ahead is taken as made now, never later.
        let ahead = follower.relayed(&serde_json::to_value(&batch[..1]).unwrap(), Ts(500));
        assert_eq!(ahead, vec![expected(500)]);
        // An item this console does not read is not followed.
        let unknown = Poller::new(names());
        assert_eq!(unknown.relayed(&rows, Ts(5_000)), vec![]);
    }

    #[test]
    fn every_reading_goes_back_to_the_message_it_came_from() {
        let alarm = ExternalAlarm {
            name: "web-5xx".into(),
            state: crate::core::rules::AlarmState::Alarm,
            reason: "threshold crossed".into(),
            since: Ts(7),
            source: "cloudwatch".into(),
        };
        let stats = WindowStats {
            window_secs: 60,
            requests: 100,
            errors: 3,
            rate: 1.6666666666666667,
            error_rate: 0.03,
            p50_ms: Some(12.5),
            p95_ms: None,
            p99_ms: Some(99.0),
        };
        for msg in [
            Msg::DeployRead {
                service: 1,
                result: Err("AccessDenied".into()),
                at: Ts(3),
            },
            Msg::Alarms {
                source: "cloudwatch alarms (eu-west-1)".into(),
                alarms: vec![(1, alarm.clone()), (0, alarm)],
                covered: vec![0, 1],
                at: Ts(3),
            },
            Msg::Metrics {
                source: "cloudwatch".into(),
                snapshots: vec![EnvSnapshot {
                    service: 1,
                    env: 1,
                    one_min: stats,
                    five_min: stats,
                    extra: vec![stats],
                    tally: None,
                }],
                at: Ts(3),
            },
            Msg::SourceFailed {
                source: "cloudwatch".into(),
                kind: SourceKind::Metrics,
                error: "throttled".into(),
                at: Ts(3),
            },
        ] {
            let r = by_names(&msg, &names()).unwrap();
            let back: Reading = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            assert_eq!(to_msg(&back, &names(), Ts(3)), Some(msg));
        }
    }

    #[test]
    fn errors_are_published_without_the_urls_secrets() {
        let msg = Msg::SourceFailed {
            source: "cloudwatch".into(),
            kind: SourceKind::Alarms,
            error: "dispatch failure: https://user:hunter22@proxy.example/x?token=abc".into(),
            at: Ts(3),
        };
        let text = serde_json::to_string(&by_names(&msg, &names()).unwrap()).unwrap();
        assert!(
            !text.contains("hunter22") && !text.contains("abc"),
            "{text}"
        );
    }
}
