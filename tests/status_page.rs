//! The status page against servers on loopback that follow each API's
//! reference: Atlassian Statuspage's REST API (create, then update, with the
//! components' status; `Authorization: OAuth KEY`; 401 on a wrong key; 429
//! with Retry-After), a generic webhook, and a command. The key never shows
//! in what a publication answers, and a refusing or absent service is a
//! clear error, never a silent success.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use backstop::config::Secret;
use backstop::config::status_page::{StatusPageConfig, StatusPageKind};
use backstop::core::status_page::PublicStatus;
use backstop::providers::status_page::{Publish, build};
use serde_json::{Value, json};
use url::Url;

const KEY: &str = "sp-secret-key-0123456789";

/// What the fake Statuspage saw, and how it is told to answer.
#[derive(Default)]
struct Page {
    got: Vec<(String, String, Value)>,
    /// Answer the next requests 429 with this Retry-After.
    limit: Vec<u64>,
}

type Shared = Arc<Mutex<Page>>;

fn answer(
    page: &Shared,
    headers: &HeaderMap,
    method: &str,
    path: String,
    body: Value,
    id: &str,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("OAuth {KEY}")) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "Could not authenticate"})),
        )
            .into_response();
    }
    let mut p = page.lock().unwrap();
    if !p.limit.is_empty() {
        let wait = p.limit.remove(0);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", wait.to_string())],
            Json(json!({"error": "Rate limit exceeded"})),
        )
            .into_response();
    }
    if body.pointer("/incident/status").is_none() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": ["status is missing"]})),
        )
            .into_response();
    }
    p.got.push((method.into(), path, body.clone()));
    let code = if method == "POST" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (
        code,
        Json(json!({"id": id, "status": body["incident"]["status"]})),
    )
        .into_response()
}

async fn statuspage() -> (String, Shared) {
    let page: Shared = Arc::default();
    let app = Router::new()
        .route(
            "/v1/pages/{page}/incidents",
            post(
                |State(p): State<Shared>,
                 Path(page): Path<String>,
                 h: HeaderMap,
                 Json(b): Json<Value>| async move {
                    answer(
                        &p,
                        &h,
                        "POST",
                        format!("/v1/pages/{page}/incidents"),
                        b,
                        "p1nc1d3nt",
                    )
                },
            ),
        )
        .route(
            "/v1/pages/{page}/incidents/{id}",
            patch(
                |State(p): State<Shared>,
                 Path((page, id)): Path<(String, String)>,
                 h: HeaderMap,
                 Json(b): Json<Value>| async move {
                    answer(
                        &p,
                        &h,
                        "PATCH",
                        format!("/v1/pages/{page}/incidents/{id}"),
                        b,
                        &id,
                    )
                },
            ),
        )
        .with_state(page.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The sandbox's own server (axum over hyper); kept open while the test runs.
    let (open, closed) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _open = open;
        backstop::sandbox::server::serve(listener, app, closed).await;
    });
    (format!("http://{addr}"), page)
}

fn config(api_url: &str, key: Option<&str>) -> StatusPageConfig {
    StatusPageConfig {
        kind: StatusPageKind::Statuspage {
            api_url: Url::parse(api_url).unwrap(),
            page_id: "kctbh9vrtdwd".into(),
            key_env: "STATUSPAGE_API_KEY".into(),
            key: key.map(Secret::new),
            components: vec![("web".into(), "8kbf7d35c070".into())],
        },
        names: vec![("web".into(), "Checkout".into())],
    }
}

fn publish(status: PublicStatus) -> Publish {
    Publish {
        incident: "web#7".into(),
        service: "web".into(),
        status,
        text: status.text("Checkout"),
        known: None,
    }
}

