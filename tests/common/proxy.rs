//! A small HTTP proxy on loopback between backstop and moto's server, for
//! the faults a table can have in the middle of an incident: throttled
//! (`ProvisionedThroughputExceededException`), slow (seconds per call),
//! unreachable (connections cut and refused), or answering nothing after
//! doing the work (a lost answer: the write happened, the caller cannot
//! know). It also counts the calls that reach it, by API.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Pass,
    /// Every call refused as throttled.
    Throttle,
    /// Every call refused: the caller's credentials expired.
    Expired,
    /// Every call answered after this long.
    Slow(Duration),
    /// Connections cut, new ones closed at once.
    Down,
    /// Calls reach moto, and their answers are thrown away (the connection cut).
    LoseAnswers,
}

struct Shared {
    upstream: String,
    mode: Mutex<Mode>,
    calls: Mutex<Vec<String>>,
    cut: tokio::sync::watch::Sender<u64>,
    http: reqwest::Client,
}

pub struct Proxy {
    pub port: u16,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// In front of `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, _) = tokio::sync::watch::channel(0);
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            mode: Mutex::new(Mode::Pass),
            calls: Mutex::new(Vec::new()),
            cut,
            http: reqwest::Client::new(),
        });
        let router = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        let s = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                if *s.mode.lock().unwrap() == Mode::Down {
                    drop(stream);
                    continue;
                }
                let service = TowerToHyperService::new(router.clone());
                let mut cut = s.cut.subscribe();
                tokio::spawn(async move {
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = conn => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { port, shared, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
        if matches!(mode, Mode::Down) {
            self.shared.cut.send_modify(|n| *n += 1);
        }
    }

    /// The API of every call that reached the proxy, in order
    /// (`DynamoDB_20120810.PutItem` → `PutItem`).
    pub fn calls(&self) -> Vec<String> {
        self.shared.calls.lock().unwrap().clone()
    }

    pub fn count(&self, api: &str) -> usize {
        self.calls().iter().filter(|c| *c == api).count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.shared.cut.send_modify(|n| *n += 1);
    }
}

async fn forward(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let api = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.rsplit('.').next().unwrap_or(t).to_string())
        .unwrap_or_else(|| "?".into());
    s.calls.lock().unwrap().push(api);
    let mode = *s.mode.lock().unwrap();
    match mode {
        Mode::Throttle => {
            return (
                StatusCode::BAD_REQUEST,
                [
                    ("content-type", "application/x-amz-json-1.0"),
                    ("x-amzn-errortype", "ProvisionedThroughputExceededException"),
                ],
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#,
            )
                .into_response();
        }
        Mode::Expired => {
            return (
                StatusCode::BAD_REQUEST,
                [
                    ("content-type", "application/x-amz-json-1.0"),
                    ("x-amzn-errortype", "ExpiredTokenException"),
                ],
                r#"{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"The security token included in the request is expired"}"#,
            )
                .into_response();
        }
        Mode::Slow(d) => tokio::time::sleep(d).await,
        Mode::Down | Mode::Pass | Mode::LoseAnswers => {}
    }
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut out = s
        .http
        .request(parts.method.clone(), format!("{}{path}", s.upstream))
        .body(body);
    for (k, v) in &parts.headers {
        if k != "host" && k != "content-length" {
            out = out.header(k, v);
        }
    }
    let answer = match out.send().await {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    if mode == Mode::LoseAnswers {
        // The work is done; the answer never arrives.
        s.cut.send_modify(|n| *n += 1);
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    for (k, v) in &headers {
        if k != "content-length" && k != "transfer-encoding" {
            r.headers_mut().insert(k, v.clone());
        }
    }
    r
}
