//! One driver per service of a room: a lease beside the journal's rows,
//! with a fencing token that only grows. Whoever holds a service's lease
//! may change it; everyone else watches. Every take and release is one
//! atomic write (a `BEGIN IMMEDIATE` transaction in a file, a conditional
//! write in a table), so of any number of consoles and headless commands
//! asking at the same instant exactly one is granted.
//!
//! Expiry: a holder heartbeats; a lease whose heartbeat is older than the
//! expiry is dead and the next taker gets it (with a new token, so the old
//! holder's token is stale everywhere it is checked). On one host the
//! heartbeat's wall-clock time is comparable between processes — it is the
//! same clock; a backend shared between hosts must not trust clocks.

use std::time::Duration;

use super::{Backend, Error, Place};

/// A lease held: the fencing token is what an action carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub service: String,
    pub session: String,
    pub operator: String,
    /// Grows by one at every change of holder, never goes back.
    pub token: i64,
    pub since_ms: i64,
    /// The holder it was taken from (its heartbeat lost, or a confirmed
    /// take-over): journaled as such by whoever took it.
    pub took_over: Option<Holder>,
}

impl Lease {
    /// `lease of web taken over from alice@bastion (lease 3, no heartbeat for 42s)`.
    pub fn take_over_text(&self, now_ms: i64) -> Option<String> {
        self.took_over.as_ref().map(|h| {
            format!(
                "lease of {} taken over from {} (lease {}, no heartbeat for {}s)",
                self.service,
                h.operator,
                h.token,
                (now_ms - h.heartbeat_ms).max(0) / 1000
            )
        })
    }
}

/// Who holds a service's lease, as another session sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub session: String,
    pub operator: String,
    pub token: i64,
    pub since_ms: i64,
    /// Its last heartbeat on this host's clock: for a table shared between
    /// hosts, the instant this process last saw the lease's version move.
    pub heartbeat_ms: i64,
    /// Its session runs on this host (a journal file), so a holder whose
    /// process is gone is known dead at once.
    pub local: bool,
}

impl Holder {
    /// Its heartbeat has been gone longer than `expiry`, or its process is
    /// no longer running on this host (killed: the next driver need not
    /// wait for the expiry to resolve what it left).
    pub fn lost(&self, now_ms: i64, expiry: Duration) -> bool {
        now_ms.saturating_sub(self.heartbeat_ms) > expiry.as_millis() as i64
            || (self.local && !self.running())
    }

    /// Whether the holder's process still runs, as far as this host can
    /// tell: sessions are `operator#pid-started`; one that does not say
    /// (or another host's) counts as running.
    fn running(&self) -> bool {
        let pid = self
            .session
            .rsplit_once('#')
            .and_then(|(_, rest)| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok());
        match pid {
            // Killed but not yet reaped by its parent (a zombie) is gone too.
            Some(pid) => std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let after = s.rsplit_once(") ")?.1;
                    after.chars().next()
                })
                .is_some_and(|state| state != 'Z' && state != 'X'),
            None => true,
        }
    }
}

/// What a request for a lease may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// A free lease, or this session's own (handed to it): never another
    /// driver's, not even one that is gone.
    Free,
    /// Also a driver's that is gone (no heartbeat for the expiry, or its
    /// process ended): a person confirmed taking it over.
    TakeOver,
    /// Whatever its state.
    Force,
}

/// The answer to a request for the lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Taken {
    Granted(Lease),
    /// Someone else holds it and their heartbeat is alive.
    HeldBy(Holder),
}

/// The leases of one room: the lease half of its backend (a file's, or a
/// table's).
pub struct Leases {
    backend: Box<dyn Backend>,
}

impl Leases {
    pub fn open(place: impl Into<Place>) -> Result<Self, Error> {
        Ok(Leases {
            backend: super::open(&place.into())?,
        })
    }