#[tokio::test]
async fn an_incident_is_created_then_updated_through_to_resolved() {
    let (url, page) = statuspage().await;
    let sp = build(&config(&url, Some(KEY)));
    let mut said = Vec::new();
    for s in [
        PublicStatus::Investigating,
        PublicStatus::Monitoring,
        PublicStatus::Resolved,
    ] {
        said.extend(sp.publish(publish(s)).await.unwrap());
    }
    let got = page.lock().unwrap().got.clone();
    let calls: Vec<(&str, &str, &str)> = got
        .iter()
        .map(|(m, p, b)| {
            (
                m.as_str(),
                p.as_str(),
                b["incident"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("POST", "/v1/pages/kctbh9vrtdwd/incidents", "investigating"),
            (
                "PATCH",
                "/v1/pages/kctbh9vrtdwd/incidents/p1nc1d3nt",
                "monitoring"
            ),
            (
                "PATCH",
                "/v1/pages/kctbh9vrtdwd/incidents/p1nc1d3nt",
                "resolved"
            ),
        ]
    );
    // Created with its public name and the component, down then back.
    assert_eq!(got[0].2["incident"]["name"], "Checkout: errors");
    assert_eq!(
        got[0].2["incident"]["components"]["8kbf7d35c070"],
        "major_outage"
    );
    assert_eq!(
        got[2].2["incident"]["components"]["8kbf7d35c070"],
        "operational"
    );
    assert_eq!(
        got[0].2["incident"]["body"],
        "We are investigating errors affecting Checkout. We will post an update as soon as we know more."
    );
    assert!(
        said[0].starts_with("Statuspage incident p1nc1d3nt created: investigating (HTTP 201)"),
        "{said:?}"
    );
    assert!(said.iter().all(|l| !l.contains(KEY)), "{said:?}");
    // A console restarted mid-incident updates the page's incident its
    // journal names, rather than opening a second one.
    assert_eq!(
        backstop::providers::status_page::page_incident_of(&said),
        Some("p1nc1d3nt".into())
    );
    let restarted = build(&config(&url, Some(KEY)));
    restarted
        .publish(Publish {
            known: Some("p1nc1d3nt".into()),
            ..publish(PublicStatus::Resolved)
        })
        .await
        .unwrap();
    let last = page.lock().unwrap().got.last().cloned().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1.as_str()),
        ("PATCH", "/v1/pages/kctbh9vrtdwd/incidents/p1nc1d3nt")
    );
}

#[tokio::test]
async fn a_refused_key_a_rate_limit_and_no_server_are_clear_failures() {
    let (url, page) = statuspage().await;
    let wrong = build(&config(&url, Some("not-the-key")));
    let e = wrong
        .publish(publish(PublicStatus::Investigating))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "Statuspage refused the API key (HTTP 401): check $STATUSPAGE_API_KEY"
    );
    assert!(!e.contains("not-the-key"));

    let unset = build(&config(&url, None));
    let e = unset
        .publish(publish(PublicStatus::Investigating))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e, "$STATUSPAGE_API_KEY is not set: nothing was published");

    // A short Retry-After is honoured once; a long one fails at once.
    page.lock().unwrap().limit = vec![1];
    let sp = build(&config(&url, Some(KEY)));
    let started = std::time::Instant::now();
    sp.publish(publish(PublicStatus::Investigating))
        .await
        .unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    page.lock().unwrap().limit = vec![60];
    let e = sp
        .publish(publish(PublicStatus::Monitoring))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("Statuspage is rate limiting (HTTP 429, Retry-After 60s)"),
        "{e}"
    );
    assert_eq!(
        page.lock().unwrap().got.len(),
        1,
        "only the first went through"
    );

    let gone = build(&config(
        &format!("http://127.0.0.1:{}", common::refused_port()),
        Some(KEY),
    ));
    let e = gone
        .publish(publish(PublicStatus::Investigating))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e, "Statuspage: cannot connect");
}

#[tokio::test]
async fn a_webhook_and_a_command_receive_the_status_and_the_text() {
    let r = common::Receiver::start(200).await;
    let hook = build(&StatusPageConfig {
        kind: StatusPageKind::Webhook {
            url_env: "STATUS_WEBHOOK_URL".into(),
            url: Some(Secret::new(r.url("/status?token=abc123"))),
        },
        names: vec![],
    });
    let said = hook
        .publish(publish(PublicStatus::Monitoring))
        .await
        .unwrap();
    assert_eq!(
        said,
        ["status-page webhook ($STATUS_WEBHOOK_URL): monitoring (HTTP 200)"]
    );
    let body = &r.json("/status?token=abc123")[0];
    assert_eq!(body["event"], "status-page");
    assert_eq!(body["status"], "monitoring");
    assert_eq!(body["incident"], "web#7");

    let failing = common::Receiver::start(500).await;
    let hook = build(&StatusPageConfig {
        kind: StatusPageKind::Webhook {
            url_env: "STATUS_WEBHOOK_URL".into(),
            url: Some(Secret::new(failing.url("/s?token=abc123"))),
        },
        names: vec![],
    });
    let e = hook
        .publish(publish(PublicStatus::Monitoring))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e, "status-page webhook answered HTTP 500");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("published");
    let cmd = build(&StatusPageConfig {
        kind: StatusPageKind::Command {
            argv: vec![
                "sh".into(),
                "-c".into(),
                format!(
                    "printf '%s|%s' \"$BACKSTOP_STATUS\" \"$BACKSTOP_STATUS_TEXT\" > {}",
                    out.display()
                ),
            ],
        },
        names: vec![],
    });
    cmd.publish(publish(PublicStatus::Resolved)).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "resolved|This incident has been resolved: Checkout is operating normally."
    );
}
