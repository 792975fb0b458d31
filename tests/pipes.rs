//! The real binary with its standard output closed early (`| head -n1`):
//! no panic, no backtrace, exit 141, and the journal says why the command
//! ended. And what is printed about bad input never shows a password.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Home, Reply, TestServer, refused_port};

/// The exit code documented for "the reader went away".
const READER_GONE: i32 = 141;

fn spawn(mut c: Command) -> Child {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    c.spawn().unwrap()
}

/// Read one line of the child's output, then close the pipe (as `head -n1`).
fn head_one_line(child: &mut Child) -> String {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line
}

/// Wait for the child, at most `limit`; its exit code and stderr.
fn finish(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("still running after {limit:?} with its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), err)
}

fn assert_clean(code: Option<i32>, err: &str) {
    assert!(!err.contains("panicked"), "a panic:\n{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
    assert_eq!(code, Some(READER_GONE), "{err}");
}

fn journal_texts(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut st = conn
        .prepare("SELECT text FROM journal ORDER BY id")
        .unwrap();
    st.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// A configuration with one service whose only endpoint refuses connections.
fn refused_config(home: &Home) -> std::path::PathBuf {
    let path = home.path().join("backstop.toml");
    std::fs::write(
        &path,
        format!(
            "[services.web.environments.blue]\nendpoints = [{{ url = \"http://127.0.0.1:{}/health\", interval = \"200ms\", timeout = \"100ms\" }}]\n",
            refused_port()
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_headless_drill_read_by_head_stops_cleanly_and_journals_why() {
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
    let first = head_one_line(&mut child);
    assert!(first.contains("bad-switch"), "{first}");
    let (code, err) = finish(child, Duration::from_secs(60));
    assert_clean(code, &err);
    let texts = journal_texts(&home.path().join("data/backstop/drills.sqlite"));
    assert!(
        texts
            .iter()
            .any(|t| t.contains("standard output was closed")),
        "{texts:#?}"
    );
}

#[test]
fn probe_json_into_a_closed_pipe_exits_cleanly() {
    let home = Home::new();
    let mut c = home.command();
    c.args([
        "probe",
        "--json",
        &format!("http://127.0.0.1:{}/health", refused_port()),
    ]);
    let mut child = spawn(c);
    // Closed before the probe has answered: the first write fails.
    drop(child.stdout.take());
    let (code, err) = finish(child, Duration::from_secs(30));
    assert_clean(code, &err);
}

#[test]
fn status_json_into_a_closed_pipe_exits_cleanly() {
    let home = Home::new();
    let config = refused_config(&home);
    let mut c = home.command();
    c.args(["--config", config.to_str().unwrap(), "status", "--json"]);
    let mut child = spawn(c);
    drop(child.stdout.take());
    let (code, err) = finish(child, Duration::from_secs(30));
    assert_clean(code, &err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_json_read_by_head_stops_and_journals_why() {
    let home = Home::new();
    let healthy = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let config = home.path().join("backstop.toml");
    std::fs::write(
        &config,
        format!(
            "[services.web.environments.blue]\nendpoints = [{{ url = \"{}\", interval = \"200ms\", timeout = \"100ms\" }}]\n",
            healthy.url("/health")
        ),
    )
    .unwrap();
    let mut c = home.command();
    c.args([
        "--config",
        config.to_str().unwrap(),
        "watch",
        "--json",
        "--for",
        "60s",
    ]);
    let (code, err) = tokio::task::spawn_blocking(move || {
        let mut child = spawn(c);
        let first = head_one_line(&mut child);
        assert!(first.starts_with('{'), "{first}");
        finish(child, Duration::from_secs(30))
    })
    .await
    .unwrap();
    assert_clean(code, &err);
    let texts = journal_texts(&home.path().join("data/backstop/journal.sqlite"));
    assert!(
        texts
            .iter()
            .any(|t| t.contains("backstop watch stopped: standard output was closed")),
        "{texts:#?}"
    );
}
