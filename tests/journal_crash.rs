//! Crash safety, with the real binary in a pseudo-terminal: backstop is
//! killed (SIGKILL) while a change is under way — after its intent is on
//! disk, before its outcome. The next start shows the change as interrupted
//! and offers a check of the real state before anything else; nothing
//! journaled before is lost, and the file checks out.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use backstop::room::Reader;
use common::pty::Pty;
use common::{Home, Receiver, Reply, TestServer};

const SECRET: &str = "/hooks/pay-incidents-9d2e-s3cr3t";

fn setup(home: &Home, health: &TestServer) -> (String, String) {
    let books = home.config_dir().join("runbooks");
    std::fs::create_dir_all(&books).unwrap();
    std::fs::write(
        books.join("slow.toml"),
        r#"
name = "slow"
description = "Tell the team, then restart the workers (slowly)"

[[during]]
id = "tell"
title = "Tell the team"
kind = "action"
action = "notify"
template = "rollback-started"

[[during]]
id = "restart"
title = "Restart the payment workers"
kind = "action"
action = "command"
argv = ["sleep", "30"]
timeout = "1m"
"#,
    )
    .unwrap();
    let config = home.path().join("backstop.toml");
    std::fs::write(
        &config,
        format!(
            r#"
title = "payments"
[[notify]]
kind = "webhook"
url_env = "PAY_HOOK_URL"
[services.pay.environments.blue]
endpoints = [{{ url = "{0}" }}]
[services.pay.environments.green]
endpoints = [{{ url = "{0}" }}]
[services.pay.rollback]
runbook = "slow"
"#,
            health.url("/health")
        ),
    )
    .unwrap();
    let journal = home.path().join("journal.sqlite");
    (config.display().to_string(), journal.display().to_string())
}

