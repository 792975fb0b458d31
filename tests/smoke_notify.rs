//! Smoke checks and notifications against real servers on loopback: what
//! passes, each way of failing (status, body, time, no answer, a command),
//! and notification payloads whose URL never shows in an error.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use backstop::config::{
    BodyCondition, BodyTest, NotifierConfig, NotifierKind, Secret, SmokeCheck, SmokeKind,
};
use backstop::core::runbook::Template;
use backstop::core::time::Ts;
use backstop::providers::{notify, smoke};
use common::{Receiver, Reply, TestServer, refused_port};
use serde_json::json;
use url::Url;

fn http(name: &str, path: &str, status: u16, max_ms: u64, body: Vec<BodyCondition>) -> SmokeCheck {
    SmokeCheck {
        name: name.into(),
        kind: SmokeKind::Http {
            method: "GET".into(),
            path: path.into(),
            status,
            max_time: Duration::from_millis(max_ms),
            body,
        },
    }
}

fn cond(pointer: &str, test: BodyTest) -> BodyCondition {
    BodyCondition {
        pointer: pointer.into(),
        test,
    }
}

fn base(s: &TestServer) -> Url {
    Url::parse(&s.url("/")).unwrap()
}

#[tokio::test]
async fn http_checks_pass_on_status_time_and_body() {
    let s = TestServer::start(Reply::json(
        200,
        r#"{"status":"ok","build":{"version":"1.0.0"},"items":[1]}"#,
    ))
    .await;
    let checks = [
        http("status", "/api/health", 200, 2000, vec![]),
        http(
            "body",
            "/api/health",
            200,
            2000,
            vec![
                cond("/status", BodyTest::Equals(json!("ok"))),
                cond("/build/version", BodyTest::Contains("1.0".into())),
                cond("/items/0", BodyTest::Exists),
            ],
        ),
    ];
    let r = smoke::run(&checks, &base(&s)).await;
    assert!(r.iter().all(|c| c.ok), "{r:?}");
    assert!(r[0].detail.starts_with("HTTP 200 in "), "{}", r[0].detail);
    assert!(r[1].line().starts_with("✓ body: HTTP 200"));
}

