//! The prober against real HTTP servers on loopback: every dialect, and every
//! way an endpoint misbehaves in an incident.
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
        let p = probe(reply).await;
        assert_eq!(p.report.status, want, "{label}: {:?}", p.report);
        assert_eq!(p.report.version.as_deref(), version, "{label}");
    }
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
    let prober = Prober::new().unwrap();
    let spec = ProbeSpec::new(Url::parse(&server.url("/health")).unwrap(), TIMEOUT);
    for _ in 0..5 {
        assert_eq!(prober.probe(&spec).await.report.status, HealthStatus::Ok);
    }
    assert_eq!(
        server.accepted.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "five probes, one connection"
    );
}
