//! The escalation providers against servers on loopback that follow each
//! API's reference: PagerDuty's Events API v2 (`POST /v2/enqueue`, the
//! routing key in the body, 202 / 400 "invalid event" / 429) and its REST
//! API's incidents (`Authorization: Token token=…`, the v2 `Accept`, 401 on
//! a wrong token), Opsgenie's Alert API (`Authorization: GenieKey …`, 202
//! "Request will be processed", 401, 422, 404 while an alert is not created
//! yet, 429 with Retry-After), and a command. The servers record what they
//! receive; no secret shows in any evidence line or error, and a refusing
//! or absent service is a clear error, never a silent success.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use backstop::config::Secret;
use backstop::config::escalation::{EscalationConfig, EscalationKind, Level};
use backstop::providers::escalation::{Ack, Page, PageAct, PageError, build};
use serde_json::{Value, json};
use url::Url;

/// Events v2 routing keys are 32 characters.
const KEY_PAYMENTS: &str = "R0UTINGpayments0000000000000000a";
const KEY_PLATFORM: &str = "R0UTINGplatform0000000000000000b";
const TOKEN: &str = "u+pd-rest-token-0123456789";
const GENIE: &str = "eb243592-faa2-4ba2-a551q-1afdf565c889";
const SECRETS: [&str; 4] = [KEY_PAYMENTS, KEY_PLATFORM, TOKEN, GENIE];

/// One request as the fake service received it.
#[derive(Clone, Debug)]
struct Got {
    method: String,
    /// The path and query as sent (`/v2/alerts/backstop%2Fweb%2F12/close?identifierType=alias`).
    uri: String,
    auth: Option<String>,
    accept: Option<String>,
    body: Value,
}

/// What a fake service saw, its state, and how it is told to answer.
#[derive(Default)]
struct Fake {
    got: Vec<Got>,
    /// Answer the next requests 429 with these Retry-After seconds.
    limit: Vec<u64>,
    /// PagerDuty: (routing key, dedup key) → the incident.
    incidents: Vec<(String, String, Value)>,
    /// Opsgenie: alias → the alert (absent: not created yet).
    alerts: HashMap<String, Value>,
    /// Opsgenie: creates are accepted but not processed yet.
    slow: bool,
}

type Shared = Arc<Mutex<Fake>>;

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Record the request; the 429 it is told to give, if any.
fn receive(
    fake: &Shared,
    method: &Method,
    uri: &Uri,
    h: &HeaderMap,
    body: &Bytes,
) -> Option<Response> {
    let mut f = fake.lock().unwrap();
    f.got.push(Got {
        method: method.to_string(),
        uri: uri.to_string(),
        auth: header(h, "authorization"),
        accept: header(h, "accept"),
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
    });
    if f.limit.is_empty() {
        return None;
    }
    let wait = f.limit.remove(0);
    Some(
        (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", wait.to_string())],
            Json(json!({"status": "throttle event", "message": "Requests for this service are arriving too quickly.  Please retry later."})),
        )
            .into_response(),
    )
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (open, closed) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _open = open;
        backstop::sandbox::server::serve(listener, app, closed).await;
    });
    format!("http://{addr}")
}

// ---- PagerDuty ----

fn invalid(errors: Vec<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors})),
    )
        .into_response()
}

/// `POST /v2/enqueue`, as the Events API v2 reference has it.
async fn enqueue(
    State(fake): State<Shared>,
    method: Method,
    uri: Uri,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(limited) = receive(&fake, &method, &uri, &h, &body) {
        return limited;
    }
    let Ok(e) = serde_json::from_slice::<Value>(&body) else {
        return invalid(vec!["Event object is not valid JSON".into()]);
    };
    let key = e["routing_key"].as_str().unwrap_or_default().to_string();
    // This fake echoes a key it does not know, as a careless service
    // might: the client must mask it.
    if key != KEY_PAYMENTS && key != KEY_PLATFORM {
        return invalid(vec![format!("Unknown routing_key {key}")]);
    }
    let action = e["event_action"].as_str().unwrap_or_default();
    let dedup = e["dedup_key"].as_str().unwrap_or_default().to_string();
    let mut f = fake.lock().unwrap();
    match action {
        "trigger" => {
            let mut errors = Vec::new();
            for field in ["summary", "source", "severity"] {
                if e["payload"][field].as_str().is_none_or(str::is_empty) {
                    errors.push(format!("'payload.{field}' is missing or blank"));
                }
            }
            if !["critical", "error", "warning", "info"]
                .contains(&e["payload"]["severity"].as_str().unwrap_or_default())
            {
                errors.push("'payload.severity' is invalid".into());
            }
            if !errors.is_empty() {
                return invalid(errors);
            }
            if !f.incidents.iter().any(|(k, d, _)| *k == key && *d == dedup) {
                let incident =
                    json!({"incident_key": dedup, "status": "triggered", "acknowledgements": []});
                f.incidents.push((key, dedup.clone(), incident));
            }
        }
        "acknowledge" | "resolve" => {
            if dedup.is_empty() {
                return invalid(vec!["'dedup_key' is missing".into()]);
            }
            let status = if action == "resolve" {
                "resolved"
            } else {
                "acknowledged"
            };
            if let Some((_, _, i)) = f
                .incidents
                .iter_mut()
                .find(|(k, d, _)| *k == key && *d == dedup)
            {
                i["status"] = json!(status);
            }
        }
        _ => return invalid(vec!["'event_action' is invalid".into()]),
    }
    (
        StatusCode::ACCEPTED,
        Json(json!({"status": "success", "message": "Event processed", "dedup_key": dedup})),
    )
        .into_response()
}

