//! The room's promise through the real binary: each way two consoles
//! together once did what neither may alone, tried again — one account
//! approving its own change from a second console, a cooldown another
//! console's rollback started, a read-only console acting through a side
//! view or resolving a change still in flight, two rooms on one journal,
//! a driver stopped between two commands of one change, and backstop's
//! own lateness taken for the endpoints'.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use backstop::core::model::Fault;
use backstop::room::{Entry, Journal, Place, Redactor};
use common::platform::World;
use common::pty::Pty;

const WAIT: Duration = Duration::from_secs(20);

/// The switch's turn on `p`'s own checklist, after `r`.
fn to_the_switch(p: &mut Pty) {
    p.wait_for("the recommendation", WAIT, |s| {
        s.contains("ROLLBACK RECOMMENDED")
    });
    p.send("r");
    p.wait_for("the switch's turn", WAIT, |s| {
        s.contains("›▶") && s.contains("Switch traffic")
    });
}

/// Every console quits (a second `q` in case the first closed a view).
fn quit<const N: usize>(consoles: [Pty; N]) {
    for mut c in consoles {
        c.send("q");
        c.send("q");
        c.wait_exit(WAIT);
    }
}

/// Rows of the world's journal matching `sql_where`: (session, kind, text, data).
fn rows(w: &World, sql_where: &str) -> Vec<(String, String, String, String)> {
    let conn = rusqlite::Connection::open(w.journal()).unwrap();
    let mut st = conn
        .prepare(&format!(
            "SELECT COALESCE(session, ''), kind, text, COALESCE(data, '') FROM journal WHERE {sql_where} ORDER BY id"
        ))
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Until the journal has taken no row for a second: a console idle.
fn quiet(w: &World) {
    let count = || rows(w, "1 = 1").len();
    let mut last = count();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = count();
        if now == last {
            return;
        }
        last = now;
    }
}