    /// Who holds `service` now (released leases are nobody's).
    pub fn holder(&self, service: &str) -> Result<Option<Holder>, Error> {
        self.backend.holder(service)
    }

    /// See `Backend::take`.
    pub fn take(
        &mut self,
        service: &str,
        session: &str,
        operator: &str,
        now_ms: i64,
        expiry: Duration,
        claim: Claim,
    ) -> Result<Taken, Error> {
        self.backend
            .take(service, session, operator, now_ms, expiry, claim)
    }

    /// Heartbeat: `false` when the lease is no longer this one (taken over,
    /// or released): the holder must stop acting at once.
    pub fn renew(&self, lease: &Lease, now_ms: i64) -> Result<bool, Error> {
        self.backend.renew(lease, now_ms)
    }

    /// Give the lease up (the token stays, so the next one is higher).
    pub fn release(&self, lease: &Lease) -> Result<(), Error> {
        self.backend.release(lease)
    }

    /// Every held lease of the room, by service.
    pub fn all(&self) -> Result<Vec<(String, Holder)>, Error> {
        self.backend.leases()
    }

    /// See `Backend::hand`.
    pub fn hand(
        &mut self,
        lease: &Lease,
        to: &str,
        to_operator: &str,
        now_ms: i64,
    ) -> Result<Option<Lease>, Error> {
        self.backend.hand(lease, to, to_operator, now_ms)
    }

    /// Whether `token` is the current, held lease of `service`: what an
    /// action checks, as close to the change as it can.
    pub fn current(&self, service: &str, token: i64) -> Result<bool, Error> {
        Ok(self.holder(service)?.is_some_and(|h| h.token == token))
    }

    /// See `Backend::judged`.
    pub fn judged(&self, service: &str, expiry: Duration) -> bool {
        self.backend.judged(service, expiry)
    }
}