#[tokio::test]
async fn http_checks_fail_with_the_reason() {
    let s = TestServer::start(Reply::json(503, r#"{"status":"critical"}"#)).await;
    let ok = TestServer::start(Reply::json(200, r#"{"status":"degraded"}"#)).await;
    let text = TestServer::start(Reply::text(200, "text/plain", "fine")).await;
    let r = smoke::run(&[http("s", "/", 200, 2000, vec![])], &base(&s)).await;
    assert!(!r[0].ok);
    assert!(
        r[0].detail.starts_with("expected HTTP 200, got 503 in "),
        "{}",
        r[0].detail
    );

    let body = |t| vec![cond("/status", t)];
    let r = smoke::run(
        &[
            http("eq", "/", 200, 2000, body(BodyTest::Equals(json!("ok")))),
            http("has", "/", 200, 2000, body(BodyTest::Contains("ok".into()))),
            http(
                "missing",
                "/",
                200,
                2000,
                vec![cond("/db", BodyTest::Exists)],
            ),
        ],
        &base(&ok),
    )
    .await;
    assert_eq!(r[0].detail, "/status is \"degraded\", expected \"ok\"");
    assert_eq!(r[1].detail, "/status does not contain \"ok\"");
    assert_eq!(r[2].detail, "/db is missing");
    assert!(r.iter().all(|c| !c.ok));
    assert!(r[0].line().starts_with("✗ eq:"));

    let r = smoke::run(
        &[http("json", "/", 200, 2000, body(BodyTest::Exists))],
        &base(&text),
    )
    .await;
    assert_eq!(r[0].detail, "HTTP 200, but the body is not JSON");
}

#[tokio::test]
async fn http_checks_time_out() {
    let never = TestServer::start(Reply::Never).await;
    let started = std::time::Instant::now();
    let r = smoke::run(&[http("hangs", "/", 200, 300, vec![])], &base(&never)).await;
    assert!(!r[0].ok);
    assert_eq!(r[0].detail, "no answer within 300ms");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded by max_time"
    );

    // Headers at once, the body slowly: over max_time is a failure too.
    let slow = TestServer::start(Reply::Trickle {
        body: br#"{"status":"ok"}"#.to_vec(),
        pause: Duration::from_millis(40),
    })
    .await;
    let r = smoke::run(&[http("slow", "/", 200, 200, vec![])], &base(&slow)).await;
    assert!(!r[0].ok, "{r:?}");
    assert_eq!(
        r[0].detail,
        "HTTP 200, but the body did not finish within 200ms"
    );

    let refused = Url::parse(&format!("http://127.0.0.1:{}/", refused_port())).unwrap();
    let r = smoke::run(&[http("down", "/", 200, 1000, vec![])], &refused).await;
    assert_eq!(r[0].detail, "cannot connect");
}

#[tokio::test]
async fn command_checks_see_target_url_and_fail_or_time_out() {
    let s = TestServer::start(Reply::json(200, "{}")).await;
    let url = base(&s);
    let cmd = |name: &str, argv: &[&str], ms: u64| SmokeCheck {
        name: name.into(),
        kind: SmokeKind::Command {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            timeout: Duration::from_millis(ms),
        },
    };
    let script = format!("test \"$TARGET_URL\" = \"{url}\"");
    let r = smoke::run(
        &[
            cmd("sees the target", &["sh", "-c", &script], 5000),
            cmd(
                "fails",
                &["sh", "-c", "echo 'checkout: 500' >&2; exit 3"],
                5000,
            ),
            cmd("hangs", &["sleep", "10"], 300),
            cmd("missing", &["/nonexistent/smoke-tests"], 1000),
        ],
        &url,
    )
    .await;
    assert!(r[0].ok, "{r:?}");
    assert!(!r[1].ok);
    assert_eq!(
        r[1].detail,
        "`sh -c 'echo '\\''checkout: 500'\\'' >&2; exit 3'` exited with 3: checkout: 500"
    );
    assert!(!r[2].ok && r[2].detail.contains("300ms"), "{}", r[2].detail);
    assert!(
        !r[3].ok && r[3].detail.contains("/nonexistent/smoke-tests"),
        "{}",
        r[3].detail
    );
}

#[tokio::test]
async fn notifications_post_their_payload_and_errors_never_name_the_url() {
    let good = Receiver::start(200).await;
    let bad = Receiver::start(500).await;
    let at = Ts(1_795_269_600_000);
    let n = |kind, var: &str, url: Option<String>| NotifierConfig {
        kind,
        url_env: var.into(),
        url: url.map(Secret::new),
    };
    let refused = format!("http://127.0.0.1:{}/hooks/s3cr3t", refused_port());
    let notifiers = [
        n(
            NotifierKind::Slack,
            "SLACK_URL",
            Some(good.url("/slack/s3cr3t")),
        ),
        n(
            NotifierKind::Webhook,
            "HOOK_URL",
            Some(good.url("/hook/s3cr3t")),
        ),
        n(
            NotifierKind::Webhook,
            "FAILING_URL",
            Some(bad.url("/s3cr3t")),
        ),
        n(NotifierKind::Webhook, "DOWN_URL", Some(refused)),
        n(NotifierKind::Slack, "UNSET_URL", None),
    ];
    let text = "ROLLBACK IN PROGRESS: web\nVersion: v1.0.1 → v1.0.0";
    let sent = notify::send_all(
        &notifiers,
        Template::RollbackStarted,
        "web",
        text,
        "ops@bastion",
        at,
    )
    .await;
    let results: Vec<(&str, Result<u16, String>)> = sent
        .iter()
        .map(|s| (s.via.as_str(), s.result.clone()))
        .collect();
    assert_eq!(
        results,
        [
            ("slack ($SLACK_URL)", Ok(200)),
            ("webhook ($HOOK_URL)", Ok(200)),
            ("webhook ($FAILING_URL)", Err("HTTP 500".into())),
            ("webhook ($DOWN_URL)", Err("cannot connect".into())),
            ("slack ($UNSET_URL)", Err("$UNSET_URL is not set".into())),
        ]
    );
    assert_eq!(good.json("/slack/s3cr3t"), [json!({ "text": text })]);
    assert_eq!(
        good.json("/hook/s3cr3t"),
        [json!({
            "event": "rollback-started",
            "service": "web",
            "text": text,
            "by": "ops@bastion",
            "at": "2026-11-21T14:00:00Z",
            "source": "backstop",
        })]
    );
    assert!(sent.iter().all(|s| !format!("{s:?}").contains("s3cr3t")));
}
