//! The war room through the real binary: several consoles in pseudo-
//! terminals and headless commands on one journal — a file on one host,
//! or a DynamoDB table (moto's server) shared by consoles with homes of
//! their own — against the sandbox's services and a traffic provider that
//! is a real program.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use backstop::core::model::Fault;
use common::platform::{Backend, World};
use common::proxy::{Mode, Proxy};
use common::pty::Pty;

const WAIT: Duration = Duration::from_secs(20);

/// A console in a 100×30 terminal, as `name` (self-declared).
fn console(w: &World, name: &str, args: &[&str]) -> Pty {
    w.console(name, args, None)
}

/// Green fails while it takes all the traffic: a rollback is recommended.
async fn failing(b: Backend, top: &str, rollback: &str) -> World {
    let w = World::start_on(b, top, rollback).await;
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    w
}

/// Alice's console recommends the rollback; `r` opens the checklist, and
/// its first steps run by themselves up to the switch.
fn to_the_switch(alice: &mut Pty) {
    alice.wait_for("the recommendation", WAIT, |s| {
        s.contains("ROLLBACK RECOMMENDED")
    });
    alice.send("r");
    alice.wait_for("the switch's turn", WAIT, |s| {
        s.contains("›▶") && s.contains("Switch traffic")
    });
}

/// Until the driver's lease is judged lost, `D` only asks the driver;
/// then it offers the take-over, asking for a typed `yes`.
async fn offered_the_take_over(bob: &mut Pty) {
    let asked = std::time::Instant::now();
    loop {
        bob.send("D");
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if bob.screen().contains("Type yes") {
                return;
            }
        }
        assert!(asked.elapsed() < WAIT, "{}", bob.screen());
    }
}

/// Rows of `kind` in the journal, as `(operator, text, data)`.
fn rows(w: &World, sql_where: &str) -> Vec<(String, String, String)> {
    let conn = rusqlite::Connection::open(w.journal()).unwrap();
    let mut st = conn
        .prepare(&format!(
            "SELECT operator, text, COALESCE(data, '') FROM journal WHERE {sql_where} ORDER BY id"
        ))
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Three consoles on one journal: alice drives, bob follows her checklist
/// step by step and approves the switch (the two-person rule), alice's own
/// second console may not approve it, and bob then asks for the service and
/// alice hands it over; from there alice's keys cannot act.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_consoles_follow_approve_and_hand_over() {
    three_consoles(Backend::File).await;
}

/// The same, each console on a home of its own sharing only the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_consoles_follow_approve_and_hand_over_on_dynamodb() {
    three_consoles(Backend::Table).await;
}