/// A service this process drives: its lease taken, kept alive by a
/// heartbeat, and given up when dropped (or left to expire if the process
/// dies).
pub struct Driving {
    leases: std::sync::Arc<std::sync::Mutex<Leases>>,
    pub lease: Lease,
    heartbeat: tokio::task::JoinHandle<()>,
    lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// The lease that elects the console polling AWS for the room
/// (`src/poller.rs`); not a service: `@` keeps it apart from every service
/// name in the panes and `backstop who`.
pub const POLLER: &str = "@aws-poller";

/// How long a lease lives without a heartbeat, unless configured
/// (`lease_expiry`).
pub const EXPIRY: Duration = Duration::from_secs(30);

/// Who holds `service`, and what the person asking may do about it.
pub fn held_by(service: &str, h: &Holder, now_ms: i64, expiry: Duration) -> String {
    let since = crate::core::time::Ts(h.since_ms).hms();
    let quiet = (now_ms - h.heartbeat_ms).max(0) / 1000;
    if h.lost(now_ms, expiry) {
        format!(
            "{} drove {service} but is gone (lease {}, no heartbeat for {quiet}s): a person takes it over from a console (D, then type yes); nothing was changed",
            h.operator, h.token
        )
    } else {
        format!(
            "{service} is driven by {} since {since} (lease {}, last heartbeat {quiet}s ago): nothing was changed",
            h.operator, h.token
        )
    }
}

impl Driving {
    /// Take the lease of `service` in the room at `place` as `claim`
    /// allows, or say who holds it and since when. A driver that is gone
    /// is taken over only when a person confirmed it (`Claim::TakeOver`):
    /// on a table shared between hosts such a holder, seen for the first
    /// time, is watched until it is judged — its lease moves (alive:
    /// refused) or stands still for the expiry (taken).
    pub fn take(
        place: impl Into<crate::room::Place>,
        service: &str,
        operator: &str,
        claim: Claim,
        expiry: Duration,
    ) -> Result<Driving, Error> {
        let now = || crate::clock::now().millis();
        let mut leases = Leases::open(place)?;
        let session = crate::identity::session();
        let mut first: Option<Holder> = None;
        let lease = loop {
            match leases.take(service, &session, operator, now(), expiry, claim)? {
                Taken::Granted(l) => break l,
                Taken::HeldBy(h) => {
                    let moved = first
                        .as_ref()
                        .is_some_and(|f| (f.token, f.heartbeat_ms) != (h.token, h.heartbeat_ms));
                    if claim == Claim::TakeOver && !moved && !leases.judged(service, expiry) {
                        if first.is_none() {
                            tracing::info!(
                                "watching the lease of {service} (held by {}) for up to {}s to learn whether it is alive",
                                h.operator,
                                expiry.as_secs()
                            );
                            first = Some(h);
                        }
                        std::thread::sleep(Duration::from_millis(500));
                        continue;
                    }
                    return Err(Error::Refused(held_by(service, &h, now(), expiry)));
                }
            }
        };
        let leases = std::sync::Arc::new(std::sync::Mutex::new(leases));
        let lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (beat, held, gone) = (leases.clone(), lease.clone(), lost.clone());
        let heartbeat = tokio::spawn(async move {
            let mut every = tokio::time::interval(expiry / 6);
            let mut answered = std::time::Instant::now();
            loop {
                every.tick().await;
                let (beat, lease) = (beat.clone(), held.clone());
                let alive = tokio::task::spawn_blocking(move || {
                    beat.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .renew(&lease, crate::clock::now().millis())
                })
                .await;
                match alive {
                    Ok(Ok(true)) => answered = std::time::Instant::now(),
                    // The journal does not answer: the lease is ours until
                    // the others may judge it dead, not a moment longer.
                    Ok(Err(e)) if answered.elapsed() < expiry => {
                        tracing::warn!("the lease of {}: no heartbeat ({e})", held.service);
                    }
                    _ => {
                        // The fence refuses every intent from here on.
                        tracing::warn!("the lease of {} was lost", held.service);
                        gone.store(true, std::sync::atomic::Ordering::SeqCst);
                        break;
                    }
                }
            }
        });
        Ok(Driving {
            leases,
            lease,
            heartbeat,
            lost,
        })
    }

