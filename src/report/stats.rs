//! `backstop report --stats`: per service and per month (UTC), what the
//! journal says about change and recovery — deploys, rollbacks, the
//! change-failure rate, MTTD and MTTR — and about the war room — who drove,
//! how the wheel changed hands, approvals, who watched.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::Marks;
use super::probation::{self, DryRun};
use super::war_room::{self, Approval, Lease, Presence, person_key, service_of};
use crate::core::decision::RollbackRecord;
use crate::core::time::{self, Ts};
use crate::room::{Reader, Row};

/// Every service's months, service by service, oldest month first.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    pub services: Vec<Month>,
}

/// One service in one month.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Month {
    pub service: String,
    /// `2026-11`, UTC.
    pub month: String,
    /// New revisions an environment moved to, each counted once however
    /// many consoles saw it; a revert is a rollback, not a deploy.
    pub deploys: u32,
    /// Switches and reverts that succeeded (what the guards count).
    pub rollbacks: u32,
    /// `rollbacks / deploys`; `None` without a deploy.
    pub change_failure_rate: Option<f64>,
    /// Incidents opened.
    pub incidents: u32,
    /// Detection − start of the failure, over the incidents opened.
    pub mttd: Spread,
    /// Recovery (verified) − detection, over the incidents opened.
    pub mttr: Spread,
    /// A person on it − detection (`comms::acknowledged`).
    pub mtta: Spread,
    /// Distinct people who drove: took or were handed the lease, or
    /// switched or reverted. By `identity::person`'s key.
    pub drivers: Vec<String>,
    /// Leases handed from one driver to the next.
    pub handovers: u32,
    /// Leases taken over from a driver gone silent.
    pub takeovers: u32,
    pub approvals: Approvals,
    /// Distinct people present on the journal for the service.
    pub watchers: u32,
    /// Rules on probation (`dry_run = true`): how often each would have
    /// fired, and how often a rollback followed anyway.
    pub dry_run: Vec<DryRun>,
}

/// The middle and the worst of some durations, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    pub median_s: Option<f64>,
    pub worst_s: Option<f64>,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        if v.is_empty() {
            return Spread::default();
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Spread {
            median_s: Some(median),
            worst_s: v.last().copied(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Approvals {
    pub approved: u32,
    pub rejected: u32,
    pub overridden: u32,
}

/// What the months are summed from, before it is counted.
#[derive(Default)]
struct Acc {
    deploys: u32,
    rollbacks: u32,
    incidents: u32,
    mttd: Vec<f64>,
    mttr: Vec<f64>,
    mtta: Vec<f64>,
    drivers: BTreeSet<String>,
    handovers: u32,
    takeovers: u32,
    approvals: Approvals,
    watchers: BTreeSet<String>,
    /// By rule: (fired, followed by a rollback).
    dry_run: BTreeMap<String, (u32, u32)>,
}

/// The sums of `service` in the month of `at`.
fn slot<'a>(acc: &'a mut BTreeMap<(String, String), Acc>, service: &str, at: Ts) -> &'a mut Acc {
    acc.entry((service.to_string(), month(at))).or_default()
}

/// `2026-11`: the UTC month of an instant.
pub fn month(at: Ts) -> String {
    at.rfc3339().chars().take(7).collect()
}

fn str_of<'a>(d: &'a Value, key: &str) -> Option<&'a str> {
    d.get(key).and_then(Value::as_str)
}

fn work(r: &Row) -> Option<&str> {
    str_of(r.entry.data.as_ref()?, "work")
}

impl Stats {
    /// Everything the journal holds, counted.
    pub fn load(reader: &Reader) -> Result<Stats> {
        let rows = reader.of_kinds(&[
            "incident",
            "closed",
            "intent",
            "outcome",
            "checklist",
            "severity",
            "milestone",
        ])?;
        let mut kinds = vec!["deploy", "dry-run"];
        kinds.extend(war_room::KINDS);
        let events = reader.events_of(&kinds, Ts(i64::MAX))?;
        let rollbacks = reader.rollbacks_since(Ts(i64::MIN))?;
        Ok(Stats::of(&rows, &events, &rollbacks))
    }

