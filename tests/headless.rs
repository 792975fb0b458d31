//! `verify`, `watch` and `rollback` through the real binary, against the
//! sandbox's services (real HTTP on loopback, started by the test) and a
//! traffic provider that is a real program storing weights in files.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use backstop::core::model::Fault;
use common::platform::{AWS_ENV, Backend, CTL, World};
use common::{stderr, stdout};
use serde_json::Value;

fn json(o: &Output) -> Value {
    serde_json::from_str(&stdout(o))
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", stdout(o), stderr(o)))
}

/// The JSON lines of a --json run.
fn lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn journal_kinds(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut st = conn
        .prepare("SELECT kind FROM journal ORDER BY id")
        .unwrap();
    st.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_a_healthy_deploy_and_names_the_reasons_of_a_bad_one() {
    let w = World::start().await;
    let o = w
        .run(&["verify", "--service", "web", "--stabilize", "0s", "--json"])
        .await;
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{v}\n{}", stderr(&o));
    assert_eq!(v["verified"], true);
    // Only green takes traffic: it is what is verified, health then smoke.
    assert_eq!(v["envs"], serde_json::json!(["green"]));
    let checks: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["health web/green", "smoke green: orders answer"]);

    // A broken release: exit 1 and why.
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let o = w
        .run(&["verify", "--service", "web", "--stabilize", "0s"])
        .await;
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{}", stderr(&o));
    assert!(out.contains("ROLLBACK REQUIRED web"), "{out}");
    assert!(out.contains("health web/green: CRIT"), "{out}");

    // Degraded passes health and smoke, but the watch window sees the
    // degraded-for rule fire.
    w.sandbox
        .set_fault("web", "green", Some(Fault::Degraded))
        .unwrap();
    let o = w
        .run(&[
            "verify",
            "--service",
            "web",
            "--stabilize",
            "0s",
            "--watch",
            "10s",
            "--json",
        ])
        .await;
    let v = json(&o);
    assert_eq!(o.status.code(), Some(1), "{v}");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true),
        "{v}"
    );
    let reasons = v["reasons"].to_string();
    assert!(reasons.contains("degraded-for"), "{v}");

    // Bad usage is exit 2.
    let o = w.run(&["verify", "--service", "nope"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("has no service \"nope\""),
        "{}",
        stderr(&o)
    );
    let o = w
        .run(&["verify", "--service", "web", "--env", "purple"])
        .await;
    assert_eq!(o.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_is_calm_then_says_rollback_required_then_rolls_back_with_auto() {
    let w = World::start().await;
    let o = w
        .run(&["watch", "--service", "web", "--for", "2s", "--json"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let l = lines(&o);
    assert!(
        l.iter().any(|e| e["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("first answer"))),
        "{l:?}"
    );
    assert_eq!(l.last().unwrap()["end"], "calm");

    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let o = w.run(&["watch", "--service", "web", "--for", "30s"]).await;
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.starts_with("watching web for 30s, advising only"),
        "{out}"
    );
    assert!(out.contains("rule health-failures FIRING"), "{out}");
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with("watch ended: web: rollback recommended"),
        "{out}"
    );
    assert_eq!(w.weight("green"), "100", "advice only: nothing moved");

    let o = w
        .run(&[
            "watch",
            "--service",
            "web",
            "--auto",
            "--for",
            "60s",
            "--json",
        ])
        .await;
    let l = lines(&o);
    assert_eq!(o.status.code(), Some(3), "{l:?}\n{}", stderr(&o));
    assert_eq!(l.last().unwrap()["end"], "rolled-back");
    assert!(
        l.iter().any(|e| e["text"]
            .as_str()
            .is_some_and(|t| t.contains("weights set by backstop (auto)"))),
        "{l:?}"
    );
    assert_eq!(
        (w.weight("blue").as_str(), w.weight("green").as_str()),
        ("100", "0")
    );
    // Journaled as the console would: the incident, the intent before the
    // switch and its outcome after.
    let kinds = journal_kinds(&w.journal());
    let intent = kinds.iter().position(|k| k == "intent").unwrap();
    assert!(
        kinds[..intent].contains(&"incident".to_string()),
        "{kinds:?}"
    );
    assert!(
        kinds[intent..].contains(&"outcome".to_string()),
        "{kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_previews_on_dry_run_refuses_without_yes_and_runs_with_it() {
    let w = World::start().await;
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();

    let o = w.run(&["rollback", "--service", "web", "--dry-run"]).await;
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", stderr(&o));
    assert!(
        out.contains("Rollback of web: green → blue, runbook quick"),
        "{out}"
    );
    // The pending rule was given time to decide: the evidence, not a
    // bare request, is the reason.
    assert!(out.contains("because green health-failures 3/3"), "{out}");
    assert!(
        out.contains("[during] Switch traffic from green to blue"),
        "{out}"
    );
    // The provider's own preview of the switch.
    assert!(out.contains("via the command traffic provider"), "{out}");
    assert!(out.contains("(left for a person)"), "the note step: {out}");
    assert!(out.ends_with("dry run: nothing was changed\n"), "{out}");
    assert_eq!(w.weight("green"), "100");
    assert!(!journal_kinds(&w.journal()).contains(&"intent".to_string()));

    // No terminal and no --yes: refused, nothing done.
    let o = w.run(&["rollback", "--service", "web"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert_eq!(w.weight("green"), "100");

    let o = w
        .run(&["rollback", "--service", "web", "--yes", "--json"])
        .await;
    let l = lines(&o);
    assert_eq!(o.status.code(), Some(0), "{l:?}\n{}", stderr(&o));
    let end = l.last().unwrap();
    assert_eq!(end["rolled_back"], true, "{end}");
    assert!(
        end["text"].as_str().unwrap().contains("green → blue"),
        "{end}"
    );
    assert_eq!(
        (w.weight("blue").as_str(), w.weight("green").as_str()),
        ("100", "0")
    );
    assert!(journal_kinds(&w.journal()).contains(&"intent".to_string()));

    // A switch whose outcome never came (another backstop mid-change, or
    // one killed): no headless rollback until a person has looked.
    {
        let j = backstop::room::Journal::open(
            &w.journal(),
            backstop::room::Redactor::new(Vec::<String>::new()),
        )
        .unwrap();
        let mut e = backstop::room::Entry::new(
            backstop::clock::now(),
            "intent",
            "web",
            "switch web: blue → green",
            "ops@console",
        );
        e.data = Some(serde_json::json!({ "work": "switch-traffic" }));
        j.append_durable(e).await.unwrap();
    }
    let o = w.run(&["rollback", "--service", "web", "--yes"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stderr(&o).contains("have no outcome"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("by ops@console: switch web: blue → green"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.weight("blue"), "100");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_rollback_inside_the_cooldown_is_refused() {
    let w = World::start().await;
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let o = w.run(&["rollback", "--service", "web", "--yes"]).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}
{}",
        stdout(&o),
        stderr(&o)
    );
    assert_eq!(w.weight("blue"), "100");
    // Again, now that blue holds the traffic and breaks too: the guard
    // (cooldown) refuses, with exit 1.
    w.sandbox
        .set_fault("web", "blue", Some(Fault::Unhealthy))
        .unwrap();
    let o = w.run(&["rollback", "--service", "web", "--yes"]).await;
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("cooldown"), "{}", stderr(&o));
    assert_eq!(w.weight("blue"), "100");
}

/// On a terminal, without --yes, `rollback` asks once: "n" changes nothing,
/// "y" rolls back (after reading the world again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_rollback_asks_once() {
    use common::pty::Pty;
    use std::time::Duration;
    let w = World::start().await;
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    tokio::task::block_in_place(|| {
        let mut pty = Pty::spawn(&w.home, &["rollback", "--service", "web"], 100, 30, &[]);
        pty.wait_for("the question", Duration::from_secs(20), |s| {
            s.contains("Roll back now? [y/N]") && s.contains("Switch traffic from green to blue")
        });
        pty.send("n\r");
        assert_eq!(pty.wait_exit(Duration::from_secs(10)), 1);
        assert_eq!(w.weight("green"), "100");

        // Ctrl-C at the question: heard at once, nothing changed.
        let mut pty = Pty::spawn(&w.home, &["rollback", "--service", "web"], 100, 30, &[]);
        pty.wait_for("the question", Duration::from_secs(20), |s| {
            s.contains("Roll back now? [y/N]")
        });
        pty.signal("INT");
        assert_eq!(
            pty.wait_exit(Duration::from_secs(5)),
            130,
            "{}",
            pty.screen()
        );
        assert!(
            pty.screen()
                .contains("interrupted by SIGINT before anything was changed"),
            "{}",
            pty.screen()
        );
        assert_eq!(w.weight("green"), "100");

        let mut pty = Pty::spawn(&w.home, &["rollback", "--service", "web"], 100, 30, &[]);
        pty.wait_for("the question", Duration::from_secs(20), |s| {
            s.contains("Roll back now? [y/N]")
        });
        pty.send("y\r");
        assert_eq!(
            pty.wait_exit(Duration::from_secs(30)),
            0,
            "{}",
            pty.screen()
        );
    });
    assert_eq!(
        (w.weight("blue").as_str(), w.weight("green").as_str()),
        ("100", "0")
    );
}

/// A service in `mode = "auto"` is only advised while someone looks:
/// `rollback --dry-run`, `verify` and `watch` without `--auto` change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looking_never_rolls_back_even_in_auto_mode() {
    let w = World::start().await;
    let file = w.home.config_dir().join("backstop.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            "runbook = \"quick\"",
            "runbook = \"quick\"\nmode = \"auto\"",
        ),
    )
    .unwrap();
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let o = w
        .run(&["verify", "--service", "web", "--stabilize", "3s"])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let o = w.run(&["watch", "--service", "web", "--for", "20s"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("rollback recommended"),
        "{}",
        stdout(&o)
    );
    let o = w.run(&["rollback", "--service", "web", "--dry-run"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(w.weight("green"), "100", "nothing moved");
    assert!(!journal_kinds(&w.journal()).contains(&"intent".to_string()));
}

/// SIGTERM in the middle of `rollback --yes --json`: the switch under way
/// finishes (the provider is never cut off), then the rollback is closed as
/// interrupted with who and why, the closing object is printed, and the
/// exit code is 128 + 15.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_rollback_finishes_the_change_and_closes_the_incident() {
    let w = World::start().await;
    let (code, lines) =
        sigterm_mid_switch(&w, &["rollback", "--service", "web", "--yes", "--json"]).await;
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(code, Some(143), "{lines:#?}");
    assert_eq!(last["interrupted"], true, "{last}");
    assert_eq!(last["exit"], 143, "{last}");
    assert!(
        last["text"]
            .as_str()
            .unwrap()
            .contains("interrupted by SIGTERM"),
        "{last}"
    );
    // The change under way was finished, not cut off.
    assert_eq!(
        (w.weight("blue").as_str(), w.weight("green").as_str()),
        ("100", "0")
    );
    // The incident is closed, as interrupted, by whom and why.
    let conn = rusqlite::Connection::open(w.journal()).unwrap();
    let (text, operator): (String, String) = conn
        .query_row(
            "SELECT text, operator FROM journal WHERE kind = 'closed' ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(text.contains("aborted: interrupted by SIGTERM"), "{text}");
    assert!(!operator.is_empty());
    let outcomes: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM journal i WHERE kind = 'intent' AND NOT EXISTS \
             (SELECT 1 FROM journal o WHERE o.kind = 'outcome' AND o.ref = i.id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(outcomes, 0, "every intent has its outcome");
}

/// `rollback --yes --json | head -c0`: nobody reads, yet the rollback is a
/// change under way: it runs to its end, the journal says nobody was
/// reading, and the exit code is 141, without a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_whose_reader_went_away_still_finishes() {
    let w = World::start().await;
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let mut c = w.home.command();
    c.args(["rollback", "--service", "web", "--yes", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let o = tokio::task::spawn_blocking(move || {
        let mut child = c.spawn().unwrap();
        drop(child.stdout.take());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(141), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert_eq!(
        (w.weight("blue").as_str(), w.weight("green").as_str()),
        ("100", "0")
    );
    let conn = rusqlite::Connection::open(w.journal()).unwrap();
    let noted: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM journal WHERE text LIKE '%standard output was closed%the rollback went on to its end%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(noted, 1);
    let closed: String = conn
        .query_row(
            "SELECT text FROM journal WHERE kind = 'closed' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(closed, "incident completed");
}

/// SIGTERM while `watch --auto` rolls back: the switch finishes, the
/// rollback is closed as interrupted, the last object says so, 143.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_an_automatic_rollback_in_watch_closes_it_as_interrupted() {
    let w = World::start().await;
    let (code, lines) = sigterm_mid_switch(
        &w,
        &[
            "watch",
            "--service",
            "web",
            "--auto",
            "--json",
            "--for",
            "60s",
        ],
    )
    .await;
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(code, Some(143), "{lines:#?}");
    assert_eq!(last["end"], "interrupted", "{last}");
    assert_eq!(
        (w.weight("blue").as_str(), w.weight("green").as_str()),
        ("100", "0")
    );
    let conn = rusqlite::Connection::open(w.journal()).unwrap();
    let closed: String = conn
        .query_row(
            "SELECT text FROM journal WHERE kind = 'closed' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        closed.contains("aborted: interrupted by SIGTERM"),
        "{closed}"
    );
}

/// Ten pipelines roll the same service back at the same instant: one takes
/// the service's lease and acts; the nine others say who drives and change
/// nothing. The platform CLI hears one switch, and the journal holds one
/// incident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_rollbacks_at_once_make_one_change() {
    ten_rollbacks(Backend::File).await;
}

/// The same with the journal and the lease in a DynamoDB table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_rollbacks_at_once_make_one_change_on_dynamodb() {
    ten_rollbacks(Backend::Table).await;
}

async fn ten_rollbacks(b: Backend) {
    let w = World::start_on(b, "", "").await;
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let runs: Vec<_> = (0..10)
        .map(|_| {
            let mut c: Command = w.home.command();
            c.args(["rollback", "--service", "web", "--yes", "--json"])
                .envs(AWS_ENV);
            tokio::task::spawn_blocking(move || c.output().unwrap())
        })
        .collect();
    let mut outs = Vec::new();
    for r in runs {
        outs.push(r.await.unwrap());
    }
    let codes: Vec<Option<i32>> = outs.iter().map(|o| o.status.code()).collect();
    let acted = outs.iter().filter(|o| o.status.code() == Some(0)).count();
    let said: Vec<String> = outs
        .iter()
        .map(|o| format!("{}{}", stdout(o), stderr(o)))
        .collect();
    assert_eq!(
        acted,
        1,
        "exactly one acts: {codes:?}\n{}",
        said.join("\n---\n")
    );
    for o in outs.iter().filter(|o| o.status.code() != Some(0)) {
        assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
        let end = lines(o).last().cloned().unwrap();
        let text = end["text"].as_str().unwrap();
        // On a table a latecomer that watched the lease until the winner
        // gave it up takes it, and then the guards refuse: the rollback
        // is done.
        assert!(
            (text.contains("web is driven by") && text.contains("nothing was changed"))
                || (b == Backend::Table && text.contains("cooldown")),
            "{end}"
        );
    }
    assert_eq!(
        w.calls(),
        ["blue 100", "green 0"],
        "one switch, gaining side first"
    );
    let incidents = journal_kinds(&w.journal())
        .iter()
        .filter(|k| *k == "incident")
        .count();
    assert_eq!(incidents, 1);
}

/// `backstop who`: everyone on the journal now — a watcher, and a
/// `watch --auto` that drives web (it holds web's lease) — and nobody once
/// they have left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_lists_the_watchers_and_the_driver() {
    who_lists(Backend::File).await;
}

/// The same with presence and leases in a DynamoDB table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_lists_the_watchers_and_the_driver_on_dynamodb() {
    who_lists(Backend::Table).await;
}

async fn who_lists(b: Backend) {
    let w = World::start_on(b, "", "").await;
    let spawn = |args: &[&str]| {
        let mut c: Command = w.home.command();
        c.args(args).envs(AWS_ENV);
        tokio::task::spawn_blocking(move || c.output().unwrap())
    };
    let watcher = spawn(&["watch", "--service", "web", "--for", "6s"]);
    let driver = spawn(&["watch", "--service", "web", "--auto", "--for", "6s"]);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let o = w.run(&["who", "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let people = json(&o);
    let people = people.as_array().unwrap().clone();
    if people.len() != 2 {
        let d = driver.await.unwrap();
        panic!("{people:?}\ndriver: {}\n{}", stdout(&d), stderr(&d));
    }
    let roles: Vec<(&str, &str)> = people
        .iter()
        .map(|p| {
            (
                p["role"].as_str().unwrap(),
                p["services"][0].as_str().unwrap(),
            )
        })
        .collect();
    assert!(roles.contains(&("driver", "web")), "{roles:?}");
    assert!(roles.contains(&("observer", "web")), "{roles:?}");
    for key in ["session", "operator", "since", "last_seen", "read_only"] {
        assert!(people[0].get(key).is_some(), "{key} in {}", people[0]);
    }
    // While watch --auto drives web, a pipeline's rollback is refused.
    let o = w.run(&["rollback", "--service", "web", "--yes"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("web is driven by"), "{}", stderr(&o));
    for h in [watcher, driver] {
        let o = h.await.unwrap();
        assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    }
    let o = w.run(&["who", "--json"]).await;
    assert_eq!(json(&o), serde_json::json!([]), "gone when they left");
}

/// On a bastion where everyone is the same login, a person says who they
/// are: `--operator` (or `$BACKSTOP_OPERATOR`), recorded as self-declared
/// beside the login it came from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_name_is_recorded_as_self_declared() {
    let w = World::start().await;
    let o = w
        .run(&[
            "watch",
            "--service",
            "web",
            "--for",
            "1s",
            "--operator",
            "alice",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let conn = rusqlite::Connection::open(w.journal()).unwrap();
    let operator: String = conn
        .query_row(
            "SELECT operator FROM journal WHERE text LIKE 'backstop watch started%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(operator.starts_with("alice (self-declared; "), "{operator}");
}

/// `args` run against a failing green with a platform CLI that takes a
/// second per weight; SIGTERM lands once half the switch is done (blue set,
/// green still being set). The exit code and every line printed.
async fn sigterm_mid_switch(w: &World, args: &[&str]) -> (Option<i32>, Vec<String>) {
    use std::io::{BufRead, BufReader};

    let slow = CTL.replace("  set)\n", "  set)\n    sleep 1\n");
    std::fs::write(&w.ctl, slow).unwrap();
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let mut c = w.home.command();
    c.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let blue = w.ctl.parent().unwrap().join("blue");
    tokio::task::spawn_blocking(move || {
        let mut child = c.spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (mut lines, mut line) = (Vec::new(), String::new());
        // Until the switch is running.
        while out.read_line(&mut line).unwrap() > 0 {
            lines.push(std::mem::take(&mut line));
            let last = lines.last().unwrap();
            if last.contains("started by") && last.contains("Switch traffic") {
                break;
            }
        }
        let start = std::time::Instant::now();
        while std::fs::read_to_string(&blue).unwrap() != "100" {
            assert!(start.elapsed() < std::time::Duration::from_secs(10));
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let kill = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        while out.read_line(&mut line).unwrap() > 0 {
            lines.push(std::mem::take(&mut line));
        }
        (child.wait().unwrap().code(), lines)
    })
    .await
    .unwrap()
}
