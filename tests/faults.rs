//! Faults the other suites did not cover yet (issue 12's matrix, in
//! docs/BENCHMARKS.md): a gzip bomb answered to the real prober, and an
//! endpoint that echoes the configured secret back, through the real binary
//! (headless and on a terminal).
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use backstop::core::health::HealthStatus;
use backstop::sources::probe::{BODY_CAP, ProbeSpec, Prober};
use common::Home;
use common::pty::Pty;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

/// What the raw server answers: status line and headers (without the final
/// blank line), and the body, from the request's head.
type Answer = Arc<dyn Fn(&str) -> (String, Vec<u8>) + Send + Sync>;

/// A loopback server that answers every request with `answer(head)`, and
/// remembers the request heads.
struct RawServer {
    addr: SocketAddr,
    heads: Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RawServer {
    async fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let h = heads.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (answer, h) = (answer.clone(), h.clone());
                tokio::spawn(async move {
                    loop {
                        let mut buf = Vec::new();
                        let mut byte = [0u8; 1024];
                        while !buf.windows(4).any(|x| x == b"\r\n\r\n") {
                            match stream.read(&mut byte).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&byte[..n]),
                            }
                        }
                        let head = String::from_utf8_lossy(&buf).into_owned();
                        h.lock().unwrap().push(head.clone());
                        let (lines, body) = answer(&head);
                        let lines = format!("{lines}\r\ncontent-length: {}\r\n\r\n", body.len());
                        if stream.write_all(lines.as_bytes()).await.is_err() {
                            return;
                        }
                        if stream.write_all(&body).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        RawServer { addr, heads, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Bits into bytes, least significant first (as DEFLATE packs them).
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    /// `count` bits of `value`, low bit first.
    fn put(&mut self, value: u64, count: u32) {
        self.acc |= value << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code: its bits go most significant first.
    fn code(&mut self, code: u64, len: u32) {
        let reversed = (0..len).fold(0, |r, i| r | (((code >> i) & 1) << (len - 1 - i)));
        self.put(reversed, len);
    }
}

fn crc32_of_zeros(len: u64) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|i| {
            (0..8).fold(i, |c, _| {
                if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    let mut crc = !0u32;
    for _ in 0..len {
        crc = table[(crc & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// A valid gzip member that inflates to `1 + 258 * matches` zero bytes:
/// one fixed-Huffman block, a literal 0, then `matches` copies of
/// (length 258, distance 1), 13 bits each — about 1:160.
fn gzip_bomb(matches: u64) -> (Vec<u8>, u64) {
    let size = 1 + 258 * matches;
    let mut bits = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff],
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // BTYPE 01: fixed Huffman codes
    bits.code(0x30, 8); // literal 0
    for _ in 0..matches {
        bits.code(0b1100_0101, 8); // length code 285: 258, no extra bits
        bits.code(0, 5); // distance code 0: 1
    }
    bits.code(0, 7); // end of block
    if bits.n > 0 {
        bits.out.push(bits.acc as u8);
    }
    let mut out = bits.out;
    out.extend(crc32_of_zeros(size).to_le_bytes());
    out.extend((size as u32).to_le_bytes());
    (out, size)
}

/// A gzip bomb (a 2 MiB body that inflates to 512 MiB of zeros), sent with
/// `Content-Encoding: gzip` whether asked for or not: the prober does not ask
/// for compression, never inflates, reads no more than its cap, and gives a
/// verdict within the timeout with memory flat.
#[tokio::test]
async fn a_gzip_bomb_is_never_inflated() {
    const INFLATED: u64 = 512 * 1024 * 1024;
    let (bomb, size) = gzip_bomb((INFLATED - 1) / 258);
    assert!(size > INFLATED - 258 && bomb.len() < 4 * 1024 * 1024);
    let total = bomb.len() as u64;
    let bomb = Arc::new(bomb);
    let answer: Answer = Arc::new(move |_| {
        (
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip".into(),
            bomb.to_vec(),
        )
    });
    let server = RawServer::start(answer).await;
    let before = common::rss_bytes();
    let started = Instant::now();
    let p = Prober::new()
        .unwrap()
        .probe(&ProbeSpec::new(
            Url::parse(&server.url("/health")).unwrap(),
            Duration::from_secs(5),
        ))
        .await;
    let took = started.elapsed();
    let grew = common::rss_bytes().saturating_sub(before);

    let head = server.heads.lock().unwrap()[0].to_ascii_lowercase();
    assert!(
        !head.contains("accept-encoding") || !head.contains("gzip"),
        "the prober asked for gzip:\n{head}"
    );
    // The compressed bytes, capped: a health document too large to read,
    // not a clean bill of health and not a crash.
    assert_eq!(p.report.status, HealthStatus::Degraded, "{:?}", p.report);
    assert_eq!(p.report.http_status, Some(200));
    assert!(
        p.report.summary.contains("body too large, truncated"),
        "{}",
        p.report.summary
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // Loopback's socket buffers take the whole compressed body; whether the
    // server finished writing says nothing (the 64 MiB test in prober.rs
    // checks that reading stops). Inflating would take 512 MiB.
    assert!(
        grew < 32 * 1024 * 1024,
        "memory grew by {grew} bytes for a {total}-byte bomb of {size} bytes inflated (cap {BODY_CAP})"
    );
}

/// The token an endpoint gets in its Authorization header, and echoes back.
const TOKEN: &str = "echo-s3cr3t-7Qz9";
/// Any part of it on an output is a leak (a narrow column may cut it short).
const LEAK: &str = "s3cr3t";

/// A health endpoint that echoes the request's Authorization header into
/// every field backstop reads: status text, version, a check's name and
/// detail, and (for the second and later probes) a 503.
async fn echoing_server() -> RawServer {
    let probes = Arc::new(AtomicU64::new(0));
    let answer: Answer = Arc::new(move |head: &str| {
        let auth = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("authorization")
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        let n = probes.fetch_add(1, Ordering::Relaxed);
        let code = if n == 0 { 200 } else { 503 };
        let body = serde_json::json!({
            "status": format!("rejected {auth}"),
            "version": auth,
            "message": format!("you sent {auth}"),
            "checks": {
                format!("auth {auth}"): {
                    "status": "critical",
                    "detail": format!("token {auth} is not allowed"),
                },
            },
        })
        .to_string();
        (
            format!("HTTP/1.1 {code} X\r\ncontent-type: application/json"),
            body.into_bytes(),
        )
    });
    RawServer::start(answer).await
}

fn echo_config(home: &Home, url: &str) -> std::path::PathBuf {
    let path = home.path().join("backstop.toml");
    std::fs::write(
        &path,
        format!(
            "[services.web.environments.blue]\n\
             endpoints = [{{ url = \"{url}\", interval = \"200ms\", timeout = \"150ms\", \
             headers = {{ Authorization = \"Bearer ${{ECHO_TOKEN}}\" }} }}]\n"
        ),
    )
    .unwrap();
    path
}

/// Which of the journal (with its write-ahead log) and the log file hold
/// the token, byte for byte.
fn stored_leaks(home: &Home, journal: &str) -> Vec<String> {
    [
        format!("data/backstop/{journal}"),
        format!("data/backstop/{journal}-wal"),
        "state/backstop/backstop.log".to_string(),
    ]
    .into_iter()
    .filter(|p| {
        let bytes = std::fs::read(home.path().join(p)).unwrap_or_default();
        String::from_utf8_lossy(&bytes).contains(LEAK)
    })
    .map(|p| format!("{p} holds it"))
    .collect()
}

fn journal_has_rows(path: &Path) -> bool {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT count(*) FROM journal", [], |r| r.get::<_, i64>(0))
        .unwrap()
        > 0
}

/// Run the binary with the echoing endpoint's configuration; what it
/// printed (stdout and stderr), and whether it leaked the token.
async fn run_echo(home: &Home, config: &Path, args: &[&str]) -> (String, Option<String>) {
    let mut c = home.command();
    c.env("ECHO_TOKEN", TOKEN)
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked"), "{args:?}: {text}");
    let leak = text
        .contains(LEAK)
        .then(|| format!("`backstop {}` printed it:\n{text}", args.join(" ")));
    (text, leak)
}

/// Headless watch: the endpoint's answers are printed with the echoed token
/// masked, and neither the journal nor the log keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_echoed_by_an_endpoint_stays_out_of_watch_the_journal_and_the_log() {
    let home = Home::new();
    let server = echoing_server().await;
    let config = echo_config(&home, &server.url("/health"));
    let mut outputs = String::new();
    let mut leaks = Vec::new();
    for args in [
        &["watch", "--for", "2s", "--json"][..],
        &["watch", "--for", "1s"],
    ] {
        let (text, leak) = run_echo(&home, &config, args).await;
        outputs.push_str(&text);
        leaks.extend(leak);
    }
    assert_token_sent(&server);
    assert!(
        outputs.contains("***"),
        "the echo did not reach the output at all (masked):\n{outputs}"
    );
    let journal = home.path().join("data/backstop/journal.sqlite");
    assert!(journal_has_rows(&journal), "the watch journaled nothing");
    leaks.extend(stored_leaks(&home, "journal.sqlite"));
    assert!(
        leaks.is_empty(),
        "the echoed token leaked:\n{}",
        leaks.join("\n")
    );
}

/// `status` prints the endpoint's answer, never the token it echoed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_echoed_by_an_endpoint_is_not_printed_by_status() {
    let home = Home::new();
    let server = echoing_server().await;
    let config = echo_config(&home, &server.url("/health"));
    let mut leaks = Vec::new();
    for args in [&["status", "--json"][..], &["status"]] {
        leaks.extend(run_echo(&home, &config, args).await.1);
    }
    assert_token_sent(&server);
    assert!(
        leaks.is_empty(),
        "the echoed token leaked:\n{}",
        leaks.join("\n")
    );
}

/// On a terminal: the console shows the endpoint's answer, never the token
/// it echoed, and its journal and log do not keep it either.
#[test]
fn a_secret_echoed_by_an_endpoint_never_reaches_the_screen() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(echoing_server());
    let home = Home::new();
    let config = echo_config(&home, &server.url("/health"));
    let config = config.to_str().unwrap().to_string();
    let mut pty = Pty::spawn(
        &home,
        &["--config", &config],
        120,
        40,
        &[("NO_COLOR", "1"), ("ECHO_TOKEN", TOKEN)],
    );
    let mut screens = Vec::new();
    let started = Instant::now();
    // Watch a few probes go by (200, then 503s), screen by screen.
    while started.elapsed() < Duration::from_secs(4) {
        screens.push(pty.screen());
        std::thread::sleep(Duration::from_millis(100));
    }
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 0);
    let last = screens.last().unwrap().clone();
    assert!(
        screens.iter().any(|s| s.contains("503")),
        "the probes never showed:\n{last}"
    );
    let mut leaks: Vec<String> = screens
        .iter()
        .find(|s| s.contains(LEAK))
        .map(|s| format!("on screen:\n{s}"))
        .into_iter()
        .collect();
    assert!(
        server
            .heads
            .lock()
            .unwrap()
            .iter()
            .any(|h| h.contains(TOKEN)),
        "the endpoint never got the token"
    );
    leaks.extend(stored_leaks(&home, "journal.sqlite"));
    assert!(
        leaks.is_empty(),
        "the echoed token leaked:\n{}",
        leaks.join("\n")
    );
}

/// Found by fuzzing (the keymap target, 2026-11-29, minimized to 127 bytes;
/// the drill target found it too):
/// a syntax error located past a long line's trailing carriage returns
/// (which the quoted line drops) panicked with a subtraction overflow while
/// cutting the snippet, in every parser's diagnostics. It is an error at its
/// place, quoted briefly, with the caret no further than the line's end.
#[test]
fn an_error_past_trailing_carriage_returns_is_a_diagnostic_not_a_panic() {
    let fuzzed = "\"\"\"\r\r\r\r\r\r\r\r\rs\0\0\0\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\
                  \r\r\rclear-faults\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\
                  \r\r\r\r\r\r\r\r\r\r\rs\0\0\0\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\
                  \r";
    assert_eq!(fuzzed.len(), 127);
    // The drill target found the same (153 bytes, not minimized).
    let fuzzed_drill = "name =['''falna\r=\r\r\r\r\r\r\r\r\r\r\r\r(\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\
                  \r\r\r\r\r\r\r\rtrue\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\
                  \r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\rN\r\r\r\r\r\r\r\r\
                  \r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r";
    assert_eq!(fuzzed_drill.len(), 153);
    let readable = format!("\"\"\"{}{}", "x".repeat(120), "\r".repeat(40));
    let many = format!("\"\"\"{}{}", "x".repeat(120), "\r".repeat(100_000));
    for text in [fuzzed, fuzzed_drill, &readable, &many] {
        let errors = [
            backstop::keymap::Keymap::defaults()
                .merge(text, "keymap.toml")
                .unwrap_err()
                .to_string(),
            backstop::config::parse(text, "keymap.toml", &|_| None)
                .unwrap_err()
                .to_string(),
            backstop::config::runbook::parse(text, "keymap.toml")
                .err()
                .unwrap()
                .to_string(),
            backstop::config::drill::parse(text, "keymap.toml")
                .err()
                .unwrap()
                .to_string(),
        ];
        for err in errors {
            assert!(err.starts_with("keymap.toml:1:"), "{err:?}");
            assert!(err.len() < 1000, "{} bytes of error: {err:?}", err.len());
        }
    }
}

/// The endpoint got the token: otherwise there was nothing to echo, and a
/// test of the echo would pass for nothing.
fn assert_token_sent(server: &RawServer) {
    assert!(
        server
            .heads
            .lock()
            .unwrap()
            .iter()
            .any(|h| h.contains(TOKEN)),
        "the endpoint never got the token, so nothing was echoed"
    );
}