    /// From the rows of kinds incident, closed, intent and outcome, the
    /// deploy and war-room events, and the rollbacks (`rollbacks_since`),
    /// each in time order.
    pub fn of(rows: &[Row], events: &[Row], rollbacks: &[(String, RollbackRecord)]) -> Stats {
        let mut acc: BTreeMap<(String, String), Acc> = BTreeMap::new();

        // Incidents: MTTD and MTTR as their reports measure them.
        let closed: HashMap<i64, &Row> = rows
            .iter()
            .filter(|r| r.entry.kind == "closed")
            .filter_map(|r| Some((r.entry.incident?, r)))
            .collect();
        // The last checklist published for each incident (rows in order).
        let published: HashMap<i64, &Row> = rows
            .iter()
            .filter(|r| r.entry.kind == "checklist")
            .filter_map(|r| Some((r.entry.incident?, r)))
            .collect();
        // The first severity a person declared for each incident.
        let mut declared: HashMap<i64, Ts> = HashMap::new();
        for r in rows.iter().filter(|r| r.entry.kind == "severity") {
            if let Some(i) = r.entry.incident {
                declared.entry(i).or_insert(r.entry.at);
            }
        }
        // What people corrected, incident by incident.
        let corrections = |id: i64| {
            let own: Vec<Row> = rows
                .iter()
                .filter(|r| r.entry.kind == "milestone" && r.entry.incident == Some(id))
                .cloned()
                .collect();
            super::correct::of(&own)
        };
        for inc in rows.iter().filter(|r| r.entry.kind == "incident") {
            let d = inc.entry.data.as_ref().unwrap_or(&Value::Null);
            let service = str_of(d, "service").unwrap_or(&inc.entry.scope);
            let corrected = corrections(inc.id);
            let marks = Marks::of(
                inc,
                closed.get(&inc.id).copied(),
                published.get(&inc.id).copied(),
            )
            .corrected(&corrected);
            let a = slot(&mut acc, service, inc.entry.at);
            a.incidents += 1;
            a.mttd.extend(marks.mttd_secs());
            a.mttr.extend(marks.mttr_secs());
            let ack = super::correct::last(&corrected, "acknowledged")
                .map(|c| c.at)
                .or_else(|| super::comms::acknowledged(inc, declared.get(&inc.id).copied()));
            a.mtta.extend(super::secs(ack, Some(marks.detected)));
        }
        for (service, r) in rollbacks {
            slot(&mut acc, service, r.at).rollbacks += 1;
        }
        for f in probation::firings(events, rollbacks) {
            let e = slot(&mut acc, &f.service, f.at)
                .dry_run
                .entry(f.rule)
                .or_default();
            e.0 += 1;
            e.1 += u32::from(f.followed);
        }
        // Whoever switched or reverted drove.
        for r in rows.iter().filter(|r| r.entry.kind == "intent") {
            if matches!(work(r), Some("switch-traffic" | "revert-deployment"))
                && let Some(key) = person_key(&r.entry.operator)
            {
                slot(&mut acc, service_of(&r.entry.scope), r.entry.at)
                    .drivers
                    .insert(key);
            }
        }
        for (service, t) in deploys(rows, events) {
            slot(&mut acc, &service, t).deploys += 1;
        }

        let mut presence = Vec::new();
        for r in events {
            if let Some(l) = Lease::of(r) {
                let a = slot(&mut acc, &l.service, l.at);
                match &l.action[..] {
                    "handover" => a.handovers += 1,
                    "takeover" => a.takeovers += 1,
                    _ => {}
                }
                if let Some(key) = l.driver().and_then(person_key) {
                    a.drivers.insert(key);
                }
            } else if let Some(ap) = Approval::of(r) {
                let a = slot(&mut acc, &ap.service, ap.at);
                match &ap.action[..] {
                    "approve" => a.approvals.approved += 1,
                    "reject" => a.approvals.rejected += 1,
                    "override" => a.approvals.overridden += 1,
                    _ => {}
                }
            } else if let Some(p) = Presence::of(r).filter(|p| p.joined) {
                presence.push(p);
            }
        }
        // Watchers last: a console that names no service watches every
        // service the journal knows.
        let known: BTreeSet<String> = acc.keys().map(|(s, _)| s.clone()).collect();
        for p in presence {
            let Some(key) = person_key(&p.operator) else {
                continue;
            };
            let services: Vec<&String> = match &p.services {
                Some(s) => s.iter().collect(),
                None => known.iter().collect(),
            };
            for s in services {
                acc.entry((s.clone(), month(p.at)))
                    .or_default()
                    .watchers
                    .insert(key.clone());
            }
        }

        let services = acc
            .into_iter()
            .map(|((service, month), a)| Month {
                service,
                month,
                deploys: a.deploys,
                rollbacks: a.rollbacks,
                change_failure_rate: (a.deploys > 0)
                    .then(|| f64::from(a.rollbacks) / f64::from(a.deploys)),
                incidents: a.incidents,
                mttd: Spread::of(a.mttd),
                mttr: Spread::of(a.mttr),
                mtta: Spread::of(a.mtta),
                drivers: a.drivers.into_iter().collect(),
                handovers: a.handovers,
                takeovers: a.takeovers,
                approvals: a.approvals,
                watchers: a.watchers.len() as u32,
                dry_run: a
                    .dry_run
                    .into_iter()
                    .map(|(rule, (fired, followed))| DryRun {
                        rule,
                        fired,
                        followed,
                    })
                    .collect(),
            })
            .collect();
        Stats { services }
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// One table, a row per service and month.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| Service | Month | Deploys | Rollbacks | Change-failure rate | Incidents | MTTD median (worst) | MTTA median (worst) | MTTR median (worst) | Drivers | Handovers (takeovers) | Approved / rejected / overridden | Watchers |"
        );
        let _ = writeln!(s, "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|");
        for m in &self.services {
            let drivers = if m.drivers.is_empty() {
                "—".to_string()
            } else {
                super::cell(&m.drivers.join(", "))
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} / {} / {} | {} |",
                super::cell(&m.service),
                m.month,
                m.deploys,
                m.rollbacks,
                m.change_failure_rate
                    .map_or_else(|| "—".to_string(), |r| format!("{:.0} %", r * 100.0)),
                m.incidents,
                spread(m.mttd),
                spread(m.mtta),
                spread(m.mttr),
                drivers,
                m.handovers,
                m.takeovers,
                m.approvals.approved,
                m.approvals.rejected,
                m.approvals.overridden,
                m.watchers
            );
        }
        let rows: Vec<(&str, &str, &DryRun)> = self
            .services
            .iter()
            .flat_map(|m| {
                m.dry_run
                    .iter()
                    .map(move |d| (m.service.as_str(), m.month.as_str(), d))
            })
            .collect();
        s.push_str(&probation::table(&rows));
        s
    }
}