    /// The lease was lost: taken over, or no heartbeat reached the journal
    /// for the expiry. Nothing is done under it any more, even if no one
    /// else has taken it yet.
    pub fn lost(&self) -> bool {
        self.lost.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Driving {
    /// Give the lease to session `to`: the heartbeat stops, and from the
    /// handover on this backstop's token is stale.
    pub fn hand(&self, to: &str, to_operator: &str) -> Result<Lease, Error> {
        let mut leases = self
            .leases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match leases.hand(&self.lease, to, to_operator, crate::clock::now().millis())? {
            Some(l) => {
                self.heartbeat.abort();
                Ok(l)
            }
            None => Err(Error::Refused(format!(
                "the lease of {} is no longer this backstop's: nothing to hand over",
                self.lease.service
            ))),
        }
    }
}

impl Drop for Driving {
    fn drop(&mut self) {
        self.heartbeat.abort();
        let leases = self
            .leases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = leases.release(&self.lease) {
            tracing::warn!("cannot give the lease of {} up: {e}", self.lease.service);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EXPIRY: Duration = Duration::from_secs(30);

    fn granted(t: Taken) -> Lease {
        match t {
            Taken::Granted(l) => l,
            Taken::HeldBy(h) => panic!("held by {h:?}"),
        }
    }

    #[test]
    fn one_holder_a_growing_token_expiry_and_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        let mut a = Leases::open(&path).unwrap();
        let mut b = Leases::open(&path).unwrap();
        let la = granted(
            a.take("web", "A", "alice@bastion", 1_000, EXPIRY, Claim::TakeOver)
                .unwrap(),
        );
        assert_eq!(la.token, 1);
        // B is refused while A's heartbeat lives, and told who holds it.
        match b
            .take("web", "B", "bob@bastion", 20_000, EXPIRY, Claim::TakeOver)
            .unwrap()
        {
            Taken::HeldBy(h) => assert_eq!((h.operator.as_str(), h.token), ("alice@bastion", 1)),
            t => panic!("{t:?}"),
        }
        assert!(a.renew(&la, 25_000).unwrap());
        assert!(matches!(
            b.take("web", "B", "bob@bastion", 50_000, EXPIRY, Claim::TakeOver)
                .unwrap(),
            Taken::HeldBy(_)
        ));
        // A's heartbeat is gone 30 s and more: B takes it, with a new token.
        let lb = granted(
            b.take("web", "B", "bob@bastion", 55_001, EXPIRY, Claim::TakeOver)
                .unwrap(),
        );
        assert_eq!(lb.token, 2);
        assert_eq!(la.took_over, None, "a free lease is nobody's");
        assert_eq!(
            lb.take_over_text(55_001).as_deref(),
            Some("lease of web taken over from alice@bastion (lease 1, no heartbeat for 30s)")
        );
        assert!(!a.renew(&la, 56_000).unwrap(), "A has lost it");
        assert!(!a.current("web", la.token).unwrap());
        assert!(b.current("web", lb.token).unwrap());
        // Released: the next taker gets the next token, never an old one.
        b.release(&lb).unwrap();
        assert_eq!(b.holder("web").unwrap(), None);
        let la2 = granted(
            a.take("web", "A", "alice@bastion", 57_000, EXPIRY, Claim::TakeOver)
                .unwrap(),
        );
        assert_eq!(la2.token, 3);
        // A forced take-over, confirmed by a person, whatever the heartbeat.
        let lb2 = granted(
            b.take("web", "B", "bob@bastion", 57_500, EXPIRY, Claim::Force)
                .unwrap(),
        );
        assert_eq!(lb2.token, 4);
        // Services are independent.
        assert_eq!(
            granted(
                a.take("api", "A", "alice@bastion", 58_000, EXPIRY, Claim::TakeOver)
                    .unwrap()
            )
            .token,
            1
        );
    }

    #[test]
    fn of_ten_asking_at_once_exactly_one_is_granted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        Leases::open(&path).unwrap();
        let start = std::sync::Arc::new(std::sync::Barrier::new(10));
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    let mut l = Leases::open(&path).unwrap();
                    start.wait();
                    l.take(
                        "web",
                        &format!("S{i}"),
                        "ci@runner",
                        1_000,
                        EXPIRY,
                        Claim::TakeOver,
                    )
                    .unwrap()
                })
            })
            .collect();
        let answers: Vec<Taken> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let granted = answers
            .iter()
            .filter(|t| matches!(t, Taken::Granted(_)))
            .count();
        assert_eq!(granted, 1, "{answers:?}");
    }

    #[derive(Clone, Debug)]
    enum Op {
        Take { who: usize, force: bool },
        Renew { who: usize },
        Release { who: usize },
        Wait { secs: u32 },
        Act { who: usize },
        Hand { from: usize, to: usize },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0usize..3, prop::bool::weighted(0.1)).prop_map(|(who, force)| Op::Take { who, force }),
            (0usize..3).prop_map(|who| Op::Renew { who }),
            (0usize..3).prop_map(|who| Op::Release { who }),
            (0u32..40).prop_map(|secs| Op::Wait { secs }),
            (0usize..3).prop_map(|who| Op::Act { who }),
            (0usize..3, 0usize..3).prop_map(|(from, to)| Op::Hand { from, to }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any interleaving of take, renew, expire, hand over, release and
        /// act by three sessions: never two live holders, tokens only grow,
        /// and an act with a stale token is refused.
        #[test]
        fn never_two_acting_holders(ops in prop::collection::vec(op(), 1..60)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("journal.sqlite");
            let mut sessions: Vec<Leases> = (0..3).map(|_| Leases::open(&path).unwrap()).collect();
            let mut held: Vec<Option<Lease>> = vec![None, None, None];
            let mut now = 1_000i64;
            let mut last_token = 0;
            // The token of the last act that passed the fence.
            let mut last_act = 0;
            for op in ops {
                match op {
                    Op::Take { who, force } => {
                        let claim = if force { Claim::Force } else { Claim::TakeOver };
                        let t = sessions[who].take("web", &format!("S{who}"), "op", now, EXPIRY, claim).unwrap();
                        if let Taken::Granted(l) = t {
                            prop_assert!(l.token >= last_token, "tokens only grow");
                            last_token = l.token;
                            held[who] = Some(l);
                        }
                    }
                    Op::Renew { who } => {
                        if let Some(l) = held[who].clone() && !sessions[who].renew(&l, now).unwrap() {
                            held[who] = None;
                        }
                    }
                    Op::Release { who } => {
                        if let Some(l) = held[who].take() {
                            sessions[who].release(&l).unwrap();
                        }
                    }
                    Op::Wait { secs } => now += i64::from(secs) * 1000,
                    Op::Act { who } => {
                        // The fencing check: only the current token acts,
                        // and no act ever passes with a token older than
                        // one that acted before it.
                        if let Some(l) = &held[who] {
                            let ok = sessions[who].current("web", l.token).unwrap();
                            let holder = sessions[who].holder("web").unwrap();
                            prop_assert_eq!(ok, holder.is_some_and(|h| h.token == l.token && h.session == l.session));
                            if ok {
                                prop_assert!(l.token >= last_act, "a stale token acted");
                                last_act = l.token;
                            }
                        }
                    }
                    Op::Hand { from, to } => {
                        if let Some(l) = held[from].clone() {
                            let handed = sessions[from].hand(&l, &format!("S{to}"), "op", now).unwrap();
                            if let Some(n) = handed {
                                prop_assert!(n.token > l.token, "a handover is a new token");
                                last_token = n.token;
                                // The receiver takes what was handed to it.
                                let t = sessions[to].take("web", &format!("S{to}"), "op", now, EXPIRY, Claim::TakeOver).unwrap();
                                prop_assert!(matches!(&t, Taken::Granted(g) if g.token == n.token), "{t:?}");
                                // (The giver keeps its old token: acting
                                // with it must now fail the fence.)
                                if let Taken::Granted(g) = t {
                                    held[to] = Some(g);
                                }
                            }
                        }
                    }
                }
                // At most one session's token is the current one.
                let current = (0..3)
                    .filter(|i| held[*i].as_ref().is_some_and(|l| sessions[*i].current("web", l.token).unwrap()))
                    .count();
                prop_assert!(current <= 1, "{current} sessions hold a current token");
            }
        }
    }

    /// The fence: a driver that lost its lease (stopped, asleep, cut off)
    /// cannot write an intent, so it cannot act, whatever its screen says.
    #[tokio::test]
    async fn an_intent_under_a_lost_lease_is_refused() {
        use crate::room::{Entry, Fence, Journal, Redactor};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        let journal = Journal::open(&path, Redactor::default()).unwrap();
        let mut a = Leases::open(&path).unwrap();
        let la = granted(
            a.take("web", "A", "alice@bastion", 1_000, EXPIRY, Claim::TakeOver)
                .unwrap(),
        );
        let intent =
            |text: &str| Entry::new(crate::core::time::Ts(2_000), "intent", "web", text, "alice");
        let fence = |token| {
            Some(Fence {
                service: "web".into(),
                token,
            })
        };
        let first = journal
            .append_fenced(intent("switch web"), fence(la.token))
            .await
            .expect("the holder writes its intent");
        let mut b = Leases::open(&path).unwrap();
        let lb = granted(
            b.take("web", "B", "bob@bastion", 40_000, EXPIRY, Claim::TakeOver)
                .unwrap(),
        );
        let refused = journal
            .append_fenced(intent("switch web again"), fence(la.token))
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("bob@bastion drives it now"),
            "{refused}"
        );
        // The new driver resolves what the old one left, under its own
        // lease; only then does the room take a change of its.
        let refused = journal
            .append_fenced(intent("switch web"), fence(lb.token))
            .await
            .unwrap_err();
        assert!(
            matches!(refused, crate::room::Error::Guarded(_)),
            "{refused}"
        );
        let mut resolved = Entry::new(
            crate::core::time::Ts(41_000),
            "outcome",
            "web",
            "resolved",
            "bob",
        );
        resolved.reference = Some(first);
        journal
            .append_fenced(resolved.clone(), fence(lb.token))
            .await
            .expect("the new driver resolves it");
        let twice = journal
            .append_fenced(resolved, fence(lb.token))
            .await
            .unwrap_err();
        assert!(
            matches!(twice, crate::room::Error::Answered { intent, .. } if intent == first),
            "{twice}"
        );
        journal
            .append_fenced(intent("switch web"), fence(lb.token))
            .await
            .expect("the new holder writes");
        let rows: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM journal WHERE kind = 'intent'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows, 2, "the stale intent was never written");
    }

    /// A read-only console's journal writes no intent, incident, outcome,
    /// lease or approval, so nothing can change through it whatever asks.
    #[tokio::test]
    async fn a_read_only_journal_refuses_every_row_that_acts() {
        use crate::room::{Entry, Journal, Redactor};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        let journal = Journal::open(&path, Redactor::default())
            .unwrap()
            .read_only();
        let at = crate::core::time::Ts(1_000);
        let acting = |kind: &str, data: Option<serde_json::Value>| {
            let mut e = Entry::new(at, kind, "web", "bob acts", "bob");
            e.data = data;
            e
        };
        for e in [
            acting("intent", None),
            acting("incident", None),
            acting("outcome", None),
            acting("event", Some(serde_json::json!({ "kind": "lease" }))),
            acting("event", Some(serde_json::json!({ "kind": "approval" }))),
        ] {
            let refused = journal.append_fenced(e.clone(), None).await.unwrap_err();
            assert!(
                refused.to_string().contains("read-only"),
                "{e:?}: {refused}"
            );
            assert!(matches!(refused, crate::room::Error::ReadOnly(_)));
        }
        journal
            .append_fenced(Entry::new(at, "event", "web", "bob watches", "bob"), None)
            .await
            .expect("it records what it sees");
    }

    /// On one host a killed holder is known dead at once: its process is
    /// gone, so the next driver need not wait out the heartbeat's expiry.
    #[test]
    fn a_holder_whose_process_is_gone_has_lost_its_lease() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        let mut l = Leases::open(&path).unwrap();
        // A pid that cannot run (above the kernel's limit).
        let dead = "alice@bastion#4194999-1".to_string();
        granted(
            l.take(
                "web",
                &dead,
                "alice@bastion",
                1_000,
                EXPIRY,
                Claim::TakeOver,
            )
            .unwrap(),
        );
        let me = format!("bob@bastion#{}-2", std::process::id());
        let lb = granted(
            l.take("web", &me, "bob@bastion", 2_000, EXPIRY, Claim::TakeOver)
                .unwrap(),
        );
        assert_eq!(lb.token, 2, "taken at once, not after 30 s");
        assert!(lb.took_over.is_some(), "and journaled as a take-over");
        // A running holder keeps it.
        let mut other = Leases::open(&path).unwrap();
        assert!(matches!(
            other
                .take(
                    "web",
                    "carol@bastion#1-3",
                    "carol",
                    3_000,
                    EXPIRY,
                    Claim::TakeOver
                )
                .unwrap(),
            Taken::HeldBy(_)
        ));
    }
}
