//! Helpers shared by the integration tests: a real HTTP server on loopback
//! that can misbehave on demand, and the real binary run with its own XDG
//! directories so tests never touch the developer's files.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the test server answers a request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete answer.
    Full {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// Accept the connection, read the request, never answer.
    Never,
    /// Headers, then the body one byte at a time with a pause between bytes.
    Trickle { body: Vec<u8>, pause: Duration },
    /// `Content-Length: size`, then that many bytes as fast as the peer reads.
    Huge { size: u64 },
    /// 302 to the same path, forever.
    RedirectLoop,
    /// These bytes exactly, whatever they say; then the connection is
    /// closed when `close`.
    Raw { bytes: Vec<u8>, close: bool },
    /// These bytes to a connection's first request; its second is read
    /// and left unanswered, the connection closed (a server that closed a
    /// kept connection just as the next request came).
    FirstOnly(Vec<u8>),
    /// A full answer; then, `after` it, `goodbye` unasked, and the close
    /// (as servers that say 408 to an idle connection do).
    Goodbye {
        answer: Vec<u8>,
        after: Duration,
        goodbye: Vec<u8>,
    },
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Self {
        Reply::Full {
            status,
            content_type: "application/json",
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn text(status: u16, content_type: &'static str, body: &str) -> Self {
        Reply::Full {
            status,
            content_type,
            body: body.as_bytes().to_vec(),
        }
    }
}

/// A loopback HTTP/1.1 server answering every request with one `Reply`.
pub struct TestServer {
    pub addr: SocketAddr,
    /// Body bytes the server managed to write, over all connections.
    pub written: Arc<AtomicU64>,
    /// Connections accepted.
    pub accepted: Arc<AtomicU64>,
    /// The requests' heads, in the order they came.
    pub heads: Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let written = Arc::new(AtomicU64::new(0));
        let w = written.clone();
        let accepted = Arc::new(AtomicU64::new(0));
        let a = accepted.clone();
        let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let h = heads.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                a.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(answer(stream, reply.clone(), w.clone(), h.clone()));
            }
        });
        TestServer {
            addr,
            written,
            accepted,
            heads,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&byte[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

async fn answer(
    mut stream: TcpStream,
    reply: Reply,
    written: Arc<AtomicU64>,
    heads: Arc<std::sync::Mutex<Vec<String>>>,
) {
    // Keep-alive: answer requests on this connection until it closes.
    let mut asked = 0;
    while let Some(head) = read_head(&mut stream).await {
        asked += 1;
        heads.lock().unwrap().push(head.clone());
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        let ok = match &reply {
            Reply::Full {
                status,
                content_type,
                body,
            } => {
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let r = stream.write_all(head.as_bytes()).await.is_ok()
                    && stream.write_all(body).await.is_ok();
                written.fetch_add(body.len() as u64, Ordering::Relaxed);
                r
            }
            Reply::Never => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                false
            }
            Reply::Trickle { body, pause } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for b in body {
                    tokio::time::sleep(*pause).await;
                    if stream.write_all(&[*b]).await.is_err() {
                        return;
                    }
                    written.fetch_add(1, Ordering::Relaxed);
                }
                true
            }
            Reply::Huge { size } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {size}\r\n\r\n"
                );
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = *size;
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    if stream.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    written.fetch_add(n as u64, Ordering::Relaxed);
                    left -= n as u64;
                }
                true
            }
            Reply::RedirectLoop => {
                let head =
                    format!("HTTP/1.1 302 Found\r\nlocation: {path}\r\ncontent-length: 0\r\n\r\n");
                stream.write_all(head.as_bytes()).await.is_ok()
            }
            Reply::Raw { bytes, close } => {
                written.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                stream.write_all(bytes).await.is_ok() && !close
            }
            Reply::FirstOnly(bytes) => asked == 1 && stream.write_all(bytes).await.is_ok(),
            Reply::Goodbye {
                answer,
                after,
                goodbye,
            } => {
                if stream.write_all(answer).await.is_ok() {
                    tokio::time::sleep(*after).await;
                    let _ = stream.write_all(goodbye).await;
                }
                false
            }
        };
        if !ok {
            return;
        }
    }
}