/// `40s (1m20s)`, or `—` when nothing was measured.
fn spread(s: Spread) -> String {
    let d = |x: f64| time::human(Duration::from_secs_f64(x.max(0.0).round()));
    match (s.median_s, s.worst_s) {
        (Some(m), Some(w)) => format!("{} ({})", d(m), d(w)),
        _ => "—".to_string(),
    }
}

/// Every deploy, once: `(service, when)`. Several consoles on one journal
/// each write the change they saw, so a row whose revision the environment
/// is already known to be on is the same change seen again. A change that
/// follows a revert asked of that environment (to the revision it named,
/// or any when it named none) is the revert, counted with the rollbacks;
/// a revert that failed expects no change.
fn deploys(rows: &[Row], events: &[Row]) -> Vec<(String, Ts)> {
    enum Seen<'a> {
        Moved { env: &'a str, to: &'a str },
        RevertAsked { env: &'a str, to: Option<&'a str> },
        RevertFailed { intent: i64 },
    }
    let reverts: HashMap<i64, &Row> = rows
        .iter()
        .filter(|r| r.entry.kind == "intent" && work(r) == Some("revert-deployment"))
        .map(|r| (r.id, r))
        .collect();
    let mut seen: Vec<(&Row, Seen)> = Vec::new();
    for r in events {
        let Some(d) = r.entry.data.as_ref() else {
            continue;
        };
        if let (Some("deploy"), Some(env), Some(to)) =
            (str_of(d, "kind"), str_of(d, "env"), str_of(d, "to"))
        {
            seen.push((r, Seen::Moved { env, to }));
        }
    }
    for r in reverts.values() {
        let d = r.entry.data.as_ref().unwrap_or(&Value::Null);
        if let Some((_, env)) = r.entry.scope.split_once('/') {
            seen.push((
                r,
                Seen::RevertAsked {
                    env,
                    to: str_of(d, "to"),
                },
            ));
        }
    }
    for r in rows.iter().filter(|r| r.entry.kind == "outcome") {
        if let Some(intent) = r.entry.reference.filter(|i| reverts.contains_key(i))
            && r.entry.level != "good"
        {
            seen.push((r, Seen::RevertFailed { intent }));
        }
    }
    seen.sort_by_key(|(r, _)| (r.entry.at, r.id));

    // Per (service, environment): the revision it is on, and a revert
    // under way (its intent, and the revision it goes to).
    let mut on: HashMap<(&str, &str), &str> = HashMap::new();
    let mut reverting: HashMap<(&str, &str), (i64, Option<&str>)> = HashMap::new();
    let mut out = Vec::new();
    for (r, s) in &seen {
        let service = service_of(&r.entry.scope);
        match *s {
            Seen::Moved { env, to } => {
                let key = (service, env);
                if on.get(&key) == Some(&to) {
                    continue;
                }
                on.insert(key, to);
                match reverting.get(&key) {
                    Some((_, want)) if want.is_none_or(|w| w == to) => {
                        reverting.remove(&key);
                    }
                    _ => out.push((service.to_string(), r.entry.at)),
                }
            }
            Seen::RevertAsked { env, to } => {
                reverting.insert((service, env), (r.id, to));
            }
            Seen::RevertFailed { intent } => reverting.retain(|_, (i, _)| *i != intent),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;
    use crate::room::{Entry, Journal, Redactor};

    const SSO: &str =
        "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_x/alice@example.com";

    fn alice() -> String {
        format!("alice@example.com (aws {SSO}; ec2-user@bastion from 10.0.0.7)")
    }

    /// Alice again, from another address, under a name she declared.
    fn al() -> String {
        format!("al (self-declared; aws {SSO}; ec2-user@bastion from 10.0.0.8)")
    }

    const BOB: &str = "bob (self-declared; ec2-user@bastion from 10.0.0.9)";
    const CAROL: &str = "carol@laptop";

    /// October or November 2026, UTC.
    pub(crate) fn t(month: u32, day: i64, h: i64, m: i64, s: i64) -> Ts {
        let base = if month == 10 {
            1_790_812_800_000
        } else {
            1_793_491_200_000
        };
        Ts(base + (((day - 1) * 24 + h) * 60 + m) * 60_000 + s * 1000)
    }

    /// A journal on disk, written as backstop writes it.
    pub(crate) struct Book {
        pub j: Journal,
        pub path: std::path::PathBuf,
        _dir: tempfile::TempDir,
    }

    impl Book {
        pub(crate) fn new() -> Book {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("journal.sqlite");
            Book {
                j: Journal::open(&path, Redactor::default()).unwrap(),
                path,
                _dir: dir,
            }
        }

        #[allow(clippy::too_many_arguments)]
        fn put(
            &self,
            at: Ts,
            kind: &str,
            scope: &str,
            by: &str,
            data: Value,
            incident: Option<i64>,
            reference: Option<i64>,
            level: &str,
        ) -> i64 {
            let mut e = Entry::new(at, kind, scope, format!("{kind} {data}"), by);
            e.data = Some(data);
            e.incident = incident;
            e.reference = reference;
            e.level = level.into();
            self.j.append_now(e).unwrap()
        }

        pub(crate) fn event(&self, at: Ts, scope: &str, by: &str, data: Value) {
            self.put(at, "event", scope, by, data, None, None, "info");
        }

        fn deploy(&self, at: Ts, service: &str, env: &str, from: &str, to: &str, by: &str) {
            let data = json!({"kind": "deploy", "env": env, "from": from, "to": to});
            self.event(at, service, by, data);
        }

        fn incident(&self, at: Ts, service: &str, began: Option<Ts>, detected: Ts) -> i64 {
            let data = json!({
                "service": service, "suspect": "green", "target": "blue",
                "began": began.map(Ts::millis), "detected": detected.millis(),
            });
            self.put(at, "incident", service, CAROL, data, None, None, "warn")
        }

        fn closed(&self, at: Ts, service: &str, incident: i64, recovered: Option<Ts>) {
            let data = json!({"ending": "completed", "recovered": recovered.map(Ts::millis)});
            self.put(
                at,
                "closed",
                service,
                CAROL,
                data,
                Some(incident),
                None,
                "good",
            );
        }

        /// A change's intent and its outcome a second later.
        #[allow(clippy::too_many_arguments)]
        fn change(
            &self,
            at: Ts,
            scope: &str,
            by: &str,
            work: &str,
            to: Option<&str>,
            incident: i64,
            ok: bool,
        ) {
            let data = json!({"work": work, "to": to});
            let id = self.put(at, "intent", scope, by, data, Some(incident), None, "info");
            let level = if ok { "good" } else { "bad" };
            let out = json!({"step": work});
            let later = at.plus(Duration::from_secs(1));
            self.put(
                later,
                "outcome",
                scope,
                by,
                out,
                Some(incident),
                Some(id),
                level,
            );
        }

        fn lease(&self, at: Ts, service: &str, action: &str, from: Option<&str>, to: Option<&str>) {
            let data = json!({"kind": "lease", "action": action, "service": service, "from": from, "to": to});
            self.event(at, service, to.unwrap_or(CAROL), data);
        }

        fn approval(
            &self,
            at: Ts,
            service: &str,
            by: &str,
            action: &str,
            request: i64,
            incident: Option<i64>,
        ) {
            let data = json!({"kind": "approval", "action": action, "request": request, "step": "switch-traffic", "reason": null});
            self.put(at, "event", service, by, data, incident, None, "info");
        }

        fn presence(&self, at: Ts, by: &str, action: &str, services: &[&str]) {
            let data = json!({"kind": "presence", "action": action, "role": "console", "services": services, "read_only": false});
            self.event(at, "backstop", by, data);
        }
    }

    /// Two services over two months, written by two consoles (each writes
    /// the deploys it sees). Returns the incidents: web's of October, web's
    /// reverted in November, web's failed one, api's.
    pub(crate) fn two_months(b: &Book) -> [i64; 4] {
        let (alice, al) = (alice(), al());
        // web, October: two deploys, each seen by both consoles, and a
        // first read that is no change.
        b.presence(t(10, 3, 9, 0, 0), &alice, "joined", &["web"]);
        b.presence(t(10, 3, 9, 30, 0), BOB, "joined", &[]);
        b.presence(t(10, 3, 9, 45, 0), BOB, "left", &[]);
        b.deploy(t(10, 3, 10, 0, 0), "web", "green", "web:6", "web:7", &alice);
        b.deploy(t(10, 3, 10, 0, 2), "web", "green", "web:6", "web:7", BOB);
        b.event(t(10, 3, 10, 0, 3), "web", BOB, json!({"kind": "deploy"}));
        b.deploy(t(10, 3, 10, 5, 0), "web", "blue", "web:6", "web:7", &alice);
        b.deploy(t(10, 3, 10, 5, 1), "web", "blue", "web:6", "web:7", BOB);
        // Incident: 60 s to detect, 120 s to recover; switched by Alice.
        let web1 = b.incident(
            t(10, 3, 10, 7, 0),
            "web",
            Some(t(10, 3, 10, 6, 0)),
            t(10, 3, 10, 7, 0),
        );
        b.lease(t(10, 3, 10, 7, 10), "web", "take", None, Some(&alice));
        b.approval(t(10, 3, 10, 7, 20), "web", &alice, "ask", 1, Some(web1));
        b.presence(t(10, 3, 10, 7, 25), &al, "joined", &["web"]);
        b.presence(t(10, 3, 10, 7, 26), CAROL, "joined", &["api"]);
        b.approval(t(10, 3, 10, 7, 30), "web", BOB, "approve", 1, Some(web1));
        b.approval(t(10, 3, 10, 7, 40), "web", CAROL, "reject", 2, Some(web1));
        b.change(
            t(10, 3, 10, 8, 0),
            "web",
            &alice,
            "switch-traffic",
            None,
            web1,
            true,
        );
        b.closed(t(10, 3, 10, 10, 0), "web", web1, Some(t(10, 3, 10, 9, 0)));
        b.lease(
            t(10, 3, 10, 20, 0),
            "web",
            "handover",
            Some(&alice),
            Some(BOB),
        );
        b.presence(t(10, 3, 18, 0, 0), &alice, "left", &["web"]);
        b.presence(t(10, 3, 18, 0, 1), &al, "left", &["web"]);

        // api, October: no deploy, one rollback by Bob (30 s, 120 s).
        b.presence(t(10, 15, 11, 0, 0), CAROL, "joined", &["api"]);
        let api = b.incident(
            t(10, 15, 12, 0, 30),
            "api",
            Some(t(10, 15, 12, 0, 0)),
            t(10, 15, 12, 0, 30),
        );
        b.change(
            t(10, 15, 12, 1, 0),
            "api",
            BOB,
            "switch-traffic",
            None,
            api,
            true,
        );
        b.closed(t(10, 15, 12, 3, 0), "api", api, Some(t(10, 15, 12, 2, 30)));

        // web, November: a deploy (twice seen), reverted (the revert's
        // change, twice seen, is the rollback), a failed incident, and the
        // same revision deployed again.
        b.presence(t(11, 1, 8, 0, 0), &al, "joined", &["web", "api"]);
        b.presence(t(11, 1, 18, 0, 0), &al, "left", &["web", "api"]);
        b.deploy(t(11, 2, 9, 0, 0), "web", "green", "web:7", "web:8", &alice);
        b.deploy(t(11, 2, 9, 0, 1), "web", "green", "web:7", "web:8", BOB);
        let web2 = b.incident(
            t(11, 2, 9, 3, 0),
            "web",
            Some(t(11, 2, 9, 1, 0)),
            t(11, 2, 9, 3, 0),
        );
        b.approval(t(11, 2, 9, 3, 30), "web", &alice, "override", 3, Some(web2));
        b.approval(t(11, 2, 9, 3, 40), "web", CAROL, "approve", 4, Some(web2));
        b.approval(t(11, 2, 9, 3, 50), "web", CAROL, "expire", 5, Some(web2));
        b.approval(t(11, 2, 9, 3, 55), "web", CAROL, "refuse", 6, Some(web2));
        b.change(
            t(11, 2, 9, 4, 0),
            "web/green",
            BOB,
            "revert-deployment",
            Some("web:7"),
            web2,
            true,
        );
        b.deploy(t(11, 2, 9, 4, 30), "web", "green", "web:8", "web:7", &alice);
        b.deploy(t(11, 2, 9, 4, 31), "web", "green", "web:8", "web:7", BOB);
        b.closed(t(11, 2, 9, 8, 0), "web", web2, Some(t(11, 2, 9, 8, 0)));
        // No start known (no MTTD); 90 s to recover; nothing rolled back: a
        // revert that failed and a switch that failed (Carol still drove).
        let web3 = b.incident(t(11, 20, 14, 0, 0), "web", None, t(11, 20, 14, 0, 0));
        b.lease(
            t(11, 20, 14, 0, 10),
            "web",
            "takeover",
            Some(BOB),
            Some(CAROL),
        );
        b.change(
            t(11, 20, 14, 0, 20),
            "web/blue",
            CAROL,
            "revert-deployment",
            None,
            web3,
            false,
        );
        b.change(
            t(11, 20, 14, 0, 40),
            "web",
            CAROL,
            "switch-traffic",
            None,
            web3,
            false,
        );
        b.closed(t(11, 20, 14, 2, 0), "web", web3, Some(t(11, 20, 14, 1, 30)));
        b.deploy(
            t(11, 21, 10, 0, 0),
            "web",
            "green",
            "web:7",
            "web:8",
            &alice,
        );
        // After the failed revert, blue's next change is a deploy.
        b.deploy(t(11, 23, 10, 0, 0), "web", "blue", "web:7", "web:9", &alice);
        b.presence(t(11, 25, 10, 0, 0), CAROL, "joined", &["web"]);
        b.presence(t(11, 25, 11, 0, 0), CAROL, "joined", &["web"]);

        // api, November: one deploy, a lease asked for (nobody drove).
        b.deploy(t(11, 5, 10, 0, 0), "api", "prod", "api:1", "api:2", CAROL);
        b.lease(t(11, 5, 10, 1, 0), "api", "request", None, Some(CAROL));
        [web1, web2, web3, api]
    }

    fn spread(median: f64, worst: f64) -> Spread {
        Spread {
            median_s: Some(median),
            worst_s: Some(worst),
        }
    }

    #[test]
    fn every_figure_per_service_and_month() {
        let b = Book::new();
        two_months(&b);
        let stats = Stats::load(&Reader::open(&b.path).unwrap()).unwrap();
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let expected = vec![
            Month {
                service: "api".into(),
                month: "2026-10".into(),
                deploys: 0,
                rollbacks: 1,
                change_failure_rate: None,
                incidents: 1,
                mttd: spread(30.0, 30.0),
                mttr: spread(120.0, 120.0),
                mtta: spread(0.0, 0.0),
                drivers: names(&["bob"]),
                handovers: 0,
                takeovers: 0,
                approvals: Approvals::default(),
                // Carol, and Bob's console that named no service.
                watchers: 2,
                dry_run: vec![],
            },
            Month {
                service: "api".into(),
                month: "2026-11".into(),
                deploys: 1,
                rollbacks: 0,
                change_failure_rate: Some(0.0),
                incidents: 0,
                mttd: Spread::default(),
                mttr: Spread::default(),
                mtta: Spread::default(),
                drivers: vec![],
                handovers: 0,
                takeovers: 0,
                approvals: Approvals::default(),
                watchers: 1,
                dry_run: vec![],
            },
            Month {
                service: "web".into(),
                month: "2026-10".into(),
                deploys: 2,
                rollbacks: 1,
                change_failure_rate: Some(0.5),
                incidents: 1,
                mttd: spread(60.0, 60.0),
                mttr: spread(120.0, 120.0),
                mtta: spread(0.0, 0.0),
                drivers: names(&["alice@example.com", "bob"]),
                handovers: 1,
                takeovers: 0,
                approvals: Approvals {
                    approved: 1,
                    rejected: 1,
                    overridden: 0,
                },
                // Alice (twice, as herself and as "al") and Bob.
                watchers: 2,
                dry_run: vec![],
            },
            Month {
                service: "web".into(),
                month: "2026-11".into(),
                deploys: 3,
                rollbacks: 1,
                change_failure_rate: Some(1.0 / 3.0),
                incidents: 2,
                mttd: spread(120.0, 120.0),
                mttr: spread(195.0, 300.0),
                mtta: spread(0.0, 0.0),
                drivers: names(&["bob", "carol@laptop"]),
                handovers: 0,
                takeovers: 1,
                approvals: Approvals {
                    approved: 1,
                    rejected: 0,
                    overridden: 1,
                },
                watchers: 2,
                dry_run: vec![],
            },
        ];
        for (got, want) in stats.services.iter().zip(&expected) {
            assert_eq!(got, want);
        }
        assert_eq!(stats.services.len(), expected.len(), "{stats:#?}");

        let md = stats.markdown();
        assert!(
            md.contains("| web | 2026-11 | 3 | 1 | 33 % | 2 | 2m (2m) | 0s (0s) | 3m15s (5m) | bob, carol@laptop | 0 (1) | 1 / 0 / 1 | 2 |"),
            "{md}"
        );
        assert!(
            md.contains("| api | 2026-10 | 0 | 1 | — | 1 | 30s (30s) | 0s (0s) | 2m (2m) | bob | 0 (0) | 0 / 0 / 0 | 2 |"),
            "{md}"
        );
        let doc: Value = serde_json::from_str(&stats.json()).unwrap();
        assert_eq!(
            doc["services"][1]["mttd"],
            json!({"median_s": null, "worst_s": null})
        );
        assert_eq!(doc["services"][0]["change_failure_rate"], Value::Null);
    }

    #[test]
    fn an_empty_journal_counts_nothing() {
        let b = Book::new();
        b.event(
            t(10, 1, 0, 0, 0),
            "backstop",
            CAROL,
            json!({"kind": "info"}),
        );
        let stats = Stats::load(&Reader::open(&b.path).unwrap()).unwrap();
        assert_eq!(stats, Stats::default());
        assert_eq!(stats.json().replace([' ', '\n'], ""), r#"{"services":[]}"#);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(Spread::of(vec![]), Spread::default());
        assert_eq!(Spread::of(vec![5.0, 1.0, 3.0]), spread(3.0, 5.0));
        assert_eq!(Spread::of(vec![4.0, 1.0, 3.0, 10.0]), spread(3.5, 10.0));
    }
}
