//! The real binary: configuration and keymap errors, the headless commands,
//! and what a newcomer sees with no configuration.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Home, Reply, TestServer, run, stderr, stdout};

#[test]
fn the_console_refuses_an_invalid_config_with_the_same_message() {
    let home = Home::new();
    let mut c = home.command();
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--config", "tests/invalid_configs/bad_url.toml"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("tests/invalid_configs/bad_url.toml:3:22: invalid URL"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn without_a_config_it_says_how_to_start() {
    let home = Home::new();
    let out = run(home.command());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no configuration found"), "{err}");
    assert!(err.contains("backstop drill"), "{err}");
    assert!(err.contains("backstop config init"), "{err}");
}

#[test]
fn config_init_writes_an_example_that_checks_clean() {
    let home = Home::new();
    let out = run({
        let mut c = home.command();
        c.args(["config", "init"]);
        c
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file = home.config_dir().join("backstop.toml");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        backstop::config::EXAMPLE
    );
    // A second init does not overwrite.
    let again = run({
        let mut c = home.command();
        c.args(["config", "init"]);
        c
    });
    assert_eq!(again.status.code(), Some(2));
    // `config check` with no file checks the default location.
    let check = run({
        let mut c = home.command();
        c.args(["config", "check"]);
        c
    });
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(
        stdout(&check).contains("ok — 3 services, 5 environments"),
        "{}",
        stdout(&check)
    );
}

#[test]
fn user_runbooks_are_chosen_by_name_and_checked_with_their_place() {
    let home = Home::new();
    let books = home.config_dir().join("runbooks");
    std::fs::create_dir_all(&books).unwrap();
    std::fs::write(
        books.join("payments.toml"),
        "name = \"payments\"\n[[during]]\nid = \"page\"\ntitle = \"Page the payments on-call\"\nkind = \"manual\"\n",
    )
    .unwrap();
    let config = home.path().join("backstop.toml");
    std::fs::write(
        &config,
        "[services.pay.environments.blue]\nendpoints = [{ url = \"http://127.0.0.1:9/health\" }]\n[services.pay.rollback]\nrunbook = \"payments\"\n",
    )
    .unwrap();
    let check = |home: &Home| {
        run({
            let mut c = home.command();
            c.args(["config", "check"]).arg(&config);
            c
        })
    };
    let out = check(&home);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("runbooks: pay → payments"),
        "{}",
        stdout(&out)
    );
    // A broken runbook file: its own file, line and column.
    std::fs::write(
        books.join("broken.toml"),
        "name = \"broken\"\n[[before]]\nid = \"a\"\ntitle = \"A\"\nkind = \"action\"\naction = \"reboot\"\n",
    )
    .unwrap();
    let out = check(&home);
    assert_eq!(out.status.code(), Some(2));
    let want = format!(
        "{}:6:10: unknown action \"reboot\"",
        books.join("broken.toml").display()
    );
    assert!(stderr(&out).contains(&want), "{}", stderr(&out));
    // A step the service cannot do: pointed at in the runbook, and at the choice.
    std::fs::remove_file(books.join("broken.toml")).unwrap();
    std::fs::write(
        books.join("payments.toml"),
        "name = \"payments\"\n[[during]]\nid = \"switch\"\ntitle = \"Switch\"\nkind = \"action\"\naction = \"switch-traffic\"\n",
    )
    .unwrap();
    let out = check(&home);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let want = format!(
        "{}:6:10: action \"switch-traffic\" needs a traffic provider, and service `pay` has none",
        books.join("payments.toml").display()
    );
    assert!(err.contains(&want), "{err}");
    assert!(
        err.contains(":4:11: runbook `payments` has 1 step(s) service `pay` cannot do"),
        "{err}"
    );
}

