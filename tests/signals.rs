//! SIGTERM, SIGINT and SIGHUP in the headless commands, through the real
//! binary: each ends with its last word printed and exit 128 + n, never
//! killed mid-sentence. (A rollback interrupted mid-change is in
//! headless.rs, where a world to roll back exists.)
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Home, Reply, TestServer};

fn spawn(mut c: Command) -> Child {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    c.spawn().unwrap()
}

fn send(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// The first line of stdout, the rest after the child ends, its code and stderr.
fn first_line(child: &mut Child) -> (String, BufReader<std::process::ChildStdout>) {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    (line, out)
}

fn finish(mut child: Child, mut rest: impl Read, limit: Duration) -> (Option<i32>, String, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < limit, "still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut out, mut err) = (String::new(), String::new());
    rest.read_to_string(&mut out).unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), out, err)
}

fn config(home: &Home, url: &str) -> std::path::PathBuf {
    let path = home.path().join("backstop.toml");
    std::fs::write(
        &path,
        format!(
            "[services.web.environments.blue]\nendpoints = [{{ url = \"{url}\", interval = \"200ms\", timeout = \"100ms\" }}]\n"
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_ends_a_calm_watch_with_its_last_line() {
    let home = Home::new();
    let ok = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let path = config(&home, &ok.url("/health"));
    let mut c = home.command();
    c.args(["--config", path.to_str().unwrap(), "watch", "--for", "60s"]);
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        let mut child = spawn(c);
        let (first, rest) = first_line(&mut child);
        assert!(first.starts_with("watching web"), "{first}");
        send(&child, "INT");
        finish(child, rest, Duration::from_secs(20))
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "calm is calm, however it ends\n{out}\n{err}");
    assert!(
        out.trim_end()
            .ends_with("watch ended: calm until SIGINT ended the watch"),
        "{out}"
    );
}

#[test]
fn sigterm_stops_verify_with_a_verdict() {
    let home = Home::new();
    let path = config(&home, "http://127.0.0.1:9/health");
    let mut c = home.command();
    c.args([
        "--config",
        path.to_str().unwrap(),
        "verify",
        "--service",
        "web",
        "--stabilize",
        "60s",
    ]);
    let mut child = spawn(c);
    let (first, rest) = first_line(&mut child);
    assert!(first.contains("stabilising"), "{first}");
    send(&child, "TERM");
    let (code, out, err) = finish(child, rest, Duration::from_secs(20));
    assert_eq!(code, Some(143), "{out}\n{err}");
    assert!(out.contains("NOT VERIFIED web:"), "{out}");
    assert!(out.contains("interrupted by SIGTERM"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_stops_a_probe_waiting_for_its_answer() {
    let home = Home::new();
    let silent = TestServer::start(Reply::Never).await;
    let mut c = home.command();
    c.args(["probe", &silent.url("/health"), "--timeout", "30s"]);
    let accepted = silent.accepted.clone();
    let (code, _, err) = tokio::task::spawn_blocking(move || {
        let child = spawn(c);
        // Connected: the probe waits for an answer that never comes.
        let start = Instant::now();
        while accepted.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            assert!(start.elapsed() < Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(20));
        }
        send(&child, "HUP");
        finish(child, std::io::empty(), Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert_eq!(code, Some(129), "{err}");
    assert!(
        err.contains("backstop probe: interrupted by SIGHUP before the answer"),
        "{err}"
    );
}

#[test]
fn sigint_stops_a_headless_drill_and_journals_it() {
    let home = Home::new();
    let mut c = home.command();
    c.args([
        "drill",
        "--headless",
        "--auto",
        "--scenario",
        "bad-switch",
        "--speed",
        "10",
    ]);
    let mut child = spawn(c);
    let (first, rest) = first_line(&mut child);
    assert!(first.contains("bad-switch"), "{first}");
    send(&child, "INT");
    let (code, _, err) = finish(child, rest, Duration::from_secs(30));
    assert_eq!(code, Some(130), "{err}");
    assert!(
        err.contains("drill bad-switch interrupted by SIGINT"),
        "{err}"
    );
    let conn = rusqlite::Connection::open(home.path().join("data/backstop/drills.sqlite")).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM journal WHERE text LIKE '%interrupted by SIGINT%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(n >= 1);
}