async fn three_consoles(b: Backend) {
    // Three names on one login: the team opts in to self-declared approvers.
    let w = failing(b, "", "approvals = 2\nself_declared_approvers = true").await;
    let mut alice = console(&w, "alice", &[]);
    let mut bob = console(&w, "bob", &[]);
    let mut alice2 = console(&w, "alice", &[]);
    alice.wait_for("the recommendation", WAIT, |s| {
        s.contains("ROLLBACK RECOMMENDED")
    });
    // All three see each other.
    bob.wait_for("three on the journal", WAIT, |s| s.contains("3 watching"));

    alice.send("r");
    alice.wait_for("the switch's turn", WAIT, |s| {
        s.contains("›▶") && s.contains("Switch traffic from green to blue")
    });
    // Bob's screen follows alice's checklist to the same step, naming her.
    bob.wait_for("alice's checklist on bob's screen", WAIT, |s| {
        s.contains("alice drives") && s.contains("alice's turn") && s.contains("✓")
    });
    // Bob's acting keys are hers: refused, saying who drives.
    bob.send("r");
    bob.wait_for("bob refused", WAIT, |s| s.contains("alice drives web"));

    // Alice previews and confirms: the switch waits for a second person.
    alice.send("\r");
    alice.wait_for("the preview", WAIT, |s| s.contains("DO IT"));
    alice.send("y");
    alice.wait_for("waiting for approval", WAIT, |s| {
        s.contains("WAITING for a second person's approval")
    });
    assert!(w.calls().is_empty(), "nothing moved before the approval");
    // The exact preview reaches bob, with his keys.
    bob.wait_for("the approval asked of bob", WAIT, |s| {
        s.contains("set blue 100") && s.contains("asks YOUR approval")
    });
    // Alice's second console is the same person: it may not approve.
    alice2.wait_for("alice's other console", WAIT, |s| {
        s.contains("(you, from another console)")
    });
    alice2.confirm("a");
    alice2.wait_for("self-approval refused", WAIT, |s| {
        s.contains("a second person approves")
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(w.calls().is_empty(), "a self-approval moved nothing");

    bob.confirm("a");
    alice.wait_for("the switch done", WAIT, |s| s.contains("approved by bob"));
    let start = std::time::Instant::now();
    while w.calls().len() < 2 && start.elapsed() < WAIT {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(w.calls(), ["blue 100", "green 0"]);

    // Bob asks to drive; alice hands over with one key once the steps
    // that run by themselves are done.
    bob.send("D");
    // On the key bar, or (while the note's line, which opens by itself,
    // holds the bottom line) in the events.
    alice.wait_for("bob's request", WAIT, |s| {
        s.contains("HAND OVER") || s.contains("bob asks to drive")
    });
    // A step still running is not handed over: the last one is a note.
    // Its line opens by itself, as soon as it is the current step.
    alice.wait_for("the checklist settled", WAIT, |s| {
        s.lines()
            .any(|l| l.contains("›▶") && l.contains("Record the cause"))
            && s.contains("Record the cause: ▏")
    });
    // The note's line opened by itself; Esc closes it, then `H` asks and `y` hands over.
    alice.send("\x1b");
    alice.confirm("H");
    bob.wait_for("bob drives", WAIT, |s| s.contains("you drive web"));
    // The checklist carries on on bob's screen, as his own.
    bob.wait_for("the checklist is bob's", WAIT, |s| {
        s.contains("Rollback web") && !s.contains("alice drives")
    });
    alice.wait_for("alice follows bob", WAIT, |s| s.contains("bob drives"));
    alice.send("\t");
    alice.send("w");
    alice.wait_for("alice refused", WAIT, |s| s.contains("bob drives web"));

    // On the record: who approved, who handed over to whom.
    let approvals = rows(&w, "json_extract(data, '$.kind') = 'approval'");
    let actions: Vec<String> = approvals
        .iter()
        .map(|(op, _, d)| {
            let v: serde_json::Value = serde_json::from_str(d).unwrap();
            format!(
                "{} {}",
                op.split(' ').next().unwrap(),
                v["action"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        actions.starts_with(&["alice ask".to_string()]) && actions.contains(&"bob approve".into()),
        "{actions:?}"
    );
    let handovers = rows(&w, "json_extract(data, '$.action') = 'handover'");
    assert_eq!(handovers.len(), 1, "{handovers:?}");
    assert!(handovers[0].0.starts_with("alice"), "{handovers:?}");
    // Every row names the session that wrote it.
    assert!(rows(&w, "session IS NULL").is_empty());
    for mut c in [alice, bob, alice2] {
        c.send("q");
        c.wait_exit(WAIT);
    }
    // The figures, read from the world's own home (on a table: a host that
    // took no part), count the handover and the approval.
    let out = w.run(&["report", "--stats", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let stats: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    let web = &stats["services"][0];
    assert_eq!(web["service"], "web", "{stats}");
    assert_eq!(web["handovers"], 1, "{stats}");
    assert_eq!(web["approvals"]["approved"], 1, "{stats}");
    assert!(web["watchers"].as_u64().unwrap() >= 2, "{stats}");
}

/// A driver stopped with SIGSTOP loses its lease after the expiry; bob
/// takes the service over after a yes that names alice; alice, resumed,
/// cannot write her intent whatever her screen shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_driver_loses_the_lease_and_cannot_act_when_resumed() {
    stopped_driver(Backend::File).await;
}

/// The same across hosts: bob judges alice's lease dead by its version
/// standing still on his own clock, never by hers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_driver_loses_the_lease_and_cannot_act_when_resumed_on_dynamodb() {
    stopped_driver(Backend::Table).await;
}

async fn stopped_driver(b: Backend) {
    let w = failing(b, "lease_expiry = \"3s\"", "").await;
    let mut alice = console(&w, "alice", &[]);
    let mut bob = console(&w, "bob", &[]);
    to_the_switch(&mut alice);
    bob.wait_for("alice drives", WAIT, |s| s.contains("alice drives"));
    // Alice previews, then her laptop sleeps.
    alice.send("\r");
    alice.wait_for("the preview", WAIT, |s| s.contains("DO IT"));
    alice.signal("STOP");
    // Bob sees her lease lost, and takes it over after naming her.
    // Until her lease expires, D only asks her; then it offers the take-over.
    offered_the_take_over(&mut bob).await;
    assert!(bob.screen().contains("alice drove web but is gone"));
    bob.send("yes\r");
    bob.wait_for("bob drives", WAIT, |s| s.contains("you drive web"));
    // Alice wakes up and presses y on the preview still on her screen.
    alice.signal("CONT");
    alice.send("y");
    alice.wait_for("refused by the fence", WAIT, |s| {
        s.contains("no longer this backstop's") || s.contains("bob drives")
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(w.calls().is_empty(), "the stale driver changed nothing");
    let takeovers = rows(&w, "json_extract(data, '$.action') = 'takeover'");
    assert_eq!(takeovers.len(), 1, "{takeovers:?}");
    assert!(
        rows(&w, "kind = 'intent'").is_empty(),
        "no intent was written"
    );
    for mut c in [alice, bob] {
        c.send("q");
        c.wait_exit(WAIT);
    }
}

/// A team drill on one machine: alice hosts it under the two-person rule
/// and drives; bob joins from another terminal, follows her checklist,
/// cannot act on the sandbox, and approves the switch. The score and the
/// journal name both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_drill_is_joined_followed_and_approved() {
    let home = common::Home::new();
    let env = |who| [("BACKSTOP_OPERATOR", who), ("NO_COLOR", "1")];
    let mut alice = Pty::spawn(
        &home,
        &[
            "drill",
            "--team",
            "--approvals",
            "2",
            "--self-declared-approvers",
        ],
        100,
        30,
        &env("alice"),
    );
    alice.wait_for("the sandbox", WAIT, |s| s.contains(" OK "));
    let mut bob = Pty::spawn(&home, &["drill", "--join"], 100, 30, &env("bob"));
    bob.wait_for("the team drill", WAIT, |s| {
        s.contains("team drill") && s.contains(" OK ")
    });
    // A second host on the same machine is refused.
    let second = common::run({
        let mut c = home.command();
        c.args(["drill", "--team"]);
        c
    });
    assert_eq!(second.status.code(), Some(1));
    assert!(
        common::stderr(&second).contains("already hosts a team drill"),
        "{}",
        common::stderr(&second)
    );

    // Green fails; alice rolls back and walks to the switch.
    alice.send("j");
    alice.confirm("f");
    alice.wait_for("the recommendation", WAIT, |s| {
        s.contains("ROLLBACK RECOMMENDED")
    });
    // Bob's screen shows the same recommendation, as the driver's to act on.
    bob.wait_for("the recommendation on bob's screen", WAIT, |s| {
        s.contains("ROLLBACK RECOMMENDED") && s.contains("driver rolls back")
    });
    alice.send("r");
    let start = std::time::Instant::now();
    while !alice.screen().contains("WAITING for a second person") {
        assert!(start.elapsed() < WAIT, "{}", alice.screen());
        if alice.screen().contains("DO IT") {
            alice.send("y");
        } else if alice.screen().contains("›▶") {
            alice.send("\r");
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    // Bob follows it, cannot act on the sandbox, and approves.
    bob.wait_for("the approval asked of bob", WAIT, |s| {
        s.contains("alice drives") && s.contains("asks YOUR approval")
    });
    bob.send("\t");
    bob.send("f");
    bob.wait_for("bob's fault key refused", WAIT, |s| {
        s.contains("joined to watch and approve")
    });
    bob.confirm("a");
    alice.wait_for("the switch, approved", WAIT, |s| {
        s.contains("approved by bob")
    });
    let rows = {
        let conn =
            rusqlite::Connection::open(home.path().join("data/backstop/drills.sqlite")).unwrap();
        let mut st = conn
            .prepare(
                "SELECT operator FROM journal WHERE json_extract(data, '$.action') = 'approve'",
            )
            .unwrap();
        st.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].starts_with("bob"), "{rows:?}");
    for mut c in [bob, alice] {
        c.send("q");
        c.send("q");
        c.wait_exit(WAIT);
    }
    // The host's files are gone with it: nothing left to join.
    let join = common::run({
        let mut c = home.command();
        c.args(["drill", "--join"]);
        c
    });
    assert!(
        common::stderr(&join).contains("no team drill runs"),
        "{}",
        common::stderr(&join)
    );
}

/// The checklist goes on by itself to its note step, whose line opens at
/// once: close it (a pause after Esc, or the next key reads as Alt-key),
/// then quit.
async fn settle_and_quit(pty: &mut Pty) {
    pty.wait_for("the note's line", WAIT, |s| {
        s.contains("Record the cause: ▏")
    });
    pty.send("\x1b");
    tokio::time::sleep(Duration::from_millis(300)).await;
    pty.send("q");
    pty.wait_exit(WAIT);
}

/// Waits until `pty`'s screen says the journal does not answer, or answers again.
fn journal_down(pty: &mut Pty, down: bool) {
    pty.wait_for(
        if down {
            "the header: journal down"
        } else {
            "the header: journal back"
        },
        Duration::from_secs(40),
        |s| s.contains("JOURNAL DOWN") == down,
    );
}

/// A driver whose host loses the table loses its lease: bob takes the
/// service over once alice's lease has stood still for its expiry on his
/// clock; when alice's host reaches the table again her console shows bob
/// driving, and her old token writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_cut_off_from_the_table_loses_the_lease_on_dynamodb() {
    let w = failing(Backend::Table, "lease_expiry = \"3s\"", "").await;
    let proxy = Proxy::start(&w.moto.as_ref().unwrap().url()).await;
    let mut alice = w.console("alice", &[], Some(&proxy.url()));
    let mut bob = console(&w, "bob", &[]);
    to_the_switch(&mut alice);
    bob.wait_for("alice drives", WAIT, |s| s.contains("alice drives"));
    alice.send("\r");
    alice.wait_for("the preview", WAIT, |s| s.contains("DO IT"));
    // Alice's host loses the table.
    proxy.set(Mode::Down);
    journal_down(&mut alice, true);
    // Nothing acts without a durable intent.
    alice.send("y");
    alice.wait_for("refused while down", WAIT, |s| {
        s.contains("journal cannot record anything")
    });
    offered_the_take_over(&mut bob).await;
    bob.send("yes\r");
    bob.wait_for("bob drives", WAIT, |s| s.contains("you drive web"));
    // Alice's host reaches the table again: she sees bob drive.
    proxy.set(Mode::Pass);
    journal_down(&mut alice, false);
    alice.wait_for("alice sees bob drive", WAIT, |s| s.contains("bob drives"));
    alice.send("\t");
    alice.send("w");
    alice.wait_for("alice refused", WAIT, |s| s.contains("bob drives web"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(w.calls().is_empty(), "the cut-off driver changed nothing");
    assert!(
        rows(&w, "kind = 'intent'").is_empty(),
        "no intent was written"
    );
    for mut c in [alice, bob] {
        c.send("q");
        c.wait_exit(WAIT);
    }
}

/// In the middle of a rollback the table is throttled, then slow (3 s a
/// call), then unreachable, then the credentials expire: each time the console keeps probing, says the
/// journal is down and refuses to act; what it saw meanwhile is kept and
/// written when the table answers — once, in order, on the hash chain —
/// and the rollback then goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_throttled_slow_or_unreachable_refuses_to_act_and_loses_nothing() {
    let w = failing(Backend::Table, "", "").await;
    let proxy = Proxy::start(&w.moto.as_ref().unwrap().url()).await;
    let mut alice = w.console("alice", &[], Some(&proxy.url()));
    to_the_switch(&mut alice);
    let faults = [
        (Mode::Throttle, Fault::Slow),
        (Mode::Slow(Duration::from_secs(3)), Fault::Unhealthy),
        (Mode::Down, Fault::Slow),
        (Mode::Expired, Fault::Unhealthy),
    ];
    let mut outages = Vec::new();
    for (mode, blue) in faults {
        alice.send("\r");
        alice.wait_for("the preview", WAIT, |s| s.contains("DO IT"));
        proxy.set(mode);
        let from = backstop::clock::now().millis();
        journal_down(&mut alice, true);
        // The console still probes: blue's trouble is seen and journaled,
        // into the outbox while the table does not answer.
        w.sandbox.set_fault("web", "blue", Some(blue)).unwrap();
        alice.wait_for("blue's trouble seen", WAIT, |s| s.contains("web/blue"));
        alice.send("y");
        alice.wait_for("refused", WAIT, |s| {
            s.contains("journal cannot record anything")
        });
        assert!(w.calls().is_empty(), "{mode:?}: nothing moved");
        w.sandbox.set_fault("web", "blue", None).unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        proxy.set(Mode::Pass);
        journal_down(&mut alice, false);
        outages.push((from, backstop::clock::now().millis()));
        alice.send("\x1b");
    }
    // The table answers: the switch goes through.
    alice.send("\r");
    alice.wait_for("the preview", WAIT, |s| s.contains("DO IT"));
    alice.send("y");
    let start = std::time::Instant::now();
    while w.calls().len() < 2 && start.elapsed() < WAIT {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(w.calls(), ["blue 100", "green 0"]);
    settle_and_quit(&mut alice).await;
    // Everything alice saw during each outage is in the table, once.
    let journal = w.journal();
    let conn = rusqlite::Connection::open(&journal).unwrap();
    for (from, to) in outages {
        let kept: i64 = conn
            .query_row(
                "SELECT count(*) FROM journal WHERE scope = 'web/blue' AND at BETWEEN ?1 AND ?2",
                [from, to],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            kept > 0,
            "rows written during the outage {from}..{to} were kept"
        );
    }
    let twice: i64 = conn
        .query_row(
            "SELECT count(*) FROM (SELECT 1 FROM journal GROUP BY session, at, kind, scope, text, \
             COALESCE(data, '') HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(twice, 0, "no row was written twice");
    let (rows, max): (i64, i64) = conn
        .query_row("SELECT count(*), max(id) FROM journal", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(rows, max, "ids without gaps");
    // The throttled calls did reach the proxy (the faults were real).
    assert!(proxy.calls().len() > 10, "{:?}", proxy.calls());
}

/// moto's server stopped in the middle of a rollback and started again
/// (its state replayed from its own recording, as a table outlives an
/// outage): the console refuses to act while it is gone, keeps what it
/// saw, and once it is back stores it and goes on with the same lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_stopped_and_restarted_mid_rollback_on_dynamodb() {
    let mut w = failing(Backend::Table, "", "").await;
    let mut alice = console(&w, "alice", &[]);
    to_the_switch(&mut alice);
    alice.send("\r");
    alice.wait_for("the preview", WAIT, |s| s.contains("DO IT"));
    w.moto.as_mut().unwrap().stop();
    let from = backstop::clock::now().millis();
    journal_down(&mut alice, true);
    w.sandbox
        .set_fault("web", "blue", Some(Fault::Slow))
        .unwrap();
    alice.wait_for("blue's trouble seen", WAIT, |s| s.contains("web/blue"));
    alice.send("y");
    alice.wait_for("refused", WAIT, |s| {
        s.contains("journal cannot record anything")
    });
    w.sandbox.set_fault("web", "blue", None).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        w.calls().is_empty(),
        "nothing moved while the table was gone"
    );
    w.moto.as_mut().unwrap().restart_keeping();
    journal_down(&mut alice, false);
    let to = backstop::clock::now().millis();
    alice.send("\x1b");
    alice.send("\r");
    alice.wait_for("the preview again", WAIT, |s| s.contains("DO IT"));
    alice.send("y");
    let start = std::time::Instant::now();
    while w.calls().len() < 2 && start.elapsed() < WAIT {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(w.calls(), ["blue 100", "green 0"]);
    settle_and_quit(&mut alice).await;
    let kept = rows(
        &w,
        &format!("scope = 'web/blue' AND at BETWEEN {from} AND {to}"),
    );
    assert!(
        !kept.is_empty(),
        "what alice saw while moto was gone is in the table"
    );
    // One incident, its intent under the lease taken before the outage.
    assert_eq!(rows(&w, "kind = 'incident'").len(), 1);
    assert_eq!(rows(&w, "kind = 'intent'").len(), 1);
}

/// Incident command in a team drill, time compressed: alice drives the
/// emergency rollback under SEV1; bob, who joined, takes the
/// communications lead and gets the update prompt when the cadence says
/// (5 minutes of the scenario, 30 s at 10x) on his own console — not
/// alice's — and sends it; the drill's desk receives his update and the
/// status page's investigating → monitoring → resolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_comms_lead_is_prompted_while_the_driver_rolls_back_under_sev1() {
    let home = common::Home::new();
    // bad-switch, long enough for the whole checklist at 10x (its 30-minute
    // watch is 3 minutes of wall time).
    let drills = home.config_dir().join("drills");
    std::fs::create_dir_all(&drills).unwrap();
    let scenario = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/drills/bad-switch.toml"
    ))
    .unwrap()
    .replace("name = \"bad-switch\"", "name = \"long-outage\"")
    .replace("ends = \"6m\"", "ends = \"60m\"");
    std::fs::write(drills.join("long-outage.toml"), scenario).unwrap();
    let env = |who| [("BACKSTOP_OPERATOR", who), ("NO_COLOR", "1")];
    let mut alice = Pty::spawn(
        &home,
        &[
            "drill",
            "--scenario",
            "long-outage",
            "--speed",
            "10",
            "--team",
        ],
        100,
        30,
        &env("alice"),
    );
    alice.wait_for("the sandbox", WAIT, |s| s.contains(" OK "));
    let mut bob = Pty::spawn(&home, &["drill", "--join"], 100, 30, &env("bob"));
    bob.wait_for("the team drill", WAIT, |s| {
        s.contains("team drill") && s.contains(" OK ")
    });
    alice.wait_for("the emergency switch, ready", WAIT, |s| {
        s.contains("EMERGENCY") && s.contains("y switch")
    });
    // Read before `y` (a `y` at once is typing, and refused).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    alice.send("y");
    alice.wait_for("the checklist", WAIT, |s| s.contains("Rollback web"));
    alice.send(":sev 1 checkout is down for everyone\r");
    alice.wait_for("SEV1 declared", WAIT, |s| s.contains("SEV1 critical"));
    bob.wait_for("the incident on bob's screen", WAIT, |s| {
        s.contains("Rollback web") && s.contains("SEV1 critical")
    });
    // The emergency switch took the lease once, and keeps it (two changes
    // starting together once took it twice, and the second's holder gave
    // it up: the driver was LOST to everyone else).
    bob.wait_for("alice driving, not lost", WAIT, |s| {
        s.contains("alice drives") && !s.contains("LOST")
    });
    bob.send(":role comms\r");
    bob.wait_for("bob's role", WAIT, |s| {
        s.contains("you are the communications lead")
    });
    alice.wait_for("bob's role on alice's screen", WAIT, |s| {
        s.contains("bob (comms) writes it")
    });

    // Alice walks the checklist as a person does; bob answers his prompts.
    let start = std::time::Instant::now();
    let mut sent = 0;
    loop {
        let a = alice.screen();
        assert!(
            !a.contains("✎ the update"),
            "the driver was prompted, not the comms lead:\n{a}"
        );
        // The checklist done, the drill scores itself.
        if a.contains("EXPECTATION HELD") {
            break;
        }
        assert!(!a.contains("EXPECTATION NOT HELD"), "{a}");
        assert!(start.elapsed() < Duration::from_secs(330), "{a}");
        if a.contains("DO IT") {
            alice.send("y");
        } else if a.contains(": ▏") {
            alice.send("bad release v1.0.1\r");
        } else if a.contains("›▶") {
            alice.send("\r");
        }
        if bob.screen().contains("✎ the update") {
            tokio::time::sleep(Duration::from_millis(300)).await;
            bob.send("\r");
            sent += 1;
            bob.wait_for("the update sent", WAIT, |s| {
                s.contains("update sent by bob")
            });
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert!(sent >= 1, "bob was never prompted");
    // Opened before it was due, sent by the due time: none late.
    alice.wait_for("the drill's score of the talk", WAIT, |s| {
        s.contains(" sent, 0 late or missed")
    });

    // What the drill's desk heard: bob's update, and the public page in order.
    let host: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join("data/backstop/team-drill.json")).unwrap(),
    )
    .unwrap();
    let desk = host["desk"].as_str().unwrap().to_string();
    let got: Vec<serde_json::Value> = reqwest::get(format!("{desk}/received"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let updates: Vec<&serde_json::Value> = got
        .iter()
        .filter(|g| g["to"] == "chat" && g["body"]["event"] == "status-update")
        .collect();
    assert!(!updates.is_empty(), "{got:?}");
    assert!(
        updates[0]["body"]["by"]
            .as_str()
            .unwrap()
            .starts_with("bob"),
        "{got:?}"
    );
    assert!(
        updates[0]["body"]["text"]
            .as_str()
            .unwrap()
            .starts_with("SEV1 web: rolling back green → blue"),
        "{got:?}"
    );
    let statuses: Vec<&str> = got
        .iter()
        .filter(|g| g["to"] == "status")
        .filter_map(|g| g["body"]["status"].as_str())
        .collect();
    assert_eq!(
        statuses,
        ["investigating", "monitoring", "resolved"],
        "{got:?}"
    );
    // The journal says who did what: bob's updates, alice's page.
    let rows = {
        let conn =
            rusqlite::Connection::open(home.path().join("data/backstop/drills.sqlite")).unwrap();
        let mut st = conn
            .prepare(
                "SELECT operator, json_extract(data, '$.work') FROM journal WHERE kind = 'intent' \
                 AND json_extract(data, '$.work') IN ('notify', 'status-page')",
            )
            .unwrap();
        st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    assert!(
        rows.iter()
            .filter(|(_, w)| w == "status-page")
            .all(|(who, _)| who.starts_with("alice")),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|(who, w)| w == "notify" && who.starts_with("bob")),
        "{rows:?}"
    );
    for mut c in [bob, alice] {
        c.send("q");
        c.send("q");
        c.wait_exit(WAIT);
    }
}