/// `GET /incidents?incident_key=…` of the REST API v2.
async fn incidents(
    State(fake): State<Shared>,
    method: Method,
    uri: Uri,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(limited) = receive(&fake, &method, &uri, &h, &Bytes::new()) {
        return limited;
    }
    if header(&h, "authorization") != Some(format!("Token token={TOKEN}")) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"message": "Unauthorized", "code": 2006}})),
        )
            .into_response();
    }
    let key = q.get("incident_key").cloned().unwrap_or_default();
    let found: Vec<Value> = fake
        .lock()
        .unwrap()
        .incidents
        .iter()
        .filter(|(_, d, _)| *d == key)
        .map(|(_, _, i)| i.clone())
        .collect();
    Json(json!({"incidents": found, "limit": 25, "offset": 0, "more": false})).into_response()
}

async fn pagerduty() -> (String, Shared) {
    let fake: Shared = Arc::default();
    let app = Router::new()
        .route("/v2/enqueue", post(enqueue))
        .route("/incidents", get(incidents))
        .with_state(fake.clone());
    (serve(app).await, fake)
}

fn level(name: &str, after: Option<u64>) -> Level {
    Level {
        name: name.into(),
        after: after.map(Duration::from_secs),
        routing_key_env: None,
        routing_key: None,
        responders: vec![],
        target: name.into(),
    }
}

fn pd_config(url: &str, token: Option<&str>, platform: Option<&str>) -> EscalationConfig {
    EscalationConfig {
        kind: EscalationKind::PagerDuty {
            api_url: Url::parse(url).unwrap(),
            rest_url: Url::parse(url).unwrap(),
            token_env: "PAGERDUTY_API_TOKEN".into(),
            token: token.map(Secret::new),
        },
        chain: vec![
            Level {
                routing_key_env: Some("PD_PAYMENTS_KEY".into()),
                routing_key: Some(Secret::new(KEY_PAYMENTS)),
                ..level("payments on-call", Some(300))
            },
            Level {
                routing_key_env: Some("PD_PLATFORM_KEY".into()),
                routing_key: platform.map(Secret::new),
                ..level("platform lead", None)
            },
        ],
    }
}

fn page(key: &str, level: usize, severity: u8) -> Page {
    Page {
        key: key.into(),
        level,
        summary: "SEV1 web: 5xx at 38% on blue after deploy 12".into(),
        severity,
        service: "web".into(),
        source: "ops-laptop-7".into(),
    }
}

/// No secret in any line or error the providers answered.
fn no_secret(said: &[String]) {
    for line in said {
        for s in SECRETS {
            assert!(!line.contains(s), "a secret in {line:?}");
        }
    }
}