#[test]
fn keys_and_paths_and_help() {
    let home = Home::new();
    let keys = stdout(&run({
        let mut c = home.command();
        c.arg("keys");
        c
    }));
    assert!(keys.contains("quit") && keys.contains("q, "), "{keys}");
    assert!(
        keys.contains("inject-fault") && keys.contains("clear-faults"),
        "{keys}"
    );

    // A user keymap is merged over the defaults.
    std::fs::create_dir_all(home.config_dir()).unwrap();
    std::fs::write(
        home.config_dir().join("keymap.toml"),
        "[global]\nx = \"inject-fault\"\nf = \"none\"\n",
    )
    .unwrap();
    let keys = stdout(&run({
        let mut c = home.command();
        c.arg("keys");
        c
    }));
    let line = keys
        .lines()
        .find(|l| l.trim_start().starts_with("inject-fault"))
        .unwrap();
    assert!(line.contains(" x ") && !line.contains(" f "), "{line}");

    let paths = stdout(&run({
        let mut c = home.command();
        c.arg("paths");
        c
    }));
    let log = home.path().join("state/backstop/backstop.log");
    assert!(paths.contains(&log.display().to_string()), "{paths}");
    let help = stdout(&run({
        let mut c = home.command();
        c.arg("--help");
        c
    }));
    assert!(
        help.contains(&log.display().to_string()),
        "--help must print the log path:\n{help}"
    );
}

#[test]
fn the_console_needs_a_terminal() {
    let home = Home::new();
    let out = run({
        let mut c = home.command();
        c.arg("drill");
        c
    });
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("needs a terminal"),
        "{}",
        stderr(&out)
    );
}