/// One account cannot satisfy `approvals = 2`: a second console of the
/// same login (`USER=bob` changes nothing: the kernel says who runs it) is
/// told it is the driver's own; an approval written into the journal by
/// another program, in bob's name, has no proof of its account and is
/// refused. Nothing moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_cannot_approve_its_own_change() {
    let w = World::start_with("", "approvals = 2").await;
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let mut alice = w.console("alice", &[], None);
    let mut bob = Pty::spawn(&w.home, &[], 100, 30, &[("USER", "bob"), ("NO_COLOR", "1")]);
    to_the_switch(&mut alice);
    alice.send("\r");
    alice.wait_for("the preview", WAIT, |s| s.contains("DO IT"));
    alice.send("y");
    alice.wait_for("waiting for approval", WAIT, |s| {
        s.contains("WAITING for a second person's approval")
    });
    bob.wait_for("the request, not bob's to answer", WAIT, |s| {
        s.contains("(you, from another console) waits for a second person")
    });
    bob.confirm("a");
    bob.wait_for("refused at bob's keys", WAIT, |s| {
        s.contains("a second person approves")
    });
    // Another program writes "bob approved" into the journal.
    let ask = rows(&w, "json_extract(data, '$.action') = 'ask'");
    let data: serde_json::Value = serde_json::from_str(&ask[0].3).unwrap();
    let place = Place::from(&w.journal()).in_room("backstop");
    let forger = Journal::open_as(&place, Redactor::default(), "bob@elsewhere#9-9").unwrap();
    let mut e = Entry::new(
        backstop::clock::now(),
        "event",
        "web",
        "approved the change",
        "bob@elsewhere",
    );
    e.data = Some(serde_json::json!({
        "kind": "approval",
        "action": "approve",
        "request": data["request"],
        "driver": data["driver"],
    }));
    forger.append_now(e).unwrap();
    alice.wait_for("the forged approval refused", WAIT, |s| {
        s.contains("refused: nothing vouches for who sent it")
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(w.calls().is_empty(), "nothing moved: {:?}", w.calls());
    quit([alice, bob]);
}

/// A rollback another backstop made holds this console's auto mode back
/// for the cooldown: a console in auto mode, stopped while a headless
/// `rollback --yes` switched green → blue, resumes to blue failing — and
/// is blocked by the room's cooldown, not its own memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cooldown_started_by_another_backstop_holds_auto_mode() {
    let w = World::start_with("", "mode = \"auto\"\ncooldown = \"10m\"").await;
    let mut auto = w.console("carol", &[], None);
    auto.wait_for("both environments OK", WAIT, |s| {
        s.matches(" OK ").count() >= 2
    });
    // Stopped between two writes (one stopped inside SQLite's write lock
    // would hold every other writer of the file until it resumes).
    quiet(&w);
    auto.signal("STOP");
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let out = w.run(&["rollback", "--service", "web", "--yes"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        common::stdout(&out),
        common::stderr(&out)
    );
    assert_eq!(w.calls(), ["blue 100", "green 0"]);
    // Now blue fails, green is well again: what auto mode would roll back.
    w.sandbox.set_fault("web", "green", None).unwrap();
    w.sandbox
        .set_fault("web", "blue", Some(Fault::Unhealthy))
        .unwrap();
    auto.signal("CONT");
    auto.wait_for("blocked by the room's cooldown", WAIT, |s| {
        s.contains("BLOCKED") && s.contains("cooldown")
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(w.calls(), ["blue 100", "green 0"], "no second rollback");
    auto.send("q");
    auto.send("q");
    auto.wait_exit(WAIT);
}

/// A read-only console acts by no path: the why view's `r` is refused as
/// the key is, it holds no lease (`who` lists it as an observer), and the
/// journal has no incident, intent or lease of its.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_console_acts_by_no_path() {
    let w = World::start().await;
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let mut ro = w.console("dave", &["--read-only"], None);
    ro.wait_for("the recommendation", WAIT, |s| {
        s.contains("ROLLBACK RECOMMENDED")
    });
    assert!(ro.screen().contains("watching only"), "{}", ro.screen());
    ro.send("e");
    ro.wait_for("the why view", WAIT, |s| s.contains("Why"));
    ro.send("r");
    ro.send("\x1b");
    ro.wait_for("refused", WAIT, |s| {
        s.contains("read-only: this console watches web and acts on nothing")
    });
    ro.send(":");
    ro.send("rollback web\r");
    ro.send("D");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let out = w.run(&["who", "--json"]).await;
    let who: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(who[0]["role"], "observer", "{who}");
    assert_eq!(who[0]["read_only"], true, "{who}");
    let acted = rows(
        &w,
        "kind IN ('incident', 'intent', 'outcome') OR json_extract(data, '$.kind') IN ('lease', 'approval')",
    );
    assert!(acted.is_empty(), "{acted:?}");
    assert!(w.calls().is_empty());
    ro.send("q");
    ro.wait_exit(WAIT);
}

/// A change under way on a live driver's console is in flight, not
/// interrupted: a console that starts meanwhile (read-only here) shows it
/// as the driver's and resolves nothing; the change has its one outcome,
/// the driver's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_flight_elsewhere_is_not_interrupted() {
    let w = World::start().await;
    // The runbook runs a slow command first.
    std::fs::write(
        w.home.config_dir().join("runbooks/quick.toml"),
        r#"
name = "quick"
description = "a slow command, then the switch"

[[during]]
id = "drain"
title = "Drain the workers"
kind = "action"
action = "command"
argv = ["sleep", "6"]
timeout = "1m"

[[during]]
id = "switch"
title = "Switch traffic from {suspect} to {target}"
kind = "action"
action = "switch-traffic"
"#,
    )
    .unwrap();
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let mut alice = w.console("alice", &[], None);
    alice.wait_for("the recommendation", WAIT, |s| {
        s.contains("ROLLBACK RECOMMENDED")
    });
    alice.send("r");
    alice.wait_for("the command's turn", WAIT, |s| {
        s.contains("Drain the workers")
    });
    alice.send("\r");
    alice.wait_for("the preview", WAIT, |s| s.contains("DO IT"));
    alice.send("y");
    alice.wait_for("running", WAIT, |s| s.contains("running…"));
    let ro = w.console("dave", &["--read-only"], None);
    ro.wait_for("alice's change, in flight on her console", WAIT, |s| {
        s.contains("alice") && s.contains("running…")
    });
    assert!(!ro.screen().contains("INTERRUPTED"), "{}", ro.screen());
    alice.wait_for("the command done", WAIT, |s| {
        s.contains("Switch traffic") && s.contains("›▶")
    });
    let intents = rows(&w, "kind = 'intent'");
    assert_eq!(intents.len(), 1, "{intents:?}");
    let outcomes = rows(&w, "kind = 'outcome'");
    assert_eq!(outcomes.len(), 1, "one outcome, the driver's: {outcomes:?}");
    assert_eq!(outcomes[0].0, intents[0].0, "written by alice's session");
    assert!(!ro.screen().contains("INTERRUPTED"), "{}", ro.screen());
    quit([alice, ro]);
}

/// Two rooms on one journal never see each other's leases: staging's and
/// production's `web` are driven at once, each by its own console, and
/// `who` says which room each is in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_rooms_on_one_journal_keep_apart() {
    let w = World::start().await;
    let shared = w.home.path().join("shared/journal.sqlite");
    let base = std::fs::read_to_string(w.home.config_dir().join("backstop.toml")).unwrap();
    for room in ["staging", "production"] {
        let text = format!("{base}\n[journal]\npath = \"{}\"\n", shared.display());
        std::fs::write(w.home.config_dir().join(format!("{room}.toml")), text).unwrap();
    }
    let cfg = |room: &str| {
        w.home
            .config_dir()
            .join(format!("{room}.toml"))
            .display()
            .to_string()
    };
    let (s_cfg, p_cfg) = (cfg("staging"), cfg("production"));
    let mut staging = w.console("sam", &["--config", &s_cfg], None);
    let mut prod = w.console("pat", &["--config", &p_cfg], None);
    staging.wait_for("staging's web", WAIT, |s| s.contains(" OK "));
    prod.wait_for("production's web", WAIT, |s| s.contains(" OK "));
    staging.send("D");
    staging.wait_for("sam drives staging's web", WAIT, |s| {
        s.contains("you drive web")
    });
    prod.send("D");
    prod.wait_for("pat drives production's web", WAIT, |s| {
        s.contains("you drive web")
    });
    let mut c = w.home.command();
    c.args(["--config", &p_cfg, "who", "--json"]);
    let out = c.output().unwrap();
    let who: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    let rooms: Vec<(String, String)> = who
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["room"].as_str().unwrap().into(),
                p["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        rooms.contains(&("staging".into(), "driver".into())),
        "{who}"
    );
    assert!(
        rooms.contains(&("production".into(), "driver".into())),
        "{who}"
    );
    // Each header names its room.
    assert!(
        staging.screen().contains("room staging"),
        "{}",
        staging.screen()
    );
    // The --journal flag cannot pull a configured console out of its room.
    let mut c = w.home.command();
    c.args([
        "--config",
        &p_cfg,
        "--journal",
        "/tmp/elsewhere.sqlite",
        "who",
    ]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("--journal /tmp/elsewhere.sqlite is refused"));
    for mut c in [staging, prod] {
        c.send("q");
        c.wait_exit(WAIT);
    }
}