#[tokio::test]
async fn pagerduty_triggers_escalates_acknowledges_and_resolves_under_one_dedup_key() {
    let (url, fake) = pagerduty().await;
    let pd = build(&pd_config(&url, Some(TOKEN), Some(KEY_PLATFORM)));
    let mut said = Vec::new();
    said.extend(
        pd.send(&page("backstop/web/12", 0, 1), PageAct::Trigger)
            .await
            .unwrap(),
    );
    // Nobody answered in time: the next level, its own integration.
    said.extend(
        pd.send(&page("backstop/web/12", 1, 2), PageAct::Trigger)
            .await
            .unwrap(),
    );
    // Another incident keeps its own key.
    said.extend(
        pd.send(&page("backstop/api/13", 0, 3), PageAct::Trigger)
            .await
            .unwrap(),
    );
    said.extend(
        pd.send(&page("backstop/web/12", 1, 2), PageAct::Acknowledge)
            .await
            .unwrap(),
    );
    said.extend(
        pd.send(&page("backstop/web/12", 1, 2), PageAct::Resolve)
            .await
            .unwrap(),
    );
    let got = fake.lock().unwrap().got.clone();
    let events: Vec<(&str, &str, &str, &str, Option<&str>)> = got
        .iter()
        .map(|g| {
            assert_eq!((g.method.as_str(), g.uri.as_str()), ("POST", "/v2/enqueue"));
            // The Events API takes no Authorization header: the key is in the body.
            assert_eq!(g.auth, None);
            (
                g.body["routing_key"].as_str().unwrap(),
                g.body["event_action"].as_str().unwrap(),
                g.body["dedup_key"].as_str().unwrap(),
                g.body["payload"]["component"].as_str().unwrap_or("-"),
                g.body["payload"]["severity"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            (
                KEY_PAYMENTS,
                "trigger",
                "backstop/web/12",
                "web",
                Some("critical")
            ),
            (
                KEY_PLATFORM,
                "trigger",
                "backstop/web/12",
                "web",
                Some("error")
            ),
            (
                KEY_PAYMENTS,
                "trigger",
                "backstop/api/13",
                "web",
                Some("warning")
            ),
            // Acknowledged and resolved at every level paged so far.
            (KEY_PAYMENTS, "acknowledge", "backstop/web/12", "-", None),
            (KEY_PLATFORM, "acknowledge", "backstop/web/12", "-", None),
            (KEY_PAYMENTS, "resolve", "backstop/web/12", "-", None),
            (KEY_PLATFORM, "resolve", "backstop/web/12", "-", None),
        ]
    );
    assert_eq!(
        got[0].body["payload"]["summary"],
        "SEV1 web: 5xx at 38% on blue after deploy 12"
    );
    assert_eq!(got[0].body["payload"]["source"], "ops-laptop-7");
    assert!(
        got[3].body.get("payload").is_none(),
        "a payload only on trigger"
    );
    assert_eq!(
        said[0],
        "PagerDuty trigger backstop/web/12 → payments on-call ($PD_PAYMENTS_KEY, critical): Event processed (HTTP 202)"
    );
    assert_eq!(
        said[3],
        "PagerDuty acknowledge backstop/web/12 → payments on-call ($PD_PAYMENTS_KEY): Event processed (HTTP 202)"
    );
    assert_eq!(said.len(), 7, "{said:#?}");
    no_secret(&said);
}

#[tokio::test]
async fn pagerduty_acknowledgements_are_read_with_the_rest_token() {
    let (url, fake) = pagerduty().await;
    let pd = build(&pd_config(&url, Some(TOKEN), Some(KEY_PLATFORM)));
    let p = page("backstop/web/12", 0, 1);
    // Not created yet (events are processed asynchronously): not acknowledged.
    assert_eq!(pd.acknowledged(&p).await.unwrap(), None);
    pd.send(&p, PageAct::Trigger).await.unwrap();
    assert_eq!(pd.acknowledged(&p).await.unwrap(), None, "triggered");
    // Alice acknowledges in PagerDuty's app.
    {
        let mut f = fake.lock().unwrap();
        let i = &mut f.incidents[0].2;
        i["status"] = json!("acknowledged");
        i["acknowledgements"] = json!([{
            "at": "2026-03-02T10:04:11Z",
            "acknowledger": {"id": "PXPGF42", "type": "user_reference", "summary": "Alice"},
        }]);
    }
    assert_eq!(
        pd.acknowledged(&p).await.unwrap(),
        Some(Ack {
            by: Some("Alice".into()),
            at: Some("2026-03-02T10:04:11Z".into()),
        })
    );
    let read = fake.lock().unwrap().got.last().cloned().unwrap();
    assert_eq!(read.method, "GET");
    assert_eq!(read.uri, "/incidents?incident_key=backstop%2Fweb%2F12");
    assert_eq!(read.auth.as_deref(), Some(&*format!("Token token={TOKEN}")));
    assert_eq!(
        read.accept.as_deref(),
        Some("application/vnd.pagerduty+json;version=2")
    );

    // A wrong token is a 401, said without the token.
    let wrong = build(&pd_config(&url, Some("u+wrong-token"), Some(KEY_PLATFORM)));
    let e = wrong.acknowledged(&p).await.unwrap_err().to_string();
    assert_eq!(
        e,
        "PagerDuty refused the API token (HTTP 401): check $PAGERDUTY_API_TOKEN"
    );
    assert!(!e.contains("u+wrong-token"));
    // No token: paging works, reading acknowledgements says why it cannot.
    let tokenless = build(&pd_config(&url, None, Some(KEY_PLATFORM)));
    tokenless.send(&p, PageAct::Trigger).await.unwrap();
    let e = tokenless.acknowledged(&p).await.unwrap_err();
    assert_eq!(e, PageError::AcksUnreadable("PAGERDUTY_API_TOKEN".into()));
    assert_eq!(
        e.to_string(),
        "PagerDuty acknowledgements cannot be read: $PAGERDUTY_API_TOKEN (a REST API token) is not set; pages are still sent"
    );
}

#[tokio::test]
async fn pagerduty_refusals_rate_limits_and_absence_are_clear_errors() {
    let (url, fake) = pagerduty().await;
    let pd = build(&pd_config(&url, Some(TOKEN), None));
    let mut errors = Vec::new();

    // 400 "invalid event", in its own words.
    let e = pd
        .send(
            &Page {
                summary: String::new(),
                ..page("backstop/web/12", 0, 1)
            },
            PageAct::Trigger,
        )
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "PagerDuty answered HTTP 400 Event object is invalid: 'payload.summary' is missing or blank"
    );
    errors.push(e);
    // A key it does not know, echoed back: masked.
    let mut echo = pd_config(&url, Some(TOKEN), None);
    echo.chain[0].routing_key = Some(Secret::new("R0UTINGunknown000000000000000000"));
    let e = build(&echo)
        .send(&page("backstop/web/12", 0, 1), PageAct::Trigger)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "PagerDuty answered HTTP 400 Event object is invalid: Unknown routing_key ***"
    );
    // The level's key is not set: nothing is sent at all.
    let before = fake.lock().unwrap().got.len();
    let e = pd
        .send(&page("backstop/web/12", 1, 1), PageAct::Trigger)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e, "$PD_PLATFORM_KEY is not set: the page was not sent");
    let e = pd
        .send(&page("backstop/web/12", 1, 1), PageAct::Resolve)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e, "$PD_PLATFORM_KEY is not set: the resolve was not sent");
    assert_eq!(fake.lock().unwrap().got.len(), before, "no half resolve");
    let e = pd
        .send(&page("backstop/web/12", 2, 1), PageAct::Trigger)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e, "the escalation chain has no level 3: it has 2");

    // 429: a short Retry-After is honoured once; twice, or a long one, fails.
    fake.lock().unwrap().limit = vec![1];
    let started = Instant::now();
    pd.send(&page("backstop/web/12", 0, 1), PageAct::Trigger)
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    fake.lock().unwrap().limit = vec![1, 1];
    let e = pd
        .send(&page("backstop/web/12", 0, 1), PageAct::Trigger)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "PagerDuty is still rate limiting (HTTP 429 twice): the page was not sent; try again"
    );
    errors.push(e);
    fake.lock().unwrap().limit = vec![60];
    let started = Instant::now();
    let e = pd
        .send(&page("backstop/web/12", 0, 1), PageAct::Acknowledge)
        .await
        .unwrap_err()
        .to_string();
    assert!(started.elapsed() < Duration::from_secs(5), "not waited");
    assert_eq!(
        e,
        "PagerDuty is rate limiting (HTTP 429, Retry-After 60s): the acknowledgement was not sent; try again"
    );
    fake.lock().unwrap().limit = vec![60];
    let e = pd
        .acknowledged(&page("backstop/web/12", 0, 1))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "PagerDuty is rate limiting (HTTP 429, Retry-After 60s): acknowledgements were not read; try again"
    );

    // A URL that is not the API: its 404, not a success.
    let mut wrong = pd_config(&format!("{url}/nowhere/"), Some(TOKEN), None);
    let e = build(&wrong)
        .send(&page("backstop/web/12", 0, 1), PageAct::Trigger)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        PageError::Refused {
            who: "PagerDuty",
            code: 404,
            why: String::new()
        }
    );
    assert_eq!(e.to_string(), "PagerDuty answered HTTP 404");
    let e = build(&wrong)
        .acknowledged(&page("backstop/web/12", 0, 1))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e, "PagerDuty answered HTTP 404");

    // Nobody listening.
    let gone = format!("http://127.0.0.1:{}", common::refused_port());
    wrong = pd_config(&gone, Some(TOKEN), None);
    let e = build(&wrong)
        .send(&page("backstop/web/12", 0, 1), PageAct::Trigger)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e, "PagerDuty: cannot connect; the page was not sent");
    errors.push(e);
    let e = build(&wrong)
        .acknowledged(&page("backstop/web/12", 0, 1))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "PagerDuty: cannot connect; acknowledgements were not read"
    );
    errors.push(e);
    no_secret(&errors);
}