fn probe(home: &Home, args: &[&str]) -> std::process::Output {
    let mut c = home.command();
    c.arg("probe").args(args);
    run(c)
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_prints_json_and_exits_by_status() {
    let home = Home::new();
    let ok = TestServer::start(Reply::json(
        200,
        r#"{"status":"ok","version":"1.0.1","checks":{"db":{"status":"ok","responseTime":4}}}"#,
    ))
    .await;
    let out = probe(&home, &[&ok.url("/api/health?token=hunter2"), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "url",
            "status",
            "summary",
            "http_status",
            "latency_ms",
            "version",
            "checks",
            "error"
        ]
    );
    assert_eq!(v["status"], "ok");
    assert_eq!(v["http_status"], 200);
    assert_eq!(v["version"], "1.0.1");
    assert_eq!(
        v["checks"][0],
        serde_json::json!({"name": "db", "status": "ok", "detail": "4ms"})
    );
    assert!(v["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(
        !stdout(&out).contains("hunter2"),
        "tokens in URLs are redacted"
    );

    let degraded = TestServer::start(Reply::json(200, r#"{"status":"degraded"}"#)).await;
    assert_eq!(
        probe(&home, &[&degraded.url("/")]).status.code(),
        Some(0),
        "degraded passes, as in the runbooks"
    );
    // The reason the text gives under the status is in the JSON too.
    let text = stdout(&probe(&home, &[&degraded.url("/")]));
    let out = probe(&home, &[&degraded.url("/"), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["status"], "degraded");
    let summary = v["summary"].as_str().unwrap();
    assert!(
        !summary.is_empty() && text.contains(summary),
        "{v}
{text}"
    );

    let critical = TestServer::start(Reply::json(503, r#"{"status":"critical"}"#)).await;
    let out = probe(&home, &[&critical.url("/")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("critical"), "{}", stdout(&out));

    let port = common::refused_port();
    let out = probe(
        &home,
        &[
            &format!("http://127.0.0.1:{port}/"),
            "--json",
            "--timeout",
            "500ms",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["status"], "unreachable");
    assert_eq!(v["error"], "connection refused");
    assert_eq!(v["http_status"], serde_json::Value::Null);

    assert_eq!(probe(&home, &["not a url"]).status.code(), Some(2));
    assert_eq!(
        probe(&home, &["http://x/", "--timeout", "soon"])
            .status
            .code(),
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_probes_every_environment_and_the_worst_wins() {
    let home = Home::new();
    let blue = TestServer::start(Reply::json(200, r#"{"status":"ok","version":"1.0.0"}"#)).await;
    let green = TestServer::start(Reply::json(
        503,
        r#"{"status":"critical","version":"1.0.1"}"#,
    ))
    .await;
    let config = home.path().join("backstop.toml");
    let write = |green_url: &str| {
        std::fs::write(
            &config,
            format!(
                "[services.web.environments.blue]\nendpoints = [{{ url = \"{}\" }}, {{ url = \"{}\", role = \"live\" }}]\n\
                 [services.web.environments.green]\nendpoints = [{{ url = \"{green_url}\" }}]\n",
                blue.url("/api/health"),
                blue.url("/api/health/live"),
            ),
        )
        .unwrap();
    };
    write(&green.url("/api/health"));
    let out = run({
        let mut c = home.command();
        c.args(["status", "--json", "--config"]).arg(&config);
        c
    });
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["status"], "critical");
    let web = &v["services"]["web"];
    assert_eq!(web["status"], "critical");
    assert_eq!(web["environments"]["blue"]["status"], "ok");
    assert_eq!(web["environments"]["blue"]["version"], "1.0.0");
    assert_eq!(
        web["environments"]["blue"]["endpoints"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(web["environments"]["blue"]["endpoints"][1]["role"], "live");
    assert_eq!(
        web["environments"]["green"]["endpoints"][0]["http_status"],
        503
    );

    // The table, via $BACKSTOP_CONFIG, all healthy: exit 0.
    write(&blue.url("/api/health"));
    let out = run({
        let mut c = home.command();
        c.arg("status").env("BACKSTOP_CONFIG", &config);
        c
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.starts_with("SERVICE"), "{table}");
    // The probes' table: one line per endpoint; then the rules, judged on
    // this one round where one round can judge them.
    let (probes, rest) = table.split_once("\n\n").unwrap();
    assert_eq!(
        probes.lines().filter(|l| l.starts_with("web")).count(),
        3,
        "{table}"
    );
    assert!(rest.contains("\nALARMS & RULES\n"), "{table}");
    assert!(
        rest.contains("web  green  rule health-failures ≥ 3 in a row  ok: this probe passed"),
        "{table}"
    );
}

/// Whatever the error, a password in a URL is not printed: a URL that does
/// not parse (so it cannot be taken apart as a URL) as much as a good one.
#[test]
fn errors_never_show_a_password_from_a_url() {
    let home = Home::new();
    let out = probe(&home, &["http://user:secret@[::1/health"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(!err.contains("secret"), "{err}");
    assert!(err.contains("http://user:***@[::1/health"), "{err}");

    // A configuration with one: neither the message nor the quoted line shows it.
    let config = home.path().join("backstop.toml");
    std::fs::write(
        &config,
        "[services.web.environments.blue]\n\
         url = \"ftp://deploy:secret@blue.example.com/\"\n\
         endpoints = [{ url = \"http://ops:secret@[::1/health?access_token=secret\" }]\n",
    )
    .unwrap();
    let mut c = home.command();
    c.args(["config", "check", config.to_str().unwrap()]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(!err.contains("secret"), "{err}");
    assert!(err.contains("ops:******@[::1"), "{err}");
    assert!(err.contains("access_token=***"), "{err}");
}

/// A journal that is not one (overwritten, truncated) is named in the error.
#[test]
fn a_corrupt_journal_is_named() {
    let home = Home::new();
    let journal = home.path().join("incidents.sqlite");
    std::fs::write(&journal, vec![b'x'; 8192]).unwrap();
    let mut c = home.command();
    c.args(["--journal", journal.to_str().unwrap(), "report", "--list"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot use the journal {}", journal.display()))
            && err.contains("file is not a database"),
        "{err}"
    );
}

/// The headless commands are run for their record: told to write a journal
/// that is not one, or a directory, they do not run without it — exit 2,
/// the file named — where the console would keep its panes live.
#[test]
fn headless_commands_refuse_a_journal_they_cannot_write() {
    let home = Home::new();
    let config = home.path().join("backstop.toml");
    std::fs::write(
        &config,
        "[services.web.environments.blue]\nendpoints = [{ url = \"http://127.0.0.1:9/health\" }]\n",
    )
    .unwrap();
    let corrupt = home.path().join("corrupt.sqlite");
    std::fs::write(&corrupt, vec![b'x'; 8192]).unwrap();
    let dir = home.path().join("a-directory");
    std::fs::create_dir(&dir).unwrap();
    for journal in [&corrupt, &dir] {
        for args in [
            &["watch", "--service", "web", "--for", "1s"][..],
            &["watch", "--service", "web", "--for", "1s", "--auto"],
            &["verify", "--service", "web", "--stabilize", "0s"],
            &["rollback", "--service", "web", "--dry-run"],
        ] {
            let mut c = home.command();
            c.arg("--config").arg(&config).arg("--journal").arg(journal);
            c.args(args);
            let out = run(c);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?} on {journal:?}: {err}");
            assert!(
                err.contains(&journal.display().to_string()),
                "{args:?}: {err}"
            );
            if journal == &dir {
                assert!(
                    err.contains("is a directory, not a journal"),
                    "{args:?}: {err}"
                );
            }
            assert!(
                !String::from_utf8_lossy(&out.stdout).contains("watching web"),
                "{args:?} ran without its journal"
            );
        }
    }
}

/// Files no one would commit as fixtures: a 10 MB unterminated string is
/// quoted around the error only, and a file that is not UTF-8 is located
/// at its bad byte.
#[test]
fn huge_and_non_utf8_configs_are_located_and_quoted_briefly() {
    let home = Home::new();
    let check = |name: &str, bytes: &[u8]| {
        let path = home.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut c = home.command();
        c.args(["config", "check", path.to_str().unwrap()]);
        let out = run(c);
        assert_eq!(out.status.code(), Some(2));
        (path.display().to_string(), stderr(&out))
    };
    let mut big = b"title = \"".to_vec();
    big.extend(std::iter::repeat_n(b'a', 10_000_000));
    big.extend(b"\n[services.web.environments.blue]\nendpoints = [{ url = \"http://h/\" }]\n");
    let (file, err) = check("big.toml", &big);
    assert!(err.len() < 1000, "{} bytes of error", err.len());
    assert!(err.starts_with(&format!("{file}:1:10000010: ")), "{err}");
    assert!(err.contains(" | …aaa"), "{err}");

    let (file, err) = check(
        "latin1.toml",
        b"[services.web.environments.blue]\nendpoints = [{ url = \"http://h/\" }]\ntitle = \"caf\xe9\"\n",
    );
    assert!(
        err.starts_with(&format!("{file}:3:13: byte 0xE9 is not UTF-8")),
        "{err}"
    );
}

/// Unknown keys at every level and bad values, all in one run: a person
/// fixes the file once, not once per error.
#[test]
fn every_unknown_key_is_reported_in_one_run() {
    let home = Home::new();
    let file = "tests/invalid_configs/unknown_keys_everywhere.toml";
    let mut c = home.command();
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["config", "check", file]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let headlines: Vec<&str> = err.lines().filter(|l| l.starts_with(file)).collect();
    let places: Vec<&str> = headlines
        .iter()
        .filter_map(|l| l.strip_prefix(file))
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        places,
        [":2:1:", ":5:1:", ":8:65:", ":8:71:", ":8:92:", ":9:1:", ":"],
        "{err}"
    );
    assert!(err.ends_with(&format!("{file}: 6 errors\n")), "{err}");
    // Taking out a bad required value does not add a "missing field".
    assert!(!err.contains("missing field"), "{err}");
}

/// A keymap that is not UTF-8 is located at its bad byte too.
#[test]
fn a_non_utf8_keymap_is_located_at_the_bad_byte() {
    let home = Home::new();
    let dir = home.config_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keymap.toml"), b"[global]\n\"\xe9\" = \"quit\"\n").unwrap();
    let mut c = home.command();
    c.arg("keys");
    let out = run(c);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("keymap.toml:2:2: byte 0xE9 is not UTF-8: save the keymap as UTF-8"),
        "{err}"
    );
}