/// A driver stopped between the two commands of one switch, and taken
/// over meanwhile, does not run the second when it resumes: the lease is
/// looked at again before each command, and the outcome says what was done
/// and what was not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_stopped_midway_runs_no_further_command() {
    let w = World::start_with("lease_expiry = \"3s\"", "").await;
    // The first command (blue gains first) takes a while.
    let ctl = std::fs::read_to_string(&w.ctl).unwrap().replace(
        "    printf '%s %s\\n' \"$2\" \"$3\" >> \"$dir/calls\"",
        "    [ \"$2\" = blue ] && touch \"$dir/started\" && sleep 3\n    printf '%s %s\\n' \"$2\" \"$3\" >> \"$dir/calls\"",
    );
    std::fs::write(&w.ctl, ctl).unwrap();
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let mut alice = w.console("alice", &[], None);
    let mut bob = w.console("bob", &[], None);
    to_the_switch(&mut alice);
    alice.send("\r");
    alice.wait_for("the preview", WAIT, |s| s.contains("DO IT"));
    alice.send("y");
    alice.wait_for("running", WAIT, |s| s.contains("running…"));
    // Stopped while the first command runs (its own process goes on).
    let started = w.ctl.parent().unwrap().join("started");
    let t = std::time::Instant::now();
    while !started.exists() && t.elapsed() < WAIT {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    alice.signal("STOP");
    // Alice is silent past the expiry: bob takes the service over.
    let start = std::time::Instant::now();
    loop {
        bob.send("D");
        tokio::time::sleep(Duration::from_millis(500)).await;
        if bob.screen().contains("Type yes") {
            break;
        }
        assert!(start.elapsed() < WAIT, "{}", bob.screen());
    }
    bob.send("yes\r");
    bob.wait_for("bob drives", WAIT, |s| s.contains("you drive web"));
    // The slow first command has finished meanwhile; alice resumes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    alice.signal("CONT");
    let stopped = std::time::Instant::now();
    while rows(&w, "kind = 'outcome'").is_empty() && stopped.elapsed() < WAIT {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(w.calls(), ["blue 100"], "green's command never ran");
    let outcome = rows(&w, "kind = 'outcome'");
    assert!(
        outcome[0].2.contains("stopped midway: blue set to 100 %")
            && outcome[0]
                .2
                .contains("set green 0` and what follows not run")
            && outcome[0].2.contains("bob"),
        "{outcome:?}"
    );
    quit([alice, bob]);
}

/// backstop's own lateness is not the endpoints': a console in auto mode
/// stopped far longer than the probes' timeout, then resumed, says it was
/// late, fires no rule on that gap and rolls nothing back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_console_blames_nothing_on_the_endpoints() {
    let w = World::start_with("", "mode = \"auto\"").await;
    let mut c = w.console("carol", &[], None);
    c.wait_for("both environments OK", WAIT, |s| {
        s.matches(" OK ").count() >= 2
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    c.signal("STOP");
    tokio::time::sleep(Duration::from_secs(4)).await;
    c.signal("CONT");
    c.wait_for("it says it was late", WAIT, |s| {
        s.contains("backstop itself is late by") || s.contains("backstop is late by")
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let screen = c.screen();
    assert!(!screen.contains("FIRING"), "{screen}");
    assert!(!screen.contains("ROLLBACK"), "{screen}");
    assert!(w.calls().is_empty());
    let late = rows(&w, "text LIKE 'backstop itself is late by%'");
    assert_eq!(late.len(), 1, "journaled once: {late:?}");
    c.send("q");
    c.wait_exit(WAIT);
}

/// Run `cmd args`, as root, for the test's setup; its output when it fails.
fn sh(cmd: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(cmd).args(args).output().unwrap()
}

/// Two Unix users of the test's own making, in one group.
fn unix_users() -> (String, String, String) {
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    assert!(
        root,
        "this test makes two Unix users (useradd) to share one journal: run it as root"
    );
    let group = "bsroom".to_string();
    let _ = sh("groupadd", &["-f", &group]);
    let users = ("bsalice".to_string(), "bsbob".to_string());
    for u in [&users.0, &users.1] {
        let exists = sh("id", &[u]).status.success();
        if !exists {
            let out = sh("useradd", &["-M", "-N", "-g", &group, "-s", "/bin/sh", u]);
            assert!(
                out.status.success(),
                "useradd {u}: {}",
                common::stderr(&out)
            );
        }
    }
    (users.0, users.1, group)
}

/// Two people, two Unix accounts, one journal file on one bastion made
/// theirs by `journal init --group`: bob's approval counts because the
/// kernel says which account left its proof; alice's second console is
/// told the change is her own; an account the file does not admit gets an
/// error naming the file, its owner and its mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_unix_users_share_one_journal_and_the_kernel_says_who_approved() {
    use std::os::unix::fs::PermissionsExt;
    let (alice_u, bob_u, group) = unix_users();
    let sandbox = backstop::sandbox::Sandbox::start(
        &backstop::sandbox::default_world(),
        &backstop::sandbox::Options { rate: 0.0 },
    )
    .await
    .unwrap();
    sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    // A directory everyone may enter: the platform's CLI and weights, the
    // shared journal's directory, each person's home.
    let base = tempfile::Builder::new().prefix("bsroom").tempdir().unwrap();
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let platform = base.path().join("platform");
    std::fs::create_dir(&platform).unwrap();
    let ctl = platform.join("ctl");
    std::fs::write(&ctl, common::platform::CTL).unwrap();
    std::fs::write(platform.join("blue"), "0").unwrap();
    std::fs::write(platform.join("green"), "100").unwrap();
    std::fs::write(platform.join("calls"), "").unwrap();
    for f in ["blue", "green", "calls"] {
        std::fs::set_permissions(platform.join(f), std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    std::fs::set_permissions(&ctl, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&platform, std::fs::Permissions::from_mode(0o777)).unwrap();
    let journal = base.path().join("srv/payments.sqlite");
    let web = common::platform::web_service(
        &sandbox.base_url("web", "blue").unwrap(),
        &sandbox.base_url("web", "green").unwrap(),
        &ctl,
    );
    let config = format!(
        r#"title = "payments"
[journal]
path = "{journal}"

{web}
[services.web.rollback]
runbook = "quick"
approvals = 2

[[services.web.rules]]
kind = "health-failures"
count = 3
"#,
        journal = journal.display(),
    );
    // A home for each account, its own.
    let home_of = |user: &str| {
        let home = common::Home {
            dir: tempfile::Builder::new()
                .prefix(user)
                .tempdir_in(base.path())
                .unwrap(),
        };
        let cfg = home.config_dir();
        std::fs::create_dir_all(cfg.join("runbooks")).unwrap();
        std::fs::write(cfg.join("runbooks/quick.toml"), common::QUICK_RUNBOOK).unwrap();
        std::fs::write(cfg.join("backstop.toml"), &config).unwrap();
        let out = sh(
            "chown",
            &[
                "-R",
                &format!("{user}:{group}"),
                home.path().to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}", common::stderr(&out));
        home
    };
    // root makes the journal the group's.
    let admin = home_of("root");
    let out = admin
        .command()
        .args(["journal", "init", "--group", &group])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        common::stdout(&out),
        common::stderr(&out)
    );
    assert!(
        common::stdout(&out).contains("mode 660"),
        "{}",
        common::stdout(&out)
    );
    let (alice_home, bob_home) = (home_of(&alice_u), home_of(&bob_u));
    let env = [("NO_COLOR", "1")];
    let mut alice = Pty::spawn_as(&alice_home, &alice_u, &[], 100, 30, &env);
    let alice2 = Pty::spawn_as(
        &alice_home,
        &alice_u,
        &[],
        100,
        30,
        &[("NO_COLOR", "1"), ("USER", "bsbob")],
    );
    let mut bob = Pty::spawn_as(&bob_home, &bob_u, &[], 100, 30, &env);
    to_the_switch(&mut alice);
    alice.send("\r");
    alice.wait_for("the preview", WAIT, |s| s.contains("DO IT"));
    alice.send("y");
    alice.wait_for("waiting for approval", WAIT, |s| {
        s.contains("WAITING for a second person's approval")
    });
    alice2.wait_for("alice's own change, from her second console", WAIT, |s| {
        s.contains("(you, from another console) waits for a second person")
    });
    bob.wait_for("bob asked", WAIT, |s| s.contains("asks YOUR approval"));
    bob.confirm("a");
    alice.wait_for("approved by bob's account", WAIT, |s| {
        s.contains(&format!("approved by {bob_u}@"))
    });
    let calls = || std::fs::read_to_string(platform.join("calls")).unwrap();
    let start = std::time::Instant::now();
    while calls().lines().count() < 2 && start.elapsed() < WAIT {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(calls(), "blue 100\ngreen 0\n");
    // The proof is a file bob's account made, which nobody else may remove.
    let vouch = backstop::room::vouch::dir(&journal);
    let proofs: Vec<_> = std::fs::read_dir(&vouch).unwrap().collect();
    assert_eq!(proofs.len(), 1);
    use std::os::unix::fs::MetadataExt;
    let owner = proofs[0].as_ref().unwrap().metadata().unwrap().uid();
    assert_eq!(
        backstop::identity::user_name(owner).as_deref(),
        Some(bob_u.as_str())
    );
    assert_eq!(std::fs::metadata(&vouch).unwrap().mode() & 0o7777, 0o3770);
    // Esc closes the note's line, once open (before, the `q`s would be typed into it).
    alice.wait_for("the note's line", WAIT, |s| {
        s.contains("Record the cause: ▏")
    });
    for mut c in [alice, alice2, bob] {
        c.send("\x1b");
        c.send("q");
        c.send("q");
        c.wait_exit(WAIT);
    }
    // A journal the group may not write: said, with its owner and mode.
    let private = base.path().join("private.sqlite");
    std::fs::write(&private, "").unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(
        bob_home.config_dir().join("backstop.toml"),
        config.replace(
            &journal.display().to_string(),
            &private.display().to_string(),
        ),
    )
    .unwrap();
    let mut who = std::process::Command::new("runuser");
    who.args(["-p", "-u", &bob_u, "--"])
        .arg(common::bin())
        .arg("who");
    bob_home.isolate(&mut who);
    let out = who.output().unwrap();
    let said = common::stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!(
            "{} cannot be written by {bob_u}: it belongs to root (group root, mode 600)",
            private.display()
        )),
        "{said}"
    );
}

/// Temporary keys of an assumed role's session named `who` on `moto`:
/// a principal of its own (`${aws:userid}` = the role's id and `who`).
async fn principal(moto: &common::moto::Moto, who: &str) -> (String, String, String) {
    let sts = aws_sdk_sts::Client::new(&moto.sdk().await);
    let out = sts
        .assume_role()
        .role_arn("arn:aws:iam::123456789012:role/OnCall")
        .role_session_name(who)
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    (
        c.access_key_id().to_string(),
        c.secret_access_key().to_string(),
        c.session_token().to_string(),
    )
}

/// On a table shared between hosts the proof of who approved is an item
/// only that principal may write (IAM: `vouch#${aws:userid}`): bob's
/// session approves alice's change; alice's own principal, from a second
/// console with another declared name, cannot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_table_aws_says_who_approved() {
    let w = World::start_on(common::platform::Backend::Table, "", "approvals = 2").await;
    w.sandbox
        .set_fault("web", "green", Some(Fault::Unhealthy))
        .unwrap();
    let moto = w.moto.as_ref().unwrap();
    let a = principal(moto, "alice@example.com").await;
    let b = principal(moto, "bob@example.com").await;
    let keys = |k: &(String, String, String)| (k.0.clone(), k.1.clone(), k.2.clone());
    let (ka, kb) = (keys(&a), keys(&b));
    let mut alice = w.console_with_keys("alice", (&ka.0, &ka.1, &ka.2));
    let mallory = w.console_with_keys("mallory", (&ka.0, &ka.1, &ka.2));
    let mut bob = w.console_with_keys("bob", (&kb.0, &kb.1, &kb.2));
    to_the_switch(&mut alice);
    alice.send("\r");
    alice.wait_for("the preview", WAIT, |s| s.contains("DO IT"));
    alice.send("y");
    alice.wait_for("waiting for approval", WAIT, |s| {
        s.contains("WAITING for a second person's approval")
    });
    // Alice's principal under another name: its own change.
    mallory.wait_for("alice's principal sees its own change", WAIT, |s| {
        s.contains("(you, from another console) waits for a second person")
    });
    assert!(w.calls().is_empty());
    bob.wait_for("bob asked", WAIT, |s| s.contains("asks YOUR approval"));
    bob.confirm("a");
    alice.wait_for("approved by bob", WAIT, |s| s.contains("approved by bob"));
    let start = std::time::Instant::now();
    while w.calls().len() < 2 && start.elapsed() < WAIT {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(w.calls(), ["blue 100", "green 0"]);
    // The record says which principal AWS vouched approved it.
    let conn = rusqlite::Connection::open(w.journal()).unwrap();
    let by: String = conn
        .query_row(
            "SELECT operator FROM journal WHERE kind = 'intent' AND json_extract(data, '$.work') = 'switch-traffic'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        by.contains(", approved by bob (aws:") && by.contains(":bob@example.com)"),
        "{by}"
    );
    // The checklist ends at its note: Esc closes the line once it is open
    // (an Esc before it would leave the `q`s to be typed into it).
    alice.wait_for("the note's line", WAIT, |s| {
        s.contains("Record the cause: ▏")
    });
    for (who, mut c) in [("alice", alice), ("mallory", mallory), ("bob", bob)] {
        c.send("\x1b");
        c.send("q");
        c.send("q");
        eprintln!("quitting {who}");
        c.wait_exit(WAIT);
    }
}