// ---- Opsgenie ----

fn og_answer(code: StatusCode, body: Value) -> Response {
    let mut body = body;
    body["took"] = json!(0.01);
    body["requestId"] = json!("43a29c5c-3dbf-4fa4-9c26-f4f71023e120");
    (code, Json(body)).into_response()
}

/// The key, then the 429 the fake is told to give; `None`: go on.
fn og_receive(
    fake: &Shared,
    method: &Method,
    uri: &Uri,
    h: &HeaderMap,
    body: &Bytes,
) -> Option<Response> {
    let limited = receive(fake, method, uri, h, body);
    if header(h, "authorization") != Some(format!("GenieKey {GENIE}")) {
        return Some(og_answer(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Could not authenticate"}),
        ));
    }
    limited
}

fn accepted() -> Response {
    og_answer(
        StatusCode::ACCEPTED,
        json!({"result": "Request will be processed"}),
    )
}

/// `POST /v2/alerts`.
async fn create_alert(
    State(fake): State<Shared>,
    method: Method,
    uri: Uri,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = og_receive(&fake, &method, &uri, &h, &body) {
        return r;
    }
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let message = b["message"].as_str().unwrap_or_default();
    let error = if message.is_empty() {
        Some("Message can not be empty.")
    } else if message.chars().count() > 130 {
        Some("Message can not be longer than 130 characters.")
    } else if !["P1", "P2", "P3", "P4", "P5"].contains(&b["priority"].as_str().unwrap_or("P3")) {
        Some("Priority should be one of [P1, P2, P3, P4, P5].")
    } else {
        None
    };
    if let Some(e) = error {
        return og_answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "Request body is not processable. Please check the errors.", "errors": {"message": e}}),
        );
    }
    let mut f = fake.lock().unwrap();
    let alias = b["alias"].as_str().unwrap_or_default().to_string();
    // An open alert of the alias only counts the repeat.
    if !f.slow && !f.alerts.contains_key(&alias) {
        let alert = json!({
            "alias": alias, "message": message, "status": "open", "acknowledged": false,
            "createdAt": "2026-03-02T10:00:00.000Z", "count": 1,
            "responders": b["responders"], "report": {},
        });
        f.alerts.insert(alias, alert);
    }
    accepted()
}

