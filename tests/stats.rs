//! `backstop report --stats` through the real binary: on a journal that two
//! real engines wrote (each saw the same deploy), and on a journal of two
//! services over two months with the war room's rows.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use backstop::clock::now;
use backstop::core::model::{Origin, State};
use backstop::core::time::Ts;
use backstop::engine::{Engine, Storage};
use backstop::report::stats::month;
use backstop::room::{Entry, Journal, Reader, Redactor};
use backstop::sandbox::{Options, Sandbox, default_world};
use common::{Home, stderr, stdout};
use serde_json::{Value, json};

/// `backstop --journal FILE report --stats [more]`: exit 0, stdout.
fn stats(home: &Home, journal: &std::path::Path, more: &[&str]) -> String {
    let mut c = home.command();
    c.arg("--journal")
        .arg(journal)
        .args(["report", "--stats"])
        .args(more);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

fn green_on(s: &State, version: &str) -> bool {
    s.services[0]
        .deploy
        .as_ref()
        .and_then(|d| d.env("green"))
        .is_some_and(|e| e.current == version)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_two_consoles_saw_counts_once() {
    let sb = Arc::new(
        Sandbox::start(&default_world(), &Options { rate: 0.0 })
            .await
            .unwrap(),
    );
    let config = sb.config(Duration::from_millis(200), Duration::from_millis(100));
    let home = Home::new();
    let storage = Storage::in_dir(home.path());
    let start = || Engine::start(&config, Origin::Drill, Some(sb.clone()), &storage).unwrap();
    let (mut a, mut b) = (start(), start());
    let limit = Duration::from_secs(10);
    let first = |s: &State| green_on(s, "v1.0.1");
    let (ra, rb) = tokio::join!(a.run_until(limit, first), b.run_until(limit, first));
    assert!(ra && rb, "both engines read the deployments");

    sb.deploy("web", "green", "1.0.2").unwrap();
    let moved = |s: &State| green_on(s, "v1.0.2");
    let (ra, rb) = tokio::join!(a.run_until(limit, moved), b.run_until(limit, moved));
    assert!(ra && rb, "both engines saw the deploy");
    // Everything each engine journaled is on disk.
    a.note("test: done").await;
    b.note("test: done").await;

    // Each console journaled the change, as data.
    let reader = Reader::open(&storage.journal).unwrap();
    let rows = reader.events_of(&["deploy"], Ts(i64::MAX)).unwrap();
    let changes: Vec<&Value> = rows
        .iter()
        .filter_map(|r| r.entry.data.as_ref())
        .filter(|d| d.get("to").is_some())
        .collect();
    let want = json!({"kind": "deploy", "env": "green", "from": "v1.0.1", "to": "v1.0.2"});
    assert_eq!(changes, [&want, &want], "{rows:#?}");
    // Their first reads are rows too, and no change.
    assert!(rows.len() >= 6, "{rows:#?}");

    let doc: Value = serde_json::from_str(&stats(&home, &storage.journal, &["--json"])).unwrap();
    let web = &doc["services"][0];
    assert_eq!(web["service"], "web", "{doc:#}");
    assert_eq!(web["month"], month(now()));
    assert_eq!(web["deploys"], 1, "{doc:#}");
    assert_eq!(web["rollbacks"], 0);
    assert_eq!(web["change_failure_rate"], 0.0);
}

/// Journal rows as backstop writes them.
struct Book(Journal);

impl Book {
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
        let mut e = Entry::new(at, kind, scope, format!("{kind} in {scope}"), by);
        e.data = Some(data);
        e.incident = incident;
        e.reference = reference;
        e.level = level.into();
        self.0.append_now(e).unwrap()
    }

    fn event(&self, at: Ts, scope: &str, by: &str, data: Value, incident: Option<i64>) {
        self.put(at, "event", scope, by, data, incident, None, "info");
    }
}

const ALICE: &str = "alice@example.com (aws arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_x/alice@example.com; ec2-user@bastion from 10.0.0.7)";
const BOB: &str = "bob (self-declared; ec2-user@bastion from 10.0.0.9)";

/// 2026-10-01 and 2026-11-01, 00:00 UTC, plus minutes.
fn oct(min: i64) -> Ts {
    Ts(1_790_812_800_000 + min * 60_000)
}
fn nov(min: i64) -> Ts {
    Ts(1_793_491_200_000 + min * 60_000)
}

#[test]
fn report_stats_json_and_markdown_on_two_services_over_two_months() {
    let home = Home::new();
    let path = home.path().join("journal.sqlite");
    let b = Book(Journal::open(&path, Redactor::default()).unwrap());
    let deploy = |at, service, env, from, to, by| {
        let d = json!({"kind": "deploy", "env": env, "from": from, "to": to});
        b.event(at, service, by, d, None);
    };
    // web, October: one deploy seen by two consoles, then an incident
    // (2 min to detect, 4 min to recover), Alice took the lease and
    // switched, Bob approved, Bob was handed the lease.
    b.event(
        oct(0),
        "backstop",
        ALICE,
        json!({"kind": "presence", "action": "joined", "role": "console", "services": ["web"], "read_only": false}),
        None,
    );
    deploy(oct(10), "web", "green", "web:6", "web:7", ALICE);
    deploy(oct(10), "web", "green", "web:6", "web:7", BOB);
    // A comparison on probation saw it first (and a rollback followed).
    b.event(
        oct(13),
        "web",
        "backstop",
        json!({"kind": "dry-run", "rule": "compare errors", "env": "green", "firing": true}),
        None,
    );
    let data = json!({"service": "web", "suspect": "green", "target": "blue", "began": oct(12).millis(), "detected": oct(14).millis()});
    let inc = b.put(oct(14), "incident", "web", ALICE, data, None, None, "warn");
    b.event(
        oct(15),
        "web",
        ALICE,
        json!({"kind": "lease", "action": "take", "service": "web", "from": null, "to": ALICE}),
        None,
    );
    b.event(
        oct(15),
        "web",
        BOB,
        json!({"kind": "approval", "action": "approve", "request": 1, "step": "switch-traffic", "reason": null}),
        Some(inc),
    );
    let intent = b.put(
        oct(16),
        "intent",
        "web",
        ALICE,
        json!({"work": "switch-traffic"}),
        Some(inc),
        None,
        "info",
    );
    b.put(
        oct(16),
        "outcome",
        "web",
        ALICE,
        json!({}),
        Some(inc),
        Some(intent),
        "good",
    );
    let closed = json!({"ending": "completed", "recovered": oct(18).millis()});
    b.put(
        oct(20),
        "closed",
        "web",
        ALICE,
        closed,
        Some(inc),
        None,
        "good",
    );
    b.event(
        oct(30),
        "web",
        BOB,
        json!({"kind": "lease", "action": "handover", "service": "web", "from": ALICE, "to": BOB}),
        None,
    );
    // api, November: two deploys (one seen twice), a rejection, and Bob
    // watching every service.
    b.event(
        nov(0),
        "backstop",
        BOB,
        json!({"kind": "presence", "action": "joined", "role": "watch", "services": [], "read_only": true}),
        None,
    );
    deploy(nov(5), "api", "prod", "api:1", "api:2", BOB);
    deploy(nov(5), "api", "prod", "api:1", "api:2", ALICE);
    deploy(nov(50), "api", "prod", "api:2", "api:3", BOB);
    b.event(
        nov(51),
        "api",
        ALICE,
        json!({"kind": "approval", "action": "reject", "request": 2, "step": "revert-deployment", "reason": "not yet"}),
        None,
    );

    let doc: Value = serde_json::from_str(&stats(&home, &path, &["--json"])).unwrap();
    assert_eq!(
        doc,
        json!({"services": [
            {
                "service": "api", "month": "2026-11",
                "deploys": 2, "rollbacks": 0, "change_failure_rate": 0.0, "incidents": 0,
                "mttd": {"median_s": null, "worst_s": null},
                "mttr": {"median_s": null, "worst_s": null},
                "mtta": {"median_s": null, "worst_s": null},
                "drivers": [], "handovers": 0, "takeovers": 0,
                "approvals": {"approved": 0, "rejected": 1, "overridden": 0},
                "watchers": 1, "dry_run": []
            },
            {
                "service": "web", "month": "2026-10",
                "deploys": 1, "rollbacks": 1, "change_failure_rate": 1.0, "incidents": 1,
                "mttd": {"median_s": 120.0, "worst_s": 120.0},
                "mttr": {"median_s": 240.0, "worst_s": 240.0},
                "mtta": {"median_s": 0.0, "worst_s": 0.0},
                "drivers": ["alice@example.com", "bob"], "handovers": 1, "takeovers": 0,
                "approvals": {"approved": 1, "rejected": 0, "overridden": 0},
                "watchers": 1,
                "dry_run": [{"rule": "compare errors", "fired": 1, "followed": 1}]
            },
            // Bob's console named no service: it watched web too.
            {
                "service": "web", "month": "2026-11",
                "deploys": 0, "rollbacks": 0, "change_failure_rate": null, "incidents": 0,
                "mttd": {"median_s": null, "worst_s": null},
                "mttr": {"median_s": null, "worst_s": null},
                "mtta": {"median_s": null, "worst_s": null},
                "drivers": [], "handovers": 0, "takeovers": 0,
                "approvals": {"approved": 0, "rejected": 0, "overridden": 0},
                "watchers": 1, "dry_run": []
            }
        ]}),
        "{doc:#}"
    );

    // `--format json` is the same; the default is the table.
    let same: Value = serde_json::from_str(&stats(&home, &path, &["--format", "json"])).unwrap();
    assert_eq!(same, doc);
    let md = stats(&home, &path, &[]);
    assert!(
        md.contains(
            "| web | 2026-10 | 1 | 1 | 100 % | 1 | 2m (2m) | 0s (0s) | 4m (4m) | alice@example.com, bob | 1 (0) | 1 / 0 / 0 | 1 |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| web | 2026-11 | 0 | 0 | — | 0 | — | — | — | — | 0 (0) | 0 / 0 / 0 | 1 |"),
        "{md}"
    );
    assert!(
        md.contains("| web | 2026-10 | compare errors | 1 | 1 | 0 |"),
        "{md}"
    );
}

#[test]
fn report_stats_says_when_there_is_nothing_to_count_and_takes_no_incident_number() {
    let home = Home::new();
    let path = home.path().join("journal.sqlite");
    drop(Journal::open(&path, Redactor::default()).unwrap());
    let md = stats(&home, &path, &[]);
    assert!(md.contains("nothing to count in"), "{md}");
    assert_eq!(
        serde_json::from_str::<Value>(&stats(&home, &path, &["--json"])).unwrap(),
        json!({"services": []})
    );
    // A number and --stats ask for two different things.
    let mut c = home.command();
    c.arg("--journal")
        .arg(&path)
        .args(["report", "3", "--stats"]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // No journal at all: said, exit 1.
    let mut c = home.command();
    c.arg("--journal")
        .arg(home.path().join("none.sqlite"))
        .args(["report", "--stats"]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no journal at"), "{}", stderr(&out));
}

/// `backstop --journal FILE milestone ARGS…`: its output.
fn milestone(home: &Home, journal: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut c = home.command();
    c.arg("--journal").arg(journal).arg("milestone").args(args);
    c.output().unwrap()
}

#[test]
fn a_corrected_milestone_moves_the_report_the_post_mortem_and_the_stats() {
    let home = Home::new();
    let path = home.path().join("journal.sqlite");
    let b = Book(Journal::open(&path, Redactor::default()).unwrap());
    // Began at 00:12, detected at 00:14, users back at 00:18: MTTD 2 min.
    let data = json!({"service": "web", "suspect": "green", "target": "blue", "began": oct(12).millis(), "detected": oct(14).millis()});
    let inc = b.put(oct(14), "incident", "web", ALICE, data, None, None, "warn");
    let closed = json!({"ending": "completed", "recovered": oct(18).millis()});
    b.put(
        oct(20),
        "closed",
        "web",
        ALICE,
        closed,
        Some(inc),
        None,
        "good",
    );
    drop(b);
    let report = |args: &[&str]| {
        let mut c = home.command();
        c.arg("--journal").arg(&path).arg("report").args(args);
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    let json_of = || serde_json::from_str::<Value>(&report(&[&inc.to_string(), "--json"])).unwrap();
    assert_eq!(json_of()["mttd_secs"], json!(120.0));

    // Refused, and nothing written: a name, a time, a reason, an incident.
    let n = inc.to_string();
    for (args, code, says) in [
        (
            vec![n.as_str(), "fixed", "00:10", "--reason", "x"],
            2,
            "not a milestone",
        ),
        (
            vec![n.as_str(), "began", "ten past", "--reason", "x"],
            2,
            "not a time",
        ),
        (
            vec![n.as_str(), "began", "00:10", "--reason", " "],
            2,
            "say why",
        ),
        (
            vec![n.as_str(), "began", "2099-01-01T00:00:00Z", "--reason", "x"],
            2,
            "in the future",
        ),
        (
            vec!["99", "began", "00:10", "--reason", "x"],
            1,
            "no incident 99",
        ),
    ] {
        let out = milestone(&home, &path, &args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(
        json_of()["mttd_secs"],
        json!(120.0),
        "a refusal wrote nothing"
    );

    // The load balancer's logs say 00:10: MTTD is 4 minutes, and says why.
    let out = milestone(
        &home,
        &path,
        &[
            &n,
            "began",
            "00:10",
            "--reason",
            "the load balancer's first 500 was at 00:10",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("impact began corrected to 2026-10-01T00:10:00Z"),
        "{}",
        stdout(&out)
    );
    let r = json_of();
    assert_eq!(r["mttd_secs"], json!(240.0));
    let began = r["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "impact began")
        .unwrap()
        .clone();
    assert_eq!(began["at"], json!("2026-10-01T00:10:00Z"));
    assert!(
        began["from"]
            .as_str()
            .unwrap()
            .contains("the load balancer's first 500 was at 00:10"),
        "{began}"
    );
    let pm = report(&[&n, "--postmortem"]);
    assert!(pm.contains("corrected by"), "{pm}");
    // Acknowledged, corrected too: MTTA counts from detection (00:14).
    let out = milestone(
        &home,
        &path,
        &[&n, "acknowledged", "00:16", "--reason", "paged by phone"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_of()["mtta_secs"], json!(120.0));
    let s: Value = serde_json::from_str(&stats(&home, &path, &["--json"])).unwrap();
    let web = &s["services"][0];
    assert_eq!(web["mttd"]["median_s"], json!(240.0), "{web}");
    assert_eq!(web["mtta"]["median_s"], json!(120.0), "{web}");
}
