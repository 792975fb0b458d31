//! The war room through the real binary: several consoles in pseudo-
//! terminals and headless commands on one journal file, against the
//! sandbox's services and a traffic provider that is a real program.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use backstop::core::model::Fault;
use common::platform::World;
use common::pty::Pty;

const WAIT: Duration = Duration::from_secs(20);

/// A console in a 100×30 terminal, as `name` (self-declared).
fn console(w: &World, name: &str, args: &[&str]) -> Pty {
    Pty::spawn(
        &w.home,
        args,
        100,
        30,
        &[("BACKSTOP_OPERATOR", name), ("NO_COLOR", "1")],
    )
}

/// Green fails while it takes all the traffic: a rollback is recommended.
async fn failing(top: &str, rollback: &str) -> World {
    let w = World::start_with(top, rollback).await;
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    w
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
    let w = failing("", "approvals = 2").await;
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
    alice2.send("ay");
    alice2.wait_for("self-approval refused", WAIT, |s| {
        s.contains("a second person approves")
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(w.calls().is_empty(), "a self-approval moved nothing");

    bob.send("ay");
    alice.wait_for("the switch done", WAIT, |s| s.contains("approved by bob"));
    let start = std::time::Instant::now();
    while w.calls().len() < 2 && start.elapsed() < WAIT {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(w.calls(), ["blue 100", "green 0"]);

    // Bob asks to drive; alice hands over with one key once the steps
    // that run by themselves are done.
    bob.send("D");
    alice.wait_for("bob's request", WAIT, |s| s.contains("HAND OVER"));
    // A step still running is not handed over: the last one is a note.
    // Its line opens by itself, as soon as it is the current step.
    alice.wait_for("the checklist settled", WAIT, |s| {
        s.lines()
            .any(|l| l.contains("›▶") && l.contains("Record the cause"))
            && s.contains("Record the cause: ▏")
    });
    // The note's line opened by itself; Esc closes it, then `H` asks and `y` hands over.
    alice.send("\x1b");
    alice.send("Hy");
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
}

/// A driver stopped with SIGSTOP loses its lease after the expiry; bob
/// takes the service over after a yes that names alice; alice, resumed,
/// cannot write her intent whatever her screen shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_driver_loses_the_lease_and_cannot_act_when_resumed() {
    let w = failing("lease_expiry = \"3s\"", "").await;
    let mut alice = console(&w, "alice", &[]);
    let mut bob = console(&w, "bob", &[]);
    alice.wait_for("the recommendation", WAIT, |s| {
        s.contains("ROLLBACK RECOMMENDED")
    });
    alice.send("r");
    alice.wait_for("the switch's turn", WAIT, |s| {
        s.contains("›▶") && s.contains("Switch traffic")
    });
    bob.wait_for("alice drives", WAIT, |s| s.contains("alice drives"));
    // Alice previews, then her laptop sleeps.
    alice.send("\r");
    alice.wait_for("the preview", WAIT, |s| s.contains("DO IT"));
    alice.signal("STOP");
    // Bob sees her lease lost, and takes it over after naming her.
    // Until her lease expires, D only asks her; then it offers the take-over.
    let taken = std::time::Instant::now();
    'asking: loop {
        bob.send("D");
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if bob.screen().contains("Type yes") {
                break 'asking;
            }
        }
        assert!(taken.elapsed() < WAIT, "{}", bob.screen());
    }
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
        &["drill", "--team", "--approvals", "2"],
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
    alice.send("fy");
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
    bob.send("ay");
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