/// `POST /v2/alerts/{alias}/{acknowledge|close|responders}?identifierType=alias`.
async fn alert_action(
    State(fake): State<Shared>,
    Path((alias, action)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = og_receive(&fake, &method, &uri, &h, &body) {
        return r;
    }
    if q.get("identifierType").map(String::as_str) != Some("alias") {
        // Without it the identifier is read as the alert's id.
        return og_answer(
            StatusCode::NOT_FOUND,
            json!({"message": "Alert does not exist"}),
        );
    }
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut f = fake.lock().unwrap();
    // Processed asynchronously: an unknown alias is still a 202.
    if let Some(a) = f.alerts.get_mut(&alias) {
        match action.as_str() {
            "acknowledge" => a["acknowledged"] = json!(true),
            "close" => a["status"] = json!("closed"),
            "responders" => a["responders"]
                .as_array_mut()
                .unwrap()
                .push(b["responder"].clone()),
            _ => return StatusCode::NOT_FOUND.into_response(),
        }
    }
    accepted()
}

/// `GET /v2/alerts/{alias}?identifierType=alias`.
async fn get_alert(
    State(fake): State<Shared>,
    Path(alias): Path<String>,
    method: Method,
    uri: Uri,
    h: HeaderMap,
) -> Response {
    if let Some(r) = og_receive(&fake, &method, &uri, &h, &Bytes::new()) {
        return r;
    }
    match fake.lock().unwrap().alerts.get(&alias) {
        Some(a) => og_answer(StatusCode::OK, json!({"data": a})),
        None => og_answer(
            StatusCode::NOT_FOUND,
            json!({"message": "Alert does not exist"}),
        ),
    }
}

async fn opsgenie() -> (String, Shared) {
    let fake: Shared = Arc::default();
    let app = Router::new()
        .route("/v2/alerts", post(create_alert))
        .route("/v2/alerts/{alias}", get(get_alert))
        .route("/v2/alerts/{alias}/{action}", post(alert_action))
        .with_state(fake.clone());
    (serve(app).await, fake)
}

fn og_config(url: &str, key: Option<&str>) -> EscalationConfig {
    EscalationConfig {
        kind: EscalationKind::Opsgenie {
            api_url: Url::parse(url).unwrap(),
            key_env: "OPSGENIE_API_KEY".into(),
            key: key.map(Secret::new),
        },
        chain: vec![
            Level {
                responders: vec!["payments".into()],
                ..level("payments on-call", Some(300))
            },
            Level {
                responders: vec!["platform".into(), "sre".into()],
                ..level("platform", None)
            },
        ],
    }
}

#[tokio::test]
async fn opsgenie_creates_one_alert_per_incident_adds_each_level_and_closes_it() {
    let (url, fake) = opsgenie().await;
    let og = build(&og_config(&url, Some(GENIE)));
    let long = "x".repeat(200);
    let mut said = Vec::new();
    said.extend(
        og.send(
            &Page {
                summary: long.clone(),
                ..page("backstop/web/12", 0, 1)
            },
            PageAct::Trigger,
        )
        .await
        .unwrap(),
    );
    said.extend(
        og.send(&page("backstop/web/12", 1, 2), PageAct::Trigger)
            .await
            .unwrap(),
    );
    said.extend(
        og.send(&page("backstop/api/13", 0, 3), PageAct::Trigger)
            .await
            .unwrap(),
    );
    said.extend(
        og.send(&page("backstop/web/12", 1, 2), PageAct::Acknowledge)
            .await
            .unwrap(),
    );
    said.extend(
        og.send(&page("backstop/web/12", 1, 2), PageAct::Resolve)
            .await
            .unwrap(),
    );
    let got = fake.lock().unwrap().got.clone();
    let calls: Vec<(&str, &str)> = got
        .iter()
        .map(|g| (g.method.as_str(), g.uri.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("POST", "/v2/alerts"),
            // The next level: the alert again (it counts the repeat), and its teams added.
            ("POST", "/v2/alerts"),
            (
                "POST",
                "/v2/alerts/backstop%2Fweb%2F12/responders?identifierType=alias"
            ),
            (
                "POST",
                "/v2/alerts/backstop%2Fweb%2F12/responders?identifierType=alias"
            ),
            ("POST", "/v2/alerts"),
            (
                "POST",
                "/v2/alerts/backstop%2Fweb%2F12/acknowledge?identifierType=alias"
            ),
            (
                "POST",
                "/v2/alerts/backstop%2Fweb%2F12/close?identifierType=alias"
            ),
        ]
    );
    assert!(
        got.iter()
            .all(|g| g.auth.as_deref() == Some(&*format!("GenieKey {GENIE}")))
    );
    let first = &got[0].body;
    assert_eq!(first["alias"], "backstop/web/12");
    assert_eq!(first["priority"], "P1");
    assert_eq!(first["entity"], "web");
    assert_eq!(first["source"], "ops-laptop-7");
    assert_eq!(
        first["responders"],
        json!([{"name": "payments", "type": "team"}])
    );
    assert_eq!(first["message"].as_str().unwrap().chars().count(), 130);
    assert!(
        first["description"].as_str().unwrap().contains(&long),
        "the whole summary"
    );
    assert_eq!(got[1].body["priority"], "P2");
    assert_eq!(
        got[2].body["responder"],
        json!({"name": "platform", "type": "team"})
    );
    assert_eq!(
        got[3].body["responder"],
        json!({"name": "sre", "type": "team"})
    );
    assert_eq!(
        (
            got[4].body["alias"].as_str(),
            got[4].body["priority"].as_str()
        ),
        (Some("backstop/api/13"), Some("P3"))
    );
    assert_eq!(got[5].body["source"], "ops-laptop-7");
    assert_eq!(
        got[5].body["note"],
        "acknowledged by backstop on ops-laptop-7"
    );
    assert_eq!(
        said[2],
        "Opsgenie add responder platform to backstop/web/12: Request will be processed (HTTP 202, request 43a29c5c-3dbf-4fa4-9c26-f4f71023e120)"
    );
    let alert = fake.lock().unwrap().alerts["backstop/web/12"].clone();
    assert_eq!(alert["responders"].as_array().unwrap().len(), 3, "{alert}");
    assert_eq!(alert["status"], "closed");
    assert_eq!(
        said[0],
        "Opsgenie create alert backstop/web/12 → payments on-call (payments), P1: Request will be processed (HTTP 202, request 43a29c5c-3dbf-4fa4-9c26-f4f71023e120)"
    );
    assert_eq!(
        said.last().unwrap(),
        "Opsgenie close alert backstop/web/12: Request will be processed (HTTP 202, request 43a29c5c-3dbf-4fa4-9c26-f4f71023e120)"
    );
    no_secret(&said);
}

#[tokio::test]
async fn opsgenie_acknowledgements_are_read_by_alias() {
    let (url, fake) = opsgenie().await;
    let og = build(&og_config(&url, Some(GENIE)));
    let p = page("backstop/web/12", 0, 1);
    // Accepted, not processed yet: 404 is "not acknowledged", not an error.
    fake.lock().unwrap().slow = true;
    og.send(&p, PageAct::Trigger).await.unwrap();
    assert_eq!(og.acknowledged(&p).await.unwrap(), None);
    fake.lock().unwrap().slow = false;
    og.send(&p, PageAct::Trigger).await.unwrap();
    assert_eq!(og.acknowledged(&p).await.unwrap(), None, "open");
    // Alice acknowledges on her phone, 15.7 s after the alert.
    {
        let mut f = fake.lock().unwrap();
        let a = f.alerts.get_mut("backstop/web/12").unwrap();
        a["acknowledged"] = json!(true);
        a["owner"] = json!("alice@example.com");
        a["report"] = json!({"ackTime": 15702, "acknowledgedBy": "alice@example.com"});
    }
    assert_eq!(
        og.acknowledged(&p).await.unwrap(),
        Some(Ack {
            by: Some("alice@example.com".into()),
            at: Some("2026-03-02T10:00:15Z".into()),
        })
    );
    let read = fake.lock().unwrap().got.last().cloned().unwrap();
    assert_eq!(
        (read.method.as_str(), read.uri.as_str()),
        ("GET", "/v2/alerts/backstop%2Fweb%2F12?identifierType=alias")
    );
    assert_eq!(read.auth.as_deref(), Some(&*format!("GenieKey {GENIE}")));
}

#[tokio::test]
async fn opsgenie_refusals_rate_limits_and_absence_are_clear_errors() {
    let (url, fake) = opsgenie().await;
    let og = build(&og_config(&url, Some(GENIE)));
    let p = page("backstop/web/12", 0, 1);
    let mut errors = Vec::new();

    let wrong = build(&og_config(&url, Some("not-the-genie-key")));
    for e in [
        wrong.send(&p, PageAct::Trigger).await.unwrap_err(),
        wrong.acknowledged(&p).await.unwrap_err(),
    ] {
        let e = e.to_string();
        assert_eq!(
            e,
            "Opsgenie refused the API key (HTTP 401): check $OPSGENIE_API_KEY"
        );
        assert!(!e.contains("not-the-genie-key"));
        errors.push(e);
    }
    let unset = build(&og_config(&url, None));
    let e = unset
        .send(&p, PageAct::Trigger)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "$OPSGENIE_API_KEY is not set: nothing was sent to Opsgenie"
    );
    let e = unset.acknowledged(&p).await.unwrap_err().to_string();
    assert_eq!(
        e,
        "$OPSGENIE_API_KEY is not set: acknowledgements were not read"
    );

    let e = og
        .send(
            &Page {
                summary: " ".repeat(0),
                ..p.clone()
            },
            PageAct::Trigger,
        )
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "Opsgenie answered HTTP 422 Request body is not processable. Please check the errors.: Message can not be empty."
    );
    errors.push(e);

    fake.lock().unwrap().limit = vec![1];
    let started = Instant::now();
    og.send(&p, PageAct::Trigger).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    fake.lock().unwrap().limit = vec![1, 1];
    let e = og.send(&p, PageAct::Resolve).await.unwrap_err().to_string();
    assert_eq!(
        e,
        "Opsgenie is still rate limiting (HTTP 429 twice): the resolve was not sent; try again"
    );
    errors.push(e);
    fake.lock().unwrap().limit = vec![30];
    let e = og.acknowledged(&p).await.unwrap_err().to_string();
    assert_eq!(
        e,
        "Opsgenie is rate limiting (HTTP 429, Retry-After 30s): acknowledgements were not read; try again"
    );
    assert_eq!(
        fake.lock().unwrap().alerts["backstop/web/12"]["status"],
        "open",
        "the resolve never went through"
    );

    let gone = build(&og_config(
        &format!("http://127.0.0.1:{}", common::refused_port()),
        Some(GENIE),
    ));
    let e = gone
        .send(&p, PageAct::Acknowledge)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "Opsgenie: cannot connect; the acknowledgement was not sent"
    );
    errors.push(e);
    let e = gone.acknowledged(&p).await.unwrap_err().to_string();
    assert_eq!(
        e,
        "Opsgenie: cannot connect; acknowledgements were not read"
    );
    errors.push(e);
    no_secret(&errors);
}