fn wait_interrupted(journal: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(r) = Reader::open(journal)
            && r.interrupted()
                .unwrap()
                .iter()
                .any(|i| i.entry.text.contains("sleep 30"))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the command's intent never reached the journal"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_between_intent_and_outcome_shows_as_interrupted_on_restart() {
    let home = Home::new();
    let health = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let receiver = Receiver::start(200).await;
    let hook = receiver.url(SECRET);
    let (config, journal) = setup(&home, &health);
    let env = [("PAY_HOOK_URL", hook.as_str()), ("NO_COLOR", "1")];
    let args = ["--config", config.as_str(), "--journal", journal.as_str()];

    let mut pty = Pty::spawn(&home, &args, 120, 36, &env);
    // Both rows of the Health pane: the rules' pane says OK before any answer.
    pty.wait_for("both environments OK", Duration::from_secs(10), |s| {
        ["blue", "green"].iter().all(|env| {
            s.lines()
                .any(|l| l.starts_with('┃') && l.contains(env) && l.contains(" OK "))
        })
    });
    pty.send("r");
    pty.wait_for("the checklist", Duration::from_secs(5), |s| {
        s.contains("Rollback pay: blue → green · runbook slow")
    });
    pty.send("\r");
    pty.wait_for("the message preview", Duration::from_secs(5), |s| {
        s.contains("to webhook ($PAY_HOOK_URL):") && s.contains("ROLLBACK IN PROGRESS: pay")
    });
    pty.send("y");
    pty.wait_for("the command step", Duration::from_secs(5), |s| {
        s.lines()
            .any(|l| l.contains("▶") && l.contains("Restart the payment workers"))
    });
    assert_eq!(receiver.json(SECRET).len(), 1, "the team was told");
    pty.send("\r");
    pty.wait_for("the command preview", Duration::from_secs(5), |s| {
        s.contains("$ sleep 30")
    });
    let screens = vec![pty.screen()];
    pty.send("y");
    pty.wait_for("the command running", Duration::from_secs(5), |s| {
        s.contains("running…")
    });
    wait_interrupted(Path::new(&journal));
    let before = Reader::open(Path::new(&journal)).unwrap().count().unwrap();
    pty.signal("KILL");
    pty.wait_exit(Duration::from_secs(5));

    // Restart: the interrupted change comes first.
    let mut pty = Pty::spawn(&home, &args, 120, 36, &env);
    pty.wait_for("the interrupted change", Duration::from_secs(10), |s| {
        s.contains("INTERRUPTED: 1 change(s) never finished")
            && s.contains("run `sleep 30`")
            && s.contains("real state not checked yet")
    });
    // Nothing else until it is checked: the rollback key does nothing now.
    pty.send("r");
    std::thread::sleep(Duration::from_millis(300));
    // (The checklist the killed console published stays on screen as its,
    // at its step 2: a new one would begin at step 1.)
    assert!(
        !pty.screen().contains("runbook slow · step 1/2"),
        "{}",
        pty.screen()
    );
    pty.send("\r");
    pty.wait_for("the real state", Duration::from_secs(10), |s| {
        s.contains("now: backstop cannot tell whether the command finished")
    });
    // Its driver (the killed console) is gone: resolving it is the next
    // driver's, and taking over asks for a typed yes.
    pty.send("y");
    pty.wait_for("the take-over asked", Duration::from_secs(5), |s| {
        s.contains("Type yes to take it over and resolve these changes")
    });
    pty.send("yes\r");
    pty.wait_for(
        "driving, the change still to resolve",
        Duration::from_secs(10),
        |s| s.contains("INTERRUPTED") && s.contains("acknowledge (journaled as the outcome)"),
    );
    pty.send("y");
    pty.wait_for("the overlay gone", Duration::from_secs(5), |s| {
        !s.contains("INTERRUPTED")
    });
    let mut all = screens;
    all.push(pty.screen());
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);

    let r = Reader::open(Path::new(&journal)).unwrap();
    assert_eq!(r.integrity().unwrap(), "ok");
    assert!(r.count().unwrap() > before, "nothing lost, more added");
    assert!(
        r.interrupted().unwrap().is_empty(),
        "acknowledged: the outcome says what was found"
    );
    let incidents = r.incidents().unwrap();
    assert_eq!(incidents.len(), 1);
    let rows = r.of_incident(incidents[0].id).unwrap();
    let notify = rows
        .iter()
        .find(|x| x.entry.kind == "intent" && x.entry.text.starts_with("notify:"))
        .unwrap();
    assert!(
        rows.iter()
            .any(|x| x.entry.kind == "outcome" && x.entry.reference == Some(notify.id))
    );

    // The webhook URL: not in the journal, the log, or on screen.
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes.extend(std::fs::read(format!("{journal}-wal")).unwrap_or_default());
    assert!(!String::from_utf8_lossy(&bytes).contains("s3cr3t"));
    let log = std::fs::read_to_string(home.path().join("state/backstop/backstop.log")).unwrap();
    assert!(log.contains("effect:"), "the log is written: {log}");
    assert!(!log.contains("s3cr3t"), "{log}");
    assert!(all.iter().all(|s| !s.contains("s3cr3t")));
}

/// A journal that cannot be opened (here its directory is a file, as a
/// read-only file system or a full disk would refuse it): the console
/// still shows the live panes, says the journal is down, and refuses every
/// acting key with the reason — nothing may change unrecorded.
#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_journal_leaves_the_panes_live_and_refuses_to_act() {
    let home = Home::new();
    let health = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let (config, _) = setup(&home, &health);
    let blocker = home.path().join("not-a-directory");
    std::fs::write(&blocker, "a file where the journal's directory should be").unwrap();
    let journal = blocker.join("journal.sqlite");
    let args = [
        "--config",
        config.as_str(),
        "--journal",
        journal.to_str().unwrap(),
    ];
    let mut pty = Pty::spawn(&home, &args, 120, 36, &[("NO_COLOR", "1")]);
    pty.wait_for(
        "live panes and the journal down",
        Duration::from_secs(10),
        |s| {
            s.contains("JOURNAL DOWN")
                && s.lines().any(|l| l.contains("blue") && l.contains(" OK "))
        },
    );
    pty.send("r");
    pty.wait_for("the rollback refused", Duration::from_secs(5), |s| {
        s.contains("the journal cannot record anything")
    });
    assert!(!pty.screen().contains("Rollback pay"), "{}", pty.screen());
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
}
