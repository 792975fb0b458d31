//! The prober against real HTTP servers on loopback: every dialect, and every
//! way an endpoint misbehaves in an incident. Plain HTTP goes through the
//! probes' own client (`http1`); reqwest (`Prober::general`) is the reference
//! it is held to, answer for answer.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use backstop::core::health::HealthStatus;
use backstop::sources::probe::{BODY_CAP, ProbeSpec, Probed, Prober};
use common::{Reply, TestServer};
use url::Url;

const TIMEOUT: Duration = Duration::from_millis(800);

async fn probe_url(url: &str) -> Probed {
    Prober::new()
        .unwrap()
        .probe(&ProbeSpec::new(Url::parse(url).unwrap(), TIMEOUT))
        .await
}

async fn probe(reply: Reply) -> Probed {
    let server = TestServer::start(reply).await;
    probe_url(&server.url("/health")).await
}

#[tokio::test]
async fn every_dialect_over_real_http() {
    let cases: Vec<(Reply, HealthStatus, Option<&str>)> = vec![
        // runbook 000
        (
            Reply::json(
                200,
                r#"{"status":"ok","version":"1.0.0","checks":{"database":{"status":"ok","responseTime":15}}}"#,
            ),
            HealthStatus::Ok,
            Some("1.0.0"),
        ),
        (
            Reply::json(
                200,
                r#"{"status":"degraded","checks":{"redis":{"status":"degraded"}}}"#,
            ),
            HealthStatus::Degraded,
            None,
        ),
        (
            Reply::json(
                503,
                r#"{"status":"critical","checks":{"database":{"status":"critical"}}}"#,
            ),
            HealthStatus::Critical,
            None,
        ),
        // runbook 003
        (
            Reply::json(
                200,
                r#"{"status":"healthy","version":"1.2.3","checks":{"database":"ok"}}"#,
            ),
            HealthStatus::Ok,
            Some("1.2.3"),
        ),
        (
            Reply::json(
                503,
                r#"{"status":"unhealthy","checks":{"database":"error: refused"}}"#,
            ),
            HealthStatus::Critical,
            None,
        ),
        // runbook 004
        (
            Reply::json(200, r#"{"ready":true,"checks":[{"healthy":true}]}"#),
            HealthStatus::Ok,
            None,
        ),
        (
            Reply::json(200, r#"{"alive":true}"#),
            HealthStatus::Ok,
            None,
        ),
        // Spring Boot Actuator: a 200 whose body says DOWN is not ok
        (
            Reply::json(
                200,
                r#"{"status":"DOWN","components":{"db":{"status":"DOWN"}}}"#,
            ),
            HealthStatus::Critical,
            None,
        ),
        (
            Reply::json(
                200,
                r#"{"status":"UP","components":{"db":{"status":"UP"}}}"#,
            ),
            HealthStatus::Ok,
            None,
        ),
        // IETF health+json
        (
            Reply::text(
                200,
                "application/health+json",
                r#"{"status":"warn","releaseId":"2.0.1","checks":{"db:x":[{"status":"warn"}]}}"#,
            ),
            HealthStatus::Degraded,
            Some("2.0.1"),
        ),
        // ASP.NET Core
        (
            Reply::text(200, "text/plain", "Healthy"),
            HealthStatus::Ok,
            None,
        ),
        (
            Reply::text(503, "text/plain", "Unhealthy"),
            HealthStatus::Critical,
            None,
        ),
        (
            Reply::json(
                200,
                r#"{"status":"Degraded","entries":{"sql":{"status":"Degraded","description":"slow"}}}"#,
            ),
            HealthStatus::Degraded,
            None,
        ),
        // Kubernetes
        (Reply::text(200, "text/plain", "ok"), HealthStatus::Ok, None),
        (
            Reply::text(
                500,
                "text/plain",
                "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed",
            ),
            HealthStatus::Critical,
            None,
        ),
    ];
    for (reply, want, version) in cases {
        let label = format!("{reply:?}");
        let server = TestServer::start(reply).await;
        let p = probe_url(&server.url("/health")).await;
        assert_eq!(p.report.status, want, "{label}: {:?}", p.report);
        assert_eq!(p.report.version.as_deref(), version, "{label}");
        let reference = general(&server.url("/health")).await;
        assert_eq!(p.report, reference.report, "{label}");
    }
}

/// The same probe through reqwest alone.
async fn general(url: &str) -> Probed {
    Prober::general()
        .unwrap()
        .probe(&ProbeSpec::new(Url::parse(url).unwrap(), TIMEOUT))
        .await
}

/// A raw reply's bytes, as text.
fn said(reply: &Reply) -> String {
    match reply {
        Reply::Raw { bytes, .. } => String::from_utf8_lossy(bytes).into_owned(),
        other => format!("{other:?}"),
    }
}

fn raw(bytes: &str, close: bool) -> Reply {
    Reply::Raw {
        bytes: bytes.as_bytes().to_vec(),
        close,
    }
}

/// Every way HTTP/1 frames an answer, read as reqwest reads it.
#[tokio::test]
async fn every_framing_of_an_answer_reads_as_reqwest_reads_it() {
    let cases = [
        // Chunked, with an extension and a trailer.
        (
            raw(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n\
                 a;name=x\r\n{\"status\":\r\n15\r\n\"UP\",\"version\":\"4.2\"}\r\n0\r\nx-trailer: y\r\n\r\n",
                false,
            ),
            HealthStatus::Ok,
        ),
        // HTTP/1.0, no length: the body is what comes until the close.
        (
            raw(
                "HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nHealthy",
                true,
            ),
            HealthStatus::Ok,
        ),
        // An interim 100 Continue, then the answer.
        (
            raw(
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nUnhealthy",
                false,
            ),
            HealthStatus::Critical,
        ),
        // No content at all.
        (
            raw("HTTP/1.1 204 No Content\r\n\r\n", false),
            HealthStatus::Ok,
        ),
        // The same length twice.
        (
            raw(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 7, 7\r\ncontent-length: 7\r\n\r\nHealthy",
                false,
            ),
            HealthStatus::Ok,
        ),
        // Connection: close, said and done.
        (
            raw(
                "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{\"status\":\"UP\"}",
                true,
            ),
            HealthStatus::Ok,
        ),
    ];
    for (reply, want) in cases {
        let label = said(&reply);
        let server = TestServer::start(reply).await;
        let lean = probe_url(&server.url("/health")).await;
        let reference = general(&server.url("/health")).await;
        assert_eq!(lean.report.status, want, "{label}: {:?}", lean.report);
        assert_eq!(lean.report, reference.report, "{label}");
    }
}

/// What comes back is not HTTP, or stops short: said, not misread.
#[tokio::test]
async fn broken_answers_are_named() {
    let cases = [
        (
            raw("hello there\r\n\r\n", true),
            HealthStatus::Critical,
            "not an HTTP answer",
        ),
        (
            raw(
                "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"status\"",
                true,
            ),
            HealthStatus::Unreachable,
            "answer cut off: connection closed",
        ),
        (
            raw(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
                true,
            ),
            HealthStatus::Critical,
            "not an HTTP answer: a chunk size that is not one",
        ),
        (
            raw(
                "HTTP/1.1 200 OK\r\ncontent-length: 7\r\ncontent-length: 8\r\n\r\nHealthy!",
                true,
            ),
            HealthStatus::Critical,
            "not an HTTP answer: two different Content-Lengths",
        ),
        (
            raw("", true),
            HealthStatus::Unreachable,
            "no answer: connection closed before an answer",
        ),
    ];
    for (reply, want, words) in cases {
        let label = said(&reply);
        let p = probe(reply).await;
        assert_eq!(p.report.status, want, "{label}: {:?}", p.report);
        let error = p.report.error.unwrap_or_default();
        assert!(error.starts_with(words), "{label}: {error}");
    }
}

/// The request carries the endpoint's headers, and what every probe says of
/// itself; a header the endpoint sets is not sent twice.
#[tokio::test]
async fn the_request_says_what_reqwest_said() {
    let server = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let mut spec = ProbeSpec::new(
        Url::parse(&server.url("/health?deep=1#frag")).unwrap(),
        TIMEOUT,
    );
    spec.headers.insert(
        "authorization",
        reqwest::header::HeaderValue::from_static("Bearer t0ken"),
    );
    spec.headers.insert(
        "accept",
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    let p = Prober::new().unwrap().probe(&spec).await;
    assert_eq!(p.report.status, HealthStatus::Ok);
    let head = server.heads.lock().unwrap()[0].to_ascii_lowercase();
    assert!(
        head.starts_with("get /health?deep=1 http/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains(&format!("\r\nhost: {}\r\n", server.addr)),
        "{head}"
    );
    assert!(
        head.contains("\r\nauthorization: bearer t0ken\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nuser-agent: backstop/"), "{head}");
    assert_eq!(head.matches("\r\naccept:").count(), 1, "{head}");
    assert!(head.contains("\r\naccept: application/json\r\n"), "{head}");
    // The same lines reqwest sends, in whatever order.
    Prober::general().unwrap().probe(&spec).await;
    let lines = |head: &str| {
        let mut lines: Vec<String> = head.lines().map(str::to_ascii_lowercase).collect();
        lines.sort();
        lines
    };
    let heads = server.heads.lock().unwrap();
    assert_eq!(lines(&heads[0]), lines(&heads[1]));
}

/// Probe `server` `times` times with one prober, `pause` after each, every
/// answer OK; the prober, and the connections the server accepted.
async fn ok_times(server: &TestServer, times: usize, pause: Duration) -> (Prober, u64) {
    let prober = Prober::new().unwrap();
    let spec = ProbeSpec::new(Url::parse(&server.url("/health")).unwrap(), TIMEOUT);
    for _ in 0..times {
        let p = prober.probe(&spec).await;
        assert_eq!(p.report.status, HealthStatus::Ok, "{:?}", p.report);
        tokio::time::sleep(pause).await;
    }
    let accepted = server.accepted.load(std::sync::atomic::Ordering::Relaxed);
    (prober, accepted)
}

/// A server that closes a kept connection just as the next request comes,
/// unanswered: the request is sent once more, on a new connection.
#[tokio::test]
async fn a_kept_connection_closed_by_the_server_is_replaced() {
    let server = TestServer::start(Reply::FirstOnly(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok".to_vec(),
    ))
    .await;
    let (_, accepted) = ok_times(&server, 2, Duration::from_millis(50)).await;
    // The second probe asked twice: on the kept connection, then a new one.
    assert_eq!(accepted, 2);
    assert_eq!(server.heads.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn connection_refused_is_unreachable() {
    let port = common::refused_port();
    let p = probe_url(&format!("http://127.0.0.1:{port}/health")).await;
    assert_eq!(p.report.status, HealthStatus::Unreachable);
    assert_eq!(p.report.error.as_deref(), Some("connection refused"));
}

#[tokio::test]
async fn a_server_that_never_answers_finishes_within_the_timeout() {
    let started = Instant::now();
    let p = probe(Reply::Never).await;
    let took = started.elapsed();
    assert_eq!(p.report.status, HealthStatus::Unreachable);
    assert_eq!(p.report.error.as_deref(), Some("no answer within 800ms"));
    assert!(took >= TIMEOUT, "gave up early: {took:?}");
    assert!(took < TIMEOUT + Duration::from_millis(500), "took {took:?}");
}

#[tokio::test]
async fn a_trickling_body_is_cut_off_at_the_timeout() {
    let body =
        br#"{"status":"ok","padding":"................................................"}"#.to_vec();
    let started = Instant::now();
    let p = probe(Reply::Trickle {
        body,
        pause: Duration::from_millis(50),
    })
    .await;
    let took = started.elapsed();
    assert_eq!(p.report.status, HealthStatus::Unreachable);
    assert_eq!(
        p.report.error.as_deref(),
        Some("HTTP 200, but the body did not finish within 800ms")
    );
    assert!(took < TIMEOUT + Duration::from_millis(500), "took {took:?}");
}

#[tokio::test]
async fn a_64_mib_body_is_read_only_up_to_the_cap() {
    const SIZE: u64 = 64 * 1024 * 1024;
    let server = TestServer::start(Reply::Huge { size: SIZE }).await;
    let before = common::rss_bytes();
    let p = Prober::new()
        .unwrap()
        .probe(&ProbeSpec::new(
            Url::parse(&server.url("/health")).unwrap(),
            Duration::from_secs(5),
        ))
        .await;
    let grew = common::rss_bytes().saturating_sub(before);
    assert_eq!(p.report.status, HealthStatus::Degraded, "{:?}", p.report);
    assert!(
        p.report.summary.contains("body too large, truncated"),
        "{}",
        p.report.summary
    );
    // The probe stopped reading: the server could not push the whole body.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = server.written.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        sent < SIZE / 2,
        "server wrote {sent} bytes: the prober kept reading"
    );
    assert!(
        grew < 16 * 1024 * 1024,
        "memory grew by {grew} bytes for a {BODY_CAP}-byte cap"
    );
}

#[tokio::test]
async fn invalid_json_on_a_200_is_degraded_with_the_reason() {
    let p = probe(Reply::json(200, r#"{"status": "ok", "checks": "#)).await;
    assert_eq!(p.report.status, HealthStatus::Degraded);
    assert!(
        p.report.summary.contains("invalid JSON"),
        "{}",
        p.report.summary
    );
}

#[tokio::test]
async fn an_html_502_page_is_critical_and_named() {
    let html = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>";
    let p = probe(Reply::text(502, "text/html", html)).await;
    assert_eq!(p.report.status, HealthStatus::Critical);
    assert_eq!(p.report.http_status, Some(502));
    assert!(
        p.report.summary.contains("HTML page \"502 Bad Gateway\""),
        "{}",
        p.report.summary
    );
}

#[tokio::test]
async fn a_redirect_loop_is_critical() {
    let started = Instant::now();
    let p = probe(Reply::RedirectLoop).await;
    assert_eq!(p.report.status, HealthStatus::Critical);
    assert_eq!(
        p.report.error.as_deref(),
        Some("redirect loop: more than 5 redirects")
    );
    assert!(started.elapsed() < TIMEOUT);
}

#[tokio::test]
async fn errors_never_echo_the_url() {
    // A token in the query string must not reach the report (which reaches
    // the screen and the journal).
    let port = common::refused_port();
    let p = probe_url(&format!(
        "http://127.0.0.1:{port}/health?access_token=SECRET123"
    ))
    .await;
    let text = format!("{:?}", p.report);
    assert!(!text.contains("SECRET123"), "{text}");
}

#[tokio::test]
async fn connections_are_reused() {
    let server = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let (prober, accepted) = ok_times(&server, 5, Duration::ZERO).await;
    assert_eq!(accepted, 1, "five probes, one connection");
    assert_eq!(prober.kept(), 1);
}

/// A server that says 408 to an idle connection before it closes it: that
/// is not the next probe's answer.
#[tokio::test]
async fn a_goodbye_on_an_idle_connection_is_not_an_answer() {
    let server = TestServer::start(Reply::Goodbye {
        answer: b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 7\r\n\r\nHealthy"
            .to_vec(),
        after: Duration::from_millis(50),
        goodbye: b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            .to_vec(),
    })
    .await;
    let (_, accepted) = ok_times(&server, 2, Duration::from_millis(200)).await;
    assert_eq!(accepted, 2);
}

/// A proxy set in the environment is honoured, as reqwest honours it: the
/// probe goes to the proxy, naming the whole URL.
#[tokio::test]
async fn a_proxy_in_the_environment_is_honoured() {
    let proxy = TestServer::start(Reply::json(200, r#"{"status":"ok"}"#)).await;
    let home = common::Home::new();
    let mut c = home.command();
    c.args(["probe", "http://health.invalid:9/health"])
        .env("HTTP_PROXY", proxy.url(""));
    let out = tokio::process::Command::from(c).output().await.unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let head = proxy.heads.lock().unwrap()[0].clone();
    assert!(
        head.starts_with("GET http://health.invalid:9/health HTTP/1.1\r\n"),
        "{head}"
    );
}