// ---- a command ----

fn cmd_config(script: &str) -> EscalationConfig {
    EscalationConfig {
        kind: EscalationKind::Command {
            argv: vec!["sh".into(), "-c".into(), script.into()],
        },
        chain: vec![
            Level {
                target: "payments".into(),
                ..level("payments on-call", Some(300))
            },
            level("cto", None),
        ],
    }
}

#[tokio::test]
async fn a_command_pages_with_its_environment_and_answers_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("pages");
    let acked = dir.path().join("acked");
    let script = format!(
        "if [ \"$BACKSTOP_PAGE_ACTION\" = status ]; then \
           if [ -f {acked} ]; then echo \"acknowledged by $(cat {acked})\"; else echo unacknowledged; fi; exit 0; fi; \
         echo \"$BACKSTOP_PAGE_ACTION|$BACKSTOP_PAGE_KEY|$BACKSTOP_PAGE_SEVERITY|$BACKSTOP_PAGE_TARGET|$BACKSTOP_PAGE_SUMMARY\" >> {log}; \
         echo \"paged $BACKSTOP_PAGE_TARGET\"; echo; echo \"ticket PAGE-7\"",
        acked = acked.display(),
        log = log.display()
    );
    let cmd = build(&cmd_config(&script));
    let said = cmd
        .send(&page("backstop/web/12", 0, 1), PageAct::Trigger)
        .await
        .unwrap();
    assert_eq!(&said[1..], ["paged payments", "ticket PAGE-7"]);
    assert!(
        said[0].ends_with("trigger backstop/web/12 → payments"),
        "{said:?}"
    );
    let p = page("backstop/web/12", 1, 2);
    cmd.send(&p, PageAct::Trigger).await.unwrap();
    assert_eq!(cmd.acknowledged(&p).await.unwrap(), None);
    std::fs::write(&acked, "Alice\n").unwrap();
    assert_eq!(
        cmd.acknowledged(&p).await.unwrap(),
        Some(Ack {
            by: Some("Alice".into()),
            at: None
        })
    );
    cmd.send(&p, PageAct::Resolve).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "trigger|backstop/web/12|1|payments|SEV1 web: 5xx at 38% on blue after deploy 12\n\
         trigger|backstop/web/12|2|cto|SEV1 web: 5xx at 38% on blue after deploy 12\n\
         resolve|backstop/web/12|2|cto|SEV1 web: 5xx at 38% on blue after deploy 12\n"
    );

    // A failing command is a failed step, naming it and its code.
    let failing = build(&cmd_config("echo no route to pager; exit 3"));
    let e = failing
        .send(&page("backstop/web/12", 0, 1), PageAct::Trigger)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e, "`sh -c 'echo no route to pager; exit 3'` exited with 3");
    let e = failing.acknowledged(&p).await.unwrap_err();
    assert!(
        matches!(e, PageError::Exited { code: Some(3), .. }),
        "{e:?}"
    );
    // A status it does not understand is not "unacknowledged".
    let vague = build(&cmd_config("echo maybe"));
    let e = vague.acknowledged(&p).await.unwrap_err().to_string();
    assert!(
        e.ends_with(
            "answered \"maybe\" to status: expected \"acknowledged by NAME\" or \"unacknowledged\""
        ),
        "{e}"
    );
    let missing = build(&EscalationConfig {
        kind: EscalationKind::Command {
            argv: vec!["/nonexistent/page.sh".into()],
        },
        chain: vec![level("a", None)],
    });
    let e = missing
        .send(&page("backstop/web/12", 0, 1), PageAct::Trigger)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("cannot run `/nonexistent/page.sh`"), "{e}");
}