/// A port on loopback that refuses connections (bound, then released).
pub fn refused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The binary under test: cargo's build of this test's profile, or the one
/// `$BACKSTOP_TEST_BIN` names (scripts/test runs the war room's
/// reproductions again against the release binary, the one people run:
/// its timings are theirs).
pub fn bin() -> PathBuf {
    std::env::var_os("BACKSTOP_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_backstop")))
}

/// Private XDG directories for one test.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Self {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_dir(&self) -> PathBuf {
        self.path().join("config/backstop")
    }

    /// A command for the binary with HOME and XDG dirs pointing here.
    pub fn command(&self) -> Command {
        let mut c = Command::new(bin());
        self.isolate(&mut c);
        c
    }

    pub fn isolate(&self, c: &mut Command) {
        let p = self.path();
        c.env("HOME", p)
            .env("XDG_CONFIG_HOME", p.join("config"))
            .env("XDG_STATE_HOME", p.join("state"))
            .env("XDG_DATA_HOME", p.join("data"))
            .env_remove("BACKSTOP_CONFIG")
            .env("NO_COLOR", "1");
    }

    /// Environment pairs for spawners that are not `std::process::Command`.
    pub fn env_pairs(&self) -> Vec<(String, String)> {
        let p = self.path();
        vec![
            ("HOME".into(), p.display().to_string()),
            (
                "XDG_CONFIG_HOME".into(),
                p.join("config").display().to_string(),
            ),
            (
                "XDG_STATE_HOME".into(),
                p.join("state").display().to_string(),
            ),
            ("XDG_DATA_HOME".into(), p.join("data").display().to_string()),
        ]
    }
}

pub fn run(mut c: Command) -> Output {
    c.output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Resident memory of this process, in bytes (Linux).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

pub mod moto;
pub mod platform;
pub mod postgres;
pub mod proxy;
pub mod pty;

/// A loopback endpoint that records what is POSTed to it (a stand-in for a
/// Slack or webhook receiver) and answers with `status`.
pub struct Receiver {
    pub addr: SocketAddr,
    /// (path, body) of every request, in order.
    pub got: Arc<std::sync::Mutex<Vec<(String, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let g = got.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let g = g.clone();
                tokio::spawn(async move {
                    while let Some((path, body)) = read_request(&mut stream).await {
                        g.lock().unwrap().push((path, body));
                        let head = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
                        );
                        if stream.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Receiver { addr, got, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The JSON bodies POSTed to `path`.
    pub fn json(&self, path: &str) -> Vec<serde_json::Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request's path and body (by Content-Length).
async fn read_request(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((
        path,
        String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned(),
    ))
}

/// A runbook short enough for a test (`runbook = "quick"`): confirm,
/// switch, wait, check, smoke, and a note left for a person.
pub const QUICK_RUNBOOK: &str = r#"
name = "quick"
description = "confirm, switch, verify"

[[before]]
id = "confirm"
title = "Re-probe {suspect} twice"
kind = "check"
check = "reprobe"
count = 2

[[during]]
id = "switch"
title = "Switch traffic from {suspect} to {target}"
kind = "action"
action = "switch-traffic"

[[during]]
id = "wait"
title = "{target} healthy for 2 probes"
kind = "action"
action = "wait-healthy"
probes = 2
timeout = "20s"

[[during]]
id = "on-target"
title = "Traffic routes to {target}"
kind = "check"
check = "traffic-on-target"

[[during]]
id = "smoke"
title = "Smoke tests against {target}"
kind = "action"
action = "smoke"

[[after]]
id = "cause"
title = "Record the cause"
kind = "action"
action = "note"
"#;