/// The console end to end: `:page` pages the first level through the
/// fake PagerDuty, the acknowledgement a person gives there is read back,
/// shown and journaled, and nothing secret reaches the journal.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_pages_and_reads_the_acknowledgement_back() {
    use backstop::core::action::Action;
    use backstop::core::escalation::Sent;
    use backstop::core::model::Origin;
    use backstop::core::msg::{Msg, TextKey};
    use backstop::engine::{Engine, Storage};
    use backstop::sandbox::{Options, Sandbox, default_world};

    let (url, fake) = pagerduty().await;
    let sb = Arc::new(
        Sandbox::start(&default_world(), &Options { rate: 0.0 })
            .await
            .unwrap(),
    );
    let mut config = sb.config(Duration::from_millis(200), Duration::from_millis(100));
    config.escalation = Some(pd_config(&url, Some(TOKEN), Some(KEY_PLATFORM)));
    let home = common::Home::new();
    let storage = Storage::in_dir(home.path());
    let mut engine = Engine::start(&config, Origin::Drill, Some(sb.clone()), &storage).unwrap();
    let now = backstop::clock::now;
    engine.apply(Msg::Action(Action::CommandLine, now()));
    for ch in "page the target is broken too".chars() {
        engine.apply(Msg::Text(TextKey::Char(ch), now()));
    }
    engine.apply(Msg::Text(TextKey::Submit, now()));
    let sent = |s: &backstop::core::model::State| {
        s.services[0]
            .rollback
            .paging
            .as_ref()
            .is_some_and(|p| p.sent == Sent::Sent)
    };
    assert!(
        engine.run_until(Duration::from_secs(10), sent).await,
        "{:?}",
        engine.state.services[0].rollback.paging
    );
    let key = engine.state.services[0]
        .rollback
        .paging
        .clone()
        .unwrap()
        .key;
    {
        let f = fake.lock().unwrap();
        let events: Vec<&Got> = f.got.iter().filter(|g| g.uri == "/v2/enqueue").collect();
        assert_eq!(events.len(), 1, "{events:?}");
        let e = &events[0].body;
        assert_eq!(e["event_action"], "trigger");
        assert_eq!(e["routing_key"], KEY_PAYMENTS);
        assert_eq!(e["dedup_key"], key.as_str());
        assert_eq!(
            e["payload"]["severity"], "error",
            "no severity declared: SEV2"
        );
        assert!(
            e["payload"]["summary"]
                .as_str()
                .unwrap()
                .ends_with("the target is broken too"),
            "{e}"
        );
    }
    // Alice acknowledges in PagerDuty; the console reads it within 10 s.
    {
        let mut f = fake.lock().unwrap();
        let (_, _, incident) = f.incidents.first_mut().unwrap();
        incident["status"] = json!("acknowledged");
        incident["acknowledgements"] =
            json!([{"at": "2026-12-07T14:03:00Z", "acknowledger": {"summary": "Alice"}}]);
    }
    let acked = |s: &backstop::core::model::State| {
        s.services[0]
            .rollback
            .paging
            .as_ref()
            .is_some_and(|p| p.acked.is_some())
    };
    assert!(engine.run_until(Duration::from_secs(15), acked).await);
    assert!(
        engine
            .state
            .events
            .iter()
            .any(|e| e.text.contains("page acknowledged by Alice")),
        "{:?}",
        engine
            .state
            .events
            .iter()
            .map(|e| &e.text)
            .collect::<Vec<_>>()
    );
    engine.leave().await;
    drop(engine);
    let conn = rusqlite::Connection::open(storage.place().file).unwrap();
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT kind, text FROM journal WHERE text LIKE '%page%' ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let changes: Vec<&(String, String)> = rows.iter().filter(|(k, _)| k != "event").collect();
    assert!(
        matches!(&changes[..], [(i, it), (o, ot)] if i == "intent" && it.starts_with("page (trigger) level 1: SEV2 web")
            && o == "outcome" && ot == "done: page (trigger)"),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|(k, t)| k == "event" && t.contains("page acknowledged by Alice")),
        "{rows:?}"
    );
    let all: String = conn
        .prepare("SELECT text || ' ' || COALESCE(data, '') FROM journal")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for s in SECRETS {
        assert!(!all.contains(s), "a secret in the journal");
    }
}
